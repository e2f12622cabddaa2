//! The durable local store: one SQLite file in WAL mode with one writer.
//!
//! Every write is one SQLite transaction that appends the new automerge change to the
//! household's document, queues it in the outbox and rebuilds the household's rows in
//! the query tables; it returns only after the commit (with `synchronous=FULL`, so a
//! write that returned OK survives a process kill or a power cut). Reads for screens
//! use a second connection and never wait for the writer.
//!
//! The file is encrypted with SQLCipher under a key the app supplies through a
//! [`Keyring`] (see [`keyring`] and [`cipher`]); the keyring also keeps the relay
//! token, which is never stored in the database.

#[doc(hidden)]
pub mod cipher;
pub mod due;
mod ilp;
pub mod keyring;
pub mod posyandu;
pub mod query;
pub mod referral;
pub mod schema;
pub mod spm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::{ActorId, Change};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::doc::{DocProblem, HouseholdDoc, ProblemKind, RecordKind};
use crate::error::{Error, Result};
use crate::model::*;
use crate::validation;

pub use due::{DueItem, DueReason};
pub use keyring::{DatabaseKey, FileKeyring, Keyring, KeyringError, MemoryKeyring};
pub use query::{HouseholdSummary, MemberSummary};
pub use referral::{NewReferral, ProposedReason, ReferralSummary};

/// Who writes through this store: the device, the kader using it and the Posyandu
/// whose households it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub kader_id: String,
    pub posyandu_id: String,
}

/// After this many incremental changes a document is folded into a new snapshot.
const COMPACT_AFTER: i64 = 64;
/// Documents kept decoded in memory.
const DOC_CACHE: usize = 64;
/// Western Indonesia Time (WIB), the default for "today".
const DEFAULT_UTC_OFFSET_HOURS: i8 = 7;

type Clock = Box<dyn Fn() -> OffsetDateTime + Send + Sync>;

pub struct Store {
    path: PathBuf,
    identity: DeviceIdentity,
    // Dropped in this order: the (read-only) reader closes first, so the writer is the
    // last connection and checkpoints the WAL into the file on a clean close.
    reader: Mutex<Connection>,
    writer: Mutex<Writer>,
    clock: Clock,
    offset: UtcOffset,
    keyring: Arc<dyn Keyring>,
}

pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) docs: DocCache,
}

/// Decoded documents kept in memory, least recently used dropped first.
pub(crate) struct DocCache {
    pub(crate) actor: ActorId,
    cache: HashMap<Uuid, (u64, HouseholdDoc)>,
    tick: u64,
}

fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store at `path`, encrypted with the keyring's
    /// key, and migrates it to the current schema. A plain store of an older app
    /// version is encrypted first (see [`cipher`]). Nothing is loaded eagerly, so
    /// opening is fast whatever the store's size.
    pub fn open(path: impl AsRef<Path>, identity: DeviceIdentity, keyring: Arc<dyn Keyring>) -> Result<Store> {
        for (field, v) in [
            ("ID perangkat", &identity.device_id),
            ("ID kader", &identity.kader_id),
            ("ID posyandu", &identity.posyandu_id),
        ] {
            validation::check_text(field, v, validation::MAX_NAME)?;
        }
        let path = path.as_ref().to_path_buf();
        let key = keyring.database_key()?;
        cipher::prepare(&path, &key, &*keyring)?;
        Store::open_keyed(path, identity, &key, keyring)
    }

    fn open_keyed(
        path: PathBuf,
        identity: DeviceIdentity,
        key: &DatabaseKey,
        keyring: Arc<dyn Keyring>,
    ) -> Result<Store> {
        let mut conn = cipher::open_keyed(
            &path,
            key,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        let actor = {
            let tx = conn.transaction()?;
            let actor = match meta_get(&tx, "actor_id")? {
                Some(hex) => ActorId::try_from(hex.as_str()).map_err(|e| Error::Document(format!("actor id: {e}")))?,
                None => {
                    let a = ActorId::from(Uuid::new_v4().into_bytes());
                    meta_set(&tx, "actor_id", &a.to_hex_string())?;
                    a
                }
            };
            // A phone moved to another Posyandu starts its sync state afresh.
            if meta_get(&tx, "posyandu_id")?.is_some_and(|p| p != identity.posyandu_id) {
                tx.execute("DELETE FROM meta WHERE key LIKE 'sync_%'", [])?;
            }
            meta_set(&tx, "device_id", &identity.device_id)?;
            meta_set(&tx, "kader_id", &identity.kader_id)?;
            meta_set(&tx, "posyandu_id", &identity.posyandu_id)?;
            tx.commit()?;
            actor
        };
        let reader = cipher::open_keyed(
            &path,
            key,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Store {
            path,
            identity,
            writer: Mutex::new(Writer { conn, docs: DocCache { actor, cache: HashMap::new(), tick: 0 } }),
            reader: Mutex::new(reader),
            clock: Box::new(OffsetDateTime::now_utc),
            offset: UtcOffset::from_hms(DEFAULT_UTC_OFFSET_HOURS, 0, 0).expect("valid offset"),
            keyring,
        })
    }

    /// Opens a store created before with [`Store::open`], with the identity it holds.
    pub fn open_existing(path: impl AsRef<Path>, keyring: Arc<dyn Keyring>) -> Result<Store> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::NotFound { kind: "Basis data", id: path.display().to_string() });
        }
        let key = keyring.database_key()?;
        cipher::prepare(path, &key, &*keyring)?;
        let identity = {
            let conn =
                cipher::open_keyed(path, &key, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            // A damaged file says so (Error::Corrupt), it is not "not found": that would
            // invite the kader to set the phone up again and lose unsent visits.
            let get = |k: &str| -> Result<String> {
                meta_get(&conn, k)?.ok_or_else(|| Error::NotFound { kind: "Identitas perangkat", id: k.to_string() })
            };
            DeviceIdentity {
                device_id: get("device_id")?,
                kader_id: get("kader_id")?,
                posyandu_id: get("posyandu_id")?,
            }
        };
        Store::open_keyed(path.to_path_buf(), identity, &key, keyring)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// The keyring the store was opened with (its secrets: the relay token).
    pub(crate) fn keyring(&self) -> &dyn Keyring {
        &*self.keyring
    }

    /// Replaces the clock (tests, and devices whose time zone is WITA/WIT).
    pub fn set_clock(&mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static, offset: UtcOffset) {
        self.clock = Box::new(clock);
        self.offset = offset;
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// Today's date on the device's local time.
    pub fn today(&self) -> Date {
        self.now().to_offset(self.offset).date()
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- writes -------------------------------------------------------------------

    pub fn create_household(&self, h: NewHousehold) -> Result<Uuid> {
        validation::check_new_household(&h)?;
        let id = Uuid::new_v4();
        let today = self.today();
        let mut w = self.writer();
        let mut doc = HouseholdDoc::create(id, &self.identity.posyandu_id, &w.docs.actor)?;
        let patch = HouseholdPatch {
            kk_number: h.kk_number,
            head_member_id: None,
            address: Some(h.address),
            gps: h.gps,
            spm: Some(h.spm),
        };
        doc.patch_household(&patch, today)?;
        self.commit_doc(&mut w, id, doc, true)?;
        Ok(id)
    }

    pub fn update_household(&self, id: Uuid, patch: HouseholdPatch) -> Result<()> {
        validation::check_household_patch(&patch)?;
        let today = self.today();
        self.edit(id, |doc, hh| {
            if let Some(head) = patch.head_member_id {
                hh.member(head)
                    .filter(|m| !m.deleted)
                    .ok_or_else(|| validation::ValidationError::UnknownMember(head.to_string()))?;
            }
            Ok(doc.patch_household(&patch, today)?)
        })
    }

    pub fn add_member(&self, household_id: Uuid, m: NewMember) -> Result<Uuid> {
        validation::check_new_member(&m, self.today())?;
        let id = Uuid::new_v4();
        self.edit(household_id, |doc, hh| {
            doc.add_member(id, &m)?;
            if m.relation == Relation::KepalaKeluarga && hh.head_member_id.is_none() {
                doc.patch_household(&HouseholdPatch { head_member_id: Some(id), ..Default::default() }, self.today())?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    pub fn update_member(&self, household_id: Uuid, member_id: Uuid, p: MemberPatch) -> Result<()> {
        let today = self.today();
        self.edit(household_id, |doc, hh| {
            let current = hh
                .member(member_id)
                .filter(|m| !m.deleted)
                .ok_or_else(|| Error::NotFound { kind: "Anggota keluarga", id: member_id.to_string() })?;
            validation::check_member_patch(&p, current, today)?;
            Ok(doc.patch_member(member_id, &p)?)
        })
    }

    /// Removes a member (a tombstone; their recorded visits stay).
    pub fn remove_member(&self, household_id: Uuid, member_id: Uuid) -> Result<()> {
        self.edit(household_id, |doc, _| Ok(doc.tombstone(RecordKind::Member, member_id)?))
    }

    /// Records a visit and returns its id. Durable when this returns.
    pub fn record_visit(&self, household_id: Uuid, v: NewVisit) -> Result<Uuid> {
        let today = self.today();
        let id = Uuid::new_v4();
        self.edit(household_id, |doc, hh| {
            validation::check_new_visit(&v, hh, today)?;
            let visit = Visit {
                id,
                date: v.date,
                kind: v.kind,
                kader_id: self.identity.kader_id.clone(),
                posyandu_id: self.identity.posyandu_id.clone(),
                entries: v.entries.clone(),
                deleted: false,
            };
            Ok(doc.add_visit(&visit)?)
        })?;
        Ok(id)
    }

    /// Corrects one member's entry of a recorded visit (field edits, merged).
    pub fn amend_visit_entry(&self, household_id: Uuid, visit_id: Uuid, entry: VisitEntry) -> Result<()> {
        self.edit(household_id, |doc, hh| {
            let visit = hh
                .visits
                .iter()
                .find(|v| v.id == visit_id && !v.deleted)
                .ok_or_else(|| Error::NotFound { kind: "Kunjungan", id: visit_id.to_string() })?;
            validation::check_amended_entry(visit, &entry, hh, self.today())?;
            // A new entry must not take the visit over the limit the reader enforces.
            if !visit.entries.iter().any(|e| e.member_id == entry.member_id) {
                validation::check_count(
                    "anggota per kunjungan",
                    visit.entries.len() + 1,
                    validation::MAX_ENTRIES_PER_VISIT,
                )?;
            }
            Ok(doc.amend_visit_entry(visit_id, &entry)?)
        })
    }

    /// Marks a visit deleted (a tombstone that syncs; never erased).
    pub fn delete_visit(&self, household_id: Uuid, visit_id: Uuid) -> Result<()> {
        self.edit(household_id, |doc, _| Ok(doc.tombstone(RecordKind::Visit, visit_id)?))
    }

    pub fn add_pregnancy(&self, household_id: Uuid, p: NewPregnancy) -> Result<Uuid> {
        let today = self.today();
        let id = Uuid::new_v4();
        self.edit(household_id, |doc, hh| {
            validation::check_new_pregnancy(&p, hh, today)?;
            let preg = Pregnancy {
                id,
                member_id: p.member_id,
                lmp: p.lmp,
                due_date: p.due_date.unwrap_or_else(|| estimated_due_date(p.lmp)),
                gravida: p.gravida,
                muac_cm: p.muac_cm,
                kek: p.muac_cm.is_some_and(is_kek),
                ended: None,
                outcome: None,
                deleted: false,
            };
            Ok(doc.add_pregnancy(&preg)?)
        })?;
        Ok(id)
    }

    pub fn end_pregnancy(&self, household_id: Uuid, pregnancy_id: Uuid, ended: Date) -> Result<()> {
        validation::check_not_future("selesai kehamilan", ended, self.today())?;
        validation::check_date("selesai kehamilan", ended)?;
        self.edit(household_id, |doc, _| Ok(doc.end_pregnancy(pregnancy_id, ended)?))
    }

    /// Imports whole household documents (saved automerge bytes) received from
    /// elsewhere — a backup or a bulk transfer — in one transaction. Existing documents
    /// are merged, not replaced; imported changes are not queued for the relay.
    pub fn import_documents(&self, docs: impl IntoIterator<Item = (Uuid, Vec<u8>)>) -> Result<usize> {
        let mut w = self.writer();
        let Writer { conn, docs: cache } = &mut *w;
        let tx = conn.transaction()?;
        let mut n = 0;
        for (id, bytes) in docs {
            if let Err(e) = self.apply_snapshot(cache, &tx, id, &bytes) {
                cache.forget();
                return Err(e);
            }
            n += 1;
        }
        tx.commit().inspect_err(|_| cache.forget())?;
        Ok(n)
    }

    /// Chooses one value of a same-field conflict (see [`Self::conflicts`]).
    pub fn resolve_conflict(&self, household_id: Uuid, path: &str, value_json: &str) -> Result<()> {
        self.edit(household_id, |doc, _| Ok(doc.resolve(path, value_json)?))
    }

    /// Runs `f` on the household's document and commits its edits as one change in
    /// one transaction. On any error nothing is written and the document is rolled back.
    fn edit<R>(&self, id: Uuid, f: impl FnOnce(&mut HouseholdDoc, &Household) -> Result<R>) -> Result<R> {
        let mut w = self.writer();
        let w = &mut *w;
        let mut doc = w.docs.take(&w.conn, id)?;
        let result = doc.read().map_err(Error::from).and_then(|hh| f(&mut doc, &hh));
        match result {
            Ok(r) => {
                self.commit_doc(w, id, doc, false)?;
                Ok(r)
            }
            Err(e) => {
                doc.rollback();
                w.docs.put(id, doc);
                Err(e)
            }
        }
    }

    fn commit_doc(&self, w: &mut Writer, id: Uuid, mut doc: HouseholdDoc, new: bool) -> Result<()> {
        let now = self.now().unix_timestamp();
        let Some(change) = doc.commit(&self.identity.kader_id, now) else {
            w.docs.put(id, doc);
            return Ok(());
        };
        let today = self.today();
        let res = (|| {
            let read = doc.read_checked()?;
            let conflicts = doc.conflicts().len();
            let tx = w.conn.transaction()?;
            if new {
                save_snapshot(&tx, id, &doc.save())?;
            } else {
                append_change(&tx, id, &change)?;
            }
            outbox_push(&tx, id, &change, now)?;
            query::materialize(&tx, &read.household, &read.problems, conflicts, today)?;
            tx.commit()?;
            Ok(())
        })();
        match res {
            Ok(()) => {
                w.docs.put(id, doc);
                Ok(())
            }
            // The in-memory document now has a change that is not on disk: drop it so
            // the next read reloads what was durably stored.
            Err(e) => Err(e),
        }
    }

    // ---- reads --------------------------------------------------------------------

    /// The full merged household (members, visits, pregnancies).
    pub fn household(&self, id: Uuid) -> Result<Household> {
        self.with_doc(id, |doc| Ok(doc.read()?))
    }

    /// The ILP home-visit checklist to ask a member at a visit on `date`: the items of
    /// their life stage, age and sex then ([`crate::rules::checklist::items_for`]), and
    /// that stage.
    pub fn checklist_for(
        &self,
        household_id: Uuid,
        member_id: Uuid,
        date: Date,
    ) -> Result<(LifeStage, Vec<&'static crate::rules::checklist::ChecklistItem>)> {
        let hh = self.household(household_id)?;
        let m = hh
            .member(member_id)
            .filter(|m| !m.deleted)
            .ok_or_else(|| Error::NotFound { kind: "Anggota keluarga", id: member_id.to_string() })?;
        let stage = hh.life_stage_of(member_id, date).unwrap_or(LifeStage::Dewasa);
        Ok((stage, crate::rules::checklist::items_for(stage, m.birth_date, m.sex, date)))
    }

    /// Records and fields of the local documents that could not be read (left out of
    /// every screen until fixed or until the app is updated), per household.
    pub fn document_problems(&self) -> Result<Vec<(Uuid, DocProblem)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT household_id, path, reason, kind FROM doc_problem ORDER BY household_id, path, reason",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hh, path, reason, kind) = row?;
            let (Ok(hh), Some(kind)) = (Uuid::parse_str(&hh), ProblemKind::parse(&kind)) else { continue };
            out.push((hh, DocProblem { path, reason, kind }));
        }
        Ok(out)
    }

    /// Same-field conflicts of a household, each with all its values.
    pub fn conflicts(&self, household_id: Uuid) -> Result<Vec<Conflict>> {
        self.with_doc(household_id, |doc| Ok(doc.conflicts()))
    }

    fn with_doc<R>(&self, id: Uuid, f: impl FnOnce(&HouseholdDoc) -> Result<R>) -> Result<R> {
        let mut w = self.writer();
        let w = &mut *w;
        let doc = w.docs.take(&w.conn, id)?;
        let r = f(&doc);
        w.docs.put(id, doc);
        r
    }

    /// Changes recorded here that the relay has not yet acknowledged.
    pub fn pending_changes(&self) -> Result<u64> {
        let r = self.reader();
        Ok(r.query_row("SELECT count(*) FROM outbox", [], |row| row.get::<_, i64>(0))? as u64)
    }

    pub(crate) fn apply_remote(
        &self,
        docs: &mut DocCache,
        tx: &Transaction,
        doc_id: Uuid,
        changes: Vec<Change>,
    ) -> Result<RemoteApply> {
        let mut doc = match docs.take(tx, doc_id) {
            Ok(d) => d,
            Err(Error::NotFound { .. }) => HouseholdDoc::empty(&docs.actor),
            Err(e) => return Err(e),
        };
        let before = doc.heads();
        let res = (|| {
            doc.apply(changes)?;
            let missing_deps = !doc.missing_deps().is_empty();
            let after = doc.heads();
            if before == after {
                return Ok(RemoteApply { conflicts: 0, missing_deps });
            }
            save_snapshot(tx, doc_id, &doc.save())?;
            let conflicts = doc.conflicts().len();
            if doc.id().is_some() {
                let read = doc.read_checked()?;
                query::materialize(tx, &read.household, &read.problems, conflicts, self.today())?;
            }
            Ok(RemoteApply { conflicts, missing_deps })
        })();
        if res.is_ok() {
            docs.put(doc_id, doc);
        }
        res
    }

    pub(crate) fn apply_snapshot(
        &self,
        docs: &mut DocCache,
        tx: &Transaction,
        doc_id: Uuid,
        bytes: &[u8],
    ) -> Result<()> {
        let mut doc = match docs.take(tx, doc_id) {
            Ok(d) => d,
            Err(Error::NotFound { .. }) => HouseholdDoc::empty(&docs.actor),
            Err(e) => return Err(e),
        };
        doc.automerge().load_incremental(bytes)?;
        let read = doc.read_checked()?;
        if read.household.id != doc_id {
            return Err(Error::Document(format!("dokumen {doc_id} berisi id {}", read.household.id)));
        }
        save_snapshot(tx, doc_id, &doc.save())?;
        query::materialize(tx, &read.household, &read.problems, doc.conflicts().len(), self.today())?;
        docs.put(doc_id, doc);
        Ok(())
    }
}

pub(crate) struct RemoteApply {
    pub conflicts: usize,
    /// The document now waits for changes it never received (see `sync::repair`).
    pub missing_deps: bool,
}

impl DocCache {
    /// Takes the document out of the cache, or loads it from disk.
    fn take(&mut self, conn: &Connection, id: Uuid) -> Result<HouseholdDoc> {
        if let Some((_, d)) = self.cache.remove(&id) {
            return Ok(d);
        }
        load_doc(conn, id, &self.actor)
    }

    fn put(&mut self, id: Uuid, doc: HouseholdDoc) {
        self.tick += 1;
        if self.cache.len() >= DOC_CACHE {
            if let Some(oldest) = self.cache.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k) {
                self.cache.remove(&oldest);
            }
        }
        self.cache.insert(id, (self.tick, doc));
    }

    pub(crate) fn forget(&mut self) {
        self.cache.clear();
    }

    pub(crate) fn take_doc(&mut self, conn: &Connection, id: Uuid) -> Result<HouseholdDoc> {
        self.take(conn, id)
    }

    pub(crate) fn put_doc(&mut self, id: Uuid, doc: HouseholdDoc) {
        self.put(id, doc)
    }
}

pub(crate) fn load_doc(conn: &Connection, id: Uuid, actor: &ActorId) -> Result<HouseholdDoc> {
    let key = id.to_string();
    let snapshot: Option<Vec<u8>> =
        conn.query_row("SELECT snapshot FROM doc WHERE id = ?1", [&key], |r| r.get(0)).optional()?;
    let snapshot = snapshot.ok_or_else(|| Error::NotFound { kind: "Rumah tangga", id: key.clone() })?;
    let mut doc = HouseholdDoc::load(&snapshot, actor)?;
    let mut stmt = conn.prepare_cached("SELECT data FROM doc_change WHERE doc_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([&key], |r| r.get::<_, Vec<u8>>(0))?;
    for data in rows {
        doc.automerge().load_incremental(&data?)?;
    }
    Ok(doc)
}

/// Replaces the document's snapshot and drops its incremental changes.
pub(crate) fn save_snapshot(tx: &Transaction, id: Uuid, snapshot: &[u8]) -> Result<()> {
    let key = id.to_string();
    tx.execute(
        "INSERT INTO doc (id, snapshot, n_incremental) VALUES (?1, ?2, 0)
         ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, n_incremental = 0",
        params![key, snapshot],
    )?;
    tx.execute("DELETE FROM doc_change WHERE doc_id = ?1", [key])?;
    Ok(())
}

/// Appends one change to the document, folding into a new snapshot when many piled up.
fn append_change(tx: &Transaction, id: Uuid, change: &Change) -> Result<()> {
    let key = id.to_string();
    let n: i64 = tx.query_row(
        "UPDATE doc SET n_incremental = n_incremental + 1 WHERE id = ?1 RETURNING n_incremental",
        [&key],
        |r| r.get(0),
    )?;
    tx.execute("INSERT INTO doc_change (doc_id, seq, data) VALUES (?1, ?2, ?3)", params![key, n, change.raw_bytes()])?;
    if n >= COMPACT_AFTER {
        let mut doc = load_doc(tx, id, &ActorId::random())?;
        save_snapshot(tx, id, &doc.save())?;
    }
    Ok(())
}

pub(crate) fn outbox_push(tx: &Transaction, doc_id: Uuid, change: &Change, now: i64) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO outbox (doc_id, hash, change, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![doc_id.to_string(), change.hash().0.as_slice(), change.raw_bytes(), now],
    )?;
    Ok(())
}

/// Queues every change of every local household document of Posyandu `posyandu_id`
/// for the relay again (after the relay was restored from a backup and may lack
/// changes it once acknowledged). Per document, its outbox rows are replaced by all
/// its changes in causal order (`INSERT OR IGNORE` by hash), so every push batch stays
/// closed under dependencies. Documents of another Posyandu (the phone moved) or
/// without an id (incomplete) are left alone: the relay would refuse them. Returns the
/// number of changes now queued for the requeued documents. The caller commits.
pub(crate) fn outbox_requeue_all(tx: &Transaction, docs: &mut DocCache, posyandu_id: &str, now: i64) -> Result<u64> {
    let ids: Vec<String> =
        tx.prepare("SELECT id FROM doc ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut queued = 0u64;
    for key in ids {
        let Ok(id) = Uuid::parse_str(&key) else { continue };
        let mut doc = docs.take(tx, id)?;
        let ours = doc.id() == Some(id) && doc.posyandu_id().as_deref() == Some(posyandu_id);
        let changes: Vec<([u8; 32], Vec<u8>)> = if ours {
            doc.automerge().get_changes(&[]).iter().map(|c| (c.hash().0, c.raw_bytes().to_vec())).collect()
        } else {
            Vec::new()
        };
        docs.put(id, doc);
        if !ours {
            continue;
        }
        tx.execute("DELETE FROM outbox WHERE doc_id = ?1", [&key])?;
        let mut ins = tx.prepare_cached(
            "INSERT OR IGNORE INTO outbox (doc_id, hash, change, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (hash, raw) in &changes {
            queued += ins.execute(params![key, hash.as_slice(), raw, now])? as u64;
        }
    }
    Ok(queued)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_household() -> NewHousehold {
        NewHousehold {
            kk_number: None,
            address: Address {
                rt: "001".into(),
                rw: "002".into(),
                kode_wilayah: "3275011001".into(),
                ..Default::default()
            },
            gps: None,
            spm: Default::default(),
        }
    }

    /// After a relay restore every change of the Posyandu's documents is queued again,
    /// in causal order; documents of another Posyandu are left alone.
    #[test]
    fn requeue_all_queues_every_change_of_own_documents_in_causal_order() {
        let dir = tempfile::tempdir().unwrap();
        let identity = DeviceIdentity { device_id: "D-1".into(), kader_id: "K-1".into(), posyandu_id: "P-001".into() };
        let store = Store::open(dir.path().join("s.sqlite3"), identity, Arc::new(MemoryKeyring::random())).unwrap();
        let h = store.create_household(new_household()).unwrap();
        for rt in ["003", "004", "005"] {
            let patch = HouseholdPatch {
                address: Some(Address {
                    rt: rt.into(),
                    rw: "002".into(),
                    kode_wilayah: "3275011001".into(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            store.update_household(h, patch).unwrap();
        }
        let other = Uuid::new_v4();
        let mut doc = HouseholdDoc::create(other, "P-OTHER", &ActorId::random()).unwrap();
        let patch = HouseholdPatch { address: Some(new_household().address), ..Default::default() };
        doc.patch_household(&patch, store.today()).unwrap();
        doc.commit("K-9", 1).unwrap();
        store.import_documents([(other, doc.save())]).unwrap();
        assert_eq!(store.pending_changes().unwrap(), 4);

        let mut w = store.writer();
        let Writer { conn, docs } = &mut *w;
        // The relay acknowledged one change (deleted); the rest are still queued.
        conn.execute("DELETE FROM outbox WHERE id = (SELECT min(id) FROM outbox)", []).unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(outbox_requeue_all(&tx, docs, "P-001", 7).unwrap(), 4);
        tx.commit().unwrap();
        let rows: Vec<(String, Vec<u8>)> = conn
            .prepare("SELECT doc_id, change FROM outbox ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 4);
        let mut seen = std::collections::HashSet::new();
        for (d, raw) in rows {
            assert_eq!(d, h.to_string(), "only documents of this Posyandu");
            let c = Change::from_bytes(raw).unwrap();
            assert!(c.deps().iter().all(|dep| seen.contains(dep)), "dependencies come first");
            seen.insert(c.hash());
        }
    }
}
