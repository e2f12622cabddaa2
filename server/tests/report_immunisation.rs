//! Issue 10, wrong answers 5 and 6, on the monthly report built from households (no
//! HTTP): vitamin A coverage only in February and August, split 6–11 months (blue),
//! 12–59 months (red) and ibu nifas; "children immunised" counts children under five
//! given a dose of the child schedule, not women given Td.

mod common;

use posyandu_records::model::*;
use posyandu_server::puskesmas::report::{to_csv, MonthlyReport, ReportBuilder};
use posyandu_server::puskesmas::Loaded;
use serde_json::{json, Value};
use time::macros::date;
use time::Date;
use uuid::Uuid;

fn member(name: &str, birth: Date, sex: Sex) -> Member {
    common::member(Uuid::new_v4(), name, birth, sex)
}

fn entry(m: &Member, services: Services) -> VisitEntry {
    VisitEntry { member_id: m.id, services, ..Default::default() }
}

fn visit(date: Date, entries: Vec<VisitEntry>) -> Visit {
    common::visit(Uuid::new_v4(), date, VisitKind::HariBuka, entries)
}

fn vit_a(c: Option<VitaminACapsule>) -> Services {
    Services { vitamin_a: true, vitamin_a_capsule: c, ..Default::default() }
}

fn antigens(codes: &[&str]) -> Services {
    Services { immunisations: codes.iter().map(|c| c.to_string()).collect(), ..Default::default() }
}

struct Family {
    hh: Household,
}

/// One household holding `members`, `visits` and `pregnancies`.
fn family(visits: Vec<Visit>, members: &[Member], pregnancies: Vec<Pregnancy>) -> Family {
    Family { hh: common::household(Uuid::new_v4(), "3201010001", members.to_vec(), visits, pregnancies) }
}

fn build(f: &Family, month: &str, first: Date, last: Date) -> MonthlyReport {
    let mut b = ReportBuilder::new("P-001", month, first, last);
    b.add(&Loaded::of(1, f.hh.clone()));
    b.finish()
}

fn report(f: &Family, month: &str, first: Date, last: Date) -> Value {
    serde_json::to_value(build(f, month, first, last)).unwrap()
}

