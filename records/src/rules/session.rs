//! The month's Posyandu session (hari buka): whether it has taken place decides
//! whether a child under five who was not weighed this month is "belum ditimbang"
//! (home visit needed) or still *expected at the session*. `docs/rules.md`, "The
//! month's session and the home-visit list".
//!
//! Rule: this month's session has taken place on `today` when a visit of kind
//! `hari_buka` of the Posyandu is recorded with a date in the calendar month of
//! `today`, on or before `today`. A session of last month (even on its last day) or
//! one dated after `today` does not count. A home visit (`kunjungan_rumah`) is not
//! the session. The schedule (e.g. "second Tuesday", the Posyandu document,
//! [`super::schedule`]) says when a session is expected; the recorded session is the
//! fact: before any kader records one, nobody is flagged.

use time::Date;

/// True when a recorded hari buka (`session_dates`: dates of the Posyandu's visits
/// of kind hari buka, any order) falls in `today`'s calendar month, on or before
/// `today`.
pub fn session_held(session_dates: impl IntoIterator<Item = Date>, today: Date) -> bool {
    session_dates.into_iter().any(|d| d <= today && d.year() == today.year() && d.month() == today.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use time::{Duration, Month, Weekday};

    /// The `n`th `weekday` of a month (a common way Posyandu fix their day).
    fn nth_weekday(year: i32, month: Month, n: u8, weekday: Weekday) -> Date {
        let first = Date::from_calendar_date(year, month, 1).unwrap();
        let to = (7 + weekday.number_days_from_monday() as i64 - first.weekday().number_days_from_monday() as i64) % 7;
        first + Duration::days(to + 7 * (n as i64 - 1))
    }

    #[test]
    fn second_tuesday_sessions_in_february_and_a_31_day_month() {
        for (year, month, last) in [(2026, Month::February, 28), (2028, Month::February, 29), (2026, Month::March, 31)]
        {
            let s = nth_weekday(year, month, 2, Weekday::Tuesday);
            assert!((8..=14).contains(&s.day()), "{s}");
            let first = Date::from_calendar_date(year, month, 1).unwrap();
            let end = Date::from_calendar_date(year, month, last).unwrap();
            assert!(!session_held([s], first), "1st of the month, before the session ({s})");
            assert!(!session_held([s], s - Duration::days(1)), "the day before ({s})");
            assert!(session_held([s], s), "on the day ({s})");
            assert!(session_held([s], end), "last day of the month ({s})");
            assert!(!session_held([s], end + Duration::days(1)), "first day of the next month ({s})");
        }
    }

    #[test]
    fn first_and_last_day_sessions() {
        // A session on the 1st counts from the 1st; last month's on its last day does not.
        assert!(session_held([date!(2026 - 03 - 01)], date!(2026 - 03 - 01)));
        assert!(!session_held([date!(2026 - 02 - 28)], date!(2026 - 03 - 01)));
        assert!(!session_held([date!(2026 - 01 - 31)], date!(2026 - 02 - 01)));
        // Across the year.
        assert!(!session_held([date!(2025 - 12 - 31)], date!(2026 - 01 - 01)));
        // A session on the 31st counts on the 31st only.
        assert!(!session_held([date!(2026 - 03 - 31)], date!(2026 - 03 - 30)));
        assert!(session_held([date!(2026 - 03 - 31)], date!(2026 - 03 - 31)));
        // Same month, another year.
        assert!(!session_held([date!(2025 - 03 - 10)], date!(2026 - 03 - 20)));
        assert!(!session_held(Vec::<Date>::new(), date!(2026 - 03 - 20)));
    }
}
