//! A phone is never stuck behind a refusal, and never reports success with changes it
//! cannot apply (issue 9), against a real relay process:
//!
//! - a household whose push the relay refuses is quarantined on the phone and re-based
//!   on the relay's copy; the phone's other households and its valid visits of that
//!   household reach the other phones; the refused record does not;
//! - a phone whose pulled changes depend on changes it never received (its own, after
//!   the store was restored from an old copy) repairs the document from the relay;
//! - one store per device token: a second store on the same token is refused with a
//!   clear error, and the first keeps syncing.

use automerge::transaction::Transactable;
use automerge::{ActorId, ObjType, ReadDoc, ROOT};
use posyandu_core::doc::HouseholdDoc;
use posyandu_core::sync::wire::{self, DocChanges, SyncRequest, SyncResponse, ACTOR_HEADER, SYNC_PATH};
use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::relay::{device, RelayProcess};
use posyandu_tests::tamper::{store_actor, write_behind};
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

const P: &str = "P-001";

fn weighing(store: &Store, member: Uuid, weight: f64) -> NewVisit {
    NewVisit {
        date: store.today(),
        kind: VisitKind::KunjunganRumah,
        entries: vec![VisitEntry {
            member_id: member,
            measurements: Measurements { weight_kg: Some(weight), ..Default::default() },
            ..Default::default()
        }],
    }
}

/// Writes, behind the (closed) store's back, a visit whose weight is text — what a
/// buggy app release would do — as a local change queued for the relay.
fn inject_bad_visit(path: &std::path::Path, household: Uuid, member: Uuid, kader: &str) -> Uuid {
    let visit_id = Uuid::new_v4();
    write_behind(path, household, kader, |am| {
        let (_, visits) = am.get(ROOT, "visits").unwrap().unwrap();
        let v = am.put_object(&visits, visit_id.to_string(), ObjType::Map).unwrap();
        am.put(&v, "date", "2026-11-30").unwrap();
        am.put(&v, "kind", "kunjungan_rumah").unwrap();
        am.put(&v, "kader_id", kader).unwrap();
        am.put(&v, "posyandu_id", P).unwrap();
        am.put(&v, "deleted", false).unwrap();
        let entries = am.put_object(&v, "entries", ObjType::Map).unwrap();
        let e = am.put_object(&entries, member.to_string(), ObjType::Map).unwrap();
        let m = am.put_object(&e, "measurements", ObjType::Map).unwrap();
        am.put(&m, "weight_kg", "sembilan kilo").unwrap();
    });
    visit_id
}

fn visit_ids(store: &Store, h: Uuid) -> Vec<Uuid> {
    store.household(h).unwrap().visits.iter().filter(|v| !v.deleted).map(|v| v.id).collect()
}

#[test]
fn a_refused_household_is_quarantined_rebased_and_everything_else_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.start().unwrap();
    let path = dir.path().join("D-A.sqlite3");
    let (h, h2, child, v1) = {
        let a = device(dir.path(), P, "K-A", "D-A", &relay.url(), &ta);
        let h = a.create_household(household("001")).unwrap();
        let child = a.add_member(h, member(&a, "Ani", 400, Sex::Female, Relation::Anak)).unwrap();
        let v1 = a.record_visit(h, weighing(&a, child, 9.1)).unwrap();
        let h2 = a.create_household(household("002")).unwrap();
        (h, h2, child, v1)
    };
    let bad = inject_bad_visit(&path, h, child, "K-A");
    let a = Store::open_existing(&path, posyandu_tests::relay::keyring(&path)).unwrap();
    // Recorded after the bad change (so it depends on it): must not be lost.
    let v2 = a.record_visit(h, weighing(&a, child, 9.3)).unwrap();

    let report = a.sync_now(&mut |_| {}).expect("the phone is not stuck behind the refusal");
    assert_eq!(report.refused, 1, "{report:?}");
    assert_eq!(a.pending_changes().unwrap(), 0, "the re-based household was pushed in the same sync");
    let q = a.quarantined().unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].household_id, q[0].code.as_str()), (h, "bad_change"));
    let path_prefix = format!("visits/{bad}");
    assert!(q[0].path.as_deref().is_some_and(|p| p.starts_with(&path_prefix)), "{q:?}");
    assert!(q[0].changes >= 3, "the household's outbox changes are kept: {q:?}");

    let mut mine = visit_ids(&a, h);
    mine.sort();
    let mut expected = vec![v1, v2];
    expected.sort();
    assert_eq!(mine, expected, "valid visits kept on the phone, the refused one left out");

    let b = device(dir.path(), P, "K-B", "D-B", &relay.url(), &tb);
    b.sync_now(&mut |_| {}).unwrap();
    let mut theirs = visit_ids(&b, h);
    theirs.sort();
    assert_eq!(theirs, expected, "the other phone gets the valid visits, not the refused one");
    assert_eq!(b.household(h).unwrap().members.len(), 1);
    assert!(b.household(h2).is_ok(), "the other household of the push went through");

    // Later syncs are clean, both ways.
    let v3 = b.record_visit(h, weighing(&b, child, 9.4)).unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    let again = a.sync_now(&mut |_| {}).unwrap();
    assert_eq!(again.refused, 0);
    assert!(visit_ids(&a, h).contains(&v3));
    let log = relay.admin(&["refusals"]).unwrap();
    assert!(log.contains("bad_change") && log.contains(&h.to_string()), "{log}");
    assert!(!log.contains("sembilan"), "no value in the operator's listing: {log}");
}

