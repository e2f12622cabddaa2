//! Visits (measurements, services, referral, SPM needs), pregnancies and the due list
//! (`due_visits`, and `due_reasons` for one member's history: the same core rule).

use std::collections::{BTreeMap, HashMap};

use posyandu_core::model as core;
use posyandu_core::model::format_date;

use crate::error::{parse_date, parse_date_opt, parse_id, PosyanduError, Result};
use crate::member::{mirror_enum, LifeStage, Sex};
use crate::store::KaderStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum VisitKind {
    /// Monthly service day at the Posyandu.
    HariBuka,
    /// Home visit by a kader.
    KunjunganRumah,
}

mirror_enum!(VisitKind, core::VisitKind, [HariBuka, KunjunganRumah]);

/// How length/height was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Measure {
    /// Lying (recumbent length), usual below 2 years.
    Lying,
    /// Standing (height).
    Standing,
}

mirror_enum!(Measure, core::Measure, [Lying, Standing]);

/// How a blood glucose was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum GlucoseKind {
    /// Gula darah sewaktu (random). A reading without kind counts as this.
    Sewaktu,
    /// Gula darah puasa (fasting).
    Puasa,
}

mirror_enum!(GlucoseKind, core::GlucoseKind, [Sewaktu, Puasa]);

/// The six SPM (minimum service standard) areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SpmArea {
    Kesehatan,
    Pendidikan,
    PekerjaanUmum,
    Perumahan,
    Trantibumlinmas,
    Sosial,
}

mirror_enum!(SpmArea, core::SpmArea, [Kesehatan, Pendidikan, PekerjaanUmum, Perumahan, Trantibumlinmas, Sosial]);

/// Indonesian label of an SPM area ("Pekerjaan umum", …).
#[uniffi::export]
pub fn spm_area_label(area: SpmArea) -> String {
    core::SpmArea::from(area).label_id().to_string()
}

/// Body measurements; every field optional, units in the name. Checked against
/// plausible ranges on write (e.g. weight 0.5–250 kg).
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct Measurements {
    #[uniffi(default)]
    pub weight_kg: Option<f64>,
    #[uniffi(default)]
    pub length_height_cm: Option<f64>,
    #[uniffi(default)]
    pub measure: Option<Measure>,
    #[uniffi(default)]
    pub head_circumference_cm: Option<f64>,
    #[uniffi(default)]
    pub muac_cm: Option<f64>,
    #[uniffi(default)]
    pub waist_cm: Option<f64>,
    #[uniffi(default)]
    pub bp_systolic_mmhg: Option<u16>,
    #[uniffi(default)]
    pub bp_diastolic_mmhg: Option<u16>,
    #[uniffi(default)]
    pub blood_glucose_mg_dl: Option<f64>,
    /// Fasting or random; `null` = sewaktu (random).
    #[uniffi(default)]
    pub blood_glucose_kind: Option<GlucoseKind>,
    #[uniffi(default)]
    pub oedema: Option<bool>,
}

impl From<Measurements> for core::Measurements {
    fn from(m: Measurements) -> Self {
        core::Measurements {
            weight_kg: m.weight_kg,
            length_height_cm: m.length_height_cm,
            measure: m.measure.map(Into::into),
            head_circumference_cm: m.head_circumference_cm,
            muac_cm: m.muac_cm,
            waist_cm: m.waist_cm,
            bp_systolic_mmhg: m.bp_systolic_mmhg,
            bp_diastolic_mmhg: m.bp_diastolic_mmhg,
            blood_glucose_mg_dl: m.blood_glucose_mg_dl,
            blood_glucose_kind: m.blood_glucose_kind.map(Into::into),
            oedema: m.oedema,
        }
    }
}

impl From<core::Measurements> for Measurements {
    fn from(m: core::Measurements) -> Self {
        Measurements {
            weight_kg: m.weight_kg,
            length_height_cm: m.length_height_cm,
            measure: m.measure.map(Into::into),
            head_circumference_cm: m.head_circumference_cm,
            muac_cm: m.muac_cm,
            waist_cm: m.waist_cm,
            bp_systolic_mmhg: m.bp_systolic_mmhg,
            bp_diastolic_mmhg: m.bp_diastolic_mmhg,
            blood_glucose_mg_dl: m.blood_glucose_mg_dl,
            blood_glucose_kind: m.blood_glucose_kind.map(Into::into),
            oedema: m.oedema,
        }
    }
}

