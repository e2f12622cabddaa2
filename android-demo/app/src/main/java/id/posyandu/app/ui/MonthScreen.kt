package id.posyandu.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.logic.MonthViewModel
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.Severity

/**
 * "Bulan ini": the H-1 undangan list, the register of the latest hari buka and the
 * home-visit list after it, in the order the kader works. Every list, reason and label
 * comes from the core ([MonthViewModel]); this screen only lays them out.
 */
@Composable
fun MonthScreen(gw: PosyanduGateway, onOpen: (householdId: String) -> Unit) {
    val vm = rememberLogicVm("month") { MonthViewModel(gw, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.refresh() }
    Column(Modifier.fillMaxSize()) {
        Text(s.scheduleText, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(12.dp))
        s.error?.let { ErrorCard(it, onRetry = { vm.refresh() }) }
        if (s.loading && s.sections.isEmpty()) Loading()
        LazyColumn(Modifier.fillMaxSize()) {
            s.sections.forEachIndexed { i, section ->
                item(key = "section-$i") { SectionTitle(section.title) }
                if (section.rows.isEmpty()) {
                    item(key = "empty-$i") { Text(section.emptyText, modifier = Modifier.padding(16.dp)) }
                }
                items(section.rows, key = { "$i-${it.memberId}" }) { r ->
                    ListItem(
                        headlineContent = { Text(r.name) },
                        supportingContent = { Text(r.subtitle + r.details.joinToString("") { "\n• $it" }) },
                        trailingContent = { r.marker?.let { Pill(it, Severity.NORMAL.color()) } },
                        modifier = Modifier.clickable { onOpen(r.householdId) },
                    )
                    HorizontalDivider()
                }
            }
        }
    }
}
