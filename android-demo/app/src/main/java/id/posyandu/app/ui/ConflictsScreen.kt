package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.ConflictsViewModel
import id.posyandu.app.logic.PosyanduGateway

/** Each conflicting field with every value, the kader who wrote it and when; tap one to keep it. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun ConflictsScreen(gw: PosyanduGateway, householdId: String?, onBack: (() -> Unit)?) {
    val vm = rememberLogicVm("conflicts-${householdId ?: "all"}") { ConflictsViewModel(gw, it, householdId = householdId) }
    val s by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.refresh() }
    Column(Modifier.fillMaxSize()) {
        TopAppBar(
            title = { Text(stringResource(R.string.conflicts_title)) },
            navigationIcon = {
                if (onBack != null) IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.back)) }
            },
        )
        Text(stringResource(R.string.conflicts_explain), Modifier.padding(horizontal = 12.dp))
        s.message?.let { Text(it, color = MaterialTheme.colorScheme.primary, modifier = Modifier.padding(12.dp)) }
        s.error?.let { ErrorCard(it, onRetry = { vm.refresh() }) }
        s.emptyText?.let { Text(it, Modifier.padding(16.dp)) }
        if (s.loading && s.items.isEmpty()) Loading()
        LazyColumn(Modifier.fillMaxSize()) {
            items(s.items, key = { it.householdId + it.path }) { c ->
                Card(Modifier.fillMaxWidth().padding(8.dp)) {
                    Column(Modifier.padding(12.dp)) {
                        Text(c.householdTitle, style = MaterialTheme.typography.labelMedium)
                        Text(c.fieldLabel, style = MaterialTheme.typography.titleMedium)
                        c.options.forEach { o ->
                            Row(Modifier.fillMaxWidth().padding(top = 8.dp), verticalAlignment = Alignment.CenterVertically) {
                                Column(Modifier.weight(1f)) {
                                    Text(o.display, fontWeight = FontWeight.Bold)
                                    Text("${o.kaderText} · ${o.timeText}", style = MaterialTheme.typography.bodySmall)
                                }
                                Button(onClick = { vm.resolve(c, o) }, enabled = !s.resolving) { Text(stringResource(R.string.choose_value)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
