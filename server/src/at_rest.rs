//! Encryption at rest of the relay's stored changes and snapshots, per Posyandu.
//!
//! The relay must keep carrying everything a household holds (street, GPS, BPJS
//! numbers: the phones of the same Posyandu need them for home visits), but a database
//! dump, a backup or a stolen disk alone must reveal none of it. So every change-log
//! `data` blob and every document `snapshot` blob is sealed before it is written and
//! opened after it is read; the wire protocol and every HTTP response are unchanged.
//!
//! - **Master key**: 32 bytes the relay holds only in memory, read from a key file
//!   (`--data-key-file`, `POSYANDU_RELAY_DATA_KEY_FILE`, `data_key_file`), which must
//!   be mode 0600 or 0400. On SQLite without a configured key the relay creates
//!   `relay-data.key` beside the database ([`DEFAULT_KEY_FILE`]).
//! - **Per-Posyandu key**: HKDF-SHA256(master, info = `posyandu-sync/at-rest/v1/` +
//!   scope), derived once per scope and cached.
//! - **Blob**: `0x01` (format version 1 = XChaCha20-Poly1305 with the v1 derivation)
//!   ‖ 24-byte random nonce ‖ ciphertext and 16-byte tag. The associated data binds
//!   the blob to its place: the kind (change or snapshot), the scope, the document id
//!   and, for a change, its hash. A blob copied into another row, household or
//!   Posyandu does not open.
//! - **Plaintext from before**: automerge bytes start with the magic `85 6f 4a 83`, a
//!   sealed blob with `0x01`; reads accept both while a database is being sealed
//!   ([`AtRest::open`]), and the startup pass or `posyandu-relay admin seal-at-rest`
//!   seals what is left.
//!
//! Not sealed: ids, scope, seq, hashes, timestamps, the registry (names of Posyandu
//! and kader), token hashes and the refusal log (paths and reasons, never values).
//! A running relay holds the key, so it can read everything: this protects copies of
//! the data, not a compromised relay. Key rotation is not implemented (see
//! docs/relay-operations.md).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// First byte of a sealed blob (format and key version 1).
pub const SEALED_V1: u8 = 0x01;
/// The first bytes of every automerge chunk (change or document): a plaintext blob.
pub const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
/// Bytes a sealed blob has more than its plaintext (prefix, nonce, tag).
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
/// Name of the key file the relay creates beside a SQLite database when none is
/// configured.
pub const DEFAULT_KEY_FILE: &str = "relay-data.key";
/// HKDF `info` prefix; the scope (Posyandu id) follows.
pub const KDF_INFO: &str = "posyandu-sync/at-rest/v1/";

#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    /// Wrong key, wrong place (another row, household or Posyandu) or damaged bytes.
    #[error("stored {kind} of document {doc} cannot be opened (wrong data key, moved or damaged)")]
    Open { kind: &'static str, doc: String },
    #[error("stored {kind} of document {doc} has an unknown format (first byte {first:#04x})")]
    Format { kind: &'static str, doc: String, first: u8 },
    #[error("data key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
}

/// What a blob is, part of its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blob<'a> {
    /// A change-log entry: the change's hash.
    Change { hash: &'a [u8] },
    /// A document's compacted snapshot.
    Snapshot,
    /// A document's read-model row (`crate::read_model::HouseholdView`).
    ReadRow,
    /// A SATUSEHAT IHS number of the member whose NIK index ([`AtRest::nik_index`]) is
    /// the "document" it is bound to.
    Ihs,
}

impl Blob<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Blob::Change { .. } => "change",
            Blob::Snapshot => "snapshot",
            Blob::ReadRow => "read row",
            Blob::Ihs => "IHS number",
        }
    }
}

