//! Query tables for the kader's screens, kept in step with the documents: every write
//! rebuilds the household's rows in the same transaction as the document change.

use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::Store;
use crate::doc::DocProblem;
use crate::error::Result;
use crate::growth::WeightTrend;
use crate::lifestage::{life_stage, LifeStage, PregnancyStatus};
use crate::model::*;

/// One row of the household list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdSummary {
    pub id: Uuid,
    pub rt: String,
    pub rw: String,
    pub dusun: Option<String>,
    pub kk_number: Option<String>,
    pub head_name: Option<String>,
    pub member_count: u32,
    pub last_visit: Option<String>,
    pub conflict_count: u32,
}

/// A member as the search and life-stage lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub id: Uuid,
    pub household_id: Uuid,
    pub name: String,
    pub nik: Option<String>,
    pub birth_date: String,
    pub sex: Sex,
    pub stage: LifeStage,
    pub rt: String,
}

/// Lower-case, letters and digits only, words separated by one space: what name
/// search compares against.
pub fn name_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for w in name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

fn sex_code(s: Sex) -> i64 {
    match s {
        Sex::Male => 1,
        Sex::Female => 2,
    }
}

pub(crate) fn sex_from_code(c: i64) -> Sex {
    if c == 2 {
        Sex::Female
    } else {
        Sex::Male
    }
}

fn trend_code(t: WeightTrend) -> &'static str {
    match t {
        WeightTrend::N => "N",
        WeightTrend::T => "T",
        WeightTrend::O => "O",
        WeightTrend::B => "B",
    }
}

/// N/T/O/B of a household's weighings: the rulebook's one function
/// ([`crate::rules::trend::weight_trends`]), re-exported here for existing callers.
pub use crate::rules::trend::weight_trends;

/// Rebuilds the household's rows in the query tables, with the problems its reader
/// found (records left out of `hh`).
pub fn materialize(
    tx: &Transaction,
    hh: &Household,
    problems: &[DocProblem],
    conflicts: usize,
    _today: Date,
) -> Result<()> {
    // The Posyandu document (issue 12, `store::posyandu`) is kept in the `doc` table
    // like a household but is not one: no household rows.
    if hh.id == crate::doc::posyandu_doc_id(&hh.posyandu_id) {
        return Ok(());
    }
    let id = hh.id.to_string();
    for table in ["member", "pregnancy", "visit_entry", "doc_problem"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE household_id = ?1"))?.execute([&id])?;
    }
    super::referral::materialize(tx, hh)?;
    super::spm::materialize(tx, hh)?;
    let mut ins_problem = tx.prepare_cached(
        "INSERT OR IGNORE INTO doc_problem (household_id, path, reason, kind) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for p in problems {
        ins_problem.execute(params![id, p.path, p.reason, p.kind.as_str()])?;
    }
    // A member who moved away or died (issue 12) is on no list of the phone: not in
    // search, life-stage lists or the due list (`rules::membership`: gone from the
    // day of the event; a status is never in the future, validation).
    let live_members: Vec<&Member> = hh.members.iter().filter(|m| !m.deleted && m.status.is_none()).collect();
    let last_visit = hh.visits.iter().filter(|v| !v.deleted).map(|v| v.date).max();
    tx.prepare_cached(
        "INSERT INTO household (id, posyandu_id, rt, rw, dusun, kk_number, head_name, member_count, last_visit, conflict_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET posyandu_id = excluded.posyandu_id, rt = excluded.rt, rw = excluded.rw,
           dusun = excluded.dusun, kk_number = excluded.kk_number, head_name = excluded.head_name,
           member_count = excluded.member_count, last_visit = excluded.last_visit, conflict_count = excluded.conflict_count",
    )?
    .execute(params![
        id,
        hh.posyandu_id,
        hh.address.rt,
        hh.address.rw,
        hh.address.dusun,
        hh.kk_number,
        hh.head().filter(|m| !m.deleted).map(|m| m.name.clone()),
        live_members.len() as i64,
        last_visit.map(format_date),
        conflicts as i64,
    ])?;
    let mut ins_member = tx.prepare_cached(
        "INSERT INTO member (id, household_id, nik, name, name_key, birth_date, sex, relation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for m in &live_members {
        let relation = serde_json::to_value(m.relation).ok().and_then(|v| v.as_str().map(str::to_owned));
        ins_member.execute(params![
            m.id.to_string(),
            id,
            m.nik.as_deref().or(m.mother_nik.as_ref().map(|n| n.mother_nik.as_str())),
            m.name,
            name_key(&m.name),
            format_date(m.birth_date),
            sex_code(m.sex),
            relation.unwrap_or_default(),
        ])?;
    }
    let mut ins_preg = tx.prepare_cached(
        "INSERT INTO pregnancy (id, member_id, household_id, lmp, due_date, ended, kek) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for p in hh.pregnancies.iter().filter(|p| !p.deleted) {
        ins_preg.execute(params![
            p.id.to_string(),
            p.member_id.to_string(),
            id,
            format_date(p.lmp),
            format_date(p.due_date),
            p.ended.map(format_date),
            p.kek,
        ])?;
    }
    let trends = weight_trends(hh);
    let mut ins_entry = tx.prepare_cached(
        "INSERT INTO visit_entry (visit_id, member_id, household_id, date, kind, weight_kg, height_cm, muac_cm, bp_sys, bp_dia,
           glucose, vitamin_a, antigens, referral, trend)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for v in hh.visits.iter().filter(|v| !v.deleted) {
        let kind = match v.kind {
            VisitKind::HariBuka => "hari_buka",
            VisitKind::KunjunganRumah => "kunjungan_rumah",
        };
        for e in &v.entries {
            let m = &e.measurements;
            ins_entry.execute(params![
                v.id.to_string(),
                e.member_id.to_string(),
                id,
                format_date(v.date),
                kind,
                m.weight_kg,
                m.length_height_cm,
                m.muac_cm,
                m.bp_systolic_mmhg,
                m.bp_diastolic_mmhg,
                m.blood_glucose_mg_dl,
                e.services.vitamin_a,
                e.services.immunisations.join(","),
                e.referral.is_some(),
                trends.get(&(v.id, e.member_id)).map(|t| trend_code(*t)),
            ])?;
        }
    }
    Ok(())
}

