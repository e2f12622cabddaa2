//! Issue 9, "Trust nothing in a document": acceptance tests. A device with a valid
//! token (kader K-EVIL of the same Posyandu) pushes automerge changes built by hand on
//! top of a household an honest phone created. The relay must refuse every change whose
//! merged result holds an invalid value (400 `bad_change` with `doc` and `path`), store
//! nothing of such a push, keep its memory bounded whatever the shape of the changes,
//! accept legitimate changes in every encoding (compressed chunks, JavaScript automerge's
//! collaborative text), and bind a device token to one phone. Afterwards the honest
//! phones keep syncing, a new phone onboards and the Puskesmas export is complete.
//!
//! Everything runs against a real relay process (`target/release/posyandu-relay`, or
//! `POSYANDU_RELAY_BIN`); the fuzz test also on PostgreSQL (`POSYANDU_TEST_PG`).
//!
//! STATUS with the tolerant reader in the relay (main after merging doc-schema):
//! all 27 pass (32 s, `--test-threads 2`). An intermediate state with a strict reader
//! in the relay (b641758) refused the poisons without a `path` and still accepted the
//! wipes, negative/huge weights, entries for unknown members, and refused the
//! JavaScript visit (text objects read as lists).
//!
//! STATUS ON the earlier main 6132d79 (before the relay fix; relay built from it), run
//! on 2026-12-01 (whole file 68-95 s on 2 shared cores, `--test-threads 2`): 23 FAIL,
//! 4 pass.
//! - poison_* (15 tests, the wipe also on PostgreSQL): FAIL, the relay stores the
//!   poison: `weight_kg = "sembilan kilo": expected HTTP 400 bad_change, got HTTP 200
//!   stored=1 cursor=1 ...` (same for every case: date 2024-13-45, sex 42, rt 3,
//!   integer NIK, key not-a-uuid, members as a string, visits wiped by a list, weight
//!   -50 / 1e300, date 9999-12-31, entry for an unknown member, visit kader_id K-A,
//!   change author K-A).
//! - compressed_bomb_is_refused_fast_without_memory_growth: FAIL, the relay inflates
//!   the 1 MB chunk whole: `relay peak RSS rose by 3073 MiB (from 13 to 3086 MiB)`,
//!   then answers 400 bad_change ("leb128 was zero ...") after 30-56 s.
//! - compressed_change_with_40_mib_note_is_refused: FAIL, `got HTTP 200 stored=1`
//!   after 4.9 s.
//! - memory_many_tiny_puts: FAIL, 300,000 puts (2.6 MB) accepted, `relay peak RSS
//!   rose by 164-183 MiB (from 14 to 178-197 MiB)`.
//! - memory_list_insert_run: FAIL, 1,000,000 list inserts (1 MB) accepted after 9-12 s
//!   (a concurrent honest sync took 25 s), `relay peak RSS rose by 483 MiB`.
//! - memory_few_huge_strings: FAIL (5 of 5 runs with 7.9 MiB; with 7 MiB it failed 2
//!   of 3), the push is accepted with VmHWM 14 -> 73-77 MiB, and `serving the push to
//!   the other phones raised the relay's peak RSS by 64-95 MiB`.
//! - one_token_on_two_phones_binds_to_the_first: FAIL, the second phone's sync
//!   succeeds: `got Ok(SyncReport { pushed: 1, ... })`.
//! - javascript_automerge_visit_with_text_strings_is_accepted_and_readable: FAIL, the
//!   push is accepted, then `honest sync of D-A failed: Document("kunjungan: invalid
//!   type: sequence, expected a(n) `Date` ...")` (text objects read as char lists).
//! - fuzz_arbitrary_changes_{sqlite,postgres}: FAIL, all 15-16 pushes answered 200,
//!   then `honest sync of D-A failed: Document("anggota: invalid type: boolean `true`,
//!   expected struct Member")` (the message varies with the random changes).
//! - pass today: small_legitimate_compressed_change_is_accepted, memory_many_documents
//!   (1,500 valid households, 7.1 MB: 14 -> 28 MiB), and
//!   harness_out_of_scope_push_leaves_no_trace (checks the aftermath checks
//!   themselves on a refusal the relay already makes). With HOSTILE_FUZZ_CASES=0 both
//!   fuzz tests pass (their aftermath checks alone).
//!
//! A raw push is made as the hostile phone: its bearer token, its store's automerge
//! actor (that phone synced through the real client first) and, like the client, that
//! actor in `x-posyandu-actor`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use posyandu_core::doc::HouseholdDoc;
use posyandu_core::sync::wire::{self, DocChanges};
use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::hostile::*;
use posyandu_tests::relay::{device, RelayProcess};
use uuid::Uuid;

