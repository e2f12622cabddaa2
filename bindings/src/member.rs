//! Members: add/edit/remove, search by name or NIK, lists by life stage.

use posyandu_core::lifestage;
use posyandu_core::model as core;
use posyandu_core::model::{format_date, parse_date};

use crate::error::{parse_date as parse_date_field, parse_date_opt, parse_id, Result};
use crate::store::KaderStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Sex {
    /// Laki-laki.
    Male,
    /// Perempuan.
    Female,
}

impl From<Sex> for core::Sex {
    fn from(s: Sex) -> Self {
        match s {
            Sex::Male => core::Sex::Male,
            Sex::Female => core::Sex::Female,
        }
    }
}

impl From<core::Sex> for Sex {
    fn from(s: core::Sex) -> Self {
        match s {
            core::Sex::Male => Sex::Male,
            core::Sex::Female => Sex::Female,
        }
    }
}

/// Relation to the head of the family, as on the KK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Relation {
    KepalaKeluarga,
    Istri,
    Suami,
    Anak,
    Menantu,
    Cucu,
    OrangTua,
    Mertua,
    FamiliLain,
    Lainnya,
}

macro_rules! mirror_enum {
    ($ffi:ident, $core:path, [$($v:ident),* $(,)?]) => {
        impl From<$ffi> for $core {
            fn from(x: $ffi) -> Self {
                match x { $($ffi::$v => <$core>::$v,)* }
            }
        }
        impl From<$core> for $ffi {
            fn from(x: $core) -> Self {
                match x { $(<$core>::$v => $ffi::$v,)* }
            }
        }
    };
}
pub(crate) use mirror_enum;

mirror_enum!(
    Relation,
    core::Relation,
    [KepalaKeluarga, Istri, Suami, Anak, Menantu, Cucu, OrangTua, Mertua, FamiliLain, Lainnya]
);

/// ILP life-cycle stage (klaster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum LifeStage {
    IbuHamil,
    IbuNifas,
    BayiBalita,
    UsiaSekolahRemaja,
    Dewasa,
    Lansia,
}

mirror_enum!(LifeStage, core::LifeStage, [IbuHamil, IbuNifas, BayiBalita, UsiaSekolahRemaja, Dewasa, Lansia]);

/// Indonesian label of a life stage ("Ibu hamil", "Lansia", …).
#[uniffi::export]
pub fn life_stage_label(stage: LifeStage) -> String {
    core::LifeStage::from(stage).label_id().to_string()
}

/// A newborn without NIK is identified by the mother's NIK and birth order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MotherNik {
    pub mother_nik: String,
    /// 1 for the first child, …
    pub birth_order: u8,
}

impl From<MotherNik> for core::MotherNik {
    fn from(m: MotherNik) -> Self {
        core::MotherNik { mother_nik: m.mother_nik, birth_order: m.birth_order }
    }
}

impl From<core::MotherNik> for MotherNik {
    fn from(m: core::MotherNik) -> Self {
        MotherNik { mother_nik: m.mother_nik, birth_order: m.birth_order }
    }
}

/// Input for a new member. `nik`: 16 digits (a NIK whose birth date or sex differs
/// from the entered ones is saved with a warning, see [`AddedMember`]);
/// `birth_date`: `YYYY-MM-DD`, not in the future; `bpjs_number`: 13 digits.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewMember {
    pub name: String,
    pub birth_date: String,
    pub sex: Sex,
    pub relation: Relation,
    #[uniffi(default)]
    pub nik: Option<String>,
    #[uniffi(default)]
    pub mother_nik: Option<MotherNik>,
    #[uniffi(default)]
    pub bpjs_number: Option<String>,
    /// Owns a Buku KIA / KMS ("Punya Buku KIA/KMS"); `null`: not asked.
    #[uniffi(default)]
    pub kia_book: Option<bool>,
}

impl TryFrom<NewMember> for core::NewMember {
    type Error = crate::PosyanduError;
    fn try_from(m: NewMember) -> Result<Self> {
        Ok(core::NewMember {
            nik: m.nik,
            mother_nik: m.mother_nik.map(Into::into),
            name: m.name,
            birth_date: parse_date_field("lahir", &m.birth_date)?,
            sex: m.sex.into(),
            relation: m.relation.into(),
            bpjs_number: m.bpjs_number,
            kia_book: m.kia_book,
        })
    }
}