fn raw_sync(url: &str, token: &str, actor: &str, req: &SyncRequest) -> (u16, Vec<u8>) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{url}{SYNC_PATH}"))
        .bearer_auth(token)
        .header(ACTOR_HEADER, actor)
        .body(wire::encode(req))
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.bytes().unwrap().to_vec())
}

#[test]
fn a_phone_missing_changes_repairs_the_document_instead_of_reporting_success() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let tp = relay.register(P, "K-P", "D-P").unwrap();
    let tq = relay.register(P, "K-Q", "D-Q").unwrap();
    relay.start().unwrap();
    let p = device(dir.path(), P, "K-P", "D-P", &relay.url(), &tp);
    p.sync_now(&mut |_| {}).unwrap();
    // A household that this phone's actor created and pushed, but that its store no
    // longer has (the phone was restored from an older copy of its app data). The relay
    // never sends a device its own changes back.
    let actor_hex = store_actor(&dir.path().join("D-P.sqlite3"));
    let actor = ActorId::try_from(actor_hex.as_str()).unwrap();
    let d = Uuid::new_v4();
    let mut doc = HouseholdDoc::create(d, P, &actor).unwrap();
    let patch = HouseholdPatch { address: Some(household("007").address), ..Default::default() };
    doc.patch_household(&patch, p.today()).unwrap();
    let c1 = doc.commit("K-P", 1_700_000_000).unwrap();
    let req = SyncRequest {
        cursor: 0,
        push: vec![DocChanges { doc: d.into_bytes(), changes: vec![c1.raw_bytes().to_vec()] }],
        page_bytes: wire::DEFAULT_PAGE_BYTES,
    };
    let (status, body) = raw_sync(&relay.url(), &tp, &actor_hex, &req);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let _: SyncResponse = wire::decode(&body).unwrap();

    // Another kader adds a member to it: a change that depends on the one P lacks.
    let q = device(dir.path(), P, "K-Q", "D-Q", &relay.url(), &tq);
    q.sync_now(&mut |_| {}).unwrap();
    let m = q.add_member(d, member(&q, "Budi", 200, Sex::Male, Relation::Anak)).unwrap();
    q.sync_now(&mut |_| {}).unwrap();

    let report = p.sync_now(&mut |_| {}).unwrap();
    assert_eq!(report.repaired, 1, "{report:?}");
    let hh = p.household(d).expect("the document is complete on the phone");
    assert_eq!(hh.members.iter().map(|x| x.id).collect::<Vec<_>>(), vec![m]);
    assert_eq!(hh.address.rt, "007");
}

#[test]
fn one_store_per_device_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.start().unwrap();
    let first = device(dir.path(), P, "K-A", "D-A", &relay.url(), &ta);
    let h = first.create_household(household("001")).unwrap();
    first.sync_now(&mut |_| {}).unwrap();
    // The same token typed into a second phone (another store file, another actor).
    let second = device(dir.path(), P, "K-A", "D-A-second", &relay.url(), &ta);
    second.create_household(household("002")).unwrap();
    let err = second.sync_now(&mut |_| {}).unwrap_err();
    match &err {
        Error::Sync(SyncError::Rejected { status, code, message, .. }) => {
            assert_eq!((*status, code.as_str()), (409, "device_bound"));
            assert!(message.contains("HP lain") && message.contains("admin"), "{message}");
        }
        other => panic!("expected device_bound, got {other:?}"),
    }
    assert_eq!(second.pending_changes().unwrap(), 1, "nothing lost on the refused phone");
    // The first phone keeps syncing, and the other kader's phone gets its household.
    first
        .record_visit(
            h,
            weighing(
                &first,
                first.add_member(h, member(&first, "Ani", 300, Sex::Female, Relation::Anak)).unwrap(),
                8.0,
            ),
        )
        .unwrap();
    first.sync_now(&mut |_| {}).unwrap();
    let b = device(dir.path(), P, "K-B", "D-B", &relay.url(), &tb);
    b.sync_now(&mut |_| {}).unwrap();
    assert_eq!(b.household(h).unwrap().visits.len(), 1);
    let bound: Option<i64> = Connection::open(&relay.db)
        .unwrap()
        .query_row("SELECT count(*) FROM device_actor", [], |r| r.get(0))
        .optional()
        .unwrap();
    assert_eq!(bound, Some(2));
}

