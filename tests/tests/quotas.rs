//! Issue 15, against real relay processes: the relay authenticates from the headers
//! before it reads a body; per-device quotas answer 429 with `Retry-After`; a
//! PostgreSQL connection lost under a request answers 503, and the phone retries by
//! itself.
//!
//! Needs `target/release/posyandu-relay` (or `POSYANDU_RELAY_BIN`); the PostgreSQL
//! test needs `POSYANDU_TEST_PG` (default: the local test database).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use posyandu_core::sync::wire::{self, SyncRequest, SYNC_PATH};
use posyandu_core::{Error, SyncError};
use posyandu_tests::fixtures::household;
use posyandu_tests::hostile::{pg_base, PgSchema};
use posyandu_tests::relay::{device, RelayProcess};

/// The status line and headers of the first response on `s` (read until the blank line).
fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            Ok(_) => break,
            Err(e) => panic!("no response ({e}); got so far: {:?}", String::from_utf8_lossy(&buf)),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn a_body_is_never_read_before_the_caller_is_authenticated() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.start().unwrap();
    // 4 MiB announced, 1 KiB sent: an answer can only come before the body was read.
    for auth in ["", "Authorization: Bearer psy_not-a-token\r\n"] {
        let mut s = TcpStream::connect(relay.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "POST {SYNC_PATH} HTTP/1.1\r\nHost: relay\r\n{auth}Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            4 << 20
        )
        .unwrap();
        s.write_all(&[0u8; 1024]).unwrap();
        let t0 = Instant::now();
        let head = read_head(&mut s);
        assert!(head.starts_with("HTTP/1.1 401"), "{auth:?}: {head}");
        assert!(t0.elapsed() < Duration::from_secs(3), "answered only after {:?}", t0.elapsed());
    }
}

fn post_sync(url: &str, token: &str) -> reqwest::blocking::Response {
    let body = wire::encode(&SyncRequest { cursor: 0, push: Vec::new(), page_bytes: 1024 });
    reqwest::blocking::Client::new().post(format!("{url}{SYNC_PATH}")).bearer_auth(token).body(body).send().unwrap()
}

#[test]
fn requests_over_the_per_minute_quota_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.env.push(("POSYANDU_RELAY_MAX_REQUESTS_PER_MINUTE".into(), "3".into()));
    relay.start().unwrap();
    let token = relay.register("P-Q", "K-Q", "D-Q").unwrap();
    let other = relay.register("P-Q", "K-Q", "D-Q2").unwrap();
    for i in 0..3 {
        assert_eq!(post_sync(&relay.url(), &token).status().as_u16(), 200, "request {i}");
    }
    let r = post_sync(&relay.url(), &token);
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!(body["message"].as_str().unwrap().contains("Terlalu banyak permintaan"), "{body}");
    // Another device has its own quota.
    assert_eq!(post_sync(&relay.url(), &other).status().as_u16(), 200);
    // An unknown token is refused as unknown, not counted against anyone.
    assert_eq!(post_sync(&relay.url(), "psy_unknown").status().as_u16(), 401);
}

#[test]
fn households_over_the_daily_quota_are_refused_whole_and_kept_on_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.env.push(("POSYANDU_RELAY_MAX_NEW_DOCS_PER_DAY".into(), "2".into()));
    relay.start().unwrap();
    let ta = relay.register("P-N", "K-A", "D-A").unwrap();
    let tb = relay.register("P-N", "K-B", "D-B").unwrap();
    let a = device(dir.path(), "P-N", "K-A", "D-A", &relay.url(), &ta);
    for rt in ["001", "002", "003"] {
        a.create_household(household(rt)).unwrap();
    }
    let pending = a.pending_changes().unwrap();
    match a.sync_now(&mut |_| {}) {
        Err(Error::Sync(SyncError::Busy { retry_after_secs, message })) => {
            // Until WIB midnight: longer than a sync waits, so no retry was made.
            assert!(retry_after_secs.is_some_and(|s| (1..=86_400).contains(&s)), "{retry_after_secs:?}");
            assert!(message.contains("Batas rumah tangga baru"), "{message}");
        }
        other => panic!("expected the quota refusal, got {other:?}"),
    }
    // Nothing of the push was stored; the phone keeps everything to send.
    assert_eq!(a.pending_changes().unwrap(), pending);
    let b = device(dir.path(), "P-N", "K-B", "D-B", &relay.url(), &tb);
    b.sync_now(&mut |_| {}).unwrap();
    assert_eq!(b.list_households(None).unwrap().len(), 0);
    // Device B may create its own two.
    b.create_household(household("004")).unwrap();
    b.create_household(household("005")).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    assert_eq!(b.pending_changes().unwrap(), 0);
    // A third one of B's is over B's quota too.
    b.create_household(household("006")).unwrap();
    assert!(matches!(b.sync_now(&mut |_| {}), Err(Error::Sync(SyncError::Busy { .. }))));
}

/// A PostgreSQL backend terminated while the relay's request waits on it: 503 with
/// `Retry-After` (not 500), and a phone's sync retries by itself and succeeds.
#[test]
fn postgres_connection_killed_mid_request_answers_503_and_the_phone_retries() {
    let schema = PgSchema::new();
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new_pg(dir.path(), &schema.url);
    relay.start().unwrap();
    let token = relay.register("P-PG", "K-PG", "D-PG").unwrap();
    assert_eq!(post_sync(&relay.url(), &token).status().as_u16(), 200);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (locker, conn) = rt.block_on(tokio_postgres::connect(&schema.url, tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    let (admin, conn) = rt.block_on(tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    // Every request that reads the change log now waits for this lock.
    let lock = || {
        rt.block_on(locker.batch_execute("BEGIN; LOCK TABLE scope_counter, change_log IN ACCESS EXCLUSIVE MODE"))
            .unwrap();
    };
    // Terminates the relay's backend once it waits for our lock.
    let kill_waiter = || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let rows = rt
                .block_on(admin.query(
                    "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE NOT l.granted AND n.nspname = $1",
                    &[&schema.name],
                ))
                .unwrap();
            if let Some(r) = rows.first() {
                let pid: i32 = r.get(0);
                rt.block_on(admin.execute("SELECT pg_terminate_backend($1)", &[&pid])).unwrap();
                break;
            }
            assert!(Instant::now() < deadline, "the relay never waited for the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        rt.block_on(locker.batch_execute("ROLLBACK")).unwrap();
    };

    // A raw request sees the 503.
    lock();
    let url = relay.url();
    let t = std::thread::spawn({
        let token = token.clone();
        move || post_sync(&url, &token)
    });
    kill_waiter();
    let r = t.join().unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "5");

    // A phone's sync during the same failure retries after Retry-After and succeeds.
    let t2 = relay.register("P-PG", "K-PG", "D-PG2").unwrap();
    let phone = device(dir.path(), "P-PG", "K-PG", "D-PG2", &relay.url(), &t2);
    phone.create_household(household("001")).unwrap();
    lock();
    let t = std::thread::spawn(move || {
        let r = phone.sync_now(&mut |_| {});
        (r, phone)
    });
    kill_waiter();
    let (r, phone) = t.join().unwrap();
    let report = r.expect("the sync retried after the 503 and succeeded");
    assert!(report.requests >= 2, "{report:?}");
    assert_eq!(phone.pending_changes().unwrap(), 0);
    assert!(relay.log_text().contains("database connection lost"), "the relay logged the loss");
}
