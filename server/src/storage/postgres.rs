//! PostgreSQL backend: several relay processes share one database and behave exactly
//! like one SQLite relay (same contract, see [`super::Storage`]).
//!
//! # Why the per-Posyandu log stays gap-free with several writers
//!
//! Every push that appends to scope `S` first takes the row lock of `S`'s
//! `scope_counter` row (`SELECT ... FOR UPDATE`) and keeps it until commit. Hence the
//! pushes of one scope are serialised: a second push reads `last_seq` only after the
//! first one committed (or rolled back; READ COMMITTED re-reads the newest committed
//! row version after waiting for the lock), so it numbers its changes after the
//! first's and it commits after it. PostgreSQL marks a transaction committed before it
//! releases its locks, so any snapshot that sees the second push also sees the first:
//! the committed `seq`s of a scope are always a prefix `1..=last_seq`, and a reader's
//! `seq > cursor` never misses a lower `seq` that commits later. Readers also read
//! `last_seq` and the log (or the documents) in one REPEATABLE READ snapshot, so the
//! cursor they return covers exactly what they read.
//!
//! Lock order is always counter row, then document rows, so two pushes of the same
//! scope cannot deadlock; pushes of different scopes touch disjoint rows (a foreign
//! document is only read, then refused). Serialization failures, deadlocks and the
//! race of two scopes creating the same new document id (the document upsert then
//! touches fewer rows than pushed documents) are retried a bounded number of times.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use posyandu_records::wire::{
    DocChanges, DocId, DocsResponse, SnapshotDoc, SnapshotPage, SnapshotRequest, SyncRequest, SyncResponse,
    MAX_PAGE_BYTES,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls};

use super::{BoxFuture, NewDocQuota, ReadRow, Refusal, Storage, StoredDoc, SyncOutcome};
use crate::admin::{self, AdminError, Listing, Registry, Table};
use crate::at_rest::{AtRest, Blob};
use crate::auth::{DevicePrincipal, Principal, TokenLookup};
use crate::error::ApiError;
use crate::merge::{apply_push, Merged, PageBuilder, PushAuth};
use crate::read_model::{self, Projection, RebuildStep};
use crate::storage::sqlite::now_unix;

/// Numbered schema migrations (`server/migrations/postgres/NNNN_*.sql`); the
/// `schema_version` table records the ones applied. Append only.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_registry.sql"),
    include_str!("../../migrations/postgres/0002_log.sql"),
    include_str!("../../migrations/postgres/0003_doc_scope_seq.sql"),
    include_str!("../../migrations/postgres/0004_relay_epoch.sql"),
    include_str!("../../migrations/postgres/0005_push_checks.sql"),
    include_str!("../../migrations/postgres/0006_read_model.sql"),
    include_str!("../../migrations/postgres/0007_satusehat.sql"),
    include_str!("../../migrations/postgres/0008_reserved.sql"),
    include_str!("../../migrations/postgres/0009_bidan.sql"),
    include_str!("../../migrations/postgres/0010_posyandu.sql"),
    include_str!("../../migrations/postgres/0011_desa.sql"),
];

/// How often a transaction is retried after a serialization failure or deadlock.
const MAX_ATTEMPTS: u32 = 8;

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        if connection_lost(&e) {
            tracing::warn!(error = %pg_message(&e), "database connection lost");
            return ApiError::Unavailable;
        }
        ApiError::Internal(pg_message(&e))
    }
}

/// The database went away under the request (closed socket, connection exception,
/// backend terminated by an administrator or a server shutdown, too many connections):
/// answered 503 with `Retry-After`, and the phone retries; nothing was committed.
pub fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    // An I/O error on the socket (no database error attached).
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool");
        ApiError::Unavailable
    }
}

/// The driver's message with the server's (its `Display` says only "db error").
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

/// An error of a push attempt: either retry the transaction or give up with the error.
enum Attempt {
    Retry(tokio_postgres::Error),
    /// A race detected by the push itself (not a database error): retry as well.
    Conflict(&'static str),
    Fail(ApiError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(e: tokio_postgres::Error) -> Self {
        if retryable(&e) {
            Attempt::Retry(e)
        } else {
            Attempt::Fail(e.into())
        }
    }
}

impl From<ApiError> for Attempt {
    fn from(e: ApiError) -> Self {
        Attempt::Fail(e)
    }
}

/// Parses a `postgres://` URL or a `key=value` connection string.
pub fn parse_config(url: &str) -> Result<tokio_postgres::Config, tokio_postgres::Error> {
    tokio_postgres::Config::from_str(url)
}

/// Applies pending migrations under a session advisory lock (two relays starting at
/// once: the second waits, then finds nothing to do). Returns the resulting version.
/// The lock key includes the current schema, so relays of different schemas (tests)
/// do not wait for each other.
pub async fn migrate(client: &tokio_postgres::Client) -> Result<usize, tokio_postgres::Error> {
    client.batch_execute("SELECT pg_advisory_lock(72017, hashtext(current_schema()))").await?;
    let result = migrate_locked(client).await;
    let unlock = client.batch_execute("SELECT pg_advisory_unlock(72017, hashtext(current_schema()))").await;
    let v = result?;
    unlock?;
    Ok(v)
}

async fn migrate_locked(client: &tokio_postgres::Client) -> Result<usize, tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
    let current: i32 = client.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await?.get(0);
    let current = current.max(0) as usize;
    if current > MIGRATIONS.len() {
        // Not a driver error; report through a query that fails with our message.
        let msg = format!(
            "database schema version {current} is newer than this relay ({}); upgrade the relay",
            MIGRATIONS.len()
        );
        client.batch_execute(&format!("DO $$ BEGIN RAISE EXCEPTION '{}'; END $$", msg.replace('\'', "''"))).await?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        // Each migration and its version row in one transaction.
        let batch = format!(
            "BEGIN; {sql}\n; INSERT INTO schema_version (version, applied_at) VALUES ({}, {}); COMMIT;",
            i + 1,
            now_unix()
        );
        if let Err(e) = client.batch_execute(&batch).await {
            // A failed statement left the transaction aborted: end it.
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e);
        }
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(current.max(MIGRATIONS.len()))
}

#[derive(Clone)]
pub struct PgStorage {
    pool: Pool,
    config: tokio_postgres::Config,
    /// Seals change-log data and snapshots at rest (see [`crate::at_rest`]).
    keys: std::sync::Arc<AtRest>,
}

impl PgStorage {
    /// Connects a pool of `pool_size` connections to `url` (a `postgres://` URL or a
    /// `key=value` string; a schema can be chosen with `options=-csearch_path=...`)
    /// and applies pending migrations. Seals with a key of this process only
    /// ([`AtRest::process_ephemeral`]): for tests; the relay uses
    /// [`PgStorage::connect_with`] and its configured key file.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, ApiError> {
        Self::connect_with(url, pool_size, AtRest::process_ephemeral()).await
    }

