package id.posyandu.app.ui

import androidx.compose.foundation.clickable
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
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material3.ExtendedFloatingActionButton
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.Scaffold
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.HouseholdListViewModel
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.Severity

@Composable
fun HouseholdListScreen(gw: PosyanduGateway, onOpen: (String) -> Unit, onOpenSettings: () -> Unit, onAddHousehold: () -> Unit) {
    val vm = rememberLogicVm("households") { HouseholdListViewModel(gw, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.refresh() }

    Scaffold(
        floatingActionButton = {
            ExtendedFloatingActionButton(onClick = onAddHousehold, icon = { Icon(Icons.Filled.Add, null) },
                text = { Text(stringResource(R.string.add_household)) })
        },
    ) { pad ->
        Column(Modifier.fillMaxSize().padding(pad)) {
            SyncBar(gw, onOpenSettings = onOpenSettings, onSynced = { vm.refresh() })
            OutlinedTextField(
                value = s.query,
                onValueChange = { vm.setQuery(it) },
                label = { Text(stringResource(R.string.search_hint)) },
                singleLine = true,
                keyboardOptions = KeyboardOptions(imeAction = ImeAction.Search),
                modifier = Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 4.dp),
            )
            Row(Modifier.horizontalScroll(rememberScrollState()).padding(horizontal = 8.dp)) {
                FilterChip(selected = s.selectedRt == null, onClick = { vm.selectRt(null) },
                    label = { Text(stringResource(R.string.all_rt)) }, modifier = Modifier.padding(4.dp))
                s.rtOptions.forEach { rt ->
                    FilterChip(selected = s.selectedRt == rt, onClick = { vm.selectRt(rt) },
                        label = { Text(stringResource(R.string.rt_chip, rt)) }, modifier = Modifier.padding(4.dp))
                }
            }
            s.error?.let { ErrorCard(it, onOpenSettings, onRetry = { vm.refresh() }) }
            s.emptyText?.let { Text(it, Modifier.padding(16.dp)) }
            if (s.loading && s.groups.isEmpty()) Loading()
            LazyColumn(Modifier.fillMaxSize()) {
                if (s.searching) {
                    item { SectionTitle(stringResource(R.string.search_results)) }
                    items(s.hits, key = { it.memberId }) { h ->
                        ListItem(
                            headlineContent = { Text(h.name) },
                            supportingContent = { Text(h.detail) },
                            modifier = Modifier.clickable { onOpen(h.householdId) },
                        )
                        HorizontalDivider()
                    }
                } else {
                    s.groups.forEach { g ->
                        item(key = "rt-${g.rt}") { SectionTitle(g.title) }
                        items(g.households, key = { it.id }) { h ->
                            ListItem(
                                headlineContent = { Text(h.title) },
                                supportingContent = { Text("${h.subtitle}\n${h.lastVisitText}") },
                                trailingContent = {
                                    if (h.conflictCount > 0) Pill(stringResource(R.string.conflict_badge, h.conflictCount), Severity.PERHATIAN.color())
                                },
                                modifier = Modifier.clickable { onOpen(h.id) },
                            )
                            HorizontalDivider()
                        }
                    }
                }
                item { Column(Modifier.padding(bottom = 96.dp)) {} } // room for the FAB
            }
        }
    }
}
