//! Exclusive breastfeeding (ASI eksklusif) recorded monthly for infants 0–5 months
//! (issue 12). `docs/rules.md`, section 28.
//!
//! - **Who is asked**: infants 0–5 completed months at the visit (exclusive
//!   breastfeeding is for the first 6 months: PP 33/2012 Pasal 1 and 6; Buku KIA 2023).
//! - **The answer**: the typed `VisitEntry::asi_eksklusif`; an entry without it but
//!   with the older untyped checklist key `asi_eksklusif` reads that answer
//!   ([`answer`]), so documents written before the typed field stay readable.
//! - **Coverage of a month** ([`month_coverage`]): infants 0–5 months at a visit of
//!   the month with an answer recorded (*asked*), and those whose last answer of the
//!   month is yes.

use time::Date;

use super::age::age_months;
use crate::model::VisitEntry;

/// The untyped checklist key of the answer (documents before the typed field).
pub const CHECKLIST_KEY: &str = "asi_eksklusif";

/// Oldest age asked, in completed months.
pub const MAX_AGE_MONTHS: i32 = 5;

/// Whether an infant born on `birth` is asked about exclusive breastfeeding on `on`.
pub fn asked_at(birth: Date, on: Date) -> bool {
    (0..=MAX_AGE_MONTHS).contains(&age_months(birth, on))
}

/// The entry's answer: the typed field, else the older checklist key.
pub fn answer(e: &VisitEntry) -> Option<bool> {
    e.asi_eksklusif.or_else(|| e.checklist.get(CHECKLIST_KEY).copied())
}

/// The answer of one infant in a month from her entries `(visit date, answer)` of the
/// month: `None` when she was not asked (no answer at an age 0–5 months), else the
/// last answer given at such an age.
pub fn month_answer(birth: Date, answers: impl IntoIterator<Item = (Date, Option<bool>)>) -> Option<bool> {
    let mut last: Option<(Date, bool)> = None;
    for (d, a) in answers {
        if let Some(a) = a.filter(|_| asked_at(birth, d)) {
            if last.is_none_or(|(ld, _)| d >= ld) {
                last = Some((d, a));
            }
        }
    }
    last.map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn asked_from_birth_to_five_completed_months() {
        let b = date!(2026 - 01 - 15);
        assert!(asked_at(b, b));
        assert!(asked_at(b, date!(2026 - 07 - 14)), "5 months");
        assert!(!asked_at(b, date!(2026 - 07 - 15)), "6 months");
        assert!(!asked_at(b, date!(2026 - 01 - 14)), "before birth");
    }

    #[test]
    fn typed_answer_first_then_the_old_checklist_and_the_last_of_the_month() {
        let mut e = VisitEntry::default();
        assert_eq!(answer(&e), None);
        e.checklist.insert(CHECKLIST_KEY.into(), true);
        assert_eq!(answer(&e), Some(true), "old documents stay readable");
        e.asi_eksklusif = Some(false);
        assert_eq!(answer(&e), Some(false), "the typed answer wins");
        let b = date!(2026 - 01 - 15);
        let month = [(date!(2026 - 07 - 02), Some(true)), (date!(2026 - 07 - 10), Some(false))];
        assert_eq!(month_answer(b, month), Some(false));
        // An answer at 6 months does not count; nothing else: not asked.
        assert_eq!(month_answer(b, [(date!(2026 - 07 - 20), Some(true))]), None);
        assert_eq!(month_answer(b, [(date!(2026 - 07 - 02), None)]), None);
    }
}
