//! A household as one automerge document.
//!
//! ```text
//! {
//!   schema: 1, id: "<uuid>", posyandu_id: "<id>",
//!   household:   { kk_number, head_member_id, address: {...}, gps: {...}, spm: {...} },
//!   kk_history:  { "<kk number>": "<since YYYY-MM-DD>" },
//!   members:     { "<uuid>": { nik, name, birth_date, sex, relation, ..., deleted } },
//!   visits:      { "<uuid>": { date, kind, kader_id, posyandu_id, deleted,
//!                              entries: { "<member uuid>": { measurements: {...}, services: {...}, ... } } } },
//!   pregnancies: { "<uuid>": { member_id, lmp, due_date, gravida, muac_cm, kek, ended, deleted } }
//! }
//! ```
//!
//! Records are maps keyed by UUID, so concurrent additions never collide. Every field
//! is its own map key, so concurrent edits to different fields both apply; concurrent
//! different values for one key are kept by automerge and reported by
//! [`HouseholdDoc::conflicts`] with who wrote each and when, until
//! [`HouseholdDoc::resolve`] writes the chosen value over all of them. Writes only
//! touch keys whose value changes, so unchanged fields never create false conflicts.
//! Nothing is deleted: a removed member or visit gets `deleted: true` (a tombstone).
//! Arrays (immunisations, counselling topics, SPM needs) are automerge lists.
//!
//! Reading trusts nothing: [`read_household`] decodes and checks every record on its
//! own, leaves out what it cannot trust and lists it as a [`DocProblem`]; unknown keys
//! are ignored, and writes never delete them. Keys, types, ranges and the evolution
//! rules: `docs/schema.md`.

