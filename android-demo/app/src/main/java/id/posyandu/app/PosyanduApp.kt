package id.posyandu.app

import android.app.Application
import id.posyandu.app.logic.StoreHolder
import id.posyandu.app.work.SyncWorker

/**
 * Holds the one store of the process (app-private `filesDir/posyandu.db`, encrypted
 * with a key from [AndroidKeyProvider]), shared by the screens and the WorkManager worker.
 */
class PosyanduApp : Application() {
    lateinit var stores: StoreHolder
        private set

    override fun onCreate() {
        super.onCreate()
        stores = StoreHolder(filesDir, AndroidKeyProvider(this))
        // Periodic, network-constrained background sync (no-op until set up: the worker
        // reports failure without retrying, and the next period tries again).
        SyncWorker.schedulePeriodic(this)
    }
}
