//! Unit tests of the merge's kader-side check of referral steps (`check_referral_steps`,
//! issue 12): a device's change may raise a referral (`dirujuk` by its own kader) but
//! not write a bidan step; a change the relay wrote for a bidan (`bidan::writer`) may.

use super::*;
use automerge::ActorId;
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::model::{
    Address, HouseholdPatch, NewMember, ReasonSource, ReferralRecord, ReferralStatus, ReferralStep, Relation, Sex,
    StepRole,
};

const T0: i64 = 1_790_000_000;

fn step(status: ReferralStatus, by: &str, at: i64) -> ReferralStep {
    ReferralStep {
        id: Uuid::new_v4(),
        status,
        role: status.role(),
        by: by.into(),
        at,
        action: None,
        note: None,
        follow_up_by: None,
    }
}

/// A household of P-1 with one child, pushed by K-1: (doc id, the kader's document, the
/// relay's snapshot, the child's id).
fn household() -> (Uuid, HouseholdDoc, Vec<u8>, Uuid) {
    let id = Uuid::new_v4();
    let mut d = HouseholdDoc::create(id, "P-1", &ActorId::random()).unwrap();
    let address =
        Address { rt: "001".into(), rw: "002".into(), kode_wilayah: "3201010001".into(), ..Default::default() };
    d.patch_household(
        &HouseholdPatch { address: Some(address), ..Default::default() },
        time::macros::date!(2024 - 01 - 01),
    )
    .unwrap();
    let child = Uuid::new_v4();
    d.add_member(
        child,
        &NewMember {
            nik: None,
            mother_nik: None,
            name: "Anak".into(),
            birth_date: time::macros::date!(2025 - 01 - 10),
            sex: Sex::Female,
            relation: Relation::Anak,
            bpjs_number: None,
            kia_book: None,
        },
    )
    .unwrap();
    let c = d.commit("K-1", T0).unwrap().raw_bytes().to_vec();
    let snap = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &[c]).unwrap().snapshot.unwrap();
    (id, d, snap, child)
}

fn raise(d: &mut HouseholdDoc, child: Uuid, first: ReferralStep) -> (Uuid, Vec<u8>) {
    let rid = Uuid::new_v4();
    let r = ReferralRecord {
        id: rid,
        member_id: child,
        date: time::macros::date!(2026 - 09 - 21),
        reasons: [("2T".to_string(), ReasonSource::Rule)].into_iter().collect(),
        note: None,
        visit_id: None,
        steps: vec![first],
    };
    d.add_referral(&r).unwrap();
    (rid, d.commit("K-1", T0 + 10).unwrap().raw_bytes().to_vec())
}

fn refused_at(err: ApiError) -> String {
    match err {
        ApiError::BadChange { path, reason, .. } => format!("{} {reason}", path.unwrap_or_default()),
        other => panic!("expected bad_change, got {}", other.code()),
    }
}

#[test]
fn a_kader_may_raise_a_referral() {
    let (id, mut d, snap, child) = household();
    let (_, c) = raise(&mut d, child, step(ReferralStatus::Dirujuk, "K-1", T0 + 10));
    let m = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap), &[c]).unwrap();
    let (read, _) = m.read.unwrap();
    assert_eq!(read.household.referrals.len(), 1);
    assert_eq!(read.household.referrals[0].status(), ReferralStatus::Dirujuk);
}

#[test]
fn a_pushed_bidan_step_is_refused() {
    let (id, mut d, snap, child) = household();
    // Raising a referral already as "diterima" by the bidan: refused at the step's status.
    let mut kader_doc = HouseholdDoc::load(&snap, &ActorId::random()).unwrap();
    let (_, c) = raise(&mut kader_doc, child, step(ReferralStatus::Diterima, "B-1", T0 + 10));
    let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap), &[c]).unwrap_err();
    let why = refused_at(err);
    let path = why.split_whitespace().next().unwrap_or_default();
    assert!(path.starts_with("referrals/") && path.ends_with("/status"), "{why}");
    assert!(why.contains("hanya dapat dicatat oleh bidan"), "{why}");
    // A properly raised referral, then the kader appends a bidan step: refused.
    let (rid, c1) = raise(&mut d, child, step(ReferralStatus::Dirujuk, "K-1", T0 + 10));
    let snap2 =
        apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap), &[c1]).unwrap().snapshot.unwrap();
    d.add_referral_step(rid, &step(ReferralStatus::Selesai, "K-1", T0 + 20)).unwrap();
    let c2 = d.commit("K-1", T0 + 20).unwrap().raw_bytes().to_vec();
    let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap2), &[c2]).unwrap_err();
    assert!(refused_at(err).contains("/status "), "a kader cannot close a referral");
    // A kader step recorded in another kader's name: refused at `by`.
    let mut other = HouseholdDoc::load(&snap2, &ActorId::random()).unwrap();
    other.add_referral_step(rid, &step(ReferralStatus::Dirujuk, "K-2", T0 + 30)).unwrap();
    let c3 = other.commit("K-1", T0 + 30).unwrap().raw_bytes().to_vec();
    let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap2), &[c3]).unwrap_err();
    assert!(refused_at(err).contains("/by "), "the step's author must be the change's kader");
}

#[test]
fn a_relay_written_bidan_step_passes_and_only_under_a_bidan_author() {
    let (id, mut d, snap, child) = household();
    let (rid, c1) = raise(&mut d, child, step(ReferralStatus::Dirujuk, "K-1", T0 + 10));
    let snap2 =
        apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap), &[c1]).unwrap().snapshot.unwrap();
    // The relay's writer for bidan B-1 (as `bidan::step_handler` stores it).
    let s = ReferralStep { action: Some("pemeriksaan".into()), ..step(ReferralStatus::Ditangani, "B-1", T0 + 100) };
    assert_eq!(s.role, StepRole::Bidan);
    let change = crate::bidan::writer::step_change(&snap2, rid, &s, "B-1", T0 + 100).unwrap();
    let writer = PushAuth::simple("P-1", &crate::bidan::writer::author("B-1"));
    let m = apply_push(*id.as_bytes(), &writer, Some(&snap2), std::slice::from_ref(&change)).unwrap();
    let (read, _) = m.read.unwrap();
    assert_eq!(read.household.referrals[0].status(), ReferralStatus::Ditangani);
    assert_eq!(m.new_changes.len(), 1);
    // The same step under a relay bidan actor but a kader's name as author is not a
    // bidan change: refused like any device change.
    let mut forged = HouseholdDoc::load(&snap2, &crate::bidan::writer::relay_actor()).unwrap();
    forged.add_referral_step(rid, &s).unwrap();
    let c = forged.commit("K-1", T0 + 100).unwrap().raw_bytes().to_vec();
    let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), Some(&snap2), &[c]).unwrap_err();
    assert!(refused_at(err).contains("hanya dapat dicatat oleh bidan"));
}