use automerge::{
    transaction::{CommitOptions, Transactable},
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::*;
use crate::validation::{Bounds, ValidationError, MAX_ENTRIES_PER_VISIT, MAX_LIST_ITEMS, MAX_NAME, MAX_TEXT};

/// Document schema version written at the root; a device refuses documents from a
/// newer schema instead of misreading them.
pub const SCHEMA_VERSION: u64 = 1;

const MEMBERS: &str = "members";
const VISITS: &str = "visits";
const PREGNANCIES: &str = "pregnancies";
const HOUSEHOLD: &str = "household";
const KK_HISTORY: &str = "kk_history";
const ENTRIES: &str = "entries";

mod posyandu;
mod referral;
pub use posyandu::{
    genesis_actor, genesis_change, genesis_hash, is_posyandu_doc_id_form, posyandu_doc_id, read_posyandu, PosyanduRead,
    POSYANDU_KIND,
};
pub use referral::MAX_STEPS as MAX_REFERRAL_STEPS;
mod spm;

pub struct HouseholdDoc {
    doc: AutoCommit,
}

impl HouseholdDoc {
    /// A new, empty household document (uncommitted until [`Self::commit`]).
    pub fn create(id: Uuid, posyandu_id: &str, actor: &ActorId) -> Result<Self> {
        let mut doc = AutoCommit::new().with_actor(actor.clone());
        doc.put(ROOT, "schema", SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id.to_string())?;
        doc.put(ROOT, "posyandu_id", posyandu_id)?;
        for key in
            [HOUSEHOLD, KK_HISTORY, MEMBERS, VISITS, PREGNANCIES, referral::REFERRALS, spm::SPM_STEPS, spm::SPM_NOTES]
        {
            doc.put_object(ROOT, key, ObjType::Map)?;
        }
        // Nested maps edited field by field exist from the start, so two devices never
        // create them concurrently (which would make the whole map one conflict).
        let hh = match doc.get(ROOT, HOUSEHOLD)? {
            Some((_, id)) => id,
            None => return Err(Error::Document("household map missing".into())),
        };
        for key in ["address", "spm"] {
            doc.put_object(&hh, key, ObjType::Map)?;
        }
        Ok(HouseholdDoc { doc })
    }

    /// Loads a saved document (a compacted snapshot, possibly followed by incremental
    /// changes) and writes as `actor` from now on.
    pub fn load(bytes: &[u8], actor: &ActorId) -> Result<Self> {
        let doc = AutoCommit::load(bytes)?.with_actor(actor.clone());
        let d = HouseholdDoc { doc };
        d.check_schema()?;
        Ok(d)
    }

    /// Loads documents received from the relay (no actor needed to read).
    pub fn load_readonly(bytes: &[u8]) -> Result<Self> {
        let d = HouseholdDoc { doc: AutoCommit::load(bytes)? };
        d.check_schema()?;
        Ok(d)
    }

    /// An empty document that only receives changes (documents first seen through sync).
    pub fn empty(actor: &ActorId) -> Self {
        HouseholdDoc { doc: AutoCommit::new().with_actor(actor.clone()) }
    }

    fn check_schema(&self) -> Result<()> {
        match self.doc.get(ROOT, "schema")? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Uint(v) if *v <= SCHEMA_VERSION => Ok(()),
                ScalarValue::Int(v) if *v >= 0 && (*v as u64) <= SCHEMA_VERSION => Ok(()),
                other => Err(Error::Document(format!("skema dokumen tidak didukung: {other}"))),
            },
            // An empty document (no changes yet) has no schema key.
            None => Ok(()),
            Some(_) => Err(Error::Document("skema dokumen tidak valid".into())),
        }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Applies changes received from elsewhere. Changes already present are ignored,
    /// so applying the same batch twice changes nothing.
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<()> {
        self.doc.apply_changes(changes)?;
        self.check_schema()
    }

    /// Hashes of changes this document depends on but does not have.
    pub fn missing_deps(&mut self) -> Vec<ChangeHash> {
        self.doc.get_missing_deps(&[])
    }

    /// Commits pending edits as one change attributed to `kader_id` at `time` (Unix
    /// seconds) and returns it; `None` when nothing was edited.
    pub fn commit(&mut self, kader_id: &str, time: i64) -> Option<Change> {
        let hash = self.doc.commit_with(CommitOptions::default().with_message(kader_id).with_time(time))?;
        self.doc.get_change_by_hash(&hash)
    }

    /// Drops uncommitted edits (used when a write fails half-way).
    pub fn rollback(&mut self) {
        self.doc.rollback();
    }

    fn root_str(&self, key: &str) -> Option<String> {
        root_text(&self.doc, key)
    }

    pub fn id(&self) -> Option<Uuid> {
        self.root_str("id").and_then(|s| Uuid::parse_str(&s).ok())
    }

    pub fn posyandu_id(&self) -> Option<String> {
        self.root_str("posyandu_id")
    }

    fn map_at(&mut self, path: &[&str]) -> Result<ObjId> {
        let mut obj = ROOT;
        for key in path {
            obj = match self.doc.get(&obj, *key)? {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => {
                    return Err(Error::NotFound { kind: "Data", id: path.join("/") });
                }
            };
        }
        Ok(obj)
    }

    fn has_record(&self, collection: &str, id: Uuid) -> bool {
        let Ok(Some((_, coll))) = self.doc.get(ROOT, collection) else {
            return false;
        };
        matches!(self.doc.get(&coll, id.to_string()), Ok(Some((Value::Object(ObjType::Map), _))))
    }

    // ---- writes -------------------------------------------------------------------

    /// Sets the household attributes given in `patch`.
    pub fn patch_household(&mut self, patch: &HouseholdPatch, today: time::Date) -> Result<()> {
        let hh = self.map_at(&[HOUSEHOLD])?;
        let mut fields = to_object(patch)?;
        if let Some(kk) = &patch.kk_number {
            let hist = self.map_at(&[KK_HISTORY])?;
            if self.doc.get(&hist, kk.as_str())?.is_none() {
                self.doc.put(&hist, kk.as_str(), format_date(today))?;
            }
        }
        // Nested structs (address, spm) are merged field by field.
        fields.retain(|_, v| !v.is_null());
        write_map(&mut self.doc, &hh, &fields)
    }

    pub fn add_member(&mut self, id: Uuid, m: &NewMember) -> Result<()> {
        let member = Member {
            id,
            nik: m.nik.clone(),
            mother_nik: m.mother_nik.clone(),
            name: m.name.trim().to_string(),
            birth_date: m.birth_date,
            sex: m.sex,
            relation: m.relation,
            bpjs_number: m.bpjs_number.clone(),
            kia_book: m.kia_book,
            status: None,
            birth: None,
            deleted: false,
        };
        self.put_record(MEMBERS, id, &member)
    }

    /// Records that a member moved away or died (issue 12). Each field is its own key:
    /// two kader recording different dates concurrently keep both, as a conflict.
    pub fn set_member_status(&mut self, id: Uuid, status: &MemberStatus) -> Result<()> {
        let obj = self.record(MEMBERS, id)?;
        let mut fields = Map::new();
        fields.insert("status".into(), Json::Object(to_object(status)?));
        write_map(&mut self.doc, &obj, &fields)
    }

    /// Records the outcome of a pregnancy and registers the newborns of a live birth,
    /// in this one change (issue 12): the episode's `ended` and `outcome`, and one new
    /// member per newborn (birth date = the outcome's date; NIK substitute = the
    /// mother's NIK and birth order, when the mother has a NIK; birth weight and length
    /// on the member). `ids` are the newborns' ids, in birth order. Returns the members
    /// written. The caller validates first ([`crate::ilp::check_birth`]).
    pub fn record_birth(&mut self, b: &BirthRecord, ids: &[Uuid], household: &Household) -> Result<Vec<Member>> {
        let preg = household
            .pregnancies
            .iter()
            .find(|p| p.id == b.pregnancy_id)
            .ok_or_else(|| Error::NotFound { kind: kind_label(PREGNANCIES), id: b.pregnancy_id.to_string() })?;
        let mother = household.member(preg.member_id);
        let obj = self.record(PREGNANCIES, b.pregnancy_id)?;
        let mut fields = Map::new();
        fields.insert("ended".into(), Json::String(format_date(b.date)));
        fields.insert("outcome".into(), Json::Object(to_object(&b.outcome)?));
        write_map(&mut self.doc, &obj, &fields)?;
        let mut out = Vec::new();
        for (i, (n, id)) in b.newborns.iter().zip(ids).enumerate() {
            let m = Member {
                id: *id,
                nik: None,
                mother_nik: mother
                    .and_then(|m| m.nik.clone())
                    .map(|nik| MotherNik { mother_nik: nik, birth_order: (i + 1) as u8 }),
                name: n.name.trim().to_string(),
                birth_date: b.date,
                sex: n.sex,
                relation: Relation::Anak,
                bpjs_number: None,
                kia_book: n.kia_book,
                status: None,
                birth: Some(BirthData { weight_kg: n.weight_kg, length_cm: n.length_cm, pregnancy_id: Some(preg.id) }),
                deleted: false,
            };
            self.put_record(MEMBERS, *id, &m)?;
            out.push(m);
        }
        Ok(out)
    }

    pub fn patch_member(&mut self, id: Uuid, p: &MemberPatch) -> Result<()> {
        let obj = self.record(MEMBERS, id)?;
        let mut fields = to_object(p)?;
        fields.retain(|_, v| !v.is_null());
        write_map(&mut self.doc, &obj, &fields)
    }

    pub fn add_visit(&mut self, v: &Visit) -> Result<()> {
        self.put_record(VISITS, v.id, &visit_to_doc(v)?)
    }

    /// Corrects one member's entry of a visit (field edits; the visit stays).
    pub fn amend_visit_entry(&mut self, visit_id: Uuid, entry: &VisitEntry) -> Result<()> {
        let visit = self.record(VISITS, visit_id)?;
        let entries = match self.doc.get(&visit, ENTRIES)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => return Err(Error::Document("kunjungan tanpa entri".into())),
        };
        let key = entry.member_id.to_string();
        let obj = match self.doc.get(&entries, key.as_str())? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => self.doc.put_object(&entries, key.as_str(), ObjType::Map)?,
        };
        let mut fields = entry_to_doc(entry)?;
        fields.remove("member_id");
        write_map(&mut self.doc, &obj, &fields)
    }

    pub fn add_pregnancy(&mut self, p: &Pregnancy) -> Result<()> {
        self.put_record(PREGNANCIES, p.id, p)
    }

    pub fn end_pregnancy(&mut self, id: Uuid, ended: time::Date) -> Result<()> {
        let obj = self.record(PREGNANCIES, id)?;
        self.doc.put(&obj, "ended", format_date(ended))?;
        Ok(())
    }

    /// Marks a member, visit or pregnancy deleted (a tombstone that syncs).
    pub fn tombstone(&mut self, kind: RecordKind, id: Uuid) -> Result<()> {
        let obj = self.record(kind.collection(), id)?;
        self.doc.put(&obj, "deleted", true)?;
        Ok(())
    }

    fn record(&mut self, collection: &str, id: Uuid) -> Result<ObjId> {
        let coll = self.map_at(&[collection])?;
        match self.doc.get(&coll, id.to_string())? {
            Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
            _ => Err(Error::NotFound { kind: kind_label(collection), id: id.to_string() }),
        }
    }

    fn put_record<T: serde::Serialize>(&mut self, collection: &str, id: Uuid, value: &T) -> Result<()> {
        if self.has_record(collection, id) {
            return Err(Error::Document(format!("{} {id} sudah ada", kind_label(collection))));
        }
        let coll = self.map_at(&[collection])?;
        let obj = self.doc.put_object(&coll, id.to_string(), ObjType::Map)?;
        let mut fields = to_object(value)?;
        fields.remove("id");
        write_map(&mut self.doc, &obj, &fields)
    }

    // ---- reads --------------------------------------------------------------------

    /// The household as the merged state currently shows it (for a conflicting field,
    /// automerge's deterministic winner; see [`Self::conflicts`] for all values).
    /// Records that cannot be read are left out; [`Self::read_checked`] lists them.
    pub fn read(&self) -> Result<Household> {
        Ok(self.read_checked()?.household)
    }

    /// The household and the records or fields left out of it, with why.
    pub fn read_checked(&self) -> Result<HouseholdRead> {
        read_household(&self.doc)
    }

    /// Every field that holds more than one concurrent value, with who wrote each
    /// value and when.
    pub fn conflicts(&self) -> Vec<Conflict> {
        conflicts_of(&self.doc)
    }

    /// Resolves the conflict at `path` by writing `value_json` (one of the offered
    /// values, or any valid replacement) over all concurrent values.
    pub fn resolve(&mut self, path: &str, value_json: &str) -> Result<()> {
        let conflict = self
            .conflicts()
            .into_iter()
            .find(|c| c.path == path)
            .ok_or_else(|| Error::NotFound { kind: "Konflik", id: path.to_string() })?;
        if !conflict.values.iter().any(|v| v.value_json == value_json) {
            return Err(crate::validation::ValidationError::UnknownConflictChoice(value_json.to_string()).into());
        }
        let value: Json = serde_json::from_str(value_json)
            .map_err(|_| crate::validation::ValidationError::UnknownConflictChoice(value_json.to_string()))?;
        let parts: Vec<&str> = path.split('/').collect();
        let (key, parent) = parts.split_last().ok_or_else(|| Error::Document("jalur kosong".into()))?;
        let obj = self.map_at(parent)?;
        // Written even when equal to the value currently shown: the new op must
        // supersede every concurrent value for the conflict to end.
        put_json(&mut self.doc, &obj, key, &value, Write::Always)
    }
}