/// Pregnancy status of each member from the query tables, on `today`.
pub(crate) fn pregnancy_status(
    conn: &Connection,
    today: Date,
) -> Result<std::collections::HashMap<String, PregnancyStatus>> {
    let mut episodes: std::collections::HashMap<String, Vec<(Date, Date, Option<Date>)>> = Default::default();
    let mut stmt = conn.prepare_cached("SELECT member_id, lmp, due_date, ended FROM pregnancy")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
    })?;
    for row in rows {
        let (member, lmp, due, ended) = row?;
        if let (Some(lmp), Some(due)) = (parse_date(&lmp), parse_date(&due)) {
            episodes.entry(member).or_default().push((lmp, due, ended.as_deref().and_then(parse_date)));
        }
    }
    Ok(episodes.into_iter().map(|(m, e)| (m, crate::rules::pregnancy::pregnancy_status(e, today))).collect())
}

impl Store {
    /// Households of this device's Posyandu, optionally of one RT, ordered by RT/RW
    /// and head of family.
    pub fn list_households(&self, rt: Option<&str>) -> Result<Vec<HouseholdSummary>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, rt, rw, dusun, kk_number, head_name, member_count, last_visit, conflict_count
             FROM household WHERE posyandu_id = ?1 AND (?2 IS NULL OR rt = ?2)
             ORDER BY rt, rw, head_name COLLATE NOCASE, id",
        )?;
        let rows = stmt.query_map(params![self.identity().posyandu_id, rt], |r| {
            Ok(HouseholdSummary {
                id: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                rt: r.get(1)?,
                rw: r.get(2)?,
                dusun: r.get(3)?,
                kk_number: r.get(4)?,
                head_name: r.get(5)?,
                member_count: r.get(6)?,
                last_visit: r.get(7)?,
                conflict_count: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn member_rows(&self, where_sql: &str, args: &[&dyn rusqlite::ToSql], limit: usize) -> Result<Vec<MemberSummary>> {
        let today = self.today();
        let conn = self.reader();
        let preg = pregnancy_status(&conn, today)?;
        let sql = format!(
            "SELECT m.id, m.household_id, m.name, m.nik, m.birth_date, m.sex, h.rt
             FROM member m JOIN household h ON h.id = m.household_id
             WHERE h.posyandu_id = ? AND ({where_sql}) ORDER BY m.name COLLATE NOCASE, m.id LIMIT {limit}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let posyandu = self.identity().posyandu_id.clone();
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&posyandu];
        all.extend_from_slice(args);
        let rows = stmt.query_map(all.as_slice(), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, String>(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, hh, name, nik, birth, sex, rt) = row?;
            let Some(b) = parse_date(&birth) else {
                continue;
            };
            let status = preg.get(&id).copied().unwrap_or(PregnancyStatus::None);
            out.push(MemberSummary {
                id: id.parse().unwrap_or_default(),
                household_id: hh.parse().unwrap_or_default(),
                name,
                nik,
                birth_date: birth,
                sex: sex_from_code(sex),
                stage: life_stage(b, today, status),
                rt,
            });
        }
        Ok(out)
    }

    /// Members whose name contains every word of `query` as a word prefix, or whose
    /// NIK starts with the digits of `query`. At most `limit` results.
    pub fn search_members(&self, query: &str, limit: usize) -> Result<Vec<MemberSummary>> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.clamp(1, 500);
        if q.bytes().all(|b| b.is_ascii_digit()) {
            let like = format!("{q}%");
            return self.member_rows("m.nik LIKE ?", &[&like], limit);
        }
        let words: Vec<String> = name_key(q).split(' ').map(|w| format!("% {w}%")).collect();
        let clause = vec!["(' ' || m.name_key) LIKE ?"; words.len()].join(" AND ");
        let args: Vec<&dyn rusqlite::ToSql> = words.iter().map(|w| w as &dyn rusqlite::ToSql).collect();
        self.member_rows(&clause, &args, limit)
    }

    /// Members currently in a life stage.
    pub fn members_by_stage(&self, stage: LifeStage) -> Result<Vec<MemberSummary>> {
        Ok(self.member_rows("1", &[], usize::MAX >> 1)?.into_iter().filter(|m| m.stage == stage).collect())
    }
}
