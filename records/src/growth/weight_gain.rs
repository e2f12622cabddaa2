//! Monthly weight-gain check of the KMS (Kartu Menuju Sehat) and the SKDN/F2 recap.
//!
//! Rules (sources and doubts in `docs/rules.md`, section "N/T/O/B"):
//! - Months are **calendar months of the weighing** (the Posyandu session), as on
//!   the KMS, where each column is one calendar month: the birth month is written
//!   under age 0 and the following columns get the following months.
//! - The previous weighing of a weighing in month M is the **latest** weighing in
//!   month M-1.
//! - **B** (baru): no weighing before month M at all (first weighing ever; a second
//!   weighing in that same first month is still in the month of the B).
//! - **O**: weighed before, but not in month M-1.
//! - **N** (naik): gain since the previous weighing >= KBM; **T** (tidak naik):
//!   gain < KBM, or weight lost.
//! - The KBM is looked up by the child's **KMS age in months** at the weighing:
//!   calendar months from the birth month to the weighing month ([`kms_age_months`]).
//!
//! The KBM table is data: [`kbm_table`] (`records/data/rules/kbm.json`, rows with sources).

use serde::{Deserialize, Serialize};
use time::Date;

use super::Sex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WeightTrend {
    /// Naik: gained at least the KBM since last month's weighing.
    N,
    /// Tidak naik: gained less than the KBM (or lost weight).
    T,
    /// Not weighed in the previous calendar month (or the previous record is unusable).
    O,
    /// Baru: first weighing.
    B,
}

impl WeightTrend {
    /// Indonesian label as on the KMS.
    pub fn label_id(&self) -> &'static str {
        match self {
            WeightTrend::N => "Naik (N)",
            WeightTrend::T => "Tidak naik (T)",
            WeightTrend::O => "Tidak ditimbang bulan lalu (O)",
            WeightTrend::B => "Baru pertama kali ditimbang (B)",
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::N => "N",
            Self::T => "T",
            Self::O => "O",
            Self::B => "B",
        }
    }
}

/// One row of the KBM table: from `from_month` to `to_month` (KMS age in months,
/// inclusive) the minimum gain is `grams`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KbmRow {
    pub from_month: i64,
    pub to_month: i64,
    pub grams: u32,
    /// Where the row comes from.
    pub source: String,
}

#[derive(Deserialize)]
struct KbmTable {
    entries: Vec<KbmRow>,
}

/// Kenaikan Berat Badan Minimal by KMS age in months: the data table
/// `records/data/rules/kbm.json` (each row with its source; the doubt about the 7th month
/// is in `docs/rules.md`). Age 0 has no KBM (no previous month on the card).
pub fn kbm_table() -> &'static [KbmRow] {
    static TABLE: std::sync::OnceLock<Vec<KbmRow>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| crate::rules::table::parse::<KbmTable>("kbm").entries)
}

/// Minimum monthly weight gain in grams for a child whose KMS age in months is
/// `age_months` at the current weighing. `None` for age 0 (no previous month on
/// the card) and outside 1..=60 months.
pub fn kbm_grams(age_months: i64) -> Option<u32> {
    kbm_table().iter().find(|r| (r.from_month..=r.to_month).contains(&age_months)).map(|r| r.grams)
}

/// Index of a calendar month (year * 12 + month - 1).
fn month_index(d: Date) -> i64 {
    d.year() as i64 * 12 + (u8::from(d.month()) as i64 - 1)
}

/// Age in months as the KMS counts it: the number of calendar months from the
/// birth month to the month of `on` (the KMS column the dot goes in). A child born
/// on 31 January is 1 month old on the card on 1 February. Negative if `on` is
/// before the birth month.
pub fn kms_age_months(birth: Date, on: Date) -> i64 {
    month_index(on) - month_index(birth)
}

/// True when `a` and `b` are in the same calendar month.
pub fn same_calendar_month(a: Date, b: Date) -> bool {
    month_index(a) == month_index(b)
}

