//! The Posyandu document (issue 12): one automerge document per Posyandu, synced like a
//! household to every device of that Posyandu. Layout (`docs/schema.md`, "The Posyandu
//! document"):
//!
//! ```text
//! {
//!   schema: 1, kind: "posyandu", id: "<uuid>", posyandu_id: "<id>",
//!   schedule: { rule:  { week: "second", weekday: "tuesday" },
//!               dates: { "YYYY-MM-DD": { place, note, cancelled } } },
//!   roster:   { "<kader id>": { name, role, active } },
//!   area:     { "<kode_wilayah>/<rw>/<rt>": { kode_wilayah, rw, rt, dusun } },
//!   sasaran:  { "<year>": { ibu_hamil, ibu_bersalin, bayi, balita, lansia, source } }
//! }
//! ```
//!
//! **Deterministic id and genesis.** Any device may create the document offline, so its
//! id is derived from the Posyandu id ([`posyandu_doc_id`]: the first 16 bytes of
//! SHA-256 of a fixed tag and the id, as a version-8 UUID) and its first change is a
//! fixed *genesis* change ([`genesis_change`]): written under an actor derived from the
//! Posyandu id, at time 0, without author, creating the root keys and every map above.
//! Every device therefore makes the same genesis change (same hash), and later edits of
//! different devices merge as edits of one document instead of competing root objects.
//!
//! The document is kept in a [`HouseholdDoc`] (the automerge wrapper every document of
//! the phone's store and the relay's writer uses); which kind a stored document is
//! follows from its id: the Posyandu document of Posyandu `p` is the one whose id is
//! `posyandu_doc_id(p)`.

use automerge::{
    transaction::{CommitOptions, Transactable},
    ActorId, AutoCommit, Change, ChangeHash, ObjType, ReadDoc, ROOT,
};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    check_value, invalid, known, path_key, root_map, root_text, to_object, write_map, DocProblem, Field, HouseholdDoc,
    Rec, OPTIONAL, REQUIRED, SCHEMA_VERSION,
};
use crate::error::{Error, Result};
use crate::model::format_date;
use crate::posyandu::*;
use crate::validation::{MAX_NAME, MAX_TEXT};

/// Root `kind` of the Posyandu document (households have no `kind`).
pub const POSYANDU_KIND: &str = "posyandu";
const SCHEDULE: &str = "schedule";
const RULE: &str = "rule";
const DATES: &str = "dates";
const ROSTER: &str = "roster";
const AREA: &str = "area";
const SASARAN: &str = "sasaran";

const DOC_ID_TAG: &[u8] = b"posyandu-sync/posyandu-doc/v1:";
const GENESIS_ACTOR_TAG: &[u8] = b"posyandu-sync/posyandu-genesis/v1:";

fn digest16(tag: &[u8], posyandu_id: &str) -> [u8; 16] {
    let h = Sha256::new().chain_update(tag).chain_update(posyandu_id.as_bytes()).finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b
}

/// The id of Posyandu `posyandu_id`'s document: SHA-256 of a fixed tag and the id, the
/// first 16 bytes as a version-8 (custom) UUID. Households get random (version-4) ids.
pub fn posyandu_doc_id(posyandu_id: &str) -> Uuid {
    let mut b = digest16(DOC_ID_TAG, posyandu_id);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// Whether `id` has the form of a Posyandu document id (a version-8 UUID): a phone never
/// creates a household with such an id, so the relay refuses a new one that is not the
/// device's own Posyandu document (nobody can take another Posyandu's id first).
pub fn is_posyandu_doc_id_form(id: Uuid) -> bool {
    id.get_version_num() == 8
}

/// The actor of the genesis change (derived from the Posyandu id).
pub fn genesis_actor(posyandu_id: &str) -> ActorId {
    ActorId::from(digest16(GENESIS_ACTOR_TAG, posyandu_id).to_vec())
}

fn genesis_doc(posyandu_id: &str) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new().with_actor(genesis_actor(posyandu_id));
    doc.put(ROOT, "schema", SCHEMA_VERSION)?;
    doc.put(ROOT, "kind", POSYANDU_KIND)?;
    doc.put(ROOT, "id", posyandu_doc_id(posyandu_id).to_string())?;
    doc.put(ROOT, "posyandu_id", posyandu_id)?;
    let schedule = doc.put_object(ROOT, SCHEDULE, ObjType::Map)?;
    doc.put_object(&schedule, RULE, ObjType::Map)?;
    doc.put_object(&schedule, DATES, ObjType::Map)?;
    for key in [ROSTER, AREA, SASARAN] {
        doc.put_object(ROOT, key, ObjType::Map)?;
    }
    doc.commit_with(CommitOptions::default().with_time(0))
        .ok_or_else(|| Error::Document("genesis dokumen Posyandu kosong".into()))?;
    Ok(doc)
}

