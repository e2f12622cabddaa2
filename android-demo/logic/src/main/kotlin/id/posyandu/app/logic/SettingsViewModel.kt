package id.posyandu.app.logic

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class SettingsState(
    val loading: Boolean = true,
    /** First start: the identity fields are editable; afterwards shown read-only. */
    val needsSetup: Boolean = true,
    val posyanduId: String = "",
    val kaderId: String = "",
    val deviceId: String = "",
    val relayUrl: String = "",
    val token: String = "",
    val saving: Boolean = false,
    val savedMessage: String? = null,
    val error: UiError? = null,
)

/**
 * Settings: on the first start the registration from the Puskesmas admin (ID
 * Posyandu, ID kader, ID perangkat), then relay address + device token.
 */
class SettingsViewModel(
    private val holder: StoreHolder,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<SettingsState>(SettingsState(), scope, io) {

    fun load(): Job = scope.launch {
        try {
            val gw = onIo { holder.gatewayOrNull() }
            if (gw == null) {
                update { it.copy(loading = false, needsSetup = true) }
                return@launch
            }
            val (id, relay) = onIo { gw.identity() to gw.relay() }
            update {
                it.copy(loading = false, needsSetup = false, posyanduId = id.posyanduId, kaderId = id.kaderId,
                    deviceId = id.deviceId, relayUrl = relay?.url ?: "", token = relay?.token ?: "")
            }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun edit(change: (SettingsState) -> SettingsState) = update { change(it).copy(savedMessage = null, error = null) }

    fun save(): Job = scope.launch {
        val s = current
        val missing = buildList {
            if (s.needsSetup) {
                if (s.posyanduId.isBlank()) add("ID Posyandu")
                if (s.kaderId.isBlank()) add("ID kader")
                if (s.deviceId.isBlank()) add("ID perangkat")
            }
            if (s.relayUrl.isBlank()) add("alamat server")
            if (s.token.isBlank()) add("token perangkat")
        }
        if (missing.isNotEmpty()) {
            update { it.copy(error = UiError("Data tidak valid: ${missing.joinToString(", ")} wajib diisi",
                "Data ini diberikan admin Puskesmas saat pendaftaran perangkat.", ErrorAction.NONE)) }
            return@launch
        }
        update { it.copy(saving = true, error = null, savedMessage = null) }
        try {
            onIo {
                val gw = holder.gatewayOrNull() ?: holder.setUp(s.deviceId, s.kaderId, s.posyanduId)
                gw.setRelay(s.relayUrl.trim(), s.token.trim())
            }
            update { it.copy(saving = false, needsSetup = false, savedMessage = "Pengaturan tersimpan") }
        } catch (t: Throwable) {
            update { it.copy(saving = false, error = UiError.from(t)) }
        }
    }
}
