//! Registration operations used by the `posyandu-relay admin` CLI (SQLite).
//!
//! Adding a Puskesmas, Posyandu or kader again updates its name (idempotent).
//! Tokens are printed once by the caller and stored only as hashes.

use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::new_token;
use crate::storage::sqlite::now_unix;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{kind} {id} tidak ditemukan")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
}

pub type Result<T> = std::result::Result<T, AdminError>;

/// An issued token: shown to the operator once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token_id: i64,
    pub token: String,
}

/// IDs: 1–64 characters of `A-Z a-z 0-9 . _ -`.
pub fn check_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("{what} tidak valid: gunakan 1–64 huruf, angka, '.', '_' atau '-'")))
    }
}

fn check_name(name: &str) -> Result<()> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AdminError::Invalid("nama wajib diisi (maksimal 200 karakter)".into()));
    }
    Ok(())
}

fn exists(conn: &Connection, table: &str, id: &str) -> Result<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], |_| Ok(())).optional()?.is_some())
}

pub fn add_puskesmas(conn: &Connection, id: &str, name: &str) -> Result<()> {
    check_id("ID Puskesmas", id)?;
    check_name(name)?;
    conn.execute(
        "INSERT INTO puskesmas (id, name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        params![id, name.trim(), now_unix()],
    )?;
    Ok(())
}

pub fn add_posyandu(conn: &Connection, id: &str, name: &str, puskesmas: Option<&str>) -> Result<()> {
    check_id("ID Posyandu", id)?;
    check_name(name)?;
    if let Some(p) = puskesmas {
        if !exists(conn, "puskesmas", p)? {
            return Err(AdminError::NotFound { kind: "Puskesmas", id: p.into() });
        }
    }
    conn.execute(
        "INSERT INTO posyandu (id, name, puskesmas_id, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, puskesmas_id = coalesce(excluded.puskesmas_id, puskesmas_id)",
        params![id, name.trim(), puskesmas, now_unix()],
    )?;
    Ok(())
}

pub fn add_kader(conn: &Connection, id: &str, name: &str, posyandu: &str) -> Result<()> {
    check_id("ID kader", id)?;
    check_name(name)?;
    if !exists(conn, "posyandu", posyandu)? {
        return Err(AdminError::NotFound { kind: "Posyandu", id: posyandu.into() });
    }
    let current: Option<String> =
        conn.query_row("SELECT posyandu_id FROM kader WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    if let Some(cur) = current.filter(|c| c != posyandu) {
        // Moving a kader would silently move their devices' scope: make it explicit.
        return Err(AdminError::Conflict(format!(
            "kader {id} terdaftar di Posyandu {cur}; cabut perangkatnya dan daftarkan dengan ID kader baru"
        )));
    }
    conn.execute(
        "INSERT INTO kader (id, name, posyandu_id, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        params![id, name.trim(), posyandu, now_unix()],
    )?;
    Ok(())
}