    /// [`PgStorage::connect`] sealing with `keys`.
    pub async fn connect_with(url: &str, pool_size: usize, keys: std::sync::Arc<AtRest>) -> Result<Self, ApiError> {
        let config = parse_config(url).map_err(|e| ApiError::internal(format!("invalid database URL: {e}")))?;
        let mgr =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| ApiError::internal(format!("database pool: {e}")))?;
        let client = pool.get().await?;
        migrate(&client).await.map_err(|e| ApiError::internal(format!("migration failed: {}", pg_message(&e))))?;
        drop(client);
        Ok(PgStorage { pool, config, keys })
    }

    /// The at-rest keys (admin tools, tests).
    pub fn keys(&self) -> &std::sync::Arc<AtRest> {
        &self.keys
    }

    /// The connection pool (tests, tools).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    async fn sync_inner(
        &self,
        device: DevicePrincipal,
        req: SyncRequest,
        quota: NewDocQuota,
    ) -> Result<SyncOutcome, ApiError> {
        let mut client = self.pool.get().await?;
        let mut stored: u32 = 0;
        let mut new_changes = 0;
        let mut new_docs = 0;
        for dc in &req.push {
            stored = stored.saturating_add(dc.changes.len() as u32);
        }
        // A pull-only sync takes no lock at all.
        if req.push.iter().any(|d| !d.changes.is_empty()) {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match store_push(&mut client, &self.keys, &device, &req.push, quota).await {
                    Ok((n, d)) => {
                        new_changes = n;
                        new_docs = d;
                        break;
                    }
                    Err(Attempt::Retry(e)) if attempt < MAX_ATTEMPTS => {
                        tracing::debug!(error = %e, attempt, "push conflict; retrying");
                        tokio::time::sleep(Duration::from_millis(5 * attempt as u64 + rand::random::<u64>() % 10))
                            .await;
                    }
                    Err(Attempt::Conflict(why)) if attempt < MAX_ATTEMPTS => {
                        tracing::debug!(why, attempt, "push conflict; retrying");
                        tokio::time::sleep(Duration::from_millis(5 * attempt as u64 + rand::random::<u64>() % 10))
                            .await;
                    }
                    Err(Attempt::Retry(e)) => return Err(e.into()),
                    Err(Attempt::Conflict(why)) => return Err(ApiError::internal(why)),
                    Err(Attempt::Fail(e)) => return Err(e),
                }
            }
        }
        let (pull, cursor, more, epoch) =
            read_pull(&mut client, &self.keys, &device.posyandu_id, &device.device_id, req.cursor, req.page_bytes)
                .await?;
        Ok(SyncOutcome { response: SyncResponse { stored, cursor, pull, more, epoch }, new_changes, new_docs })
    }
}

