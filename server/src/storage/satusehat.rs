//! Storage of the SATUSEHAT export (issue 14), both backends (migration 7):
//!
//! - `satusehat_config`: per Posyandu the SATUSEHAT ids the FHIR bundles reference (its
//!   Organization, the Puskesmas' Organization, its Location, the responsible bidan's
//!   Practitioner IHS number) and its UTC offset. Set by `posyandu-relay admin
//!   satusehat`. Ids only: SATUSEHAT credentials never reach the relay.
//! - `ihs_number`: members' IHS numbers (SATUSEHAT patient ids from the Puskesmas' MPI
//!   lookups, uploaded with `POST /v1/fhir/ihs`), keyed by
//!   [`AtRest::nik_index`] (a keyed HMAC of the NIK, never the NIK), the IHS number
//!   sealed at rest bound to that key ([`Blob::Ihs`]).

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use rusqlite::{params, Connection, OptionalExtension};

use crate::admin::{self, AdminError};
use crate::at_rest::{AtRest, Blob};
use crate::error::ApiError;

/// SATUSEHAT identifiers of one Posyandu: what the FHIR export references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SatusehatConfig {
    pub posyandu_id: String,
    /// The Posyandu's name in the registry (`Organization.name`, `Location.name`).
    pub posyandu_name: String,
    /// The Posyandu's Organization id in SATUSEHAT.
    pub org_id: String,
    /// The Puskesmas' Organization id in SATUSEHAT (the facility whose credentials
    /// upload; names the `sys-ids.kemkes.go.id/*/{org}` identifier systems).
    pub puskesmas_org_id: String,
    /// The Posyandu's Location id in SATUSEHAT.
    pub location_id: String,
    /// The responsible bidan's Practitioner IHS number (kader are not health workers).
    pub bidan_ihs: String,
    pub bidan_name: String,
    /// `+07:00` (WIB), `+08:00` (WITA) or `+09:00` (WIT).
    pub utc_offset: String,
    /// KFA code and display per antigen code, as the Puskesmas mapped its vaccines
    /// (`posyandu-relay admin satusehat-kfa`); read with the configuration, not stored
    /// by [`sqlite_set_config`].
    pub kfa: std::collections::BTreeMap<String, (String, String)>,
}

/// A KFA code as the Puskesmas maps it: 4–20 letters or digits (product codes such as
/// `93005208`).
pub fn check_kfa(antigen: &str, code: &str, display: &str) -> Result<(), AdminError> {
    if !posyandu_records::rules::immunisation::is_known_antigen(antigen) {
        return Err(AdminError::Invalid(format!(
            "antigen {} tidak dikenal jadwal imunisasi",
            crate::error::truncate(antigen, 32)
        )));
    }
    if !(4..=20).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AdminError::Invalid("kode KFA tidak valid: 4–20 huruf atau angka".into()));
    }
    let d = display.trim();
    if d.is_empty() || d.chars().count() > 200 || d.chars().any(char::is_control) {
        return Err(AdminError::Invalid("nama produk KFA wajib diisi (maksimal 200 karakter)".into()));
    }
    Ok(())
}

/// Accepted UTC offsets (Indonesia's three zones).
pub const UTC_OFFSETS: [&str; 3] = ["+07:00", "+08:00", "+09:00"];

/// A SATUSEHAT resource id: 1–64 of `A-Z a-z 0-9 - .` (UUIDs, IHS numbers).
pub fn check_satusehat_id(what: &str, id: &str) -> Result<(), AdminError> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!("{what} tidak valid: gunakan 1–64 huruf, angka, '-' atau '.'")))
    }
}

/// A patient IHS number as SATUSEHAT's MPI gives it: `P` and 11 digits (e.g.
/// `P02280547535`), or the older 12-digit form (e.g. `100000030009`, sandbox patients).
pub fn is_ihs_number(s: &str) -> bool {
    let digits = s.strip_prefix('P').unwrap_or(s);
    (10..=14).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a configuration (ids, offset, name of the bidan).
pub fn check_config(c: &SatusehatConfig) -> Result<(), AdminError> {
    admin::check_id("ID Posyandu", &c.posyandu_id)?;
    check_satusehat_id("ID Organization Posyandu", &c.org_id)?;
    check_satusehat_id("ID Organization Puskesmas", &c.puskesmas_org_id)?;
    check_satusehat_id("ID Location", &c.location_id)?;
    check_satusehat_id("IHS bidan (Practitioner)", &c.bidan_ihs)?;
    let n = c.bidan_name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AdminError::Invalid("nama bidan wajib diisi (maksimal 200 karakter)".into()));
    }
    if !UTC_OFFSETS.contains(&c.utc_offset.as_str()) {
        return Err(AdminError::Invalid("zona waktu harus +07:00 (WIB), +08:00 (WITA) atau +09:00 (WIT)".into()));
    }
    Ok(())
}

