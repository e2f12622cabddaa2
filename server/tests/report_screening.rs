//! The monthly report's adult screening, Buku KIA (K of SKDN) and NIK warnings,
//! computed from households built in memory (issue 10: wrong answers 4 and 7, fasting
//! glucose, adult IMT and waist). Definitions: `server/src/puskesmas/report.rs` and
//! `docs/puskesmas-api.md`.

mod common;

use posyandu_records::model::*;
use posyandu_server::puskesmas::report::{MonthlyReport, ReportBuilder};
use posyandu_server::puskesmas::Loaded;
use time::macros::date;
use time::Date;
use uuid::Uuid;

fn member(n: u128, name: &str, birth: Date, sex: Sex) -> Member {
    Member { relation: Relation::Lainnya, ..common::member(Uuid::from_u128(n), name, birth, sex) }
}

fn household(members: Vec<Member>, entries: Vec<(Date, VisitEntry)>) -> Household {
    let visits = common::visits_of(entries, VisitKind::HariBuka);
    common::household(Uuid::from_u128(1), "3275010001", members, visits, Vec::new())
}

fn entry(member: u128, m: Measurements) -> VisitEntry {
    VisitEntry { member_id: Uuid::from_u128(member), measurements: m, ..Default::default() }
}

fn report(hh: Household) -> MonthlyReport {
    let mut b = ReportBuilder::new("P-001", "2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    b.add(&Loaded::of(1, hh));
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

/// K/S is K over S; a note says how many of S are unrecorded; no note when all are recorded.
#[test]
fn k_note_only_when_some_are_unrecorded() {
    let r = report(household(vec![member(2, "Anak", date!(2025 - 01 - 15), Sex::Male)], Vec::new()));
    assert_eq!((r.skdn.s, r.skdn.k, r.skdn.k_unrecorded, r.skdn.k_s_pct), (1, 0, 1, Some(0.0)));
    assert_eq!(
        r.skdn.k_note.as_deref(),
        Some("1 dari 1 balita belum dicatat kepemilikan Buku KIA/KMS-nya; mereka tidak dihitung K, jadi K/S bisa lebih rendah dari kenyataan.")
    );
    let mut a = member(2, "Anak", date!(2025 - 01 - 15), Sex::Male);
    a.kia_book = Some(true);
    let r = report(household(vec![a], Vec::new()));
    assert_eq!((r.skdn.k, r.skdn.k_unrecorded, r.skdn.k_s_pct, r.skdn.k_note.clone()), (1, 0, Some(100.0), None));
    let csv = String::from_utf8(posyandu_server::puskesmas::report::to_csv(&r).unwrap()).unwrap();
    assert!(csv.contains("skdn,K,,1\n") && csv.contains("skdn,K_belum_dicatat,,0\n"), "{csv}");
}

/// Hypertension, IMT and waist by the rulebook, from 15 years; the last reading of the
/// month of each measure; a 14-year-old is not screened.
#[test]
fn adult_imt_waist_and_blood_pressure_from_15_years() {
    let nov = |d: u8| Date::from_calendar_date(2026, time::Month::November, d).unwrap();
    let teen = member(2, "Remaja", date!(2011 - 11 - 05), Sex::Female); // 15 on 2026-11-05
    let kid = member(3, "Anak", date!(2012 - 01 - 01), Sex::Male); // 14
    let man = member(4, "Pak Ali", date!(1960 - 06 - 01), Sex::Male); // 66
    let over = Measurements {
        weight_kg: Some(70.0),
        length_height_cm: Some(160.0), // IMT 27.3 obesitas
        waist_cm: Some(80.5),          // > 80 for a woman
        bp_systolic_mmhg: Some(139),
        bp_diastolic_mmhg: Some(89),
        ..Default::default()
    };
    let hh = household(
        vec![teen, kid, man],
        vec![
            (nov(10), entry(2, over.clone())),
            (nov(10), entry(3, over.clone())),
            // First reading 150/95, last 130/80: the last of the month counts.
            (
                nov(3),
                entry(
                    4,
                    Measurements { bp_systolic_mmhg: Some(150), bp_diastolic_mmhg: Some(95), ..Default::default() },
                ),
            ),
            (
                nov(20),
                entry(
                    4,
                    Measurements {
                        bp_systolic_mmhg: Some(130),
                        bp_diastolic_mmhg: Some(80),
                        weight_kg: Some(64.2),
                        length_height_cm: Some(160.0), // 25.1 gemuk
                        waist_cm: Some(90.0),          // not > 90
                        ..Default::default()
                    },
                ),
            ),
        ],
    );
    let r = report(hh);
    let a = &r.screening.adult_15_59;
    assert_eq!(
        (a.visited, a.bp_measured, a.hypertension),
        (1, 1, 0),
        "139/89 is not hypertension; the 14-year-old is out"
    );
    assert_eq!((a.imt_measured, a.imt_kurus, a.imt_gemuk, a.imt_obesitas), (1, 0, 0, 1));
    assert_eq!((a.waist_measured, a.central_obesity), (1, 1));
    let e = &r.screening.elderly_60_plus;
    assert_eq!((e.visited, e.bp_measured, e.hypertension), (1, 1, 0), "last reading 130/80");
    assert_eq!((e.imt_measured, e.imt_gemuk, e.waist_measured, e.central_obesity), (1, 1, 1, 0));
    assert!(r.screening.hypertension_list.is_empty());
    assert_eq!(r.thresholds.imt, "IMT kurus < 18,5; normal 18,5–25; gemuk > 25–27; obesitas > 27 (usia ≥ 15 tahun)");
}

/// NIK tidak cocok: listed for the Puskesmas with the rulebook's message.
#[test]
fn nik_mismatch_is_listed() {
    let mut a = member(2, "Budi", date!(1990 - 05 - 13), Sex::Male);
    a.nik = Some("3275011205900001".into());
    let mut b = member(3, "Cici", date!(1990 - 05 - 12), Sex::Female);
    b.nik = Some("3275015205900002".into());
    let r = report(household(vec![a, b], Vec::new()));
    assert_eq!(r.nik_warnings.len(), 1);
    assert_eq!(r.nik_warnings[0].name, "Budi");
    assert!(
        r.nik_warnings[0].detail.starts_with("NIK tidak cocok: tanggal lahir di NIK (12-05-90)"),
        "{:?}",
        r.nik_warnings
    );
    let html = posyandu_server::puskesmas::html::report_page(&r, None);
    assert!(html.contains("id=\"nik-tidak-cocok\">NIK tidak cocok: 1<") && html.contains("Budi"));
    assert!(html.contains("Dewasa 15–59 th"));
}

/// The export and the FHIR bundle carry the glucose kind, the screening, Buku KIA and
/// the NIK warnings.
#[test]
fn export_and_fhir_carry_glucose_kind_screening_kia_and_nik_warnings() {
    use posyandu_server::puskesmas::export::{Format, Writer, CSV_HEADER};
    let mut a = member(2, "Budi", date!(1990 - 05 - 13), Sex::Male);
    a.nik = Some("3275011205900001".into());
    a.kia_book = Some(false);
    let fasting = Measurements {
        blood_glucose_mg_dl: Some(150.0),
        blood_glucose_kind: Some(GlucoseKind::Puasa),
        weight_kg: Some(64.2),
        length_height_cm: Some(160.0),
        ..Default::default()
    };
    let hh = household(vec![a], vec![(date!(2026 - 11 - 10), entry(2, fasting))]);
    let l = Loaded::of(1, hh);
    let mut w = Writer::new(Format::Csv);
    w.household(&l);
    let csv = String::from_utf8(w.finish().unwrap()).unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, CSV_HEADER);
    let row = rd.records().next().unwrap().unwrap();
    let col = |name: &str| row.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
    assert_eq!(col("blood_glucose_kind"), "puasa");
    assert_eq!(col("high_glucose"), "true");
    assert_eq!((col("imt"), col("imt_category")), ("25.1".to_string(), "gemuk".to_string()));
    assert_eq!(col("hypertension"), "");
    assert_eq!(col("kia_book"), "false");
    assert!(col("nik_warnings").starts_with("NIK tidak cocok: tanggal lahir di NIK (12-05-90)"));

    let mut w = Writer::new(Format::Ndjson);
    w.household(&l);
    let nd = String::from_utf8(w.finish().unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = nd.lines().map(|x| serde_json::from_str(x).unwrap()).collect();
    let m = lines.iter().find(|v| v["type"] == "member").unwrap();
    assert_eq!(m["kia_book"], false);
    assert_eq!(m["nik_warnings"][0]["code"], "nik_tanggal_lahir");
    let v = lines.iter().find(|v| v["type"] == "visit").unwrap();
    let sc = &v["entries"][0]["screening"];
    assert_eq!((sc["glucose_kind"].as_str(), sc["high_glucose"].as_bool()), (Some("puasa"), Some(true)));
    assert_eq!(v["entries"][0]["measurements"]["blood_glucose_kind"], "puasa");

    let ctx = posyandu_server::puskesmas::fhir::ExportContext {
        config: posyandu_server::storage::SatusehatConfig {
            posyandu_id: "P-001".into(),
            posyandu_name: "Posyandu Melati".into(),
            org_id: "org-posyandu".into(),
            puskesmas_org_id: "100000001".into(),
            location_id: "loc-posyandu".into(),
            bidan_ihs: "N10000001".into(),
            bidan_name: "Bidan".into(),
            utc_offset: "+07:00".into(),
            kfa: Default::default(),
        },
        ihs: Default::default(),
        month: None,
        master: true,
    };
    let (bundle, _) = posyandu_server::puskesmas::fhir::bundle_bytes(&ctx, std::slice::from_ref(&l), None).unwrap();
    let text = String::from_utf8(bundle).unwrap();
    assert!(text.contains("\"1556-0\"") && !text.contains("\"2339-0\""), "fasting glucose code");
}
