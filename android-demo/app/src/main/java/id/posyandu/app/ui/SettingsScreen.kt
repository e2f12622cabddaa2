package id.posyandu.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.text.input.VisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import id.posyandu.app.R
import id.posyandu.app.logic.SettingsViewModel
import id.posyandu.app.logic.StoreHolder
import id.posyandu.app.work.SyncWorker

/** First start: registration data from the admin; afterwards relay URL + device token. */
@Composable
fun SettingsScreen(stores: StoreHolder, onDone: () -> Unit) {
    val vm = rememberLogicVm("settings") { SettingsViewModel(stores, it) }
    val s by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    var showToken by remember { mutableStateOf(false) }
    LaunchedEffect(Unit) { vm.load() }
    LaunchedEffect(s.savedMessage) {
        if (s.savedMessage != null) {
            SyncWorker.requestSoon(context)
            onDone()
        }
    }
    if (s.loading) { Loading(); return }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(stringResource(R.string.settings_title), style = MaterialTheme.typography.headlineSmall)
        if (s.needsSetup) {
            Text(stringResource(R.string.setup_explain), Modifier.padding(vertical = 8.dp))
            OutlinedTextField(s.posyanduId, { v -> vm.edit { it.copy(posyanduId = v) } }, label = { Text(stringResource(R.string.posyandu_id)) },
                singleLine = true, modifier = Modifier.fillMaxWidth())
            OutlinedTextField(s.kaderId, { v -> vm.edit { it.copy(kaderId = v) } }, label = { Text(stringResource(R.string.kader_id)) },
                singleLine = true, modifier = Modifier.fillMaxWidth())
            OutlinedTextField(s.deviceId, { v -> vm.edit { it.copy(deviceId = v) } }, label = { Text(stringResource(R.string.device_id)) },
                singleLine = true, modifier = Modifier.fillMaxWidth())
        } else {
            Text(stringResource(R.string.identity_fixed), style = MaterialTheme.typography.labelLarge, modifier = Modifier.padding(top = 8.dp))
            Text("${stringResource(R.string.posyandu_id)}: ${s.posyanduId}")
            Text("${stringResource(R.string.kader_id)}: ${s.kaderId}")
            Text("${stringResource(R.string.device_id)}: ${s.deviceId}")
        }
        OutlinedTextField(s.relayUrl, { v -> vm.edit { it.copy(relayUrl = v) } }, label = { Text(stringResource(R.string.relay_url)) },
            singleLine = true, keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri),
            modifier = Modifier.fillMaxWidth().padding(top = 12.dp))
        OutlinedTextField(s.token, { v -> vm.edit { it.copy(token = v) } }, label = { Text(stringResource(R.string.device_token)) },
            singleLine = true, visualTransformation = if (showToken) VisualTransformation.None else PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password), modifier = Modifier.fillMaxWidth())
        TextButton(onClick = { showToken = !showToken }) { Text(stringResource(if (showToken) R.string.hide else R.string.show)) }
        s.error?.let { ErrorCard(it) }
        Button(onClick = { vm.save() }, enabled = !s.saving, modifier = Modifier.fillMaxWidth().padding(top = 12.dp)) {
            Text(stringResource(if (s.saving) R.string.saving else R.string.save))
        }
    }
}
