//! Helpers for the hostile-input tests (`tests/tests/hostile.rs`): raw pushes that
//! bypass the client, household documents read from a phone's store file, the relay
//! process's memory, the Puskesmas export, and a PostgreSQL schema per test.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use automerge::{ActorId, AutoCommit};
use posyandu_core::sync::wire::{self, DocChanges, SyncRequest, SyncResponse, SYNC_PATH};
use posyandu_core::Store;
use uuid::Uuid;

/// What the relay answered to a raw `POST /v1/sync`.
#[derive(Debug)]
pub struct PushOutcome {
    pub status: u16,
    /// The JSON error body (any status but 200).
    pub error: Option<serde_json::Value>,
    /// The decoded response (status 200).
    pub response: Option<SyncResponse>,
    pub elapsed: Duration,
}

impl PushOutcome {
    /// A string field of the JSON error body (`code`, `message`, `doc`, `path`).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.error.as_ref()?.get(key)?.as_str()
    }

    pub fn code(&self) -> Option<&str> {
        self.field("code")
    }

    /// For assertion messages: status and body.
    pub fn describe(&self) -> String {
        match (&self.error, &self.response) {
            (Some(e), _) => format!("HTTP {} {e} after {:?}", self.status, self.elapsed),
            (None, Some(r)) => format!(
                "HTTP {} stored={} cursor={} pulled_docs={} after {:?}",
                self.status,
                r.stored,
                r.cursor,
                r.pull.len(),
                self.elapsed
            ),
            (None, None) => format!("HTTP {} (no body) after {:?}", self.status, self.elapsed),
        }
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).no_proxy().build().expect("http client")
}

/// `POST /v1/sync` with `req`, as the device of `token` and (like the client, header
/// `x-posyandu-actor`) the store of `actor` if given, bypassing the client.
pub fn raw_sync(url: &str, token: &str, actor: Option<&ActorId>, req: &SyncRequest) -> Result<PushOutcome> {
    let start = Instant::now();
    let mut post = http().post(format!("{url}{SYNC_PATH}")).bearer_auth(token);
    if let Some(a) = actor {
        post = post.header(wire::ACTOR_HEADER, a.to_hex_string());
    }
    let resp = post
        .body(wire::encode(req))
        .send()
        .with_context(|| format!("POST {SYNC_PATH} failed (relay crashed or hung?)"))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().context("reading the response body")?;
    let elapsed = start.elapsed();
    if status == 200 {
        let response: SyncResponse = wire::decode(&body).context("decoding a 200 response")?;
        Ok(PushOutcome { status, error: None, response: Some(response), elapsed })
    } else {
        let error = serde_json::from_slice(&body).unwrap_or_else(
            |_| serde_json::json!({ "unparsed_body": String::from_utf8_lossy(&body).chars().take(300).collect::<String>() }),
        );
        Ok(PushOutcome { status, error: Some(error), response: None, elapsed })
    }
}

/// Pushes `changes` of document `doc` as the store of `actor` (pull part: cursor 0, the
/// smallest page).
pub fn push_changes(url: &str, token: &str, actor: &ActorId, doc: Uuid, changes: Vec<Vec<u8>>) -> Result<PushOutcome> {
    let req = SyncRequest { cursor: 0, push: vec![DocChanges { doc: *doc.as_bytes(), changes }], page_bytes: 1 };
    raw_sync(url, token, Some(actor), &req)
}

/// Every change (as automerge hash) a device of `token` pulls from the start of the log.
pub fn pull_all_hashes(url: &str, token: &str) -> Result<BTreeSet<[u8; 32]>> {
    let mut cursor = 0;
    let mut out = BTreeSet::new();
    for _ in 0..10_000 {
        let o = raw_sync(url, token, None, &SyncRequest { cursor, push: vec![], page_bytes: wire::MAX_PAGE_BYTES })?;
        let Some(r) = o.response else { bail!("pull refused: {}", o.describe()) };
        for dc in &r.pull {
            for c in &dc.changes {
                out.insert(automerge::Change::from_bytes(c.clone())?.hash().0);
            }
        }
        cursor = r.cursor;
        if !r.more {
            return Ok(out);
        }
    }
    bail!("pull did not end")
}

/// The automerge actor a phone writes with (from its store file).
pub fn store_actor(store: &Store) -> ActorId {
    let conn = rusqlite::Connection::open(store.path()).expect("open store file");
    let hex: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'actor_id'", [], |r| r.get(0))
        .expect("store has an actor id");
    ActorId::try_from(hex.as_str()).expect("actor id is hex")
}