/// A document the conflicts can be listed from: automerge's read API plus who wrote an
/// operation ([`AutoCommit`] on the phone, [`automerge::Automerge`] in the relay's merge).
pub trait ConflictSource: ReadDoc {
    fn change_of(&self, op: &ObjId) -> Option<ChangeHash>;
}

impl ConflictSource for AutoCommit {
    fn change_of(&self, op: &ObjId) -> Option<ChangeHash> {
        self.hash_for_opid(op)
    }
}

impl ConflictSource for automerge::Automerge {
    fn change_of(&self, op: &ObjId) -> Option<ChangeHash> {
        self.hash_for_opid(op)
    }
}

/// Every field of a household document that holds more than one concurrent value,
/// with who wrote each value and when, sorted by path ([`HouseholdDoc::conflicts`]).
pub fn conflicts_of<D: ConflictSource>(doc: &D) -> Vec<Conflict> {
    let household_id = root_text(doc, "id").and_then(|s| Uuid::parse_str(&s).ok()).unwrap_or_default();
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk_conflicts(doc, &ROOT, &mut path, &mut |path, values| {
        out.push(Conflict { household_id, path: path.join("/"), values })
    });
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk_conflicts<D: ConflictSource>(
    doc: &D,
    obj: &ObjId,
    path: &mut Vec<String>,
    found: &mut dyn FnMut(&[String], Vec<ConflictValue>),
) {
    // `map_range` flags conflicted keys, so only those pay for `get_all`.
    let items: Vec<(String, bool, Value<'static>, ObjId)> =
        doc.map_range(obj, ..).map(|i| (i.key.to_string(), i.conflict, Value::from(i.value.clone()), i.id())).collect();
    for (key, conflict, value, id) in items {
        path.push(key.clone());
        if conflict {
            let all = doc.get_all(obj, key.as_str()).unwrap_or_default();
            let values = all
                .iter()
                .map(|(v, id)| {
                    let json = match v {
                        Value::Object(_) => read_value(doc, id),
                        Value::Scalar(s) => scalar_to_json(s),
                    };
                    let meta = doc.change_of(id).and_then(|h| {
                        let c = doc.get_change_by_hash(&h)?;
                        Some((c.message().map(str::to_owned), c.timestamp()))
                    });
                    ConflictValue {
                        value_json: json.to_string(),
                        kader_id: meta.as_ref().and_then(|m| m.0.clone()),
                        written_at: meta.map_or(0, |m| m.1),
                    }
                })
                .collect();
            found(path, values);
        } else if let Value::Object(ObjType::Map) = value {
            walk_conflicts(doc, &id, path, found);
        }
        path.pop();
    }
}

/// The kinds of record that can be tombstoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Member,
    Visit,
    Pregnancy,
}

impl RecordKind {
    fn collection(self) -> &'static str {
        match self {
            RecordKind::Member => MEMBERS,
            RecordKind::Visit => VISITS,
            RecordKind::Pregnancy => PREGNANCIES,
        }
    }
}

fn kind_label(collection: &str) -> &'static str {
    match collection {
        MEMBERS => "Anggota keluarga",
        VISITS => "Kunjungan",
        PREGNANCIES => "Kehamilan",
        _ => "Data",
    }
}

fn to_object<T: serde::Serialize>(v: &T) -> Result<Map<String, Json>> {
    match serde_json::to_value(v).map_err(|e| Error::Document(e.to_string()))? {
        Json::Object(m) => Ok(m),
        _ => Err(Error::Document("bukan objek".into())),
    }
}

/// A visit entry's fields; a recorded vitamin A capsule also writes `vitamin_a: true`,
/// so readers that predate the capsule still see the dose.
fn entry_to_doc(e: &VisitEntry) -> Result<Map<String, Json>> {
    let mut e = e.clone();
    e.services.vitamin_a |= e.services.vitamin_a_capsule.is_some();
    to_object(&e)
}

/// Visits hold their entries as a map keyed by member id.
fn visit_to_doc(v: &Visit) -> Result<Json> {
    let mut obj = to_object(v)?;
    let mut entries = Map::new();
    for e in &v.entries {
        let mut fields = entry_to_doc(e)?;
        fields.remove("member_id");
        entries.insert(e.member_id.to_string(), Json::Object(fields));
    }
    obj.insert(ENTRIES.into(), Json::Object(entries));
    Ok(Json::Object(obj))
}

