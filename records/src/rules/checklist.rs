//! The ILP home-visit checklist and the counselling topics, coded (table
//! `records/data/rules/ilp_checklist.json`; sources and doubts in docs/rules.md,
//! "ILP home-visit checklist").
//!
//! A visit entry's `checklist` maps item codes to yes/no answers and its `counselling`
//! lists topic codes. Which items a kader asks depends on the member's life stage at the
//! visit (and, for some, on age in completed months and sex): [`items_for`]. New writes
//! carry only catalogue codes ([`crate::validation::check_coded`]); documents written by
//! older app versions (free-text counselling such as "MP-ASI", unknown keys) stay
//! readable and are kept, but only coded answers are exported and counted.
//!
//! Exclusive breastfeeding (0–5 months) is not an item: it is the typed field
//! `VisitEntry::asi_eksklusif` ([`super::breastfeeding`]).
//!
//! Items marked `indicator` are program indicators: the monthly report gives, per item,
//! how many members of the item's group were asked and how many answered yes
//! ([`Coverage`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use time::Date;

use super::age::age_months;
use super::lifestage::LifeStage;
use crate::growth::Sex;

/// One yes/no question of the home-visit checklist for one life stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChecklistItem {
    pub code: String,
    pub stage: LifeStage,
    /// First and last completed month of age the item applies to (inclusive).
    #[serde(default)]
    pub from_months: Option<i32>,
    #[serde(default)]
    pub to_months: Option<i32>,
    /// Only for this sex (e.g. TTD for adolescent girls).
    #[serde(default)]
    pub sex: Option<Sex>,
    /// A program indicator: its coverage is in the monthly report.
    pub indicator: bool,
    /// The question as the kader reads it (Bahasa Indonesia).
    pub label_id: String,
    pub source: String,
}

impl ChecklistItem {
    /// Whether the item is asked of a person of this stage, age and sex.
    pub fn applies(&self, stage: LifeStage, age_months: i32, sex: Sex) -> bool {
        self.stage == stage
            && self.from_months.is_none_or(|f| age_months >= f)
            && self.to_months.is_none_or(|t| age_months <= t)
            && self.sex.is_none_or(|s| s == sex)
    }
}

/// A coded counselling (penyuluhan) topic.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CounsellingTopic {
    pub code: String,
    /// Stages the topic is usually given to (the order a screen offers them in).
    pub stages: Vec<LifeStage>,
    pub label_id: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
struct Table {
    version: String,
    items: Vec<ChecklistItem>,
    counselling_topics: Vec<CounsellingTopic>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| super::table::parse("ilp_checklist"))
}

/// The catalogue's version (stored with nothing: the codes are stable, a new version
/// only adds items or changes labels).
pub fn catalogue_version() -> &'static str {
    &table().version
}

/// Every checklist item, all stages.
pub fn all_items() -> &'static [ChecklistItem] {
    &table().items
}

/// Every counselling topic.
pub fn all_topics() -> &'static [CounsellingTopic] {
    &table().counselling_topics
}

/// Whether `code` is a checklist item of any stage.
pub fn is_item(code: &str) -> bool {
    all_items().iter().any(|i| i.code == code)
}

/// Whether `code` is a counselling topic.
pub fn is_topic(code: &str) -> bool {
    all_topics().iter().any(|t| t.code == code)
}

/// The items a kader asks a person of `stage`, born `birth`, of `sex`, on `on`, in
/// catalogue order.
pub fn items_for(stage: LifeStage, birth: Date, sex: Sex, on: Date) -> Vec<&'static ChecklistItem> {
    let months = age_months(birth, on);
    all_items().iter().filter(|i| i.applies(stage, months, sex)).collect()
}

/// The item `code` as asked of this person, if it applies to them.
pub fn item_for(code: &str, stage: LifeStage, birth: Date, sex: Sex, on: Date) -> Option<&'static ChecklistItem> {
    items_for(stage, birth, sex, on).into_iter().find(|i| i.code == code)
}

/// Counselling topics for `stage` first, then the others (a topic may be given to
/// anyone, e.g. a mother about her baby), in catalogue order.
pub fn topics_for(stage: LifeStage) -> Vec<&'static CounsellingTopic> {
    let (mut first, rest): (Vec<_>, Vec<_>) = all_topics().iter().partition(|t| t.stages.contains(&stage));
    first.extend(rest);
    first
}

/// The label of a counselling topic code (`None` for free text of older versions).
pub fn topic_label(code: &str) -> Option<&'static str> {
    all_topics().iter().find(|t| t.code == code).map(|t| t.label_id.as_str())
}

/// The label of a checklist item code (the first stage's wording).
pub fn item_label(code: &str) -> Option<&'static str> {
    all_items().iter().find(|i| i.code == code).map(|i| i.label_id.as_str())
}

/// Coverage of one indicator item over a set of answers: members of the item's group
/// asked (an answer recorded) and answered yes. Each member counts once: their last
/// answer in the period decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    pub asked: u32,
    pub yes: u32,
}

