//! The household document schema: the reader trusts nothing in a document (issue 9),
//! newer writers' data survives this version's writes (forward compatibility), and a
//! document saved by an earlier version keeps reading (backward compatibility).

use automerge::ActorId;
use posyandu_core::doc::HouseholdDoc;
use posyandu_core::*;
use time::macros::date;
use uuid::Uuid;

// ---- the v1 fixture ------------------------------------------------------------------

const FIXTURE_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/household-v1.automerge");

const HH: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4a01);
const MOTHER: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4b01);
const FATHER: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4b02);
const BABY: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4b03);
const VISIT_1: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4c01);
const VISIT_2: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4c02);
const VISIT_3: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4c03);
const PREGNANCY: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d_2e3f_4d01);

fn fixture_address() -> Address {
    Address {
        rt: "003".into(),
        rw: "005".into(),
        dusun: Some("Melati".into()),
        kode_wilayah: "3275011001".into(),
        street: Some("Jl. Mawar No. 1".into()),
    }
}

fn fixture_visits() -> Vec<Visit> {
    vec![
        Visit {
            id: VISIT_1,
            date: date!(2024 - 02 - 05),
            kind: VisitKind::KunjunganRumah,
            kader_id: "K-SITI".into(),
            posyandu_id: "P-001".into(),
            entries: vec![
                VisitEntry {
                    member_id: MOTHER,
                    measurements: Measurements {
                        weight_kg: Some(58.5),
                        muac_cm: Some(25.0),
                        bp_systolic_mmhg: Some(120),
                        bp_diastolic_mmhg: Some(80),
                        ..Default::default()
                    },
                    services: Services { iron_tablets: Some(30), ..Default::default() },
                    referral: Some(Referral {
                        reason: "tekanan darah perlu dicek ulang".into(),
                        to: Some("Puskesmas Bekasi Jaya".into()),
                    }),
                    spm_needs: vec![SpmNeed { area: SpmArea::Sosial, need: "bantuan PKH".into() }],
                    ..Default::default()
                },
                VisitEntry {
                    member_id: BABY,
                    measurements: Measurements {
                        weight_kg: Some(4.2),
                        length_height_cm: Some(53.5),
                        measure: Some(Measure::Lying),
                        head_circumference_cm: Some(36.0),
                        oedema: Some(false),
                        ..Default::default()
                    },
                    services: Services {
                        immunisations: vec!["HB0".into(), "BCG".into(), "POLIO1".into()],
                        ..Default::default()
                    },
                    checklist: [("asi_eksklusif".to_string(), true), ("tali_pusat_kering".to_string(), true)]
                        .into_iter()
                        .collect(),
                    counselling: vec!["asi_eksklusif".into(), "tanda_bahaya_bayi".into()],
                    ..Default::default()
                },
            ],
            deleted: false,
        },
        Visit {
            id: VISIT_2,
            date: date!(2024 - 03 - 04),
            kind: VisitKind::HariBuka,
            kader_id: "K-DEWI".into(),
            posyandu_id: "P-001".into(),
            entries: vec![
                VisitEntry {
                    member_id: FATHER,
                    measurements: Measurements {
                        weight_kg: Some(71.0),
                        length_height_cm: Some(168.5),
                        measure: Some(Measure::Standing),
                        waist_cm: Some(92.0),
                        bp_systolic_mmhg: Some(130),
                        bp_diastolic_mmhg: Some(85),
                        blood_glucose_mg_dl: Some(110.0),
                        ..Default::default()
                    },
                    spm_needs: vec![SpmNeed { area: SpmArea::PekerjaanUmum, need: "jamban sehat".into() }],
                    ..Default::default()
                },
                VisitEntry {
                    member_id: BABY,
                    measurements: Measurements {
                        weight_kg: Some(5.1),
                        length_height_cm: Some(57.0),
                        measure: Some(Measure::Lying),
                        ..Default::default()
                    },
                    services: Services {
                        immunisations: vec!["DPT_HB_HIB1".into(), "POLIO2".into()],
                        supplementary_food: true,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            ],
            deleted: false,
        },
        Visit {
            id: VISIT_3,
            date: date!(2024 - 03 - 05),
            kind: VisitKind::KunjunganRumah,
            kader_id: "K-SITI".into(),
            posyandu_id: "P-001".into(),
            entries: vec![VisitEntry {
                member_id: BABY,
                measurements: Measurements { weight_kg: Some(5.2), ..Default::default() },
                ..Default::default()
            }],
            deleted: true,
        },
    ]
}

fn fixture_pregnancy() -> Pregnancy {
    Pregnancy {
        id: PREGNANCY,
        member_id: MOTHER,
        lmp: date!(2023 - 04 - 01),
        due_date: date!(2024 - 01 - 06),
        gravida: 2,
        muac_cm: Some(24.5),
        kek: false,
        ended: Some(date!(2024 - 01 - 02)),
        outcome: None,
        deleted: false,
    }
}

/// Builds the v1 fixture with the document API as it was when schema 1 was frozen:
/// fixed actors, ids and times, so the bytes are reproducible.
fn build_fixture_v1() -> Vec<u8> {
    let siti = ActorId::from([1u8; 16]);
    let dewi = ActorId::from([2u8; 16]);
    let t0 = 1_704_844_800; // 2024-01-10
    let mut d = HouseholdDoc::create(HH, "P-001", &siti).unwrap();
    d.patch_household(
        &HouseholdPatch {
            kk_number: Some("3275010101240001".into()),
            address: Some(fixture_address()),
            gps: Some(GeoPoint { lat: -6.2383, lon: 106.9756 }),
            spm: Some(SpmAttributes {
                clean_water: Some(true),
                latrine: Some(false),
                social_aid: Some(true),
                public_order_note: Some("aman".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        date!(2024 - 01 - 10),
    )
    .unwrap();
    d.commit("K-SITI", t0).unwrap();
    let members = [
        (
            MOTHER,
            NewMember {
                nik: Some("3275015205900002".into()),
                mother_nik: None,
                name: "Siti Aminah".into(),
                birth_date: date!(1990 - 05 - 12),
                sex: Sex::Female,
                relation: Relation::KepalaKeluarga,
                bpjs_number: Some("0001234567890".into()),
                kia_book: None,
            },
        ),
        (
            FATHER,
            NewMember {
                nik: Some("3275010503880001".into()),
                mother_nik: None,
                name: "Ahmad Hidayat".into(),
                birth_date: date!(1988 - 03 - 05),
                sex: Sex::Male,
                relation: Relation::Suami,
                bpjs_number: None,
                kia_book: None,
            },
        ),
        (
            BABY,
            NewMember {
                nik: None,
                mother_nik: Some(MotherNik { mother_nik: "3275015205900002".into(), birth_order: 2 }),
                name: "Budi".into(),
                birth_date: date!(2024 - 01 - 02),
                sex: Sex::Male,
                relation: Relation::Anak,
                bpjs_number: None,
                kia_book: None,
            },
        ),
    ];
    for (id, m) in &members {
        d.add_member(*id, m).unwrap();
    }
    d.patch_household(&HouseholdPatch { head_member_id: Some(MOTHER), ..Default::default() }, date!(2024 - 01 - 10))
        .unwrap();
    d.add_pregnancy(&fixture_pregnancy()).unwrap();
    d.commit("K-SITI", t0 + 600).unwrap();
    for (i, v) in fixture_visits().iter().enumerate() {
        // Recorded live; the deleted one is tombstoned afterwards, as the app does.
        d.add_visit(&Visit { deleted: false, ..v.clone() }).unwrap();
        d.commit(&v.kader_id, t0 + 86_400 * (25 + 28 * i as i64)).unwrap();
    }
    d.tombstone(posyandu_core::doc::RecordKind::Visit, VISIT_3).unwrap();
    d.commit("K-SITI", t0 + 86_400 * 90).unwrap();
    // The KK changed (a new card after the birth).
    d.patch_household(
        &HouseholdPatch { kk_number: Some("3275010101240009".into()), ..Default::default() },
        date!(2024 - 06 - 01),
    )
    .unwrap();
    d.commit("K-SITI", 1_717_200_000).unwrap();
    // Two kader rename the baby concurrently: a same-field conflict.
    let mut other = HouseholdDoc::load(&d.save(), &dewi).unwrap();
    d.patch_member(BABY, &MemberPatch { name: Some("Budi Santoso".into()), ..Default::default() }).unwrap();
    d.commit("K-SITI", 1_717_300_000).unwrap();
    other.patch_member(BABY, &MemberPatch { name: Some("Budi Setiawan".into()), ..Default::default() }).unwrap();
    let theirs = other.commit("K-DEWI", 1_717_300_100).unwrap();
    d.apply(vec![theirs]).unwrap();
    d.save()
}

/// Regenerates the committed fixture. Run only when schema 1's fixture must be
/// recreated from the code that wrote schema 1 (never with a later writer):
/// `cargo test --release -p posyandu-core --test schema -- --ignored generate_fixture_v1`
#[test]
#[ignore]
fn generate_fixture_v1() {
    std::fs::write(FIXTURE_V1, build_fixture_v1()).unwrap();
}

// ---- helpers ---------------------------------------------------------------------------

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use posyandu_core::doc::{read_household, DocProblem, HouseholdRead, ProblemKind};

const MUM: Uuid = Uuid::from_u128(0xa1);
const KID: Uuid = Uuid::from_u128(0xa2);
const V1: Uuid = Uuid::from_u128(0xb1);
const V2: Uuid = Uuid::from_u128(0xb2);
const PREG: Uuid = Uuid::from_u128(0xc1);
const ID: Uuid = Uuid::from_u128(0xd1);

/// A household written by the current code: two members, two visits (the first with
/// entries for both), a pregnancy.
fn base() -> HouseholdDoc {
    let mut d = HouseholdDoc::create(ID, "P-001", &ActorId::from([7u8; 16])).unwrap();
    d.patch_household(
        &HouseholdPatch {
            kk_number: Some("3275010101260001".into()),
            address: Some(fixture_address()),
            spm: Some(SpmAttributes { clean_water: Some(true), ..Default::default() }),
            ..Default::default()
        },
        date!(2026 - 01 - 05),
    )
    .unwrap();
    let mum = NewMember {
        nik: Some("3275015205900002".into()),
        mother_nik: None,
        name: "Siti Aminah".into(),
        birth_date: date!(1990 - 05 - 12),
        sex: Sex::Female,
        relation: Relation::KepalaKeluarga,
        bpjs_number: None,
        kia_book: None,
    };
    let kid = NewMember {
        nik: None,
        mother_nik: Some(MotherNik { mother_nik: "3275015205900002".into(), birth_order: 1 }),
        name: "Budi".into(),
        birth_date: date!(2025 - 06 - 01),
        sex: Sex::Male,
        relation: Relation::Anak,
        bpjs_number: None,
        kia_book: None,
    };
    d.add_member(MUM, &mum).unwrap();
    d.add_member(KID, &kid).unwrap();
    let entry = |member, w| VisitEntry {
        member_id: member,
        measurements: Measurements { weight_kg: Some(w), ..Default::default() },
        services: Services { immunisations: vec!["BCG".into()], ..Default::default() },
        spm_needs: vec![SpmNeed { area: SpmArea::Sosial, need: "bantuan PKH".into() }],
        ..Default::default()
    };
    for (id, day, entries) in [(V1, 10, vec![entry(MUM, 58.0), entry(KID, 8.1)]), (V2, 20, vec![entry(KID, 8.4)])] {
        d.add_visit(&Visit {
            id,
            date: date!(2026 - 01 - 01).replace_day(day).unwrap(),
            kind: VisitKind::KunjunganRumah,
            kader_id: "K-SITI".into(),
            posyandu_id: "P-001".into(),
            entries,
            deleted: false,
        })
        .unwrap();
    }
    d.add_pregnancy(&Pregnancy {
        id: PREG,
        member_id: MUM,
        lmp: date!(2025 - 12 - 01),
        due_date: date!(2026 - 09 - 07),
        gravida: 2,
        muac_cm: Some(24.0),
        kek: false,
        ended: None,
        outcome: None,
        deleted: false,
    })
    .unwrap();
    d.commit("K-SITI", 1_767_600_000).unwrap();
    d
}

/// The object at a slash path (maps only).
fn obj(am: &AutoCommit, path: &str) -> ObjId {
    let mut o = ROOT;
    for key in path.split('/').filter(|k| !k.is_empty()) {
        o = match am.get(&o, key).unwrap() {
            Some((Value::Object(_), id)) => id,
            other => panic!("{path}: {key} is {other:?}"),
        };
    }
    o
}

fn put(d: &mut HouseholdDoc, path: &str, key: &str, v: impl Into<ScalarValue>) {
    let am = d.automerge();
    let o = obj(am, path);
    am.put(&o, key, v).unwrap();
}

fn checked(d: &mut HouseholdDoc) -> HouseholdRead {
    // `read()` never fails on a document with an id, whatever else it holds.
    d.read().expect("read() must not fail");
    read_household(d.automerge()).unwrap()
}

fn paths(r: &HouseholdRead) -> Vec<(&str, ProblemKind)> {
    r.problems.iter().map(|p| (p.path.as_str(), p.kind)).collect()
}

fn one_problem(r: &HouseholdRead) -> &DocProblem {
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    &r.problems[0]
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    items.iter().map(id).collect()
}

fn entry_path(visit: Uuid, member: Uuid) -> String {
    format!("visits/{visit}/entries/{member}")
}

// ---- poison ------------------------------------------------------------------------------

#[test]
fn base_document_reads_without_problems() {
    let mut d = base();
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(ids(&r.household.members, |m| m.id), vec![MUM, KID]);
    assert_eq!(ids(&r.household.visits, |v| v.id), vec![V1, V2]);
    assert_eq!(r.household.visits[0].entries.len(), 2);
    assert_eq!(r.household.pregnancies.len(), 1);
    assert_eq!(r.household.address, fixture_address());
}

#[test]
fn weight_as_text_drops_only_that_entry() {
    let mut d = base();
    put(&mut d, &format!("{}/measurements", entry_path(V1, KID)), "weight_kg", "sembilan kilo");
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!(p.path, format!("{}/measurements/weight_kg", entry_path(V1, KID)));
    assert_eq!(p.reason, "harus angka, berisi teks");
    assert_eq!(p.kind, ProblemKind::Invalid);
    assert!(!p.reason.contains("sembilan"));
    let v1 = &r.household.visits[0];
    assert_eq!(v1.id, V1, "the visit keeps its valid entries");
    assert_eq!(ids(&v1.entries, |e| e.member_id), vec![MUM]);
    assert_eq!(v1.entries[0].measurements.weight_kg, Some(58.0));
    assert_eq!(r.household.visits[1].entries[0].measurements.weight_kg, Some(8.4));
    assert_eq!(r.household.members.len(), 2);
    assert_eq!(r.household.pregnancies.len(), 1);
}

#[test]
fn implausible_weights_are_refused() {
    for w in [-50.0, 1e300, f64::NAN, f64::INFINITY] {
        let mut d = base();
        put(&mut d, &format!("{}/measurements", entry_path(V2, KID)), "weight_kg", w);
        let r = checked(&mut d);
        let p = one_problem(&r);
        assert_eq!(p.path, format!("{}/measurements/weight_kg", entry_path(V2, KID)), "{w}");
        if w.is_finite() {
            assert_eq!(p.reason, "di luar batas wajar (0.5–250)");
        }
        assert!(!p.reason.contains("50") || p.reason.contains("250"), "no value in reason: {}", p.reason);
        assert!(r.household.visits[1].entries.is_empty(), "V2's only entry is left out");
        assert_eq!(r.household.visits[0].entries.len(), 2);
    }
}

#[test]
fn impossible_and_implausible_dates() {
    for (date, reason) in
        [("2024-13-45", "tanggal tidak valid"), ("9999-12-31", "tanggal di luar batas wajar (1900–2100)")]
    {
        let mut d = base();
        put(&mut d, &format!("visits/{V1}"), "date", date);
        let r = checked(&mut d);
        let p = one_problem(&r);
        assert_eq!((p.path.as_str(), p.reason.as_str()), (format!("visits/{V1}/date").as_str(), reason));
        assert_eq!(ids(&r.household.visits, |v| v.id), vec![V2]);
        assert_eq!(r.household.members.len(), 2);
    }
    // A birth date too.
    let mut d = base();
    put(&mut d, &format!("members/{MUM}"), "birth_date", "1850-01-01");
    let r = checked(&mut d);
    assert_eq!(paths(&r), vec![(format!("members/{MUM}/birth_date").as_str(), ProblemKind::Invalid)]);
    assert_eq!(ids(&r.household.members, |m| m.id), vec![KID]);
    assert_eq!(r.household.visits[0].entries.len(), 2, "entries of an unreadable member stay");
    assert_eq!(r.household.pregnancies.len(), 1);
}

#[test]
fn wrong_types_in_member_and_address() {
    // sex as a number
    let mut d = base();
    put(&mut d, &format!("members/{KID}"), "sex", 42);
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!((p.path.clone(), p.reason.as_str()), (format!("members/{KID}/sex"), "harus teks, berisi angka"));
    assert_eq!(ids(&r.household.members, |m| m.id), vec![MUM]);

    // NIK as an integer
    let mut d = base();
    put(&mut d, &format!("members/{MUM}"), "nik", 3275015205900002u64);
    let r = checked(&mut d);
    assert_eq!(one_problem(&r).path, format!("members/{MUM}/nik"));
    assert_eq!(ids(&r.household.members, |m| m.id), vec![KID]);
    assert_eq!(r.household.pregnancies.len(), 1, "the pregnancy refers to a member in the document");

    // A NIK of the wrong structure
    let mut d = base();
    put(&mut d, &format!("members/{MUM}"), "nik", "32750152059");
    let r = checked(&mut d);
    assert_eq!(one_problem(&r).reason, "harus 16 angka");

    // RT as a number: the address is left out, the rest of the household stays.
    let mut d = base();
    put(&mut d, "household/address", "rt", 3);
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!((p.path.as_str(), p.reason.as_str()), ("household/address/rt", "harus teks, berisi angka"));
    assert_eq!(r.household.address, Address::default());
    assert_eq!(r.household.kk_number.as_deref(), Some("3275010101260001"));
    assert_eq!(r.household.spm.clean_water, Some(true));
    assert_eq!(r.household.members.len(), 2);

    // The KK number of the wrong structure
    let mut d = base();
    put(&mut d, "household", "kk_number", "12345");
    let r = checked(&mut d);
    assert_eq!(paths(&r), vec![("household/kk_number", ProblemKind::Invalid)]);
    assert_eq!(r.household.kk_number, None);
    assert_eq!(r.household.address, fixture_address());
}

#[test]
fn closed_enums_refuse_unknown_values() {
    let mut d = base();
    put(&mut d, &format!("members/{KID}"), "sex", "x");
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!((p.kind, p.reason.as_str()), (ProblemKind::Invalid, "nilai tidak dikenal"));

    let mut d = base();
    put(&mut d, &format!("{}/measurements", entry_path(V2, KID)), "measure", "berdiri");
    let r = checked(&mut d);
    assert_eq!(
        paths(&r),
        vec![(format!("{}/measurements/measure", entry_path(V2, KID)).as_str(), ProblemKind::Invalid)]
    );
}

#[test]
fn open_enums_with_unknown_values_are_newer_and_a_wrong_type_is_invalid() {
    let mut d = base();
    put(&mut d, &format!("members/{KID}"), "relation", "anak_angkat");
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!(p.path, format!("members/{KID}/relation"));
    assert_eq!((p.kind, p.reason.as_str()), (ProblemKind::Newer, "dibuat oleh versi aplikasi yang lebih baru"));
    assert_eq!(ids(&r.household.members, |m| m.id), vec![MUM]);

    let mut d = base();
    put(&mut d, &format!("visits/{V2}"), "kind", "kelas_balita");
    let r = checked(&mut d);
    assert_eq!(paths(&r), vec![(format!("visits/{V2}/kind").as_str(), ProblemKind::Newer)]);
    assert_eq!(ids(&r.household.visits, |v| v.id), vec![V1]);

    let mut d = base();
    put(&mut d, &format!("visits/{V2}"), "kind", 5);
    let r = checked(&mut d);
    assert_eq!(paths(&r), vec![(format!("visits/{V2}/kind").as_str(), ProblemKind::Invalid)]);

    // An SPM area added by a newer version: that entry is left out as newer.
    let mut d = base();
    {
        let am = d.automerge();
        let list = obj(am, &format!("{}/spm_needs", entry_path(V1, MUM)));
        let item = match am.get(&list, 0usize).unwrap() {
            Some((Value::Object(_), id)) => id,
            other => panic!("{other:?}"),
        };
        am.put(&item, "area", "lingkungan_hidup").unwrap();
    }
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!(p.path, format!("{}/spm_needs/0/area", entry_path(V1, MUM)));
    assert_eq!(p.kind, ProblemKind::Newer);
    assert_eq!(ids(&r.household.visits[0].entries, |e| e.member_id), vec![KID]);

    // An antigen code this version does not know is not a problem.
    let mut d = base();
    {
        let am = d.automerge();
        let list = obj(am, &format!("{}/services/immunisations", entry_path(V2, KID)));
        am.insert(&list, 1, "MALARIA1").unwrap();
    }
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.household.visits[1].entries[0].services.immunisations, vec!["BCG", "MALARIA1"]);
}

#[test]
fn keys_that_must_be_uuids() {
    let mut d = base();
    {
        let am = d.automerge();
        let members = obj(am, "members");
        let m = am.put_object(&members, "not-a-uuid", ObjType::Map).unwrap();
        am.put(&m, "name", "X").unwrap();
        let entries = obj(am, &format!("visits/{V1}/entries"));
        am.put_object(&entries, "nobody", ObjType::Map).unwrap();
    }
    let r = checked(&mut d);
    let mut got = paths(&r);
    got.sort();
    let entry = format!("visits/{V1}/entries/nobody");
    assert_eq!(got, vec![("members/not-a-uuid", ProblemKind::Invalid), (entry.as_str(), ProblemKind::Invalid)]);
    assert!(r.problems.iter().all(|p| p.reason == "kunci harus UUID"));
    assert_eq!(r.household.members.len(), 2);
    assert_eq!(r.household.visits[0].entries.len(), 2);
}

#[test]
fn root_collections_of_the_wrong_type_read_as_empty() {
    // members as a string: no member, but visits and pregnancies are not judged by it.
    let mut d = base();
    d.automerge().put(ROOT, "members", "rusak").unwrap();
    let r = checked(&mut d);
    let p = one_problem(&r);
    assert_eq!((p.path.as_str(), p.reason.as_str()), ("members", "harus peta, berisi teks"));
    assert!(r.household.members.is_empty());
    assert_eq!(r.household.visits.len(), 2);
    assert_eq!(r.household.visits[0].entries.len(), 2);

    // visits as a list
    let mut d = base();
    let list = d.automerge().put_object(ROOT, "visits", ObjType::List).unwrap();
    d.automerge().insert(&list, 0, 1).unwrap();
    let r = checked(&mut d);
    assert_eq!(one_problem(&r).reason, "harus peta, berisi daftar");
    assert!(r.household.visits.is_empty());
    assert_eq!(r.household.members.len(), 2);

    // the others as text, a number, a Text object
    for (key, kind) in [("pregnancies", "teks"), ("kk_history", "angka"), ("household", "teks")] {
        let mut d = base();
        let am = d.automerge();
        match key {
            "kk_history" => am.put(ROOT, key, 7).unwrap(),
            "household" => {
                let t = am.put_object(ROOT, key, ObjType::Text).unwrap();
                am.splice_text(&t, 0, 0, "x").unwrap();
            }
            _ => am.put(ROOT, key, "x").unwrap(),
        }
        let r = checked(&mut d);
        let p = one_problem(&r);
        assert_eq!((p.path.as_str(), p.reason.clone()), (key, format!("harus peta, berisi {kind}")));
        assert_eq!(r.household.members.len(), 2);
        assert_eq!(r.household.visits.len(), 2);
    }
}

#[test]
fn references_to_members_not_in_the_document() {
    let ghost = Uuid::from_u128(0xdead);
    let mut d = base();
    {
        let am = d.automerge();
        let entries = obj(am, &format!("visits/{V2}/entries"));
        let e = am.put_object(&entries, ghost.to_string(), ObjType::Map).unwrap();
        am.put_object(&e, "measurements", ObjType::Map).unwrap();
    }
    put(&mut d, &format!("pregnancies/{PREG}"), "member_id", ghost.to_string());
    let r = checked(&mut d);
    let mut got: Vec<(String, String)> = r.problems.iter().map(|p| (p.path.clone(), p.reason.clone())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (format!("pregnancies/{PREG}/member_id"), "anggota keluarga tidak ada".to_string()),
            (entry_path(V2, ghost), "anggota keluarga tidak ada".to_string()),
        ]
    );
    assert_eq!(ids(&r.household.visits[1].entries, |e| e.member_id), vec![KID], "the visit keeps its other entries");
    assert!(r.household.pregnancies.is_empty());

    // A tombstoned member still exists.
    let mut d = base();
    d.tombstone(posyandu_core::doc::RecordKind::Member, KID).unwrap();
    let r = checked(&mut d);
    assert!(r.problems.is_empty());
    assert_eq!(r.household.visits[1].entries.len(), 1);
}

#[test]
fn text_objects_read_as_strings() {
    let mut d = base();
    {
        let am = d.automerge();
        let m = obj(am, &format!("members/{KID}"));
        let t = am.put_object(&m, "name", ObjType::Text).unwrap();
        am.splice_text(&t, 0, 0, "Budi Santoso").unwrap();
        let v = obj(am, &format!("visits/{V1}"));
        let t = am.put_object(&v, "kader_id", ObjType::Text).unwrap();
        am.splice_text(&t, 0, 0, "K-DEWI").unwrap();
        let t = am.put_object(ROOT, "posyandu_id", ObjType::Text).unwrap();
        am.splice_text(&t, 0, 0, "P-001").unwrap();
    }
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.household.member(KID).unwrap().name, "Budi Santoso");
    assert_eq!(r.household.visits[0].kader_id, "K-DEWI");
    assert_eq!(r.household.posyandu_id, "P-001");
}

#[test]
fn whole_numbers_stored_as_floats_and_small_ints_read() {
    // A JavaScript writer stores 2 as a float and 9 kg as an integer.
    let mut d = base();
    put(&mut d, &format!("pregnancies/{PREG}"), "gravida", 2.0);
    put(&mut d, &format!("{}/measurements", entry_path(V2, KID)), "weight_kg", 9i64);
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.household.pregnancies[0].gravida, 2);
    assert_eq!(r.household.visits[1].entries[0].measurements.weight_kg, Some(9.0));
    put(&mut d, &format!("pregnancies/{PREG}"), "gravida", 2.5);
    assert_eq!(checked(&mut d).problems[0].reason, "harus bilangan bulat");
}

#[test]
fn reasons_never_quote_the_value() {
    let secret = "Rahasia Pribadi 3275015205900002";
    let mut d = base();
    put(&mut d, &format!("members/{KID}"), "sex", secret);
    put(&mut d, &format!("members/{MUM}"), "birth_date", secret);
    put(&mut d, &format!("visits/{V1}"), "kind", secret);
    put(&mut d, &format!("{}/measurements", entry_path(V2, KID)), "weight_kg", secret);
    put(&mut d, "household/address", "rt", secret);
    put(&mut d, "household", "kk_number", secret);
    let r = checked(&mut d);
    assert_eq!(r.problems.len(), 6, "{:?}", r.problems);
    for p in &r.problems {
        assert!(!p.reason.contains("Rahasia") && !p.reason.contains("3275"), "{p:?}");
    }
}

#[test]
fn only_a_missing_id_fails_the_read() {
    let mut d = base();
    d.automerge().delete(ROOT, "id").unwrap();
    assert!(read_household(d.automerge()).is_err());
    assert!(d.read().is_err());
    // Works on a plain `Automerge` (the relay's type) as well.
    let am = automerge::Automerge::load(&base().save()).unwrap();
    let r = read_household(&am).unwrap();
    assert!(r.problems.is_empty());
    assert_eq!(r.household.visits.len(), 2);
}

#[test]
fn a_poisoned_document_in_the_store_is_listed_and_the_rest_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(
        dir.path().join("s.sqlite3"),
        DeviceIdentity { device_id: "D1".into(), kader_id: "K-SITI".into(), posyandu_id: "P-001".into() },
        std::sync::Arc::new(MemoryKeyring::unencrypted_for_tests()),
    )
    .unwrap();
    store.set_clock(|| time::macros::datetime!(2026-01-25 03:00 UTC), time::UtcOffset::from_hms(7, 0, 0).unwrap());
    let mut d = base();
    put(&mut d, &format!("{}/measurements", entry_path(V1, KID)), "weight_kg", "sembilan kilo");
    d.commit("K-JAHIL", 1_767_700_000).unwrap();
    store.import_documents([(ID, d.save())]).unwrap();
    let problems = store.document_problems().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, ID);
    assert_eq!(problems[0].1.path, format!("{}/measurements/weight_kg", entry_path(V1, KID)));
    assert_eq!(store.list_households(None).unwrap()[0].member_count, 2);
    // The phone keeps working on the household; the problem stays listed until fixed.
    store
        .record_visit(
            ID,
            NewVisit {
                date: date!(2026 - 01 - 24),
                kind: VisitKind::HariBuka,
                entries: vec![VisitEntry {
                    member_id: KID,
                    measurements: Measurements { weight_kg: Some(8.6), ..Default::default() },
                    ..Default::default()
                }],
            },
        )
        .unwrap();
    assert_eq!(store.household(ID).unwrap().visits.len(), 3);
    assert_eq!(store.document_problems().unwrap().len(), 1);
    // Correcting the entry (a field edit) ends the problem.
    store
        .amend_visit_entry(
            ID,
            V1,
            VisitEntry {
                member_id: KID,
                measurements: Measurements { weight_kg: Some(8.1), ..Default::default() },
                ..Default::default()
            },
        )
        .unwrap();
    assert!(store.document_problems().unwrap().is_empty());
}

