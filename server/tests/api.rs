//! The relay's HTTP API, driven through the router (`oneshot`) and, once, through a real
//! server on 127.0.0.1:0 with the real client (`posyandu_core::Store::sync_now`).
//!
//! The behaviour tests run against BOTH storage backends: each body takes a [`Kind`]
//! and `both!` generates `sqlite::<name>` and `postgres::<name>` tests. PostgreSQL
//! tests use a fresh schema each (env `POSYANDU_TEST_PG`), dropped at the end.

use automerge::{ActorId, Change};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use posyandu_core::doc::HouseholdDoc;
use posyandu_core::model::{Address, HouseholdPatch};
use posyandu_core::sync::wire::*;
use posyandu_server::admin::Registry;
use posyandu_server::storage::postgres::PgRegistry;
use posyandu_server::storage::{Limits, PgStorage, SqliteStorage, Storage};
use posyandu_server::{admin, app, AppState};
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Pg,
}

/// A fresh PostgreSQL schema, dropped on drop.
struct PgSchema {
    name: String,
    url: String,
}

impl PgSchema {
    fn new() -> Self {
        let base = std::env::var("POSYANDU_TEST_PG")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
        let name = format!("t_{}", Uuid::new_v4().simple());
        Self::admin_sql(&base, &format!("CREATE SCHEMA {name}"));
        let url = format!("{base} options='-csearch_path={name}'");
        PgSchema { name, url }
    }

    /// Runs one statement on its own connection, on a separate thread (callable from
    /// async tests and from Drop).
    fn admin_sql(base: &str, sql: &str) {
        let (base, sql) = (base.to_string(), sql.to_string());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.expect("PostgreSQL");
                tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
            })
        })
        .join()
        .unwrap();
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let base = std::env::var("POSYANDU_TEST_PG")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
        Self::admin_sql(&base, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

enum TestDb {
    Sqlite(SqliteStorage),
    Pg(PgStorage, PgSchema),
}

impl TestDb {
    async fn open(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => TestDb::Sqlite(SqliteStorage::open_in_memory().unwrap()),
            Kind::Pg => {
                let schema = PgSchema::new();
                TestDb::Pg(PgStorage::connect(&schema.url, 4).await.unwrap(), schema)
            }
        }
    }

    fn state(&self) -> AppState {
        match self {
            TestDb::Sqlite(s) => AppState::new(s.clone()),
            TestDb::Pg(s, _) => AppState::new(s.clone()),
        }
    }

    /// Runs registry operations (blocking for PostgreSQL: on a blocking thread).
    async fn admin<T: Send + 'static>(&self, f: impl FnOnce(&dyn Registry) -> T + Send + 'static) -> T {
        match self {
            TestDb::Sqlite(s) => s.with_conn(|c| f(&*c)),
            TestDb::Pg(_, schema) => {
                let url = schema.url.clone();
                tokio::task::spawn_blocking(move || f(&PgRegistry::connect(&url).unwrap())).await.unwrap()
            }
        }
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        match self {
            TestDb::Sqlite(s) => s.with_conn(|c| c.query_row(&sql, [], |x| x.get(0)).unwrap()),
            TestDb::Pg(s, _) => s.pool().get().await.unwrap().query_one(&sql, &[]).await.unwrap().get(0),
        }
    }

    async fn only_snapshot(&self) -> Vec<u8> {
        let sql = "SELECT snapshot FROM doc";
        match self {
            TestDb::Sqlite(s) => s.with_conn(|c| c.query_row(sql, [], |x| x.get(0)).unwrap()),
            TestDb::Pg(s, _) => s.pool().get().await.unwrap().query_one(sql, &[]).await.unwrap().get(0),
        }
    }
}

/// Generates `sqlite::<name>` and `postgres::<name>` tests from `async fn <name>(Kind)`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name(super::Kind::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Kind::Pg).await } )*
        }
    };
}

both!(
    push_then_other_device_pulls,
    replay_is_idempotent,
    small_pages_cover_everything_without_gaps,
    out_of_scope_pushes_are_refused_atomically,
    missing_dependencies_and_bad_changes_are_400,
    garbage_bodies_never_5xx_nor_store,
    version_size_and_auth_errors,
    snapshot_pages_cover_all_docs_with_consistent_cursor,
    healthz_and_metrics,
    docs_after_walks_changed_documents,
);

struct Relay {
    router: Router,
    db: TestDb,
    storage: Arc<dyn Storage>,
    /// Devices D-1, D-2 (Posyandu P-001) and D-3 (P-002).
    d1: String,
    d2: String,
    d3: String,
    puskesmas: String,
}

