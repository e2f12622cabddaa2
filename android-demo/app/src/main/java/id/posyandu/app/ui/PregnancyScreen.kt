package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material3.Button
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.PregnancyViewModel
import id.posyandu.app.logic.Severity
import id.posyandu.app.work.SyncWorker

/** "Catat kehamilan": the woman, HPHT (date picker), gravida, LiLA with the KEK flag shown at once. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun PregnancyScreen(gw: PosyanduGateway, householdId: String, onBack: () -> Unit, onSaved: () -> Unit) {
    val vm = rememberLogicVm("pregnancy-$householdId") { PregnancyViewModel(gw, householdId, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.loading) vm.load() }
    LaunchedEffect(s.savedPregnancyId) {
        if (s.savedPregnancyId != null) {
            SyncWorker.requestSoon(context)
            onSaved()
        }
    }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.record_pregnancy)) },
                navigationIcon = { IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.back)) } },
            )
        },
    ) { pad ->
        if (s.loading) { Loading(); return@Scaffold }
        Column(Modifier.fillMaxSize().padding(pad).verticalScroll(rememberScrollState()).padding(12.dp)) {
            Text(s.householdTitle, style = MaterialTheme.typography.titleMedium)
            SectionTitle(stringResource(R.string.pregnant_woman))
            if (s.candidates.isEmpty()) Text(stringResource(R.string.no_women))
            s.candidates.forEach { c ->
                FilterChip(s.memberId == c.memberId, { vm.edit { it.copy(memberId = c.memberId) } },
                    label = { Text("${c.name} · ${c.ageText}" + if (c.pregnantNow) " · ${stringResource(R.string.pregnant_now)}" else "") },
                    enabled = !c.pregnantNow, modifier = Modifier.fillMaxWidth())
            }
            DateField(s.lmp, stringResource(R.string.lmp), { v -> vm.edit { it.copy(lmp = v) } }, maxIso = s.today)
            s.dueText?.let { Text(it, Modifier.padding(start = 4.dp, bottom = 4.dp)) }
            Row {
                FormField(s.gravida, R.string.gravida, { v -> vm.edit { it.copy(gravida = v) } }, Modifier.weight(1f), KeyboardType.Number)
                FormField(s.muac, R.string.muac_cm, { v -> vm.edit { it.copy(muac = v) } }, Modifier.weight(1f), KeyboardType.Decimal)
            }
            s.kekText?.let { t ->
                val sev = if (s.kek == true) Severity.BAHAYA else Severity.NORMAL
                Row(Modifier.padding(vertical = 6.dp)) {
                    Pill(if (s.kek == true) "KEK" else "Normal", sev.color())
                    Text("  $t", color = sev.color(), fontWeight = FontWeight.SemiBold)
                }
            }
            s.error?.let { ErrorCard(it) }
            Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                Text(stringResource(if (s.saving) R.string.saving else R.string.save_pregnancy))
            }
        }
    }
}
