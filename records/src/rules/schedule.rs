//! The Posyandu's service days and the three lists of a session (issue 12):
//! the H-1 *undangan* list (who is expected at the next service day and why), the
//! service-day register (who was expected, who came, with what the rulebook derives
//! from their entry) and the home-visit list after the session (who was expected and
//! did not come, then who is at risk). `docs/rules.md`, section 31.
//!
//! **Service days.** Calendar months, dates as the phone's local (WIB) date. A month's
//! service days are its explicit dates when the schedule has any entry in that month
//! (cancelled entries count as entries: a month whose only entry is cancelled has no
//! session), else the rule's date ("second Tuesday"; a month without a fifth such
//! weekday has no rule date for `fifth`). H-1 is the day before a service day.
//!
//! **Who is expected** (the undangan list) on a service day, from what was recorded
//! before that day: every child 0–59 months (monthly weighing, the S of SKDN), with
//! vitamin A in the February/August rounds for 6–59 months and the immunisations due or
//! overdue that day; every pregnant woman, woman in nifas and elderly person (their
//! monthly check at the ILP Posyandu); and anyone else the due list names on that day
//! (KEK, T/2T/BGM, KF/KN contacts, a follow-up visit a bidan asked for). Members who
//! moved away or died are on no list ([`super::membership`], applied by the store).
//!
//! The recorded hari buka stays the fact that the session took place
//! ([`super::session`]); the schedule only says when it is expected.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use super::age::age_months;
use super::due::DueReason;
use super::immunisation::{child_schedule, open_status, DoseStatus};
use super::lifestage::LifeStage;
use crate::posyandu::{Schedule, ScheduleRule, Week};

/// How far [`next_service_day`] and [`latest_service_day`] look (months).
const SEARCH_MONTHS: i32 = 24;

fn month_offset(year: i32, month: Month, by: i32) -> (i32, Month) {
    let total = year * 12 + (u8::from(month) as i32 - 1) + by;
    (total.div_euclid(12), Month::try_from((total.rem_euclid(12) + 1) as u8).expect("1..=12"))
}

fn days_in(year: i32, month: Month) -> u8 {
    month.length(year)
}

/// The rule's date in a month (`None` for a fifth weekday the month does not have).
pub fn rule_date(rule: &ScheduleRule, year: i32, month: Month) -> Option<Date> {
    let wd = rule.weekday.weekday();
    match rule.week.number() {
        Some(n) => {
            let first = Date::from_calendar_date(year, month, 1).ok()?;
            let to = (7 + wd.number_days_from_monday() as i64 - first.weekday().number_days_from_monday() as i64) % 7;
            let d = first + Duration::days(to + 7 * (n as i64 - 1));
            (d.month() == month).then_some(d)
        }
        None => {
            debug_assert_eq!(rule.week, Week::Last);
            let last = Date::from_calendar_date(year, month, days_in(year, month)).ok()?;
            let back = (7 + last.weekday().number_days_from_monday() as i64 - wd.number_days_from_monday() as i64) % 7;
            Some(last - Duration::days(back))
        }
    }
}

/// The service days of a month, in order: its explicit (not cancelled) dates when the
/// month has any explicit entry, else the rule's date.
pub fn service_days_in_month(s: &Schedule, year: i32, month: Month) -> Vec<Date> {
    let entries: Vec<(Date, bool)> =
        s.explicit().filter(|(d, _)| d.year() == year && d.month() == month).map(|(d, e)| (d, e.cancelled)).collect();
    if !entries.is_empty() {
        let mut days: Vec<Date> = entries.into_iter().filter(|(_, c)| !c).map(|(d, _)| d).collect();
        days.sort();
        return days;
    }
    s.rule.as_ref().and_then(|r| rule_date(r, year, month)).into_iter().collect()
}

/// The first service day on or after `from` (within two years).
pub fn next_service_day(s: &Schedule, from: Date) -> Option<Date> {
    (0..=SEARCH_MONTHS).find_map(|i| {
        let (y, m) = month_offset(from.year(), from.month(), i);
        service_days_in_month(s, y, m).into_iter().find(|d| *d >= from)
    })
}

/// The last service day on or before `on` (within two years).
pub fn latest_service_day(s: &Schedule, on: Date) -> Option<Date> {
    (0..=SEARCH_MONTHS).find_map(|i| {
        let (y, m) = month_offset(on.year(), on.month(), -i);
        service_days_in_month(s, y, m).into_iter().rev().find(|d| *d <= on)
    })
}

