//! The encrypted phone store (issue 15, "Encrypted phone store"): nothing personal
//! and no token readable in the files, a wrong key refused with the file untouched,
//! plain stores of older versions encrypted on first open (crash-safely), and a
//! process kill during writes loses nothing on the encrypted store.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use posyandu_core::store::cipher::{file_state, interrupted_migration_for_tests, FileState, MigrationStep};
use posyandu_core::*;
use time::macros::date;

const NIK: &str = "3275015205900002";
const NAME: &str = "Siti Aminah";
const TOKEN: &str = "psy_Zq8tW3kV9rN2xL5mB7cD4hJ6";
const URL: &str = "http://127.0.0.1:9";

fn key_a() -> [u8; 32] {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    k
}

fn open_keyed(path: &Path, device: &str, keyring: Arc<dyn Keyring>) -> Store {
    let mut s = Store::open(path, identity(device, &format!("K-{device}")), keyring).expect("open store");
    s.set_clock(|| time::macros::datetime!(2026-11-23 03:00 UTC), time::UtcOffset::from_hms(7, 0, 0).unwrap());
    s
}

/// A raw SQLite connection keyed like the store's.
fn raw_keyed(path: &Path, key: &[u8; 32]) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key))).unwrap();
    conn
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn file_bytes(path: &Path, suffix: &str) -> Vec<u8> {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    std::fs::read(p).unwrap_or_default()
}

/// Records a household with a NIK and a name, and the relay token.
fn fill(store: &Store) -> uuid::Uuid {
    let hh = store.create_household(new_household("001")).unwrap();
    let mum = store.add_member(hh, mother()).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2025 - 06 - 01))).unwrap();
    store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 9.1)).unwrap();
    assert!(store.household(hh).unwrap().member(mum).is_some());
    store.set_relay(&RelayConfig { url: URL.into(), token: TOKEN.into() }).unwrap();
    hh
}

/// What `strings` on the files would find: the WAL while the store is open, then the
/// main file after a checkpoint.
fn readable_secrets(path: &Path, store: Store, checkpoint: impl FnOnce()) -> Vec<&'static str> {
    let mut found = Vec::new();
    let wal = file_bytes(path, "-wal");
    assert!(wal.len() > 4096, "the WAL holds the writes ({} bytes)", wal.len());
    checkpoint();
    let db = file_bytes(path, "");
    drop(store);
    let db_after_close = file_bytes(path, "");
    for s in [NIK, NAME, TOKEN] {
        if contains(&wal, s) || contains(&db, s) || contains(&db_after_close, s) {
            found.push(s);
        }
    }
    found
}

#[test]
fn no_nik_name_or_token_readable_in_the_database_or_wal_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enc.sqlite3");
    let keyring = Arc::new(MemoryKeyring::new(key_a()));
    let store = open_keyed(&path, "D1", keyring.clone());
    fill(&store);
    let found = readable_secrets(&path, store, || {
        let conn = raw_keyed(&path, &key_a());
        let (busy, _, _): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(busy, 0);
    });
    assert_eq!(found, Vec::<&str>::new(), "readable in the encrypted store's files");
    assert_eq!(file_state(&path).unwrap(), FileState::Encrypted);
    // The token is in the keyring, not in the database.
    assert_eq!(keyring.secret(sync::RELAY_TOKEN_SECRET).unwrap().as_deref(), Some(TOKEN));
    let conn = raw_keyed(&path, &key_a());
    let in_meta: i64 = conn.query_row("SELECT count(*) FROM meta WHERE value = ?1", [TOKEN], |r| r.get(0)).unwrap();
    assert_eq!(in_meta, 0);
    let names: i64 = conn.query_row("SELECT count(*) FROM member WHERE name = ?1", [NAME], |r| r.get(0)).unwrap();
    assert_eq!(names, 1, "the keyed connection reads the data");

    // The same check finds the NIK and the name in a plain SQLite store (so it can fail).
    let plain_path = dir.path().join("plain.sqlite3");
    let store = open_keyed(&plain_path, "D1", Arc::new(MemoryKeyring::unencrypted_for_tests()));
    fill(&store);
    let found = readable_secrets(&plain_path, store, || {
        let conn = rusqlite::Connection::open(&plain_path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(())).unwrap();
    });
    assert!(found.contains(&NIK) && found.contains(&NAME), "{found:?}");
}

