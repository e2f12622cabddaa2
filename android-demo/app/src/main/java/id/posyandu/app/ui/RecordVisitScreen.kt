package id.posyandu.app.ui

import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.Checkbox
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.EntryForm
import id.posyandu.app.logic.Labels
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.RecordVisitViewModel
import id.posyandu.app.work.SyncWorker
import id.posyandu.sync.GlucoseKind
import id.posyandu.sync.Measure
import id.posyandu.sync.SpmArea
import id.posyandu.sync.VisitKind
import id.posyandu.sync.VitaminACapsule
import id.posyandu.sync.spmAreaLabel

@Composable
fun RecordVisitScreen(gw: PosyanduGateway, householdId: String, onDone: () -> Unit, visitId: String? = null) {
    // visitId != null: "Ubah kunjungan" (same form, entries amended; date and kind fixed).
    val vm = rememberLogicVm("visit-$householdId-${visitId ?: "new"}") { RecordVisitViewModel(gw, householdId, it, visitId = visitId) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { if (s.entries.isEmpty()) vm.load() }
    LaunchedEffect(s.savedVisitId) {
        if (s.savedVisitId != null) {
            SyncWorker.requestSoon(context) // sent as soon as there is signal
            onDone()
        }
    }
    if (s.loading) { Loading(); return }
    LazyColumn(Modifier.fillMaxSize().padding(horizontal = 8.dp)) {
        item {
            Text(s.householdTitle, style = MaterialTheme.typography.titleLarge, modifier = Modifier.padding(8.dp))
            s.editNote?.let { Text(it, style = MaterialTheme.typography.bodySmall, modifier = Modifier.padding(8.dp)) }
            // Material3 DatePicker; the view model keeps YYYY-MM-DD (default: the store's today).
            DateField(s.date, stringResource(R.string.visit_date), { vm.setDate(it) }, maxIso = s.today, enabled = !s.isEdit)
            Row {
                FilterChip(s.kind == VisitKind.KUNJUNGAN_RUMAH, { vm.setKind(VisitKind.KUNJUNGAN_RUMAH) },
                    label = { Text(stringResource(R.string.visit_kind_home)) }, modifier = Modifier.padding(4.dp), enabled = !s.isEdit)
                FilterChip(s.kind == VisitKind.HARI_BUKA, { vm.setKind(VisitKind.HARI_BUKA) },
                    label = { Text(stringResource(R.string.visit_kind_open_day)) }, modifier = Modifier.padding(4.dp), enabled = !s.isEdit)
            }
        }
        items(s.entries, key = { it.memberId }) { e -> MemberEntryCard(vm, e) }
        item {
            s.error?.let { ErrorCard(it) }
            Button(onClick = { vm.save() }, enabled = s.canSave, modifier = Modifier.fillMaxWidth().padding(vertical = 16.dp)) {
                Text(stringResource(if (s.saving) R.string.saving else if (s.isEdit) R.string.save_changes else R.string.save_visit))
            }
        }
    }
}

@Composable
private fun NumberField(value: String, label: Int, onChange: (String) -> Unit, modifier: Modifier = Modifier, decimal: Boolean = true) =
    OutlinedTextField(
        value, onChange, label = { Text(stringResource(label)) }, singleLine = true, modifier = modifier.padding(2.dp),
        keyboardOptions = KeyboardOptions(keyboardType = if (decimal) KeyboardType.Decimal else KeyboardType.Number),
    )

@Composable
private fun CheckRow(label: String, checked: Boolean, onChange: (Boolean) -> Unit) =
    Row(verticalAlignment = Alignment.CenterVertically) {
        Checkbox(checked, onChange)
        Text(label)
    }

@Composable
private fun MemberEntryCard(vm: RecordVisitViewModel, e: EntryForm) {
    val id = e.memberId
    Card(Modifier.fillMaxWidth().padding(vertical = 6.dp)) {
        Column(Modifier.padding(8.dp)) {
            Row(verticalAlignment = Alignment.CenterVertically) {
                Checkbox(e.included, { vm.setIncluded(id, it) }, enabled = !e.locked)
                Column {
                    Text(e.name, fontWeight = FontWeight.Bold)
                    Text("${e.stageLabel} · ${id.posyandu.app.logic.Format.age(e.ageMonths)}", style = MaterialTheme.typography.bodySmall)
                }
            }
            if (!e.included) return@Column

            SectionTitle(stringResource(R.string.measurements))
            Row {
                NumberField(e.weight, R.string.weight_kg, { v -> vm.edit(id) { it.copy(weight = v) } }, Modifier.weight(1f))
                NumberField(e.lengthHeight, R.string.length_height_cm, { v -> vm.edit(id) { it.copy(lengthHeight = v) } }, Modifier.weight(1f))
            }
            Row {
                FilterChip(e.measure == Measure.LYING, { vm.edit(id) { it.copy(measure = Measure.LYING) } },
                    label = { Text(stringResource(R.string.measure_lying)) }, modifier = Modifier.padding(4.dp))
                FilterChip(e.measure == Measure.STANDING, { vm.edit(id) { it.copy(measure = Measure.STANDING) } },
                    label = { Text(stringResource(R.string.measure_standing)) }, modifier = Modifier.padding(4.dp))
            }
            Row {
                if (e.isUnderFive) NumberField(e.headCirc, R.string.head_circ_cm, { v -> vm.edit(id) { it.copy(headCirc = v) } }, Modifier.weight(1f))
                NumberField(e.muac, R.string.muac_cm, { v -> vm.edit(id) { it.copy(muac = v) } }, Modifier.weight(1f))
            }
            if (!e.isUnderFive) {
                Row {
                    NumberField(e.bpSystolic, R.string.bp_systolic, { v -> vm.edit(id) { it.copy(bpSystolic = v) } }, Modifier.weight(1f), decimal = false)
                    NumberField(e.bpDiastolic, R.string.bp_diastolic, { v -> vm.edit(id) { it.copy(bpDiastolic = v) } }, Modifier.weight(1f), decimal = false)
                }
                NumberField(e.glucose, R.string.glucose, { v -> vm.edit(id) { it.copy(glucose = v) } }, Modifier.fillMaxWidth())
                Row {
                    GlucoseKind.entries.forEach { k ->
                        FilterChip(e.glucoseKind == k, { vm.edit(id) { it.copy(glucoseKind = k) } },
                            label = { Text(Labels.glucoseKind(k)) }, modifier = Modifier.padding(4.dp))
                    }
                }
                NumberField(e.waist, R.string.waist_cm, { v -> vm.edit(id) { it.copy(waist = v) } }, Modifier.fillMaxWidth())
                // The core's adult screening (from 15 years) of what is typed.
                Labels.screening(e.screening).forEach { line -> Text(line, style = MaterialTheme.typography.bodySmall) }
            }
            if (e.isUnderFive) {
                CheckRow(stringResource(R.string.oedema), e.oedema) { v -> vm.edit(id) { it.copy(oedema = v) } }
                OutlinedButton(onClick = { vm.previewGrowth(id) }, enabled = !e.growthLoading) { Text(stringResource(R.string.growth_check)) }
                e.growthError?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                e.growth?.let { GrowthCard(it) }
            }

            SectionTitle(stringResource(R.string.services))
            if (e.isUnderFive || e.immunisations.isNotEmpty()) {
                Text(stringResource(R.string.immunisation), style = MaterialTheme.typography.labelLarge)
                Row(Modifier.horizontalScroll(rememberScrollState())) {
                    Labels.ANTIGENS.forEach { (code, name) ->
                        FilterChip(code in e.immunisations, { vm.toggleImmunisation(id, code) }, label = { Text(name) },
                            modifier = Modifier.padding(2.dp))
                    }
                }
            }
            // Vitamin A: the capsule given; the core checks it against the age (and nifas).
            Text(stringResource(R.string.vitamin_a), style = MaterialTheme.typography.labelLarge)
            Row(Modifier.horizontalScroll(rememberScrollState())) {
                VitaminACapsule.entries.forEach { c ->
                    FilterChip(e.vitaminACapsule == c, { vm.toggleVitaminACapsule(id, c) }, label = { Text(Labels.vitaminACapsule(c)) },
                        modifier = Modifier.padding(2.dp))
                }
            }
            vm.suggestedVitaminACapsule(id)?.let { c ->
                Text(stringResource(R.string.vitamin_a_suggested, Labels.vitaminACapsule(c)), style = MaterialTheme.typography.bodySmall)
            }
            if (e.vitaminA && e.vitaminACapsule == null) Text(stringResource(R.string.vitamin_a_no_capsule), style = MaterialTheme.typography.bodySmall)
            CheckRow(stringResource(R.string.deworming), e.deworming) { v -> vm.edit(id) { it.copy(deworming = v) } }
            CheckRow(stringResource(R.string.pmt), e.supplementaryFood) { v -> vm.edit(id) { it.copy(supplementaryFood = v) } }
            if (!e.isUnderFive) NumberField(e.ironTablets, R.string.iron_tablets, { v -> vm.edit(id) { it.copy(ironTablets = v) } }, decimal = false)

            // ASI eksklusif: asked only where the core says it applies (infants 0–5 months at the visit).
            if (e.asiApplies) {
                SectionTitle(stringResource(R.string.asi_eksklusif))
                Text(stringResource(R.string.asi_eksklusif_question), style = MaterialTheme.typography.bodyMedium)
                Row {
                    FilterChip(e.asiEksklusif == true, { vm.answerAsi(id, true) }, label = { Text(stringResource(R.string.yes)) },
                        modifier = Modifier.padding(2.dp))
                    FilterChip(e.asiEksklusif == false, { vm.answerAsi(id, false) }, label = { Text(stringResource(R.string.no)) },
                        modifier = Modifier.padding(2.dp))
                }
            }
            // ILP home-visit checklist: the core's questions for this member's stage and age.
            if (e.checklist.isNotEmpty()) {
                SectionTitle(stringResource(R.string.checklist))
                e.checklist.forEach { q ->
                    Text(q.label, style = MaterialTheme.typography.bodyMedium)
                    Row {
                        FilterChip(e.answers[q.code] == true, { vm.answer(id, q.code, true) }, label = { Text(stringResource(R.string.yes)) },
                            modifier = Modifier.padding(2.dp))
                        FilterChip(e.answers[q.code] == false, { vm.answer(id, q.code, false) }, label = { Text(stringResource(R.string.no)) },
                            modifier = Modifier.padding(2.dp))
                    }
                }
            }
            Text(stringResource(R.string.counselling), style = MaterialTheme.typography.labelLarge)
            Row(Modifier.horizontalScroll(rememberScrollState())) {
                e.topics.forEach { t ->
                    FilterChip(t.code in e.counselling, { vm.toggleCounselling(id, t.code) }, label = { Text(t.label) },
                        modifier = Modifier.padding(2.dp))
                }
            }

            Row(verticalAlignment = Alignment.CenterVertically) {
                Text(stringResource(R.string.referral), Modifier.weight(1f), style = MaterialTheme.typography.titleMedium)
                Switch(e.referral, { v -> vm.edit(id) { it.copy(referral = v) } })
            }
            if (e.referral) {
                OutlinedTextField(e.referralReason, { v -> vm.edit(id) { it.copy(referralReason = v) } },
                    label = { Text(stringResource(R.string.referral_reason)) }, modifier = Modifier.fillMaxWidth())
                OutlinedTextField(e.referralTo, { v -> vm.edit(id) { it.copy(referralTo = v) } },
                    label = { Text(stringResource(R.string.referral_to)) }, singleLine = true, modifier = Modifier.fillMaxWidth())
            }

            SectionTitle(stringResource(R.string.spm_needs))
            e.spmNeeds.forEachIndexed { i, n ->
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text("${spmAreaLabel(n.area)}: ${n.need}", Modifier.weight(1f))
                    TextButton(onClick = { vm.removeSpmNeed(id, i) }) { Text(stringResource(R.string.remove)) }
                }
            }
            SpmNeedInput { area, text -> vm.addSpmNeed(id, area, text) }
        }
    }
}

@Composable
private fun SpmNeedInput(onAdd: (SpmArea, String) -> Unit) {
    var area by remember { mutableStateOf(SpmArea.KESEHATAN) }
    var text by remember { mutableStateOf("") }
    Row(Modifier.horizontalScroll(rememberScrollState())) {
        SpmArea.entries.forEach { a ->
            FilterChip(area == a, { area = a }, label = { Text(spmAreaLabel(a)) }, modifier = Modifier.padding(2.dp))
        }
    }
    Row(verticalAlignment = Alignment.CenterVertically) {
        OutlinedTextField(text, { text = it }, label = { Text(stringResource(R.string.spm_need_text)) }, modifier = Modifier.weight(1f))
        TextButton(onClick = { if (text.isNotBlank()) { onAdd(area, text); text = "" } }) { Text(stringResource(R.string.add)) }
    }
}
