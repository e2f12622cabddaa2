//! # posyandu-bindings
//!
//! The uniffi surface of `posyandu-core` for the kader app (Kotlin/Android), with
//! Swift and Python generated from the same library. Thin by design: every function
//! converts FFI-friendly records (dates as `"YYYY-MM-DD"`, ids as UUID text, enums as
//! uniffi enums) to core types, calls the core, and maps the core error to the one
//! [`PosyanduError`] the apps see. No logic of its own beyond that, except the life
//! stage of household members (derived the way the core's query tables do).
//!
//! - [`store`]: `KaderStore` (open, identity, today) — the object everything hangs off;
//!   `KeyProvider`, the app's key and secret storage (the store is encrypted).
//! - [`household`]: households, list by RT, detail, conflicts.
//! - [`member`]: members, search, by life stage.
//! - [`visit`]: visits, pregnancies, due list.
//! - [`growth`]: WHO z-scores + Permenkes 2/2020 categories for one measurement.
//! - [`immunisation`]: antigen list, immunisation status, vitamin A capsule and rounds.
//! - [`muac`]: a child's LiLA band.
//! - [`referral`]: referrals with a lifecycle (propose, raise, list with status and steps).
//! - [`spm`]: SPM needs handed to the desa (catalogue, raise, koordinator steps, list).
//! - [`sync`]: relay settings, `sync_now` with a progress listener, pending count.
//! - [`error`]: `PosyanduError`.

uniffi::setup_scaffolding!();

pub mod checklist;
pub mod error;
pub mod growth;
pub mod household;
pub mod ilp;
pub mod ilp_form;
pub mod immunisation;
pub mod member;
pub mod muac;
pub mod posyandu;
pub mod referral;
pub mod spm;
pub mod store;
pub mod sync;
pub mod visit;

pub use error::PosyanduError;
pub use store::{KaderStore, KeyProvider, KeyProviderError};

/// Version of the bindings crate (same as the core's workspace version).
#[uniffi::export]
pub fn bindings_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
