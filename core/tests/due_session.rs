//! The month's session (hari buka) drives the home-visit list (issue 10, wrong
//! answer 2): a child under five is "belum ditimbang bulan ini" only after this
//! month's hari buka of the Posyandu has taken place.

mod common;

use common::*;
use posyandu_core::*;
use time::macros::date;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

/// A store whose "today" is `day` (10:00 WIB).
fn store_on(path: &std::path::Path, day: Date) -> Store {
    let mut s = open_store(path, "D1");
    set_today(&mut s, day);
    s
}

fn set_today(s: &mut Store, day: Date) {
    let wib = UtcOffset::from_hms(7, 0, 0).unwrap();
    let at = PrimitiveDateTime::new(day, Time::from_hms(10, 0, 0).unwrap()).assume_offset(wib);
    let utc: OffsetDateTime = at.to_offset(UtcOffset::UTC);
    s.set_clock(move || utc, wib);
}

fn hari_buka(member: Uuid, date: Date, kg: f64) -> NewVisit {
    let mut v = weighing(member, date, kg);
    v.kind = VisitKind::HariBuka;
    v
}

fn reasons_of(s: &Store, m: Uuid) -> Vec<DueReason> {
    s.due_visits().unwrap().into_iter().find(|d| d.member_id == m).map(|d| d.reasons).unwrap_or_default()
}

/// Two children of one Posyandu, both weighed at November's session.
fn two_children(s: &Store) -> (Uuid, Uuid, Uuid) {
    let hh = s.create_household(new_household("001")).unwrap();
    s.add_member(hh, mother()).unwrap();
    let a = s.add_member(hh, child("Ani", date!(2025 - 06 - 10))).unwrap();
    let b = s.add_member(hh, child("Budi", date!(2024 - 03 - 05))).unwrap();
    (hh, a, b)
}

#[test]
fn first_of_the_month_before_the_session_nobody_is_not_weighed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let (hh, a, b) = {
        let s = store_on(&path, date!(2026 - 11 - 10));
        let (hh, a, b) = two_children(&s);
        s.record_visit(hh, hari_buka(a, date!(2026 - 11 - 10), 8.0)).unwrap();
        s.record_visit(hh, hari_buka(b, date!(2026 - 11 - 10), 12.0)).unwrap();
        (hh, a, b)
    };
    let _ = hh;
    // 1 December 2026: December's hari buka has not happened yet.
    let s = store_on(&path, date!(2026 - 12 - 01));
    for m in [a, b] {
        assert!(!reasons_of(&s, m).contains(&DueReason::NotWeighedThisMonth), "{:?}", reasons_of(&s, m));
        assert!(reasons_of(&s, m).contains(&DueReason::ExpectedAtSession), "{:?}", reasons_of(&s, m));
    }
}

#[test]
fn last_months_session_on_the_last_day_does_not_count_for_this_month() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let (a, b) = {
        let s = store_on(&path, date!(2026 - 11 - 30));
        let (hh, a, b) = two_children(&s);
        // November's session on its last day, 30 November.
        s.record_visit(hh, hari_buka(a, date!(2026 - 11 - 30), 8.0)).unwrap();
        (a, b)
    };
    let s = store_on(&path, date!(2026 - 12 - 01));
    assert!(!reasons_of(&s, a).contains(&DueReason::NotWeighedThisMonth));
    assert!(!reasons_of(&s, b).contains(&DueReason::NotWeighedThisMonth));
    assert!(reasons_of(&s, b).contains(&DueReason::ExpectedAtSession));
}

#[test]
fn after_the_session_a_child_who_did_not_come_is_not_weighed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let s = store_on(&path, date!(2026 - 12 - 08));
    let (hh, a, b) = two_children(&s);
    // Second Tuesday of December 2026 (1 December is a Tuesday): only Ani came.
    s.record_visit(hh, hari_buka(a, date!(2026 - 12 - 08), 8.2)).unwrap();
    assert!(!reasons_of(&s, a).contains(&DueReason::NotWeighedThisMonth));
    assert!(!reasons_of(&s, a).contains(&DueReason::ExpectedAtSession));
    assert!(reasons_of(&s, b).contains(&DueReason::NotWeighedThisMonth));
    assert!(!reasons_of(&s, b).contains(&DueReason::ExpectedAtSession));
}