/// Writes the fields of `fields` into map `obj`, touching only keys whose value differs.
fn write_map(doc: &mut AutoCommit, obj: &ObjId, fields: &Map<String, Json>) -> Result<()> {
    for (k, v) in fields {
        put_json(doc, obj, k, v, Write::IfChanged)?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Skip keys whose value is already the one given (edits).
    IfChanged,
    /// Write a new op whatever the current value (conflict resolution).
    Always,
}

fn put_json(doc: &mut AutoCommit, obj: &ObjId, key: &str, v: &Json, mode: Write) -> Result<()> {
    let existing = if mode == Write::Always { None } else { doc.get(obj, key)? };
    match v {
        Json::Null => {
            if existing.is_some() || mode == Write::Always {
                doc.delete(obj, key)?;
            }
        }
        Json::Object(m) => {
            let child = match existing {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => doc.put_object(obj, key, ObjType::Map)?,
            };
            write_map(doc, &child, m)?;
        }
        Json::Array(items) => {
            // A list is written as a whole, so only when its content changed: items
            // holding keys this version does not know (a newer writer's) stay as they are.
            if let Some((Value::Object(ObjType::List), id)) = &existing {
                if same_known(v, &read_value(doc, id)) {
                    return Ok(());
                }
            }
            let list = doc.put_object(obj, key, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                match item {
                    Json::Object(m) => {
                        let child = doc.insert_object(&list, i, ObjType::Map)?;
                        write_map(doc, &child, m)?;
                    }
                    other => doc.insert(&list, i, json_to_scalar(other))?,
                }
            }
        }
        scalar => {
            let new = json_to_scalar(scalar);
            if let Some((Value::Scalar(old), _)) = &existing {
                if old.as_ref() == &new {
                    return Ok(());
                }
            }
            doc.put(obj, key, new)?;
        }
    }
    Ok(())
}

/// Whether `stored` holds `new`, ignoring keys of stored maps that `new` lacks.
fn same_known(new: &Json, stored: &Json) -> bool {
    match (new, stored) {
        (Json::Object(n), Json::Object(s)) => n.iter().all(|(k, v)| s.get(k).is_some_and(|sv| same_known(v, sv))),
        (Json::Array(n), Json::Array(s)) => n.len() == s.len() && n.iter().zip(s).all(|(a, b)| same_known(a, b)),
        _ => new == stored,
    }
}

fn json_to_scalar(v: &Json) -> ScalarValue {
    match v {
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        _ => ScalarValue::Null,
    }
}

fn scalar_to_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Timestamp(t) => Json::from(*t),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        _ => Json::Null,
    }
}

/// The merged value of an object as JSON (Text objects as strings).
fn read_value<D: ReadDoc + ?Sized>(doc: &D, obj: &ObjId) -> Json {
    read_json(doc, obj, false)
}

/// Like [`read_value`]; with `mark`, values JSON cannot hold (non-finite numbers,
/// bytes, values of unknown type) become marker strings the reader reports, instead
/// of `null` (which reads as "absent").
fn read_json<D: ReadDoc + ?Sized>(doc: &D, obj: &ObjId, mark: bool) -> Json {
    // The object id is only materialised for nested objects (scalars are most values).
    let convert = |value: Value<'_>, id: &dyn Fn() -> ObjId| match value {
        Value::Object(_) => read_json(doc, &id(), mark),
        Value::Scalar(s) if mark => marked_scalar(&s),
        Value::Scalar(s) => scalar_to_json(&s),
    };
    match doc.object_type(obj) {
        Ok(ObjType::Text) => Json::String(doc.text(obj).unwrap_or_default()),
        Ok(ObjType::List) => {
            Json::Array(doc.list_range(obj, ..).map(|i| convert(Value::from(i.value.clone()), &|| i.id())).collect())
        }
        _ => Json::Object(
            doc.map_range(obj, ..)
                .map(|i| (i.key.to_string(), convert(Value::from(i.value.clone()), &|| i.id())))
                .collect(),
        ),
    }
}

fn marked_scalar(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::F64(f) if !f.is_finite() => Json::String(NON_FINITE.into()),
        ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::String(BINARY.into()),
        other => scalar_to_json(other),
    }
}

/// A root key holding a string (scalar or Text object).
fn root_text<D: ReadDoc + ?Sized>(doc: &D, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        _ => None,
    }
}

// ---- reading: trust nothing -------------------------------------------------------

/// A record or field of a document that the reader left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocProblem {
    /// Slash path in the document, e.g. `visits/<uuid>/entries/<uuid>/measurements/weight_kg`.
    pub path: String,
    /// Short reason in Bahasa Indonesia; never contains the offending value.
    pub reason: String,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Malformed or implausible (a buggy or hostile writer).
    Invalid,
    /// Written by a newer app version (a value of an open enum this version does not
    /// know); kept in the document, shown once the app is updated.
    Newer,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Invalid => "invalid",
            ProblemKind::Newer => "newer",
        }
    }

    pub fn parse(s: &str) -> Option<ProblemKind> {
        match s {
            "invalid" => Some(ProblemKind::Invalid),
            "newer" => Some(ProblemKind::Newer),
            _ => None,
        }
    }
}

/// A household as read from its document, and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRead {
    pub household: Household,
    pub problems: Vec<DocProblem>,
}

/// Reason of a record carrying an open-enum value this version does not know.
pub const NEWER_REASON: &str = "dibuat oleh versi aplikasi yang lebih baru";

const NON_FINITE: &str = "\u{0}non-finite";
const BINARY: &str = "\u{0}binary";
/// Longest map key quoted in a problem path.
const MAX_KEY_IN_PATH: usize = 64;

/// Reads a household from any automerge document (a phone's `AutoCommit`, the relay's
/// `Automerge`). Every member, visit, visit entry, pregnancy, KK history entry and
/// household field is decoded and checked on its own: one that fails is left out of
/// [`Household`] and listed in [`HouseholdRead::problems`]. Unknown keys are ignored.
/// Fails only when the document has no readable root `id` (an incomplete document).
pub fn read_household<D: ReadDoc>(doc: &D) -> Result<HouseholdRead> {
    let id = root_text(doc, "id")
        .and_then(|s| Uuid::parse_str(&s).ok())
        .ok_or_else(|| Error::Document("dokumen tanpa id".into()))?;
    let posyandu_id = root_text(doc, "posyandu_id").unwrap_or_default();
    let mut problems = Vec::new();
    let mut coll = |name: &str| root_map(doc, name, &mut problems);
    let hh = coll(HOUSEHOLD);
    let kk = coll(KK_HISTORY);
    let members = coll(MEMBERS);
    let visits = coll(VISITS);
    let pregnancies = coll(PREGNANCIES);

    // Records may refer to any member in the document, tombstoned or unreadable. When
    // the members map itself is unreadable (already one problem), references are not
    // judged, so one bad change does not take every visit with it.
    let members_readable = !problems.iter().any(|p| p.path == MEMBERS);
    let member_ids: Option<HashSet<Uuid>> =
        members_readable.then(|| members.keys().filter_map(|k| Uuid::parse_str(k).ok()).collect());
    let member_ids = member_ids.as_ref();

    let mut household = Household {
        id,
        posyandu_id,
        kk_number: None,
        kk_history: Vec::new(),
        head_member_id: None,
        address: Address::default(),
        gps: None,
        spm: SpmAttributes::default(),
        members: Vec::new(),
        visits: Vec::new(),
        pregnancies: Vec::new(),
        referrals: Vec::new(),
        spm_requests: Vec::new(),
    };
    read_household_fields(hh, &mut household, &mut problems);

    for (kk_number, since) in kk {
        let path = format!("{KK_HISTORY}/{}", path_key(&kk_number));
        if let Err(e) = crate::validation::check_kk(&kk_number) {
            problems.push(invalid(path, e.reason()));
            continue;
        }
        let mut since = since;
        if let Err((kind, reason)) = check_value(&mut since, Field::Date) {
            problems.push(DocProblem { path, reason, kind });
            continue;
        }
        if let Some(since) = since.as_str().and_then(parse_date) {
            household.kk_history.push(KkChange { kk_number, since });
        }
    }
    household.kk_history.sort_by(|a, b| (a.since, &a.kk_number).cmp(&(b.since, &b.kk_number)));

    for (key, value) in members {
        let Some((id, path, mut obj)) = record(MEMBERS, key, value, &mut problems) else { continue };
        let mut rec = Rec::new(&mut problems);
        check_member(&mut rec, &mut obj, &path);
        if let Some(m) = rec.finish::<Member>(id, obj, &path) {
            household.members.push(m);
        }
    }
    household.members.sort_by_key(|m| (m.birth_date, m.id));

    for (key, value) in visits {
        let Some((id, path, obj)) = record(VISITS, key, value, &mut problems) else { continue };
        if let Some(v) = read_visit(id, &path, obj, member_ids, &mut problems) {
            household.visits.push(v);
        }
    }
    household.visits.sort_by_key(|v| (v.date, v.id));

    for (key, value) in pregnancies {
        let Some((id, path, mut obj)) = record(PREGNANCIES, key, value, &mut problems) else { continue };
        let mut rec = Rec::new(&mut problems);
        check_pregnancy(&mut rec, &mut obj, &path, member_ids);
        if let Some(p) = rec.finish::<Pregnancy>(id, obj, &path) {
            household.pregnancies.push(p);
        }
    }
    household.pregnancies.sort_by_key(|p| (p.lmp, p.id));
    household.referrals = referral::read_referrals(doc, member_ids, &mut problems);
    household.spm_requests = spm::read_spm(doc, member_ids, &mut problems);

    Ok(HouseholdRead { household, problems })
}

