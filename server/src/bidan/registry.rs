//! Registering bidan and issuing their tokens (`posyandu-relay admin add-bidan`,
//! `bidan-token`, `revoke-bidan-token`), and resolving a bidan token, for both
//! backends. Rules here once; [`BidanRegistry`] holds the storage primitives.

use rusqlite::{params, Connection, OptionalExtension};

use crate::admin::{check_id, AdminError, IssuedToken, Registry, Result, Table};
use crate::auth::{new_token, BidanPrincipal, Principal, TokenLookup};
use crate::storage::postgres::PgRegistry;
use crate::storage::sqlite::now_unix;

/// Most Posyandu one bidan covers.
pub const MAX_POSYANDU_PER_BIDAN: usize = 50;

pub trait BidanRegistry: Registry {
    /// Inserts the bidan or updates her name, and replaces the Posyandu she covers, in
    /// ONE transaction.
    fn upsert_bidan(&self, id: &str, name: &str, posyandu: &[String], now: i64) -> Result<()>;
    fn bidan_exists(&self, id: &str) -> Result<bool>;
    fn insert_bidan_token(&self, bidan: &str, hash: &[u8; 32], now: i64) -> Result<i64>;
    /// Revokes one active bidan token; returns 0 or 1.
    fn revoke_bidan_token(&self, token_id: i64, now: i64) -> Result<u64>;
    /// The bidan, the Posyandu each covers and every bidan token (`admin list`).
    fn bidan_listing(&self) -> Result<BidanListing>;
}

/// The bidan side of the registry for `admin list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BidanListing {
    /// (id, name, Posyandu covered, by id)
    pub bidan: Vec<(String, String, Vec<String>)>,
    /// (token id, bidan id, created_at, revoked_at), by token id
    pub tokens: Vec<(i64, String, i64, Option<i64>)>,
}

impl BidanListing {
    /// Groups `(bidan id, Posyandu id)` rows into the bidan rows.
    fn cover(&mut self, rows: Vec<(String, String)>) {
        for (bidan, posyandu) in rows {
            if let Some(b) = self.bidan.iter_mut().find(|b| b.0 == bidan) {
                b.2.push(posyandu);
            }
        }
    }

    fn posyandu_of(&self, bidan: &str) -> String {
        let list = self.bidan.iter().find(|b| b.0 == bidan).map(|b| b.2.join(", ")).unwrap_or_default();
        if list.is_empty() {
            "-".into()
        } else {
            list
        }
    }
}

/// The bidan and their tokens, human-readable, for `admin list` (after the lines of
/// [`crate::admin::list`]): token id, bidan id, the Posyandu covered, state.
pub fn list<R: BidanRegistry + ?Sized>(reg: &R) -> Result<String> {
    use std::fmt::Write as _;
    let l = reg.bidan_listing()?;
    let mut out = String::new();
    for (id, name, _) in &l.bidan {
        let _ = writeln!(out, "Bidan {id}  {name}  (Posyandu {})", l.posyandu_of(id));
    }
    for (id, bidan, created, revoked) in &l.tokens {
        let state = revoked.map_or("aktif".to_string(), |t| format!("dicabut {}", crate::admin::date(t)));
        let _ = writeln!(
            out,
            "Token bidan #{id}  bidan {bidan}  Posyandu {}  dibuat {}  {state}",
            l.posyandu_of(bidan),
            crate::admin::date(*created)
        );
    }
    Ok(out)
}