// ---- forward compatibility -----------------------------------------------------------

/// The value at a slash path as JSON (objects recursively, Text as a string).
fn json_at(am: &impl ReadDoc, path: &str) -> Option<serde_json::Value> {
    fn scalar(s: &ScalarValue) -> serde_json::Value {
        match s {
            ScalarValue::Str(s) => s.to_string().into(),
            ScalarValue::Int(i) => (*i).into(),
            ScalarValue::Uint(u) => (*u).into(),
            ScalarValue::F64(f) => (*f).into(),
            ScalarValue::Boolean(b) => (*b).into(),
            other => format!("{other:?}").into(),
        }
    }
    fn object(am: &impl ReadDoc, o: &ObjId) -> serde_json::Value {
        let val = |v: Value<'_>, id: ObjId| match v {
            Value::Object(_) => object(am, &id),
            Value::Scalar(s) => scalar(&s),
        };
        match am.object_type(o).unwrap() {
            ObjType::Text => am.text(o).unwrap().into(),
            ObjType::List => am.list_range(o, ..).map(|i| val(Value::from(i.value.clone()), i.id())).collect(),
            _ => serde_json::Value::Object(
                am.map_range(o, ..).map(|i| (i.key.to_string(), val(Value::from(i.value.clone()), i.id()))).collect(),
            ),
        }
    }
    let mut o = ROOT;
    let keys: Vec<&str> = path.split('/').collect();
    for (i, key) in keys.iter().enumerate() {
        let (v, id) = am.get(&o, *key).unwrap()?;
        if i + 1 == keys.len() {
            return Some(match v {
                Value::Object(_) => object(am, &id),
                Value::Scalar(s) => scalar(&s),
            });
        }
        o = id;
    }
    None
}

