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

/// One live member of the Posyandu with what the rulebook needs to say why they are
/// due on a day (gathered from the query tables by [`Store::gather_members`]).
#[derive(Debug, Clone)]
pub(crate) struct Gathered {
    pub id: String,
    pub household_id: String,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    pub birth: time::Date,
    pub stage: LifeStage,
    pub kek: bool,
    pub history: History,
    /// Dates of every visit of the member (KF/KN contacts).
    pub visits: Vec<time::Date>,
    /// The end of her latest pregnancy, when recorded.
    pub delivered: Option<time::Date>,
    /// Follow-up visits a bidan asked for, still pending (by date).
    pub follow_ups: Vec<String>,
}

impl Gathered {
    /// Why the member is due on `day` ([`reasons`], KF/KN contacts, follow-ups), with
    /// `session_held` for this month's hari buka.
    pub fn reasons(&self, day: time::Date, session_held: bool) -> Vec<DueReason> {
        let h = History { session_held, ..self.history.clone() };
        let mut r = reasons(self.birth, self.stage, self.kek, &h, day);
        r.extend(postnatal::reasons(self.birth, self.delivered, &self.visits, day));
        r.extend(self.follow_ups.iter().cloned().map(DueReason::FollowUpVisit));
        r
    }
}

impl Store {
    /// Members of this Posyandu due for a home visit, with the reasons, by RT and name.
    pub fn due_visits(&self) -> Result<Vec<DueItem>> {
        let today = self.today();
        let conn = self.reader();
        let held = self.session_held_on(&conn, today)?;
        let mut out = Vec::new();
        for g in self.gather_members(&conn, today, None)? {
            let r = g.reasons(today, held);
            if !r.is_empty() {
                out.push(DueItem {
                    member_id: g.id.parse().unwrap_or_default(),
                    household_id: g.household_id.parse().unwrap_or_default(),
                    name: g.name,
                    rt: g.rt,
                    head_name: g.head_name,
                    stage: g.stage,
                    reasons: r,
                });
            }
        }
        Ok(out)
    }

    /// Whether the month of `day` has had its hari buka on or before `day`: a visit of
    /// kind hari_buka of a household of this Posyandu, dated that month on or before
    /// `day` (rules::session).
    pub(crate) fn session_held_on(&self, conn: &rusqlite::Connection, day: time::Date) -> Result<bool> {
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT e.date FROM visit_entry e JOIN household h ON h.id = e.household_id
             WHERE h.posyandu_id = ?1 AND e.kind = 'hari_buka' AND e.date >= ?2",
        )?;
        let since = format_date(day.replace_day(1).unwrap_or(day));
        let dates = stmt
            .query_map(params![self.identity().posyandu_id, since], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(session_held(dates.iter().filter_map(|d| parse_date(d)), day))
    }

    /// Every live member of this Posyandu (pindah/meninggal are not in the query
    /// tables) as of `day`, by RT and name, with the history recorded before `before`
    /// (every visit when `None`).
    pub(crate) fn gather_members(
        &self,
        conn: &rusqlite::Connection,
        day: time::Date,
        before: Option<time::Date>,
    ) -> Result<Vec<Gathered>> {
        let kept = |d: time::Date| before.is_none_or(|b| d < b);
        let preg = pregnancy_status(conn, day)?;
        let mut kek: HashMap<String, bool> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached("SELECT member_id, kek, ended FROM pregnancy ORDER BY lmp")?;
            for row in stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, Option<String>>(2)?)))?
            {
                let (m, k, ended) = row?;
                let open = match ended.as_deref().and_then(parse_date) {
                    None => ended.is_none(),
                    Some(e) => before.is_some() && e > day,
                };
                if open {
                    kek.insert(m, k);
                }
            }
        }
        // The end of each member's latest pregnancy, when recorded (KF, rules::postnatal).
        let mut delivered: HashMap<String, Option<time::Date>> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached("SELECT member_id, ended FROM pregnancy ORDER BY lmp, id")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))? {
                let (m, ended) = row?;
                delivered.insert(m, ended.as_deref().and_then(parse_date).filter(|e| *e <= day));
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
                let Some(d) = parse_date(&date).filter(|d| kept(*d)) else { continue };
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
        for (member, by) in super::referral::pending_follow_ups(conn, &self.identity().posyandu_id)? {
            follow_ups.entry(member).or_default().push(by);
        }
        let mut out = Vec::new();
        for row in rows {
            let (id, household_id, name, birth, rt, head_name, sex) = row?;
            let Some(b) = parse_date(&birth) else {
                continue;
            };
            if b > day {
                continue;
            }
            let stage = life_stage(b, day, preg.get(&id).copied().unwrap_or(PregnancyStatus::None));
            let mut history = hist.remove(&id).unwrap_or_default();
            history.sex = Some(sex_from_code(sex));
            out.push(Gathered {
                kek: kek.get(&id).copied().unwrap_or(false),
                visits: seen.remove(&id).unwrap_or_default(),
                delivered: delivered.get(&id).copied().flatten(),
                follow_ups: follow_ups.remove(&id).unwrap_or_default(),
                id,
                household_id,
                name,
                rt,
                head_name,
                birth: b,
                stage,
                history,
            });
        }
        Ok(out)
    }
}
