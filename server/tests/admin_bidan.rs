//! `posyandu-relay admin list` shows the bidan and their tokens (token id, bidan id,
//! Posyandu covered, revoked) on both backends, like the device and Puskesmas tokens.
//! PostgreSQL: a fresh schema (env `POSYANDU_TEST_PG`), dropped at the end.

use posyandu_server::admin;
use posyandu_server::bidan::registry::{self as bidan_registry, BidanRegistry};
use posyandu_server::storage::postgres::PgRegistry;
use posyandu_server::storage::{PgStorage, SqliteStorage};
use uuid::Uuid;

/// Registers two bidan, issues three tokens, revokes one; returns `admin list`'s text.
fn scenario(reg: &dyn BidanRegistry) -> String {
    admin::add_puskesmas(reg, "PKM-01", "Puskesmas Satu").unwrap();
    admin::add_posyandu(reg, "P-001", "Posyandu Melati", Some("PKM-01")).unwrap();
    admin::add_posyandu(reg, "P-002", "Posyandu Mawar", Some("PKM-01")).unwrap();
    admin::add_kader(reg, "K-1", "Kader Satu", "P-001").unwrap();
    let device = admin::add_device(reg, "K-1", "D-1").unwrap();
    bidan_registry::add_bidan(reg, "B-001", "Bidan Rina", &["P-002".into(), "P-001".into()]).unwrap();
    bidan_registry::add_bidan(reg, "B-002", "Bidan Sari", &["P-002".into()]).unwrap();
    let t1 = bidan_registry::bidan_token(reg, "B-001").unwrap();
    let t2 = bidan_registry::bidan_token(reg, "B-002").unwrap();
    let t3 = bidan_registry::bidan_token(reg, "B-001").unwrap();
    bidan_registry::revoke_bidan_token(reg, t1.token_id).unwrap();
    let text = format!("{}{}", admin::list(reg).unwrap(), bidan_registry::list(reg).unwrap());
    // The device token is still listed as before; the bidan lines follow.
    assert!(text.contains(&format!("Token #{}  device  perangkat D-1 kader K-1", device.token_id)), "{text}");
    assert!(text.contains("Bidan B-001  Bidan Rina  (Posyandu P-001, P-002)"), "{text}");
    assert!(text.contains("Bidan B-002  Bidan Sari  (Posyandu P-002)"), "{text}");
    let line = |id: i64| {
        text.lines()
            .find(|l| l.starts_with(&format!("Token bidan #{id}  ")))
            .unwrap_or_else(|| panic!("token {id} not listed:\n{text}"))
            .to_string()
    };
    let (l1, l2, l3) = (line(t1.token_id), line(t2.token_id), line(t3.token_id));
    assert!(l1.contains("bidan B-001  Posyandu P-001, P-002") && l1.contains("dicabut "), "{l1}");
    assert!(l2.contains("bidan B-002  Posyandu P-002") && l2.ends_with("aktif"), "{l2}");
    assert!(l3.contains("bidan B-001") && l3.ends_with("aktif"), "{l3}");
    // Never the token itself.
    for t in [&t1.token, &t2.token, &t3.token] {
        assert!(!text.contains(t.as_str()));
    }
    // `add-bidan` again replaces the list: shown at once.
    bidan_registry::add_bidan(reg, "B-002", "Bidan Sari", &["P-001".into()]).unwrap();
    let after = bidan_registry::list(reg).unwrap();
    assert!(after.contains(&format!("Token bidan #{}  bidan B-002  Posyandu P-001  ", t2.token_id)), "{after}");
    text
}

#[test]
fn sqlite_lists_bidan_tokens() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let empty = s.with_conn(|c| bidan_registry::list(&*c).unwrap());
    assert_eq!(empty, "", "no bidan: no lines");
    s.with_conn(|c| scenario(&*c));
}

#[test]
fn postgres_lists_bidan_tokens() {
    let base = std::env::var("POSYANDU_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    let schema = format!("t_{}", Uuid::new_v4().simple());
    let admin_sql = |sql: String| {
        let base = base.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.expect("PostgreSQL");
                tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
            })
        })
        .join()
        .unwrap()
    };
    admin_sql(format!("CREATE SCHEMA {schema}"));
    let url = format!("{base} options='-csearch_path={schema}'");
    let result = std::panic::catch_unwind(|| {
        // Migrations (PgStorage::connect runs them), then the registry as the CLI opens it.
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        drop(rt.block_on(PgStorage::connect(&url, 1)).unwrap());
        drop(rt);
        let reg = PgRegistry::connect(&url).unwrap();
        assert_eq!(bidan_registry::list(&reg).unwrap(), "");
        scenario(&reg);
    });
    admin_sql(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
