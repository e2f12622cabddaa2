//! Concurrent offline edits merge: both kader keep their work, and a same-field
//! conflict is kept and shown until resolved.

use automerge::ActorId;
use posyandu_core::doc::{HouseholdDoc, RecordKind};
use posyandu_core::*;
use proptest::prelude::*;
use time::macros::date;
use uuid::Uuid;

fn base() -> (Vec<u8>, Uuid) {
    let mut d = HouseholdDoc::create(Uuid::new_v4(), "P-001", &ActorId::random()).unwrap();
    d.patch_household(
        &HouseholdPatch {
            address: Some(Address {
                rt: "001".into(),
                rw: "002".into(),
                kode_wilayah: "3275011001".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        date!(2026 - 11 - 01),
    )
    .unwrap();
    let m = Uuid::new_v4();
    d.add_member(
        m,
        &NewMember {
            nik: None,
            mother_nik: None,
            name: "Budi".into(),
            birth_date: date!(2025 - 01 - 01),
            sex: Sex::Male,
            relation: Relation::Anak,
            bpjs_number: None,
            kia_book: None,
        },
    )
    .unwrap();
    d.commit("K-0", 1_700_000_000).unwrap();
    (d.save(), m)
}

fn replica(bytes: &[u8]) -> HouseholdDoc {
    HouseholdDoc::load(bytes, &ActorId::random()).unwrap()
}

fn visit(member: Uuid, kader: &str, day: u8) -> Visit {
    Visit {
        id: Uuid::new_v4(),
        date: date!(2026 - 11 - 01).replace_day(day).unwrap(),
        kind: VisitKind::KunjunganRumah,
        kader_id: kader.into(),
        posyandu_id: "P-001".into(),
        entries: vec![VisitEntry {
            member_id: member,
            measurements: Measurements { weight_kg: Some(9.0 + day as f64 / 10.0), ..Default::default() },
            services: Services { immunisations: vec!["BCG".into()], ..Default::default() },
            ..Default::default()
        }],
        deleted: false,
    }
}

fn merge(a: &mut HouseholdDoc, b: &mut HouseholdDoc) {
    a.automerge().merge(b.automerge()).unwrap();
    b.automerge().merge(a.automerge()).unwrap();
}

#[test]
fn two_kader_adding_visits_both_keep_them() {
    let (bytes, m) = base();
    let (mut a, mut b) = (replica(&bytes), replica(&bytes));
    a.add_visit(&visit(m, "K-A", 3)).unwrap();
    a.commit("K-A", 1_700_000_100);
    b.add_visit(&visit(m, "K-B", 4)).unwrap();
    b.commit("K-B", 1_700_000_200);
    merge(&mut a, &mut b);
    let (ha, hb) = (a.read().unwrap(), b.read().unwrap());
    assert_eq!(ha, hb);
    assert_eq!(ha.visits.len(), 2);
    assert!(a.conflicts().is_empty());
}

#[test]
fn different_fields_both_apply_same_field_conflicts_until_resolved() {
    let (bytes, m) = base();
    let (mut a, mut b) = (replica(&bytes), replica(&bytes));
    a.patch_member(m, &MemberPatch { name: Some("Budi Santoso".into()), ..Default::default() }).unwrap();
    a.patch_household(
        &HouseholdPatch {
            spm: Some(SpmAttributes { latrine: Some(true), ..Default::default() }),
            ..Default::default()
        },
        date!(2026 - 11 - 02),
    )
    .unwrap();
    a.commit("K-A", 1_700_000_100);
    b.patch_member(
        m,
        &MemberPatch { name: Some("Budiman".into()), bpjs_number: Some("0001234567890".into()), ..Default::default() },
    )
    .unwrap();
    b.patch_household(
        &HouseholdPatch {
            spm: Some(SpmAttributes { clean_water: Some(false), ..Default::default() }),
            ..Default::default()
        },
        date!(2026 - 11 - 02),
    )
    .unwrap();
    b.commit("K-B", 1_700_000_200);
    merge(&mut a, &mut b);

    let h = a.read().unwrap();
    assert_eq!(h, b.read().unwrap());
    assert_eq!(h.spm.latrine, Some(true));
    assert_eq!(h.spm.clean_water, Some(false));
    assert_eq!(h.members[0].bpjs_number.as_deref(), Some("0001234567890"));

    let conflicts = a.conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.path, format!("members/{m}/name"));
    let mut seen: Vec<_> =
        c.values.iter().map(|v| (v.value_json.as_str(), v.kader_id.as_deref(), v.written_at)).collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![("\"Budi Santoso\"", Some("K-A"), 1_700_000_100), ("\"Budiman\"", Some("K-B"), 1_700_000_200)]
    );
    assert_eq!(b.conflicts(), conflicts, "both replicas show the same conflict");

    // A value not offered is refused; choosing one resolves it everywhere after merge.
    assert!(a.resolve(&c.path, "\"Someone\"").is_err());
    b.resolve(&c.path, "\"Budi Santoso\"").unwrap();
    b.commit("K-B", 1_700_000_300);
    merge(&mut a, &mut b);
    assert!(a.conflicts().is_empty());
    assert_eq!(a.read().unwrap().members[0].name, "Budi Santoso");
}

#[test]
fn choosing_the_value_already_shown_ends_the_conflict() {
    let (bytes, m) = base();
    let (mut a, mut b) = (replica(&bytes), replica(&bytes));
    a.patch_member(m, &MemberPatch { name: Some("Budi A".into()), ..Default::default() }).unwrap();
    a.commit("K-A", 1);
    b.patch_member(m, &MemberPatch { name: Some("Budi B".into()), ..Default::default() }).unwrap();
    b.commit("K-B", 2);
    merge(&mut a, &mut b);
    let shown = serde_json::to_string(&a.read().unwrap().members[0].name).unwrap();
    let path = a.conflicts()[0].path.clone();
    a.resolve(&path, &shown).unwrap();
    assert!(a.commit("K-A", 3).is_some(), "resolution writes a change even for the shown value");
    merge(&mut a, &mut b);
    assert!(a.conflicts().is_empty() && b.conflicts().is_empty());
    assert_eq!(serde_json::to_string(&b.read().unwrap().members[0].name).unwrap(), shown);
}

#[test]
fn unchanged_fields_do_not_conflict() {
    let (bytes, m) = base();
    let (mut a, mut b) = (replica(&bytes), replica(&bytes));
    // Both write the same full patch, but only one field actually differs.
    let p = MemberPatch { name: Some("Budi".into()), relation: Some(Relation::Anak), ..Default::default() };
    a.patch_member(m, &p).unwrap();
    assert!(a.commit("K-A", 1).is_none(), "nothing changed, no change made");
    b.patch_member(m, &MemberPatch { relation: Some(Relation::Cucu), ..p }).unwrap();
    b.commit("K-B", 2);
    merge(&mut a, &mut b);
    assert!(a.conflicts().is_empty());
}

#[derive(Debug, Clone)]
enum Op {
    AddVisit { replica: usize, day: u8 },
    Rename { replica: usize, name: u8 },
    SetRt { replica: usize, rt: u8 },
    AddMember { replica: usize },
    DeleteLastVisit { replica: usize },
    Sync { from: usize, to: usize },
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..n, 1u8..28).prop_map(|(replica, day)| Op::AddVisit { replica, day }),
        2 => (0..n, 0u8..4).prop_map(|(replica, name)| Op::Rename { replica, name }),
        1 => (0..n, 1u8..9).prop_map(|(replica, rt)| Op::SetRt { replica, rt }),
        1 => (0..n).prop_map(|replica| Op::AddMember { replica }),
        1 => (0..n).prop_map(|replica| Op::DeleteLastVisit { replica }),
        3 => (0..n, 0..n).prop_map(|(from, to)| Op::Sync { from, to }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=4).prop_flat_map(|n| (Just(n), prop::collection::vec(op(n), 1..40)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random concurrent edits on 2–4 replicas, synced in random pairs, then all
    /// together: every replica ends identical, and no visit is lost.
    #[test]
    fn replicas_converge_and_lose_no_visit((n, ops) in scenario()) {
        let (bytes, m) = base();
        let mut reps: Vec<HouseholdDoc> = (0..n).map(|_| replica(&bytes)).collect();
        let mut visits: Vec<Uuid> = Vec::new();
        let mut last_visit: Vec<Option<Uuid>> = vec![None; n];
        for (t, op) in ops.iter().enumerate() {
            let t = 1_700_000_000 + t as i64;
            match *op {
                Op::AddVisit { replica, day } => {
                    let v = visit(m, &format!("K-{replica}"), day);
                    visits.push(v.id);
                    last_visit[replica] = Some(v.id);
                    reps[replica].add_visit(&v).unwrap();
                    reps[replica].commit(&format!("K-{replica}"), t);
                }
                Op::Rename { replica, name } => {
                    reps[replica].patch_member(m, &MemberPatch { name: Some(format!("Nama {name}")), ..Default::default() }).unwrap();
                    reps[replica].commit(&format!("K-{replica}"), t);
                }
                Op::SetRt { replica, rt } => {
                    let addr = Address { rt: format!("00{rt}"), rw: "002".into(), kode_wilayah: "3275011001".into(), ..Default::default() };
                    reps[replica].patch_household(&HouseholdPatch { address: Some(addr), ..Default::default() }, date!(2026 - 11 - 02)).unwrap();
                    reps[replica].commit(&format!("K-{replica}"), t);
                }
                Op::AddMember { replica } => {
                    let nm = NewMember { nik: None, mother_nik: None, name: "Baru".into(), birth_date: date!(2026 - 01 - 01), sex: Sex::Female, relation: Relation::Anak, bpjs_number: None , kia_book: None};
                    reps[replica].add_member(Uuid::new_v4(), &nm).unwrap();
                    reps[replica].commit(&format!("K-{replica}"), t);
                }
                Op::DeleteLastVisit { replica } => {
                    if let Some(v) = last_visit[replica] {
                        reps[replica].tombstone(RecordKind::Visit, v).unwrap();
                        reps[replica].commit(&format!("K-{replica}"), t);
                    }
                }
                Op::Sync { from, to } if from != to => {
                    let (a, b) = if from < to { let (l, r) = reps.split_at_mut(to); (&mut l[from], &mut r[0]) } else { let (l, r) = reps.split_at_mut(from); (&mut r[0], &mut l[to]) };
                    b.automerge().merge(a.automerge()).unwrap();
                }
                Op::Sync { .. } => {}
            }
        }
        // Everyone exchanges with everyone, in the order of a relay hub.
        for i in 1..n {
            let (l, r) = reps.split_at_mut(i);
            l[0].automerge().merge(r[0].automerge()).unwrap();
        }
        for i in 1..n {
            let (l, r) = reps.split_at_mut(i);
            r[0].automerge().merge(l[0].automerge()).unwrap();
        }
        let first = reps[0].read().unwrap();
        let heads = reps[0].heads();
        for r in reps.iter_mut() {
            prop_assert_eq!(r.heads(), heads.clone());
            prop_assert_eq!(&r.read().unwrap(), &first);
            prop_assert_eq!(r.conflicts(), reps_conflicts(&first, r));
        }
        let mut got: Vec<Uuid> = first.visits.iter().map(|v| v.id).collect();
        got.sort();
        visits.sort();
        prop_assert_eq!(got, visits, "every visit present (tombstoned ones included)");
    }
}

fn reps_conflicts(_h: &Household, r: &HouseholdDoc) -> Vec<Conflict> {
    r.conflicts()
}
