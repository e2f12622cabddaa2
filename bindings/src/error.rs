//! The one error type the apps see. Every message is the core's Bahasa Indonesia
//! `Display` text (or a binding-side Indonesian message for malformed input), so the
//! app can show `e.message` to the kader as is.
//!
//! `flat_error`: the foreign side gets one exception class per variant whose
//! `message` is exactly this `Display` text (Kotlin `PosyanduException.Validation`,
//! Swift `PosyanduError.Validation`, Python `PosyanduError.Validation`).

use posyandu_core::sync::SyncError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum PosyanduError {
    /// Input was rejected; nothing was written. Show the message next to the form.
    #[error("{message}")]
    Validation { message: String },
    /// The household/member/visit does not exist (or was deleted).
    #[error("{message}")]
    NotFound { message: String },
    /// No relay address/token stored yet: open the settings screen.
    #[error("{message}")]
    NotConfigured { message: String },
    /// No network / relay unreachable, or the relay busy or over quota (503/429). Data is
    /// safe; retry later (WorkManager backoff).
    #[error("{message}")]
    Offline { message: String },
    /// Device token rejected or access denied: ask the Puskesmas admin.
    #[error("{message}")]
    Unauthorized { message: String },
    /// App (or server, or the database file) is of an incompatible version.
    #[error("{message}")]
    UpdateRequired { message: String },
    /// The relay failed or answered something unusable; retry later.
    #[error("{message}")]
    Server { message: String },
    /// Local database or document failure (disk full, locked).
    #[error("{message}")]
    Storage { message: String },
    /// The store file is damaged. It is kept as it is: never delete or recreate it
    /// (unsent visits are in it); show the message and contact the admin.
    #[error("{message}")]
    StoreCorrupt { message: String },
    /// The store file does not open with the key given (another key, or a damaged
    /// file). It is kept as it is: never delete or recreate it.
    #[error("{message}")]
    WrongKey { message: String },
    /// The app's `KeyProvider` failed (keystore unavailable, key lost or malformed).
    #[error("{message}")]
    KeyUnavailable { message: String },
    /// A bug: should never happen. Report it.
    #[error("{message}")]
    Internal { message: String },
}

pub type Result<T, E = PosyanduError> = std::result::Result<T, E>;

impl PosyanduError {
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        PosyanduError::Validation { message: message.into() }
    }
}

impl From<posyandu_core::Error> for PosyanduError {
    fn from(e: posyandu_core::Error) -> Self {
        use posyandu_core::Error as E;
        let message = e.to_string();
        match e {
            E::Validation(_) => PosyanduError::Validation { message },
            E::NotFound { .. } => PosyanduError::NotFound { message },
            E::Storage(_) | E::Io(_) | E::Document(_) => PosyanduError::Storage { message },
            E::Corrupt { .. } => PosyanduError::StoreCorrupt { message },
            E::SchemaTooNew { .. } => PosyanduError::UpdateRequired { message },
            E::WrongKey => PosyanduError::WrongKey { message },
            E::Keyring(_) => PosyanduError::KeyUnavailable { message },
            E::Sync(s) => match s {
                SyncError::NotConfigured => PosyanduError::NotConfigured { message },
                SyncError::Offline(_) | SyncError::Busy { .. } => PosyanduError::Offline { message },
                SyncError::Unauthorized | SyncError::Forbidden(_) => PosyanduError::Unauthorized { message },
                SyncError::ClientTooOld | SyncError::ServerTooOld => PosyanduError::UpdateRequired { message },
                SyncError::Rejected { .. } | SyncError::Server(_) | SyncError::Protocol(_) => {
                    PosyanduError::Server { message }
                }
            },
        }
    }
}

impl From<posyandu_core::validation::ValidationError> for PosyanduError {
    fn from(e: posyandu_core::validation::ValidationError) -> Self {
        posyandu_core::Error::from(e).into()
    }
}

impl From<posyandu_core::growth::GrowthError> for PosyanduError {
    fn from(e: posyandu_core::growth::GrowthError) -> Self {
        // Growth errors are all about the input (negative age, non-positive value…).
        PosyanduError::Validation { message: e.to_string() }
    }
}

/// Parses a `YYYY-MM-DD` date given by the app.
pub(crate) fn parse_date(field: &str, s: &str) -> Result<time::Date> {
    posyandu_core::model::parse_date(s.trim()).ok_or_else(|| {
        PosyanduError::validation(format!(
            "Tanggal {field} harus berformat TTTT-BB-HH (diisi: \"{}\")",
            truncate(s, 40)
        ))
    })
}

pub(crate) fn parse_date_opt(field: &str, s: Option<&str>) -> Result<Option<time::Date>> {
    s.map(|s| parse_date(field, s)).transpose()
}

/// Parses a record id (UUID text) given by the app.
pub(crate) fn parse_id(what: &str, s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s.trim())
        .map_err(|_| PosyanduError::validation(format!("ID {what} tidak valid: \"{}\"", truncate(s, 60))))
}

pub(crate) fn parse_id_opt(what: &str, s: Option<&str>) -> Result<Option<uuid::Uuid>> {
    s.map(|s| parse_id(what, s)).transpose()
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
