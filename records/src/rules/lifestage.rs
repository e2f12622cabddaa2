//! ILP life-cycle stage (klaster), derived from birth date and pregnancy status.
//!
//! Source: Juknis ILP (Kemenkes 2023): ibu hamil, bayi–balita–anak prasekolah
//! (0–< 6 years), usia sekolah dan remaja (6–< 18), usia dewasa (18–< 59), lansia (60+);
//! nifas 42 days after the end of a pregnancy.

use serde::{Deserialize, Serialize};
use time::Date;

pub use super::age::{age_months, age_years};
use super::pregnancy::nifas_days;
pub use super::pregnancy::{pregnancy_status, PregnancyStatus};

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

/// The stage of a person born on `birth`, on day `on`.
pub fn life_stage(birth: Date, on: Date, pregnancy: PregnancyStatus) -> LifeStage {
    match pregnancy {
        PregnancyStatus::Pregnant => return LifeStage::IbuHamil,
        PregnancyStatus::Ended { days_ago } if (0..=nifas_days()).contains(&days_ago) => return LifeStage::IbuNifas,
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
}
