//! The monthly report's ILP checklist coverage (issue 12: program indicators such as MP-ASI
//! 6–23 months) and counselling per topic, from households built in memory and
//! hand-counted. Definitions: `server/src/puskesmas/report.rs`, docs/rules.md §25.

mod common;

use posyandu_records::model::*;
use posyandu_server::puskesmas::report::{MonthlyReport, ReportBuilder};
use posyandu_server::puskesmas::Loaded;
use time::macros::date;
use time::Date;
use uuid::Uuid;

fn member(n: u128, birth: Date, sex: Sex) -> Member {
    common::member(Uuid::from_u128(n), &format!("M{n}"), birth, sex)
}

fn answered(member: u128, answers: &[(&str, bool)], topics: &[&str]) -> VisitEntry {
    VisitEntry {
        member_id: Uuid::from_u128(member),
        checklist: answers.iter().map(|(c, y)| (c.to_string(), *y)).collect(),
        counselling: topics.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

fn household(members: Vec<Member>, visits: Vec<(Date, VisitEntry)>) -> Household {
    let visits = common::visits_of(visits, VisitKind::KunjunganRumah);
    common::household(Uuid::from_u128(1), "3275010001", members, visits, Vec::new())
}

fn report(hh: Household) -> MonthlyReport {
    let mut b = ReportBuilder::new("P-001", "2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    b.add(&Loaded::of(1, hh));
    b.finish()
}

#[test]
fn mp_asi_coverage_counts_children_asked_once_by_their_last_answer() {
    // Children: 2 (8 months, asked twice: no then yes → yes), 3 (12 months, no),
    // 4 (4 months on the visit: MP-ASI does not apply → not counted, e.g. written by a
    // newer app), 5 (10 months, asked in October only → not in November).
    let hh = household(
        vec![
            member(2, date!(2026 - 03 - 01), Sex::Female),
            member(3, date!(2025 - 11 - 02), Sex::Male),
            member(4, date!(2026 - 07 - 01), Sex::Male),
            member(5, date!(2026 - 01 - 20), Sex::Female),
        ],
        vec![
            (date!(2026 - 11 - 03), answered(2, &[("mp_asi", false)], &["mp_asi"])),
            (date!(2026 - 11 - 20), answered(2, &[("mp_asi", true)], &[])),
            (date!(2026 - 11 - 10), answered(3, &[("mp_asi", false), ("tanda_bahaya_bayi", false)], &["MP-ASI"])),
            (date!(2026 - 11 - 10), answered(4, &[("mp_asi", true)], &["asi_eksklusif"])),
            (date!(2026 - 10 - 25), answered(5, &[("mp_asi", true)], &["mp_asi"])),
        ],
    );
    let r = report(hh);
    let mp = r.checklist.iter().find(|c| c.code == "mp_asi").expect("indicator listed");
    assert_eq!((mp.asked, mp.yes), (2, 1), "{mp:?}");
    assert_eq!(mp.pct, Some(50.0));
    assert_eq!(mp.stage, "bayi_balita");
    // Non-indicator items are not rows; every indicator is.
    assert!(r.checklist.iter().all(|c| c.code != "tanda_bahaya_bayi"));
    let ttd = r.checklist.iter().find(|c| c.code == "ttd_diminum").unwrap();
    assert_eq!((ttd.asked, ttd.yes, ttd.pct), (0, 0, None));
    // Counselling: coded topics of November entries; the free text "MP-ASI" is not counted.
    let topic = |code: &str| r.counselling.iter().find(|t| t.code == code).unwrap().entries;
    assert_eq!(topic("mp_asi"), 1);
    assert_eq!(topic("asi_eksklusif"), 1);
}

#[test]
fn the_report_csv_and_html_page_carry_the_checklist_rows() {
    let hh = household(
        vec![member(2, date!(2026 - 03 - 01), Sex::Female)],
        vec![(date!(2026 - 11 - 03), answered(2, &[("mp_asi", true)], &["mp_asi"]))],
    );
    let r = report(hh);
    let csv = String::from_utf8(posyandu_server::puskesmas::report::to_csv(&r).unwrap()).unwrap();
    assert!(csv.contains("daftar_periksa,mp_asi_ditanya,bayi_balita,1"), "{csv}");
    assert!(csv.contains("daftar_periksa,mp_asi_ya,bayi_balita,1"), "{csv}");
    assert!(csv.contains("penyuluhan,mp_asi,,1"), "{csv}");
    let html = posyandu_server::puskesmas::html::report_page(&r, None);
    assert!(html.contains("Anak diberi MP-ASI sesuai umur dan ASI tetap diteruskan</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">100.0</td>"), "{html}");
    assert!(html.contains("<td>Makanan pendamping ASI (MP-ASI)</td><td class=\"n\">1</td>"), "{html}");
}
