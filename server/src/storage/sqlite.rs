//! SQLite backend: one database file in WAL mode with `synchronous=FULL` (a sync is
//! answered only after its push is on disk).
//!
//! - **Writes**: one connection behind a mutex. Pushes go through the writer thread
//!   ([`super::group_commit`]): the pushes waiting are applied in one transaction, one
//!   savepoint each, and share its fsync. Admin paths and the read-model rebuild lock the
//!   same connection between groups.
//! - **Reads** (pull pages, snapshots, Puskesmas reads, token lookups): a few read-only
//!   connections of their own, used from `spawn_blocking`; WAL lets them read while a
//!   write transaction is open, each seeing the last commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use posyandu_records::wire::{
    DocId, DocsResponse, SnapshotDoc, SnapshotPage, SnapshotRequest, SyncRequest, SyncResponse, MAX_PAGE_BYTES,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::group_commit::Writer;
use super::seal_pass::SQLITE_SNAPSHOT_TOTALS as SNAPSHOT_TOTALS_SQL;
use super::{BoxFuture, NewDocQuota, ReadRow, Refusal, Storage, StoredDoc, SyncOutcome};
use crate::at_rest::{AtRest, Blob};
use crate::auth::{DevicePrincipal, Principal, TokenLookup};
use crate::error::ApiError;
use crate::merge::{apply_push, PageBuilder, PushAuth};
use crate::read_model::{self, Projection, RebuildStep};

