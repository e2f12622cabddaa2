//! Sync benchmark: what a kader's day costs on the wire.
//!
//! A relay process on loopback, reached through the `netshape` proxy shaped like 2G
//! (50 kbit/s each way, 500 ms round trip). The proxy counts every byte that
//! crosses it, HTTP headers included.
//!
//! - Typical day: 10 households already on both phones; kader A records 30 home
//!   visits (3 per household) offline, then syncs. Kader B then syncs and receives
//!   them.
//! - Nothing new: a phone holding a Posyandu's 250 households syncs again.
//!
//! Baseline, measured in the same run on the same documents: automerge's own
//! per-document sync protocol (fresh sync state per session, as a stateless HTTP
//! deployment would run it), counting message bodies only — no HTTP headers, which
//! flatters the baseline.
//!
//! `cargo bench -p posyandu-tests --bench sync` prints a Markdown table and writes
//! `target/bench-results/sync.md`.

use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::AutoCommit;
use posyandu_core::*;
use posyandu_tests::fixtures::member;
use posyandu_tests::netshape::{profile_2g, start_blocking, LinkProfile, ShapedProxyHandle};
use posyandu_tests::relay::{device, RelayProcess};
use uuid::Uuid;

const P: &str = "P-BENCH";

fn household(i: usize) -> NewHousehold {
    NewHousehold {
        kk_number: Some(format!("32750101012{:05}", i)),
        address: Address {
            rt: format!("{:03}", i % 8 + 1),
            rw: "004".into(),
            kode_wilayah: "3275011001".into(),
            ..Default::default()
        },
        gps: None,
        spm: SpmAttributes { clean_water: Some(true), latrine: Some(i % 3 != 0), ..Default::default() },
    }
}

/// A household with mother, father and two children; returns (household, child ids).
fn seed_household(store: &Store, i: usize) -> (Uuid, Vec<Uuid>) {
    let h = store.create_household(household(i)).unwrap();
    store.add_member(h, member(store, format!("Bapak {i}"), 12000, Sex::Male, Relation::KepalaKeluarga)).unwrap();
    store.add_member(h, member(store, format!("Ibu {i}"), 10000, Sex::Female, Relation::Istri)).unwrap();
    let c1 = store.add_member(h, member(store, format!("Anak {i}a"), 400, Sex::Male, Relation::Anak)).unwrap();
    let c2 = store.add_member(h, member(store, format!("Anak {i}b"), 1200, Sex::Female, Relation::Anak)).unwrap();
    (h, vec![c1, c2])
}

/// A realistic home visit: weight, length, MUAC, vitamin A or counselling.
fn home_visit(store: &Store, child: Uuid, k: usize) -> NewVisit {
    NewVisit {
        date: store.today() - time::Duration::days((k % 3) as i64),
        kind: VisitKind::KunjunganRumah,
        entries: vec![VisitEntry {
            member_id: child,
            measurements: Measurements {
                weight_kg: Some(9.0 + (k % 7) as f64 * 0.15),
                length_height_cm: Some(74.0 + (k % 5) as f64 * 0.4),
                measure: Some(Measure::Lying),
                muac_cm: Some(14.0 + (k % 3) as f64 * 0.2),
                ..Default::default()
            },
            services: Services { vitamin_a: k % 4 == 0, ..Default::default() },
            counselling: if k % 3 == 0 { vec!["gizi_seimbang".into()] } else { vec![] },
            ..Default::default()
        }],
    }
}

/// Automerge's per-document sync protocol between `a` and `b` from fresh sync
/// states: (messages, bytes, round trips) until neither side has more to send.
fn automerge_sync(a: &mut AutoCommit, b: &mut AutoCommit) -> (usize, usize, usize) {
    let (mut sa, mut sb) = (State::new(), State::new());
    let (mut messages, mut bytes, mut rounds) = (0, 0, 0);
    loop {
        let mut sent = false;
        if let Some(m) = a.sync().generate_sync_message(&mut sa) {
            let enc = m.encode();
            messages += 1;
            bytes += enc.len();
            b.sync().receive_sync_message(&mut sb, automerge::sync::Message::decode(&enc).unwrap()).unwrap();
            sent = true;
        }
        if let Some(m) = b.sync().generate_sync_message(&mut sb) {
            let enc = m.encode();
            messages += 1;
            bytes += enc.len();
            a.sync().receive_sync_message(&mut sa, automerge::sync::Message::decode(&enc).unwrap()).unwrap();
            sent = true;
        }
        if !sent {
            return (messages, bytes, rounds);
        }
        rounds += 1;
    }
}

/// The automerge documents of households of a store.
fn docs(store: &Store, ids: &[Uuid]) -> Vec<AutoCommit> {
    ids.iter().map(|id| AutoCommit::load(&export_doc(store, *id)).unwrap()).collect()
}

/// A household's document as the store holds it (snapshot + incremental changes),
/// read from the store's file.
fn export_doc(store: &Store, id: Uuid) -> Vec<u8> {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let snapshot: Vec<u8> =
        conn.query_row("SELECT snapshot FROM doc WHERE id = ?1", [id.to_string()], |r| r.get(0)).unwrap();
    let mut doc = AutoCommit::load(&snapshot).unwrap();
    let mut stmt = conn.prepare("SELECT data FROM doc_change WHERE doc_id = ?1 ORDER BY seq").unwrap();
    for data in stmt.query_map([id.to_string()], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
        doc.load_incremental(&data.unwrap()).unwrap();
    }
    doc.save()
}