/// Vitamin A capsule: `Biru` 100 000 IU (infants 6–11 months), `Merah` 200 000 IU
/// (children 12–59 months, ibu nifas). The core checks the colour against the age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum VitaminACapsule {
    Biru,
    Merah,
}
mirror_enum!(VitaminACapsule, core::VitaminACapsule, [Biru, Merah]);

/// Services given at the visit. `immunisations`: antigen codes ("HB0", "BCG",
/// "POLIO1", "DPT_HB_HIB1", "MR1", …; unknown codes are rejected).
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct Services {
    #[uniffi(default)]
    pub immunisations: Vec<String>,
    #[uniffi(default)]
    pub vitamin_a: bool,
    /// The capsule given (implies `vitamin_a`); `None` in visits recorded before it.
    #[uniffi(default)]
    pub vitamin_a_capsule: Option<VitaminACapsule>,
    #[uniffi(default)]
    pub deworming: bool,
    /// Iron/folic acid tablets (TTD) given, count.
    #[uniffi(default)]
    pub iron_tablets: Option<u16>,
    /// Supplementary food (PMT).
    #[uniffi(default)]
    pub supplementary_food: bool,
}

impl From<Services> for core::Services {
    fn from(s: Services) -> Self {
        core::Services {
            immunisations: s.immunisations,
            vitamin_a: s.vitamin_a,
            vitamin_a_capsule: s.vitamin_a_capsule.map(Into::into),
            deworming: s.deworming,
            iron_tablets: s.iron_tablets,
            supplementary_food: s.supplementary_food,
        }
    }
}

impl From<core::Services> for Services {
    fn from(s: core::Services) -> Self {
        Services {
            immunisations: s.immunisations,
            vitamin_a: s.vitamin_a,
            vitamin_a_capsule: s.vitamin_a_capsule.map(Into::into),
            deworming: s.deworming,
            iron_tablets: s.iron_tablets,
            supplementary_food: s.supplementary_food,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Referral {
    pub reason: String,
    /// Where to (Puskesmas, bidan desa…).
    #[uniffi(default)]
    pub to: Option<String>,
}

/// A need for another sector raised at the visit (e.g. hearing aid → Sosial).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpmNeed {
    pub area: SpmArea,
    pub need: String,
}

/// What was recorded for one member at one visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitEntry {
    pub member_id: String,
    #[uniffi(default)]
    pub measurements: Measurements,
    #[uniffi(default)]
    pub services: Services,
    /// ILP checklist answers by item code (`checklistFor`), e.g. `"mp_asi" to true`.
    #[uniffi(default)]
    pub checklist: HashMap<String, bool>,
    /// Counselling topic codes given (`counsellingTopics`).
    #[uniffi(default)]
    pub counselling: Vec<String>,
    #[uniffi(default)]
    pub referral: Option<Referral>,
    #[uniffi(default)]
    pub spm_needs: Vec<SpmNeed>,
    /// Exclusive breastfeeding of an infant 0–5 months: yes / no / not asked.
    #[uniffi(default)]
    pub asi_eksklusif: Option<bool>,
}

impl TryFrom<VisitEntry> for core::VisitEntry {
    type Error = PosyanduError;
    fn try_from(e: VisitEntry) -> Result<Self> {
        Ok(core::VisitEntry {
            member_id: parse_id("anggota keluarga", &e.member_id)?,
            measurements: e.measurements.into(),
            services: e.services.into(),
            checklist: e.checklist.into_iter().collect::<BTreeMap<_, _>>(),
            counselling: e.counselling,
            referral: e.referral.map(|r| core::Referral { reason: r.reason, to: r.to }),
            spm_needs: e.spm_needs.into_iter().map(|n| core::SpmNeed { area: n.area.into(), need: n.need }).collect(),
            asi_eksklusif: e.asi_eksklusif,
        })
    }
}

impl From<core::VisitEntry> for VisitEntry {
    fn from(e: core::VisitEntry) -> Self {
        // The typed answer, or the older checklist key (rulebook).
        let asi_eksklusif = posyandu_core::rules::breastfeeding::answer(&e);
        VisitEntry {
            member_id: e.member_id.to_string(),
            measurements: e.measurements.into(),
            services: e.services.into(),
            checklist: e.checklist.into_iter().collect(),
            counselling: e.counselling,
            referral: e.referral.map(|r| Referral { reason: r.reason, to: r.to }),
            spm_needs: e.spm_needs.into_iter().map(|n| SpmNeed { area: n.area.into(), need: n.need }).collect(),
            asi_eksklusif,
        }
    }
}

/// Input for a new visit; `date` is `YYYY-MM-DD`, not in the future, not before a
/// member's birth; at least one entry, one per member.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewVisit {
    pub date: String,
    pub kind: VisitKind,
    pub entries: Vec<VisitEntry>,
}

