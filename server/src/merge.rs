//! Backend-independent sync logic: applying pushed changes to a stored document with
//! validation, and cutting the pull page. Storage backends only do I/O around these
//! pure functions, inside their transaction, so SQLite and PostgreSQL behave the same.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{Automerge, Change, ChangeHash, ReadDoc, ScalarValue, Value, ROOT};
use posyandu_core::doc::SCHEMA_VERSION;
use posyandu_core::sync::wire::{DocChanges, DocId, MAX_PAGE_BYTES};
use uuid::Uuid;

use crate::error::{truncate, ApiError};

/// A change accepted into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub hash: [u8; 32],
    pub data: Vec<u8>,
}

/// The result of applying a push to one document.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// The new compacted document; `None` when nothing was new (store nothing).
    pub snapshot: Option<Vec<u8>>,
    /// Changes not yet known, in causal order (dependencies first), to append to the log.
    pub new_changes: Vec<NewChange>,
}

/// Applies `changes` (raw automerge changes pushed for document `doc`) to the stored
/// snapshot `existing` (`None` for a new document) and validates the result for a
/// device of Posyandu `posyandu_id`:
///
/// - every change parses (`bad_change`);
/// - after applying, no dependency is missing (`missing_dependencies`);
/// - the root `id` is the document id (`doc_id_mismatch`), the root `posyandu_id` is the
///   device's Posyandu (`forbidden_scope`) and the `schema` is one this build knows
///   (`unsupported_schema`); concurrent values of these keys must all pass.
///
/// Changes already in the document (or twice in the push) are not new: replaying a
/// push yields no new changes and no snapshot. Never panics: a panic inside automerge
/// on hostile input is reported as `bad_change`.
pub fn apply_push(
    doc: DocId,
    posyandu_id: &str,
    existing: Option<&[u8]>,
    changes: &[Vec<u8>],
) -> Result<Merged, ApiError> {
    let doc_uuid = Uuid::from_bytes(doc);
    let label = doc_uuid.to_string();
    match catch_unwind(AssertUnwindSafe(|| apply_inner(doc_uuid, &label, posyandu_id, existing, changes))) {
        Ok(r) => r,
        Err(_) => Err(ApiError::BadChange { doc: label, reason: "perubahan tidak dapat diproses".into() }),
    }
}

fn apply_inner(
    doc_uuid: Uuid,
    label: &str,
    posyandu_id: &str,
    existing: Option<&[u8]>,
    changes: &[Vec<u8>],
) -> Result<Merged, ApiError> {
    let bad = |reason: String| ApiError::BadChange { doc: label.to_string(), reason: truncate(&reason, 200) };
    let mut am = match existing {
        Some(bytes) => Automerge::load(bytes)
            .map_err(|e| ApiError::internal(format!("stored document {label} unreadable: {e}")))?,
        None => Automerge::new(),
    };
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let mut new: Vec<Change> = Vec::new();
    for raw in changes {
        let change = posyandu_core::sync::wire::parse_change(raw.clone()).map_err(|e| bad(e.to_string()))?;
        let hash = change.hash();
        if !seen.insert(hash) || am.get_change_by_hash(&hash).is_some() {
            continue;
        }
        new.push(change);
    }
    if new.is_empty() {
        return Ok(Merged::default());
    }
    am.apply_changes(new.clone()).map_err(|e| bad(e.to_string()))?;
    let missing = am.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(ApiError::MissingDependencies { doc: label.to_string(), missing: missing.len() });
    }
    let ids = root_values(&am, "id");
    if ids.is_empty()
        || ids.iter().any(|v| !matches!(v, ScalarValue::Str(s) if Uuid::parse_str(s).ok() == Some(doc_uuid)))
    {
        return Err(ApiError::DocIdMismatch(label.to_string()));
    }
    let scopes = root_values(&am, "posyandu_id");
    if scopes.is_empty() || scopes.iter().any(|v| !matches!(v, ScalarValue::Str(s) if s.as_str() == posyandu_id)) {
        return Err(ApiError::ForbiddenScope(label.to_string()));
    }
    let schemas = root_values(&am, "schema");
    let schema_ok = |v: &ScalarValue| match v {
        ScalarValue::Uint(n) => (1..=SCHEMA_VERSION).contains(n),
        ScalarValue::Int(n) => *n >= 1 && (*n as u64) <= SCHEMA_VERSION,
        _ => false,
    };
    if schemas.is_empty() || !schemas.iter().all(schema_ok) {
        return Err(ApiError::UnsupportedSchema(label.to_string()));
    }
    let snapshot = am.save();
    let new_changes =
        causal_order(new).into_iter().map(|c| NewChange { hash: c.hash().0, data: c.raw_bytes().to_vec() }).collect();
    Ok(Merged { snapshot: Some(snapshot), new_changes })
}

/// All concurrent scalar values of a root key (objects count as invalid values).
fn root_values(am: &Automerge, key: &str) -> Vec<ScalarValue> {
    am.get_all(ROOT, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(v, _)| match v {
            Value::Scalar(s) => s.into_owned(),
            Value::Object(_) => ScalarValue::Null,
        })
        .collect()
}