const V3: Uuid = Uuid::from_u128(0xb3);
const REFERRAL: Uuid = Uuid::from_u128(0xe1);

/// What a newer app version writes: unknown fields in records, new root keys and
/// collections, a visit of a kind this version does not know.
fn newer_writer(d: &mut HouseholdDoc) -> Vec<String> {
    let am = d.automerge();
    let e = obj(am, &entry_path(V1, MUM));
    am.put(&e, "pain_score", 3).unwrap();
    let vit = am.put_object(&e, "vitals_v2", ObjType::Map).unwrap();
    am.put(&vit, "spo2_percent", 97).unwrap();
    let m = obj(am, &format!("members/{KID}"));
    am.put(&m, "blood_type", "O").unwrap();
    let a = obj(am, "household/address");
    am.put(&a, "village_name", "Bekasi Jaya").unwrap();
    let needs = obj(am, &format!("{}/spm_needs", entry_path(V1, MUM)));
    let need = match am.get(&needs, 0usize).unwrap() {
        Some((Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    am.put(&need, "priority", "tinggi").unwrap();
    am.put(ROOT, "app_version", "2.0").unwrap();
    // A root collection this version does not know (`referrals` was such an example
    // until issue 12 made it real).
    let refs = am.put_object(ROOT, "kelas_ibu", ObjType::Map).unwrap();
    let r = am.put_object(&refs, REFERRAL.to_string(), ObjType::Map).unwrap();
    am.put(&r, "member_id", KID.to_string()).unwrap();
    am.put(&r, "reason", "gizi kurang").unwrap();
    am.put(&r, "status", "terkirim").unwrap();
    let lists = am.put_object(ROOT, "checklists", ObjType::Map).unwrap();
    let l = am.put_object(&lists, "balita", ObjType::List).unwrap();
    am.insert(&l, 0, "asi_eksklusif").unwrap();
    let visits = obj(am, "visits");
    let v = am.put_object(&visits, V3.to_string(), ObjType::Map).unwrap();
    am.put(&v, "date", "2026-01-22").unwrap();
    am.put(&v, "kind", "kelas_balita").unwrap();
    am.put(&v, "kader_id", "K-BARU").unwrap();
    am.put(&v, "posyandu_id", "P-001").unwrap();
    am.put(&v, "deleted", false).unwrap();
    am.put(&v, "topic", "MPASI").unwrap();
    let es = am.put_object(&v, "entries", ObjType::Map).unwrap();
    let ke = am.put_object(&es, KID.to_string(), ObjType::Map).unwrap();
    let ms = am.put_object(&ke, "measurements", ObjType::Map).unwrap();
    am.put(&ms, "weight_kg", 8.5).unwrap();
    d.commit("K-BARU", 1_768_000_000).unwrap();
    vec![
        format!("{}/pain_score", entry_path(V1, MUM)),
        format!("{}/vitals_v2", entry_path(V1, MUM)),
        format!("{}/spm_needs", entry_path(V1, MUM)),
        format!("members/{KID}/blood_type"),
        "household/address/village_name".into(),
        "app_version".into(),
        "kelas_ibu".into(),
        "checklists".into(),
        format!("visits/{V3}"),
    ]
}

#[test]
fn newer_data_is_ignored_by_the_reader_and_survives_every_write() {
    let mut d = base();
    let newer_paths = newer_writer(&mut d);
    let before: Vec<_> = newer_paths.iter().map(|p| json_at(d.automerge(), p)).collect();
    assert!(before.iter().all(Option::is_some));

    let r = checked(&mut d);
    assert_eq!(paths(&r), vec![(format!("visits/{V3}/kind").as_str(), ProblemKind::Newer)]);
    assert_eq!(ids(&r.household.visits, |v| v.id), vec![V1, V2]);
    assert_eq!(r.household.visits[0].entries.len(), 2, "unknown fields do not make an entry unreadable");
    assert_eq!(r.household.address, fixture_address());

    // This version edits the same household through its store.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let mut store = Store::open(
        &path,
        DeviceIdentity { device_id: "D1".into(), kader_id: "K-SITI".into(), posyandu_id: "P-001".into() },
        std::sync::Arc::new(MemoryKeyring::unencrypted_for_tests()),
    )
    .unwrap();
    store.set_clock(|| time::macros::datetime!(2026-01-25 03:00 UTC), time::UtcOffset::from_hms(7, 0, 0).unwrap());
    store.import_documents([(ID, d.save())]).unwrap();
    let problems = store.document_problems().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].1.kind, ProblemKind::Newer);
    store
        .record_visit(
            ID,
            NewVisit {
                date: date!(2026 - 01 - 24),
                kind: VisitKind::KunjunganRumah,
                entries: vec![VisitEntry {
                    member_id: KID,
                    measurements: Measurements { weight_kg: Some(8.7), ..Default::default() },
                    ..Default::default()
                }],
            },
        )
        .unwrap();
    store.update_member(ID, KID, MemberPatch { name: Some("Budi Santoso".into()), ..Default::default() }).unwrap();
    store
        .amend_visit_entry(
            ID,
            V1,
            VisitEntry {
                member_id: MUM,
                measurements: Measurements { weight_kg: Some(58.2), waist_cm: Some(80.0), ..Default::default() },
                services: Services { vitamin_a: true, ..Default::default() },
                // The same list as stored (the kader's form sends it back unchanged).
                spm_needs: vec![SpmNeed { area: SpmArea::Sosial, need: "bantuan PKH".into() }],
                ..Default::default()
            },
        )
        .unwrap();
    let mut address = fixture_address();
    address.rt = "004".into();
    store.update_household(ID, HouseholdPatch { address: Some(address.clone()), ..Default::default() }).unwrap();
    store.delete_visit(ID, V2).unwrap();
    drop(store);

    // The document as this version saved it: snapshot plus incremental changes.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let snapshot: Vec<u8> =
        conn.query_row("SELECT snapshot FROM doc WHERE id = ?1", [ID.to_string()], |r| r.get(0)).unwrap();
    let mut saved = AutoCommit::load(&snapshot).unwrap();
    let mut stmt = conn.prepare("SELECT data FROM doc_change WHERE doc_id = ?1 ORDER BY seq").unwrap();
    for data in stmt.query_map([ID.to_string()], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
        saved.load_incremental(&data.unwrap()).unwrap();
    }
    let saved = AutoCommit::load(&saved.save()).unwrap();
    for (p, b) in newer_paths.iter().zip(&before) {
        assert_eq!(&json_at(&saved, p), b, "{p} unchanged");
    }
    // ... and the edits are there.
    let r = read_household(&saved).unwrap();
    assert_eq!(paths(&r), vec![(format!("visits/{V3}/kind").as_str(), ProblemKind::Newer)]);
    let h = r.household;
    assert_eq!(h.member(KID).unwrap().name, "Budi Santoso");
    assert_eq!(h.visits.len(), 3);
    assert!(h.visits.iter().find(|v| v.id == V2).unwrap().deleted);
    let mum_entry = &h.visits[0].entries[0];
    assert_eq!((mum_entry.member_id, mum_entry.measurements.weight_kg), (MUM, Some(58.2)));
    assert!(mum_entry.services.vitamin_a);
    assert_eq!(h.address, address);
}

