//! Where the store's key and the device's secrets come from: the app.
//!
//! The store file is encrypted with SQLCipher under a raw 256-bit key (no passphrase,
//! so no key derivation runs on open). The key is never stored in the database: the
//! app hands it over through a [`Keyring`] on every open — on Android a random key
//! wrapped by an AES key held in the Android Keystore. The same keyring keeps the
//! device's secrets (the relay token), so they are not in the database either.
//!
//! - [`MemoryKeyring`]: in memory, for tests and benchmarks.
//! - [`FileKeyring`]: files beside the store (`<db>.key`, `<db>.secrets.json`, 0600),
//!   for the desktop CLI and demos. It protects nothing against someone who can read
//!   the whole directory; it exists so the CLI can open the same store twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A failure of the app's key or secret storage. Shown to the kader.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The key store (Android Keystore, key file) could not give or keep the value.
    #[error("Kunci penyimpanan tidak tersedia: {0}")]
    Unavailable(String),
    /// The key given is not 32 bytes, or a stored key is malformed.
    #[error("Kunci penyimpanan tidak valid: {0}")]
    Invalid(String),
    /// A key or secret file could not be read or written.
    #[error("Berkas kunci tidak dapat dibaca/ditulis: {0}")]
    Io(#[from] std::io::Error),
}

/// The raw 256-bit key of a store file. Zeroed when dropped.
pub struct DatabaseKey(Option<[u8; 32]>);

impl DatabaseKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        DatabaseKey(Some(bytes))
    }

    /// From a slice given across an FFI boundary: exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyringError> {
        let b: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyringError::Invalid(format!("harus 32 byte, diberikan {} byte", bytes.len())))?;
        Ok(DatabaseKey::new(b))
    }

    /// 32 bytes from the operating system's random source.
    pub fn random() -> Result<Self, KeyringError> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| KeyringError::Unavailable(format!("sumber acak: {e}")))?;
        Ok(DatabaseKey::new(b))
    }

    /// No key: the store stays a plain SQLite file. Only for tests and benchmarks that
    /// need to read or damage the file with plain SQLite tools (and the benchmark's
    /// baseline); an app must never use it.
    #[doc(hidden)]
    pub fn unencrypted_for_tests() -> Self {
        DatabaseKey(None)
    }

    pub(crate) fn bytes(&self) -> Option<&[u8; 32]> {
        self.0.as_ref()
    }

    /// SQLCipher's raw-key literal, `x'<64 hex>'`.
    pub(crate) fn sql_literal(&self) -> Option<String> {
        self.0.as_ref().map(|k| format!("x'{}'", hex::encode(k)))
    }
}

impl Clone for DatabaseKey {
    fn clone(&self) -> Self {
        DatabaseKey(self.0)
    }
}

impl Drop for DatabaseKey {
    fn drop(&mut self) {
        if let Some(k) = &mut self.0 {
            for b in k.iter_mut() {
                // Volatile so the zeroing is not optimised away.
                unsafe { std::ptr::write_volatile(b, 0) };
            }
        }
    }
}

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "DatabaseKey(..)" } else { "DatabaseKey(unencrypted)" })
    }
}

/// The app's key and secret storage, given to [`super::Store::open`].
///
/// Called from whatever thread uses the store; each call may block (a keystore).
pub trait Keyring: Send + Sync {
    /// The key of the store file. Must return the same key every time for the same
    /// store: a different key makes the store unreadable ([`crate::Error::WrongKey`]).
    fn database_key(&self) -> Result<DatabaseKey, KeyringError>;
    /// A secret kept by the app (e.g. [`crate::sync::RELAY_TOKEN_SECRET`]), `None` if unset.
    fn secret(&self, name: &str) -> Result<Option<String>, KeyringError>;
    /// Stores (`Some`) or deletes (`None`) a secret; durable when this returns.
    fn set_secret(&self, name: &str, value: Option<&str>) -> Result<(), KeyringError>;
}

/// Key and secrets in memory. For tests and benchmarks; an app uses the platform's
/// keystore.
pub struct MemoryKeyring {
    key: DatabaseKey,
    secrets: Mutex<HashMap<String, String>>,
}

impl MemoryKeyring {
    pub fn new(key: [u8; 32]) -> Self {
        MemoryKeyring { key: DatabaseKey::new(key), secrets: Mutex::default() }
    }