fn register(storage: &SqliteStorage) -> (String, String, String, String) {
    storage.with_conn(|c| register_on(&*c))
}

fn register_on(c: &dyn Registry) -> (String, String, String, String) {
    {
        admin::add_puskesmas(c, "PKM-01", "Puskesmas Satu").unwrap();
        admin::add_posyandu(c, "P-001", "Posyandu Melati", Some("PKM-01")).unwrap();
        admin::add_posyandu(c, "P-002", "Posyandu Mawar", Some("PKM-01")).unwrap();
        admin::add_kader(c, "K-1", "Kader Satu", "P-001").unwrap();
        admin::add_kader(c, "K-2", "Kader Dua", "P-001").unwrap();
        admin::add_kader(c, "K-3", "Kader Tiga", "P-002").unwrap();
        let d1 = admin::add_device(c, "K-1", "D-1").unwrap().token;
        let d2 = admin::add_device(c, "K-2", "D-2").unwrap().token;
        let d3 = admin::add_device(c, "K-3", "D-3").unwrap().token;
        let p = admin::puskesmas_token(c, "PKM-01").unwrap().token;
        (d1, d2, d3, p)
    }
}

async fn relay_with(kind: Kind, limits: Limits) -> Relay {
    let db = TestDb::open(kind).await;
    let (d1, d2, d3, puskesmas) = db.admin(register_on).await;
    let state = db.state().with_limits(limits);
    let storage = state.storage.clone();
    let router = app(state);
    Relay { router, db, storage, d1, d2, d3, puskesmas }
}

async fn relay(kind: Kind) -> Relay {
    relay_with(kind, Limits::default()).await
}

struct Resp {
    status: StatusCode,
    protocol: Option<String>,
    body: Vec<u8>,
}

impl Resp {
    fn error(&self) -> ErrorBody {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not an error body: {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn code(&self) -> String {
        self.error().code
    }
}

async fn post_raw(r: &Relay, path: &str, token: Option<&str>, body: Vec<u8>) -> Resp {
    let mut req = Request::post(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = r.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    let protocol = resp.headers().get(VERSION_HEADER).map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp { status, protocol, body }
}

async fn sync(r: &Relay, token: &str, req: &SyncRequest) -> SyncResponse {
    let resp = post_raw(r, SYNC_PATH, Some(token), encode(req)).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.protocol.as_deref(), Some("1"));
    decode(&resp.body).unwrap()
}

async fn get(r: &Relay, path: &str) -> (StatusCode, String) {
    let resp = r.router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, String::from_utf8(body).unwrap())
}

async fn log_count(r: &Relay) -> i64 {
    r.db.count("change_log").await
}

async fn doc_count(r: &Relay) -> i64 {
    r.db.count("doc").await
}

/// A household of `posyandu` with its creating change.
struct Household {
    id: Uuid,
    doc: HouseholdDoc,
    changes: Vec<Vec<u8>>,
    /// The kader whose device writes the next edits (the relay checks authorship).
    kader: &'static str,
}

impl Household {
    fn new(posyandu: &str) -> Self {
        // The registry's kader of that Posyandu (see `register_on`).
        Self::new_by(posyandu, if posyandu == "P-002" { "K-3" } else { "K-1" })
    }

    /// A household created on the phone of `kader`.
    fn new_by(posyandu: &str, kader: &'static str) -> Self {
        let id = Uuid::new_v4();
        let mut doc = HouseholdDoc::create(id, posyandu, &ActorId::random()).unwrap();
        let address = Address {
            rt: "001".into(),
            rw: "002".into(),
            dusun: None,
            kode_wilayah: "3201010001".into(),
            street: None,
        };
        let patch = HouseholdPatch { address: Some(address), ..Default::default() };
        doc.patch_household(&patch, time::macros::date!(2024 - 05 - 01)).unwrap();
        let c = doc.commit(kader, 1_700_000_000).unwrap();
        Household { id, doc, changes: vec![c.raw_bytes().to_vec()], kader }
    }

    /// Commits one more edit and returns it.
    fn edit(&mut self, n: u64) -> Vec<u8> {
        let today = time::macros::date!(2024 - 05 - 01);
        let patch = HouseholdPatch { kk_number: Some(format!("{n:016}")), ..Default::default() };
        self.doc.patch_household(&patch, today).unwrap();
        let c = self.doc.commit(self.kader, 1_700_000_000 + n as i64).unwrap().raw_bytes().to_vec();
        self.changes.push(c.clone());
        c
    }

