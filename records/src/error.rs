//! The error type of the shared records: document encoding, reading and editing.
//! Messages are shown to kader, so they are in Bahasa Indonesia; variant names and
//! docs are English. `posyandu-core` converts it into its own `Error` (same variants,
//! same messages).

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

    /// A document could not be decoded, edited or merged.
    #[error("Dokumen rusak atau tidak dapat digabung: {0}")]
    Document(String),
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Document(e.to_string())
    }
}
