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

use automerge::{
    transaction::{CommitOptions, Transactable},
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::*;

/// Document schema version written at the root; a device refuses documents from a
/// newer schema instead of misreading them.
pub const SCHEMA_VERSION: u64 = 1;

const MEMBERS: &str = "members";
const VISITS: &str = "visits";
const PREGNANCIES: &str = "pregnancies";
const HOUSEHOLD: &str = "household";
const KK_HISTORY: &str = "kk_history";
const ENTRIES: &str = "entries";

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
        for key in [HOUSEHOLD, KK_HISTORY, MEMBERS, VISITS, PREGNANCIES] {
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
        match self.doc.get(ROOT, key).ok()?? {
            (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        }
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
            deleted: false,
        };
        self.put_record(MEMBERS, id, &member)
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
        let mut fields = to_object(entry)?;
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
    pub fn read(&self) -> Result<Household> {
        let id = self.id().ok_or_else(|| Error::Document("dokumen tanpa id".into()))?;
        let root = read_value(&self.doc, &ROOT);
        let obj = |k: &str| root.get(k).cloned().unwrap_or(Json::Object(Map::new()));
        let hh = obj(HOUSEHOLD);
        let mut kk_history: Vec<KkChange> = obj(KK_HISTORY)
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(kk, since)| Some(KkChange { kk_number: kk.clone(), since: parse_date(since.as_str()?)? }))
            .collect();
        kk_history.sort_by(|a, b| (a.since, &a.kk_number).cmp(&(b.since, &b.kk_number)));
        let records = |coll: &str| -> Vec<(String, Json)> {
            obj(coll).as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default()
        };
        let with_id = |id: String, mut v: Json| {
            if let Json::Object(m) = &mut v {
                m.insert("id".into(), Json::String(id));
            }
            v
        };
        let mut members: Vec<Member> = Vec::new();
        for (mid, v) in records(MEMBERS) {
            members.push(decode(with_id(mid, v), "anggota")?);
        }
        members.sort_by(|a, b| (a.birth_date, a.id).cmp(&(b.birth_date, b.id)));
        let mut visits: Vec<Visit> = Vec::new();
        for (vid, v) in records(VISITS) {
            visits.push(visit_from_doc(with_id(vid, v))?);
        }
        visits.sort_by(|a, b| (a.date, a.id).cmp(&(b.date, b.id)));
        let mut pregnancies: Vec<Pregnancy> = Vec::new();
        for (pid, v) in records(PREGNANCIES) {
            pregnancies.push(decode(with_id(pid, v), "kehamilan")?);
        }
        pregnancies.sort_by(|a, b| (a.lmp, a.id).cmp(&(b.lmp, b.id)));
        let field = |k: &str| hh.get(k).filter(|v| !v.is_null()).cloned();
        Ok(Household {
            id,
            posyandu_id: self.posyandu_id().unwrap_or_default(),
            kk_number: field("kk_number").and_then(|v| v.as_str().map(str::to_owned)),
            kk_history,
            head_member_id: field("head_member_id").and_then(|v| serde_json::from_value(v).ok()),
            address: field("address").map(|v| decode(v, "alamat")).transpose()?.unwrap_or_default(),
            gps: field("gps").and_then(|v| serde_json::from_value(v).ok()),
            spm: field("spm").map(|v| decode(v, "SPM")).transpose()?.unwrap_or_default(),
            members,
            visits,
            pregnancies,
        })
    }

    /// Every field that holds more than one concurrent value, with who wrote each
    /// value and when.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let household_id = self.id().unwrap_or_default();
        let mut out = Vec::new();
        let mut path = Vec::new();
        self.walk_conflicts(&ROOT, &mut path, &mut |path, values| {
            out.push(Conflict { household_id, path: path.join("/"), values })
        });
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    fn walk_conflicts(
        &self,
        obj: &ObjId,
        path: &mut Vec<String>,
        found: &mut dyn FnMut(&[String], Vec<ConflictValue>),
    ) {
        // `map_range` flags conflicted keys, so only those pay for `get_all`.
        let items: Vec<(String, bool, Value<'static>, ObjId)> = self
            .doc
            .map_range(obj, ..)
            .map(|i| (i.key.to_string(), i.conflict, Value::from(i.value.clone()), i.id()))
            .collect();
        for (key, conflict, value, id) in items {
            path.push(key.clone());
            if conflict {
                let all = self.doc.get_all(obj, key.as_str()).unwrap_or_default();
                let values = all
                    .iter()
                    .map(|(v, id)| {
                        let json = match v {
                            Value::Object(_) => read_value(&self.doc, id),
                            Value::Scalar(s) => scalar_to_json(s),
                        };
                        let meta = self.doc.hash_for_opid(id).and_then(|h| {
                            let c = self.doc.get_change_by_hash(&h)?;
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
                self.walk_conflicts(&id, path, found);
            }
            path.pop();
        }
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

// ---- TEMPORARY shim: replaced by the tolerant reader (branch doc-schema) ----------

/// A part of a household document this build cannot read as its schema says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocProblem {
    pub path: String,
    pub reason: String,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Invalid,
    Newer,
}

pub struct HouseholdRead {
    pub household: Household,
    pub problems: Vec<DocProblem>,
}

impl HouseholdDoc {
    pub fn read_checked(&self) -> Result<HouseholdRead> {
        Ok(HouseholdRead { household: self.read()?, problems: Vec::new() })
    }
}

pub fn read_household(doc: &automerge::Automerge) -> Result<HouseholdRead> {
    let bytes = doc.save();
    let d = HouseholdDoc::load_readonly(&bytes)?;
    match d.read() {
        Ok(household) => Ok(HouseholdRead { household, problems: Vec::new() }),
        Err(e) => Err(e),
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

fn decode<T: serde::de::DeserializeOwned>(v: Json, what: &str) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Document(format!("{what}: {e}")))
}

/// Visits hold their entries as a map keyed by member id.
fn visit_to_doc(v: &Visit) -> Result<Json> {
    let mut obj = to_object(v)?;
    let mut entries = Map::new();
    for e in &v.entries {
        let mut fields = to_object(e)?;
        fields.remove("member_id");
        entries.insert(e.member_id.to_string(), Json::Object(fields));
    }
    obj.insert(ENTRIES.into(), Json::Object(entries));
    Ok(Json::Object(obj))
}

fn visit_from_doc(mut v: Json) -> Result<Visit> {
    if let Some(Json::Object(entries)) = v.get_mut(ENTRIES).map(Json::take) {
        let list: Vec<Json> = entries
            .into_iter()
            .map(|(member_id, mut e)| {
                if let Json::Object(m) = &mut e {
                    m.insert("member_id".into(), Json::String(member_id));
                }
                e
            })
            .collect();
        v[ENTRIES] = Json::Array(list);
    }
    let mut visit: Visit = decode(v, "kunjungan")?;
    visit.entries.sort_by_key(|e| e.member_id);
    Ok(visit)
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
            if let Some((Value::Object(ObjType::List), id)) = &existing {
                if read_value(doc, id) == *v {
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

/// The merged value of an object as JSON.
fn read_value(doc: &AutoCommit, obj: &ObjId) -> Json {
    let convert = |value: Value<'_>, id: ObjId| match value {
        Value::Object(_) => read_value(doc, &id),
        Value::Scalar(s) => scalar_to_json(&s),
    };
    match doc.object_type(obj) {
        Ok(ObjType::List) | Ok(ObjType::Text) => {
            Json::Array(doc.list_range(obj, ..).map(|i| convert(Value::from(i.value.clone()), i.id())).collect())
        }
        _ => Json::Object(
            doc.map_range(obj, ..)
                .map(|i| (i.key.to_string(), convert(Value::from(i.value.clone()), i.id())))
                .collect(),
        ),
    }
}