/// Registers (or updates) bidan `id` covering `posyandu` (one or more, each registered).
pub fn add_bidan<R: BidanRegistry + ?Sized>(reg: &R, id: &str, name: &str, posyandu: &[String]) -> Result<()> {
    check_id("ID bidan", id)?;
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AdminError::Invalid("nama wajib diisi (maksimal 200 karakter)".into()));
    }
    let mut list: Vec<String> = posyandu.to_vec();
    list.sort();
    list.dedup();
    if list.is_empty() || list.len() > MAX_POSYANDU_PER_BIDAN {
        return Err(AdminError::Invalid(format!("bidan harus membina 1–{MAX_POSYANDU_PER_BIDAN} Posyandu")));
    }
    for p in &list {
        if !reg.exists(Table::Posyandu, p)? {
            return Err(AdminError::NotFound { kind: "Posyandu", id: p.clone() });
        }
    }
    reg.upsert_bidan(id, n, &list, now_unix())
}

/// Issues a bidan token (shown once; earlier ones stay valid until revoked).
pub fn bidan_token<R: BidanRegistry + ?Sized>(reg: &R, bidan: &str) -> Result<IssuedToken> {
    if !reg.bidan_exists(bidan)? {
        return Err(AdminError::NotFound { kind: "Bidan", id: bidan.into() });
    }
    let (token, hash) = new_token();
    let token_id = reg.insert_bidan_token(bidan, &hash, now_unix())?;
    Ok(IssuedToken { token_id, token })
}

pub fn revoke_bidan_token<R: BidanRegistry + ?Sized>(reg: &R, token_id: i64) -> Result<()> {
    if reg.revoke_bidan_token(token_id, now_unix())? == 0 {
        return Err(AdminError::NotFound { kind: "Token bidan aktif", id: token_id.to_string() });
    }
    Ok(())
}

impl BidanRegistry for Connection {
    fn upsert_bidan(&self, id: &str, name: &str, posyandu: &[String], now: i64) -> Result<()> {
        let tx = self.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO bidan (id, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![id, name, now],
        )?;
        tx.execute("DELETE FROM bidan_posyandu WHERE bidan_id = ?1", [id])?;
        for p in posyandu {
            tx.execute("INSERT INTO bidan_posyandu (bidan_id, posyandu_id) VALUES (?1, ?2)", params![id, p])?;
        }
        tx.commit()?;
        Ok(())
    }
    fn bidan_exists(&self, id: &str) -> Result<bool> {
        Ok(self.query_row("SELECT 1 FROM bidan WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some())
    }
    fn insert_bidan_token(&self, bidan: &str, hash: &[u8; 32], now: i64) -> Result<i64> {
        self.execute(
            "INSERT INTO bidan_token (hash, bidan_id, created_at) VALUES (?1, ?2, ?3)",
            params![&hash[..], bidan, now],
        )?;
        Ok(self.last_insert_rowid())
    }
    fn revoke_bidan_token(&self, token_id: i64, now: i64) -> Result<u64> {
        Ok(self.execute(
            "UPDATE bidan_token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![token_id, now],
        )? as u64)
    }
    fn bidan_listing(&self) -> Result<BidanListing> {
        let mut l = BidanListing::default();
        let mut stmt = self.prepare("SELECT id, name FROM bidan ORDER BY id")?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, Vec::new())))? {
            l.bidan.push(r?);
        }
        let mut stmt =
            self.prepare("SELECT bidan_id, posyandu_id FROM bidan_posyandu ORDER BY bidan_id, posyandu_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        l.cover(rows);
        let mut stmt = self.prepare("SELECT id, bidan_id, created_at, revoked_at FROM bidan_token ORDER BY id")?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))? {
            l.tokens.push(r?);
        }
        Ok(l)
    }
}