#[derive(Default)]
struct Baseline {
    messages: usize,
    rounds: usize,
    bytes: usize,
}

/// Automerge's per-document sync over each (device, relay) pair of documents.
fn baseline(pairs: impl IntoIterator<Item = (AutoCommit, AutoCommit)>) -> Baseline {
    let mut b = Baseline::default();
    for (mut x, mut y) in pairs {
        let (m, bytes, r) = automerge_sync(&mut x, &mut y);
        b.messages += m;
        b.bytes += bytes;
        b.rounds = b.rounds.max(r);
    }
    b
}

struct Row {
    scenario: &'static str,
    report: SyncReport,
    up: u64,
    down: u64,
    visits: Option<usize>,
    time: Duration,
    base: Baseline,
    target: &'static str,
}

/// Syncs `store` through the 2G-shaped proxy and measures it.
fn measure(
    proxy: &ShapedProxyHandle,
    store: &Store,
    scenario: &'static str,
    visits: Option<usize>,
    base: Baseline,
    target: &'static str,
) -> Row {
    proxy.set_profile(profile_2g());
    proxy.reset_stats();
    let t = Instant::now();
    let report = store.sync_now(&mut |_| {}).unwrap();
    let time = t.elapsed();
    let s = proxy.stats();
    proxy.set_profile(LinkProfile::unshaped());
    Row { scenario, report, up: s.bytes_up, down: s.bytes_down, visits, time, base, target }
}

fn main() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    let tc = relay.register(P, "K-C", "D-C").unwrap();
    relay.start().unwrap();
    let proxy = start_blocking(relay.addr, LinkProfile::unshaped()).unwrap();
    let url = format!("http://{}", proxy.addr());
    let a = device(dir.path(), P, "K-A", "D-A", &url, &ta);
    let b = device(dir.path(), P, "K-B", "D-B", &url, &tb);
    let mut rows = Vec::new();

    // Setup (unshaped): 10 households on both phones.
    let households: Vec<(Uuid, Vec<Uuid>)> = (0..10).map(|i| seed_household(&a, i)).collect();
    a.sync_now(&mut |_| {}).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    let ids: Vec<Uuid> = households.iter().map(|h| h.0).collect();

    // The day: 30 home visits offline on A. The relay's documents before A syncs are B's.
    for k in 0..30 {
        let (h, children) = &households[k % 10];
        a.record_visit(*h, home_visit(&a, children[k % 2], k)).unwrap();
    }
    let base = baseline(docs(&a, &ids).into_iter().zip(docs(&b, &ids)));
    rows.push(measure(
        &proxy,
        &a,
        "push a day: 30 visits, 10 households",
        Some(30),
        base,
        "≤ 200 B/visit, 1 request, < 5 s",
    ));

    // B pulls the day; the relay's documents are now A's.
    let base = baseline(docs(&b, &ids).into_iter().zip(docs(&a, &ids)));
    let row = measure(&proxy, &b, "pull that day on another phone", Some(30), base, "≤ 150 B/visit");
    assert_eq!(row.report.pulled, 30, "B received the day's 30 changes");
    rows.push(row);

    // Nothing new, for a Posyandu of 250 households (C holds them all).
    for i in 10..250 {
        seed_household(&a, i);
    }
    a.sync_now(&mut |_| {}).unwrap();
    let c = device(dir.path(), P, "K-C", "D-C", &url, &tc);
    c.sync_now(&mut |_| {}).unwrap();
    let all: Vec<Uuid> = c.list_households(None).unwrap().iter().map(|h| h.id).collect();
    assert_eq!(all.len(), 250);
    let base = baseline(docs(&c, &all).into_iter().zip(docs(&a, &all)));
    let row = measure(&proxy, &c, "sync with nothing new, 250 households", None, base, "1 request, < 2 KB");
    assert_eq!((row.report.pushed, row.report.pulled), (0, 0));
    rows.push(row);

    let mut out = String::from(
        "Sync benchmark through a 2G-shaped link (50 kbit/s each way, 500 ms RTT); bytes counted on the wire by the proxy, HTTP headers included.\n\
         Baseline (same run, same documents): automerge's per-document sync protocol, fresh sync state, message bodies only (no HTTP headers).\n\n\
         | scenario | requests | bytes up | bytes down | bytes per visit | time via 2G | baseline messages (round trips) | baseline bytes | bytes ÷ baseline | target |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} s | {} ({}) | {} | {:.2}× | {} |\n",
            r.scenario,
            r.report.requests,
            r.up,
            r.down,
            r.visits.map_or("–".into(), |v| format!("{:.0}", (r.up + r.down) as f64 / v as f64)),
            r.time.as_secs_f64(),
            r.base.messages,
            r.base.rounds,
            r.base.bytes,
            (r.up + r.down) as f64 / r.base.bytes.max(1) as f64,
            r.target
        ));
    }
    println!("{out}");
    let results = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../bench-results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join("sync.md"), out).unwrap();
}