#[test]
fn vitamin_a_only_in_february_and_august_split_by_capsule_and_nifas() {
    let baby = member("Bayi", date!(2025 - 08 - 10), Sex::Female); // 6 months on 2026-02-28
    let toddler = member("Balita", date!(2023 - 01 - 05), Sex::Male); // 37 months
    let toddler2 = member("Balita Dua", date!(2024 - 02 - 27), Sex::Male); // 24 months, no capsule
    let older = member("Kakak", date!(2020 - 12 - 01), Sex::Male); // 62 months
    let mut mother = member("Ibu", date!(1995 - 05 - 05), Sex::Female);
    mother.relation = Relation::Istri;
    let newborn = member("Adik", date!(2026 - 02 - 03), Sex::Female);
    let preg = Pregnancy {
        id: Uuid::new_v4(),
        member_id: mother.id,
        lmp: date!(2025 - 04 - 28),
        due_date: date!(2026 - 02 - 02),
        gravida: 2,
        muac_cm: None,
        kek: false,
        ended: Some(date!(2026 - 02 - 03)),
        outcome: None,
        deleted: false,
    };
    let feb = visit(
        date!(2026 - 02 - 12),
        vec![
            entry(&baby, vit_a(Some(VitaminACapsule::Biru))),
            entry(&toddler, vit_a(Some(VitaminACapsule::Merah))),
            // An old document: the boolean only, no capsule recorded.
            entry(&older, vit_a(None)),
            entry(&mother, vit_a(Some(VitaminACapsule::Merah))),
        ],
    );
    // May: the toddler gets vitamin A again (e.g. sick child): not a round month.
    let may = visit(date!(2026 - 05 - 12), vec![entry(&toddler, vit_a(Some(VitaminACapsule::Merah)))]);
    let f = family(vec![feb, may], &[baby, toddler, toddler2, older, mother, newborn], vec![preg]);

    let v = report(&f, "2026-02", date!(2026 - 02 - 01), date!(2026 - 02 - 28));
    let va = &v["immunisation"]["vitamin_a"];
    assert_eq!(va["round_month"], true, "{va}");
    assert_eq!(va["not_applicable_reason"], Value::Null);
    // 6–11 months at the end of February: the baby (6 months); given the blue capsule.
    assert_eq!(va["infants_6_11"], json!({"capsule": "biru", "eligible": 1, "given": 1, "pct": 100.0}));
    // 12–59 months: the toddler (given) and toddler 2 (not); the 62-month child is out.
    assert_eq!(va["children_12_59"], json!({"capsule": "merah", "eligible": 2, "given": 1, "pct": 50.0}));
    // Ibu nifas in February (delivered 2026-02-03): given.
    assert_eq!(va["ibu_nifas"], json!({"capsule": "merah", "eligible": 1, "given": 1, "pct": 100.0}));

    let v = report(&f, "2026-05", date!(2026 - 05 - 01), date!(2026 - 05 - 31));
    let va = &v["immunisation"]["vitamin_a"];
    assert_eq!(va["round_month"], false);
    assert_eq!(va["not_applicable_reason"], "bukan bulan vitamin A (Februari dan Agustus)");
    assert_eq!(va["infants_6_11"], Value::Null);
    assert_eq!(va["children_12_59"], Value::Null);
    // No mother in nifas in May.
    assert_eq!(va["ibu_nifas"], json!({"capsule": "merah", "eligible": 0, "given": 0, "pct": null}));

    // CSV and HTML say the same.
    let feb = build(&f, "2026-02", date!(2026 - 02 - 01), date!(2026 - 02 - 28));
    let csv = String::from_utf8(to_csv(&feb).unwrap()).unwrap();
    for row in ["vitamin_a,diberi,6-11 bln,1\n", "vitamin_a,sasaran,12-59 bln,2\n", "vitamin_a,persen,ibu nifas,100\n"]
    {
        assert!(csv.contains(row), "{row} in {csv}");
    }
    let html = posyandu_server::puskesmas::html::report_page(&feb, None);
    assert!(html.contains("Bayi 6–11 bulan (kapsul biru): 1 dari 1 (100"), "{html}");
    let may = build(&f, "2026-05", date!(2026 - 05 - 01), date!(2026 - 05 - 31));
    let csv = String::from_utf8(to_csv(&may).unwrap()).unwrap();
    assert!(csv.contains("vitamin_a,tidak_berlaku,6-11 bln,bukan bulan vitamin A (Februari dan Agustus)\n"), "{csv}");
    let html = posyandu_server::puskesmas::html::report_page(&may, None);
    assert!(html.contains("Balita: tidak berlaku (bukan bulan vitamin A (Februari dan Agustus))"), "{html}");
}

#[test]
fn children_immunised_counts_children_under_five_not_women_given_td() {
    let baby = member("Bayi", date!(2026 - 01 - 05), Sex::Female);
    let mut mother = member("Ibu", date!(1995 - 05 - 05), Sex::Female);
    mother.relation = Relation::Istri;
    let mut aunt = member("Bibi", date!(2001 - 03 - 03), Sex::Female);
    aunt.relation = Relation::FamiliLain;
    let v1 = visit(
        date!(2026 - 03 - 10),
        vec![
            entry(&baby, antigens(&["DPT_HB_HIB1", "POLIO2", "PCV1", "RV1"])),
            entry(&mother, antigens(&["TD2"])),
            entry(&aunt, antigens(&["TD1"])),
        ],
    );
    let f = family(vec![v1], &[baby, mother, aunt], vec![]);
    let v = report(&f, "2026-03", date!(2026 - 03 - 01), date!(2026 - 03 - 31));
    let im = &v["immunisation"];
    // Every dose stays in the per-antigen table ...
    assert_eq!(im["doses_by_antigen"], json!({"DPT_HB_HIB1": 1, "PCV1": 1, "POLIO2": 1, "RV1": 1, "TD1": 1, "TD2": 1}));
    // ... but only the baby is a child immunised.
    assert_eq!(im["children_immunised"], 1, "{im}");
}
