//! The relay's writer of bidan steps: a bidan's action becomes an automerge change of
//! the household document, written under a fresh relay actor and attributed to
//! `bidan:<id>`, then stored exactly like a device push (merged, validated, appended to
//! the Posyandu's change log, read model updated) so every phone pulls it at its next
//! sync. Kept apart from the desa writer of the SPM branch (same pattern) so the two
//! can be unified after merging.

use automerge::ActorId;
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::rules::referral_lifecycle::ReferralStep;
use uuid::Uuid;

use crate::error::ApiError;

/// First bytes of every actor the relay writes bidan changes under.
pub const RELAY_BIDAN_ACTOR_PREFIX: &[u8] = b"rbidan";
/// Author (change message) of a bidan's change: `bidan:<bidan id>`. Kader ids cannot
/// contain `:` (`admin::check_id`), so no kader can claim it.
pub const BIDAN_AUTHOR_PREFIX: &str = "bidan:";

/// A change the relay wrote for a bidan: its actor is a relay bidan actor and its
/// author a bidan. (Devices cannot push such changes: `merge::author_of` refuses an
/// actor that is not the device's own, except while the relay heals after a restore.)
pub fn is_relay_bidan_change(actor: &[u8], message: Option<&str>) -> bool {
    actor.starts_with(RELAY_BIDAN_ACTOR_PREFIX)
        && message.is_some_and(|m| m.len() > BIDAN_AUTHOR_PREFIX.len() && m.starts_with(BIDAN_AUTHOR_PREFIX))
}

/// A fresh relay actor (16 bytes: the prefix and 10 random bytes). A new actor per
/// write: two relays (PostgreSQL) or two requests writing the same document at once
/// never reuse an actor's sequence number.
pub fn relay_actor() -> ActorId {
    relay_actor_with(RELAY_BIDAN_ACTOR_PREFIX)
}

/// A fresh relay actor under `prefix` (6 bytes) and 10 random bytes.
pub fn relay_actor_with(prefix: &[u8]) -> ActorId {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(&rand::random::<[u8; 10]>());
    ActorId::from(bytes)
}

/// First bytes of every actor the relay writes Puskesmas changes under (the schedule
/// and sasaran of a Posyandu document, `crate::posyandu`).
pub const RELAY_PUSKESMAS_ACTOR_PREFIX: &[u8] = b"rpkesm";
/// Author (change message) of a Puskesmas change: `puskesmas:<id>` (no kader id has `:`).
pub const PUSKESMAS_AUTHOR_PREFIX: &str = "puskesmas:";

/// A change the relay wrote for a Puskesmas (like [`is_relay_bidan_change`]).
pub fn is_relay_puskesmas_change(actor: &[u8], message: Option<&str>) -> bool {
    actor.starts_with(RELAY_PUSKESMAS_ACTOR_PREFIX)
        && message.is_some_and(|m| m.len() > PUSKESMAS_AUTHOR_PREFIX.len() && m.starts_with(PUSKESMAS_AUTHOR_PREFIX))
}

/// Stores changes the relay wrote (for a bidan or a Puskesmas) exactly like a device
/// push: merged and validated by `merge::apply_push`, appended to the Posyandu's log
/// under the origin `writer` (so every phone pulls them), read model updated, in one
/// transaction. `author` is the changes' author; the token id is negative so no device
/// binding can match it. `new_docs`: documents the write may create (0 or 1).
pub async fn store_relay_changes(
    st: &crate::AppState,
    token_id: i64,
    writer: String,
    author: String,
    scope: String,
    doc: posyandu_records::wire::DocId,
    changes: Vec<Vec<u8>>,
    new_docs: u64,
) -> Result<(), ApiError> {
    let principal = crate::auth::DevicePrincipal {
        token_id: -token_id.abs(),
        device_id: writer,
        kader_id: author,
        posyandu_id: scope,
    };
    let req = posyandu_records::wire::SyncRequest {
        cursor: i64::MAX as u64,
        push: vec![posyandu_records::wire::DocChanges { doc, changes }],
        page_bytes: 0,
    };
    let quota = crate::storage::NewDocQuota { allowed: new_docs, limit: 0, retry_after_secs: 0 };
    st.storage.sync(principal, req, quota).await?;
    Ok(())
}

pub fn author(bidan_id: &str) -> String {
    format!("{BIDAN_AUTHOR_PREFIX}{bidan_id}")
}

/// The change appending `step` to referral `referral_id` of the stored document
/// `snapshot`, by `bidan_id` at `now` (Unix seconds): raw change bytes, as a device
/// would push them.
pub fn step_change(
    snapshot: &[u8],
    referral_id: Uuid,
    step: &ReferralStep,
    bidan_id: &str,
    now: i64,
) -> Result<Vec<u8>, ApiError> {
    let mut doc = HouseholdDoc::load(snapshot, &relay_actor())
        .map_err(|e| ApiError::internal(format!("stored document unreadable: {e}")))?;
    doc.add_referral_step(referral_id, step).map_err(|e| ApiError::BadBody(e.to_string()))?;
    let change = doc.commit(&author(bidan_id), now).ok_or_else(|| ApiError::internal("bidan step wrote nothing"))?;
    Ok(change.raw_bytes().to_vec())
}
