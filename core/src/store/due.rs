//! The "perlu dikunjungi" (due for a home visit) list: gathers each member's history
//! and whether this month's hari buka has taken place from the query tables, and asks
//! the rulebook ([`crate::rules::due`], [`crate::rules::session`]) why they are due.
//!
//! Limit: the session is known from `visit_entry` rows (kind `hari_buka`) of the
//! Posyandu's households. A hari buka visit always has at least one entry (the store
//! refuses a visit without entries, `validation`); an empty one written by another
//! client would not be seen. The Posyandu
//! is the household's (`visit_entry` does not keep the visit's own `posyandu_id`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use rusqlite::params;

use super::query::{pregnancy_status, sex_from_code};
use super::Store;
use crate::error::Result;
use crate::model::*;
pub use crate::rules::due::DueReason;
use crate::rules::due::{reasons, History};
use crate::rules::lifestage::{life_stage, LifeStage, PregnancyStatus};
use crate::rules::postnatal;
use crate::rules::session::session_held;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueItem {
    pub member_id: Uuid,
    pub household_id: Uuid,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    pub stage: LifeStage,
    pub reasons: Vec<DueReason>,
}

impl Store {
    /// Members of this Posyandu due for a home visit, with the reasons, by RT and name.
    pub fn due_visits(&self) -> Result<Vec<DueItem>> {
        let today = self.today();
        let conn = self.reader();
        let preg = pregnancy_status(&conn, today)?;
        let mut kek: HashMap<String, bool> = HashMap::new();
        {
            let mut stmt =
                conn.prepare_cached("SELECT member_id, kek FROM pregnancy WHERE ended IS NULL ORDER BY lmp")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))? {
                let (m, k) = row?;
                kek.insert(m, k);
            }
        }
        // This month's hari buka: a visit of kind hari_buka of a household of this
        // Posyandu, dated this month on or before today (rules::session).
        let session_held = {
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT e.date FROM visit_entry e JOIN household h ON h.id = e.household_id
                 WHERE h.posyandu_id = ?1 AND e.kind = 'hari_buka' AND e.date >= ?2",
            )?;
            let since = format_date(today.replace_day(1).unwrap_or(today));
            let dates = stmt
                .query_map(params![self.identity().posyandu_id, since], |r| r.get::<_, String>(0))?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            session_held(dates.iter().filter_map(|d| parse_date(d)), today)
        };
        // The end of each member's latest pregnancy, when recorded (KF, rules::postnatal).
        let mut delivered: HashMap<String, Option<time::Date>> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached("SELECT member_id, ended FROM pregnancy ORDER BY lmp, id")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))? {
                let (m, ended) = row?;
                delivered.insert(m, ended.as_deref().and_then(parse_date));
            }
        }
        let mut seen: HashMap<String, Vec<time::Date>> = HashMap::new();
        let mut hist: HashMap<String, History> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT e.member_id, e.date, e.weight_kg, e.vitamin_a, e.antigens
                 FROM visit_entry e JOIN household h ON h.id = e.household_id
                 WHERE h.posyandu_id = ?1 ORDER BY e.member_id, e.date",
            )?;
            let rows = stmt.query_map([&self.identity().posyandu_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            for row in rows {
                let (member, date, weight, vit_a, antigens) = row?;
                let Some(d) = parse_date(&date) else { continue };
                let antigens: Vec<String> = antigens.split(',').map(str::to_owned).collect();
                seen.entry(member.clone()).or_default().push(d);
                hist.entry(member).or_default().add_visit(d, weight, vit_a, &antigens);
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT m.id, m.household_id, m.name, m.birth_date, h.rt, h.head_name, m.sex
             FROM member m JOIN household h ON h.id = m.household_id
             WHERE h.posyandu_id = ?1 ORDER BY h.rt, m.name COLLATE NOCASE, m.id",
        )?;
        let rows = stmt.query_map([&self.identity().posyandu_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        // Follow-up home visits a bidan asked for (rules::referral_lifecycle).
        let mut follow_ups: HashMap<String, Vec<String>> = HashMap::new();
        for (member, by) in super::referral::pending_follow_ups(&conn, &self.identity().posyandu_id)? {
            follow_ups.entry(member).or_default().push(by);
        }
        let mut out = Vec::new();
        for row in rows {
            let (id, hh, name, birth, rt, head_name, sex) = row?;
            let Some(b) = parse_date(&birth) else {
                continue;
            };
            let stage = life_stage(b, today, preg.get(&id).copied().unwrap_or(PregnancyStatus::None));
            let mut h = hist.remove(&id).unwrap_or_default();
            h.sex = Some(sex_from_code(sex));
            h.session_held = session_held;
            let mut r = reasons(b, stage, kek.get(&id).copied().unwrap_or(false), &h, today);
            let visits = seen.remove(&id).unwrap_or_default();
            r.extend(postnatal::reasons(b, delivered.get(&id).copied().flatten(), &visits, today));
            r.extend(follow_ups.remove(&id).into_iter().flatten().map(DueReason::FollowUpVisit));
            if !r.is_empty() {
                out.push(DueItem {
                    member_id: id.parse().unwrap_or_default(),
                    household_id: hh.parse().unwrap_or_default(),
                    name,
                    rt,
                    head_name,
                    stage,
                    reasons: r,
                });
            }
        }
        Ok(out)
    }
}