// ---- backward compatibility: the schema-1 fixture -----------------------------------------

#[test]
fn reads_the_schema_1_fixture_exactly() {
    let bytes = std::fs::read(FIXTURE_V1).expect("fixture committed");
    let d = HouseholdDoc::load_readonly(&bytes).unwrap();
    let r = d.read_checked().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let h = r.household;
    let expected = Household {
        id: HH,
        posyandu_id: "P-001".into(),
        kk_number: Some("3275010101240009".into()),
        kk_history: vec![
            KkChange { kk_number: "3275010101240001".into(), since: date!(2024 - 01 - 10) },
            KkChange { kk_number: "3275010101240009".into(), since: date!(2024 - 06 - 01) },
        ],
        head_member_id: Some(MOTHER),
        address: fixture_address(),
        gps: Some(GeoPoint { lat: -6.2383, lon: 106.9756 }),
        spm: SpmAttributes {
            clean_water: Some(true),
            latrine: Some(false),
            rutilahu: None,
            social_aid: Some(true),
            child_out_of_school: None,
            public_order_note: Some("aman".into()),
        },
        members: vec![
            Member {
                id: FATHER,
                nik: Some("3275010503880001".into()),
                mother_nik: None,
                name: "Ahmad Hidayat".into(),
                birth_date: date!(1988 - 03 - 05),
                sex: Sex::Male,
                relation: Relation::Suami,
                bpjs_number: None,
                kia_book: None,
                status: None,
                birth: None,
                deleted: false,
            },
            Member {
                id: MOTHER,
                nik: Some("3275015205900002".into()),
                mother_nik: None,
                name: "Siti Aminah".into(),
                birth_date: date!(1990 - 05 - 12),
                sex: Sex::Female,
                relation: Relation::KepalaKeluarga,
                bpjs_number: Some("0001234567890".into()),
                kia_book: None,
                status: None,
                birth: None,
                deleted: false,
            },
            Member {
                id: BABY,
                nik: None,
                mother_nik: Some(MotherNik { mother_nik: "3275015205900002".into(), birth_order: 2 }),
                // The concurrent rename: automerge's deterministic winner (higher actor).
                name: "Budi Setiawan".into(),
                birth_date: date!(2024 - 01 - 02),
                sex: Sex::Male,
                relation: Relation::Anak,
                bpjs_number: None,
                kia_book: None,
                status: None,
                birth: None,
                deleted: false,
            },
        ],
        visits: fixture_visits(),
        pregnancies: vec![fixture_pregnancy()],
        referrals: vec![],
        spm_requests: vec![],
    };
    assert_eq!(h, expected);
    // A few values spelled out, independent of the builders above.
    assert_eq!(h.visits[0].entries[1].measurements.weight_kg, Some(4.2));
    assert_eq!(h.visits[0].entries[1].services.immunisations, vec!["HB0", "BCG", "POLIO1"]);
    assert_eq!(h.visits[0].entries[0].referral.as_ref().unwrap().to.as_deref(), Some("Puskesmas Bekasi Jaya"));
    assert_eq!(h.visits[0].entries[0].spm_needs[0].area, SpmArea::Sosial);
    assert_eq!(h.visits[1].entries[0].measurements.bp_systolic_mmhg, Some(130));
    assert!(h.visits[2].deleted);
    assert_eq!(h.pregnancies[0].ended, Some(date!(2024 - 01 - 02)));

    let conflicts = d.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, format!("members/{BABY}/name"));
    let mut values: Vec<(String, Option<String>, i64)> =
        conflicts[0].values.iter().map(|v| (v.value_json.clone(), v.kader_id.clone(), v.written_at)).collect();
    values.sort();
    assert_eq!(
        values,
        vec![
            ("\"Budi Santoso\"".into(), Some("K-SITI".into()), 1_717_300_000),
            ("\"Budi Setiawan\"".into(), Some("K-DEWI".into()), 1_717_300_100),
        ]
    );
    // The relay's document type reads it the same.
    let am = automerge::Automerge::load(&bytes).unwrap();
    assert_eq!(read_household(&am).unwrap().household, expected);
}