    fn push_all(&self) -> DocChanges {
        DocChanges { doc: *self.id.as_bytes(), changes: self.changes.clone() }
    }
}

fn req(cursor: u64, push: Vec<DocChanges>) -> SyncRequest {
    SyncRequest { cursor, push, page_bytes: DEFAULT_PAGE_BYTES }
}

fn apply_all(pulled: &[DocChanges]) -> std::collections::HashMap<DocId, HouseholdDoc> {
    let mut docs = std::collections::HashMap::new();
    for dc in pulled {
        let d = docs.entry(dc.doc).or_insert_with(|| HouseholdDoc::empty(&ActorId::random()));
        let changes = dc.changes.iter().map(|c| Change::from_bytes(c.clone()).unwrap()).collect();
        d.apply(changes).unwrap();
    }
    docs
}

async fn push_then_other_device_pulls(kind: Kind) {
    let r = relay(kind).await;
    let mut h = Household::new("P-001");
    h.edit(1);
    let resp = sync(&r, &r.d1, &req(0, vec![h.push_all()])).await;
    assert_eq!((resp.stored, resp.cursor, resp.more), (2, 2, false));
    assert!(resp.pull.is_empty(), "own changes are not echoed");
    let pulled = sync(&r, &r.d2, &req(0, vec![])).await;
    assert_eq!((pulled.cursor, pulled.more), (2, false));
    assert_eq!(pulled.pull, vec![h.push_all()]);
    let mut docs = apply_all(&pulled.pull);
    let d = docs.get_mut(h.id.as_bytes()).unwrap();
    assert!(d.missing_deps().is_empty());
    assert_eq!(d.read().unwrap().kk_number.as_deref(), Some("0000000000000001"));
    // Nothing new: an empty exchange.
    let again = sync(&r, &r.d2, &req(pulled.cursor, vec![])).await;
    assert!(again.pull.is_empty() && !again.more && again.cursor == 2);
    // D-3 of another Posyandu sees nothing.
    let other = sync(&r, &r.d3, &req(0, vec![])).await;
    assert!(other.pull.is_empty() && other.cursor == 0);
}

async fn replay_is_idempotent(kind: Kind) {
    let r = relay(kind).await;
    let mut h = Household::new("P-001");
    h.edit(1);
    let request = req(0, vec![h.push_all()]);
    let first = sync(&r, &r.d1, &request).await;
    let snapshot_before: Vec<u8> = r.db.only_snapshot().await;
    let second = sync(&r, &r.d1, &request).await;
    assert_eq!(first, second);
    assert_eq!(log_count(&r).await, 2);
    let snapshot_after: Vec<u8> = r.db.only_snapshot().await;
    assert_eq!(snapshot_before, snapshot_after);
    // Another device pushing the same (already known) changes: stored, not duplicated.
    let third = sync(&r, &r.d2, &req(0, vec![h.push_all()])).await;
    assert_eq!(third.stored, 2);
    assert_eq!(log_count(&r).await, 2);
    // A push with a duplicate inside, plus a new edit.
    let c = h.edit(2);
    let dup = sync(&r, &r.d1, &req(2, vec![DocChanges { doc: *h.id.as_bytes(), changes: vec![c.clone(), c] }])).await;
    assert_eq!((dup.stored, dup.cursor), (2, 3));
    assert_eq!(log_count(&r).await, 3);
}

async fn small_pages_cover_everything_without_gaps(kind: Kind) {
    let r = relay(kind).await;
    let mut households: Vec<Household> = (0..3).map(|_| Household::new("P-001")).collect();
    for (i, h) in households.iter_mut().enumerate() {
        for n in 0..4 {
            h.edit((i * 10 + n) as u64);
        }
    }
    let push: Vec<DocChanges> = households.iter().map(Household::push_all).collect();
    let resp = sync(&r, &r.d1, &req(0, push)).await;
    assert_eq!((resp.stored, resp.cursor), (15, 15));
    // D-2 pushes one change in between, which D-2 must not get back.
    let mut own = Household::new_by("P-001", "K-2");
    let own_resp = sync(&r, &r.d2, &SyncRequest { cursor: 0, push: vec![own.push_all()], page_bytes: 1 }).await;
    assert_eq!(own_resp.stored, 1);
    own.edit(99);
    let mut cursor = own_resp.cursor;
    let mut pulled: Vec<DocChanges> = own_resp.pull;
    let mut pages = 1;
    let mut more = own_resp.more;
    while more {
        let resp = sync(&r, &r.d2, &SyncRequest { cursor, push: vec![], page_bytes: 1 }).await;
        assert!(resp.cursor > cursor, "cursor advances");
        assert_eq!(resp.pull.iter().map(|d| d.changes.len()).sum::<usize>(), 1, "one change per tiny page");
        cursor = resp.cursor;
        more = resp.more;
        pulled.extend(resp.pull);
        pages += 1;
        assert!(pages < 100);
    }
    assert_eq!(cursor, 16);
    let total: usize = pulled.iter().map(|d| d.changes.len()).sum();
    assert_eq!(total, 15);
    assert!(!pulled.iter().any(|d| d.doc == *own.id.as_bytes()), "own changes not echoed");
    let mut docs = apply_all(&pulled);
    for h in &households {
        let d = docs.get_mut(h.id.as_bytes()).unwrap();
        assert!(d.missing_deps().is_empty());
        assert_eq!(d.id(), Some(h.id));
    }
    // Large pages: everything at once.
    let all = sync(&r, &r.d3, &req(0, vec![])).await;
    assert!(all.pull.is_empty(), "other Posyandu");
    let all = sync(&r, &r.d1, &req(0, vec![])).await;
    assert_eq!((all.pull.len(), all.cursor, all.more), (1, 16, false), "D-1 gets only D-2's change");
}

async fn out_of_scope_pushes_are_refused_atomically(kind: Kind) {
    let r = relay(kind).await;
    let mut h = Household::new("P-001");
    sync(&r, &r.d1, &req(0, vec![h.push_all()])).await;
    let before = log_count(&r).await;
    // D-3 (P-002) edits a P-001 document, alongside a valid new one of its own.
    let edit = h.edit(5);
    let mine = Household::new("P-002");
    let resp = post_raw(
        &r,
        SYNC_PATH,
        Some(&r.d3),
        encode(&req(0, vec![mine.push_all(), DocChanges { doc: *h.id.as_bytes(), changes: vec![edit] }])),
    )
    .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.code(), "forbidden_scope");
    assert_eq!(log_count(&r).await, before, "nothing stored");
    assert_eq!(doc_count(&r).await, 1);
    // A new document claiming another Posyandu.
    let foreign = Household::new("P-002");
    let resp = post_raw(&r, SYNC_PATH, Some(&r.d1), encode(&req(0, vec![foreign.push_all()]))).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::FORBIDDEN, "forbidden_scope"));
    // A document pushed under another id.
    let other = Household::new("P-001");
    let resp = post_raw(
        &r,
        SYNC_PATH,
        Some(&r.d1),
        encode(&req(0, vec![DocChanges { doc: [7; 16], changes: other.changes }])),
    )
    .await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::FORBIDDEN, "doc_id_mismatch"));
    assert_eq!(log_count(&r).await, before);
}

