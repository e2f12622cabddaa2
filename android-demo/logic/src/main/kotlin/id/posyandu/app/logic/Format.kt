package id.posyandu.app.logic

import java.time.Instant
import java.time.LocalDate
import java.time.ZoneOffset
import java.util.Locale

/** Display formatting in Bahasa Indonesia (dates, ages, decimals with a comma). */
object Format {
    /** Waktu Indonesia Barat; the store's "today" uses the same zone. */
    val WIB: ZoneOffset = ZoneOffset.ofHours(7)

    private val MONTHS = listOf(
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    )

    /** `2025-05-12` -> `12 Mei 2025`; anything unparsable is shown as is. */
    fun date(iso: String?): String {
        if (iso.isNullOrBlank()) return "-"
        val d = runCatching { LocalDate.parse(iso.trim()) }.getOrNull() ?: return iso
        return "${d.dayOfMonth} ${MONTHS[d.monthValue - 1]} ${d.year}"
    }

    /** Unix seconds -> `12 Mei 2025 14.03 WIB`. */
    fun dateTime(unixSeconds: Long): String {
        val t = Instant.ofEpochSecond(unixSeconds).atOffset(WIB)
        return "${t.dayOfMonth} ${MONTHS[t.monthValue - 1]} ${t.year} " +
            String.format(Locale.ROOT, "%02d.%02d WIB", t.hour, t.minute)
    }

    fun lastSync(unixSeconds: Long?): String =
        if (unixSeconds == null) "Belum pernah sinkron" else "Terakhir sinkron: ${dateTime(unixSeconds)}"

    /** Completed months -> `8 bulan`, `2 tahun 3 bulan`, `34 tahun`. */
    fun age(months: Int): String = when {
        months < 0 -> "Umur tidak diketahui"
        months < 24 -> "$months bulan"
        months < 60 -> if (months % 12 == 0) "${months / 12} tahun" else "${months / 12} tahun ${months % 12} bulan"
        else -> "${months / 12} tahun"
    }

    /** `7.95` -> `7,95` (Indonesian decimal comma), trailing zeros dropped. */
    fun decimal(x: Double, maxDecimals: Int = 2): String {
        val s = String.format(Locale.ROOT, "%.${maxDecimals}f", x).trimEnd('0').trimEnd('.')
        return s.replace('.', ',')
    }

    /** A z-score rounded to 2 decimals with sign: `-3,12`, `+0,40`. */
    fun z(x: Double): String = (if (x >= 0) "+" else "") + String.format(Locale.ROOT, "%.2f", x).replace('.', ',')

    /** Parses what a kader types: `7,9` or `7.9`; blank -> null; otherwise NaN (invalid). */
    fun parseDecimal(text: String): Double? {
        val t = text.trim()
        if (t.isEmpty()) return null
        return t.replace(',', '.').toDoubleOrNull()?.takeIf { it.isFinite() } ?: Double.NaN
    }

    /** Masks a NIK for lists: `3201014203950001` -> `320101••••••0001`. */
    fun maskNik(nik: String?): String? =
        nik?.let { if (it.length == 16) it.take(6) + "••••••" + it.takeLast(4) else it }

    fun rtRw(rt: String, rw: String) = "RT $rt / RW $rw"

    /** `2025-05-12` -> midnight UTC in millis (what Material3's DatePicker works in); `null` if unparsable. */
    fun isoToUtcMillis(iso: String?): Long? =
        iso?.let { runCatching { LocalDate.parse(it.trim()).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli() }.getOrNull() }

    /** A DatePicker selection (UTC millis) -> `YYYY-MM-DD`. */
    fun utcMillisToIso(millis: Long): String = Instant.ofEpochMilli(millis).atOffset(ZoneOffset.UTC).toLocalDate().toString()

    /** NIK/KK/BPJS/kode wilayah as typed ("3201 0142-0395 0001") -> digits only; other characters are kept for the core to reject. */
    fun compactNumber(text: String): String = text.filterNot { it == ' ' || it == '-' || it == '.' }

    /** Blank -> `null`, else trimmed. */
    fun optional(text: String): String? = text.trim().ifEmpty { null }
}