// ---- one rule in one place ---------------------------------------------------------------

use proptest::prelude::*;

fn opt_f64() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![Just(None), (-20.0f64..1000.0).prop_map(Some), Just(Some(f64::NAN))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Measurements the write checks accept read back unchanged with no problem; ones
    /// they refuse (written past the checks, as a buggy phone would) are a problem.
    #[test]
    fn reader_and_write_checks_agree_on_measurements(
        weight in opt_f64(), height in opt_f64(), head in opt_f64(), muac in opt_f64(),
        sys in proptest::option::of(0u16..400), dia in proptest::option::of(0u16..300),
    ) {
        let m = Measurements {
            weight_kg: weight,
            length_height_cm: height,
            head_circumference_cm: head,
            muac_cm: muac,
            bp_systolic_mmhg: sys,
            bp_diastolic_mmhg: dia,
            ..Default::default()
        };
        let accepted = posyandu_core::validation::check_measurements(&m).is_ok();
        // Written field by field past the checks (serde_json would turn NaN into null).
        let mut d = base();
        let visit = Visit {
            id: V3,
            date: date!(2026 - 01 - 21),
            kind: VisitKind::HariBuka,
            kader_id: "K-SITI".into(),
            posyandu_id: "P-001".into(),
            entries: vec![VisitEntry { member_id: KID, ..Default::default() }],
            deleted: false,
        };
        d.add_visit(&visit).unwrap();
        let mp = format!("{}/measurements", entry_path(V3, KID));
        for (key, v) in [("weight_kg", weight), ("length_height_cm", height), ("head_circumference_cm", head), ("muac_cm", muac)] {
            if let Some(v) = v {
                put(&mut d, &mp, key, v);
            }
        }
        for (key, v) in [("bp_systolic_mmhg", sys), ("bp_diastolic_mmhg", dia)] {
            if let Some(v) = v {
                put(&mut d, &mp, key, v as u64);
            }
        }
        let r = checked(&mut d);
        let v3 = r.household.visits.iter().find(|v| v.id == V3).unwrap();
        if accepted {
            prop_assert!(r.problems.is_empty(), "{:?}", r.problems);
            prop_assert_eq!(&v3.entries[0].measurements, &m);
        } else {
            prop_assert!(!r.problems.is_empty());
            let prefix = format!("{}/measurements/", entry_path(V3, KID));
            prop_assert!(r.problems.iter().all(|p| p.path.starts_with(&prefix)), "{:?}", r.problems);
            prop_assert!(v3.entries.is_empty());
        }
    }
}

