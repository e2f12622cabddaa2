//! Immediate growth result for a child's measurement: WHO 2006 z-scores (WHO 2007
//! from 61 months), the
//! Permenkes 2/2020 categories with Indonesian labels, and the KMS weight trend.

use posyandu_core::growth::{self as g, Anthropometry};
use posyandu_core::model as core;
use posyandu_core::rules::{referral, trend};
use posyandu_core::validation;

use crate::error::{parse_date, parse_id, PosyanduError, Result};
use crate::member::{mirror_enum, Sex};
use crate::store::KaderStore;
use crate::visit::{Measure, Measurements};

/// BB/U (weight-for-age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum WeightForAge {
    SangatKurang,
    Kurang,
    Normal,
    RisikoLebih,
}
mirror_enum!(WeightForAge, g::WeightForAge, [SangatKurang, Kurang, Normal, RisikoLebih]);

/// PB/U or TB/U (length/height-for-age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum HeightForAge {
    SangatPendek,
    Pendek,
    Normal,
    Tinggi,
}
mirror_enum!(HeightForAge, g::HeightForAge, [SangatPendek, Pendek, Normal, Tinggi]);

/// BB/PB, BB/TB and IMT/U (nutrition status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NutritionStatus {
    GiziBuruk,
    GiziKurang,
    GiziBaik,
    BerisikoGiziLebih,
    GiziLebih,
    Obesitas,
}
mirror_enum!(
    NutritionStatus,
    g::NutritionStatus,
    [GiziBuruk, GiziKurang, GiziBaik, BerisikoGiziLebih, GiziLebih, Obesitas]
);

/// KMS monthly weight trend: N naik, T tidak naik, O not weighed last month, B first weighing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum WeightTrend {
    N,
    T,
    O,
    B,
}
mirror_enum!(WeightTrend, g::WeightTrend, [N, T, O, B]);

/// A KMS reason to refer the child ("Rujuk bila ..."), from the core's rulebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReferralTriggerCode {
    /// Weight did not rise (T).
    TidakNaik,
    /// T in two consecutive months (2T).
    DuaT,
    /// Below the red line (BGM).
    BawahGarisMerah,
    /// Above the orange line (risiko BB lebih).
    AtasGarisOranye,
}
mirror_enum!(ReferralTriggerCode, referral::ReferralTrigger, [TidakNaik, DuaT, BawahGarisMerah, AtasGarisOranye]);

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReferralTrigger {
    pub code: ReferralTriggerCode,
    /// Indonesian text to show, e.g. "Rujuk: berat badan tidak naik (T)".
    pub label: String,
}

impl From<referral::ReferralTrigger> for ReferralTrigger {
    fn from(t: referral::ReferralTrigger) -> Self {
        ReferralTrigger { code: t.into(), label: t.label_id().to_string() }
    }
}

/// True = the z-score is biologically implausible (check the measurement).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct ImplausibleFlags {
    pub wfa: bool,
    pub lhfa: bool,
    pub wfl: bool,
    pub bmi: bool,
    pub hcfa: bool,
    pub muac: bool,
}

/// A measurement to assess without a stored member.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GrowthInput {
    pub sex: Sex,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `YYYY-MM-DD`, the day of the measurement.
    pub measured_on: String,
    #[uniffi(default)]
    pub weight_kg: Option<f64>,
    #[uniffi(default)]
    pub length_height_cm: Option<f64>,
    /// `null`: assumed lying below 731 days, standing from 731 days.
    #[uniffi(default)]
    pub measure: Option<Measure>,
    #[uniffi(default)]
    pub oedema: bool,
    #[uniffi(default)]
    pub head_circumference_cm: Option<f64>,
    #[uniffi(default)]
    pub muac_cm: Option<f64>,
}

