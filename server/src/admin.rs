//! Registration operations used by the `posyandu-relay admin` CLI, for both backends.
//!
//! The checks (id and name formats, existence, kader moves, token rotation) live here
//! once; a backend only implements the small [`Registry`] trait of storage primitives
//! (SQLite: `rusqlite::Connection`; PostgreSQL: `storage::postgres::PgRegistry`).
//!
//! Adding a Puskesmas, Posyandu or kader again updates its name (idempotent).
//! Tokens are printed once by the caller and stored only as hashes.

use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::new_token as fresh_token;

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
    #[error("database: {0}")]
    Backend(String),
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

/// Registry tables that can be checked for an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Puskesmas,
    Posyandu,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Puskesmas => "puskesmas",
            Table::Posyandu => "posyandu",
        }
    }
}

/// The registry's rows for `admin list`.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// (id, name)
    pub puskesmas: Vec<(String, String)>,
    /// (id, name, puskesmas or '-', documents, last seq)
    pub posyandu: Vec<(String, String, String, i64, i64)>,
    /// (id, name, posyandu)
    pub kader: Vec<(String, String, String)>,
    /// (id, kind, device, kader, puskesmas, created_at, revoked_at)
    pub tokens: Vec<(i64, String, String, String, String, i64, Option<i64>)>,
}

