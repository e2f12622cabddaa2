package id.posyandu.app.logic

import id.posyandu.sync.Conflict
import id.posyandu.sync.HouseholdDetail
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

data class ConflictOption(
    val valueJson: String,
    /** The value as the kader reads it ("Siti Aminah", "7,9", "Ya", "(kosong)"). */
    val display: String,
    val kaderText: String,
    val timeText: String,
)

data class ConflictItem(
    val householdId: String,
    val householdTitle: String,
    val path: String,
    val fieldLabel: String,
    val options: List<ConflictOption>,
)

data class ConflictsState(
    val loading: Boolean = true,
    val items: List<ConflictItem> = emptyList(),
    val resolving: Boolean = false,
    val message: String? = null,
    val error: UiError? = null,
) {
    val emptyText: String? get() = if (!loading && error == null && items.isEmpty()) "Tidak ada data yang bertentangan" else null
}

/**
 * Same-field conflicts from two phones: each field with every value, who wrote it
 * and when; the kader keeps one.
 */
class ConflictsViewModel(
    private val gw: PosyanduGateway,
    scope: CoroutineScope,
    io: CoroutineDispatcher = Dispatchers.IO,
    /** Only this household (from its detail screen), or all with a conflict badge. */
    private val householdId: String? = null,
) : LogicViewModel<ConflictsState>(ConflictsState(), scope, io) {

    fun refresh(): Job = scope.launch {
        update { it.copy(loading = true, error = null) }
        try {
            val items = onIo { load() }
            update { it.copy(loading = false, items = items) }
        } catch (t: Throwable) {
            update { it.copy(loading = false, error = UiError.from(t)) }
        }
    }

    fun resolve(item: ConflictItem, option: ConflictOption): Job = scope.launch {
        update { it.copy(resolving = true, error = null, message = null) }
        try {
            val items = onIo {
                gw.resolveConflict(item.householdId, item.path, option.valueJson)
                load()
            }
            update { it.copy(resolving = false, items = items, message = "${item.fieldLabel}: dipilih \"${option.display}\"") }
        } catch (t: Throwable) {
            update { it.copy(resolving = false, error = UiError.from(t)) }
        }
    }

    private fun load(): List<ConflictItem> {
        val ids = householdId?.let { listOf(it) } ?: gw.listHouseholds(null).filter { it.conflictCount > 0u }.map { it.id }
        return ids.flatMap { id ->
            val cs = gw.conflicts(id)
            if (cs.isEmpty()) emptyList() else {
                val h = gw.household(id)
                cs.map { item(it, h) }
            }
        }
    }

    companion object {
        private val FIELDS = mapOf(
            "name" to "Nama", "nik" to "NIK", "birth_date" to "Tanggal lahir", "sex" to "Jenis kelamin",
            "relation" to "Hubungan keluarga", "bpjs_number" to "No. BPJS", "kk_number" to "No. KK",
            "head_member_id" to "Kepala keluarga", "rt" to "RT", "rw" to "RW", "dusun" to "Dusun", "street" to "Jalan",
            "kode_wilayah" to "Kode wilayah", "gps" to "Lokasi GPS", "weight_kg" to "Berat badan",
            "length_height_cm" to "Panjang/tinggi badan", "muac_cm" to "LiLA", "head_circumference_cm" to "Lingkar kepala",
            "clean_water" to "Air bersih", "latrine" to "Jamban sehat", "rutilahu" to "Rumah tidak layak huni",
            "social_aid" to "Bantuan sosial", "child_out_of_school" to "Anak putus sekolah", "lmp" to "HPHT",
            "due_date" to "HPL", "ended" to "Kehamilan selesai", "date" to "Tanggal kunjungan",
        )

        fun item(c: Conflict, h: HouseholdDetail): ConflictItem {
            val head = h.members.firstOrNull { it.id == h.headMemberId }?.name
            return ConflictItem(
                householdId = c.householdId,
                householdTitle = (head?.let { "Keluarga $it" } ?: "Rumah tangga") + " · RT ${h.address.rt}",
                path = c.path,
                fieldLabel = fieldLabel(c.path, h),
                options = c.values.map { v ->
                    ConflictOption(v.valueJson, displayJson(v.valueJson), v.kaderId?.let { "Kader $it" } ?: "Kader tidak diketahui",
                        Format.dateTime(v.writtenAt))
                },
            )
        }

        /** `members/<id>/name` -> `Nama (Siti Aminah)`; unknown paths are shown readable. */
        fun fieldLabel(path: String, h: HouseholdDetail): String {
            val parts = path.trim('/').split('/')
            val field = FIELDS[parts.last()] ?: parts.last().replace('_', ' ').replaceFirstChar { it.uppercase() }
            val owner = when {
                parts.size >= 2 && parts[0] == "members" -> h.members.firstOrNull { it.id == parts[1] }?.name ?: "anggota keluarga"
                parts.size >= 2 && parts[0] == "visits" -> h.visits.firstOrNull { it.id == parts[1] }?.let { "kunjungan ${Format.date(it.date)}" } ?: "kunjungan"
                parts.size >= 2 && parts[0] == "pregnancies" -> "kehamilan"
                parts[0] == "address" -> "alamat"
                parts[0] == "spm" -> "SPM"
                else -> null
            }
            return if (owner == null) field else "$field ($owner)"
        }

        /** Minimal JSON scalar rendering for the choice buttons. */
        fun displayJson(json: String): String {
            val t = json.trim()
            return when {
                t == "null" -> "(kosong)"
                t == "true" -> "Ya"
                t == "false" -> "Tidak"
                t.length >= 2 && t.startsWith('"') && t.endsWith('"') ->
                    t.substring(1, t.length - 1).replace("\\\"", "\"").replace("\\n", " ").replace("\\\\", "\\")
                t.toDoubleOrNull() != null -> Format.decimal(t.toDouble())
                else -> t
            }
        }
    }
}
