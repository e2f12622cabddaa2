//! Devices offline for days converge through a real relay process: every visit
//! present on every device, same-field conflicts surfaced, scopes enforced.

use std::collections::BTreeSet;

use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::relay::{device, RelayProcess};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use time::Duration;
use uuid::Uuid;

const P: &str = "P-001";

fn kid(name: &str, store: &Store) -> NewMember {
    member(store, name, 400, Sex::Female, Relation::Anak)
}

fn visit(store: &Store, member: Uuid, days_ago: i64, weight: f64) -> NewVisit {
    NewVisit {
        date: store.today() - Duration::days(days_ago),
        kind: VisitKind::KunjunganRumah,
        entries: vec![VisitEntry {
            member_id: member,
            measurements: Measurements { weight_kg: Some(weight), ..Default::default() },
            ..Default::default()
        }],
    }
}

/// Every household as each device sees it, by id.
fn state(store: &Store) -> Vec<Household> {
    store.list_households(None).unwrap().iter().map(|h| store.household(h.id).unwrap()).collect()
}

#[test]
fn three_devices_converge_in_random_orders_with_conflicts_surfaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let tokens: Vec<String> =
        ["A", "B", "C"].iter().map(|k| relay.register(P, &format!("K-{k}"), &format!("D-{k}")).unwrap()).collect();
    relay.start().unwrap();
    let devs: Vec<Store> = ["A", "B", "C"]
        .iter()
        .zip(&tokens)
        .map(|(k, t)| device(dir.path(), P, &format!("K-{k}"), &format!("D-{k}"), &relay.url(), t))
        .collect();

    // A registers a shared household; everyone gets it.
    let shared = devs[0].create_household(household("001")).unwrap();
    let child = devs[0].add_member(shared, kid("Ani", &devs[0])).unwrap();
    for d in &devs {
        d.sync_now(&mut |_| {}).unwrap();
    }
    for d in &devs {
        assert!(d.household(shared).is_ok(), "shared household reached every device");
    }

    let mut rng = rand::rngs::StdRng::seed_from_u64(20261123);
    let mut expected_visits: BTreeSet<Uuid> = BTreeSet::new();
    for round in 0..4 {
        // Offline: each device records visits in the shared household and in one of its own.
        for (i, d) in devs.iter().enumerate() {
            let own = d.create_household(household(&format!("00{}", i + 2))).unwrap();
            let m = d.add_member(own, kid(&format!("Anak {i}-{round}"), d)).unwrap();
            expected_visits.insert(d.record_visit(own, visit(d, m, 3, 9.0)).unwrap());
            expected_visits.insert(d.record_visit(shared, visit(d, child, round + 1, 9.5 + i as f64 / 10.0)).unwrap());
        }
        if round == 1 {
            // The same field edited differently on two devices while offline.
            devs[0]
                .update_member(shared, child, MemberPatch { name: Some("Ani Lestari".into()), ..Default::default() })
                .unwrap();
            devs[1]
                .update_member(shared, child, MemberPatch { name: Some("Ani Wulandari".into()), ..Default::default() })
                .unwrap();
        }
        let mut order: Vec<usize> = (0..devs.len()).collect();
        order.shuffle(&mut rng);
        for i in order {
            devs[i].sync_now(&mut |_| {}).unwrap();
        }
    }
    // Two more passes so every device has seen everyone's last changes.
    for _ in 0..2 {
        for d in &devs {
            let r = d.sync_now(&mut |_| {}).unwrap();
            assert!(r.requests >= 1);
        }
    }

    let reference = state(&devs[0]);
    assert_eq!(reference.len(), 1 + 3 * 4);
    for d in &devs[1..] {
        assert_eq!(state(d), reference, "device {} converged", d.identity().device_id);
    }
    let got: BTreeSet<Uuid> = reference.iter().flat_map(|h| h.visits.iter().map(|v| v.id)).collect();
    assert_eq!(got, expected_visits, "every visit present exactly once");
    for d in &devs {
        assert_eq!(d.pending_changes().unwrap(), 0);
        let conflicts = d.conflicts(shared).unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let mut values: Vec<_> = conflicts[0].values.iter().map(|v| v.value_json.clone()).collect();
        values.sort();
        assert_eq!(values, vec!["\"Ani Lestari\"", "\"Ani Wulandari\""]);
        assert_eq!(d.list_households(Some("001")).unwrap()[0].conflict_count, 1);
    }
    let (rows, distinct, max_seq) = relay.log_stats(P).unwrap();
    assert_eq!((rows, distinct), (max_seq, max_seq), "relay log: no duplicate, no gap");

    // Resolving on one device clears the conflict everywhere.
    devs[2].resolve_conflict(shared, &format!("members/{child}/name"), "\"Ani Lestari\"").unwrap();
    for d in devs.iter().chain(devs.iter()) {
        d.sync_now(&mut |_| {}).unwrap();
    }
    for d in &devs {
        assert!(d.conflicts(shared).unwrap().is_empty());
        assert_eq!(d.household(shared).unwrap().member(child).unwrap().name, "Ani Lestari");
    }
}

