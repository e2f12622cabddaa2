//! The Posyandu document on the phone (issue 12) and the three lists of a session:
//! the H-1 undangan list, the service-day register and the home-visit list after it.
//!
//! The document (schedule, roster, area, sasaran; `crate::doc`'s `doc/posyandu.rs`) is
//! kept like a household: in the `doc` table under its deterministic id, its changes
//! queued in the outbox and synced with the relay. It has no query table: it is small,
//! and read from the document. A store that has never seen it creates it with the
//! genesis change, so two phones creating it offline merge their edits.
//!
//! The lists gather each live member's history from the query tables (the same
//! gathering as the due list, `store::due`) and ask the rulebook
//! ([`crate::rules::schedule`]) who is expected, who came and who needs a home visit.

use std::collections::HashMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::{append_change, outbox_push, save_snapshot, Store, Writer};
use crate::doc::{genesis_change, posyandu_doc_id, HouseholdDoc};
use crate::error::{Error, Result};
use crate::model::*;
use crate::posyandu::*;
use crate::rules::due::DueReason;
use crate::rules::lifestage::LifeStage;
use crate::rules::schedule::{self, HomeVisitSection, InviteReason, SessionMember};

/// Someone expected at a service day, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteItem {
    pub member_id: Uuid,
    pub household_id: Uuid,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    pub stage: LifeStage,
    pub reasons: Vec<InviteReason>,
}

/// The H-1 undangan list of a service day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Undangan {
    /// `YYYY-MM-DD`.
    pub service_day: String,
    pub items: Vec<InviteItem>,
}

/// What was recorded for a member at the session, with the rulebook's N/T/O/B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFacts {
    pub weight_kg: Option<f64>,
    pub length_height_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    /// N/T/O/B of the weighing ([`crate::rules::trend`]).
    pub trend: Option<String>,
    pub vitamin_a: bool,
    pub immunisations: Vec<String>,
    pub referral: bool,
}

/// One line of the service-day register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterEntry {
    pub member_id: Uuid,
    pub household_id: Uuid,
    pub name: String,
    pub rt: String,
    pub stage: LifeStage,
    /// Why the member was expected (empty: came without an invitation).
    pub expected: Vec<InviteReason>,
    pub came: bool,
    pub facts: Option<SessionFacts>,
    /// Risk reasons after the session ([`schedule::risk_reasons`]).
    pub risks: Vec<DueReason>,
}

/// The register of a service day: everyone expected and everyone who came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRegister {
    pub service_day: String,
    pub expected: u32,
    pub came: u32,
    pub entries: Vec<RegisterEntry>,
}

/// One line of the home-visit list after a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeVisitItem {
    pub section: HomeVisitSection,
    pub member_id: Uuid,
    pub household_id: Uuid,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    pub stage: LifeStage,
    /// Why the member was expected at the session.
    pub expected: Vec<InviteReason>,
    pub risks: Vec<DueReason>,
}

/// The home-visit list after the session of `service_day`: who did not come, then who
/// is at risk (each by RT and name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeVisitList {
    pub service_day: String,
    pub items: Vec<HomeVisitItem>,
}

struct Line {
    g: super::due::Gathered,
    m: SessionMember,
    facts: Option<SessionFacts>,
}

impl Store {
    // ---- the document ---------------------------------------------------------------

    /// The Posyandu document of this device's Posyandu (empty until someone sets
    /// something or it arrives through sync).
    pub fn posyandu(&self) -> Result<Posyandu> {
        let pid = self.identity().posyandu_id.clone();
        let id = posyandu_doc_id(&pid);
        let mut w = self.writer();
        let w = &mut *w;
        match w.docs.take_doc(&w.conn, id) {
            Ok(doc) => {
                let read = doc.read_posyandu();
                w.docs.put_doc(id, doc);
                Ok(read?.posyandu)
            }
            Err(Error::NotFound { .. }) => Ok(Posyandu::empty(&pid)),
            Err(e) => Err(e),
        }
    }

    /// Sets (or clears) the schedule rule, e.g. the second Tuesday of every month.
    pub fn set_schedule_rule(&self, rule: Option<ScheduleRule>) -> Result<()> {
        self.edit_posyandu(|doc| Ok(doc.set_schedule_rule(rule.as_ref())?))
    }

