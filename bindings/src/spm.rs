//! SPM needs handed to the desa (issue 13): the catalogue of coded needs, raising a
//! need (or adding a note to it), the koordinator's verification and hand-over, and the
//! Posyandu's requests with their status and steps. Thin: every rule is in
//! `posyandu_core::rules::spm_request`.

use crate::error::{parse_id, parse_id_opt, Result};
use crate::store::KaderStore;

/// A coded need of the catalogue.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpmNeedDef {
    pub code: String,
    /// `kesehatan`, `pendidikan`, `pekerjaan_umum`, `perumahan`, `trantibumlinmas`, `sosial`.
    pub area: String,
    pub area_label: String,
    /// The need concerns a household member (otherwise the household itself).
    pub for_member: bool,
    pub label: String,
    pub source: String,
}

/// One step of a request's history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpmStepInfo {
    /// `dicatat`, `diverifikasi`, `diteruskan_ke_desa`, `diteruskan_ke_opd`, `selesai`, `ditolak`.
    pub status: String,
    pub status_label: String,
    /// Kader id, or `desa:<id>`.
    pub by: String,
    /// Unix seconds.
    pub at: i64,
    pub office: Option<String>,
    pub reason: Option<String>,
}

/// A note of a kader on a request.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpmNoteInfo {
    pub text: String,
    pub kader_id: String,
    pub at: i64,
}

/// One request with every note and step.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpmRequestInfo {
    pub key: String,
    pub area: String,
    pub need: String,
    pub need_label: String,
    pub member_id: Option<String>,
    pub status: String,
    pub status_label: String,
    pub closed: bool,
    /// The office it was forwarded to (code), if any.
    pub office: Option<String>,
    pub notes: Vec<SpmNoteInfo>,
    pub steps: Vec<SpmStepInfo>,
}

/// A request in the Posyandu's list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SpmRequestSummary {
    pub household_id: String,
    pub key: String,
    pub member_id: Option<String>,
    pub subject_name: String,
    pub area: String,
    pub area_label: String,
    pub need: String,
    pub need_label: String,
    pub status: String,
    pub status_label: String,
    pub closed: bool,
    pub raised_at: i64,
    pub notes: u32,
}

fn area_code(a: posyandu_core::model::SpmArea) -> String {
    a.code().to_string()
}

/// The catalogue of coded SPM needs, with their area and source.
#[uniffi::export]
pub fn spm_needs() -> Vec<SpmNeedDef> {
    use posyandu_core::rules::spm_request::{needs, NeedSubject};
    needs()
        .iter()
        .map(|n| SpmNeedDef {
            code: n.code.clone(),
            area: area_code(n.area),
            area_label: n.area.label_id().into(),
            for_member: n.subject == NeedSubject::Member,
            label: n.label_id.clone(),
            source: n.source.clone(),
        })
        .collect()
}

#[uniffi::export]
impl KaderStore {
    /// Raises a need of a member (`member_id`) or of the household (`None`) with a note;
    /// if it is already raised, adds the note to it. Returns the request key.
    pub fn raise_spm_need(
        &self,
        household_id: String,
        member_id: Option<String>,
        need: String,
        note: String,
    ) -> Result<String> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m = parse_id_opt("anggota", member_id.as_deref())?;
        Ok(self.inner.raise_spm_need(hh, m, &need, &note)?)
    }

    /// Adds a note to a request.
    pub fn add_spm_note(&self, household_id: String, key: String, note: String) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.add_spm_note(hh, &key, &note)?)
    }

    /// Whether this phone's kader acts as the Posyandu's koordinator.
    pub fn is_koordinator(&self) -> Result<bool> {
        Ok(self.inner.is_koordinator()?)
    }

    /// Marks this phone's kader as the koordinator (or not). The relay keeps the list.
    pub fn set_koordinator(&self, on: bool) -> Result<()> {
        Ok(self.inner.set_koordinator(on)?)
    }

    /// The koordinator verifies a request.
    pub fn verify_spm_request(&self, household_id: String, key: String) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.verify_spm_request(hh, &key)?)
    }

    /// The koordinator hands a verified request to the desa.
    pub fn forward_spm_request(&self, household_id: String, key: String) -> Result<()> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self.inner.forward_spm_request(hh, &key)?)
    }

    /// The Posyandu's requests, oldest first (only open ones if `open_only`).
    pub fn spm_requests(&self, open_only: bool) -> Result<Vec<SpmRequestSummary>> {
        Ok(self
            .inner
            .spm_requests(open_only)?
            .into_iter()
            .map(|r| SpmRequestSummary {
                household_id: r.household_id.to_string(),
                key: r.key,
                member_id: r.member_id.map(|m| m.to_string()),
                subject_name: r.subject_name,
                area: area_code(r.area),
                area_label: r.area.label_id().into(),
                need: r.need,
                need_label: r.need_label,
                status: r.status.code().into(),
                status_label: r.status_label,
                closed: r.status.is_closed(),
                raised_at: r.raised_at,
                notes: r.notes,
            })
            .collect())
    }

    /// One request with every note and step.
    pub fn spm_request(&self, household_id: String, key: String) -> Result<SpmRequestInfo> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let r = self.inner.spm_request(hh, &key)?;
        let status = r.status();
        Ok(SpmRequestInfo {
            office: r.office().map(str::to_owned),
            key: r.key.clone(),
            area: area_code(r.area),
            need_label: posyandu_core::rules::spm_request::need_label(&r.need),
            need: r.need.clone(),
            member_id: r.member_id.map(|m| m.to_string()),
            status: status.code().into(),
            status_label: status.label_id().into(),
            closed: status.is_closed(),
            notes: r
                .notes
                .iter()
                .map(|n| SpmNoteInfo { text: n.text.clone(), kader_id: n.kader_id.clone(), at: n.at })
                .collect(),
            steps: r
                .steps
                .iter()
                .map(|s| SpmStepInfo {
                    status: s.status.code().into(),
                    status_label: s.status.label_id().into(),
                    by: s.by.clone(),
                    at: s.at,
                    office: s.office.clone(),
                    reason: s.reason.clone(),
                })
                .collect(),
        })
    }
}
