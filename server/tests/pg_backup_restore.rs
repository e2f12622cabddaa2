//! The PostgreSQL backup procedure of docs/deployment.md, tested: `pg_dump -Fc` of a
//! relay's data, `pg_restore` into a NEW database, a relay on the restored copy serves
//! the same data (pull, snapshot, Puskesmas docs, registry) to the same tokens; after
//! `admin new-epoch` a phone's re-push heals what the restored copy lacks.

use std::process::Command;

use automerge::ActorId;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::wire::*;
use posyandu_server::admin;
use posyandu_server::storage::postgres::PgRegistry;
use posyandu_server::storage::{PgStorage, Storage};
use posyandu_server::{app, AppState};
use tower::ServiceExt;
use uuid::Uuid;

fn base() -> String {
    std::env::var("POSYANDU_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A household document as a phone creates it (with its address).
fn new_doc(id: Uuid) -> HouseholdDoc {
    let mut d = HouseholdDoc::create(id, "P-001", &ActorId::random()).unwrap();
    let address = posyandu_records::model::Address {
        rt: "001".into(),
        rw: "002".into(),
        kode_wilayah: "3201010001".into(),
        ..Default::default()
    };
    let patch = posyandu_records::model::HouseholdPatch { address: Some(address), ..Default::default() };
    d.patch_household(&patch, time::macros::date!(2024 - 01 - 01)).unwrap();
    d
}

async fn sql(conn: &str, stmt: &str) {
    let (client, c) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await.expect("PostgreSQL");
    tokio::spawn(c);
    client.batch_execute(stmt).await.unwrap();
}

async fn post(router: &Router, path: &str, token: &str, body: Vec<u8>) -> Vec<u8> {
    let req = Request::post(path).header("authorization", format!("Bearer {token}")).body(Body::from(body)).unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_then_pg_restore_into_a_new_database_serves_the_same_data() {
    let schema = format!("t_{}", Uuid::new_v4().simple());
    let restored_db = format!("r_{}", Uuid::new_v4().simple());
    sql(&base(), &format!("CREATE SCHEMA {schema}")).await;
    let src_url = format!("{} options='-csearch_path={schema}'", base());
    let src = PgStorage::connect(&src_url, 2).await.unwrap();
    let url = src_url.clone();
    let (d1, d2) = tokio::task::spawn_blocking(move || {
        let reg = PgRegistry::connect(&url).unwrap();
        admin::add_puskesmas(&reg, "PKM-01", "Puskesmas").unwrap();
        admin::add_posyandu(&reg, "P-001", "Posyandu Melati", Some("PKM-01")).unwrap();
        admin::add_kader(&reg, "K-1", "Kader Satu", "P-001").unwrap();
        admin::add_kader(&reg, "K-2", "Kader Dua", "P-001").unwrap();
        (admin::add_device(&reg, "K-1", "D-1").unwrap().token, admin::add_device(&reg, "K-2", "D-2").unwrap().token)
    })
    .await
    .unwrap();
    let src_router = app(AppState::new(src.clone()));
    let push: Vec<DocChanges> = (0..3)
        .map(|i| {
            let id = Uuid::new_v4();
            let mut d = new_doc(id);
            DocChanges {
                doc: *id.as_bytes(),
                changes: vec![d.commit("K-1", 1_700_000_000 + i).unwrap().raw_bytes().to_vec()],
            }
        })
        .collect();
    let body = encode(&SyncRequest { cursor: 0, push: push.clone(), page_bytes: DEFAULT_PAGE_BYTES });
    let r: SyncResponse = decode(&post(&src_router, SYNC_PATH, &d1, body).await).unwrap();
    assert_eq!(r.cursor, 3);
    assert_ne!(r.epoch, 0);
    let held = push; // what D-1 holds (and re-pushes after a restore)

    // Backup (safe while relays run: pg_dump reads one consistent snapshot).
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("relay.dump");
    let out = Command::new("pg_dump")
        .args(["-Fc", "-n", &schema, "-f"])
        .arg(&dump)
        .arg("-d")
        .arg(base())
        .output()
        .expect("pg_dump");
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    // Restore into a new database.
    sql(&base(), &format!("CREATE DATABASE {restored_db}")).await;
    let restored_base = format!("{} dbname={restored_db}", base());
    let out = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "-d", &restored_base])
        .arg(&dump)
        .output()
        .expect("pg_restore");
    let ok = out.status.success();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let schema2 = schema.clone();
    let result = async move {
        let schema = schema2;
        assert!(ok, "pg_restore: {stderr}");
        let dst_url = format!("{restored_base} options='-csearch_path={schema}'");
        let dst = PgStorage::connect(&dst_url, 2).await.unwrap();
        let dst_router = app(AppState::new(dst.clone()));
        // The same tokens work; D-2 pulls the same page from both; snapshots and the
        // Puskesmas read agree; the registry listing is identical.
        let pull = encode(&SyncRequest { cursor: 0, push: vec![], page_bytes: DEFAULT_PAGE_BYTES });
        let a: SyncResponse = decode(&post(&src_router, SYNC_PATH, &d2, pull.clone()).await).unwrap();
        let b: SyncResponse = decode(&post(&dst_router, SYNC_PATH, &d2, pull).await).unwrap();
        assert_eq!(a, b);
        assert_eq!((b.cursor, b.pull.len()), (3, 3));
        let snap = encode(&SnapshotRequest { after: None, page_bytes: DEFAULT_PAGE_BYTES });
        let a: SnapshotPage = decode(&post(&src_router, SNAPSHOT_PATH, &d2, snap.clone()).await).unwrap();
        let b: SnapshotPage = decode(&post(&dst_router, SNAPSHOT_PATH, &d2, snap).await).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            src.docs_after("P-001".into(), 0, 100).await.unwrap(),
            dst.docs_after("P-001".into(), 0, 100).await.unwrap()
        );
        let (u1, u2) = (src_url.clone(), dst_url.clone());
        let (l1, l2) = tokio::task::spawn_blocking(move || {
            (
                admin::list(&PgRegistry::connect(&u1).unwrap()).unwrap(),
                admin::list(&PgRegistry::connect(&u2).unwrap()).unwrap(),
            )
        })
        .await
        .unwrap();
        assert_eq!(l1, l2);
        // After the dump, D-1 pushes one more household to the live relay (acknowledged:
        // the phone drops it from its outbox). The restored copy lacks it.
        let id = Uuid::new_v4();
        let mut d = new_doc(id);
        let late = DocChanges { doc: *id.as_bytes(), changes: vec![d.commit("K-1", 2).unwrap().raw_bytes().to_vec()] };
        let body = encode(&SyncRequest { cursor: 3, push: vec![late.clone()], page_bytes: DEFAULT_PAGE_BYTES });
        let r: SyncResponse = decode(&post(&src_router, SYNC_PATH, &d1, body).await).unwrap();
        assert_eq!(r.cursor, 4);
        // The restored relay keeps working: new seqs continue after the restored ones.
        let id = Uuid::new_v4();
        let mut d = new_doc(id);
        let push =
            vec![DocChanges { doc: *id.as_bytes(), changes: vec![d.commit("K-2", 1).unwrap().raw_bytes().to_vec()] }];
        let body = encode(&SyncRequest { cursor: 3, push, page_bytes: DEFAULT_PAGE_BYTES });
        let r: SyncResponse = decode(&post(&dst_router, SYNC_PATH, &d2, body).await).unwrap();
        assert_eq!(r.cursor, 4, "log position 4 is reused: D-1's cursor 4 would skip it");
        let old_epoch = r.epoch;

        // The restore procedure's last step: a new epoch.
        let u = dst_url.clone();
        let epoch = tokio::task::spawn_blocking(move || admin::new_epoch(&PgRegistry::connect(&u).unwrap()).unwrap())
            .await
            .unwrap();
        assert_ne!(epoch, old_epoch);
        // D-1 syncs with its old cursor and sees the new epoch ...
        let body = encode(&SyncRequest { cursor: 4, push: vec![], page_bytes: DEFAULT_PAGE_BYTES });
        let r: SyncResponse = decode(&post(&dst_router, SYNC_PATH, &d1, body).await).unwrap();
        assert_eq!(r.epoch, epoch);
        let snap = encode(&SnapshotRequest { after: None, page_bytes: DEFAULT_PAGE_BYTES });
        let p: SnapshotPage = decode(&post(&dst_router, SNAPSHOT_PATH, &d1, snap).await).unwrap();
        assert_eq!(p.epoch, epoch);
        // ... so, as the client does, it re-pushes everything it holds and pulls from 0:
        // the relay dedupes by hash, appends only what it lacked, and D-1 gets D-2's
        // household that took position 4.
        let mut all = held;
        all.push(late);
        let body = encode(&SyncRequest { cursor: 0, push: all, page_bytes: DEFAULT_PAGE_BYTES });
        let r: SyncResponse = decode(&post(&dst_router, SYNC_PATH, &d1, body).await).unwrap();
        assert_eq!((r.stored, r.cursor, r.pull.len(), r.epoch), (4, 5, 1, epoch));
        assert_eq!(r.pull[0].doc, *id.as_bytes());
        assert_eq!(dst.docs_after("P-001".into(), 0, 100).await.unwrap().len(), 5);
        drop(dst_router);
        drop(dst);
    };
    let outcome = tokio::spawn(result).await;
    sql(&base(), &format!("DROP DATABASE IF EXISTS {restored_db} WITH (FORCE)")).await;
    sql(&base(), &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
