//! Vitamin A rounds (February and August) and who has missed the current one.

use time::{Date, Month};

use super::age::age_months;

/// First day of the vitamin A round (February or August) that `today` falls in.
pub fn vitamin_a_round_start(today: Date) -> Date {
    let (year, month) = match today.month() as u8 {
        1 => (today.year() - 1, Month::August),
        2..=7 => (today.year(), Month::February),
        _ => (today.year(), Month::August),
    };
    Date::from_calendar_date(year, month, 1).expect("valid date")
}

/// A child 6–59 months without vitamin A since the start of the current round.
pub fn missed(birth: Date, last_vitamin_a: Option<Date>, today: Date) -> bool {
    (6..60).contains(&age_months(birth, today)) && last_vitamin_a.is_none_or(|d| d < vitamin_a_round_start(today))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn vitamin_a_rounds() {
        assert_eq!(vitamin_a_round_start(date!(2026 - 01 - 10)), date!(2025 - 08 - 01));
        assert_eq!(vitamin_a_round_start(date!(2026 - 02 - 01)), date!(2026 - 02 - 01));
        assert_eq!(vitamin_a_round_start(date!(2026 - 07 - 31)), date!(2026 - 02 - 01));
        assert_eq!(vitamin_a_round_start(date!(2026 - 11 - 23)), date!(2026 - 08 - 01));
    }
}