/// One push transaction (see the module docs); returns how many changes and documents
/// were new. A push that would create more documents than `quota` allows is refused.
///
/// A constant number of statements per push, whatever the number of documents: lock
/// the counter and all touched documents (pipelined), merge every document in one
/// blocking task, look up already-logged hashes once, then append the whole log batch,
/// upsert every document and advance the counter (pipelined), commit.
async fn store_push(
    client: &mut deadpool_postgres::Object,
    keys: &AtRest,
    device: &DevicePrincipal,
    push: &[DocChanges],
    quota: NewDocQuota,
) -> Result<(u64, u64), Attempt> {
    let scope = device.posyandu_id.as_str();
    let tx = client.transaction().await?;
    // Statements are prepared once per connection (cached), so the queries below can be
    // pipelined without waiting for a Parse round trip in between.
    // Creates the counter row if needed and locks it (`DO UPDATE` takes the row lock and
    // returns the newest committed value after waiting for a concurrent push).
    let lock = tx
        .prepare_cached(
            "INSERT INTO scope_counter (scope, last_seq) VALUES ($1, 0)
             ON CONFLICT (scope) DO UPDATE SET last_seq = scope_counter.last_seq RETURNING last_seq",
        )
        .await?;
    // Documents locked in id order: two pushes touching the same documents cannot deadlock.
    let select_docs =
        tx.prepare_cached("SELECT id, scope, snapshot FROM doc WHERE id = ANY($1) ORDER BY id FOR UPDATE").await?;
    let known = tx.prepare_cached("SELECT hash FROM change_log WHERE scope = $1 AND hash = ANY($2)").await?;
    let insert_log = tx
        .prepare_cached(
            "INSERT INTO change_log (scope, seq, doc_id, hash, data, origin_device, received_at)
             SELECT $1, t.seq, t.doc_id, t.hash, t.data, $2, $3
             FROM unnest($4::bigint[], $5::bytea[], $6::bytea[], $7::bytea[]) AS t(seq, doc_id, hash, data)",
        )
        .await?;
    // `WHERE doc.scope = excluded.scope`: a document another scope created concurrently
    // (after our lock found no row) is not overwritten; the row count tells, and the
    // retry refuses it as `forbidden_scope`.
    let upsert_docs = tx
        .prepare_cached(
            "INSERT INTO doc (id, scope, snapshot, updated_seq, updated_at)
             SELECT t.id, $1, t.snapshot, t.seq, $2 FROM unnest($3::bytea[], $4::bytea[], $5::bigint[]) AS t(id, snapshot, seq)
             ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, updated_seq = excluded.updated_seq,
                                            updated_at = excluded.updated_at
             WHERE doc.scope = excluded.scope",
        )
        .await?;
    let update_counter = tx.prepare_cached("UPDATE scope_counter SET last_seq = $2 WHERE scope = $1").await?;
    let select_actors = tx
        .prepare_cached(
            "SELECT a.token_id, a.actor, t.kader_id FROM device_actor a JOIN token t ON t.id = a.token_id
             WHERE t.posyandu_id = $1",
        )
        .await?;
    // Each kader with whether she is a koordinator of this Posyandu (SPM requests).
    let select_kaders = tx
        .prepare_cached(
            "SELECT k.id, EXISTS (SELECT 1 FROM koordinator c WHERE c.posyandu_id = k.posyandu_id AND c.kader_id = k.id)
             FROM kader k WHERE k.posyandu_id = $1",
        )
        .await?;
    let select_epoch_changed = tx.prepare_cached("SELECT changed_at FROM relay_epoch WHERE id = 1").await?;

    let mut ids: Vec<&[u8]> = push.iter().filter(|d| !d.changes.is_empty()).map(|d| &d.doc[..]).collect();
    ids.sort_unstable();
    ids.dedup();
    let (lock_params, select_params): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 1]) = ([&scope], [&ids]);
    let (counter, rows, actors, kaders, changed) = tokio::try_join!(biased;
        tx.query_one(&lock, &lock_params),
        tx.query(&select_docs, &select_params),
        tx.query(&select_actors, &lock_params),
        tx.query(&select_kaders, &lock_params),
        tx.query_opt(&select_epoch_changed, &[]),
    )?;
    let mut auth = PushAuth {
        posyandu_id: device.posyandu_id.clone(),
        kader_id: device.kader_id.clone(),
        own_actor: None,
        other_actors: std::collections::HashMap::new(),
        kaders: kaders.iter().map(|r| r.get(0)).collect(),
        koordinators: kaders.iter().filter(|r| r.get::<_, bool>(1)).map(|r| r.get(0)).collect(),
        healing: crate::merge::healing(changed.and_then(|r| r.get::<_, Option<i64>>(0)), now_unix()),
        today: crate::merge::relay_today(),
    };
    for r in actors {
        let (token_id, actor, kader): (i64, Vec<u8>, Option<String>) = (r.get(0), r.get(1), r.get(2));
        if token_id == device.token_id {
            auth.own_actor = Some(actor);
        } else if let Some(k) = kader {
            auth.other_actors.insert(actor, k);
        }
    }
    let first_seq: i64 = counter.get(0);
    let mut existing: std::collections::HashMap<DocId, (String, Vec<u8>)> = std::collections::HashMap::new();
    for r in rows {
        let (doc, doc_scope, blob): (DocId, String, Vec<u8>) = (doc_id(r.get(0))?, r.get(1), r.get(2));
        // Another scope's document is only compared (then refused), never opened.
        let blob = if doc_scope == scope {
            keys.open_vec(scope, &doc, Blob::Snapshot, blob).map_err(ApiError::from)?
        } else {
            blob
        };
        existing.insert(doc, (doc_scope, blob));
    }

    // Merging is CPU work (automerge load + save): keep it off the async workers, one
    // task for the whole push. Documents are processed in push order (a document pushed
    // twice merges onto its first merge), exactly like one document at a time.
    let (push_owned, scope_owned) = (push.to_vec(), scope.to_string());
    type MergedDocs = Vec<(DocId, Merged, Option<Projection>)>;
    let (merged, new_docs) = tokio::task::spawn_blocking(move || -> Result<(MergedDocs, u64), ApiError> {
        let mut out = Vec::new();
        let mut new_docs: u64 = 0;
        for dc in push_owned {
            if dc.changes.is_empty() {
                continue;
            }
            let current = existing.get(&dc.doc);
            if let Some((doc_scope, _)) = current {
                if *doc_scope != scope_owned {
                    return Err(ApiError::ForbiddenScope(uuid::Uuid::from_bytes(dc.doc).to_string()));
                }
            } else {
                new_docs += 1;
                if new_docs > quota.allowed {
                    return Err(quota.exceeded());
                }
            }
            let mut m = apply_push(dc.doc, &auth, current.map(|(_, s)| s.as_slice()), &dc.changes)?;
            let Some(snapshot) = &m.snapshot else { continue };
            existing.insert(dc.doc, (scope_owned.clone(), snapshot.clone()));
            let projection = m.read.take().map(|(read, conflicts)| Projection::from_merge(read, conflicts));
            out.push((dc.doc, m, projection));
        }
        Ok((out, new_docs))
    })
    .await
    .map_err(|e| ApiError::internal(format!("merge task failed: {e}")))??;
    if merged.is_empty() {
        // Nothing new (a replayed push): nothing to write.
        tx.commit().await?;
        return Ok((0, 0));
    }

    // Same rule as SQLite's INSERT OR IGNORE: a hash already logged in the scope (or
    // earlier in this push) is not appended again and takes no seq.
    let hashes: Vec<&[u8]> = merged.iter().flat_map(|(_, m, _)| m.new_changes.iter().map(|c| &c.hash[..])).collect();
    let already: std::collections::HashSet<Vec<u8>> =
        tx.query(&known, &[&scope, &hashes]).await?.into_iter().map(|r| r.get::<_, Vec<u8>>(0)).collect();
    let mut next = first_seq + 1;
    let (mut seqs, mut log_docs, mut hs, mut datas) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    // Final state per document (last merge wins), upserted in id order.
    let mut docs: std::collections::BTreeMap<DocId, (&[u8], i64)> = std::collections::BTreeMap::new();
    let mut views: std::collections::BTreeMap<DocId, &Projection> = std::collections::BTreeMap::new();
    for (doc, m, projection) in &merged {
        for c in &m.new_changes {
            if already.contains(&c.hash[..]) || !seen.insert(c.hash) {
                continue;
            }
            seqs.push(next);
            log_docs.push(&doc[..]);
            hs.push(&c.hash[..]);
            datas.push(keys.seal(scope, doc, Blob::Change { hash: &c.hash }, &c.data));
            next += 1;
        }
        let snapshot = m.snapshot.as_deref().unwrap_or_default();
        docs.insert(*doc, (snapshot, next - 1));
        match projection {
            Some(p) => views.insert(*doc, p),
            None => views.remove(doc),
        };
    }
    let doc_ids: Vec<&[u8]> = docs.keys().map(|d| &d[..]).collect();
    let snapshots: Vec<Vec<u8>> = docs.iter().map(|(d, (s, _))| keys.seal(scope, d, Blob::Snapshot, s)).collect();
    let updated: Vec<i64> = docs.values().map(|(_, q)| *q).collect();
    let now = now_unix();
    let log = async {
        if seqs.is_empty() {
            return Ok(0);
        }
        tx.execute(&insert_log, &[&scope, &device.device_id, &now, &seqs, &log_docs, &hs, &datas]).await
    };
    let counter = async {
        if next == first_seq + 1 {
            return Ok(0);
        }
        tx.execute(&update_counter, &[&scope, &(next - 1)]).await
    };
    let upsert_params: [&(dyn ToSql + Sync); 5] = [&scope, &now, &doc_ids, &snapshots, &updated];
    let (_, upserted, _) = tokio::try_join!(biased; log, tx.execute(&upsert_docs, &upsert_params), counter)?;
    if upserted != doc_ids.len() as u64 {
        return Err(Attempt::Conflict("a pushed document was created by another Posyandu concurrently"));
    }
    let rows: Vec<(DocId, u64, &Projection)> = views.iter().map(|(d, p)| (*d, docs[d].1.max(0) as u64, *p)).collect();
    write_read_rows(&tx, keys, scope, &rows).await?;
    // The Posyandu document (issue 12): its kind and projection, final state per document.
    let mut posyandu_rows: std::collections::BTreeMap<DocId, &posyandu_records::posyandu::Posyandu> =
        std::collections::BTreeMap::new();
    for (doc, m, _) in &merged {
        if let Some(p) = &m.posyandu {
            posyandu_rows.insert(*doc, p);
        }
    }
    for (doc, p) in posyandu_rows {
        write_posyandu_row(&tx, keys, scope, &doc, docs[&doc].1.max(0) as u64, p).await?;
    }
    tx.commit().await?;
    Ok(((next - 1 - first_seq) as u64, new_docs))
}