/// Coverage per indicator code, from `(member key, visit date, item applies, code,
/// answer)` rows of one period: an answer counts only where the item applied to the
/// member at that visit; the latest answer per member wins (ties: yes).
pub fn coverage<'a, K: Ord + Clone + 'a>(
    answers: impl IntoIterator<Item = (K, Date, bool, &'a str, bool)>,
) -> BTreeMap<String, Coverage> {
    let indicators: Vec<&str> = all_items().iter().filter(|i| i.indicator).map(|i| i.code.as_str()).collect();
    let mut last: BTreeMap<(String, K), (Date, bool)> = BTreeMap::new();
    for (member, date, applies, code, yes) in answers {
        if !applies || !indicators.contains(&code) {
            continue;
        }
        let slot = last.entry((code.to_string(), member)).or_insert((date, yes));
        if date > slot.0 || (date == slot.0 && yes) {
            *slot = (date, yes);
        }
    }
    let mut out: BTreeMap<String, Coverage> = BTreeMap::new();
    for code in indicators {
        out.entry(code.to_string()).or_default();
    }
    for ((code, _), (_, yes)) in last {
        let c = out.entry(code).or_default();
        c.asked += 1;
        c.yes += u32::from(yes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_catalogue_parses_cites_its_sources_and_has_unique_codes_per_stage() {
        assert!(!catalogue_version().is_empty());
        let mut seen = std::collections::HashSet::new();
        for i in all_items() {
            assert!(i.source.trim().len() >= 10, "{}: no source", i.code);
            assert!(!i.label_id.trim().is_empty());
            assert!(seen.insert((i.code.clone(), i.stage)), "{} twice for {:?}", i.code, i.stage);
            assert!(i.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{}", i.code);
        }
        for stage in LifeStage::ALL {
            assert!(all_items().iter().any(|i| i.stage == stage), "no item for {stage:?}");
            assert!(all_topics().iter().any(|t| t.stages.contains(&stage)), "no topic for {stage:?}");
        }
        let mut topics = std::collections::HashSet::new();
        for t in all_topics() {
            assert!(t.source.trim().len() >= 10, "{}: no source", t.code);
            assert!(topics.insert(t.code.clone()), "topic {} twice", t.code);
        }
    }

    #[test]
    fn items_follow_stage_age_and_sex() {
        let on = date!(2026 - 12 - 01);
        let codes = |stage, birth, sex| -> Vec<&str> {
            items_for(stage, birth, sex, on).iter().map(|i| i.code.as_str()).collect()
        };
        // 5 completed months: MP-ASI not yet; 6 completed months (born 2026-06-01): asked.
        let five = codes(LifeStage::BayiBalita, date!(2026 - 06 - 15), Sex::Male);
        assert!(!five.contains(&"mp_asi") && five.contains(&"tanda_bahaya_bayi"), "{five:?}");
        let six = codes(LifeStage::BayiBalita, date!(2026 - 06 - 01), Sex::Male);
        assert!(six.contains(&"mp_asi"), "{six:?}");
        // Exclusive breastfeeding is the typed field of the visit entry, not an item.
        assert!(!is_item("asi_eksklusif"));
        // Tali pusat only in month 0.
        assert!(codes(LifeStage::BayiBalita, date!(2026 - 11 - 20), Sex::Female).contains(&"tali_pusat_kering"));
        assert!(!codes(LifeStage::BayiBalita, date!(2026 - 10 - 20), Sex::Female).contains(&"tali_pusat_kering"));
        // TTD weekly for girls 12–17 years, not boys, not 11-year-olds.
        assert!(codes(LifeStage::UsiaSekolahRemaja, date!(2012 - 01 - 01), Sex::Female).contains(&"ttd_remaja_putri"));
        assert!(!codes(LifeStage::UsiaSekolahRemaja, date!(2012 - 01 - 01), Sex::Male).contains(&"ttd_remaja_putri"));
        assert!(!codes(LifeStage::UsiaSekolahRemaja, date!(2015 - 06 - 01), Sex::Female).contains(&"ttd_remaja_putri"));
        // The same code may be asked in several stages; a pregnant woman gets the
        // pregnancy items, not the adult ones.
        let hamil = codes(LifeStage::IbuHamil, date!(1998 - 01 - 01), Sex::Female);
        assert!(hamil.contains(&"ttd_diminum") && !hamil.contains(&"kb_aktif"), "{hamil:?}");
        assert!(item_for("merokok", LifeStage::Lansia, date!(1950 - 01 - 01), Sex::Male, on).is_some());
        assert!(item_for("mp_asi", LifeStage::Lansia, date!(1950 - 01 - 01), Sex::Male, on).is_none());
    }

    #[test]
    fn topics_of_the_stage_come_first() {
        let t = topics_for(LifeStage::Lansia);
        let first_other = t.iter().position(|x| !x.stages.contains(&LifeStage::Lansia)).unwrap();
        assert!(t[..first_other].iter().all(|x| x.stages.contains(&LifeStage::Lansia)));
        assert!(t[first_other..].iter().all(|x| !x.stages.contains(&LifeStage::Lansia)));
        assert_eq!(t.len(), all_topics().len());
        assert_eq!(topic_label("mp_asi"), Some("Makanan pendamping ASI (MP-ASI)"));
        assert_eq!(topic_label("MP-ASI"), None);
    }

    #[test]
    fn coverage_counts_each_member_once_by_the_last_answer_where_the_item_applied() {
        let d = |day| Date::from_calendar_date(2026, time::Month::November, day).unwrap();
        let rows = vec![
            ("a", d(3), true, "mp_asi", false),
            ("a", d(20), true, "mp_asi", true), // later answer wins
            ("b", d(3), true, "mp_asi", false),
            ("c", d(3), false, "mp_asi", true), // did not apply (too young): not counted
            ("d", d(3), true, "tanda_bahaya_bayi", true), // not an indicator
            ("e", d(5), true, "ttd_diminum", true),
        ];
        let c = coverage(rows);
        assert_eq!(c["mp_asi"], Coverage { asked: 2, yes: 1 });
        assert_eq!(c["ttd_diminum"], Coverage { asked: 1, yes: 1 });
        assert_eq!(c["kb_pasca_persalinan"], Coverage::default(), "every indicator is listed");
        assert!(!c.contains_key("tanda_bahaya_bayi"));
    }
}