/// The household document as the phone holds it (its snapshot plus incremental
/// changes), read from the store file, writing as `actor` from now on.
pub fn store_doc(store: &Store, household: Uuid, actor: &ActorId) -> AutoCommit {
    let conn = rusqlite::Connection::open(store.path()).expect("open store file");
    let id = household.to_string();
    let snapshot: Vec<u8> = conn
        .query_row("SELECT snapshot FROM doc WHERE id = ?1", [&id], |r| r.get(0))
        .unwrap_or_else(|e| panic!("household {id} not in {}: {e}", store.path().display()));
    let mut doc = AutoCommit::load(&snapshot).expect("stored snapshot loads");
    let mut stmt = conn.prepare("SELECT data FROM doc_change WHERE doc_id = ?1 ORDER BY seq").unwrap();
    let changes: Vec<Vec<u8>> = stmt.query_map([&id], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    for c in changes {
        doc.load_incremental(&c).expect("stored change loads");
    }
    doc.with_actor(actor.clone())
}

/// A `kB` field of `/proc/<pid>/status` (`VmHWM`: peak resident set; `VmRSS`), KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status unreadable (relay exited?): {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The whole Puskesmas export (`GET /v1/export`, NDJSON, every page): the bodies
/// concatenated and the household ids it contains.
pub fn export(url: &str, puskesmas_token: &str) -> Result<(String, BTreeSet<Uuid>)> {
    let client = http();
    let mut since = String::new();
    let mut body = String::new();
    let mut ids = BTreeSet::new();
    for _ in 0..1_000 {
        let resp = client
            .get(format!("{url}/v1/export?format=ndjson&limit=5000&since={since}"))
            .bearer_auth(puskesmas_token)
            .send()?;
        let status = resp.status();
        let more = resp.headers().get("x-posyandu-more").and_then(|v| v.to_str().ok()) == Some("true");
        let next = resp.headers().get("x-posyandu-cursor").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text()?;
        if !status.is_success() {
            bail!("export answered {status}: {text}");
        }
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("export line: {line}"))?;
            if v["type"] == "household" {
                let id = v["household_id"].as_str().context("household line without household_id")?;
                ids.insert(Uuid::parse_str(id)?);
            }
        }
        body.push_str(&text);
        if !more {
            return Ok((body, ids));
        }
        since = next;
    }
    bail!("export did not end")
}

/// A fresh PostgreSQL schema (env `POSYANDU_TEST_PG`, default the local test
/// database), dropped on drop. `url` selects it through `search_path`.
pub struct PgSchema {
    pub name: String,
    pub url: String,
}

pub fn pg_base() -> String {
    std::env::var("POSYANDU_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

fn pg_exec(sql: &str) {
    let sql = sql.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {} not reachable: {e}", pg_base()));
            tokio::spawn(conn);
            client.batch_execute(&sql).await.unwrap();
        })
    })
    .join()
    .unwrap();
}

impl PgSchema {
    pub fn new() -> PgSchema {
        let name = format!("t_hostile_{}", Uuid::new_v4().simple());
        pg_exec(&format!("CREATE SCHEMA {name}"));
        let url = format!("{} options='-csearch_path={name}'", pg_base());
        PgSchema { name, url }
    }
}

impl Default for PgSchema {
    fn default() -> Self {
        PgSchema::new()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        pg_exec(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// A compressed change chunk (automerge chunk type 2) whose DEFLATE body inflates to
/// `inflated_bytes` zero bytes, with the header checksum `checksum` (4 bytes).
/// Built streaming, so the test itself never holds the inflated bytes.
pub fn deflate_bomb(inflated_bytes: u64, checksum: [u8; 4]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = inflated_bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        enc.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    let deflated = enc.finish().unwrap();
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend(checksum);
    chunk.push(2);
    let mut len = deflated.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            chunk.push(byte);
            break;
        }
        chunk.push(byte | 0x80);
    }
    chunk.extend(deflated);
    chunk
}

/// `node` on PATH and the `@automerge/automerge` package directory installed by
/// `.ci/install-tools.sh` (`$POSYANDU_TOOLS/js`), or why not.
pub fn automerge_js() -> std::result::Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let node = std::process::Command::new("node").arg("--version").output();
    match node {
        Ok(o) if o.status.success() => {}
        _ => return Err("`node` not found on PATH".into()),
    }
    if let Ok(p) = std::env::var("AUTOMERGE_JS") {
        if Path::new(&p).join("package.json").exists() {
            return Ok(("node".into(), p.into()));
        }
    }
    let tools = std::env::var("POSYANDU_TOOLS").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        Path::new(&std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache/posyandu-tools")
    });
    let pkg = tools.join("js/node_modules/@automerge/automerge");
    if !pkg.join("package.json").exists() {
        return Err(format!("{} missing: run `bash .ci/install-tools.sh`", pkg.display()));
    }
    Ok(("node".into(), pkg))
}
