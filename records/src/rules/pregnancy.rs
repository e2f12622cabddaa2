//! Pregnancy facts: status on a day, when an open episode ends, KEK, HPL and
//! gestational age, and who may be recorded pregnant.
//!
//! Sources are in `docs/rules.md` ("Pregnancy").

use std::sync::OnceLock;

use serde::Deserialize;
use time::Date;

use super::table::{self, Sourced};
use crate::growth::Sex;

/// The thresholds of `records/data/rules/pregnancy.json`.
#[derive(Debug, Deserialize)]
pub struct PregnancyRules {
    pub kek_muac_cm: Sourced<f64>,
    pub naegele_days: Sourced<i64>,
    pub open_episode_grace_days: Sourced<i64>,
    pub nifas_days: Sourced<i64>,
    pub min_age_months_to_record: Sourced<i32>,
}

/// The pregnancy rule table.
pub fn rules() -> &'static PregnancyRules {
    static RULES: OnceLock<PregnancyRules> = OnceLock::new();
    RULES.get_or_init(|| table::values("pregnancy"))
}

/// Pregnancy status of a member on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PregnancyStatus {
    None,
    Pregnant,
    /// Days since the pregnancy ended.
    Ended {
        days_ago: i64,
    },
}

/// An episode never marked ended counts as ongoing until this many days after its
/// due date (HPL), then as over (table value `open_episode_grace_days`).
pub fn open_episode_grace_days() -> i64 {
    rules().open_episode_grace_days.value
}

/// Days after the end of a pregnancy a woman is ibu nifas (table value `nifas_days`).
pub fn nifas_days() -> i64 {
    rules().nifas_days.value
}

/// Pregnancy status on `today` from a member's episodes `(lmp, due_date, ended)`:
/// the latest episode by LMP decides.
pub fn pregnancy_status(
    episodes: impl IntoIterator<Item = (Date, Date, Option<Date>)>,
    today: Date,
) -> PregnancyStatus {
    match episodes.into_iter().max_by_key(|e| e.0) {
        None => PregnancyStatus::None,
        Some((_, _, Some(end))) => PregnancyStatus::Ended { days_ago: (today - end).whole_days() },
        Some((_, due, None)) if today <= episode_end(due, None) => PregnancyStatus::Pregnant,
        Some(_) => PregnancyStatus::None,
    }
}

/// The last day an episode counts as ongoing: the recorded end, or, when none was
/// recorded, the due date (HPL) + [`open_episode_grace_days`].
pub fn episode_end(due_date: Date, ended: Option<Date>) -> Date {
    ended.unwrap_or(due_date + time::Duration::days(open_episode_grace_days()))
}

/// The state of one episode on a day, as the app shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeState {
    /// Pregnant (up to HPL + the grace when no end is recorded).
    Ongoing,
    /// The end (birth or loss) was recorded.
    Ended,
    /// No end recorded and HPL + the grace has passed: no longer counted as pregnant;
    /// the kader should record how it ended.
    EndNotRecorded,
}

impl EpisodeState {
    pub fn label_id(self) -> &'static str {
        match self {
            EpisodeState::Ongoing => "Sedang hamil",
            EpisodeState::Ended => "Kehamilan selesai",
            EpisodeState::EndNotRecorded => "HPL sudah lewat: catat persalinan",
        }
    }
}

/// The state of an episode with this due date and recorded end on `today`.
pub fn episode_state(due_date: Date, ended: Option<Date>, today: Date) -> EpisodeState {
    match ended {
        Some(_) => EpisodeState::Ended,
        None if today <= episode_end(due_date, None) => EpisodeState::Ongoing,
        None => EpisodeState::EndNotRecorded,
    }
}

/// LiLA threshold for KEK in pregnancy, cm (table value `kek_muac_cm`).
pub fn kek_muac_cm() -> f64 {
    rules().kek_muac_cm.value
}

/// KEK (kurang energi kronis) in pregnancy: LiLA below [`kek_muac_cm`].
pub fn is_kek(muac_cm: f64) -> bool {
    muac_cm < kek_muac_cm()
}

/// Youngest age, in completed months, at which the app offers to record a pregnancy
/// (table value `min_age_months_to_record`: ILP's adolescent stage starts at 10).
pub fn pregnancy_min_age_months() -> i32 {
    rules().min_age_months_to_record.value
}

/// Whether a pregnancy may be recorded for a person of this sex and age.
pub fn may_record_pregnancy(sex: Sex, age_months: i32) -> bool {
    sex == Sex::Female && age_months >= pregnancy_min_age_months()
}

/// Completed weeks of gestation on `today` from the LMP (HPHT); `None` before the LMP.
pub fn gestational_weeks(lmp: Date, today: Date) -> Option<i64> {
    let days = (today - lmp).whole_days();
    (days >= 0).then_some(days / 7)
}

/// Naegele's rule: LMP + 280 days (table value `naegele_days`).
pub fn estimated_due_date(lmp: Date) -> Date {
    lmp + time::Duration::days(rules().naegele_days.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn open_episode_ends_after_the_grace_and_the_report_agrees() {
        let lmp = date!(2026 - 01 - 01);
        let due = estimated_due_date(lmp);
        assert_eq!(due, date!(2026 - 10 - 08));
        let last = due + time::Duration::days(open_episode_grace_days());
        assert_eq!(open_episode_grace_days(), 28);
        assert_eq!(episode_end(due, None), last);
        assert_eq!(pregnancy_status([(lmp, due, None)], last), PregnancyStatus::Pregnant);
        assert_eq!(pregnancy_status([(lmp, due, None)], last + time::Duration::days(1)), PregnancyStatus::None);
        assert_eq!(episode_state(due, None, last), EpisodeState::Ongoing);
        assert_eq!(episode_state(due, None, last + time::Duration::days(1)), EpisodeState::EndNotRecorded);
        let end = date!(2026 - 09 - 30);
        assert_eq!(episode_state(due, Some(end), last), EpisodeState::Ended);
        assert_eq!(episode_end(due, Some(end)), end);
        assert_eq!(
            pregnancy_status([(lmp, due, Some(end))], date!(2026 - 10 - 02)),
            PregnancyStatus::Ended { days_ago: 2 }
        );
    }

    #[test]
    fn kek_and_gestation() {
        assert!(!is_kek(23.5));
        assert!(is_kek(23.4));
        assert_eq!(gestational_weeks(date!(2026 - 01 - 01), date!(2026 - 01 - 14)), Some(1));
        assert_eq!(gestational_weeks(date!(2026 - 01 - 01), date!(2025 - 12 - 31)), None);
        assert!(may_record_pregnancy(Sex::Female, 120));
        assert!(!may_record_pregnancy(Sex::Female, 119));
        assert!(!may_record_pregnancy(Sex::Male, 300));
    }
}