/// The genesis change of Posyandu `posyandu_id`'s document: the same bytes on every
/// device and the relay.
pub fn genesis_change(posyandu_id: &str) -> Result<Change> {
    let mut doc = genesis_doc(posyandu_id)?;
    doc.get_changes(&[]).first().map(|c| (*c).clone()).ok_or_else(|| Error::Document("genesis tanpa perubahan".into()))
}

/// The hash of [`genesis_change`].
pub fn genesis_hash(posyandu_id: &str) -> Result<ChangeHash> {
    Ok(genesis_change(posyandu_id)?.hash())
}

/// A Posyandu document as read, and what the reader left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PosyanduRead {
    pub posyandu: Posyandu,
    pub problems: Vec<DocProblem>,
}

impl HouseholdDoc {
    /// A new Posyandu document: the genesis change (committed), then edits by `actor`.
    pub fn posyandu_genesis(posyandu_id: &str, actor: &ActorId) -> Result<HouseholdDoc> {
        Ok(HouseholdDoc { doc: genesis_doc(posyandu_id)?.with_actor(actor.clone()) })
    }

    /// Sets (or, with `None`, clears) the schedule rule, field by field.
    pub fn set_schedule_rule(&mut self, rule: Option<&ScheduleRule>) -> Result<()> {
        let obj = self.map_at(&[SCHEDULE, RULE])?;
        let fields = match rule {
            Some(r) => to_object(r)?,
            None => [("week".to_string(), Json::Null), ("weekday".to_string(), Json::Null)].into_iter().collect(),
        };
        write_map(&mut self.doc, &obj, &fields)
    }

    /// Sets an explicit service date (`Some`) or removes it (`None`).
    pub fn set_service_date(&mut self, date: time::Date, d: Option<&ServiceDate>) -> Result<()> {
        let dates = self.map_at(&[SCHEDULE, DATES])?;
        let key = format_date(date);
        let Some(d) = d else {
            if self.doc.get(&dates, key.as_str())?.is_some() {
                self.doc.delete(&dates, key.as_str())?;
            }
            return Ok(());
        };
        let mut fields = Map::new();
        fields.insert("place".into(), d.place.clone().map_or(Json::Null, Json::String));
        fields.insert("note".into(), d.note.clone().map_or(Json::Null, Json::String));
        fields.insert("cancelled".into(), Json::Bool(d.cancelled));
        let mut wrapper = Map::new();
        wrapper.insert(key, Json::Object(fields));
        write_map(&mut self.doc, &dates, &wrapper)
    }

    /// Adds or edits a kader of the roster (a kader leaving is `active: false`).
    pub fn set_roster_entry(&mut self, kader_id: &str, e: &RosterEntry) -> Result<()> {
        let roster = self.map_at(&[ROSTER])?;
        let mut wrapper = Map::new();
        wrapper.insert(kader_id.to_string(), Json::Object(to_object(e)?));
        write_map(&mut self.doc, &roster, &wrapper)
    }

    /// Adds (`covered`) or removes an area.
    pub fn set_area_entry(&mut self, a: &AreaEntry, covered: bool) -> Result<()> {
        let area = self.map_at(&[AREA])?;
        let key = a.key();
        if !covered {
            if self.doc.get(&area, key.as_str())?.is_some() {
                self.doc.delete(&area, key.as_str())?;
            }
            return Ok(());
        }
        let mut fields = to_object(a)?;
        fields.entry("dusun").or_insert(Json::Null);
        let mut wrapper = Map::new();
        wrapper.insert(key, Json::Object(fields));
        write_map(&mut self.doc, &area, &wrapper)
    }

    /// Sets the sasaran of `year` (counts not given are removed).
    pub fn set_sasaran(&mut self, year: i32, s: &Sasaran) -> Result<()> {
        let sasaran = self.map_at(&[SASARAN])?;
        let mut fields = to_object(s)?;
        for k in ["ibu_hamil", "ibu_bersalin", "bayi", "balita", "lansia"] {
            fields.entry(k).or_insert(Json::Null);
        }
        let mut wrapper = Map::new();
        wrapper.insert(year.to_string(), Json::Object(fields));
        write_map(&mut self.doc, &sasaran, &wrapper)
    }