    /// A fresh random key.
    pub fn random() -> Self {
        MemoryKeyring { key: DatabaseKey::random().expect("OS random source"), secrets: Mutex::default() }
    }

    /// Secrets in memory, store file NOT encrypted (see
    /// [`DatabaseKey::unencrypted_for_tests`]). Tests and benchmarks only.
    #[doc(hidden)]
    pub fn unencrypted_for_tests() -> Self {
        MemoryKeyring { key: DatabaseKey::unencrypted_for_tests(), secrets: Mutex::default() }
    }

    fn secrets(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.secrets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Keyring for MemoryKeyring {
    fn database_key(&self) -> Result<DatabaseKey, KeyringError> {
        Ok(self.key.clone())
    }

    fn secret(&self, name: &str) -> Result<Option<String>, KeyringError> {
        Ok(self.secrets().get(name).cloned())
    }

    fn set_secret(&self, name: &str, value: Option<&str>) -> Result<(), KeyringError> {
        match value {
            Some(v) => self.secrets().insert(name.to_string(), v.to_string()),
            None => self.secrets().remove(name),
        };
        Ok(())
    }
}

/// Key and secrets in files beside the store, created owner-only (0600):
/// `<db>.key` (64 hex digits) and `<db>.secrets.json`.
///
/// For the desktop CLI, demos and tests. **It protects nothing against anyone who can
/// read the directory** (the key lies next to the data); on a phone the key comes from
/// the platform keystore instead.
pub struct FileKeyring {
    db: PathBuf,
    lock: Mutex<()>,
}

impl FileKeyring {
    pub fn new(db_path: impl AsRef<Path>) -> Self {
        FileKeyring { db: db_path.as_ref().to_path_buf(), lock: Mutex::new(()) }
    }

    pub fn key_path(&self) -> PathBuf {
        sibling(&self.db, ".key")
    }

    pub fn secrets_path(&self) -> PathBuf {
        sibling(&self.db, ".secrets.json")
    }

    fn read_secrets(&self) -> Result<HashMap<String, String>, KeyringError> {
        match std::fs::read(self.secrets_path()) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| KeyringError::Invalid(format!("berkas rahasia: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
            Err(e) => Err(e.into()),
        }
    }
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Creates `path` owner-only, failing if it exists.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Writes `bytes` to `path` atomically (owner-only temp file, fsync, rename).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = sibling(path, ".tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_private(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    super::cipher::sync_dir(path);
    Ok(())
}

impl Keyring for FileKeyring {
    fn database_key(&self) -> Result<DatabaseKey, KeyringError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.key_path();
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                let bytes = hex::decode(s.trim())
                    .map_err(|_| KeyringError::Invalid(format!("{} bukan 64 digit heksadesimal", path.display())))?;
                return DatabaseKey::from_slice(&bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        // No key yet. An encrypted store without its key stays unreadable: do not make
        // up a new key for it (that would only hide the loss).
        if super::cipher::file_state(&self.db)? == super::cipher::FileState::Encrypted {
            return Err(KeyringError::Unavailable(format!("berkas kunci {} hilang", path.display())));
        }
        let key = DatabaseKey::random()?;
        let hex = hex::encode(key.bytes().expect("a random key"));
        let tmp = sibling(&path, ".tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut f = create_private(&tmp)?;
        f.write_all(hex.as_bytes())?;
        f.sync_all()?;
        drop(f);
        // Never replace a key another process created meanwhile.
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
                super::cipher::sync_dir(&path);
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&tmp);
                drop(_g);
                self.database_key()
            }
            Err(e) => Err(e.into()),
        }
    }

    fn secret(&self, name: &str) -> Result<Option<String>, KeyringError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.read_secrets()?.remove(name))
    }

    fn set_secret(&self, name: &str, value: Option<&str>) -> Result<(), KeyringError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut all = self.read_secrets()?;
        match value {
            Some(v) => all.insert(name.to_string(), v.to_string()),
            None => all.remove(name),
        };
        let json = serde_json::to_vec_pretty(&all).map_err(|e| KeyringError::Invalid(e.to_string()))?;
        write_private(&self.secrets_path(), &json)?;
        Ok(())
    }
}
