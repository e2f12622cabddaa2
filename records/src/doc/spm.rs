//! SPM requests (issue 13): layout, reader and writer; the rules (catalogue, statuses,
//! who may write which, current status) are in `crate::rules::spm_request`.
//! docs/schema.md, "`spm_steps`, `spm_notes`".
//!
//! Layout: two flat root maps,
//!
//! ```text
//! spm_steps: { "<request key>/<step uuid>": { status, role, by, at, area?, office?, reason? } }
//! spm_notes: { "<request key>/<note uuid>": { text, kader_id, at } }
//! ```
//!
//! where the request key is `<member uuid>:<need>` or `household:<need>`. A request is
//! the set of steps and notes under its key; it exists once it has a `dicatat` step.
//! Nothing is ever written at the request key itself: two kader raising the same need
//! for the same person offline each add their own step and note (fresh UUID keys), so
//! merging keeps both and creates no conflict — a nested map per request would be
//! created by both, and automerge would keep only one of the two maps (with its
//! notes). A document created before these maps existed gets them at its first
//! request; two phones may then create a root map concurrently, so the reader takes
//! the union of every concurrent map and the writer adds to the first one.

use automerge::{transaction::Transactable, ObjId, ObjType, ReadDoc, Value, ROOT};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

use super::{invalid, known, path_key, read_json, read_value, to_object, write_map, wrong_type, DocProblem, Field};
use super::{HouseholdDoc, Rec, OPTIONAL, REQUIRED};
use crate::error::{Error, Result};
use crate::model::SpmArea;
use crate::rules::spm_request::{
    self as rules, NeedSubject, SpmNote, SpmRequest, SpmRole, SpmStatus, SpmStep, MAX_NOTE, MAX_NOTES, MAX_REASON,
    MAX_STEPS,
};
use crate::validation::{Bounds, MAX_NAME};

pub(super) const SPM_STEPS: &str = "spm_steps";
pub(super) const SPM_NOTES: &str = "spm_notes";
/// A step's or note's time: Unix seconds between 2000 and 2100.
const AT: Bounds = Bounds { field: "Waktu", min: 946_684_800.0, max: 4_102_444_800.0 };

impl HouseholdDoc {
    /// Appends a step to request `key` (steps are never edited). A `dicatat` step
    /// creates the request. The caller checks the transition (rulebook).
    pub fn add_spm_step(&mut self, key: &str, step: &SpmStep) -> Result<()> {
        if rules::parse_key(key).is_none() {
            return Err(Error::Document("kunci permintaan SPM tidak valid".into()));
        }
        let mut fields = to_object(step)?;
        fields.remove("id");
        self.put_flat(SPM_STEPS, &format!("{key}/{}", step.id), &fields)
    }

    /// Adds a note to request `key`.
    pub fn add_spm_note(&mut self, key: &str, note: &SpmNote) -> Result<()> {
        if rules::parse_key(key).is_none() {
            return Err(Error::Document("kunci permintaan SPM tidak valid".into()));
        }
        let mut fields = to_object(note)?;
        fields.remove("id");
        self.put_flat(SPM_NOTES, &format!("{key}/{}", note.id), &fields)
    }

    fn put_flat(&mut self, coll_name: &str, key: &str, fields: &Map<String, Json>) -> Result<()> {
        let colls: Vec<ObjId> = self
            .doc
            .get_all(ROOT, coll_name)?
            .into_iter()
            .filter_map(|(v, id)| matches!(v, Value::Object(ObjType::Map)).then_some(id))
            .collect();
        for c in &colls {
            if self.doc.get(c, key)?.is_some() {
                return Err(Error::Document(format!("{key} sudah ada")));
            }
        }
        let coll = match colls.into_iter().next() {
            Some(c) => c,
            None => self.doc.put_object(ROOT, coll_name, ObjType::Map)?,
        };
        let obj = self.doc.put_object(&coll, key, ObjType::Map)?;
        write_map(&mut self.doc, &obj, fields)
    }
}

