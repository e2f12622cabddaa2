//! LiLA (MUAC) screening of children 6–59 months: the colour band of the LiLA tape.
//! Thresholds in `records/data/rules/muac.json` (sources there and in `docs/rules.md`).
//! Pregnant women's LiLA (KEK) is [`super::pregnancy::is_kek`].

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::table::{self, Sourced};

#[derive(Debug, Deserialize)]
pub struct MuacRules {
    pub min_age_months: Sourced<i32>,
    pub max_age_months: Sourced<i32>,
    pub red_below_cm: Sourced<f64>,
    pub yellow_below_cm: Sourced<f64>,
}

/// The child LiLA rule table.
pub fn rules() -> &'static MuacRules {
    static RULES: OnceLock<MuacRules> = OnceLock::new();
    RULES.get_or_init(|| table::values("muac"))
}

/// The band of a child's LiLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MuacBand {
    /// Below the red threshold: gizi buruk (severe acute malnutrition), refer.
    Merah,
    /// Gizi kurang (moderate acute malnutrition).
    Kuning,
    /// Normal.
    Hijau,
}

impl MuacBand {
    /// Indonesian label with the band's limits, from the table.
    pub fn label_id(self) -> String {
        let r = rules();
        let cm = |x: f64| format!("{x:.1}").replace('.', ",");
        match self {
            MuacBand::Merah => format!("LiLA merah (< {} cm): gizi buruk", cm(r.red_below_cm.value)),
            MuacBand::Kuning => {
                format!("LiLA kuning ({}–< {} cm): gizi kurang", cm(r.red_below_cm.value), cm(r.yellow_below_cm.value))
            }
            MuacBand::Hijau => format!("LiLA hijau (≥ {} cm)", cm(r.yellow_below_cm.value)),
        }
    }
}

/// The band of a child's LiLA at `age_days` days of age; `None` outside the screened
/// ages (6–59 months) or for a value that is not a finite positive number. Months are
/// WHO's completed months from the exact age in days (floor(days / 30.4375)), as for
/// the other anthropometric indices (`docs/rules.md`).
pub fn child_muac_band(age_days: i64, muac_cm: f64) -> Option<MuacBand> {
    let r = rules();
    if age_days < 0 {
        return None;
    }
    let age_months = crate::growth::age_months_completed(age_days);
    if age_months < i64::from(r.min_age_months.value) || age_months > i64::from(r.max_age_months.value) {
        return None;
    }
    if !(muac_cm.is_finite() && muac_cm > 0.0) {
        return None;
    }
    Some(if muac_cm < r.red_below_cm.value {
        MuacBand::Merah
    } else if muac_cm < r.yellow_below_cm.value {
        MuacBand::Kuning
    } else {
        MuacBand::Hijau
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_ages() {
        // 6 completed months = day 183 (182.6 days); 60 months = day 1827 (1826.25).
        assert_eq!(child_muac_band(182, 10.0), None);
        assert_eq!(child_muac_band(183, 11.4), Some(MuacBand::Merah));
        assert_eq!(child_muac_band(183, 11.5), Some(MuacBand::Kuning));
        assert_eq!(child_muac_band(1826, 12.4), Some(MuacBand::Kuning));
        assert_eq!(child_muac_band(1826, 12.5), Some(MuacBand::Hijau));
        assert_eq!(child_muac_band(1827, 10.0), None);
        assert_eq!(child_muac_band(400, f64::NAN), None);
        assert_eq!(child_muac_band(-1, 10.0), None);
        assert_eq!(MuacBand::Kuning.label_id(), "LiLA kuning (11,5–< 12,5 cm): gizi kurang");
    }
}
