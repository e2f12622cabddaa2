//! Query tables for the kader's screens, kept in step with the documents: every write
//! rebuilds the household's rows in the same transaction as the document change.

use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::Store;
use crate::doc::DocProblem;
use crate::error::Result;
use crate::growth::{self, WeightTrend};
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

fn sex_from_code(c: i64) -> Sex {
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

/// N/T/O/B for each weighing of each child under five, keyed by (visit, member).
///
/// By calendar month of the visit ([`growth::monthly_trends`], `docs/rules.md`):
/// the first weighing of a child in a calendar month gets the month's trend, compared
/// with the latest weighing of the previous calendar month; later weighings in the
/// same month get none. Only weighings of children under five count (ages
/// 0..=1856 days, up to 60 completed months, as before). Visits are taken in date
/// order, whatever their order in the document.
pub fn weight_trends(hh: &Household) -> std::collections::HashMap<(Uuid, Uuid), WeightTrend> {
    let mut out = std::collections::HashMap::new();
    for m in hh.members.iter().filter(|m| !m.deleted) {
        let mut keys = Vec::new();
        let mut weighings = Vec::new();
        for v in hh.visits.iter().filter(|v| !v.deleted) {
            let Some(e) = v.entries.iter().find(|e| e.member_id == m.id) else {
                continue;
            };
            let Some(w) = e.measurements.weight_kg else {
                continue;
            };
            if !(0..=growth::LAST_DAY_WHO_2006).contains(&(v.date - m.birth_date).whole_days()) {
                continue;
            }
            keys.push(v.id);
            weighings.push((v.date, w));
        }
        for (visit, t) in keys.into_iter().zip(growth::monthly_trends(m.sex, m.birth_date, &weighings)) {
            if let Some(t) = t {
                out.insert((visit, m.id), t);
            }
        }
    }
    out
}

/// Rebuilds the household's rows in the query tables, with the problems its reader
/// found (records left out of `hh`).
pub fn materialize(
    tx: &Transaction,
    hh: &Household,
    problems: &[DocProblem],
    conflicts: usize,
    _today: Date,
) -> Result<()> {
    let id = hh.id.to_string();
    for table in ["member", "pregnancy", "visit_entry", "doc_problem"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE household_id = ?1"))?.execute([&id])?;
    }
    let mut ins_problem = tx.prepare_cached(
        "INSERT OR IGNORE INTO doc_problem (household_id, path, reason, kind) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for p in problems {
        ins_problem.execute(params![id, p.path, p.reason, p.kind.as_str()])?;
    }
    let live_members: Vec<&Member> = hh.members.iter().filter(|m| !m.deleted).collect();
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

#[cfg(test)]
mod trend_tests {
    //! N/T/O/B by calendar month of the Posyandu session (docs/rules.md, "N/T/O/B").
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;
    use time::Month;

    fn household(birth: Date, sex: Sex, weighings: &[(Date, f64)]) -> (Household, Vec<Uuid>, Uuid) {
        let child = Uuid::from_u128(1);
        let member = Member {
            id: child,
            nik: None,
            mother_nik: None,
            name: "Anak".into(),
            birth_date: birth,
            sex,
            relation: Relation::Anak,
            bpjs_number: None,
            kia_book: None,
            deleted: false,
        };
        let mut visits = Vec::new();
        let mut ids = Vec::new();
        for (i, (d, kg)) in weighings.iter().enumerate() {
            let id = Uuid::from_u128(1000 + i as u128);
            ids.push(id);
            visits.push(Visit {
                id,
                date: *d,
                kind: VisitKind::HariBuka,
                kader_id: "K".into(),
                posyandu_id: "P".into(),
                entries: vec![VisitEntry {
                    member_id: child,
                    measurements: Measurements { weight_kg: Some(*kg), ..Default::default() },
                    ..Default::default()
                }],
                deleted: false,
            });
        }
        let hh = Household {
            id: Uuid::from_u128(2),
            posyandu_id: "P".into(),
            kk_number: None,
            kk_history: vec![],
            head_member_id: None,
            address: Address::default(),
            gps: None,
            spm: SpmAttributes::default(),
            members: vec![member],
            visits,
            pregnancies: vec![],
        };
        (hh, ids, child)
    }

    /// Trend codes in the order of `weighings` ("-" = no trend for that weighing).
    fn codes(birth: Date, weighings: &[(Date, f64)]) -> Vec<&'static str> {
        let (hh, ids, child) = household(birth, Sex::Female, weighings);
        let t = weight_trends(&hh);
        ids.iter().map(|v| t.get(&(*v, child)).map(|t| t.code()).unwrap_or("-")).collect()
    }

    /// Second Tuesday of a month.
    fn second_tuesday(year: i32, month: Month) -> Date {
        let first = Date::from_calendar_date(year, month, 1).unwrap();
        let to_tue = (7 + 1 - first.weekday().number_days_from_monday() as i64) % 7;
        first + time::Duration::days(to_tue + 7)
    }

    #[test]
    fn brief_example_march_april_2024_is_not_o() {
        // 2024-03-12 and 2024-04-09: 28 days apart, both second-Tuesday sessions.
        let w = [(date!(2024 - 03 - 12), 5.0), (date!(2024 - 04 - 09), 5.95)];
        // born 2024-01-10: days 62 and 90 fell in the same 30.4-day "month" (2).
        assert_eq!(codes(date!(2024 - 01 - 10), &w), ["B", "N"]);
        assert_eq!(codes(date!(2024 - 01 - 10), &[w[0], (w[1].0, 5.5)]), ["B", "T"]);
    }

    #[test]
    fn brief_example_october_november_2026_is_not_o() {
        // 2026-10-01 and 2026-11-28: 58 days apart but consecutive calendar months.
        let w = [(date!(2026 - 10 - 01), 4.5), (date!(2026 - 11 - 28), 5.5)];
        // born 2026-09-01: days 30 and 88 were 30.4-day "months" 0 and 2.
        assert_eq!(codes(date!(2026 - 09 - 01), &w), ["B", "N"]);
    }

    #[test]
    fn second_tuesday_sessions_through_february_and_31_day_months() {
        // Two years of second-Tuesday sessions (Feb 2024 has 29 days, Feb 2025 28;
        // gaps of 28 and 35 days), 1 kg gained every month: all N after the first.
        for birth in [date!(2023 - 12 - 20), date!(2023 - 12 - 31), date!(2024 - 01 - 01), date!(2023 - 12 - 13)] {
            let mut w = Vec::new();
            for (i, ym) in (0..24).map(|i| (i, (2024 + i / 12, Month::January.nth_next((i % 12) as u8)))) {
                let d = second_tuesday(ym.0, ym.1);
                if d >= birth {
                    w.push((d, 3.0 + i as f64));
                }
            }
            let c = codes(birth, &w);
            assert_eq!(c[0], "B", "birth {birth}");
            assert!(c[1..].iter().all(|x| *x == "N"), "birth {birth}: {c:?}");
        }
    }

    #[test]
    fn first_and_last_day_of_month_pairs() {
        let b = date!(2025 - 01 - 15); // KMS age 11-14 months: KBM 200 g
                                       // last day of January, first day of February: consecutive months
        assert_eq!(codes(b, &[(date!(2026 - 01 - 31), 8.0), (date!(2026 - 02 - 01), 8.2)]), ["B", "N"]);
        assert_eq!(codes(b, &[(date!(2026 - 01 - 31), 8.0), (date!(2026 - 02 - 01), 8.1)]), ["B", "T"]);
        // first day of January, last day of February (58 days): consecutive months
        assert_eq!(codes(b, &[(date!(2026 - 01 - 01), 8.0), (date!(2026 - 02 - 28), 8.3)]), ["B", "N"]);
        // last day of January, first day of March (29 days): February skipped → O
        assert_eq!(codes(b, &[(date!(2026 - 01 - 31), 8.0), (date!(2026 - 03 - 01), 8.3)]), ["B", "O"]);
        // 31 December → 1 January crosses the year
        assert_eq!(codes(b, &[(date!(2025 - 12 - 31), 7.0), (date!(2026 - 01 - 01), 7.3)]), ["B", "N"]);
    }

    #[test]
    fn previous_weighing_is_the_latest_of_the_previous_month() {
        let b = date!(2025 - 01 - 10); // KMS age 12-13 months in Jan/Feb 2026: KBM 200 g
        let w = [(date!(2026 - 01 - 05), 9.0), (date!(2026 - 01 - 25), 9.5), (date!(2026 - 02 - 10), 9.6)];
        // +100 g since 25 January (not +600 g since 5 January); the second
        // weighing of January gets no trend of its own.
        assert_eq!(codes(b, &w), ["B", "-", "T"]);
        // visit order in the document does not matter
        let w2 = [w[2], w[0], w[1]];
        assert_eq!(codes(b, &w2), ["T", "B", "-"]);
    }

    proptest! {
        /// A child weighed exactly once in every calendar month is never O.
        #[test]
        fn weighed_every_calendar_month_is_never_o(
            birth_off in 0i64..3650,
            first_off in 0i64..400,
            days in proptest::collection::vec(1u8..=31, 1..61),
            gains in proptest::collection::vec(-500i32..1500, 61),
        ) {
            let birth = date!(2015 - 01 - 01) + time::Duration::days(birth_off);
            let start = birth + time::Duration::days(first_off);
            let (mut y, mut m) = (start.year(), start.month());
            let mut w = Vec::new();
            let mut kg = 3.0;
            for (i, d) in days.iter().enumerate() {
                let last = m.length(y);
                let mut date = Date::from_calendar_date(y, m, (*d).min(last)).unwrap();
                if i == 0 && date < start {
                    date = start;
                }
                if (date - birth).whole_days() > 1856 {
                    break;
                }
                kg += gains[i] as f64 / 1000.0;
                w.push((date, kg.max(0.5)));
                m = m.next();
                if m == Month::January {
                    y += 1;
                }
            }
            prop_assume!(!w.is_empty());
            let c = codes(birth, &w);
            prop_assert_eq!(c[0], "B");
            prop_assert!(c[1..].iter().all(|x| *x == "N" || *x == "T"), "{:?} {:?}", w, c);
        }
    }
}