/// Issues a token for device `device` of kader `kader`. Any earlier active token of
/// the device is revoked (so re-running this rotates the device's token).
pub fn add_device(conn: &mut Connection, kader: &str, device: &str) -> Result<IssuedToken> {
    check_id("ID perangkat", device)?;
    let tx = conn.transaction()?;
    let posyandu: String = tx
        .query_row("SELECT posyandu_id FROM kader WHERE id = ?1", [kader], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AdminError::NotFound { kind: "Kader", id: kader.into() })?;
    let other: Option<String> = tx
        .query_row(
            "SELECT kader_id FROM token WHERE device_id = ?1 AND kind = 'device' AND revoked_at IS NULL AND kader_id <> ?2",
            [device, kader],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = other {
        return Err(AdminError::Conflict(format!(
            "perangkat {device} masih terdaftar untuk kader {other}; cabut dulu dengan revoke-device"
        )));
    }
    let now = now_unix();
    tx.execute(
        "UPDATE token SET revoked_at = ?2 WHERE device_id = ?1 AND kind = 'device' AND revoked_at IS NULL",
        params![device, now],
    )?;
    let (token, hash) = new_token();
    tx.execute(
        "INSERT INTO token (hash, kind, device_id, kader_id, posyandu_id, created_at) VALUES (?1, 'device', ?2, ?3, ?4, ?5)",
        params![&hash[..], device, kader, posyandu, now],
    )?;
    let token_id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(IssuedToken { token_id, token })
}

/// Revokes every active token of a device; returns how many.
pub fn revoke_device(conn: &Connection, device: &str) -> Result<usize> {
    let n = conn.execute(
        "UPDATE token SET revoked_at = ?2 WHERE device_id = ?1 AND kind = 'device' AND revoked_at IS NULL",
        params![device, now_unix()],
    )?;
    if n == 0 {
        return Err(AdminError::NotFound { kind: "Perangkat aktif", id: device.into() });
    }
    Ok(n)
}

/// Issues a read-only Puskesmas token (earlier ones stay valid until revoked).
pub fn puskesmas_token(conn: &Connection, puskesmas: &str) -> Result<IssuedToken> {
    if !exists(conn, "puskesmas", puskesmas)? {
        return Err(AdminError::NotFound { kind: "Puskesmas", id: puskesmas.into() });
    }
    let (token, hash) = new_token();
    conn.execute(
        "INSERT INTO token (hash, kind, puskesmas_id, created_at) VALUES (?1, 'puskesmas', ?2, ?3)",
        params![&hash[..], puskesmas, now_unix()],
    )?;
    Ok(IssuedToken { token_id: conn.last_insert_rowid(), token })
}

/// Revokes one token by id (any kind).
pub fn revoke_token(conn: &Connection, token_id: i64) -> Result<()> {
    let n = conn.execute(
        "UPDATE token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![token_id, now_unix()],
    )?;
    if n == 0 {
        return Err(AdminError::NotFound { kind: "Token aktif", id: token_id.to_string() });
    }
    Ok(())
}

/// A human-readable listing of the registry, for `admin list`.
pub fn list(conn: &Connection) -> Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut stmt = conn.prepare("SELECT id, name FROM puskesmas ORDER BY id")?;
    for r in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, name) = r?;
        let _ = writeln!(out, "Puskesmas {id}  {name}");
    }
    let mut stmt = conn.prepare(
        "SELECT p.id, p.name, coalesce(p.puskesmas_id, '-'),
                (SELECT count(*) FROM doc d WHERE d.scope = p.id),
                coalesce((SELECT last_seq FROM scope_counter s WHERE s.scope = p.id), 0)
         FROM posyandu p ORDER BY p.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    for r in rows {
        let (id, name, pkm, docs, seq) = r?;
        let _ = writeln!(out, "Posyandu {id}  {name}  (Puskesmas {pkm}; {docs} rumah tangga, log sampai {seq})");
    }
    let mut stmt = conn.prepare("SELECT id, name, posyandu_id FROM kader ORDER BY posyandu_id, id")?;
    for r in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))? {
        let (id, name, p) = r?;
        let _ = writeln!(out, "Kader {id}  {name}  (Posyandu {p})");
    }
    let mut stmt = conn.prepare(
        "SELECT id, kind, coalesce(device_id, ''), coalesce(kader_id, ''), coalesce(puskesmas_id, ''), created_at, revoked_at
         FROM token ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, Option<i64>>(6)?,
        ))
    })?;
    for r in rows {
        let (id, kind, device, kader, pkm, created, revoked) = r?;
        let who =
            if kind == "device" { format!("perangkat {device} kader {kader}") } else { format!("Puskesmas {pkm}") };
        let state = revoked.map_or("aktif".to_string(), |t| format!("dicabut {}", date(t)));
        let _ = writeln!(out, "Token #{id}  {kind}  {who}  dibuat {}  {state}", date(created));
    }
    Ok(out)
}

/// Unix seconds as an RFC 3339 UTC time.
fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