#[test]
fn a_wrong_key_is_refused_clearly_and_the_file_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let keyring = Arc::new(MemoryKeyring::new(key_a()));
    let hh = {
        let store = open_keyed(&path, "D1", keyring.clone());
        fill(&store)
    };
    // The database and its WAL (the `-shm` index is SQLite's shared memory, rebuilt
    // from the WAL by any reader; it holds no data).
    let files = || -> Vec<(usize, String)> {
        ["", "-wal"]
            .iter()
            .map(|s| {
                let b = file_bytes(&path, s);
                (b.len(), hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b)))
            })
            .collect()
    };
    let before = files();
    let wrong = Arc::new(MemoryKeyring::new([7u8; 32]));
    for result in [
        Store::open_existing(&path, wrong.clone()).map(|_| ()),
        Store::open(&path, identity("D1", "K-D1"), wrong.clone()).map(|_| ()),
        // An old app version (no key) cannot read it either.
        Store::open_existing(&path, Arc::new(MemoryKeyring::unencrypted_for_tests())).map(|_| ()),
    ] {
        match result {
            Err(e @ Error::WrongKey) => assert!(e.to_string().contains("Kunci basis data salah"), "{e}"),
            Err(Error::Corrupt { .. }) => {} // no key: "not a database"
            Err(e) => panic!("expected WrongKey, got {e:?}"),
            Ok(()) => panic!("opened with a wrong key"),
        }
    }
    assert!(matches!(Store::open_existing(&path, wrong), Err(Error::WrongKey)));
    assert_eq!(files(), before, "the file was changed");
    // The right key still opens it, with everything in it.
    let store = Store::open_existing(&path, keyring).unwrap();
    assert_eq!(store.household(hh).unwrap().members.len(), 2);
    assert_eq!(store.relay().unwrap(), Some(RelayConfig { url: URL.into(), token: TOKEN.into() }));
}

/// A store as the previous (unencrypted) app version left it: plain SQLite, the token
/// in `meta`, the last writes still in the WAL (the app was killed).
fn old_plain_store(dir: &Path, name: &str) -> (std::path::PathBuf, uuid::Uuid) {
    let live = dir.join(format!("live-{name}"));
    let path = dir.join(name);
    let store = open_store(&live, "D1");
    let hh = store.create_household(new_household("001")).unwrap();
    store.add_member(hh, mother()).unwrap();
    store.add_member(hh, child("Budi", date!(2025 - 06 - 01))).unwrap();
    {
        let conn = rusqlite::Connection::open(&live).unwrap();
        conn.execute("INSERT INTO meta (key, value) VALUES ('relay_url', ?1), ('relay_token', ?2)", [URL, TOKEN])
            .unwrap();
    }
    // A crash image: the files copied while the store is open (WAL not checkpointed).
    for suffix in ["", "-wal"] {
        std::fs::copy(format!("{}{suffix}", live.display()), format!("{}{suffix}", path.display())).unwrap();
    }
    drop(store);
    assert!(file_bytes(&path, "-wal").len() > 4096, "writes still in the WAL");
    assert_eq!(file_state(&path).unwrap(), FileState::Plain);
    (path, hh)
}

fn assert_encrypted_store_complete(path: &Path, keyring: Arc<MemoryKeyring>, hh: uuid::Uuid) {
    let store = Store::open_existing(path, keyring.clone()).unwrap();
    assert_eq!(store.identity().device_id, "D1");
    assert_eq!(store.household(hh).unwrap().members.len(), 2);
    assert_eq!(store.pending_changes().unwrap(), 3);
    assert_eq!(store.relay().unwrap(), Some(RelayConfig { url: URL.into(), token: TOKEN.into() }));
    drop(store);
    assert_eq!(file_state(path).unwrap(), FileState::Encrypted);
    assert!(!Path::new(&format!("{}.cipher-tmp", path.display())).exists(), "temp file removed");
    let conn = raw_keyed(path, &key_a());
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, store::schema::SCHEMA_VERSION, "user_version copied");
    let tokens: i64 = conn.query_row("SELECT count(*) FROM meta WHERE key = 'relay_token'", [], |r| r.get(0)).unwrap();
    assert_eq!(tokens, 0, "the token left the database");
    drop(conn);
    assert!(!contains(&file_bytes(path, ""), TOKEN) && !contains(&file_bytes(path, ""), NAME));
    assert_eq!(keyring.secret(sync::RELAY_TOKEN_SECRET).unwrap().as_deref(), Some(TOKEN));
}

#[test]
fn a_plain_store_is_encrypted_on_first_open_and_its_token_moves_to_the_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let (path, hh) = old_plain_store(dir.path(), "old.sqlite3");
    let keyring = Arc::new(MemoryKeyring::new(key_a()));
    assert_encrypted_store_complete(&path, keyring.clone(), hh);
    for suffix in ["-wal", "-shm"] {
        assert!(file_bytes(&path, suffix).is_empty(), "old {suffix} removed or empty");
    }
    // `Store::open` (with an identity) migrates too.
    let (path, hh) = old_plain_store(dir.path(), "old2.sqlite3");
    drop(open_keyed(&path, "D1", keyring.clone()));
    assert_encrypted_store_complete(&path, keyring, hh);
}