#[test]
fn a_new_phone_downloads_snapshots_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.start().unwrap();
    let a = device(dir.path(), P, "K-A", "D-A", &relay.url(), &ta);
    for i in 0..40 {
        let h = a.create_household(household(&format!("{:03}", i % 5 + 1))).unwrap();
        let m = a.add_member(h, kid(&format!("Anak {i}"), &a)).unwrap();
        for k in 0..3 {
            a.record_visit(h, visit(&a, m, 30 * k + 1, 8.0 + k as f64)).unwrap();
        }
    }
    a.sync_now(&mut |_| {}).unwrap();

    let b = device(dir.path(), P, "K-B", "D-B", &relay.url(), &tb);
    let mut progress = Vec::new();
    let r = b.sync_now(&mut |p| progress.push(p)).unwrap();
    assert_eq!(r.snapshot_docs, 40, "first sync downloads compacted documents");
    assert_eq!(r.pulled, 0, "not the change history");
    let downloads: Vec<_> = progress.iter().filter(|p| p.phase == SyncPhase::Download).collect();
    assert!(!downloads.is_empty());
    let last = downloads.last().unwrap();
    assert_eq!((last.docs_done, last.docs_total), (40, 40));
    assert_eq!(state(&b), state(&a));
    // The next sync is an empty exchange: one small request.
    let r = b.sync_now(&mut |_| {}).unwrap();
    assert_eq!((r.requests, r.pushed, r.pulled), (1, 0, 0));
    assert!(r.bytes_up + r.bytes_down < 100, "{r:?}");
}

#[test]
fn posyandu_scopes_are_enforced_and_revoked_tokens_stop_working() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let ta = relay.register("P-A", "K-A", "D-A").unwrap();
    let tb = relay.register("P-B", "K-B", "D-B").unwrap();
    let ta2 = relay.register("P-A", "K-A2", "D-A2").unwrap();
    relay.start().unwrap();
    let a = device(dir.path(), "P-A", "K-A", "D-A", &relay.url(), &ta);
    let b = device(dir.path(), "P-B", "K-B", "D-B", &relay.url(), &tb);
    let ha = a.create_household(household("001")).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    b.create_household(household("001")).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    assert!(b.household(ha).is_err(), "Posyandu B's device never receives Posyandu A's household");
    assert_eq!(b.list_households(None).unwrap().len(), 1);

    // A second store that uses B's token and claims to be in Posyandu A is refused by
    // the relay: the token is bound to B's store (one store per device token; the
    // scope check itself is tested in server/tests/api.rs).
    let liar = device(dir.path(), "P-A", "K-B", "D-B-liar", &relay.url(), &tb);
    liar.create_household(household("009")).unwrap();
    let err = liar.sync_now(&mut |_| {}).unwrap_err();
    assert!(matches!(&err, Error::Sync(SyncError::Rejected { code, .. }) if code == "device_bound"), "{err:?}");
    assert_eq!(liar.pending_changes().unwrap(), 1, "refused change kept on the phone, not lost");

    // Another device of Posyandu A sees A's household.
    let a2 = device(dir.path(), "P-A", "K-A2", "D-A2", &relay.url(), &ta2);
    a2.sync_now(&mut |_| {}).unwrap();
    assert!(a2.household(ha).is_ok());

    // A lost phone: its token is revoked and stops working at once.
    relay.admin(&["revoke-device", "--device", "D-A"]).unwrap();
    a.record_visit(ha, {
        let m = a.add_member(ha, kid("Ana", &a)).unwrap();
        visit(&a, m, 1, 9.0)
    })
    .unwrap();
    let err = a.sync_now(&mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Sync(SyncError::Unauthorized)), "{err:?}");
    assert!(err.to_string().contains("Token perangkat ditolak"));
}
