//! Sync with the relay: settings, one blocking `sync_now` with progress, status.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use posyandu_core::sync::{RelayConfig as CoreRelay, SyncPhase as CorePhase, SyncProgress};

use crate::error::Result;
use crate::store::KaderStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SyncPhase {
    /// First sync of a new/reset phone: downloading the Posyandu's households.
    Download,
    /// Sending and receiving changes.
    Exchange,
    Done,
}

impl From<CorePhase> for SyncPhase {
    fn from(p: CorePhase) -> Self {
        match p {
            CorePhase::Download => SyncPhase::Download,
            CorePhase::Exchange => SyncPhase::Exchange,
            CorePhase::Done => SyncPhase::Done,
        }
    }
}

/// Implemented by the app (Kotlin class / Python subclass) to drive a progress bar.
/// Called synchronously on the thread running `sync_now`; keep it quick. An exception
/// thrown from it is ignored (progress is best-effort, it never fails a sync): the
/// `Result` only exists so that a foreign exception comes back as a value instead of
/// a Rust panic.
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    fn on_progress(
        &self,
        phase: SyncPhase,
        docs_done: u64,
        docs_total: u64,
        bytes_done: u64,
        bytes_total: u64,
    ) -> Result<(), ListenerError>;
}

/// What a throwing `SyncProgressListener` turns into on the Rust side (ignored).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    #[error("{reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { reason: e.reason }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Local changes the relay acknowledged.
    pub pushed: u64,
    /// Changes from other devices applied here.
    pub pulled: u64,
    /// Households received whole in a first-sync download.
    pub snapshot_docs: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub requests: u32,
    /// Households touched by this sync that now hold same-field conflicts.
    pub conflicts: u64,
    /// The relay was restored from a backup: this phone re-sent everything it holds
    /// to heal it (the sync took more data than usual).
    pub relay_restored: bool,
    /// Households the server refused: their changes are kept aside
    /// (`quarantined()`), the household continues from the server's copy.
    pub refused: u64,
    /// Households that lacked changes and were repaired from the server's copy.
    pub repaired: u64,
}

impl From<posyandu_core::sync::SyncReport> for SyncReport {
    fn from(r: posyandu_core::sync::SyncReport) -> Self {
        SyncReport {
            pushed: r.pushed,
            pulled: r.pulled,
            snapshot_docs: r.snapshot_docs,
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            requests: r.requests,
            conflicts: r.conflicts,
            relay_restored: r.relay_restored,
            refused: r.refused,
            repaired: r.repaired,
        }
    }
}

/// Changes of one household that the server refused, kept on the phone for the kader to
/// enter again (the household itself continues from the server's copy).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuarantinedChanges {
    pub household_id: String,
    pub changes: u64,
    /// The server's machine code, e.g. `bad_change`.
    pub code: String,
    /// Where in the household, e.g. `visits/<id>/entries/<member>/measurements/weight_kg`.
    pub path: Option<String>,
    /// The server's reason (Bahasa Indonesia).
    pub reason: String,
    /// Unix seconds.
    pub quarantined_at: i64,
}

/// Result of `repair_damaged_households`: household ids found damaged, and those rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DamageRepair {
    pub damaged: Vec<String>,
    pub repaired: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RelayConfig {
    /// `http(s)://host[:port]`.
    pub url: String,
    /// Device token issued by the Puskesmas admin.
    pub token: String,
}

#[uniffi::export]
impl KaderStore {
    /// Stores the relay address (in the encrypted database) and the device token (in
    /// the `KeyProvider`, as secret `"relay_token"`).
    pub fn set_relay(&self, url: String, token: String) -> Result<()> {
        Ok(self.inner.set_relay(&CoreRelay { url: url.trim().to_string(), token: token.trim().to_string() })?)
    }

    /// The relay address and device token (read from the `KeyProvider`).
    pub fn relay(&self) -> Result<Option<RelayConfig>> {
        Ok(self.inner.relay()?.map(|c| RelayConfig { url: c.url, token: c.token }))
    }

    /// Unix seconds of the last successful sync, `null` if never.
    pub fn last_sync_at(&self) -> Result<Option<i64>> {
        Ok(self.inner.last_sync_at()?)
    }

    /// Changes recorded on this phone that the relay has not acknowledged yet.
    pub fn pending_changes(&self) -> Result<u64> {
        Ok(self.inner.pending_changes()?)
    }

    /// Changes the server refused, per household and reason, newest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedChanges>> {
        Ok(self
            .inner
            .quarantined()?
            .into_iter()
            .map(|q| QuarantinedChanges {
                household_id: q.household_id.to_string(),
                changes: q.changes,
                code: q.code,
                path: q.path,
                reason: q.reason,
                quarantined_at: q.quarantined_at,
            })
            .collect())
    }

    /// Households whose stored document cannot be read (a damaged file); the rest of
    /// the store works. Repair them with `repair_damaged_households`.
    pub fn damaged_households(&self) -> Result<Vec<String>> {
        Ok(self.inner.damaged_households()?.into_iter().map(|u| u.to_string()).collect())
    }

    /// Rebuilds damaged households from the server's copy (when reachable) and this
    /// phone's unsent changes; nothing unsent is discarded. Blocking (network).
    pub fn repair_damaged_households(&self) -> Result<DamageRepair> {
        let r = self.inner.repair_damaged_households()?;
        Ok(DamageRepair {
            damaged: r.damaged.into_iter().map(|u| u.to_string()).collect(),
            repaired: r.repaired.into_iter().map(|u| u.to_string()).collect(),
        })
    }

    /// Syncs now. Blocking (network): call from a background worker; the UI may keep
    /// reading and writing meanwhile. On failure nothing is lost and the next call
    /// retries (`PosyanduError.Offline` → retry with backoff).
    pub fn sync_now(&self, listener: Option<Arc<dyn SyncProgressListener>>) -> Result<SyncReport> {
        let mut progress = |p: SyncProgress| {
            if let Some(l) = &listener {
                // A throwing listener must not abort the sync half-way: its error is
                // dropped (and, belt and braces, so would be a panic in a Rust impl).
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    l.on_progress(p.phase.into(), p.docs_done, p.docs_total, p.bytes_done, p.bytes_total)
                }));
            }
        };
        Ok(self.inner.sync_now(&mut progress)?.into())
    }
}
