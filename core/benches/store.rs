//! Store benchmark: a Posyandu-sized store on the phone.
//!
//! Fixture: 1,000 households, 4 members and 12 visits each (each visit its own
//! automerge change, as recorded). Measures, against baselines taken in the same run
//! on the same disk:
//! - open the store and list one RT, vs. opening a bare SQLite file and selecting the
//!   same rows from a plain table;
//! - record one visit durably (validation, automerge change, outbox, query tables,
//!   fsync'd WAL commit), vs. one durable single-row SQLite insert of the same size;
//! - search, due list, and the store's size on disk;
//! - the same on the SQLCipher-encrypted store (a copy of the fixture, encrypted by the
//!   store's own migration of a plain file, which is timed too), as a ratio to the
//!   plain store measured in the same run.
//!
//! `cargo bench -p posyandu-core --bench store` prints a Markdown table and writes it
//! to `target/bench-results/store.md`. `BENCH_HOUSEHOLDS` changes the fixture size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ActorId;
use posyandu_core::doc::HouseholdDoc;
use posyandu_core::*;
use rusqlite::params;
use time::macros::{date, datetime};
use time::{Date, UtcOffset};
use uuid::Uuid;

fn identity() -> DeviceIdentity {
    DeviceIdentity { device_id: "D-BENCH".into(), kader_id: "K-BENCH".into(), posyandu_id: "P-001".into() }
}

fn member(name: &str, birth: Date, sex: Sex, relation: Relation) -> NewMember {
    NewMember {
        nik: None,
        mother_nik: None,
        name: name.into(),
        birth_date: birth,
        sex,
        relation,
        bpjs_number: None,
        kia_book: None,
    }
}

