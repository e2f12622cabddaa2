//! `KaderStore`: the app's handle on the local database.
//!
//! `Send + Sync`: the core store serialises writes through a mutex and reads through a
//! second connection, so the UI thread and a background sync worker may call any
//! method at the same time. Every method blocks (SQLite with `synchronous=FULL`; sync
//! does network I/O): call them off the main thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use posyandu_core::{DatabaseKey, DeviceIdentity, Keyring, KeyringError, Store};

use crate::error::{PosyanduError, Result};

/// Implemented by the app: the store's key and the device's secrets, kept outside the
/// database (on Android: a random key wrapped by an AES key in the Android Keystore).
/// Called on the thread that uses the store. A thrown exception comes back to the
/// store as an error value (the store then reports `PosyanduException.KeyUnavailable`).
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    /// The 32-byte key of the store file: created randomly once, then the same bytes
    /// on every call. Another key makes the store unreadable.
    fn database_key(&self) -> Result<Vec<u8>, KeyProviderError>;
    /// A secret (the relay token is `"relay_token"`), `null` if not set.
    fn read_secret(&self, name: String) -> Result<Option<String>, KeyProviderError>;
    /// Stores (`value` non-null) or deletes (`null`) a secret, durably.
    fn write_secret(&self, name: String, value: Option<String>) -> Result<(), KeyProviderError>;
}

/// What a `KeyProvider` reports when it cannot do its job (keystore locked, key lost).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyProviderError {
    #[error("{reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyProviderError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyProviderError::Failed { reason: e.reason }
    }
}

/// The app's `KeyProvider` as the core's `Keyring`. A panic in a Rust implementation
/// is caught and becomes an error like any other.
struct ProviderKeyring(Arc<dyn KeyProvider>);

fn call<T>(f: impl FnOnce() -> Result<T, KeyProviderError>) -> Result<T, KeyringError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(KeyProviderError::Failed { reason })) => Err(KeyringError::Unavailable(reason)),
        Err(_) => Err(KeyringError::Unavailable("penyedia kunci gagal".into())),
    }
}

impl Keyring for ProviderKeyring {
    fn database_key(&self) -> Result<DatabaseKey, KeyringError> {
        let mut bytes = call(|| self.0.database_key())?;
        let key = DatabaseKey::from_slice(&bytes);
        bytes.iter_mut().for_each(|b| *b = 0);
        key
    }

    fn secret(&self, name: &str) -> Result<Option<String>, KeyringError> {
        call(|| self.0.read_secret(name.to_string()))
    }

    fn set_secret(&self, name: &str, value: Option<&str>) -> Result<(), KeyringError> {
        call(|| self.0.write_secret(name.to_string(), value.map(str::to_string)))
    }
}

#[derive(uniffi::Object)]
pub struct KaderStore {
    pub(crate) inner: Store,
}

/// Who writes through this store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KaderIdentity {
    pub device_id: String,
    pub kader_id: String,
    pub posyandu_id: String,
}

impl From<&DeviceIdentity> for KaderIdentity {
    fn from(d: &DeviceIdentity) -> Self {
        KaderIdentity {
            device_id: d.device_id.clone(),
            kader_id: d.kader_id.clone(),
            posyandu_id: d.posyandu_id.clone(),
        }
    }
}

fn check_path(path: &str) -> Result<()> {
    if path.trim().is_empty() || path.contains('\0') {
        return Err(PosyanduError::validation("Lokasi berkas basis data wajib diisi"));
    }
    Ok(())
}

#[uniffi::export]
impl KaderStore {
    /// Opens (creating and migrating if needed) the store file at `path`
    /// (e.g. `context.getDatabasePath("posyandu.db")`) for this device and kader,
    /// encrypted with `keys.databaseKey()`. A store of an older, unencrypted app
    /// version is encrypted on this first open (its relay token moved into `keys`).
    /// A wrong key fails with `PosyanduException.WrongKey` and leaves the file as it is.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        device_id: String,
        kader_id: String,
        posyandu_id: String,
        keys: Arc<dyn KeyProvider>,
    ) -> Result<Arc<Self>> {
        check_path(&path)?;
        let keyring = Arc::new(ProviderKeyring(keys));
        let inner = Store::open(&path, DeviceIdentity { device_id, kader_id, posyandu_id }, keyring)?;
        Ok(Arc::new(KaderStore { inner }))
    }

    /// Opens a store created before with `open`, with the identity stored in it
    /// (for a background worker that has only the path and the key provider).
    #[uniffi::constructor]
    pub fn open_existing(path: String, keys: Arc<dyn KeyProvider>) -> Result<Arc<Self>> {
        check_path(&path)?;
        Ok(Arc::new(KaderStore { inner: Store::open_existing(&path, Arc::new(ProviderKeyring(keys)))? }))
    }

    pub fn identity(&self) -> KaderIdentity {
        self.inner.identity().into()
    }

    /// Today on the device's local time (WIB), `YYYY-MM-DD`: the default visit date,
    /// and the day "in the future" checks are made against.
    pub fn today(&self) -> String {
        posyandu_core::model::format_date(self.inner.today())
    }
}