impl BidanRegistry for PgRegistry {
    fn upsert_bidan(&self, id: &str, name: &str, posyandu: &[String], now: i64) -> Result<()> {
        let (id, name, posyandu) = (id.to_string(), name.to_string(), posyandu.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute(
                    "INSERT INTO bidan (id, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                    &[&id, &name, &now],
                )
                .await?;
                tx.execute("DELETE FROM bidan_posyandu WHERE bidan_id = $1", &[&id]).await?;
                for p in &posyandu {
                    tx.execute("INSERT INTO bidan_posyandu (bidan_id, posyandu_id) VALUES ($1, $2)", &[&id, p]).await?;
                }
                tx.commit().await
            })
        })
    }
    fn bidan_exists(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.run(move |c| {
            Box::pin(async move { Ok(c.query_opt("SELECT 1 FROM bidan WHERE id = $1", &[&id]).await?.is_some()) })
        })
    }
    fn insert_bidan_token(&self, bidan: &str, hash: &[u8; 32], now: i64) -> Result<i64> {
        let (bidan, hash) = (bidan.to_string(), hash.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_one(
                        "INSERT INTO bidan_token (hash, bidan_id, created_at) VALUES ($1, $2, $3) RETURNING id",
                        &[&hash, &bidan, &now],
                    )
                    .await?;
                Ok(row.get(0))
            })
        })
    }
    fn revoke_bidan_token(&self, token_id: i64, now: i64) -> Result<u64> {
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE bidan_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    &[&token_id, &now],
                )
                .await
            })
        })
    }
    fn bidan_listing(&self) -> Result<BidanListing> {
        self.run(|c| {
            Box::pin(async move {
                let mut l = BidanListing::default();
                for r in c.query("SELECT id, name FROM bidan ORDER BY id", &[]).await? {
                    l.bidan.push((r.get(0), r.get(1), Vec::new()));
                }
                let rows = c
                    .query("SELECT bidan_id, posyandu_id FROM bidan_posyandu ORDER BY bidan_id, posyandu_id", &[])
                    .await?
                    .into_iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                l.cover(rows);
                for r in
                    c.query("SELECT id, bidan_id, created_at, revoked_at FROM bidan_token ORDER BY id", &[]).await?
                {
                    l.tokens.push((r.get(0), r.get(1), r.get(2), r.get(3)));
                }
                Ok(l)
            })
        })
    }
}

/// A bidan token by hash on SQLite (called by `storage::sqlite::lookup_token` when the
/// hash is not in `token`).
pub fn lookup_sqlite(conn: &Connection, hash: &[u8; 32]) -> rusqlite::Result<Option<TokenLookup>> {
    let row: Option<(i64, String, Option<i64>)> = conn
        .prepare_cached("SELECT id, bidan_id, revoked_at FROM bidan_token WHERE hash = ?1")?
        .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((token_id, bidan_id, revoked_at)) = row else { return Ok(None) };
    let posyandu_ids = conn
        .prepare_cached("SELECT posyandu_id FROM bidan_posyandu WHERE bidan_id = ?1 ORDER BY posyandu_id")?
        .query_map([&bidan_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Some(TokenLookup {
        principal: Principal::Bidan(BidanPrincipal { token_id, bidan_id, posyandu_ids }),
        revoked: revoked_at.is_some(),
    }))
}

/// The same on PostgreSQL.
pub async fn lookup_pg<C: deadpool_postgres::GenericClient>(
    client: &C,
    hash: &[u8; 32],
) -> std::result::Result<Option<TokenLookup>, tokio_postgres::Error> {
    let stmt = client.prepare_cached("SELECT id, bidan_id, revoked_at FROM bidan_token WHERE hash = $1").await?;
    let Some(row) = client.query_opt(&stmt, &[&&hash[..]]).await? else { return Ok(None) };
    let (token_id, bidan_id, revoked_at): (i64, String, Option<i64>) = (row.get(0), row.get(1), row.get(2));
    let stmt = client
        .prepare_cached("SELECT posyandu_id FROM bidan_posyandu WHERE bidan_id = $1 ORDER BY posyandu_id")
        .await?;
    let posyandu_ids = client.query(&stmt, &[&bidan_id]).await?.into_iter().map(|r| r.get(0)).collect();
    Ok(Some(TokenLookup {
        principal: Principal::Bidan(BidanPrincipal { token_id, bidan_id, posyandu_ids }),
        revoked: revoked_at.is_some(),
    }))
}
