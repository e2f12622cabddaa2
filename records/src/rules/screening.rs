//! Adult screening (PTM risk factors, Posbindu / ILP dewasa–lansia): hypertension,
//! high blood glucose (fasting or random), adult IMT and central obesity by waist
//! circumference, from 15 years.
//!
//! The thresholds are data, `records/data/rules/screening.json`, each with its source,
//! embedded at build time and parsed once ([`thresholds`]). Rule, sources, tests and
//! doubts: `docs/rules.md`, "Adult screening".

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::growth::{round_half_away, Sex};
use crate::model::Measurements;
use crate::rules::age::age_years;
use crate::rules::table::{self, Sourced};

/// How a blood glucose was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlucoseKind {
    /// Random (gula darah sewaktu, GDS): any time of day. An absent kind reads as this.
    Sewaktu,
    /// Fasting (gula darah puasa, GDP): after at least 8 hours without food.
    Puasa,
}

impl GlucoseKind {
    /// The kind of a reading whose kind was not recorded (older documents): sewaktu.
    pub fn or_default(kind: Option<GlucoseKind>) -> GlucoseKind {
        kind.unwrap_or(GlucoseKind::Sewaktu)
    }
    pub fn code(self) -> &'static str {
        match self {
            GlucoseKind::Sewaktu => "sewaktu",
            GlucoseKind::Puasa => "puasa",
        }
    }
    /// Indonesian label ("Gula darah sewaktu", "Gula darah puasa").
    pub fn label_id(self) -> &'static str {
        match self {
            GlucoseKind::Sewaktu => "Gula darah sewaktu",
            GlucoseKind::Puasa => "Gula darah puasa",
        }
    }
}

/// Adult IMT (BMI) category (Permenkes 41/2014, Kemenkes P2PTM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImtCategory {
    Kurus,
    Normal,
    /// Kelebihan berat badan tingkat ringan (overweight).
    Gemuk,
    /// Kelebihan berat badan tingkat berat (obese).
    Obesitas,
}

impl ImtCategory {
    pub fn code(self) -> &'static str {
        match self {
            ImtCategory::Kurus => "kurus",
            ImtCategory::Normal => "normal",
            ImtCategory::Gemuk => "gemuk",
            ImtCategory::Obesitas => "obesitas",
        }
    }
    pub fn label_id(self) -> &'static str {
        match self {
            ImtCategory::Kurus => "Kurus",
            ImtCategory::Normal => "Normal",
            ImtCategory::Gemuk => "Gemuk",
            ImtCategory::Obesitas => "Obesitas",
        }
    }
}

/// One IMT band: `below` (strictly under), `up_to` (at most), or neither (the rest).
#[derive(Debug, Clone, Deserialize)]
pub struct ImtBand {
    pub category: ImtCategory,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub up_to: Option<f64>,
}

/// The screening rule table (`records/data/rules/screening.json`), every value with its
/// source.
#[derive(Debug, Clone, Deserialize)]
pub struct Thresholds {
    pub min_age_years: Sourced<i32>,
    pub hypertension_systolic_mmhg: Sourced<u16>,
    pub hypertension_diastolic_mmhg: Sourced<u16>,
    pub glucose_fasting_mg_dl: Sourced<f64>,
    pub glucose_random_mg_dl: Sourced<f64>,
    pub imt_rounding_decimals: Sourced<u32>,
    pub imt_bands: Sourced<Vec<ImtBand>>,
    pub waist_male_over_cm: Sourced<f64>,
    pub waist_female_over_cm: Sourced<f64>,
}

/// The embedded table, parsed on first use (a table that does not parse is a build
/// defect caught by `rules::table`'s test and [`tests::table_parses_and_every_rule_has_a_source`]).
pub fn thresholds() -> &'static Thresholds {
    static T: OnceLock<Thresholds> = OnceLock::new();
    T.get_or_init(|| table::values("screening"))
}

/// Youngest age, in completed years, screened with the adult rules.
pub fn min_age_years() -> i32 {
    thresholds().min_age_years.value
}

