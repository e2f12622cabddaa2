//! The rulebook's version stamp: which rules derived a stored fact.
//!
//! The relay keeps derived facts (z-scores, categories, N/T/O/B, screening…) in its
//! read model and stamps each row with this version; a relay built with other rules
//! re-derives every row whose stamp differs. The stamp is a digest of everything that
//! decides a derived fact: the rule tables (`records/data/rules/*.json`), the WHO growth
//! tables, and [`CODE_REVISION`] for rule logic written in Rust.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// Bump when a rule's Rust code changes what it derives (a table change is seen by the
/// digest without this).
pub const CODE_REVISION: u32 = 2;

/// `r<CODE_REVISION>-<12 hex digits of the digest of the tables>`, e.g. `r1-3fa2c09be1d4`.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        for (name, text) in super::table::TABLES {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        for text in crate::growth::tables::SOURCES {
            h.update(text.as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        format!("r{CODE_REVISION}-{}", hex::encode(&digest[..6]))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_stable_and_names_the_code_revision() {
        let v = super::version();
        assert_eq!(v, super::version());
        assert!(v.starts_with(&format!("r{}-", super::CODE_REVISION)), "{v}");
        assert_eq!(v.len(), format!("r{}-", super::CODE_REVISION).len() + 12);
    }
}
