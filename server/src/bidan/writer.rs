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
    let mut bytes = RELAY_BIDAN_ACTOR_PREFIX.to_vec();
    bytes.extend_from_slice(&rand::random::<[u8; 10]>());
    ActorId::from(bytes)
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
