//! Issue 12: referrals with a lifecycle in the monthly report (raised, received,
//! handled, closed; status at the month's end; by reason) and in the export (NDJSON
//! `referral` lines, `table=referrals` CSV), hand-counted. Steps count in the month of
//! their day in WIB (UTC+7): a step at 20:00 UTC on 31 October is on 1 November.

mod common;

use std::collections::BTreeMap;

use posyandu_records::model::*;
use posyandu_server::puskesmas::export::{Format, Writer};
use posyandu_server::puskesmas::report::{to_csv, MonthlyReport, ReportBuilder};
use posyandu_server::puskesmas::Loaded;
use serde_json::Value;
use time::macros::date;
use time::Date;
use uuid::Uuid;

/// Unix seconds of `hour`:00 UTC on `d` (hour 5 = noon WIB, the same day).
fn at(d: Date, hour: u8) -> i64 {
    d.with_hms(hour, 0, 0).unwrap().assume_utc().unix_timestamp()
}

fn step(n: u128, status: ReferralStatus, by: &str, t: i64) -> ReferralStep {
    ReferralStep {
        id: Uuid::from_u128(n),
        status,
        role: status.role(),
        by: by.into(),
        at: t,
        action: None,
        note: None,
        follow_up_by: None,
    }
}

fn referral(
    n: u128,
    member: Uuid,
    date: Date,
    reasons: &[(&str, ReasonSource)],
    steps: Vec<ReferralStep>,
) -> ReferralRecord {
    ReferralRecord {
        id: Uuid::from_u128(n),
        member_id: member,
        date,
        reasons: reasons.iter().map(|(c, s)| (c.to_string(), *s)).collect::<BTreeMap<_, _>>(),
        note: None,
        visit_id: None,
        steps,
    }
}

/// Seven referrals around November 2026 (comments: what each adds to November).
fn household() -> Household {
    let a = common::member(Uuid::from_u128(1), "Anak A", date!(2025 - 01 - 10), Sex::Female);
    let b = common::member(Uuid::from_u128(2), "Anak B", date!(2024 - 06 - 01), Sex::Male);
    let c = Member {
        relation: Relation::Istri,
        ..common::member(Uuid::from_u128(3), "Ibu C", date!(1980 - 02 - 02), Sex::Female)
    };
    let d = Member { deleted: true, ..common::member(Uuid::from_u128(4), "Hapus D", date!(2024 - 01 - 01), Sex::Male) };
    use ReasonSource::*;
    use ReferralStatus::*;
    let mut r2_handled = step(22, Ditangani, "B-1", at(date!(2026 - 11 - 10), 5));
    r2_handled.action = Some("konseling_gizi".into());
    r2_handled.note = Some("catatan rahasia bidan".into());
    r2_handled.follow_up_by = Some(date!(2026 - 11 - 24));
    let mut r2 = referral(
        200,
        b.id,
        date!(2026 - 11 - 03),
        &[("BGM", Rule), ("T", Rule)],
        vec![
            step(20, Dirujuk, "K-1", at(date!(2026 - 11 - 03), 5)),
            step(21, Diterima, "B-1", at(date!(2026 - 11 - 04), 5)),
            r2_handled,
            step(23, Selesai, "B-1", at(date!(2026 - 11 - 20), 5)),
        ],
    );
    r2.note = Some("catatan rahasia kader".into());
    let referrals = vec![
        // R1 (A, 2T): raised in October; received on 1 November WIB (20:00 UTC on
        // 31 October), handled on 5 November: received 1, handled 1.
        referral(
            100,
            a.id,
            date!(2026 - 10 - 20),
            &[("2T", Rule)],
            vec![
                step(10, Dirujuk, "K-1", at(date!(2026 - 10 - 20), 5)),
                step(11, Diterima, "B-1", at(date!(2026 - 10 - 31), 20)),
                step(12, Ditangani, "B-1", at(date!(2026 - 11 - 05), 5)),
            ],
        ),
        // R2 (B, BGM + T): raised, received, handled and closed (selesai) in November.
        r2,
        // R3 (C, hypertension): raised in November, received in December: raised 1,
        // status dirujuk at the month's end.
        referral(
            300,
            c.id,
            date!(2026 - 11 - 15),
            &[("HIPERTENSI", Rule)],
            vec![
                step(30, Dirujuk, "K-2", at(date!(2026 - 11 - 15), 5)),
                step(31, Diterima, "B-1", at(date!(2026 - 12 - 02), 5)),
            ],
        ),
        // R4 (A, danger sign + other + a code of a newer app version): raised only.
        referral(
            400,
            a.id,
            date!(2026 - 11 - 28),
            &[("TANDA_BAHAYA", Kader), ("LAINNYA", Kader), ("ZZ_BARU", Kader)],
            vec![step(40, Dirujuk, "K-1", at(date!(2026 - 11 - 28), 5))],
        ),
        // R5 (C): closed (rujuk balik) at 23:59:59 WIB on 31 October: nothing in November.
        referral(
            500,
            c.id,
            date!(2026 - 09 - 01),
            &[("HIPERTENSI", Rule)],
            vec![
                step(50, Dirujuk, "K-2", at(date!(2026 - 09 - 01), 5)),
                step(51, Diterima, "B-1", at(date!(2026 - 09 - 02), 5)),
                step(52, RujukBalik, "B-1", at(date!(2026 - 10 - 31), 16) + 3599),
            ],
        ),
        // R6: a deleted member's referral is not counted.
        referral(
            600,
            d.id,
            date!(2026 - 11 - 10),
            &[("2T", Rule)],
            vec![step(60, Dirujuk, "K-1", at(date!(2026 - 11 - 10), 5))],
        ),
        // R7 (B, T): two bidan closed it offline (selesai on the 13th, rujuk balik on
        // the 14th): closed once; the later closing step is its status.
        referral(
            700,
            b.id,
            date!(2026 - 11 - 12),
            &[("T", Rule)],
            vec![
                step(70, Dirujuk, "K-1", at(date!(2026 - 11 - 12), 5)),
                step(71, Selesai, "B-2", at(date!(2026 - 11 - 13), 5)),
                step(72, RujukBalik, "B-1", at(date!(2026 - 11 - 14), 5)),
            ],
        ),
    ];
    Household { referrals, ..common::household(Uuid::from_u128(99), "3201010001", vec![a, b, c, d], vec![], vec![]) }
}

