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
