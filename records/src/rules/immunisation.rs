//! The immunisation schedule (a data table, `records/data/rules/immunisation.json`, each
//! entry with its source) and the status of each antigen for a child on a day.
//!
//! Statuses: [`DoseStatus::Given`], [`DoseStatus::NotYetDue`], [`DoseStatus::Due`] (in
//! its on-time window), [`DoseStatus::Overdue`] (late, imunisasi kejar still possible),
//! [`DoseStatus::WindowClosed`] (late and no catch-up any more, e.g. HB0 after 7 days,
//! rotavirus after 6 months 29 days), [`DoseStatus::NotEligible`] (birth cohort before
//! the antigen's introduction, e.g. rotavirus for children born before 16 May 2023).
//! Only `Overdue` antigens of the child schedule are "terlewat" on the due list.
//! Rules, sources and doubts: `docs/rules.md`, "Immunisation schedule".

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use super::age::age_months;
use super::table::Sourced;
use crate::model::parse_date;

/// Which programme an antigen belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AntigenGroup {
    /// The child schedule (imunisasi dasar and baduta boosters): due list and report.
    Anak,
    /// School programme (Bulan Imunisasi Anak Sekolah), by grade.
    Bias,
    /// Td for women of child-bearing age (status T1–T5).
    Wus,
    /// Regional programme in endemic areas (JE).
    DaerahEndemis,
}

impl AntigenGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            AntigenGroup::Anak => "anak",
            AntigenGroup::Bias => "bias",
            AntigenGroup::Wus => "wus",
            AntigenGroup::DaerahEndemis => "daerah_endemis",
        }
    }
}

/// An age limit of the table (see the `about` text of the data file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeLimit {
    /// While the age in completed months is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_months: Option<i32>,
    /// Up to and including birth + `months` calendar months + `days` days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
}

impl AgeLimit {
    /// Whether a child born on `birth` is within the limit on `on`.
    pub fn within(&self, birth: Date, on: Date) -> bool {
        match self.completed_months {
            Some(m) => age_months(birth, on) <= m,
            None => on <= add_months(birth, self.months.unwrap_or(0)) + Duration::days(self.days.unwrap_or(0)),
        }
    }

    /// Whether a child born on `birth` has reached this age on `on`.
    pub fn reached(&self, birth: Date, on: Date) -> bool {
        match self.completed_months {
            Some(m) => age_months(birth, on) >= m,
            None => on >= add_months(birth, self.months.unwrap_or(0)) + Duration::days(self.days.unwrap_or(0)),
        }
    }
}

/// `d` plus `months` calendar months, the day clamped to the end of the month.
fn add_months(d: Date, months: i32) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::December);
    let day = d.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(d)
}

/// One antigen dose of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Antigen {
    /// Code recorded in visits, e.g. `DPT_HB_HIB1`.
    pub code: String,
    pub group: AntigenGroup,
    /// Age from which the dose is due; `None` = no age schedule (school, WUS, regional).
    pub recommended: Option<AgeLimit>,
    /// Youngest age a dose counts (information; not used for the status).
    pub earliest: Option<AgeLimit>,
    /// End of the on-time window; `None` = recommended + the table's grace.
    #[serde(default)]
    pub due_until: Option<AgeLimit>,
    /// Last age for imunisasi kejar; `None` = no catch-up.
    pub catch_up_until: Option<AgeLimit>,
    /// First eligible birth date (`YYYY-MM-DD`), `None` = every cohort.
    pub born_from: Option<String>,
    /// Regulation or guideline, edition, page where known.
    pub source: String,
}

impl Antigen {
    /// First eligible birth date, parsed.
    pub fn born_from_date(&self) -> Option<Date> {
        self.born_from.as_deref().and_then(parse_date)
    }

    /// End of the on-time window.
    pub fn on_time_until(&self) -> Option<AgeLimit> {
        let rec = self.recommended?;
        Some(self.due_until.unwrap_or(AgeLimit {
            completed_months: Some(rec.completed_months.or(rec.months).unwrap_or(0) + table().due_grace_months.value),
            ..Default::default()
        }))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)]
    table: String,
    #[allow(dead_code)]
    version: String,
    #[allow(dead_code)]
    about: String,
    due_grace_months: Sourced<i32>,
    /// The antigens, in schedule order.
    #[serde(rename = "entries")]
    antigens: Vec<Antigen>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    // The embedded table is checked by `tests::table_is_complete_and_sourced` and
    // `table::tests::every_table_parses_and_cites_its_sources`.
    TABLE.get_or_init(|| super::table::parse("immunisation"))
}

/// Every antigen code the system records, in schedule order (child schedule first).
pub fn known_antigens() -> &'static [Antigen] {
    &table().antigens
}

/// The antigen of a code, if known.
pub fn antigen(code: &str) -> Option<&'static Antigen> {
    known_antigens().iter().find(|a| a.code == code)
}

pub fn is_known_antigen(code: &str) -> bool {
    antigen(code).is_some()
}

