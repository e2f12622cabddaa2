//! Recovering from what the relay refuses and from what a pull lacks, so one bad record
//! never blocks a phone.
//!
//! **A refused push** (`bad_change` and the other per-document refusals, which name the
//! document and, where it can, the path inside it): the relay stored nothing of the
//! push. The phone then, in one transaction,
//! 1. moves every outbox change of that document into the `quarantine` table (kept,
//!    never deleted: `Store::quarantined` lists them with the relay's reason, and they
//!    can be exported for support);
//! 2. re-bases the document on the relay's copy (`POST /v1/docs`; a document the relay
//!    never had is re-created with the same id);
//! 3. replays by value what the refused changes added that the relay lacks — members,
//!    pregnancies and this kader's visits that are valid and not the refused record —
//!    as one new change, queued for the next push;
//! 4. rebuilds the document's query rows.
//!
//! The other documents of the push are sent again in the same sync, so they are not
//! held up. Field edits to records the relay already has, and the refused record
//! itself, stay in quarantine for the kader to enter again (the app shows them). A
//! document refused again after a re-base is not replayed a second time (no loop).
//!
//! **A pull with missing dependencies** (a change whose predecessors this phone never
//! received — e.g. two stores once shared a device token): the phone asks the relay for
//! its compacted copy of the document and merges it, instead of reporting success.

use uuid::Uuid;

use crate::doc::HouseholdDoc;
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::{outbox_push, query, save_snapshot, DocCache, Store, Writer};

use super::wire::{DocsRequest, DocsResponse, DOCS_PATH, MAX_DOCS_PER_REQUEST};
use super::{Http, SyncReport};

/// Error codes of the relay that refuse one document of a push (the body names it).
pub const DOCUMENT_REFUSALS: [&str; 4] = ["bad_change", "forbidden_scope", "doc_id_mismatch", "unsupported_schema"];

/// Documents a sync quarantines at most before it stops and reports (a later sync goes on).
pub(crate) const MAX_REFUSED_PER_SYNC: u64 = 100;

/// What the relay said when it refused a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: String,
    pub path: Option<String>,
    pub reason: String,
}

/// Refused changes of one document, for the kader (`Store::quarantined`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedChanges {
    pub household_id: Uuid,
    /// Number of automerge changes kept.
    pub changes: u64,
    pub code: String,
    /// Where in the household the relay found the problem (`visits/<id>/…`).
    pub path: Option<String>,
    /// The relay's reason (Bahasa Indonesia).
    pub reason: String,
    /// Unix seconds.
    pub quarantined_at: i64,
}