/// Field edits on a member; `null` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct MemberPatch {
    #[uniffi(default)]
    pub nik: Option<String>,
    #[uniffi(default)]
    pub name: Option<String>,
    #[uniffi(default)]
    pub birth_date: Option<String>,
    #[uniffi(default)]
    pub sex: Option<Sex>,
    #[uniffi(default)]
    pub relation: Option<Relation>,
    #[uniffi(default)]
    pub bpjs_number: Option<String>,
    #[uniffi(default)]
    pub kia_book: Option<bool>,
}

impl TryFrom<MemberPatch> for core::MemberPatch {
    type Error = crate::PosyanduError;
    fn try_from(p: MemberPatch) -> Result<Self> {
        Ok(core::MemberPatch {
            nik: p.nik,
            name: p.name,
            birth_date: parse_date_opt("lahir", p.birth_date.as_deref())?,
            sex: p.sex.map(Into::into),
            relation: p.relation.map(Into::into),
            bpjs_number: p.bpjs_number,
            kia_book: p.kia_book,
        })
    }
}

/// A disagreement between a NIK and the entered birth date or sex: the member is
/// saved; show `message` (Bahasa Indonesia) to the kader.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NikWarning {
    /// `nik_tanggal_lahir`, `nik_jenis_kelamin` or `nik_ibu_laki_laki`.
    pub code: String,
    pub message: String,
}

fn warnings(w: Vec<posyandu_core::rules::identity::NikWarning>) -> Vec<NikWarning> {
    w.into_iter().map(|w| NikWarning { code: w.code().to_string(), message: w.message() }).collect()
}

/// The NIK warnings for a NIK against a birth date (`YYYY-MM-DD`) and sex, for the
/// add-member form while the kader types (empty when they agree, or when the NIK is
/// not 16 digits or the date is not a date yet).
#[uniffi::export]
pub fn nik_warnings(nik: String, birth_date: String, sex: Sex) -> Vec<NikWarning> {
    let nik: String = nik.chars().filter(|c| !c.is_whitespace()).collect();
    match core::parse_date(birth_date.trim()) {
        Some(b) => warnings(posyandu_core::rules::identity::nik_warnings(&nik, b, sex.into())),
        None => Vec::new(),
    }
}

/// The result of adding a member: the new id and the NIK warnings (saved anyway).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AddedMember {
    pub id: String,
    pub warnings: Vec<NikWarning>,
}

/// A live member of a household, with today's life stage.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MemberDetail {
    pub id: String,
    pub name: String,
    pub nik: Option<String>,
    pub mother_nik: Option<MotherNik>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub sex: Sex,
    pub relation: Relation,
    pub bpjs_number: Option<String>,
    /// Owns a Buku KIA / KMS; `null`: not recorded.
    pub kia_book: Option<bool>,
    /// NIK warnings ("NIK tidak cocok"), from the core.
    pub warnings: Vec<NikWarning>,
    /// Completed months of age today (for the KMS and the 0–59 month lists).
    pub age_months: i32,
    /// 0–59 completed months today (the core's definition): the app shows the
    /// under-five form (growth, immunisation, vitamin A, Buku KIA).
    pub under_five: bool,
    /// For an under-five: how they are measured today (lying below 731 days, standing
    /// from it; the core's rule); `null` for others.
    pub expected_measure: Option<crate::visit::Measure>,
    pub stage: LifeStage,
    pub stage_label: String,
}

