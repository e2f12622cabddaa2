//! Pregnancy facts: status on a day, when an open episode ends, KEK, HPL and
//! gestational age, and who may be recorded pregnant.
//!
//! Sources are in `docs/rules.md` ("Pregnancy").

use time::Date;

use crate::growth::Sex;

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
/// due date (HPL), then as over.
pub const OPEN_EPISODE_GRACE_DAYS: i64 = 28;

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
/// recorded, the due date (HPL) + [`OPEN_EPISODE_GRACE_DAYS`].
pub fn episode_end(due_date: Date, ended: Option<Date>) -> Date {
    ended.unwrap_or(due_date + time::Duration::days(OPEN_EPISODE_GRACE_DAYS))
}

/// LiLA threshold for KEK in pregnancy, cm.
pub const KEK_MUAC_CM: f64 = 23.5;

/// KEK (kurang energi kronis) in pregnancy: LiLA below [`KEK_MUAC_CM`].
pub fn is_kek(muac_cm: f64) -> bool {
    muac_cm < KEK_MUAC_CM
}

/// Youngest age, in completed months, at which the app offers to record a pregnancy
/// (girls from 10 years: ILP's adolescent stage starts at 10).
pub const PREGNANCY_MIN_AGE_MONTHS: i32 = 10 * 12;

/// Whether a pregnancy may be recorded for a person of this sex and age.
pub fn may_record_pregnancy(sex: Sex, age_months: i32) -> bool {
    sex == Sex::Female && age_months >= PREGNANCY_MIN_AGE_MONTHS
}

/// Completed weeks of gestation on `today` from the LMP (HPHT); `None` before the LMP.
pub fn gestational_weeks(lmp: Date, today: Date) -> Option<i64> {
    let days = (today - lmp).whole_days();
    (days >= 0).then_some(days / 7)
}

/// Naegele's rule: LMP + 280 days.
pub fn estimated_due_date(lmp: Date) -> Date {
    lmp + time::Duration::days(280)
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
        let last = due + time::Duration::days(OPEN_EPISODE_GRACE_DAYS);
        assert_eq!(episode_end(due, None), last);
        assert_eq!(pregnancy_status([(lmp, due, None)], last), PregnancyStatus::Pregnant);
        assert_eq!(pregnancy_status([(lmp, due, None)], last + time::Duration::days(1)), PregnancyStatus::None);
        let end = date!(2026 - 09 - 30);
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
