//! SPM requests on the phone (issue 13): a kader raises a coded need of a person or a
//! household (the `dicatat` step and a note), adds notes, and the Posyandu's kader
//! koordinator verifies it and hands it to the desa. The desa's own steps
//! (forwarded to an office, done, refused) arrive through sync. The rules (catalogue,
//! statuses, derived status) are in [`crate::rules::spm_request`]; the relay refuses a
//! koordinator step of a kader who is not the koordinator, and any desa step written by
//! a phone (`server/src/merge.rs`).

use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{meta_get, meta_set, Store};
use crate::error::{Error, Result};
use crate::model::*;
use crate::rules::spm_request::{self as rules, NeedSubject, MAX_NOTE};
use crate::validation::ValidationError;

/// The phone's own record that its kader is the Posyandu's koordinator (set in the
/// app's settings; the relay keeps the authoritative list).
const META_KOORDINATOR: &str = "spm_koordinator";

/// A request as the kader's list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpmRequestSummary {
    pub household_id: Uuid,
    pub key: String,
    pub member_id: Option<Uuid>,
    /// The member's name, or the head of household's for a household need.
    pub subject_name: String,
    pub area: SpmArea,
    pub need: String,
    pub need_label: String,
    pub status: SpmStatus,
    pub status_label: String,
    /// Unix seconds of the first `dicatat` step.
    pub raised_at: i64,
    pub notes: u32,
}

impl Store {
    /// Whether this phone's kader acts as the Posyandu's koordinator.
    pub fn is_koordinator(&self) -> Result<bool> {
        Ok(meta_get(&self.reader(), META_KOORDINATOR)?.as_deref() == Some("1"))
    }

    /// Records that this phone's kader is (or is no longer) the koordinator. The relay
    /// refuses koordinator steps of a kader it does not list as koordinator.
    pub fn set_koordinator(&self, on: bool) -> Result<()> {
        let w = self.writer();
        meta_set(&w.conn, META_KOORDINATOR, if on { "1" } else { "0" })
    }

    /// Raises a need (`need`: a catalogue code) of member `member_id` (`None`: the
    /// household itself) with a note. If the same need of the same subject is already
    /// raised (by this or another kader), the note is added to it and its key returned:
    /// there is one request per subject and need. Returns the request key.
    pub fn raise_spm_need(
        &self,
        household_id: Uuid,
        member_id: Option<Uuid>,
        need: &str,
        note: &str,
    ) -> Result<String> {
        let def = rules::need(need).ok_or_else(|| ValidationError::UnknownSpmNeed(need.to_string()))?;
        match (def.subject, member_id) {
            (NeedSubject::Member, None) => return Err(ValidationError::SpmSubject("seorang anggota keluarga").into()),
            (NeedSubject::Household, Some(_)) => {
                return Err(ValidationError::SpmSubject("rumah tangga, bukan perorangan").into())
            }
            _ => {}
        }
        let text = check_note(note)?;
        let key = rules::request_key(member_id, need);
        let now = self.now().unix_timestamp();
        let kader = self.identity().kader_id.clone();
        self.edit(household_id, |doc, hh| {
            if let Some(m) = member_id {
                if hh.member(m).is_none_or(|m| m.deleted) {
                    return Err(ValidationError::UnknownMember(m.to_string()).into());
                }
            }
            let exists = hh.spm_requests.iter().any(|r| r.key == key);
            let mine = hh
                .spm_requests
                .iter()
                .find(|r| r.key == key)
                .is_some_and(|r| r.steps.iter().any(|s| s.status == SpmStatus::Dicatat && s.by == kader));
            if !exists || !mine {
                // Each kader who reports the need records her own `dicatat` step.
                doc.add_spm_step(
                    &key,
                    &SpmStep {
                        id: Uuid::new_v4(),
                        status: SpmStatus::Dicatat,
                        role: SpmRole::Kader,
                        by: kader.clone(),
                        at: now,
                        area: Some(def.area),
                        office: None,
                        reason: None,
                    },
                )?;
            }
            doc.add_spm_note(&key, &SpmNote { id: Uuid::new_v4(), text, kader_id: kader.clone(), at: now })?;
            Ok(())
        })?;
        Ok(key)
    }

    /// Adds a note to an existing request.
    pub fn add_spm_note(&self, household_id: Uuid, key: &str, note: &str) -> Result<()> {
        let text = check_note(note)?;
        let now = self.now().unix_timestamp();
        let kader = self.identity().kader_id.clone();
        self.edit(household_id, |doc, hh| {
            if !hh.spm_requests.iter().any(|r| r.key == key) {
                return Err(Error::NotFound { kind: "Permintaan SPM", id: key.to_string() });
            }
            Ok(doc.add_spm_note(key, &SpmNote { id: Uuid::new_v4(), text, kader_id: kader, at: now })?)
        })
    }