/// Marks the document as the Posyandu document and replaces its projection unless the
/// stored one is of a newer log position (see SQLite's `write_posyandu_row`).
async fn write_posyandu_row(
    tx: &deadpool_postgres::Transaction<'_>,
    keys: &AtRest,
    scope: &str,
    doc: &DocId,
    updated_seq: u64,
    p: &posyandu_records::posyandu::Posyandu,
) -> Result<(), Attempt> {
    let kind = tx.prepare_cached("UPDATE doc SET kind = 'posyandu' WHERE id = $1").await?;
    tx.execute(&kind, &[&&doc[..]]).await?;
    let json = serde_json::to_vec(p).map_err(|e| ApiError::internal(e.to_string()))?;
    let body = keys.seal(scope, doc, Blob::ReadRow, &json);
    let upsert = tx
        .prepare_cached(
            "INSERT INTO read_posyandu (scope, doc_id, updated_seq, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (scope) DO UPDATE SET doc_id = excluded.doc_id, updated_seq = excluded.updated_seq,
                 body = excluded.body
             WHERE read_posyandu.updated_seq <= excluded.updated_seq",
        )
        .await?;
    tx.execute(&upsert, &[&scope, &&doc[..], &(updated_seq.min(i64::MAX as u64) as i64), &body]).await?;
    Ok(())
}

/// Replaces the read-model rows of documents (and their member index) unless a stored
/// row is of a newer log position. Inside the caller's transaction, which holds the
/// documents' row locks.
async fn write_read_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    keys: &AtRest,
    scope: &str,
    rows: &[(DocId, u64, &Projection)],
) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO read_household (doc_id, scope, updated_seq, stamp, body)
             SELECT t.id, $1, t.seq, t.stamp, t.body
             FROM unnest($2::bytea[], $3::bigint[], $4::text[], $5::bytea[]) AS t(id, seq, stamp, body)
             ON CONFLICT (doc_id) DO UPDATE SET scope = excluded.scope, updated_seq = excluded.updated_seq,
                 stamp = excluded.stamp, body = excluded.body
             WHERE read_household.updated_seq <= excluded.updated_seq
             RETURNING doc_id",
        )
        .await?;
    let ids: Vec<&[u8]> = rows.iter().map(|(d, _, _)| &d[..]).collect();
    let seqs: Vec<i64> = rows.iter().map(|(_, q, _)| (*q).min(i64::MAX as u64) as i64).collect();
    let stamps: Vec<&str> = rows.iter().map(|(_, _, p)| p.stamp).collect();
    let bodies: Vec<Vec<u8>> = rows.iter().map(|(d, _, p)| keys.seal(scope, d, Blob::ReadRow, &p.body)).collect();
    let written: std::collections::HashSet<Vec<u8>> = tx
        .query(&upsert, &[&scope, &ids, &seqs, &stamps, &bodies])
        .await?
        .into_iter()
        .map(|r| r.get::<_, Vec<u8>>(0))
        .collect();
    let written_ids: Vec<&[u8]> = ids.iter().copied().filter(|d| written.contains(*d)).collect();
    if written_ids.is_empty() {
        return Ok(());
    }
    let delete = tx.prepare_cached("DELETE FROM read_member WHERE doc_id = ANY($1)").await?;
    tx.execute(&delete, &[&written_ids]).await?;
    let (mut members, mut docs): (Vec<Vec<u8>>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    for (d, _, p) in rows.iter().filter(|(d, _, _)| written.contains(&d[..])) {
        for m in &p.members {
            members.push(m.as_bytes().to_vec());
            docs.push(&d[..]);
        }
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO read_member (scope, member_id, doc_id)
             SELECT $1, t.m, t.d FROM unnest($2::bytea[], $3::bytea[]) AS t(m, d)
             ON CONFLICT (scope, member_id) DO UPDATE SET doc_id = excluded.doc_id",
        )
        .await?;
    tx.execute(&insert, &[&scope, &members, &docs]).await?;
    Ok(())
}

fn doc_id(bytes: &[u8]) -> Result<DocId, ApiError> {
    DocId::try_from(bytes).map_err(|_| ApiError::internal("stored document id is not 16 bytes"))
}

/// A read-only REPEATABLE READ transaction: everything it reads is one snapshot.
async fn read_tx(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, tokio_postgres::Error> {
    client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await
}

/// The relay's epoch (see [`SyncResponse::epoch`]).
async fn read_epoch(client: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    let stmt = client.prepare_cached("SELECT epoch FROM relay_epoch WHERE id = 1").await?;
    Ok(client.query_one(&stmt, &[]).await?.get::<_, i64>(0).max(1) as u64)
}

async fn last_seq(client: &impl GenericClient, scope: &str) -> Result<u64, tokio_postgres::Error> {
    let stmt = client.prepare_cached("SELECT last_seq FROM scope_counter WHERE scope = $1").await?;
    Ok(client.query_opt(&stmt, &[&scope]).await?.map_or(0, |r| r.get::<_, i64>(0)).max(0) as u64)
}

/// The pull page and the epoch, read in one REPEATABLE READ snapshot (counter and log
/// agree): `(pull, cursor, more, epoch)`.
async fn read_pull(
    client: &mut deadpool_postgres::Object,
    keys: &AtRest,
    scope: &str,
    device_id: &str,
    cursor: u64,
    page_bytes: u32,
) -> Result<(Vec<DocChanges>, u64, bool, u64), ApiError> {
    let tx = read_tx(client).await?;
    let epoch = read_epoch(&tx).await?;
    let last = last_seq(&tx, scope).await?;
    let mut page = PageBuilder::new(page_bytes);
    if cursor < last {
        // Bounded by the page budget: at most MAX_PAGE_BYTES of data, read in chunks.
        let stmt = tx
            .prepare_cached(
                "SELECT seq, doc_id, data, hash FROM change_log
                 WHERE scope = $1 AND seq > $2 AND origin_device <> $3 ORDER BY seq LIMIT $4",
            )
            .await?;
        let mut from = cursor.min(i64::MAX as u64) as i64;
        'outer: loop {
            let rows = tx.query(&stmt, &[&scope, &from, &device_id, &500i64]).await?;
            let n = rows.len();
            for r in rows {
                let seq: i64 = r.get(0);
                from = seq;
                let doc = doc_id(r.get(1))?;
                let data = keys.open_or_keep(scope, &doc, Blob::Change { hash: r.get(3) }, r.get(2));
                if !page.offer(seq as u64, doc, data) {
                    break 'outer;
                }
            }
            if n < 500 {
                break;
            }
        }
    }
    tx.commit().await?;
    let (pull, cursor, more) = page.finish(last);
    Ok((pull, cursor, more, epoch))
}

