//! Registering desa/kelurahan principals and issuing their tokens (`posyandu-relay admin
//! add-desa`, `desa-token`, `revoke-desa-token`), the kader koordinator of a Posyandu
//! (`admin koordinator`), and resolving a desa token, for both backends. Rules here
//! once; [`DesaRegistry`] holds the storage primitives.

use rusqlite::{params, Connection, OptionalExtension};

use crate::admin::{check_id, AdminError, IssuedToken, Registry, Result, Table};
use crate::auth::{new_token, DesaPrincipal, Principal, TokenLookup};
use crate::storage::postgres::PgRegistry;
use crate::storage::sqlite::now_unix;

/// Most village codes one desa principal holds (a kelurahan office covering several).
pub const MAX_KODES: usize = 20;
/// Most Posyandu serving one desa.
pub const MAX_POSYANDU: usize = 100;

pub trait DesaRegistry: Registry {
    /// Inserts the desa or updates its name, and replaces its village codes and
    /// Posyandu, in ONE transaction.
    fn upsert_desa(&self, id: &str, name: &str, kodes: &[String], posyandu: &[String], now: i64) -> Result<()>;
    fn desa_exists(&self, id: &str) -> Result<bool>;
    fn insert_desa_token(&self, desa: &str, hash: &[u8; 32], now: i64) -> Result<i64>;
    /// Revokes one active desa token; returns 0 or 1.
    fn revoke_desa_token(&self, token_id: i64, now: i64) -> Result<u64>;
    /// Adds (`on`) or removes kader `kader` as koordinator of `posyandu`; returns rows changed.
    fn set_koordinator(&self, posyandu: &str, kader: &str, on: bool, now: i64) -> Result<u64>;
}

/// A Kemendagri village code (`Address.kode_wilayah`): 10 digits.
pub fn check_kode(kode: &str) -> Result<()> {
    if kode.len() == 10 && kode.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "kode wilayah desa harus 10 angka: \"{}\"",
            kode.chars().take(20).collect::<String>()
        )))
    }
}

/// Registers (or updates) desa `id` for the village codes `kodes`, whose households are
/// synced through the Posyandu `posyandu` (each registered).
pub fn add_desa<R: DesaRegistry + ?Sized>(
    reg: &R,
    id: &str,
    name: &str,
    kodes: &[String],
    posyandu: &[String],
) -> Result<()> {
    check_id("ID desa", id)?;
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AdminError::Invalid("nama wajib diisi (maksimal 200 karakter)".into()));
    }
    let mut k: Vec<String> = kodes.iter().map(|s| s.trim().to_string()).collect();
    k.sort();
    k.dedup();
    if k.is_empty() || k.len() > MAX_KODES {
        return Err(AdminError::Invalid(format!("desa harus punya 1–{MAX_KODES} kode wilayah")));
    }
    for x in &k {
        check_kode(x)?;
    }
    let mut p: Vec<String> = posyandu.to_vec();
    p.sort();
    p.dedup();
    if p.is_empty() || p.len() > MAX_POSYANDU {
        return Err(AdminError::Invalid(format!("desa harus dilayani 1–{MAX_POSYANDU} Posyandu")));
    }
    for x in &p {
        if !reg.exists(Table::Posyandu, x)? {
            return Err(AdminError::NotFound { kind: "Posyandu", id: x.clone() });
        }
    }
    reg.upsert_desa(id, n, &k, &p, now_unix())
}

/// Issues a desa token (shown once; earlier ones stay valid until revoked).
pub fn desa_token<R: DesaRegistry + ?Sized>(reg: &R, desa: &str) -> Result<IssuedToken> {
    if !reg.desa_exists(desa)? {
        return Err(AdminError::NotFound { kind: "Desa", id: desa.into() });
    }
    let (token, hash) = new_token();
    let token_id = reg.insert_desa_token(desa, &hash, now_unix())?;
    Ok(IssuedToken { token_id, token })
}

pub fn revoke_desa_token<R: DesaRegistry + ?Sized>(reg: &R, token_id: i64) -> Result<()> {
    if reg.revoke_desa_token(token_id, now_unix())? == 0 {
        return Err(AdminError::NotFound { kind: "Token desa aktif", id: token_id.to_string() });
    }
    Ok(())
}

