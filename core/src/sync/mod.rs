//! Sync with the relay: one blocking call, safe from a background worker while the UI
//! keeps writing.
//!
//! 1. First sync of a new or reset phone: download compacted documents page by page
//!    ([`wire::SNAPSHOT_PATH`]); each page is applied in its own transaction together
//!    with the resume point, so an interrupted first sync continues where it stopped.
//! 2. Then, usually in one request ([`wire::SYNC_PATH`]): push unacknowledged outbox
//!    changes and receive the scope's changes after the device's cursor. The outbox
//!    rows are deleted, the received changes applied and the new cursor stored in one
//!    transaction after the relay answered, which it does only after storing the
//!    push durably. Replaying a request is harmless: the relay and automerge both
//!    ignore changes they already have.
//! 3. Every response carries the relay's epoch. A different epoch than the stored one
//!    means the relay was restored from a backup (`admin new-epoch`): its log positions
//!    were reused and it may lack changes it once acknowledged. The client then resets
//!    its cursor to 0 and queues every change of its documents again in one
//!    transaction, and carries on: it re-pushes everything (the relay dedupes by hash)
//!    and re-pulls the whole log (automerge ignores what it has).

pub mod repair;

pub use posyandu_records::wire;

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::params;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::{meta_get, meta_set, Store};
use wire::*;

/// Why a sync failed. The outbox is untouched by a failed sync; the next one retries.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Relay belum diatur: isi alamat server dan token perangkat")]
    NotConfigured,
    #[error("Tidak ada koneksi ke server ({0}); data tetap aman di HP dan akan dikirim nanti")]
    Offline(String),
    #[error("Token perangkat ditolak; minta token baru ke admin Puskesmas")]
    Unauthorized,
    #[error("Akses ditolak: {0}")]
    Forbidden(String),
    #[error("Aplikasi terlalu lama untuk server ini; perbarui aplikasi")]
    ClientTooOld,
    #[error("Server terlalu lama untuk aplikasi ini; hubungi admin")]
    ServerTooOld,
    #[error("Server menolak data ({code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        /// The household the refusal is about, if the relay named one.
        doc: Option<String>,
        /// Where in that household (`visits/<id>/…`), if known.
        path: Option<String>,
    },
    #[error("Server sedang bermasalah (HTTP {0}); coba lagi nanti")]
    Server(u16),
    /// The relay is busy (503) or this device is over a quota (429), still after the
    /// retries a sync makes by itself: nothing is lost, sync again later.
    #[error("{message}")]
    Busy {
        /// The relay's `Retry-After`, seconds.
        retry_after_secs: Option<u64>,
        /// The relay's message (Indonesian), or a default one.
        message: String,
    },
    #[error("Jawaban server rusak: {0}")]
    Protocol(String),
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Local changes the relay acknowledged.
    pub pushed: u64,
    /// Changes received from other devices and applied.
    pub pulled: u64,
    /// Documents received in a first-sync download.
    pub snapshot_docs: u64,
    /// HTTP bodies sent and received, bytes (headers not included).
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub requests: u32,
    /// Households that now hold same-field conflicts among those touched.
    pub conflicts: u64,
    /// The relay's epoch changed (it was restored from a backup): this sync re-pulled
    /// the log from the start and re-pushed every local change.
    pub relay_restored: bool,
    /// Households whose push the relay refused: their changes were quarantined and the
    /// household re-based on the relay's copy (see [`repair`]; `Store::quarantined`).
    pub refused: u64,
    /// Households that lacked changes after a pull and were repaired from the relay's copy.
    pub repaired: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPhase {
    /// First sync: downloading compacted documents.
    Download,
    /// Exchanging changes.
    Exchange,
    Done,
}

/// Progress of a running sync, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub docs_done: u64,
    pub docs_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Where to sync: the URL in the store, the device token in the app's keyring, so a
/// background worker needs only the store path and the keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub url: String,
    pub token: String,
}

const META_URL: &str = "relay_url";
/// Name of the device token in the app's keyring ([`crate::store::Keyring::secret`]).
/// Stores of older app versions kept it in `meta` under the same key; it is moved to
/// the keyring when such a store is encrypted.
pub const RELAY_TOKEN_SECRET: &str = "relay_token";
const META_CURSOR: &str = "sync_cursor";
const META_BOOTSTRAPPED: &str = "sync_bootstrapped";
const META_BOOT_AFTER: &str = "sync_bootstrap_after";
const META_BOOT_CURSOR: &str = "sync_bootstrap_cursor";
const META_LAST_SYNC: &str = "last_sync_at";
/// The relay epoch the cursor belongs to (a `sync_` key: reset with the sync state).
const META_EPOCH: &str = "sync_epoch";

