//! Referrals with a lifecycle (issue 12): the rulebook's proposal, raising a referral
//! (`dirujuk`), the Posyandu's referrals with their status and the bidan's steps. The
//! follow-up visit a bidan asks for is on the due list (`DueReasonCode::FollowUpVisit`).
//! Thin: every rule is in `posyandu_core::rules::referral_lifecycle`.

use posyandu_core::model::format_date;

use crate::error::{parse_id, parse_id_opt, Result};
use crate::store::KaderStore;

/// A reason the rulebook proposes (e.g. `2T`), with its Indonesian label and source.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ProposedReason {
    pub code: String,
    pub label: String,
    pub source: String,
}

/// One step of a referral's history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReferralStep {
    /// `dirujuk`, `diterima`, `ditangani`, `rujuk_balik`, `selesai`.
    pub status: String,
    pub status_label: String,
    /// `kader` or `bidan`.
    pub role: String,
    pub by: String,
    /// Unix seconds.
    pub at: i64,
    pub action: Option<String>,
    pub note: Option<String>,
    /// `YYYY-MM-DD`: the bidan asks for a home visit by then.
    pub follow_up_by: Option<String>,
}

/// A referral of a household, with its current status (derived by the rulebook).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReferralRecord {
    pub id: String,
    pub member_id: String,
    pub date: String,
    pub status: String,
    pub status_label: String,
    pub closed: bool,
    pub reasons: Vec<String>,
    pub note: Option<String>,
    pub steps: Vec<ReferralStep>,
}

/// A referral in the Posyandu's list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReferralSummary {
    pub id: String,
    pub household_id: String,
    pub member_id: String,
    pub member_name: String,
    pub date: String,
    pub status: String,
    pub status_label: String,
    pub reasons: Vec<String>,
    pub follow_up_by: Option<String>,
}

fn step(s: posyandu_core::model::ReferralStep) -> ReferralStep {
    ReferralStep {
        status: s.status.code().into(),
        status_label: s.status.label_id().into(),
        role: match s.role {
            posyandu_core::model::StepRole::Kader => "kader".into(),
            posyandu_core::model::StepRole::Bidan => "bidan".into(),
        },
        by: s.by,
        at: s.at,
        action: s.action,
        note: s.note,
        follow_up_by: s.follow_up_by.map(format_date),
    }
}

#[uniffi::export]
impl KaderStore {
    /// Reasons the rulebook proposes to refer a member today (empty: none).
    pub fn proposed_referral(&self, household_id: String, member_id: String) -> Result<Vec<ProposedReason>> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let m = parse_id("anggota", &member_id)?;
        Ok(self
            .inner
            .proposed_referral(hh, m)?
            .into_iter()
            .map(|p| ProposedReason { code: p.code, label: p.label, source: p.source })
            .collect())
    }

    /// Raises a referral (status dirujuk) and returns its id.
    pub fn raise_referral(
        &self,
        household_id: String,
        member_id: String,
        reasons: Vec<String>,
        note: Option<String>,
        visit_id: Option<String>,
    ) -> Result<String> {
        let hh = parse_id("rumah tangga", &household_id)?;
        let member_id = parse_id("anggota", &member_id)?;
        let visit_id = parse_id_opt("kunjungan", visit_id.as_deref())?;
        let r = posyandu_core::NewReferral { member_id, reasons, note, visit_id };
        Ok(self.inner.raise_referral(hh, r)?.to_string())
    }

    /// The Posyandu's referrals, newest first (only open ones if `open_only`).
    pub fn referrals(&self, open_only: bool) -> Result<Vec<ReferralSummary>> {
        Ok(self
            .inner
            .referrals(open_only)?
            .into_iter()
            .map(|r| ReferralSummary {
                id: r.id.to_string(),
                household_id: r.household_id.to_string(),
                member_id: r.member_id.to_string(),
                member_name: r.member_name,
                date: r.date,
                status: r.status.code().into(),
                status_label: r.status_label,
                reasons: r.reasons,
                follow_up_by: r.follow_up_by,
            })
            .collect())
    }

    /// A household's referrals with every step.
    pub fn household_referrals(&self, household_id: String) -> Result<Vec<ReferralRecord>> {
        let hh = parse_id("rumah tangga", &household_id)?;
        Ok(self
            .inner
            .household_referrals(hh)?
            .into_iter()
            .map(|r| {
                let status = r.status();
                ReferralRecord {
                    id: r.id.to_string(),
                    member_id: r.member_id.to_string(),
                    date: format_date(r.date),
                    status: status.code().into(),
                    status_label: status.label_id().into(),
                    closed: status.is_closed(),
                    reasons: r.reasons.keys().cloned().collect(),
                    note: r.note,
                    steps: r.steps.into_iter().map(step).collect(),
                }
            })
            .collect())
    }
}