impl Storage for PgStorage {
    fn kader_enrolled(&self, scope: String, at: i64) -> BoxFuture<'_, Result<u32, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let sql = super::sqlite::KADER_ENROLLED_SQL.replace("?1", "$1").replace("?2", "$2");
            let stmt = client.prepare_cached(&sql).await?;
            let n: i64 = client.query_one(&stmt, &[&scope, &at]).await?.get(0);
            Ok(n.max(0) as u32)
        })
    }

    fn token_valid(&self, token_id: i64) -> BoxFuture<'_, Result<bool, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached("SELECT revoked_at FROM token WHERE id = $1").await?;
            let row = client.query_opt(&stmt, &[&token_id]).await?;
            Ok(row.is_some_and(|r| r.get::<_, Option<i64>>(0).is_none()))
        })
    }

    fn lookup_token(&self, hash: [u8; 32]) -> BoxFuture<'_, Result<Option<TokenLookup>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT id, kind, device_id, kader_id, posyandu_id, puskesmas_id, revoked_at FROM token WHERE hash = $1",
                )
                .await?;
            let Some(row) = client.query_opt(&stmt, &[&&hash[..]]).await? else {
                if let Some(found) = crate::bidan::registry::lookup_pg(&client, &hash).await? {
                    return Ok(Some(found));
                }
                return Ok(crate::desa::registry::lookup_pg(&client, &hash).await?);
            };
            let token_id: i64 = row.get(0);
            let kind: String = row.get(1);
            let revoked_at: Option<i64> = row.get(6);
            let principal = match (kind.as_str(), row.get(2), row.get(3), row.get(4), row.get::<_, Option<String>>(5)) {
                ("device", Some(device_id), Some(kader_id), Some(posyandu_id), _) => {
                    Principal::Device(DevicePrincipal { token_id, device_id, kader_id, posyandu_id })
                }
                ("puskesmas", _, _, _, Some(puskesmas_id)) => {
                    let stmt =
                        client.prepare_cached("SELECT id FROM posyandu WHERE puskesmas_id = $1 ORDER BY id").await?;
                    let posyandu_ids =
                        client.query(&stmt, &[&puskesmas_id]).await?.into_iter().map(|r| r.get(0)).collect();
                    Principal::Puskesmas { token_id, puskesmas_id, posyandu_ids }
                }
                _ => return Err(ApiError::internal(format!("token {token_id} is malformed"))),
            };
            Ok(Some(TokenLookup { principal, revoked: revoked_at.is_some() }))
        })
    }

    fn sync(
        &self,
        device: DevicePrincipal,
        req: SyncRequest,
        quota: NewDocQuota,
    ) -> BoxFuture<'_, Result<SyncOutcome, ApiError>> {
        Box::pin(self.sync_inner(device, req, quota))
    }

    fn snapshot(&self, scope: String, req: SnapshotRequest) -> BoxFuture<'_, Result<SnapshotPage, ApiError>> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = read_tx(&mut client).await?;
            let cursor = last_seq(&tx, &scope).await?;
            let epoch = read_epoch(&tx).await?;
            let totals = tx
                // Plaintext sizes (what the page carries): a sealed blob is OVERHEAD longer.
                .prepare_cached(super::seal_pass::PG_SNAPSHOT_TOTALS)
                .await?;
            let row = tx.query_one(&totals, &[&scope]).await?;
            let (total_docs, total_bytes): (i64, i64) = (row.get(0), row.get(1));
            let limit = req.page_bytes.min(MAX_PAGE_BYTES) as usize;
            let after: Vec<u8> = req.after.map(|a| a.to_vec()).unwrap_or_default();
            let stmt = tx
                .prepare_cached("SELECT id, snapshot FROM doc WHERE scope = $1 AND id > $2 ORDER BY id LIMIT $3")
                .await?;
            let mut docs: Vec<SnapshotDoc> = Vec::new();
            let mut used = 0usize;
            let mut next = None;
            let mut from = after;
            'outer: loop {
                let rows = tx.query(&stmt, &[&scope, &from, &64i64]).await?;
                let n = rows.len();
                for r in rows {
                    let id: &[u8] = r.get(0);
                    from = id.to_vec();
                    let snapshot = self.keys.open_or_keep(&scope, id, Blob::Snapshot, r.get(1));
                    if !docs.is_empty() && used + snapshot.len() > limit {
                        next = docs.last().map(|d| d.doc);
                        break 'outer;
                    }
                    used += snapshot.len();
                    docs.push(SnapshotDoc { doc: doc_id(id)?, snapshot });
                }
                if n < 64 {
                    break;
                }
            }
            tx.commit().await?;
            Ok(SnapshotPage {
                docs,
                next,
                cursor,
                total_docs: total_docs.clamp(0, u32::MAX as i64) as u32,
                total_bytes: total_bytes.max(0) as u64,
                epoch,
            })
        })
    }

    fn docs_after(
        &self,
        scope: String,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<StoredDoc>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT id, updated_seq, snapshot FROM doc WHERE scope = $1 AND kind = 'household'
                     AND updated_seq > $2 ORDER BY updated_seq, id LIMIT $3",
                )
                .await?;
            let rows = client
                .query(
                    &stmt,
                    &[&scope, &(after_seq.min(i64::MAX as u64) as i64), &(limit.min(i64::MAX as usize) as i64)],
                )
                .await?;
            rows.into_iter()
                .map(|r| {
                    let doc = doc_id(r.get(0))?;
                    Ok(StoredDoc {
                        doc,
                        scope: scope.clone(),
                        updated_seq: r.get::<_, i64>(1).max(0) as u64,
                        snapshot: self.keys.open_or_keep(&scope, &doc, Blob::Snapshot, r.get(2)),
                    })
                })
                .collect()
        })
    }

    fn read_after(&self, scope: String, after_seq: u64, limit: usize) -> BoxFuture<'_, Result<Vec<ReadRow>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT d.id, d.updated_seq, r.stamp, r.body,
                            CASE WHEN r.stamp IS NULL OR NOT starts_with(r.stamp, $4) THEN d.snapshot END
                     FROM doc d LEFT JOIN read_household r ON r.doc_id = d.id
                     WHERE d.scope = $1 AND d.kind = 'household' AND d.updated_seq > $2
                     ORDER BY d.updated_seq, d.id LIMIT $3",
                )
                .await?;
            let rows = client
                .query(
                    &stmt,
                    &[
                        &scope,
                        &(after_seq.min(i64::MAX as u64) as i64),
                        &(limit.min(i64::MAX as usize) as i64),
                        &read_model::format_prefix(),
                    ],
                )
                .await?;
            rows.into_iter()
                .map(|r| ReadRow::from_columns(&self.keys, &scope, r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect()
        })
    }

    fn read_posyandu(
        &self,
        scope: String,
    ) -> BoxFuture<'_, Result<Option<posyandu_records::posyandu::Posyandu>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached("SELECT doc_id, body FROM read_posyandu WHERE scope = $1").await?;
            let Some(row) = client.query_opt(&stmt, &[&scope]).await? else { return Ok(None) };
            let doc = doc_id(row.get(0))?;
            let body = self.keys.open_vec(&scope, &doc, Blob::ReadRow, row.get(1))?;
            serde_json::from_slice(&body).map(Some).map_err(|e| ApiError::internal(format!("read_posyandu row: {e}")))
        })
    }

    fn read_member(&self, scope: String, member: uuid::Uuid) -> BoxFuture<'_, Result<Option<ReadRow>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT d.id, d.updated_seq, r.stamp, r.body,
                            CASE WHEN r.stamp IS NULL OR NOT starts_with(r.stamp, $3) THEN d.snapshot END
                     FROM read_member m JOIN doc d ON d.id = m.doc_id LEFT JOIN read_household r ON r.doc_id = d.id
                     WHERE m.scope = $1 AND m.member_id = $2",
                )
                .await?;
            let row = client.query_opt(&stmt, &[&scope, &&member.as_bytes()[..], &read_model::format_prefix()]).await?;
            row.map(|r| ReadRow::from_columns(&self.keys, &scope, r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .transpose()
        })
    }

    fn rebuild_read_model(&self, batch: usize) -> BoxFuture<'_, Result<RebuildStep, ApiError>> {
        Box::pin(async move {
            let stamp = read_model::stamp();
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let stale_where = "FROM doc d LEFT JOIN read_household r ON r.doc_id = d.id
                 LEFT JOIN read_model_skip k ON k.doc_id = d.id AND k.updated_seq = d.updated_seq AND k.stamp = $1
                 WHERE (r.doc_id IS NULL OR r.stamp <> $1) AND k.doc_id IS NULL AND d.kind = 'household'";
            // The documents' row locks (a push holds them while it writes a document and
            // its row), skipping those a push holds now: they get a current row from it.
            let todo = tx
                .query(
                    &format!(
                        "SELECT d.id, d.scope, d.updated_seq, d.snapshot {stale_where}
                         ORDER BY d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED"
                    ),
                    &[&stamp, &(batch as i64)],
                )
                .await?;
            let work: Vec<(Vec<u8>, String, i64, Vec<u8>)> =
                todo.into_iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
            let keys = self.keys.clone();
            let derived = tokio::task::spawn_blocking(move || {
                work.into_iter()
                    .map(|(id, scope, seq, snapshot)| {
                        let p = keys
                            .open_vec(&scope, &id, Blob::Snapshot, snapshot)
                            .map_err(|e| e.to_string())
                            .and_then(|s| Projection::from_snapshot(&s));
                        (id, scope, seq, p)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| ApiError::internal(format!("rebuild task failed: {e}")))?;
            let mut step = RebuildStep::default();
            let skip = tx
                .prepare_cached(
                    "INSERT INTO read_model_skip (doc_id, updated_seq, stamp) VALUES ($1, $2, $3)
                     ON CONFLICT (doc_id) DO UPDATE SET updated_seq = excluded.updated_seq, stamp = excluded.stamp",
                )
                .await?;
            for (id, scope, seq, p) in derived {
                let doc = doc_id(&id)?;
                match p {
                    Ok(p) => {
                        write_read_rows(&tx, &self.keys, &scope, &[(doc, seq.max(0) as u64, &p)]).await?;
                        step.rebuilt += 1;
                    }
                    Err(e) => {
                        tracing::warn!(scope, doc = %uuid::Uuid::from_bytes(doc), updated_seq = seq, error = %e,
                            "read model: document unreadable, no row");
                        tx.execute(&skip, &[&id, &seq, &stamp]).await?;
                        step.unreadable += 1;
                    }
                }
            }
            let remaining: i64 = tx.query_one(&format!("SELECT count(*) {stale_where}"), &[&stamp]).await?.get(0);
            step.remaining = remaining.max(0) as u64;
            tx.commit().await?;
            Ok(step)
        })
    }

    fn invalidate_read_model(&self, scope: Option<String>) -> BoxFuture<'_, Result<u64, ApiError>> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let scope = scope.as_deref();
            tx.execute(
                "DELETE FROM read_member WHERE ($1::text IS NULL OR scope = $1) AND doc_id NOT IN (SELECT id FROM doc)",
                &[&scope],
            )
            .await?;
            tx.execute(
                "DELETE FROM read_household WHERE ($1::text IS NULL OR scope = $1) AND doc_id NOT IN (SELECT id FROM doc)",
                &[&scope],
            )
            .await?;
            tx.execute(
                "DELETE FROM read_model_skip WHERE $1::text IS NULL OR doc_id IN (SELECT id FROM doc WHERE scope = $1)",
                &[&scope],
            )
            .await?;
            let n = tx
                .execute(
                    "UPDATE read_household SET stamp = $2 WHERE $1::text IS NULL OR scope = $1",
                    &[&scope, &read_model::INVALIDATED],
                )
                .await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    fn epoch(&self) -> BoxFuture<'_, Result<u64, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            Ok(read_epoch(&client).await?)
        })
    }

    fn bind_actor(&self, token_id: i64, actor: Vec<u8>) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let insert = client
                .prepare_cached(
                    "INSERT INTO device_actor (token_id, actor, bound_at) VALUES ($1, $2, $3)
                     ON CONFLICT (token_id) DO NOTHING",
                )
                .await?;
            let select = client.prepare_cached("SELECT actor FROM device_actor WHERE token_id = $1").await?;
            let bound: Vec<u8> = match client.query_opt(&select, &[&token_id]).await? {
                Some(r) => r.get(0),
                None => {
                    client.execute(&insert, &[&token_id, &actor, &now_unix()]).await?;
                    client.query_one(&select, &[&token_id]).await?.get(0)
                }
            };
            if bound != actor {
                return Err(ApiError::DeviceBound);
            }
            Ok(())
        })
    }

    fn record_refusal(&self, r: Refusal) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let insert = client
                .prepare_cached(
                    "INSERT INTO refusal (at, token_id, device_id, posyandu_id, doc_id, code, path, reason)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .await?;
            let id: i64 = client
                .query_one(
                    &insert,
                    &[&r.at, &r.token_id, &r.device_id, &r.posyandu_id, &r.doc_id, &r.code, &r.path, &r.reason],
                )
                .await?
                .get(0);
            if id % 1000 == 0 {
                let prune = client.prepare_cached("DELETE FROM refusal WHERE id <= $1").await?;
                client.execute(&prune, &[&(id - crate::storage::sqlite::MAX_REFUSALS)]).await?;
            }
            Ok(())
        })
    }

    fn fetch_docs(&self, scope: String, ids: Vec<DocId>) -> BoxFuture<'_, Result<DocsResponse, ApiError>> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = read_tx(&mut client).await?;
            let epoch = read_epoch(&tx).await?;
            let stmt = tx.prepare_cached("SELECT id, snapshot FROM doc WHERE scope = $1 AND id = ANY($2)").await?;
            let keys: Vec<&[u8]> = ids.iter().map(|d| &d[..]).collect();
            let mut docs = Vec::new();
            for r in tx.query(&stmt, &[&scope, &keys]).await? {
                let doc = doc_id(r.get(0))?;
                docs.push(SnapshotDoc {
                    doc,
                    snapshot: self.keys.open_or_keep(&scope, &doc, Blob::Snapshot, r.get(1)),
                });
            }
            tx.commit().await?;
            Ok(DocsResponse { docs, epoch })
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            client.query_one("SELECT count(*) FROM scope_counter", &[]).await?;
            Ok(())
        })
    }

    fn satusehat_config(&self, posyandu: String) -> BoxFuture<'_, Result<Option<super::SatusehatConfig>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            Ok(super::satusehat::pg_config(&client, &posyandu).await?)
        })
    }

    fn put_ihs(&self, posyandu: String, rows: Vec<(String, String)>) -> BoxFuture<'_, Result<u64, ApiError>> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let n = super::satusehat::pg_put_ihs(&tx, &self.keys, &posyandu, &rows).await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    fn ihs_numbers(
        &self,
        posyandu: String,
        niks: Vec<String>,
    ) -> BoxFuture<'_, Result<std::collections::HashMap<String, String>, ApiError>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            super::satusehat::pg_ihs(&client, &self.keys, &posyandu, &niks).await
        })
    }
}