/// The weighing that `now` is compared with: the latest of `weighings` dated before
/// the calendar month of `now` (`None` = never weighed before that month). Whether it
/// is in the previous calendar month is [`weight_trend`]'s business. Ties on the same
/// day keep the first given.
pub fn previous_weighing(weighings: impl IntoIterator<Item = (Date, f64)>, now: Date) -> Option<(Date, f64)> {
    let this_month = month_index(now);
    let mut best: Option<(Date, f64)> = None;
    for (d, kg) in weighings {
        if month_index(d) < this_month && best.is_none_or(|(bd, _)| d > bd) {
            best = Some((d, kg));
        }
    }
    best
}

/// N/T/O/B for the weighing `now` = (date, kg) of a child born on `birth`, given
/// `prev`, the latest weighing before the calendar month of `now`
/// ([`previous_weighing`]):
/// - `None` → B (never weighed before this month);
/// - `prev` not in the calendar month just before `now`'s → O (also for a `prev` in
///   the same or a later month, which a caller should not pass);
/// - otherwise N if the gain, in whole grams (rounded, so 8.2 - 7.4 kg counts as
///   800 g), is at least the KBM of the KMS age at `now` ([`kms_age_months`]),
///   else T. Beyond 60 months the last KBM (200 g) is used.
///
/// A previous weighing dated before `birth`, or with a weight that is not a positive
/// number, gives O; such a current weight gives T. Sex is part of the signature for sex-specific rules; the KBM table of
/// the KMS is the same for boys and girls.
pub fn weight_trend(sex: Sex, birth: Date, prev: Option<(Date, f64)>, now: (Date, f64)) -> WeightTrend {
    let _ = sex;
    let Some((prev_date, prev_kg)) = prev else {
        return WeightTrend::B;
    };
    if !prev_kg.is_finite() || prev_kg <= 0.0 || prev_date < birth {
        return WeightTrend::O;
    }
    if month_index(now.0) - month_index(prev_date) != 1 {
        return WeightTrend::O;
    }
    if !now.1.is_finite() || now.1 <= 0.0 {
        return WeightTrend::T;
    }
    let age = kms_age_months(birth, now.0);
    // prev >= birth and in the previous month, so age >= 1 here
    let kbm = kbm_grams(age).unwrap_or(200) as f64;
    let gain_g = ((now.1 - prev_kg) * 1000.0).round();
    if gain_g >= kbm {
        WeightTrend::N
    } else {
        WeightTrend::T
    }
}

/// The trend of each weighing in `weighings` (any order) of a child born on `birth`,
/// in the same order: the first weighing of each calendar month gets its trend; a
/// later weighing in a month already counted gets `None` (the KMS has one dot per
/// month and the recap counts a child once per month). Weighings before the birth
/// date or with a weight that is not a positive number get `None` and are not used
/// as a previous weighing.
pub fn monthly_trends(sex: Sex, birth: Date, weighings: &[(Date, f64)]) -> Vec<Option<WeightTrend>> {
    let usable = |&(d, kg): &(Date, f64)| d >= birth && kg.is_finite() && kg > 0.0;
    let mut order: Vec<usize> = (0..weighings.len()).filter(|&i| usable(&weighings[i])).collect();
    // stable: same-day weighings keep their given order
    order.sort_by_key(|&i| weighings[i].0);
    let mut out = vec![None; weighings.len()];
    let mut counted_month: Option<i64> = None;
    for (k, &i) in order.iter().enumerate() {
        let (d, kg) = weighings[i];
        if counted_month == Some(month_index(d)) {
            continue;
        }
        counted_month = Some(month_index(d));
        let prev = previous_weighing(order[..k].iter().map(|&j| weighings[j]), d);
        out[i] = Some(weight_trend(sex, birth, prev, (d, kg)));
    }
    out
}

/// "2T": the last two trends are both T (tidak naik twice in a row), the
/// referral trigger of the KMS.
pub fn is_2t(trends: &[WeightTrend]) -> bool {
    matches!(trends, [.., WeightTrend::T, WeightTrend::T])
}
