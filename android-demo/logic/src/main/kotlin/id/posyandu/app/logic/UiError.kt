package id.posyandu.app.logic

import id.posyandu.sync.PosyanduException

/** What kind of action the screen should offer next to an error. */
enum class ErrorAction { NONE, OPEN_SETTINGS, RETRY_LATER, CONTACT_ADMIN, UPDATE_APP, REPORT_BUG }

/**
 * An error ready to show: [message] is the core's Indonesian text (shown as is),
 * [hint] what the kader should do, chosen by exception type.
 */
data class UiError(val message: String, val hint: String?, val action: ErrorAction) {
    val fullText: String get() = if (hint == null) message else "$message\n$hint"

    companion object {
        fun from(t: Throwable): UiError = when (t) {
            is PosyanduException.Validation -> UiError(msg(t), null, ErrorAction.NONE)
            is PosyanduException.NotFound -> UiError(msg(t), "Data mungkin sudah dihapus. Muat ulang daftar.", ErrorAction.NONE)
            is PosyanduException.NotConfigured -> UiError(msg(t),
                "Buka Pengaturan dan isi alamat server serta token perangkat dari admin Puskesmas.", ErrorAction.OPEN_SETTINGS)
            is PosyanduException.Offline -> UiError(msg(t),
                "Data tetap aman di HP. Sinkron akan dicoba lagi otomatis saat ada sinyal.", ErrorAction.RETRY_LATER)
            is PosyanduException.Unauthorized -> UiError(msg(t),
                "Token perangkat ditolak. Hubungi admin Puskesmas untuk pendaftaran ulang.", ErrorAction.CONTACT_ADMIN)
            is PosyanduException.UpdateRequired -> UiError(msg(t),
                "Perbarui aplikasi Posyandu Sync dari Play Store atau petugas Puskesmas.", ErrorAction.UPDATE_APP)
            is PosyanduException.Server -> UiError(msg(t), "Server sedang bermasalah. Coba lagi nanti.", ErrorAction.RETRY_LATER)
            is PosyanduException.Storage -> UiError(msg(t),
                "Penyimpanan HP bermasalah (mungkin penuh). Kosongkan ruang lalu coba lagi.", ErrorAction.NONE)
            is PosyanduException.StoreCorrupt -> UiError(msg(t),
                "Jangan hapus data aplikasi. Hubungi admin Puskesmas.", ErrorAction.CONTACT_ADMIN)
            is PosyanduException.WrongKey -> UiError(msg(t),
                "Jangan hapus data aplikasi atau memasang ulang. Hubungi admin Puskesmas.", ErrorAction.CONTACT_ADMIN)
            is PosyanduException.KeyUnavailable -> UiError(msg(t),
                "Kunci pengaman HP tidak dapat dibaca. Mulai ulang HP lalu coba lagi; jika tetap gagal, hubungi admin Puskesmas.",
                ErrorAction.CONTACT_ADMIN)
            is PosyanduException.Internal -> UiError(msg(t), "Terjadi kesalahan aplikasi. Laporkan ke petugas Puskesmas.", ErrorAction.REPORT_BUG)
            else -> UiError("Terjadi kesalahan tak terduga: ${t.message ?: t.javaClass.simpleName}",
                "Laporkan ke petugas Puskesmas.", ErrorAction.REPORT_BUG)
        }

        private fun msg(t: Throwable) = t.message?.takeIf { it.isNotBlank() } ?: "Terjadi kesalahan"
    }
}