/// Storage primitives of the registry; the rules are in this module's functions.
pub trait Registry {
    fn exists(&self, table: Table, id: &str) -> Result<bool>;
    /// Inserts, or updates the name.
    fn upsert_puskesmas(&self, id: &str, name: &str, now: i64) -> Result<()>;
    /// Inserts, or updates the name (and the Puskesmas when given).
    fn upsert_posyandu(&self, id: &str, name: &str, puskesmas: Option<&str>, now: i64) -> Result<()>;
    /// The Posyandu of a kader, if registered.
    fn kader_posyandu(&self, kader: &str) -> Result<Option<String>>;
    /// Inserts, or updates the name.
    fn upsert_kader(&self, id: &str, name: &str, posyandu: &str, now: i64) -> Result<()>;
    /// In ONE transaction: if the device has an active token of another kader, return
    /// `Ok(Err(that kader))` and change nothing; otherwise revoke the device's active
    /// tokens and insert a device token with `hash`, returning its id.
    fn replace_device_token(
        &self,
        device: &str,
        kader: &str,
        posyandu: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<std::result::Result<i64, String>>;
    fn insert_puskesmas_token(&self, puskesmas: &str, hash: &[u8; 32], now: i64) -> Result<i64>;
    /// Revokes the device's active tokens; returns how many.
    fn revoke_device_tokens(&self, device: &str, now: i64) -> Result<u64>;
    /// Revokes one active token; returns 0 or 1.
    fn revoke_token_id(&self, token_id: i64, now: i64) -> Result<u64>;
    fn listing(&self) -> Result<Listing>;
    /// Replaces the relay's epoch (one row; see `docs/sync-protocol.md`).
    fn set_epoch(&self, epoch: u64) -> Result<()>;
    /// The newest refused pushes, optionally of one device.
    fn refusals(&self, device: Option<&str>, limit: usize) -> Result<Vec<crate::storage::Refusal>>;
    /// A page of stored documents `(id, scope, snapshot)` ordered by id after `after`.
    fn doc_page(&self, posyandu: Option<&str>, after: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, String, Vec<u8>)>>;
    /// Inserts or replaces a Posyandu's SATUSEHAT ids (`posyandu_name` is not stored).
    fn set_satusehat(&self, config: &crate::storage::SatusehatConfig, now: i64) -> Result<()>;
    /// Inserts or replaces the KFA code of an antigen for a Puskesmas' SATUSEHAT org.
    fn set_kfa(&self, puskesmas_org: &str, antigen: &str, code: &str, display: &str, now: i64) -> Result<()>;
}

/// Maps an antigen of the immunisation schedule to the KFA code of the vaccine product a
/// Puskesmas uses (`posyandu-relay admin satusehat-kfa`): its Immunizations then carry
/// `http://sys-ids.kemkes.go.id/kfa`. KFA codes are product-level, so each Puskesmas
/// supplies its own; the relay ships none (`server/data/satusehat-codes.json`).
pub fn set_kfa<R: Registry + ?Sized>(
    reg: &R,
    puskesmas_org: &str,
    antigen: &str,
    code: &str,
    display: &str,
) -> Result<()> {
    crate::storage::satusehat::check_satusehat_id("ID Organization Puskesmas", puskesmas_org)?;
    crate::storage::satusehat::check_kfa(antigen, code, display)?;
    reg.set_kfa(puskesmas_org, antigen, code, display.trim(), now_unix())
}

/// Sets the SATUSEHAT ids the FHIR export of a registered Posyandu references
/// (`posyandu-relay admin satusehat`); see [`crate::storage::satusehat`].
pub fn set_satusehat<R: Registry + ?Sized>(reg: &R, config: &crate::storage::SatusehatConfig) -> Result<()> {
    crate::storage::satusehat::check_config(config)?;
    if !reg.exists(Table::Posyandu, &config.posyandu_id)? {
        return Err(AdminError::NotFound { kind: "Posyandu", id: config.posyandu_id.clone() });
    }
    reg.set_satusehat(config, now_unix())
}

pub fn add_puskesmas<R: Registry + ?Sized>(reg: &R, id: &str, name: &str) -> Result<()> {
    check_id("ID Puskesmas", id)?;
    check_name(name)?;
    reg.upsert_puskesmas(id, name.trim(), now_unix())
}

pub fn add_posyandu<R: Registry + ?Sized>(reg: &R, id: &str, name: &str, puskesmas: Option<&str>) -> Result<()> {
    check_id("ID Posyandu", id)?;
    check_name(name)?;
    if let Some(p) = puskesmas {
        if !reg.exists(Table::Puskesmas, p)? {
            return Err(AdminError::NotFound { kind: "Puskesmas", id: p.into() });
        }
    }
    reg.upsert_posyandu(id, name.trim(), puskesmas, now_unix())
}

pub fn add_kader<R: Registry + ?Sized>(reg: &R, id: &str, name: &str, posyandu: &str) -> Result<()> {
    check_id("ID kader", id)?;
    check_name(name)?;
    if !reg.exists(Table::Posyandu, posyandu)? {
        return Err(AdminError::NotFound { kind: "Posyandu", id: posyandu.into() });
    }
    if let Some(cur) = reg.kader_posyandu(id)?.filter(|c| c != posyandu) {
        // Moving a kader would silently move their devices' scope: make it explicit.
        return Err(AdminError::Conflict(format!(
            "kader {id} terdaftar di Posyandu {cur}; cabut perangkatnya dan daftarkan dengan ID kader baru"
        )));
    }
    reg.upsert_kader(id, name.trim(), posyandu, now_unix())
}

/// Issues a token for device `device` of kader `kader`. Any earlier active token of
/// the device is revoked (so re-running this rotates the device's token).
pub fn add_device<R: Registry + ?Sized>(reg: &R, kader: &str, device: &str) -> Result<IssuedToken> {
    check_id("ID perangkat", device)?;
    let posyandu =
        reg.kader_posyandu(kader)?.ok_or_else(|| AdminError::NotFound { kind: "Kader", id: kader.into() })?;
    let (token, hash) = fresh_token();
    match reg.replace_device_token(device, kader, &posyandu, &hash, now_unix())? {
        Ok(token_id) => Ok(IssuedToken { token_id, token }),
        Err(other) => Err(AdminError::Conflict(format!(
            "perangkat {device} masih terdaftar untuk kader {other}; cabut dulu dengan revoke-device"
        ))),
    }
}

/// Revokes every active token of a device; returns how many.
pub fn revoke_device<R: Registry + ?Sized>(reg: &R, device: &str) -> Result<usize> {
    let n = reg.revoke_device_tokens(device, now_unix())?;
    if n == 0 {
        return Err(AdminError::NotFound { kind: "Perangkat aktif", id: device.into() });
    }
    Ok(n as usize)
}

/// Issues a read-only Puskesmas token (earlier ones stay valid until revoked).
pub fn puskesmas_token<R: Registry + ?Sized>(reg: &R, puskesmas: &str) -> Result<IssuedToken> {
    if !reg.exists(Table::Puskesmas, puskesmas)? {
        return Err(AdminError::NotFound { kind: "Puskesmas", id: puskesmas.into() });
    }
    let (token, hash) = fresh_token();
    let token_id = reg.insert_puskesmas_token(puskesmas, &hash, now_unix())?;
    Ok(IssuedToken { token_id, token })
}

/// Revokes one token by id (any kind).
pub fn revoke_token<R: Registry + ?Sized>(reg: &R, token_id: i64) -> Result<()> {
    if reg.revoke_token_id(token_id, now_unix())? == 0 {
        return Err(AdminError::NotFound { kind: "Token aktif", id: token_id.to_string() });
    }
    Ok(())
}

/// Gives the relay a new random epoch and returns it (`admin new-epoch`). Run it after
/// restoring a backup and before starting the relay: phones that see the new epoch
/// re-pull the log from 0 and re-push every change they hold, which puts back what
/// the backup lacks and stops them from skipping reused log positions.
pub fn new_epoch<R: Registry + ?Sized>(reg: &R) -> Result<u64> {
    // 1..2^62, like the migration: positive in both databases' signed 64-bit integers.
    let epoch = rand::random::<u64>() % (1 << 62) + 1;
    reg.set_epoch(epoch)?;
    Ok(epoch)
}

/// A human-readable listing of the registry, for `admin list`.
pub fn list<R: Registry + ?Sized>(reg: &R) -> Result<String> {
    use std::fmt::Write as _;
    let l = reg.listing()?;
    let mut out = String::new();
    for (id, name) in &l.puskesmas {
        let _ = writeln!(out, "Puskesmas {id}  {name}");
    }
    for (id, name, pkm, docs, seq) in &l.posyandu {
        let _ = writeln!(out, "Posyandu {id}  {name}  (Puskesmas {pkm}; {docs} rumah tangga, log sampai {seq})");
    }
    for (id, name, p) in &l.kader {
        let _ = writeln!(out, "Kader {id}  {name}  (Posyandu {p})");
    }
    for (id, kind, device, kader, pkm, created, revoked) in &l.tokens {
        let who =
            if kind == "device" { format!("perangkat {device} kader {kader}") } else { format!("Puskesmas {pkm}") };
        let state = revoked.map_or("aktif".to_string(), |t| format!("dicabut {}", date(t)));
        let _ = writeln!(out, "Token #{id}  {kind}  {who}  dibuat {}  {state}", date(*created));
    }
    Ok(out)
}

/// Refused pushes, newest first, for `admin refusals`: when, which device, which
/// document and where in it, and why — never a value.
pub fn refusals<R: Registry + ?Sized>(reg: &R, device: Option<&str>, limit: usize) -> Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in reg.refusals(device, limit)? {
        let _ = writeln!(
            out,
            "{}  perangkat {} (token #{}, Posyandu {})  {}  dokumen {}  {}  {}",
            date(r.at),
            r.device_id,
            r.token_id,
            r.posyandu_id,
            r.code,
            r.doc_id.as_deref().unwrap_or("-"),
            r.path.as_deref().unwrap_or("-"),
            r.reason
        );
    }
    if out.is_empty() {
        out.push_str("Tidak ada kiriman yang ditolak.\n");
    }
    Ok(out)
}

