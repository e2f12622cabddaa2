//! Issue 12 on the phone: a member moving away or dying drops off every list; a
//! pregnancy outcome and its newborn(s) are recorded in one change; the KN and KF
//! contacts appear on the due list in their windows and are met by a visit.

mod common;

use common::*;
use posyandu_core::*;
use time::macros::date;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

fn store_on(path: &std::path::Path, day: Date) -> Store {
    let mut s = open_store(path, "D1");
    set_today(&mut s, day);
    s
}

fn set_today(s: &mut Store, day: Date) {
    let wib = UtcOffset::from_hms(7, 0, 0).unwrap();
    let at = PrimitiveDateTime::new(day, Time::from_hms(10, 0, 0).unwrap()).assume_offset(wib);
    let utc: OffsetDateTime = at.to_offset(UtcOffset::UTC);
    s.set_clock(move || utc, wib);
}

fn reasons_of(s: &Store, m: Uuid) -> Vec<DueReason> {
    s.due_visits().unwrap().into_iter().find(|d| d.member_id == m).map(|d| d.reasons).unwrap_or_default()
}

fn baby(name: &str, kg: f64) -> NewBorn {
    NewBorn { name: name.into(), sex: Sex::Female, weight_kg: Some(kg), length_cm: Some(48.5), kia_book: Some(true) }
}

fn birth(p: Uuid, date: Date, newborns: Vec<NewBorn>) -> BirthRecord {
    BirthRecord {
        pregnancy_id: p,
        date,
        outcome: PregnancyOutcome {
            kind: OutcomeKind::LahirHidup,
            place: Some(BirthPlace::FasilitasKesehatan),
            attendant: Some(BirthAttendant::Bidan),
        },
        newborns,
    }
}

fn pregnant(s: &Store) -> (Uuid, Uuid, Uuid) {
    let hh = s.create_household(new_household("001")).unwrap();
    let m = s.add_member(hh, mother()).unwrap();
    let p = s
        .add_pregnancy(
            hh,
            NewPregnancy { member_id: m, lmp: date!(2026 - 02 - 01), due_date: None, gravida: 2, muac_cm: None },
        )
        .unwrap();
    (hh, m, p)
}

#[test]
fn birth_registers_twins_atomically_with_the_mothers_nik() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_on(&dir.path().join("s.sqlite3"), date!(2026 - 11 - 02));
    let (hh, m, p) = pregnant(&s);
    let before = s.pending_changes().unwrap();

    // Refused as a whole: a live birth with an implausible birth weight writes nothing.
    let bad = birth(p, date!(2026 - 11 - 01), vec![baby("Bayi Satu", 3.0), baby("Bayi Dua", 12.0)]);
    assert!(matches!(s.record_birth(hh, bad), Err(Error::Validation(_))));
    // A live birth needs a newborn; a miscarriage takes none.
    assert!(s.record_birth(hh, birth(p, date!(2026 - 11 - 01), vec![])).is_err());
    let mut loss = birth(p, date!(2026 - 11 - 01), vec![baby("X", 3.0)]);
    loss.outcome.kind = OutcomeKind::Keguguran;
    assert!(s.record_birth(hh, loss).is_err());
    // Not in the future, not before the LMP.
    assert!(s.record_birth(hh, birth(p, date!(2026 - 11 - 10), vec![baby("X", 3.0)])).is_err());
    assert!(s.record_birth(hh, birth(p, date!(2026 - 01 - 10), vec![baby("X", 3.0)])).is_err());
    let h = s.household(hh).unwrap();
    assert_eq!(h.members.len(), 1);
    assert_eq!(h.pregnancies[0].ended, None);
    assert_eq!(s.pending_changes().unwrap(), before, "nothing queued");

    let ids = s
        .record_birth(hh, birth(p, date!(2026 - 11 - 01), vec![baby("Bayi Satu", 3.1), baby("Bayi Dua", 2.4)]))
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(s.pending_changes().unwrap(), before + 1, "outcome and newborns in one change");
    let h = s.household(hh).unwrap();
    let preg = &h.pregnancies[0];
    assert_eq!(preg.ended, Some(date!(2026 - 11 - 01)));
    assert_eq!(preg.outcome.unwrap().kind, OutcomeKind::LahirHidup);
    assert_eq!(preg.outcome.unwrap().attendant, Some(BirthAttendant::Bidan));
    for (i, id) in ids.iter().enumerate() {
        let b = h.member(*id).unwrap();
        assert_eq!(b.birth_date, date!(2026 - 11 - 01));
        assert_eq!(b.relation, Relation::Anak);
        let mn = b.mother_nik.as_ref().unwrap();
        assert_eq!((mn.mother_nik.as_str(), mn.birth_order), ("3275015205900002", i as u8 + 1));
        assert_eq!(b.birth.unwrap().pregnancy_id, Some(p));
    }
    assert_eq!(h.member(ids[1]).unwrap().birth.unwrap().weight_kg, Some(2.4));
    // Nifas follows the recorded end (the existing rule).
    assert_eq!(h.life_stage_of(m, date!(2026 - 11 - 02)), Some(LifeStage::IbuNifas));
}