fn report(month: &str, first: Date, last: Date) -> MonthlyReport {
    let mut b = ReportBuilder::new("P-001", month, first, last);
    b.add(&Loaded::of(1, household()));
    b.finish()
}

fn counts(v: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    (n("raised"), n("received"), n("handled"), n("closed"))
}

#[test]
fn november_counts_by_step_status_and_reason() {
    let r = report("2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    let v = serde_json::to_value(&r).unwrap();
    let rl = &v["referral_lifecycle"];
    // raised R2 R3 R4 R7; received R1 R2; handled R1 R2; closed R2 R7.
    assert_eq!(counts(rl), (4, 2, 2, 2), "{rl:#}");
    let status: BTreeMap<String, u64> =
        rl["status_at_month_end"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    let expected: BTreeMap<String, u64> =
        [("dirujuk", 2), ("diterima", 0), ("ditangani", 0), ("rujuk_balik", 1), ("selesai", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(status, expected, "R3 R4 dirujuk, R2 selesai, R7 rujuk balik");
    let by: Vec<(String, (u64, u64, u64, u64))> = rl["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["code"].as_str().unwrap().to_string(), counts(x)))
        .collect();
    let want = [
        ("2T", (0, 1, 1, 0)),
        ("T", (2, 1, 1, 2)),
        ("BGM", (1, 1, 1, 1)),
        ("HIPERTENSI", (1, 0, 0, 0)),
        ("TANDA_BAHAYA", (1, 0, 0, 0)),
        ("LAINNYA", (1, 0, 0, 0)),
        ("ZZ_BARU", (1, 0, 0, 0)),
    ];
    assert_eq!(by, want.iter().map(|(c, n)| (c.to_string(), *n)).collect::<Vec<_>>());
    assert_eq!(rl["by_reason"][1]["label"], "Berat badan tidak naik (T)");
    assert_eq!(rl["by_reason"][6]["label"], "ZZ_BARU", "an unknown code is its own label");
    // The CSV carries the same numbers.
    let csv = String::from_utf8(to_csv(&r).unwrap()).unwrap();
    for line in [
        "rujukan_siklus,dirujuk,,4",
        "rujukan_siklus,diterima,,2",
        "rujukan_siklus,ditangani,,2",
        "rujukan_siklus,ditutup,,2",
        "rujukan_status_akhir_bulan,rujuk_balik,,1",
        "rujukan_alasan,dirujuk,T,2",
        "rujukan_alasan,ditutup,BGM,1",
    ] {
        assert!(csv.lines().any(|l| l == line), "{line} missing in\n{csv}");
    }
}

#[test]
fn october_sees_the_step_on_its_wib_day() {
    let r = report("2026-10", date!(2026 - 10 - 01), date!(2026 - 10 - 31));
    let v = serde_json::to_value(&r).unwrap();
    let rl = &v["referral_lifecycle"];
    // Raised R1; R1's diterima is on 1 November WIB; R5 closed on 31 October WIB.
    assert_eq!(counts(rl), (1, 0, 0, 1), "{rl:#}");
    assert_eq!(rl["status_at_month_end"]["dirujuk"], 1, "R1 not yet received on 31 October");
    // September: R5 raised and received.
    let r = report("2026-09", date!(2026 - 09 - 01), date!(2026 - 09 - 30));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(counts(&v["referral_lifecycle"]), (1, 1, 0, 0));
    assert_eq!(v["referral_lifecycle"]["status_at_month_end"]["diterima"], 1);
}

#[test]
fn export_lines_and_csv_rows_without_notes() {
    let l = Loaded::of(7, household());
    let mut w = Writer::new(Format::Ndjson);
    w.household(&l);
    let body = String::from_utf8(w.finish().unwrap()).unwrap();
    assert!(!body.contains("rahasia"), "notes stay out of the read model and the export");
    let lines: Vec<Value> =
        body.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|v| v["type"] == "referral").collect();
    assert_eq!(lines.len(), 6, "seven referrals, one of a deleted member");
    let r2 = lines.iter().find(|v| v["referral_id"] == Uuid::from_u128(200).to_string()).unwrap();
    assert_eq!(r2["status"], "selesai");
    assert_eq!(r2["closed"], true);
    assert_eq!(r2["member_id"], Uuid::from_u128(2).to_string());
    assert_eq!(r2["follow_up_by"], "2026-11-24");
    assert_eq!(r2["reasons"][0]["code"], "BGM");
    assert_eq!(r2["reasons"][0]["source"], "rule");
    let steps = r2["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!((steps[2]["status"].as_str(), steps[2]["by"].as_str()), (Some("ditangani"), Some("B-1")));
    assert_eq!((steps[2]["date"].as_str(), steps[2]["action"].as_str()), (Some("2026-11-10"), Some("konseling_gizi")));
    let r1 = lines.iter().find(|v| v["referral_id"] == Uuid::from_u128(100).to_string()).unwrap();
    assert_eq!(r1["steps"][1]["date"], "2026-11-01", "the WIB day of a step at 20:00 UTC");
    assert_eq!(r1["status"], "ditangani");

    let mut w = Writer::new(Format::CsvReferrals);
    w.household(&l);
    let csv = String::from_utf8(w.finish().unwrap()).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, posyandu_server::puskesmas::referrals::CSV_HEADER);
    let rows: Vec<BTreeMap<String, String>> =
        rows.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect()).collect();
    assert_eq!(rows.len(), 6);
    let r2 = rows.iter().find(|r| r["referral_id"] == Uuid::from_u128(200).to_string()).unwrap();
    for (k, v) in [
        ("reasons", "BGM;T"),
        ("status", "selesai"),
        ("raised_by", "K-1"),
        ("received_on", "2026-11-04"),
        ("received_by", "B-1"),
        ("handled_on", "2026-11-10"),
        ("action", "konseling_gizi"),
        ("closed_on", "2026-11-20"),
        ("closed_status", "selesai"),
        ("follow_up_by", "2026-11-24"),
        ("steps", "4"),
    ] {
        assert_eq!(r2[k], v, "{k}");
    }
    let r7 = rows.iter().find(|r| r["referral_id"] == Uuid::from_u128(700).to_string()).unwrap();
    assert_eq!(
        (r7["closed_on"].as_str(), r7["closed_by"].as_str(), r7["status"].as_str()),
        ("2026-11-13", "B-2", "rujuk_balik")
    );
    assert!(!csv.contains("rahasia"));
    // The parameter: CSV only.
    let table = Some("referrals".to_string());
    assert_eq!(Format::parse_with_table(Some(&"csv".to_string()), table.as_ref()).unwrap(), Format::CsvReferrals);
    assert!(Format::parse_with_table(None, table.as_ref()).is_err());
    assert!(Format::parse_with_table(Some(&"csv".to_string()), Some(&"x".to_string())).is_err());
}