/// The union of every concurrent root map `name`.
fn union<D: ReadDoc>(doc: &D, name: &str, problems: &mut Vec<DocProblem>) -> Map<String, Json> {
    let mut all = Map::new();
    match doc.get_all(ROOT, name) {
        Ok(values) => {
            for (v, id) in values {
                match v {
                    Value::Object(ObjType::Map | ObjType::Table) => {
                        if let Json::Object(m) = read_json(doc, &id, true) {
                            for (k, v) in m {
                                all.entry(k).or_insert(v);
                            }
                        }
                    }
                    Value::Object(_) => {
                        problems.push(invalid(name.into(), wrong_type("peta", &read_value(doc, &id)).1))
                    }
                    Value::Scalar(s) => {
                        problems.push(invalid(name.into(), wrong_type("peta", &super::marked_scalar(&s)).1))
                    }
                }
            }
        }
        Err(_) => problems.push(invalid(name.into(), "tidak dapat dibaca")),
    }
    all
}

/// Splits `<request key>/<uuid>`; reports a malformed key or an unknown member.
fn split_key(
    coll: &str,
    key: &str,
    members: Option<&HashSet<Uuid>>,
    problems: &mut Vec<DocProblem>,
) -> Option<(String, Uuid)> {
    let path = format!("{coll}/{}", path_key(key));
    let parsed = key.rsplit_once('/').and_then(|(rk, id)| {
        let id = Uuid::parse_str(id).ok().filter(|u| u.to_string() == id)?;
        let (member, _) = rules::parse_key(rk)?;
        Some((rk.to_string(), id, member))
    });
    let Some((rk, id, member)) = parsed else {
        problems.push(invalid(path, "kunci harus <subjek>:<kode kebutuhan>/<UUID>"));
        return None;
    };
    if let (Some(all), Some(m)) = (members, member) {
        if !all.contains(&m) {
            problems.push(invalid(path, "anggota keluarga tidak ada"));
            return None;
        }
    }
    Some((rk, id))
}

