//! The Posyandu document's content (issue 12): the schedule of service days (hari
//! buka), the kader roster, the service area and the sasaran (projected target
//! numbers per year). One automerge document per Posyandu, synced like a household to
//! every device of the Posyandu; its layout, deterministic id and genesis change are in
//! [`crate::doc`] (`doc/posyandu.rs`), the schedule rules in
//! [`crate::rules::schedule`]. `docs/schema.md`, "The Posyandu document".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::validation::{self, Bounds, ValidationError, MAX_NAME, MAX_TEXT};

/// Which week of the month a schedule rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Week {
    First,
    Second,
    Third,
    Fourth,
    /// The fifth such weekday; months without one have no rule date.
    Fifth,
    /// The last such weekday of the month.
    Last,
}

impl Week {
    pub const ALL: [Week; 6] = [Week::First, Week::Second, Week::Third, Week::Fourth, Week::Fifth, Week::Last];

    /// `1..=5` for the numbered weeks, `None` for [`Week::Last`].
    pub fn number(self) -> Option<u8> {
        match self {
            Week::First => Some(1),
            Week::Second => Some(2),
            Week::Third => Some(3),
            Week::Fourth => Some(4),
            Week::Fifth => Some(5),
            Week::Last => None,
        }
    }

    /// From `1..=5`.
    pub fn from_number(n: u8) -> Option<Week> {
        Week::ALL.into_iter().find(|w| w.number() == Some(n))
    }

    /// "1", "2", … or "last"/"terakhir" (the CLI's `--nth`).
    pub fn parse(s: &str) -> Option<Week> {
        match s.trim().to_lowercase().as_str() {
            "last" | "terakhir" | "akhir" => Some(Week::Last),
            other => other.parse::<u8>().ok().and_then(Week::from_number),
        }
    }

    pub fn label_id(self) -> &'static str {
        match self {
            Week::First => "pertama",
            Week::Second => "kedua",
            Week::Third => "ketiga",
            Week::Fourth => "keempat",
            Week::Fifth => "kelima",
            Week::Last => "terakhir",
        }
    }
}

/// A day of the week, stored in English (`tuesday`), shown and typed in Indonesian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl DayOfWeek {
    pub const ALL: [DayOfWeek; 7] = [
        DayOfWeek::Monday,
        DayOfWeek::Tuesday,
        DayOfWeek::Wednesday,
        DayOfWeek::Thursday,
        DayOfWeek::Friday,
        DayOfWeek::Saturday,
        DayOfWeek::Sunday,
    ];

    pub fn weekday(self) -> time::Weekday {
        match self {
            DayOfWeek::Monday => time::Weekday::Monday,
            DayOfWeek::Tuesday => time::Weekday::Tuesday,
            DayOfWeek::Wednesday => time::Weekday::Wednesday,
            DayOfWeek::Thursday => time::Weekday::Thursday,
            DayOfWeek::Friday => time::Weekday::Friday,
            DayOfWeek::Saturday => time::Weekday::Saturday,
            DayOfWeek::Sunday => time::Weekday::Sunday,
        }
    }

    pub fn label_id(self) -> &'static str {
        match self {
            DayOfWeek::Monday => "senin",
            DayOfWeek::Tuesday => "selasa",
            DayOfWeek::Wednesday => "rabu",
            DayOfWeek::Thursday => "kamis",
            DayOfWeek::Friday => "jumat",
            DayOfWeek::Saturday => "sabtu",
            DayOfWeek::Sunday => "minggu",
        }
    }

    /// Indonesian (`selasa`, `jumat`/`jum'at`) or English (`tuesday`) name.
    pub fn parse(s: &str) -> Option<DayOfWeek> {
        let s = s.trim().to_lowercase().replace('\'', "");
        DayOfWeek::ALL.into_iter().find(|d| {
            d.label_id() == s || serde_json::to_value(d).ok().and_then(|v| v.as_str().map(|x| x == s)) == Some(true)
        })
    }
}

/// "The `week` `weekday` of every month", e.g. the second Tuesday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRule {
    pub week: Week,
    pub weekday: DayOfWeek,
}

impl ScheduleRule {
    pub fn label_id(&self) -> String {
        format!("{} {} setiap bulan", self.weekday.label_id(), self.week.label_id())
    }
}

/// An explicit service day (or a cancelled one). Any explicit entry in a month
/// replaces the rule's date of that month ([`crate::rules::schedule`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// No session on this date (and, when it is the month's only entry, none that month).
    #[serde(default)]
    pub cancelled: bool,
}

/// The schedule of service days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<ScheduleRule>,
    /// Explicit dates (`YYYY-MM-DD` keys).
    #[serde(default)]
    pub dates: BTreeMap<String, ServiceDate>,
}

impl Schedule {
    /// The explicit dates, parsed (keys that are not dates are never stored: the reader
    /// leaves them out).
    pub fn explicit(&self) -> impl Iterator<Item = (Date, &ServiceDate)> {
        self.dates.iter().filter_map(|(k, v)| crate::model::parse_date(k).map(|d| (d, v)))
    }
}

/// A kader's role in the Posyandu (open: newer versions may add roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterRole {
    Ketua,
    Koordinator,
    Anggota,
}

impl RosterRole {
    pub fn parse(s: &str) -> Option<RosterRole> {
        serde_json::from_value(serde_json::Value::String(s.trim().to_lowercase())).ok()
    }
}

/// One kader of the roster (keyed by kader id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub name: String,
    pub role: RosterRole,
    pub active: bool,
}