impl TryFrom<NewVisit> for core::NewVisit {
    type Error = PosyanduError;
    fn try_from(v: NewVisit) -> Result<Self> {
        Ok(core::NewVisit {
            date: parse_date("kunjungan", &v.date)?,
            kind: v.kind.into(),
            entries: v.entries.into_iter().map(TryInto::try_into).collect::<Result<_>>()?,
        })
    }
}

/// A recorded visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    pub id: String,
    pub date: String,
    pub kind: VisitKind,
    pub kader_id: String,
    pub posyandu_id: String,
    pub entries: Vec<VisitEntry>,
}

impl From<core::Visit> for Visit {
    fn from(v: core::Visit) -> Self {
        Visit {
            id: v.id.to_string(),
            date: format_date(v.date),
            kind: v.kind.into(),
            kader_id: v.kader_id,
            posyandu_id: v.posyandu_id,
            entries: v.entries.into_iter().map(Into::into).collect(),
        }
    }
}

/// A pregnancy episode.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Pregnancy {
    pub id: String,
    pub member_id: String,
    /// Last menstrual period (HPHT), `YYYY-MM-DD`.
    pub lmp: String,
    /// Estimated due date (HPL).
    pub due_date: String,
    pub gravida: u8,
    pub muac_cm: Option<f64>,
    /// Chronic energy deficiency (LiLA < 23.5 cm).
    pub kek: bool,
    /// When the episode ended (birth or loss); then 42 days of nifas.
    pub ended: Option<String>,
    /// The core's state of the episode today (HPL + grace, see docs/rules.md).
    pub state: PregnancyState,
    /// Indonesian label of `state`.
    pub state_label: String,
}

/// State of a pregnancy episode on the store's today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum PregnancyState {
    Ongoing,
    Ended,
    /// HPL + grace passed with no end recorded: no longer counted as pregnant.
    EndNotRecorded,
}

impl Pregnancy {
    pub(crate) fn new(p: core::Pregnancy, today: time::Date) -> Self {
        use posyandu_core::rules::pregnancy::{episode_state, EpisodeState};
        let st = episode_state(p.due_date, p.ended, today);
        Pregnancy {
            state: match st {
                EpisodeState::Ongoing => PregnancyState::Ongoing,
                EpisodeState::Ended => PregnancyState::Ended,
                EpisodeState::EndNotRecorded => PregnancyState::EndNotRecorded,
            },
            state_label: st.label_id().to_string(),
            id: p.id.to_string(),
            member_id: p.member_id.to_string(),
            lmp: format_date(p.lmp),
            due_date: format_date(p.due_date),
            gravida: p.gravida,
            muac_cm: p.muac_cm,
            kek: p.kek,
            ended: p.ended.map(format_date),
        }
    }
}

/// Input for a pregnancy; `due_date` defaults to LMP + 280 days.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewPregnancy {
    pub member_id: String,
    pub lmp: String,
    pub gravida: u8,
    #[uniffi(default)]
    pub due_date: Option<String>,
    #[uniffi(default)]
    pub muac_cm: Option<f64>,
}

