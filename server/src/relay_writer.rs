//! The relay's writer: an action of a principal who has no phone (a bidan, a desa, a
//! Puskesmas) becomes an automerge change of a household document (of the Posyandu
//! document for a Puskesmas), written under a fresh relay actor and attributed to
//! `<kind>:<id>`, then stored exactly like a device push
//! (merged and validated by `merge::apply_push`, appended to the Posyandu's change log,
//! read model updated, in one transaction) so every phone pulls it at its next sync.
//! One writer for every such principal ([`BIDAN`], [`DESA`], [`PUSKESMAS`]); `merge.rs`
//! recognises their changes by actor prefix and author, and lets each write only its own
//! steps (`crate::posyandu` lets only Puskesmas changes set a sasaran of source
//! `puskesmas`).

use automerge::ActorId;
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::wire::{DocChanges, DocId, SyncRequest};

use crate::auth::DevicePrincipal;
use crate::error::ApiError;
use crate::storage::NewDocQuota;
use crate::AppState;

/// One kind of relay-written change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayWriter {
    /// First bytes of every actor the relay writes these changes under.
    pub actor_prefix: &'static [u8],
    /// Author (change message) prefix: `<kind>:`. Kader ids cannot contain `:`
    /// (`admin::check_id`), so no kader can claim it.
    pub author_prefix: &'static str,
}

/// The bidan's steps on referrals (`crate::bidan`).
pub const BIDAN: RelayWriter = RelayWriter { actor_prefix: b"rbidan", author_prefix: "bidan:" };
/// The desa's steps on SPM requests (`crate::desa`).
pub const DESA: RelayWriter = RelayWriter { actor_prefix: b"rdesa_", author_prefix: "desa:" };
/// A Puskesmas's edits of a Posyandu document: schedule and sasaran (`crate::posyandu`).
pub const PUSKESMAS: RelayWriter = RelayWriter { actor_prefix: b"rpkesm", author_prefix: "puskesmas:" };

impl RelayWriter {
    /// A change the relay wrote for this kind: its actor has the prefix and its author
    /// the author prefix. (Devices cannot push such changes: `merge::author_of`
    /// refuses an actor that is not the device's own, except while the relay heals.)
    pub fn is_change(&self, actor: &[u8], message: Option<&str>) -> bool {
        actor.starts_with(self.actor_prefix)
            && message.is_some_and(|m| m.len() > self.author_prefix.len() && m.starts_with(self.author_prefix))
    }

    /// A fresh relay actor (16 bytes: the prefix and random bytes). A new actor per
    /// write: two relays (PostgreSQL) or two requests writing the same document at once
    /// never reuse an actor's sequence number.
    pub fn actor(&self) -> ActorId {
        let mut bytes = self.actor_prefix.to_vec();
        while bytes.len() < 16 {
            bytes.push(rand::random::<u8>());
        }
        ActorId::from(bytes)
    }

    pub fn author(&self, id: &str) -> String {
        format!("{}{id}", self.author_prefix)
    }

    /// Writes `edit` on the stored document `snapshot` as one change by `id` at `now`
    /// (Unix seconds): raw change bytes, as a device would push them. An error of
    /// `edit` is the caller's (a bad request).
    pub fn change(
        &self,
        snapshot: &[u8],
        id: &str,
        now: i64,
        edit: impl FnOnce(&mut HouseholdDoc) -> posyandu_records::error::Result<()>,
    ) -> Result<Vec<u8>, ApiError> {
        let mut doc = HouseholdDoc::load(snapshot, &self.actor())
            .map_err(|e| ApiError::internal(format!("stored document unreadable: {e}")))?;
        edit(&mut doc).map_err(|e| ApiError::BadBody(e.to_string()))?;
        let change =
            doc.commit(&self.author(id), now).ok_or_else(|| ApiError::internal("relay change wrote nothing"))?;
        Ok(change.raw_bytes().to_vec())
    }

    /// Stores `changes` of document `doc` in Posyandu `scope` like a push of a device
    /// that is the relay writing for principal `id` (token `token_id`): merged,
    /// validated, appended to the log (origin `relay:<kind>:<id>`, so every phone pulls
    /// them), read model updated, in one transaction. The token id is negated: no
    /// device binding can match it. `new_docs`: documents the write may create (0 for a
    /// household step; 1 when a Puskesmas writes a Posyandu document the relay does not
    /// hold yet).
    #[allow(clippy::too_many_arguments)]
    pub async fn store(
        &self,
        st: &AppState,
        scope: &str,
        doc: DocId,
        changes: Vec<Vec<u8>>,
        id: &str,
        token_id: i64,
        new_docs: u64,
    ) -> Result<(), ApiError> {
        let writer_principal = DevicePrincipal {
            token_id: -token_id.abs(),
            device_id: format!("relay:{}{id}", self.author_prefix),
            kader_id: self.author(id),
            posyandu_id: scope.to_string(),
        };
        let req = SyncRequest { cursor: i64::MAX as u64, push: vec![DocChanges { doc, changes }], page_bytes: 0 };
        let quota = NewDocQuota { allowed: new_docs, limit: 0, retry_after_secs: 0 };
        st.storage.sync(writer_principal, req, quota).await?;
        Ok(())
    }
}

/// Largest body of a step request (bidan, desa).
pub const MAX_STEP_BODY_BYTES: usize = 4096;

/// Parses the JSON body of a step request: `413` over [`MAX_STEP_BODY_BYTES`], `400`
/// with serde's message (truncated) when it is not the expected shape.
pub fn step_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_STEP_BODY_BYTES {
        return Err(ApiError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadBody(crate::error::truncate(&e.to_string(), 200)))
}

/// The stored snapshot of `household` in the first of `scopes` (the principal's
/// Posyandu) that holds it, with that Posyandu; `None` when none does (the caller
/// answers 404: another Posyandu's household reads as unknown).
pub async fn find_household(
    st: &AppState,
    scopes: &[String],
    household: uuid::Uuid,
) -> Result<Option<(String, Vec<u8>)>, ApiError> {
    for scope in scopes {
        if let Some(snapshot) = snapshot_in(st, scope, household).await? {
            return Ok(Some((scope.clone(), snapshot)));
        }
    }
    Ok(None)
}

/// The stored snapshot of `household` in Posyandu `scope`, if it is there.
pub async fn snapshot_in(st: &AppState, scope: &str, household: uuid::Uuid) -> Result<Option<Vec<u8>>, ApiError> {
    let docs = st.storage.fetch_docs(scope.to_string(), vec![*household.as_bytes()]).await?;
    Ok(docs.docs.into_iter().next().map(|d| d.snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_recognises_only_its_own_changes() {
        let a = DESA.actor();
        assert_eq!(a.to_bytes().len(), 16);
        assert!(DESA.is_change(a.to_bytes(), Some("desa:D-1")));
        assert!(!DESA.is_change(a.to_bytes(), Some("bidan:B-1")));
        assert!(!DESA.is_change(a.to_bytes(), Some("desa:")));
        assert!(!BIDAN.is_change(a.to_bytes(), Some("desa:D-1")));
        assert!(!DESA.is_change(BIDAN.actor().to_bytes(), Some("desa:D-1")));
        assert_ne!(DESA.actor(), DESA.actor());
    }
}
