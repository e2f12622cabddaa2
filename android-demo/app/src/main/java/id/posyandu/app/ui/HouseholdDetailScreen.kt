package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.Add
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
import id.posyandu.app.logic.HouseholdDetailViewModel
import id.posyandu.app.logic.PosyanduGateway

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun HouseholdDetailScreen(gw: PosyanduGateway, householdId: String, onBack: () -> Unit, onRecordVisit: () -> Unit, onConflicts: () -> Unit) {
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
                    supportingContent = { Text("${m.sexAge}\n${m.nikText}") },
                    trailingContent = { Text(m.stageLabel) },
                )
                HorizontalDivider()
            }
            if (s.pregnancies.isNotEmpty()) {
                item { SectionTitle(stringResource(R.string.pregnancies)) }
                items(s.pregnancies) { Text(it, Modifier.padding(horizontal = 16.dp, vertical = 4.dp)) }
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
                )
                HorizontalDivider()
            }
            item { Column(Modifier.padding(bottom = 96.dp)) {} }
        }
    }
}
