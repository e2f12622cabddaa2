//! ILP life-cycle stage (klaster), derived from birth date and pregnancy status.

use serde::{Deserialize, Serialize};
use time::Date;

/// The life-cycle stages a Posyandu ILP serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeStage {
    /// Pregnant (ibu hamil).
    IbuHamil,
    /// Up to 42 days after a pregnancy ended (ibu nifas).
    IbuNifas,
    /// Infants, under-fives and pre-school children, 0 to < 6 years.
    BayiBalita,
    /// School-age children and adolescents, 6 to < 18 years.
    UsiaSekolahRemaja,
    /// Adults, 18 to < 60 years.
    Dewasa,
    /// Elderly, 60 years and over.
    Lansia,
}

impl LifeStage {
    pub const ALL: [LifeStage; 6] = [
        LifeStage::IbuHamil,
        LifeStage::IbuNifas,
        LifeStage::BayiBalita,
        LifeStage::UsiaSekolahRemaja,
        LifeStage::Dewasa,
        LifeStage::Lansia,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifeStage::IbuHamil => "ibu_hamil",
            LifeStage::IbuNifas => "ibu_nifas",
            LifeStage::BayiBalita => "bayi_balita",
            LifeStage::UsiaSekolahRemaja => "usia_sekolah_remaja",
            LifeStage::Dewasa => "dewasa",
            LifeStage::Lansia => "lansia",
        }
    }

    pub fn parse(s: &str) -> Option<LifeStage> {
        LifeStage::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label_id(self) -> &'static str {
        match self {
            LifeStage::IbuHamil => "Ibu hamil",
            LifeStage::IbuNifas => "Ibu nifas",
            LifeStage::BayiBalita => "Bayi, balita dan anak prasekolah",
            LifeStage::UsiaSekolahRemaja => "Usia sekolah dan remaja",
            LifeStage::Dewasa => "Usia dewasa",
            LifeStage::Lansia => "Lansia",
        }
    }
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
        Some((_, due, None)) if (today - due).whole_days() <= OPEN_EPISODE_GRACE_DAYS => PregnancyStatus::Pregnant,
        Some(_) => PregnancyStatus::None,
    }
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

/// The stage of a person born on `birth`, on day `on`.
pub fn life_stage(birth: Date, on: Date, pregnancy: PregnancyStatus) -> LifeStage {
    match pregnancy {
        PregnancyStatus::Pregnant => return LifeStage::IbuHamil,
        PregnancyStatus::Ended { days_ago } if (0..=42).contains(&days_ago) => return LifeStage::IbuNifas,
        _ => {}
    }
    match age_years(birth, on) {
        i32::MIN..=5 => LifeStage::BayiBalita,
        6..=17 => LifeStage::UsiaSekolahRemaja,
        18..=59 => LifeStage::Dewasa,
        _ => LifeStage::Lansia,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn stages_follow_age_boundaries() {
        let on = date!(2026 - 11 - 23);
        let none = PregnancyStatus::None;
        assert_eq!(life_stage(date!(2026 - 01 - 01), on, none), LifeStage::BayiBalita);
        assert_eq!(life_stage(date!(2020 - 11 - 24), on, none), LifeStage::BayiBalita);
        assert_eq!(life_stage(date!(2020 - 11 - 23), on, none), LifeStage::UsiaSekolahRemaja);
        assert_eq!(life_stage(date!(2008 - 11 - 23), on, none), LifeStage::Dewasa);
        assert_eq!(life_stage(date!(1966 - 11 - 24), on, none), LifeStage::Dewasa);
        assert_eq!(life_stage(date!(1966 - 11 - 23), on, none), LifeStage::Lansia);
    }

    #[test]
    fn pregnancy_overrides_age() {
        let on = date!(2026 - 11 - 23);
        let b = date!(1995 - 03 - 02);
        assert_eq!(life_stage(b, on, PregnancyStatus::Pregnant), LifeStage::IbuHamil);
        assert_eq!(life_stage(b, on, PregnancyStatus::Ended { days_ago: 42 }), LifeStage::IbuNifas);
        assert_eq!(life_stage(b, on, PregnancyStatus::Ended { days_ago: 43 }), LifeStage::Dewasa);
    }

    #[test]
    fn months_count_completed_months() {
        assert_eq!(age_months(date!(2026 - 01 - 31), date!(2026 - 02 - 28)), 0);
        assert_eq!(age_months(date!(2026 - 01 - 15), date!(2026 - 02 - 15)), 1);
        assert_eq!(age_months(date!(2021 - 11 - 23), date!(2026 - 11 - 23)), 60);
    }
}