#[test]
fn kn_and_kf_are_due_in_their_windows_and_met_by_a_visit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let (hh, m, baby_id) = {
        let s = store_on(&path, date!(2026 - 11 - 01));
        let (hh, m, p) = pregnant(&s);
        let ids = s.record_birth(hh, birth(p, date!(2026 - 11 - 01), vec![baby("Bayi", 3.2)])).unwrap();
        // Day 0: KN1 for the baby, KF1 for the mother.
        let r = reasons_of(&s, ids[0]);
        assert!(r.contains(&DueReason::KunjunganNeonatal("KN1".into())), "{r:?}");
        assert_eq!(reasons_of(&s, m), vec![DueReason::KunjunganNifas("KF1".into())]);
        (hh, m, ids[0])
    };
    // Day 2 (48 hours): still KN1/KF1; a home visit to both meets them.
    let s = store_on(&path, date!(2026 - 11 - 03));
    assert!(reasons_of(&s, baby_id).contains(&DueReason::KunjunganNeonatal("KN1".into())));
    let visit = NewVisit {
        date: date!(2026 - 11 - 03),
        kind: VisitKind::KunjunganRumah,
        entries: vec![
            VisitEntry { member_id: m, ..Default::default() },
            VisitEntry { member_id: baby_id, ..Default::default() },
        ],
    };
    s.record_visit(hh, visit).unwrap();
    assert!(!reasons_of(&s, baby_id).iter().any(|r| matches!(r, DueReason::KunjunganNeonatal(_))));
    assert!(reasons_of(&s, m).is_empty());
    drop(s);
    // Day 3: KN2 / KF2 open, not met by the day-2 visit.
    let s = store_on(&path, date!(2026 - 11 - 04));
    assert!(reasons_of(&s, baby_id).contains(&DueReason::KunjunganNeonatal("KN2".into())));
    assert_eq!(reasons_of(&s, m), vec![DueReason::KunjunganNifas("KF2".into())]);
    let item = s.due_visits().unwrap().into_iter().find(|d| d.member_id == m).unwrap();
    assert_eq!(item.reasons[0].label_id(), "Kunjungan nifas 2 (hari ke-3–7) belum tercatat");
    drop(s);
    // Day 43: nifas over, no KF.
    let s = store_on(&path, date!(2026 - 12 - 14));
    assert!(!reasons_of(&s, m).iter().any(|r| matches!(r, DueReason::KunjunganNifas(_))));
}

#[test]
fn a_member_who_moved_or_died_is_on_no_list() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_on(&dir.path().join("s.sqlite3"), date!(2026 - 11 - 20));
    let hh = s.create_household(new_household("001")).unwrap();
    s.add_member(hh, mother()).unwrap();
    let a = s.add_member(hh, child("Ani", date!(2025 - 06 - 10))).unwrap();
    let b = s.add_member(hh, child("Budi", date!(2024 - 03 - 05))).unwrap();
    assert!(!reasons_of(&s, a).is_empty() && !reasons_of(&s, b).is_empty(), "both due (not weighed)");
    // Refused: in the future, before the birth, unknown member.
    assert!(s.set_member_status(hh, a, MemberStatusKind::Pindah, date!(2026 - 12 - 20)).is_err());
    assert!(s.set_member_status(hh, a, MemberStatusKind::Pindah, date!(2025 - 01 - 01)).is_err());
    assert!(s.set_member_status(hh, Uuid::new_v4(), MemberStatusKind::Pindah, date!(2026 - 11 - 01)).is_err());
    s.set_member_status(hh, a, MemberStatusKind::Pindah, date!(2026 - 11 - 15)).unwrap();
    s.set_member_status(hh, b, MemberStatusKind::Meninggal, date!(2026 - 11 - 20)).unwrap();
    let due: Vec<Uuid> = s.due_visits().unwrap().into_iter().map(|d| d.member_id).collect();
    assert!(!due.contains(&a) && !due.contains(&b), "{due:?}");
    assert!(s.search_members("Ani", 10).unwrap().is_empty());
    let h = s.household(hh).unwrap();
    assert_eq!(h.member(a).unwrap().status.unwrap().kind, MemberStatusKind::Pindah);
    assert_eq!(h.member(b).unwrap().status.unwrap().date, date!(2026 - 11 - 20));
    assert_eq!(s.list_households(None).unwrap()[0].member_count, 1);
}

