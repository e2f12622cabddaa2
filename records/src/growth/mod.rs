//! WHO 2006 Child Growth Standards for children 0–5 years and the WHO 2007 Growth
//! Reference for 61–228 months, with the Indonesian categories of Permenkes 2/2020
//! and the KMS weight-gain check. Every rule, its source and its test:
//! `docs/rules.md`.
//!
//! Which reference scores a child is one rule, [`growth_reference`]: WHO 2006 by
//! day for days 0..=1856 (WHO Anthro scores children up to 60 completed months),
//! WHO 2007 by completed month (days / 30.4375, floored) for 61..=228 months, with
//! weight-for-age only to 120 months. Day 1857 is the first day of 61 completed
//! months.
//!
//! Rules (WHO igrowup / WHO Anthro, see `records/data/who-growth-2006/README.md`):
//! - z-scores by the LMS method, indexed by exact age in days; weight-based
//!   indicators (weight-for-age, weight-for-length/height, BMI-for-age,
//!   MUAC-for-age) use the restricted LMS with SD23 extrapolation beyond
//!   |z| = 3; length/height-for-age and head circumference-for-age do not.
//! - Length (lying) below 731 days, height (standing) from 731 days: a
//!   standing measurement below 731 days gets +0.7 cm, a lying one from
//!   731 days gets -0.7 cm. Weight-for-length for < 731 days, weight-for-height
//!   from 731 days, with the corrected value. When the measure is unknown the
//!   child is assumed measured the way the age calls for (no correction).
//! - Weight-for-length/height tables are in 0.1 cm steps; a value between two
//!   rows gets L, M, S linearly interpolated; outside 45–110 cm (length) or
//!   65–120 cm (height) there is no score.
//! - BMI = weight / (corrected length/height in m)^2.
//! - Oedema blanks weight-for-age, weight-for-length/height and BMI-for-age.
//! - Age-based indicators: WHO 2006 from day 0 (MUAC from day 91) to day 1856
//!   for all of them. WHO 2007 (61..=228 months): height-for-age (not restricted),
//!   BMI-for-age (restricted, SD23) and weight-for-age to 120 months (restricted);
//!   no weight-for-height, head or arm circumference (WHO 2007 has none). The
//!   lying/standing correction applies the same way (height expected).
//! - Categories: Permenkes 2/2020 tables in [`category`] (data with their source);
//!   for 61..=228 months IMT/U by the 5-18 year table, TB/U by WHO's cut-offs (the
//!   regulation's table has no TB/U categories past 60 months) and no BB/U
//!   category (likewise).
//! - Implausible-value flags: zlhfa < -6 or > 6; zwfa < -6 or > 5;
//!   zwfl < -5 or > 5; zbmi < -5 or > 5; zhcfa and zmuac < -5 or > 5 (the
//!   igrowup limits for the other circumference indicators). The z-score is
//!   still reported; consumers should check the flag.

mod batch;
mod category;
mod lms;
pub(crate) mod tables;
mod weight_gain;

use serde::{Deserialize, Serialize};

pub use batch::{run_batch, BatchSummary, MAX_LINE_BYTES, MAX_ROWS};
pub use category::{
    Band, HeightForAge, NutritionStatus, RuleTable, WeightForAge, BBTB_0_60, BBU_0_60, IMTU_0_60, IMTU_5_18,
    PERMENKES_2_2020, TBU_0_60, TBU_5_18,
};
pub use lms::Lms;
pub use weight_gain::{
    is_2t, kbm_grams, kbm_table, kms_age_months, monthly_trends, previous_weighing, same_calendar_month, weight_trend,
    KbmRow, WeightTrend,
};

/// Days per month used by WHO (365.25 / 12).
pub const DAYS_PER_MONTH: f64 = 30.4375;
/// Age in days from which children are measured standing.
pub const STANDING_FROM_DAYS: i64 = 731;
/// Lying/standing difference in cm.
pub const LYING_STANDING_CM: f64 = 0.7;