/// The 32-byte master key, held in memory only; never printed.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(Zeroizing::new(bytes))
    }

    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::fill(&mut k[..]);
        MasterKey(k)
    }

    /// Reads a key file: exactly 32 raw bytes, or 64 hex digits (a trailing newline
    /// allowed). The file must be mode 0600 or 0400 (owner only), else it is refused.
    pub fn from_file(path: &Path) -> Result<Self, AtRestError> {
        let err = |reason: String| AtRestError::KeyFile { path: path.to_path_buf(), reason };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode != 0o600 && mode != 0o400 {
                return Err(err(format!(
                    "mode is {mode:04o}; it must be 0600 or 0400 (readable by the relay's user only): chmod 600 {}",
                    path.display()
                )));
            }
        }
        let raw = Zeroizing::new(std::fs::read(path).map_err(|e| err(e.to_string()))?);
        let mut key = [0u8; 32];
        if raw.len() == 32 {
            key.copy_from_slice(&raw);
            return Ok(MasterKey::from_bytes(key));
        }
        let text = raw.strip_suffix(b"\n").unwrap_or(&raw);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.len() == 64 && hex::decode_to_slice(text, &mut key).is_ok() {
            return Ok(MasterKey::from_bytes(key));
        }
        Err(err(format!(
            "holds {} bytes; it must hold exactly 32 bytes, or 64 hex digits (e.g. `openssl rand -hex 32`)",
            raw.len()
        )))
    }

    /// Writes a new random key to `path` (64 hex digits, mode 0600), failing if the file
    /// exists.
    pub fn create_file(path: &Path) -> Result<Self, AtRestError> {
        use std::io::Write as _;
        let err = |reason: String| AtRestError::KeyFile { path: path.to_path_buf(), reason };
        let key = MasterKey::random();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| err(e.to_string()))?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(&key.0[..])));
        f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| err(e.to_string()))?;
        Ok(key)
    }
}

/// Where the master key came from (the caller logs a warning for a created one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Read from an existing file.
    File(PathBuf),
    /// Created now (first start on a new SQLite database).
    Created(PathBuf),
    /// Random for this process only (in-memory databases, tests).
    Ephemeral,
}

/// Seals and opens the relay's stored blobs; derived per-Posyandu keys are cached.
pub struct AtRest {
    master: MasterKey,
    keys: Mutex<HashMap<String, Arc<XChaCha20Poly1305>>>,
}

impl std::fmt::Debug for AtRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtRest(..)")
    }
}

impl AtRest {
    pub fn new(master: MasterKey) -> Arc<Self> {
        Arc::new(AtRest { master, keys: Mutex::new(HashMap::new()) })
    }

    /// A random key for this process only: what it seals cannot be opened after the
    /// process ends. For in-memory databases and tests.
    pub fn ephemeral() -> Arc<Self> {
        AtRest::new(MasterKey::random())
    }

    /// One key shared by every caller in this process (see [`AtRest::ephemeral`]): for
    /// tests and tools that open the same database several times in one process.
    pub fn process_ephemeral() -> Arc<Self> {
        static KEY: std::sync::OnceLock<Arc<AtRest>> = std::sync::OnceLock::new();
        KEY.get_or_init(AtRest::ephemeral).clone()
    }

    /// The key file beside a SQLite database: `<dir of db>/relay-data.key`.
    pub fn default_key_path(db: &Path) -> PathBuf {
        let dir = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        dir.join(DEFAULT_KEY_FILE)
    }

    /// Reads `path`, or creates it with a random key when it does not exist (the
    /// default of a SQLite relay without a configured key).
    pub fn load_or_create(path: &Path) -> Result<(Arc<Self>, KeySource), AtRestError> {
        match MasterKey::create_file(path) {
            Ok(k) => Ok((AtRest::new(k), KeySource::Created(path.to_path_buf()))),
            Err(_) if path.exists() => Ok((AtRest::new(MasterKey::from_file(path)?), KeySource::File(path.into()))),
            Err(e) => Err(e),
        }
    }

    /// Reads an existing key file.
    pub fn load(path: &Path) -> Result<Arc<Self>, AtRestError> {
        Ok(AtRest::new(MasterKey::from_file(path)?))
    }

