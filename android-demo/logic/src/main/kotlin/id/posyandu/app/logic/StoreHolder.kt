package id.posyandu.app.logic

import id.posyandu.sync.KeyProvider
import java.io.File

/**
 * The one store of the process (UI + WorkManager worker share it). The app creates
 * it with `StoreHolder(context.filesDir, AndroidKeyProvider(context))`; before the
 * first setup there is none and the settings screen asks for the registration data.
 * [keys] gives the store's encryption key and keeps the device token.
 */
open class StoreHolder(private val dir: File, private val keys: KeyProvider) {
    @Volatile private var gateway: PosyanduGateway? = null

    val isSetUp: Boolean get() = gateway != null || BindingsGateway.exists(dir)

    /** The open store, or `null` before setup. Blocking (opens the database): call off the main thread. */
    @Synchronized
    open fun gatewayOrNull(): PosyanduGateway? {
        gateway?.let { return it }
        if (!BindingsGateway.exists(dir)) return null
        return BindingsGateway.openExisting(dir, keys).also { gateway = it }
    }

    /** First setup with the identity from the admin's registration. */
    @Synchronized
    open fun setUp(deviceId: String, kaderId: String, posyanduId: String): PosyanduGateway {
        gateway?.let { return it }
        return BindingsGateway.create(dir, deviceId, kaderId, posyanduId, keys).also { gateway = it }
    }

    @Synchronized
    fun close() {
        (gateway as? AutoCloseable)?.close()
        gateway = null
    }
}