const SELECT_CONFIG: &str = "SELECT p.id, p.name, c.org_id, c.puskesmas_org_id, c.location_id, c.bidan_ihs, \
     c.bidan_name, c.utc_offset FROM satusehat_config c JOIN posyandu p ON p.id = c.posyandu_id WHERE c.posyandu_id = ";

const SELECT_KFA: &str = "SELECT antigen, kfa_code, kfa_display FROM satusehat_kfa WHERE puskesmas_org_id = ";

pub fn sqlite_config(conn: &Connection, posyandu: &str) -> rusqlite::Result<Option<SatusehatConfig>> {
    let Some(mut c) = sqlite_config_row(conn, posyandu)? else { return Ok(None) };
    let mut st = conn.prepare_cached(&format!("{SELECT_KFA}?1"))?;
    let rows = st.query_map([&c.puskesmas_org_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
    c.kfa = rows.collect::<rusqlite::Result<_>>()?;
    Ok(Some(c))
}

fn sqlite_config_row(conn: &Connection, posyandu: &str) -> rusqlite::Result<Option<SatusehatConfig>> {
    conn.query_row(&format!("{SELECT_CONFIG}?1"), [posyandu], |r| {
        Ok(SatusehatConfig {
            posyandu_id: r.get(0)?,
            posyandu_name: r.get(1)?,
            org_id: r.get(2)?,
            puskesmas_org_id: r.get(3)?,
            location_id: r.get(4)?,
            bidan_ihs: r.get(5)?,
            bidan_name: r.get(6)?,
            utc_offset: r.get(7)?,
            kfa: Default::default(),
        })
    })
    .optional()
}

pub async fn pg_config(
    client: &impl GenericClient,
    posyandu: &str,
) -> Result<Option<SatusehatConfig>, tokio_postgres::Error> {
    let Some(r) = client.query_opt(&format!("{SELECT_CONFIG}$1"), &[&posyandu]).await? else { return Ok(None) };
    let puskesmas_org_id: String = r.get(3);
    let kfa = client
        .query(&format!("{SELECT_KFA}$1"), &[&puskesmas_org_id])
        .await?
        .iter()
        .map(|k| (k.get(0), (k.get(1), k.get(2))))
        .collect();
    Ok(Some(SatusehatConfig {
        posyandu_id: r.get(0),
        posyandu_name: r.get(1),
        org_id: r.get(2),
        puskesmas_org_id,
        location_id: r.get(4),
        bidan_ihs: r.get(5),
        bidan_name: r.get(6),
        utc_offset: r.get(7),
        kfa,
    }))
}

pub const UPSERT_KFA: &str =
    "INSERT INTO satusehat_kfa (puskesmas_org_id, antigen, kfa_code, kfa_display, updated_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (puskesmas_org_id, antigen) DO UPDATE SET kfa_code = excluded.kfa_code, \
     kfa_display = excluded.kfa_display, updated_at = excluded.updated_at";

pub fn sqlite_set_kfa(
    conn: &Connection,
    org: &str,
    antigen: &str,
    code: &str,
    display: &str,
    now: i64,
) -> rusqlite::Result<()> {
    // SQLite takes `$n` parameters too.
    conn.execute(UPSERT_KFA, params![org, antigen, code, display.trim(), now])?;
    Ok(())
}

pub const UPSERT_CONFIG_SQLITE: &str = "INSERT INTO satusehat_config (posyandu_id, org_id, puskesmas_org_id, \
     location_id, bidan_ihs, bidan_name, utc_offset, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (posyandu_id) DO UPDATE SET org_id = excluded.org_id, puskesmas_org_id = excluded.puskesmas_org_id, \
     location_id = excluded.location_id, bidan_ihs = excluded.bidan_ihs, bidan_name = excluded.bidan_name, \
     utc_offset = excluded.utc_offset, updated_at = excluded.updated_at";

pub const UPSERT_CONFIG_PG: &str = "INSERT INTO satusehat_config (posyandu_id, org_id, puskesmas_org_id, \
     location_id, bidan_ihs, bidan_name, utc_offset, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (posyandu_id) DO UPDATE SET org_id = excluded.org_id, puskesmas_org_id = excluded.puskesmas_org_id, \
     location_id = excluded.location_id, bidan_ihs = excluded.bidan_ihs, bidan_name = excluded.bidan_name, \
     utc_offset = excluded.utc_offset, updated_at = excluded.updated_at";

pub fn sqlite_set_config(conn: &Connection, c: &SatusehatConfig, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        UPSERT_CONFIG_SQLITE,
        params![
            c.posyandu_id,
            c.org_id,
            c.puskesmas_org_id,
            c.location_id,
            c.bidan_ihs,
            c.bidan_name.trim(),
            c.utc_offset,
            now
        ],
    )?;
    Ok(())
}

pub fn sqlite_put_ihs(
    conn: &mut Connection,
    keys: &AtRest,
    scope: &str,
    rows: &[(String, String)],
) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let now = super::sqlite::now_unix();
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO ihs_number (scope, nik_key, ihs, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope, nik_key) DO UPDATE SET ihs = excluded.ihs, updated_at = excluded.updated_at",
        )?;
        for (nik, ihs) in rows {
            let key = keys.nik_index(scope, nik);
            st.execute(params![scope, &key[..], keys.seal(scope, &key, Blob::Ihs, ihs.as_bytes()), now])?;
        }
    }
    tx.commit()?;
    Ok(rows.len() as u64)
}