/// A bad record stored before the relay checked pushes (written here straight into the
/// relay's database, as an older relay would have accepted it) is isolated: phones
/// sync and show the rest of the household, a new phone onboards, the Puskesmas export
/// carries the household and says how many records it left out, and `admin problems`
/// tells the operator where it is — without the value.
#[test]
fn a_bad_record_already_stored_is_isolated_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.admin(&["add-posyandu", "--id", P, "--name", "Posyandu Satu", "--puskesmas", "PKM-1"]).unwrap();
    let tp =
        relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap().lines().last().unwrap().trim().to_string();
    relay.start().unwrap();
    let a = device(dir.path(), P, "K-A", "D-A", &relay.url(), &ta);
    let h = a.create_household(household("001")).unwrap();
    let child = a.add_member(h, member(&a, "Ani", 400, Sex::Female, Relation::Anak)).unwrap();
    let good = a.record_visit(h, weighing(&a, child, 9.1)).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    relay.kill();

    // The old relay's acceptance: merge a bad visit into the stored document and log it.
    let bad = Uuid::new_v4();
    {
        let conn = Connection::open(&relay.db).unwrap();
        // The relay stores it sealed (encryption at rest); the plaintext written back
        // below is what an old relay stored (the next start seals it).
        let snapshot = relay.stored_snapshot(&h.as_bytes()[..]).unwrap();
        let mut doc = HouseholdDoc::load(&snapshot, &ActorId::random()).unwrap();
        let am = doc.automerge();
        let (_, visits) = am.get(ROOT, "visits").unwrap().unwrap();
        let v = am.put_object(&visits, bad.to_string(), ObjType::Map).unwrap();
        am.put(&v, "date", "2026-11-30").unwrap();
        am.put(&v, "kind", "kunjungan_rumah").unwrap();
        am.put(&v, "kader_id", "K-A").unwrap();
        am.put(&v, "posyandu_id", P).unwrap();
        let entries = am.put_object(&v, "entries", ObjType::Map).unwrap();
        let e = am.put_object(&entries, child.to_string(), ObjType::Map).unwrap();
        let m = am.put_object(&e, "measurements", ObjType::Map).unwrap();
        am.put(&m, "weight_kg", "sembilan kilo").unwrap();
        let change = doc.commit("K-A", 1_764_000_000).unwrap();
        let seq: i64 =
            conn.query_row("SELECT last_seq FROM scope_counter WHERE scope = ?1", [P], |r| r.get(0)).unwrap();
        conn.execute(
            "INSERT INTO change_log (scope, seq, doc_id, hash, data, origin_device, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'D-OLD', 0)",
            rusqlite::params![P, seq + 1, &h.as_bytes()[..], change.hash().0.as_slice(), change.raw_bytes()],
        )
        .unwrap();
        conn.execute("UPDATE scope_counter SET last_seq = ?2 WHERE scope = ?1", rusqlite::params![P, seq + 1]).unwrap();
        conn.execute(
            "UPDATE doc SET snapshot = ?2, updated_seq = ?3 WHERE id = ?1",
            rusqlite::params![&h.as_bytes()[..], doc.save(), seq + 1],
        )
        .unwrap();
    }
    relay.start().unwrap();

    // The phone that pulls the bad change and a new phone both keep working.
    a.sync_now(&mut |_| {}).expect("pulling a bad record does not fail the sync");
    let b = device(dir.path(), P, "K-B", "D-B", &relay.url(), &tb);
    b.sync_now(&mut |_| {}).expect("a new phone onboards");
    for s in [&a, &b] {
        let hh = s.household(h).unwrap();
        let shown = hh.visits.iter().find(|v| v.id == good).expect("the valid visit shows");
        assert_eq!(shown.entries.len(), 1);
        // The bad visit keeps its readable parts (date, kader) but not the bad entry.
        assert!(hh.visits.iter().filter(|v| v.id == bad).all(|v| v.entries.is_empty()), "{hh:?}");
        let problems = s.document_problems().unwrap();
        assert!(
            problems.iter().any(|(id, p)| *id == h && p.path.starts_with(&format!("visits/{bad}"))),
            "{problems:?}"
        );
    }
    b.record_visit(h, weighing(&b, child, 9.2)).unwrap();
    b.sync_now(&mut |_| {}).expect("the household still takes new visits");

    // The Puskesmas export includes the household and says it left a record out.
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/export?format=ndjson", relay.url()))
        .bearer_auth(&tp)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers().get("x-posyandu-unreadable-records").unwrap().to_str().unwrap(), "1");
    assert!(resp.headers().get("x-posyandu-unreadable").is_none());
    let body = resp.text().unwrap();
    assert!(body.contains(&h.to_string()) && body.contains(&good.to_string()), "{body}");
    assert!(!body.contains("sembilan"), "the bad value is left out");

    let listing = relay.admin(&["problems"]).unwrap();
    assert!(listing.contains(&format!("visits/{bad}")) && listing.contains(&h.to_string()), "{listing}");
    assert!(!listing.contains("sembilan"), "no value in the operator's listing: {listing}");
}

