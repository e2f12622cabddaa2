//! Referrals with a lifecycle on the phone (issue 12): the rulebook's proposal for a
//! member, raising a referral (the kader's `dirujuk` step), the referrals of the
//! Posyandu with their derived status, and the query rows the due list reads for the
//! follow-up home visit a bidan asked for. The rules are in
//! [`crate::rules::referral_lifecycle`]; the kader never records a bidan-side status
//! (the relay refuses it: `server/src/merge.rs`).

use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Store;
use crate::error::Result;
use crate::model::*;
use crate::rules::referral_lifecycle::{self as lifecycle, MAX_REASONS};
use crate::validation::{self, ValidationError};

/// A reason the rulebook proposes, to show before the kader raises the referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedReason {
    pub code: String,
    pub label: String,
    pub source: String,
}

/// Input of a new referral: reason codes (each known: [`lifecycle::REASONS`]) and
/// whether the rulebook proposed it, an optional note and the triggering visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewReferral {
    pub member_id: Uuid,
    pub reasons: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub visit_id: Option<Uuid>,
}

/// A referral as the kader's lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralSummary {
    pub id: Uuid,
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub member_name: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub status: ReferralStatus,
    pub status_label: String,
    pub reasons: Vec<String>,
    /// The follow-up home visit the bidan asked for (`YYYY-MM-DD`), if any.
    pub follow_up_by: Option<String>,
}

impl Store {
    /// The reasons the rulebook proposes to refer `member_id` today (2T, T, BGM, above
    /// the orange line, KEK in pregnancy, hypertension), minus those of an open referral.
    pub fn proposed_referral(&self, household_id: Uuid, member_id: Uuid) -> Result<Vec<ProposedReason>> {
        let hh = self.household(household_id)?;
        let today = self.today();
        Ok(lifecycle::proposed_reasons(&hh, member_id, today)
            .into_iter()
            .filter_map(lifecycle::reason)
            .map(|d| ProposedReason { code: d.code.into(), label: d.label_id.into(), source: d.source.into() })
            .collect())
    }

    /// Raises a referral (status `dirujuk`, by this device's kader, now). A reason the
    /// rulebook proposes today is stored with source `rule`, any other with `kader`.
    pub fn raise_referral(&self, household_id: Uuid, r: NewReferral) -> Result<Uuid> {
        let id = Uuid::new_v4();
        let today = self.today();
        let now = self.now().unix_timestamp();
        let kader = self.identity().kader_id.clone();
        self.edit(household_id, |doc, hh| {
            if hh.member(r.member_id).is_none_or(|m| m.deleted) {
                return Err(ValidationError::UnknownMember(r.member_id.to_string()).into());
            }
            let mut codes = r.reasons.clone();
            codes.sort();
            codes.dedup();
            if codes.is_empty() {
                return Err(ValidationError::Required { field: "Alasan rujukan" }.into());
            }
            if codes.len() > MAX_REASONS {
                return Err(ValidationError::TooMany { field: "alasan rujukan", max: MAX_REASONS }.into());
            }
            if let Some(bad) = codes.iter().find(|c| lifecycle::reason(c).is_none()) {
                return Err(ValidationError::UnknownReferralReason(bad.clone()).into());
            }
            let note = r.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            if let Some(n) = &note {
                validation::check_text("Catatan rujukan", n, validation::MAX_TEXT)?;
            }
            if let Some(v) = r.visit_id {
                if !hh.visits.iter().any(|x| x.id == v) {
                    return Err(crate::Error::NotFound { kind: "Kunjungan", id: v.to_string() });
                }
            }
            let proposed = lifecycle::proposed_reasons(hh, r.member_id, today);
            let reasons = codes
                .into_iter()
                .map(|c| {
                    let src = if proposed.iter().any(|p| *p == c) { ReasonSource::Rule } else { ReasonSource::Kader };
                    (c, src)
                })
                .collect();
            let rec = ReferralRecord {
                id,
                member_id: r.member_id,
                date: today,
                reasons,
                note,
                visit_id: r.visit_id,
                steps: vec![ReferralStep {
                    id: Uuid::new_v4(),
                    status: ReferralStatus::Dirujuk,
                    role: StepRole::Kader,
                    by: kader.clone(),
                    at: now,
                    action: None,
                    note: None,
                    follow_up_by: None,
                }],
            };
            Ok(doc.add_referral(&rec)?)
        })?;
        Ok(id)
    }