/// The reader (schema.md): a status of a newer app version keeps nothing wrong in the
/// document — the member is left out as "newer", not "invalid" — and a malformed
/// outcome is invalid; concurrent statuses from two phones merge as a conflict.
#[test]
fn reader_and_merge_of_status_and_outcome() {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ObjType, ReadDoc, ROOT};
    use posyandu_core::doc::{HouseholdDoc, ProblemKind};

    let id = Uuid::from_u128(1);
    let mut d = HouseholdDoc::create(id, "P-001", &ActorId::from([7u8; 16])).unwrap();
    let m = Uuid::from_u128(2);
    d.add_member(m, &mother()).unwrap();
    d.set_member_status(m, &MemberStatus { kind: MemberStatusKind::Meninggal, date: date!(2026 - 11 - 01) }).unwrap();
    d.commit("K-1", 0);
    let h = d.read().unwrap();
    assert_eq!(h.member(m).unwrap().status.unwrap().kind, MemberStatusKind::Meninggal);

    // Two phones record different dates offline: both kept, as a conflict.
    let bytes = d.save();
    let mut a = HouseholdDoc::load(&bytes, &ActorId::from([8u8; 16])).unwrap();
    let mut b = HouseholdDoc::load(&bytes, &ActorId::from([9u8; 16])).unwrap();
    a.set_member_status(m, &MemberStatus { kind: MemberStatusKind::Pindah, date: date!(2026 - 11 - 03) }).unwrap();
    b.set_member_status(m, &MemberStatus { kind: MemberStatusKind::Pindah, date: date!(2026 - 11 - 04) }).unwrap();
    let ca = a.commit("K-A", 1).unwrap();
    let cb = b.commit("K-B", 2).unwrap();
    a.apply(vec![cb]).unwrap();
    b.apply(vec![ca]).unwrap();
    assert_eq!(a.read().unwrap(), b.read().unwrap(), "converged");
    let conflicts = a.conflicts();
    assert!(conflicts.iter().any(|c| c.path == format!("members/{m}/status/date")), "{conflicts:?}");

    // A newer status value: the member is left out as "newer".
    let members = match d.automerge().get(ROOT, "members").unwrap() {
        Some((_, o)) => o,
        None => panic!(),
    };
    let obj = d.automerge().get(&members, m.to_string()).unwrap().unwrap().1;
    let st = d.automerge().get(&obj, "status").unwrap().unwrap().1;
    d.automerge().put(&st, "kind", "hilang").unwrap();
    let p = Uuid::from_u128(3);
    d.add_pregnancy(&Pregnancy {
        id: p,
        member_id: m,
        lmp: date!(2026 - 01 - 01),
        due_date: date!(2026 - 10 - 08),
        gravida: 1,
        muac_cm: None,
        kek: false,
        ended: None,
        outcome: None,
        deleted: false,
    })
    .unwrap();
    let preg = d.automerge().get(ROOT, "pregnancies").unwrap().unwrap().1;
    let pobj = d.automerge().get(&preg, p.to_string()).unwrap().unwrap().1;
    let o = d.automerge().put_object(&pobj, "outcome", ObjType::Map).unwrap();
    d.automerge().put(&o, "kind", 7_i64).unwrap();
    let r = d.read_checked().unwrap();
    assert!(r.household.member(m).is_none());
    assert!(r.household.pregnancies.is_empty());
    let kind_of = |path: &str| r.problems.iter().find(|x| x.path == path).map(|x| x.kind);
    assert_eq!(kind_of(&format!("members/{m}/status/kind")), Some(ProblemKind::Newer), "{:?}", r.problems);
    assert_eq!(kind_of(&format!("pregnancies/{p}/outcome/kind")), Some(ProblemKind::Invalid), "{:?}", r.problems);
}
