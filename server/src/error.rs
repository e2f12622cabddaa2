//! The one error type of the HTTP API.
//!
//! Every error becomes a status code plus a JSON [`ErrorBody`] with a stable machine
//! `code` (clients and dashboards match on it) and a message in Bahasa Indonesia for
//! the kader. Every response carries the `x-posyandu-protocol` header (added by a layer
//! in [`crate::app`]). Internal details are logged, never sent.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::wire::{ErrorBody, WireError, PROTOCOL_VERSION, VERSION_HEADER};

/// `Retry-After` of a 503: the database or the relay is briefly unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The stable `code` of an error response, also put in the response extensions so the
/// metrics/logging layer can count errors without parsing bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No, malformed or unknown bearer token.
    #[error("Token perangkat tidak ada atau tidak dikenal")]
    Unauthorized,
    #[error("Token perangkat sudah dicabut; minta token baru ke admin Puskesmas")]
    RevokedToken,
    /// A valid token of a kind not allowed on this endpoint (e.g. Puskesmas on /v1/sync).
    #[error("Jenis token ini tidak boleh memakai layanan ini")]
    WrongTokenKind,
    /// The document belongs (or claims to belong) to another Posyandu.
    #[error("Dokumen {0} bukan milik Posyandu perangkat ini")]
    ForbiddenScope(String),
    /// The document's root `id` is not the id it was pushed under.
    #[error("Isi dokumen {0} tidak cocok dengan ID-nya")]
    DocIdMismatch(String),
    #[error("Isi permintaan rusak: {0}")]
    BadBody(String),
    /// The FHIR export of a Posyandu without SATUSEHAT ids (`admin satusehat`).
    #[error(
        "Posyandu {0} belum punya konfigurasi SATUSEHAT (ID Organization, Location, bidan): minta operator relay menjalankan `posyandu-relay admin satusehat`"
    )]
    SatusehatNotConfigured(String),
    /// A pushed change is malformed, or the document it would produce breaks the
    /// schema (`path` says where, never with the value): nothing of the push is stored.
    #[error("Perubahan dokumen {doc} ditolak{}: {reason}", path.as_deref().map(|p| format!(" di {p}")).unwrap_or_default())]
    BadChange { doc: String, path: Option<String>, reason: String },
    /// The token was first used by another phone's store: one store per device token.
    #[error(
        "Token perangkat ini sudah dipakai di HP lain. Daftarkan HP ini sebagai perangkat baru ke admin Puskesmas."
    )]
    DeviceBound,
    #[error("Perubahan dokumen {doc} tidak lengkap: {missing} perubahan sebelumnya belum dikirim")]
    MissingDependencies { doc: String, missing: usize },
    #[error("Dokumen {0} memakai skema yang tidak didukung server ini")]
    UnsupportedSchema(String),
    #[error("Permintaan terlalu besar; kirim dalam beberapa bagian")]
    TooLarge,
    #[error("Versi protokol {found} tidak didukung (server mendukung {min}–{max})")]
    UnsupportedProtocol { found: u8, min: u8, max: u8 },
    /// `?access_token=` on a format other than HTML (JSON, CSV): send the header.
    #[error("Token di alamat (access_token) hanya diterima untuk halaman HTML; kirim token di header Authorization")]
    TokenInUrl,
    /// A link token that is malformed, expired, or not for this page.
    #[error("Tautan ini sudah kedaluwarsa atau tidak sah; buka lagi dari laporan bulanan")]
    BadLink,
    #[error("Alamat tidak dikenal")]
    NotFound,
    #[error("Metode tidak diizinkan")]
    MethodNotAllowed,
    #[error("Server sedang sibuk; coba lagi sebentar lagi")]
    Unavailable,
    /// The device sent more requests than its per-minute quota.
    #[error("Terlalu banyak permintaan dari perangkat ini; coba lagi dalam {retry_after_secs} detik")]
    RateLimited { retry_after_secs: u64 },
    /// The device created its daily quota of new households.
    #[error("Batas rumah tangga baru hari ini ({limit}) sudah tercapai; data tetap aman di HP dan dikirim besok")]
    NewDocsQuota { limit: u32, retry_after_secs: u64 },
    /// The detail is logged, the client only sees a generic message.
    #[error("Terjadi kesalahan di server; coba lagi nanti")]
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::RevokedToken => "revoked_token",
            ApiError::WrongTokenKind => "wrong_token_kind",
            ApiError::ForbiddenScope(_) => "forbidden_scope",
            ApiError::DocIdMismatch(_) => "doc_id_mismatch",
            ApiError::BadBody(_) => "bad_body",
            ApiError::BadChange { .. } => "bad_change",
            ApiError::DeviceBound => "device_bound",
            ApiError::MissingDependencies { .. } => "missing_dependencies",
            ApiError::UnsupportedSchema(_) => "unsupported_schema",
            ApiError::TooLarge => "too_large",
            ApiError::UnsupportedProtocol { .. } => "unsupported_protocol",
            ApiError::TokenInUrl => "token_in_url",
            ApiError::BadLink => "invalid_link",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unavailable => "unavailable",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::NewDocsQuota { .. } => "new_docs_quota",
            ApiError::Internal(_) => "internal",
            ApiError::SatusehatNotConfigured(_) => "satusehat_not_configured",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::RevokedToken | ApiError::BadLink => StatusCode::UNAUTHORIZED,
            ApiError::WrongTokenKind | ApiError::ForbiddenScope(_) | ApiError::DocIdMismatch(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::BadBody(_)
            | ApiError::TokenInUrl
            | ApiError::BadChange { .. }
            | ApiError::MissingDependencies { .. }
            | ApiError::UnsupportedSchema(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::DeviceBound | ApiError::SatusehatNotConfigured(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedProtocol { .. } => StatusCode::UPGRADE_REQUIRED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } | ApiError::NewDocsQuota { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs } | ApiError::NewDocsQuota { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            ApiError::Unavailable => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (doc, path) = match self {
            ApiError::BadChange { doc, path, .. } => (Some(doc.clone()), path.clone()),
            ApiError::ForbiddenScope(doc)
            | ApiError::DocIdMismatch(doc)
            | ApiError::UnsupportedSchema(doc)
            | ApiError::MissingDependencies { doc, .. } => (Some(doc.clone()), None),
            _ => (None, None),
        };
        // Puskesmas refusals name a Posyandu, not a document.
        let doc = doc.filter(|d| uuid::Uuid::parse_str(d).is_ok());
        ErrorBody { code: self.code().to_string(), message: self.to_string(), doc, path }
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Empty => ApiError::BadBody("pesan kosong".into()),
            WireError::Version { found, min, max } => ApiError::UnsupportedProtocol { found, min, max },
            WireError::TooLarge => ApiError::TooLarge,
            WireError::Corrupt(why) => ApiError::BadBody(truncate(&why, 200)),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
                ApiError::Unavailable
            }
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let status = self.status();
        let code = self.code();
        let retry_after = self.retry_after_secs();
        let mut resp = (status, axum::Json(self.body())).into_response();
        resp.headers_mut().insert(VERSION_HEADER, HeaderValue::from(u16::from(PROTOCOL_VERSION)));
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp.extensions_mut().insert(ErrorCode(code));
        resp
    }
}

/// Shortens a message at a char boundary (error texts from decoders can be long).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