/// Registry operations on PostgreSQL for the CLI (blocking): one connection driven by
/// its own single-threaded runtime, so it can be used from any non-async thread.
pub struct PgRegistry {
    rt: tokio::runtime::Runtime,
    client: tokio::sync::Mutex<tokio_postgres::Client>,
}

impl PgRegistry {
    /// Connects and applies pending migrations (like the relay at start).
    pub fn connect(url: &str) -> Result<Self, AdminError> {
        let config = parse_config(url).map_err(|e| AdminError::Invalid(format!("database URL tidak valid: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AdminError::Backend(e.to_string()))?;
        let client = rt.block_on(async {
            let (client, conn) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!(error = %e, "registry connection");
                }
            });
            migrate(&client).await?;
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        Ok(PgRegistry { rt, client: tokio::sync::Mutex::new(client) })
    }

    pub(crate) fn run<T>(
        &self,
        f: impl for<'c> FnOnce(&'c mut tokio_postgres::Client) -> BoxFuture<'c, Result<T, tokio_postgres::Error>>,
    ) -> admin::Result<T> {
        self.rt.block_on(async {
            let mut client = self.client.lock().await;
            f(&mut client).await.map_err(AdminError::from)
        })
    }
}

impl From<tokio_postgres::Error> for AdminError {
    fn from(e: tokio_postgres::Error) -> Self {
        AdminError::Backend(pg_message(&e))
    }
}

impl Registry for PgRegistry {
    fn exists(&self, table: Table, id: &str) -> admin::Result<bool> {
        let sql = format!("SELECT 1 FROM {} WHERE id = $1", table.name());
        let id = id.to_string();
        self.run(move |c| Box::pin(async move { Ok(c.query_opt(&sql, &[&id]).await?.is_some()) }))
    }

