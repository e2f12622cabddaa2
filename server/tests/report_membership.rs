//! Issue 12: S (and every count) of the monthly report with a member who moved and
//! one who died, hand-computed. A gone member counts through the month of the event
//! and not from the month after (`rules::membership`, docs/rules.md section 25).

mod common;

use posyandu_records::model::*;
use posyandu_server::puskesmas::report::{MonthlyReport, ReportBuilder};
use posyandu_server::puskesmas::Loaded;
use serde_json::Value;
use time::macros::date;
use time::Date;
use uuid::Uuid;

fn member(name: &str, birth: Date, sex: Sex, status: Option<MemberStatus>) -> Member {
    Member { kia_book: Some(true), status, ..common::member(Uuid::new_v4(), name, birth, sex) }
}

fn weighed(m: &Member, date: Date, kg: f64) -> Visit {
    let e = VisitEntry {
        member_id: m.id,
        measurements: Measurements { weight_kg: Some(kg), ..Default::default() },
        ..Default::default()
    };
    common::visit(Uuid::new_v4(), date, VisitKind::HariBuka, vec![e])
}

fn household(members: Vec<Member>, visits: Vec<Visit>, pregnancies: Vec<Pregnancy>) -> Household {
    common::household(Uuid::new_v4(), "3201010001", members, visits, pregnancies)
}

fn report(hh: &Household, month: &str, first: Date, last: Date) -> Value {
    let mut b = ReportBuilder::new("P-001", month, first, last);
    b.add(&Loaded::of(1, hh.clone()));
    let r: MonthlyReport = b.finish();
    serde_json::to_value(r).unwrap()
}