    fn cipher(&self, scope: &str) -> Arc<XChaCha20Poly1305> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = keys.get(scope) {
            return c.clone();
        }
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, &self.master.0[..]);
        let mut okm = Zeroizing::new([0u8; 32]);
        let info = format!("{KDF_INFO}{scope}");
        hk.expand(info.as_bytes(), &mut okm[..]).expect("32 bytes is a valid HKDF-SHA256 length");
        let c = Arc::new(XChaCha20Poly1305::new((&*okm).into()));
        keys.insert(scope.to_string(), c.clone());
        c
    }

    fn aad(scope: &str, doc: &[u8], blob: Blob<'_>) -> Vec<u8> {
        let mut aad = Vec::with_capacity(8 + scope.len() + doc.len() + 32);
        aad.push(SEALED_V1);
        aad.push(match blob {
            Blob::Change { .. } => b'c',
            Blob::Snapshot => b's',
            Blob::ReadRow => b'r',
            Blob::Ihs => b'i',
        });
        aad.extend_from_slice(&(scope.len() as u32).to_be_bytes());
        aad.extend_from_slice(scope.as_bytes());
        aad.extend_from_slice(&(doc.len() as u32).to_be_bytes());
        aad.extend_from_slice(doc);
        if let Blob::Change { hash } = blob {
            aad.extend_from_slice(hash);
        }
        aad
    }

    /// A keyed index of a NIK within a Posyandu (HMAC-SHA256 under a key derived from
    /// the master key): lets the relay find a member's IHS number without storing the
    /// NIK. A plain hash of a 16-digit NIK with its encoded birth date and area is
    /// guessable; this one needs the key file.
    pub fn nik_index(&self, scope: &str, nik: &str) -> [u8; 32] {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, &self.master.0[..]);
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(b"posyandu-relay nik index v1", &mut key[..]).expect("32 bytes is a valid HKDF-SHA256 length");
        crate::puskesmas::links::hmac_sha256(&key[..], &[scope.as_bytes(), &[0], nik.as_bytes()])
    }

    /// Seals `plain` for the row of document `doc` in `scope`.
    pub fn seal(&self, scope: &str, doc: &[u8], blob: Blob<'_>, plain: &[u8]) -> Vec<u8> {
        let cipher = self.cipher(scope);
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let aad = Self::aad(scope, doc, blob);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: &aad })
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(OVERHEAD + plain.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a stored blob: a sealed one is decrypted and checked against its place; a
    /// plaintext automerge blob (from before sealing) is returned as it is. Anything
    /// else is an error, never bytes.
    pub fn open<'a>(
        &self,
        scope: &str,
        doc: &[u8],
        blob: Blob<'_>,
        stored: &'a [u8],
    ) -> Result<Cow<'a, [u8]>, AtRestError> {
        let label = || uuid::Uuid::from_slice(doc).map(|u| u.to_string()).unwrap_or_else(|_| hex::encode(doc));
        match stored.first() {
            Some(&SEALED_V1) if stored.len() >= OVERHEAD => {
                let cipher = self.cipher(scope);
                let aad = Self::aad(scope, doc, blob);
                let plain = cipher
                    .decrypt(
                        XNonce::from_slice(&stored[1..1 + NONCE_LEN]),
                        Payload { msg: &stored[1 + NONCE_LEN..], aad: &aad },
                    )
                    .map_err(|_| AtRestError::Open { kind: blob.kind(), doc: label() })?;
                Ok(Cow::Owned(plain))
            }
            Some(&SEALED_V1) => Err(AtRestError::Open { kind: blob.kind(), doc: label() }),
            _ if is_plaintext(stored) => Ok(Cow::Borrowed(stored)),
            first => Err(AtRestError::Format { kind: blob.kind(), doc: label(), first: first.copied().unwrap_or(0) }),
        }
    }

    /// [`AtRest::open`] into an owned buffer.
    pub fn open_vec(&self, scope: &str, doc: &[u8], blob: Blob<'_>, stored: Vec<u8>) -> Result<Vec<u8>, AtRestError> {
        if is_plaintext(&stored) {
            return Ok(stored);
        }
        self.open(scope, doc, blob, &stored).map(Cow::into_owned)
    }
}

