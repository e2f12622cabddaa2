package id.posyandu.app.logic

import id.posyandu.sync.PosyanduException
import id.posyandu.sync.SyncReport
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import java.util.concurrent.locks.ReentrantLock

data class SyncState(
    val syncing: Boolean = false,
    val phaseText: String? = null,
    /** 0..1 for a determinate bar, `null` for an indeterminate one while [syncing]. */
    val progress: Float? = null,
    val lastSyncText: String = "Belum pernah sinkron",
    val pending: Long = 0,
    val configured: Boolean = false,
    val resultText: String? = null,
    val error: UiError? = null,
) {
    val pendingText: String
        get() = if (pending == 0L) "Semua data sudah terkirim" else "$pending perubahan belum terkirim"
}

/** Only one sync at a time per process (button and WorkManager worker). */
object SyncLock {
    private val lock = ReentrantLock()
    fun <T> tryRun(block: () -> T): Result<T>? {
        if (!lock.tryLock()) return null
        return try { Result.success(block()) } catch (t: Throwable) { Result.failure(t) } finally { lock.unlock() }
    }
}

/** Sync button + progress bar + "Terakhir sinkron" + pending count. */
class SyncViewModel(
    private val gw: PosyanduGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<SyncState>(SyncState(), scope, io) {

    fun refresh(): Job = scope.launch {
        try {
            val (last, pending, relay) = onIo { Triple(gw.lastSyncAt(), gw.pendingChanges(), gw.relay()) }
            update { it.copy(lastSyncText = Format.lastSync(last), pending = pending, configured = relay != null) }
        } catch (t: Throwable) {
            update { it.copy(error = UiError.from(t)) }
        }
    }

    fun syncNow(): Job = scope.launch {
        if (current.syncing) return@launch
        update { it.copy(syncing = true, progress = null, phaseText = "Menghubungi server…", error = null, resultText = null) }
        val result = onIo {
            SyncLock.tryRun {
                gw.syncNow { p ->
                    update { it.copy(phaseText = Labels.syncPhase(p.phase), progress = p.fraction) }
                }
            }
        }
        when {
            result == null -> update {
                it.copy(syncing = false, phaseText = null, error = UiError("Sinkron sedang berjalan di latar belakang", "Tunggu sebentar.", ErrorAction.NONE))
            }
            result.isSuccess -> update { it.copy(syncing = false, phaseText = null, progress = 1f, resultText = reportText(result.getOrThrow())) }
            else -> update { it.copy(syncing = false, phaseText = null, progress = null, error = UiError.from(result.exceptionOrNull()!!)) }
        }
        refresh().join()
    }

    companion object {
        fun reportText(r: SyncReport): String = buildString {
            append("Sinkron berhasil: ${r.pushed} perubahan terkirim, ${r.pulled + r.snapshotDocs} diterima")
            if (r.conflicts > 0uL) append(". ${r.conflicts} rumah tangga punya data bertentangan — buka menu Konflik")
        }
    }
}

/** Outcome of a background sync run, mapped 1:1 onto WorkManager's `Result`. */
enum class SyncOutcome { SUCCESS, RETRY, FAILURE }

/** What the WorkManager worker runs (kept here so it is tested on the JVM). */
object BackgroundSync {
    data class Run(val outcome: SyncOutcome, val message: String)

    fun run(gw: PosyanduGateway?, onProgress: (SyncProgress) -> Unit = {}): Run {
        if (gw == null) return Run(SyncOutcome.FAILURE, "Aplikasi belum diatur")
        val r = SyncLock.tryRun { gw.syncNow(onProgress) }
            ?: return Run(SyncOutcome.RETRY, "Sinkron sedang berjalan")
        return r.fold(
            { Run(SyncOutcome.SUCCESS, SyncViewModel.reportText(it)) },
            { t -> Run(outcome(t), UiError.from(t).message) },
        )
    }

    /** Retry with backoff only when waiting can help (no signal, relay hiccup). */
    fun outcome(t: Throwable): SyncOutcome = when (t) {
        is PosyanduException.Offline, is PosyanduException.Server -> SyncOutcome.RETRY
        else -> SyncOutcome.FAILURE // not configured, token rejected, update needed, storage, bug
    }
}
