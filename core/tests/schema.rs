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

const HH: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4a01);
const MOTHER: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4b01);
const FATHER: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4b02);
const BABY: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4b03);
const VISIT_1: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4c01);
const VISIT_2: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4c02);
const VISIT_3: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4c03);
const PREGNANCY: Uuid = Uuid::from_u128(0x5f0c_1a2b_3c4d_4e5f_8a9b_0c1d2e3f4d01);

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