/// Z-scores (unrounded; round for display), categories with Indonesian labels.
/// A score is `null` when it cannot be computed (age/length outside the WHO tables,
/// value missing, oedema for the weight-based ones).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GrowthResult {
    pub age_days: i64,
    /// Completed months, floor(days / 30.4375) (WHO; the KMS card counts calendar
    /// months since the birth month, see docs/rules.md).
    pub age_months: i64,
    pub zwfa: Option<f64>,
    pub zlhfa: Option<f64>,
    pub zwfl: Option<f64>,
    pub zbmi: Option<f64>,
    pub zhcfa: Option<f64>,
    pub zmuac: Option<f64>,
    pub flags: ImplausibleFlags,
    /// `"WHO2006"` (0..=1856 days) or `"WHO2007"` (61..=228 completed months): the
    /// reference the age-based scores come from; `null` outside both.
    pub reference: Option<String>,
    pub bbu: Option<WeightForAge>,
    pub bbu_label: Option<String>,
    pub tbu: Option<HeightForAge>,
    pub tbu_label: Option<String>,
    pub bbtb: Option<NutritionStatus>,
    pub bbtb_label: Option<String>,
    pub imtu: Option<NutritionStatus>,
    pub imtu_label: Option<String>,
    pub length_height_corrected_cm: Option<f64>,
    pub bmi: Option<f64>,
    /// Only from `assess_member_growth` with a weight (needs the previous weighing).
    pub weight_trend: Option<WeightTrend>,
    pub weight_trend_label: Option<String>,
    /// KMS referral triggers of this weighing (T or 2T, below the red line, above the
    /// orange line); the BB/U ones also from `assess_growth`, the trend ones only from
    /// `assess_member_growth`. Empty: no KMS reason to refer.
    pub referral_triggers: Vec<ReferralTrigger>,
}

fn to_result(
    age_days: i64,
    a: g::GrowthAssessment,
    trend: Option<g::WeightTrend>,
    triggers: Vec<referral::ReferralTrigger>,
) -> GrowthResult {
    let trend = trend.map(WeightTrend::from);
    GrowthResult {
        age_days,
        age_months: g::age_months_completed(age_days),
        zwfa: a.zwfa,
        zlhfa: a.zlhfa,
        zwfl: a.zwfl,
        zbmi: a.zbmi,
        zhcfa: a.zhcfa,
        zmuac: a.zmuac,
        flags: ImplausibleFlags {
            wfa: a.flags.wfa,
            lhfa: a.flags.lhfa,
            wfl: a.flags.wfl,
            bmi: a.flags.bmi,
            hcfa: a.flags.hcfa,
            muac: a.flags.muac,
        },
        reference: a.reference.map(|r| r.code().to_string()),
        bbu: a.bbu.map(Into::into),
        bbu_label: a.bbu.map(|c| c.label_id().to_string()),
        tbu: a.tbu.map(Into::into),
        tbu_label: a.tbu.map(|c| c.label_id().to_string()),
        bbtb: a.bbtb.map(Into::into),
        bbtb_label: a.bbtb.map(|c| c.label_id().to_string()),
        imtu: a.imtu.map(Into::into),
        imtu_label: a.imtu.map(|c| c.label_id().to_string()),
        length_height_corrected_cm: a.length_height_corrected_cm,
        bmi: a.bmi,
        weight_trend: trend,
        weight_trend_label: trend.map(|t| g::WeightTrend::from(t).label_id().to_string()),
        referral_triggers: triggers.into_iter().map(Into::into).collect(),
    }
}

/// Checks the measurement the way `record_visit` does, then scores it.
fn assess_core(
    sex: core::Sex,
    birth: time::Date,
    on: time::Date,
    m: &core::Measurements,
) -> Result<(i64, g::GrowthAssessment)> {
    validation::check_measurements(m).map_err(PosyanduError::from)?;
    let age_days = g::age_days(birth, on)?;
    let a = g::assess(&Anthropometry {
        sex,
        age_days,
        weight_kg: m.weight_kg,
        length_height_cm: m.length_height_cm,
        measure: m.measure,
        oedema: m.oedema.unwrap_or(false),
        head_cm: m.head_circumference_cm,
        muac_cm: m.muac_cm,
    })?;
    Ok((age_days, a))
}

