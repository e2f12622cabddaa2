//! Numbered migrations, versioned by `PRAGMA user_version`. A migration runs in one
//! transaction with the version bump, so a crash mid-migration leaves the old version.

use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: documents, outbox, query tables.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

    -- One automerge document per household: a compacted snapshot plus the
    -- incremental changes written since (folded into the snapshot now and then).
    CREATE TABLE doc (
        id TEXT PRIMARY KEY,
        snapshot BLOB NOT NULL,
        n_incremental INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE doc_change (
        doc_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (doc_id, seq)
    ) WITHOUT ROWID;

    -- Local changes the relay has not yet acknowledged as durably stored.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        change BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );

    -- Query tables, rebuilt per household from its document on every write.
    CREATE TABLE household (
        id TEXT PRIMARY KEY,
        posyandu_id TEXT NOT NULL,
        rt TEXT NOT NULL,
        rw TEXT NOT NULL,
        dusun TEXT,
        kk_number TEXT,
        head_name TEXT,
        member_count INTEGER NOT NULL,
        last_visit TEXT,
        conflict_count INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX household_by_rt ON household (posyandu_id, rt, rw);

    CREATE TABLE member (
        id TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        nik TEXT,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        sex INTEGER NOT NULL,
        relation TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX member_by_household ON member (household_id);
    CREATE INDEX member_by_nik ON member (nik);

    CREATE TABLE pregnancy (
        id TEXT PRIMARY KEY,
        member_id TEXT NOT NULL,
        household_id TEXT NOT NULL,
        lmp TEXT NOT NULL,
        due_date TEXT NOT NULL,
        ended TEXT,
        kek INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX pregnancy_by_household ON pregnancy (household_id);

    CREATE TABLE visit_entry (
        visit_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        household_id TEXT NOT NULL,
        date TEXT NOT NULL,
        kind TEXT NOT NULL,
        weight_kg REAL,
        height_cm REAL,
        muac_cm REAL,
        bp_sys INTEGER,
        bp_dia INTEGER,
        glucose REAL,
        vitamin_a INTEGER NOT NULL,
        antigens TEXT NOT NULL,
        referral INTEGER NOT NULL,
        trend TEXT,
        PRIMARY KEY (visit_id, member_id)
    ) WITHOUT ROWID;
    CREATE INDEX visit_entry_by_member ON visit_entry (member_id, date);
    CREATE INDEX visit_entry_by_household ON visit_entry (household_id);
    "#,
    // 2: name search by prefix of any word, kept separately from the display name.
    r#"
    CREATE INDEX member_by_name_key ON member (name_key);
    "#,
    // 3: what the document reader left out of each household (`doc::DocProblem`).
    r#"
    CREATE TABLE doc_problem (
        household_id TEXT NOT NULL,
        path TEXT NOT NULL,
        reason TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (household_id, path, reason)
    ) WITHOUT ROWID;
    "#,
    // 4: changes the relay refused, kept (never deleted) for the kader to see and correct;
    // the document was re-based on the relay's copy (see sync::repair).
    r#"
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        hash BLOB NOT NULL,
        change BLOB NOT NULL,
        code TEXT NOT NULL,
        path TEXT,
        reason TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
    );
    CREATE INDEX quarantine_by_doc ON quarantine (doc_id);
    "#,
    // 5: referrals with their lifecycle (issue 12; `store::referral`): one row per
    // referral with its derived status and the follow-up visit the bidan asked for.
    r#"
    CREATE TABLE referral (
        id TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        date TEXT NOT NULL,
        status TEXT NOT NULL,
        reasons TEXT NOT NULL,
        follow_up_by TEXT,
        follow_up_asked TEXT
    ) WITHOUT ROWID;
    CREATE INDEX referral_by_household ON referral (household_id);
    "#,
    // 6: SPM requests to the desa (issue 13; `store::spm`): one row per request with its
    // derived status, for the kader's list.
    r#"
    CREATE TABLE spm_request (
        household_id TEXT NOT NULL,
        key TEXT NOT NULL,
        member_id TEXT,
        area TEXT NOT NULL,
        need TEXT NOT NULL,
        status TEXT NOT NULL,
        raised_at INTEGER NOT NULL,
        notes INTEGER NOT NULL,
        PRIMARY KEY (household_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX spm_request_by_status ON spm_request (status, raised_at);
    "#,
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Applies pending migrations in order, each atomically with its version bump.
pub fn migrate(conn: &mut Connection) -> Result<i64> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        apply(&tx, i, sql)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "store schema migrated");
    }
    Ok(SCHEMA_VERSION)
}

fn apply(tx: &Transaction, index: usize, sql: &str) -> Result<()> {
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", (index + 1) as i64)?;
    Ok(())
}