/// Reads every SPM request (the union of concurrent root maps); a step or note that
/// fails its checks is left out and listed like any record.
pub(super) fn read_spm<D: ReadDoc>(
    doc: &D,
    members: Option<&HashSet<Uuid>>,
    problems: &mut Vec<DocProblem>,
) -> Vec<SpmRequest> {
    let mut steps: BTreeMap<String, Vec<SpmStep>> = BTreeMap::new();
    for (key, value) in union(doc, SPM_STEPS, problems) {
        let Some((rk, id)) = split_key(SPM_STEPS, &key, members, problems) else { continue };
        let path = format!("{SPM_STEPS}/{}", path_key(&key));
        let Json::Object(mut obj) = value else {
            problems.push(invalid(path, wrong_type("peta", &value).1));
            continue;
        };
        let mut rec = Rec::new(problems);
        rec.field(&mut obj, &path, "status", REQUIRED, Field::Enum { known: known::<SpmStatus>, open: true });
        rec.field(&mut obj, &path, "role", REQUIRED, Field::Enum { known: known::<SpmRole>, open: false });
        rec.field(&mut obj, &path, "by", REQUIRED, Field::Text(MAX_NAME));
        rec.field(&mut obj, &path, "at", REQUIRED, Field::Int(AT));
        rec.field(&mut obj, &path, "area", OPTIONAL, Field::Enum { known: known::<SpmArea>, open: true });
        rec.field(&mut obj, &path, "office", OPTIONAL, Field::Text(rules::MAX_CODE));
        rec.field(&mut obj, &path, "reason", OPTIONAL, Field::Text(MAX_REASON));
        let Some(step) = rec.finish::<SpmStep>(id, obj, &path) else { continue };
        let need = rk.split_once(':').map_or("", |(_, n)| n);
        let why = if step.role != step.status.role() {
            Some(("role", "peran tidak sesuai status"))
        } else if step.status == SpmStatus::Dicatat && step.area.is_none() {
            Some(("area", "wajib diisi"))
        } else if step.status == SpmStatus::Dicatat && rules::need(need).is_some_and(|n| Some(n.area) != step.area) {
            Some(("area", "bidang tidak sesuai kebutuhan"))
        } else if step.office.as_deref().is_some_and(|o| !rules::is_code(o)) {
            Some(("office", "kode harus huruf kecil, angka atau _"))
        } else if step.status == SpmStatus::DiteruskanKeOpd && step.office.is_none() {
            Some(("office", "wajib diisi"))
        } else if step.status == SpmStatus::Ditolak && step.reason.is_none() {
            Some(("reason", "wajib diisi"))
        } else {
            None
        };
        if let Some((field, reason)) = why {
            problems.push(invalid(format!("{path}/{field}"), reason));
            continue;
        }
        steps.entry(rk).or_default().push(step);
    }
    let mut notes: BTreeMap<String, Vec<SpmNote>> = BTreeMap::new();
    for (key, value) in union(doc, SPM_NOTES, problems) {
        let Some((rk, id)) = split_key(SPM_NOTES, &key, members, problems) else { continue };
        let path = format!("{SPM_NOTES}/{}", path_key(&key));
        let Json::Object(mut obj) = value else {
            problems.push(invalid(path, wrong_type("peta", &value).1));
            continue;
        };
        let mut rec = Rec::new(problems);
        rec.field(&mut obj, &path, "text", REQUIRED, Field::Text(MAX_NOTE));
        rec.field(&mut obj, &path, "kader_id", REQUIRED, Field::Text(MAX_NAME));
        rec.field(&mut obj, &path, "at", REQUIRED, Field::Int(AT));
        if let Some(n) = rec.finish::<SpmNote>(id, obj, &path) {
            notes.entry(rk).or_default().push(n);
        }
    }
    let mut out = Vec::new();
    for (rk, mut list) in steps {
        // Time order; steps of the same second (a koordinator verifying and handing over
        // at once) in lifecycle order.
        list.sort_by_key(|s| (s.at, s.status.rank(), s.id));
        let Some((member_id, need)) = rules::parse_key(&rk) else { continue };
        // The area the request was raised in: its first `dicatat` step's.
        let Some(area) = list.iter().find(|s| s.status == SpmStatus::Dicatat).and_then(|s| s.area) else {
            problems.push(invalid(format!("{SPM_STEPS}/{}", path_key(&rk)), "permintaan tanpa langkah dicatat"));
            continue;
        };
        let subject_ok = match rules::need(need).map(|n| n.subject) {
            Some(NeedSubject::Member) => member_id.is_some(),
            Some(NeedSubject::Household) => member_id.is_none(),
            None => true,
        };
        if !subject_ok {
            problems.push(invalid(format!("{SPM_STEPS}/{}", path_key(&rk)), "subjek tidak sesuai kebutuhan"));
            continue;
        }
        if list.len() > MAX_STEPS {
            problems.push(invalid(format!("{SPM_STEPS}/{}", path_key(&rk)), format!("lebih dari {MAX_STEPS} langkah")));
            list.truncate(MAX_STEPS);
        }
        let mut n = notes.remove(&rk).unwrap_or_default();
        n.sort_by_key(|x| (x.at, x.id));
        if n.len() > MAX_NOTES {
            problems.push(invalid(format!("{SPM_NOTES}/{}", path_key(&rk)), format!("lebih dari {MAX_NOTES} catatan")));
            n.truncate(MAX_NOTES);
        }
        out.push(SpmRequest { key: rk.clone(), area, need: need.to_string(), member_id, notes: n, steps: list });
    }
    for rk in notes.keys() {
        problems.push(invalid(format!("{SPM_NOTES}/{}", path_key(rk)), "permintaan SPM tidak ada"));
    }
    out.sort_by(|a, b| (a.raised_at(), &a.key).cmp(&(b.raised_at(), &b.key)));
    out
}
