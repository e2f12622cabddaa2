//! Vitamin A supplementation: the February/August rounds, the capsule for an age (blue
//! 100 000 IU for 6–11 months, red 200 000 IU for 12–59 months and ibu nifas), and who
//! has missed the current round. The table is data (`records/data/rules/vitamin_a.json`,
//! each part with its source); rules and doubts: `docs/rules.md`, "Vitamin A".

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::age::age_months;

/// Capsule colour (and so dose) recorded per vitamin A dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VitaminACapsule {
    /// 100 000 IU, infants 6–11 months.
    Biru,
    /// 200 000 IU, children 12–59 months and ibu nifas.
    Merah,
}

impl VitaminACapsule {
    pub fn as_str(self) -> &'static str {
        match self {
            VitaminACapsule::Biru => "biru",
            VitaminACapsule::Merah => "merah",
        }
    }
    /// Indonesian label, e.g. "kapsul biru (100.000 IU)".
    pub fn label_id(self) -> String {
        let iu = table().capsule_iu(self).unwrap_or(0);
        format!("kapsul {} ({} IU)", self.as_str(), thousands(iu))
    }
}

fn thousands(n: u32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// The rounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rounds {
    /// Calendar months of the rounds (2 = February, 8 = August).
    pub months: Vec<u8>,
    /// Months after a round during which a child who missed it is still on the due list.
    pub follow_up_months: u8,
    pub source: String,
}

/// The capsule for an age band of children.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildDose {
    pub from_months: i32,
    pub to_months: i32,
    pub capsule: VitaminACapsule,
    pub iu: u32,
    pub doses_per_year: u8,
    pub source: String,
}

/// The capsules for ibu nifas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NifasDose {
    pub capsule: VitaminACapsule,
    pub iu: u32,
    pub capsules: u8,
    pub min_hours_between: u32,
    pub within_days_after_birth: i64,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitaminATable {
    #[allow(dead_code)]
    table: String,
    #[allow(dead_code)]
    version: String,
    #[allow(dead_code)]
    about: String,
    pub rounds: Rounds,
    /// Child age bands and their capsule.
    #[serde(rename = "entries")]
    pub child: Vec<ChildDose>,
    pub nifas: NifasDose,
}

impl VitaminATable {
    fn capsule_iu(&self, c: VitaminACapsule) -> Option<u32> {
        self.child.iter().find(|d| d.capsule == c).map(|d| d.iu).or((self.nifas.capsule == c).then_some(self.nifas.iu))
    }
}

/// The embedded table (checked by `tests::table_is_sourced` and
/// `table::tests::every_table_parses_and_cites_its_sources`).
pub fn table() -> &'static VitaminATable {
    static TABLE: OnceLock<VitaminATable> = OnceLock::new();
    TABLE.get_or_init(|| super::table::parse("vitamin_a"))
}

/// The child age band (by completed months) of a child born on `birth` on `on`.
pub fn child_dose(birth: Date, on: Date) -> Option<&'static ChildDose> {
    let m = age_months(birth, on);
    table().child.iter().find(|d| (d.from_months..=d.to_months).contains(&m))
}

/// The capsule expected for someone born on `birth` given vitamin A on `on`:
/// by the child's age band, else the nifas capsule when `nifas` (up to 42 days after
/// a birth), else none.
pub fn expected_capsule(birth: Date, on: Date, nifas: bool) -> Option<VitaminACapsule> {
    child_dose(birth, on).map(|d| d.capsule).or(nifas.then_some(table().nifas.capsule))
}

/// Who a capsule is for, in Indonesian, from the table: "bayi 6–11 bulan",
/// "anak 12–59 bulan dan ibu nifas".
pub fn recipients_id(c: VitaminACapsule) -> String {
    let t = table();
    let mut who: Vec<String> = t
        .child
        .iter()
        .filter(|d| d.capsule == c)
        .map(|d| format!("{} {}–{} bulan", if d.to_months < 12 { "bayi" } else { "anak" }, d.from_months, d.to_months))
        .collect();
    if t.nifas.capsule == c {
        who.push("ibu nifas".into());
    }
    who.join(" dan ")
}

/// Whether `d` falls in a round month (February, August).
pub fn is_round_month(d: Date) -> bool {
    table().rounds.months.contains(&(d.month() as u8))
}

/// First day of the round `today` belongs to, counting the follow-up months after a
/// round; `None` outside (e.g. April–July, October–January).
pub fn current_round(today: Date) -> Option<Date> {
    let r = &table().rounds;
    (0..=r.follow_up_months as i32).find_map(|back| {
        let total = today.year() * 12 + (today.month() as i32 - 1) - back;
        let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u8 + 1);
        r.months
            .contains(&month)
            .then(|| Date::from_calendar_date(year, Month::try_from(month).ok()?, 1).ok())
            .flatten()
    })
}