const P: &str = "P-001";
const PKM: &str = "PKM-01";
const EVIL: &str = "K-EVIL";
const MIB: u64 = 1 << 20;
/// The most the relay's peak RSS may rise over its warmed-up value.
const RSS_BOUND_KIB: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A Posyandu on a real relay: honest phones A and B (each with a household with a
/// child and a visit, synced with each other), the hostile device K-EVIL (a real
/// phone that synced and pushed one honest visit, so it holds the households; its raw
/// pushes use its actor),
/// an observer token for raw pulls, and a Puskesmas token.
struct World {
    relay: RelayProcess,
    /// Dropped after the relay (field order), the directory last.
    _schema: Option<PgSchema>,
    pkm: String,
    observer: String,
    evil_token: String,
    evil_actor: ActorId,
    evil: Store,
    a: Store,
    b: Store,
    hh_a: Uuid,
    child_a: Uuid,
    hh_b: Uuid,
    child_b: Uuid,
    /// Every valid household on the relay.
    households: BTreeSet<Uuid>,
    /// Every valid visit on the relay.
    visits: BTreeSet<Uuid>,
    new_phones: usize,
    round: usize,
    /// A household whose content hostile changes may have legitimately altered (the
    /// fuzz target): honest phones record nothing there and its visits are compared
    /// between phones, not against `visits` (which then holds only the others').
    hostile_target: Option<Uuid>,
    dir: tempfile::TempDir,
}

fn register(relay: &RelayProcess, kader: &str, device: &str) -> String {
    relay.admin(&["add-kader", "--id", kader, "--name", &format!("Kader {kader}"), "--posyandu", P]).unwrap();
    let out = relay.admin(&["add-device", "--kader", kader, "--device", device]).unwrap();
    out.lines().last().expect("token printed").trim().to_string()
}

fn kid(store: &Store, name: &str) -> NewMember {
    member(store, name, 400, Sex::Female, Relation::Anak)
}

fn new_visit(store: &Store, member: Uuid, weight: f64) -> NewVisit {
    NewVisit {
        date: store.today() - time::Duration::days(1),
        kind: VisitKind::KunjunganRumah,
        entries: vec![VisitEntry {
            member_id: member,
            measurements: Measurements { weight_kg: Some(weight), ..Default::default() },
            ..Default::default()
        }],
    }
}

fn sync(store: &Store, what: &str) -> SyncReport {
    store
        .sync_now(&mut |_| {})
        .unwrap_or_else(|e| panic!("{what}: honest sync of {} failed: {e:?}", store.identity().device_id))
}

fn visits_of(store: &Store) -> BTreeSet<Uuid> {
    store
        .list_households(None)
        .unwrap()
        .iter()
        .flat_map(|h| match store.household(h.id) {
            Ok(hh) => hh.visits.into_iter().map(|v| v.id).collect::<Vec<_>>(),
            Err(e) => panic!("{}: household {} unreadable: {e:?}", store.identity().device_id, h.id),
        })
        .collect()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl World {
    fn new(backend: Backend) -> World {
        let dir = tempfile::tempdir().unwrap();
        let (mut relay, schema) = match backend {
            Backend::Sqlite => (RelayProcess::new(dir.path()), None),
            Backend::Postgres => {
                let s = PgSchema::new();
                (RelayProcess::new_pg(dir.path(), &s.url), Some(s))
            }
        };
        relay.admin(&["add-puskesmas", "--id", PKM, "--name", "Puskesmas Satu"]).unwrap();
        relay.admin(&["add-posyandu", "--id", P, "--name", "Posyandu Melati", "--puskesmas", PKM]).unwrap();
        let ta = register(&relay, "K-A", "D-A");
        let tb = register(&relay, "K-B", "D-B");
        let evil_token = register(&relay, EVIL, "D-EVIL");
        let observer = register(&relay, "K-OBS", "D-OBS");
        let pkm =
            relay.admin(&["puskesmas-token", "--puskesmas", PKM]).unwrap().lines().last().unwrap().trim().to_string();
        relay.start().unwrap();
        let url = relay.url();
        let a = device(dir.path(), P, "K-A", "D-A", &url, &ta);
        let b = device(dir.path(), P, "K-B", "D-B", &url, &tb);
        let evil = device(dir.path(), P, EVIL, "D-EVIL", &url, &evil_token);
        let evil_actor = store_actor(&evil);
        let hh_a = a.create_household(household("001")).unwrap();
        let child_a = a.add_member(hh_a, kid(&a, "Ani")).unwrap();
        let hh_b = b.create_household(household("002")).unwrap();
        let child_b = b.add_member(hh_b, kid(&b, "Budi")).unwrap();
        let mut visits = BTreeSet::new();
        visits.insert(a.record_visit(hh_a, new_visit(&a, child_a, 9.0)).unwrap());
        visits.insert(b.record_visit(hh_b, new_visit(&b, child_b, 9.2)).unwrap());
        for s in [&a, &b, &a, &evil] {
            sync(s, "setup");
        }
        // The hostile phone first behaves: one honest visit through the real client (so
        // the relay has seen this phone and its actor push), then everyone syncs.
        visits.insert(evil.record_visit(hh_a, new_visit(&evil, child_a, 9.1)).unwrap());
        for s in [&evil, &a, &b] {
            sync(s, "setup");
        }
        let households = [hh_a, hh_b].into_iter().collect();
        World {
            dir,
            relay,
            _schema: schema,
            pkm,
            observer,
            evil_token,
            evil_actor,
            evil,
            a,
            b,
            hh_a,
            child_a,
            hh_b,
            child_b,
            households,
            visits,
            new_phones: 0,
            round: 0,
            hostile_target: None,
        }
    }

    fn url(&self) -> String {
        self.relay.url()
    }

    fn pid(&self) -> u32 {
        self.relay.pid().expect("relay running")
    }

    fn hwm_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM")
    }

    /// The hostile device's copy of `household` (as the relay merged it when it synced),
    /// writing as the hostile device's actor.
    fn evil_doc(&self, household: Uuid) -> HouseholdDoc {
        let mut am = store_doc(&self.evil, household, &self.evil_actor);
        HouseholdDoc::load(&am.save(), &self.evil_actor).expect("honest document loads")
    }

    fn push(&self, household: Uuid, changes: Vec<Vec<u8>>) -> PushOutcome {
        push_changes(&self.url(), &self.evil_token, &self.evil_actor, household, changes).expect("raw push")
    }

    /// A visit of the hostile kader to `member`, honest in every field.
    fn evil_visit(&self, member: Uuid) -> Visit {
        Visit {
            id: Uuid::new_v4(),
            date: self.a.today() - time::Duration::days(1),
            kind: VisitKind::KunjunganRumah,
            kader_id: EVIL.into(),
            posyandu_id: P.into(),
            entries: vec![VisitEntry {
                member_id: member,
                measurements: Measurements { weight_kg: Some(9.4), ..Default::default() },
                ..Default::default()
            }],
            deleted: false,
        }
    }

    /// Honest work after whatever the hostile device did: A records a visit in its
    /// household and creates a new one, B records a visit; A, B, A sync without error
    /// and both see every valid visit.
    fn honest_round(&mut self, what: &str) {
        self.round += 1;
        let r = self.round;
        if self.hostile_target != Some(self.hh_a) {
            self.visits.insert(self.a.record_visit(self.hh_a, new_visit(&self.a, self.child_a, 9.5)).unwrap());
        }
        let h = self.a.create_household(household(&format!("{:03}", 10 + r))).unwrap();
        let k = self.a.add_member(h, kid(&self.a, &format!("Anak {r}"))).unwrap();
        self.visits.insert(self.a.record_visit(h, new_visit(&self.a, k, 8.5)).unwrap());
        self.households.insert(h);
        self.visits.insert(self.b.record_visit(self.hh_b, new_visit(&self.b, self.child_b, 9.6)).unwrap());
        for s in [&self.a, &self.b, &self.a] {
            sync(s, what);
        }
        for s in [&self.a, &self.b] {
            self.assert_visits(s, what);
            assert_eq!(s.pending_changes().unwrap(), 0, "{what}: {} outbox drained", s.identity().device_id);
        }
    }

    /// `store` shows every valid visit (outside the hostile target; inside it, the
    /// same visits as A).
    fn assert_visits(&self, store: &Store, what: &str) {
        let dev = &store.identity().device_id;
        match self.hostile_target {
            None => assert_eq!(visits_of(store), self.visits, "{what}: {dev} sees every valid visit"),
            Some(t) => {
                let target = |s: &Store| -> BTreeSet<Uuid> {
                    match s.household(t) {
                        Ok(h) => h.visits.iter().map(|v| v.id).collect(),
                        Err(e) => panic!("{what}: {} cannot read household {t}: {e:?}", s.identity().device_id),
                    }
                };
                let others: BTreeSet<Uuid> = visits_of(store).difference(&target(store)).cloned().collect();
                assert_eq!(others, self.visits, "{what}: {dev} sees every valid visit outside {t}");
                assert_eq!(target(store), target(&self.a), "{what}: {dev} and D-A agree on the visits of {t}");
            }
        }
    }

    /// A phone registered now: its first sync succeeds and it holds every valid
    /// household, each readable.
    fn new_phone_onboards(&mut self, what: &str) -> Store {
        self.new_phones += 1;
        let n = self.new_phones;
        let (k, d) = (format!("K-NEW{n}"), format!("D-NEW{n}"));
        let token = register(&self.relay, &k, &d);
        let phone = device(self.dir.path(), P, &k, &d, &self.url(), &token);
        let r = phone.sync_now(&mut |_| {});
        assert!(r.is_ok(), "{what}: first sync of a new phone failed: {r:?}");
        let got: BTreeSet<Uuid> = phone.list_households(None).unwrap().iter().map(|h| h.id).collect();
        assert_eq!(got, self.households, "{what}: the new phone has every valid household");
        for h in &got {
            if let Err(e) = phone.household(*h) {
                panic!("{what}: household {h} unreadable on the new phone: {e:?}");
            }
        }
        self.assert_visits(&phone, what);
        phone
    }

    /// The Puskesmas export holds every valid household (count and ids); returns its body.
    fn assert_export_complete(&self, what: &str) -> String {
        let (body, ids) = export(&self.url(), &self.pkm).unwrap_or_else(|e| panic!("{what}: export failed: {e:#}"));
        assert_eq!(ids.len(), self.households.len(), "{what}: export household count");
        assert_eq!(ids, self.households, "{what}: export household ids");
        body
    }

    fn export_body(&self) -> String {
        export(&self.url(), &self.pkm).expect("export").0
    }

    /// After a refused or accepted hostile push: everyone carries on.
    fn everyone_carries_on(&mut self, what: &str) {
        self.honest_round(what);
        self.new_phone_onboards(what);
        self.assert_export_complete(what);
    }
}

// ---- document surgery -------------------------------------------------------------

/// The map at `path` (keys from the root).
fn obj_at(am: &AutoCommit, path: &[&str]) -> ObjId {
    let mut obj = ROOT;
    for key in path {
        obj = match am.get(&obj, *key).unwrap() {
            Some((Value::Object(_), id)) => id,
            other => panic!("no object at {key} of {path:?}: {other:?}"),
        };
    }
    obj
}

/// Sets `key` of the map at `path` to `value`.
fn put_at(doc: &mut HouseholdDoc, path: &[&str], key: &str, value: impl Into<ScalarValue>) {
    let am = doc.automerge();
    let obj = obj_at(am, path);
    am.put(&obj, key, value).unwrap();
}

/// Path of a visit's measurements map.
fn measurements_path(visit: Uuid, member: Uuid) -> [String; 5] {
    ["visits".into(), visit.to_string(), "entries".into(), member.to_string(), "measurements".into()]
}

fn strs(p: &[String]) -> Vec<&str> {
    p.iter().map(String::as_str).collect()
}

// ---- poisoned values ----------------------------------------------------------------

/// One refused poison push: built by `build` on A's household (it returns the
/// expected `path` prefix), committed as `author`. The relay answers 400 bad_change
/// naming the household and the path, stores nothing (an observer pulling gets
/// nothing of it, the export is unchanged), and everyone carries on.
fn poison(what: &str, author: &str, build: impl FnOnce(&World, &mut HouseholdDoc) -> String) {
    refused_push_leaves_no_trace(Backend::Sqlite, what, author, (400, "bad_change"), build)
}

/// The body of [`poison`] for any expected refusal (`doc` and `path` are checked for
/// `bad_change` only).
fn refused_push_leaves_no_trace(
    backend: Backend,
    what: &str,
    author: &str,
    (status, code): (u16, &str),
    build: impl FnOnce(&World, &mut HouseholdDoc) -> String,
) {
    let mut w = World::new(backend);
    let mut doc = w.evil_doc(w.hh_a);
    let prefix = build(&w, &mut doc);
    let change = doc.commit(author, now()).expect("the poison edits something");
    let export_before = w.export_body();
    assert_eq!(w.export_body(), export_before, "precondition: the export is deterministic");
    let out = w.push(w.hh_a, vec![change.raw_bytes().to_vec()]);
    let refused = out.status == status && out.code() == Some(code);
    assert!(refused, "{what}: expected HTTP {status} {code}, got {}", out.describe());
    if code == "bad_change" {
        assert_eq!(
            out.field("doc"),
            Some(w.hh_a.to_string().as_str()),
            "{what}: `doc` names the household: {}",
            out.describe()
        );
        if !prefix.is_empty() {
            let path = out.field("path").unwrap_or_else(|| panic!("{what}: no `path` in {}", out.describe()));
            assert!(path.starts_with(&prefix), "{what}: path {path:?} should start with {prefix:?}");
        }
    }
    assert!(!out.field("message").unwrap_or("").is_empty(), "{what}: a message for the kader");
    let pulled = pull_all_hashes(&w.url(), &w.observer).unwrap();
    assert!(!pulled.contains(&change.hash().0), "{what}: nothing of the refused push was stored");
    assert_eq!(w.export_body(), export_before, "{what}: the Puskesmas export is unchanged");
    w.everyone_carries_on(what);
}

/// Checks the harness itself on a refusal today's relay already makes (a change moving
/// the household to another Posyandu): the same aftermath checks as the poison cases.
#[test]
fn harness_out_of_scope_push_leaves_no_trace() {
    refused_push_leaves_no_trace(
        Backend::Sqlite,
        "posyandu_id of another Posyandu",
        EVIL,
        (403, "forbidden_scope"),
        |_, doc| {
            doc.automerge().put(ROOT, "posyandu_id", "P-999").unwrap();
            String::new()
        },
    );
}

#[test]
fn poison_weight_as_text() {
    poison("weight_kg = \"sembilan kilo\"", EVIL, |w, doc| {
        let v = w.evil_visit(w.child_a);
        doc.add_visit(&v).unwrap();
        put_at(doc, &strs(&measurements_path(v.id, w.child_a)), "weight_kg", "sembilan kilo");
        format!("visits/{}", v.id)
    });
}

#[test]
fn poison_visit_date_not_a_date() {
    poison("visit date 2024-13-45", EVIL, |w, doc| {
        let v = w.evil_visit(w.child_a);
        doc.add_visit(&v).unwrap();
        put_at(doc, &["visits", &v.id.to_string()], "date", "2024-13-45");
        format!("visits/{}", v.id)
    });
}

#[test]
fn poison_member_sex_number() {
    poison("member sex = 42", EVIL, |w, doc| {
        put_at(doc, &["members", &w.child_a.to_string()], "sex", 42i64);
        format!("members/{}", w.child_a)
    });
}

#[test]
fn poison_address_rt_number() {
    poison("address rt = 3", EVIL, |_, doc| {
        put_at(doc, &["household", "address"], "rt", 3i64);
        "household".into()
    });
}

#[test]
fn poison_nik_integer() {
    poison("NIK as an integer", EVIL, |w, doc| {
        put_at(doc, &["members", &w.child_a.to_string()], "nik", 3275015205900002i64);
        format!("members/{}", w.child_a)
    });
}

#[test]
fn poison_member_key_not_a_uuid() {
    poison("member key not-a-uuid", EVIL, |_, doc| {
        let am = doc.automerge();
        let members = obj_at(am, &["members"]);
        let m = am.put_object(&members, "not-a-uuid", ObjType::Map).unwrap();
        am.put(&m, "name", "Siti").unwrap();
        am.put(&m, "birth_date", "2024-01-01").unwrap();
        am.put(&m, "sex", "female").unwrap();
        am.put(&m, "relation", "anak").unwrap();
        am.put(&m, "deleted", false).unwrap();
        "members/not-a-uuid".into()
    });
}

#[test]
fn poison_members_replaced_by_string() {
    poison("root members replaced by a string", EVIL, |_, doc| {
        doc.automerge().put(ROOT, "members", "dihapus").unwrap();
        "members".into()
    });
}

#[test]
fn poison_visits_wiped_by_list() {
    poison("root visits replaced by a list (the wipe)", EVIL, |_, doc| {
        doc.automerge().put_object(ROOT, "visits", ObjType::List).unwrap();
        "visits".into()
    });
}

/// The wipe on PostgreSQL: refused there too, nothing stored.
#[test]
fn poison_visits_wiped_by_list_postgres() {
    let what = "root visits replaced by a list, on PostgreSQL";
    refused_push_leaves_no_trace(Backend::Postgres, what, EVIL, (400, "bad_change"), |_, doc| {
        doc.automerge().put_object(ROOT, "visits", ObjType::List).unwrap();
        "visits".into()
    });
}

#[test]
fn poison_weight_negative() {
    poison("weight -50", EVIL, |w, doc| {
        let v = w.evil_visit(w.child_a);
        doc.add_visit(&v).unwrap();
        put_at(doc, &strs(&measurements_path(v.id, w.child_a)), "weight_kg", -50.0f64);
        format!("visits/{}", v.id)
    });
}

#[test]
fn poison_weight_1e300() {
    poison("weight 1e300", EVIL, |w, doc| {
        let v = w.evil_visit(w.child_a);
        doc.add_visit(&v).unwrap();
        put_at(doc, &strs(&measurements_path(v.id, w.child_a)), "weight_kg", 1e300f64);
        format!("visits/{}", v.id)
    });
}

#[test]
fn poison_visit_dated_9999() {
    poison("visit dated 9999-12-31", EVIL, |w, doc| {
        let v = w.evil_visit(w.child_a);
        doc.add_visit(&v).unwrap();
        put_at(doc, &["visits", &v.id.to_string()], "date", "9999-12-31");
        format!("visits/{}", v.id)
    });
}

#[test]
fn poison_entry_for_unknown_member() {
    poison("entry for a member who does not exist", EVIL, |w, doc| {
        let v = w.evil_visit(Uuid::new_v4());
        doc.add_visit(&v).unwrap();
        format!("visits/{}", v.id)
    });
}

#[test]
fn poison_visit_kader_is_another_kader() {
    poison("visit kader_id names another kader", EVIL, |w, doc| {
        let mut v = w.evil_visit(w.child_a);
        v.kader_id = "K-A".into();
        doc.add_visit(&v).unwrap();
        format!("visits/{}/kader_id", v.id)
    });
}

#[test]
fn poison_change_author_is_another_kader() {
    // The change's message (its author) says K-A, the token is K-EVIL's; the visit
    // itself is honest. Only the code and the document are part of the contract.
    poison("change author names another kader", "K-A", |w, doc| {
        let v = w.evil_visit(w.child_a);
        doc.add_visit(&v).unwrap();
        String::new()
    });
}

// ---- compressed change chunks -------------------------------------------------------

/// Both outcomes the contract allows for an oversized or bomb push.
fn refused_as_too_big(out: &PushOutcome) -> bool {
    (out.status == 400 && out.code() == Some("bad_change")) || (out.status == 413 && out.code() == Some("too_large"))
}

#[test]
fn compressed_bomb_is_refused_fast_without_memory_growth() {
    let mut w = World::new(Backend::Sqlite);
    w.honest_round("warm-up");
    w.new_phone_onboards("warm-up");
    // A real checksum in the header, so the chunk looks like a compressed change.
    let mut doc = w.evil_doc(w.hh_a);
    doc.add_visit(&w.evil_visit(w.child_a)).unwrap();
    let honest = doc.commit(EVIL, now()).unwrap();
    let checksum: [u8; 4] = honest.hash().0[..4].try_into().unwrap();
    let t = Instant::now();
    let bomb = deflate_bomb(1 << 30, checksum);
    eprintln!("bomb: {} bytes inflating to 1 GiB, built in {:?}", bomb.len(), t.elapsed());
    assert!(bomb.len() < 2 * MIB as usize, "the bomb is small: {} bytes", bomb.len());
    let before = w.hwm_kib();
    let out = w.push(w.hh_a, vec![bomb]);
    let after = w.hwm_kib();
    eprintln!("bomb: {}; relay VmHWM {} -> {} MiB", out.describe(), before / 1024, after / 1024);
    assert!(
        after <= before + RSS_BOUND_KIB,
        "bomb: relay peak RSS rose by {} MiB (from {} to {} MiB), bound 64 MiB; push: {}",
        (after - before) / 1024,
        before / 1024,
        after / 1024,
        out.describe()
    );
    assert!(refused_as_too_big(&out), "bomb: expected 400 bad_change or 413 too_large, got {}", out.describe());
    assert!(out.elapsed < Duration::from_secs(10), "bomb refused quickly: {}", out.describe());
    w.everyone_carries_on("after the bomb");
}

#[test]
fn compressed_change_with_40_mib_note_is_refused() {
    let mut w = World::new(Backend::Sqlite);
    let mut doc = w.evil_doc(w.hh_a);
    let mut v = w.evil_visit(w.child_a);
    v.entries[0].referral = Some(Referral { reason: "catatan panjang. ".repeat(40 * MIB as usize / 17), to: None });
    doc.add_visit(&v).unwrap();
    let mut change = doc.commit(EVIL, now()).unwrap();
    let compressed = change.bytes().to_vec();
    assert_eq!(compressed[8], 2, "the change is sent as a compressed chunk");
    assert!(compressed.len() < 4 * MIB as usize, "compressed: {} bytes", compressed.len());
    drop(doc);
    let out = w.push(w.hh_a, vec![compressed]);
    assert!(refused_as_too_big(&out), "40 MiB note: expected 400 bad_change or 413 too_large, got {}", out.describe());
    w.everyone_carries_on("after the 40 MiB note");
}

#[test]
fn small_legitimate_compressed_change_is_accepted() {
    let mut w = World::new(Backend::Sqlite);
    let mut doc = w.evil_doc(w.hh_a);
    let mut v = w.evil_visit(w.child_a);
    v.entries[0].referral =
        Some(Referral { reason: "Berat badan tidak naik dua bulan berturut-turut".into(), to: None });
    v.entries[0].counselling = vec!["gizi seimbang".into(), "ASI".into()];
    doc.add_visit(&v).unwrap();
    let mut change = doc.commit(EVIL, now()).unwrap();
    let raw_len = change.raw_bytes().len();
    let compressed = change.bytes().to_vec();
    assert_eq!(compressed[8], 2, "a {raw_len}-byte change is sent compressed");
    assert!(compressed.len() < raw_len);
    let out = w.push(w.hh_a, vec![compressed]);
    assert_eq!(out.status, 200, "a small compressed change is accepted: {}", out.describe());
    assert_eq!(out.response.as_ref().unwrap().stored, 1);
    w.visits.insert(v.id);
    let b_view = {
        sync(&w.b, "pull the compressed change");
        w.b.household(w.hh_a).unwrap()
    };
    let got = b_view.visits.iter().find(|x| x.id == v.id).expect("B received the visit");
    assert_eq!(got.entries[0].measurements.weight_kg, Some(9.4));
    assert_eq!(got.kader_id, EVIL);
    w.everyone_carries_on("after the compressed change");
}

// ---- memory under hostile shapes ----------------------------------------------------

/// Warms the relay up, then pushes `changes` for `doc` (built by the caller, at most
/// 8 MiB of change bytes) while B syncs concurrently; the push may be accepted or
/// refused (200/400/413) but the relay's peak RSS rises by at most 64 MiB and B's
/// sync completes. Returns the outcome.
fn memory_case(w: &mut World, what: &str, push: Vec<DocChanges>) -> PushOutcome {
    let bytes: usize = push.iter().flat_map(|d| &d.changes).map(Vec::len).sum();
    assert!(bytes as u64 <= 8 * MIB, "{what}: {bytes} bytes of changes, more than the 8 MiB the relay accepts");
    eprintln!(
        "{what}: {} documents, {} changes, {bytes} bytes",
        push.len(),
        push.iter().map(|d| d.changes.len()).sum::<usize>()
    );
    let before = w.hwm_kib();
    let (url, token, actor) = (w.url(), w.evil_token.clone(), w.evil_actor.clone());
    let pusher = std::thread::spawn(move || {
        raw_sync(&url, &token, Some(&actor), &wire::SyncRequest { cursor: 0, push, page_bytes: 1 })
    });
    // B records and syncs while the push is in flight: until it is answered (at most
    // 3,000 syncs, paced 20 ms apart), every sync must succeed, each within 30 s.
    let (mut syncs, mut slowest, mut concurrent) = (0, Duration::ZERO, Ok(SyncReport::default()));
    let overlap = Instant::now();
    while concurrent.is_ok() && syncs < 3_000 && overlap.elapsed() < Duration::from_secs(120) {
        if syncs % 50 == 0 {
            w.visits.insert(w.b.record_visit(w.hh_b, new_visit(&w.b, w.child_b, 9.9)).unwrap());
        }
        let start = Instant::now();
        concurrent = w.b.sync_now(&mut |_| {});
        slowest = slowest.max(start.elapsed());
        syncs += 1;
        if pusher.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = slowest;
    eprintln!("{what}: {syncs} concurrent honest syncs, slowest {took:?}");
    let out = pusher.join().unwrap().unwrap_or_else(|e| panic!("{what}: the push got no answer: {e:#}"));
    let after = w.hwm_kib();
    eprintln!("{what}: {}; relay VmHWM {} -> {} MiB", out.describe(), before / 1024, after / 1024);
    assert!(
        after <= before + RSS_BOUND_KIB,
        "{what}: relay peak RSS rose by {} MiB (from {} to {} MiB), bound 64 MiB; push: {}",
        (after - before) / 1024,
        before / 1024,
        after / 1024,
        out.describe()
    );
    assert!(
        out.status == 200 || refused_as_too_big(&out),
        "{what}: expected 200, 400 bad_change or 413 too_large, got {}",
        out.describe()
    );
    assert!(concurrent.is_ok(), "{what}: the concurrent honest sync failed: {concurrent:?}");
    assert!(took < Duration::from_secs(30), "{what}: a concurrent honest sync took {took:?}");
    out
}

/// After the honest phones synced (and pulled whatever of the push was accepted), the
/// relay's peak RSS is still within the bound over its warmed-up value.
fn rss_still_bounded(w: &World, what: &str, warm: u64) {
    let now = w.hwm_kib();
    assert!(
        now <= warm + RSS_BOUND_KIB,
        "{what}: serving the push to the other phones raised the relay's peak RSS by {} MiB (from {} to {} MiB), bound 64 MiB",
        (now - warm) / 1024,
        warm / 1024,
        now / 1024
    );
}

fn warm_up(w: &mut World) -> u64 {
    w.honest_round("warm-up");
    w.new_phone_onboards("warm-up");
    w.assert_export_complete("warm-up");
    w.hwm_kib()
}

#[test]
fn memory_few_huge_strings() {
    let mut w = World::new(Backend::Sqlite);
    let warm = warm_up(&mut w);
    let mut doc = w.evil_doc(w.hh_a);
    // Two visits, each with a 3.95 MiB referral reason: 7.9 MiB in one change (the limit is 8).
    let mut text = String::new();
    for i in 0.. {
        if text.len() >= 79 * MIB as usize / 20 {
            break;
        }
        text.push_str(&format!("rujukan {i} "));
    }
    for _ in 0..2 {
        let mut v = w.evil_visit(w.child_a);
        v.entries[0].referral = Some(Referral { reason: text.clone(), to: None });
        doc.add_visit(&v).unwrap();
    }
    let change = doc.commit(EVIL, now()).unwrap().raw_bytes().to_vec();
    drop(doc);
    let push = vec![DocChanges { doc: *w.hh_a.as_bytes(), changes: vec![change] }];
    memory_case(&mut w, "few huge strings", push);
    // Accepted or not, nobody's data is lost and everyone carries on (an accepted
    // visit is valid: count it).
    sync(&w.a, "after huge strings");
    w.visits = visits_of(&w.a).union(&w.visits).cloned().collect();
    w.everyone_carries_on("after huge strings");
    rss_still_bounded(&w, "after huge strings", warm);
}

#[test]
fn memory_many_tiny_puts() {
    let mut w = World::new(Backend::Sqlite);
    let warm = warm_up(&mut w);
    let mut doc = w.evil_doc(w.hh_a);
    let v = w.evil_visit(w.child_a);
    doc.add_visit(&v).unwrap();
    {
        let am = doc.automerge();
        let entry = obj_at(am, &["visits", &v.id.to_string(), "entries", &w.child_a.to_string()]);
        let checklist = am.put_object(&entry, "checklist", ObjType::Map).unwrap();
        for i in 0..300_000u32 {
            am.put(&checklist, format!("c{i}"), i % 2 == 0).unwrap();
        }
    }
    let change = doc.commit(EVIL, now()).unwrap().raw_bytes().to_vec();
    drop(doc);
    let push = vec![DocChanges { doc: *w.hh_a.as_bytes(), changes: vec![change] }];
    let out = memory_case(&mut w, "300,000 tiny puts", push);
    if out.status == 200 {
        w.visits.insert(v.id);
    }
    w.everyone_carries_on("after many tiny puts");
    rss_still_bounded(&w, "after many tiny puts", warm);
}

#[test]
fn memory_list_insert_run() {
    let mut w = World::new(Backend::Sqlite);
    let warm = warm_up(&mut w);
    let mut doc = w.evil_doc(w.hh_a);
    let v = w.evil_visit(w.child_a);
    doc.add_visit(&v).unwrap();
    {
        let am = doc.automerge();
        let entry = obj_at(am, &["visits", &v.id.to_string(), "entries", &w.child_a.to_string()]);
        let list = am.put_object(&entry, "counselling", ObjType::List).unwrap();
        am.splice(&list, 0, 0, (0..1_000_000).map(|i| ScalarValue::Str(if i % 2 == 0 { "a" } else { "b" }.into())))
            .unwrap();
    }
    let change = doc.commit(EVIL, now()).unwrap().raw_bytes().to_vec();
    drop(doc);
    let push = vec![DocChanges { doc: *w.hh_a.as_bytes(), changes: vec![change] }];
    let out = memory_case(&mut w, "a list insert run of 1,000,000", push);
    if out.status == 200 {
        w.visits.insert(v.id);
    }
    w.everyone_carries_on("after a list insert run");
    rss_still_bounded(&w, "after a list insert run", warm);
}

#[test]
fn memory_many_documents() {
    let mut w = World::new(Backend::Sqlite);
    let warm = warm_up(&mut w);
    // 1,500 new, valid households of ~5 KB each (a long street name).
    let street = "Jalan Melati Gang ".repeat(250);
    let mut push = Vec::new();
    let mut ids = Vec::new();
    for i in 0..1_500 {
        let id = Uuid::new_v4();
        let mut d = HouseholdDoc::create(id, P, &w.evil_actor).unwrap();
        let address = Address {
            rt: format!("{:03}", i % 20 + 1),
            rw: "002".into(),
            kode_wilayah: "3275011001".into(),
            street: Some(street.clone()),
            ..Default::default()
        };
        d.patch_household(&HouseholdPatch { address: Some(address), ..Default::default() }, w.a.today()).unwrap();
        let c = d.commit(EVIL, now()).unwrap();
        push.push(DocChanges { doc: *id.as_bytes(), changes: vec![c.raw_bytes().to_vec()] });
        ids.push(id);
    }
    let out = memory_case(&mut w, "1,500 documents", push);
    if out.status == 200 {
        w.households.extend(ids);
    }
    w.everyone_carries_on("after many documents");
    rss_still_bounded(&w, "after many documents", warm);
}

// ---- one token, two phones ----------------------------------------------------------

#[test]
fn one_token_on_two_phones_binds_to_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    relay.admin(&["add-posyandu", "--id", P, "--name", "Posyandu Melati"]).unwrap();
    let token = register(&relay, "K-A", "D-A");
    let tb = register(&relay, "K-B", "D-B");
    relay.start().unwrap();
    let (d1, d2) = (dir.path().join("phone1"), dir.path().join("phone2"));
    std::fs::create_dir_all(&d1).unwrap();
    std::fs::create_dir_all(&d2).unwrap();
    let first = device(&d1, P, "K-A", "D-A", &relay.url(), &token);
    let second = device(&d2, P, "K-A", "D-A", &relay.url(), &token);
    assert_ne!(store_actor(&first), store_actor(&second), "two phones, two automerge actors");
    let h1 = first.create_household(household("001")).unwrap();
    sync(&first, "first phone");
    let h2 = second.create_household(household("002")).unwrap();
    match second.sync_now(&mut |_| {}) {
        Err(Error::Sync(SyncError::Rejected { status, code, message, .. })) => {
            assert_eq!((status, code.as_str()), (409, "device_bound"), "{message}");
            assert!(
                message.to_lowercase().contains("admin"),
                "tells the kader to register the phone with the admin: {message}"
            );
        }
        other => panic!("the second phone with the same token must be refused with device_bound, got {other:?}"),
    }
    assert_eq!(second.pending_changes().unwrap(), 1, "the refused phone keeps its data");
    // The first phone keeps syncing; another kader sees its households, not the second's.
    let k = first.add_member(h1, kid(&first, "Ani")).unwrap();
    first.record_visit(h1, new_visit(&first, k, 9.0)).unwrap();
    sync(&first, "first phone again");
    let b = device(dir.path(), P, "K-B", "D-B", &relay.url(), &tb);
    sync(&b, "another kader");
    let got: BTreeSet<Uuid> = b.list_households(None).unwrap().iter().map(|h| h.id).collect();
    assert_eq!(got, [h1].into_iter().collect(), "only the bound phone's household reached the relay (not {h2})");
    assert_eq!(b.household(h1).unwrap().visits.len(), 1);
}

// ---- JavaScript automerge (collaborative text strings) ------------------------------

const JS_ADD_VISIT: &str = r#"
const A = require(process.env.AUTOMERGE_JS);
const fs = require('fs');
const [docPath, outPath, actor, vid, mid, kader, posyandu, date, time] = process.argv.slice(2);
let doc = A.load(new Uint8Array(fs.readFileSync(docPath)), { actor });
doc = A.change(doc, { message: kader, time: Number(time) }, d => {
  d.visits[vid] = {
    date, kind: 'kunjungan_rumah', kader_id: kader, posyandu_id: posyandu, deleted: false,
    entries: { [mid]: { measurements: { weight_kg: 9.7 }, referral: { reason: 'gizi kurang' } } },
  };
});
fs.writeFileSync(outPath, A.getLastLocalChange(doc));
"#;

#[test]
fn javascript_automerge_visit_with_text_strings_is_accepted_and_readable() {
    let (node, pkg) = match automerge_js() {
        Ok(x) => x,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("JavaScript automerge test cannot run in CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED javascript_automerge_visit_with_text_strings_is_accepted_and_readable: {why}");
            return;
        }
    };
    let mut w = World::new(Backend::Sqlite);
    let mut am = store_doc(&w.evil, w.hh_a, &w.evil_actor);
    let doc_path = w.dir.path().join("household.automerge");
    let out_path = w.dir.path().join("change.bin");
    let script = w.dir.path().join("add-visit.js");
    std::fs::write(&doc_path, am.save()).unwrap();
    std::fs::write(&script, JS_ADD_VISIT).unwrap();
    let vid = Uuid::new_v4();
    let date = format_date(w.a.today() - time::Duration::days(1));
    let run = std::process::Command::new(&node)
        .env("AUTOMERGE_JS", &pkg)
        .arg(&script)
        .arg(&doc_path)
        .arg(&out_path)
        .args([
            w.evil_actor.to_hex_string(),
            vid.to_string(),
            w.child_a.to_string(),
            EVIL.into(),
            P.into(),
            date.clone(),
            now().to_string(),
        ])
        .output()
        .unwrap();
    assert!(run.status.success(), "node script failed: {}", String::from_utf8_lossy(&run.stderr));
    let change = std::fs::read(&out_path).unwrap();
    // Precondition: the JS change really writes collaborative text, not scalar strings.
    am.load_incremental(&change).unwrap();
    let visit = obj_at(&am, &["visits", &vid.to_string()]);
    assert!(
        matches!(am.get(&visit, "date").unwrap(), Some((Value::Object(ObjType::Text), _))),
        "JavaScript automerge 3 writes strings as Text objects"
    );
    let out = w.push(w.hh_a, vec![change]);
    assert_eq!(out.status, 200, "a JavaScript automerge visit is accepted: {}", out.describe());
    w.visits.insert(vid);
    for s in [&w.a, &w.b] {
        sync(s, "after the JavaScript visit");
        let hh =
            s.household(w.hh_a).unwrap_or_else(|e| panic!("{}: household unreadable: {e:?}", s.identity().device_id));
        let v = hh.visits.iter().find(|v| v.id == vid).expect("the JavaScript visit is shown");
        assert_eq!(format_date(v.date), date);
        assert_eq!((v.kind, v.kader_id.as_str(), v.posyandu_id.as_str()), (VisitKind::KunjunganRumah, EVIL, P));
        assert_eq!(v.entries[0].measurements.weight_kg, Some(9.7));
        assert_eq!(v.entries[0].referral.as_ref().map(|r| r.reason.as_str()), Some("gizi kurang"));
    }
    let body = w.assert_export_complete("after the JavaScript visit");
    assert!(body.contains(&vid.to_string()), "the export carries the JavaScript visit");
    w.everyone_carries_on("after the JavaScript visit");
}

