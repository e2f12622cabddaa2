//! KMS referral triggers ("Rujuk bila ..."): when a kader refers a child weighed at
//! the Posyandu to the health worker. `docs/rules.md`, "KMS referral triggers".
//!
//! Source: Kemenkes RI, Buku Kesehatan Ibu dan Anak (Buku KIA), edition of May 2023
//! ("KIA SIAP CETAK (6 Mei 2023)"), KMS page (online copy
//! <https://fliphtml5.com/qwfmx/ulzi/files97653LO_KIA_SIAP_CETAK_%286_Mei_2023%29/54>,
//! page 54 of the flipbook): "Rujuk Bila Berat Badan Anak Tidak Naik (T) atau di
//! Bawah Garis Merah atau di Atas Garis Oranye", and "Kader kesehatan melakukan
//! ploting hasil penimbangan, KIE kepada ibu dan rujukan ke petugas kesehatan".
//!
//! Rules (data in [`REFERRAL_RULES`]):
//! - **T** (tidak naik) at the month's weighing → refer (a single T, not only 2T);
//!   two T in consecutive months is reported as **2T** instead of T.
//! - **Below the red line** (BGM): BB/U category *sangat kurang* (z < −3).
//! - **Above the orange line**: BB/U category *risiko berat badan lebih* (z > +1).
//!
//! The lines are read as the BB/U cut-offs of Permenkes 2/2020 (the Juknis KMS 2021
//! says the KMS in the Buku KIA was adjusted to that regulation); the categories come
//! from [`crate::growth::BBU_0_60`], so no z threshold is written twice. See the
//! doubts in `docs/rules.md`.

use serde::{Deserialize, Serialize};
use time::Date;

use uuid::Uuid;

use super::trend;
use crate::growth::{self, Anthropometry, Sex, WeightForAge, WeightTrend};
use crate::model::Household;

/// A reason to refer a child, as the KMS page lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralTrigger {
    /// Weight did not rise (T) at the month's weighing.
    TidakNaik,
    /// T in two consecutive months (2T).
    DuaT,
    /// Below the red line (BGM): BB/U sangat kurang.
    BawahGarisMerah,
    /// Above the orange line: BB/U risiko berat badan lebih.
    AtasGarisOranye,
}

/// Where each trigger comes from (trigger, condition, source).
pub const REFERRAL_RULES: &[(ReferralTrigger, &str, &str)] = &[
    (
        ReferralTrigger::TidakNaik,
        "trend T at the month's weighing",
        "Buku KIA 2023, halaman KMS: \"Rujuk Bila Berat Badan Anak Tidak Naik (T)\"",
    ),
    (
        ReferralTrigger::DuaT,
        "trend T in two consecutive months",
        "Buku KIA 2023, halaman KMS (T); 2T as the programme's earlier trigger",
    ),
    (
        ReferralTrigger::BawahGarisMerah,
        "BB/U sangat kurang (z < -3, Permenkes 2/2020)",
        "Buku KIA 2023, halaman KMS: \"di Bawah Garis Merah\"",
    ),
    (
        ReferralTrigger::AtasGarisOranye,
        "BB/U risiko berat badan lebih (z > +1, Permenkes 2/2020)",
        "Buku KIA 2023, halaman KMS: \"di Atas Garis Oranye\"",
    ),
];

impl ReferralTrigger {
    /// Indonesian label for the kader.
    pub fn label_id(&self) -> &'static str {
        match self {
            ReferralTrigger::TidakNaik => "Rujuk: berat badan tidak naik (T)",
            ReferralTrigger::DuaT => "Rujuk: 2T, berat badan tidak naik dua kali berturut-turut",
            ReferralTrigger::BawahGarisMerah => "Rujuk: berat badan di bawah garis merah (BGM)",
            ReferralTrigger::AtasGarisOranye => "Rujuk: berat badan di atas garis oranye (risiko BB lebih)",
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ReferralTrigger::TidakNaik => "T",
            ReferralTrigger::DuaT => "2T",
            ReferralTrigger::BawahGarisMerah => "BGM",
            ReferralTrigger::AtasGarisOranye => "ATAS_ORANYE",
        }
    }
}

