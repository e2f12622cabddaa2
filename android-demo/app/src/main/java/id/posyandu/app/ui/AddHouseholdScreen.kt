package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.LocationOn
import androidx.compose.material3.Button
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.AddHouseholdViewModel
import id.posyandu.app.logic.HouseholdField
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.work.SyncWorker

/** "Tambah rumah tangga"; on save goes to the new household's detail (to add its members). */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun AddHouseholdScreen(gw: PosyanduGateway, onBack: () -> Unit, onSaved: (String) -> Unit) {
    val vm = rememberLogicVm("add-household") { AddHouseholdViewModel(gw, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.loading) vm.load() }
    LaunchedEffect(s.savedHouseholdId) {
        s.savedHouseholdId?.let {
            SyncWorker.requestSoon(context)
            onSaved(it)
        }
    }
    val captureGps = rememberLocationCapture(onLocation = { lat, lon -> vm.setGps(lat, lon) }, onError = { vm.gpsFailed(it) })
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.add_household)) },
                navigationIcon = { IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.back)) } },
            )
        },
    ) { pad ->
        if (s.loading) { Loading(); return@Scaffold }
        val err = s.errorField
        Column(Modifier.fillMaxSize().padding(pad).verticalScroll(rememberScrollState()).padding(12.dp)) {
            SectionTitle(stringResource(R.string.address))
            Row {
                FormField(s.rt, R.string.rt, { v -> vm.edit { it.copy(rt = v) } }, Modifier.weight(1f), KeyboardType.Number, err == HouseholdField.RT)
                FormField(s.rw, R.string.rw, { v -> vm.edit { it.copy(rw = v) } }, Modifier.weight(1f), KeyboardType.Number, err == HouseholdField.RW)
            }
            FormField(s.dusun, R.string.dusun, { v -> vm.edit { it.copy(dusun = v) } }, isError = err == HouseholdField.DUSUN)
            FormField(s.street, R.string.street, { v -> vm.edit { it.copy(street = v) } }, isError = err == HouseholdField.STREET)
            FormField(s.kodeWilayah, R.string.kode_wilayah, { v -> vm.edit { it.copy(kodeWilayah = v) } },
                keyboard = KeyboardType.Number, isError = err == HouseholdField.KODE_WILAYAH)
            FormField(s.kkNumber, R.string.kk_number, { v -> vm.edit { it.copy(kkNumber = v) } },
                keyboard = KeyboardType.Number, isError = err == HouseholdField.KK)

            SectionTitle(stringResource(R.string.gps))
            Row(verticalAlignment = Alignment.CenterVertically) {
                OutlinedButton(onClick = captureGps) {
                    Icon(Icons.Filled.LocationOn, null)
                    Text(stringResource(if (s.gpsText == null) R.string.gps_capture else R.string.gps_recapture))
                }
                if (s.gpsText != null) TextButton(onClick = { vm.clearGps() }) { Text(stringResource(R.string.remove)) }
            }
            Text(s.gpsText ?: stringResource(R.string.gps_none), style = MaterialTheme.typography.bodySmall,
                color = if (err == HouseholdField.GPS) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurfaceVariant)

            SectionTitle(stringResource(R.string.spm_household))
            YesNoUnknown(stringResource(R.string.spm_clean_water), s.cleanWater) { v -> vm.edit { it.copy(cleanWater = v) } }
            YesNoUnknown(stringResource(R.string.spm_latrine), s.latrine) { v -> vm.edit { it.copy(latrine = v) } }
            YesNoUnknown(stringResource(R.string.spm_rutilahu), s.rutilahu) { v -> vm.edit { it.copy(rutilahu = v) } }
            YesNoUnknown(stringResource(R.string.spm_social_aid), s.socialAid) { v -> vm.edit { it.copy(socialAid = v) } }
            YesNoUnknown(stringResource(R.string.spm_child_out_of_school), s.childOutOfSchool) { v -> vm.edit { it.copy(childOutOfSchool = v) } }
            OutlinedTextField(s.publicOrderNote, { v -> vm.edit { it.copy(publicOrderNote = v) } },
                label = { Text(stringResource(R.string.spm_public_order_note)) }, isError = err == HouseholdField.PUBLIC_ORDER_NOTE,
                modifier = Modifier.fillMaxWidth())

            s.error?.let { ErrorCard(it) }
            Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                Text(stringResource(if (s.saving) R.string.saving else R.string.save_household))
            }
        }
    }
}

@Composable
fun FormField(
    value: String,
    label: Int,
    onChange: (String) -> Unit,
    modifier: Modifier = Modifier.fillMaxWidth(),
    keyboard: KeyboardType = KeyboardType.Text,
    isError: Boolean = false,
) = OutlinedTextField(
    value, onChange, label = { Text(stringResource(label)) }, singleLine = true, isError = isError,
    keyboardOptions = KeyboardOptions(keyboardType = keyboard), modifier = modifier.padding(2.dp),
)

/** Tri-state SPM question: Ya / Tidak / Belum ditanya (`null`). */
@Composable
fun YesNoUnknown(label: String, value: Boolean?, onChange: (Boolean?) -> Unit) {
    Column(Modifier.padding(vertical = 2.dp)) {
        Text(label)
        Row {
            FilterChip(value == true, { onChange(true) }, label = { Text(stringResource(R.string.yes)) }, modifier = Modifier.padding(end = 4.dp))
            FilterChip(value == false, { onChange(false) }, label = { Text(stringResource(R.string.no)) }, modifier = Modifier.padding(end = 4.dp))
            FilterChip(value == null, { onChange(null) }, label = { Text(stringResource(R.string.not_asked)) })
        }
    }
}
