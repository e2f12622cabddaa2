//! Evening-sync load on ONE relay process (the real `posyandu-relay` binary, loopback
//! only), per backend (SQLite, PostgreSQL).
//!
//! N simulated kader devices (default 2,000 across 80 Posyandu) each bring a typical
//! day: 10 households, each created with one child, and 30 visits (3 per household),
//! built up-front with `HouseholdDoc` (≈ 50 automerge changes per device). Each device
//! then does a real evening sync: `POST /v1/sync` pushing everything, then pulling the
//! other kader's changes page by page until `more == false`; at most `LOAD_CONCURRENCY`
//! (64) devices are in flight. A baseline (`/healthz` loop, same concurrency) is
//! measured on the same relay in the same run.
//!
//! Env: `LOAD_DEVICES` (2000), `LOAD_POSYANDU` (80), `LOAD_CONCURRENCY` (64),
//! `LOAD_SECONDS` (bound per backend, 300), `LOAD_BACKENDS` ("sqlite,postgres"),
//! `POSYANDU_TEST_PG` (PostgreSQL connection string), `LOAD_PG_POOL` (relay pool, 16),
//! `LOAD_PERF=1` records a
//! `perf` profile of the relay into target/bench-results/.
//!
//! Output: a Markdown table on stdout and in target/bench-results/load.md.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ActorId;
use posyandu_core::doc::HouseholdDoc;
use posyandu_core::model::{
    Address, HouseholdPatch, Measurements, NewMember, Relation, Services, Visit, VisitEntry, VisitKind,
};
use posyandu_core::sync::wire::{self, DocChanges, SyncRequest, SyncResponse, DEFAULT_PAGE_BYTES, SYNC_PATH};
use posyandu_server::admin::{self, Registry};
use posyandu_server::storage::postgres::PgRegistry;
use uuid::Uuid;

const HOUSEHOLDS: usize = 10;
const VISITS_PER_HOUSEHOLD: usize = 3;

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

struct Device {
    token: String,
    push: Vec<DocChanges>,
}

/// One kader's day: 10 households with a child each, 30 visits.
fn build_day(posyandu: &str, kader: &str, seed: usize) -> Vec<DocChanges> {
    let actor = ActorId::random();
    let today = time::macros::date!(2025 - 02 - 10);
    let mut t = 1_739_000_000 + seed as i64;
    (0..HOUSEHOLDS)
        .map(|h| {
            let id = Uuid::new_v4();
            let mut doc = HouseholdDoc::create(id, posyandu, &actor).unwrap();
            let address = Address {
                rt: format!("{:03}", h + 1),
                rw: "002".into(),
                dusun: None,
                kode_wilayah: "3201010001".into(),
                street: None,
            };
            doc.patch_household(&HouseholdPatch { address: Some(address), ..Default::default() }, today).unwrap();
            let mut changes = vec![doc.commit(kader, t).unwrap().raw_bytes().to_vec()];
            let child = Uuid::new_v4();
            doc.add_member(
                child,
                &NewMember {
                    nik: None,
                    mother_nik: None,
                    name: format!("Anak {seed}-{h}"),
                    birth_date: time::macros::date!(2024 - 01 - 15),
                    sex: posyandu_core::growth::Sex::Female,
                    relation: Relation::Anak,
                    bpjs_number: None,
                    kia_book: None,
                },
            )
            .unwrap();
            t += 1;
            changes.push(doc.commit(kader, t).unwrap().raw_bytes().to_vec());
            for v in 0..VISITS_PER_HOUSEHOLD {
                let visit = Visit {
                    id: Uuid::new_v4(),
                    date: today,
                    kind: VisitKind::HariBuka,
                    kader_id: kader.into(),
                    posyandu_id: posyandu.into(),
                    entries: vec![VisitEntry {
                        member_id: child,
                        measurements: Measurements {
                            weight_kg: Some(8.0 + v as f64 / 10.0),
                            length_height_cm: Some(75.0 + v as f64),
                            muac_cm: Some(14.0),
                            ..Default::default()
                        },
                        services: Services { vitamin_a: v == 0, ..Default::default() },
                        ..Default::default()
                    }],
                    deleted: false,
                };
                doc.add_visit(&visit).unwrap();
                t += 1;
                changes.push(doc.commit(kader, t).unwrap().raw_bytes().to_vec());
            }
            DocChanges { doc: *id.as_bytes(), changes }
        })
        .collect()
}