/// Numbered schema migrations; `PRAGMA user_version` is the number applied. Append
/// only: never edit a released migration.
pub const MIGRATIONS: &[&str] = &[
    // 1: the registry (who may sync what).
    r#"
    CREATE TABLE puskesmas (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE posyandu (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        puskesmas_id TEXT REFERENCES puskesmas(id),
        created_at INTEGER NOT NULL
    );
    CREATE INDEX posyandu_puskesmas ON posyandu(puskesmas_id);
    CREATE TABLE kader (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        posyandu_id TEXT NOT NULL REFERENCES posyandu(id),
        created_at INTEGER NOT NULL
    );
    CREATE TABLE token (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('device', 'puskesmas')),
        device_id TEXT,
        kader_id TEXT REFERENCES kader(id),
        posyandu_id TEXT REFERENCES posyandu(id),
        puskesmas_id TEXT REFERENCES puskesmas(id),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        CHECK ((kind = 'device' AND device_id IS NOT NULL AND kader_id IS NOT NULL AND posyandu_id IS NOT NULL)
            OR (kind = 'puskesmas' AND puskesmas_id IS NOT NULL))
    );
    CREATE INDEX token_device ON token(device_id);
    "#,
    // 2: documents and the per-Posyandu change log.
    r#"
    CREATE TABLE doc (
        id BLOB PRIMARY KEY,
        scope TEXT NOT NULL,
        snapshot BLOB NOT NULL,
        updated_seq INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX doc_scope ON doc(scope, id);
    CREATE TABLE change_log (
        scope TEXT NOT NULL,
        seq INTEGER NOT NULL,
        doc_id BLOB NOT NULL,
        hash BLOB NOT NULL,
        data BLOB NOT NULL,
        origin_device TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (scope, seq),
        UNIQUE (scope, hash)
    );
    CREATE TABLE scope_counter (
        scope TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
    );
    "#,
    // 3: documents by scope in log order (Puskesmas incremental export).
    r#"
    CREATE INDEX doc_scope_seq ON doc(scope, updated_seq);
    "#,
    // 4: the relay's epoch (one row), random in 1..2^62; `admin new-epoch` replaces it
    // after a backup is restored so phones notice that log positions were reused.
    r#"
    CREATE TABLE relay_epoch (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        epoch INTEGER NOT NULL CHECK (epoch > 0)
    );
    INSERT INTO relay_epoch (id, epoch) VALUES (1, abs(random() % 4611686018427387904) + 1);
    "#,
    // 5: one store per device token (the automerge actor that first used it), refused
    // pushes for the operator (no values, only paths and reasons), and when the epoch
    // last changed (phones re-push other devices' changes for a while after a restore).
    r#"
    CREATE TABLE device_actor (
        token_id INTEGER PRIMARY KEY REFERENCES token(id),
        actor BLOB NOT NULL,
        bound_at INTEGER NOT NULL
    );
    CREATE TABLE refusal (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        token_id INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        posyandu_id TEXT NOT NULL,
        doc_id TEXT,
        code TEXT NOT NULL,
        path TEXT,
        reason TEXT NOT NULL
    );
    CREATE INDEX refusal_device ON refusal(device_id, id);
    ALTER TABLE relay_epoch ADD COLUMN changed_at INTEGER;
    "#,
    // 6: the read model (crate::read_model): one derived row per household, written in
    // the push transaction; members index their household for the child chart.
    r#"
    CREATE TABLE read_household (
        doc_id BLOB PRIMARY KEY REFERENCES doc(id),
        scope TEXT NOT NULL,
        updated_seq INTEGER NOT NULL,
        stamp TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX read_household_stamp ON read_household(stamp);
    CREATE TABLE read_member (
        scope TEXT NOT NULL,
        member_id BLOB NOT NULL,
        doc_id BLOB NOT NULL REFERENCES doc(id),
        PRIMARY KEY (scope, member_id)
    );
    CREATE INDEX read_member_doc ON read_member(doc_id);
    -- Documents the rebuild could not read at this position and stamp (not retried
    -- until they change or the rules do).
    CREATE TABLE read_model_skip (
        doc_id BLOB PRIMARY KEY,
        updated_seq INTEGER NOT NULL,
        stamp TEXT NOT NULL
    );
    "#,
    // 7: SATUSEHAT export (crate::storage::satusehat): a Posyandu's SATUSEHAT ids, and
    // members' IHS numbers keyed by a keyed NIK index (never the NIK), sealed.
    r#"
    CREATE TABLE satusehat_config (
        posyandu_id TEXT PRIMARY KEY REFERENCES posyandu(id),
        org_id TEXT NOT NULL,
        puskesmas_org_id TEXT NOT NULL,
        location_id TEXT NOT NULL,
        bidan_ihs TEXT NOT NULL,
        bidan_name TEXT NOT NULL,
        utc_offset TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE ihs_number (
        scope TEXT NOT NULL,
        nik_key BLOB NOT NULL,
        ihs BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (scope, nik_key)
    );
    -- KFA codes of the vaccines a Puskesmas (by its SATUSEHAT Organization id) uses.
    CREATE TABLE satusehat_kfa (
        puskesmas_org_id TEXT NOT NULL,
        antigen TEXT NOT NULL,
        kfa_code TEXT NOT NULL,
        kfa_display TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (puskesmas_org_id, antigen)
    );
    "#,
    // 8: reserved for another branch (member status); a no-op here, replaced when merged.
    "SELECT 1;",
    // 9: bidan (village midwives) and their tokens (crate::bidan): a bidan covers one or
    // more Posyandu; her tokens are kept apart from the device/Puskesmas `token` table
    // (whose kinds are fixed by a CHECK), hashed like them.
    r#"
    CREATE TABLE bidan (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE bidan_posyandu (
        bidan_id TEXT NOT NULL REFERENCES bidan(id),
        posyandu_id TEXT NOT NULL REFERENCES posyandu(id),
        PRIMARY KEY (bidan_id, posyandu_id)
    );
    CREATE TABLE bidan_token (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        bidan_id TEXT NOT NULL REFERENCES bidan(id),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    "#,
    // 10: the Posyandu document (issue 12,
    // crate::posyandu). `doc.kind` tells households from it (the household read model,
    // exports and reports read households only); its projection for the Puskesmas side
    // (schedule, roster, area, sasaran as JSON, sealed) is one row per Posyandu.
    r#"
    ALTER TABLE doc ADD COLUMN kind TEXT NOT NULL DEFAULT 'household';
    CREATE TABLE read_posyandu (
        scope TEXT PRIMARY KEY,
        doc_id BLOB NOT NULL REFERENCES doc(id),
        updated_seq INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    "#,
    // 11: SPM requests to the desa (issue 13, crate::desa): the kader koordinator of a
    // Posyandu (the only kader who may verify a request and hand it to the desa), the
    // desa/kelurahan principals with their Kemendagri village codes and the Posyandu
    // serving them, and their tokens (apart from `token`, hashed like them).
    r#"
    CREATE TABLE koordinator (
        posyandu_id TEXT NOT NULL REFERENCES posyandu(id),
        kader_id TEXT NOT NULL REFERENCES kader(id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (posyandu_id, kader_id)
    );
    CREATE TABLE desa (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE desa_kode (
        desa_id TEXT NOT NULL REFERENCES desa(id),
        kode TEXT NOT NULL,
        PRIMARY KEY (desa_id, kode)
    );
    CREATE TABLE desa_posyandu (
        desa_id TEXT NOT NULL REFERENCES desa(id),
        posyandu_id TEXT NOT NULL REFERENCES posyandu(id),
        PRIMARY KEY (desa_id, posyandu_id)
    );
    CREATE TABLE desa_token (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        desa_id TEXT NOT NULL REFERENCES desa(id),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    "#,
];

/// Applies pending migrations up to `target` (each in its own transaction) and returns
/// the resulting version. Refuses a database from a newer relay.
pub fn migrate_to(conn: &mut Connection, target: usize) -> rusqlite::Result<usize> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = current.max(0) as usize;
    if current > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this relay ({}); upgrade the relay",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(current.max(target.min(MIGRATIONS.len())))
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Opens (creating if needed) a relay database with the relay's pragmas, unmigrated.
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // journal_mode returns a row; in-memory databases answer "memory".
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

/// Read-only connections of a file database (one per core is enough: reads are CPU
/// work once the pages are cached).
const READERS: usize = 2;

/// Round robin over busy readers.
static READER_TURN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[derive(Clone)]
pub struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
    /// Read-only connections; empty for an in-memory database (reads use `conn`).
    readers: Arc<Vec<Mutex<Connection>>>,
    writer: Writer,
    path: Option<PathBuf>,
    /// Seals change-log data and snapshots at rest (see [`crate::at_rest`]).
    keys: Arc<AtRest>,
}

impl SqliteStorage {
    /// Opens the database at `path`, creating and migrating it as needed, with the
    /// data key in `relay-data.key` beside it (created on first use; see
    /// [`AtRest::load_or_create`]). The relay binary uses [`SqliteStorage::open_with`].
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Self> {
        let path = path.as_ref();
        let (keys, _) = AtRest::load_or_create(&AtRest::default_key_path(path))
            .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))?;
        Self::open_with(path, keys)
    }

    /// Opens the database at `path` sealing with `keys`.
    pub fn open_with(path: impl AsRef<Path>, keys: Arc<AtRest>) -> rusqlite::Result<Self> {
        let path = path.as_ref();
        let mut conn = open_connection(path)?;
        migrate_to(&mut conn, MIGRATIONS.len())?;
        let readers = (0..READERS)
            .map(|_| {
                let r = open_connection(path)?;
                r.execute_batch("PRAGMA query_only = ON")?;
                Ok(Mutex::new(r))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Self::assemble(conn, readers, Some(path.to_path_buf()), keys)
    }

    fn assemble(
        conn: Connection,
        readers: Vec<Mutex<Connection>>,
        path: Option<PathBuf>,
        keys: Arc<AtRest>,
    ) -> rusqlite::Result<Self> {
        let conn = Arc::new(Mutex::new(conn));
        let writer = Writer::start(conn.clone(), keys.clone(), store_push)
            .map_err(|e| rusqlite::Error::InvalidParameterName(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStorage { conn, readers: Arc::new(readers), writer, path, keys })
    }

    /// A private in-memory database (tests), sealing with a key of this process.
    pub fn open_in_memory() -> rusqlite::Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrate_to(&mut conn, MIGRATIONS.len())?;
        Self::assemble(conn, Vec::new(), None, AtRest::ephemeral())
    }

    /// The at-rest keys (admin tools, tests).
    pub fn keys(&self) -> &Arc<AtRest> {
        &self.keys
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` on the connection on the current thread (CLI, tests, admin ops).
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        // A panic while holding the lock leaves no open transaction (it rolls back on
        // drop during unwinding), so a poisoned lock is safe to reuse.
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Runs `f` on a read-only connection (the write connection for an in-memory
    /// database): a free one if there is, else waits for one.
    pub fn with_reader<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        if self.readers.is_empty() {
            return self.with_conn(f);
        }
        let free = self.readers.iter().find_map(|r| r.try_lock().ok());
        let mut guard = match free {
            Some(g) => g,
            None => {
                let i = READER_TURN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.readers.len();
                self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
            }
        };
        f(&mut guard)
    }

    /// Runs `f` on the write connection, off the async runtime.
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.with_conn(f))
            .await
            .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?
    }

    /// Runs `f` on a read-only connection, off the async runtime.
    async fn reading<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.with_reader(f))
            .await
            .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?
    }
}

/// [`Storage::kader_enrolled`]: the same statement on both backends (`?1`/`$1` aside).
pub const KADER_ENROLLED_SQL: &str = "SELECT count(DISTINCT kader_id) FROM token \
     WHERE kind = 'device' AND posyandu_id = ?1 AND created_at < ?2 AND (revoked_at IS NULL OR revoked_at >= ?2)";

impl Storage for SqliteStorage {
    fn lookup_token(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<TokenLookup>, ApiError>> {
        Box::pin(self.reading(move |conn| lookup_token(conn, &hash)))
    }

    fn kader_enrolled(&self, scope: String, at: i64) -> BoxFuture<'_, Result<u32, ApiError>> {
        Box::pin(self.blocking(move |conn| {
            let n: i64 = conn.prepare_cached(KADER_ENROLLED_SQL)?.query_row(params![scope, at], |r| r.get(0))?;
            Ok(n.max(0) as u32)
        }))
    }

    fn token_valid(&self, token_id: i64) -> BoxFuture<'_, Result<bool, ApiError>> {
        Box::pin(self.reading(move |conn| {
            let revoked: Option<Option<i64>> = conn
                .prepare_cached("SELECT revoked_at FROM token WHERE id = ?1")?
                .query_row([token_id], |r| r.get(0))
                .optional()?;
            Ok(matches!(revoked, Some(None)))
        }))
    }

    fn sync(
        &self,
        device: DevicePrincipal,
        req: SyncRequest,
        quota: NewDocQuota,
    ) -> BoxFuture<'_, Result<SyncOutcome, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(async move {
            let (after, page_bytes) = (req.cursor, req.page_bytes);
            let (stored, new_changes, new_docs) = if req.push.iter().any(|d| !d.changes.is_empty()) {
                self.writer.push(device.clone(), req, quota).await?
            } else {
                (0, 0, 0)
            };
            // After the commit: the pull sees this push (and skips it: it is the device's own).
            self.reading(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                let (pull, cursor, more) =
                    read_pull(&tx, &keys, &device.posyandu_id, &device.device_id, after, page_bytes)?;
                let epoch = read_epoch(&tx)?;
                tx.commit()?;
                Ok(SyncOutcome { response: SyncResponse { stored, cursor, pull, more, epoch }, new_changes, new_docs })
            })
            .await
        })
    }

    fn snapshot(&self, scope: String, req: SnapshotRequest) -> BoxFuture<'_, Result<SnapshotPage, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.reading(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let page = read_snapshot_page(&tx, &keys, &scope, &req)?;
            tx.commit()?;
            Ok(page)
        }))
    }

    fn docs_after(
        &self,
        scope: String,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredDoc>, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.reading(move |conn| read_docs_after(conn, &keys, &scope, after_seq, limit)))
    }

    fn read_after(&self, scope: String, after_seq: u64, limit: usize) -> BoxFuture<'_, Result<Vec<ReadRow>, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.reading(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let rows = read_rows_after(&tx, &keys, &scope, after_seq, limit)?;
            tx.commit()?;
            Ok(rows)
        }))
    }

    fn read_member(&self, scope: String, member: uuid::Uuid) -> BoxFuture<'_, Result<Option<ReadRow>, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.reading(move |conn| read_member_row(conn, &keys, &scope, member)))
    }

    fn rebuild_read_model(&self, batch: usize) -> BoxFuture<'_, Result<RebuildStep, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.blocking(move |conn| rebuild_read_rows(conn, &keys, batch)))
    }

    fn read_posyandu(
        &self,
        scope: String,
    ) -> BoxFuture<'_, Result<Option<posyandu_records::posyandu::Posyandu>, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.reading(move |conn| read_posyandu_row(conn, &keys, &scope)))
    }

    fn invalidate_read_model(&self, scope: Option<String>) -> BoxFuture<'_, Result<u64, ApiError>> {
        Box::pin(self.blocking(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = invalidate_read_rows(&tx, scope.as_deref())?;
            tx.commit()?;
            Ok(n)
        }))
    }

    fn epoch(&self) -> BoxFuture<'_, Result<u64, ApiError>> {
        Box::pin(self.reading(|conn| Ok(read_epoch(conn)?)))
    }

    fn bind_actor(&self, token_id: i64, actor: Vec<u8>) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(self.blocking(move |conn| bind_actor(conn, token_id, &actor)))
    }

    fn record_refusal(&self, refusal: Refusal) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(self.blocking(move |conn| record_refusal(conn, &refusal)))
    }

    fn fetch_docs(&self, scope: String, ids: Vec<DocId>) -> BoxFuture<'_, Result<DocsResponse, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.reading(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let docs = read_docs(&tx, &keys, &scope, &ids)?;
            let epoch = read_epoch(&tx)?;
            tx.commit()?;
            Ok(DocsResponse { docs, epoch })
        }))
    }

    fn health(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(self.blocking(|conn| {
            let _: i64 = conn.query_row("SELECT count(*) FROM scope_counter", [], |r| r.get(0))?;
            Ok(())
        }))
    }

    fn satusehat_config(&self, posyandu: String) -> BoxFuture<'_, Result<Option<super::SatusehatConfig>, ApiError>> {
        Box::pin(self.blocking(move |conn| Ok(super::satusehat::sqlite_config(conn, &posyandu)?)))
    }

    fn put_ihs(&self, posyandu: String, rows: Vec<(String, String)>) -> BoxFuture<'_, Result<u64, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.blocking(move |conn| Ok(super::satusehat::sqlite_put_ihs(conn, &keys, &posyandu, &rows)?)))
    }

    fn ihs_numbers(
        &self,
        posyandu: String,
        niks: Vec<String>,
    ) -> BoxFuture<'_, Result<std::collections::HashMap<String, String>, ApiError>> {
        let keys = self.keys.clone();
        Box::pin(self.blocking(move |conn| super::satusehat::sqlite_ihs(conn, &keys, &posyandu, &niks)))
    }
}

pub fn lookup_token(conn: &Connection, hash: &[u8; 32]) -> Result<Option<TokenLookup>, ApiError> {
    type Row = (i64, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT id, kind, device_id, kader_id, posyandu_id, puskesmas_id, revoked_at FROM token WHERE hash = ?1",
        )?
        .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .optional()?;
    let Some((token_id, kind, device_id, kader_id, posyandu_id, puskesmas_id, revoked_at)) = row else {
        if let Some(found) = crate::bidan::registry::lookup_sqlite(conn, hash)? {
            return Ok(Some(found));
        }
        return Ok(crate::desa::registry::lookup_sqlite(conn, hash)?);
    };
    let principal = match (kind.as_str(), device_id, kader_id, posyandu_id, puskesmas_id) {
        ("device", Some(device_id), Some(kader_id), Some(posyandu_id), _) => {
            Principal::Device(DevicePrincipal { token_id, device_id, kader_id, posyandu_id })
        }
        ("puskesmas", _, _, _, Some(puskesmas_id)) => {
            let posyandu_ids = conn
                .prepare_cached("SELECT id FROM posyandu WHERE puskesmas_id = ?1 ORDER BY id")?
                .query_map([&puskesmas_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Principal::Puskesmas { token_id, puskesmas_id, posyandu_ids }
        }
        _ => return Err(ApiError::internal(format!("token {token_id} is malformed"))),
    };
    Ok(Some(TokenLookup { principal, revoked: revoked_at.is_some() }))
}

/// The relay's epoch (see [`SyncResponse::epoch`]).
pub fn read_epoch(conn: &Connection) -> rusqlite::Result<u64> {
    let v: i64 = conn.prepare_cached("SELECT epoch FROM relay_epoch WHERE id = 1")?.query_row([], |r| r.get(0))?;
    Ok(v.max(1) as u64)
}

/// Replaces the relay's epoch (`admin new-epoch`, after restoring a backup).
pub fn set_epoch(conn: &Connection, epoch: u64) -> rusqlite::Result<()> {
    let epoch = i64::try_from(epoch).ok().filter(|e| *e > 0).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, 0))?;
    conn.execute(
        "INSERT INTO relay_epoch (id, epoch, changed_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, changed_at = excluded.changed_at",
        params![epoch, now_unix()],
    )?;
    Ok(())
}

/// What the relay knows to check the authorship of a device's push (see
/// [`crate::merge::PushAuth`]), read inside the push transaction.
pub fn push_auth(conn: &Connection, device: &DevicePrincipal) -> Result<PushAuth, ApiError> {
    let mut own_actor = None;
    let mut other_actors = std::collections::HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT a.token_id, a.actor, t.kader_id FROM device_actor a JOIN token t ON t.id = a.token_id
         WHERE t.posyandu_id = ?1",
    )?;
    let mut rows = stmt.query([&device.posyandu_id])?;
    while let Some(r) = rows.next()? {
        let (token_id, actor, kader): (i64, Vec<u8>, Option<String>) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if token_id == device.token_id {
            own_actor = Some(actor);
        } else if let Some(k) = kader {
            other_actors.insert(actor, k);
        }
    }
    let kaders = conn
        .prepare_cached("SELECT id FROM kader WHERE posyandu_id = ?1")?
        .query_map([&device.posyandu_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let koordinators = conn
        .prepare_cached("SELECT kader_id FROM koordinator WHERE posyandu_id = ?1")?
        .query_map([&device.posyandu_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let changed_at: Option<i64> =
        conn.prepare_cached("SELECT changed_at FROM relay_epoch WHERE id = 1")?.query_row([], |r| r.get(0))?;
    Ok(PushAuth {
        posyandu_id: device.posyandu_id.clone(),
        kader_id: device.kader_id.clone(),
        own_actor,
        other_actors,
        kaders,
        koordinators,
        healing: crate::merge::healing(changed_at, now_unix()),
        today: crate::merge::relay_today(),
    })
}

/// Binds the token to the store's actor on first use (see [`Storage::bind_actor`]).
pub fn bind_actor(conn: &Connection, token_id: i64, actor: &[u8]) -> Result<(), ApiError> {
    let bound: Option<Vec<u8>> = conn
        .prepare_cached("SELECT actor FROM device_actor WHERE token_id = ?1")?
        .query_row([token_id], |r| r.get(0))
        .optional()?;
    let bound = match bound {
        Some(b) => b,
        None => {
            conn.prepare_cached(
                "INSERT INTO device_actor (token_id, actor, bound_at) VALUES (?1, ?2, ?3) ON CONFLICT (token_id) DO NOTHING",
            )?
            .execute(params![token_id, actor, now_unix()])?;
            conn.prepare_cached("SELECT actor FROM device_actor WHERE token_id = ?1")?
                .query_row([token_id], |r| r.get(0))?
        }
    };
    if bound != actor {
        return Err(ApiError::DeviceBound);
    }
    Ok(())
}

/// Most refusal rows kept (the oldest go first).
pub const MAX_REFUSALS: i64 = 100_000;

/// Records a refused push for the operator (`admin refusals`).
pub fn record_refusal(conn: &Connection, r: &Refusal) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO refusal (at, token_id, device_id, posyandu_id, doc_id, code, path, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![r.at, r.token_id, r.device_id, r.posyandu_id, r.doc_id, r.code, r.path, r.reason])?;
    conn.prepare_cached("DELETE FROM refusal WHERE id <= last_insert_rowid() - ?1")?.execute([MAX_REFUSALS])?;
    Ok(())
}

/// The newest refusals, optionally of one device.
pub fn list_refusals(conn: &Connection, device: Option<&str>, limit: usize) -> rusqlite::Result<Vec<Refusal>> {
    let mut stmt = conn.prepare(
        "SELECT at, token_id, device_id, posyandu_id, doc_id, code, path, reason FROM refusal
         WHERE ?1 IS NULL OR device_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![device, limit.min(i64::MAX as usize) as i64], |r| {
        Ok(Refusal {
            at: r.get(0)?,
            token_id: r.get(1)?,
            device_id: r.get(2)?,
            posyandu_id: r.get(3)?,
            doc_id: r.get(4)?,
            code: r.get(5)?,
            path: r.get(6)?,
            reason: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// The scope's documents among `ids` (see [`Storage::fetch_docs`]).
pub fn read_docs(conn: &Connection, keys: &AtRest, scope: &str, ids: &[DocId]) -> Result<Vec<SnapshotDoc>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT snapshot FROM doc WHERE id = ?1 AND scope = ?2")?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(snapshot) = stmt.query_row(params![&id[..], scope], |r| r.get::<_, Vec<u8>>(0)).optional()? {
            let snapshot = keys.open_or_keep(scope, id, Blob::Snapshot, snapshot);
            out.push(SnapshotDoc { doc: *id, snapshot });
        }
    }
    Ok(out)
}

/// The scope's last log sequence number (0 before the first change).
pub fn last_seq(tx: &Transaction, scope: &str) -> rusqlite::Result<u64> {
    let v: Option<i64> = tx
        .prepare_cached("SELECT last_seq FROM scope_counter WHERE scope = ?1")?
        .query_row([scope], |r| r.get(0))
        .optional()?;
    Ok(v.unwrap_or(0).max(0) as u64)
}

/// Stores a push (see [`Storage::sync`]); returns `(stored, new changes, new documents)`.
/// A push that would create more documents than `quota` allows is refused whole. The
/// caller commits.
pub fn store_push(
    tx: &Transaction,
    keys: &AtRest,
    device: &DevicePrincipal,
    req: &SyncRequest,
    quota: NewDocQuota,
) -> Result<(u32, u64, u64), ApiError> {
    let scope = device.posyandu_id.as_str();
    let first_seq = last_seq(tx, scope)?;
    let mut next = first_seq + 1;
    let now = now_unix();
    let mut stored: u32 = 0;
    let mut new_docs: u64 = 0;
    let mut auth: Option<PushAuth> = None;
    for dc in &req.push {
        stored = stored.saturating_add(dc.changes.len() as u32);
        if dc.changes.is_empty() {
            continue;
        }
        let existing: Option<(String, Vec<u8>)> = tx
            .prepare_cached("SELECT scope, snapshot FROM doc WHERE id = ?1")?
            .query_row([&dc.doc[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let existing = match existing {
            Some((s, blob)) if s == scope => Some((s, keys.open_vec(scope, &dc.doc, Blob::Snapshot, blob)?)),
            other => other,
        };
        if let Some((doc_scope, _)) = &existing {
            if doc_scope != scope {
                return Err(ApiError::ForbiddenScope(uuid::Uuid::from_bytes(dc.doc).to_string()));
            }
        } else {
            new_docs += 1;
            if new_docs > quota.allowed {
                return Err(quota.exceeded());
            }
        }
        let auth = match &auth {
            Some(a) => a,
            None => auth.insert(push_auth(tx, device)?),
        };
        let merged = apply_push(dc.doc, auth, existing.as_ref().map(|(_, s)| s.as_slice()), &dc.changes)?;
        let Some(snapshot) = merged.snapshot else { continue };
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO change_log (scope, seq, doc_id, hash, data, origin_device, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for c in &merged.new_changes {
                let data = keys.seal(scope, &dc.doc, Blob::Change { hash: &c.hash }, &c.data);
                let n =
                    ins.execute(params![scope, next as i64, &dc.doc[..], &c.hash[..], data, device.device_id, now])?;
                next += n as u64;
            }
        }
        tx.prepare_cached(
            "INSERT INTO doc (id, scope, snapshot, updated_seq, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated_seq = excluded.updated_seq,
                                            updated_at = excluded.updated_at",
        )?
        .execute(params![
            &dc.doc[..],
            scope,
            keys.seal(scope, &dc.doc, Blob::Snapshot, &snapshot),
            (next - 1) as i64,
            now
        ])?;
        if let Some((read, conflicts)) = merged.read {
            write_read_row(tx, keys, scope, &dc.doc, next - 1, &Projection::from_merge(read, conflicts))?;
        }
        if let Some(p) = &merged.posyandu {
            write_posyandu_row(tx, keys, scope, &dc.doc, next - 1, p)?;
        }
    }
    if next != first_seq + 1 {
        tx.prepare_cached(
            "INSERT INTO scope_counter (scope, last_seq) VALUES (?1, ?2)
             ON CONFLICT (scope) DO UPDATE SET last_seq = excluded.last_seq",
        )?
        .execute(params![scope, (next - 1) as i64])?;
    }
    Ok((stored, next - 1 - first_seq, new_docs))
}

/// Replaces the read-model row of a document (and its member index) unless the stored
/// row is of a newer log position. Inside the caller's write transaction.
pub fn write_read_row(
    tx: &Transaction,
    keys: &AtRest,
    scope: &str,
    doc: &DocId,
    updated_seq: u64,
    p: &Projection,
) -> Result<(), ApiError> {
    let body = keys.seal(scope, doc, Blob::ReadRow, &p.body);
    let n = tx
        .prepare_cached(
            "INSERT INTO read_household (doc_id, scope, updated_seq, stamp, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (doc_id) DO UPDATE SET scope = excluded.scope, updated_seq = excluded.updated_seq,
                 stamp = excluded.stamp, body = excluded.body
             WHERE read_household.updated_seq <= excluded.updated_seq",
        )?
        .execute(params![&doc[..], scope, updated_seq as i64, p.stamp, &body])?;
    if n == 0 {
        return Ok(());
    }
    tx.prepare_cached("DELETE FROM read_member WHERE doc_id = ?1")?.execute([&doc[..]])?;
    let mut ins =
        tx.prepare_cached("INSERT OR REPLACE INTO read_member (scope, member_id, doc_id) VALUES (?1, ?2, ?3)")?;
    for m in &p.members {
        ins.execute(params![scope, &m.as_bytes()[..], &doc[..]])?;
    }
    Ok(())
}

/// Marks the document as the Posyandu document and replaces its projection (unless
/// the stored one is of a newer log position). Inside the caller's write transaction.
pub fn write_posyandu_row(
    tx: &Transaction,
    keys: &AtRest,
    scope: &str,
    doc: &DocId,
    updated_seq: u64,
    p: &posyandu_records::posyandu::Posyandu,
) -> Result<(), ApiError> {
    tx.prepare_cached("UPDATE doc SET kind = 'posyandu' WHERE id = ?1")?.execute([&doc[..]])?;
    let json = serde_json::to_vec(p).map_err(|e| ApiError::internal(e.to_string()))?;
    let body = keys.seal(scope, doc, Blob::ReadRow, &json);
    tx.prepare_cached(
        "INSERT INTO read_posyandu (scope, doc_id, updated_seq, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (scope) DO UPDATE SET doc_id = excluded.doc_id, updated_seq = excluded.updated_seq,
             body = excluded.body
         WHERE read_posyandu.updated_seq <= excluded.updated_seq",
    )?
    .execute(params![scope, &doc[..], updated_seq as i64, &body])?;
    Ok(())
}

/// The projection of a Posyandu's document (see [`Storage::read_posyandu`]).
pub fn read_posyandu_row(
    conn: &Connection,
    keys: &AtRest,
    scope: &str,
) -> Result<Option<posyandu_records::posyandu::Posyandu>, ApiError> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .prepare_cached("SELECT doc_id, body FROM read_posyandu WHERE scope = ?1")?
        .query_row([scope], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((doc, body)) = row else { return Ok(None) };
    let doc = doc_id(doc)?;
    let body = keys.open_vec(scope, &doc, Blob::ReadRow, body)?;
    serde_json::from_slice(&body).map(Some).map_err(|e| ApiError::internal(format!("read_posyandu row: {e}")))
}

/// The columns of a read-model row (see `ReadRow::from_columns`).
type Columns = (Vec<u8>, i64, Option<String>, Option<Vec<u8>>, Option<Vec<u8>>);

/// See [`Storage::read_after`].
pub fn read_rows_after(
    conn: &Connection,
    keys: &AtRest,
    scope: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<ReadRow>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.updated_seq, r.stamp, r.body,
                CASE WHEN r.stamp IS NULL OR substr(r.stamp, 1, length(?4)) <> ?4 THEN d.snapshot END
         FROM doc d LEFT JOIN read_household r ON r.doc_id = d.id
         WHERE d.scope = ?1 AND d.kind = 'household' AND d.updated_seq > ?2 ORDER BY d.updated_seq, d.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![
            scope,
            after_seq.min(i64::MAX as u64) as i64,
            limit.min(i64::MAX as usize) as i64,
            read_model::format_prefix()
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, seq, stamp, body, snapshot): Columns = row?;
        out.push(ReadRow::from_columns(keys, scope, &id, seq, stamp, body, snapshot)?);
    }
    Ok(out)
}

/// See [`Storage::read_member`].
pub fn read_member_row(
    conn: &Connection,
    keys: &AtRest,
    scope: &str,
    member: uuid::Uuid,
) -> Result<Option<ReadRow>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.updated_seq, r.stamp, r.body,
                CASE WHEN r.stamp IS NULL OR substr(r.stamp, 1, length(?3)) <> ?3 THEN d.snapshot END
         FROM read_member m JOIN doc d ON d.id = m.doc_id LEFT JOIN read_household r ON r.doc_id = d.id
         WHERE m.scope = ?1 AND m.member_id = ?2",
    )?;
    let row: Option<Columns> = stmt
        .query_row(params![scope, &member.as_bytes()[..], read_model::format_prefix()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    row.map(|(id, seq, stamp, body, snapshot)| ReadRow::from_columns(keys, scope, &id, seq, stamp, body, snapshot))
        .transpose()
}

/// See [`Storage::rebuild_read_model`].
/// See [`Storage::invalidate_read_model`]. Inside the caller's write transaction.
pub fn invalidate_read_rows(tx: &Transaction, scope: Option<&str>) -> rusqlite::Result<u64> {
    tx.execute(
        "DELETE FROM read_member WHERE (?1 IS NULL OR scope = ?1) AND doc_id NOT IN (SELECT id FROM doc)",
        [scope],
    )?;
    tx.execute(
        "DELETE FROM read_household WHERE (?1 IS NULL OR scope = ?1) AND doc_id NOT IN (SELECT id FROM doc)",
        [scope],
    )?;
    tx.execute(
        "DELETE FROM read_model_skip WHERE ?1 IS NULL OR doc_id IN (SELECT id FROM doc WHERE scope = ?1)",
        [scope],
    )?;
    let n = tx.execute(
        "UPDATE read_household SET stamp = ?2 WHERE ?1 IS NULL OR scope = ?1",
        params![scope, read_model::INVALIDATED],
    )?;
    Ok(n as u64)
}

pub fn rebuild_read_rows(conn: &mut Connection, keys: &AtRest, batch: usize) -> Result<RebuildStep, ApiError> {
    let stamp = read_model::stamp();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stale_where = "FROM doc d LEFT JOIN read_household r ON r.doc_id = d.id
         LEFT JOIN read_model_skip k ON k.doc_id = d.id AND k.updated_seq = d.updated_seq AND k.stamp = ?1
         WHERE (r.doc_id IS NULL OR r.stamp <> ?1) AND k.doc_id IS NULL AND d.kind = 'household'";
    let todo: Vec<(Vec<u8>, String, i64, Vec<u8>)> = tx
        .prepare(&format!("SELECT d.id, d.scope, d.updated_seq, d.snapshot {stale_where} LIMIT ?2"))?
        .query_map(params![stamp, batch as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut step = RebuildStep::default();
    for (id, scope, seq, snapshot) in todo {
        let doc = doc_id(id)?;
        let projection = keys
            .open_vec(&scope, &doc, Blob::Snapshot, snapshot)
            .map_err(|e| e.to_string())
            .and_then(|s| Projection::from_snapshot(&s));
        match projection {
            Ok(p) => {
                write_read_row(&tx, keys, &scope, &doc, seq.max(0) as u64, &p)?;
                step.rebuilt += 1;
            }
            Err(e) => {
                tracing::warn!(scope, doc = %uuid::Uuid::from_bytes(doc), updated_seq = seq, error = %e, "read model: document unreadable, no row");
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO read_model_skip (doc_id, updated_seq, stamp) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![&doc[..], seq, stamp])?;
                step.unreadable += 1;
            }
        }
    }
    step.remaining =
        tx.prepare(&format!("SELECT count(*) {stale_where}"))?.query_row([stamp], |r| r.get::<_, i64>(0))?.max(0)
            as u64;
    tx.commit()?;
    Ok(step)
}

fn doc_id(bytes: Vec<u8>) -> Result<DocId, ApiError> {
    DocId::try_from(bytes.as_slice()).map_err(|_| ApiError::internal("stored document id is not 16 bytes"))
}

/// The pull page for a device (see [`Storage::sync`]): `(pull, cursor, more)`.
pub fn read_pull(
    tx: &Transaction,
    keys: &AtRest,
    scope: &str,
    device_id: &str,
    cursor: u64,
    page_bytes: u32,
) -> Result<(Vec<posyandu_records::wire::DocChanges>, u64, bool), ApiError> {
    let last = last_seq(tx, scope)?;
    let mut page = PageBuilder::new(page_bytes);
    if cursor < last {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, doc_id, data, hash FROM change_log
             WHERE scope = ?1 AND seq > ?2 AND origin_device <> ?3 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![scope, cursor.min(i64::MAX as u64) as i64, device_id])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let doc = doc_id(r.get(1)?)?;
            let hash: Vec<u8> = r.get(3)?;
            let data = keys.open_or_keep(scope, &doc, Blob::Change { hash: &hash }, r.get(2)?);
            if !page.offer(seq as u64, doc, data) {
                break;
            }
        }
    }
    Ok(page.finish(last))
}

/// See [`Storage::docs_after`].
pub fn read_docs_after(
    conn: &Connection,
    keys: &AtRest,
    scope: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<StoredDoc>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, updated_seq, snapshot FROM doc WHERE scope = ?1 AND kind = 'household' AND updated_seq > ?2
         ORDER BY updated_seq, id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![scope, after_seq as i64, limit.min(i64::MAX as usize) as i64], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, seq, snapshot) = row?;
        let doc = doc_id(id)?;
        let snapshot = keys.open_or_keep(scope, &doc, Blob::Snapshot, snapshot);
        out.push(StoredDoc { doc, scope: scope.to_string(), updated_seq: seq.max(0) as u64, snapshot });
    }
    Ok(out)
}

/// A page of compacted documents (see [`Storage::snapshot`]).
pub fn read_snapshot_page(
    tx: &Transaction,
    keys: &AtRest,
    scope: &str,
    req: &SnapshotRequest,
) -> Result<SnapshotPage, ApiError> {
    let cursor = last_seq(tx, scope)?;
    let epoch = read_epoch(tx)?;
    let (total_docs, total_bytes): (i64, i64) = tx
        // Plaintext sizes (what the page carries): a sealed blob is OVERHEAD longer.
        .prepare_cached(SNAPSHOT_TOTALS_SQL)?
        .query_row([scope], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let limit = req.page_bytes.min(MAX_PAGE_BYTES) as usize;
    let after: Vec<u8> = req.after.map(|a| a.to_vec()).unwrap_or_default();
    let mut stmt = tx.prepare_cached("SELECT id, snapshot FROM doc WHERE scope = ?1 AND id > ?2 ORDER BY id")?;
    let mut rows = stmt.query(params![scope, after])?;
    let mut docs: Vec<SnapshotDoc> = Vec::new();
    let mut used = 0usize;
    let mut next = None;
    while let Some(r) = rows.next()? {
        let doc = doc_id(r.get(0)?)?;
        let snapshot = keys.open_or_keep(scope, &doc, Blob::Snapshot, r.get(1)?);
        if !docs.is_empty() && used + snapshot.len() > limit {
            next = docs.last().map(|d| d.doc);
            break;
        }
        used += snapshot.len();
        docs.push(SnapshotDoc { doc, snapshot });
    }
    Ok(SnapshotPage {
        docs,
        next,
        cursor,
        total_docs: total_docs.clamp(0, u32::MAX as i64) as u32,
        total_bytes: total_bytes.max(0) as u64,
        epoch,
    })
}