impl AtRest {
    /// For the read paths (pulls, snapshot pages, `/v1/docs`, the Puskesmas side): a
    /// blob that does not open is logged (document id only) and passed on unchanged, so
    /// the reader treats it as a damaged document exactly like any corrupted row (no
    /// automerge reader accepts it: it does not start with the automerge magic) instead
    /// of failing a whole page or export. Never plaintext of another row: a sealed blob
    /// passed on is still ciphertext. The write path (merging onto a stored document)
    /// uses [`AtRest::open_vec`] and fails instead.
    pub fn open_or_keep(&self, scope: &str, doc: &[u8], blob: Blob<'_>, stored: Vec<u8>) -> Vec<u8> {
        if is_plaintext(&stored) {
            return stored;
        }
        match self.open(scope, doc, blob, &stored) {
            Ok(p) => p.into_owned(),
            Err(e) => {
                tracing::error!(error = %e, "stored blob does not open; passed on as damaged");
                stored
            }
        }
    }
}

/// Whether a stored blob is plaintext automerge (not sealed yet).
pub fn is_plaintext(stored: &[u8]) -> bool {
    stored.starts_with(&AUTOMERGE_MAGIC)
}

/// Progress of a sealing pass (rows sealed / rows found plaintext at the start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealProgress {
    pub changes_done: u64,
    pub changes_total: u64,
    pub snapshots_done: u64,
    pub snapshots_total: u64,
}

/// Rows sealed per transaction by the sealing pass.
pub const SEAL_BATCH: usize = 500;

impl From<AtRestError> for crate::error::ApiError {
    fn from(e: AtRestError) -> Self {
        crate::error::ApiError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: [u8; 16] = [7; 16];
    const OTHER_DOC: [u8; 16] = [8; 16];
    const HASH: [u8; 32] = [1; 32];

    fn plain() -> Vec<u8> {
        let mut p = AUTOMERGE_MAGIC.to_vec();
        p.extend_from_slice(b"Jl. Melati No. 3, -6.2001,106.8166, BPJS 0001234567890");
        p
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_the_plaintext() {
        let k = AtRest::ephemeral();
        let p = plain();
        for blob in [Blob::Snapshot, Blob::Change { hash: &HASH }] {
            let s = k.seal("P-001", &DOC, blob, &p);
            assert_eq!(s[0], SEALED_V1);
            assert_eq!(s.len(), p.len() + OVERHEAD);
            assert!(!s.windows(8).any(|w| w == b"Jl. Mela"), "plaintext visible");
            assert_eq!(k.open("P-001", &DOC, blob, &s).unwrap().as_ref(), &p[..]);
            assert_eq!(k.open_vec("P-001", &DOC, blob, s).unwrap(), p);
        }
        // Random nonce: sealing twice gives different bytes.
        assert_ne!(k.seal("P-001", &DOC, Blob::Snapshot, &p), k.seal("P-001", &DOC, Blob::Snapshot, &p));
    }

    #[test]
    fn a_blob_opens_only_in_its_place_and_with_its_key() {
        let k = AtRest::ephemeral();
        let p = plain();
        let s = k.seal("P-001", &DOC, Blob::Change { hash: &HASH }, &p);
        let open = |scope: &str, doc: &[u8], blob: Blob<'_>, bytes: &[u8]| {
            k.open(scope, doc, blob, bytes).map(|c| c.into_owned())
        };
        assert!(matches!(open("P-002", &DOC, Blob::Change { hash: &HASH }, &s), Err(AtRestError::Open { .. })));
        assert!(matches!(open("P-001", &OTHER_DOC, Blob::Change { hash: &HASH }, &s), Err(AtRestError::Open { .. })));
        assert!(matches!(open("P-001", &DOC, Blob::Change { hash: &[2; 32] }, &s), Err(AtRestError::Open { .. })));
        assert!(matches!(open("P-001", &DOC, Blob::Snapshot, &s), Err(AtRestError::Open { .. })));
        assert!(AtRest::ephemeral().open("P-001", &DOC, Blob::Change { hash: &HASH }, &s).is_err());
        // Every single flipped byte (prefix, nonce, ciphertext, tag) is refused, never
        // returned as bytes.
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 0x40;
            assert!(open("P-001", &DOC, Blob::Change { hash: &HASH }, &t).is_err(), "byte {i} flipped was accepted");
        }
        // Truncated and empty blobs.
        assert!(open("P-001", &DOC, Blob::Snapshot, &s[..OVERHEAD - 1]).is_err());
        assert!(open("P-001", &DOC, Blob::Snapshot, &[]).is_err());
    }

