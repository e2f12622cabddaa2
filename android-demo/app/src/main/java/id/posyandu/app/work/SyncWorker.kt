package id.posyandu.app.work

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import id.posyandu.app.PosyanduApp
import id.posyandu.app.logic.BackgroundSync
import id.posyandu.app.logic.SyncOutcome
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.util.concurrent.TimeUnit

/**
 * Background sync: runs the blocking `syncNow` on Dispatchers.IO when there is a
 * network. Offline / relay errors -> Result.retry() (exponential backoff); not
 * configured / token rejected / update required -> Result.failure() (waiting won't help).
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result = withContext(Dispatchers.IO) {
        val stores = (applicationContext as PosyanduApp).stores
        val run = BackgroundSync.run(stores.gatewayOrNull()) { p ->
            // Best-effort progress for an observer (e.g. the sync bar); never blocks the sync.
            setProgressAsync(workDataOf(KEY_FRACTION to (p.fraction ?: -1f)))
        }
        val data = workDataOf(KEY_MESSAGE to run.message)
        when (run.outcome) {
            SyncOutcome.SUCCESS -> Result.success(data)
            SyncOutcome.RETRY -> Result.retry()
            SyncOutcome.FAILURE -> Result.failure(data)
        }
    }

    companion object {
        const val KEY_FRACTION = "fraction"
        const val KEY_MESSAGE = "message"
        private const val PERIODIC = "posyandu-sync-periodic"
        private const val SOON = "posyandu-sync-soon"

        private val network = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        fun schedulePeriodic(context: Context) {
            val req = PeriodicWorkRequestBuilder<SyncWorker>(3, TimeUnit.HOURS)
                .setConstraints(network)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, req)
        }

        /** After saving a visit: send it as soon as there is signal. */
        fun requestSoon(context: Context) {
            val req = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(network)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .setInitialDelay(10, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(SOON, ExistingWorkPolicy.REPLACE, req)
        }
    }
}
