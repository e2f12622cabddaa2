//! SPM requests in the household document (issue 13): two kader raising the same need
//! for the same person offline make ONE request with both notes, without a conflict;
//! the reader refuses what it cannot trust.

use automerge::{transaction::Transactable, ActorId, ReadDoc, ROOT};
use posyandu_records::doc::{HouseholdDoc, ProblemKind};
use posyandu_records::model::{NewMember, Relation, Sex, SpmArea, SpmNote, SpmRole, SpmStatus, SpmStep};
use posyandu_records::rules::spm_request::request_key;
use uuid::Uuid;

fn step(status: SpmStatus, by: &str, at: i64) -> SpmStep {
    SpmStep {
        id: Uuid::new_v4(),
        status,
        role: status.role(),
        by: by.into(),
        at,
        area: (status == SpmStatus::Dicatat).then_some(SpmArea::Sosial),
        office: None,
        reason: None,
    }
}

fn note(text: &str, kader: &str, at: i64) -> SpmNote {
    SpmNote { id: Uuid::new_v4(), text: text.into(), kader_id: kader.into(), at }
}

/// A household with one member, saved; and the member's id.
fn household() -> (Vec<u8>, Uuid) {
    let mut d = HouseholdDoc::create(Uuid::new_v4(), "P-1", &ActorId::from(b"phone-0".to_vec())).unwrap();
    let m = Uuid::new_v4();
    d.add_member(
        m,
        &NewMember {
            nik: None,
            mother_nik: None,
            name: "Pak Darto".into(),
            birth_date: time::macros::date!(1950 - 03 - 01),
            sex: Sex::Male,
            relation: Relation::KepalaKeluarga,
            bpjs_number: None,
            kia_book: None,
        },
    )
    .unwrap();
    d.commit("K-0", 1_800_000_000).unwrap();
    (d.save(), m)
}

#[test]
fn two_kader_raising_the_same_need_offline_make_one_request_with_both_notes() {
    let (base, m) = household();
    let key = request_key(Some(m), "alat_bantu_disabilitas");
    let mut a = HouseholdDoc::load(&base, &ActorId::from(b"phone-a".to_vec())).unwrap();
    let mut b = HouseholdDoc::load(&base, &ActorId::from(b"phone-b".to_vec())).unwrap();
    a.add_spm_step(&key, &step(SpmStatus::Dicatat, "K-A", 1_800_000_100)).unwrap();
    a.add_spm_note(&key, &note("Butuh alat bantu dengar", "K-A", 1_800_000_100)).unwrap();
    let ca = a.commit("K-A", 1_800_000_100).unwrap();
    b.add_spm_step(&key, &step(SpmStatus::Dicatat, "K-B", 1_800_000_200)).unwrap();
    b.add_spm_note(&key, &note("Pendengaran sangat berkurang", "K-B", 1_800_000_200)).unwrap();
    let cb = b.commit("K-B", 1_800_000_200).unwrap();
    a.apply(vec![cb]).unwrap();
    b.apply(vec![ca]).unwrap();
    for d in [&a, &b] {
        let read = d.read_checked().unwrap();
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        let reqs = &read.household.spm_requests;
        assert_eq!(reqs.len(), 1, "one request");
        let r = &reqs[0];
        assert_eq!((r.key.as_str(), r.area, r.member_id), (key.as_str(), SpmArea::Sosial, Some(m)));
        let texts: Vec<&str> = r.notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts, ["Butuh alat bantu dengar", "Pendengaran sangat berkurang"]);
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.status(), SpmStatus::Dicatat);
        assert!(d.conflicts().is_empty(), "no conflict: {:?}", d.conflicts());
    }
    assert_eq!(a.read().unwrap(), b.read().unwrap());
}

