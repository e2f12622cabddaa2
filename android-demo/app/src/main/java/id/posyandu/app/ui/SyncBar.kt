package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.PosyanduGateway
import id.posyandu.app.logic.SyncViewModel

/** Sync button, progress bar, "Terakhir sinkron: …" and pending count. */
@Composable
fun SyncBar(gw: PosyanduGateway, onOpenSettings: () -> Unit, onSynced: () -> Unit) {
    val vm = rememberLogicVm("sync") { SyncViewModel(gw, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(Unit) { vm.refresh() }
    LaunchedEffect(s.resultText) { if (s.resultText != null) onSynced() }
    Surface(tonalElevation = 2.dp) {
        Column(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 8.dp)) {
            Row(verticalAlignment = Alignment.CenterVertically) {
                Column(Modifier.weight(1f)) {
                    Text(s.lastSyncText, style = MaterialTheme.typography.bodyMedium)
                    Text(s.pendingText, style = MaterialTheme.typography.bodySmall)
                }
                Button(onClick = { vm.syncNow() }, enabled = !s.syncing) {
                    Text(stringResource(if (s.syncing) R.string.syncing else R.string.sync_now))
                }
            }
            if (s.syncing) {
                val p = s.progress
                if (p == null) LinearProgressIndicator(Modifier.fillMaxWidth().padding(top = 6.dp))
                else LinearProgressIndicator(progress = { p }, modifier = Modifier.fillMaxWidth().padding(top = 6.dp))
                s.phaseText?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            }
            s.resultText?.let { Text(it, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.primary) }
            s.error?.let { ErrorCard(it, onOpenSettings = onOpenSettings, onRetry = { vm.syncNow() }) }
        }
    }
}
