package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.Delete
import androidx.compose.material.icons.filled.Edit
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.TextButton
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.ExtendedFloatingActionButton
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.Confirm
import id.posyandu.app.logic.HouseholdDetailViewModel
import id.posyandu.app.logic.PosyanduGateway

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun HouseholdDetailScreen(
    gw: PosyanduGateway,
    householdId: String,
    onBack: () -> Unit,
    onRecordVisit: () -> Unit,
    onConflicts: () -> Unit,
    onAddMember: () -> Unit,
    onRecordPregnancy: () -> Unit,
    onEditVisit: (visitId: String) -> Unit,
    onReferrals: () -> Unit = {},
    onRecordBirth: () -> Unit = {},
    onMemberStatus: () -> Unit = {},
) {
    val vm = rememberLogicVm("household-$householdId") { HouseholdDetailViewModel(gw, householdId, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    // Refresh on every return to this screen (e.g. after recording a visit).
    LaunchedEffect(Unit) { vm.refresh() }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(s.title) },
                navigationIcon = { IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.back)) } },
            )
        },
        floatingActionButton = {
            ExtendedFloatingActionButton(onClick = onRecordVisit, icon = { Icon(Icons.Filled.Add, null) },
                text = { Text(stringResource(R.string.record_visit)) })
        },
    ) { pad ->
        if (s.loading && s.members.isEmpty()) { Loading(); return@Scaffold }
        LazyColumn(Modifier.fillMaxSize().padding(pad)) {
            item {
                Column(Modifier.padding(12.dp)) {
                    Text(s.address)
                    Text(s.kkText)
                    Row(Modifier.padding(top = 8.dp)) {
                        OutlinedButton(onClick = onAddMember, modifier = Modifier.padding(end = 8.dp)) { Text(stringResource(R.string.add_member)) }
                        if (s.canRecordPregnancy) OutlinedButton(onClick = onRecordPregnancy) { Text(stringResource(R.string.record_pregnancy)) }
                    }
                    // ILP service cycle (issue 12): referrals, birth from a pregnancy, pindah / meninggal.
                    Row(Modifier.padding(top = 8.dp)) {
                        OutlinedButton(onClick = onReferrals, modifier = Modifier.padding(end = 8.dp)) { Text(stringResource(R.string.referrals)) }
                        OutlinedButton(onClick = onRecordBirth, modifier = Modifier.padding(end = 8.dp)) { Text(stringResource(R.string.record_birth)) }
                    }
                    OutlinedButton(onClick = onMemberStatus, modifier = Modifier.padding(top = 8.dp)) { Text(stringResource(R.string.member_status)) }
                    s.message?.let { Text(it, color = MaterialTheme.colorScheme.primary, modifier = Modifier.padding(top = 8.dp)) }
                    if (s.conflictCount > 0) OutlinedButton(onClick = onConflicts, modifier = Modifier.padding(top = 8.dp)) {
                        Text(stringResource(R.string.resolve_conflicts, s.conflictCount))
                    }
                }
            }
            s.error?.let { e -> item { ErrorCard(e, onRetry = { vm.refresh() }) } }
            item { SectionTitle(stringResource(R.string.members)) }
            items(s.members, key = { it.id }) { m ->
                ListItem(
                    headlineContent = { Text(m.name) },
                    overlineContent = { Text(if (m.isHead) stringResource(R.string.head_badge) else m.relation) },
                    supportingContent = {
                        Column {
                            Text(listOfNotNull(m.sexAge, m.nikText, m.kiaBookText).joinToString("\n"))
                            // The core's "NIK tidak cocok" warnings (the member is registered).
                            m.warnings.forEach { w -> Text(w, color = MaterialTheme.colorScheme.tertiary) }
                        }
                    },
                    trailingContent = { Text(m.stageLabel) },
                )
                HorizontalDivider()
            }
            if (s.pregnancies.isNotEmpty()) {
                item { SectionTitle(stringResource(R.string.pregnancies)) }
                items(s.pregnancies, key = { it.id }) { p ->
                    ListItem(
                        headlineContent = { Text(p.text, color = if (p.kek && p.ongoing) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface) },
                        trailingContent = {
                            if (p.ongoing) TextButton(onClick = { vm.askEndPregnancy(p.id) }, enabled = !s.busy) { Text(stringResource(R.string.end_pregnancy)) }
                        },
                    )
                }
            }
            if (s.spm.isNotEmpty()) {
                item { SectionTitle(stringResource(R.string.spm_household)) }
                items(s.spm) { Text(it, Modifier.padding(horizontal = 16.dp, vertical = 2.dp)) }
            }
            item { SectionTitle(stringResource(R.string.visits)) }
            if (s.visits.isEmpty()) item { Text(stringResource(R.string.no_visits), Modifier.padding(16.dp)) }
            items(s.visits, key = { it.id }) { v ->
                ListItem(
                    headlineContent = { Text("${v.dateText} · ${v.kindLabel}") },
                    overlineContent = { Text(stringResource(R.string.by_kader, v.kaderId)) },
                    supportingContent = { Text(v.lines.joinToString("\n")) },
                    trailingContent = {
                        Row {
                            IconButton(onClick = { onEditVisit(v.id) }, enabled = !s.busy) { Icon(Icons.Filled.Edit, stringResource(R.string.edit_visit)) }
                            IconButton(onClick = { vm.askDeleteVisit(v.id) }, enabled = !s.busy) { Icon(Icons.Filled.Delete, stringResource(R.string.delete_visit)) }
                        }
                    },
                )
                HorizontalDivider()
            }
            item { Column(Modifier.padding(bottom = 96.dp)) {} }
        }
    }
    when (val c = s.confirm) {
        is Confirm.DeleteVisit -> AlertDialog(
            onDismissRequest = { vm.dismissConfirm() },
            title = { Text(stringResource(R.string.delete_visit)) },
            text = { Text(c.text) },
            confirmButton = { TextButton(onClick = { vm.confirm() }, enabled = !s.busy) { Text(stringResource(R.string.delete)) } },
            dismissButton = { TextButton(onClick = { vm.dismissConfirm() }) { Text(stringResource(R.string.cancel)) } },
        )
        is Confirm.EndPregnancy -> AlertDialog(
            onDismissRequest = { vm.dismissConfirm() },
            title = { Text(stringResource(R.string.end_pregnancy)) },
            text = {
                Column {
                    Text(c.pregnancy.text)
                    Text(stringResource(R.string.end_pregnancy_explain), Modifier.padding(vertical = 8.dp))
                    DateField(c.date, stringResource(R.string.end_date), { vm.setEndDate(it) }, maxIso = s.today)
                }
            },
            confirmButton = { TextButton(onClick = { vm.confirm() }, enabled = !s.busy) { Text(stringResource(R.string.save)) } },
            dismissButton = { TextButton(onClick = { vm.dismissConfirm() }) { Text(stringResource(R.string.cancel)) } },
        )
        null -> Unit
    }
}
