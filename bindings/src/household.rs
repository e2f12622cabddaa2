//! Households: create/edit, the list by RT, the detail screen, same-field conflicts.

use posyandu_core::model as core;
use posyandu_core::model::format_date;

use crate::error::{parse_id, parse_id_opt, Result};
use crate::member::{member_detail, MemberDetail};
use crate::store::KaderStore;
use crate::visit::{Pregnancy, Visit};

/// Address; `rt`/`rw` are 1–3 digits, `kode_wilayah` the 10-digit Kemendagri code
/// of the desa/kelurahan.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Address {
    pub rt: String,
    pub rw: String,
    #[uniffi(default)]
    pub dusun: Option<String>,
    pub kode_wilayah: String,
    #[uniffi(default)]
    pub street: Option<String>,
}

impl From<Address> for core::Address {
    fn from(a: Address) -> Self {
        core::Address { rt: a.rt, rw: a.rw, dusun: a.dusun, kode_wilayah: a.kode_wilayah, street: a.street }
    }
}

impl From<core::Address> for Address {
    fn from(a: core::Address) -> Self {
        Address { rt: a.rt, rw: a.rw, dusun: a.dusun, kode_wilayah: a.kode_wilayah, street: a.street }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl From<GeoPoint> for core::GeoPoint {
    fn from(p: GeoPoint) -> Self {
        core::GeoPoint { lat: p.lat, lon: p.lon }
    }
}

impl From<core::GeoPoint> for GeoPoint {
    fn from(p: core::GeoPoint) -> Self {
        GeoPoint { lat: p.lat, lon: p.lon }
    }
}

/// Household attributes used by the six SPM areas; `null` = not asked yet.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct SpmAttributes {
    #[uniffi(default)]
    pub clean_water: Option<bool>,
    #[uniffi(default)]
    pub latrine: Option<bool>,
    #[uniffi(default)]
    pub rutilahu: Option<bool>,
    #[uniffi(default)]
    pub social_aid: Option<bool>,
    #[uniffi(default)]
    pub child_out_of_school: Option<bool>,
    #[uniffi(default)]
    pub public_order_note: Option<String>,
}

impl From<SpmAttributes> for core::SpmAttributes {
    fn from(s: SpmAttributes) -> Self {
        core::SpmAttributes {
            clean_water: s.clean_water,
            latrine: s.latrine,
            rutilahu: s.rutilahu,
            social_aid: s.social_aid,
            child_out_of_school: s.child_out_of_school,
            public_order_note: s.public_order_note,
        }
    }
}

impl From<core::SpmAttributes> for SpmAttributes {
    fn from(s: core::SpmAttributes) -> Self {
        SpmAttributes {
            clean_water: s.clean_water,
            latrine: s.latrine,
            rutilahu: s.rutilahu,
            social_aid: s.social_aid,
            child_out_of_school: s.child_out_of_school,
            public_order_note: s.public_order_note,
        }
    }
}

/// Input for a new household (`kk_number`: 16 digits, optional).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewHousehold {
    #[uniffi(default)]
    pub kk_number: Option<String>,
    pub address: Address,
    #[uniffi(default)]
    pub gps: Option<GeoPoint>,
    #[uniffi(default)]
    pub spm: SpmAttributes,
}

impl From<NewHousehold> for core::NewHousehold {
    fn from(h: NewHousehold) -> Self {
        core::NewHousehold {
            kk_number: h.kk_number,
            address: h.address.into(),
            gps: h.gps.map(Into::into),
            spm: h.spm.into(),
        }
    }
}

/// Field edits on a household; `null` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct HouseholdPatch {
    #[uniffi(default)]
    pub kk_number: Option<String>,
    #[uniffi(default)]
    pub head_member_id: Option<String>,
    #[uniffi(default)]
    pub address: Option<Address>,
    #[uniffi(default)]
    pub gps: Option<GeoPoint>,
    #[uniffi(default)]
    pub spm: Option<SpmAttributes>,
}

impl TryFrom<HouseholdPatch> for core::HouseholdPatch {
    type Error = crate::PosyanduError;
    fn try_from(p: HouseholdPatch) -> Result<Self> {
        Ok(core::HouseholdPatch {
            kk_number: p.kk_number,
            head_member_id: parse_id_opt("kepala keluarga", p.head_member_id.as_deref())?,
            address: p.address.map(Into::into),
            gps: p.gps.map(Into::into),
            spm: p.spm.map(Into::into),
        })
    }
}

/// One row of the household list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HouseholdSummary {
    pub id: String,
    pub rt: String,
    pub rw: String,
    pub dusun: Option<String>,
    pub kk_number: Option<String>,
    pub head_name: Option<String>,
    pub member_count: u32,
    /// Date of the last visit, `YYYY-MM-DD`.
    pub last_visit: Option<String>,
    /// Fields with unresolved concurrent edits (show a badge; see `conflicts`).
    pub conflict_count: u32,
}