async fn missing_dependencies_and_bad_changes_are_400(kind: Kind) {
    let r = relay(kind).await;
    let mut h = Household::new("P-001");
    let second = h.edit(1);
    let resp = post_raw(
        &r,
        SYNC_PATH,
        Some(&r.d1),
        encode(&req(0, vec![DocChanges { doc: *h.id.as_bytes(), changes: vec![second] }])),
    )
    .await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::BAD_REQUEST, "missing_dependencies"));
    let resp = post_raw(
        &r,
        SYNC_PATH,
        Some(&r.d1),
        encode(&req(0, vec![DocChanges { doc: *h.id.as_bytes(), changes: vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2]] }])),
    )
    .await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::BAD_REQUEST, "bad_change"));
    assert!(resp.error().message.contains("rusak"));
    assert_eq!(log_count(&r).await, 0);
    assert_eq!(doc_count(&r).await, 0);
}

async fn garbage_bodies_never_5xx_nor_store(kind: Kind) {
    let r = relay(kind).await;
    let mut h = Household::new("P-001");
    h.edit(1);
    let valid = encode(&req(0, vec![h.push_all()]));
    let mut bodies: Vec<Vec<u8>> = vec![vec![], vec![1], vec![0], vec![PROTOCOL_VERSION, 0x28, 0xb5, 0x2f, 0xfd]];
    for cut in (0..valid.len()).step_by((valid.len() / 40).max(1)) {
        bodies.push(valid[..cut].to_vec());
    }
    for i in 0..200 {
        let len = (rand::random::<u32>() % 600) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        if i % 2 == 0 && !b.is_empty() {
            b[0] = PROTOCOL_VERSION;
        }
        bodies.push(b);
    }
    // Valid envelopes around garbage messages and garbage changes.
    for i in 0..50u8 {
        let junk: Vec<u8> = (0..(i as usize * 7)).map(|_| rand::random::<u8>()).collect();
        let mut b = vec![PROTOCOL_VERSION];
        b.extend(zstd::bulk::compress(&junk, 3).unwrap());
        bodies.push(b);
        let mut change = h.changes[0].clone();
        let at = rand::random::<u32>() as usize % change.len();
        change[at] ^= 1 << (i % 8);
        bodies.push(encode(&req(
            0,
            vec![DocChanges {
                doc: *h.id.as_bytes(),
                changes: vec![change[..change.len() - (i as usize % 3)].to_vec()],
            }],
        )));
    }
    for (path, token) in [(SYNC_PATH, &r.d1), (SNAPSHOT_PATH, &r.d1)] {
        for b in &bodies {
            let resp = post_raw(&r, path, Some(token), b.clone()).await;
            assert!(
                resp.status.is_client_error() || resp.status == StatusCode::OK,
                "{path}: {} for {:?}",
                resp.status,
                &b[..b.len().min(16)]
            );
            if resp.status != StatusCode::OK {
                assert!(resp.protocol.is_some());
                let _ = resp.error();
            }
        }
    }
    assert_eq!(log_count(&r).await, 0);
    assert_eq!(doc_count(&r).await, 0);
}