fn invalid(path: String, reason: impl Into<String>) -> DocProblem {
    DocProblem { path, reason: reason.into(), kind: ProblemKind::Invalid }
}

/// A map key as it appears in a problem path (long junk keys shortened).
fn path_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.chars().count() <= MAX_KEY_IN_PATH {
        key.into()
    } else {
        format!("{}…", key.chars().take(MAX_KEY_IN_PATH).collect::<String>()).into()
    }
}

/// What a value is, in words, for "harus X, berisi Y".
fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::String(s) if s == NON_FINITE => "angka tak hingga",
        Json::String(s) if s == BINARY => "data biner",
        Json::String(_) => "teks",
        Json::Number(_) => "angka",
        Json::Bool(_) => "ya/tidak",
        Json::Array(_) => "daftar",
        Json::Object(_) => "peta",
        Json::Null => "kosong",
    }
}

fn wrong_type(expected: &str, v: &Json) -> (ProblemKind, String) {
    (ProblemKind::Invalid, format!("harus {expected}, berisi {}", json_kind(v)))
}

/// A root collection as a JSON map; a value of another type is a problem (and reads
/// as empty), an absent one is empty.
fn root_map<D: ReadDoc>(doc: &D, name: &str, problems: &mut Vec<DocProblem>) -> Map<String, Json> {
    match doc.get(ROOT, name) {
        Ok(None) => Map::new(),
        Ok(Some((Value::Object(ObjType::Map | ObjType::Table), id))) => match read_json(doc, &id, true) {
            Json::Object(m) => m,
            _ => Map::new(),
        },
        Ok(Some((Value::Object(_), id))) => {
            problems.push(invalid(name.into(), wrong_type("peta", &read_value(doc, &id)).1));
            Map::new()
        }
        Ok(Some((Value::Scalar(s), _))) => {
            problems.push(invalid(name.into(), wrong_type("peta", &marked_scalar(&s)).1));
            Map::new()
        }
        Err(_) => {
            problems.push(invalid(name.into(), "tidak dapat dibaca"));
            Map::new()
        }
    }
}

/// A record of a collection keyed by UUID: its id, path and fields, or a problem.
fn record(
    collection: &str,
    key: String,
    value: Json,
    problems: &mut Vec<DocProblem>,
) -> Option<(Uuid, String, Map<String, Json>)> {
    let path = format!("{collection}/{}", path_key(&key));
    let Ok(id) = Uuid::parse_str(&key) else {
        problems.push(invalid(path, "kunci harus UUID"));
        return None;
    };
    match value {
        Json::Object(m) => Some((id, path, m)),
        other => {
            problems.push(invalid(path, wrong_type("peta", &other).1));
            None
        }
    }
}

/// What a field must hold.
#[derive(Clone, Copy)]
enum Field {
    /// Non-empty text of at most this many characters.
    Text(usize),
    /// Text passing a check.
    Str(fn(&str) -> Result<(), ValidationError>),
    /// `YYYY-MM-DD`, a real date between 1900 and 2100.
    Date,
    Uuid,
    Bool,
    /// A finite number within bounds.
    Num(Bounds),
    /// A whole number within bounds (stored as an integer or a float).
    Int(Bounds),
    /// One of an enum's values; `open` enums may gain values in newer versions.
    Enum {
        known: fn(&str) -> bool,
        open: bool,
    },
}

const REQUIRED: bool = true;
const OPTIONAL: bool = false;

fn known<T: serde::de::DeserializeOwned>(s: &str) -> bool {
    serde_json::from_value::<T>(Json::String(s.to_owned())).is_ok()
}

fn text_of(v: &Json) -> Result<&str, (ProblemKind, String)> {
    match v {
        Json::String(s) if s != NON_FINITE && s != BINARY => Ok(s),
        other => Err(wrong_type("teks", other)),
    }
}

/// Checks one value, normalising whole numbers stored as floats.
fn check_value(v: &mut Json, f: Field) -> Result<(), (ProblemKind, String)> {
    let inv = |e: ValidationError| (ProblemKind::Invalid, e.reason());
    match f {
        Field::Text(max) => crate::validation::check_text("", text_of(v)?, max).map_err(inv),
        Field::Str(check) => check(text_of(v)?).map_err(inv),
        Field::Date => {
            let d = parse_date(text_of(v)?).ok_or((ProblemKind::Invalid, "tanggal tidak valid".to_string()))?;
            crate::validation::check_date("", d).map_err(inv)
        }
        Field::Uuid => match Uuid::parse_str(text_of(v)?) {
            Ok(_) => Ok(()),
            Err(_) => Err((ProblemKind::Invalid, "harus UUID".into())),
        },
        Field::Bool => match v {
            Json::Bool(_) => Ok(()),
            other => Err(wrong_type("ya/tidak", other)),
        },
        Field::Num(b) => {
            let x = v.as_f64().ok_or_else(|| wrong_type("angka", v))?;
            b.check(x).map_err(inv)
        }
        Field::Int(b) => {
            let x = v.as_f64().ok_or_else(|| wrong_type("angka", v))?;
            if x.fract() != 0.0 {
                return Err((ProblemKind::Invalid, "harus bilangan bulat".into()));
            }
            b.check(x).map_err(inv)?;
            // Within bounds, so exact as an integer.
            *v = Json::from(x as i64);
            Ok(())
        }
        Field::Enum { known, open } => {
            if known(text_of(v)?) {
                Ok(())
            } else if open {
                Err((ProblemKind::Newer, NEWER_REASON.into()))
            } else {
                Err((ProblemKind::Invalid, "nilai tidak dikenal".into()))
            }
        }
    }
}