/// Whether `day` is H-1: the day before a service day.
pub fn is_eve(s: &Schedule, day: Date) -> bool {
    next_service_day(s, day + Duration::days(1)) == Some(day + Duration::days(1))
}

/// Why a member is expected at a service day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum InviteReason {
    /// A child 0–59 months: the monthly weighing.
    Penimbangan,
    /// A child 6–59 months without vitamin A in the current February/August round, on a
    /// service day of the round month ([`super::vitamin_a::missed`]).
    VitaminA,
    /// Antigens of the child schedule due or overdue on the day, not yet given.
    Imunisasi(Vec<String>),
    /// A pregnant woman: her monthly check.
    IbuHamil,
    /// A woman in nifas (42 days after a birth).
    IbuNifas,
    /// An elderly person (60+): the monthly check.
    Lansia,
    /// Any other reason of the due list on the day (KEK, T/2T/BGM, KF/KN contact,
    /// the bidan's follow-up), see [`DueReason`].
    Due(DueReason),
}

impl InviteReason {
    pub fn label_id(&self) -> String {
        match self {
            InviteReason::Penimbangan => "Penimbangan bulanan".into(),
            InviteReason::VitaminA => "Kapsul vitamin A (bulan Februari/Agustus)".into(),
            InviteReason::Imunisasi(a) => format!("Imunisasi: {}", a.join(", ")),
            InviteReason::IbuHamil => "Pemeriksaan ibu hamil".into(),
            InviteReason::IbuNifas => "Pemeriksaan ibu nifas".into(),
            InviteReason::Lansia => "Pemeriksaan lansia".into(),
            InviteReason::Due(r) => r.label_id(),
        }
    }
}

/// Antigens of the child schedule due or overdue on `day` for a child born on `birth`
/// who has had `given` (codes): what the session should give.
pub fn immunisations_due(birth: Date, given: &[String], day: Date) -> Vec<String> {
    child_schedule()
        .filter(|a| !given.iter().any(|g| *g == a.code))
        .filter(|a| matches!(open_status(a, birth, day), Some(DoseStatus::Due | DoseStatus::Overdue)))
        .map(|a| a.code.clone())
        .collect()
}

/// What the lists know of one member on a service day (the store gathers it from the
/// rulebook's other rules).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMember {
    pub birth: Date,
    /// Life stage on the service day.
    pub stage: LifeStage,
    /// Due reasons on the service day from what was recorded before it (the session
    /// not yet held): [`super::due::reasons`], KF/KN contacts, follow-ups.
    pub due_before: Vec<DueReason>,
    /// No vitamin A in the current round yet (history before the day).
    pub vitamin_a_missed: bool,
    /// [`immunisations_due`] from history before the day.
    pub immunisations_due: Vec<String>,
    /// Due reasons on the service day with everything recorded (the session held).
    pub due_after: Vec<DueReason>,
    /// Recorded at the session (a hari buka entry dated the service day).
    pub came: bool,
}

/// Why a member is expected at the service day `day` (empty: not invited).
pub fn invite_reasons(m: &SessionMember, day: Date) -> Vec<InviteReason> {
    let mut out = Vec::new();
    let months = age_months(m.birth, day);
    if (0..60).contains(&months) {
        out.push(InviteReason::Penimbangan);
        if m.vitamin_a_missed && super::vitamin_a::is_round_month(day) {
            out.push(InviteReason::VitaminA);
        }
        if !m.immunisations_due.is_empty() {
            out.push(InviteReason::Imunisasi(m.immunisations_due.clone()));
        }
    }
    match m.stage {
        LifeStage::IbuHamil => out.push(InviteReason::IbuHamil),
        LifeStage::IbuNifas => out.push(InviteReason::IbuNifas),
        LifeStage::Lansia => out.push(InviteReason::Lansia),
        _ => {}
    }
    for r in &m.due_before {
        let covered = matches!(
            r,
            DueReason::NotWeighedThisMonth
                | DueReason::ExpectedAtSession
                | DueReason::VitaminAMissed
                | DueReason::ImmunisationMissed(_)
        );
        if !covered {
            out.push(InviteReason::Due(r.clone()));
        }
    }
    out
}

/// The reasons that put a member on the home-visit list as *at risk* after the
/// session: every due reason on the day except not having been weighed (absence is
/// its own section).
pub fn risk_reasons(due_after: &[DueReason]) -> Vec<DueReason> {
    due_after
        .iter()
        .filter(|r| !matches!(r, DueReason::NotWeighedThisMonth | DueReason::ExpectedAtSession))
        .cloned()
        .collect()
}

