//! The "perlu dikunjungi" (due for a home visit) list, from the query tables.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::{Date, Month};
use uuid::Uuid;

use super::query::pregnancy_status;
use super::Store;
use crate::error::Result;
use crate::lifestage::{age_months, life_stage, LifeStage, PregnancyStatus};
use crate::model::*;

/// Basic and booster immunisation for children (Permenkes 12/2017 as extended with
/// PCV and rotavirus): antigen code and the age in months it is due.
pub const IMMUNISATION_SCHEDULE: &[(&str, i32)] = &[
    ("HB0", 0),
    ("BCG", 1),
    ("POLIO1", 1),
    ("DPT_HB_HIB1", 2),
    ("POLIO2", 2),
    ("PCV1", 2),
    ("RV1", 2),
    ("DPT_HB_HIB2", 3),
    ("POLIO3", 3),
    ("PCV2", 3),
    ("RV2", 3),
    ("DPT_HB_HIB3", 4),
    ("POLIO4", 4),
    ("IPV1", 4),
    ("RV3", 4),
    ("MR1", 9),
    ("IPV2", 9),
    ("PCV3", 12),
    ("DPT_HB_HIB4", 18),
    ("MR2", 18),
];

/// Antigens recorded outside the child schedule (school BIAS, women of child-bearing age).
const OTHER_ANTIGENS: &[&str] = &["DT", "TD1", "TD2", "TD3", "TD4", "TD5", "HPV1", "HPV2", "JE"];

pub fn is_known_antigen(code: &str) -> bool {
    IMMUNISATION_SCHEDULE.iter().any(|(a, _)| *a == code) || OTHER_ANTIGENS.contains(&code)
}

/// Why someone is on the due list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum DueReason {
    /// Child under five not weighed this month.
    NotWeighedThisMonth,
    /// Child 6–59 months without vitamin A since the last February/August round.
    VitaminAMissed,
    /// Antigens overdue (more than a month past the schedule).
    ImmunisationMissed(Vec<String>),
    /// Weight did not rise at the last two weighings (2T).
    TwoT,
    /// Pregnant with chronic energy deficiency (LiLA < 23.5 cm).
    PregnantKek,
    /// Elderly person not seen this month or last.
    ElderlyAbsent,
}

impl DueReason {
    pub fn label_id(&self) -> String {
        match self {
            DueReason::NotWeighedThisMonth => "Belum ditimbang bulan ini".into(),
            DueReason::VitaminAMissed => "Belum mendapat vitamin A (Februari/Agustus)".into(),
            DueReason::ImmunisationMissed(a) => format!("Imunisasi terlewat: {}", a.join(", ")),
            DueReason::TwoT => "2T: berat badan tidak naik dua kali berturut-turut".into(),
            DueReason::PregnantKek => "Ibu hamil KEK (LiLA < 23,5 cm)".into(),
            DueReason::ElderlyAbsent => "Lansia tidak hadir dua bulan terakhir".into(),
        }
    }
}

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

#[derive(Default)]
struct History {
    last_weighed: Option<Date>,
    last_seen: Option<Date>,
    last_vitamin_a: Option<Date>,
    antigens: Vec<String>,
    trends: Vec<String>,
}

/// First day of the vitamin A round (February or August) that `today` falls in.
pub fn vitamin_a_round_start(today: Date) -> Date {
    let (year, month) = match today.month() as u8 {
        1 => (today.year() - 1, Month::August),
        2..=7 => (today.year(), Month::February),
        _ => (today.year(), Month::August),
    };
    Date::from_calendar_date(year, month, 1).expect("valid date")
}

fn month_start(d: Date) -> Date {
    d.replace_day(1).expect("day 1 exists")
}

/// Reasons a member is due, given their history (pure; tested directly).
fn reasons(birth: Date, stage: LifeStage, kek: bool, h: &History, today: Date) -> Vec<DueReason> {
    let mut out = Vec::new();
    let months = age_months(birth, today);
    let this_month = month_start(today);
    if (0..60).contains(&months) {
        if h.last_weighed.is_none_or(|d| d < this_month) {
            out.push(DueReason::NotWeighedThisMonth);
        }
        if (6..60).contains(&months) && h.last_vitamin_a.is_none_or(|d| d < vitamin_a_round_start(today)) {
            out.push(DueReason::VitaminAMissed);
        }
        let missed: Vec<String> = IMMUNISATION_SCHEDULE
            .iter()
            .filter(|(a, due)| months > due + 1 && !h.antigens.iter().any(|x| x == a))
            .map(|(a, _)| a.to_string())
            .collect();
        if !missed.is_empty() {
            out.push(DueReason::ImmunisationMissed(missed));
        }
        if h.trends.len() >= 2 && h.trends[h.trends.len() - 2..].iter().all(|t| t == "T") {
            out.push(DueReason::TwoT);
        }
    }
    if stage == LifeStage::IbuHamil && kek {
        out.push(DueReason::PregnantKek);
    }
    if stage == LifeStage::Lansia {
        let prev_month = month_start(this_month - time::Duration::days(1));
        if h.last_seen.is_none_or(|d| d < prev_month) {
            out.push(DueReason::ElderlyAbsent);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn vitamin_a_rounds() {
        assert_eq!(vitamin_a_round_start(date!(2026 - 01 - 10)), date!(2025 - 08 - 01));
        assert_eq!(vitamin_a_round_start(date!(2026 - 02 - 01)), date!(2026 - 02 - 01));
        assert_eq!(vitamin_a_round_start(date!(2026 - 07 - 31)), date!(2026 - 02 - 01));
        assert_eq!(vitamin_a_round_start(date!(2026 - 11 - 23)), date!(2026 - 08 - 01));
    }

    #[test]
    fn child_reasons() {
        let today = date!(2026 - 11 - 23);
        // 10 months old, weighed last month, vitamin A in August, fully immunised to 4 months, no MR1 yet.
        let h = History {
            last_weighed: Some(date!(2026 - 10 - 15)),
            last_seen: Some(date!(2026 - 10 - 15)),
            last_vitamin_a: Some(date!(2026 - 08 - 10)),
            antigens: IMMUNISATION_SCHEDULE.iter().filter(|(_, m)| *m <= 4).map(|(a, _)| a.to_string()).collect(),
            trends: vec!["N".into(), "T".into(), "T".into()],
        };
        let r = reasons(date!(2026 - 01 - 20), LifeStage::BayiBalita, false, &h, today);
        assert_eq!(r, vec![DueReason::NotWeighedThisMonth, DueReason::TwoT]);
        // At 11 months MR1 (due at 9) is overdue.
        let r = reasons(date!(2025 - 12 - 20), LifeStage::BayiBalita, false, &h, today);
        assert!(r.contains(&DueReason::ImmunisationMissed(vec!["MR1".into(), "IPV2".into()])));
    }

    #[test]
    fn adult_reasons() {
        let today = date!(2026 - 11 - 23);
        let seen = History { last_seen: Some(date!(2026 - 10 - 01)), ..Default::default() };
        assert!(reasons(date!(1950 - 01 - 01), LifeStage::Lansia, false, &seen, today).is_empty());
        let absent = History { last_seen: Some(date!(2026 - 09 - 30)), ..Default::default() };
        assert_eq!(
            reasons(date!(1950 - 01 - 01), LifeStage::Lansia, false, &absent, today),
            vec![DueReason::ElderlyAbsent]
        );
        assert_eq!(
            reasons(date!(1998 - 01 - 01), LifeStage::IbuHamil, true, &seen, today),
            vec![DueReason::PregnantKek]
        );
    }
}
