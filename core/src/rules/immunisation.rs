//! The child immunisation schedule and which doses are overdue.

use time::Date;

use super::age::age_months;

/// Basic and booster immunisation for children (Permenkes 12/2017 as extended with
/// PCV and rotavirus): antigen code and the age in months it is due.
pub const IMMUNISATION_SCHEDULE: &[(&str, i32)] = &[
    ("HB0", 0),
    ("BCG", 1),
    ("POLIO1", 1),
    ("DPT_HB_HIB1", 2),
    ("POLIO2", 2),
    ("PCV1", 2),
    ("RV1", 2),
    ("DPT_HB_HIB2", 3),
    ("POLIO3", 3),
    ("PCV2", 3),
    ("RV2", 3),
    ("DPT_HB_HIB3", 4),
    ("POLIO4", 4),
    ("IPV1", 4),
    ("RV3", 4),
    ("MR1", 9),
    ("IPV2", 9),
    ("PCV3", 12),
    ("DPT_HB_HIB4", 18),
    ("MR2", 18),
];

/// Antigens recorded outside the child schedule (school BIAS, women of child-bearing age).
pub const OTHER_ANTIGENS: &[&str] = &["DT", "TD1", "TD2", "TD3", "TD4", "TD5", "HPV1", "HPV2", "JE"];

pub fn is_known_antigen(code: &str) -> bool {
    IMMUNISATION_SCHEDULE.iter().any(|(a, _)| *a == code) || OTHER_ANTIGENS.contains(&code)
}

/// Antigens of the child schedule that are overdue on `today` for a child born on
/// `birth` who has had `given` (antigen codes): more than a month past the month
/// they are due.
pub fn overdue(birth: Date, given: &[String], today: Date) -> Vec<String> {
    let months = age_months(birth, today);
    IMMUNISATION_SCHEDULE
        .iter()
        .filter(|(a, due)| months > due + 1 && !given.iter().any(|x| x == a))
        .map(|(a, _)| a.to_string())
        .collect()
}

#[cfg(test)]
mod wrong_answer_tests {
    use super::*;
    use time::macros::date;

    fn all_but(skip: &[&str]) -> Vec<String> {
        IMMUNISATION_SCHEDULE.iter().map(|(a, _)| a.to_string()).filter(|a| !skip.contains(&a.as_str())).collect()
    }

    /// Issue 10, wrong answer 3: HB0 has a 0–7 day window and no catch-up.
    #[test]
    fn hb0_is_not_missed_at_three_months() {
        let birth = date!(2026 - 01 - 10);
        let today = date!(2026 - 04 - 12);
        let missed = overdue(birth, &all_but(&["HB0"]), today);
        assert!(!missed.contains(&"HB0".to_string()), "{missed:?}");
    }

    /// Rotavirus only for children born from 16 May 2023.
    #[test]
    fn rotavirus_not_missed_for_child_born_2022() {
        let birth = date!(2022 - 03 - 01);
        let today = date!(2022 - 10 - 01);
        let missed = overdue(birth, &all_but(&["RV1", "RV2", "RV3"]), today);
        assert!(missed.iter().all(|a| !a.starts_with("RV")), "{missed:?}");
    }

    /// Rotavirus: last dose by 6 months 29 days, no catch-up after.
    #[test]
    fn rotavirus_not_missed_at_four_years() {
        let birth = date!(2023 - 06 - 01);
        let today = date!(2027 - 06 - 15);
        let missed = overdue(birth, &all_but(&["RV1", "RV2", "RV3"]), today);
        assert!(missed.iter().all(|a| !a.starts_with("RV")), "{missed:?}");
    }
}