    fn upsert_puskesmas(&self, id: &str, name: &str, now: i64) -> admin::Result<()> {
        let (id, name) = (id.to_string(), name.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO puskesmas (id, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                    &[&id, &name, &now],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn upsert_posyandu(&self, id: &str, name: &str, puskesmas: Option<&str>, now: i64) -> admin::Result<()> {
        let (id, name, pkm) = (id.to_string(), name.to_string(), puskesmas.map(str::to_string));
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO posyandu (id, name, puskesmas_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                         puskesmas_id = coalesce(excluded.puskesmas_id, posyandu.puskesmas_id)",
                    &[&id, &name, &pkm, &now],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn kader_posyandu(&self, kader: &str) -> admin::Result<Option<String>> {
        let kader = kader.to_string();
        self.run(move |c| {
            Box::pin(async move {
                Ok(c.query_opt("SELECT posyandu_id FROM kader WHERE id = $1", &[&kader]).await?.map(|r| r.get(0)))
            })
        })
    }

    fn upsert_kader(&self, id: &str, name: &str, posyandu: &str, now: i64) -> admin::Result<()> {
        let (id, name, p) = (id.to_string(), name.to_string(), posyandu.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO kader (id, name, posyandu_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                    &[&id, &name, &p, &now],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn replace_device_token(
        &self,
        device: &str,
        kader: &str,
        posyandu: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> admin::Result<Result<i64, String>> {
        let (device, kader, posyandu, hash) = (device.to_string(), kader.to_string(), posyandu.to_string(), *hash);
        self.run(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                // Serialise token issuance per device across relays/operators.
                tx.execute("SELECT pg_advisory_xact_lock(72018, hashtext($1))", &[&device]).await?;
                let other = tx
                    .query_opt(
                        "SELECT kader_id FROM token WHERE device_id = $1 AND kind = 'device' AND revoked_at IS NULL
                         AND kader_id <> $2 LIMIT 1",
                        &[&device, &kader],
                    )
                    .await?;
                if let Some(r) = other {
                    return Ok(Err(r.get(0)));
                }
                tx.execute(
                    "UPDATE token SET revoked_at = $2 WHERE device_id = $1 AND kind = 'device' AND revoked_at IS NULL",
                    &[&device, &now],
                )
                .await?;
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO token (hash, kind, device_id, kader_id, posyandu_id, created_at)
                         VALUES ($1, 'device', $2, $3, $4, $5) RETURNING id",
                        &[&&hash[..], &device, &kader, &posyandu, &now],
                    )
                    .await?
                    .get(0);
                tx.commit().await?;
                Ok(Ok(id))
            })
        })
    }

    fn insert_puskesmas_token(&self, puskesmas: &str, hash: &[u8; 32], now: i64) -> admin::Result<i64> {
        let (pkm, hash) = (puskesmas.to_string(), *hash);
        self.run(move |c| {
            Box::pin(async move {
                Ok(c.query_one(
                    "INSERT INTO token (hash, kind, puskesmas_id, created_at) VALUES ($1, 'puskesmas', $2, $3) RETURNING id",
                    &[&&hash[..], &pkm, &now],
                )
                .await?
                .get(0))
            })
        })
    }

    fn revoke_device_tokens(&self, device: &str, now: i64) -> admin::Result<u64> {
        let device = device.to_string();
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE token SET revoked_at = $2 WHERE device_id = $1 AND kind = 'device' AND revoked_at IS NULL",
                    &[&device, &now],
                )
                .await
            })
        })
    }

