//! Short-lived signed link tokens for the HTML pages.
//!
//! A browser cannot send a bearer header when a page is opened from a link, so the
//! monthly report (HTML) writes each child-chart link with a link token instead of the
//! Puskesmas token: `v2.<issuing token id>.<expiry unix seconds>.<base64url
//! HMAC-SHA256>` over the exact request path, the issuing Puskesmas token's id and the
//! expiry, keyed by a relay secret ([`LinkKey`]). The chart page
//! accepts it only for that path and until it expires ([`LINK_TTL`]); it never grants
//! anything else (no other page, no JSON/CSV/FHIR, no other child). The Puskesmas
//! token itself never appears in a link.
//!
//! The key comes from the relay configuration (`link_secret`, shared by relays behind
//! one address) or is drawn at random when the relay starts (links then stop working
//! at a restart, which only means opening the report again). A link names the Puskesmas
//! token whose page wrote it, and the chart page checks that token is still valid:
//! revoking a Puskesmas token ends its links at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use sha2::{Digest, Sha256};

/// How long a link token is valid after the page that wrote it was served.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// Query parameter carrying a link token.
pub const LINK_PARAM: &str = "link";
const DOMAIN: &[u8] = b"posyandu-link-v1\n";

/// HMAC-SHA256 (RFC 2104) on the workspace's `sha2` (checked against RFC 4231 below).
pub fn hmac_sha256(key: &[u8], msg: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for m in msg {
        inner.update(m);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn equal_ct(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Why a link token was refused (logged; the browser only sees "link not valid").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("malformed link token")]
    Malformed,
    #[error("link token expired")]
    Expired,
    #[error("link token signature does not match this path")]
    BadSignature,
}

/// The relay secret that signs link tokens, and the Puskesmas token the links it signs
/// are issued to ([`LinkKey::issued_to`]).
#[derive(Clone)]
pub struct LinkKey([u8; 32], i64);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

impl LinkKey {
    /// A fresh random key (valid while this process runs).
    pub fn random() -> LinkKey {
        LinkKey(rand::random(), 0)
    }

    /// A key derived from a configured secret (relays sharing it accept each other's
    /// links).
    pub fn from_secret(secret: &str) -> LinkKey {
        LinkKey(hmac_sha256(b"posyandu-link-key", &[secret.as_bytes()]), 0)
    }

    /// The same key, signing links issued to the Puskesmas token `token_id`.
    pub fn issued_to(&self, token_id: i64) -> LinkKey {
        LinkKey(self.0, token_id)
    }

    fn mac(&self, path: &str, issuer: i64, expires: u64) -> [u8; 32] {
        hmac_sha256(
            &self.0,
            &[DOMAIN, path.as_bytes(), b"\n", issuer.to_string().as_bytes(), b"\n", expires.to_string().as_bytes()],
        )
    }

    /// A link token for `path` valid until `expires` (unix seconds).
    pub fn sign_until(&self, path: &str, expires: u64) -> String {
        format!("v2.{}.{expires}.{}", self.1, URL_SAFE_NO_PAD.encode(self.mac(path, self.1, expires)))
    }

    /// A link token for `path` valid for [`LINK_TTL`] from now.
    pub fn sign(&self, path: &str) -> String {
        self.sign_until(path, now_unix() + LINK_TTL.as_secs())
    }

    /// Checks a link token presented on `path` now; returns the id of the Puskesmas
    /// token it was issued to (the caller checks that token is still valid).
    pub fn verify(&self, path: &str, token: &str) -> Result<i64, LinkError> {
        self.verify_at(path, token, now_unix())
    }

    pub fn verify_at(&self, path: &str, token: &str, now: u64) -> Result<i64, LinkError> {
        if token.len() > 120 {
            return Err(LinkError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some("v2"), Some(issuer), Some(exp), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(exp, 12) || !digits(issuer, 18) {
            return Err(LinkError::Malformed);
        }
        let expires: u64 = exp.parse().map_err(|_| LinkError::Malformed)?;
        let issuer: i64 = issuer.parse().map_err(|_| LinkError::Malformed)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LinkError::Malformed)?;
        // The signature first: an expiry or issuer is only meaningful when it is ours.
        if !equal_ct(&sig, &self.mac(path, issuer, expires)) {
            return Err(LinkError::BadSignature);
        }
        if now > expires {
            return Err(LinkError::Expired);
        }
        Ok(issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn link_tokens_are_bound_to_path_and_time() {
        let k = LinkKey::random().issued_to(42);
        let p = "/v1/report/P-001/child/0b0e0f4c-0000-4000-8000-000000000001";
        let t = k.sign_until(p, 1_000);
        assert_eq!(k.verify_at(p, &t, 999), Ok(42));
        assert_eq!(k.verify_at(p, &t, 1_000), Ok(42));
        // Claiming another issuer breaks the signature.
        let other = t.replacen("v2.42.", "v2.43.", 1);
        assert_eq!(k.verify_at(p, &other, 999), Err(LinkError::BadSignature));
        assert_eq!(k.verify_at(p, &t, 1_001), Err(LinkError::Expired));
        assert_eq!(k.verify_at("/v1/report/P-002/child/x", &t, 999), Err(LinkError::BadSignature));
        // Moving the expiry breaks the signature.
        let moved = t.replacen(".1000.", ".9000.", 1);
        assert_eq!(k.verify_at(p, &moved, 999), Err(LinkError::BadSignature));
        assert_eq!(LinkKey::random().verify_at(p, &t, 999), Err(LinkError::BadSignature));
        for bad in
            ["", "v1", "v1.1000.abc", "v2.1000.abc", "v2.x.1000.abc", "v2.1.x.abc", "v2.1.1000.%%", "v2.1.1000.a.d"]
        {
            assert_eq!(k.verify_at(p, bad, 0), Err(LinkError::Malformed), "{bad}");
        }
        // Same secret, same key (several relays behind one address).
        let (a, b) = (LinkKey::from_secret("s3cret-s3cret"), LinkKey::from_secret("s3cret-s3cret"));
        assert_eq!(b.verify_at(p, &a.issued_to(7).sign_until(p, 50), 10), Ok(7));
    }
}