impl Store {
    /// Changes the relay refused, per document and refusal, newest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedChanges>> {
        let r = self.reader();
        let mut stmt = r.prepare(
            "SELECT doc_id, count(*), code, path, reason, max(quarantined_at) FROM quarantine
             GROUP BY doc_id, code, path, reason ORDER BY max(id) DESC",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (doc, changes, code, path, reason, at) = row?;
            let household_id = Uuid::parse_str(&doc).map_err(|e| Error::Document(e.to_string()))?;
            out.push(QuarantinedChanges {
                household_id,
                changes: changes as u64,
                code,
                path,
                reason,
                quarantined_at: at,
            });
        }
        Ok(out)
    }

    /// Handles the relay's refusal of document `doc_id` (see the module docs).
    pub(crate) fn quarantine_refused(
        &self,
        http: &Http,
        report: &mut SyncReport,
        doc_id: Uuid,
        refusal: &Refusal,
    ) -> Result<()> {
        let relay_copy = fetch_docs(http, report, &[doc_id])?
            .docs
            .into_iter()
            .find(|d| d.doc == doc_id.into_bytes())
            .map(|d| d.snapshot);
        let mut w = self.writer();
        let Writer { conn, docs } = &mut *w;
        let tx = conn.transaction()?;
        let replayed = match self.rebase(docs, &tx, doc_id, relay_copy.as_deref(), refusal) {
            Ok(n) => n,
            Err(e) => {
                docs.forget();
                return Err(e);
            }
        };
        tx.commit().inspect_err(|_| docs.forget())?;
        report.refused += 1;
        tracing::warn!(
            doc = %doc_id,
            code = %refusal.code,
            path = ?refusal.path,
            replayed,
            "relay refused a document: changes quarantined, document re-based"
        );
        Ok(())
    }

    /// Steps 1–4 of the module docs inside the caller's transaction; returns the number
    /// of records replayed.
    fn rebase(
        &self,
        docs: &mut DocCache,
        tx: &rusqlite::Transaction,
        doc_id: Uuid,
        relay_copy: Option<&[u8]>,
        refusal: &Refusal,
    ) -> Result<usize> {
        let key = doc_id.to_string();
        let now = self.now().unix_timestamp();
        let refused_before: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM quarantine WHERE doc_id = ?1)", [&key], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO quarantine (doc_id, hash, change, code, path, reason, quarantined_at)
             SELECT doc_id, hash, change, ?2, ?3, ?4, ?5 FROM outbox WHERE doc_id = ?1 ORDER BY id",
            rusqlite::params![key, refusal.code, refusal.path, refusal.reason, now],
        )?;
        tx.execute("DELETE FROM outbox WHERE doc_id = ?1", [&key])?;
        let local = match docs.take_doc(tx, doc_id) {
            Ok(d) => Some(d),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let local_hh = local.as_ref().and_then(|d| d.read().ok());
        let identity = self.identity().clone();
        let (mut doc, fresh) = match relay_copy {
            Some(bytes) => (HouseholdDoc::load(bytes, &docs.actor)?, false),
            None if !refused_before && local_hh.is_some() => {
                (HouseholdDoc::create(doc_id, &identity.posyandu_id, &docs.actor)?, true)
            }
            // Nothing to re-base on and no second replay: the document stays as it is on
            // this phone (its changes are in quarantine, nothing is queued for it).
            None => {
                if let Some(d) = local {
                    docs.put_doc(doc_id, d);
                }
                return Ok(0);
            }
        };
        let mut replayed = 0;
        if let (Some(hq), false) = (&local_hh, refused_before) {
            let refused = refused_record(refusal.path.as_deref());
            let target = if fresh { None } else { doc.read().ok() };
            let has = |coll: &str, id: Uuid| match (&target, coll) {
                (Some(t), "members") => t.members.iter().any(|m| m.id == id),
                (Some(t), "visits") => t.visits.iter().any(|v| v.id == id),
                (Some(t), "pregnancies") => t.pregnancies.iter().any(|p| p.id == id),
                _ => false,
            };
            let skip =
                |coll: &str, id: Uuid| refused.as_ref().is_some_and(|(c, r)| c == coll && *r == id) || has(coll, id);
            let mut members: Vec<Uuid> =
                target.as_ref().map(|t| t.members.iter().map(|m| m.id).collect()).unwrap_or_default();
            for m in hq.members.iter().filter(|m| !m.deleted && !skip("members", m.id)) {
                let new = NewMember {
                    nik: m.nik.clone(),
                    mother_nik: m.mother_nik.clone(),
                    name: m.name.clone(),
                    birth_date: m.birth_date,
                    sex: m.sex,
                    relation: m.relation,
                    bpjs_number: m.bpjs_number.clone(),
                };
                doc.add_member(m.id, &new)?;
                members.push(m.id);
                replayed += 1;
            }
            for p in hq.pregnancies.iter().filter(|p| !p.deleted && !skip("pregnancies", p.id)) {
                if members.contains(&p.member_id) {
                    doc.add_pregnancy(p)?;
                    replayed += 1;
                }
            }
            for v in hq.visits.iter().filter(|v| !v.deleted && !skip("visits", v.id)) {
                // Only this kader's own visits: another kader's visit the relay lacks is
                // theirs to push.
                if v.kader_id != identity.kader_id || v.posyandu_id != identity.posyandu_id {
                    continue;
                }
                let mut v = v.clone();
                v.entries.retain(|e| members.contains(&e.member_id));
                if !v.entries.is_empty() {
                    doc.add_visit(&v)?;
                    replayed += 1;
                }
            }
            if fresh {
                let patch = HouseholdPatch {
                    kk_number: hq.kk_number.clone(),
                    head_member_id: hq.head_member_id.filter(|h| members.contains(h)),
                    address: Some(hq.address.clone()),
                    gps: hq.gps,
                    spm: Some(hq.spm.clone()),
                };
                doc.patch_household(&patch, self.today())?;
            }
        }
        if let Some(change) = doc.commit(&identity.kader_id, now) {
            outbox_push(tx, doc_id, &change, now)?;
        }
        save_snapshot(tx, doc_id, &doc.save())?;
        let read = doc.read_checked()?;
        query::materialize(tx, &read.household, &read.problems, doc.conflicts().len(), self.today())?;
        docs.put_doc(doc_id, doc);
        Ok(replayed)
    }

    /// Merges the relay's copies of documents that wait for changes this phone never
    /// received; returns how many were repaired.
    pub(crate) fn repair_missing(&self, http: &Http, report: &mut SyncReport, ids: &[Uuid]) -> Result<u64> {
        let mut repaired = 0;
        for chunk in ids.chunks(MAX_DOCS_PER_REQUEST) {
            let resp = fetch_docs(http, report, chunk)?;
            let mut w = self.writer();
            let Writer { conn, docs } = &mut *w;
            let tx = conn.transaction()?;
            for d in &resp.docs {
                let id = Uuid::from_bytes(d.doc);
                if !chunk.contains(&id) {
                    continue;
                }
                if let Err(e) = self.apply_snapshot(docs, &tx, id, &d.snapshot) {
                    docs.forget();
                    return Err(e);
                }
                let mut doc = docs.take_doc(&tx, id)?;
                let still_missing = !doc.missing_deps().is_empty();
                docs.put_doc(id, doc);
                if still_missing {
                    tracing::warn!(doc = %id, "document still incomplete after repair");
                } else {
                    repaired += 1;
                }
            }
            tx.commit().inspect_err(|_| docs.forget())?;
        }
        report.repaired += repaired;
        Ok(repaired)
    }
}