    fn revoke_token_id(&self, token_id: i64, now: i64) -> admin::Result<u64> {
        self.run(move |c| {
            Box::pin(async move {
                c.execute("UPDATE token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&token_id, &now])
                    .await
            })
        })
    }

    fn listing(&self) -> admin::Result<Listing> {
        self.run(|c| {
            Box::pin(async move {
                let mut l = Listing::default();
                for r in c.query("SELECT id, name FROM puskesmas ORDER BY id", &[]).await? {
                    l.puskesmas.push((r.get(0), r.get(1)));
                }
                for r in c
                    .query(
                        "SELECT p.id, p.name, coalesce(p.puskesmas_id, '-'),
                                (SELECT count(*) FROM doc d WHERE d.scope = p.id),
                                coalesce((SELECT last_seq FROM scope_counter s WHERE s.scope = p.id), 0)
                         FROM posyandu p ORDER BY p.id",
                        &[],
                    )
                    .await?
                {
                    l.posyandu.push((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)));
                }
                for r in c.query("SELECT id, name, posyandu_id FROM kader ORDER BY posyandu_id, id", &[]).await? {
                    l.kader.push((r.get(0), r.get(1), r.get(2)));
                }
                for r in c
                    .query(
                        "SELECT id, kind, coalesce(device_id, ''), coalesce(kader_id, ''), coalesce(puskesmas_id, ''),
                                created_at, revoked_at FROM token ORDER BY id",
                        &[],
                    )
                    .await?
                {
                    l.tokens.push((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)));
                }
                Ok(l)
            })
        })
    }

    fn set_satusehat(&self, config: &super::SatusehatConfig, now: i64) -> admin::Result<()> {
        let c = config.clone();
        self.run(move |cl| {
            Box::pin(async move {
                cl.execute(
                    super::satusehat::UPSERT_CONFIG_PG,
                    &[
                        &c.posyandu_id,
                        &c.org_id,
                        &c.puskesmas_org_id,
                        &c.location_id,
                        &c.bidan_ihs,
                        &c.bidan_name.trim(),
                        &c.utc_offset,
                        &now,
                    ],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn set_kfa(&self, puskesmas_org: &str, antigen: &str, code: &str, display: &str, now: i64) -> admin::Result<()> {
        let args = [puskesmas_org, antigen, code, display].map(str::to_string);
        self.run(move |cl| {
            Box::pin(async move {
                cl.execute(super::satusehat::UPSERT_KFA, &[&args[0], &args[1], &args[2], &args[3], &now]).await?;
                Ok(())
            })
        })
    }

    fn set_epoch(&self, epoch: u64) -> admin::Result<()> {
        let epoch = i64::try_from(epoch).map_err(|_| AdminError::Invalid("epoch terlalu besar".into()))?;
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO relay_epoch (id, epoch, changed_at) VALUES (1, $1, $2)
                     ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, changed_at = excluded.changed_at",
                    &[&epoch, &now_unix()],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn refusals(&self, device: Option<&str>, limit: usize) -> admin::Result<Vec<Refusal>> {
        let device = device.map(str::to_string);
        let limit = limit.min(i64::MAX as usize) as i64;
        self.run(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT at, token_id, device_id, posyandu_id, doc_id, code, path, reason FROM refusal
                         WHERE $1::text IS NULL OR device_id = $1 ORDER BY id DESC LIMIT $2",
                        &[&device, &limit],
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| Refusal {
                        at: r.get(0),
                        token_id: r.get(1),
                        device_id: r.get(2),
                        posyandu_id: r.get(3),
                        doc_id: r.get(4),
                        code: r.get(5),
                        path: r.get(6),
                        reason: r.get(7),
                    })
                    .collect())
            })
        })
    }

    fn doc_page(
        &self,
        posyandu: Option<&str>,
        after: &[u8],
        limit: usize,
    ) -> admin::Result<Vec<(Vec<u8>, String, Vec<u8>)>> {
        let (posyandu, after, limit) = (posyandu.map(str::to_string), after.to_vec(), limit as i64);
        self.run(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT id, scope, snapshot FROM doc WHERE ($1::text IS NULL OR scope = $1) AND id > $2
                         ORDER BY id LIMIT $3",
                        &[&posyandu, &after, &limit],
                    )
                    .await?;
                Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
            })
        })
    }
}