fn register(reg: &dyn Registry, devices: usize, posyandu: usize) -> Vec<(String, String)> {
    admin::add_puskesmas(reg, "PKM-LOAD", "Puskesmas Beban").unwrap();
    for p in 0..posyandu {
        admin::add_posyandu(reg, &format!("P-{p:03}"), "Posyandu", Some("PKM-LOAD")).unwrap();
    }
    (0..devices)
        .map(|i| {
            let p = format!("P-{:03}", i % posyandu);
            admin::add_kader(reg, &format!("K-{i}"), "Kader", &p).unwrap();
            let t = admin::add_device(reg, &format!("K-{i}"), &format!("D-{i}")).unwrap().token;
            (p, t)
        })
        .collect()
}

struct Relay {
    child: Child,
    url: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(args: &[&str], envs: &[(&str, &str)]) -> Relay {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(posyandu_tests::relay::relay_bin());
    cmd.arg("serve").args(["--listen", &format!("127.0.0.1:{port}")]).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "relay did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Relay { child, url: format!("http://127.0.0.1:{port}") }
}

/// utime + stime of a process, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of all `postgres` processes (server side of the PostgreSQL backend).
fn postgres_cpu() -> f64 {
    let mut total = 0.0;
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                total += cpu_secs(pid);
            }
        }
    }
    total
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Row {
    backend: String,
    baseline_rps: f64,
    baseline_p99: Duration,
    devices: usize,
    done: usize,
    failed: usize,
    wall: f64,
    syncs_per_s: f64,
    visits_per_s: f64,
    requests: usize,
    p50: Duration,
    p99: Duration,
    req_p99: Duration,
    relay_cpu: f64,
    db_cpu: f64,
    rss: f64,
    changes_stored: u64,
}

async fn run_load(
    url: &str,
    devices: Vec<Device>,
    concurrency: usize,
    bound: Duration,
) -> (Vec<Duration>, Vec<Duration>, usize, u64, usize) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let deadline = Instant::now() + bound;
    let mut tasks = tokio::task::JoinSet::new();
    for d in devices {
        let permit = sem.clone().acquire_owned().await.unwrap();
        if Instant::now() > deadline {
            break;
        }
        let (client, url) = (client.clone(), format!("{url}{SYNC_PATH}"));
        tasks.spawn(async move {
            let _permit = permit;
            let start = Instant::now();
            let mut req_lat = Vec::new();
            let mut cursor = 0;
            let mut push = d.push;
            let mut stored = 0u64;
            for _ in 0..200 {
                let body = wire::encode(&SyncRequest {
                    cursor,
                    push: std::mem::take(&mut push),
                    page_bytes: DEFAULT_PAGE_BYTES,
                });
                let t = Instant::now();
                let resp = client.post(&url).bearer_auth(&d.token).body(body).send().await.ok()?;
                if !resp.status().is_success() {
                    eprintln!("sync failed: {} {:?}", resp.status(), resp.text().await);
                    return None;
                }
                let bytes = resp.bytes().await.ok()?;
                req_lat.push(t.elapsed());
                let r: SyncResponse = wire::decode(&bytes).ok()?;
                stored += r.stored as u64;
                cursor = r.cursor;
                if !r.more {
                    break;
                }
            }
            Some((start.elapsed(), req_lat, stored))
        });
    }
    let (mut lat, mut reqs, mut failed, mut stored) = (Vec::new(), Vec::new(), 0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.ok().flatten() {
            Some((l, rl, s)) => {
                lat.push(l);
                reqs.extend(rl);
                stored += s;
            }
            None => failed += 1,
        }
    }
    let n = lat.len();
    lat.sort();
    reqs.sort();
    (lat, reqs, failed, stored, n)
}