/// The checks of one record: problems are collected with their paths, and the record
/// is kept only when it has none.
struct Rec<'a> {
    problems: &'a mut Vec<DocProblem>,
    ok: bool,
}

impl<'a> Rec<'a> {
    fn new(problems: &'a mut Vec<DocProblem>) -> Self {
        Rec { problems, ok: true }
    }

    fn report(&mut self, path: String, kind: ProblemKind, reason: String) {
        self.ok = false;
        self.problems.push(DocProblem { path, reason, kind });
    }

    /// Checks field `key` of the object at `path`. `null` counts as absent.
    fn field(&mut self, obj: &mut Map<String, Json>, path: &str, key: &str, required: bool, f: Field) {
        match obj.get_mut(key) {
            None | Some(Json::Null) => {
                obj.remove(key);
                if required {
                    self.report(format!("{path}/{key}"), ProblemKind::Invalid, "wajib diisi".into());
                }
            }
            Some(v) => {
                if let Err((kind, reason)) = check_value(v, f) {
                    self.report(format!("{path}/{key}"), kind, reason);
                }
            }
        }
    }

    /// A nested map field, if present and a map.
    fn map<'m>(
        &mut self,
        obj: &'m mut Map<String, Json>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'m mut Map<String, Json>> {
        if matches!(obj.get(key), None | Some(Json::Null)) {
            obj.remove(key);
            if required {
                self.report(format!("{path}/{key}"), ProblemKind::Invalid, "wajib diisi".into());
            }
            return None;
        }
        match obj.get_mut(key) {
            Some(Json::Object(m)) => Some(m),
            Some(other) => {
                let (kind, reason) = wrong_type("peta", other);
                self.report(format!("{path}/{key}"), kind, reason);
                None
            }
            None => None,
        }
    }

    /// A list field, if present, a list and not too long.
    fn list<'m>(
        &mut self,
        obj: &'m mut Map<String, Json>,
        path: &str,
        key: &str,
        max: usize,
    ) -> Option<&'m mut Vec<Json>> {
        if matches!(obj.get(key), None | Some(Json::Null)) {
            obj.remove(key);
            return None;
        }
        match obj.get_mut(key) {
            Some(Json::Array(items)) => {
                if let Err(e) = crate::validation::check_count("", items.len(), max) {
                    self.report(format!("{path}/{key}"), ProblemKind::Invalid, e.reason());
                    return None;
                }
                Some(items)
            }
            Some(other) => {
                let (kind, reason) = wrong_type("daftar", other);
                self.report(format!("{path}/{key}"), kind, reason);
                None
            }
            None => None,
        }
    }

    /// A list of short texts (immunisation codes, counselling topics).
    fn text_list(&mut self, obj: &mut Map<String, Json>, path: &str, key: &str) {
        let Some(items) = self.list(obj, path, key, MAX_LIST_ITEMS) else { return };
        let mut bad = Vec::new();
        for (i, item) in items.iter_mut().enumerate() {
            if let Err(p) = check_value(item, Field::Text(MAX_NAME)) {
                bad.push((i, p));
            }
        }
        for (i, (kind, reason)) in bad {
            self.report(format!("{path}/{key}/{i}"), kind, reason);
        }
    }

    /// Decodes the checked record (`id` added) when it had no problem.
    fn finish<T: serde::de::DeserializeOwned>(self, id: Uuid, mut obj: Map<String, Json>, path: &str) -> Option<T> {
        if !self.ok {
            return None;
        }
        obj.insert("id".into(), Json::String(id.to_string()));
        decode_checked(obj, path, self.problems)
    }
}

/// Decodes checked fields; a failure here is a gap in the checks, reported without
/// serde's message (which quotes values).
fn decode_checked<T: serde::de::DeserializeOwned>(
    obj: Map<String, Json>,
    path: &str,
    problems: &mut Vec<DocProblem>,
) -> Option<T> {
    match serde_json::from_value(Json::Object(obj)) {
        Ok(v) => Some(v),
        Err(_) => {
            problems.push(invalid(path.to_string(), "tidak dapat dibaca"));
            None
        }
    }
}

fn check_member(rec: &mut Rec, m: &mut Map<String, Json>, path: &str) {
    rec.field(m, path, "name", REQUIRED, Field::Text(MAX_NAME));
    rec.field(m, path, "birth_date", REQUIRED, Field::Date);
    rec.field(m, path, "sex", REQUIRED, Field::Enum { known: known::<Sex>, open: false });
    rec.field(m, path, "relation", REQUIRED, Field::Enum { known: known::<Relation>, open: true });
    rec.field(m, path, "nik", OPTIONAL, Field::Str(crate::validation::check_nik_structure));
    let mp = format!("{path}/mother_nik");
    if let Some(mn) = rec.map(m, path, "mother_nik", OPTIONAL) {
        rec.field(mn, &mp, "mother_nik", REQUIRED, Field::Str(crate::validation::check_nik_structure));
        rec.field(mn, &mp, "birth_order", REQUIRED, Field::Int(crate::validation::BIRTH_ORDER));
    }
    rec.field(m, path, "bpjs_number", OPTIONAL, Field::Text(MAX_NAME));
    rec.field(m, path, "kia_book", OPTIONAL, Field::Bool);
    rec.field(m, path, "deleted", OPTIONAL, Field::Bool);
    let sp = format!("{path}/status");
    if let Some(st) = rec.map(m, path, "status", OPTIONAL) {
        rec.field(st, &sp, "kind", REQUIRED, Field::Enum { known: known::<MemberStatusKind>, open: true });
        rec.field(st, &sp, "date", REQUIRED, Field::Date);
    }
    let bp = format!("{path}/birth");
    if let Some(b) = rec.map(m, path, "birth", OPTIONAL) {
        rec.field(b, &bp, "weight_kg", OPTIONAL, Field::Num(crate::ilp::BIRTH_WEIGHT_KG));
        rec.field(b, &bp, "length_cm", OPTIONAL, Field::Num(crate::ilp::BIRTH_LENGTH_CM));
        rec.field(b, &bp, "pregnancy_id", OPTIONAL, Field::Uuid);
    }
}