    /// The Posyandu's referrals with their current status, newest first (`open_only`:
    /// without the closed ones).
    pub fn referrals(&self, open_only: bool) -> Result<Vec<ReferralSummary>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT r.id, r.household_id, r.member_id, m.name, r.date, r.status, r.reasons, r.follow_up_by
             FROM referral r JOIN member m ON m.id = r.member_id
             ORDER BY r.date DESC, r.id",
        )?;
        let rows = stmt.query_map([], |x| {
            Ok((
                x.get::<_, String>(0)?,
                x.get::<_, String>(1)?,
                x.get::<_, String>(2)?,
                x.get::<_, String>(3)?,
                x.get::<_, String>(4)?,
                x.get::<_, String>(5)?,
                x.get::<_, String>(6)?,
                x.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, hh, member, name, date, status, reasons, follow_up_by) = row?;
            let Some(status) = ReferralStatus::parse(&status) else { continue };
            if open_only && status.is_closed() {
                continue;
            }
            out.push(ReferralSummary {
                id: id.parse().unwrap_or_default(),
                household_id: hh.parse().unwrap_or_default(),
                member_id: member.parse().unwrap_or_default(),
                member_name: name,
                date,
                status,
                status_label: status.label_id().into(),
                reasons: reasons.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
                follow_up_by,
            });
        }
        Ok(out)
    }

    /// The full referral records of a household (every step).
    pub fn household_referrals(&self, household_id: Uuid) -> Result<Vec<ReferralRecord>> {
        Ok(self.household(household_id)?.referrals)
    }
}

/// Rewrites the household's referral rows (called by `query::materialize`).
pub(crate) fn materialize(tx: &Transaction, hh: &Household) -> Result<()> {
    let id = hh.id.to_string();
    tx.prepare_cached("DELETE FROM referral WHERE household_id = ?1")?.execute([&id])?;
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO referral (id, household_id, member_id, date, status, reasons, follow_up_by, follow_up_asked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for r in &hh.referrals {
        let follow = lifecycle::follow_up(&r.steps);
        let reasons: Vec<&str> = r.reasons.keys().map(String::as_str).collect();
        ins.execute(params![
            r.id.to_string(),
            id,
            r.member_id.to_string(),
            format_date(r.date),
            r.status().code(),
            reasons.join(","),
            follow.map(|f| format_date(f.0)),
            follow.map(|f| format_date(f.1)),
        ])?;
    }
    Ok(())
}

/// Pending follow-up visits per member: `(member id, by)` of every referral whose bidan
/// asked for a home visit not yet recorded (for the due list).
pub(crate) fn pending_follow_ups(conn: &rusqlite::Connection, posyandu: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.member_id, r.follow_up_by, r.follow_up_asked,
                (SELECT max(e.date) FROM visit_entry e WHERE e.member_id = r.member_id AND e.kind = 'kunjungan_rumah')
         FROM referral r JOIN household h ON h.id = r.household_id
         WHERE h.posyandu_id = ?1 AND r.follow_up_by IS NOT NULL ORDER BY r.follow_up_by",
    )?;
    let rows = stmt.query_map([posyandu], |x| {
        Ok((x.get::<_, String>(0)?, x.get::<_, String>(1)?, x.get::<_, String>(2)?, x.get::<_, Option<String>>(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (member, by, asked, last_home) = row?;
        let (Some(asked), last) = (parse_date(&asked), last_home.as_deref().and_then(parse_date)) else { continue };
        if lifecycle::follow_up_pending(asked, &last.into_iter().collect::<Vec<_>>()) {
            out.push((member, by));
        }
    }
    Ok(out)
}