/// One covered area: an RT of an RW of a village (kode wilayah, 10 digits), with its
/// dusun when the village has them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AreaEntry {
    pub kode_wilayah: String,
    pub rw: String,
    pub rt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dusun: Option<String>,
}

impl AreaEntry {
    /// Its key in the document's `area` map: `<kode_wilayah>/<rw>/<rt>`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.kode_wilayah, self.rw, self.rt)
    }
}

/// Who set a year's sasaran (open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SasaranSource {
    /// The Puskesmas (written by the relay for a Puskesmas token, never by a phone).
    Puskesmas,
    Kader,
}

impl SasaranSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SasaranSource::Puskesmas => "puskesmas",
            SasaranSource::Kader => "kader",
        }
    }
}

/// The projected target numbers (sasaran) of one year; a count not given is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sasaran {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ibu_hamil: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ibu_bersalin: Option<u32>,
    /// Infants 0–11 months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bayi: Option<u32>,
    /// Under-fives 0–59 months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balita: Option<u32>,
    /// Elderly, 60 years and over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lansia: Option<u32>,
    pub source: SasaranSource,
}

/// The Posyandu document as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posyandu {
    /// The document id ([`crate::doc::posyandu_doc_id`]).
    pub id: uuid::Uuid,
    pub posyandu_id: String,
    pub schedule: Schedule,
    pub roster: BTreeMap<String, RosterEntry>,
    /// Sorted by kode wilayah, RW, RT.
    pub area: Vec<AreaEntry>,
    /// By year (`"2026"`).
    pub sasaran: BTreeMap<String, Sasaran>,
}

impl Posyandu {
    /// An empty Posyandu (before anyone set anything).
    pub fn empty(posyandu_id: &str) -> Posyandu {
        Posyandu {
            id: crate::doc::posyandu_doc_id(posyandu_id),
            posyandu_id: posyandu_id.to_string(),
            schedule: Schedule::default(),
            roster: BTreeMap::new(),
            area: Vec::new(),
            sasaran: BTreeMap::new(),
        }
    }

    /// The sasaran of a year, if set.
    pub fn sasaran_of(&self, year: i32) -> Option<&Sasaran> {
        self.sasaran.get(&year.to_string())
    }
}

// ---- limits and checks (write boundary and reader) ---------------------------------

/// Most explicit dates kept (about 30 years of monthly sessions).
pub const MAX_DATES: usize = 400;
pub const MAX_ROSTER: usize = 200;
pub const MAX_AREA: usize = 500;
pub const MAX_SASARAN_YEARS: usize = 100;
/// A year of sasaran.
pub const SASARAN_YEAR: Bounds = Bounds { field: "Tahun sasaran", min: 2000.0, max: 2100.0 };
/// One count of sasaran.
pub const SASARAN_COUNT: Bounds = Bounds { field: "Jumlah sasaran", min: 0.0, max: 1_000_000.0 };

type V = Result<(), ValidationError>;

pub fn check_service_date(date: Date, d: &ServiceDate) -> V {
    validation::check_date("hari buka", date)?;
    validation::check_opt_text("Tempat", &d.place, MAX_NAME)?;
    validation::check_opt_text("Catatan", &d.note, MAX_TEXT)
}

pub fn check_roster_entry(kader_id: &str, e: &RosterEntry) -> V {
    validation::check_text("ID kader", kader_id, MAX_NAME)?;
    validation::check_text("Nama kader", &e.name, MAX_NAME)
}

pub fn check_area(a: &AreaEntry) -> V {
    validation::check_digits("Kode wilayah", &a.kode_wilayah, 10)?;
    validation::check_rt_rw("RW", &a.rw)?;
    validation::check_rt_rw("RT", &a.rt)?;
    validation::check_opt_text("Dusun", &a.dusun, MAX_NAME)
}

pub fn check_sasaran(year: i32, s: &Sasaran) -> V {
    SASARAN_YEAR.check(year as f64)?;
    for n in [s.ibu_hamil, s.ibu_bersalin, s.bayi, s.balita, s.lansia].into_iter().flatten() {
        SASARAN_COUNT.check(n as f64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(DayOfWeek::parse("Selasa"), Some(DayOfWeek::Tuesday));
        assert_eq!(DayOfWeek::parse("jum'at"), Some(DayOfWeek::Friday));
        assert_eq!(DayOfWeek::parse("tuesday"), Some(DayOfWeek::Tuesday));
        assert_eq!(DayOfWeek::parse("selasaa"), None);
        assert_eq!(Week::parse("2"), Some(Week::Second));
        assert_eq!(Week::parse("terakhir"), Some(Week::Last));
        assert_eq!(Week::parse("6"), None);
        assert_eq!(RosterRole::parse("Ketua"), Some(RosterRole::Ketua));
    }

    #[test]
    fn checks() {
        let a = AreaEntry { kode_wilayah: "3275011001".into(), rw: "002".into(), rt: "001".into(), dusun: None };
        assert!(check_area(&a).is_ok());
        assert!(check_area(&AreaEntry { kode_wilayah: "32".into(), ..a.clone() }).is_err());
        let s = Sasaran {
            ibu_hamil: Some(12),
            ibu_bersalin: None,
            bayi: Some(10),
            balita: Some(60),
            lansia: None,
            source: SasaranSource::Kader,
        };
        assert!(check_sasaran(2026, &s).is_ok());
        assert!(check_sasaran(1999, &s).is_err());
        assert!(check_sasaran(2026, &Sasaran { balita: Some(2_000_000), ..s }).is_err());
    }
}