pub(crate) fn member_detail(m: &core::Member, h: &core::Household, today: time::Date) -> MemberDetail {
    let stage = h.life_stage_of(m.id, today).unwrap_or(lifestage::LifeStage::Dewasa);
    let under_five = posyandu_core::rules::age::is_under_five(m.birth_date, today);
    MemberDetail {
        id: m.id.to_string(),
        name: m.name.clone(),
        nik: m.nik.clone(),
        mother_nik: m.mother_nik.clone().map(Into::into),
        birth_date: format_date(m.birth_date),
        sex: m.sex.into(),
        relation: m.relation.into(),
        bpjs_number: m.bpjs_number.clone(),
        kia_book: m.kia_book,
        warnings: warnings(posyandu_core::rules::identity::member_warnings(m)),
        age_months: lifestage::age_months(m.birth_date, today).max(0),
        under_five,
        expected_measure: under_five
            .then(|| posyandu_core::growth::expected_measure((today - m.birth_date).whole_days()).into()),
        stage: stage.into(),
        stage_label: stage.label_id().to_string(),
    }
}

/// A search/list hit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MemberSummary {
    pub id: String,
    pub household_id: String,
    pub name: String,
    /// The member's NIK, or for a newborn without one the mother's NIK.
    pub nik: Option<String>,
    pub birth_date: String,
    pub sex: Sex,
    pub stage: LifeStage,
    pub stage_label: String,
    pub rt: String,
    /// Completed months of age today (`-1` if the stored birth date is unreadable).
    pub age_months: i32,
}

fn member_summary(m: posyandu_core::store::MemberSummary, today: time::Date) -> MemberSummary {
    let age_months = parse_date(&m.birth_date).map_or(-1, |b| lifestage::age_months(b, today).max(0));
    MemberSummary {
        id: m.id.to_string(),
        household_id: m.household_id.to_string(),
        name: m.name,
        nik: m.nik,
        birth_date: m.birth_date,
        sex: m.sex.into(),
        stage: m.stage.into(),
        stage_label: m.stage.label_id().to_string(),
        rt: m.rt,
        age_months,
    }
}

#[uniffi::export]
impl KaderStore {
    /// Adds a member and returns their id. The first `KepalaKeluarga` becomes the head.
    pub fn add_member(&self, household_id: String, member: NewMember) -> Result<String> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.add_member(hh, member.try_into()?)?.to_string())
    }

    /// Adds a member and returns the id with the NIK warnings (the member is saved
    /// even when the NIK's birth date or sex differs from the entered ones).
    pub fn add_member_with_warnings(&self, household_id: String, member: NewMember) -> Result<AddedMember> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m: core::NewMember = member.try_into()?;
        let mut w = m
            .nik
            .as_deref()
            .map(|n| posyandu_core::rules::identity::nik_warnings(n, m.birth_date, m.sex))
            .unwrap_or_default();
        if let Some(mn) = &m.mother_nik {
            w.extend(posyandu_core::rules::identity::mother_nik_warnings(&mn.mother_nik));
        }
        let id = self.inner.add_member(hh, m)?;
        Ok(AddedMember { id: id.to_string(), warnings: warnings(w) })
    }

    pub fn update_member(&self, household_id: String, member_id: String, patch: MemberPatch) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m = parse_id("anggota keluarga", &member_id)?;
        Ok(self.inner.update_member(hh, m, patch.try_into()?)?)
    }

    /// Removes a member (moved away / died); their recorded visits stay.
    pub fn remove_member(&self, household_id: String, member_id: String) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m = parse_id("anggota keluarga", &member_id)?;
        Ok(self.inner.remove_member(hh, m)?)
    }

    /// Members whose name contains all words of `query` (word prefixes,
    /// case-insensitive), or whose NIK starts with `query` when it is all digits.
    /// `limit` is clamped to 1–500.
    pub fn search_members(&self, query: String, limit: u32) -> Result<Vec<MemberSummary>> {
        let today = self.inner.today();
        Ok(self.inner.search_members(&query, limit as usize)?.into_iter().map(|m| member_summary(m, today)).collect())
    }

    /// All members of this Posyandu in a life stage (e.g. the balita list), by name.
    pub fn members_by_stage(&self, stage: LifeStage) -> Result<Vec<MemberSummary>> {
        let today = self.inner.today();
        Ok(self.inner.members_by_stage(stage.into())?.into_iter().map(|m| member_summary(m, today)).collect())
    }
}

