//! Issue 15: a phone store whose household document was damaged is rebuilt from the
//! relay's copy plus the phone's unsent changes; nothing unsent is lost, and the next
//! sync pushes it. Against a real relay process (`POSYANDU_RELAY_BIN` or
//! target/release/posyandu-relay).

use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::relay::{device, RelayProcess};

#[test]
fn a_damaged_household_is_rebuilt_from_the_relay_and_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.start().unwrap();
    let token = relay.register("P-R", "K-R", "D-R").unwrap();
    let a = device(dir.path(), "P-R", "K-R", "D-R", &relay.url(), &token);
    let hh = a.create_household(household("001")).unwrap();
    let mother = a.add_member(hh, member(&a, "Siti", 9000, Sex::Female, Relation::Istri)).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    assert_eq!(a.pending_changes().unwrap(), 0);
    // Recorded after the sync: only on this phone.
    let kid = a.add_member(hh, member(&a, "Budi", 300, Sex::Male, Relation::Anak)).unwrap();
    let pending = a.pending_changes().unwrap();
    assert!(pending > 0);
    let path = a.path().to_path_buf();
    drop(a);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE doc SET snapshot = zeroblob(length(snapshot)) WHERE id = ?1", [hh.to_string()]).unwrap();
    }
    let a = Store::open_existing(&path, posyandu_tests::relay::keyring(&path)).unwrap();
    assert!(a.household(hh).is_err());
    let r = a.repair_damaged_households().unwrap();
    assert_eq!(r.repaired, vec![hh]);
    let h = a.household(hh).unwrap();
    assert!(h.member(mother).is_some(), "from the relay's copy");
    assert!(h.member(kid).is_some(), "from the phone's unsent changes");
    assert_eq!(a.pending_changes().unwrap(), pending, "the outbox is kept");
    a.sync_now(&mut |_| {}).unwrap();
    assert_eq!(a.pending_changes().unwrap(), 0);
    // Another phone of the Posyandu gets both members.
    let t2 = relay.register("P-R", "K-R", "D-R2").unwrap();
    let b = device(dir.path(), "P-R", "K-R", "D-R2", &relay.url(), &t2);
    b.sync_now(&mut |_| {}).unwrap();
    let hb = b.household(hh).unwrap();
    assert!(hb.member(mother).is_some() && hb.member(kid).is_some());
}