fn check_pregnancy(rec: &mut Rec, p: &mut Map<String, Json>, path: &str, members: Option<&HashSet<Uuid>>) {
    use crate::validation::{GRAVIDA, MUAC_CM};
    let before = rec.ok;
    rec.ok = true;
    rec.field(p, path, "member_id", REQUIRED, Field::Uuid);
    if rec.ok {
        let member = p.get("member_id").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok());
        if member.is_some_and(|m| members.is_some_and(|all| !all.contains(&m))) {
            rec.report(format!("{path}/member_id"), ProblemKind::Invalid, "anggota keluarga tidak ada".into());
        }
    }
    rec.ok &= before;
    rec.field(p, path, "lmp", REQUIRED, Field::Date);
    rec.field(p, path, "due_date", REQUIRED, Field::Date);
    rec.field(p, path, "gravida", REQUIRED, Field::Int(GRAVIDA));
    rec.field(p, path, "muac_cm", OPTIONAL, Field::Num(MUAC_CM));
    rec.field(p, path, "kek", REQUIRED, Field::Bool);
    rec.field(p, path, "ended", OPTIONAL, Field::Date);
    rec.field(p, path, "deleted", OPTIONAL, Field::Bool);
    let op = format!("{path}/outcome");
    if let Some(o) = rec.map(p, path, "outcome", OPTIONAL) {
        rec.field(o, &op, "kind", REQUIRED, Field::Enum { known: known::<OutcomeKind>, open: true });
        rec.field(o, &op, "place", OPTIONAL, Field::Enum { known: known::<BirthPlace>, open: true });
        rec.field(o, &op, "attendant", OPTIONAL, Field::Enum { known: known::<BirthAttendant>, open: true });
    }
}

fn read_visit(
    id: Uuid,
    path: &str,
    mut v: Map<String, Json>,
    members: Option<&HashSet<Uuid>>,
    problems: &mut Vec<DocProblem>,
) -> Option<Visit> {
    let mut rec = Rec::new(problems);
    rec.field(&mut v, path, "date", REQUIRED, Field::Date);
    rec.field(&mut v, path, "kind", REQUIRED, Field::Enum { known: known::<VisitKind>, open: true });
    rec.field(&mut v, path, "kader_id", REQUIRED, Field::Text(MAX_NAME));
    rec.field(&mut v, path, "posyandu_id", REQUIRED, Field::Text(MAX_NAME));
    rec.field(&mut v, path, "deleted", OPTIONAL, Field::Bool);
    let entries_path = format!("{path}/{ENTRIES}");
    let entries = match v.remove(ENTRIES) {
        None | Some(Json::Null) => {
            rec.report(entries_path.clone(), ProblemKind::Invalid, "wajib diisi".into());
            None
        }
        Some(Json::Object(m)) => {
            if let Err(e) = crate::validation::check_count("", m.len(), MAX_ENTRIES_PER_VISIT) {
                rec.report(entries_path.clone(), ProblemKind::Invalid, e.reason());
            }
            Some(m)
        }
        Some(other) => {
            let (kind, reason) = wrong_type("peta", &other);
            rec.report(entries_path.clone(), kind, reason);
            None
        }
    };
    if !rec.ok {
        return None;
    }
    let mut list = Vec::new();
    for (key, value) in entries.into_iter().flatten() {
        let epath = format!("{entries_path}/{}", path_key(&key));
        let Ok(member_id) = Uuid::parse_str(&key) else {
            problems.push(invalid(epath, "kunci harus UUID"));
            continue;
        };
        if members.is_some_and(|all| !all.contains(&member_id)) {
            problems.push(invalid(epath, "anggota keluarga tidak ada"));
            continue;
        }
        let Json::Object(mut e) = value else {
            problems.push(invalid(epath, wrong_type("peta", &value).1));
            continue;
        };
        let mut rec = Rec::new(problems);
        check_entry(&mut rec, &mut e, &epath);
        if !rec.ok {
            continue;
        }
        e.insert("member_id".into(), Json::String(member_id.to_string()));
        if let Some(mut entry) = decode_checked::<VisitEntry>(e, &epath, problems) {
            // A capsule is a vitamin A dose, whatever `vitamin_a` says.
            entry.services.vitamin_a |= entry.services.vitamin_a_capsule.is_some();
            list.push(entry);
        }
    }
    list.sort_by_key(|e| e.member_id);
    v.insert("id".into(), Json::String(id.to_string()));
    v.insert(ENTRIES.into(), Json::Array(Vec::new()));
    let mut visit: Visit = decode_checked(v, path, problems)?;
    visit.entries = list;
    Some(visit)
}

fn check_entry(rec: &mut Rec, e: &mut Map<String, Json>, path: &str) {
    use crate::validation::*;
    let mp = format!("{path}/measurements");
    if let Some(m) = rec.map(e, path, "measurements", OPTIONAL) {
        let before = rec.ok;
        rec.ok = true;
        for (key, b) in [
            ("weight_kg", WEIGHT_KG),
            ("length_height_cm", LENGTH_HEIGHT_CM),
            ("head_circumference_cm", HEAD_CIRCUMFERENCE_CM),
            ("muac_cm", MUAC_CM),
            ("waist_cm", WAIST_CM),
            ("blood_glucose_mg_dl", BLOOD_GLUCOSE_MG_DL),
        ] {
            rec.field(m, &mp, key, OPTIONAL, Field::Num(b));
        }
        rec.field(m, &mp, "bp_systolic_mmhg", OPTIONAL, Field::Int(BP_SYSTOLIC_MMHG));
        rec.field(m, &mp, "bp_diastolic_mmhg", OPTIONAL, Field::Int(BP_DIASTOLIC_MMHG));
        rec.field(m, &mp, "measure", OPTIONAL, Field::Enum { known: known::<Measure>, open: false });
        rec.field(m, &mp, "oedema", OPTIONAL, Field::Bool);
        rec.field(m, &mp, "blood_glucose_kind", OPTIONAL, Field::Enum { known: known::<GlucoseKind>, open: true });
        let bp = |k: &str| m.get(k).and_then(Json::as_u64).and_then(|v| u16::try_from(v).ok());
        if rec.ok {
            if let (Some(s), Some(d)) = (bp("bp_systolic_mmhg"), bp("bp_diastolic_mmhg")) {
                if let Err(err) = check_blood_pressure(s, d) {
                    rec.report(format!("{mp}/bp_systolic_mmhg"), ProblemKind::Invalid, err.reason());
                }
            }
        }
        rec.ok &= before;
    }
    let sp = format!("{path}/services");
    if let Some(s) = rec.map(e, path, "services", OPTIONAL) {
        // Antigen codes are open: an unknown code is kept, not a problem.
        rec.text_list(s, &sp, "immunisations");
        for key in ["vitamin_a", "deworming", "supplementary_food"] {
            rec.field(s, &sp, key, OPTIONAL, Field::Bool);
        }
        rec.field(s, &sp, "iron_tablets", OPTIONAL, Field::Int(IRON_TABLETS));
        // Open: a newer version may record another capsule.
        rec.field(s, &sp, "vitamin_a_capsule", OPTIONAL, Field::Enum { known: known::<VitaminACapsule>, open: true });
    }
    let cp = format!("{path}/checklist");
    if let Some(c) = rec.map(e, path, "checklist", OPTIONAL) {
        if let Err(err) = check_count("", c.len(), MAX_CHECKLIST_ITEMS) {
            rec.report(cp, ProblemKind::Invalid, err.reason());
        } else {
            let keys: Vec<String> = c.keys().cloned().collect();
            for k in keys {
                if let Err(err) = check_text("", &k, MAX_NAME) {
                    rec.report(format!("{cp}/{}", path_key(&k)), ProblemKind::Invalid, err.reason());
                } else {
                    rec.field(c, &cp, &k, REQUIRED, Field::Bool);
                }
            }
        }
    }
    rec.text_list(e, path, "counselling");
    rec.field(e, path, "asi_eksklusif", OPTIONAL, Field::Bool);
    let rp = format!("{path}/referral");
    if let Some(r) = rec.map(e, path, "referral", OPTIONAL) {
        rec.field(r, &rp, "reason", REQUIRED, Field::Text(MAX_TEXT));
        rec.field(r, &rp, "to", OPTIONAL, Field::Text(MAX_NAME));
    }
    let np = format!("{path}/spm_needs");
    if let Some(needs) = rec.list(e, path, "spm_needs", MAX_LIST_ITEMS) {
        for (i, item) in needs.iter_mut().enumerate() {
            let ip = format!("{np}/{i}");
            match item {
                Json::Object(n) => {
                    rec.field(n, &ip, "area", REQUIRED, Field::Enum { known: known::<SpmArea>, open: true });
                    rec.field(n, &ip, "need", REQUIRED, Field::Text(MAX_TEXT));
                }
                other => {
                    let (kind, reason) = wrong_type("peta", other);
                    rec.report(ip, kind, reason);
                }
            }
        }
    }
}