/// One household document with a year of monthly visits.
fn household_doc(i: usize) -> (Uuid, Vec<u8>, Vec<Uuid>) {
    let id = Uuid::new_v4();
    let mut d = HouseholdDoc::create(id, "P-001", &ActorId::random()).unwrap();
    d.patch_household(
        &HouseholdPatch {
            kk_number: Some(format!("32750101012{:05}", i)),
            address: Some(Address {
                rt: format!("{:03}", i % 20 + 1),
                rw: format!("{:03}", i % 5 + 1),
                kode_wilayah: "3275011001".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        date!(2025 - 11 - 01),
    )
    .unwrap();
    let people = [
        member(&format!("Ahmad {i}"), date!(1985 - 03 - 10), Sex::Male, Relation::KepalaKeluarga),
        member(&format!("Siti {i}"), date!(1990 - 05 - 12), Sex::Female, Relation::Istri),
        member(&format!("Budi {i}"), date!(2023 - 02 - 01), Sex::Male, Relation::Anak),
        member(&format!("Ani {i}"), date!(2025 - 06 - 15), Sex::Female, Relation::Anak),
    ];
    let ids: Vec<Uuid> = people.iter().map(|_| Uuid::new_v4()).collect();
    for (m, id) in people.iter().zip(&ids) {
        d.add_member(*id, m).unwrap();
    }
    d.commit("K-1", 1_760_000_000);
    for month in 0..12u8 {
        let date =
            Date::from_calendar_date(2025 + (month >= 1) as i32, time::Month::December.nth_next(month), 10).unwrap();
        let child = ids[2 + (month as usize % 2)];
        let v = Visit {
            id: Uuid::new_v4(),
            date,
            kind: VisitKind::HariBuka,
            kader_id: "K-1".into(),
            posyandu_id: "P-001".into(),
            entries: vec![VisitEntry {
                member_id: child,
                measurements: Measurements {
                    weight_kg: Some(8.0 + month as f64 * 0.2),
                    length_height_cm: Some(70.0 + month as f64),
                    measure: Some(Measure::Lying),
                    ..Default::default()
                },
                services: Services { vitamin_a: month % 6 == 2, ..Default::default() },
                ..Default::default()
            }],
            deleted: false,
        };
        d.add_visit(&v).unwrap();
        d.commit("K-1", 1_760_000_000 + month as i64 * 2_600_000);
    }
    (id, d.save(), ids)
}

/// The encrypted store's key (fixed: the bench reopens the store many times).
const KEY: [u8; 32] = [0x5a; 32];

fn keyring(encrypted: bool) -> Arc<dyn Keyring> {
    if encrypted {
        Arc::new(MemoryKeyring::new(KEY))
    } else {
        Arc::new(MemoryKeyring::unencrypted_for_tests())
    }
}

fn open_store(path: &std::path::Path, encrypted: bool) -> Store {
    let mut s = Store::open(path, identity(), keyring(encrypted)).unwrap();
    s.set_clock(|| datetime!(2026-11-23 03:00 UTC), UtcOffset::from_hms(7, 0, 0).unwrap());
    s
}

struct Stats {
    median: Duration,
    p95: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    Stats { median: v[v.len() / 2], p95: v[(v.len() * 95 / 100).min(v.len() - 1)] }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn dir_size(dir: &std::path::Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let n: usize = std::env::var("BENCH_HOUSEHOLDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("bench.sqlite3");

    let t = Instant::now();
    let fixture: Vec<_> = (0..n).map(household_doc).collect();
    {
        let store = open_store(&path, false);
        store.import_documents(fixture.iter().map(|(id, bytes, _)| (*id, bytes.clone()))).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();
    }
    eprintln!("fixture: {n} households in {:.1} s", t.elapsed().as_secs_f64());
    // The encrypted copy: the plain file, encrypted by the store's migration on open.
    let enc_path = dir.path().join("enc.sqlite3");
    std::fs::copy(&path, &enc_path).unwrap();
    let t = Instant::now();
    drop(open_store(&enc_path, true));
    let migration = t.elapsed();
    assert_ne!(&std::fs::read(&enc_path).unwrap()[..16], b"SQLite format 3\0", "encrypted");

    // Open + list one RT (fresh process state each time: new connections, empty cache).
    let open_list_of = |p: &std::path::Path, encrypted: bool| {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let store = open_store(p, encrypted);
            rows = store.list_households(Some("003")).unwrap().len();
            times.push(t.elapsed());
        }
        (times, rows)
    };
    let (open_list, rows) = open_list_of(&path, false);
    let (enc_open_list, enc_rows) = open_list_of(&enc_path, true);
    assert_eq!(rows, enc_rows);
    // Baseline: a bare SQLite file with the same rows in a plain table.
    let base_path = dir.path().join("baseline.sqlite3");
    {
        let conn = rusqlite::Connection::open(&base_path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE hh (id TEXT PRIMARY KEY, rt TEXT, rw TEXT, head TEXT, n INTEGER, last TEXT);
             CREATE INDEX hh_rt ON hh (rt);
             CREATE TABLE log (id INTEGER PRIMARY KEY, doc TEXT, data BLOB);",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for (i, (id, _, _)) in fixture.iter().enumerate() {
            tx.execute(
                "INSERT INTO hh VALUES (?1, ?2, '001', ?3, 4, '2026-10-10')",
                params![id.to_string(), format!("{:03}", i % 20 + 1), format!("Ahmad {i}")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let mut base_open_list = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let conn = rusqlite::Connection::open(&base_path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        let mut stmt = conn.prepare("SELECT id, rt, rw, head, n, last FROM hh WHERE rt = '003' ORDER BY head").unwrap();
        let r: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
        assert_eq!(r.len(), rows);
        base_open_list.push(t.elapsed());
    }

    // Record visits durably, spread over households (most not in the cache).
    let record_on = |store: &Store| {
        let mut record = Vec::new();
        for k in 0..200 {
            let (hh, _, ids) = &fixture[(k * 7919) % n];
            let v = NewVisit {
                date: date!(2026 - 11 - 20),
                kind: VisitKind::KunjunganRumah,
                entries: vec![VisitEntry {
                    member_id: ids[3],
                    measurements: Measurements {
                        weight_kg: Some(9.1),
                        length_height_cm: Some(76.5),
                        measure: Some(Measure::Lying),
                        ..Default::default()
                    },
                    services: Services { vitamin_a: true, ..Default::default() },
                    ..Default::default()
                }],
            };
            let t = Instant::now();
            store.record_visit(*hh, v).unwrap();
            record.push(t.elapsed());
        }
        record
    };
    let enc_store = open_store(&enc_path, true);
    let enc_record = record_on(&enc_store);
    drop(enc_store);
    let store = open_store(&path, false);
    let record = record_on(&store);
    let base_conn = rusqlite::Connection::open(&base_path).unwrap();
    base_conn.pragma_update(None, "synchronous", "FULL").unwrap();
    let blob = vec![7u8; 300];
    let mut base_insert = Vec::new();
    for k in 0..200 {
        let t = Instant::now();
        let tx = base_conn.unchecked_transaction().unwrap();
        tx.execute("INSERT INTO log (doc, data) VALUES (?1, ?2)", params![k.to_string(), blob]).unwrap();
        tx.commit().unwrap();
        base_insert.push(t.elapsed());
    }

    let mut search = Vec::new();
    let mut due = Vec::new();
    let mut due_n = 0;
    for _ in 0..10 {
        let t = Instant::now();
        store.search_members("siti 4", 50).unwrap();
        search.push(t.elapsed());
        let t = Instant::now();
        due_n = store.due_visits().unwrap().len();
        due.push(t.elapsed());
    }
    drop(store);
    let size = dir_size(dir.path(), "bench.sqlite3");
    let enc_size = dir_size(dir.path(), "enc.sqlite3");

    let (ol, bol, rv, bi) = (stats(open_list), stats(base_open_list), stats(record), stats(base_insert));
    let (se, du) = (stats(search), stats(due));
    let (eol, erv) = (stats(enc_open_list), stats(enc_record));
    let ratio = |a: Duration, b: Duration| format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64());
    let mut out = String::new();
    out.push_str(&format!(
        "Store benchmark: {n} households × 4 members × 12 visits ({} RT rows listed; due list {} members)\n\n",
        rows, due_n
    ));
    out.push_str(
        "| operation | median | p95 | baseline (same run) | median ÷ baseline | target |\n|---|---|---|---|---|---|\n",
    );
    out.push_str(&format!(
        "| open store + list one RT | {} | {} | bare SQLite open + SELECT: {} | {} | < 100 ms |\n",
        ms(ol.median),
        ms(ol.p95),
        ms(bol.median),
        ratio(ol.median, bol.median)
    ));
    out.push_str(&format!(
        "| record a visit (durable) | {} | {} | durable 300 B insert: {} | {} | < 5 ms |\n",
        ms(rv.median),
        ms(rv.p95),
        ms(bi.median),
        ratio(rv.median, bi.median)
    ));
    out.push_str(&format!(
        "| open store + list one RT, **encrypted** | {} | {} | plain store: {} | {} | < 100 ms |\n",
        ms(eol.median),
        ms(eol.p95),
        ms(ol.median),
        ratio(eol.median, ol.median)
    ));
    out.push_str(&format!(
        "| record a visit (durable), **encrypted** | {} | {} | plain store: {} | {} | < 5 ms |\n",
        ms(erv.median),
        ms(erv.p95),
        ms(rv.median),
        ratio(erv.median, rv.median)
    ));
    out.push_str(&format!("| encrypt a plain store (one-time migration) | {} | | | | |\n", ms(migration)));
    out.push_str(&format!("| search members by name | {} | {} | | | |\n", ms(se.median), ms(se.p95)));
    out.push_str(&format!("| due list (whole Posyandu) | {} | {} | | | |\n", ms(du.median), ms(du.p95)));
    out.push_str(&format!(
        "| store size on disk | {:.1} MiB | {:.1} KiB per household | | | |\n",
        size as f64 / (1 << 20) as f64,
        size as f64 / 1024.0 / n as f64
    ));
    out.push_str(&format!(
        "| encrypted store size on disk | {:.1} MiB | {:.1} KiB per household | | | |\n",
        enc_size as f64 / (1 << 20) as f64,
        enc_size as f64 / 1024.0 / n as f64
    ));
    println!("{out}");
    let results = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../bench-results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join("store.md"), out).unwrap();
}
