//! Group commit of pushes on SQLite.
//!
//! A push is answered only after it is on disk (`synchronous = FULL`: one fsync of the
//! WAL per commit, ~4 ms on a cloud disk). With one transaction per push the relay
//! could never answer more pushes per second than the disk does fsyncs, however idle
//! its CPU. So pushes go to one writer thread that takes every push waiting (up to
//! [`MAX_GROUP`]), applies each in its own savepoint of one write transaction (a
//! refused push rolls back to its savepoint and leaves the others), commits once and
//! then answers each. A push is still answered only after the commit that holds it:
//! durability and the per-push all-or-nothing rule are unchanged; only the fsync is
//! shared.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::NewDocQuota;
use crate::at_rest::AtRest;
use crate::auth::DevicePrincipal;
use crate::error::ApiError;
use posyandu_records::wire::SyncRequest;

/// Most pushes committed together (bounds the transaction and the wait of the first).
pub const MAX_GROUP: usize = 32;
/// Pushes that may wait for the writer; more get 503 with `Retry-After` (the relay's
/// HTTP concurrency limit keeps this from being reached in practice).
const QUEUE: usize = 1024;

/// What a stored push reports: `(stored, new changes, new documents)`.
pub type Pushed = (u32, u64, u64);

/// Applies one push inside the writer's transaction (see [`super::sqlite::store_push`]).
pub type ApplyPush = fn(&Transaction, &AtRest, &DevicePrincipal, &SyncRequest, NewDocQuota) -> Result<Pushed, ApiError>;

struct Job {
    device: DevicePrincipal,
    req: SyncRequest,
    quota: NewDocQuota,
    done: oneshot::Sender<Result<Pushed, ApiError>>,
}

/// The handle to the writer thread; cloned with the storage. The thread ends when the
/// last handle is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn` (shared with the admin paths, which lock it
    /// between groups).
    pub fn start(conn: Arc<Mutex<Connection>>, keys: Arc<AtRest>, apply: ApplyPush) -> std::io::Result<Writer> {
        let (jobs, rx) = std::sync::mpsc::sync_channel(QUEUE);
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || run(rx, &conn, &keys, apply))?;
        Ok(Writer { jobs })
    }

    /// Stores `req`'s push and returns once the transaction holding it is committed.
    pub async fn push(
        &self,
        device: DevicePrincipal,
        req: SyncRequest,
        quota: NewDocQuota,
    ) -> Result<Pushed, ApiError> {
        let (done, answer) = oneshot::channel();
        match self.jobs.try_send(Job { device, req, quota, done }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(ApiError::Unavailable),
            Err(TrySendError::Disconnected(_)) => return Err(ApiError::internal("sqlite writer stopped")),
        }
        answer.await.map_err(|_| ApiError::internal("sqlite writer dropped a push"))?
    }
}

fn run(rx: Receiver<Job>, conn: &Mutex<Connection>, keys: &AtRest, apply: ApplyPush) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let results = {
            // A panic while holding the lock leaves no open transaction (rolled back on
            // drop), so a poisoned lock is safe to reuse.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            match catch_unwind(AssertUnwindSafe(|| commit_group(&mut guard, keys, apply, &group))) {
                Ok(r) => r,
                Err(_) => group.iter().map(|_| Err(ApiError::internal("push panicked; nothing stored"))).collect(),
            }
        };
        let size = group.len();
        for (job, result) in group.into_iter().zip(results) {
            let _ = job.done.send(result);
        }
        tracing::trace!(size, "group commit");
    }
}

/// One write transaction for the group, one savepoint per push. A failure of the
/// transaction itself (begin, savepoint bookkeeping, commit) fails the whole group with
/// nothing stored.
fn commit_group(
    conn: &mut Connection,
    keys: &AtRest,
    apply: ApplyPush,
    group: &[Job],
) -> Vec<Result<Pushed, ApiError>> {
    let mut results = Vec::with_capacity(group.len());
    let outcome = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in group {
            results.push(in_savepoint(&tx, || apply(&tx, keys, &job.device, &job.req, job.quota))?);
        }
        tx.commit()
    })();
    match outcome {
        Ok(()) => results,
        Err(e) => {
            // Busy/locked stays "try again" (503); anything else is internal.
            let busy = matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked)
            );
            let detail = e.to_string();
            group
                .iter()
                .map(|_| Err(if busy { ApiError::Unavailable } else { ApiError::Internal(detail.clone()) }))
                .collect()
        }
    }
}