/// Whether `code` is a dose of the child schedule.
pub fn is_child_schedule(code: &str) -> bool {
    antigen(code).is_some_and(|a| a.group == AntigenGroup::Anak)
}

/// The child schedule (group `anak`), in schedule order.
pub fn child_schedule() -> impl Iterator<Item = &'static Antigen> {
    known_antigens().iter().filter(|a| a.group == AntigenGroup::Anak)
}

/// Where one antigen stands for a child on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum DoseStatus {
    /// Recorded as given (earliest recorded date).
    Given {
        #[serde(with = "crate::model::iso_date")]
        date: Date,
    },
    /// Too young for it yet.
    NotYetDue,
    /// In its on-time window.
    Due,
    /// Past its on-time window, catch-up (imunisasi kejar) still possible: "terlewat".
    Overdue,
    /// Past its window and catch-up limit: no longer given.
    WindowClosed,
    /// Born before the antigen's eligible cohort.
    NotEligible,
}

impl DoseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DoseStatus::Given { .. } => "given",
            DoseStatus::NotYetDue => "not_yet_due",
            DoseStatus::Due => "due",
            DoseStatus::Overdue => "overdue",
            DoseStatus::WindowClosed => "window_closed",
            DoseStatus::NotEligible => "not_eligible",
        }
    }
}

/// The status of a dose not given, for a child born on `birth`, on `today`. `None`
/// for an antigen without an age schedule.
pub fn open_status(a: &Antigen, birth: Date, today: Date) -> Option<DoseStatus> {
    let rec = a.recommended?;
    let on_time = a.on_time_until()?;
    Some(if a.born_from_date().is_some_and(|from| birth < from) {
        DoseStatus::NotEligible
    } else if !rec.reached(birth, today) {
        DoseStatus::NotYetDue
    } else if on_time.within(birth, today) {
        DoseStatus::Due
    } else if a.catch_up_until.is_some_and(|l| l.within(birth, today)) {
        DoseStatus::Overdue
    } else {
        DoseStatus::WindowClosed
    })
}

/// One antigen's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AntigenStatus {
    pub code: String,
    pub group: AntigenGroup,
    #[serde(flatten)]
    pub status: DoseStatus,
}

/// The status of every antigen of the child schedule for a child born on `birth` on
/// `today`, in schedule order, followed by the other antigens recorded as given
/// (`given`: code and date; unknown codes are ignored, the earliest date of a code
/// counts).
pub fn immunisation_status(birth: Date, given: &[(String, Date)], today: Date) -> Vec<AntigenStatus> {
    let given_on = |code: &str| given.iter().filter(|(c, _)| c == code).map(|(_, d)| *d).min();
    known_antigens()
        .iter()
        .filter_map(|a| {
            let status = match given_on(&a.code) {
                Some(date) => DoseStatus::Given { date },
                None => open_status(a, birth, today)?,
            };
            Some(AntigenStatus { code: a.code.clone(), group: a.group, status })
        })
        .collect()
}