fn open_ihs(keys: &AtRest, scope: &str, key: &[u8], blob: &[u8]) -> Result<String, ApiError> {
    let plain = keys.open(scope, key, Blob::Ihs, blob)?;
    String::from_utf8(plain.into_owned()).map_err(|_| ApiError::internal("stored IHS number is not UTF-8"))
}

pub fn sqlite_ihs(
    conn: &Connection,
    keys: &AtRest,
    scope: &str,
    niks: &[String],
) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    let mut st = conn.prepare_cached("SELECT ihs FROM ihs_number WHERE scope = ?1 AND nik_key = ?2")?;
    for nik in niks {
        let key = keys.nik_index(scope, nik);
        if let Some(blob) = st.query_row(params![scope, &key[..]], |r| r.get::<_, Vec<u8>>(0)).optional()? {
            out.insert(nik.clone(), open_ihs(keys, scope, &key, &blob)?);
        }
    }
    Ok(out)
}

pub async fn pg_put_ihs(
    client: &impl GenericClient,
    keys: &AtRest,
    scope: &str,
    rows: &[(String, String)],
) -> Result<u64, tokio_postgres::Error> {
    let now = super::sqlite::now_unix();
    let st = client
        .prepare_cached(
            "INSERT INTO ihs_number (scope, nik_key, ihs, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (scope, nik_key) DO UPDATE SET ihs = excluded.ihs, updated_at = excluded.updated_at",
        )
        .await?;
    for (nik, ihs) in rows {
        let key = keys.nik_index(scope, nik);
        let sealed = keys.seal(scope, &key, Blob::Ihs, ihs.as_bytes());
        client.execute(&st, &[&scope, &&key[..], &sealed, &now]).await?;
    }
    Ok(rows.len() as u64)
}

pub async fn pg_ihs(
    client: &impl GenericClient,
    keys: &AtRest,
    scope: &str,
    niks: &[String],
) -> Result<HashMap<String, String>, ApiError> {
    let index: Vec<([u8; 32], &String)> = niks.iter().map(|n| (keys.nik_index(scope, n), n)).collect();
    let key_list: Vec<&[u8]> = index.iter().map(|(k, _)| &k[..]).collect();
    let rows = client
        .query("SELECT nik_key, ihs FROM ihs_number WHERE scope = $1 AND nik_key = ANY($2)", &[&scope, &key_list])
        .await?;
    let by_key: HashMap<Vec<u8>, Vec<u8>> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut out = HashMap::new();
    for (key, nik) in &index {
        if let Some(blob) = by_key.get(&key[..]) {
            out.insert((*nik).clone(), open_ihs(keys, scope, key, blob)?);
        }
    }
    Ok(out)
}
