//! Postnatal contacts as due items (issue 12): KF1–KF4 (kunjungan nifas, the mother)
//! and KN1–KN3 (kunjungan neonatal, the newborn), windows from the table
//! `records/data/rules/postnatal.json`. `docs/rules.md`, section 26.
//!
//! Rules:
//! - **Windows** in whole days after the birth, day 0 = the day of birth (the app
//!   records dates, not hours: "6–48 hours" is days 0–2).
//! - **Who**: KN for every member whose age is within a KN window (born alive: a
//!   registered member); KF for a woman whose latest pregnancy has a recorded end,
//!   whatever the outcome (the existing nifas rule: any recorded end starts nifas).
//! - **Satisfied** by any visit (hari buka or home visit) with an entry for that
//!   person dated inside the window: the kader met the mother or the baby then.
//! - **Due** while today is inside a window without such a visit; a window that has
//!   passed is not shown (a missed KF/KN cannot be made up).

use std::sync::OnceLock;

use serde::Deserialize;
use time::{Date, Duration};

use super::due::DueReason;
use super::table;

/// Whose contact it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactOf {
    Mother,
    Newborn,
}

/// One contact of the schedule.
#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    pub code: String,
    pub of: ContactOf,
    pub from_day: i64,
    pub to_day: i64,
    pub label: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
struct Table {
    entries: Vec<Contact>,
}

/// The schedule, in table order (KN1–KN3, KF1–KF4).
pub fn schedule() -> &'static [Contact] {
    static T: OnceLock<Vec<Contact>> = OnceLock::new();
    T.get_or_init(|| table::parse::<Table>("postnatal").entries)
}

/// The contact of `of` whose window contains `today` for a birth on `birth`, if any.
pub fn window_on(of: ContactOf, birth: Date, today: Date) -> Option<&'static Contact> {
    let day = (today - birth).whole_days();
    schedule().iter().find(|c| c.of == of && c.from_day <= day && day <= c.to_day)
}

/// The first and last date of a contact's window for a birth on `birth`.
pub fn window(c: &Contact, birth: Date) -> (Date, Date) {
    (birth + Duration::days(c.from_day), birth + Duration::days(c.to_day))
}

/// The contact due on `today` for a birth on `birth` (`of` the mother or the newborn),
/// given the dates of the person's recorded visits: the contact whose window holds
/// today, unless a visit is already recorded inside that window.
pub fn due_contact(of: ContactOf, birth: Date, visits: &[Date], today: Date) -> Option<&'static Contact> {
    let c = window_on(of, birth, today)?;
    let (from, to) = window(c, birth);
    (!visits.iter().any(|d| from <= *d && *d <= to)).then_some(c)
}

/// The due reasons of postnatal contacts of one person: KN from the member's own birth
/// date, KF from the end of her latest pregnancy (`delivered`, when recorded).
pub fn reasons(birth_date: Date, delivered: Option<Date>, visits: &[Date], today: Date) -> Vec<DueReason> {
    let mut out = Vec::new();
    if let Some(c) = due_contact(ContactOf::Newborn, birth_date, visits, today) {
        out.push(DueReason::KunjunganNeonatal(c.code.clone()));
    }
    if let Some(c) = delivered.and_then(|d| due_contact(ContactOf::Mother, d, visits, today)) {
        out.push(DueReason::KunjunganNifas(c.code.clone()));
    }
    out
}

/// The label of a contact code (`KF2` → "Kunjungan nifas 2 (hari ke-3–7)").
pub fn label_of(code: &str) -> String {
    schedule().iter().find(|c| c.code == code).map(|c| c.label.clone()).unwrap_or_else(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn windows_at_their_edges() {
        let b = date!(2026 - 11 - 01);
        let code = |of, d| window_on(of, b, d).map(|c| c.code.as_str());
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 10 - 31)), None, "before the birth");
        assert_eq!(code(ContactOf::Newborn, b), Some("KN1"));
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 11 - 03)), Some("KN1"), "48 hours = day 2");
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 11 - 04)), Some("KN2"));
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 11 - 08)), Some("KN2"));
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 11 - 09)), Some("KN3"));
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 11 - 29)), Some("KN3"));
        assert_eq!(code(ContactOf::Newborn, date!(2026 - 11 - 30)), None, "day 29: neonatal period over");
        assert_eq!(code(ContactOf::Mother, date!(2026 - 11 - 03)), Some("KF1"));
        assert_eq!(code(ContactOf::Mother, date!(2026 - 11 - 04)), Some("KF2"));
        assert_eq!(code(ContactOf::Mother, date!(2026 - 11 - 09)), Some("KF3"));
        assert_eq!(code(ContactOf::Mother, date!(2026 - 11 - 29)), Some("KF3"));
        assert_eq!(code(ContactOf::Mother, date!(2026 - 11 - 30)), Some("KF4"));
        assert_eq!(code(ContactOf::Mother, date!(2026 - 12 - 13)), Some("KF4"), "day 42");
        assert_eq!(code(ContactOf::Mother, date!(2026 - 12 - 14)), None, "day 43: nifas over");
        // The last KF day is the nifas rule's last day.
        assert_eq!(schedule().iter().map(|c| c.to_day).max(), Some(super::super::pregnancy::nifas_days()));
    }

    #[test]
    fn a_visit_in_the_window_satisfies_it_and_only_it() {
        let b = date!(2026 - 11 - 01);
        let today = date!(2026 - 11 - 05); // day 4: KN2 / KF2
        assert_eq!(
            reasons(b, Some(b), &[], today),
            vec![DueReason::KunjunganNeonatal("KN2".into()), DueReason::KunjunganNifas("KF2".into())]
        );
        // A visit on day 2 (KN1's window) does not satisfy KN2.
        assert_eq!(reasons(b, None, &[date!(2026 - 11 - 03)], today), vec![DueReason::KunjunganNeonatal("KN2".into())]);
        // A visit on day 3 (the window's first day) does.
        assert!(reasons(b, None, &[date!(2026 - 11 - 04)], today).is_empty());
        // A mother (born long ago) gets only KF; no recorded end, no KF.
        assert_eq!(reasons(date!(1998 - 03 - 03), Some(b), &[], today), vec![DueReason::KunjunganNifas("KF2".into())]);
        assert!(reasons(date!(1998 - 03 - 03), None, &[], today).is_empty());
        assert_eq!(
            DueReason::KunjunganNifas("KF2".into()).label_id(),
            "Kunjungan nifas 2 (hari ke-3–7) belum tercatat"
        );
    }
}