async fn version_size_and_auth_errors(kind: Kind) {
    let r = relay_with(kind, Limits { max_push_bytes: 1000, max_push_changes: 100, ..Limits::default() }).await;
    let h = Household::new("P-001");
    let mut body = encode(&req(0, vec![h.push_all()]));
    body[0] = PROTOCOL_VERSION + 1;
    let resp = post_raw(&r, SYNC_PATH, Some(&r.d1), body).await;
    assert_eq!(
        (resp.status, resp.code().as_str(), resp.protocol.as_deref()),
        (StatusCode::UPGRADE_REQUIRED, "unsupported_protocol", Some("1"))
    );
    // Over the body limit.
    let resp = post_raw(&r, SYNC_PATH, Some(&r.d1), vec![PROTOCOL_VERSION; MAX_BODY_BYTES + 1]).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    // Over the push limit (the body itself is small: it compresses well).
    let big = DocChanges { doc: *h.id.as_bytes(), changes: vec![vec![0u8; 2000]] };
    let resp = post_raw(&r, SYNC_PATH, Some(&r.d1), encode(&req(0, vec![big]))).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    // Tokens.
    let ok_body = encode(&req(0, vec![]));
    let resp = post_raw(&r, SYNC_PATH, None, ok_body.clone()).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let resp = post_raw(&r, SYNC_PATH, Some("not-a-token"), ok_body.clone()).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let resp = post_raw(&r, SYNC_PATH, Some(&r.puskesmas), ok_body.clone()).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::FORBIDDEN, "wrong_token_kind"));
    let snap = encode(&SnapshotRequest { after: None, page_bytes: DEFAULT_PAGE_BYTES });
    let resp = post_raw(&r, SNAPSHOT_PATH, Some(&r.puskesmas), snap).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(post_raw(&r, SYNC_PATH, Some(&r.d2), ok_body.clone()).await.status, StatusCode::OK);
    r.db.admin(|c| admin::revoke_device(c, "D-2").unwrap()).await;
    let resp = post_raw(&r, SYNC_PATH, Some(&r.d2), ok_body.clone()).await;
    assert_eq!((resp.status, resp.code().as_str()), (StatusCode::UNAUTHORIZED, "revoked_token"));
    // Re-issuing a device token revokes the old one.
    let issued = r.db.admin(|c| admin::add_device(c, "K-1", "D-1").unwrap()).await;
    let fresh = issued.token.clone();
    assert_eq!(post_raw(&r, SYNC_PATH, Some(&r.d1), ok_body.clone()).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(post_raw(&r, SYNC_PATH, Some(&fresh), ok_body.clone()).await.status, StatusCode::OK);
    // What link tokens check: a token by id is valid until revoked; an unknown id never.
    assert!(r.storage.token_valid(issued.token_id).await.unwrap());
    assert!(!r.storage.token_valid(issued.token_id + 10_000).await.unwrap());
    // Unknown route and wrong method: JSON errors with the header.
    let resp = post_raw(&r, "/v2/sync", Some(&fresh), ok_body).await;
    assert_eq!(
        (resp.status, resp.code().as_str(), resp.protocol.as_deref()),
        (StatusCode::NOT_FOUND, "not_found", Some("1"))
    );
    let (status, _) = get(&r, SYNC_PATH).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

async fn snapshot_pages_cover_all_docs_with_consistent_cursor(kind: Kind) {
    let r = relay(kind).await;
    let mut households: Vec<Household> = (0..5).map(|_| Household::new("P-001")).collect();
    for (i, h) in households.iter_mut().enumerate() {
        h.edit(i as u64);
    }
    let push: Vec<DocChanges> = households.iter().map(Household::push_all).collect();
    sync(&r, &r.d1, &req(0, push)).await;
    sync(&r, &r.d3, &req(0, vec![Household::new("P-002").push_all()])).await;
    let mut after = None;
    let mut got: Vec<SnapshotDoc> = Vec::new();
    loop {
        let resp = post_raw(&r, SNAPSHOT_PATH, Some(&r.d2), encode(&SnapshotRequest { after, page_bytes: 1 })).await;
        assert_eq!(resp.status, StatusCode::OK);
        let page: SnapshotPage = decode(&resp.body).unwrap();
        assert_eq!(page.docs.len(), 1, "at least (and here at most) one doc per page");
        assert_eq!((page.cursor, page.total_docs), (10, 5));
        got.extend(page.docs);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(got.len(), 5);
    assert!(got.windows(2).all(|w| w[0].doc < w[1].doc), "ordered by id");
    for d in &got {
        let mut doc = HouseholdDoc::load_readonly(&d.snapshot).unwrap();
        assert_eq!(doc.id().map(|u| *u.as_bytes()), Some(d.doc));
        assert!(doc.missing_deps().is_empty());
        assert_eq!(doc.posyandu_id().as_deref(), Some("P-001"));
    }
    // One big page.
    let resp = post_raw(
        &r,
        SNAPSHOT_PATH,
        Some(&r.d2),
        encode(&SnapshotRequest { after: None, page_bytes: DEFAULT_PAGE_BYTES }),
    )
    .await;
    let page: SnapshotPage = decode(&resp.body).unwrap();
    assert_eq!((page.docs.len(), page.next, page.cursor), (5, None, 10));
    assert_eq!(page.total_bytes, got.iter().map(|d| d.snapshot.len() as u64).sum::<u64>());
}

#[test]
fn migrations_upgrade_an_old_database() {
    use posyandu_server::storage::sqlite::{migrate_to, open_connection, MIGRATIONS};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.sqlite3");
    let token = {
        let mut conn = open_connection(&path).unwrap();
        assert_eq!(migrate_to(&mut conn, 1).unwrap(), 1);
        admin::add_posyandu(&conn, "P-001", "Posyandu Melati", None).unwrap();
        admin::add_kader(&conn, "K-1", "Kader", "P-001").unwrap();
        admin::add_device(&mut conn, "K-1", "D-1").unwrap().token
    };
    let storage = SqliteStorage::open(&path).unwrap();
    let version: i64 = storage.with_conn(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap());
    assert_eq!(version as usize, MIGRATIONS.len());
    // Reopening is a no-op; the upgraded database syncs.
    drop(storage);
    let storage = SqliteStorage::open(&path).unwrap();
    let mode: String = storage.with_conn(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap());
    assert_eq!(mode, "wal");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let state = AppState::new(storage.clone());
    let r = Relay {
        router: app(state.clone()),
        storage: state.storage.clone(),
        db: TestDb::Sqlite(storage.clone()),
        d1: token,
        d2: String::new(),
        d3: String::new(),
        puskesmas: String::new(),
    };
    rt.block_on(async {
        let resp = sync(&r, &r.d1, &req(0, vec![Household::new("P-001").push_all()])).await;
        assert_eq!(resp.stored, 1);
    });
    // A database from a newer relay is refused.
    storage.with_conn(|c| c.execute_batch("PRAGMA user_version = 99").unwrap());
    drop(storage);
    drop(r);
    assert!(SqliteStorage::open(&path).is_err());
}

async fn healthz_and_metrics(kind: Kind) {
    let r = relay(kind).await;
    let (status, body) = get(&r, "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let mut h = Household::new("P-001");
    h.edit(1);
    sync(&r, &r.d1, &req(0, vec![h.push_all()])).await;
    sync(&r, &r.d2, &req(0, vec![])).await;
    post_raw(&r, SYNC_PATH, None, vec![]).await;
    let (status, text) = get(&r, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "posyandu_sync_requests_total{endpoint=\"sync\",result=\"ok\"} 2",
        "posyandu_sync_requests_total{endpoint=\"sync\",result=\"unauthorized\"} 1",
        "posyandu_errors_total{code=\"unauthorized\"} 1",
        "posyandu_changes_stored_total 2",
        "posyandu_changes_pulled_total 2",
        "posyandu_sync_duration_seconds_count{endpoint=\"sync\"} 3",
        "posyandu_sync_bytes_in_total ",
        "posyandu_sync_bytes_out_total ",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

/// The real client against a real server: kader 1 records, syncs; kader 2's new phone
/// downloads snapshots, then both exchange edits.
#[test]
fn real_server_with_real_clients() {
    use posyandu_core::model::NewHousehold;
    use posyandu_core::sync::RelayConfig;
    use posyandu_core::{DeviceIdentity, Store};

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("relay.sqlite3")).unwrap();
    let (d1, d2, _, _) = register(&storage);
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(posyandu_server::serve(
        listener,
        app(AppState::new(storage.clone())),
        async {
            let _ = stop_rx.await;
        },
        std::time::Duration::from_secs(5),
    ));

    let open = |name: &str, device: &str, kader: &str, token: &str| {
        let s = Store::open(
            dir.path().join(name),
            DeviceIdentity { device_id: device.into(), kader_id: kader.into(), posyandu_id: "P-001".into() },
            std::sync::Arc::new(posyandu_core::MemoryKeyring::random()),
        )
        .unwrap();
        s.set_relay(&RelayConfig { url: url.clone(), token: token.into() }).unwrap();
        s
    };
    let a = open("a.sqlite3", "D-1", "K-1", &d1);
    let b = open("b.sqlite3", "D-2", "K-2", &d2);
    let address =
        Address { rt: "001".into(), rw: "002".into(), dusun: None, kode_wilayah: "3201010001".into(), street: None };
    let h1 = a
        .create_household(NewHousehold {
            kk_number: None,
            address: address.clone(),
            gps: None,
            spm: Default::default(),
        })
        .unwrap();
    let report = a.sync_now(&mut |_| {}).unwrap();
    assert!(report.pushed >= 1, "{report:?}");
    assert_eq!(a.pending_changes().unwrap(), 0);

    let report = b.sync_now(&mut |_| {}).unwrap();
    assert_eq!(report.snapshot_docs, 1, "{report:?}");
    assert_eq!(b.household(h1).unwrap().address.rt, "001");
    let h2 = b.create_household(NewHousehold { kk_number: None, address, gps: None, spm: Default::default() }).unwrap();
    b.update_household(h1, HouseholdPatch { kk_number: Some("3201010101010001".into()), ..Default::default() })
        .unwrap();
    b.sync_now(&mut |_| {}).unwrap();

    let report = a.sync_now(&mut |_| {}).unwrap();
    assert!(report.pulled >= 2, "{report:?}");
    assert_eq!(a.household(h1).unwrap().kk_number.as_deref(), Some("3201010101010001"));
    assert!(a.household(h2).is_ok());
    // One visit (a child weighed and measured, vitamin A) costs a few hundred bytes.
    use posyandu_core::model::{Measurements, NewMember, NewVisit, Relation, Services, VisitEntry, VisitKind};
    let child = a
        .add_member(
            h1,
            NewMember {
                nik: None,
                mother_nik: None,
                name: "Anak Uji".into(),
                birth_date: time::macros::date!(2024 - 01 - 15),
                sex: posyandu_core::growth::Sex::Female,
                relation: Relation::Anak,
                bpjs_number: None,
                kia_book: None,
            },
        )
        .unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    let entry = VisitEntry {
        member_id: child,
        measurements: Measurements {
            weight_kg: Some(9.4),
            length_height_cm: Some(76.5),
            muac_cm: Some(14.2),
            ..Default::default()
        },
        services: Services { vitamin_a: true, ..Default::default() },
        ..Default::default()
    };
    a.record_visit(
        h1,
        NewVisit { date: time::macros::date!(2025 - 02 - 10), kind: VisitKind::HariBuka, entries: vec![entry] },
    )
    .unwrap();
    let report = a.sync_now(&mut |_| {}).unwrap();
    eprintln!(
        "one visit: {} bytes up, {} bytes down, {} request(s)",
        report.bytes_up, report.bytes_down, report.requests
    );
    assert_eq!(report.requests, 1);
    assert!(report.bytes_up < 1500, "{report:?}");
    let report = b.sync_now(&mut |_| {}).unwrap();
    eprintln!("pulling it: {} bytes up, {} bytes down", report.bytes_up, report.bytes_down);

    // A no-op sync is one small request.
    let report = a.sync_now(&mut |_| {}).unwrap();
    assert_eq!((report.requests, report.pushed, report.pulled), (1, 0, 0));
    assert!(report.bytes_up + report.bytes_down < 2048, "{report:?}");
    eprintln!("no-op sync: {} bytes up, {} bytes down", report.bytes_up, report.bytes_down);

    let _ = stop_tx.send(());
    rt.block_on(server).unwrap().unwrap();
}

async fn docs_after_walks_changed_documents(kind: Kind) {
    let r = relay(kind).await;
    let mut a = Household::new("P-001");
    let b = Household::new("P-001");
    sync(&r, &r.d1, &req(0, vec![a.push_all(), b.push_all()])).await;
    sync(&r, &r.d3, &req(0, vec![Household::new("P-002").push_all()])).await;
    let all = r.storage.docs_after("P-001".into(), 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|d| (d.doc, d.updated_seq)).collect::<Vec<_>>(),
        vec![(*a.id.as_bytes(), 1), (*b.id.as_bytes(), 2)]
    );
    assert!(all.iter().all(|d| d.scope == "P-001"));
    // A late edit of `a` (by the other kader's phone) moves it after `b`.
    a.kader = "K-2";
    let c = a.edit(7);
    sync(&r, &r.d2, &req(0, vec![DocChanges { doc: *a.id.as_bytes(), changes: vec![c] }])).await;
    let after = r.storage.docs_after("P-001".into(), 2, 100).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].doc, after[0].updated_seq), (*a.id.as_bytes(), 3));
    let doc = HouseholdDoc::load_readonly(&after[0].snapshot).unwrap();
    assert_eq!(doc.read().unwrap().kk_number.as_deref(), Some("0000000000000007"));
    assert_eq!(r.storage.docs_after("P-001".into(), 0, 1).await.unwrap().len(), 1, "limit");
    assert!(r.storage.docs_after("P-001".into(), 3, 10).await.unwrap().is_empty());
    assert_eq!(r.storage.docs_after("P-002".into(), 0, 10).await.unwrap().len(), 1);
}