/// What the "catat kehamilan" form shows while the kader types, computed by the core
/// (the app holds no clinical threshold).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PregnancyPreview {
    /// HPL (estimated due date, Naegele), `YYYY-MM-DD`; `null` if the HPHT is not a date.
    pub due_date: Option<String>,
    /// Completed weeks of gestation on `today`; `null` before the HPHT or without it.
    pub gestational_weeks: Option<i64>,
    /// KEK from the LiLA typed; `null` without a LiLA.
    pub kek: Option<bool>,
}

/// The LiLA threshold the core's KEK flag uses, cm (for labels such as "LiLA < 23,5 cm").
#[uniffi::export]
pub fn kek_muac_threshold_cm() -> f64 {
    core::kek_muac_cm()
}

/// The preview of a pregnancy being entered: HPL, gestational age and KEK.
#[uniffi::export]
pub fn pregnancy_preview(lmp: String, today: String, muac_cm: Option<f64>) -> PregnancyPreview {
    let lmp = core::parse_date(lmp.trim());
    let today = core::parse_date(today.trim());
    PregnancyPreview {
        due_date: lmp.map(|l| core::format_date(core::estimated_due_date(l))),
        gestational_weeks: lmp.zip(today).and_then(|(l, t)| core::gestational_weeks(l, t)),
        kek: muac_cm.filter(|m| m.is_finite()).map(core::is_kek),
    }
}

/// Whether the app offers to record a pregnancy for this person (women from 10 years).
#[uniffi::export]
pub fn may_record_pregnancy(sex: Sex, age_months: i32) -> bool {
    core::may_record_pregnancy(sex.into(), age_months)
}

/// Adult IMT category (Permenkes 41/2014).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ImtCategory {
    Kurus,
    Normal,
    Gemuk,
    Obesitas,
}

mirror_enum!(ImtCategory, posyandu_core::rules::screening::ImtCategory, [Kurus, Normal, Gemuk, Obesitas]);

/// What the adult screening rules of the core say about the measurements being
/// entered (from 15 years; every flag `null` when not measured or younger).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScreeningResult {
    /// Completed years at the visit.
    pub age_years: i32,
    /// The adult screening rules apply (15 years or older).
    pub applies: bool,
    pub hypertension: Option<bool>,
    /// The kind of the glucose reading (`null` kind counts as sewaktu); `null` without a reading.
    pub glucose_kind: Option<crate::visit::GlucoseKind>,
    pub high_glucose: Option<bool>,
    /// IMT rounded to one decimal.
    pub imt: Option<f64>,
    pub imt_category: Option<ImtCategory>,
    /// "Kurus", "Normal", "Gemuk", "Obesitas".
    pub imt_label: Option<String>,
    pub central_obesity: Option<bool>,
}

/// Adult screening of one person's measurements (hypertension, glucose by kind, IMT,
/// waist), computed by the core's rulebook. Dates `YYYY-MM-DD`; a visit before the
/// birth date gives `applies = false`.
#[uniffi::export]
pub fn screening_preview(
    sex: Sex,
    birth_date: String,
    visit_date: String,
    measurements: crate::visit::Measurements,
) -> Result<ScreeningResult> {
    let birth = parse_date_field("lahir", &birth_date)?;
    let on = parse_date_field("kunjungan", &visit_date)?;
    let r = posyandu_core::rules::screening::screen(sex.into(), birth, on, &measurements.into());
    Ok(ScreeningResult {
        age_years: r.age_years,
        applies: r.applies,
        hypertension: r.hypertension,
        glucose_kind: r.glucose_kind.map(Into::into),
        high_glucose: r.high_glucose,
        imt: r.imt,
        imt_category: r.imt_category.map(Into::into),
        imt_label: r.imt_category.map(|c| c.label_id().to_string()),
        central_obesity: r.central_obesity,
    })
}

/// The screening thresholds as Indonesian text, from the core's table (for labels).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScreeningTexts {
    pub hypertension: String,
    pub high_glucose: String,
    pub imt: String,
    pub central_obesity: String,
}

#[uniffi::export]
pub fn screening_texts() -> ScreeningTexts {
    use posyandu_core::rules::screening as s;
    ScreeningTexts {
        hypertension: s::hypertension_text(),
        high_glucose: s::glucose_text(),
        imt: s::imt_text(),
        central_obesity: s::waist_text(),
    }
}