/// Runs `f` in a savepoint of `tx`: kept if it succeeds, rolled back if it fails. The
/// outer error is the savepoint's own (the transaction is then abandoned).
fn in_savepoint(
    tx: &Transaction,
    f: impl FnOnce() -> Result<Pushed, ApiError>,
) -> rusqlite::Result<Result<Pushed, ApiError>> {
    tx.execute_batch("SAVEPOINT push")?;
    let result =
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(ApiError::internal("push panicked; nothing stored")));
    match &result {
        Ok(_) => tx.execute_batch("RELEASE push")?,
        Err(_) => tx.execute_batch("ROLLBACK TO push; RELEASE push")?,
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(device: &str) -> (Job, oneshot::Receiver<Result<Pushed, ApiError>>) {
        let (done, rx) = oneshot::channel();
        let device =
            DevicePrincipal { token_id: 1, device_id: device.into(), kader_id: "K".into(), posyandu_id: "P".into() };
        let req = SyncRequest { cursor: 0, push: Vec::new(), page_bytes: 0 };
        (Job { device, req, quota: NewDocQuota { allowed: 1, limit: 1, retry_after_secs: 1 }, done }, rx)
    }

    /// Writes a row, then refuses pushes of devices named `bad…` (after writing).
    fn apply(
        tx: &Transaction,
        _: &AtRest,
        d: &DevicePrincipal,
        _: &SyncRequest,
        _: NewDocQuota,
    ) -> Result<Pushed, ApiError> {
        tx.execute("INSERT INTO t (device) VALUES (?1)", [&d.device_id])?;
        if d.device_id.starts_with("bad") {
            return Err(ApiError::BadBody("refused".into()));
        }
        if d.device_id == "panic" {
            panic!("hostile");
        }
        Ok((1, 1, 0))
    }

    fn stored(conn: &Connection) -> Vec<String> {
        let mut s = conn.prepare("SELECT device FROM t ORDER BY rowid").unwrap();
        s.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn a_refused_push_rolls_back_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (device TEXT)").unwrap();
        let keys = AtRest::ephemeral();
        let names = ["a", "bad1", "b", "panic", "c"];
        let (jobs, _rx): (Vec<Job>, Vec<_>) = names.iter().map(|n| job(n)).unzip();
        let results = commit_group(&mut conn, &keys, apply, &jobs);
        let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, true, false, true]);
        assert_eq!(stored(&conn), ["a", "b", "c"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pushes_are_answered_after_their_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let conn = crate::storage::sqlite::open_connection(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (device TEXT)").unwrap();
        let writer = Writer::start(Arc::new(Mutex::new(conn)), AtRest::ephemeral(), apply).unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let w = writer.clone();
            let name = if i % 10 == 3 { format!("bad{i}") } else { format!("d{i}") };
            tasks.push(tokio::spawn(async move {
                let (j, _) = job(&name);
                (name, w.push(j.device, j.req, j.quota).await.is_ok())
            }));
        }
        let mut accepted = Vec::new();
        for t in tasks {
            let (name, ok) = t.await.unwrap();
            // An answer means committed: a fresh connection already sees an accepted push.
            let other = Connection::open(&path).unwrap();
            assert_eq!(stored(&other).contains(&name), ok, "{name}");
            assert_eq!(ok, !name.starts_with("bad"));
            if ok {
                accepted.push(name);
            }
        }
        let other = Connection::open(&path).unwrap();
        assert_eq!(stored(&other).len(), accepted.len());
        assert_eq!(accepted.len(), 180);
    }
}
