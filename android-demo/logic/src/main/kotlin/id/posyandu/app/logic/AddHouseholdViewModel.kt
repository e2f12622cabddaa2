package id.posyandu.app.logic

import id.posyandu.sync.Address
import id.posyandu.sync.GeoPoint
import id.posyandu.sync.NewHousehold
import id.posyandu.sync.SpmAttributes
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** Form fields of "Tambah rumah tangga", to mark the one an error is about. */
enum class HouseholdField { RT, RW, DUSUN, STREET, KODE_WILAYAH, KK, GPS, PUBLIC_ORDER_NOTE }

/**
 * The "Tambah rumah tangga" form. Text as typed; SPM answers are tri-state
 * (`null` = belum ditanya). GPS comes from the app layer (location permission,
 * LocationManager) through [setGps].
 */
data class AddHouseholdState(
    val loading: Boolean = true,
    val rt: String = "",
    val rw: String = "",
    val dusun: String = "",
    val street: String = "",
    /** 10 digits; pre-filled with the Posyandu's last used code when the store knows one. */
    val kodeWilayah: String = "",
    /** Optional, 16 digits. */
    val kkNumber: String = "",
    val cleanWater: Boolean? = null,
    val latrine: Boolean? = null,
    val rutilahu: Boolean? = null,
    val socialAid: Boolean? = null,
    val childOutOfSchool: Boolean? = null,
    val publicOrderNote: String = "",
    val lat: Double? = null,
    val lon: Double? = null,
    val saving: Boolean = false,
    /** The core's Indonesian message for a rejected save (nothing was written). */
    val error: UiError? = null,
    /** Field the [error] is about, for `isError` on that input. */
    val errorField: HouseholdField? = null,
    val savedHouseholdId: String? = null,
) {
    val gpsText: String?
        get() = if (lat != null && lon != null) "Lokasi: ${Format.decimal(lat, 6)}, ${Format.decimal(lon, 6)}" else null
    val canSave: Boolean get() = !loading && !saving && savedHouseholdId == null
}

class AddHouseholdViewModel(
    private val gw: PosyanduGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
) : LogicViewModel<AddHouseholdState>(AddHouseholdState(), scope, io) {

    /** Pre-fills the kode wilayah (if the store can tell); the form is usable even if that fails. */
    fun load(): Job = scope.launch {
        val kode = runCatching { onIo { gw.lastKodeWilayah() } }.getOrNull()
        update { if (it.kodeWilayah.isEmpty()) it.copy(loading = false, kodeWilayah = kode.orEmpty()) else it.copy(loading = false) }
    }

    /** Any field edit; clears the previous error. */
    fun edit(change: (AddHouseholdState) -> AddHouseholdState) = update { change(it).copy(error = null, errorField = null) }

    /** From the app's location capture. */
    fun setGps(lat: Double, lon: Double) = edit { it.copy(lat = lat, lon = lon) }
    fun clearGps() = edit { it.copy(lat = null, lon = null) }

    /** Could not get a location (no permission / no fix): shown, the household can still be saved without it. */
    fun gpsFailed(message: String) = update { it.copy(error = UiError(message, "Rumah tangga tetap bisa disimpan tanpa lokasi.", ErrorAction.NONE), errorField = HouseholdField.GPS) }

    fun save(): Job = scope.launch {
        val s = current
        if (!s.canSave) return@launch
        val input = toInput(s)
        update { it.copy(saving = true, error = null, errorField = null) }
        try {
            val id = onIo { gw.createHousehold(input) }
            update { it.copy(saving = false, savedHouseholdId = id) }
        } catch (t: Throwable) {
            val e = UiError.from(t)
            update { it.copy(saving = false, error = e, errorField = fieldOf(e.message)) }
        }
    }

    companion object {
        fun toInput(s: AddHouseholdState) = NewHousehold(
            kkNumber = Format.optional(Format.compactNumber(s.kkNumber)),
            address = Address(
                rt = s.rt.trim(),
                rw = s.rw.trim(),
                dusun = Format.optional(s.dusun),
                kodeWilayah = Format.compactNumber(s.kodeWilayah.trim()),
                street = Format.optional(s.street),
            ),
            gps = if (s.lat != null && s.lon != null) GeoPoint(s.lat, s.lon) else null,
            spm = SpmAttributes(
                cleanWater = s.cleanWater,
                latrine = s.latrine,
                rutilahu = s.rutilahu,
                socialAid = s.socialAid,
                childOutOfSchool = s.childOutOfSchool,
                publicOrderNote = Format.optional(s.publicOrderNote),
            ),
        )

        /** Which input the core's message is about ("RT harus 3 angka", "Nomor KK harus 16 angka", …). */
        fun fieldOf(message: String): HouseholdField? = when {
            message.startsWith("RT ") -> HouseholdField.RT
            message.startsWith("RW ") -> HouseholdField.RW
            message.startsWith("Kode wilayah") -> HouseholdField.KODE_WILAYAH
            message.startsWith("Nomor KK") -> HouseholdField.KK
            message.startsWith("Dusun") -> HouseholdField.DUSUN
            message.startsWith("Alamat jalan") -> HouseholdField.STREET
            message.startsWith("Titik GPS") -> HouseholdField.GPS
            message.startsWith("Catatan ketertiban") -> HouseholdField.PUBLIC_ORDER_NOTE
            else -> null
        }
    }
}