    #[test]
    fn plaintext_from_before_is_accepted_and_garbage_is_not() {
        let k = AtRest::ephemeral();
        let p = plain();
        assert!(matches!(k.open("P-001", &DOC, Blob::Snapshot, &p).unwrap(), Cow::Borrowed(_)));
        assert!(matches!(k.open("P-001", &DOC, Blob::Snapshot, b"hello"), Err(AtRestError::Format { .. })));
    }

    #[test]
    fn per_posyandu_keys_differ_and_are_hkdf_of_the_master() {
        let k = AtRest::new(MasterKey::from_bytes([9; 32]));
        let a = k.seal("P-001", &DOC, Blob::Snapshot, &plain());
        // Same master key in another process: opens (keys are derived, not random).
        let k2 = AtRest::new(MasterKey::from_bytes([9; 32]));
        assert!(k2.open("P-001", &DOC, Blob::Snapshot, &a).is_ok());
        // The derivation is HKDF-SHA256(master, info = prefix + scope): a blob sealed
        // by hand with that key opens.
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, &[9; 32]);
        let mut okm = [0u8; 32];
        hk.expand(b"posyandu-sync/at-rest/v1/P-002", &mut okm).unwrap();
        let c = XChaCha20Poly1305::new((&okm).into());
        let nonce = [3u8; NONCE_LEN];
        let aad = AtRest::aad("P-002", &DOC, Blob::Snapshot);
        let ct = c.encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain(), aad: &aad }).unwrap();
        let mut blob = vec![SEALED_V1];
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        assert_eq!(k.open("P-002", &DOC, Blob::Snapshot, &blob).unwrap().as_ref(), &plain()[..]);
        assert!(k.open("P-001", &DOC, Blob::Snapshot, &blob).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn key_files_must_be_private_and_32_bytes() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE);
        let (k, src) = AtRest::load_or_create(&path).unwrap();
        assert_eq!(src, KeySource::Created(path.clone()));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let sealed = k.seal("P-001", &DOC, Blob::Snapshot, &plain());
        let (k2, src) = AtRest::load_or_create(&path).unwrap();
        assert_eq!(src, KeySource::File(path.clone()));
        assert!(k2.open("P-001", &DOC, Blob::Snapshot, &sealed).is_ok());
        // 0400 is fine; group- or world-readable is refused.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(MasterKey::from_file(&path).is_ok());
        for mode in [0o644, 0o640, 0o604, 0o700] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = MasterKey::from_file(&path).unwrap_err().to_string();
            assert!(e.contains("0600 or 0400"), "{mode:o}: {e}");
        }
        // Raw 32 bytes work; other lengths are refused.
        let raw = dir.path().join("raw.key");
        for (bytes, ok) in
            [(vec![5u8; 32], true), (vec![5u8; 31], false), (vec![5u8; 33], false), (b"zz".repeat(32), false)]
        {
            let _ = std::fs::remove_file(&raw);
            std::fs::write(&raw, &bytes).unwrap();
            std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(MasterKey::from_file(&raw).is_ok(), ok, "{} bytes", bytes.len());
        }
        // The key never appears in Debug output.
        assert_eq!(format!("{:?}", MasterKey::from_bytes([0xab; 32])), "MasterKey(..)");
        assert_eq!(format!("{k:?}"), "AtRest(..)");
    }
}
