//! Sealing what an older relay stored in plaintext (see [`crate::at_rest`]).
//!
//! A database written before encryption at rest holds plaintext change-log `data` and
//! document `snapshot` blobs; reads accept them ([`crate::at_rest::AtRest::open`]). The
//! pass below walks both tables in primary-key order, in batches of
//! [`SEAL_BATCH`] rows per transaction, seals every plaintext blob (recognised by the
//! automerge magic) and logs its progress (rows done / total). It is resumable and
//! idempotent: sealed rows are skipped, so an interrupted pass simply runs again; two
//! passes at once (two relays starting on one PostgreSQL) only repeat work, because
//! each update is guarded by the plaintext it replaces.
//!
//! The relay runs it at every start (`serve`, `demo`) before it listens; an operator
//! can also run `posyandu-relay admin seal-at-rest` against a live database.

use posyandu_records::wire::DocId;
use rusqlite::{params, TransactionBehavior};

use super::{PgStorage, SqliteStorage};
use crate::at_rest::{is_plaintext, AtRest, Blob, SealProgress, SEAL_BATCH};
use crate::error::ApiError;

/// Count and plaintext size of a scope's snapshots on SQLite: a sealed blob is
/// [`crate::at_rest::OVERHEAD`] (41) bytes longer than what the page carries.
pub const SQLITE_SNAPSHOT_TOTALS: &str = "SELECT count(*),
    coalesce(sum(length(snapshot) - CASE WHEN substr(snapshot, 1, 1) = x'01' THEN 41 ELSE 0 END), 0)
    FROM doc WHERE scope = ?1";

/// [`SQLITE_SNAPSHOT_TOTALS`] on PostgreSQL.
pub const PG_SNAPSHOT_TOTALS: &str = "SELECT count(*),
    coalesce(sum(length(snapshot) - CASE WHEN get_byte(snapshot, 0) = 1 THEN 41 ELSE 0 END), 0)::bigint
    FROM doc WHERE scope = $1";

const _: () = assert!(crate::at_rest::OVERHEAD == 41, "the totals SQL above hard-codes the overhead");

const SQLITE_COUNT_CHANGES: &str = "SELECT count(*) FROM change_log WHERE substr(data, 1, 4) = x'856f4a83'";
const SQLITE_COUNT_DOCS: &str = "SELECT count(*) FROM doc WHERE substr(snapshot, 1, 4) = x'856f4a83'";
const PG_COUNT_CHANGES: &str =
    "SELECT count(*) FROM change_log WHERE substring(data from 1 for 4) = '\\x856f4a83'::bytea";
const PG_COUNT_DOCS: &str = "SELECT count(*) FROM doc WHERE substring(snapshot from 1 for 4) = '\\x856f4a83'::bytea";

/// A failed sealing pass, with the detail for the operator (unlike [`ApiError`]'s
/// message, which is the one phones see).
#[derive(Debug, thiserror::Error)]
pub enum SealPassError {
    #[error("{0}")]
    Failed(String),
    #[error("the database is not available; try again")]
    Unavailable,
}

impl From<ApiError> for SealPassError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Internal(detail) => SealPassError::Failed(detail),
            ApiError::Unavailable => SealPassError::Unavailable,
            other => SealPassError::Failed(other.code().to_string()),
        }
    }
}

/// A change-log row: `(scope, seq, doc_id, hash, data)`.
type ChangeRow = (String, i64, Vec<u8>, Vec<u8>, Vec<u8>);

fn log_progress(table: &'static str, done: u64, total: u64) {
    tracing::info!(table, done, total, "sealing plaintext rows at rest");
}

fn doc_id(bytes: &[u8]) -> Result<DocId, ApiError> {
    DocId::try_from(bytes).map_err(|_| ApiError::internal("stored document id is not 16 bytes"))
}

const SQLITE_ONE_SEALED: &str = "SELECT id, scope, snapshot FROM doc WHERE substr(snapshot, 1, 1) = x'01' LIMIT 1";
const PG_ONE_SEALED: &str = "SELECT id, scope, snapshot FROM doc WHERE get_byte(snapshot, 0) = 1 LIMIT 1";

/// Refuses a key that does not open the database's sealed data (a wrong key file):
/// serving with it would hand phones undecryptable documents and seal new data under a
/// second key.
fn check_key(keys: &AtRest, row: Option<(Vec<u8>, String, Vec<u8>)>) -> Result<(), ApiError> {
    let Some((id, scope, snapshot)) = row else { return Ok(()) };
    keys.open(&scope, &id, Blob::Snapshot, &snapshot).map(|_| ()).map_err(|_| {
        ApiError::internal(
            "the data key does not open the sealed data in this database: wrong data key file? \
             (the key the database was sealed with is needed; see docs/relay-operations.md)",
        )
    })
}

