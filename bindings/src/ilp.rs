//! The ILP service cycle (issue 12): a member moving away or dying, and a pregnancy's
//! outcome with its newborns registered in the same change. Thin: every check and
//! rule is in `posyandu_core` / `posyandu_records`.

use posyandu_core::model as core;

use crate::error::{parse_date, parse_id, Result};
use crate::member::Sex;
use crate::store::KaderStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum MemberStatusKind {
    /// Pindah (moved away).
    Pindah,
    /// Meninggal (died).
    Meninggal,
}

impl From<MemberStatusKind> for core::MemberStatusKind {
    fn from(k: MemberStatusKind) -> Self {
        match k {
            MemberStatusKind::Pindah => core::MemberStatusKind::Pindah,
            MemberStatusKind::Meninggal => core::MemberStatusKind::Meninggal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OutcomeKind {
    LahirHidup,
    LahirMati,
    Keguguran,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum BirthPlace {
    FasilitasKesehatan,
    Rumah,
    Lainnya,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum BirthAttendant {
    Bidan,
    Dokter,
    Dukun,
    Lainnya,
}

/// A newborn of a live birth, in birth order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewBorn {
    pub name: String,
    pub sex: Sex,
    #[uniffi(default)]
    pub weight_kg: Option<f64>,
    #[uniffi(default)]
    pub length_cm: Option<f64>,
    #[uniffi(default)]
    pub kia_book: Option<bool>,
}

/// The outcome of a pregnancy and its newborns.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BirthRecord {
    pub pregnancy_id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub outcome: OutcomeKind,
    #[uniffi(default)]
    pub place: Option<BirthPlace>,
    #[uniffi(default)]
    pub attendant: Option<BirthAttendant>,
    #[uniffi(default)]
    pub newborns: Vec<NewBorn>,
}

impl TryFrom<BirthRecord> for core::BirthRecord {
    type Error = crate::error::PosyanduError;
    fn try_from(b: BirthRecord) -> Result<Self> {
        Ok(core::BirthRecord {
            pregnancy_id: parse_id("kehamilan", &b.pregnancy_id)?,
            date: parse_date("persalinan", &b.date)?,
            outcome: core::PregnancyOutcome {
                kind: match b.outcome {
                    OutcomeKind::LahirHidup => core::OutcomeKind::LahirHidup,
                    OutcomeKind::LahirMati => core::OutcomeKind::LahirMati,
                    OutcomeKind::Keguguran => core::OutcomeKind::Keguguran,
                },
                place: b.place.map(|p| match p {
                    BirthPlace::FasilitasKesehatan => core::BirthPlace::FasilitasKesehatan,
                    BirthPlace::Rumah => core::BirthPlace::Rumah,
                    BirthPlace::Lainnya => core::BirthPlace::Lainnya,
                }),
                attendant: b.attendant.map(|a| match a {
                    BirthAttendant::Bidan => core::BirthAttendant::Bidan,
                    BirthAttendant::Dokter => core::BirthAttendant::Dokter,
                    BirthAttendant::Dukun => core::BirthAttendant::Dukun,
                    BirthAttendant::Lainnya => core::BirthAttendant::Lainnya,
                }),
            },
            newborns: b
                .newborns
                .into_iter()
                .map(|n| core::NewBorn {
                    name: n.name,
                    sex: n.sex.into(),
                    weight_kg: n.weight_kg,
                    length_cm: n.length_cm,
                    kia_book: n.kia_book,
                })
                .collect(),
        })
    }
}

#[uniffi::export]
impl KaderStore {
    /// Records that a member moved away or died on `date` (`YYYY-MM-DD`); from then on
    /// the member is on no list.
    pub fn set_member_status(
        &self,
        household_id: String,
        member_id: String,
        status: MemberStatusKind,
        date: String,
    ) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m = parse_id("anggota keluarga", &member_id)?;
        let date = parse_date("status anggota", &date)?;
        Ok(self.inner.set_member_status(hh, m, status.into(), date)?)
    }

    /// Records a pregnancy's outcome and registers the newborn(s) in one step; returns
    /// the newborns' ids in birth order.
    pub fn record_birth(&self, household_id: String, birth: BirthRecord) -> Result<Vec<String>> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let ids = self.inner.record_birth(hh, birth.try_into()?)?;
        Ok(ids.into_iter().map(|id| id.to_string()).collect())
    }
}