/// Requests a sync may make before it stops and reports (a later sync continues).
const MAX_REQUESTS: u32 = 1000;

impl Store {
    /// Sets the relay to sync with. The URL is kept in the (encrypted) database, the
    /// device token in the app's keyring, never in the database.
    pub fn set_relay(&self, cfg: &RelayConfig) -> Result<()> {
        let url = cfg.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 {
            return Err(crate::validation::ValidationError::Required { field: "Alamat server (http/https)" }.into());
        }
        crate::validation::check_text("Token", &cfg.token, 200)?;
        let w = self.writer();
        self.keyring().set_secret(RELAY_TOKEN_SECRET, Some(&cfg.token))?;
        meta_set(&w.conn, META_URL, url)?;
        Ok(())
    }

    /// The relay URL (from the database) and device token (from the keyring).
    pub fn relay(&self) -> Result<Option<RelayConfig>> {
        let url = meta_get(&self.writer().conn, META_URL)?;
        let Some(url) = url else { return Ok(None) };
        Ok(self.keyring().secret(RELAY_TOKEN_SECRET)?.map(|token| RelayConfig { url, token }))
    }

    /// Unix time of the last successful sync.
    pub fn last_sync_at(&self) -> Result<Option<i64>> {
        let w = self.writer();
        Ok(meta_get(&w.conn, META_LAST_SYNC)?.and_then(|s| s.parse().ok()))
    }

    /// Syncs with the configured relay. Blocking; call from a background thread.
    pub fn sync_now(&self, progress: &mut dyn FnMut(SyncProgress)) -> Result<SyncReport> {
        let cfg = self.relay()?.ok_or(SyncError::NotConfigured)?;
        let actor = self.writer().docs.actor.to_hex_string();
        let http = Http::new(&cfg, &actor)?;
        let mut report = SyncReport::default();
        let span = tracing::info_span!("sync", device = %self.identity().device_id);
        let _g = span.enter();
        if !self.meta_flag(META_BOOTSTRAPPED)? {
            self.download_snapshots(&http, &mut report, progress)?;
        }
        self.exchange(&http, &mut report, progress)?;
        {
            let w = self.writer();
            meta_set(&w.conn, META_LAST_SYNC, &self.now().unix_timestamp().to_string())?;
        }
        progress(SyncProgress {
            phase: SyncPhase::Done,
            docs_done: 0,
            docs_total: 0,
            bytes_done: report.bytes_down,
            bytes_total: report.bytes_down,
        });
        tracing::info!(
            pushed = report.pushed,
            pulled = report.pulled,
            bytes_up = report.bytes_up,
            bytes_down = report.bytes_down,
            requests = report.requests,
            relay_restored = report.relay_restored,
            "sync done"
        );
        Ok(report)
    }

    /// After the relay's epoch changed, inside the caller's transaction: queue every
    /// local change again and remember the new epoch. The caller resets its cursor.
    fn relay_restored(
        &self,
        docs: &mut crate::store::DocCache,
        tx: &rusqlite::Transaction,
        epoch: u64,
        report: &mut SyncReport,
    ) -> Result<()> {
        let now = self.now().unix_timestamp();
        let queued = crate::store::outbox_requeue_all(tx, docs, &self.identity().posyandu_id, now)
            .inspect_err(|_| docs.forget())?;
        meta_set(tx, META_EPOCH, &epoch.to_string())?;
        report.relay_restored = true;
        tracing::warn!(queued, "relay epoch changed (restored from a backup): re-pulling the log and re-pushing");
        Ok(())
    }

    fn meta_flag(&self, key: &str) -> Result<bool> {
        let w = self.writer();
        Ok(meta_get(&w.conn, key)?.as_deref() == Some("1"))
    }

