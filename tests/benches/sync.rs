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
use posyandu_tests::netshape::{profile_2g, start_blocking, LinkProfile};
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

fn member(store: &Store, name: String, days_old: i64, sex: Sex, relation: Relation) -> NewMember {
    NewMember {
        nik: None,
        mother_nik: None,
        name,
        birth_date: store.today() - time::Duration::days(days_old),
        sex,
        relation,
        bpjs_number: None,
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

struct Row {
    scenario: String,
    requests: u32,
    up: u64,
    down: u64,
    per_visit: Option<f64>,
    time: Duration,
    base_messages: usize,
    base_rounds: usize,
    base_bytes: usize,
    target: &'static str,
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

    // --- Setup (unshaped): 10 households on both phones.
    let households: Vec<(Uuid, Vec<Uuid>)> = (0..10).map(|i| seed_household(&a, i)).collect();
    a.sync_now(&mut |_| {}).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    let ids: Vec<Uuid> = households.iter().map(|h| h.0).collect();
    let mut before_b = docs(&b, &ids);

    // --- The day: 30 home visits offline on A.
    for k in 0..30 {
        let (h, children) = &households[k % 10];
        a.record_visit(*h, home_visit(&a, children[k % 2], k)).unwrap();
    }
    let mut after_a = docs(&a, &ids);

    // Baseline push: automerge per-document sync, A's docs against the relay's (= B's before).
    let (mut bm, mut bb, mut br) = (0, 0, 0);
    for (i, relay_doc) in before_b.iter_mut().enumerate() {
        let mut device_doc = after_a[i].fork();
        let (m, b_, r) = automerge_sync(&mut device_doc, relay_doc);
        bm += m;
        bb += b_;
        br = br.max(r);
    }
    proxy.set_profile(profile_2g());
    proxy.reset_stats();
    let t = Instant::now();
    let r = a.sync_now(&mut |_| {}).unwrap();
    let push_time = t.elapsed();
    let s = proxy.stats();
    rows.push(Row {
        scenario: "push a day: 30 visits, 10 households".into(),
        requests: r.requests,
        up: s.bytes_up,
        down: s.bytes_down,
        per_visit: Some((s.bytes_up + s.bytes_down) as f64 / 30.0),
        time: push_time,
        base_messages: bm,
        base_rounds: br,
        base_bytes: bb,
        target: "≤ 200 B/visit, 1 request, < 5 s",
    });

    // Baseline pull: B's docs (before the day) against the relay's (= A's after the day).
    let (mut bm, mut bb, mut br) = (0, 0, 0);
    for (i, id) in ids.iter().enumerate() {
        let mut b_doc = docs(&b, &[*id]).remove(0);
        let (m, b_, r) = automerge_sync(&mut b_doc, &mut after_a[i]);
        bm += m;
        bb += b_;
        br = br.max(r);
    }
    proxy.reset_stats();
    let t = Instant::now();
    let r = b.sync_now(&mut |_| {}).unwrap();
    let pull_time = t.elapsed();
    let s = proxy.stats();
    assert_eq!(r.pulled, 30, "B received the day's 30 changes");
    rows.push(Row {
        scenario: "pull that day on another phone".into(),
        requests: r.requests,
        up: s.bytes_up,
        down: s.bytes_down,
        per_visit: Some((s.bytes_up + s.bytes_down) as f64 / 30.0),
        time: pull_time,
        base_messages: bm,
        base_rounds: br,
        base_bytes: bb,
        target: "≤ 150 B/visit",
    });

    // --- Nothing new, for a Posyandu of 250 households (C holds them all).
    proxy.set_profile(LinkProfile::unshaped());
    for i in 10..250 {
        seed_household(&a, i);
    }
    a.sync_now(&mut |_| {}).unwrap();
    let c = device(dir.path(), P, "K-C", "D-C", &url, &tc);
    c.sync_now(&mut |_| {}).unwrap();
    let all: Vec<Uuid> = c.list_households(None).unwrap().iter().map(|h| h.id).collect();
    assert_eq!(all.len(), 250);
    let mut c_docs = docs(&c, &all);
    let mut a_docs = docs(&a, &all);
    let (mut bm, mut bb, mut br) = (0, 0, 0);
    for (x, y) in c_docs.iter_mut().zip(a_docs.iter_mut()) {
        let (m, b_, r) = automerge_sync(x, y);
        bm += m;
        bb += b_;
        br = br.max(r);
    }
    proxy.set_profile(profile_2g());
    proxy.reset_stats();
    let t = Instant::now();
    let r = c.sync_now(&mut |_| {}).unwrap();
    let noop_time = t.elapsed();
    let s = proxy.stats();
    assert_eq!((r.pushed, r.pulled), (0, 0));
    rows.push(Row {
        scenario: "sync with nothing new, 250 households".into(),
        requests: r.requests,
        up: s.bytes_up,
        down: s.bytes_down,
        per_visit: None,
        time: noop_time,
        base_messages: bm,
        base_rounds: br,
        base_bytes: bb,
        target: "1 request, < 2 KB",
    });

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
            r.requests,
            r.up,
            r.down,
            r.per_visit.map_or("–".into(), |v| format!("{v:.0}")),
            r.time.as_secs_f64(),
            r.base_messages,
            r.base_rounds,
            r.base_bytes,
            (r.up + r.down) as f64 / r.base_bytes.max(1) as f64,
            r.target
        ));
    }
    println!("{out}");
    let results = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../bench-results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join("sync.md"), out).unwrap();
}
