package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.SpmGateway
import id.posyandu.app.logic.SpmViewModel

/**
 * "Kebutuhan SPM" (issue 13): the Posyandu's requests to the desa with their status;
 * a form to raise a need of a person or of the household (household and member picked
 * from the store); for the kader koordinator, verify and hand over. All logic is in
 * [SpmViewModel] (tested on the JVM); this only draws it.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SpmScreen(gw: PosyanduGateway) {
    val spm = gw as? SpmGateway ?: return
    val vm = rememberLogicVm("spm") { SpmViewModel(spm, it, people = gw) }
    val s by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.refresh() }
    val household = s.householdId
    var member by remember { mutableStateOf<String?>(null) }
    var need by remember { mutableStateOf<String?>(null) }
    var note by remember { mutableStateOf("") }
    Column(Modifier.fillMaxSize()) {
        TopAppBar(title = { Text(stringResource(R.string.spm_title)) })
        s.message?.let { Text(it, color = MaterialTheme.colorScheme.primary, modifier = Modifier.padding(12.dp)) }
        s.error?.let { ErrorCard(it, onRetry = { vm.refresh() }) }
        LazyColumn(Modifier.fillMaxSize()) {
            item {
                Card(Modifier.fillMaxWidth().padding(8.dp)) {
                    Column(Modifier.padding(12.dp)) {
                        Text(stringResource(R.string.spm_raise), style = MaterialTheme.typography.titleMedium)
                        Text(stringResource(R.string.spm_household))
                        s.households.forEach { h ->
                            FilterChip(selected = household == h.id, onClick = { vm.chooseHousehold(h.id); member = null; need = null },
                                label = { Text(h.label) })
                        }
                        household?.let { hid ->
                            Text(stringResource(R.string.spm_for_whom))
                            FilterChip(selected = member == null, onClick = { member = null; need = null },
                                label = { Text(stringResource(R.string.spm_whole_household)) })
                            s.members.forEach { m ->
                                FilterChip(selected = member == m.id, onClick = { member = m.id; need = null }, label = { Text(m.label) })
                            }
                            Text(stringResource(R.string.spm_need))
                            vm.needsFor(member != null).forEach { n ->
                                FilterChip(selected = need == n.code, onClick = { need = n.code },
                                    label = { Text("${n.label} (${n.areaLabel})") })
                            }
                            OutlinedTextField(note, { note = it }, label = { Text(stringResource(R.string.spm_note)) },
                                modifier = Modifier.fillMaxWidth())
                            Button(enabled = need != null && !s.saving, onClick = {
                                vm.raise(hid, member, need!!, note)
                                note = ""
                            }) { Text(stringResource(R.string.spm_save)) }
                        }
                    }
                }
            }
            item {
                Row(Modifier.fillMaxWidth().padding(horizontal = 12.dp), verticalAlignment = Alignment.CenterVertically) {
                    Text(stringResource(R.string.spm_show_closed), Modifier.weight(1f))
                    Switch(s.showClosed, { vm.showClosed(it) })
                }
                Row(Modifier.fillMaxWidth().padding(horizontal = 12.dp), verticalAlignment = Alignment.CenterVertically) {
                    Text(stringResource(R.string.spm_koordinator), Modifier.weight(1f))
                    Switch(s.koordinator, { vm.setKoordinator(it) })
                }
                s.emptyText?.let { Text(it, Modifier.padding(16.dp)) }
                if (s.loading && s.rows.isEmpty()) Loading()
            }
            items(s.rows, key = { it.householdId + it.key }) { r ->
                Card(Modifier.fillMaxWidth().padding(8.dp)) {
                    Column(Modifier.padding(12.dp)) {
                        Text(r.areaLabel, style = MaterialTheme.typography.labelMedium)
                        Text(r.title, style = MaterialTheme.typography.titleMedium)
                        Text(r.statusLabel, color = if (r.closed) MaterialTheme.colorScheme.secondary else MaterialTheme.colorScheme.primary)
                        Text(r.detail, style = MaterialTheme.typography.bodySmall)
                        Row {
                            if (r.canVerify) OutlinedButton(onClick = { vm.verify(r) }) { Text(stringResource(R.string.spm_verify)) }
                            if (r.canForward) OutlinedButton(onClick = { vm.forward(r) }) { Text(stringResource(R.string.spm_forward)) }
                        }
                    }
                }
            }
        }
    }
}