#[test]
fn s_shrinks_from_the_month_after_a_child_moved_or_died() {
    let moved = MemberStatus { kind: MemberStatusKind::Pindah, date: date!(2026 - 10 - 20) };
    let died = MemberStatus { kind: MemberStatusKind::Meninggal, date: date!(2026 - 11 - 05) };
    let stays = member("Tetap", date!(2025 - 01 - 10), Sex::Female, None); // 21 months in Oct
    let mover = member("Pindah", date!(2024 - 06 - 01), Sex::Male, Some(moved)); // 28 months in Oct
    let dead = member("Meninggal", date!(2026 - 03 - 15), Sex::Female, Some(died)); // 7 months in Oct
    let visits = vec![
        weighed(&stays, date!(2026 - 10 - 10), 10.0),
        weighed(&mover, date!(2026 - 10 - 10), 12.0),
        weighed(&dead, date!(2026 - 10 - 10), 7.0),
        weighed(&stays, date!(2026 - 11 - 10), 10.2),
        // Weighed on 2 November, died on the 5th: still in November's S and D.
        weighed(&dead, date!(2026 - 11 - 02), 7.2),
        weighed(&stays, date!(2026 - 12 - 10), 10.4),
    ];
    let hh = household(vec![stays, mover, dead], visits, vec![]);
    let skdn = |month: &str, first: Date, last: Date| {
        let v = report(&hh, month, first, last);
        let s = &v["skdn"];
        let total = v["f2"].as_array().unwrap().last().unwrap().clone();
        (s["s"].as_u64().unwrap(), s["k"].as_u64().unwrap(), s["d"].as_u64().unwrap(), total)
    };
    // October: all three registered (the move is in October) and weighed.
    let (s, k, d, f2) = skdn("2026-10", date!(2026 - 10 - 01), date!(2026 - 10 - 31));
    assert_eq!((s, k, d), (3, 3, 3));
    assert_eq!((f2["s"]["male"].as_u64(), f2["s"]["female"].as_u64()), (Some(1), Some(2)), "{f2}");
    // November: the mover is gone (moved in October); the child who died in November
    // still counts, and was weighed before she died: S = 2, D = 2.
    let (s, k, d, f2) = skdn("2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    assert_eq!((s, k, d), (2, 2, 2));
    assert_eq!((f2["s"]["male"].as_u64(), f2["s"]["female"].as_u64()), (Some(0), Some(2)), "{f2}");
    // December: only the child who stayed.
    let (s, k, d, f2) = skdn("2026-12", date!(2026 - 12 - 01), date!(2026 - 12 - 31));
    assert_eq!((s, k, d), (1, 1, 1));
    assert_eq!((f2["s"]["male"].as_u64(), f2["s"]["female"].as_u64()), (Some(0), Some(1)), "{f2}");
}

#[test]
fn a_mother_who_moved_is_no_ibu_nifas_of_later_months() {
    let mut mother = member("Ibu", date!(1995 - 05 - 05), Sex::Female, None);
    mother.relation = Relation::Istri;
    let preg = Pregnancy {
        id: Uuid::new_v4(),
        member_id: mother.id,
        lmp: date!(2026 - 01 - 10),
        due_date: date!(2026 - 10 - 17),
        gravida: 1,
        muac_cm: None,
        kek: false,
        ended: Some(date!(2026 - 10 - 25)),
        outcome: Some(PregnancyOutcome { kind: OutcomeKind::LahirHidup, place: None, attendant: None }),
        deleted: false,
    };
    let nifas = |hh: &Household| {
        let v = report(hh, "2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
        v["immunisation"]["vitamin_a"]["ibu_nifas"]["eligible"].as_u64().unwrap()
    };
    let hh = household(vec![mother.clone()], vec![], vec![preg.clone()]);
    assert_eq!(nifas(&hh), 1, "in nifas in November");
    mother.status = Some(MemberStatus { kind: MemberStatusKind::Pindah, date: date!(2026 - 10 - 30) });
    let hh = household(vec![mother], vec![], vec![preg]);
    assert_eq!(nifas(&hh), 0, "moved in October: not counted in November");
}

/// ASI eksklusif coverage (issue 12, docs/rules.md section 28): infants 0–5 months
/// asked in the month (typed answer or the older checklist key), the last answer of
/// the month; a 6-month-old's answer and a gone infant are not counted.
#[test]
fn asi_eksklusif_coverage_of_infants_0_5_months() {
    let a = member("A", date!(2026 - 08 - 01), Sex::Female, None); // 3 months in November
    let b = member("B", date!(2026 - 10 - 20), Sex::Male, None); // 0 months
    let c = member("C", date!(2026 - 05 - 01), Sex::Female, None); // 6 months: not asked
    let d = member("D", date!(2026 - 09 - 01), Sex::Male, None); // never asked
    let gone = MemberStatus { kind: MemberStatusKind::Pindah, date: date!(2026 - 10 - 31) };
    let e = member("E", date!(2026 - 09 - 01), Sex::Male, Some(gone)); // moved in October
    let answer = |m: &Member, date: Date, typed: Option<bool>, checklist: Option<bool>| {
        let mut v = weighed(m, date, 5.0);
        v.entries[0].asi_eksklusif = typed;
        if let Some(x) = checklist {
            v.entries[0].checklist.insert("asi_eksklusif".into(), x);
        }
        v
    };
    let visits = vec![
        // A: yes early in the month, no later: the last answer (no) counts.
        answer(&a, date!(2026 - 11 - 03), Some(true), None),
        answer(&a, date!(2026 - 11 - 20), Some(false), None),
        // B: answered in the old checklist only.
        answer(&b, date!(2026 - 11 - 05), None, Some(true)),
        answer(&c, date!(2026 - 11 - 05), Some(true), None),
        answer(&d, date!(2026 - 11 - 05), None, None),
        answer(&e, date!(2026 - 11 - 05), Some(true), None),
    ];
    let hh = household(vec![a, b, c, d, e], visits, vec![]);
    let v = report(&hh, "2026-11", date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    assert_eq!(v["asi_eksklusif"], serde_json::json!({"asked": 2, "yes": 1, "pct": 50.0}), "{}", v["asi_eksklusif"]);
}
