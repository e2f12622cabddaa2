//! The code table of the SATUSEHAT export (`server/data/satusehat-codes.json`): every
//! code the bundles carry, with its system, display, how far it is verified and the
//! source. Codes with status `unverified` are never emitted (see the table's `about`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct Code {
    pub key: String,
    pub system: String,
    pub code: String,
    pub display: String,
    /// `verified`, `secondary` or `unverified`.
    pub status: String,
    pub source: String,
}

impl Code {
    /// Whether the bundles may carry it.
    pub fn emitted(&self) -> bool {
        self.status != "unverified" && !self.system.is_empty() && !self.code.is_empty()
    }

    /// As a FHIR `Coding`.
    pub fn coding(&self) -> Value {
        json!({ "system": self.system, "code": self.code, "display": self.display })
    }
}

#[derive(Deserialize)]
struct Table {
    #[allow(dead_code)]
    about: String,
    codes: Vec<Code>,
}

pub const TABLE_JSON: &str = include_str!("../../../data/satusehat-codes.json");

fn table() -> &'static HashMap<String, Code> {
    static T: OnceLock<HashMap<String, Code>> = OnceLock::new();
    T.get_or_init(|| {
        let t: Table = serde_json::from_str(TABLE_JSON).expect("server/data/satusehat-codes.json parses (tested)");
        t.codes.into_iter().map(|c| (c.key.clone(), c)).collect()
    })
}

/// Every code of the table.
pub fn all() -> impl Iterator<Item = &'static Code> {
    table().values()
}

/// The code under `key` if it may be emitted.
pub fn get(key: &str) -> Option<&'static Code> {
    table().get(key).filter(|c| c.emitted())
}

/// The code under `key`; a key the builder uses must be in the table and emitted
/// (checked by the tests).
pub fn must(key: &str) -> &'static Code {
    get(key).unwrap_or_else(|| panic!("satusehat-codes.json lacks an emitted code {key}"))
}

/// A `CodeableConcept` of the code under `key`.
pub fn concept(key: &str) -> Value {
    let c = must(key);
    json!({ "coding": [c.coding()], "text": c.display })
}

/// Whether `(system, code)` is an emitted code of the table (the profile checks'
/// binding for the systems the table covers).
pub fn is_known(system: &str, code: &str) -> bool {
    all().any(|c| c.emitted() && c.system == system && c.code == code)
}

/// Whether the table covers codes of this system (then [`is_known`] binds it).
pub fn covers_system(system: &str) -> bool {
    all().any(|c| c.emitted() && c.system == system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_every_code_is_sourced() {
        let mut keys = std::collections::HashSet::new();
        for c in all() {
            assert!(keys.insert(c.key.clone()), "duplicate key {}", c.key);
            assert!(["verified", "secondary", "unverified"].contains(&c.status.as_str()), "{}: status", c.key);
            assert!(!c.source.trim().is_empty(), "{}: no source", c.key);
            if c.status != "unverified" {
                assert!(!c.system.is_empty() && !c.code.is_empty(), "{}: emitted without code", c.key);
            }
        }
        // Unverified codes are never handed out.
        assert!(get("kfa-BCG").is_none());
        assert_eq!(must("org-type-posyandu").code, "131");
    }
}
