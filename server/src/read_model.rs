//! The relay's read model: what the Puskesmas side reads, kept current at push time.
//!
//! Every household document has one row in `read_household` (and one row per member
//! in `read_member`, to find a child's household without a scan). The row holds the
//! household as the shared reader reads it **with the facts the rulebook derives** from it
//! (today: N/T/O/B of every weighing), minus what no Puskesmas endpoint uses (street,
//! BPJS number, KK number and its history, the values of open conflicts, checklist
//! answers and counselling entries that are not catalogue codes, the notes of referrals
//! and their steps). The GPS point is taken out of the household and kept apart
//! ([`HouseholdView::service_point`]) for the service-area GeoJSON of the desa and the
//! Puskesmas only (issue 13). Rows are written
//!
//! - in the same transaction as the push that changed the document (the merge already
//!   holds the merged household, [`crate::merge::Merged::read`]), so a reader never
//!   sees a log position without its row;
//! - by the rebuild ([`rebuild`]) when the rules that derived a row changed (a new
//!   release: the row's `stamp` differs from [`stamp`]) or a row is missing (a database
//!   from before the read model). The relay starts it by itself in the background and
//!   serves the old rows until it is done; `posyandu-relay admin rebuild-read-model`
//!   runs it on demand.
//!
//! Readers ([`crate::puskesmas`]) never decode an automerge document when a row exists:
//! a missing row (only while the first rebuild runs) falls back to the snapshot.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use posyandu_records::doc::{DocProblem, HouseholdDoc, HouseholdRead};
use posyandu_records::growth::WeightTrend;
use posyandu_records::model::{Conflict, Household};
use posyandu_records::rules::checklist;
use posyandu_records::rules::trend::weight_trends;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::storage::Storage;

/// Layout of the stored [`HouseholdView`]; bump when it changes incompatibly (rows of
/// another layout are then read from the snapshot until rebuilt).
///
/// - 1: the household, conflicts, problems and N/T/O/B.
/// - 2: with `household.referrals` (issue 12, referrals with a lifecycle; notes left
///   out). Rows of layout 1 were written before the relay read referrals: they would
///   serve none, so they are re-derived.
pub const FORMAT: u32 = 2;

/// `v<FORMAT>/<rules version>`: stamped on every row; a row with another stamp is
/// re-derived by [`rebuild`].
pub fn stamp() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(|| format!("{}{}", format_prefix(), posyandu_records::rules::version()))
}

/// The stamp of a row marked for re-derivation (`admin rebuild-read-model --posyandu`/
/// `--all`): not of any layout, so readers use the snapshot until it is rebuilt.
pub const INVALIDATED: &str = "invalidated";

/// The stamp prefix of rows this relay can read (`v<FORMAT>/`).
pub fn format_prefix() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(|| format!("v{FORMAT}/"))
}

/// One household of the read model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdView {
    pub household: Household,
    /// Open conflicts: paths, and per value who wrote it and when (the values
    /// themselves are left out).
    pub conflicts: Vec<Conflict>,
    /// Records the shared reader left out: paths and reasons, never values.
    pub problems: Vec<DocProblem>,
    /// N/T/O/B of every weighing the rulebook scores: `(visit id, member id, trend)`.
    pub trends: Vec<(Uuid, Uuid, WeightTrend)>,
    /// The household's GPS point, kept apart from `household` (whose `gps` is cleared)
    /// for the service-area map of the desa and the Puskesmas only (`crate::desa`);
    /// no health export reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_point: Option<posyandu_records::model::GeoPoint>,
}

impl HouseholdView {
    /// Derives the view from a merged household (the rulebook runs here).
    pub fn derive(read: HouseholdRead, mut conflicts: Vec<Conflict>) -> HouseholdView {
        let mut household = read.household;
        let mut trends: Vec<(Uuid, Uuid, WeightTrend)> =
            weight_trends(&household).into_iter().map(|((v, m), t)| (v, m, t)).collect();
        trends.sort_by_key(|&(v, m, _)| (v, m));
        // Least data: what no Puskesmas endpoint reads is not kept in the read model.
        household.address.street = None;
        let service_point = household.gps.take();
        household.kk_number = None;
        household.kk_history.clear();
        for m in &mut household.members {
            m.bpjs_number = None;
        }
        for v in &mut household.visits {
            for e in &mut v.entries {
                // The one checklist answer a report reads (ASI eksklusif, issue 12) is kept
                // typed: old documents answered it in the checklist.
                e.asi_eksklusif = posyandu_records::rules::breastfeeding::answer(e);
                e.checklist.remove(posyandu_records::rules::breastfeeding::CHECKLIST_KEY);
                // Coded answers and topics are reported; free text of older app
                // versions is not.
                e.checklist.retain(|code, _| checklist::is_item(code));
                e.counselling.retain(|topic| checklist::is_topic(topic));
            }
        }
        // Referrals (issue 12): the Puskesmas side exports ids, reasons, steps (status,
        // role, who, when, coded action, follow-up date); the kader's and the bidan's
        // free-text notes are for the two of them only.
        for r in &mut household.referrals {
            r.note = None;
            for s in &mut r.steps {
                s.note = None;
            }
        }
        for c in &mut conflicts {
            for v in &mut c.values {
                v.value_json.clear();
            }
        }
        HouseholdView { household, conflicts, problems: read.problems, trends, service_point }
    }

