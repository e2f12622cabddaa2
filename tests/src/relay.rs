//! The relay as a real process (`posyandu-relay serve`), for tests that kill it,
//! restart it, and shape or break its network link; and kader devices as real
//! `posyandu_core::Store`s.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use posyandu_core::{DeviceIdentity, RelayConfig, Store};

/// Path of the `posyandu-relay` binary built next to the running test.
pub fn relay_bin() -> PathBuf {
    if let Ok(p) = std::env::var("POSYANDU_RELAY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/posyandu-relay
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("posyandu-relay");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build --release -p posyandu-server` (scripts/test-all.sh does)",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub struct RelayProcess {
    pub db: PathBuf,
    pub addr: SocketAddr,
    /// When set, the relay (and `admin`) run on this PostgreSQL database instead of `db`.
    pub database_url: Option<String>,
    /// Extra environment for `serve` (e.g. `POSYANDU_RELAY_MAX_REQUESTS_PER_MINUTE`).
    pub env: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
}

impl RelayProcess {
    /// A relay on a fresh database in `dir` (not started).
    pub fn new(dir: &Path) -> RelayProcess {
        RelayProcess {
            db: dir.join("relay.sqlite3"),
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            database_url: None,
            env: Vec::new(),
            child: None,
            log: dir.join("relay.log"),
        }
    }

    /// A relay on the PostgreSQL database `url` (libpq key/value or URL form), not started.
    /// PostgreSQL needs an explicit data key (encryption at rest): `pg-data.key` in `dir`.
    pub fn new_pg(dir: &Path, url: &str) -> RelayProcess {
        let mut relay = RelayProcess::new(dir);
        relay.database_url = Some(url.to_string());
        let key = dir.join("pg-data.key");
        posyandu_server::at_rest::AtRest::load_or_create(&key).expect("data key");
        relay.env.push(("POSYANDU_RELAY_DATA_KEY_FILE".into(), key.display().to_string()));
        relay
    }

    /// `--database-url URL` when on PostgreSQL, else nothing (`--db` follows).
    fn db_args(&self, cmd: &mut Command) {
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
    }

    /// Process id of the running relay.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The relay's log so far (stdout and stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `posyandu-relay admin --db DB <args>` and returns its stdout.
    pub fn admin(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(relay_bin());
        self.db_args(&mut cmd);
        let out = cmd.arg("admin").arg("--db").arg(&self.db).args(args).output()?;
        if !out.status.success() {
            bail!("admin {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Registers Posyandu `posyandu` (idempotent), kader `kader` in it, and a device;
    /// returns the device token.
    pub fn register(&self, posyandu: &str, kader: &str, device: &str) -> Result<String> {
        self.admin(&["add-posyandu", "--id", posyandu, "--name", &format!("Posyandu {posyandu}")])?;
        self.admin(&["add-kader", "--id", kader, "--name", &format!("Kader {kader}"), "--posyandu", posyandu])?;
        let out = self.admin(&["add-device", "--kader", kader, "--device", device])?;
        Ok(out.lines().last().context("no token printed")?.trim().to_string())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts `serve` and waits until it accepts connections.
    pub fn start(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        let mut cmd = Command::new(relay_bin());
        self.db_args(&mut cmd);
        let child = cmd
            .args(["serve", "--listen", &self.addr.to_string(), "--db"])
            .arg(&self.db)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("relay exited with {status}: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("relay did not come up on {}", self.addr)
    }

    /// SIGKILL: no graceful shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `admin new-epoch` (the step after restoring a backup); returns the new epoch.
    pub fn new_epoch(&self) -> Result<u64> {
        let out = self.admin(&["new-epoch"])?;
        Ok(out.lines().last().context("no epoch printed")?.trim().parse()?)
    }

    /// The relay's current epoch, read from its database file.
    pub fn epoch(&self) -> Result<u64> {
        let conn = rusqlite::Connection::open(&self.db)?;
        Ok(conn.query_row("SELECT epoch FROM relay_epoch", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// A consistent copy of the live database (`VACUUM INTO`, safe while it runs).
    pub fn backup(&self, to: &Path) -> Result<()> {
        let conn = rusqlite::Connection::open(&self.db)?;
        conn.execute("VACUUM INTO ?1", [to.to_str().context("backup path")?])?;
        Ok(())
    }

    /// Replaces the (stopped) relay's database with `backup`, as docs/deployment.md
    /// says: copy the file over the live one and remove its `-wal` and `-shm`.
    pub fn restore(&self, backup: &Path) -> Result<()> {
        assert!(self.child.is_none(), "stop the relay before restoring");
        std::fs::copy(backup, &self.db)?;
        for ext in ["sqlite3-wal", "sqlite3-shm"] {
            let _ = std::fs::remove_file(self.db.with_extension(ext));
        }
        Ok(())
    }

    /// The data key file the relay seals with (its `POSYANDU_RELAY_DATA_KEY_FILE`, else
    /// `relay-data.key` beside the database).
    pub fn data_key_path(&self) -> PathBuf {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == "POSYANDU_RELAY_DATA_KEY_FILE")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| posyandu_server::at_rest::AtRest::default_key_path(&self.db))
    }

    /// The relay's stored snapshot of document `id` (SQLite), opened with its data key:
    /// the relay seals what it stores (docs/relay-operations.md, "Encryption at rest").
    pub fn stored_snapshot(&self, id: &[u8]) -> Result<Vec<u8>> {
        use posyandu_server::at_rest::{AtRest, Blob};
        let conn = rusqlite::Connection::open(&self.db)?;
        let (scope, blob): (String, Vec<u8>) =
            conn.query_row("SELECT scope, snapshot FROM doc WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(AtRest::load(&self.data_key_path())?.open_vec(&scope, id, Blob::Snapshot, blob)?)
    }

    /// `(rows, distinct hashes, max seq)` of one Posyandu's change log, read from the
    /// relay's database file: equal numbers mean no duplicate and no gap.
    pub fn log_stats(&self, posyandu: &str) -> Result<(i64, i64, i64)> {
        let conn = rusqlite::Connection::open(&self.db)?;
        Ok(conn.query_row(
            "SELECT count(*), count(DISTINCT hash), coalesce(max(seq), 0) FROM change_log WHERE scope = ?1",
            [posyandu],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The keyring of the test device store at `path` (the same one for every open in this
/// process, so the device token survives a reopen). Unencrypted: these tests read and
/// damage the store file with plain SQLite (the encryption has its own tests in core).
pub fn keyring(path: &Path) -> std::sync::Arc<dyn posyandu_core::Keyring> {
    static KEYRINGS: std::sync::Mutex<
        Option<std::collections::HashMap<PathBuf, std::sync::Arc<posyandu_core::MemoryKeyring>>>,
    > = std::sync::Mutex::new(None);
    let mut all = KEYRINGS.lock().unwrap_or_else(|p| p.into_inner());
    all.get_or_insert_with(Default::default)
        .entry(path.to_path_buf())
        .or_insert_with(|| std::sync::Arc::new(posyandu_core::MemoryKeyring::unencrypted_for_tests()))
        .clone()
}

/// A kader device: a store in `dir` syncing with `url`.
pub fn device(dir: &Path, posyandu: &str, kader: &str, device: &str, url: &str, token: &str) -> Store {
    let store = Store::open(
        dir.join(format!("{device}.sqlite3")),
        DeviceIdentity { device_id: device.into(), kader_id: kader.into(), posyandu_id: posyandu.into() },
        keyring(&dir.join(format!("{device}.sqlite3"))),
    )
    .expect("open device store");
    store.set_relay(&RelayConfig { url: url.into(), token: token.into() }).expect("set relay");
    store
}

/// Syncs until it succeeds (for flaky links), at most `tries` times.
pub fn sync_until_ok(store: &Store, tries: usize) -> Result<posyandu_core::SyncReport> {
    let mut last = None;
    for _ in 0..tries {
        match store.sync_now(&mut |_| {}) {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("sync failed {tries} times; last error: {}", last.map(|e| e.to_string()).unwrap_or_default())
}

/// HTTP calls of the tests that act as a Puskesmas, a bidan or a desa against a relay
/// process: JSON in, status and JSON (or the text) out.
pub mod http {
    use std::time::Duration;

    use serde_json::Value;

    use super::RelayProcess;

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).no_proxy().build().unwrap()
    }

    /// `method` (`GET`, `PUT`, anything else is `POST`) of `path` with bearer `token` and
    /// an optional JSON body: the status and the body text.
    pub fn call_text(
        relay: &RelayProcess,
        method: &str,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let url = format!("{}{path}", relay.url());
        let req = match method {
            "GET" => client().get(url),
            "PUT" => client().put(url),
            _ => client().post(url),
        };
        let req = req.bearer_auth(token);
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(b.to_string()),
            None => req,
        };
        let r = req.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// Like [`call_text`], the body parsed as JSON (`Null` when it is not JSON).
    pub fn call(relay: &RelayProcess, method: &str, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = call_text(relay, method, token, path, body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn get_text(relay: &RelayProcess, token: &str, path: &str) -> (u16, String) {
        call_text(relay, "GET", token, path, None)
    }

    pub fn get(relay: &RelayProcess, token: &str, path: &str) -> (u16, Value) {
        call(relay, "GET", token, path, None)
    }

    pub fn post(relay: &RelayProcess, token: &str, path: &str, body: Value) -> (u16, Value) {
        call(relay, "POST", token, path, Some(body))
    }

    /// The last line of an admin command's output (a token it printed), trimmed.
    pub fn last_line(s: String) -> String {
        s.lines().last().unwrap().trim().to_string()
    }
}