#[test]
fn a_document_without_the_spm_maps_gets_them_and_concurrent_creation_keeps_both() {
    // A document of an older version: no `spm_steps` / `spm_notes` at the root.
    let (base, m) = household();
    let mut old = HouseholdDoc::load(&base, &ActorId::from(b"phone-o".to_vec())).unwrap();
    old.automerge().delete(ROOT, "spm_steps").unwrap();
    old.automerge().delete(ROOT, "spm_notes").unwrap();
    old.commit("K-0", 1_800_000_050).unwrap();
    let base = old.save();
    assert!(old.automerge().get(ROOT, "spm_steps").unwrap().is_none());
    let key = request_key(Some(m), "lansia_terlantar");
    let mut a = HouseholdDoc::load(&base, &ActorId::from(b"phone-a".to_vec())).unwrap();
    let mut b = HouseholdDoc::load(&base, &ActorId::from(b"phone-b".to_vec())).unwrap();
    a.add_spm_step(&key, &step(SpmStatus::Dicatat, "K-A", 1_800_000_100)).unwrap();
    a.add_spm_note(&key, &note("catatan A", "K-A", 1_800_000_100)).unwrap();
    let ca = a.commit("K-A", 1_800_000_100).unwrap();
    b.add_spm_step(&key, &step(SpmStatus::Dicatat, "K-B", 1_800_000_200)).unwrap();
    b.add_spm_note(&key, &note("catatan B", "K-B", 1_800_000_200)).unwrap();
    let cb = b.commit("K-B", 1_800_000_200).unwrap();
    a.apply(vec![cb]).unwrap();
    b.apply(vec![ca]).unwrap();
    assert_eq!(a.read().unwrap(), b.read().unwrap());
    let r = a.read().unwrap();
    assert_eq!(r.spm_requests.len(), 1);
    assert_eq!(r.spm_requests[0].notes.len(), 2, "both notes survive the root-map race");
    assert_eq!(r.spm_requests[0].steps.len(), 2);
    // The next step goes into one of the maps and is read.
    a.add_spm_step(&key, &step(SpmStatus::Diverifikasi, "K-A", 1_800_000_300)).unwrap();
    a.commit("K-A", 1_800_000_300).unwrap();
    assert_eq!(a.read().unwrap().spm_requests[0].status(), SpmStatus::Diverifikasi);
}

#[test]
fn the_reader_leaves_out_what_it_cannot_trust() {
    let (base, m) = household();
    let mut d = HouseholdDoc::load(&base, &ActorId::from(b"phone-a".to_vec())).unwrap();
    // A household need raised for a person, a step whose role is not its status's, a
    // forwarding without an office, a note of a request that does not exist, an
    // unknown member.
    d.add_spm_step(&request_key(Some(m), "rutilahu"), &{
        let mut s = step(SpmStatus::Dicatat, "K-A", 1_800_000_100);
        s.area = Some(SpmArea::Perumahan);
        s
    })
    .unwrap();
    let key = request_key(Some(m), "lansia_terlantar");
    d.add_spm_step(&key, &step(SpmStatus::Dicatat, "K-A", 1_800_000_100)).unwrap();
    d.add_spm_step(&key, &SpmStep { role: SpmRole::Kader, ..step(SpmStatus::Diverifikasi, "K-A", 1_800_000_200) })
        .unwrap();
    d.add_spm_step(&key, &step(SpmStatus::DiteruskanKeOpd, "desa:D-1", 1_800_000_300)).unwrap();
    d.add_spm_note(&request_key(None, "jamban"), &note("tidak ada", "K-A", 1_800_000_100)).unwrap();
    d.add_spm_step(&request_key(Some(Uuid::new_v4()), "lansia_terlantar"), &step(SpmStatus::Dicatat, "K-A", 1))
        .unwrap();
    // The wrong area for a known need.
    d.add_spm_step(&request_key(None, "jamban"), &step(SpmStatus::Dicatat, "K-A", 1_800_000_100)).unwrap();
    d.commit("K-A", 1_800_000_400).unwrap();
    let read = d.read_checked().unwrap();
    let r = &read.household.spm_requests;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].key.as_str(), r[0].steps.len(), r[0].status()), (key.as_str(), 1, SpmStatus::Dicatat));
    let reasons: Vec<(&str, &str)> = read.problems.iter().map(|p| (p.path.as_str(), p.reason.as_str())).collect();
    assert!(read.problems.iter().all(|p| p.kind == ProblemKind::Invalid), "{reasons:?}");
    let has = |frag: &str, why: &str| reasons.iter().any(|(p, r)| p.contains(frag) && r.contains(why));
    assert!(has(":rutilahu", "subjek tidak sesuai"), "{reasons:?}");
    assert!(has("/role", "peran tidak sesuai"), "{reasons:?}");
    assert!(has("/office", "wajib diisi"), "{reasons:?}");
    assert!(has("spm_notes/household:jamban", "tidak ada"), "{reasons:?}");
    assert!(has("spm_steps/", "anggota keluarga tidak ada"), "{reasons:?}");
    assert!(has("household:jamban", "bidang tidak sesuai"), "{reasons:?}");
    // Malformed keys are refused by the writer.
    assert!(d.add_spm_step("household:Jamban", &step(SpmStatus::Dicatat, "K-A", 1)).is_err());
}
