package id.posyandu.app.ui

import androidx.compose.foundation.horizontalScroll
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
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.AddMemberViewModel
import id.posyandu.app.logic.IdMode
import id.posyandu.app.logic.Labels
import id.posyandu.app.logic.MemberField
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.work.SyncWorker
import id.posyandu.sync.Relation
import id.posyandu.sync.Sex

/** "Tambah anggota"; after saving goes back to the household detail, which shows the member with life stage. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun AddMemberScreen(gw: PosyanduGateway, householdId: String, onBack: () -> Unit, onSaved: () -> Unit) {
    val vm = rememberLogicVm("add-member-$householdId") { AddMemberViewModel(gw, householdId, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.loading) vm.load() }
    LaunchedEffect(s.savedMemberId) {
        if (s.savedMemberId != null) {
            SyncWorker.requestSoon(context)
            onSaved()
        }
    }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.add_member)) },
                navigationIcon = { IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.back)) } },
            )
        },
    ) { pad ->
        if (s.loading) { Loading(); return@Scaffold }
        val err = s.errorField
        Column(Modifier.fillMaxSize().padding(pad).verticalScroll(rememberScrollState()).padding(12.dp)) {
            Text(s.householdTitle, style = MaterialTheme.typography.titleMedium)
            FormField(s.name, R.string.member_name, { v -> vm.edit { it.copy(name = v) } }, isError = err == MemberField.NAME)
            DateField(s.birthDate, stringResource(R.string.birth_date), { v -> vm.edit { it.copy(birthDate = v) } },
                maxIso = s.today, isError = err == MemberField.BIRTH_DATE)

            SectionTitle(stringResource(R.string.sex))
            Row {
                Sex.entries.forEach { x ->
                    FilterChip(s.sex == x, { vm.edit { it.copy(sex = x) } }, label = { Text(Labels.sex(x)) }, modifier = Modifier.padding(end = 4.dp))
                }
            }
            if (err == MemberField.SEX) Text(stringResource(R.string.required_choice), color = MaterialTheme.colorScheme.error)

            SectionTitle(stringResource(R.string.relation))
            Row(Modifier.horizontalScroll(rememberScrollState())) {
                Relation.entries.forEach { r ->
                    FilterChip(s.relation == r, { vm.edit { it.copy(relation = r) } }, label = { Text(Labels.relation(r)) },
                        modifier = Modifier.padding(end = 4.dp))
                }
            }
            if (err == MemberField.RELATION) Text(stringResource(R.string.required_choice), color = MaterialTheme.colorScheme.error)

            SectionTitle(stringResource(R.string.identity))
            Row {
                FilterChip(s.idMode == IdMode.NIK, { vm.setIdMode(IdMode.NIK) }, label = { Text(stringResource(R.string.id_mode_nik)) },
                    modifier = Modifier.padding(end = 4.dp))
                FilterChip(s.idMode == IdMode.MOTHER_NIK, { vm.setIdMode(IdMode.MOTHER_NIK) },
                    label = { Text(stringResource(R.string.id_mode_mother)) })
            }
            if (s.idMode == IdMode.NIK) {
                FormField(s.nik, R.string.nik, { v -> vm.edit { it.copy(nik = v) } }, keyboard = KeyboardType.Number, isError = err == MemberField.NIK)
                // The core's "NIK tidak cocok" warnings: shown, never blocking (the member is saved).
                s.nikWarnings.forEach { w -> Text(w, color = MaterialTheme.colorScheme.tertiary, style = MaterialTheme.typography.bodySmall) }
            } else {
                if (s.mothers.isNotEmpty()) {
                    Text(stringResource(R.string.pick_mother), style = MaterialTheme.typography.labelLarge, modifier = Modifier.padding(top = 4.dp))
                    s.mothers.forEach { m ->
                        FilterChip(s.motherMemberId == m.memberId, { vm.pickMother(if (s.motherMemberId == m.memberId) null else m.memberId) },
                            label = { Text(m.label) }, modifier = Modifier.fillMaxWidth())
                    }
                }
                FormField(s.motherNik, R.string.mother_nik, { v -> vm.edit { it.copy(motherNik = v, motherMemberId = null) } },
                    keyboard = KeyboardType.Number, isError = err == MemberField.MOTHER_NIK)
                FormField(s.birthOrder, R.string.birth_order, { v -> vm.edit { it.copy(birthOrder = v) } },
                    keyboard = KeyboardType.Number, isError = err == MemberField.BIRTH_ORDER)
            }
            FormField(s.bpjs, R.string.bpjs, { v -> vm.edit { it.copy(bpjs = v) } }, keyboard = KeyboardType.Number, isError = err == MemberField.BPJS)
            YesNoUnknown(stringResource(R.string.kia_book), s.kiaBook) { v -> vm.edit { it.copy(kiaBook = v) } }

            s.error?.let { ErrorCard(it) }
            Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                Text(stringResource(if (s.saving) R.string.saving else R.string.save_member))
            }
        }
    }
}