/// How a child of `age_days` is measured: lying (length, PB) below
/// [`STANDING_FROM_DAYS`], standing (height, TB) from it (WHO 2006; the app's default).
pub fn expected_measure(age_days: i64) -> Measure {
    if age_days < STANDING_FROM_DAYS {
        Measure::Lying
    } else {
        Measure::Standing
    }
}

/// Last day scored with the WHO 2006 standards (60 completed months end at day 1856).
pub const LAST_DAY_WHO_2006: i64 = 1856;
/// First and last completed month scored with the WHO 2007 reference.
pub const FIRST_MONTH_WHO_2007: i64 = 61;
pub const LAST_MONTH_WHO_2007: i64 = 228;
/// Last completed month of WHO 2007 weight-for-age (the reference stops at 10 years).
pub const LAST_MONTH_WHO_2007_WFA: i64 = 120;

/// The WHO growth reference that scores a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrowthReference {
    /// WHO Child Growth Standards 2006, rows by day of age.
    #[serde(rename = "WHO2006")]
    Who2006,
    /// WHO Growth Reference 2007 (5-19 years), rows by completed month of age.
    #[serde(rename = "WHO2007")]
    Who2007,
}

impl GrowthReference {
    /// `WHO2006` / `WHO2007` (the batch output's `reference` column).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Who2006 => "WHO2006",
            Self::Who2007 => "WHO2007",
        }
    }
}

/// A reference and the row key to use in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReferenceAge {
    pub reference: GrowthReference,
    /// Day of age (WHO 2006) or completed month of age (WHO 2007).
    pub key: i64,
}

/// The rule that picks the reference for a child `age_days` old (the only place it
/// is decided):
/// - 0..=1856 days → WHO 2006, row = day;
/// - from day 1857 (61 completed months: 61 × 30.4375 = 1856.69) to 228 completed
///   months (day 6970) → WHO 2007, row = completed months = floor(days / 30.4375);
/// - otherwise (negative, 229 months and over) → `None`.
pub fn growth_reference(age_days: i64) -> Option<ReferenceAge> {
    if age_days < 0 {
        return None;
    }
    if age_days <= LAST_DAY_WHO_2006 {
        return Some(ReferenceAge { reference: GrowthReference::Who2006, key: age_days });
    }
    let months = age_months_completed(age_days);
    (FIRST_MONTH_WHO_2007..=LAST_MONTH_WHO_2007)
        .contains(&months)
        .then_some(ReferenceAge { reference: GrowthReference::Who2007, key: months })
}

/// Serialized as `"male"` / `"female"` (snake_case, like the model's enums).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Laki-laki, code 1, "L".
    Male,
    /// Perempuan, code 2, "P".
    Female,
}

impl Sex {
    /// WHO sex code: 1 = male, 2 = female.
    pub fn code(&self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }

    pub(crate) fn index(&self) -> usize {
        match self {
            Sex::Male => 0,
            Sex::Female => 1,
        }
    }

    /// Parses `1`/`2`, `L`/`P` (case-insensitive, surrounding spaces ignored).
    pub fn parse(s: &str) -> Result<Sex, GrowthError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "l" => Ok(Sex::Male),
            "2" | "p" => Ok(Sex::Female),
            "" => Err(GrowthError::MissingSex),
            other => Err(GrowthError::UnknownSex(truncate(other, 40))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Measure {
    /// Lying (recumbent length), code "l".
    #[serde(rename = "l")]
    Lying,
    /// Standing (height), code "h".
    #[serde(rename = "h")]
    Standing,
}

impl Measure {
    /// Parses `l` / `h` (case-insensitive). Empty → `Ok(None)`.
    pub fn parse(s: &str) -> Result<Option<Measure>, GrowthError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "l" => Ok(Some(Measure::Lying)),
            "h" => Ok(Some(Measure::Standing)),
            other => Err(GrowthError::UnknownMeasure(truncate(other, 40))),
        }
    }
}