/// The triggers of one weighing: `trends` are the child's month trends, oldest first,
/// ending with the trend of the assessed month (empty when the weighing has no
/// trend of its own); `bbu` is the weighing's BB/U category.
pub fn triggers(trends: &[WeightTrend], bbu: Option<WeightForAge>) -> Vec<ReferralTrigger> {
    let mut out = Vec::new();
    if growth::is_2t(trends) {
        out.push(ReferralTrigger::DuaT);
    } else if trends.last() == Some(&WeightTrend::T) {
        out.push(ReferralTrigger::TidakNaik);
    }
    match bbu {
        Some(WeightForAge::SangatKurang) => out.push(ReferralTrigger::BawahGarisMerah),
        Some(WeightForAge::RisikoLebih) => out.push(ReferralTrigger::AtasGarisOranye),
        _ => {}
    }
    out
}

/// BB/U category of a weighing (weight only; `None` outside 0..=1856 days or for an
/// unusable weight).
pub fn weight_for_age(sex: Sex, birth: Date, on: Date, kg: f64) -> Option<WeightForAge> {
    let age_days = growth::age_days(birth, on).ok()?;
    if !trend::in_kms_age(birth, on) {
        return None;
    }
    let a = growth::assess(&Anthropometry {
        sex,
        age_days,
        weight_kg: Some(kg),
        length_height_cm: None,
        measure: None,
        oedema: false,
        head_cm: None,
        muac_cm: None,
    })
    .ok()?;
    a.bbu
}

/// The triggers standing for a child on `today`, for the due list: those of the
/// child's latest weighing (0..=1856 days; of two the same day, the lighter), when it
/// was this calendar month or the previous one (an older one is out of date: the
/// child is then "not weighed").
pub fn standing_triggers(sex: Sex, birth: Date, weighings: &[(Date, f64)], today: Date) -> Vec<ReferralTrigger> {
    let usable = |&&(d, kg): &&(Date, f64)| d <= today && trend::in_kms_age(birth, d) && kg.is_finite() && kg > 0.0;
    // the latest day; on it, the lightest weighing (the one the trend rule puts first)
    let Some(&(last, kg)) = weighings.iter().filter(usable).min_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)))
    else {
        return Vec::new();
    };
    let months_ago = growth::kms_age_months(last, today);
    if !(0..=1).contains(&months_ago) {
        return Vec::new();
    }
    let past: Vec<(Date, f64)> = weighings.iter().filter(usable).copied().collect();
    let trends: Vec<WeightTrend> = trend::month_trends(sex, birth, &past).into_iter().map(|(_, t)| t).collect();
    triggers(&trends, weight_for_age(sex, birth, last, kg))
}

/// The BB/U triggers of a measurement without a history (no trend): below the red
/// line or above the orange line, for a weighing of a child aged 0..=1856 days.
pub fn weight_for_age_triggers(
    birth: Date,
    on: Date,
    weighed: bool,
    bbu: Option<WeightForAge>,
) -> Vec<ReferralTrigger> {
    if weighed && trend::in_kms_age(birth, on) {
        triggers(&[], bbu)
    } else {
        Vec::new()
    }
}

