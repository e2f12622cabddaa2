//! Bearer tokens and the principals they stand for.
//!
//! A token is [`TOKEN_PREFIX`] followed by 32 random bytes in base64url without padding
//! (4 + 43 characters, 256 bits of entropy). The prefix makes every token safe to paste
//! after a space on a command line (a bare base64url token begins with `-` about once
//! in 64 and was then taken for a flag) and recognisable to secret scanners. Tokens
//! issued before the prefix (bare 43 characters) keep working: verification only
//! hashes the text. The relay stores only the SHA-256 hash, so a leaked database does
//! not leak usable tokens, and shows the token once when it is issued. Tokens are
//! revoked, never deleted, so logs naming a token id stay meaningful.

use axum::http::{header::AUTHORIZATION, HeaderMap};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A kader's phone: reads and writes the households of one Posyandu.
    Device(DevicePrincipal),
    /// A Puskesmas dashboard: reads (never writes) the Posyandu of its area. Refused by
    /// the device endpoints; its own read API is future work.
    Puskesmas { token_id: i64, puskesmas_id: String, posyandu_ids: Vec<String> },
    /// A bidan (village midwife): reads the open referrals of the Posyandu she covers and
    /// records what she did ([`crate::bidan`]). Refused by the device and Puskesmas
    /// endpoints. Her token ids are numbered apart from the `token` table's (`bidan_token`).
    Bidan(BidanPrincipal),
    /// A desa/kelurahan office: reads the SPM requests and aggregate counts of its
    /// villages' households (by Kemendagri village code) and records the desa-side
    /// request steps ([`crate::desa`]). Never sees a clinical field. Refused by every
    /// other API. Token ids numbered apart (`desa_token`).
    Desa(DesaPrincipal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesaPrincipal {
    pub token_id: i64,
    pub desa_id: String,
    pub name: String,
    /// Kemendagri village codes (10 digits) of the desa/kelurahan, sorted.
    pub kodes: Vec<String>,
    /// The Posyandu serving its villages (where its households are synced), sorted.
    pub posyandu_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidanPrincipal {
    pub token_id: i64,
    pub bidan_id: String,
    /// The Posyandu she covers (one or more), sorted.
    pub posyandu_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePrincipal {
    pub token_id: i64,
    pub device_id: String,
    pub kader_id: String,
    /// The device's scope: the Posyandu whose documents it may read and write.
    pub posyandu_id: String,
}

impl Principal {
    pub fn token_id(&self) -> i64 {
        match self {
            Principal::Device(d) => d.token_id,
            Principal::Puskesmas { token_id, .. } => *token_id,
            Principal::Bidan(b) => b.token_id,
            Principal::Desa(d) => d.token_id,
        }
    }

    pub fn device(&self) -> Option<&DevicePrincipal> {
        match self {
            Principal::Device(d) => Some(d),
            Principal::Puskesmas { .. } | Principal::Bidan(_) | Principal::Desa(_) => None,
        }
    }
}

/// What the storage knows about a token hash.
#[derive(Debug, Clone)]
pub struct TokenLookup {
    pub principal: Principal,
    pub revoked: bool,
}

/// Longest token text looked at (real tokens are 47 characters, older ones 43).
const MAX_TOKEN_CHARS: usize = 200;

/// Start of every token issued: letters only, so a token never begins with `-`.
pub const TOKEN_PREFIX: &str = "psy_";

/// A fresh random token (shown once) and the hash to store.
pub fn new_token() -> (String, [u8; 32]) {
    let bytes: [u8; 32] = rand::random();
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token in an `Authorization: Bearer …` header, if well formed.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_CHARS).then_some(token)
}

/// Resolves the caller. `token_id` is filled as soon as the token is known (also for a
/// revoked token) so the caller can log refusals by token id.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    token_id: &mut Option<i64>,
) -> Result<Principal, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let found = state.storage.lookup_token(hash_token(token)).await?;
    let found = found.ok_or(ApiError::Unauthorized)?;
    *token_id = Some(found.principal.token_id());
    if found.revoked {
        return Err(ApiError::RevokedToken);
    }
    Ok(found.principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_parse() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 47);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(URL_SAFE_NO_PAD.decode(&a[TOKEN_PREFIX.len()..]).unwrap().len(), 32, "256 random bits");
        assert_eq!(hash_token(&a), ha);
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, format!("Bearer {a}").parse().unwrap());
        assert_eq!(bearer(&h), Some(a.as_str()));
        h.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
        // A token issued before the prefix (bare base64url) is still read and hashed.
        let old = URL_SAFE_NO_PAD.encode([0xfbu8; 32]);
        assert!(old.starts_with('-'));
        h.insert(AUTHORIZATION, format!("Bearer {old}").parse().unwrap());
        assert_eq!(bearer(&h), Some(old.as_str()));
    }

    #[test]
    fn tokens_never_start_with_a_dash() {
        // A bare base64url token starts with `-` once in 64; 10 000 draws would see one.
        for _ in 0..10_000 {
            let (t, _) = new_token();
            assert!(!t.starts_with('-'), "{t}");
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{t}");
        }
    }
}