/// One visit's measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anthropometry {
    pub sex: Sex,
    pub age_days: i64,
    pub weight_kg: Option<f64>,
    pub length_height_cm: Option<f64>,
    /// `None`: assumed lying below 731 days, standing from 731 days.
    pub measure: Option<Measure>,
    /// Bilateral pitting oedema.
    pub oedema: bool,
    pub head_cm: Option<f64>,
    pub muac_cm: Option<f64>,
}

/// One implausibility flag per z-score (true = biologically implausible).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImplausibleFlags {
    pub wfa: bool,
    pub lhfa: bool,
    pub wfl: bool,
    pub bmi: bool,
    pub hcfa: bool,
    pub muac: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrowthAssessment {
    /// Weight-for-age (BB/U).
    pub zwfa: Option<f64>,
    /// Length/height-for-age (PB/U, TB/U).
    pub zlhfa: Option<f64>,
    /// Weight-for-length (< 731 days) or weight-for-height (BB/PB, BB/TB).
    pub zwfl: Option<f64>,
    /// BMI-for-age (IMT/U).
    pub zbmi: Option<f64>,
    /// Head circumference-for-age (LK/U).
    pub zhcfa: Option<f64>,
    /// Arm circumference-for-age (LiLA/U).
    pub zmuac: Option<f64>,
    pub flags: ImplausibleFlags,
    /// The reference the age-based scores come from ([`growth_reference`]); `None`
    /// for an age outside both.
    pub reference: Option<GrowthReference>,
    pub bbu: Option<WeightForAge>,
    pub tbu: Option<HeightForAge>,
    pub bbtb: Option<NutritionStatus>,
    pub imtu: Option<NutritionStatus>,
    /// Length/height after the lying/standing correction, cm.
    pub length_height_corrected_cm: Option<f64>,
    /// BMI computed from the corrected length/height, kg/m2.
    pub bmi: Option<f64>,
}