/// Records the relay's readers cannot use, per stored document (`admin problems`):
/// values stored before the relay checked pushes, or written by a newer app version.
/// Paths and reasons only. Returns the listing and the number of documents read.
/// `keys` opens the sealed snapshots (see [`crate::at_rest`]).
pub fn problems<R: Registry + ?Sized>(
    reg: &R,
    keys: &crate::at_rest::AtRest,
    posyandu: Option<&str>,
) -> Result<(String, usize)> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut after: Vec<u8> = Vec::new();
    let mut docs = 0usize;
    loop {
        let page = reg.doc_page(posyandu, &after, 200)?;
        let Some(last) = page.last().map(|(id, _, _)| id.clone()) else { break };
        for (id, scope, snapshot) in page {
            docs += 1;
            let label = uuid::Uuid::from_slice(&id).map(|u| u.to_string()).unwrap_or_else(|_| hex::encode(&id));
            let read = keys
                .open(&scope, &id, crate::at_rest::Blob::Snapshot, &snapshot)
                .map_err(|e| e.to_string())
                .and_then(|s| automerge::Automerge::load(&s).map_err(|e| e.to_string()))
                .and_then(|d| posyandu_records::doc::read_household(&d).map_err(|e| e.to_string()));
            match read {
                Ok(r) => {
                    for p in r.problems {
                        let kind = match p.kind {
                            posyandu_records::doc::ProblemKind::Invalid => "tidak valid",
                            posyandu_records::doc::ProblemKind::Newer => "versi lebih baru",
                        };
                        let _ = writeln!(out, "Posyandu {scope}  dokumen {label}  {}  {kind}: {}", p.path, p.reason);
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "Posyandu {scope}  dokumen {label}  tidak terbaca: {e}");
                }
            }
        }
        after = last;
    }
    Ok((out, docs))
}

/// The SQLite registry: a relay database connection.
impl Registry for Connection {
    fn exists(&self, table: Table, id: &str) -> Result<bool> {
        let sql = format!("SELECT 1 FROM {} WHERE id = ?1", table.name());
        Ok(self.query_row(&sql, [id], |_| Ok(())).optional()?.is_some())
    }

    fn upsert_puskesmas(&self, id: &str, name: &str, now: i64) -> Result<()> {
        self.execute(
            "INSERT INTO puskesmas (id, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![id, name, now],
        )?;
        Ok(())
    }

    fn upsert_posyandu(&self, id: &str, name: &str, puskesmas: Option<&str>, now: i64) -> Result<()> {
        self.execute(
            "INSERT INTO posyandu (id, name, puskesmas_id, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, puskesmas_id = coalesce(excluded.puskesmas_id, puskesmas_id)",
            params![id, name, puskesmas, now],
        )?;
        Ok(())
    }

