//! The relay's writer of bidan steps: the shared relay writer
//! ([`crate::relay_writer::BIDAN`]) applied to a referral step.

use automerge::ActorId;
use posyandu_records::rules::referral_lifecycle::ReferralStep;
use uuid::Uuid;

use crate::error::ApiError;
use crate::relay_writer::BIDAN;

/// First bytes of every actor the relay writes bidan changes under.
pub const RELAY_BIDAN_ACTOR_PREFIX: &[u8] = BIDAN.actor_prefix;
/// Author (change message) of a bidan's change: `bidan:<bidan id>`.
pub const BIDAN_AUTHOR_PREFIX: &str = BIDAN.author_prefix;

/// A change the relay wrote for a bidan.
pub fn is_relay_bidan_change(actor: &[u8], message: Option<&str>) -> bool {
    BIDAN.is_change(actor, message)
}

/// A fresh relay bidan actor.
pub fn relay_actor() -> ActorId {
    BIDAN.actor()
}

pub fn author(bidan_id: &str) -> String {
    BIDAN.author(bidan_id)
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
    BIDAN.change(snapshot, bidan_id, now, |doc| doc.add_referral_step(referral_id, step))
}