/// Hypertension from a reading: systolic ≥ threshold or diastolic ≥ threshold. `None`
/// without any value.
pub fn is_hypertension(systolic_mmhg: Option<u16>, diastolic_mmhg: Option<u16>) -> Option<bool> {
    let t = thresholds();
    if systolic_mmhg.is_none() && diastolic_mmhg.is_none() {
        return None;
    }
    Some(
        systolic_mmhg.is_some_and(|s| s >= t.hypertension_systolic_mmhg.value)
            || diastolic_mmhg.is_some_and(|d| d >= t.hypertension_diastolic_mmhg.value),
    )
}

/// The glucose threshold of a kind of reading, mg/dL (at or above: high).
pub fn glucose_threshold_mg_dl(kind: GlucoseKind) -> f64 {
    let t = thresholds();
    match kind {
        GlucoseKind::Puasa => t.glucose_fasting_mg_dl.value,
        GlucoseKind::Sewaktu => t.glucose_random_mg_dl.value,
    }
}

/// High blood glucose: fasting ≥ 126 or random ≥ 200 mg/dL (the table's values).
pub fn is_high_glucose(mg_dl: f64, kind: GlucoseKind) -> bool {
    mg_dl.is_finite() && mg_dl >= glucose_threshold_mg_dl(kind)
}

/// IMT = weight (kg) / height (m)², rounded as the table is written (one decimal).
/// `None` without both values or for a non-positive height.
pub fn imt(weight_kg: Option<f64>, height_cm: Option<f64>) -> Option<f64> {
    let (w, h) = (weight_kg?, height_cm?);
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0) {
        return None;
    }
    let m = h / 100.0;
    Some(round_half_away(w / (m * m), thresholds().imt_rounding_decimals.value))
}

/// The adult IMT category of a (rounded) IMT.
pub fn imt_category(imt: f64) -> ImtCategory {
    let bands = &thresholds().imt_bands.value;
    for b in bands {
        match (b.below, b.up_to) {
            (Some(below), _) if imt < below => return b.category,
            (None, Some(up_to)) if imt <= up_to => return b.category,
            (None, None) => return b.category,
            _ => {}
        }
    }
    // The table ends with an open band; a table without one leaves the top at its last band.
    bands.last().map_or(ImtCategory::Obesitas, |b| b.category)
}

/// The waist circumference above which a person has central obesity, cm.
pub fn waist_threshold_cm(sex: Sex) -> f64 {
    let t = thresholds();
    match sex {
        Sex::Male => t.waist_male_over_cm.value,
        Sex::Female => t.waist_female_over_cm.value,
    }
}

/// Central obesity (obesitas sentral): waist circumference above the threshold of the sex.
pub fn is_central_obesity(sex: Sex, waist_cm: f64) -> bool {
    waist_cm.is_finite() && waist_cm > waist_threshold_cm(sex)
}

/// What the screening rules say about one person's measurements at one visit.
/// Every flag is `None` when not measured, or when the person is younger than
/// [`min_age_years`] (the adult thresholds do not apply to children).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScreeningResult {
    /// Completed years at the visit.
    pub age_years: i32,
    /// The adult screening rules apply (age ≥ 15 years).
    pub applies: bool,
    pub hypertension: Option<bool>,
    /// Kind of the glucose reading (absent kind = sewaktu); `None` without a reading.
    pub glucose_kind: Option<GlucoseKind>,
    pub high_glucose: Option<bool>,
    /// IMT rounded to one decimal.
    pub imt: Option<f64>,
    pub imt_category: Option<ImtCategory>,
    pub central_obesity: Option<bool>,
}

