//! Old and new app versions sync together through a real relay (issue 9,
//! docs/schema.md): a million phones never update at once.
//!
//! - **Newer → this version**: a phone of the next app version writes fields, enum
//!   values and record kinds this build does not know (simulated by writing them behind
//!   a store's back, exactly as that version's writer would). The relay accepts them,
//!   this version's phone reads the rest of the household, keeps the newer data through
//!   its own edits and passes it on: the newer phone gets everything back unchanged.
//! - **Older → this version**: a household saved by an earlier build (the fixture
//!   `core/tests/fixtures/schema/household-v1.automerge`) syncs through the relay to a
//!   phone of this build, which reads it whole.

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, Value, ROOT};
use posyandu_core::doc::{HouseholdDoc, ProblemKind};
use posyandu_core::sync::wire::{self, DocChanges, SyncRequest, SYNC_PATH};
use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::relay::{device, RelayProcess};
use posyandu_tests::tamper::{load_doc, write_behind};
use uuid::Uuid;

const P: &str = "P-001";

#[test]
fn a_newer_app_version_and_this_one_sync_both_ways_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let t_new = relay.register(P, "K-NEW", "D-NEW").unwrap();
    let t_cur = relay.register(P, "K-CUR", "D-CUR").unwrap();
    relay.start().unwrap();
    let new_path = dir.path().join("D-NEW.sqlite3");
    let (h, child) = {
        let n = device(dir.path(), P, "K-NEW", "D-NEW", &relay.url(), &t_new);
        let h = n.create_household(household("004")).unwrap();
        let child = n.add_member(h, member(&n, "Sari", 300, Sex::Female, Relation::Anak)).unwrap();
        n.sync_now(&mut |_| {}).unwrap();
        (h, child)
    };
    // What the next version writes: a field on a member, a field inside a visit entry, a
    // visit of a kind this build does not know, and a new record kind (kelas_ibu; `referrals` was the example until issue 12 made it real).
    let new_visit = Uuid::new_v4();
    let referral = Uuid::new_v4();
    write_behind(&new_path, h, "K-NEW", |am| {
        let (_, members) = am.get(ROOT, "members").unwrap().unwrap();
        let (_, m) = am.get(&members, child.to_string()).unwrap().unwrap();
        am.put(&m, "status_kependudukan", "aktif").unwrap();
        let (_, visits) = am.get(ROOT, "visits").unwrap().unwrap();
        let v = am.put_object(&visits, new_visit.to_string(), ObjType::Map).unwrap();
        am.put(&v, "date", "2026-11-20").unwrap();
        am.put(&v, "kind", "kelas_balita").unwrap();
        am.put(&v, "kader_id", "K-NEW").unwrap();
        am.put(&v, "posyandu_id", P).unwrap();
        am.put(&v, "deleted", false).unwrap();
        let entries = am.put_object(&v, "entries", ObjType::Map).unwrap();
        let e = am.put_object(&entries, child.to_string(), ObjType::Map).unwrap();
        am.put(&e, "topik_kelas", "mp_asi").unwrap();
        let refs = am.put_object(ROOT, "kelas_ibu", ObjType::Map).unwrap();
        let r = am.put_object(&refs, referral.to_string(), ObjType::Map).unwrap();
        am.put(&r, "member_id", child.to_string()).unwrap();
        am.put(&r, "status", "dirujuk").unwrap();
        am.put(&r, "reason_code", "2T").unwrap();
    });
    let n = Store::open_existing(&new_path, posyandu_tests::relay::keyring(&new_path)).unwrap();
    n.sync_now(&mut |_| {}).expect("the relay accepts what a newer version writes");
    assert_eq!(n.quarantined().unwrap(), vec![], "nothing refused");

    // This version's phone: reads the household, lists the newer record, edits it.
    let c = device(dir.path(), P, "K-CUR", "D-CUR", &relay.url(), &t_cur);
    c.sync_now(&mut |_| {}).unwrap();
    let hh = c.household(h).expect("the household reads");
    assert_eq!(hh.members.len(), 1);
    assert!(hh.visits.iter().all(|v| v.id != new_visit), "a visit kind this build does not know is not shown");
    let problems = c.document_problems().unwrap();
    assert!(
        problems
            .iter()
            .any(|(id, p)| *id == h && p.kind == ProblemKind::Newer && p.path.contains(&new_visit.to_string())),
        "{problems:?}"
    );
    let v = c
        .record_visit(
            h,
            NewVisit {
                date: c.today(),
                kind: VisitKind::KunjunganRumah,
                entries: vec![VisitEntry {
                    member_id: child,
                    measurements: Measurements { weight_kg: Some(7.9), ..Default::default() },
                    ..Default::default()
                }],
            },
        )
        .unwrap();
    c.update_member(h, child, MemberPatch { name: Some("Sari Dewi".into()), ..Default::default() }).unwrap();
    c.sync_now(&mut |_| {}).unwrap();

    // Back on the newer phone: this version's edits arrived, the newer data is intact.
    n.sync_now(&mut |_| {}).unwrap();
    drop(n);
    let doc = load_doc(&new_path, h);
    let am = HouseholdDoc::load_readonly(&doc_bytes(doc)).unwrap();
    let read = am.read_checked().unwrap();
    assert!(read.household.visits.iter().any(|x| x.id == v));
    assert_eq!(read.household.members[0].name, "Sari Dewi");
    let mut am = am;
    let a = am.automerge();
    let get = |path: &[&str]| -> Option<String> {
        let mut obj = ROOT;
        let (last, parents) = path.split_last()?;
        for key in parents {
            obj = match a.get(&obj, *key).ok()?? {
                (Value::Object(_), id) => id,
                _ => return None,
            };
        }
        match a.get(&obj, *last).ok()?? {
            (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        }
    };
    let (m, vv, r) = (child.to_string(), new_visit.to_string(), referral.to_string());
    assert_eq!(get(&["members", &m, "status_kependudukan"]).as_deref(), Some("aktif"));
    assert_eq!(get(&["visits", &vv, "kind"]).as_deref(), Some("kelas_balita"));
    assert_eq!(get(&["visits", &vv, "entries", &m, "topik_kelas"]).as_deref(), Some("mp_asi"));
    assert_eq!(get(&["kelas_ibu", &r, "status"]).as_deref(), Some("dirujuk"));
    // And the relay's copy, which the Puskesmas side reads, has them too.
    let relay_doc = relay.stored_snapshot(&h.as_bytes()[..]).unwrap();
    let mut at_relay = HouseholdDoc::load_readonly(&relay_doc).unwrap();
    let (_, refs) = at_relay.automerge().get(ROOT, "kelas_ibu").unwrap().unwrap();
    assert!(at_relay.automerge().get(&refs, referral.to_string()).unwrap().is_some());
}