/// What [`Store::repair_damaged_households`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DamageRepair {
    /// Households whose stored document could not be decoded.
    pub damaged: Vec<Uuid>,
    /// Of those, rebuilt (from the relay's copy and/or this phone's own changes).
    pub repaired: Vec<Uuid>,
}

impl Store {
    /// Households whose stored document (snapshot or incremental changes) cannot be
    /// decoded: the rest of the store stays usable, and these can be repaired with
    /// [`Store::repair_damaged_households`].
    pub fn damaged_households(&self) -> Result<Vec<Uuid>> {
        let mut w = self.writer();
        let Writer { conn, docs } = &mut *w;
        let ids: Vec<String> =
            conn.prepare("SELECT id FROM doc ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for key in ids {
            let Ok(id) = Uuid::parse_str(&key) else { continue };
            match crate::store::load_doc(conn, id, &docs.actor) {
                Ok(_) => {}
                Err(Error::Document(_)) => out.push(id),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Rebuilds every damaged household from what is still good, without discarding
    /// anything this phone has not sent: the relay's copy (`POST /v1/docs`, when a
    /// relay is configured and has the household), then every stored incremental change
    /// and every outbox change of that household that still decodes. The outbox itself
    /// is left as it is, so unsent changes are still pushed. A household with nothing
    /// left to rebuild from stays listed as damaged (its file bytes are kept).
    pub fn repair_damaged_households(&self) -> Result<DamageRepair> {
        let damaged = self.damaged_households()?;
        let mut out = DamageRepair { damaged: damaged.clone(), repaired: Vec::new() };
        if damaged.is_empty() {
            return Ok(out);
        }
        // The relay's copies, when it can be asked (offline: the phone's own changes only).
        let mut remote: std::collections::HashMap<Uuid, Vec<u8>> = Default::default();
        if let Some(cfg) = self.relay()? {
            let actor = self.writer().docs.actor.to_hex_string();
            let http = Http::new(&cfg, &actor)?;
            let mut report = SyncReport::default();
            for chunk in damaged.chunks(MAX_DOCS_PER_REQUEST) {
                match fetch_docs(&http, &mut report, chunk) {
                    Ok(resp) => {
                        for d in resp.docs {
                            remote.insert(Uuid::from_bytes(d.doc), d.snapshot);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "relay copies unavailable; rebuilding from local changes"),
                }
            }
        }
        let mut w = self.writer();
        let Writer { conn, docs } = &mut *w;
        let tx = conn.transaction()?;
        for id in damaged {
            let key = id.to_string();
            let mut local: Vec<Vec<u8>> = tx
                .prepare_cached("SELECT data FROM doc_change WHERE doc_id = ?1 ORDER BY seq")?
                .query_map([&key], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let outbox: Vec<Vec<u8>> = tx
                .prepare_cached("SELECT change FROM outbox WHERE doc_id = ?1 ORDER BY id")?
                .query_map([&key], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            local.extend(outbox);
            let mut doc = HouseholdDoc::empty(&docs.actor);
            let mut used = 0usize;
            if let Some(bytes) = remote.get(&id) {
                if doc.automerge().load_incremental(bytes).is_ok() {
                    used += 1;
                }
            }
            // Changes in causal order may arrive out of order here: automerge queues a
            // change until its dependencies are there.
            for c in &local {
                if doc.automerge().load_incremental(c).is_ok() {
                    used += 1;
                }
            }
            let read = match doc.read_checked() {
                Ok(r) if used > 0 && r.household.id == id => r,
                _ => {
                    tracing::warn!(doc = %id, "damaged household: nothing left to rebuild it from");
                    continue;
                }
            };
            save_snapshot(&tx, id, &doc.save())?;
            query::materialize(&tx, &read.household, &read.problems, doc.conflicts().len(), self.today())?;
            out.repaired.push(id);
        }
        docs.forget();
        tx.commit()?;
        tracing::info!(damaged = out.damaged.len(), repaired = out.repaired.len(), "damaged households repaired");
        Ok(out)
    }
}

/// The record a refusal's path points at (`visits/<id>/…` → ("visits", id)).
fn refused_record(path: Option<&str>) -> Option<(String, Uuid)> {
    let mut parts = path?.split('/');
    let coll = parts.next()?;
    let id = Uuid::parse_str(parts.next()?).ok()?;
    ["members", "visits", "pregnancies"].contains(&coll).then(|| (coll.to_string(), id))
}

fn fetch_docs(http: &Http, report: &mut SyncReport, ids: &[Uuid]) -> Result<DocsResponse> {
    let req = DocsRequest { docs: ids.iter().map(|u| u.into_bytes()).collect() };
    Ok(http.post(DOCS_PATH, &req, report)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_record_from_path() {
        let id = Uuid::new_v4();
        assert_eq!(refused_record(Some(&format!("visits/{id}/entries/x/weight_kg"))), Some(("visits".into(), id)));
        assert_eq!(refused_record(Some(&format!("members/{id}"))), Some(("members".into(), id)));
        assert_eq!(refused_record(Some("members")), None);
        assert_eq!(refused_record(Some("household/address/rt")), None);
        assert_eq!(refused_record(None), None);
    }
}
