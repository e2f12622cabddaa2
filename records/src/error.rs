//! The error type of the shared records: encoding, reading and editing a household
//! document. Messages are shown to kader, so they are in Bahasa Indonesia; variant
//! names and docs are English. `posyandu-core` converts it into its own `Error`, variant
//! for variant, keeping the message.

use crate::validation::ValidationError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document could not be decoded, edited or merged (wrong schema, a missing root
    /// map, a record that already exists, a value that does not serialise).
    #[error("Dokumen rusak atau tidak dapat digabung: {0}")]
    Document(String),

    /// The edited record, map or conflict is not in the document (or was deleted).
    #[error("{kind} tidak ditemukan: {id}")]
    NotFound { kind: &'static str, id: String },

    /// An input failed validation (e.g. a conflict choice that is not one of the values).
    #[error(transparent)]
    Validation(#[from] ValidationError),
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Document(e.to_string())
    }
}