    /// Sets an explicit service date (moved, extra or `cancelled`), or removes it.
    pub fn set_service_date(&self, date: Date, d: Option<ServiceDate>) -> Result<()> {
        if let Some(d) = &d {
            check_service_date(date, d)?;
        } else {
            crate::validation::check_date("hari buka", date)?;
        }
        self.edit_posyandu(|doc| Ok(doc.set_service_date(date, d.as_ref())?))
    }

    pub fn set_roster_entry(&self, kader_id: &str, e: RosterEntry) -> Result<()> {
        check_roster_entry(kader_id, &e)?;
        self.edit_posyandu(|doc| Ok(doc.set_roster_entry(kader_id.trim(), &e)?))
    }

    pub fn set_area_entry(&self, a: AreaEntry, covered: bool) -> Result<()> {
        check_area(&a)?;
        self.edit_posyandu(|doc| Ok(doc.set_area_entry(&a, covered)?))
    }

    /// Sets a year's sasaran as entered by a kader (`source` is always `kader` from a
    /// phone; the Puskesmas sets its own through the relay).
    pub fn set_sasaran(&self, year: i32, mut s: Sasaran) -> Result<()> {
        s.source = SasaranSource::Kader;
        check_sasaran(year, &s)?;
        self.edit_posyandu(|doc| Ok(doc.set_sasaran(year, &s)?))
    }

    /// The first service day on or after `from` (default today).
    pub fn next_service_day(&self, from: Option<Date>) -> Result<Option<Date>> {
        Ok(schedule::next_service_day(&self.posyandu()?.schedule, from.unwrap_or_else(|| self.today())))
    }

    /// Runs `f` on the Posyandu document (created with its genesis change when this
    /// store has none) and commits its edits as one change, queued for the relay, in
    /// one transaction. On any error nothing is written.
    fn edit_posyandu(&self, f: impl FnOnce(&mut HouseholdDoc) -> Result<()>) -> Result<()> {
        let pid = self.identity().posyandu_id.clone();
        let id = posyandu_doc_id(&pid);
        let mut w = self.writer();
        let w: &mut Writer = &mut w;
        let (mut doc, genesis) = match w.docs.take_doc(&w.conn, id) {
            Ok(d) => (d, None),
            Err(Error::NotFound { .. }) => {
                (HouseholdDoc::posyandu_genesis(&pid, &w.docs.actor)?, Some(genesis_change(&pid)?))
            }
            Err(e) => return Err(e),
        };
        if let Err(e) = f(&mut doc) {
            doc.rollback();
            if genesis.is_none() {
                w.docs.put_doc(id, doc);
            }
            return Err(e);
        }
        let now = self.now().unix_timestamp();
        let Some(change) = doc.commit(&self.identity().kader_id, now) else {
            if genesis.is_none() {
                w.docs.put_doc(id, doc);
            }
            return Ok(());
        };
        let tx = w.conn.transaction()?;
        match &genesis {
            Some(g) => {
                save_snapshot(&tx, id, &doc.save())?;
                outbox_push(&tx, id, g, now)?;
            }
            None => append_change(&tx, id, &change)?,
        }
        outbox_push(&tx, id, &change, now)?;
        tx.commit()?;
        w.docs.put_doc(id, doc);
        Ok(())
    }

    // ---- the lists ------------------------------------------------------------------