fn doc_bytes(mut d: HouseholdDoc) -> Vec<u8> {
    d.save()
}

#[test]
fn a_household_written_by_an_earlier_build_syncs_to_this_one() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/schema/household-v1.automerge");
    let bytes = std::fs::read(&fixture).expect("fixture committed by the schema tests");
    let mut old = HouseholdDoc::load_readonly(&bytes).unwrap();
    let expected = old.read().unwrap();
    let changes: Vec<automerge::Change> = old.automerge().get_changes(&[]);
    let kaders: std::collections::BTreeSet<String> =
        changes.iter().filter_map(|c| c.message().map(str::to_owned)).collect();
    let posyandu = old.posyandu_id().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let mut tokens = Vec::new();
    for (i, k) in kaders.iter().enumerate() {
        tokens.push((k.clone(), relay.register(&posyandu, k, &format!("D-OLD-{i}")).unwrap()));
    }
    let t_cur = relay.register(&posyandu, "K-CUR", "D-CUR").unwrap();
    relay.start().unwrap();
    // Each earlier-build phone pushes its own changes (in causal order), without the
    // actor header (earlier builds do not send it).
    let mut sorted: Vec<automerge::Change> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut pending = changes.clone();
    while !pending.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|c| c.deps().iter().all(|d| seen.contains(d)));
        assert!(!ready.is_empty(), "fixture changes form a DAG");
        for c in &ready {
            seen.insert(c.hash());
        }
        sorted.extend(ready);
        pending = rest;
    }
    for c in &sorted {
        let kader = c.message().unwrap_or_default();
        let token = &tokens.iter().find(|(k, _)| k == kader).expect("a kader per change").1;
        let req = SyncRequest {
            cursor: 0,
            push: vec![DocChanges { doc: expected.id.into_bytes(), changes: vec![c.raw_bytes().to_vec()] }],
            page_bytes: wire::DEFAULT_PAGE_BYTES,
        };
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}{SYNC_PATH}", relay.url()))
            .bearer_auth(token)
            .body(wire::encode(&req))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp.bytes().unwrap()));
    }
    let cur = device(dir.path(), &posyandu, "K-CUR", "D-CUR", &relay.url(), &t_cur);
    cur.sync_now(&mut |_| {}).unwrap();
    assert_eq!(cur.household(expected.id).unwrap(), expected, "read whole, exactly as written");
    assert_eq!(cur.conflicts(expected.id).unwrap(), old.conflicts());
}
