//! Restoring a relay backup (docs/deployment.md): the relay loses every change it
//! acknowledged after the backup, and its log positions after the backup point are
//! reused. With `admin new-epoch` after the restore, phones notice, re-pull from 0 and
//! re-push everything they hold, so nothing is lost. Without it, data is lost (the
//! second test demonstrates the hazard the epoch exists for).

use std::collections::BTreeSet;

use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::relay::{device, RelayProcess};
use time::Duration;
use uuid::Uuid;

const P: &str = "P-001";

fn visit(store: &Store, member: Uuid, weight: f64) -> NewVisit {
    NewVisit {
        date: store.today() - Duration::days(1),
        kind: VisitKind::KunjunganRumah,
        entries: vec![VisitEntry {
            member_id: member,
            measurements: Measurements { weight_kg: Some(weight), ..Default::default() },
            ..Default::default()
        }],
    }
}

/// Ids of the visits (deleted or not) of every household the device holds.
fn visits(store: &Store) -> BTreeSet<Uuid> {
    store
        .list_households(None)
        .unwrap()
        .iter()
        .flat_map(|h| store.household(h.id).unwrap().visits.into_iter().map(|v| v.id))
        .collect()
}

/// The device's stored log cursor.
fn cursor(store: &Store) -> u64 {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.query_row("SELECT value FROM meta WHERE key = 'sync_cursor'", [], |r| r.get::<_, String>(0))
        .unwrap()
        .parse()
        .unwrap()
}

struct World {
    dir: tempfile::TempDir,
    relay: RelayProcess,
    tokens: Vec<String>,
    a: Store,
    b: Store,
    /// Visits recorded anywhere.
    recorded: BTreeSet<Uuid>,
}

impl World {
    fn dev(&self, i: usize) -> Store {
        let k = ["A", "B", "C", "D"][i];
        device(self.dir.path(), P, &format!("K-{k}"), &format!("D-{k}"), &self.relay.url(), &self.tokens[i])
    }
}

/// A and B sync; a backup is taken; A and B record more (a new household too) and
/// sync, so A's and B's outboxes are empty of changes the backup lacks; the relay is
/// stopped and the backup restored over its database (not started again).
fn synced_then_restored() -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let tokens: Vec<String> =
        ["A", "B", "C", "D"].iter().map(|k| relay.register(P, &format!("K-{k}"), &format!("D-{k}")).unwrap()).collect();
    relay.start().unwrap();
    let a = device(dir.path(), P, "K-A", "D-A", &relay.url(), &tokens[0]);
    let b = device(dir.path(), P, "K-B", "D-B", &relay.url(), &tokens[1]);
    let mut recorded = BTreeSet::new();

    let h = a.create_household(household("001")).unwrap();
    let kid = a.add_member(h, member(&a, "Ani", 400, Sex::Female, Relation::Anak)).unwrap();
    recorded.insert(a.record_visit(h, visit(&a, kid, 9.0)).unwrap());
    a.sync_now(&mut |_| {}).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    recorded.insert(b.record_visit(h, visit(&b, kid, 9.1)).unwrap());
    b.sync_now(&mut |_| {}).unwrap();
    a.sync_now(&mut |_| {}).unwrap();

    let backup = dir.path().join("backup.sqlite3");
    relay.backup(&backup).unwrap();
    let (_, _, seq_at_backup) = relay.log_stats(P).unwrap();

    // After the backup: acknowledged by the relay, removed from the phones' outboxes.
    recorded.insert(a.record_visit(h, visit(&a, kid, 9.2)).unwrap());
    let h2 = a.create_household(household("002")).unwrap();
    let kid2 = a.add_member(h2, member(&a, "Budi", 300, Sex::Male, Relation::Anak)).unwrap();
    recorded.insert(a.record_visit(h2, visit(&a, kid2, 8.0)).unwrap());
    recorded.insert(b.record_visit(h, visit(&b, kid, 9.3)).unwrap());
    a.sync_now(&mut |_| {}).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    assert_eq!((a.pending_changes().unwrap(), b.pending_changes().unwrap()), (0, 0));
    assert_eq!(visits(&a), recorded);
    assert_eq!(visits(&b), recorded);
    assert!(cursor(&b) >= seq_at_backup as u64 + 5, "B's cursor is well past the backup point");

    relay.kill();
    relay.restore(&backup).unwrap();
    assert_eq!(relay.log_stats(P).unwrap().2, seq_at_backup, "the restored relay lacks the later changes");
    World { dir, relay, tokens, a, b, recorded }
}