    fn download_snapshots(
        &self,
        http: &Http,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<()> {
        let (mut after, mut cursor) = {
            let w = self.writer();
            let after =
                meta_get(&w.conn, META_BOOT_AFTER)?.and_then(|s| Uuid::parse_str(&s).ok()).map(|u| u.into_bytes());
            let cursor = meta_get(&w.conn, META_BOOT_CURSOR)?.and_then(|s| s.parse::<u64>().ok());
            (after, cursor)
        };
        let mut docs_done = 0u64;
        let mut bytes_done = 0u64;
        loop {
            let req = SnapshotRequest { after, page_bytes: DEFAULT_PAGE_BYTES };
            let page: SnapshotPage = http.post(SNAPSHOT_PATH, &req, report)?;
            let mut w = self.writer();
            let crate::store::Writer { conn, docs } = &mut *w;
            let tx = conn.transaction()?;
            match stored_epoch(&tx)? {
                Some(e) if e == page.epoch => {}
                None => meta_set(&tx, META_EPOCH, &page.epoch.to_string())?,
                Some(_) => {
                    // Pages of another epoch cannot be combined with this one: start the
                    // download again (what was applied stays: it is merged, not replaced).
                    tx.execute("DELETE FROM meta WHERE key IN (?1, ?2)", [META_BOOT_AFTER, META_BOOT_CURSOR])?;
                    self.relay_restored(docs, &tx, page.epoch, report)?;
                    tx.commit().inspect_err(|_| docs.forget())?;
                    (after, cursor, docs_done, bytes_done) = (None, None, 0, 0);
                    if report.requests >= MAX_REQUESTS {
                        return Ok(());
                    }
                    continue;
                }
            }
            for d in &page.docs {
                if let Err(e) = self.apply_snapshot(docs, &tx, Uuid::from_bytes(d.doc), &d.snapshot) {
                    docs.forget();
                    return Err(e);
                }
                bytes_done += d.snapshot.len() as u64;
            }
            docs_done += page.docs.len() as u64;
            report.snapshot_docs += page.docs.len() as u64;
            let c = cursor.map_or(page.cursor, |c| c.min(page.cursor));
            cursor = Some(c);
            meta_set(&tx, META_BOOT_CURSOR, &c.to_string())?;
            match page.next {
                Some(next) => meta_set(&tx, META_BOOT_AFTER, &Uuid::from_bytes(next).to_string())?,
                None => {
                    meta_set(&tx, META_CURSOR, &c.to_string())?;
                    meta_set(&tx, META_BOOTSTRAPPED, "1")?;
                }
            }
            // Documents received whole also hold local changes not yet pushed: those stay
            // in the outbox and are pushed next.
            tx.commit().inspect_err(|_| docs.forget())?;
            progress(SyncProgress {
                phase: SyncPhase::Download,
                docs_done,
                docs_total: page.total_docs as u64,
                bytes_done,
                bytes_total: page.total_bytes,
            });
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(()),
            }
            if report.requests >= MAX_REQUESTS {
                return Ok(());
            }
        }
    }