/// The triggers a weighing of `kg` on `on` would raise if recorded now in `hh`
/// (the growth preview; [`trend::series_if_recorded`]): its month trend (with the
/// months before it, for 2T) and its BB/U category `bbu`. A second weighing in a
/// month has no trend of its own, so only its BB/U can trigger.
pub fn triggers_if_recorded(
    hh: &Household,
    member_id: Uuid,
    on: Date,
    kg: f64,
    replacing: Option<Uuid>,
    bbu: Option<WeightForAge>,
) -> Vec<ReferralTrigger> {
    let Some((m, series, at)) = trend::series_if_recorded(hh, member_id, on, kg, replacing) else {
        return Vec::new();
    };
    if !trend::in_kms_age(m.birth_date, on) {
        return Vec::new();
    }
    let ts = trend::series_trends(m.sex, m.birth_date, &series);
    let trends: Vec<WeightTrend> = if ts[at].is_some() {
        let mut dots: Vec<(Date, WeightTrend)> =
            series.iter().zip(&ts).filter_map(|(w, t)| Some((w.0, (*t)?))).filter(|(d, _)| *d <= on).collect();
        dots.sort_by_key(|(d, _)| *d);
        dots.into_iter().map(|(_, t)| t).collect()
    } else {
        Vec::new()
    };
    triggers(&trends, bbu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use WeightTrend::*;

    #[test]
    fn a_single_t_refers_not_only_2t() {
        assert_eq!(triggers(&[B, N, T], Some(WeightForAge::Normal)), vec![ReferralTrigger::TidakNaik]);
        assert_eq!(triggers(&[B, T, T], Some(WeightForAge::Normal)), vec![ReferralTrigger::DuaT]);
        assert_eq!(triggers(&[B, T, O, T], None), vec![ReferralTrigger::TidakNaik]);
        assert!(triggers(&[B, T, N], Some(WeightForAge::Normal)).is_empty());
        assert!(triggers(&[], Some(WeightForAge::Kurang)).is_empty());
    }

    #[test]
    fn red_and_orange_lines_are_the_bbu_categories() {
        assert_eq!(triggers(&[B], Some(WeightForAge::SangatKurang)), vec![ReferralTrigger::BawahGarisMerah]);
        assert_eq!(triggers(&[B], Some(WeightForAge::RisikoLebih)), vec![ReferralTrigger::AtasGarisOranye]);
        assert_eq!(
            triggers(&[N, T], Some(WeightForAge::SangatKurang)),
            vec![ReferralTrigger::TidakNaik, ReferralTrigger::BawahGarisMerah]
        );
        // Girl, 12 months (day 365 on 2025-01-01): WHO median 8.9 kg; -3 SD about 6.3, +1 SD about 10.1.
        let b = date!(2024 - 01 - 02);
        let on = date!(2025 - 01 - 01);
        assert_eq!(weight_for_age(Sex::Female, b, on, 8.9), Some(WeightForAge::Normal));
        assert_eq!(weight_for_age(Sex::Female, b, on, 6.0), Some(WeightForAge::SangatKurang));
        assert_eq!(weight_for_age(Sex::Female, b, on, 10.6), Some(WeightForAge::RisikoLebih));
    }

    #[test]
    fn without_history_only_the_lines_and_only_under_five() {
        let b = date!(2024 - 01 - 02);
        let some = Some(WeightForAge::SangatKurang);
        assert_eq!(
            weight_for_age_triggers(b, date!(2025 - 01 - 01), true, some),
            vec![ReferralTrigger::BawahGarisMerah]
        );
        assert!(weight_for_age_triggers(b, date!(2025 - 01 - 01), false, some).is_empty());
        // day 1857: past the KMS
        assert!(weight_for_age_triggers(b, b + time::Duration::days(1857), true, some).is_empty());
    }

    #[test]
    fn standing_triggers_come_from_a_recent_weighing() {
        let b = date!(2025 - 01 - 15);
        let w = [(date!(2026 - 01 - 10), 8.0), (date!(2026 - 02 - 10), 8.1)];
        // February's +100 g at KMS age 13 (KBM 200 g): T, standing in February and March.
        assert_eq!(standing_triggers(Sex::Male, b, &w, date!(2026 - 02 - 20)), vec![ReferralTrigger::TidakNaik]);
        assert_eq!(standing_triggers(Sex::Male, b, &w, date!(2026 - 03 - 31)), vec![ReferralTrigger::TidakNaik]);
        // In April the February weighing is out of date.
        assert!(standing_triggers(Sex::Male, b, &w, date!(2026 - 04 - 01)).is_empty());
        // Before the February weighing (clock before it): January's B only.
        assert!(standing_triggers(Sex::Male, b, &w, date!(2026 - 01 - 31)).is_empty());
    }
}