/// A child of a round's age band (6–59 months on `today`) who has had no vitamin A
/// since the start of the current round, during the round month or its follow-up
/// month. Outside those months nobody is "missed": the next round is the next chance.
pub fn missed(birth: Date, last_vitamin_a: Option<Date>, today: Date) -> bool {
    let Some(start) = current_round(today) else { return false };
    child_dose(birth, today).is_some() && last_vitamin_a.is_none_or(|d| d < start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn table_is_sourced() {
        let t = table();
        assert!(!t.rounds.source.trim().is_empty());
        assert!(!t.nifas.source.trim().is_empty());
        assert!(t.child.iter().all(|d| !d.source.trim().is_empty()));
        assert_eq!(t.rounds.months, vec![2, 8]);
        assert_eq!(VitaminACapsule::Biru.label_id(), "kapsul biru (100.000 IU)");
        assert_eq!(VitaminACapsule::Merah.label_id(), "kapsul merah (200.000 IU)");
        assert_eq!(recipients_id(VitaminACapsule::Biru), "bayi 6–11 bulan");
        assert_eq!(recipients_id(VitaminACapsule::Merah), "anak 12–59 bulan dan ibu nifas");
    }

    #[test]
    fn capsule_by_age_and_nifas() {
        let b = date!(2025 - 08 - 15);
        assert_eq!(expected_capsule(b, date!(2026 - 02 - 14), false), None); // 5 months
        assert_eq!(expected_capsule(b, date!(2026 - 02 - 15), false), Some(VitaminACapsule::Biru)); // 6
        assert_eq!(expected_capsule(b, date!(2026 - 08 - 14), false), Some(VitaminACapsule::Biru)); // 11
        assert_eq!(expected_capsule(b, date!(2026 - 08 - 15), false), Some(VitaminACapsule::Merah)); // 12
        assert_eq!(expected_capsule(b, date!(2030 - 08 - 14), false), Some(VitaminACapsule::Merah)); // 59
        assert_eq!(expected_capsule(b, date!(2030 - 08 - 15), false), None); // 60
        assert_eq!(expected_capsule(date!(1998 - 01 - 01), date!(2026 - 02 - 10), true), Some(VitaminACapsule::Merah));
        assert_eq!(expected_capsule(date!(1998 - 01 - 01), date!(2026 - 02 - 10), false), None);
    }

    #[test]
    fn rounds_and_follow_up() {
        assert_eq!(current_round(date!(2026 - 01 - 31)), None);
        assert_eq!(current_round(date!(2026 - 02 - 01)), Some(date!(2026 - 02 - 01)));
        assert_eq!(current_round(date!(2026 - 03 - 31)), Some(date!(2026 - 02 - 01)));
        assert_eq!(current_round(date!(2026 - 04 - 01)), None);
        assert_eq!(current_round(date!(2026 - 07 - 31)), None);
        assert_eq!(current_round(date!(2026 - 08 - 31)), Some(date!(2026 - 08 - 01)));
        assert_eq!(current_round(date!(2026 - 09 - 30)), Some(date!(2026 - 08 - 01)));
        assert_eq!(current_round(date!(2026 - 10 - 01)), None);
        assert!(is_round_month(date!(2026 - 02 - 28)) && !is_round_month(date!(2026 - 03 - 01)));
    }

    #[test]
    fn missed_only_in_the_round_and_its_follow_up_month() {
        let b = date!(2024 - 01 - 10); // 25 months in February 2026
        assert!(missed(b, None, date!(2026 - 02 - 20)));
        assert!(missed(b, Some(date!(2025 - 08 - 10)), date!(2026 - 03 - 05)));
        assert!(!missed(b, Some(date!(2026 - 02 - 03)), date!(2026 - 03 - 05)));
        // Issue 10: the old rule flagged every child from 1 January to 31 July.
        assert!(!missed(b, Some(date!(2025 - 08 - 10)), date!(2026 - 01 - 10)));
        assert!(!missed(b, Some(date!(2025 - 08 - 10)), date!(2026 - 05 - 10)));
        // Under 6 months or 60 months and over: not in a round's age band.
        assert!(!missed(date!(2025 - 09 - 01), None, date!(2026 - 02 - 20)));
        assert!(!missed(date!(2021 - 01 - 01), None, date!(2026 - 02 - 20)));
    }
}