    fn exchange(&self, http: &Http, report: &mut SyncReport, progress: &mut dyn FnMut(SyncProgress)) -> Result<()> {
        loop {
            let (cursor, batch) = {
                let w = self.writer();
                let cursor = meta_get(&w.conn, META_CURSOR)?.and_then(|s| s.parse().ok()).unwrap_or(0u64);
                (cursor, outbox_batch(&w.conn)?)
            };
            let mut push: Vec<DocChanges> = Vec::new();
            for (doc, change) in batch.iter().map(|(_, d, c)| (d, c)) {
                match push.last_mut() {
                    Some(last) if last.doc == *doc => last.changes.push(change.clone()),
                    _ => push.push(DocChanges { doc: *doc, changes: vec![change.clone()] }),
                }
            }
            let req = SyncRequest { cursor, push, page_bytes: DEFAULT_PAGE_BYTES };
            let resp: SyncResponse = match http.post(SYNC_PATH, &req, report) {
                Ok(r) => r,
                // A relay restored from a backup lacks changes our new ones depend on, and
                // refuses them before it could tell us its new epoch: ask for it (a
                // pull-only request), and if it changed, heal it as below.
                // The relay refused one document: quarantine its changes, re-base it on the
                // relay's copy, and go on with the others (see `repair`).
                Err(SyncError::Rejected { code, message, doc: Some(doc), path, .. })
                    if repair::DOCUMENT_REFUSALS.contains(&code.as_str())
                        && batch.iter().any(|(_, d, _)| Uuid::from_bytes(*d).to_string() == doc) =>
                {
                    if report.refused >= repair::MAX_REFUSED_PER_SYNC || report.requests >= MAX_REQUESTS {
                        return Ok(());
                    }
                    let id = Uuid::parse_str(&doc).map_err(|e| SyncError::Protocol(e.to_string()))?;
                    self.quarantine_refused(http, report, id, &repair::Refusal { code, path, reason: message })?;
                    continue;
                }
                Err(SyncError::Rejected { code, message, status, doc, path }) if code == "missing_dependencies" => {
                    let probe = SyncRequest { cursor, push: Vec::new(), page_bytes: 1 };
                    let epoch = http.post::<_, SyncResponse>(SYNC_PATH, &probe, report)?.epoch;
                    let mut w = self.writer();
                    let crate::store::Writer { conn, docs } = &mut *w;
                    let tx = conn.transaction()?;
                    match stored_epoch(&tx)? {
                        Some(e) if e != epoch => {
                            self.relay_restored(docs, &tx, epoch, report)?;
                            meta_set(&tx, META_CURSOR, "0")?;
                            tx.commit().inspect_err(|_| docs.forget())?;
                            if report.requests >= MAX_REQUESTS {
                                return Ok(());
                            }
                            continue;
                        }
                        _ => return Err(SyncError::Rejected { code, message, status, doc, path }.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            if resp.stored as usize != batch.len() {
                return Err(
                    SyncError::Protocol(format!("{} dari {} perubahan disimpan", resp.stored, batch.len())).into()
                );
            }
            let mut w = self.writer();
            let crate::store::Writer { conn, docs } = &mut *w;
            let tx = conn.transaction()?;
            {
                let mut del = tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
                for (id, _, _) in &batch {
                    del.execute([id])?;
                }
            }
            match stored_epoch(&tx)? {
                Some(e) if e == resp.epoch => {}
                None => meta_set(&tx, META_EPOCH, &resp.epoch.to_string())?,
                Some(_) => {
                    // The response's cursor and pull belong to the restored log and our
                    // cursor to the old one: pull again from 0 (this pull is dropped) and
                    // push everything we hold, in the following requests.
                    self.relay_restored(docs, &tx, resp.epoch, report)?;
                    meta_set(&tx, META_CURSOR, "0")?;
                    tx.commit().inspect_err(|_| docs.forget())?;
                    report.pushed += batch.len() as u64;
                    if report.requests >= MAX_REQUESTS {
                        return Ok(());
                    }
                    continue;
                }
            }
            let mut pulled = 0u64;
            let mut conflicted = 0u64;
            let mut incomplete: Vec<Uuid> = Vec::new();
            for dc in resp.pull {
                let changes = dc
                    .changes
                    .into_iter()
                    .map(parse_change)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| SyncError::Protocol(format!("perubahan rusak: {e}")))?;
                pulled += changes.len() as u64;
                let applied = self.apply_remote(docs, &tx, Uuid::from_bytes(dc.doc), changes);
                match applied {
                    Ok(a) => {
                        conflicted += (a.conflicts > 0) as u64;
                        if a.missing_deps && !incomplete.contains(&Uuid::from_bytes(dc.doc)) {
                            incomplete.push(Uuid::from_bytes(dc.doc));
                        }
                    }
                    Err(e) => {
                        docs.forget();
                        return Err(e);
                    }
                }
            }
            meta_set(&tx, META_CURSOR, &resp.cursor.to_string())?;
            tx.commit().inspect_err(|_| docs.forget())?;
            drop(w);
            if !incomplete.is_empty() {
                // Changes whose predecessors never reached this phone wait unapplied;
                // merge the relay's whole copy instead of reporting success.
                self.repair_missing(http, report, &incomplete)?;
            }
            let w = self.writer();
            let conn = &w.conn;
            report.pushed += batch.len() as u64;
            report.pulled += pulled;
            report.conflicts += conflicted;
            progress(SyncProgress {
                phase: SyncPhase::Exchange,
                docs_done: report.pushed + report.pulled,
                docs_total: report.pushed + report.pulled,
                bytes_done: report.bytes_up + report.bytes_down,
                bytes_total: report.bytes_up + report.bytes_down,
            });
            let outbox_left: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
            if (!resp.more && (outbox_left == 0 || batch.is_empty())) || report.requests >= MAX_REQUESTS {
                return Ok(());
            }
        }
    }
}

/// The relay epoch the stored cursor belongs to (`None` before the first contact).
fn stored_epoch(conn: &rusqlite::Connection) -> Result<Option<u64>> {
    Ok(meta_get(conn, META_EPOCH)?.and_then(|s| s.parse().ok()))
}

/// The oldest outbox changes up to [`PUSH_BATCH_BYTES`], as (row id, doc, change).
fn outbox_batch(conn: &rusqlite::Connection) -> Result<Vec<(i64, DocId, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached("SELECT id, doc_id, change FROM outbox ORDER BY id LIMIT 5000")?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let rows =
        stmt.query_map(params![], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)))?;
    for row in rows {
        let (id, doc, change) = row?;
        if !out.is_empty() && bytes + change.len() > PUSH_BATCH_BYTES {
            break;
        }
        bytes += change.len();
        let doc = Uuid::parse_str(&doc).map_err(|e| Error::Document(e.to_string()))?.into_bytes();
        out.push((id, doc, change));
    }
    // Keep each document's changes together and in causal (row) order.
    let mut by_doc: BTreeMap<DocId, Vec<(i64, DocId, Vec<u8>)>> = BTreeMap::new();
    for item in out {
        by_doc.entry(item.1).or_default().push(item);
    }
    Ok(by_doc.into_values().flatten().collect())
}

/// Retries of one request when the relay answers 503 or 429 with a short `Retry-After`.
pub const BUSY_RETRIES: u32 = 2;
/// Longest `Retry-After` a sync waits for by itself; a longer one ends the sync.
pub const MAX_BUSY_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Http {
    client: reqwest::blocking::Client,
    base: String,
    auth: String,
    /// This store's automerge actor (hex): the relay binds the device token to it.
    actor: String,
}

impl Http {
    fn new(cfg: &RelayConfig, actor: &str) -> Result<Http> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(Http {
            client,
            base: cfg.url.trim_end_matches('/').to_string(),
            auth: format!("Bearer {}", cfg.token),
            actor: actor.to_string(),
        })
    }