/// PostgreSQL migrations: applying them again is a no-op, two relays starting at once
/// do not race, and a database of a newer relay is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_are_idempotent_and_guarded() {
    use posyandu_server::storage::postgres::MIGRATIONS;
    let schema = PgSchema::new();
    let (a, b) = tokio::join!(PgStorage::connect(&schema.url, 2), PgStorage::connect(&schema.url, 2));
    let (a, _b) = (a.unwrap(), b.unwrap());
    let client = a.pool().get().await.unwrap();
    let rows = client.query("SELECT version FROM schema_version ORDER BY version", &[]).await.unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=MIGRATIONS.len() as i32).collect::<Vec<_>>());
    let url = schema.url.clone();
    let token = tokio::task::spawn_blocking(move || {
        let reg = PgRegistry::connect(&url).unwrap();
        admin::add_posyandu(&reg, "P-001", "Posyandu Melati", None).unwrap();
        admin::add_kader(&reg, "K-1", "Kader", "P-001").unwrap();
        admin::add_device(&reg, "K-1", "D-1").unwrap().token
    })
    .await
    .unwrap();
    // Reconnecting (migrations again) keeps data and versions.
    let again = PgStorage::connect(&schema.url, 2).await.unwrap();
    let n: i64 = client.query_one("SELECT count(*) FROM schema_version", &[]).await.unwrap().get(0);
    assert_eq!(n as usize, MIGRATIONS.len());
    let state = AppState::new(again.clone());
    let r = Relay {
        router: app(state.clone()),
        storage: state.storage.clone(),
        db: TestDb::Sqlite(SqliteStorage::open_in_memory().unwrap()),
        d1: token,
        d2: String::new(),
        d3: String::new(),
        puskesmas: String::new(),
    };
    let resp = sync(&r, &r.d1, &req(0, vec![Household::new("P-001").push_all()])).await;
    assert_eq!((resp.stored, resp.cursor), (1, 1));
    client.execute("INSERT INTO schema_version VALUES (99, 0)", &[]).await.unwrap();
    let err = PgStorage::connect(&schema.url, 2).await.err().expect("newer schema refused");
    assert!(format!("{err:?}").contains("newer"), "{err:?}");
}