    /// The koordinator verifies a request (`diverifikasi`).
    pub fn verify_spm_request(&self, household_id: Uuid, key: &str) -> Result<()> {
        self.koordinator_step(household_id, key, SpmStatus::Diverifikasi)
    }

    /// The koordinator hands a verified request to the desa (`diteruskan_ke_desa`).
    pub fn forward_spm_request(&self, household_id: Uuid, key: &str) -> Result<()> {
        self.koordinator_step(household_id, key, SpmStatus::DiteruskanKeDesa)
    }

    fn koordinator_step(&self, household_id: Uuid, key: &str, status: SpmStatus) -> Result<()> {
        if !self.is_koordinator()? {
            return Err(ValidationError::NotKoordinator.into());
        }
        let now = self.now().unix_timestamp();
        let kader = self.identity().kader_id.clone();
        self.edit(household_id, |doc, hh| {
            let r = hh
                .spm_requests
                .iter()
                .find(|r| r.key == key)
                .ok_or_else(|| Error::NotFound { kind: "Permintaan SPM", id: key.to_string() })?;
            let current = r.status();
            if !current.may_follow(status) || current == status {
                return Err(ValidationError::SpmTransition { from: current.label_id(), to: status.label_id() }.into());
            }
            let step = SpmStep {
                id: Uuid::new_v4(),
                status,
                role: SpmRole::Koordinator,
                by: kader,
                at: now,
                area: None,
                office: None,
                reason: None,
            };
            Ok(doc.add_spm_step(key, &step)?)
        })
    }

    /// The Posyandu's requests with their derived status, oldest first (`open_only`:
    /// without the closed ones).
    pub fn spm_requests(&self, open_only: bool) -> Result<Vec<SpmRequestSummary>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT r.household_id, r.key, r.member_id, r.area, r.need, r.status, r.raised_at, r.notes,
                    coalesce(m.name, h.head_name, '')
             FROM spm_request r JOIN household h ON h.id = r.household_id
             LEFT JOIN member m ON m.id = r.member_id
             ORDER BY r.raised_at, r.household_id, r.key",
        )?;
        let rows = stmt.query_map([], |x| {
            Ok((
                x.get::<_, String>(0)?,
                x.get::<_, String>(1)?,
                x.get::<_, Option<String>>(2)?,
                x.get::<_, String>(3)?,
                x.get::<_, String>(4)?,
                x.get::<_, String>(5)?,
                x.get::<_, i64>(6)?,
                x.get::<_, i64>(7)?,
                x.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hh, key, member, area, need, status, raised_at, notes, name) = row?;
            let (Some(status), Ok(area)) =
                (SpmStatus::parse(&status), serde_json::from_value::<SpmArea>(serde_json::Value::String(area)))
            else {
                continue;
            };
            if open_only && status.is_closed() {
                continue;
            }
            out.push(SpmRequestSummary {
                household_id: hh.parse().unwrap_or_default(),
                key,
                member_id: member.and_then(|m| m.parse().ok()),
                subject_name: name,
                area,
                need_label: rules::need_label(&need),
                need,
                status,
                status_label: status.label_id().into(),
                raised_at,
                notes: notes.max(0) as u32,
            });
        }
        Ok(out)
    }

    /// One request with every note and step.
    pub fn spm_request(&self, household_id: Uuid, key: &str) -> Result<SpmRequest> {
        self.household(household_id)?
            .spm_requests
            .into_iter()
            .find(|r| r.key == key)
            .ok_or_else(|| Error::NotFound { kind: "Permintaan SPM", id: key.to_string() })
    }
}

fn check_note(note: &str) -> Result<String> {
    let t = note.trim();
    crate::validation::check_text("Catatan kebutuhan", t, MAX_NOTE)?;
    if t.chars().any(char::is_control) {
        return Err(ValidationError::ControlCharacters { field: "Catatan kebutuhan" }.into());
    }
    Ok(t.to_string())
}

/// Rewrites the household's request rows (called by `query::materialize`).
pub(crate) fn materialize(tx: &Transaction, hh: &Household) -> Result<()> {
    let id = hh.id.to_string();
    tx.prepare_cached("DELETE FROM spm_request WHERE household_id = ?1")?.execute([&id])?;
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO spm_request (household_id, key, member_id, area, need, status, raised_at, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for r in &hh.spm_requests {
        let area = serde_json::to_value(r.area).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        ins.execute(params![
            id,
            r.key,
            r.member_id.map(|m| m.to_string()),
            area,
            r.need,
            r.status().code(),
            r.raised_at(),
            r.notes.len() as i64,
        ])?;
    }
    Ok(())
}
