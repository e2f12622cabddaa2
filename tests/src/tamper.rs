//! Writing into a (closed) phone store behind its back: what a buggy or newer app
//! version would have written, as a local change queued for the relay.

use std::path::Path;

use automerge::ActorId;
use posyandu_core::doc::HouseholdDoc;
use rusqlite::{params, Connection};
use uuid::Uuid;

/// The actor a store writes with (hex, from its `meta` table).
pub fn store_actor(path: &Path) -> String {
    let conn = Connection::open(path).expect("store file");
    conn.query_row("SELECT value FROM meta WHERE key = 'actor_id'", [], |r| r.get(0)).expect("actor id")
}

/// Loads a household document of a closed store, as that store's actor.
pub fn load_doc(path: &Path, household: Uuid) -> HouseholdDoc {
    let conn = Connection::open(path).expect("store file");
    let key = household.to_string();
    let snapshot: Vec<u8> =
        conn.query_row("SELECT snapshot FROM doc WHERE id = ?1", [&key], |r| r.get(0)).expect("document");
    let actor = ActorId::try_from(store_actor(path).as_str()).expect("actor id");
    let mut doc = HouseholdDoc::load(&snapshot, &actor).expect("loads");
    let mut stmt = conn.prepare("SELECT data FROM doc_change WHERE doc_id = ?1 ORDER BY seq").expect("query");
    for data in stmt.query_map([&key], |r| r.get::<_, Vec<u8>>(0)).expect("rows") {
        doc.automerge().load_incremental(&data.expect("row")).expect("change");
    }
    doc
}

/// Commits `edit` on the household of a closed store as `kader` and queues the change
/// for the relay (the store's query rows are not rebuilt).
pub fn write_behind(path: &Path, household: Uuid, kader: &str, edit: impl FnOnce(&mut automerge::AutoCommit)) {
    let mut doc = load_doc(path, household);
    edit(doc.automerge());
    let change = doc.commit(kader, time::OffsetDateTime::now_utc().unix_timestamp()).expect("an edit");
    let conn = Connection::open(path).expect("store file");
    let key = household.to_string();
    conn.execute("UPDATE doc SET snapshot = ?2, n_incremental = 0 WHERE id = ?1", params![key, doc.save()])
        .expect("snapshot");
    conn.execute("DELETE FROM doc_change WHERE doc_id = ?1", [&key]).expect("changes");
    conn.execute(
        "INSERT INTO outbox (doc_id, hash, change, created_at) VALUES (?1, ?2, ?3, 0)",
        params![key, change.hash().0.as_slice(), change.raw_bytes()],
    )
    .expect("outbox");
}