/// Screens one person (sex, birth date) measured on `on`.
pub fn screen(sex: Sex, birth: Date, on: Date, m: &Measurements) -> ScreeningResult {
    let age = age_years(birth, on);
    let applies = on >= birth && age >= min_age_years();
    if !applies {
        return ScreeningResult { age_years: age, ..Default::default() };
    }
    let glucose = m.blood_glucose_mg_dl.filter(|g| g.is_finite());
    let kind = glucose.map(|_| GlucoseKind::or_default(m.blood_glucose_kind));
    let imt = imt(m.weight_kg, m.length_height_cm);
    ScreeningResult {
        age_years: age,
        applies,
        hypertension: is_hypertension(m.bp_systolic_mmhg, m.bp_diastolic_mmhg),
        glucose_kind: kind,
        high_glucose: glucose.zip(kind).map(|(g, k)| is_high_glucose(g, k)),
        imt,
        imt_category: imt.map(imt_category),
        central_obesity: m.waist_cm.filter(|w| w.is_finite()).map(|w| is_central_obesity(sex, w)),
    }
}

/// Indonesian text of the thresholds, for report headers and labels, built from the
/// table (so a change of the table changes the text).
pub fn hypertension_text() -> String {
    let t = thresholds();
    format!(
        "sistolik ≥ {} mmHg atau diastolik ≥ {} mmHg",
        t.hypertension_systolic_mmhg.value, t.hypertension_diastolic_mmhg.value
    )
}

pub fn glucose_text() -> String {
    format!(
        "gula darah puasa ≥ {} mg/dL atau sewaktu ≥ {} mg/dL",
        glucose_threshold_mg_dl(GlucoseKind::Puasa),
        glucose_threshold_mg_dl(GlucoseKind::Sewaktu)
    )
}

pub fn imt_text() -> String {
    let mut parts = Vec::new();
    // The previous band's bound: inclusive after a `below` band, exclusive after `up_to`.
    let mut lower: Option<(f64, bool)> = None;
    for b in &thresholds().imt_bands.value {
        let name = b.category.label_id().to_lowercase();
        let from = |(l, inclusive): (f64, bool)| if inclusive { id_num(l) } else { format!("> {}", id_num(l)) };
        let text = match (b.below, b.up_to, lower) {
            (Some(x), _, _) => format!("{name} < {}", id_num(x)),
            (None, Some(x), Some(l)) => format!("{name} {}–{}", from(l), id_num(x)),
            (None, Some(x), None) => format!("{name} ≤ {}", id_num(x)),
            (None, None, Some((l, _))) => format!("{name} > {}", id_num(l)),
            (None, None, None) => name,
        };
        lower = b.below.map(|x| (x, true)).or(b.up_to.map(|x| (x, false))).or(lower);
        parts.push(text);
    }
    format!("IMT {} (usia ≥ {} tahun)", parts.join("; "), min_age_years())
}

pub fn waist_text() -> String {
    format!(
        "lingkar perut > {} cm (laki-laki), > {} cm (perempuan)",
        id_num(waist_threshold_cm(Sex::Male)),
        id_num(waist_threshold_cm(Sex::Female))
    )
}