impl TryFrom<NewPregnancy> for core::NewPregnancy {
    type Error = PosyanduError;
    fn try_from(p: NewPregnancy) -> Result<Self> {
        Ok(core::NewPregnancy {
            member_id: parse_id("anggota keluarga", &p.member_id)?,
            lmp: parse_date("HPHT", &p.lmp)?,
            due_date: parse_date_opt("HPL", p.due_date.as_deref())?,
            gravida: p.gravida,
            muac_cm: p.muac_cm,
        })
    }
}

/// Why a member is due for a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum DueReasonCode {
    /// After this month's hari buka: not weighed this month (home visit).
    NotWeighedThisMonth,
    /// Before this month's hari buka: expected at the session (no home visit yet).
    ExpectedAtSession,
    VitaminAMissed,
    ImmunisationMissed,
    /// Refer: T in two consecutive months.
    TwoT,
    /// Refer: T at the latest month's weighing.
    SingleT,
    /// Refer: below the KMS red line (BGM).
    BelowRedLine,
    /// Refer: above the KMS orange line (risiko BB lebih).
    AboveOrangeLine,
    PregnantKek,
    ElderlyAbsent,
    /// A postnatal contact of the mother (KF1–KF4) is due; the code is in `contact`.
    KunjunganNifas,
    /// A neonatal contact (KN1–KN3) is due; the code is in `contact`.
    KunjunganNeonatal,
    /// The bidan asked for a follow-up home visit of a referral (date in the label).
    FollowUpVisit,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DueReason {
    pub code: DueReasonCode,
    /// Missed antigens for `ImmunisationMissed`, empty otherwise.
    pub antigens: Vec<String>,
    /// Indonesian text to show, e.g. "Belum ditimbang bulan ini".
    pub label: String,
    /// The contact (`KF1`…`KF4`, `KN1`…`KN3`) for `KunjunganNifas`/`KunjunganNeonatal`.
    #[uniffi(default)]
    pub contact: Option<String>,
}

impl From<posyandu_core::store::DueReason> for DueReason {
    fn from(r: posyandu_core::store::DueReason) -> Self {
        use posyandu_core::store::DueReason as R;
        let label = r.label_id();
        let mut contact = None;
        let (code, antigens) = match r {
            R::NotWeighedThisMonth => (DueReasonCode::NotWeighedThisMonth, vec![]),
            R::ExpectedAtSession => (DueReasonCode::ExpectedAtSession, vec![]),
            R::VitaminAMissed => (DueReasonCode::VitaminAMissed, vec![]),
            R::ImmunisationMissed(a) => (DueReasonCode::ImmunisationMissed, a),
            R::TwoT => (DueReasonCode::TwoT, vec![]),
            R::SingleT => (DueReasonCode::SingleT, vec![]),
            R::BelowRedLine => (DueReasonCode::BelowRedLine, vec![]),
            R::AboveOrangeLine => (DueReasonCode::AboveOrangeLine, vec![]),
            R::PregnantKek => (DueReasonCode::PregnantKek, vec![]),
            R::ElderlyAbsent => (DueReasonCode::ElderlyAbsent, vec![]),
            R::KunjunganNifas(c) => {
                contact = Some(c);
                (DueReasonCode::KunjunganNifas, vec![])
            }
            R::KunjunganNeonatal(c) => {
                contact = Some(c);
                (DueReasonCode::KunjunganNeonatal, vec![])
            }
            R::FollowUpVisit(_) => (DueReasonCode::FollowUpVisit, vec![]),
        };
        DueReason { code, antigens, label, contact }
    }
}

/// One recorded visit of a member, as the due list sees it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SeenVisit {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[uniffi(default)]
    pub weight_kg: Option<f64>,
    #[uniffi(default)]
    pub vitamin_a: bool,
    #[uniffi(default)]
    pub antigens: Vec<String>,
}

/// A member's history for [`due_reasons`]: what the store's due list gathers.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DueInput {
    pub birth_date: String,
    pub sex: Sex,
    pub stage: LifeStage,
    /// Pregnant with LiLA < 23.5 cm.
    #[uniffi(default)]
    pub kek: bool,
    pub visits: Vec<SeenVisit>,
    /// This month's hari buka of the Posyandu has taken place.
    pub session_held: bool,
    /// `YYYY-MM-DD`.
    pub today: String,
}

