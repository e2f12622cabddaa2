//! `KaderStore`: the app's handle on the local database.
//!
//! `Send + Sync`: the core store serialises writes through a mutex and reads through a
//! second connection, so the UI thread and a background sync worker may call any
//! method at the same time. Every method blocks (SQLite with `synchronous=FULL`; sync
//! does network I/O): call them off the main thread.

use std::sync::Arc;

use posyandu_core::{DeviceIdentity, Store};

use crate::error::{PosyanduError, Result};

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
    /// (e.g. `context.getDatabasePath("posyandu.db")`) for this device and kader.
    #[uniffi::constructor]
    pub fn open(path: String, device_id: String, kader_id: String, posyandu_id: String) -> Result<Arc<Self>> {
        check_path(&path)?;
        let inner = Store::open(&path, DeviceIdentity { device_id, kader_id, posyandu_id })?;
        Ok(Arc::new(KaderStore { inner }))
    }

    /// Opens a store created before with `open`, with the identity stored in it
    /// (for a background worker that has only the path).
    #[uniffi::constructor]
    pub fn open_existing(path: String) -> Result<Arc<Self>> {
        check_path(&path)?;
        Ok(Arc::new(KaderStore { inner: Store::open_existing(&path)? }))
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
