//! Short-lived signed link tokens for the HTML pages.
//!
//! A browser cannot send a bearer header when a page is opened from a link, so the
//! monthly report (HTML) writes each child-chart link with a link token instead of the
//! Puskesmas token: `v1.<expiry unix seconds>.<base64url HMAC-SHA256>` over the exact
//! request path and the expiry, keyed by a relay secret ([`LinkKey`]). The chart page
//! accepts it only for that path and until it expires ([`LINK_TTL`]); it never grants
//! anything else (no other page, no JSON/CSV/FHIR, no other child). The Puskesmas
//! token itself never appears in a link.
//!
//! The key comes from the relay configuration (`link_secret`, shared by relays behind
//! one address) or is drawn at random when the relay starts (links then stop working
//! at a restart, which only means opening the report again). A revoked Puskesmas token
//! leaves its links valid until they expire (at most [`LINK_TTL`]).

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

/// The relay secret that signs link tokens.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

impl LinkKey {
    /// A fresh random key (valid while this process runs).
    pub fn random() -> LinkKey {
        LinkKey(rand::random())
    }

    /// A key derived from a configured secret (relays sharing it accept each other's
    /// links).
    pub fn from_secret(secret: &str) -> LinkKey {
        LinkKey(hmac_sha256(b"posyandu-link-key", &[secret.as_bytes()]))
    }

    fn mac(&self, path: &str, expires: u64) -> [u8; 32] {
        hmac_sha256(&self.0, &[DOMAIN, path.as_bytes(), b"\n", expires.to_string().as_bytes()])
    }

    /// A link token for `path` valid until `expires` (unix seconds).
    pub fn sign_until(&self, path: &str, expires: u64) -> String {
        format!("v1.{expires}.{}", URL_SAFE_NO_PAD.encode(self.mac(path, expires)))
    }

    /// A link token for `path` valid for [`LINK_TTL`] from now.
    pub fn sign(&self, path: &str) -> String {
        self.sign_until(path, now_unix() + LINK_TTL.as_secs())
    }

    /// Checks a link token presented on `path` now.
    pub fn verify(&self, path: &str, token: &str) -> Result<(), LinkError> {
        self.verify_at(path, token, now_unix())
    }

    pub fn verify_at(&self, path: &str, token: &str, now: u64) -> Result<(), LinkError> {
        if token.len() > 100 {
            return Err(LinkError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some("v1"), Some(exp), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(LinkError::Malformed);
        };
        if exp.is_empty() || exp.len() > 12 || !exp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LinkError::Malformed);
        }
        let expires: u64 = exp.parse().map_err(|_| LinkError::Malformed)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LinkError::Malformed)?;
        // The signature first: an expiry is only meaningful when it is ours.
        if !equal_ct(&sig, &self.mac(path, expires)) {
            return Err(LinkError::BadSignature);
        }
        if now > expires {
            return Err(LinkError::Expired);
        }
        Ok(())
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
        let k = LinkKey::random();
        let p = "/v1/report/P-001/child/0b0e0f4c-0000-4000-8000-000000000001";
        let t = k.sign_until(p, 1_000);
        assert_eq!(k.verify_at(p, &t, 999), Ok(()));
        assert_eq!(k.verify_at(p, &t, 1_000), Ok(()));
        assert_eq!(k.verify_at(p, &t, 1_001), Err(LinkError::Expired));
        assert_eq!(k.verify_at("/v1/report/P-002/child/x", &t, 999), Err(LinkError::BadSignature));
        // Moving the expiry breaks the signature.
        let moved = t.replacen("v1.1000.", "v1.9000.", 1);
        assert_eq!(k.verify_at(p, &moved, 999), Err(LinkError::BadSignature));
        assert_eq!(LinkKey::random().verify_at(p, &t, 999), Err(LinkError::BadSignature));
        for bad in ["", "v1", "v1.1000", "v2.1000.abc", "v1.x.abc", "v1.1000.%%", "v1.1000.abc.d"] {
            assert_eq!(k.verify_at(p, bad, 0), Err(LinkError::Malformed), "{bad}");
        }
        // Same secret, same key (several relays behind one address).
        let (a, b) = (LinkKey::from_secret("s3cret-s3cret"), LinkKey::from_secret("s3cret-s3cret"));
        assert_eq!(b.verify_at(p, &a.sign_until(p, 50), 10), Ok(()));
    }
}