/// Why a member is due, from their history: the rule the store's `due_visits` uses
/// (`posyandu_core::rules::due::reasons`), for a member not (yet) in the store.
#[uniffi::export]
pub fn due_reasons(input: DueInput) -> Result<Vec<DueReason>> {
    let birth = parse_date("lahir", &input.birth_date)?;
    let today = parse_date("hari ini", &input.today)?;
    let mut h = posyandu_core::rules::due::History {
        sex: Some(input.sex.into()),
        session_held: input.session_held,
        ..Default::default()
    };
    for v in input.visits {
        h.add_visit(parse_date("kunjungan", &v.date)?, v.weight_kg, v.vitamin_a, &v.antigens);
    }
    // The monthly reasons only; the postnatal contacts (KF/KN, `rules::postnatal`) are
    // in the store's `due_visits`, which knows the recorded births.
    let r = posyandu_core::rules::due::reasons(birth, input.stage.into(), input.kek, &h, today);
    Ok(r.into_iter().map(Into::into).collect())
}

/// Whether this month's hari buka has taken place on `today`, given the dates of
/// the Posyandu's recorded hari buka visits (`posyandu_core::rules::session`, the
/// rule `due_visits` uses).
#[uniffi::export]
pub fn session_held(session_dates: Vec<String>, today: String) -> Result<bool> {
    let today = parse_date("hari ini", &today)?;
    let dates = session_dates.iter().map(|d| parse_date("hari buka", d)).collect::<Result<Vec<_>>>()?;
    Ok(posyandu_core::rules::session::session_held(dates, today))
}

/// A member due for a home visit, with the reasons.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DueItem {
    pub member_id: String,
    pub household_id: String,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    pub stage: LifeStage,
    pub stage_label: String,
    pub reasons: Vec<DueReason>,
}

impl From<posyandu_core::store::DueItem> for DueItem {
    fn from(d: posyandu_core::store::DueItem) -> Self {
        DueItem {
            member_id: d.member_id.to_string(),
            household_id: d.household_id.to_string(),
            name: d.name,
            rt: d.rt,
            head_name: d.head_name,
            stage: d.stage.into(),
            stage_label: d.stage.label_id().to_string(),
            reasons: d.reasons.into_iter().map(Into::into).collect(),
        }
    }
}

#[uniffi::export]
impl KaderStore {
    /// Records a visit and returns its id; durable when this returns.
    pub fn record_visit(&self, household_id: String, visit: NewVisit) -> Result<String> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.record_visit(hh, visit.try_into()?)?.to_string())
    }

    /// Corrects one member's entry of a recorded visit.
    pub fn amend_visit_entry(&self, household_id: String, visit_id: String, entry: VisitEntry) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let v = parse_id("kunjungan", &visit_id)?;
        Ok(self.inner.amend_visit_entry(hh, v, entry.try_into()?)?)
    }

    /// Marks a visit deleted (syncs as a tombstone).
    pub fn delete_visit(&self, household_id: String, visit_id: String) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let v = parse_id("kunjungan", &visit_id)?;
        Ok(self.inner.delete_visit(hh, v)?)
    }

    pub fn add_pregnancy(&self, household_id: String, pregnancy: NewPregnancy) -> Result<String> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.add_pregnancy(hh, pregnancy.try_into()?)?.to_string())
    }

    /// Ends a pregnancy (birth or loss) on `ended` (`YYYY-MM-DD`).
    pub fn end_pregnancy(&self, household_id: String, pregnancy_id: String, ended: String) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let p = parse_id("kehamilan", &pregnancy_id)?;
        let ended = parse_date("selesai kehamilan", &ended)?;
        Ok(self.inner.end_pregnancy(hh, p, ended)?)
    }

    /// Members due for a home visit, by RT and name, with Indonesian reason labels.
    pub fn due_visits(&self) -> Result<Vec<DueItem>> {
        Ok(self.inner.due_visits()?.into_iter().map(Into::into).collect())
    }
}