/// Scores one measurement (no store needed, e.g. for a "check" screen).
#[uniffi::export]
pub fn assess_growth(input: GrowthInput) -> Result<GrowthResult> {
    let birth = parse_date("lahir", &input.birth_date)?;
    let on = parse_date("pengukuran", &input.measured_on)?;
    let m = core::Measurements {
        weight_kg: input.weight_kg,
        length_height_cm: input.length_height_cm,
        measure: input.measure.map(Into::into),
        head_circumference_cm: input.head_circumference_cm,
        muac_cm: input.muac_cm,
        oedema: Some(input.oedema),
        ..Default::default()
    };
    let (age_days, a) = assess_core(input.sex.into(), birth, on, &m)?;
    let triggers = referral::weight_for_age_triggers(birth, on, m.weight_kg.is_some(), a.bbu);
    Ok(to_result(age_days, a, None, triggers))
}

/// One weighing of a child, for [`kms_trends`].
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Weighing {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub weight_kg: f64,
}

/// N/T/O/B of each weighing of a child, in the order given (`null` = no trend: a
/// later weighing in a month already counted, or outside 0..=1856 days): the rule
/// the store, the due list and the Puskesmas report use
/// (`posyandu_core::rules::trend::series_trends`).
#[uniffi::export]
pub fn kms_trends(sex: Sex, birth_date: String, weighings: Vec<Weighing>) -> Result<Vec<Option<WeightTrend>>> {
    let birth = parse_date("lahir", &birth_date)?;
    let w =
        weighings.iter().map(|x| Ok((parse_date("penimbangan", &x.date)?, x.weight_kg))).collect::<Result<Vec<_>>>()?;
    Ok(trend::series_trends(sex.into(), birth, &w).into_iter().map(|t| t.map(Into::into)).collect())
}

#[uniffi::export]
impl KaderStore {
    /// The growth result for a member's measurement taken on `measured_on`, before it
    /// is recorded: sex and birth date come from the member; the weight trend is the
    /// one the weighing gets once recorded ([`posyandu_core::rules::trend`], the same
    /// function as the store's, the due list's and the Puskesmas report's): none for
    /// a second weighing in a month or past 60 months. `visit_id`: the recorded visit
    /// being corrected (its weighing is replaced, not added to). `referral_triggers`:
    /// the KMS reasons to refer ([`posyandu_core::rules::referral`]).
    #[uniffi::method(default(visit_id = None))]
    pub fn assess_member_growth(
        &self,
        household_id: String,
        member_id: String,
        measured_on: String,
        measurements: Measurements,
        visit_id: Option<String>,
    ) -> Result<GrowthResult> {
        let hh_id = parse_id("rumah tangga", &household_id)?;
        let member_id = parse_id("anggota keluarga", &member_id)?;
        let on = parse_date("pengukuran", &measured_on)?;
        let replacing = visit_id.as_deref().map(|v| parse_id("kunjungan", v)).transpose()?;
        let hh = self.inner.household(hh_id)?;
        let member = hh.member(member_id).filter(|m| !m.deleted).ok_or_else(|| PosyanduError::NotFound {
            message: format!("Anggota keluarga tidak ditemukan: {member_id}"),
        })?;
        let m: core::Measurements = measurements.into();
        let (age_days, a) = assess_core(member.sex, member.birth_date, on, &m)?;
        let (trend, triggers) = match m.weight_kg {
            Some(w) => (
                trend::trend_if_recorded(&hh, member_id, on, w, replacing),
                referral::triggers_if_recorded(&hh, member_id, on, w, replacing, a.bbu),
            ),
            None => (None, Vec::new()),
        };
        Ok(to_result(age_days, a, trend, triggers))
    }
}

#[cfg(test)]
mod tests {
    //! The growth preview's trend is the trend the weighing gets once recorded (the
    //! store's, the due list's and the report's): issue 10, "growth preview
    //! disagreement".
    use super::*;
    use posyandu_core::{DeviceIdentity, Store};
    use time::macros::date;
    use time::Date;
    use uuid::Uuid;