/// A stored household that cannot be read at all (corrupt bytes on the relay's disk):
/// the export writes every other household, says which one it could not produce, and
/// does not move its cursor past it — once repaired, the next incremental export
/// brings it.
#[test]
fn the_export_never_moves_past_a_household_it_cannot_produce() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    relay.admin(&["add-posyandu", "--id", P, "--name", "Posyandu Satu", "--puskesmas", "PKM-1"]).unwrap();
    let tp =
        relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap().lines().last().unwrap().trim().to_string();
    relay.start().unwrap();
    let a = device(dir.path(), P, "K-A", "D-A", &relay.url(), &ta);
    let first = a.create_household(household("001")).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    let broken = a.create_household(household("002")).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    let last = a.create_household(household("003")).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    relay.kill();
    let good: Vec<u8> = {
        let conn = Connection::open(&relay.db).unwrap();
        let good =
            conn.query_row("SELECT snapshot FROM doc WHERE id = ?1", [&broken.as_bytes()[..]], |r| r.get(0)).unwrap();
        conn.execute("UPDATE doc SET snapshot = x'00ff00ff' WHERE id = ?1", [&broken.as_bytes()[..]]).unwrap();
        // The Puskesmas side reads the read model: its row is damaged too.
        conn.execute("UPDATE read_household SET body = x'00ff00ff' WHERE doc_id = ?1", [&broken.as_bytes()[..]])
            .unwrap();
        good
    };
    relay.start().unwrap();
    let url = relay.url();
    let export = |since: &str| {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{url}/v1/export?format=ndjson&since={since}"))
            .bearer_auth(&tp)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let h = |n: &str| resp.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let (cursor, unreadable, count) =
            (h("x-posyandu-cursor").unwrap(), h("x-posyandu-unreadable"), h("x-posyandu-households"));
        (resp.text().unwrap(), cursor, unreadable, count)
    };
    let (body, cursor, unreadable, count) = export("");
    assert_eq!(unreadable.as_deref(), Some(broken.to_string().as_str()), "the export says which one");
    assert!(body.contains(&first.to_string()), "households before it are written");
    assert!(!body.contains(&broken.to_string()));
    assert_eq!(count.as_deref(), Some("1"), "the count is what was written: {body}");
    // Still stuck before it (not skipped), until the operator repairs it.
    let (_, again, still, _) = export(&cursor);
    assert_eq!(still.as_deref(), Some(broken.to_string().as_str()));
    relay.kill();
    // The repair of docs/relay-operations.md: the document back from a backup, its
    // damaged read-model row dropped (the relay derives it again).
    let conn = Connection::open(&relay.db).unwrap();
    conn.execute("UPDATE doc SET snapshot = ?2 WHERE id = ?1", rusqlite::params![&broken.as_bytes()[..], good])
        .unwrap();
    conn.execute("DELETE FROM read_member WHERE doc_id = ?1", [&broken.as_bytes()[..]]).unwrap();
    conn.execute("DELETE FROM read_household WHERE doc_id = ?1", [&broken.as_bytes()[..]]).unwrap();
    drop(conn);
    relay.start().unwrap();
    let (body, _, unreadable, _) = export(&again);
    assert_eq!(unreadable, None);
    assert!(body.contains(&broken.to_string()) && body.contains(&last.to_string()), "{body}");
}
