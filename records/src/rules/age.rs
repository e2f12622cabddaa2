//! Ages. Two definitions live side by side, each where the rules use it:
//!
//! - **Completed months and years** ([`age_months`], [`age_years`]): birthdays, as the
//!   life stages, schedules (immunisation, vitamin A) and report age groups count.
//! - **KMS age** ([`kms_age_months`]): calendar months from the birth month, as the KMS
//!   columns count; used for the KBM and the N/T/O/B trend.
//! - **Exact days** ([`age_days`]): WHO's age for z-scores (WHO 2006 by day).

use time::Date;

pub use crate::growth::{age_days, kms_age_months};

/// Under-fives (balita): 0 to 59 completed months, the children of the KMS, the SKDN
/// (S) and the under-five services (Permenkes 2/2020: "anak usia 0–60 bulan";
/// the SKDN recap counts balita 0–59 months). `UNDER_FIVE_MONTHS` is the first age
/// that is no longer under five.
pub const UNDER_FIVE_MONTHS: i32 = 60;

/// Whether someone born on `birth` is under five (0–59 completed months) on `on`.
pub fn is_under_five(birth: Date, on: Date) -> bool {
    (0..UNDER_FIVE_MONTHS).contains(&age_months(birth, on))
}

/// Completed years between two dates.
pub fn age_years(birth: Date, on: Date) -> i32 {
    let mut years = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

/// Completed months between two dates.
pub fn age_months(birth: Date, on: Date) -> i32 {
    let mut months = (on.year() - birth.year()) * 12 + (on.month() as i32 - birth.month() as i32);
    if on.day() < birth.day() {
        months -= 1;
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_count_completed_months() {
        assert_eq!(age_months(date!(2026 - 01 - 31), date!(2026 - 02 - 28)), 0);
        assert_eq!(age_months(date!(2026 - 01 - 15), date!(2026 - 02 - 15)), 1);
        assert_eq!(age_months(date!(2021 - 11 - 23), date!(2026 - 11 - 23)), 60);
    }

    #[test]
    fn under_five_is_0_to_59_completed_months() {
        assert!(is_under_five(date!(2026 - 11 - 23), date!(2026 - 11 - 23)));
        assert!(is_under_five(date!(2021 - 11 - 24), date!(2026 - 11 - 23)));
        assert!(!is_under_five(date!(2021 - 11 - 23), date!(2026 - 11 - 23)));
        assert!(!is_under_five(date!(2026 - 11 - 24), date!(2026 - 11 - 23)), "not born yet");
    }

    #[test]
    fn years_count_birthdays() {
        assert_eq!(age_years(date!(2020 - 02 - 29), date!(2021 - 02 - 28)), 0);
        assert_eq!(age_years(date!(2020 - 02 - 29), date!(2021 - 03 - 01)), 1);
        assert_eq!(age_years(date!(1966 - 11 - 23), date!(2026 - 11 - 23)), 60);
    }
}
