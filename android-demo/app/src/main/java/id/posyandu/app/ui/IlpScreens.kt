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
import androidx.compose.material3.Card
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
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
import id.posyandu.app.logic.BirthViewModel
import id.posyandu.app.logic.Labels
import id.posyandu.app.logic.MemberStatusViewModel
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.ReferralsViewModel
import id.posyandu.app.work.SyncWorker
import id.posyandu.sync.BirthAttendant
import id.posyandu.sync.BirthPlace
import id.posyandu.sync.MemberStatusKind
import id.posyandu.sync.OutcomeKind
import id.posyandu.sync.Sex

// Screens of the ILP service cycle (issue 12). All rules (proposed reasons, status,
// follow-up, who may be recorded, ASI applicability) are the core's; these only show.

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun IlpScaffold(title: Int, onBack: () -> Unit, content: @Composable (Modifier) -> Unit) {
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(title)) },
                navigationIcon = { IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.back)) } },
            )
        },
    ) { pad -> content(Modifier.fillMaxSize().padding(pad).verticalScroll(rememberScrollState()).padding(12.dp)) }
}

/** "Rujukan": the household's referrals with the core's status and steps, and raising a new one. */
@Composable
fun ReferralsScreen(gw: PosyanduGateway, householdId: String, onBack: () -> Unit) {
    val vm = rememberLogicVm("referrals-$householdId") { ReferralsViewModel(gw, householdId, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.loading) vm.load() }
    LaunchedEffect(s.savedReferralId) { if (s.savedReferralId != null) SyncWorker.requestSoon(context) }
    IlpScaffold(R.string.referrals_title, onBack) { mod ->
        if (s.loading) { Loading(); return@IlpScaffold }
        Column(mod) {
            Text(s.householdTitle, style = MaterialTheme.typography.titleMedium)
            if (s.followUpsDue.isNotEmpty()) {
                SectionTitle(stringResource(R.string.referral_follow_ups_due))
                s.followUpsDue.forEach { Text(it, color = MaterialTheme.colorScheme.error, fontWeight = FontWeight.SemiBold) }
            }
            SectionTitle(stringResource(R.string.referral_list))
            if (s.referrals.isEmpty()) Text(stringResource(R.string.referral_none))
            s.referrals.forEach { r ->
                Card(Modifier.fillMaxWidth().padding(vertical = 4.dp)) {
                    Column(Modifier.padding(8.dp)) {
                        Text("${r.memberName} · ${r.statusLabel}" + if (r.closed) " (${stringResource(R.string.referral_closed)})" else "",
                            fontWeight = FontWeight.SemiBold)
                        Text(r.dateText)
                        Text(r.reasonsText, style = MaterialTheme.typography.bodySmall)
                        r.followUpText?.let { Text(it, color = MaterialTheme.colorScheme.primary) }
                        r.steps.forEach { Text(it, style = MaterialTheme.typography.bodySmall) }
                    }
                }
            }
            SectionTitle(stringResource(R.string.referral_new))
            Text(stringResource(R.string.referral_member), style = MaterialTheme.typography.labelLarge)
            s.members.forEach { m ->
                FilterChip(s.memberId == m.id, { vm.selectMember(m.id) }, label = { Text("${m.name} · ${m.detail}") },
                    modifier = Modifier.fillMaxWidth())
            }
            if (s.memberId != null) {
                s.proposalText?.let { Text(it, color = MaterialTheme.colorScheme.primary, modifier = Modifier.padding(vertical = 4.dp)) }
                Text(stringResource(R.string.referral_reasons), style = MaterialTheme.typography.labelLarge)
                s.reasons.forEach { r ->
                    FilterChip(r.selected, { vm.toggleReason(r.code) },
                        label = { Text(r.label + if (r.proposed) " (${stringResource(R.string.referral_proposed)})" else "") },
                        modifier = Modifier.fillMaxWidth())
                }
                OutlinedTextField(s.note, { vm.setNote(it) }, label = { Text(stringResource(R.string.referral_note)) },
                    modifier = Modifier.fillMaxWidth())
            }
            if (s.savedReferralId != null) Text(stringResource(R.string.referral_saved), color = MaterialTheme.colorScheme.primary)
            s.error?.let { ErrorCard(it) }
            Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                Text(stringResource(if (s.saving) R.string.saving else R.string.referral_save))
            }
        }
    }
}