/// Seals every plaintext blob of a SQLite relay database (see the module docs), after
/// checking that the key opens what is already sealed.
pub fn seal_sqlite(storage: &SqliteStorage) -> Result<SealProgress, SealPassError> {
    seal_sqlite_inner(storage).map_err(SealPassError::from)
}

fn seal_sqlite_inner(storage: &SqliteStorage) -> Result<SealProgress, ApiError> {
    let keys = storage.keys().clone();
    let mut p = SealProgress::default();
    storage.with_conn(|conn| -> Result<(), ApiError> {
        use rusqlite::OptionalExtension as _;
        let row = conn.query_row(SQLITE_ONE_SEALED, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
        check_key(&keys, row)?;
        p.changes_total = conn.query_row(SQLITE_COUNT_CHANGES, [], |r| r.get::<_, i64>(0))?.max(0) as u64;
        p.snapshots_total = conn.query_row(SQLITE_COUNT_DOCS, [], |r| r.get::<_, i64>(0))?.max(0) as u64;
        Ok(())
    })?;
    if p.changes_total + p.snapshots_total == 0 {
        return Ok(p);
    }
    // Overwrite the replaced plaintext inside the file's pages too (not only unlink it),
    // and empty the WAL afterwards, so no copy of it is left in the database files.
    storage.with_conn(|conn| conn.execute_batch("PRAGMA secure_delete = ON"))?;
    let result = seal_sqlite_rows(storage, &keys, &mut p);
    storage.with_conn(|conn| -> rusqlite::Result<()> {
        conn.execute_batch("PRAGMA secure_delete = OFF")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
    })?;
    result?;
    Ok(p)
}

fn seal_sqlite_rows(storage: &SqliteStorage, keys: &AtRest, p: &mut SealProgress) -> Result<(), ApiError> {
    log_progress("change_log", 0, p.changes_total);
    // Change log, keyset-paged on its primary key (scope, seq).
    let (mut scope, mut seq) = (String::new(), i64::MIN);
    loop {
        let (rows, sealed) = storage.with_conn(|conn| -> Result<(usize, u64), ApiError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut batch: Vec<ChangeRow> = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT scope, seq, doc_id, hash, data FROM change_log WHERE (scope, seq) > (?1, ?2)
                     ORDER BY scope, seq LIMIT ?3",
                )?;
                let mut q = stmt.query(params![scope, seq, SEAL_BATCH as i64])?;
                while let Some(r) = q.next()? {
                    batch.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
                }
            }
            let mut sealed = 0;
            {
                let mut upd = tx.prepare_cached(
                    "UPDATE change_log SET data = ?3 WHERE scope = ?1 AND seq = ?2 AND substr(data, 1, 4) = x'856f4a83'",
                )?;
                for (s, q, doc, hash, data) in &batch {
                    if is_plaintext(data) {
                        let blob = keys.seal(s, &doc_id(doc)?, Blob::Change { hash }, data);
                        sealed += upd.execute(params![s, q, blob])? as u64;
                    }
                }
            }
            tx.commit()?;
            if let Some((s, q, ..)) = batch.last() {
                (scope, seq) = (s.clone(), *q);
            }
            Ok((batch.len(), sealed))
        })?;
        p.changes_done += sealed;
        if sealed > 0 {
            log_progress("change_log", p.changes_done, p.changes_total);
        }
        if rows < SEAL_BATCH {
            break;
        }
    }
    log_progress("doc", 0, p.snapshots_total);
    let mut after: Vec<u8> = Vec::new();
    loop {
        let (rows, sealed) = storage.with_conn(|conn| -> Result<(usize, u64), ApiError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut batch: Vec<(Vec<u8>, String, Vec<u8>)> = Vec::new();
            {
                let mut stmt =
                    tx.prepare_cached("SELECT id, scope, snapshot FROM doc WHERE id > ?1 ORDER BY id LIMIT ?2")?;
                let mut q = stmt.query(params![after, SEAL_BATCH as i64])?;
                while let Some(r) = q.next()? {
                    batch.push((r.get(0)?, r.get(1)?, r.get(2)?));
                }
            }
            let mut sealed = 0;
            {
                let mut upd = tx.prepare_cached("UPDATE doc SET snapshot = ?2 WHERE id = ?1 AND snapshot = ?3")?;
                for (id, s, snapshot) in &batch {
                    if is_plaintext(snapshot) {
                        let blob = keys.seal(s, &doc_id(id)?, Blob::Snapshot, snapshot);
                        sealed += upd.execute(params![id, blob, snapshot])? as u64;
                    }
                }
            }
            tx.commit()?;
            if let Some((id, ..)) = batch.last() {
                after = id.clone();
            }
            Ok((batch.len(), sealed))
        })?;
        p.snapshots_done += sealed;
        if sealed > 0 {
            log_progress("doc", p.snapshots_done, p.snapshots_total);
        }
        if rows < SEAL_BATCH {
            break;
        }
    }
    Ok(())
}

