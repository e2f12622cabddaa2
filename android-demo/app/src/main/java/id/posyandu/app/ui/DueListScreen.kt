package id.posyandu.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.DueListViewModel
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.Severity

@Composable
fun DueListScreen(gw: PosyanduGateway, onOpen: (householdId: String) -> Unit) {
    val vm = rememberLogicVm("due") { DueListViewModel(gw, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.refresh() }
    Column(Modifier.fillMaxSize()) {
        Text(s.summary, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(12.dp))
        Row(Modifier.horizontalScroll(rememberScrollState()).padding(horizontal = 8.dp)) {
            FilterChip(selected = s.selectedRt == null, onClick = { vm.selectRt(null) },
                label = { Text(stringResource(R.string.all_rt)) }, modifier = Modifier.padding(4.dp))
            s.rtOptions.forEach { rt ->
                FilterChip(selected = s.selectedRt == rt, onClick = { vm.selectRt(rt) },
                    label = { Text(stringResource(R.string.rt_chip, rt)) }, modifier = Modifier.padding(4.dp))
            }
        }
        s.error?.let { ErrorCard(it, onRetry = { vm.refresh() }) }
        if (s.loading && s.groups.isEmpty()) Loading()
        LazyColumn(Modifier.fillMaxSize()) {
            s.groups.forEach { g ->
                item(key = "rt-${g.rt}") { SectionTitle(g.title) }
                items(g.rows, key = { it.memberId }) { r ->
                    ListItem(
                        headlineContent = { Text(r.name) },
                        supportingContent = { Text(r.subtitle + "\n" + r.reasons.joinToString("\n") { "• $it" }) },
                        trailingContent = {
                            when {
                                r.urgent -> Pill(stringResource(R.string.urgent), Severity.BAHAYA.color())
                                r.expectedOnly -> Pill(stringResource(R.string.expected_at_session), Severity.NORMAL.color())
                                else -> {}
                            }
                        },
                        modifier = Modifier.clickable { onOpen(r.householdId) },
                    )
                    HorizontalDivider()
                }
            }
        }
    }
}
