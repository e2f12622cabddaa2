//! The monthly report's adult screening, Buku KIA (K of SKDN) and NIK warnings,
//! computed from households built in memory (issue 10: wrong answers 4 and 7, fasting
//! glucose, adult IMT and waist). Definitions: `server/src/puskesmas/report.rs` and
//! `docs/puskesmas-api.md`.

use posyandu_core::model::*;
use posyandu_server::puskesmas::report::{MonthlyReport, ReportBuilder};
use posyandu_server::puskesmas::Loaded;
use time::macros::date;
use time::Date;
use uuid::Uuid;

fn member(n: u128, name: &str, birth: Date, sex: Sex) -> Member {
    Member {
        id: Uuid::from_u128(n),
        nik: None,
        mother_nik: None,
        name: name.into(),
        birth_date: birth,
        sex,
        relation: Relation::Lainnya,
        bpjs_number: None,
        kia_book: None,
        deleted: false,
    }
}

fn household(members: Vec<Member>, entries: Vec<(Date, VisitEntry)>) -> Household {
    let visits = entries
        .into_iter()
        .enumerate()
        .map(|(i, (date, e))| Visit {
            id: Uuid::from_u128(10_000 + i as u128),
            date,
            kind: VisitKind::HariBuka,
            kader_id: "K-1".into(),
            posyandu_id: "P-001".into(),
            entries: vec![e],
            deleted: false,
        })
        .collect();
    Household {
        id: Uuid::from_u128(1),
        posyandu_id: "P-001".into(),
        kk_number: None,
        kk_history: Vec::new(),
        head_member_id: None,
        address: Address {
            rt: "001".into(),
            rw: "002".into(),
            kode_wilayah: "3275010001".into(),
            ..Default::default()
        },
        gps: None,
        spm: SpmAttributes::default(),
        members,
        visits,
        pregnancies: Vec::new(),
    }
}

fn entry(member: u128, m: Measurements) -> VisitEntry {
    VisitEntry { member_id: Uuid::from_u128(member), measurements: m, ..Default::default() }
}

fn report(hh: Household) -> MonthlyReport {
    let mut b = ReportBuilder::new("P-001", "2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    b.add(&Loaded { updated_seq: 1, household: hh, conflicts: Vec::new(), problems: Vec::new() });
    b.finish()
}

/// A fasting glucose of 150 mg/dL is high (≥ 126); the report only knew random ≥ 200.
#[test]
fn fasting_glucose_150_is_flagged() {
    let hh = household(
        vec![member(2, "Ani", date!(1980 - 01 - 01), Sex::Female), member(3, "Budi", date!(1960 - 01 - 01), Sex::Male)],
        vec![
            (
                date!(2026 - 11 - 10),
                entry(
                    2,
                    Measurements {
                        blood_glucose_mg_dl: Some(150.0),
                        blood_glucose_kind: Some(GlucoseKind::Puasa),
                        ..Default::default()
                    },
                ),
            ),
            // Random 150: not high.
            (date!(2026 - 11 - 10), entry(3, Measurements { blood_glucose_mg_dl: Some(150.0), ..Default::default() })),
        ],
    );
    let r = report(hh);
    let adults = serde_json::to_value(&r.screening).unwrap();
    assert_eq!(adults["adult_15_59"]["glucose_measured"], 1, "{adults}");
    assert_eq!(adults["adult_15_59"]["high_glucose"], 1, "fasting 150 ≥ 126: {adults}");
    assert_eq!(adults["elderly_60_plus"]["glucose_measured"], 1);
    assert_eq!(adults["elderly_60_plus"]["high_glucose"], 0, "random 150 < 200");
    let list: Vec<&str> =
        adults["high_glucose_list"].as_array().unwrap().iter().map(|p| p["detail"].as_str().unwrap()).collect();
    assert_eq!(list, ["2026-11-10: puasa 150 mg/dL"]);
}

/// K of SKDN counts the children of S who own a Buku KIA/KMS (wrong answer 4: K was S).
#[test]
fn k_counts_recorded_buku_kia_only() {
    let mut a = member(2, "Anak A", date!(2025 - 01 - 15), Sex::Male);
    a.kia_book = Some(true);
    let mut b = member(3, "Anak B", date!(2024 - 06 - 15), Sex::Female);
    b.kia_book = Some(false);
    let c = member(4, "Anak C", date!(2023 - 06 - 15), Sex::Female); // not recorded
    let mut d = member(5, "Anak D", date!(2023 - 07 - 15), Sex::Male);
    d.kia_book = Some(true);
    let r = report(household(vec![a, b, c, d], Vec::new()));
    let s = serde_json::to_value(&r.skdn).unwrap();
    assert_eq!(s["s"], 4, "{s}");
    assert_eq!(s["k"], 2, "only recorded owners: {s}");
    assert_eq!(s["k_unrecorded"], 1, "{s}");
    assert_eq!(s["k_s_pct"], 50.0, "K over S, unrecorded counted as not owning: {s}");
}