#[test]
fn the_phone_never_writes_a_date_the_reader_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(
        dir.path().join("s.sqlite3"),
        DeviceIdentity { device_id: "D1".into(), kader_id: "K-SITI".into(), posyandu_id: "P-001".into() },
        std::sync::Arc::new(MemoryKeyring::unencrypted_for_tests()),
    )
    .unwrap();
    store.set_clock(|| time::macros::datetime!(2026-01-25 03:00 UTC), time::UtcOffset::from_hms(7, 0, 0).unwrap());
    store.import_documents([(ID, base().save())]).unwrap();
    let visit = |date| NewVisit {
        date,
        kind: VisitKind::HariBuka,
        entries: vec![VisitEntry {
            member_id: MUM,
            measurements: Measurements { weight_kg: Some(58.0), ..Default::default() },
            ..Default::default()
        }],
    };
    let err = store.record_visit(ID, visit(date!(1899 - 12 - 31))).unwrap_err();
    assert!(
        matches!(err, Error::Validation(posyandu_core::validation::ValidationError::ImplausibleDate { .. })),
        "{err:?}"
    );
    let err = store.end_pregnancy(ID, PREG, date!(1899 - 12 - 31)).unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert!(store.document_problems().unwrap().is_empty());
}

#[test]
fn kader_status_lists_unreadable_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let store = Store::open(
            &path,
            DeviceIdentity { device_id: "D1".into(), kader_id: "K-SITI".into(), posyandu_id: "P-001".into() },
            std::sync::Arc::new(MemoryKeyring::unencrypted_for_tests()),
        )
        .unwrap();
        let mut d = base();
        put(&mut d, &format!("members/{KID}"), "sex", 42);
        d.commit("K-JAHIL", 1_767_700_000).unwrap();
        store.import_documents([(ID, d.save())]).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_posyandu-kader"))
        .arg("--store")
        .arg(&path)
        .arg("status")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Data tidak terbaca (1):"), "{stdout}");
    assert!(stdout.contains(&format!("{ID} members/{KID}/sex: harus teks, berisi angka")), "{stdout}");
}