    /// Derives the view from a stored snapshot (rebuild, and rows not yet built).
    pub fn from_snapshot(snapshot: &[u8]) -> Result<HouseholdView, String> {
        let doc = HouseholdDoc::load_readonly(snapshot).map_err(|e| e.to_string())?;
        let read = doc.read_checked().map_err(|e| e.to_string())?;
        Ok(HouseholdView::derive(read, doc.conflicts()))
    }

    /// The N/T/O/B of each scored weighing by `(visit id, member id)`.
    pub fn trend_map(&self) -> HashMap<(Uuid, Uuid), WeightTrend> {
        self.trends.iter().map(|&(v, m, t)| ((v, m), t)).collect()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a household view serialises")
    }

    /// The view of a read-model row: its body, or (while the first rebuild runs) a
    /// derivation from the document snapshot.
    pub fn from_content(content: &crate::storage::ReadContent) -> Result<HouseholdView, String> {
        match content {
            crate::storage::ReadContent::View { body, .. } => HouseholdView::decode(body),
            crate::storage::ReadContent::Snapshot(snapshot) => HouseholdView::from_snapshot(snapshot),
        }
    }

    pub fn decode(body: &[u8]) -> Result<HouseholdView, String> {
        serde_json::from_slice(body).map_err(|e| format!("read-model row unreadable: {e}"))
    }

    /// Ids of the members (deleted ones too), for the `read_member` index.
    pub fn member_ids(&self) -> Vec<Uuid> {
        self.household.members.iter().map(|m| m.id).collect()
    }
}

/// A row ready to store: its body and the member ids it indexes.
#[derive(Debug, Clone)]
pub struct Projection {
    pub stamp: &'static str,
    pub body: Vec<u8>,
    pub members: Vec<Uuid>,
}

impl Projection {
    pub fn of(view: &HouseholdView) -> Projection {
        Projection { stamp: stamp(), body: view.encode(), members: view.member_ids() }
    }

    /// For the push transaction: the projection of a merged household.
    pub fn from_merge(read: HouseholdRead, conflicts: Vec<Conflict>) -> Projection {
        Projection::of(&HouseholdView::derive(read, conflicts))
    }

    /// For the rebuild: the projection of a stored snapshot, or why it cannot be made
    /// (the document is then left without a row and read from its snapshot).
    pub fn from_snapshot(snapshot: &[u8]) -> Result<Projection, String> {
        HouseholdView::from_snapshot(snapshot).map(|v| Projection::of(&v))
    }
}

/// What one rebuild step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildStep {
    /// Rows (re)derived in this step.
    pub rebuilt: u64,
    /// Documents whose snapshot could not be read (left without a row, logged by id).
    pub unreadable: u64,
    /// Documents still without a current row after this step.
    pub remaining: u64,
}

/// Documents re-derived per rebuild transaction.
pub const REBUILD_BATCH: usize = 128;

/// Re-derives every row whose stamp is not [`stamp`] (or that is missing), batch by
/// batch, each batch in its own write transaction; logs progress and reports it to
/// `progress`. Returns the total rows rebuilt. Readers are served the old rows (or the
/// snapshot) meanwhile.
pub async fn rebuild(
    storage: &Arc<dyn Storage>,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64, crate::error::ApiError> {
    let mut total = 0u64;
    let mut unreadable_seen = 0u64;
    loop {
        let step = storage.rebuild_read_model(REBUILD_BATCH).await?;
        total += step.rebuilt;
        unreadable_seen += step.unreadable;
        progress(total, step.remaining);
        if step.rebuilt > 0 {
            tracing::info!(rebuilt = total, remaining = step.remaining, stamp = stamp(), "read model rebuild");
        }
        // Nothing more to do, or only unreadable documents are left.
        if step.remaining == 0 || step.rebuilt == 0 {
            if unreadable_seen > 0 {
                tracing::warn!(unreadable = unreadable_seen, "read model: documents left without a row");
            }
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Starts the background rebuild (at relay start): progress in the log and in
/// `/metrics` (`posyandu_read_model_stale`, `posyandu_read_model_rebuilt_total`).
pub fn spawn_rebuild(state: crate::AppState) {
    tokio::spawn(async move {
        let metrics = state.metrics.clone();
        let mut attempt = 0u32;
        loop {
            let m = metrics.clone();
            match rebuild(&state.storage, |done, remaining| m.read_model_progress(done, remaining)).await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(rebuilt = n, "read model up to date");
                    }
                    return;
                }
                Err(e) => {
                    attempt += 1;
                    tracing::warn!(code = e.code(), attempt, "read model rebuild interrupted; retrying");
                    tokio::time::sleep(Duration::from_secs(5.min(u64::from(attempt)))).await;
                }
            }
        }
    });
}

/// A read-model row that differs from a from-scratch derivation of its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub scope: String,
    pub doc: Uuid,
    /// `missing` (no current row), `stale` (another stamp), `seq` (another log
    /// position), `body` (other facts), `orphan` (a row without its document).
    pub kind: &'static str,
}

