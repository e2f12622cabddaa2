//! The read model equals a from-scratch derivation, whatever the order of pushes.
//!
//! Property, on both backends (SQLite; PostgreSQL in a fresh schema): three devices of
//! one Posyandu create and edit households offline (children weighed month after
//! month, the same field edited concurrently so conflicts arise, members added), then
//! push in a random interleaving with random batch sizes, duplicate pushes and late
//! pushes; half-way the relay is "restored from a backup" taken earlier (a new epoch)
//! and every device re-pushes what it holds. After each phase, every read-model row
//! equals [`read_model::HouseholdView`] derived from scratch from the stored document
//! ([`read_model::verify`]), and a Puskesmas report read over HTTP counts what the
//! devices recorded. The checker itself is shown able to fail (a tampered row is
//! found).

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::ActorId;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::model::*;
use posyandu_records::wire::*;
use posyandu_server::admin::{self, Registry};
use posyandu_server::at_rest::Blob;
use posyandu_server::read_model;
use posyandu_server::storage::postgres::PgRegistry;
use posyandu_server::storage::{PgStorage, SqliteStorage, Storage};
use posyandu_server::{app, AppState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower::ServiceExt;
use uuid::Uuid;

const POSYANDU: &str = "P-001";
const KADER: [&str; 3] = ["K-1", "K-2", "K-3"];

/// A phone: the raw changes it holds per document, in the order it made or got them.
#[derive(Default, Clone)]
struct Phone {
    held: BTreeMap<Uuid, Vec<Vec<u8>>>,
    /// Its own changes not yet pushed, in order.
    outbox: Vec<(Uuid, Vec<u8>)>,
}

struct Tokens {
    devices: Vec<String>,
    puskesmas: String,
}

fn register(reg: &dyn Registry) -> Tokens {
    admin::add_puskesmas(reg, "PKM-01", "Puskesmas").unwrap();
    admin::add_posyandu(reg, POSYANDU, "Posyandu Melati", Some("PKM-01")).unwrap();
    let mut devices = Vec::new();
    for (i, k) in KADER.iter().enumerate() {
        admin::add_kader(reg, k, &format!("Kader {i}"), POSYANDU).unwrap();
        devices.push(admin::add_device(reg, k, &format!("D-{i}")).unwrap().token);
    }
    Tokens { devices, puskesmas: admin::puskesmas_token(reg, "PKM-01").unwrap().token }
}

fn date(y: i32, m: u8, d: u8) -> time::Date {
    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
}

fn commit(doc: &mut HouseholdDoc, kader: &str, t: i64) -> Vec<u8> {
    doc.commit(kader, t).expect("a change").raw_bytes().to_vec()
}

/// Builds the devices' offline work: each device creates two households; device 1 and
/// 2 also edit a household of device 0 (received through the relay beforehand:
/// `shared` changes are pushed first, in order, by device 0).
fn offline_work(rng: &mut StdRng) -> (Vec<Phone>, Vec<(Uuid, Vec<u8>)>) {
    let mut phones = vec![Phone::default(), Phone::default(), Phone::default()];
    let mut t = 1_700_000_000i64;
    let mut shared_changes = Vec::new();
    // The shared household, created by device 0 and synced to all before going offline.
    let shared = Uuid::new_v4();
    let child = Uuid::new_v4();
    let mut base = HouseholdDoc::create(shared, POSYANDU, &ActorId::random()).unwrap();
    base.patch_household(
        &HouseholdPatch {
            address: Some(Address {
                rt: "001".into(),
                rw: "002".into(),
                kode_wilayah: "3201010001".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        date(2024, 1, 1),
    )
    .unwrap();
    base.add_member(
        child,
        &NewMember {
            nik: None,
            mother_nik: None,
            name: "Anak Bersama".into(),
            birth_date: date(2023, 3, 10),
            sex: Sex::Female,
            relation: Relation::Anak,
            bpjs_number: None,
            kia_book: Some(true),
        },
    )
    .unwrap();
    t += 1;
    let c = commit(&mut base, KADER[0], t);
    shared_changes.push((shared, c.clone()));
    let base_bytes = base.save();
    for p in &mut phones {
        p.held.entry(shared).or_default().push(c.clone());
    }
    for (i, phone) in phones.iter_mut().enumerate() {
        let kader = KADER[i];
        // Own households with a child weighed over several months.
        for h in 0..2 {
            let id = Uuid::new_v4();
            let mut doc = HouseholdDoc::create(id, POSYANDU, &ActorId::random()).unwrap();
            let address = Address {
                rt: format!("00{}", h + 1),
                rw: "001".into(),
                kode_wilayah: "3201010001".into(),
                ..Default::default()
            };
            doc.patch_household(&HouseholdPatch { address: Some(address), ..Default::default() }, date(2024, 1, 1))
                .unwrap();
            let m = Uuid::new_v4();
            doc.add_member(
                m,
                &NewMember {
                    nik: Some(format!("320101010{i}{h}00001")),
                    mother_nik: None,
                    name: format!("Balita {i}-{h}"),
                    birth_date: date(2023, 1 + rng.random_range(0..6u8), 5),
                    sex: if rng.random_bool(0.5) { Sex::Male } else { Sex::Female },
                    relation: Relation::Anak,
                    bpjs_number: Some("0001234567890".into()),
                    kia_book: None,
                },
            )
            .unwrap();
            t += 1;
            let c = commit(&mut doc, kader, t);
            phone.held.entry(id).or_default().push(c.clone());
            phone.outbox.push((id, c));
            let mut w = 7.0 + rng.random_range(0.0..1.5);
            for month in 1..=rng.random_range(3..7u8) {
                w += rng.random_range(-0.3..0.5);
                let visit = Visit {
                    id: Uuid::new_v4(),
                    date: date(2024, month, rng.random_range(1..28u8)),
                    kind: if rng.random_bool(0.7) { VisitKind::HariBuka } else { VisitKind::KunjunganRumah },
                    kader_id: kader.into(),
                    posyandu_id: POSYANDU.into(),
                    entries: vec![VisitEntry {
                        member_id: m,
                        measurements: Measurements {
                            weight_kg: Some((w * 10.0f64).round() / 10.0),
                            ..Default::default()
                        },
                        ..Default::default()
                    }],
                    deleted: false,
                };
                doc.add_visit(&visit).unwrap();
                t += 1;
                let c = commit(&mut doc, kader, t);
                phone.held.entry(id).or_default().push(c.clone());
                phone.outbox.push((id, c));
            }
        }
        // Everyone edits the shared household offline: weighings of the same child,
        // and the same field (the child's name) concurrently: a conflict.
        let mut doc = HouseholdDoc::load(&base_bytes, &ActorId::random()).unwrap();
        let visit = Visit {
            id: Uuid::new_v4(),
            date: date(2024, 2 + i as u8, 10),
            kind: VisitKind::KunjunganRumah,
            kader_id: kader.into(),
            posyandu_id: POSYANDU.into(),
            entries: vec![VisitEntry {
                member_id: child,
                measurements: Measurements { weight_kg: Some(8.0 + i as f64 * 0.4), ..Default::default() },
                ..Default::default()
            }],
            deleted: false,
        };
        doc.add_visit(&visit).unwrap();
        if i > 0 {
            doc.patch_member(child, &MemberPatch { name: Some(format!("Nama versi {i}")), ..Default::default() })
                .unwrap();
        }
        t += 1;
        let c = commit(&mut doc, kader, t);
        phone.held.entry(shared).or_default().push(c.clone());
        phone.outbox.push((shared, c));
    }
    (phones, shared_changes)
}

async fn push(router: &Router, token: &str, changes: &[(Uuid, Vec<u8>)]) {
    let mut by_doc: Vec<DocChanges> = Vec::new();
    for (id, c) in changes {
        match by_doc.iter_mut().find(|d| d.doc == *id.as_bytes()) {
            Some(d) => d.changes.push(c.clone()),
            None => by_doc.push(DocChanges { doc: *id.as_bytes(), changes: vec![c.clone()] }),
        }
    }
    let body = encode(&SyncRequest { cursor: 0, push: by_doc, page_bytes: DEFAULT_PAGE_BYTES });
    let req =
        Request::post(SYNC_PATH).header("authorization", format!("Bearer {token}")).body(Body::from(body)).unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::OK, "push refused: {}", String::from_utf8_lossy(&bytes));
}

/// Pushes every device's outbox in a random interleaving of random batches; some
/// batches are pushed twice, some held back and pushed last (late).
async fn push_randomly(router: &Router, tokens: &Tokens, phones: &mut [Phone], rng: &mut StdRng) {
    let mut late: Vec<(usize, Vec<(Uuid, Vec<u8>)>)> = Vec::new();
    loop {
        let ready: Vec<usize> = (0..phones.len()).filter(|&i| !phones[i].outbox.is_empty()).collect();
        if ready.is_empty() {
            break;
        }
        let i = ready[rng.random_range(0..ready.len())];
        let n = rng.random_range(1..=phones[i].outbox.len().min(4));
        let batch: Vec<(Uuid, Vec<u8>)> = phones[i].outbox.drain(..n).collect();
        if rng.random_bool(0.15) && late.iter().all(|(d, _)| *d != i) {
            // Held back: the device's later changes wait too (causal order per device).
            let rest: Vec<_> = phones[i].outbox.drain(..).collect();
            late.push((i, batch.into_iter().chain(rest).collect()));
            continue;
        }
        push(router, &tokens.devices[i], &batch).await;
        if rng.random_bool(0.2) {
            push(router, &tokens.devices[i], &batch).await; // a retried push
        }
    }
    for (i, batch) in late {
        push(router, &tokens.devices[i], &batch).await;
    }
}

async fn assert_consistent(storage: &Arc<dyn Storage>, what: &str) -> usize {
    let (checked, bad) = read_model::verify(storage, &[POSYANDU.to_string()]).await.unwrap();
    assert!(bad.is_empty(), "{what}: read model differs from the documents: {bad:?}");
    checked
}

async fn report_weighed(router: &Router, tokens: &Tokens) -> serde_json::Value {
    let req = Request::get(format!("/v1/report/{POSYANDU}/2024-03"))
        .header("authorization", format!("Bearer {}", tokens.puskesmas))
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// The scenario, on one backend: `restore` gives a storage restored from the backup
/// `backup` took (with a new epoch).
async fn scenario<B: Backend>(backend: &mut B, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (state, tokens) = backend.fresh().await;
    let storage = state.storage.clone();
    let router = app(state);
    let (mut phones, shared) = offline_work(&mut rng);
    push(&router, &tokens.devices[0], &shared).await;
    assert_consistent(&storage, "after the first push").await;

    // Half of the work, then a backup, then the rest.
    let mut first: Vec<Phone> = phones.clone();
    for (p, f) in phones.iter_mut().zip(first.iter_mut()) {
        let half = p.outbox.len() / 2;
        f.outbox.truncate(half);
        p.outbox.drain(..half);
    }
    push_randomly(&router, &tokens, &mut first, &mut rng).await;
    assert_consistent(&storage, "after the first half").await;
    backend.backup().await;
    push_randomly(&router, &tokens, &mut phones, &mut rng).await;
    let docs = assert_consistent(&storage, "after all pushes").await;
    assert_eq!(docs, 7, "3 devices × 2 households + the shared one");
    let before = report_weighed(&router, &tokens).await;

    // The relay is restored from the backup (it lacks the second half): phones re-push
    // everything they hold (other devices' changes too, while the relay heals).
    let state = backend.restore().await;
    let storage = state.storage.clone();
    let router = app(state);
    assert_consistent(&storage, "restored").await;
    let mut order: Vec<usize> = vec![0, 1, 2];
    order.sort_by_key(|_| rng.random::<u8>());
    for i in order {
        let all: Vec<(Uuid, Vec<u8>)> =
            phones[i].held.iter().flat_map(|(id, cs)| cs.iter().map(|c| (*id, c.clone()))).collect();
        for chunk in all.chunks(rng.random_range(1..6)) {
            push(&router, &tokens.devices[i], chunk).await;
        }
    }
    assert_eq!(assert_consistent(&storage, "healed").await, 7);
    // The healed relay's report equals the one before the restore (same facts).
    let after = report_weighed(&router, &tokens).await;
    for key in ["skdn", "households", "conflicts"] {
        assert_eq!(before[key], after[key], "{key} differs after healing");
    }
    assert!(after["conflicts"]["fields"].as_u64().unwrap() >= 1, "the concurrent name edits are a conflict");
    backend.tamper_and_check(&storage).await;
    // The repair (`admin rebuild-read-model --posyandu`): the damaged row is re-derived
    // although its stamp is current; meanwhile readers use the snapshot.
    let marked = storage.invalidate_read_model(Some(POSYANDU.to_string())).await.unwrap();
    assert!(marked >= 1);
    let (_, bad) = read_model::verify(&storage, &[POSYANDU.to_string()]).await.unwrap();
    assert!(bad.iter().all(|m| m.kind == "missing"), "marked rows are not read: {bad:?}");
    let rebuilt = read_model::rebuild(&storage, |_, _| {}).await.unwrap();
    assert_eq!(rebuilt, marked);
    assert_consistent(&storage, "after the repair").await;
}

/// Rewrites read-model rows behind the relay's back (sealed at rest: opened and
/// sealed again with the relay's keys): `edit` changes the body's text; `stamp`, if
/// given, replaces the stamp; `limit` rows at most. Returns the rows changed.
fn rewrite_rows(sqlite: &SqliteStorage, limit: usize, stamp: Option<&str>, edit: impl Fn(&str) -> String) -> usize {
    let keys = sqlite.keys().clone();
    sqlite.with_conn(|c| {
        let rows: Vec<(Vec<u8>, String, Vec<u8>)> = c
            .prepare("SELECT doc_id, scope, body FROM read_household ORDER BY doc_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut n = 0;
        for (doc, scope, body) in rows {
            let plain = keys.open_vec(&scope, &doc, Blob::ReadRow, body).unwrap();
            let text = String::from_utf8(plain).unwrap();
            let edited = edit(&text);
            if edited == text && stamp.is_none() {
                continue;
            }
            let sealed = keys.seal(&scope, &doc, Blob::ReadRow, edited.as_bytes());
            c.execute(
                "UPDATE read_household SET body = ?2, stamp = coalesce(?3, stamp) WHERE doc_id = ?1",
                rusqlite::params![doc, sealed, stamp],
            )
            .unwrap();
            n += 1;
            if n == limit {
                break;
            }
        }
        n
    })
}

trait Backend {
    async fn fresh(&mut self) -> (AppState, Tokens);
    async fn backup(&mut self);
    async fn restore(&mut self) -> AppState;
    /// Changes one row's body behind the relay's back: the checker must see it.
    async fn tamper_and_check(&mut self, storage: &Arc<dyn Storage>);
}

struct Sqlite {
    dir: tempfile::TempDir,
    storage: Option<SqliteStorage>,
    tokens: Option<Tokens>,
}

impl Backend for Sqlite {
    async fn fresh(&mut self) -> (AppState, Tokens) {
        let s = SqliteStorage::open(self.dir.path().join("relay.db")).unwrap();
        let tokens = s.with_conn(|c| register(&*c));
        self.storage = Some(s.clone());
        let t = Tokens { devices: tokens.devices.clone(), puskesmas: tokens.puskesmas.clone() };
        self.tokens = Some(tokens);
        (AppState::new(s), t)
    }
    async fn backup(&mut self) {
        let to = self.dir.path().join("backup.db");
        self.storage.as_ref().unwrap().with_conn(|c| c.execute("VACUUM INTO ?1", [to.to_str().unwrap()]).unwrap());
    }
    async fn restore(&mut self) -> AppState {
        let s = SqliteStorage::open(self.dir.path().join("backup.db")).unwrap();
        s.with_conn(|c| admin::new_epoch(&*c).unwrap());
        self.storage = Some(s.clone());
        AppState::new(s)
    }
    async fn tamper_and_check(&mut self, storage: &Arc<dyn Storage>) {
        let n = rewrite_rows(self.storage.as_ref().unwrap(), 1, None, |b| b.replacen("Balita", "Balitx", 1));
        assert_eq!(n, 1);
        let (_, bad) = read_model::verify(storage, &[POSYANDU.to_string()]).await.unwrap();
        assert_eq!(bad.iter().map(|m| m.kind).collect::<Vec<_>>(), vec!["body"], "the checker sees a changed row");
    }
}

fn pg_base() -> String {
    std::env::var("POSYANDU_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

async fn sql(conn: &str, stmt: &str) {
    let (client, c) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await.expect("PostgreSQL");
    tokio::spawn(c);
    client.batch_execute(stmt).await.unwrap();
}

struct Pg {
    schema: String,
    url: String,
    backup_schema: String,
    storage: Option<PgStorage>,
}

impl Backend for Pg {
    async fn fresh(&mut self) -> (AppState, Tokens) {
        sql(&pg_base(), &format!("CREATE SCHEMA {}", self.schema)).await;
        self.url = format!("{} options='-csearch_path={}'", pg_base(), self.schema);
        let s = PgStorage::connect(&self.url, 4).await.unwrap();
        self.storage = Some(s.clone());
        let url = self.url.clone();
        let tokens = tokio::task::spawn_blocking(move || register(&PgRegistry::connect(&url).unwrap())).await.unwrap();
        (AppState::new(s), tokens)
    }
    async fn backup(&mut self) {
        // A consistent copy of every table into another schema (what pg_dump/pg_restore
        // of docs/deployment.md give; pg_backup_restore.rs tests those tools).
        let mut stmts = format!("BEGIN ISOLATION LEVEL REPEATABLE READ; CREATE SCHEMA {};", self.backup_schema);
        for t in [
            "schema_version",
            "puskesmas",
            "posyandu",
            "kader",
            "token",
            "doc",
            "change_log",
            "scope_counter",
            "relay_epoch",
            "device_actor",
            "refusal",
            "read_household",
            "read_member",
            "read_model_skip",
            "read_posyandu",
            // The push reads the Posyandu's kader koordinator (migration 10, issue 13).
            "koordinator",
        ] {
            stmts.push_str(&format!(
                "CREATE TABLE {b}.{t} (LIKE {s}.{t} INCLUDING ALL); INSERT INTO {b}.{t} SELECT * FROM {s}.{t};",
                b = self.backup_schema,
                s = self.schema
            ));
        }
        stmts.push_str("COMMIT;");
        sql(&pg_base(), &stmts).await;
    }
    async fn restore(&mut self) -> AppState {
        self.url = format!("{} options='-csearch_path={}'", pg_base(), self.backup_schema);
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || admin::new_epoch(&PgRegistry::connect(&url).unwrap()).unwrap())
            .await
            .unwrap();
        let s = PgStorage::connect(&self.url, 4).await.unwrap();
        self.storage = Some(s.clone());
        AppState::new(s)
    }
    async fn tamper_and_check(&mut self, storage: &Arc<dyn Storage>) {
        let keys = self.storage.as_ref().unwrap().keys().clone();
        let (client, c) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(c);
        let rows = client.query("SELECT doc_id, scope, body FROM read_household ORDER BY doc_id", &[]).await.unwrap();
        let row = rows
            .iter()
            .find_map(|r| {
                let (doc, scope, body): (Vec<u8>, String, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
                let text = String::from_utf8(keys.open_vec(&scope, &doc, Blob::ReadRow, body).unwrap()).unwrap();
                text.contains("Balita").then(|| (doc, scope, text.replacen("Balita", "Balitx", 1)))
            })
            .unwrap();
        let sealed = keys.seal(&row.1, &row.0, Blob::ReadRow, row.2.as_bytes());
        client.execute("UPDATE read_household SET body = $2 WHERE doc_id = $1", &[&row.0, &sealed]).await.unwrap();
        let (_, bad) = read_model::verify(storage, &[POSYANDU.to_string()]).await.unwrap();
        assert_eq!(bad.iter().map(|m| m.kind).collect::<Vec<_>>(), vec!["body"], "the checker sees a changed row");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_model_equals_a_fresh_derivation_after_random_pushes() {
    for seed in 0..6 {
        let mut b = Sqlite { dir: tempfile::tempdir().unwrap(), storage: None, tokens: None };
        scenario(&mut b, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_read_model_equals_a_fresh_derivation_after_random_pushes() {
    for seed in 100..104 {
        let id = Uuid::new_v4().simple().to_string();
        let mut b =
            Pg { schema: format!("rm_{id}"), url: String::new(), backup_schema: format!("rmb_{id}"), storage: None };
        scenario(&mut b, seed).await;
        sql(&pg_base(), &format!("DROP SCHEMA {} CASCADE; DROP SCHEMA {} CASCADE", b.schema, b.backup_schema)).await;
    }
}

async fn get(router: &Router, path: &str, token: &str) -> (StatusCode, String) {
    let req = Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap())
}

/// A new release with other rules: rows stamped by the old rules are served until the
/// rebuild re-derives them, batch by batch, while the endpoints keep answering; then
/// every row is current and equals a fresh derivation; the background rebuild a relay
/// starts by itself does the same and reports progress in `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_upgrade_re_derives_old_rows_while_the_endpoints_answer() {
    let mut b = Sqlite { dir: tempfile::tempdir().unwrap(), storage: None, tokens: None };
    let (state, tokens) = b.fresh().await;
    let storage = state.storage.clone();
    let router = app(state.clone());
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..6 {
        let (mut phones, shared) = offline_work(&mut rng);
        push(&router, &tokens.devices[0], &shared).await;
        push_randomly(&router, &tokens, &mut phones, &mut rng).await;
    }
    assert_eq!(assert_consistent(&storage, "pushed").await, 42);
    // What an older release left: rows stamped by other rules, with other facts (the
    // children's names stand in for facts the old rules derived differently).
    let age_old_rows = |sqlite: &SqliteStorage| {
        let old = format!("{}r0-000000000000", read_model::format_prefix());
        rewrite_rows(sqlite, usize::MAX, Some(&old), |b| b.replace("Balita", "Lama"))
    };
    let export = |router: Router| {
        let token = tokens.puskesmas.clone();
        async move {
            let (status, body) = get(&router, "/v1/export?format=ndjson&limit=5000", &token).await;
            assert_eq!(status, StatusCode::OK);
            body
        }
    };
    let sqlite = b.storage.clone().unwrap();
    let names = export(router.clone()).await.matches("Balita").count();
    assert!(names >= 36, "6 rounds × 3 devices × 2 children");
    assert_eq!(age_old_rows(&sqlite), 42);
    let (_, bad) = read_model::verify(&storage, &[POSYANDU.to_string()]).await.unwrap();
    assert_eq!(bad.len(), 42, "every row is stale");
    // Old rows are served (not an error, not an empty export) until re-derived.
    let body = export(router.clone()).await;
    assert_eq!((body.matches("Lama").count(), body.matches("Balita").count()), (names, 0), "old facts served");
    let mut steps = 0;
    loop {
        let step = storage.rebuild_read_model(5).await.unwrap();
        steps += 1;
        // Throughout: every household answered, old and new rows mixed.
        let body = export(router.clone()).await;
        assert_eq!(body.matches("\"type\":\"household\"").count(), 42);
        assert_eq!(body.matches("Lama").count() + body.matches("Balita").count(), names);
        let (status, _) = get(&router, &format!("/v1/report/{POSYANDU}/2024-03"), &tokens.puskesmas).await;
        assert_eq!(status, StatusCode::OK);
        if step.remaining == 0 {
            break;
        }
    }
    assert_eq!(steps, 9, "42 rows in batches of 5");
    assert_eq!(assert_consistent(&storage, "re-derived").await, 42);
    assert_eq!(export(router.clone()).await.matches("Lama").count(), 0);

    // The background rebuild a relay starts by itself.
    age_old_rows(&sqlite);
    read_model::spawn_rebuild(state.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !read_model::verify(&storage, &[POSYANDU.to_string()]).await.unwrap().1.is_empty() {
        assert!(std::time::Instant::now() < deadline, "background rebuild did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, metrics) = get(&router, "/metrics", &tokens.puskesmas).await;
    assert!(metrics.contains("posyandu_read_model_stale 0"), "{metrics}");
    assert!(metrics.contains("posyandu_read_model_rebuilt_total 42"), "{metrics}");
}

/// Enrols kader with explicit times (Unix seconds) for [`kader_ada_counts`].
fn enrol_kader(reg: &dyn Registry) {
    admin::add_puskesmas(reg, "PKM-01", "Puskesmas").unwrap();
    for p in ["P-001", "P-002"] {
        admin::add_posyandu(reg, p, "Posyandu", Some("PKM-01")).unwrap();
    }
    for (k, p) in [("K-1", "P-001"), ("K-2", "P-001"), ("K-3", "P-001"), ("K-4", "P-002"), ("K-5", "P-001")] {
        reg.upsert_kader(k, "Kader", p, 500).unwrap();
    }
    for (d, k, p, at) in [
        ("D-a", "K-1", "P-001", 1000),
        ("D-b", "K-2", "P-001", 1000),
        ("D-c", "K-3", "P-001", 3000),
        ("D-d", "K-1", "P-001", 1500),
        ("D-e", "K-4", "P-002", 1000),
    ] {
        reg.replace_device_token(d, k, p, &[d.as_bytes()[2]; 32], at).unwrap().unwrap();
    }
    assert_eq!(reg.revoke_device_tokens("D-b", 2000).unwrap(), 1);
}

/// *Kader ada* (`Storage::kader_enrolled`): distinct kader with a device token of the
/// Posyandu created before the instant and not revoked before it; K-1 has two devices,
/// K-2's was revoked at 2000, K-3's enrolled at 3000, K-4 is of P-002, K-5 has none.
async fn kader_ada_counts(s: &dyn Storage) {
    let n = |p: &str, at: i64| s.kader_enrolled(p.to_string(), at);
    for (p, at, want) in [
        ("P-001", 1000, 0),
        ("P-001", 1001, 2),
        ("P-001", 2000, 2),
        ("P-001", 2001, 1),
        ("P-001", 3001, 2),
        ("P-002", 3001, 1),
        ("P-404", 3001, 0),
    ] {
        assert_eq!(n(p, at).await.unwrap(), want, "{p} at {at}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kader_ada_is_counted_alike_on_both_backends() {
    let s = SqliteStorage::open_in_memory().unwrap();
    s.with_conn(|c| enrol_kader(&*c));
    kader_ada_counts(&s).await;

    let schema = format!("ka_{}", Uuid::new_v4().simple());
    sql(&pg_base(), &format!("CREATE SCHEMA {schema}")).await;
    let url = format!("{} options='-csearch_path={schema}'", pg_base());
    let pg = PgStorage::connect(&url, 2).await.unwrap();
    let u = url.clone();
    tokio::task::spawn_blocking(move || enrol_kader(&PgRegistry::connect(&u).unwrap())).await.unwrap();
    kader_ada_counts(&pg).await;
    sql(&pg_base(), &format!("DROP SCHEMA {schema} CASCADE")).await;
}