async fn baseline(url: &str, concurrency: usize, dur: Duration) -> (f64, Duration) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url) = (client.clone(), format!("{url}/healthz"));
        tasks.spawn(async move {
            let mut lat = Vec::new();
            while start.elapsed() < dur {
                let t = Instant::now();
                if client.get(&url).send().await.and_then(|r| r.error_for_status()).is_ok() {
                    lat.push(t.elapsed());
                }
            }
            lat
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    all.sort();
    (all.len() as f64 / start.elapsed().as_secs_f64(), pct(&all, 0.99))
}

fn pg_base() -> String {
    std::env::var("POSYANDU_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

async fn pg_sql(sql: &str) {
    let (client, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls).await.expect("PostgreSQL");
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing special: run
    // a tiny smoke load there.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n_devices = env_usize("LOAD_DEVICES", if smoke { 40 } else { 2000 });
    let n_posyandu = env_usize("LOAD_POSYANDU", if smoke { 4 } else { 80 }).max(1);
    let concurrency = env_usize("LOAD_CONCURRENCY", 64);
    let bound = Duration::from_secs(env_usize("LOAD_SECONDS", 300) as u64);
    let backends = std::env::var("LOAD_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    std::fs::create_dir_all(&out_dir).unwrap();

    let mut rows = Vec::new();
    let mut probe: Vec<(i32, usize, Duration)> = Vec::new();
    for backend in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let (relay, tokens, schema) = match backend {
            "sqlite" => {
                let path = dir.path().join("relay.sqlite3");
                let storage = posyandu_server::storage::SqliteStorage::open(&path).unwrap();
                let tokens = storage.with_conn(|c| {
                    c.execute_batch("PRAGMA synchronous = OFF").unwrap();
                    register(&*c, n_devices, n_posyandu)
                });
                drop(storage);
                (start_relay(&["--db", path.to_str().unwrap()], &[]), tokens, None)
            }
            "postgres" => {
                let schema = format!("load_{}", Uuid::new_v4().simple());
                rt.block_on(pg_sql(&format!("CREATE SCHEMA {schema}")));
                let url = format!("{} options='-csearch_path={schema}'", pg_base());
                let tokens = register(&PgRegistry::connect(&url).unwrap(), n_devices, n_posyandu);
                let db = dir.path().join("unused.sqlite3");
                let pool = env_usize("LOAD_PG_POOL", 16).to_string();
                let key = dir.path().join("relay-data.key");
                posyandu_server::at_rest::AtRest::load_or_create(&key).unwrap();
                let key = key.display().to_string();
                let relay = start_relay(
                    &["--db", db.to_str().unwrap()],
                    &[
                        ("POSYANDU_RELAY_DATABASE_URL", &url),
                        ("POSYANDU_RELAY_PG_POOL_SIZE", &pool),
                        ("POSYANDU_RELAY_DATA_KEY_FILE", &key),
                    ],
                );
                (relay, tokens, Some(schema))
            }
            other => panic!("unknown backend {other}"),
        };
        eprintln!("[{backend}] registered {n_devices} devices in {:.1}s", t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        let devices: Vec<Device> = tokens
            .into_iter()
            .enumerate()
            .map(|(i, (p, token))| Device { token, push: build_day(&p, &format!("K-{i}"), i) })
            .collect();
        eprintln!("[{backend}] built {} days in {:.1}s", devices.len(), t0.elapsed().as_secs_f64());
        if probe.is_empty() {
            // What the pull body of the last kader of a Posyandu costs to compress.
            let pull: Vec<DocChanges> =
                devices.iter().step_by(n_posyandu).take(24).flat_map(|d| d.push.iter().cloned()).collect();
            let resp = SyncResponse { stored: 0, cursor: 1, pull, more: false, epoch: 1 };
            for level in [1, 3, 6, 9] {
                let t = Instant::now();
                let mut size = 0;
                for _ in 0..20 {
                    size = wire::encode_level(&resp, level).len();
                }
                probe.push((level, size, t.elapsed() / 20));
            }
        }
        let pid = relay.child.id();
        let (baseline_rps, baseline_p99) = rt.block_on(baseline(&relay.url, concurrency, Duration::from_secs(2)));
        let perf = (std::env::var("LOAD_PERF").as_deref() == Ok("1")).then(|| {
            Command::new("perf")
                .args(["record", "-F", "499", "-g", "-p", &pid.to_string(), "-o"])
                .arg(out_dir.join(format!("load-{backend}.perf.data")))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        });
        let (cpu0, db0) = (cpu_secs(pid), postgres_cpu());
        let start = Instant::now();
        let (lat, reqs, failed, stored, done) = rt.block_on(run_load(&relay.url, devices, concurrency, bound));
        let wall = start.elapsed().as_secs_f64();
        let (relay_cpu, db_cpu) = (cpu_secs(pid) - cpu0, postgres_cpu() - db0);
        if let Some(Some(mut p)) = perf {
            let _ = Command::new("kill").args(["-INT", &p.id().to_string()]).status();
            let _ = p.wait();
        }
        let rss = peak_rss_mib(pid);
        drop(relay);
        if let Some(s) = schema {
            rt.block_on(pg_sql(&format!("DROP SCHEMA {s} CASCADE")));
        }
        let row = Row {
            backend: backend.to_string(),
            baseline_rps,
            baseline_p99,
            devices: n_devices,
            done,
            failed,
            wall,
            syncs_per_s: done as f64 / wall,
            visits_per_s: (done * HOUSEHOLDS * VISITS_PER_HOUSEHOLD) as f64 / wall,
            requests: reqs.len(),
            p50: pct(&lat, 0.5),
            p99: pct(&lat, 0.99),
            req_p99: pct(&reqs, 0.99),
            relay_cpu,
            db_cpu: if backend == "postgres" { db_cpu } else { 0.0 },
            rss,
            changes_stored: stored,
        };
        eprintln!(
            "[{backend}] {done}/{n_devices} devices ({failed} failed) in {wall:.1}s: {:.1} syncs/s, p99 {:?}",
            row.syncs_per_s, row.p99
        );
        rows.push(row);
    }

    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
    let mut md = String::new();
    md.push_str(&format!(
        "## Evening sync load: {n_devices} devices, {n_posyandu} Posyandu, {} visits/device, {concurrency} in flight, one relay, {} cores\n\n",
        HOUSEHOLDS * VISITS_PER_HOUSEHOLD,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    md.push_str("| backend | devices synced (failed) | wall s | syncs/s | visits/s | HTTP requests | device sync p50 ms | p99 ms | request p99 ms | relay CPU s | DB server CPU s | relay peak RSS MiB | baseline /healthz req/s (p99 ms) | syncs/s ÷ baseline req/s | target p99<1 s, RSS<512 MiB |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &rows {
        let ok = r.p99 < Duration::from_secs(1) && r.rss < 512.0 && r.failed == 0 && r.done == r.devices;
        md.push_str(&format!(
            "| {} | {} ({}) | {:.1} | {:.1} | {:.0} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} | {:.0} ({}) | {:.4} | {} |\n",
            r.backend,
            r.done,
            r.failed,
            r.wall,
            r.syncs_per_s,
            r.visits_per_s,
            r.requests,
            ms(r.p50),
            ms(r.p99),
            ms(r.req_p99),
            r.relay_cpu,
            r.db_cpu,
            r.rss,
            r.baseline_rps,
            ms(r.baseline_p99),
            r.syncs_per_s / r.baseline_rps.max(1e-9),
            if ok { "met" } else { "NOT met" }
        ));
        let _ = r.changes_stored;
    }
    md.push_str(&format!(
        "\nDevice sync = push of the day (≈{} changes) + pull pages until `more == false`. CPU per device sync: {}.\n",
        HOUSEHOLDS * (2 + VISITS_PER_HOUSEHOLD),
        rows.iter()
            .map(|r| format!(
                "{} {:.1} ms relay + {:.1} ms DB",
                r.backend,
                r.relay_cpu * 1000.0 / r.done.max(1) as f64,
                r.db_cpu * 1000.0 / r.done.max(1) as f64
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    md.push_str("\nResponse compression (pull body of 24 kader days of one Posyandu):\n\n| zstd level | bytes | encode ms |\n|---|---|---|\n");
    for (level, size, t) in &probe {
        md.push_str(&format!("| {level} | {size} | {:.2} |\n", t.as_secs_f64() * 1000.0));
    }
    println!("{md}");
    std::fs::write(out_dir.join("load.md"), &md).unwrap();
}