    struct Fixture {
        store: KaderStore,
        hh: Uuid,
        child: Uuid,
        _dir: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self._dir);
        }
    }

    fn fixture(birth: Date) -> Fixture {
        let dir = std::env::temp_dir().join(format!("posyandu-bindings-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let inner = Store::open(
            dir.join("s.sqlite3"),
            DeviceIdentity { device_id: "D".into(), kader_id: "K".into(), posyandu_id: "P".into() },
            std::sync::Arc::new(posyandu_core::MemoryKeyring::random()),
        )
        .unwrap();
        let hh = inner
            .create_household(core::NewHousehold {
                kk_number: None,
                address: core::Address {
                    rt: "001".into(),
                    rw: "001".into(),
                    kode_wilayah: "3275011001".into(),
                    ..Default::default()
                },
                gps: None,
                spm: Default::default(),
            })
            .unwrap();
        let child = inner
            .add_member(
                hh,
                core::NewMember {
                    nik: None,
                    mother_nik: None,
                    name: "Anak".into(),
                    birth_date: birth,
                    sex: core::Sex::Female,
                    relation: core::Relation::Anak,
                    bpjs_number: None,
                    kia_book: None,
                },
            )
            .unwrap();
        Fixture { store: KaderStore { inner }, hh, child, _dir: dir }
    }

    fn weigh(f: &Fixture, on: Date, kg: f64) -> Uuid {
        f.store
            .inner
            .record_visit(
                f.hh,
                core::NewVisit {
                    date: on,
                    kind: core::VisitKind::HariBuka,
                    entries: vec![core::VisitEntry {
                        member_id: f.child,
                        measurements: core::Measurements { weight_kg: Some(kg), ..Default::default() },
                        ..Default::default()
                    }],
                },
            )
            .unwrap()
    }

    fn preview(f: &Fixture, on: Date, kg: f64) -> Option<WeightTrend> {
        f.store
            .assess_member_growth(
                f.hh.to_string(),
                f.child.to_string(),
                core::format_date(on),
                Measurements { weight_kg: Some(kg), ..Default::default() },
                None,
            )
            .unwrap()
            .weight_trend
    }

    /// What the store gives the weighing once recorded.
    fn recorded(f: &Fixture, on: Date, kg: f64) -> Option<WeightTrend> {
        let v = weigh(f, on, kg);
        let hh = f.store.inner.household(f.hh).unwrap();
        posyandu_core::rules::trend::weight_trends(&hh).get(&(v, f.child)).copied().map(WeightTrend::from)
    }

    #[test]
    fn second_weighing_in_a_month_gets_no_trend_in_the_preview_either() {
        let f = fixture(date!(2024 - 01 - 10));
        weigh(&f, date!(2024 - 03 - 12), 5.0);
        weigh(&f, date!(2024 - 04 - 09), 5.9);
        // A home visit later in April: the KMS has April's dot already (N on the 9th).
        let p = preview(&f, date!(2024 - 04 - 25), 6.5);
        assert_eq!(p, recorded(&f, date!(2024 - 04 - 25), 6.5));
        assert_eq!(p, None);
    }

    #[test]
    fn same_day_weighing_already_recorded_gets_no_trend() {
        // heavier than the recorded one: the recorded (lighter) one keeps the dot
        let f = fixture(date!(2024 - 01 - 10));
        weigh(&f, date!(2024 - 03 - 12), 5.0);
        weigh(&f, date!(2024 - 04 - 09), 5.9);
        let p = preview(&f, date!(2024 - 04 - 09), 5.95);
        assert_eq!(p, recorded(&f, date!(2024 - 04 - 09), 5.95));
        assert_eq!(p, None);
    }

    #[test]
    fn same_day_lighter_weighing_takes_the_months_dot() {
        for _ in 0..4 {
            // visit ids are random: repeat so that either order of ids is met
            let f = fixture(date!(2024 - 01 - 10));
            weigh(&f, date!(2024 - 03 - 12), 5.0);
            weigh(&f, date!(2024 - 04 - 09), 5.9);
            // Re-weighed the same day, lighter: this one is April's (+700 g < 800 g = T).
            let p = preview(&f, date!(2024 - 04 - 09), 5.7);
            assert_eq!(p, recorded(&f, date!(2024 - 04 - 09), 5.7));
            assert_eq!(p, Some(WeightTrend::T));
        }
    }

    #[test]
    fn previous_month_weighing_is_the_latest_of_that_month() {
        let f = fixture(date!(2024 - 01 - 10));
        weigh(&f, date!(2024 - 03 - 12), 5.0);
        weigh(&f, date!(2024 - 03 - 28), 5.3);
        // +600 g since 28 March (KMS age 3: KBM 800 g) = T, not +900 g since the 12th.
        let p = preview(&f, date!(2024 - 04 - 09), 5.9);
        assert_eq!(p, recorded(&f, date!(2024 - 04 - 09), 5.9));
        assert_eq!(p, Some(WeightTrend::T));
    }

    #[test]
    fn over_sixty_months_the_records_give_no_trend() {
        // Day 1857 on 2026-02-01 for a child born 2021-01-01 (61 completed months).
        let f = fixture(date!(2021 - 01 - 01));
        weigh(&f, date!(2026 - 01 - 05), 17.0);
        let p = preview(&f, date!(2026 - 02 - 02), 17.5);
        assert_eq!(p, recorded(&f, date!(2026 - 02 - 02), 17.5));
        assert_eq!(p, None);
    }

    #[test]
    fn a_backdated_weighing_before_this_months_dot_takes_the_dot() {
        let f = fixture(date!(2024 - 01 - 10));
        weigh(&f, date!(2024 - 03 - 12), 5.0);
        weigh(&f, date!(2024 - 04 - 20), 5.5);
        let p = preview(&f, date!(2024 - 04 - 02), 5.9);
        assert_eq!(p, recorded(&f, date!(2024 - 04 - 02), 5.9));
        assert_eq!(p, Some(WeightTrend::N));
    }

    #[test]
    fn correcting_a_recorded_weighing_replaces_it() {
        let f = fixture(date!(2024 - 01 - 10));
        weigh(&f, date!(2024 - 03 - 12), 5.0);
        let v = weigh(&f, date!(2024 - 04 - 09), 5.9);
        let r = f
            .store
            .assess_member_growth(
                f.hh.to_string(),
                f.child.to_string(),
                "2024-04-09".into(),
                Measurements { weight_kg: Some(5.5), ..Default::default() },
                Some(v.to_string()),
            )
            .unwrap();
        // +500 g since March at KMS age 3 (KBM 800 g): T.
        assert_eq!(r.weight_trend, Some(WeightTrend::T));
        // As a new (heavier) weighing the same day it would get none: 5.9 kg keeps April's dot.
        assert_eq!(preview(&f, date!(2024 - 04 - 09), 6.0), None);
    }

    #[test]
    fn preview_refers_on_a_single_t_and_on_2t() {
        let f = fixture(date!(2024 - 01 - 10));
        weigh(&f, date!(2024 - 03 - 12), 5.0);
        let codes = |on: Date, kg: f64| {
            f.store
                .assess_member_growth(
                    f.hh.to_string(),
                    f.child.to_string(),
                    core::format_date(on),
                    Measurements { weight_kg: Some(kg), ..Default::default() },
                    None,
                )
                .unwrap()
                .referral_triggers
                .into_iter()
                .map(|t| t.code)
                .collect::<Vec<_>>()
        };
        // +500 g at KMS age 3 (KBM 800 g): T.
        assert_eq!(codes(date!(2024 - 04 - 09), 5.5), vec![ReferralTriggerCode::TidakNaik]);
        weigh(&f, date!(2024 - 04 - 09), 5.5);
        // +100 g at KMS age 4 (KBM 600 g): second T in a row.
        assert_eq!(codes(date!(2024 - 05 - 14), 5.6), vec![ReferralTriggerCode::DuaT]);
        // A second weighing in April has no trend of its own: no T trigger.
        assert!(codes(date!(2024 - 04 - 25), 5.5).is_empty());
    }
}