#[test]
fn a_home_visit_is_not_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let s = store_on(&path, date!(2026 - 12 - 03));
    let (hh, a, b) = two_children(&s);
    // A kader weighed Ani at home on 3 December: the session is still to come.
    s.record_visit(hh, weighing(a, date!(2026 - 12 - 03), 8.2)).unwrap();
    assert!(!reasons_of(&s, a).contains(&DueReason::NotWeighedThisMonth));
    assert!(!reasons_of(&s, a).contains(&DueReason::ExpectedAtSession), "weighed this month already");
    assert!(!reasons_of(&s, b).contains(&DueReason::NotWeighedThisMonth));
    assert!(reasons_of(&s, b).contains(&DueReason::ExpectedAtSession));
}

#[test]
fn a_session_dated_after_today_has_not_taken_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let (a, b) = {
        let s = store_on(&path, date!(2027 - 02 - 09));
        let (hh, a, b) = two_children(&s);
        // Second Tuesday of February 2027 (28 days).
        s.record_visit(hh, hari_buka(a, date!(2027 - 02 - 09), 9.0)).unwrap();
        (a, b)
    };
    // The phone's clock says 8 February: the recorded session is tomorrow.
    let s = store_on(&path, date!(2027 - 02 - 08));
    assert!(!reasons_of(&s, b).contains(&DueReason::NotWeighedThisMonth));
    let _ = a;
    assert!(reasons_of(&s, b).contains(&DueReason::ExpectedAtSession));
    // On the 9th it has taken place.
    let s = store_on(&path, date!(2027 - 02 - 09));
    assert!(reasons_of(&s, b).contains(&DueReason::NotWeighedThisMonth));
}

#[test]
fn a_single_t_at_the_session_puts_the_child_on_the_list_to_refer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let s = store_on(&path, date!(2026 - 11 - 10));
        let (hh, a, _b) = two_children(&s);
        s.record_visit(hh, hari_buka(a, date!(2026 - 11 - 10), 8.0)).unwrap();
    }
    let s = store_on(&path, date!(2026 - 12 - 08));
    let hh = s.list_households(None).unwrap()[0].id;
    let a = s.search_members("ani", 5).unwrap()[0].id;
    // Ani, KMS age 18 in December (KBM 200 g): +100 g = T, referred on a single T.
    s.record_visit(hh, hari_buka(a, date!(2026 - 12 - 08), 8.1)).unwrap();
    let r = reasons_of(&s, a);
    assert!(r.contains(&DueReason::SingleT), "{r:?}");
    assert!(!r.contains(&DueReason::TwoT));
    assert_eq!(DueReason::SingleT.label_id(), "Rujuk: berat badan tidak naik (T)");
}

#[test]
fn same_day_weighings_the_due_list_takes_the_weighing_the_records_count() {
    for _ in 0..4 {
        // visit ids are random: repeat so that either storage order is met
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let s = store_on(&path, date!(2026 - 12 - 08));
        let (hh, a, _b) = two_children(&s);
        s.record_visit(hh, hari_buka(a, date!(2026 - 11 - 10), 9.0)).unwrap();
        // Two weighings on 8 December: the lighter (+100 g, T) is December's dot
        // (rules::trend::series_trends), whatever the visit ids; the other gets none.
        s.record_visit(hh, hari_buka(a, date!(2026 - 12 - 08), 9.4)).unwrap();
        s.record_visit(hh, hari_buka(a, date!(2026 - 12 - 08), 9.1)).unwrap();
        let r = reasons_of(&s, a);
        assert!(r.contains(&DueReason::SingleT), "{r:?}");
        // and the records agree: the 9.1 kg weighing holds December's T
        let h = s.household(hh).unwrap();
        let t = posyandu_core::rules::trend::weight_trends(&h);
        let dec: Vec<_> = h
            .visits
            .iter()
            .filter(|v| v.date == date!(2026 - 12 - 08))
            .map(|v| (v.entries[0].measurements.weight_kg, t.get(&(v.id, a)).map(|t| t.code())))
            .collect();
        assert!(dec.contains(&(Some(9.1), Some("T"))) && dec.contains(&(Some(9.4), None)), "{dec:?}");
    }
}