impl From<posyandu_core::store::HouseholdSummary> for HouseholdSummary {
    fn from(h: posyandu_core::store::HouseholdSummary) -> Self {
        HouseholdSummary {
            id: h.id.to_string(),
            rt: h.rt,
            rw: h.rw,
            dusun: h.dusun,
            kk_number: h.kk_number,
            head_name: h.head_name,
            member_count: h.member_count,
            last_visit: h.last_visit,
            conflict_count: h.conflict_count,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KkChange {
    pub kk_number: String,
    /// `YYYY-MM-DD`.
    pub since: String,
}

/// The household screen: live members (with life stage), visits and pregnancies;
/// removed members and deleted visits/pregnancies are left out.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HouseholdDetail {
    pub id: String,
    pub posyandu_id: String,
    pub kk_number: Option<String>,
    pub kk_history: Vec<KkChange>,
    pub head_member_id: Option<String>,
    pub address: Address,
    pub gps: Option<GeoPoint>,
    pub spm: SpmAttributes,
    pub members: Vec<MemberDetail>,
    /// Oldest first.
    pub visits: Vec<Visit>,
    pub pregnancies: Vec<Pregnancy>,
}

pub(crate) fn household_detail(h: core::Household, today: time::Date) -> HouseholdDetail {
    let members = h.members.iter().filter(|m| !m.deleted).map(|m| member_detail(m, &h, today)).collect();
    let mut visits: Vec<&core::Visit> = h.visits.iter().filter(|v| !v.deleted).collect();
    visits.sort_by_key(|v| v.date);
    HouseholdDetail {
        id: h.id.to_string(),
        posyandu_id: h.posyandu_id.clone(),
        kk_number: h.kk_number.clone(),
        kk_history: h
            .kk_history
            .iter()
            .map(|k| KkChange { kk_number: k.kk_number.clone(), since: format_date(k.since) })
            .collect(),
        head_member_id: h.head_member_id.map(|u| u.to_string()),
        address: h.address.clone().into(),
        gps: h.gps.map(Into::into),
        spm: h.spm.clone().into(),
        members,
        visits: visits.into_iter().map(|v| Visit::from(v.clone())).collect(),
        pregnancies: h.pregnancies.iter().filter(|p| !p.deleted).map(|p| Pregnancy::new(p.clone(), today)).collect(),
    }
}

/// A same-field conflict: concurrent edits from two phones, all values kept until
/// the kader picks one with `resolve_conflict`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Conflict {
    pub household_id: String,
    /// Field path in the household document, e.g. `members/<id>/name`.
    pub path: String,
    pub values: Vec<ConflictValue>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictValue {
    /// The value as JSON text (`"Siti"`, `12.5`, `true`); pass it back to resolve.
    pub value_json: String,
    pub kader_id: Option<String>,
    /// Unix seconds, device clock of the writer.
    pub written_at: i64,
}

impl From<core::Conflict> for Conflict {
    fn from(c: core::Conflict) -> Self {
        Conflict {
            household_id: c.household_id.to_string(),
            path: c.path,
            values: c
                .values
                .into_iter()
                .map(|v| ConflictValue { value_json: v.value_json, kader_id: v.kader_id, written_at: v.written_at })
                .collect(),
        }
    }
}

#[uniffi::export]
impl KaderStore {
    /// Creates a household and returns its id.
    pub fn create_household(&self, household: NewHousehold) -> Result<String> {
        Ok(self.inner.create_household(household.into())?.to_string())
    }

    pub fn update_household(&self, household_id: String, patch: HouseholdPatch) -> Result<()> {
        let id = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.update_household(id, patch.try_into()?)?)
    }

    /// Households of this Posyandu, by RT, RW and head's name; `rt = null` for all.
    pub fn list_households(&self, rt: Option<String>) -> Result<Vec<HouseholdSummary>> {
        let rt = rt.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Ok(self.inner.list_households(rt)?.into_iter().map(Into::into).collect())
    }

    /// The full household (members with life stage, visits, pregnancies).
    pub fn household(&self, household_id: String) -> Result<HouseholdDetail> {
        let id = parse_id("rumah tangga", &household_id)?;
        let h = self.inner.household(id)?;
        Ok(household_detail(h, self.inner.today()))
    }

    pub fn conflicts(&self, household_id: String) -> Result<Vec<Conflict>> {
        let id = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.conflicts(id)?.into_iter().map(Into::into).collect())
    }

    /// Keeps `value_json` (one of the conflict's values) for the field at `path`.
    pub fn resolve_conflict(&self, household_id: String, path: String, value_json: String) -> Result<()> {
        let id = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.resolve_conflict(id, &path, &value_json)?)
    }
}