    /// Posts `req`; a 503 (relay or database briefly unavailable) or a 429 rate limit
    /// with a short `Retry-After` is retried after waiting that long, at most
    /// [`BUSY_RETRIES`] times (sync is idempotent: a retried push stores nothing twice).
    pub(crate) fn post<Req: serde::Serialize, Resp: for<'de> serde::Deserialize<'de>>(
        &self,
        path: &str,
        req: &Req,
        report: &mut SyncReport,
    ) -> Result<Resp, SyncError> {
        let body = encode(req);
        let mut attempt = 0;
        loop {
            match self.post_once(path, body.clone(), report) {
                Err(SyncError::Busy { retry_after_secs: Some(wait), .. })
                    if attempt < BUSY_RETRIES && wait <= MAX_BUSY_WAIT.as_secs() =>
                {
                    attempt += 1;
                    tracing::info!(wait, attempt, "relay busy; retrying");
                    std::thread::sleep(Duration::from_secs(wait.max(1)));
                }
                other => return other,
            }
        }
    }

    fn post_once<Resp: for<'de> serde::Deserialize<'de>>(
        &self,
        path: &str,
        body: Vec<u8>,
        report: &mut SyncReport,
    ) -> Result<Resp, SyncError> {
        report.bytes_up += body.len() as u64;
        report.requests += 1;
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .header(ACTOR_HEADER, &self.actor)
            .body(body)
            .send()
            .map_err(|e| SyncError::Offline(short_reason(&e)))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let server_version =
            resp.headers().get(VERSION_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u8>().ok());
        let bytes = resp.bytes().map_err(|e| SyncError::Offline(short_reason(&e)))?;
        report.bytes_down += bytes.len() as u64;
        if status == 200 {
            return decode(&bytes).map_err(|e| match e {
                WireError::Version { found, .. } if found > PROTOCOL_VERSION => SyncError::ClientTooOld,
                WireError::Version { .. } => SyncError::ServerTooOld,
                other => SyncError::Protocol(other.to_string()),
            });
        }
        let err: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let (code, message, doc, path) =
            err.map_or_else(|| (String::new(), String::new(), None, None), |e| (e.code, e.message, e.doc, e.path));
        Err(match (status, code.as_str()) {
            (401, _) => SyncError::Unauthorized,
            (403, _) => SyncError::Forbidden(message),
            (426, _) | (_, "unsupported_protocol") => match server_version {
                Some(v) if v < PROTOCOL_VERSION => SyncError::ServerTooOld,
                _ => SyncError::ClientTooOld,
            },
            (404, _) => SyncError::ServerTooOld,
            // The relay cut a request that took too long (a very slow link): retry later.
            (408, _) => SyncError::Offline("waktu habis".into()),
            (429 | 503, _) => SyncError::Busy {
                retry_after_secs: retry_after,
                message: if message.is_empty() {
                    "Server sedang sibuk; data tetap aman di HP, coba sinkron lagi nanti".into()
                } else {
                    message
                },
            },
            (s, _) if s >= 500 => SyncError::Server(s),
            (s, _) => SyncError::Rejected { status: s, code, message, doc, path },
        })
    }
}

/// A network error's kind, without URLs or tokens.
fn short_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "waktu habis".into()
    } else if e.is_connect() {
        "tidak dapat terhubung".into()
    } else if e.is_body() || e.is_decode() {
        "koneksi terputus saat transfer".into()
    } else {
        "kesalahan jaringan".into()
    }
}
