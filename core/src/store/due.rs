//! The "perlu dikunjungi" (due for a home visit) list: gathers each member's history
//! from the query tables and asks the rulebook ([`crate::rules::due`]) why they are due.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::query::pregnancy_status;
use super::Store;
use crate::error::Result;
use crate::model::*;
pub use crate::rules::due::DueReason;
use crate::rules::due::{reasons, History};
use crate::rules::lifestage::{life_stage, LifeStage, PregnancyStatus};

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
        let mut hist: HashMap<String, History> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT e.member_id, e.date, e.weight_kg IS NOT NULL, e.vitamin_a, e.antigens, e.trend
                 FROM visit_entry e JOIN household h ON h.id = e.household_id
                 WHERE h.posyandu_id = ?1 ORDER BY e.member_id, e.date",
            )?;
            let rows = stmt.query_map([&self.identity().posyandu_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            for row in rows {
                let (member, date, weighed, vit_a, antigens, trend) = row?;
                let Some(d) = parse_date(&date) else { continue };
                let h = hist.entry(member).or_default();
                h.last_seen = h.last_seen.max(Some(d));
                if weighed {
                    h.last_weighed = h.last_weighed.max(Some(d));
                }
                if vit_a {
                    h.last_vitamin_a = h.last_vitamin_a.max(Some(d));
                }
                h.antigens.extend(antigens.split(',').filter(|a| !a.is_empty()).map(str::to_owned));
                if let Some(t) = trend {
                    h.trends.push(t);
                }
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT m.id, m.household_id, m.name, m.birth_date, h.rt, h.head_name
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
            ))
        })?;
        let empty = History::default();
        let mut out = Vec::new();
        for row in rows {
            let (id, hh, name, birth, rt, head_name) = row?;
            let Some(b) = parse_date(&birth) else {
                continue;
            };
            let stage = life_stage(b, today, preg.get(&id).copied().unwrap_or(PregnancyStatus::None));
            let r = reasons(b, stage, kek.get(&id).copied().unwrap_or(false), hist.get(&id).unwrap_or(&empty), today);
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