    /// Every live member on service day `day`: history before the day, the entry of the
    /// day's hari buka, history including the day.
    fn session_lines(&self, day: Date) -> Result<Vec<Line>> {
        let conn = self.reader();
        let held = self.session_held_on(&conn, day)?;
        let before: HashMap<String, super::due::Gathered> =
            self.gather_members(&conn, day, Some(day))?.into_iter().map(|g| (g.id.clone(), g)).collect();
        let after = self.gather_members(&conn, day, Some(day + time::Duration::days(1)))?;
        let mut came: HashMap<String, SessionFacts> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT e.member_id, e.weight_kg, e.height_cm, e.muac_cm, e.trend, e.vitamin_a, e.antigens, e.referral
                 FROM visit_entry e JOIN household h ON h.id = e.household_id
                 WHERE h.posyandu_id = ?1 AND e.kind = 'hari_buka' AND e.date = ?2",
            )?;
            let rows = stmt.query_map(params![self.identity().posyandu_id, format_date(day)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    SessionFacts {
                        weight_kg: r.get(1)?,
                        length_height_cm: r.get(2)?,
                        muac_cm: r.get(3)?,
                        trend: r.get(4)?,
                        vitamin_a: r.get(5)?,
                        immunisations: r
                            .get::<_, String>(6)?
                            .split(',')
                            .filter(|a| !a.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        referral: r.get(7)?,
                    },
                ))
            })?;
            for row in rows {
                let (m, f) = row?;
                came.insert(m, f);
            }
        }
        let mut out = Vec::new();
        for g in after {
            let Some(b) = before.get(&g.id) else { continue };
            let m = SessionMember {
                birth: g.birth,
                stage: g.stage,
                due_before: b.reasons(day, false),
                vitamin_a_missed: crate::rules::vitamin_a::missed(g.birth, b.history.last_vitamin_a, day),
                immunisations_due: schedule::immunisations_due(g.birth, &b.history.antigens, day),
                due_after: g.reasons(day, held),
                came: came.contains_key(&g.id),
            };
            let facts = came.remove(&g.id);
            out.push(Line { g, m, facts });
        }
        Ok(out)
    }

    /// The service day a list is for: `date`, else the schedule's next service day on or
    /// after today (`next`) or its latest on or before today.
    fn list_day(&self, date: Option<Date>, next: bool) -> Result<Date> {
        if let Some(d) = date {
            return Ok(d);
        }
        let s = self.posyandu()?.schedule;
        let today = self.today();
        let found = if next { schedule::next_service_day(&s, today) } else { schedule::latest_service_day(&s, today) };
        found.ok_or_else(|| Error::NotFound { kind: "Jadwal hari buka", id: "atur dengan `posyandu schedule`".into() })
    }

    /// The H-1 undangan list: who is expected at service day `date` (default: the next
    /// service day from today) and why, by RT and name.
    pub fn undangan(&self, date: Option<Date>) -> Result<Undangan> {
        let day = self.list_day(date, true)?;
        let items = self
            .session_lines(day)?
            .into_iter()
            .filter_map(|l| {
                let reasons = schedule::invite_reasons(&l.m, day);
                (!reasons.is_empty()).then(|| InviteItem {
                    member_id: l.g.id.parse().unwrap_or_default(),
                    household_id: l.g.household_id.parse().unwrap_or_default(),
                    name: l.g.name,
                    rt: l.g.rt,
                    head_name: l.g.head_name,
                    stage: l.m.stage,
                    reasons,
                })
            })
            .collect();
        Ok(Undangan { service_day: format_date(day), items })
    }

    /// The register of service day `date`: everyone expected and everyone recorded at
    /// the day's hari buka, with what was recorded and the rulebook's N/T/O/B.
    pub fn register(&self, date: Date) -> Result<ServiceRegister> {
        let mut entries = Vec::new();
        let (mut expected_n, mut came_n) = (0u32, 0u32);
        for l in self.session_lines(date)? {
            let expected = schedule::invite_reasons(&l.m, date);
            if expected.is_empty() && !l.m.came {
                continue;
            }
            expected_n += u32::from(!expected.is_empty());
            came_n += u32::from(l.m.came);
            entries.push(RegisterEntry {
                member_id: l.g.id.parse().unwrap_or_default(),
                household_id: l.g.household_id.parse().unwrap_or_default(),
                name: l.g.name,
                rt: l.g.rt,
                stage: l.m.stage,
                expected,
                came: l.m.came,
                facts: l.facts,
                risks: schedule::risk_reasons(&l.m.due_after),
            });
        }
        Ok(ServiceRegister { service_day: format_date(date), expected: expected_n, came: came_n, entries })
    }

    /// The home-visit list after the session of `date` (default: the latest service
    /// day on or before today): who was expected and did not come, then who is at
    /// risk, each section by RT and name.
    pub fn home_visit_list(&self, date: Option<Date>) -> Result<HomeVisitList> {
        let day = self.list_day(date, false)?;
        let mut items: Vec<HomeVisitItem> = self
            .session_lines(day)?
            .into_iter()
            .filter_map(|l| {
                let section = schedule::home_visit_section(&l.m, day)?;
                Some(HomeVisitItem {
                    section,
                    member_id: l.g.id.parse().unwrap_or_default(),
                    household_id: l.g.household_id.parse().unwrap_or_default(),
                    expected: schedule::invite_reasons(&l.m, day),
                    risks: schedule::risk_reasons(&l.m.due_after),
                    name: l.g.name,
                    rt: l.g.rt,
                    head_name: l.g.head_name,
                    stage: l.m.stage,
                })
            })
            .collect();
        // Stable: within a section the gathering order (RT, name) stays.
        items.sort_by_key(|i| i.section);
        Ok(HomeVisitList { service_day: format_date(day), items })
    }
}