/// Makes kader `kader` (registered at `posyandu`) its koordinator, or removes her.
pub fn koordinator<R: DesaRegistry + ?Sized>(reg: &R, posyandu: &str, kader: &str, remove: bool) -> Result<()> {
    match reg.kader_posyandu(kader)? {
        Some(p) if p == posyandu => {}
        Some(_) => return Err(AdminError::Invalid(format!("kader {kader} tidak terdaftar di Posyandu {posyandu}"))),
        None => return Err(AdminError::NotFound { kind: "Kader", id: kader.into() }),
    }
    let n = reg.set_koordinator(posyandu, kader, !remove, now_unix())?;
    if remove && n == 0 {
        return Err(AdminError::NotFound { kind: "Koordinator", id: kader.into() });
    }
    Ok(())
}

impl DesaRegistry for Connection {
    fn upsert_desa(&self, id: &str, name: &str, kodes: &[String], posyandu: &[String], now: i64) -> Result<()> {
        let tx = self.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO desa (id, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![id, name, now],
        )?;
        tx.execute("DELETE FROM desa_kode WHERE desa_id = ?1", [id])?;
        tx.execute("DELETE FROM desa_posyandu WHERE desa_id = ?1", [id])?;
        for k in kodes {
            tx.execute("INSERT INTO desa_kode (desa_id, kode) VALUES (?1, ?2)", params![id, k])?;
        }
        for p in posyandu {
            tx.execute("INSERT INTO desa_posyandu (desa_id, posyandu_id) VALUES (?1, ?2)", params![id, p])?;
        }
        tx.commit()?;
        Ok(())
    }
    fn desa_exists(&self, id: &str) -> Result<bool> {
        Ok(self.query_row("SELECT 1 FROM desa WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some())
    }
    fn insert_desa_token(&self, desa: &str, hash: &[u8; 32], now: i64) -> Result<i64> {
        self.execute(
            "INSERT INTO desa_token (hash, desa_id, created_at) VALUES (?1, ?2, ?3)",
            params![&hash[..], desa, now],
        )?;
        Ok(self.last_insert_rowid())
    }
    fn revoke_desa_token(&self, token_id: i64, now: i64) -> Result<u64> {
        Ok(self.execute(
            "UPDATE desa_token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![token_id, now],
        )? as u64)
    }
    fn set_koordinator(&self, posyandu: &str, kader: &str, on: bool, now: i64) -> Result<u64> {
        Ok(if on {
            self.execute(
                "INSERT INTO koordinator (posyandu_id, kader_id, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (posyandu_id, kader_id) DO NOTHING",
                params![posyandu, kader, now],
            )?
        } else {
            self.execute("DELETE FROM koordinator WHERE posyandu_id = ?1 AND kader_id = ?2", params![posyandu, kader])?
        } as u64)
    }
}

impl DesaRegistry for PgRegistry {
    fn upsert_desa(&self, id: &str, name: &str, kodes: &[String], posyandu: &[String], now: i64) -> Result<()> {
        let (id, name, kodes, posyandu) = (id.to_string(), name.to_string(), kodes.to_vec(), posyandu.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute(
                    "INSERT INTO desa (id, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                    &[&id, &name, &now],
                )
                .await?;
                tx.execute("DELETE FROM desa_kode WHERE desa_id = $1", &[&id]).await?;
                tx.execute("DELETE FROM desa_posyandu WHERE desa_id = $1", &[&id]).await?;
                for k in &kodes {
                    tx.execute("INSERT INTO desa_kode (desa_id, kode) VALUES ($1, $2)", &[&id, k]).await?;
                }
                for p in &posyandu {
                    tx.execute("INSERT INTO desa_posyandu (desa_id, posyandu_id) VALUES ($1, $2)", &[&id, p]).await?;
                }
                tx.commit().await
            })
        })
    }
    fn desa_exists(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.run(move |c| {
            Box::pin(async move { Ok(c.query_opt("SELECT 1 FROM desa WHERE id = $1", &[&id]).await?.is_some()) })
        })
    }
    fn insert_desa_token(&self, desa: &str, hash: &[u8; 32], now: i64) -> Result<i64> {
        let (desa, hash) = (desa.to_string(), hash.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_one(
                        "INSERT INTO desa_token (hash, desa_id, created_at) VALUES ($1, $2, $3) RETURNING id",
                        &[&hash, &desa, &now],
                    )
                    .await?;
                Ok(row.get(0))
            })
        })
    }
    fn revoke_desa_token(&self, token_id: i64, now: i64) -> Result<u64> {
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE desa_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    &[&token_id, &now],
                )
                .await
            })
        })
    }
    fn set_koordinator(&self, posyandu: &str, kader: &str, on: bool, now: i64) -> Result<u64> {
        let (posyandu, kader) = (posyandu.to_string(), kader.to_string());
        self.run(move |c| {
            Box::pin(async move {
                if on {
                    c.execute(
                        "INSERT INTO koordinator (posyandu_id, kader_id, created_at) VALUES ($1, $2, $3)
                         ON CONFLICT (posyandu_id, kader_id) DO NOTHING",
                        &[&posyandu, &kader, &now],
                    )
                    .await
                } else {
                    c.execute("DELETE FROM koordinator WHERE posyandu_id = $1 AND kader_id = $2", &[&posyandu, &kader])
                        .await
                }
            })
        })
    }
}