/// Any value of any automerge type at any key of any record: the read never fails or
/// panics, the problem names that key (or its record), and the other records stay.
#[derive(Debug, Clone)]
enum Poison {
    Str(String),
    Int(i64),
    Uint(u64),
    F64(f64),
    Bool(bool),
    Null,
    Bytes,
    Counter,
    Timestamp,
    Map,
    List,
    Text(String),
}

fn poison() -> impl Strategy<Value = Poison> {
    prop_oneof![
        ".{0,120}".prop_map(Poison::Str),
        any::<i64>().prop_map(Poison::Int),
        any::<u64>().prop_map(Poison::Uint),
        any::<f64>().prop_map(Poison::F64),
        any::<bool>().prop_map(Poison::Bool),
        Just(Poison::Null),
        Just(Poison::Bytes),
        Just(Poison::Counter),
        Just(Poison::Timestamp),
        Just(Poison::Map),
        Just(Poison::List),
        ".{0,20}".prop_map(Poison::Text),
    ]
}

fn write_poison(am: &mut AutoCommit, o: &ObjId, key: &str, p: &Poison) {
    match p {
        Poison::Str(s) => am.put(o, key, s.as_str()).unwrap(),
        Poison::Int(i) => am.put(o, key, *i).unwrap(),
        Poison::Uint(u) => am.put(o, key, *u).unwrap(),
        Poison::F64(f) => am.put(o, key, *f).unwrap(),
        Poison::Bool(b) => am.put(o, key, *b).unwrap(),
        Poison::Null => am.put(o, key, ScalarValue::Null).unwrap(),
        Poison::Bytes => am.put(o, key, ScalarValue::Bytes(vec![0, 159, 146, 150])).unwrap(),
        Poison::Counter => am.put(o, key, ScalarValue::counter(5)).unwrap(),
        Poison::Timestamp => am.put(o, key, ScalarValue::Timestamp(1_700_000_000_000)).unwrap(),
        Poison::Map => {
            let m = am.put_object(o, key, ObjType::Map).unwrap();
            am.put(&m, "x", 1).unwrap();
        }
        Poison::List => {
            let l = am.put_object(o, key, ObjType::List).unwrap();
            am.insert(&l, 0, "x").unwrap();
        }
        Poison::Text(s) => {
            let t = am.put_object(o, key, ObjType::Text).unwrap();
            am.splice_text(&t, 0, 0, s).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_value_anywhere_never_breaks_the_read(
        target in 0usize..12,
        key_pick in 0usize..64,
        value in poison(),
    ) {
        let targets = [
            (format!("members/{MUM}"), vec!["name", "birth_date", "sex", "relation", "nik", "mother_nik", "bpjs_number", "deleted"]),
            (format!("members/{KID}/mother_nik"), vec!["mother_nik", "birth_order"]),
            (format!("visits/{V1}"), vec!["date", "kind", "kader_id", "posyandu_id", "deleted", "entries"]),
            (entry_path(V1, KID), vec!["measurements", "services", "checklist", "counselling", "referral", "spm_needs"]),
            (format!("{}/measurements", entry_path(V1, KID)), vec!["weight_kg", "length_height_cm", "measure", "bp_systolic_mmhg", "oedema", "muac_cm"]),
            (format!("{}/services", entry_path(V1, KID)), vec!["immunisations", "vitamin_a", "iron_tablets"]),
            (format!("pregnancies/{PREG}"), vec!["member_id", "lmp", "due_date", "gravida", "muac_cm", "kek", "ended", "deleted"]),
            ("household".to_string(), vec!["kk_number", "head_member_id", "address", "gps", "spm"]),
            ("household/address".to_string(), vec!["rt", "rw", "kode_wilayah", "dusun", "street"]),
            ("household/spm".to_string(), vec!["clean_water", "public_order_note"]),
            (String::new(), vec!["household", "kk_history", "members", "visits", "pregnancies", "id", "posyandu_id", "schema"]),
            (format!("visits/{V2}/entries"), vec!["not-a-uuid"]),
        ];
        let (path, keys) = &targets[target];
        let key = keys[key_pick % keys.len()];
        let mut d = base();
        {
            let am = d.automerge();
            let o = obj(am, path);
            write_poison(am, &o, key, &value);
        }
        let full = if path.is_empty() { key.to_string() } else { format!("{path}/{key}") };
        let r = read_household(d.automerge());
        if full == "id" {
            // Only a missing or unreadable id fails the read; a readable one is fine.
            if r.is_err() {
                return Ok(());
            }
        }
        let r = r.unwrap();
        prop_assert!(d.read().is_ok());
        for p in &r.problems {
            // A problem is at or under the poisoned key, or at the record it belongs to.
            let record = full.split('/').take(if full.starts_with("visits") { 4 } else { 2 }).collect::<Vec<_>>().join("/");
            // Replacing the whole members map also leaves the records that pointed at
            // the old members dangling: those are flagged where they point.
            let dangling = full == "members" && p.reason == "anggota keluarga tidak ada";
            prop_assert!(
                dangling || p.path.starts_with(&full) || full.starts_with(&p.path) || p.path.starts_with(&record),
                "{full}: {:?}", r.problems
            );
            if let Poison::Str(s) | Poison::Text(s) = &value {
                if s.len() > 3 {
                    prop_assert!(!p.reason.contains(s.as_str()), "{p:?}");
                }
            }
        }
        // Records other than the poisoned one are intact.
        if !full.starts_with("members") && !full.starts_with(&format!("pregnancies/{PREG}/member_id")) {
            prop_assert_eq!(r.household.members.len(), 2);
        }
        if !full.starts_with("visits") && full != "members" {
            prop_assert_eq!(r.household.visits.len(), 2);
            prop_assert_eq!(r.household.visits[1].entries.len(), 1);
        }
    }
}

#[test]
fn text_objects_in_conflicts_read_as_strings() {
    let bytes = base().save();
    let mut ours = HouseholdDoc::load(&bytes, &ActorId::from([8u8; 16])).unwrap();
    let mut theirs = HouseholdDoc::load(&bytes, &ActorId::from([9u8; 16])).unwrap();
    ours.patch_member(KID, &MemberPatch { name: Some("Budi S.".into()), ..Default::default() }).unwrap();
    ours.commit("K-SITI", 1_767_700_000).unwrap();
    {
        // A JavaScript phone writes the name as a Text object.
        let am = theirs.automerge();
        let m = obj(am, &format!("members/{KID}"));
        let t = am.put_object(&m, "name", ObjType::Text).unwrap();
        am.splice_text(&t, 0, 0, "Budi Santoso").unwrap();
    }
    let change = theirs.commit("K-JS", 1_767_700_100).unwrap();
    ours.apply(vec![change]).unwrap();
    let conflicts = ours.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, format!("members/{KID}/name"));
    let mut values: Vec<&str> = conflicts[0].values.iter().map(|v| v.value_json.as_str()).collect();
    values.sort();
    assert_eq!(values, vec!["\"Budi S.\"", "\"Budi Santoso\""]);
    // Whichever wins, the member reads with a string name.
    let r = checked(&mut ours);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.household.member(KID).unwrap().name.starts_with("Budi S"));
    // Resolving to the Text value's string ends the conflict.
    ours.resolve(&format!("members/{KID}/name"), "\"Budi Santoso\"").unwrap();
    assert!(ours.conflicts().is_empty());
    assert_eq!(ours.read().unwrap().member(KID).unwrap().name, "Budi Santoso");
}