    fn kader_posyandu(&self, kader: &str) -> Result<Option<String>> {
        Ok(self.query_row("SELECT posyandu_id FROM kader WHERE id = ?1", [kader], |r| r.get(0)).optional()?)
    }

    fn upsert_kader(&self, id: &str, name: &str, posyandu: &str, now: i64) -> Result<()> {
        self.execute(
            "INSERT INTO kader (id, name, posyandu_id, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![id, name, posyandu, now],
        )?;
        Ok(())
    }

    fn replace_device_token(
        &self,
        device: &str,
        kader: &str,
        posyandu: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<std::result::Result<i64, String>> {
        let tx = self.unchecked_transaction()?;
        let other: Option<String> = tx
            .query_row(
                "SELECT kader_id FROM token WHERE device_id = ?1 AND kind = 'device' AND revoked_at IS NULL AND kader_id <> ?2",
                params![device, kader],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = other {
            return Ok(Err(other));
        }
        tx.execute(
            "UPDATE token SET revoked_at = ?2 WHERE device_id = ?1 AND kind = 'device' AND revoked_at IS NULL",
            params![device, now],
        )?;
        tx.execute(
            "INSERT INTO token (hash, kind, device_id, kader_id, posyandu_id, created_at) VALUES (?1, 'device', ?2, ?3, ?4, ?5)",
            params![&hash[..], device, kader, posyandu, now],
        )?;
        let token_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Ok(token_id))
    }

    fn insert_puskesmas_token(&self, puskesmas: &str, hash: &[u8; 32], now: i64) -> Result<i64> {
        self.execute(
            "INSERT INTO token (hash, kind, puskesmas_id, created_at) VALUES (?1, 'puskesmas', ?2, ?3)",
            params![&hash[..], puskesmas, now],
        )?;
        Ok(self.last_insert_rowid())
    }

    fn revoke_device_tokens(&self, device: &str, now: i64) -> Result<u64> {
        Ok(self.execute(
            "UPDATE token SET revoked_at = ?2 WHERE device_id = ?1 AND kind = 'device' AND revoked_at IS NULL",
            params![device, now],
        )? as u64)
    }

    fn revoke_token_id(&self, token_id: i64, now: i64) -> Result<u64> {
        Ok(self
            .execute("UPDATE token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![token_id, now])?
            as u64)
    }

    fn listing(&self) -> Result<Listing> {
        let mut l = Listing::default();
        let mut stmt = self.prepare("SELECT id, name FROM puskesmas ORDER BY id")?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            l.puskesmas.push(r?);
        }
        let mut stmt = self.prepare(
            "SELECT p.id, p.name, coalesce(p.puskesmas_id, '-'),
                    (SELECT count(*) FROM doc d WHERE d.scope = p.id),
                    coalesce((SELECT last_seq FROM scope_counter s WHERE s.scope = p.id), 0)
             FROM posyandu p ORDER BY p.id",
        )?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))? {
            l.posyandu.push(r?);
        }
        let mut stmt = self.prepare("SELECT id, name, posyandu_id FROM kader ORDER BY posyandu_id, id")?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            l.kader.push(r?);
        }
        let mut stmt = self.prepare(
            "SELECT id, kind, coalesce(device_id, ''), coalesce(kader_id, ''), coalesce(puskesmas_id, ''), created_at, revoked_at
             FROM token ORDER BY id",
        )?;
        for r in
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
        {
            l.tokens.push(r?);
        }
        Ok(l)
    }

    fn set_epoch(&self, epoch: u64) -> Result<()> {
        crate::storage::sqlite::set_epoch(self, epoch)?;
        Ok(())
    }

    fn refusals(&self, device: Option<&str>, limit: usize) -> Result<Vec<crate::storage::Refusal>> {
        Ok(crate::storage::sqlite::list_refusals(self, device, limit)?)
    }

    fn set_satusehat(&self, config: &crate::storage::SatusehatConfig, now: i64) -> Result<()> {
        Ok(crate::storage::satusehat::sqlite_set_config(self, config, now)?)
    }

    fn set_kfa(&self, puskesmas_org: &str, antigen: &str, code: &str, display: &str, now: i64) -> Result<()> {
        Ok(crate::storage::satusehat::sqlite_set_kfa(self, puskesmas_org, antigen, code, display, now)?)
    }

    fn doc_page(&self, posyandu: Option<&str>, after: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, String, Vec<u8>)>> {
        let mut stmt = self.prepare(
            "SELECT id, scope, snapshot FROM doc WHERE (?1 IS NULL OR scope = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![posyandu, after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Unix seconds as an RFC 3339 UTC time.
pub(crate) fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