    /// Reads the document as a Posyandu document.
    pub fn read_posyandu(&self) -> Result<PosyanduRead> {
        read_posyandu(&self.doc)
    }
}

/// Reads a Posyandu document from any automerge document, trusting nothing: every
/// rule, date, roster entry, area and year of sasaran is checked on its own and left
/// out (listed as a problem) when it fails. Fails only without a readable root `id`.
pub fn read_posyandu<D: ReadDoc>(doc: &D) -> Result<PosyanduRead> {
    let id = root_text(doc, "id")
        .and_then(|s| Uuid::parse_str(&s).ok())
        .ok_or_else(|| Error::Document("dokumen tanpa id".into()))?;
    let posyandu_id = root_text(doc, "posyandu_id").unwrap_or_default();
    let mut problems = Vec::new();
    if root_text(doc, "kind").as_deref() != Some(POSYANDU_KIND) {
        problems.push(invalid("kind".into(), "harus \"posyandu\""));
    }
    let mut out = Posyandu {
        id,
        posyandu_id,
        schedule: Schedule::default(),
        roster: Default::default(),
        area: Vec::new(),
        sasaran: Default::default(),
    };

    let mut schedule = root_map(doc, SCHEDULE, &mut problems);
    let mut rec = Rec::new(&mut problems);
    let rule_path = format!("{SCHEDULE}/{RULE}");
    if let Some(r) = rec.map(&mut schedule, SCHEDULE, RULE, OPTIONAL).filter(|r| !r.is_empty()) {
        rec.field(r, &rule_path, "week", REQUIRED, Field::Enum { known: known::<Week>, open: true });
        rec.field(r, &rule_path, "weekday", REQUIRED, Field::Enum { known: known::<DayOfWeek>, open: false });
        if rec.ok {
            out.schedule.rule = serde_json::from_value(Json::Object(std::mem::take(r))).ok();
        }
    }
    let dates_path = format!("{SCHEDULE}/{DATES}");
    let mut rec = Rec::new(&mut problems);
    let dates = rec.map(&mut schedule, SCHEDULE, DATES, OPTIONAL).map(std::mem::take).unwrap_or_default();
    if dates.len() > MAX_DATES {
        problems.push(invalid(dates_path.clone(), format!("terlalu banyak (maksimal {MAX_DATES})")));
    } else {
        for (key, value) in dates {
            let path = format!("{dates_path}/{}", path_key(&key));
            if let Err((kind, reason)) = check_value(&mut Json::String(key.clone()), Field::Date) {
                problems.push(DocProblem { path, reason, kind });
                continue;
            }
            let Json::Object(mut m) = value else {
                problems.push(invalid(path, super::wrong_type("peta", &value).1));
                continue;
            };
            let mut rec = Rec::new(&mut problems);
            rec.field(&mut m, &path, "place", OPTIONAL, Field::Text(MAX_NAME));
            rec.field(&mut m, &path, "note", OPTIONAL, Field::Text(MAX_TEXT));
            rec.field(&mut m, &path, "cancelled", OPTIONAL, Field::Bool);
            if rec.ok {
                if let Some(d) = super::decode_checked::<ServiceDate>(m, &path, &mut problems) {
                    out.schedule.dates.insert(key, d);
                }
            }
        }
    }

    let roster = root_map(doc, ROSTER, &mut problems);
    if roster.len() > MAX_ROSTER {
        problems.push(invalid(ROSTER.into(), format!("terlalu banyak (maksimal {MAX_ROSTER})")));
    } else {
        for (key, value) in roster {
            let path = format!("{ROSTER}/{}", path_key(&key));
            if let Err(e) = crate::validation::check_text("", &key, MAX_NAME) {
                problems.push(invalid(path, e.reason()));
                continue;
            }
            let Json::Object(mut m) = value else {
                problems.push(invalid(path, super::wrong_type("peta", &value).1));
                continue;
            };
            let mut rec = Rec::new(&mut problems);
            rec.field(&mut m, &path, "name", REQUIRED, Field::Text(MAX_NAME));
            rec.field(&mut m, &path, "role", REQUIRED, Field::Enum { known: known::<RosterRole>, open: true });
            rec.field(&mut m, &path, "active", REQUIRED, Field::Bool);
            if rec.ok {
                if let Some(e) = super::decode_checked::<RosterEntry>(m, &path, &mut problems) {
                    out.roster.insert(key, e);
                }
            }
        }
    }

    let area = root_map(doc, AREA, &mut problems);
    if area.len() > MAX_AREA {
        problems.push(invalid(AREA.into(), format!("terlalu banyak (maksimal {MAX_AREA})")));
    } else {
        use crate::validation::{check_digits, check_rt_rw};
        for (key, value) in area {
            let path = format!("{AREA}/{}", path_key(&key));
            let Json::Object(mut m) = value else {
                problems.push(invalid(path, super::wrong_type("peta", &value).1));
                continue;
            };
            let mut rec = Rec::new(&mut problems);
            rec.field(&mut m, &path, "kode_wilayah", REQUIRED, Field::Str(|s| check_digits("Kode wilayah", s, 10)));
            rec.field(&mut m, &path, "rw", REQUIRED, Field::Str(|s| check_rt_rw("RW", s)));
            rec.field(&mut m, &path, "rt", REQUIRED, Field::Str(|s| check_rt_rw("RT", s)));
            rec.field(&mut m, &path, "dusun", OPTIONAL, Field::Text(MAX_NAME));
            if !rec.ok {
                continue;
            }
            if let Some(a) = super::decode_checked::<AreaEntry>(m, &path, &mut problems) {
                if a.key() != key {
                    problems.push(invalid(path, "kunci tidak sesuai wilayah"));
                    continue;
                }
                out.area.push(a);
            }
        }
        out.area.sort();
    }

    let sasaran = root_map(doc, SASARAN, &mut problems);
    if sasaran.len() > MAX_SASARAN_YEARS {
        problems.push(invalid(SASARAN.into(), format!("terlalu banyak (maksimal {MAX_SASARAN_YEARS})")));
    } else {
        for (key, value) in sasaran {
            let path = format!("{SASARAN}/{}", path_key(&key));
            let year_ok = key.len() == 4 && key.parse::<i32>().is_ok_and(|y| SASARAN_YEAR.check(y as f64).is_ok());
            if !year_ok {
                problems.push(invalid(path, "kunci harus tahun (2000–2100)"));
                continue;
            }
            let Json::Object(mut m) = value else {
                problems.push(invalid(path, super::wrong_type("peta", &value).1));
                continue;
            };
            let mut rec = Rec::new(&mut problems);
            for k in ["ibu_hamil", "ibu_bersalin", "bayi", "balita", "lansia"] {
                rec.field(&mut m, &path, k, OPTIONAL, Field::Int(SASARAN_COUNT));
            }
            rec.field(&mut m, &path, "source", REQUIRED, Field::Enum { known: known::<SasaranSource>, open: true });
            if rec.ok {
                if let Some(s) = super::decode_checked::<Sasaran>(m, &path, &mut problems) {
                    out.sasaran.insert(key, s);
                }
            }
        }
    }
    Ok(PosyanduRead { posyandu: out, problems })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::ProblemKind;

    #[test]
    fn id_and_genesis_are_deterministic() {
        assert_eq!(posyandu_doc_id("P-1"), posyandu_doc_id("P-1"));
        assert_ne!(posyandu_doc_id("P-1"), posyandu_doc_id("P-2"));
        assert!(is_posyandu_doc_id_form(posyandu_doc_id("P-1")));
        assert!(!is_posyandu_doc_id_form(Uuid::new_v4()));
        let a = genesis_change("P-1").unwrap();
        let b = genesis_change("P-1").unwrap();
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.raw_bytes(), b.raw_bytes());
        assert_ne!(a.hash(), genesis_hash("P-2").unwrap());
        assert_eq!(a.timestamp(), 0);
        assert_eq!(a.message(), None);
        // Two devices' documents start with the same change.
        let mut d1 = HouseholdDoc::posyandu_genesis("P-1", &ActorId::random()).unwrap();
        let mut d2 = HouseholdDoc::posyandu_genesis("P-1", &ActorId::random()).unwrap();
        assert_eq!(d1.heads(), d2.heads());
        assert_eq!(d1.heads(), vec![a.hash()]);
        let read = d1.read_posyandu().unwrap();
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert_eq!(read.posyandu, Posyandu::empty("P-1"));
    }

    #[test]
    fn offline_creations_merge_their_edits() {
        let mut a = HouseholdDoc::posyandu_genesis("P-1", &ActorId::random()).unwrap();
        let mut b = HouseholdDoc::posyandu_genesis("P-1", &ActorId::random()).unwrap();
        let rule = ScheduleRule { week: Week::Second, weekday: DayOfWeek::Tuesday };
        a.set_schedule_rule(Some(&rule)).unwrap();
        let ca = a.commit("K-A", 1_700_000_000).unwrap();
        b.set_roster_entry("K-B", &RosterEntry { name: "Bu Ani".into(), role: RosterRole::Ketua, active: true })
            .unwrap();
        let d = time::macros::date!(2026 - 03 - 12);
        b.set_service_date(d, Some(&ServiceDate { place: Some("Balai RW 02".into()), ..Default::default() })).unwrap();
        let cb = b.commit("K-B", 1_700_000_100).unwrap();
        a.apply(vec![cb]).unwrap();
        b.apply(vec![ca]).unwrap();
        for doc in [&a, &b] {
            let p = doc.read_posyandu().unwrap();
            assert!(p.problems.is_empty(), "{:?}", p.problems);
            assert_eq!(p.posyandu.schedule.rule, Some(rule));
            assert_eq!(p.posyandu.roster["K-B"].name, "Bu Ani");
            assert_eq!(p.posyandu.schedule.dates["2026-03-12"].place.as_deref(), Some("Balai RW 02"));
            assert!(doc.conflicts().is_empty());
        }
        // Edits and removals.
        a.set_schedule_rule(None).unwrap();
        a.set_service_date(d, None).unwrap();
        let area = AreaEntry { kode_wilayah: "3275011001".into(), rw: "002".into(), rt: "001".into(), dusun: None };
        a.set_area_entry(&area, true).unwrap();
        let s = Sasaran {
            ibu_hamil: Some(12),
            ibu_bersalin: Some(11),
            bayi: Some(10),
            balita: Some(55),
            lansia: Some(40),
            source: SasaranSource::Puskesmas,
        };
        a.set_sasaran(2026, &s).unwrap();
        a.set_sasaran(2026, &Sasaran { lansia: None, ..s.clone() }).unwrap();
        let p = a.read_posyandu().unwrap().posyandu;
        assert_eq!(p.schedule.rule, None);
        assert!(p.schedule.dates.is_empty());
        assert_eq!(p.area, vec![area.clone()]);
        assert_eq!(p.sasaran_of(2026), Some(&Sasaran { lansia: None, ..s }));
        a.set_area_entry(&area, false).unwrap();
        assert!(a.read_posyandu().unwrap().posyandu.area.is_empty());
    }

    #[test]
    fn reader_leaves_out_bad_values() {
        let mut d = HouseholdDoc::posyandu_genesis("P-1", &ActorId::random()).unwrap();
        let am = d.automerge();
        let (_, schedule) = am.get(ROOT, SCHEDULE).unwrap().unwrap();
        let (_, dates) = am.get(&schedule, DATES).unwrap().unwrap();
        am.put_object(&dates, "2026-02-30", ObjType::Map).unwrap();
        let (_, rule) = am.get(&schedule, RULE).unwrap().unwrap();
        am.put(&rule, "week", "second").unwrap();
        am.put(&rule, "weekday", "someday").unwrap();
        let (_, sasaran) = am.get(ROOT, SASARAN).unwrap().unwrap();
        let y = am.put_object(&sasaran, "2026", ObjType::Map).unwrap();
        am.put(&y, "balita", -3).unwrap();
        am.put(&y, "source", "dinkes").unwrap();
        let (_, roster) = am.get(ROOT, ROSTER).unwrap().unwrap();
        let k = am.put_object(&roster, "K-1", ObjType::Map).unwrap();
        am.put(&k, "name", "Ani").unwrap();
        am.put(&k, "role", "bendahara").unwrap();
        am.put(&k, "active", true).unwrap();
        let read = d.read_posyandu().unwrap();
        let paths: Vec<(&str, ProblemKind)> = read.problems.iter().map(|p| (p.path.as_str(), p.kind)).collect();
        assert!(paths.contains(&("schedule/dates/2026-02-30", ProblemKind::Invalid)), "{paths:?}");
        assert!(paths.contains(&("schedule/rule/weekday", ProblemKind::Invalid)), "{paths:?}");
        assert!(paths.contains(&("sasaran/2026/balita", ProblemKind::Invalid)), "{paths:?}");
        assert!(paths.contains(&("sasaran/2026/source", ProblemKind::Newer)), "{paths:?}");
        assert!(paths.contains(&("roster/K-1/role", ProblemKind::Newer)), "{paths:?}");
        assert_eq!(read.posyandu.schedule.rule, None);
        assert!(read.posyandu.sasaran.is_empty() && read.posyandu.roster.is_empty());
    }
}