/// Antigens of the child schedule that are overdue ("terlewat": late, catch-up still
/// possible) on `today` for a child born on `birth` who has had `given` (codes).
pub fn overdue(birth: Date, given: &[String], today: Date) -> Vec<String> {
    child_schedule()
        .filter(|a| !given.iter().any(|g| *g == a.code))
        .filter(|a| open_status(a, birth, today) == Some(DoseStatus::Overdue))
        .map(|a| a.code.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn table_is_complete_and_sourced() {
        let codes: Vec<&str> = known_antigens().iter().map(|a| a.code.as_str()).collect();
        for c in [
            "HB0",
            "BCG",
            "POLIO1",
            "POLIO2",
            "POLIO3",
            "POLIO4",
            "DPT_HB_HIB1",
            "DPT_HB_HIB2",
            "DPT_HB_HIB3",
            "DPT_HB_HIB4",
            "IPV1",
            "IPV2",
            "PCV1",
            "PCV2",
            "PCV3",
            "RV1",
            "RV2",
            "RV3",
            "MR1",
            "MR2",
            "DT",
            "TD1",
            "TD2",
            "TD3",
            "TD4",
            "TD5",
            "HPV1",
            "HPV2",
            "JE",
        ] {
            assert!(codes.contains(&c), "{c} missing");
        }
        assert_eq!(codes.len(), 29);
        let mut seen = std::collections::HashSet::new();
        for a in known_antigens() {
            assert!(seen.insert(&a.code), "{} twice", a.code);
            assert!(!a.source.trim().is_empty(), "{} has no source", a.code);
            if let Some(b) = &a.born_from {
                assert!(parse_date(b).is_some(), "{}: bad born_from", a.code);
            }
            // A schedule only for the child group.
            assert_eq!(a.recommended.is_some(), a.group == AntigenGroup::Anak, "{}", a.code);
        }
        assert!(table().due_grace_months.value >= 0);
        assert!(!table().due_grace_months.source.is_empty());
    }

    #[test]
    fn add_months_clamps() {
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 08 - 31), 6), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 05 - 16), 7), date!(2023 - 12 - 16));
        assert_eq!(add_months(date!(2023 - 11 - 30), 2), date!(2024 - 01 - 30));
    }

    fn status(code: &str, birth: Date, today: Date) -> Option<DoseStatus> {
        open_status(antigen(code).unwrap(), birth, today)
    }

    #[test]
    fn hb0_window_is_seven_days_without_catch_up() {
        let b = date!(2026 - 01 - 10);
        assert_eq!(status("HB0", b, b), Some(DoseStatus::Due));
        assert_eq!(status("HB0", b, date!(2026 - 01 - 17)), Some(DoseStatus::Due)); // day 7
        assert_eq!(status("HB0", b, date!(2026 - 01 - 18)), Some(DoseStatus::WindowClosed));
        // day 8
    }

    #[test]
    fn rotavirus_cohort_and_last_dose() {
        // Born the day before the cohort: never eligible.
        assert_eq!(status("RV1", date!(2023 - 05 - 15), date!(2023 - 08 - 15)), Some(DoseStatus::NotEligible));
        let b = date!(2023 - 05 - 16);
        assert_eq!(status("RV1", b, date!(2023 - 07 - 15)), Some(DoseStatus::NotYetDue));
        assert_eq!(status("RV1", b, date!(2023 - 07 - 16)), Some(DoseStatus::Due));
        // RV1 due at 2 months, on time through 3 completed months, overdue from 4.
        assert_eq!(status("RV1", b, date!(2023 - 09 - 15)), Some(DoseStatus::Due));
        assert_eq!(status("RV1", b, date!(2023 - 09 - 16)), Some(DoseStatus::Overdue));
        // 6 months 29 days: 2023-11-16 + 29 days = 2023-12-15, the last day.
        assert_eq!(status("RV1", b, date!(2023 - 12 - 15)), Some(DoseStatus::Overdue));
        assert_eq!(status("RV1", b, date!(2023 - 12 - 16)), Some(DoseStatus::WindowClosed));
        // RV3 (due at 4 months, on time through 5) is still "due" at 5 months and
        // overdue for 29 days at most.
        assert_eq!(status("RV3", b, date!(2023 - 11 - 15)), Some(DoseStatus::Due));
        assert_eq!(status("RV3", b, date!(2023 - 11 - 16)), Some(DoseStatus::Overdue));
        assert_eq!(status("RV3", b, date!(2023 - 12 - 16)), Some(DoseStatus::WindowClosed));
    }

    #[test]
    fn catch_up_to_59_months_then_closed() {
        let b = date!(2021 - 03 - 10);
        assert_eq!(status("MR1", b, date!(2026 - 03 - 09)), Some(DoseStatus::Overdue)); // 59 months
        assert_eq!(status("MR1", b, date!(2026 - 03 - 10)), Some(DoseStatus::WindowClosed)); // 60 months
        assert_eq!(status("BCG", b, date!(2022 - 03 - 09)), Some(DoseStatus::Overdue)); // 11 months
        assert_eq!(status("BCG", b, date!(2022 - 03 - 10)), Some(DoseStatus::WindowClosed));
    }

    #[test]
    fn status_list_marks_given_and_lists_other_groups_only_when_given() {
        let b = date!(2026 - 01 - 10);
        let given = vec![("HB0".to_string(), date!(2026 - 01 - 10)), ("TD1".to_string(), date!(2026 - 02 - 01))];
        let s = immunisation_status(b, &given, date!(2026 - 02 - 20));
        assert_eq!(
            s[0],
            AntigenStatus {
                code: "HB0".into(),
                group: AntigenGroup::Anak,
                status: DoseStatus::Given { date: date!(2026 - 01 - 10) }
            }
        );
        assert_eq!(s.iter().find(|a| a.code == "BCG").unwrap().status, DoseStatus::Due);
        assert_eq!(s.iter().find(|a| a.code == "MR1").unwrap().status, DoseStatus::NotYetDue);
        assert!(s.iter().any(|a| a.code == "TD1" && a.group == AntigenGroup::Wus));
        assert!(!s.iter().any(|a| a.code == "HPV1" || a.code == "JE" || a.code == "DT"));
        assert_eq!(s.len(), child_schedule().count() + 1);
    }
}

#[cfg(test)]
mod wrong_answer_tests {
    use super::*;
    use time::macros::date;

    fn all_but(skip: &[&str]) -> Vec<String> {
        child_schedule().map(|a| a.code.clone()).filter(|a| !skip.contains(&a.as_str())).collect()
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

    /// The same child is still flagged for rotavirus while catch-up is possible.
    #[test]
    fn rotavirus_missed_at_five_months() {
        let birth = date!(2024 - 01 - 10);
        let missed = overdue(birth, &all_but(&["RV1"]), date!(2024 - 06 - 12));
        assert_eq!(missed, vec!["RV1".to_string()]);
    }
}
