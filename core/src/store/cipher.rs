//! SQLCipher: keyed connections, and the one-time migration of a plain store file.
//!
//! Every connection to the store (writer and reader) is keyed with a raw 256-bit key
//! (`PRAGMA key = "x'<64 hex>'"`, the first statement issued), then checked with a
//! read of `sqlite_master`: a wrong key fails there, before anything is written, and
//! is reported as [`Error::WrongKey`] with the file untouched.
//!
//! A store written by an app version without encryption (header `SQLite format 3\0`)
//! is migrated on its first keyed open, crash-safely:
//! 1. its relay token moves from `meta` into the keyring (then is deleted from `meta`);
//! 2. its WAL is checkpointed (TRUNCATE), so everything is in the main file;
//! 3. it is exported into an encrypted copy `<db>.cipher-tmp` (`sqlcipher_export`, and
//!    `user_version` copied explicitly), which is fsync'd;
//! 4. the copy is renamed over the store (atomic), the directory fsync'd, and the
//!    old, empty `-wal`/`-shm` removed.
//!
//! Until step 4 the plain store is complete and usable (a leftover temp file is
//! removed and the migration redone on the next open); from step 4 on the encrypted
//! store is. Moving the token twice is harmless.

use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::keyring::{DatabaseKey, Keyring};
use super::schema;
use crate::error::{Error, Result};

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file, or an empty one: a new store.
    Missing,
    /// A plain SQLite database (a store from before encryption).
    Plain,
    /// Anything else: an encrypted store (or a damaged file).
    Encrypted,
}

/// What the store file is, from its first 16 bytes.
pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(e),
    };
    let mut head = Vec::with_capacity(16);
    f.by_ref().take(16).read_to_end(&mut head)?;
    Ok(if head.is_empty() {
        FileState::Missing
    } else if head == SQLITE_HEADER {
        FileState::Plain
    } else {
        FileState::Encrypted
    })
}

pub(crate) fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn temp_path(db: &Path) -> PathBuf {
    sibling(db, ".cipher-tmp")
}

/// Fsyncs the directory holding `path` (so a rename or a new file is durable).
pub(crate) fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Opens a connection to the store file, keyed (unless `key` is the tests' "no
/// key"), and checks that the key opens it.
pub(crate) fn open_keyed(path: &Path, key: &DatabaseKey, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    if let Some(lit) = key.sql_literal() {
        // The very first statement on the connection.
        conn.execute_batch(&format!("PRAGMA key = \"{lit}\";"))?;
    }
    // A connection that fails the check must not checkpoint the WAL into the file when
    // it is closed: the file stays exactly as it was.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    check_key(&conn, key)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
    Ok(conn)
}

fn check_key(conn: &Connection, key: &DatabaseKey) -> Result<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(e) if key.bytes().is_some() && e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(Error::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// A step of the migration, for tests that stop it there as a crash would.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MigrationStep {
    /// The token is in the keyring and still in `meta`.
    TokenCopied,
    /// The token is gone from `meta`, the WAL checkpointed.
    Checkpointed,
    /// The encrypted copy is written (not yet fsync'd).
    Exported,
    /// The encrypted copy is fsync'd, not yet renamed.
    Synced,
    /// The encrypted copy replaced the store; old `-wal`/`-shm` not yet removed.
    Renamed,
}

/// Before a keyed open: removes a temp file a crashed migration left, and migrates a
/// plain store file to an encrypted one.
pub(crate) fn prepare(path: &Path, key: &DatabaseKey, keyring: &dyn Keyring) -> Result<()> {
    if key.bytes().is_none() {
        return Ok(());
    }
    match std::fs::remove_file(temp_path(path)) {
        Ok(()) => tracing::warn!("removed the temp file of an interrupted store encryption; redoing it"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    if file_state(path)? == FileState::Plain {
        migrate_plain(path, key, keyring, None)?;
        tracing::info!("plain store encrypted");
    }
    Ok(())
}

/// Runs the migration of a plain store up to `stop` and returns as if the process had
/// died there (connections dropped, nothing cleaned up). Tests only.
#[doc(hidden)]
pub fn interrupted_migration_for_tests(path: &Path, keyring: &dyn Keyring, stop: MigrationStep) -> Result<()> {
    let key = keyring.database_key()?;
    assert_eq!(file_state(path)?, FileState::Plain);
    migrate_plain(path, &key, keyring, Some(stop))
}

fn migrate_plain(path: &Path, key: &DatabaseKey, keyring: &dyn Keyring, stop: Option<MigrationStep>) -> Result<()> {
    let lit = key.sql_literal().expect("a key");
    let tmp = temp_path(path);
    // CREATE: the ATTACHed encrypted copy is created through this connection.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    check_key(&conn, &DatabaseKey::unencrypted_for_tests())?;

    // 1. The relay token leaves the database: into the keyring first, then deleted.
    let has_meta: bool = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |_| Ok(()))
        .optional()?
        .is_some();
    if has_meta {
        let token = super::meta_get(&conn, crate::sync::RELAY_TOKEN_SECRET)?;
        if let Some(token) = token {
            keyring.set_secret(crate::sync::RELAY_TOKEN_SECRET, Some(&token))?;
            if stop == Some(MigrationStep::TokenCopied) {
                return Ok(());
            }
            conn.execute("DELETE FROM meta WHERE key = ?1", [crate::sync::RELAY_TOKEN_SECRET])?;
        }
    }

    // 2. Everything into the main file; the WAL is left empty.
    let (busy, _log, _done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    if busy != 0 {
        return Err(Error::Storage(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("the store is in use by another connection; cannot encrypt it now".into()),
        )));
    }
    if stop == Some(MigrationStep::Checkpointed) {
        return Ok(());
    }

    // 3. The encrypted copy.
    let version = schema::user_version(&conn)?;
    let export = (|| -> Result<()> {
        let tmp_str = tmp.to_str().ok_or_else(|| {
            Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "store path is not UTF-8"))
        })?;
        conn.execute("ATTACH DATABASE ?1 AS enc KEY ?2", [tmp_str, lit.as_str()])?;
        conn.query_row("SELECT sqlcipher_export('enc')", [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA enc.user_version = {version}; DETACH DATABASE enc;"))?;
        Ok(())
    })();
    if let Err(e) = export {
        let _ = conn.execute_batch("DETACH DATABASE enc");
        drop(conn);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if stop == Some(MigrationStep::Exported) {
        return Ok(());
    }
    drop(conn);
    std::fs::File::open(&tmp)?.sync_all()?;
    // The copy must open with the key and hold the same schema version.
    {
        let check = open_keyed(&tmp, key, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let v = schema::user_version(&check)?;
        if v != version {
            drop(check);
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Corrupt { detail: format!("encrypted copy has schema {v}, expected {version}") });
        }
    }
    if stop == Some(MigrationStep::Synced) {
        return Ok(());
    }
    // The plain WAL must be empty (checkpointed, nothing written since): a non-empty
    // one beside the encrypted file would be replayed into it.
    let wal = sibling(path, "-wal");
    if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) != 0 {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Storage(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("the store's WAL is not empty; cannot encrypt it now".into()),
        )));
    }

    // 4. Swap.
    std::fs::rename(&tmp, path)?;
    sync_dir(path);
    if stop == Some(MigrationStep::Renamed) {
        return Ok(());
    }
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(sibling(path, suffix)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
