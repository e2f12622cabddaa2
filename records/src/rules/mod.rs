//! # The rulebook
//!
//! Every derived health fact is computed here, once, and used by the phone's store
//! and due list, the bindings (and so the app), and the relay's report, export and
//! FHIR. Nothing in this module does I/O: no SQLite, no HTTP, no files at run time
//! (rule tables are embedded at build time). A rule's source and its pinning test are
//! in `docs/rules.md`.
//!
//! | fact | where |
//! | --- | --- |
//! | ages (completed months, KMS months, WHO days) | [`age`] |
//! | z-scores, growth categories, N/T/O/B, 2T, KBM | [`growth`] (`crate::growth`) |
//! | life stage (ILP klaster) | [`lifestage`] |
//! | pregnancy status and end, KEK, HPL, gestational age | [`pregnancy`] |
//! | immunisation schedule and overdue doses | [`immunisation`] |
//! | vitamin A rounds | [`vitamin_a`] |
//! | N/T/O/B of recorded weighings (store, preview, relay) | [`trend`] |
//! | whether this month's hari buka has taken place | [`session`] |
//! | service days from the schedule (H-1), undangan list, register, home-visit list | [`schedule`] |
//! | KMS referral triggers (T, 2T, BGM, above the orange line) | [`referral`] |
//! | referral reasons, lifecycle status, follow-up visit, proposed referrals | [`referral_lifecycle`] |
//! | F2 nutrition status of BGM/2T children, *baru* and *kumulatif* cases | [`f2`] |
//! | child LiLA band (6–59 months) | [`muac`] |
//! | why a member is due for a home visit | [`due`] |
//! | home-visit checklist items per life stage, counselling topics, indicator coverage | [`checklist`] (table `records/data/rules/ilp_checklist.json`) |
//! | exclusive breastfeeding (ASI eksklusif) 0–5 months: who is asked, the answer | [`breastfeeding`] |
//! | who is still a member (pindah / meninggal) for lists and monthly counts | [`membership`] |
//! | postnatal contacts KF1–KF4 / KN1–KN3 as due items | [`postnatal`] (table `records/data/rules/postnatal.json`) |
//! | adult screening: hypertension, glucose, IMT, waist | [`screening`] (table `records/data/rules/screening.json`) |
//! | NIK consistency warnings | [`identity`] |
//! | which rulebook derived a stored fact | [`version`] |
//!
//! Rule tables (thresholds, schedules) are data in `records/data/rules/*.json`, each value
//! with its source, loaded by [`table`].

pub mod age;
pub mod breastfeeding;
pub mod checklist;
pub mod due;
pub mod f2;
pub mod identity;
pub mod immunisation;
pub mod lifestage;
pub mod membership;
pub mod muac;
pub mod postnatal;
pub mod pregnancy;
pub mod referral;
pub mod referral_lifecycle;
pub mod schedule;
pub mod screening;
pub mod session;
pub mod spm_request;
pub mod table;
pub mod trend;
pub mod version;
pub mod vitamin_a;

pub use version::version;

pub use crate::growth;

#[cfg(test)]
mod tests {
    /// The rulebook stays I/O-free: none of its files names a storage, network or
    /// file-system API.
    #[test]
    fn rulebook_does_no_io() {
        let files: &[(&str, &str)] = &[
            ("age.rs", include_str!("age.rs")),
            ("breastfeeding.rs", include_str!("breastfeeding.rs")),
            ("due.rs", include_str!("due.rs")),
            ("f2.rs", include_str!("f2.rs")),
            ("identity.rs", include_str!("identity.rs")),
            ("immunisation.rs", include_str!("immunisation.rs")),
            ("lifestage.rs", include_str!("lifestage.rs")),
            ("membership.rs", include_str!("membership.rs")),
            ("muac.rs", include_str!("muac.rs")),
            ("postnatal.rs", include_str!("postnatal.rs")),
            ("table.rs", include_str!("table.rs")),
            ("pregnancy.rs", include_str!("pregnancy.rs")),
            ("referral.rs", include_str!("referral.rs")),
            ("referral_lifecycle.rs", include_str!("referral_lifecycle.rs")),
            ("screening.rs", include_str!("screening.rs")),
            ("session.rs", include_str!("session.rs")),
            ("spm_request.rs", include_str!("spm_request.rs")),
            ("trend.rs", include_str!("trend.rs")),
            ("vitamin_a.rs", include_str!("vitamin_a.rs")),
            ("version.rs", include_str!("version.rs")),
        ];
        for (name, src) in files {
            for forbidden in ["rusqlite", "reqwest", "std::fs", "std::net", "crate::wire", "posyandu_core"] {
                assert!(!src.contains(forbidden), "{name} uses {forbidden}");
            }
        }
    }
}