/// A number with a decimal comma when it has a fraction ("18,5", "90").
fn id_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        x.to_string().replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn table_parses_and_every_rule_has_a_source() {
        let t = thresholds();
        assert_eq!(t.min_age_years.value, 15);
        let sources = [
            &t.min_age_years.source,
            &t.hypertension_systolic_mmhg.source,
            &t.hypertension_diastolic_mmhg.source,
            &t.glucose_fasting_mg_dl.source,
            &t.glucose_random_mg_dl.source,
            &t.imt_rounding_decimals.source,
            &t.imt_bands.source,
            &t.waist_male_over_cm.source,
            &t.waist_female_over_cm.source,
        ];
        assert!(sources.iter().all(|s| s.len() > 40), "a rule without its source");
        let bands = &t.imt_bands.value;
        assert!(bands.last().is_some_and(|b| b.below.is_none() && b.up_to.is_none()), "open top band");
    }

    #[test]
    fn hypertension_at_and_below_the_thresholds() {
        assert_eq!(is_hypertension(Some(140), Some(80)), Some(true));
        assert_eq!(is_hypertension(Some(139), Some(89)), Some(false));
        assert_eq!(is_hypertension(Some(120), Some(90)), Some(true));
        assert_eq!(is_hypertension(None, Some(90)), Some(true));
        assert_eq!(is_hypertension(Some(139), None), Some(false));
        assert_eq!(is_hypertension(None, None), None);
    }

    #[test]
    fn fasting_and_random_glucose_have_their_own_threshold() {
        assert!(is_high_glucose(150.0, GlucoseKind::Puasa), "fasting 150 is high");
        assert!(!is_high_glucose(150.0, GlucoseKind::Sewaktu), "random 150 is not");
        assert!(is_high_glucose(126.0, GlucoseKind::Puasa));
        assert!(!is_high_glucose(125.9, GlucoseKind::Puasa));
        assert!(is_high_glucose(200.0, GlucoseKind::Sewaktu));
        assert!(!is_high_glucose(199.9, GlucoseKind::Sewaktu));
        assert!(!is_high_glucose(f64::NAN, GlucoseKind::Puasa));
        assert_eq!(GlucoseKind::or_default(None), GlucoseKind::Sewaktu);
    }

    #[test]
    fn imt_bands_on_the_rounded_value() {
        // 160 cm: 64.0 kg → 25.0 (normal), 64.2 kg → 25.08 → 25.1 (gemuk).
        assert_eq!(imt(Some(64.0), Some(160.0)), Some(25.0));
        assert_eq!(imt(Some(64.2), Some(160.0)), Some(25.1));
        assert_eq!(imt_category(18.4), ImtCategory::Kurus);
        assert_eq!(imt_category(18.5), ImtCategory::Normal);
        assert_eq!(imt_category(25.0), ImtCategory::Normal);
        assert_eq!(imt_category(25.1), ImtCategory::Gemuk);
        assert_eq!(imt_category(27.0), ImtCategory::Gemuk);
        assert_eq!(imt_category(27.1), ImtCategory::Obesitas);
        assert_eq!(imt(Some(60.0), None), None);
        assert_eq!(imt(Some(60.0), Some(0.0)), None);
    }

    #[test]
    fn waist_by_sex() {
        assert!(!is_central_obesity(Sex::Male, 90.0));
        assert!(is_central_obesity(Sex::Male, 90.1));
        assert!(!is_central_obesity(Sex::Female, 80.0));
        assert!(is_central_obesity(Sex::Female, 80.5));
    }

    #[test]
    fn screen_applies_from_15_years() {
        let m = Measurements {
            bp_systolic_mmhg: Some(150),
            bp_diastolic_mmhg: Some(95),
            blood_glucose_mg_dl: Some(150.0),
            blood_glucose_kind: Some(GlucoseKind::Puasa),
            weight_kg: Some(70.0),
            length_height_cm: Some(160.0),
            waist_cm: Some(85.0),
            ..Default::default()
        };
        let birth = date!(2011 - 03 - 10);
        let child = screen(Sex::Female, birth, date!(2026 - 03 - 09), &m);
        assert_eq!(child, ScreeningResult { age_years: 14, ..Default::default() });
        let r = screen(Sex::Female, birth, date!(2026 - 03 - 10), &m);
        assert!(r.applies);
        assert_eq!(r.hypertension, Some(true));
        assert_eq!((r.glucose_kind, r.high_glucose), (Some(GlucoseKind::Puasa), Some(true)));
        assert_eq!((r.imt, r.imt_category), (Some(27.3), Some(ImtCategory::Obesitas)));
        assert_eq!(r.central_obesity, Some(true));
        let plain = screen(Sex::Male, birth, date!(2026 - 03 - 10), &Measurements::default());
        assert_eq!(plain, ScreeningResult { age_years: 15, applies: true, ..Default::default() });
    }

    #[test]
    fn texts_come_from_the_table() {
        assert_eq!(hypertension_text(), "sistolik ≥ 140 mmHg atau diastolik ≥ 90 mmHg");
        assert_eq!(glucose_text(), "gula darah puasa ≥ 126 mg/dL atau sewaktu ≥ 200 mg/dL");
        assert_eq!(imt_text(), "IMT kurus < 18,5; normal 18,5–25; gemuk > 25–27; obesitas > 27 (usia ≥ 15 tahun)");
        assert_eq!(waist_text(), "lingkar perut > 90 cm (laki-laki), > 80 cm (perempuan)");
    }
}