/// Issue 10: `members/<id>/kia_book` (boolean, absent = not recorded) and
/// `measurements/blood_glucose_kind` (open enum, absent = sewaktu) read tolerantly.
#[test]
fn kia_book_and_glucose_kind_read_tolerantly() {
    // Absent (every document written before the keys existed): not recorded / sewaktu.
    let mut d = base();
    let r = checked(&mut d);
    assert!(r.problems.is_empty());
    assert!(r.household.members.iter().all(|m| m.kia_book.is_none()));
    let v1 = r.household.visits.iter().find(|v| v.id == V1).unwrap();
    assert!(v1.entries.iter().all(|e| e.measurements.blood_glucose_kind.is_none()));

    let mut d = base();
    put(&mut d, &format!("members/{KID}"), "kia_book", true);
    put(&mut d, &format!("{}/measurements", entry_path(V1, MUM)), "blood_glucose_mg_dl", 150.0);
    put(&mut d, &format!("{}/measurements", entry_path(V1, MUM)), "blood_glucose_kind", "puasa");
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.household.member(KID).unwrap().kia_book, Some(true));
    let e =
        r.household.visits.iter().find(|v| v.id == V1).unwrap().entries.iter().find(|e| e.member_id == MUM).unwrap();
    assert_eq!(e.measurements.blood_glucose_kind, Some(GlucoseKind::Puasa));

    // A wrong type is invalid (the member is left out); an unknown kind is newer.
    let mut d = base();
    put(&mut d, &format!("members/{KID}"), "kia_book", "ya");
    let r = checked(&mut d);
    assert_eq!(paths(&r), vec![(format!("members/{KID}/kia_book").as_str(), ProblemKind::Invalid)]);
    let mut d = base();
    put(&mut d, &format!("{}/measurements", entry_path(V2, KID)), "blood_glucose_kind", "dua_jam_pp");
    let r = checked(&mut d);
    let p = format!("{}/measurements/blood_glucose_kind", entry_path(V2, KID));
    assert_eq!(paths(&r), vec![(p.as_str(), ProblemKind::Newer)]);
}

/// The vitamin A capsule (issue 10): written with `vitamin_a: true` so older readers
/// see the dose, read back; a document holding only the old boolean reads as before;
/// a capsule only (no boolean, e.g. a hand-written document) still counts as vitamin
/// A; an unknown capsule value is a newer version's (entry left out as `newer`); a
/// wrong type is invalid.
#[test]
fn vitamin_a_capsule_is_read_tolerantly() {
    let mut d = HouseholdDoc::create(ID, "P-001", &ActorId::from([7u8; 16])).unwrap();
    let kid = NewMember {
        nik: None,
        mother_nik: None,
        name: "Budi".into(),
        birth_date: date!(2025 - 06 - 01),
        sex: Sex::Male,
        relation: Relation::Anak,
        bpjs_number: None,
        kia_book: None,
    };
    d.add_member(KID, &kid).unwrap();
    let services = Services { vitamin_a_capsule: Some(VitaminACapsule::Biru), ..Default::default() };
    d.add_visit(&Visit {
        id: V1,
        date: date!(2026 - 02 - 10),
        kind: VisitKind::HariBuka,
        kader_id: "K".into(),
        posyandu_id: "P-001".into(),
        entries: vec![VisitEntry { member_id: KID, services, ..Default::default() }],
        deleted: false,
    })
    .unwrap();
    d.commit("K", 1).unwrap();
    let sp = format!("{}/services", entry_path(V1, KID));
    {
        let am = d.automerge();
        let s = obj(am, &sp);
        assert_eq!(am.get(&s, "vitamin_a").unwrap().map(|(v, _)| v.as_bool()), Some(Some(true)));
        assert_eq!(
            am.get(&s, "vitamin_a_capsule").unwrap().map(|(v, _)| v.into_string().ok()),
            Some(Some("biru".into()))
        );
    }
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let s = &r.household.visits[0].entries[0].services;
    assert_eq!((s.vitamin_a, s.vitamin_a_capsule), (true, Some(VitaminACapsule::Biru)));

    // Only the capsule, no boolean: still a vitamin A dose.
    {
        let am = d.automerge();
        let s = obj(am, &sp);
        am.delete(&s, "vitamin_a").unwrap();
    }
    let r = checked(&mut d);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.household.visits[0].entries[0].services.vitamin_a);

    // Only the old boolean (documents before the capsule): read as before.
    let mut old = base();
    put(&mut old, &format!("{}/services", entry_path(V2, KID)), "vitamin_a", true);
    let r = checked(&mut old);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let s = &r.household.visits[1].entries[0].services;
    assert_eq!((s.vitamin_a, s.vitamin_a_capsule), (true, None));

    // A capsule this version does not know: the entry is a newer version's.
    put(&mut old, &format!("{}/services", entry_path(V2, KID)), "vitamin_a_capsule", "hijau");
    let r = checked(&mut old);
    let p = one_problem(&r);
    assert_eq!(p.path, format!("{}/services/vitamin_a_capsule", entry_path(V2, KID)));
    assert_eq!(p.kind, ProblemKind::Newer);
    assert!(r.household.visits[1].entries.is_empty());
    put(&mut old, &format!("{}/services", entry_path(V2, KID)), "vitamin_a_capsule", 2);
    assert_eq!(one_problem(&checked(&mut old)).kind, ProblemKind::Invalid);
}