// ---- fuzz -----------------------------------------------------------------------------

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    /// Where an op lands (resolved in the document at build time; skipped if gone).
    #[derive(Debug, Clone, Copy)]
    pub enum Target {
        Root,
        Household,
        Address,
        Members,
        Member,
        Visits,
        Visit,
        Entry,
        Measurements,
    }

    #[derive(Debug, Clone)]
    pub enum Val {
        Str(String),
        LongStr(usize, char),
        Int(i64),
        Uint(u64),
        F64(f64),
        Bool(bool),
        Null,
        Timestamp(i64),
        Counter(i64),
        Text(String),
        List(Vec<i64>),
        Map(Vec<(String, String)>),
    }

    #[derive(Debug, Clone)]
    pub enum Op {
        Put(Target, String, Val),
        Delete(Target, String),
    }

    const KNOWN: &[&str] = &[
        "schema",
        "id",
        "posyandu_id",
        "household",
        "members",
        "visits",
        "pregnancies",
        "kk_history",
        "address",
        "spm",
        "rt",
        "rw",
        "kode_wilayah",
        "kk_number",
        "head_member_id",
        "name",
        "nik",
        "sex",
        "birth_date",
        "relation",
        "deleted",
        "date",
        "kind",
        "kader_id",
        "entries",
        "measurements",
        "weight_kg",
        "length_height_cm",
        "muac_cm",
        "services",
        "referral",
        "counselling",
        "$CHILD",
        "$VISIT",
    ];

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![
            Just(Target::Root),
            Just(Target::Household),
            Just(Target::Address),
            Just(Target::Members),
            Just(Target::Member),
            Just(Target::Visits),
            Just(Target::Visit),
            Just(Target::Entry),
            Just(Target::Measurements),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(KNOWN).prop_map(str::to_string),
            1 => "[a-z_]{1,12}",
            1 => any::<String>().prop_map(|s| s.chars().take(20).collect()),
        ]
    }

    fn f64_val() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e300),
            -100.0..400.0f64,
            any::<f64>(),
        ]
    }

    fn val() -> impl Strategy<Value = Val> {
        prop_oneof![
            "[ -~]{0,30}".prop_map(Val::Str),
            (0usize..100_000, any::<char>()).prop_map(|(n, c)| Val::LongStr(n, c)),
            any::<i64>().prop_map(Val::Int),
            any::<u64>().prop_map(Val::Uint),
            f64_val().prop_map(Val::F64),
            any::<bool>().prop_map(Val::Bool),
            Just(Val::Null),
            any::<i64>().prop_map(Val::Timestamp),
            any::<i64>().prop_map(Val::Counter),
            "[ -~]{0,30}".prop_map(Val::Text),
            proptest::collection::vec(any::<i64>(), 0..5).prop_map(Val::List),
            proptest::collection::vec(("[a-z_]{1,10}", "[ -~]{0,10}"), 0..5).prop_map(Val::Map),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (target(), key(), val()).prop_map(|(t, k, v)| Op::Put(t, k, v)),
            1 => (target(), key()).prop_map(|(t, k)| Op::Delete(t, k)),
        ]
    }

    pub fn case() -> impl Strategy<Value = (Vec<Op>, bool)> {
        (proptest::collection::vec(op(), 1..6), any::<bool>())
    }

    fn resolve(am: &AutoCommit, t: Target, child: &str, visit: &str) -> Option<ObjId> {
        let path: Vec<&str> = match t {
            Target::Root => vec![],
            Target::Household => vec!["household"],
            Target::Address => vec!["household", "address"],
            Target::Members => vec!["members"],
            Target::Member => vec!["members", child],
            Target::Visits => vec!["visits"],
            Target::Visit => vec!["visits", visit],
            Target::Entry => vec!["visits", visit, "entries", child],
            Target::Measurements => vec!["visits", visit, "entries", child, "measurements"],
        };
        let mut obj = ROOT;
        for k in path {
            obj = match am.get(&obj, k).ok()?? {
                (Value::Object(ObjType::Map), id) => id,
                _ => return None,
            };
        }
        Some(obj)
    }

    /// Applies `ops` to `am`; returns how many landed.
    pub fn apply(am: &mut AutoCommit, ops: &[Op], child: &str, visit: &str) -> usize {
        let mut n = 0;
        for op in ops {
            let (t, k) = match op {
                Op::Put(t, k, _) | Op::Delete(t, k) => (*t, k.replace("$CHILD", child).replace("$VISIT", visit)),
            };
            let Some(obj) = resolve(am, t, child, visit) else { continue };
            let ok = match op {
                Op::Delete(..) => am.delete(&obj, k.as_str()).is_ok(),
                Op::Put(_, _, v) => match v {
                    Val::Str(s) => am.put(&obj, k.as_str(), s.as_str()).is_ok(),
                    Val::LongStr(len, c) => am.put(&obj, k.as_str(), c.to_string().repeat(*len)).is_ok(),
                    Val::Int(i) => am.put(&obj, k.as_str(), *i).is_ok(),
                    Val::Uint(u) => am.put(&obj, k.as_str(), *u).is_ok(),
                    Val::F64(f) => am.put(&obj, k.as_str(), *f).is_ok(),
                    Val::Bool(b) => am.put(&obj, k.as_str(), *b).is_ok(),
                    Val::Null => am.put(&obj, k.as_str(), ScalarValue::Null).is_ok(),
                    Val::Timestamp(t) => am.put(&obj, k.as_str(), ScalarValue::Timestamp(*t)).is_ok(),
                    Val::Counter(c) => am.put(&obj, k.as_str(), ScalarValue::counter(*c)).is_ok(),
                    Val::Text(s) => {
                        am.put_object(&obj, k.as_str(), ObjType::Text).and_then(|t| am.splice_text(&t, 0, 0, s)).is_ok()
                    }
                    Val::List(items) => am
                        .put_object(&obj, k.as_str(), ObjType::List)
                        .and_then(|l| items.iter().enumerate().try_for_each(|(i, x)| am.insert(&l, i, *x)))
                        .is_ok(),
                    Val::Map(kvs) => am
                        .put_object(&obj, k.as_str(), ObjType::Map)
                        .and_then(|m| kvs.iter().try_for_each(|(mk, mv)| am.put(&m, mk.as_str(), mv.as_str())))
                        .is_ok(),
                },
            };
            n += ok as usize;
        }
        n
    }

    pub fn run(backend: Backend) {
        let started = Instant::now();
        let mut w = World::new(backend);
        // Valid hostile changes may legitimately edit A's household (tombstone a visit,
        // correct a field): its visits are compared between phones only.
        w.hostile_target = Some(w.hh_a);
        let in_target: BTreeSet<Uuid> = w.a.household(w.hh_a).unwrap().visits.iter().map(|v| v.id).collect();
        w.visits = w.visits.difference(&in_target).cloned().collect();
        // The hostile device also knows a visit id of A's household.
        let visit = w.a.household(w.hh_a).unwrap().visits[0].id.to_string();
        let child = w.child_a.to_string();
        let base = std::cell::RefCell::new(store_doc(&w.evil, w.hh_a, &w.evil_actor));
        let statuses: std::cell::RefCell<Vec<u16>> = Default::default();
        // `HOSTILE_FUZZ_CASES` overrides the 16 cases (more for a soak run; 0 checks the
        // aftermath checks alone).
        let cases = std::env::var("HOSTILE_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(16);
        let mut runner =
            TestRunner::new(Config { cases, max_shrink_iters: 0, failure_persistence: None, ..Config::default() });
        let wr = &w;
        let result = runner.run(&case(), |(ops, compressed)| {
            let w = wr;
            let mut work = base.borrow().clone();
            if apply(&mut work, &ops, &child, &visit) == 0 {
                return Ok(());
            }
            let hash =
                work.commit_with(automerge::transaction::CommitOptions::default().with_message(EVIL).with_time(now()));
            let Some(hash) = hash else { return Ok(()) };
            let mut change = work.get_change_by_hash(&hash).unwrap();
            let bytes = if compressed { change.bytes().to_vec() } else { change.raw_bytes().to_vec() };
            let out = push_changes(&w.url(), &w.evil_token, &w.evil_actor, w.hh_a, vec![bytes])
                .map_err(|e| TestCaseError::fail(format!("no answer (hang or crash?): {e:#}; ops {ops:?}")))?;
            statuses.borrow_mut().push(out.status);
            if !(out.status == 200 || (400..500).contains(&out.status)) {
                return Err(TestCaseError::fail(format!("{}; ops {ops:?}", out.describe())));
            }
            if out.status == 200 {
                base.borrow_mut().apply_changes([change]).unwrap();
            }
            Ok(())
        });
        eprintln!("fuzz {backend:?}: statuses {:?} in {:?}", statuses.borrow(), started.elapsed());
        if let Err(e) = result {
            panic!("fuzz {backend:?}: {e}");
        }
        w.everyone_carries_on(&format!("fuzz {backend:?}"));
        for s in [&w.a, &w.b] {
            for h in s.list_households(None).unwrap() {
                if let Err(e) = s.household(h.id) {
                    panic!("fuzz {backend:?}: {} cannot read household {}: {e:?}", s.identity().device_id, h.id);
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "fuzz {backend:?} took {:?}", started.elapsed());
    }
}

#[test]
fn fuzz_arbitrary_changes_sqlite() {
    fuzz::run(Backend::Sqlite);
}

#[test]
fn fuzz_arbitrary_changes_postgres() {
    fuzz::run(Backend::Postgres);
}