/// The household's own fields, each read on its own: a bad one is left at its default.
fn read_household_fields(mut hh: Map<String, Json>, out: &mut Household, problems: &mut Vec<DocProblem>) {
    use crate::validation::{check_digits, check_rt_rw, GPS_LAT, GPS_LON};
    let path = HOUSEHOLD;

    let mut rec = Rec::new(problems);
    rec.field(&mut hh, path, "kk_number", OPTIONAL, Field::Str(crate::validation::check_kk));
    if rec.ok {
        out.kk_number = hh.get("kk_number").and_then(Json::as_str).map(str::to_owned);
    }

    let mut rec = Rec::new(problems);
    rec.field(&mut hh, path, "head_member_id", OPTIONAL, Field::Uuid);
    if rec.ok {
        out.head_member_id = hh.get("head_member_id").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok());
    }

    let ap = format!("{path}/address");
    let mut rec = Rec::new(problems);
    // Documents are created with an empty address map: empty reads as "not yet given".
    if let Some(a) = rec.map(&mut hh, path, "address", OPTIONAL).filter(|a| !a.is_empty()) {
        rec.field(a, &ap, "rt", REQUIRED, Field::Str(|s| check_rt_rw("RT", s)));
        rec.field(a, &ap, "rw", REQUIRED, Field::Str(|s| check_rt_rw("RW", s)));
        rec.field(a, &ap, "kode_wilayah", REQUIRED, Field::Str(|s| check_digits("Kode wilayah", s, 10)));
        rec.field(a, &ap, "dusun", OPTIONAL, Field::Text(MAX_NAME));
        rec.field(a, &ap, "street", OPTIONAL, Field::Text(MAX_TEXT));
        if rec.ok {
            let a = std::mem::take(a);
            if let Some(a) = decode_checked::<Address>(a, &ap, problems) {
                out.address = a;
            }
        }
    }

    let gp = format!("{path}/gps");
    let mut rec = Rec::new(problems);
    if let Some(g) = rec.map(&mut hh, path, "gps", OPTIONAL) {
        rec.field(g, &gp, "lat", REQUIRED, Field::Num(GPS_LAT));
        rec.field(g, &gp, "lon", REQUIRED, Field::Num(GPS_LON));
        if rec.ok {
            out.gps = decode_checked::<GeoPoint>(std::mem::take(g), &gp, problems);
        }
    }

    let sp = format!("{path}/spm");
    let mut rec = Rec::new(problems);
    if let Some(s) = rec.map(&mut hh, path, "spm", OPTIONAL) {
        for key in ["clean_water", "latrine", "rutilahu", "social_aid", "child_out_of_school"] {
            rec.field(s, &sp, key, OPTIONAL, Field::Bool);
        }
        rec.field(s, &sp, "public_order_note", OPTIONAL, Field::Text(MAX_TEXT));
        if rec.ok {
            if let Some(s) = decode_checked::<SpmAttributes>(std::mem::take(s), &sp, problems) {
                out.spm = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_kind_names() {
        for k in [ProblemKind::Invalid, ProblemKind::Newer] {
            assert_eq!(ProblemKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), Json::String(k.as_str().into()));
        }
        assert_eq!(ProblemKind::parse("other"), None);
        let p =
            DocProblem { path: "members".into(), reason: "harus peta, berisi teks".into(), kind: ProblemKind::Newer };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"path":"members","reason":"harus peta, berisi teks","kind":"newer"}"#);
        assert_eq!(serde_json::from_str::<DocProblem>(&json).unwrap(), p);
    }

    #[test]
    fn long_keys_are_shortened_in_paths() {
        assert_eq!(path_key("not-a-uuid"), "not-a-uuid");
        let long = "x".repeat(1000);
        assert_eq!(path_key(&long).chars().count(), MAX_KEY_IN_PATH + 1);
    }

    #[test]
    fn value_checks() {
        let check = |mut v: Json, f| check_value(&mut v, f);
        assert_eq!(check(Json::from("2024-02-29"), Field::Date), Ok(()));
        assert_eq!(check(Json::from("2023-02-29"), Field::Date).unwrap_err().1, "tanggal tidak valid");
        assert_eq!(check(Json::from(true), Field::Date).unwrap_err().1, "harus teks, berisi ya/tidak");
        assert_eq!(
            check(Json::from(NON_FINITE), Field::Num(crate::validation::WEIGHT_KG)).unwrap_err().1,
            "harus angka, berisi angka tak hingga"
        );
        assert_eq!(check(Json::from(BINARY), Field::Text(10)).unwrap_err().1, "harus teks, berisi data biner");
        assert_eq!(check(Json::from("  "), Field::Text(10)).unwrap_err().1, "wajib diisi");
        assert_eq!(
            check(Json::from("x".repeat(11)), Field::Text(10)).unwrap_err().1,
            "terlalu panjang (maksimal 10 karakter)"
        );
        let newer = check(Json::from("kelas_balita"), Field::Enum { known: known::<VisitKind>, open: true });
        assert_eq!(newer, Err((ProblemKind::Newer, NEWER_REASON.to_string())));
        let mut v = Json::from(3.0);
        assert_eq!(check_value(&mut v, Field::Int(crate::validation::GRAVIDA)), Ok(()));
        assert_eq!(v, Json::from(3), "whole floats become integers for serde");
    }
}
