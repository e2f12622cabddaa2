//! Rule tables kept as data: `records/data/rules/<name>.json`, embedded at build time and
//! parsed once. Every value carries its source; a change of regulation is a change of
//! one file plus its test. A table that does not parse is a build defect caught by
//! [`tests::every_table_parses_and_cites_its_sources`], never a run-time surprise.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Every embedded table, by name.
pub const TABLES: &[(&str, &str)] = &[
    ("pregnancy", include_str!("../../data/rules/pregnancy.json")),
    ("muac", include_str!("../../data/rules/muac.json")),
    ("kbm", include_str!("../../data/rules/kbm.json")),
    ("screening", include_str!("../../data/rules/screening.json")),
    ("immunisation", include_str!("../../data/rules/immunisation.json")),
    ("vitamin_a", include_str!("../../data/rules/vitamin_a.json")),
    ("ilp_checklist", include_str!("../../data/rules/ilp_checklist.json")),
    ("postnatal", include_str!("../../data/rules/postnatal.json")),
    ("spm_needs", include_str!("../../data/rules/spm_needs.json")),
];

/// One rule value with the text it comes from.
#[derive(Debug, Clone, Deserialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

/// The `values` object of a threshold table.
#[derive(Debug, Deserialize)]
struct Values<T> {
    values: T,
}

/// Parses the embedded table `name` (see [`TABLES`]) whole.
pub(crate) fn parse<T: DeserializeOwned>(name: &str) -> T {
    let text =
        TABLES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap_or_else(|| panic!("no rule table {name}"));
    serde_json::from_str::<T>(text).unwrap_or_else(|e| panic!("embedded rule table {name} is invalid: {e}"))
}

/// Parses the `values` of the embedded threshold table `name`.
pub(crate) fn values<T: DeserializeOwned>(name: &str) -> T {
    parse::<Values<T>>(name).values
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn check_sources(table: &str, path: &str, v: &Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("value") || path.rsplit('/').nth(1) == Some("entries") {
                    let src = m.get("source").and_then(Value::as_str).unwrap_or("");
                    assert!(src.trim().len() >= 10, "{table}: {path} has no source");
                }
                for (k, x) in m {
                    check_sources(table, &format!("{path}/{k}"), x);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    check_sources(table, &format!("{path}/{i}"), x);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_table_parses_and_cites_its_sources() {
        for (name, text) in TABLES {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(v["table"], *name, "{name}: the file names another table");
            assert!(v["version"].as_str().is_some_and(|s| !s.is_empty()), "{name}: no version");
            check_sources(name, "", &v);
        }
    }
}