/// A desa token by hash on SQLite (called by `storage::sqlite::lookup_token` when the
/// hash is neither a device/Puskesmas nor a bidan token).
pub fn lookup_sqlite(conn: &Connection, hash: &[u8; 32]) -> rusqlite::Result<Option<TokenLookup>> {
    let row: Option<(i64, String, String, Option<i64>)> = conn
        .prepare_cached(
            "SELECT t.id, t.desa_id, d.name, t.revoked_at FROM desa_token t JOIN desa d ON d.id = t.desa_id
             WHERE t.hash = ?1",
        )?
        .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((token_id, desa_id, name, revoked_at)) = row else { return Ok(None) };
    let kodes = conn
        .prepare_cached("SELECT kode FROM desa_kode WHERE desa_id = ?1 ORDER BY kode")?
        .query_map([&desa_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let posyandu_ids = conn
        .prepare_cached("SELECT posyandu_id FROM desa_posyandu WHERE desa_id = ?1 ORDER BY posyandu_id")?
        .query_map([&desa_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Some(TokenLookup {
        principal: Principal::Desa(DesaPrincipal { token_id, desa_id, name, kodes, posyandu_ids }),
        revoked: revoked_at.is_some(),
    }))
}

/// The same on PostgreSQL.
pub async fn lookup_pg<C: deadpool_postgres::GenericClient>(
    client: &C,
    hash: &[u8; 32],
) -> std::result::Result<Option<TokenLookup>, tokio_postgres::Error> {
    let stmt = client
        .prepare_cached(
            "SELECT t.id, t.desa_id, d.name, t.revoked_at FROM desa_token t JOIN desa d ON d.id = t.desa_id
             WHERE t.hash = $1",
        )
        .await?;
    let Some(row) = client.query_opt(&stmt, &[&&hash[..]]).await? else { return Ok(None) };
    let (token_id, desa_id, name, revoked_at): (i64, String, String, Option<i64>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let stmt = client.prepare_cached("SELECT kode FROM desa_kode WHERE desa_id = $1 ORDER BY kode").await?;
    let kodes = client.query(&stmt, &[&desa_id]).await?.into_iter().map(|r| r.get(0)).collect();
    let stmt =
        client.prepare_cached("SELECT posyandu_id FROM desa_posyandu WHERE desa_id = $1 ORDER BY posyandu_id").await?;
    let posyandu_ids = client.query(&stmt, &[&desa_id]).await?.into_iter().map(|r| r.get(0)).collect();
    Ok(Some(TokenLookup {
        principal: Principal::Desa(DesaPrincipal { token_id, desa_id, name, kodes, posyandu_ids }),
        revoked: revoked_at.is_some(),
    }))
}