/// Errors, with user-facing messages in Bahasa Indonesia.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrowthError {
    #[error("Jenis kelamin tidak dikenal: {0}")]
    UnknownSex(String),
    #[error("Jenis kelamin wajib diisi")]
    MissingSex,
    #[error("Umur tidak boleh negatif: {0} hari")]
    NegativeAge(i64),
    #[error("Tanggal kunjungan {visit} lebih awal dari tanggal lahir {birth}")]
    VisitBeforeBirth { birth: String, visit: String },
    #[error("Format tanggal tidak valid (harus TTTT-BB-HH): {0}")]
    InvalidDate(String),
    #[error("Umur tidak diisi: isi age_days atau birth_date dan visit_date")]
    MissingAge,
    #[error("Nilai {field} bukan angka yang valid: {value}")]
    InvalidNumber { field: &'static str, value: String },
    #[error("Nilai {field} tidak valid (harus angka positif): {value}")]
    InvalidValue { field: &'static str, value: f64 },
    #[error("Cara ukur tidak dikenal: {0} (gunakan l = berbaring atau h = berdiri)")]
    UnknownMeasure(String),
    #[error("Nilai edema tidak dikenal: {0} (gunakan y = ya atau n = tidak)")]
    UnknownOedema(String),
    #[error("Kolom wajib tidak ada di header CSV: {0}")]
    MissingColumn(String),
    #[error("Jumlah kolom tidak sesuai header: diharapkan {expected}, ditemukan {found}")]
    ColumnCount { expected: usize, found: usize },
    #[error("Baris {line} terlalu panjang (batas {limit} byte)")]
    LineTooLong { line: u64, limit: usize },
    #[error("Jumlah baris data melebihi batas {0}")]
    TooManyRows(u64),
    #[error("Gagal membaca CSV: {0}")]
    Csv(String),
    #[error("Gagal membaca/menulis data: {0}")]
    Io(String),
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Exact age in days between birth and visit dates.
pub fn age_days(birth: time::Date, visit: time::Date) -> Result<i64, GrowthError> {
    if visit < birth {
        return Err(GrowthError::VisitBeforeBirth { birth: birth.to_string(), visit: visit.to_string() });
    }
    Ok((visit - birth).whole_days())
}

/// Age in months as WHO computes it: days / 30.4375.
pub fn age_months(age_days: i64) -> f64 {
    age_days as f64 / DAYS_PER_MONTH
}

/// Age in completed months, floor(days / 30.4375), computed exactly
/// (30.4375 = 487 / 16). This is WHO's month; the KMS counts calendar months
/// ([`kms_age_months`]).
pub fn age_months_completed(age_days: i64) -> i64 {
    (age_days as i128 * 16).div_euclid(487) as i64
}

fn check_positive(field: &'static str, v: Option<f64>) -> Result<Option<f64>, GrowthError> {
    match v {
        Some(x) if !x.is_finite() || x <= 0.0 => Err(GrowthError::InvalidValue { field, value: x }),
        other => Ok(other),
    }
}

/// Z-scores, flags and Indonesian categories for one measurement.
///
/// Errors for a negative age and for a measurement that is not a positive
/// finite number; everything else that cannot be scored (age or length out
/// of the tables, missing value, oedema) yields `None` for that score.
pub fn assess(a: &Anthropometry) -> Result<GrowthAssessment, GrowthError> {
    if a.age_days < 0 {
        return Err(GrowthError::NegativeAge(a.age_days));
    }
    let weight = check_positive("berat badan (kg)", a.weight_kg)?;
    let lh = check_positive("panjang/tinggi badan (cm)", a.length_height_cm)?;
    let head = check_positive("lingkar kepala (cm)", a.head_cm)?;
    let muac = check_positive("LiLA (cm)", a.muac_cm)?;

    let t = tables::tables();
    let sex = a.sex;
    let day = a.age_days;
    let standing_age = expected_measure(day) == Measure::Standing;

    let lh_corr = lh.map(|x| match (a.measure, standing_age) {
        (Some(Measure::Standing), false) => x + LYING_STANDING_CM,
        (Some(Measure::Lying), true) => x - LYING_STANDING_CM,
        _ => x,
    });

    let mut r = GrowthAssessment { length_height_corrected_cm: lh_corr, ..Default::default() };

    let bmi = match (weight, lh_corr) {
        (Some(w), Some(h)) => Some(w / (h / 100.0).powi(2)).filter(|b| b.is_finite()),
        _ => None,
    };
    r.bmi = bmi;

    let reference = growth_reference(day);
    r.reference = reference.map(|x| x.reference);
    match reference {
        Some(ReferenceAge { reference: GrowthReference::Who2006, key: day }) => {
            // Length/height-for-age and head circumference: not restricted.
            r.zlhfa = lh_corr.and_then(|x| t.lhfa.get(sex, day)?.z_raw(x));
            r.zhcfa = head.and_then(|x| t.hcfa.get(sex, day)?.z_raw(x));
            // acfa.csv starts at day 91, so earlier ages find no row.
            r.zmuac = muac.and_then(|x| t.acfa.get(sex, day)?.z_restricted(x));
            if !a.oedema {
                r.zwfa = weight.and_then(|w| t.wfa.get(sex, day)?.z_restricted(w));
                r.zwfl = match (weight, lh_corr) {
                    (Some(w), Some(h)) => {
                        let table = if standing_age { &t.wfh } else { &t.wfl };
                        table.get_length(sex, h).and_then(|lms| lms.z_restricted(w))
                    }
                    _ => None,
                };
                r.zbmi = bmi.and_then(|b| t.bmi.get(sex, day)?.z_restricted(b));
            }
        }
        Some(ReferenceAge { reference: GrowthReference::Who2007, key: month }) => {
            // Height-for-age: not restricted; BMI- and weight-for-age: restricted.
            r.zlhfa = lh_corr.and_then(|x| t.hfa_2007.get(sex, month)?.z_raw(x));
            if !a.oedema {
                if month <= LAST_MONTH_WHO_2007_WFA {
                    r.zwfa = weight.and_then(|w| t.wfa_2007.get(sex, month)?.z_restricted(w));
                }
                r.zbmi = bmi.and_then(|b| t.bfa_2007.get(sex, month)?.z_restricted(b));
            }
        }
        None => {}
    }

    let out = |z: Option<f64>, lo: f64, hi: f64| z.is_some_and(|z| z < lo || z > hi);
    r.flags = ImplausibleFlags {
        wfa: out(r.zwfa, -6.0, 5.0),
        lhfa: out(r.zlhfa, -6.0, 6.0),
        wfl: out(r.zwfl, -5.0, 5.0),
        bmi: out(r.zbmi, -5.0, 5.0),
        hcfa: out(r.zhcfa, -5.0, 5.0),
        muac: out(r.zmuac, -5.0, 5.0),
    };

    match r.reference {
        Some(GrowthReference::Who2006) => {
            r.bbu = r.zwfa.and_then(|z| BBU_0_60.classify(z));
            r.tbu = r.zlhfa.and_then(|z| TBU_0_60.classify(z));
            r.bbtb = r.zwfl.and_then(|z| BBTB_0_60.classify(z));
            r.imtu = r.zbmi.and_then(|z| IMTU_0_60.classify(z));
        }
        Some(GrowthReference::Who2007) => {
            // Permenkes 2/2020 categorises only IMT/U for 5-18 years (docs/rules.md).
            r.tbu = r.zlhfa.and_then(|z| TBU_5_18.classify(z));
            r.imtu = r.zbmi.and_then(|z| IMTU_5_18.classify(z));
        }
        None => {}
    }
    Ok(r)
}

/// The WHO weight-for-age LMS row for `sex` at `age_days` (0..=1856), `None` outside
/// the table. For drawing growth charts (median and ±2/±3 SD curves via
/// [`Lms::value_at`]); scoring goes through [`assess`].
pub fn weight_for_age_lms(sex: Sex, age_days: i64) -> Option<Lms> {
    tables::tables().wfa.get(sex, age_days)
}

/// Rounds half away from zero to `decimals` places (for display/export).
pub fn round_half_away(x: f64, decimals: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(decimals as i32);
    let y = x * p;
    let frac = (y - y.trunc()).abs();
    // A tie that binary floating point stores a hair below .5 (1.005 * 100 =
    // 100.49999999999999) still rounds away from zero.
    if (frac - 0.5).abs() < 1e-9 {
        (y.trunc() + y.signum()) / p
    } else {
        y.round() / p
    }
}

#[cfg(test)]
mod tests;

/// The growth assessment of a household member at a visit: `None` for anyone not a
/// child under five on that day (not scored by the WHO 2006 standards, days
/// 0..=1856, [`growth_reference`]) or with nothing measured that the standards use.
/// The Posyandu records, reports and exports keep this under-five scope; school-age
/// children are scored through [`assess`] (and the batch), which apply WHO 2007.
pub fn assess_member(
    member: &crate::model::Member,
    visit_date: time::Date,
    m: &crate::model::Measurements,
) -> Result<Option<GrowthAssessment>, GrowthError> {
    let age = age_days(member.birth_date, visit_date)?;
    let measured = m.weight_kg.is_some()
        || m.length_height_cm.is_some()
        || m.head_circumference_cm.is_some()
        || m.muac_cm.is_some();
    let under_five = growth_reference(age).is_some_and(|r| r.reference == GrowthReference::Who2006);
    if !under_five || !measured {
        return Ok(None);
    }
    assess(&Anthropometry {
        sex: member.sex,
        age_days: age,
        weight_kg: m.weight_kg,
        length_height_cm: m.length_height_cm,
        measure: m.measure,
        oedema: m.oedema.unwrap_or(false),
        head_cm: m.head_circumference_cm,
        muac_cm: m.muac_cm,
    })
    .map(Some)
}
