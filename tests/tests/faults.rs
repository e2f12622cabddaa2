//! Faults: the relay killed mid-sync, and a link that drops connections mid-body.
//! Nothing acknowledged is lost, nothing is stored twice, and devices converge.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::netshape::{start_blocking, DropRule, LinkProfile};
use posyandu_tests::relay::{device, sync_until_ok, RelayProcess};
use uuid::Uuid;

const P: &str = "P-001";

/// Records `n_households` households with a child and `visits_each` visits; returns visit ids.
fn record_day(store: &Store, n_households: usize, visits_each: usize, tag: &str) -> BTreeSet<Uuid> {
    let mut ids = BTreeSet::new();
    for h in 0..n_households {
        let hh = store.create_household(household(&format!("{:03}", h % 9 + 1))).unwrap();
        let m = store.add_member(hh, member(store, format!("Anak {tag} {h}"), 500, Sex::Male, Relation::Anak)).unwrap();
        for v in 0..visits_each {
            let visit = NewVisit {
                date: store.today() - time::Duration::days(v as i64),
                kind: VisitKind::KunjunganRumah,
                entries: vec![VisitEntry {
                    member_id: m,
                    measurements: Measurements { weight_kg: Some(10.0 + v as f64 / 10.0), ..Default::default() },
                    referral: Some(Referral { reason: "x".repeat(200), to: None }),
                    ..Default::default()
                }],
            };
            ids.insert(store.record_visit(hh, visit).unwrap());
        }
    }
    ids
}

fn all_visits(store: &Store) -> BTreeSet<Uuid> {
    store
        .list_households(None)
        .unwrap()
        .iter()
        .flat_map(|h| store.household(h.id).unwrap().visits.into_iter().map(|v| v.id))
        .collect()
}

#[test]
fn relay_killed_during_syncs_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.start().unwrap();
    // A slow link (200 kbit/s, 40 ms one way) so a sync is long enough to be killed in.
    let proxy = start_blocking(
        relay.addr,
        LinkProfile { bandwidth_bps: Some(200_000), one_way_latency: Duration::from_millis(40), drop: None },
    )
    .unwrap();
    let url = format!("http://{}", proxy.addr());
    let a = Arc::new(device(dir.path(), P, "K-A", "D-A", &url, &ta));
    let b = device(dir.path(), P, "K-B", "D-B", &url, &tb);
    let mut expected = BTreeSet::new();
    let mut kills = 0;
    for round in 0..4 {
        expected.extend(record_day(&a, 10, 6, &format!("a{round}")));
        expected.extend(record_day(&b, 2, 3, &format!("b{round}")));
        // Kill the relay while A's sync is on the wire (at a different point each round).
        let before = proxy.stats();
        let done = Arc::new(AtomicBool::new(false));
        let (a2, done2) = (a.clone(), done.clone());
        let syncing = std::thread::spawn(move || {
            let r = a2.sync_now(&mut |_| {});
            done2.store(true, Ordering::SeqCst);
            r
        });
        let threshold = before.bytes_up + before.bytes_down + 500 + round as u64 * 1500;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
            let s = proxy.stats();
            if s.bytes_up + s.bytes_down >= threshold {
                relay.kill();
                kills += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let first = syncing.join().unwrap();
        relay.kill();
        relay.start().unwrap();
        if first.is_err() {
            assert!(a.pending_changes().unwrap() > 0, "a failed sync keeps the outbox");
        }
        sync_until_ok(&a, 5).unwrap();
        sync_until_ok(&b, 5).unwrap();
        // The read model (what the Puskesmas reads) survived the kill consistent with
        // the documents: every row equals a derivation from scratch.
        relay.admin(&["check-read-model"]).expect("read model consistent after a kill -9");
    }
    assert!(kills >= 3, "the relay was killed mid-sync ({kills} times)");
    for s in [&a as &Store, &b] {
        sync_until_ok(s, 5).unwrap();
    }
    sync_until_ok(&a, 5).unwrap();
    assert_eq!(all_visits(&a), expected, "device A has every visit");
    assert_eq!(all_visits(&b), expected, "device B has every visit");
    assert_eq!(a.pending_changes().unwrap() + b.pending_changes().unwrap(), 0);
    let (rows, distinct, max_seq) = relay.log_stats(P).unwrap();
    assert_eq!((rows, distinct), (max_seq, max_seq), "relay log: no duplicate, no gap");
}

#[test]
fn flaky_link_dropping_mid_body_still_converges() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let tokens: Vec<String> =
        ["A", "B", "C"].iter().map(|k| relay.register(P, &format!("K-{k}"), &format!("D-{k}")).unwrap()).collect();
    relay.start().unwrap();
    // Half the connections are cut at a random byte of the request or the response.
    let proxy = start_blocking(
        relay.addr,
        LinkProfile::unshaped().with_drop(Some(DropRule::Random { probability_per_connection: 0.5, seed: 7 })),
    )
    .unwrap();
    let url = format!("http://{}", proxy.addr());
    let devs: Vec<Store> = ["A", "B", "C"]
        .iter()
        .zip(&tokens)
        .map(|(k, t)| device(dir.path(), P, &format!("K-{k}"), &format!("D-{k}"), &url, t))
        .collect();
    let mut expected = BTreeSet::new();
    let mut failures = 0;
    for round in 0..3 {
        for (i, d) in devs.iter().enumerate() {
            expected.extend(record_day(d, 3, 2, &format!("{i}-{round}")));
        }
        for d in &devs {
            // Count the failed attempts a kader would retry.
            loop {
                match d.sync_now(&mut |_| {}) {
                    Ok(_) => break,
                    Err(Error::Sync(SyncError::Offline(_))) => failures += 1,
                    Err(e) => panic!("unexpected error on a flaky link: {e:?}"),
                }
                assert!(failures < 500, "too many failures");
            }
        }
    }
    assert!(failures > 0 && proxy.stats().dropped_connections > 0, "the link really dropped connections");
    // Settle on a clean link.
    proxy.set_profile(LinkProfile::unshaped());
    for d in devs.iter().chain(devs.iter()) {
        d.sync_now(&mut |_| {}).unwrap();
    }
    for d in &devs {
        assert_eq!(all_visits(d), expected, "{} converged", d.identity().device_id);
    }
    let (rows, distinct, max_seq) = relay.log_stats(P).unwrap();
    assert_eq!((rows, distinct), (max_seq, max_seq));
}
