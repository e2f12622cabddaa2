//! # posyandu-records
//!
//! What the kader's phone (`posyandu-core`) and the relay (`posyandu-server`) share:
//! the records, the rules that derive facts from them and the protocol that carries
//! them. No store, no HTTP client, no FFI: the relay depends on this crate and never on
//! the phone's SQLCipher store.
//!
//! - [`model`]: the ILP record types a kader reads and writes (household, member,
//!   visit, pregnancy) and the derived [`lifestage`].
//! - [`doc`]: how a household is encoded as one automerge document, how edits become
//!   changes, how same-field conflicts are found and resolved, and the tolerant reader
//!   every side uses.
//! - [`posyandu`]: the Posyandu document's content (schedule, roster, area, sasaran).
//! - [`validation`]: the plausibility checks shared by write checks and the reader.
//! - [`rules`]: the rulebook, every derived health fact (ages, life stage, pregnancy,
//!   immunisation, vitamin A, due reasons), I/O-free.
//! - [`growth`]: WHO 2006/2007 z-scores, Permenkes 2/2020 categories and the N/T weight
//!   trend (part of the rulebook).
//! - [`wire`]: the sync wire format spoken by the phone's client and the relay.
//! - [`process`]: process hygiene of the two command-line programs (`posyandu-kader`,
//!   `posyandu-relay`).

pub mod doc;
pub mod error;
pub mod growth;
pub mod ilp;
pub mod model;
pub mod posyandu;
pub mod process;
pub mod rules;
pub mod validation;
pub mod wire;

pub use error::{Error, Result};
pub use model::*;
pub use rules::lifestage;