/** "Catat persalinan": outcome, place, attendant and the newborn(s), saved in one step. */
@Composable
fun BirthScreen(gw: PosyanduGateway, householdId: String, onBack: () -> Unit, onSaved: () -> Unit) {
    val vm = rememberLogicVm("birth-$householdId") { BirthViewModel(gw, householdId, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.loading) vm.load() }
    LaunchedEffect(s.newbornIds) { if (s.newbornIds != null) SyncWorker.requestSoon(context) }
    IlpScaffold(R.string.record_birth, onBack) { mod ->
        if (s.loading) { Loading(); return@IlpScaffold }
        Column(mod) {
            Text(s.householdTitle, style = MaterialTheme.typography.titleMedium)
            SectionTitle(stringResource(R.string.birth_pregnancy))
            if (s.pregnancies.isEmpty()) Text(stringResource(R.string.birth_no_pregnancy))
            s.pregnancies.forEach { p ->
                FilterChip(s.pregnancyId == p.id, { vm.edit { it.copy(pregnancyId = p.id) } },
                    label = { Text("${p.motherName} · ${p.detail}") }, modifier = Modifier.fillMaxWidth())
            }
            DateField(s.date, stringResource(R.string.birth_outcome_date), { v -> vm.edit { it.copy(date = v) } }, maxIso = s.today)
            Text(stringResource(R.string.birth_outcome), style = MaterialTheme.typography.labelLarge)
            Row {
                listOf(OutcomeKind.LAHIR_HIDUP to R.string.outcome_lahir_hidup, OutcomeKind.LAHIR_MATI to R.string.outcome_lahir_mati,
                    OutcomeKind.KEGUGURAN to R.string.outcome_keguguran).forEach { (k, label) ->
                    FilterChip(s.outcome == k, { vm.edit { it.copy(outcome = k) } }, label = { Text(stringResource(label)) },
                        modifier = Modifier.padding(end = 4.dp))
                }
            }
            Text(stringResource(R.string.birth_place), style = MaterialTheme.typography.labelLarge)
            Row {
                listOf(BirthPlace.FASILITAS_KESEHATAN to R.string.place_fasilitas_kesehatan, BirthPlace.RUMAH to R.string.place_rumah,
                    BirthPlace.LAINNYA to R.string.place_lainnya).forEach { (k, label) ->
                    FilterChip(s.place == k, { vm.edit { it.copy(place = if (it.place == k) null else k) } },
                        label = { Text(stringResource(label)) }, modifier = Modifier.padding(end = 4.dp))
                }
            }
            Text(stringResource(R.string.birth_attendant), style = MaterialTheme.typography.labelLarge)
            Row {
                listOf(BirthAttendant.BIDAN to R.string.attendant_bidan, BirthAttendant.DOKTER to R.string.attendant_dokter,
                    BirthAttendant.DUKUN to R.string.attendant_dukun, BirthAttendant.LAINNYA to R.string.attendant_lainnya).forEach { (k, label) ->
                    FilterChip(s.attendant == k, { vm.edit { it.copy(attendant = if (it.attendant == k) null else k) } },
                        label = { Text(stringResource(label)) }, modifier = Modifier.padding(end = 4.dp))
                }
            }
            if (s.liveBirth) {
                s.babies.forEachIndexed { i, b ->
                    SectionTitle(stringResource(R.string.baby, i + 1))
                    FormField(b.name, R.string.baby_name, { v -> vm.editBaby(i) { it.copy(name = v) } })
                    Row {
                        Sex.entries.forEach { x ->
                            FilterChip(b.sex == x, { vm.editBaby(i) { it.copy(sex = x) } }, label = { Text(Labels.sex(x)) },
                                modifier = Modifier.padding(end = 4.dp))
                        }
                    }
                    Row {
                        FormField(b.weight, R.string.baby_weight, { v -> vm.editBaby(i) { it.copy(weight = v) } }, Modifier.weight(1f), KeyboardType.Decimal)
                        FormField(b.length, R.string.baby_length, { v -> vm.editBaby(i) { it.copy(length = v) } }, Modifier.weight(1f), KeyboardType.Decimal)
                    }
                    if (s.babies.size > 1) TextButton(onClick = { vm.removeBaby(i) }) { Text(stringResource(R.string.baby_remove)) }
                }
                TextButton(onClick = { vm.addBaby() }) { Text(stringResource(R.string.baby_add)) }
            }
            s.savedText?.let { Text(it, color = MaterialTheme.colorScheme.primary, fontWeight = FontWeight.SemiBold) }
            s.error?.let { ErrorCard(it) }
            if (s.newbornIds == null) {
                Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                    Text(stringResource(if (s.saving) R.string.saving else R.string.birth_save))
                }
            } else {
                Button(onClick = onSaved, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) { Text(stringResource(R.string.done)) }
            }
        }
    }
}

/** "Pindah / meninggal": the member and the day; from then on the member is on no list. */
@Composable
fun MemberStatusScreen(gw: PosyanduGateway, householdId: String, onBack: () -> Unit, onSaved: () -> Unit) {
    val vm = rememberLogicVm("member-status-$householdId") { MemberStatusViewModel(gw, householdId, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.loading) vm.load() }
    LaunchedEffect(s.saved) { if (s.saved) SyncWorker.requestSoon(context) }
    IlpScaffold(R.string.member_status, onBack) { mod ->
        if (s.loading) { Loading(); return@IlpScaffold }
        Column(mod) {
            Text(s.householdTitle, style = MaterialTheme.typography.titleMedium)
            SectionTitle(stringResource(R.string.member_status_member))
            s.members.forEach { m ->
                FilterChip(s.memberId == m.id, { vm.edit { it.copy(memberId = m.id) } }, label = { Text("${m.name} · ${m.detail}") },
                    modifier = Modifier.fillMaxWidth())
            }
            Text(stringResource(R.string.member_status_kind), style = MaterialTheme.typography.labelLarge)
            Row {
                listOf(MemberStatusKind.PINDAH to R.string.status_pindah, MemberStatusKind.MENINGGAL to R.string.status_meninggal).forEach { (k, label) ->
                    FilterChip(s.status == k, { vm.edit { it.copy(status = k) } }, label = { Text(stringResource(label)) },
                        modifier = Modifier.padding(end = 4.dp))
                }
            }
            DateField(s.date, stringResource(R.string.member_status_date), { v -> vm.edit { it.copy(date = v) } }, maxIso = s.today)
            s.savedText?.let { Text(it, color = MaterialTheme.colorScheme.primary, fontWeight = FontWeight.SemiBold) }
            s.error?.let { ErrorCard(it) }
            if (!s.saved) {
                Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                    Text(stringResource(if (s.saving) R.string.saving else R.string.member_status_save))
                }
            } else {
                Button(onClick = onSaved, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) { Text(stringResource(R.string.done)) }
            }
        }
    }
}