/// A crash at any step of the migration leaves either the old plain store or the new
/// encrypted one fully usable, and the next open finishes the job.
#[test]
fn an_interrupted_migration_leaves_a_usable_store_at_every_step() {
    let dir = tempfile::tempdir().unwrap();
    for step in [
        MigrationStep::TokenCopied,
        MigrationStep::Checkpointed,
        MigrationStep::Exported,
        MigrationStep::Synced,
        MigrationStep::Renamed,
    ] {
        let (path, hh) = old_plain_store(dir.path(), &format!("{step:?}.sqlite3"));
        let keyring = Arc::new(MemoryKeyring::new(key_a()));
        interrupted_migration_for_tests(&path, &*keyring, step).unwrap();
        let tmp = std::path::PathBuf::from(format!("{}.cipher-tmp", path.display()));
        if step < MigrationStep::Renamed {
            // The old plain store is complete: the old app version could still use it.
            assert_eq!(file_state(&path).unwrap(), FileState::Plain, "{step:?}");
            assert_eq!(tmp.exists(), step >= MigrationStep::Exported, "{step:?}");
            let conn = rusqlite::Connection::open(&path).unwrap();
            let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(check, "ok", "{step:?}");
            let members: i64 = conn.query_row("SELECT count(*) FROM member", [], |r| r.get(0)).unwrap();
            assert_eq!(members, 2, "{step:?}");
        } else {
            assert_eq!(file_state(&path).unwrap(), FileState::Encrypted);
            // What a crash before the clean-up could leave: an empty WAL, a stale index.
            std::fs::write(format!("{}-wal", path.display()), b"").unwrap();
            std::fs::write(format!("{}-shm", path.display()), vec![0xa5u8; 32768]).unwrap();
        }
        assert_encrypted_store_complete(&path, keyring, hh);
    }
    // A torn temp file (a crash while exporting) is discarded.
    let (path, hh) = old_plain_store(dir.path(), "torn.sqlite3");
    std::fs::write(format!("{}.cipher-tmp", path.display()), vec![0x42u8; 5000]).unwrap();
    assert_encrypted_store_complete(&path, Arc::new(MemoryKeyring::new(key_a())), hh);
}

#[test]
fn the_file_keyring_creates_an_owner_only_key_once_and_keeps_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cli.sqlite3");
    let hh = {
        let store = open_keyed(&path, "D1", Arc::new(FileKeyring::new(&path)));
        fill(&store)
    };
    let kr = FileKeyring::new(&path);
    let key = std::fs::read_to_string(kr.key_path()).unwrap();
    assert_eq!(key.trim().len(), 64);
    #[cfg(unix)]
    for p in [kr.key_path(), kr.secrets_path()] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600, "{}", p.display());
    }
    assert!(contains(&std::fs::read(kr.secrets_path()).unwrap(), TOKEN));
    let store = Store::open_existing(&path, Arc::new(FileKeyring::new(&path))).unwrap();
    assert_eq!(store.household(hh).unwrap().members.len(), 2);
    assert_eq!(store.relay().unwrap().unwrap().token, TOKEN);
    drop(store);
    assert_eq!(std::fs::read_to_string(kr.key_path()).unwrap(), key, "the key is not replaced");
    // A lost key file is reported, not silently replaced by a new key.
    std::fs::remove_file(kr.key_path()).unwrap();
    let err = Store::open_existing(&path, Arc::new(FileKeyring::new(&path))).err().unwrap();
    assert!(matches!(err, Error::Keyring(_)), "{err:?}");
    assert!(!kr.key_path().exists());
}

const CHILD_ENV: &str = "POSYANDU_CIPHER_CRASH_CHILD_STORE";

/// The child side: does nothing unless started by the test below.
#[test]
fn cipher_crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = open_keyed(Path::new(&path), "D1", Arc::new(MemoryKeyring::new(key_a())));
    let hh = store.list_households(None).unwrap()[0].id;
    let kid = store.household(hh).unwrap().members[0].id;
    loop {
        let id = store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 9.5)).unwrap();
        println!("OK {id}");
    }
}

/// `crash.rs`, on the encrypted store: a write that returned OK survives SIGKILL.
#[test]
fn killed_writer_loses_no_acknowledged_visit_on_the_encrypted_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.sqlite3");
    {
        let store = open_keyed(&path, "D1", Arc::new(MemoryKeyring::new(key_a())));
        let hh = store.create_household(new_household("001")).unwrap();
        store.add_member(hh, child("Budi", date!(2024 - 01 - 20))).unwrap();
    }
    for round in 0..2 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "cipher_crash_child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked: Vec<uuid::Uuid> = Vec::new();
        let target = 25 + round * 31;
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.len() < target && Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("OK ") => acked.push(l[3..].trim().parse().unwrap()),
                Some(_) => {}
                None => break,
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for l in lines.map_while(Result::ok) {
            if let Some(id) = l.strip_prefix("OK ") {
                acked.push(id.trim().parse().unwrap());
            }
        }
        assert!(acked.len() >= target, "child wrote only {} visits", acked.len());
        let conn = raw_keyed(&path, &key_a());
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        drop(conn);
        let store = open_keyed(&path, "D1", Arc::new(MemoryKeyring::new(key_a())));
        let hh = store.list_households(None).unwrap()[0].id;
        let visits: std::collections::HashSet<_> = store.household(hh).unwrap().visits.iter().map(|v| v.id).collect();
        for id in &acked {
            assert!(visits.contains(id), "round {round}: acknowledged visit {id} lost");
        }
    }
}