/// Seals every plaintext blob of a PostgreSQL relay database (see the module docs),
/// after checking that the key opens what is already sealed.
pub async fn seal_pg(storage: &PgStorage) -> Result<SealProgress, SealPassError> {
    seal_pg_inner(storage).await.map_err(SealPassError::from)
}

async fn seal_pg_inner(storage: &PgStorage) -> Result<SealProgress, ApiError> {
    let keys: std::sync::Arc<AtRest> = storage.keys().clone();
    let mut client = storage.pool().get().await?;
    let row = client.query_opt(PG_ONE_SEALED, &[]).await?.map(|r| (r.get(0), r.get(1), r.get(2)));
    check_key(&keys, row)?;
    let mut p = SealProgress {
        changes_total: client.query_one(PG_COUNT_CHANGES, &[]).await?.get::<_, i64>(0).max(0) as u64,
        snapshots_total: client.query_one(PG_COUNT_DOCS, &[]).await?.get::<_, i64>(0).max(0) as u64,
        ..SealProgress::default()
    };
    if p.changes_total + p.snapshots_total == 0 {
        return Ok(p);
    }
    log_progress("change_log", 0, p.changes_total);
    let (mut scope, mut seq) = (String::new(), i64::MIN);
    loop {
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT scope, seq, doc_id, hash, data FROM change_log WHERE (scope, seq) > ($1, $2)
                 ORDER BY scope, seq LIMIT $3",
                &[&scope, &seq, &(SEAL_BATCH as i64)],
            )
            .await?;
        let (mut scopes, mut seqs, mut datas) = (Vec::<String>::new(), Vec::<i64>::new(), Vec::<Vec<u8>>::new());
        for r in &rows {
            let data: &[u8] = r.get(4);
            if is_plaintext(data) {
                let s: String = r.get(0);
                let blob = keys.seal(&s, &doc_id(r.get(2))?, Blob::Change { hash: r.get(3) }, data);
                scopes.push(s);
                seqs.push(r.get(1));
                datas.push(blob);
            }
        }
        let sealed = if scopes.is_empty() {
            0
        } else {
            tx.execute(
                "UPDATE change_log c SET data = t.data
                 FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS t(scope, seq, data)
                 WHERE c.scope = t.scope AND c.seq = t.seq AND substring(c.data from 1 for 4) = '\\x856f4a83'::bytea",
                &[&scopes, &seqs, &datas],
            )
            .await?
        };
        tx.commit().await?;
        if let Some(r) = rows.last() {
            (scope, seq) = (r.get(0), r.get(1));
        }
        p.changes_done += sealed;
        if sealed > 0 {
            log_progress("change_log", p.changes_done, p.changes_total);
        }
        if rows.len() < SEAL_BATCH {
            break;
        }
    }
    log_progress("doc", 0, p.snapshots_total);
    let mut after: Vec<u8> = Vec::new();
    loop {
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT id, scope, snapshot FROM doc WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &(SEAL_BATCH as i64)],
            )
            .await?;
        let (mut ids, mut plains, mut sealeds) = (Vec::<&[u8]>::new(), Vec::<&[u8]>::new(), Vec::<Vec<u8>>::new());
        for r in &rows {
            let snapshot: &[u8] = r.get(2);
            if is_plaintext(snapshot) {
                let id: &[u8] = r.get(0);
                let scope: &str = r.get(1);
                sealeds.push(keys.seal(scope, &doc_id(id)?, Blob::Snapshot, snapshot));
                ids.push(id);
                plains.push(snapshot);
            }
        }
        let sealed = if ids.is_empty() {
            0
        } else {
            // Guarded by the plaintext it replaces: a push that rewrote the document
            // meanwhile (already sealed) wins.
            tx.execute(
                "UPDATE doc d SET snapshot = t.sealed
                 FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS t(id, plain, sealed)
                 WHERE d.id = t.id AND d.snapshot = t.plain",
                &[&ids, &plains, &sealeds],
            )
            .await?
        };
        tx.commit().await?;
        if let Some(r) = rows.last() {
            after = r.get(0);
        }
        p.snapshots_done += sealed;
        if sealed > 0 {
            log_progress("doc", p.snapshots_done, p.snapshots_total);
        }
        if rows.len() < SEAL_BATCH {
            break;
        }
    }
    Ok(p)
}
