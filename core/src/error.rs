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

    /// The local database failed (disk full, corrupt file, locked).
    #[error("Penyimpanan lokal gagal: {0}")]
    Storage(#[from] rusqlite::Error),

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

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Document(e.to_string())
    }
}