#[test]
fn after_a_restore_and_new_epoch_phones_heal_the_relay_and_skip_nothing() {
    let mut w = synced_then_restored();
    let before = w.relay.epoch().unwrap();
    let epoch = w.relay.new_epoch().unwrap();
    assert_ne!(epoch, before);
    assert_eq!(w.relay.epoch().unwrap(), epoch);
    w.relay.start().unwrap();

    // A new phone bootstraps from the restored relay and records a visit first: its
    // changes take log positions that B's (old-epoch) cursor has already passed.
    let c = w.dev(2);
    let r = c.sync_now(&mut |_| {}).unwrap();
    assert!(!r.relay_restored, "first contact is not a restore: {r:?}");
    let h = c.list_households(None).unwrap()[0].id;
    let kid = c.household(h).unwrap().members[0].id;
    w.recorded.insert(c.record_visit(h, visit(&c, kid, 9.4)).unwrap());
    c.sync_now(&mut |_| {}).unwrap();

    // B and A notice the new epoch: they re-pull from 0 and re-push what they hold.
    w.recorded.insert(w.b.record_visit(h, visit(&w.b, kid, 9.5)).unwrap());
    let r = w.b.sync_now(&mut |_| {}).unwrap();
    assert!(r.relay_restored, "{r:?}");
    assert!(r.pushed > 1 && r.pulled > 0, "B re-pushed everything and re-pulled: {r:?}");
    let r = w.a.sync_now(&mut |_| {}).unwrap();
    assert!(r.relay_restored, "{r:?}");
    // A second sync of each is a plain one; C gets what A and B put back.
    for d in [&c, &w.b, &w.a, &c] {
        let r = d.sync_now(&mut |_| {}).unwrap();
        assert!(!r.relay_restored, "{r:?}");
    }

    let d = w.dev(3);
    d.sync_now(&mut |_| {}).unwrap();
    let (rows, distinct, max_seq) = w.relay.log_stats(P).unwrap();
    assert_eq!((rows, distinct), (max_seq, max_seq), "the log has no duplicate hash and no gap");
    for (name, s) in [("A", &w.a), ("B", &w.b), ("C", &c), ("D (the relay's content)", &d)] {
        assert_eq!(visits(s), w.recorded, "every visit ever recorded is on {name}");
        assert_eq!(s.pending_changes().unwrap(), 0, "{name}");
    }
    for s in [&w.a, &w.b, &c] {
        assert_eq!(cursor(s), max_seq as u64, "cursor at the end of the log");
    }
}

/// What the epoch protects against: the same restore WITHOUT `admin new-epoch` loses
/// data. A's changes after the backup are gone from the relay (A deleted them from its
/// outbox when they were acknowledged), and B, whose cursor is past the restored log,
/// skips the new changes that reuse those log positions.
#[test]
fn hazard_without_new_epoch_a_restore_loses_changes() {
    let mut w = synced_then_restored();
    w.relay.start().unwrap();
    let c = w.dev(2);
    c.sync_now(&mut |_| {}).unwrap();
    let h = c.list_households(None).unwrap()[0].id;
    let kid = c.household(h).unwrap().members[0].id;
    let c_visit = c.record_visit(h, visit(&c, kid, 9.4)).unwrap();
    w.recorded.insert(c_visit);
    c.sync_now(&mut |_| {}).unwrap();
    for d in [&w.b, &w.a, &c, &w.b] {
        let r = d.sync_now(&mut |_| {}).unwrap();
        assert!(!r.relay_restored);
    }
    assert!(!visits(&w.b).contains(&c_visit), "B skipped C's visit: its log position was reused");
    assert!(visits(&c).len() < w.recorded.len() - 1, "C never gets the visits the restore dropped");
}
