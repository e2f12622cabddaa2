//! # posyandu-core
//!
//! The client core of Posyandu Sync, embedded in the kader's Android app (through
//! `posyandu-bindings`) and used by the `posyandu-kader` command line tool.
//!
//! The record model, the household document, validation, the rulebook (with WHO
//! growth) and the wire protocol are shared with the relay and live in
//! `posyandu-records`; they are re-exported here at their old paths.
//!
//! - [`model`]: the ILP record types a kader reads and writes (household, member,
//!   visit, pregnancy) and the derived [`lifestage`].
//! - [`doc`]: how a household is encoded as one automerge document, how edits become
//!   changes, and how same-field conflicts are found and resolved.
//! - [`validation`]: checks at the write boundary; nothing is written on failure.
//! - [`rules`]: the rulebook, every derived health fact (ages, life stage, pregnancy,
//!   immunisation, vitamin A, due reasons), I/O-free.
//! - [`growth`]: WHO 2006/2007 z-scores, Permenkes 2/2020 categories and the N/T weight
//!   trend (part of the rulebook).
//! - [`store`]: the durable SQLite store (documents, outbox, query tables, due list),
//!   encrypted with SQLCipher under a key from the app's [`Keyring`].
//! - [`sync`]: the wire protocol shared with the relay ([`sync::wire`]) and the blocking
//!   sync client.

pub mod error;
pub mod store;
pub mod sync;

pub use posyandu_records::{doc, growth, ilp, model, posyandu, process, rules, validation};

pub use error::{Error, Result};
pub use model::*;
pub use posyandu_records::posyandu::{
    AreaEntry, DayOfWeek, Posyandu, RosterEntry, RosterRole, Sasaran, SasaranSource, Schedule, ScheduleRule,
    ServiceDate, Week,
};
pub use posyandu_records::rules::schedule::{HomeVisitSection, InviteReason};
pub use rules::lifestage;
pub use store::posyandu::{
    HomeVisitItem, HomeVisitList, InviteItem, RegisterEntry, ServiceRegister, SessionFacts, Undangan,
};
pub use store::{
    DatabaseKey, DeviceIdentity, DueItem, DueReason, FileKeyring, HouseholdSummary, Keyring, KeyringError,
    MemberSummary, MemoryKeyring, NewReferral, ProposedReason, ReferralSummary, Store,
};
pub use sync::{RelayConfig, SyncError, SyncPhase, SyncProgress, SyncReport};