/// Compares every read-model row of `scopes` with a derivation from scratch of the
/// stored documents (`posyandu-relay admin check-read-model`, and the tests). Reads page
/// by page; rows written after the documents were read show up as `seq` mismatches, so
/// run it on a quiet relay.
pub async fn verify(
    storage: &Arc<dyn Storage>,
    scopes: &[String],
) -> Result<(usize, Vec<Mismatch>), crate::error::ApiError> {
    let mut checked = 0usize;
    let mut out = Vec::new();
    for scope in scopes {
        let mut docs = std::collections::BTreeMap::new();
        let mut after = 0;
        loop {
            let page = storage.docs_after(scope.clone(), after, 256).await?;
            let Some(last) = page.last().map(|d| d.updated_seq) else { break };
            for d in page {
                docs.insert(d.doc, (d.updated_seq, d.snapshot));
            }
            after = last;
        }
        let mut rows = std::collections::BTreeMap::new();
        let mut after = 0;
        loop {
            let page = storage.read_after(scope.clone(), after, 256).await?;
            let Some(last) = page.last().map(|r| r.updated_seq) else { break };
            for r in page {
                rows.insert(r.doc, r);
            }
            after = last;
        }
        for (doc, (seq, snapshot)) in &docs {
            checked += 1;
            let mut bad = |kind| out.push(Mismatch { scope: scope.clone(), doc: Uuid::from_bytes(*doc), kind });
            let Some(row) = rows.get(doc) else {
                bad("missing");
                continue;
            };
            if row.updated_seq != *seq {
                bad("seq");
                continue;
            }
            match &row.content {
                crate::storage::ReadContent::Snapshot(_) => bad("missing"),
                crate::storage::ReadContent::View { stamp: s, body } => {
                    if s != stamp() {
                        bad("stale");
                    } else if let Ok(expected) = HouseholdView::from_snapshot(snapshot) {
                        if HouseholdView::decode(body).ok().as_ref() != Some(&expected) {
                            bad("body");
                        }
                    }
                }
            }
        }
        for doc in rows.keys().filter(|d| !docs.contains_key(*d)) {
            out.push(Mismatch { scope: scope.clone(), doc: Uuid::from_bytes(*doc), kind: "orphan" });
        }
    }
    Ok((checked, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use posyandu_records::model::*;

    #[test]
    fn the_view_leaves_out_what_no_endpoint_reads() {
        let id = Uuid::new_v4();
        let mut doc = HouseholdDoc::create(id, "P-1", &automerge::ActorId::random()).unwrap();
        let address = Address {
            rt: "001".into(),
            rw: "002".into(),
            street: Some("Jl. Mawar 7".into()),
            kode_wilayah: "3201010001".into(),
            ..Default::default()
        };
        doc.patch_household(
            &HouseholdPatch {
                address: Some(address),
                gps: Some(GeoPoint { lat: -6.2, lon: 106.8 }),
                kk_number: Some("3201010101010001".into()),
                ..Default::default()
            },
            time::macros::date!(2024 - 01 - 01),
        )
        .unwrap();
        let mid = Uuid::new_v4();
        doc.add_member(
            mid,
            &NewMember {
                nik: Some("3201010101900001".into()),
                mother_nik: None,
                name: "Siti".into(),
                birth_date: time::macros::date!(2023 - 01 - 10),
                sex: Sex::Female,
                relation: Relation::Anak,
                bpjs_number: Some("0001234567890".into()),
                kia_book: None,
            },
        )
        .unwrap();
        let bytes = doc.save();
        let view = HouseholdView::from_snapshot(&bytes).unwrap();
        let body = String::from_utf8(view.encode()).unwrap();
        for secret in ["Jl. Mawar", "0001234567890", "3201010101010001"] {
            assert!(!body.contains(secret), "{secret} kept in the read model");
        }
        // The GPS point is kept only apart from the household, for the service-area maps
        // of the desa and the Puskesmas (issue 13); no health endpoint reads it.
        assert_eq!(view.household.gps, None);
        assert_eq!(view.service_point, Some(GeoPoint { lat: -6.2, lon: 106.8 }));
        assert_eq!(body.matches("106.8").count(), 1, "only in service_point");
        // What the Puskesmas reads stays.
        assert!(body.contains("3201010101900001") && body.contains("Siti"));
        assert_eq!(HouseholdView::decode(&view.encode()).unwrap(), view);
        assert!(stamp().starts_with(format_prefix()));
    }
}
