//! Records of the ILP service cycle (issue 12): a member leaving the register (moved
//! or died), the outcome of a pregnancy, and the newborns registered from it.
//! Re-exported by [`crate::model`]. Document layout in `docs/schema.md`; rules in
//! `docs/rules.md` (sections 25–27).

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::growth::Sex;
use crate::model::{format_date, iso_date, Household};
use crate::validation::{self, ValidationError};

type V = Result<(), ValidationError>;

/// Why a member left the Posyandu's register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatusKind {
    /// Moved away (pindah).
    Pindah,
    /// Died (meninggal).
    Meninggal,
}

impl MemberStatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatusKind::Pindah => "pindah",
            MemberStatusKind::Meninggal => "meninggal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pindah" => Some(MemberStatusKind::Pindah),
            "meninggal" => Some(MemberStatusKind::Meninggal),
            _ => None,
        }
    }
    pub fn label_id(self) -> &'static str {
        match self {
            MemberStatusKind::Pindah => "Pindah",
            MemberStatusKind::Meninggal => "Meninggal",
        }
    }
}

/// A member's status: moved away or died, and when. Absent: still a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub kind: MemberStatusKind,
    #[serde(with = "iso_date")]
    pub date: Date,
}

/// Data of a member's birth (for a newborn registered from a pregnancy outcome): the
/// birth weight and length are kept here, on the member, not as a visit (a birth is
/// not a Posyandu weighing: it is no D of SKDN and no N/T reference).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BirthData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_cm: Option<f64>,
    /// The mother's pregnancy episode this birth ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnancy_id: Option<Uuid>,
}

/// How a pregnancy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Live birth (lahir hidup).
    LahirHidup,
    /// Stillbirth (lahir mati).
    LahirMati,
    /// Miscarriage (keguguran / abortus).
    Keguguran,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::LahirHidup => "lahir_hidup",
            OutcomeKind::LahirMati => "lahir_mati",
            OutcomeKind::Keguguran => "keguguran",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
    pub fn label_id(self) -> &'static str {
        match self {
            OutcomeKind::LahirHidup => "Lahir hidup",
            OutcomeKind::LahirMati => "Lahir mati",
            OutcomeKind::Keguguran => "Keguguran",
        }
    }
}

/// Where the birth took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthPlace {
    /// A health facility (Puskesmas, klinik, rumah sakit, praktik bidan).
    FasilitasKesehatan,
    Rumah,
    Lainnya,
}

impl BirthPlace {
    pub fn as_str(self) -> &'static str {
        match self {
            BirthPlace::FasilitasKesehatan => "fasilitas_kesehatan",
            BirthPlace::Rumah => "rumah",
            BirthPlace::Lainnya => "lainnya",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// Who attended the birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthAttendant {
    Bidan,
    Dokter,
    /// Traditional birth attendant (dukun bayi).
    Dukun,
    Lainnya,
}

impl BirthAttendant {
    pub fn as_str(self) -> &'static str {
        match self {
            BirthAttendant::Bidan => "bidan",
            BirthAttendant::Dokter => "dokter",
            BirthAttendant::Dukun => "dukun",
            BirthAttendant::Lainnya => "lainnya",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// The outcome of a pregnancy episode. Its date is the episode's `ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PregnancyOutcome {
    pub kind: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<BirthPlace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendant: Option<BirthAttendant>,
}

/// A newborn to register with a live-birth outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewBorn {
    pub name: String,
    pub sex: Sex,
    pub weight_kg: Option<f64>,
    pub length_cm: Option<f64>,
    /// Owns a Buku KIA; `None`: not recorded.
    #[serde(default)]
    pub kia_book: Option<bool>,
}

/// Input of [`crate::doc::HouseholdDoc::record_birth`] (through the phone's store):
/// the outcome of a pregnancy and, for a live birth, the newborn(s), in birth order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BirthRecord {
    pub pregnancy_id: Uuid,
    #[serde(with = "iso_date")]
    pub date: Date,
    pub outcome: PregnancyOutcome,
    #[serde(default)]
    pub newborns: Vec<NewBorn>,
}

/// Most newborns of one birth.
pub const MAX_NEWBORNS: usize = 6;
/// Plausible birth weight (kg) and length (cm).
pub const BIRTH_WEIGHT_KG: validation::Bounds =
    validation::Bounds { field: "Berat badan lahir (kg)", min: 0.3, max: 7.0 };
pub const BIRTH_LENGTH_CM: validation::Bounds =
    validation::Bounds { field: "Panjang badan lahir (cm)", min: 20.0, max: 65.0 };

/// A status for `member_id` in `household` recorded on `today`: the member exists,
/// the date is real, not in the future and not before the birth.
pub fn check_member_status(household: &Household, member_id: Uuid, s: &MemberStatus, today: Date) -> V {
    let m = household
        .member(member_id)
        .filter(|m| !m.deleted)
        .ok_or_else(|| ValidationError::UnknownMember(member_id.to_string()))?;
    validation::check_date("status anggota", s.date)?;
    validation::check_not_future("status anggota", s.date, today)?;
    if s.date < m.birth_date {
        return Err(ValidationError::VisitBeforeBirth { visit: format_date(s.date), birth: format_date(m.birth_date) });
    }
    Ok(())
}

/// A birth record: the pregnancy exists and is not deleted, the date is real, not in
/// the future and not before the LMP; newborns only with a live birth (at least one),
/// at most [`MAX_NEWBORNS`], names and measures plausible.
pub fn check_birth(household: &Household, b: &BirthRecord, today: Date) -> V {
    let p = household
        .pregnancies
        .iter()
        .find(|p| p.id == b.pregnancy_id && !p.deleted)
        .ok_or(ValidationError::Required { field: "Kehamilan" })?;
    if p.outcome.is_some() {
        // The newborns of this episode are registered already.
        return Err(ValidationError::TooMany { field: "hasil persalinan untuk kehamilan ini", max: 1 });
    }
    validation::check_date("persalinan", b.date)?;
    validation::check_not_future("persalinan", b.date, today)?;
    if b.date < p.lmp {
        return Err(ValidationError::VisitBeforeBirth { visit: format_date(b.date), birth: format_date(p.lmp) });
    }
    let live = b.outcome.kind == OutcomeKind::LahirHidup;
    if live && b.newborns.is_empty() {
        return Err(ValidationError::Required { field: "Bayi baru lahir" });
    }
    if !live && !b.newborns.is_empty() {
        return Err(ValidationError::TooMany { field: "bayi (hanya untuk lahir hidup)", max: 0 });
    }
    validation::check_count("bayi", b.newborns.len(), MAX_NEWBORNS)?;
    for n in &b.newborns {
        validation::check_text("Nama bayi", &n.name, validation::MAX_NAME)?;
        if let Some(w) = n.weight_kg {
            BIRTH_WEIGHT_KG.check(w)?;
        }
        if let Some(l) = n.length_cm {
            BIRTH_LENGTH_CM.check(l)?;
        }
    }
    Ok(())
}
