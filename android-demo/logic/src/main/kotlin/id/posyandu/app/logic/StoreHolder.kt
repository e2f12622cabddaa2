package id.posyandu.app.logic

import java.io.File

/**
 * The one store of the process (UI + WorkManager worker share it). The app creates
 * it with `StoreHolder(context.filesDir)`; before the first setup there is none and
 * the settings screen asks for the registration data.
 */
open class StoreHolder(private val dir: File) {
    @Volatile private var gateway: PosyanduGateway? = null

    val isSetUp: Boolean get() = gateway != null || BindingsGateway.exists(dir)

    /** The open store, or `null` before setup. Blocking (opens the database): call off the main thread. */
    @Synchronized
    open fun gatewayOrNull(): PosyanduGateway? {
        gateway?.let { return it }
        if (!BindingsGateway.exists(dir)) return null
        return BindingsGateway.openExisting(dir).also { gateway = it }
    }

    /** First setup with the identity from the admin's registration. */
    @Synchronized
    open fun setUp(deviceId: String, kaderId: String, posyanduId: String): PosyanduGateway {
        gateway?.let { return it }
        return BindingsGateway.create(dir, deviceId, kaderId, posyanduId).also { gateway = it }
    }

    @Synchronized
    fun close() {
        (gateway as? AutoCloseable)?.close()
        gateway = null
    }
}
