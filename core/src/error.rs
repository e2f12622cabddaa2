//! The one error type of the core. Messages are shown to kader, so they are in
//! Bahasa Indonesia; variant names and docs are English.

use crate::validation::ValidationError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input failed validation; nothing was written.
    #[error(transparent)]
    Validation(#[from] ValidationError),

    /// The record does not exist (or was deleted).
    #[error("{kind} tidak ditemukan: {id}")]
    NotFound { kind: &'static str, id: String },

    /// The local database failed (disk full, locked).
    #[error("Penyimpanan lokal gagal: {0}")]
    Storage(rusqlite::Error),

    /// The store file is damaged (truncated, overwritten, not a database). The file is
    /// never deleted or recreated by the app: what it still holds (unsent visits) can
    /// be recovered by an admin, and the rest re-downloaded from the relay.
    #[error(
        "Penyimpanan data di HP ini rusak ({detail}). Berkasnya tidak dihapus: jangan hapus data aplikasi \
         atau memasang ulang; hubungi admin Puskesmas agar kunjungan yang belum terkirim dapat dipulihkan."
    )]
    Corrupt { detail: String },

    /// The store file does not open with the key the app gave: a wrong key (another
    /// installation's, a lost keystore) or a damaged file. The file is left untouched.
    #[error(
        "Kunci basis data salah atau berkas rusak. Berkasnya tidak diubah: jangan hapus data aplikasi; \
         hubungi admin Puskesmas agar kunjungan yang belum terkirim dapat dipulihkan."
    )]
    WrongKey,

    /// The app's key or secret storage failed (see [`crate::store::KeyringError`]).
    #[error(transparent)]
    Keyring(#[from] crate::store::KeyringError),

    /// A stored or received document could not be decoded or merged.
    #[error("Dokumen rusak atau tidak dapat digabung: {0}")]
    Document(String),

    /// The store file was written by a newer app version.
    #[error("Basis data dibuat oleh versi aplikasi yang lebih baru (skema {found}, didukung {supported}); perbarui aplikasi")]
    SchemaTooNew { found: i64, supported: i64 },

    /// Synchronisation failed; the outbox is kept and the next sync retries.
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),

    /// A file given by the user could not be read or written.
    #[error("Berkas tidak dapat dibaca/ditulis: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
                Error::Corrupt { detail: e.to_string() }
            }
            _ => Error::Storage(e),
        }
    }
}

/// The shared records' errors (documents, validation) keep their variant and message.
impl From<posyandu_records::Error> for Error {
    fn from(e: posyandu_records::Error) -> Self {
        match e {
            posyandu_records::Error::Validation(v) => Error::Validation(v),
            posyandu_records::Error::NotFound { kind, id } => Error::NotFound { kind, id },
            posyandu_records::Error::Document(d) => Error::Document(d),
        }
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Document(e.to_string())
    }
}