/// Orders changes so each comes after those of its dependencies that are in the set
/// (a device may push them in any order; pulling devices apply page by page).
fn causal_order(mut pending: Vec<Change>) -> Vec<Change> {
    let in_set: HashSet<ChangeHash> = pending.iter().map(Change::hash).collect();
    let mut done: HashSet<ChangeHash> = HashSet::new();
    let mut out = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for c in pending {
            if c.deps().iter().all(|d| !in_set.contains(d) || done.contains(d)) {
                done.insert(c.hash());
                out.push(c);
            } else {
                rest.push(c);
            }
        }
        if rest.len() == before {
            // Cannot happen for an applied set (no cycles); keep them rather than loop.
            out.extend(rest);
            break;
        }
        pending = rest;
    }
    out
}

/// Cuts the pull page: log entries offered in `seq` order are taken until the next one
/// would exceed the byte budget (at least one entry per page, so a change larger than
/// the budget still goes through). Consecutive entries of one document share a
/// [`DocChanges`].
#[derive(Debug)]
pub struct PageBuilder {
    limit: usize,
    used: usize,
    pull: Vec<DocChanges>,
    last_seq: Option<u64>,
    more: bool,
}

impl PageBuilder {
    pub fn new(page_bytes: u32) -> Self {
        PageBuilder {
            limit: page_bytes.min(MAX_PAGE_BYTES) as usize,
            used: 0,
            pull: Vec::new(),
            last_seq: None,
            more: false,
        }
    }

    /// Offers the next entry; `false` when the page is full (the entry is not taken, stop
    /// reading: `more` is set).
    pub fn offer(&mut self, seq: u64, doc: DocId, data: Vec<u8>) -> bool {
        if self.last_seq.is_some() && self.used + data.len() > self.limit {
            self.more = true;
            return false;
        }
        self.used += data.len();
        self.last_seq = Some(seq);
        match self.pull.last_mut() {
            Some(last) if last.doc == doc => last.changes.push(data),
            _ => self.pull.push(DocChanges { doc, changes: vec![data] }),
        }
        true
    }

    /// `(pull, cursor, more)`. The cursor is the last entry taken when more remain;
    /// otherwise the scope's last sequence number read in the same transaction, so the
    /// device does not rescan entries that were skipped (its own).
    pub fn finish(self, scope_last_seq: u64) -> (Vec<DocChanges>, u64, bool) {
        let cursor = match (self.more, self.last_seq) {
            (true, Some(seq)) => seq,
            _ => scope_last_seq,
        };
        (self.pull, cursor, self.more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;
    use posyandu_core::doc::HouseholdDoc;
    use posyandu_core::model::HouseholdPatch;

    fn created(posyandu: &str) -> (Uuid, HouseholdDoc, Vec<u8>) {
        let id = Uuid::new_v4();
        let mut d = HouseholdDoc::create(id, posyandu, &ActorId::random()).unwrap();
        let c = d.commit("K-1", 1_700_000_000).unwrap();
        (id, d, c.raw_bytes().to_vec())
    }

    #[test]
    fn new_doc_then_replay_then_edit() {
        let (id, mut d, c1) = created("P-1");
        let m = apply_push(*id.as_bytes(), "P-1", None, std::slice::from_ref(&c1)).unwrap();
        assert_eq!(m.new_changes.len(), 1);
        let snap = m.snapshot.unwrap();
        let again = apply_push(*id.as_bytes(), "P-1", Some(&snap), std::slice::from_ref(&c1)).unwrap();
        assert!(again.snapshot.is_none() && again.new_changes.is_empty());
        let today = time::macros::date!(2024 - 01 - 01);
        d.patch_household(&HouseholdPatch { kk_number: Some("3201".into()), ..Default::default() }, today).unwrap();
        let c2 = d.commit("K-1", 1_700_000_100).unwrap().raw_bytes().to_vec();
        // Pushed out of order and with a duplicate: stored once, in causal order.
        let m = apply_push(*id.as_bytes(), "P-1", None, &[c2.clone(), c1.clone(), c2.clone()]).unwrap();
        assert_eq!(m.new_changes.iter().map(|c| c.data.clone()).collect::<Vec<_>>(), vec![c1, c2]);
    }

    #[test]
    fn rejects_bad_input() {
        let (id, _, c1) = created("P-1");
        let err = apply_push(*id.as_bytes(), "P-2", None, std::slice::from_ref(&c1)).unwrap_err();
        assert_eq!(err.code(), "forbidden_scope");
        let err = apply_push([9; 16], "P-1", None, std::slice::from_ref(&c1)).unwrap_err();
        assert_eq!(err.code(), "doc_id_mismatch");
        let err = apply_push(*id.as_bytes(), "P-1", None, &[vec![1, 2, 3]]).unwrap_err();
        assert_eq!(err.code(), "bad_change");
    }

    #[test]
    fn page_builder_cuts_and_groups() {
        let mut p = PageBuilder::new(10);
        assert!(p.offer(1, [1; 16], vec![0; 4]));
        assert!(p.offer(2, [1; 16], vec![0; 4]));
        assert!(!p.offer(3, [2; 16], vec![0; 4]));
        let (pull, cursor, more) = p.finish(9);
        assert_eq!((pull.len(), pull[0].changes.len(), cursor, more), (1, 2, 2, true));
        let mut p = PageBuilder::new(0);
        assert!(p.offer(5, [1; 16], vec![0; 40]));
        assert_eq!(p.finish(7).1, 7);
    }
}