/// Sections of the home-visit list, in the order the kader works through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeVisitSection {
    /// Expected at the session and not recorded there.
    TidakHadir,
    /// Came (or was not expected) and has a risk reason.
    Berisiko,
}

impl HomeVisitSection {
    pub fn label_id(self) -> &'static str {
        match self {
            HomeVisitSection::TidakHadir => "Tidak hadir di hari buka",
            HomeVisitSection::Berisiko => "Berisiko",
        }
    }
}

/// The member's section of the home-visit list after the session on `day`, if any.
pub fn home_visit_section(m: &SessionMember, day: Date) -> Option<HomeVisitSection> {
    if !m.came && !invite_reasons(m, day).is_empty() {
        Some(HomeVisitSection::TidakHadir)
    } else if !risk_reasons(&m.due_after).is_empty() {
        Some(HomeVisitSection::Berisiko)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posyandu::{DayOfWeek, ServiceDate};
    use time::macros::date;

    fn second_tuesday() -> Schedule {
        Schedule { rule: Some(ScheduleRule { week: Week::Second, weekday: DayOfWeek::Tuesday }), ..Default::default() }
    }

    #[test]
    fn rule_dates() {
        let r = |week, weekday, y, m| rule_date(&ScheduleRule { week, weekday }, y, m);
        assert_eq!(r(Week::Second, DayOfWeek::Tuesday, 2026, Month::March), Some(date!(2026 - 03 - 10)));
        assert_eq!(r(Week::First, DayOfWeek::Sunday, 2026, Month::March), Some(date!(2026 - 03 - 01)));
        assert_eq!(r(Week::Last, DayOfWeek::Tuesday, 2026, Month::March), Some(date!(2026 - 03 - 31)));
        assert_eq!(r(Week::Last, DayOfWeek::Saturday, 2026, Month::February), Some(date!(2026 - 02 - 28)));
        assert_eq!(r(Week::Fifth, DayOfWeek::Tuesday, 2026, Month::March), Some(date!(2026 - 03 - 31)));
        assert_eq!(r(Week::Fifth, DayOfWeek::Monday, 2026, Month::February), None, "February 2026 has 4 Mondays");
        assert_eq!(r(Week::Fifth, DayOfWeek::Sunday, 2028, Month::February), None);
        assert_eq!(r(Week::Fifth, DayOfWeek::Tuesday, 2028, Month::February), Some(date!(2028 - 02 - 29)));
        for (y, m) in [(2026, Month::January), (2026, Month::December), (2027, Month::June)] {
            let d = r(Week::Second, DayOfWeek::Tuesday, y, m).unwrap();
            assert_eq!(d.weekday(), time::Weekday::Tuesday);
            assert!((8..=14).contains(&d.day()), "{d}");
        }
    }

    #[test]
    fn explicit_dates_override_the_rule_of_their_month() {
        let mut s = second_tuesday();
        assert_eq!(service_days_in_month(&s, 2026, Month::March), vec![date!(2026 - 03 - 10)]);
        // Moved to Thursday the 12th.
        s.dates.insert("2026-03-12".into(), ServiceDate { place: Some("Balai RW".into()), ..Default::default() });
        assert_eq!(service_days_in_month(&s, 2026, Month::March), vec![date!(2026 - 03 - 12)]);
        // April cancelled: its only entry is cancelled.
        s.dates.insert("2026-04-14".into(), ServiceDate { cancelled: true, ..Default::default() });
        assert!(service_days_in_month(&s, 2026, Month::April).is_empty());
        assert_eq!(service_days_in_month(&s, 2026, Month::May), vec![date!(2026 - 05 - 12)]);
        // Next and latest service days across those months and the year end.
        assert_eq!(next_service_day(&s, date!(2026 - 03 - 11)), Some(date!(2026 - 03 - 12)));
        assert_eq!(next_service_day(&s, date!(2026 - 03 - 12)), Some(date!(2026 - 03 - 12)));
        assert_eq!(next_service_day(&s, date!(2026 - 03 - 13)), Some(date!(2026 - 05 - 12)));
        assert_eq!(next_service_day(&s, date!(2026 - 12 - 09)), Some(date!(2027 - 01 - 12)));
        assert_eq!(latest_service_day(&s, date!(2026 - 05 - 11)), Some(date!(2026 - 03 - 12)));
        assert_eq!(latest_service_day(&s, date!(2027 - 01 - 11)), Some(date!(2026 - 12 - 08)));
        assert!(is_eve(&s, date!(2026 - 03 - 11)));
        assert!(!is_eve(&s, date!(2026 - 03 - 09)), "the rule's date no longer holds in March");
        assert!(is_eve(&s, date!(2026 - 05 - 11)));
        // No schedule: no service day.
        assert_eq!(next_service_day(&Schedule::default(), date!(2026 - 03 - 01)), None);
    }

    fn member(birth: Date, stage: LifeStage) -> SessionMember {
        SessionMember {
            birth,
            stage,
            due_before: Vec::new(),
            vitamin_a_missed: false,
            immunisations_due: Vec::new(),
            due_after: Vec::new(),
            came: false,
        }
    }

    #[test]
    fn who_is_invited_and_why() {
        let day = date!(2026 - 08 - 11);
        let mut child = member(date!(2025 - 01 - 20), LifeStage::BayiBalita);
        child.vitamin_a_missed = true;
        child.immunisations_due = vec!["MR1".into()];
        child.due_before = vec![DueReason::ExpectedAtSession, DueReason::VitaminAMissed, DueReason::TwoT];
        assert_eq!(
            invite_reasons(&child, day),
            vec![
                InviteReason::Penimbangan,
                InviteReason::VitaminA,
                InviteReason::Imunisasi(vec!["MR1".into()]),
                InviteReason::Due(DueReason::TwoT)
            ]
        );
        // Outside a round month no vitamin A is asked for.
        assert!(!invite_reasons(&child, date!(2026 - 09 - 08)).contains(&InviteReason::VitaminA));
        // A 6-year-old is not weighed monthly; an adult with nothing due is not invited.
        assert!(invite_reasons(&member(date!(2020 - 01 - 01), LifeStage::UsiaSekolahRemaja), day).is_empty());
        assert!(invite_reasons(&member(date!(1990 - 01 - 01), LifeStage::Dewasa), day).is_empty());
        assert_eq!(
            invite_reasons(&member(date!(1995 - 01 - 01), LifeStage::IbuHamil), day),
            vec![InviteReason::IbuHamil]
        );
        assert_eq!(invite_reasons(&member(date!(1950 - 01 - 01), LifeStage::Lansia), day), vec![InviteReason::Lansia]);
        let mut adult = member(date!(1990 - 01 - 01), LifeStage::Dewasa);
        adult.due_before = vec![DueReason::FollowUpVisit("2026-08-20".into())];
        assert_eq!(invite_reasons(&adult, day), vec![InviteReason::Due(DueReason::FollowUpVisit("2026-08-20".into()))]);
    }

    #[test]
    fn home_visit_sections() {
        let day = date!(2026 - 09 - 08);
        let mut absent = member(date!(2025 - 01 - 20), LifeStage::BayiBalita);
        absent.due_after = vec![DueReason::NotWeighedThisMonth];
        assert_eq!(home_visit_section(&absent, day), Some(HomeVisitSection::TidakHadir));
        let mut came_2t = member(date!(2025 - 01 - 20), LifeStage::BayiBalita);
        came_2t.came = true;
        came_2t.due_after = vec![DueReason::TwoT];
        assert_eq!(home_visit_section(&came_2t, day), Some(HomeVisitSection::Berisiko));
        let mut came_fine = came_2t.clone();
        came_fine.due_after = Vec::new();
        assert_eq!(home_visit_section(&came_fine, day), None);
        // Not expected, not come, nothing due: not listed; KN due: at risk.
        let mut adult = member(date!(1990 - 01 - 01), LifeStage::Dewasa);
        assert_eq!(home_visit_section(&adult, day), None);
        adult.due_after = vec![DueReason::KunjunganNifas("KF1".into())];
        assert_eq!(home_visit_section(&adult, day), Some(HomeVisitSection::Berisiko));
        assert!(HomeVisitSection::TidakHadir < HomeVisitSection::Berisiko);
    }

    #[test]
    fn immunisations_due_on_the_day() {
        // Born 2026-01-01: on 2026-03-10 (2 months) the 2-month doses are due.
        let due = immunisations_due(date!(2026 - 01 - 01), &["HB0".into(), "BCG".into()], date!(2026 - 03 - 10));
        assert!(due.contains(&"POLIO1".to_string()) || due.contains(&"POLIO2".to_string()), "{due:?}");
        assert!(!due.contains(&"BCG".to_string()));
        assert!(!due.contains(&"HB0".to_string()));
    }
}
