//! Issue 15, "harden the edges", against the real binaries: tokens that can be pasted
//! anywhere (the demo's printed commands run as printed), broken pipes, CSV formula
//! injection opened by a real spreadsheet parser, file permissions, slow clients.
//!
//! Needs `target/release/posyandu-relay` and `target/release/posyandu-kader`
//! (`cargo build --release -p posyandu-server -p posyandu-core`), or their paths in
//! `POSYANDU_RELAY_BIN` / `POSYANDU_KADER_BIN`.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use posyandu_tests::relay::{free_port, relay_bin};

/// Path of the `posyandu-kader` binary (next to the relay unless given).
fn kader_bin() -> PathBuf {
    if let Ok(p) = std::env::var("POSYANDU_KADER_BIN") {
        return PathBuf::from(p);
    }
    let bin = relay_bin().with_file_name("posyandu-kader");
    assert!(bin.exists(), "{} not built: run `cargo build --release -p posyandu-core`", bin.display());
    bin
}

/// Kills (and reaps) a child process when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(addr: SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("relay exited with {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("relay did not come up on {addr}");
}

/// Starts `posyandu-relay demo` in `dir` and returns it with every line it printed on
/// stdout before serving.
fn start_demo(dir: &Path) -> (Killed, SocketAddr, Vec<String>) {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut child = Command::new(relay_bin())
        .args(["demo", "--listen", &addr.to_string(), "--db"])
        .arg(dir.join("demo.sqlite3"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = Killed(child);
    let mut lines = Vec::new();
    let mut rd = BufReader::new(stdout);
    loop {
        let mut l = String::new();
        assert!(rd.read_line(&mut l).unwrap() > 0, "demo stopped printing early: {lines:?}");
        let done = l.contains("Menjalankan demo lagi");
        lines.push(l.trim_end().to_string());
        if done {
            break;
        }
    }
    // Keep draining stdout so the demo never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut rd, &mut std::io::sink()));
    wait_listening(addr, &mut child.0);
    (child, addr, lines)
}

/// The demo's printed commands, run by a shell exactly as printed (the first word
/// `posyandu-kader` found on PATH), work: both devices initialise with their tokens,
/// the first records a visit and syncs, the second pulls it. Run several times, as a
/// token beginning with `-` used to turn up once in 32 demos; and `admin add-device`
/// never prints such a token.
#[test]
fn demo_commands_run_as_printed() {
    let kader = kader_bin();
    let path = format!("{}:{}", kader.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let (_demo, _addr, lines) = start_demo(dir.path());
        let init: Vec<&String> =
            lines.iter().filter(|l| l.starts_with("posyandu-kader ") && l.contains(" init ")).collect();
        assert_eq!(init.len(), 2, "{lines:#?}");
        for l in &init {
            let token = l.split_whitespace().find_map(|w| w.strip_prefix("--token=")).expect("--token=…");
            assert!(!token.starts_with('-'), "{l}");
        }
        // Every command line the demo printed (not comments, not prose), in order.
        let script: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("posyandu-kader ") || l.starts_with("H=$(") || l.starts_with("A=$("))
            .collect();
        assert!(script.len() >= 8, "{script:#?}");
        let script = format!("set -e\n{}\n", script.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("POSYANDU_TOKEN")
            .env_remove("POSYANDU_STORE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "round {round}: printed commands failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The second device's `list` (last command) shows the household of the first.
        assert!(stdout.lines().last().unwrap_or("").contains("003"), "round {round}: {stdout}");
    }
    // `admin add-device` prints the token alone on stdout; it never starts with `-`.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.sqlite3");
    let admin = |args: &[&str]| {
        let o = Command::new(relay_bin()).arg("admin").arg("--db").arg(&db).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    admin(&["add-posyandu", "--id", "P-1", "--name", "Posyandu Satu"]);
    admin(&["add-kader", "--id", "K-1", "--name", "Kader Satu", "--posyandu", "P-1"]);
    for i in 0..40 {
        let t = admin(&["add-device", "--kader", "K-1", "--device", &format!("D-{i}")]);
        assert!(!t.trim().starts_with('-') && t.trim().len() >= 43, "{t}");
    }
}

/// Runs `bin args` with stdout a pipe whose reading end is already closed (what
/// `… | head -1` leaves once `head` has exited) and returns (status, stderr).
fn run_into_closed_pipe(bin: &Path, dir: &Path, args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `posyandu-kader … | head -1` and `posyandu-relay … | head -1` end quietly when the
/// reader is gone, instead of panicking on the broken pipe.
#[test]
fn closed_stdout_pipe_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (status, err) = run_into_closed_pipe(
        &kader_bin(),
        dir.path(),
        &["--store", "k.sqlite3", "init", "--device", "D-1", "--kader", "K-1", "--posyandu", "P-1"],
    );
    assert!(status.success() && !err.contains("panicked"), "kader init: {status}: {err}");
    // The store was created before the output failed; more output, same result.
    let (status, err) = run_into_closed_pipe(
        &kader_bin(),
        dir.path(),
        &["--store", "k.sqlite3", "add-household", "--rt", "001", "--rw", "002", "--kode-wilayah", "3275011001"],
    );
    assert!(status.success() && !err.contains("panicked"), "kader add-household: {status}: {err}");
    let (status, err) = run_into_closed_pipe(
        &relay_bin(),
        dir.path(),
        &["admin", "--db", "r.sqlite3", "add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"],
    );
    assert!(status.success() && !err.contains("panicked"), "relay admin: {status}: {err}");
    let (status, err) = run_into_closed_pipe(&relay_bin(), dir.path(), &["admin", "--db", "r.sqlite3", "list"]);
    assert!(status.success() && !err.contains("panicked"), "relay admin list: {status}: {err}");
    // And a real `| head -1` in a shell with pipefail.
    let kader = kader_bin();
    let script = format!(
        "set -o pipefail; for i in $(seq 1 50); do '{k}' --store k.sqlite3 add-household --rt 001 --rw 002 --kode-wilayah 3275011001 >/dev/null; done; '{k}' --store k.sqlite3 list | head -1",
        k = kader.display()
    );
    let out = Command::new("bash").arg("-c").arg(&script).current_dir(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("panicked"), "list | head -1: {}: {err}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

/// A real spreadsheet parser: Python with `openpyxl` (installed by
/// `.ci/install-tools.sh` into its tools venv; `SPREADSHEET_PYTHON` in its env.sh).
/// Under CI (`CI` set) a missing parser fails the test instead of skipping it.
fn spreadsheet_python() -> Option<String> {
    let candidates =
        [std::env::var("SPREADSHEET_PYTHON").ok(), std::env::var("FHIR_PYTHON").ok(), Some("python3".into())];
    for py in candidates.into_iter().flatten() {
        let ok =
            Command::new(&py).args(["-c", "import openpyxl"]).output().map(|o| o.status.success()).unwrap_or(false);
        if ok {
            return Some(py);
        }
    }
    assert!(
        std::env::var("CI").is_err(),
        "openpyxl missing under CI: run `bash .ci/install-tools.sh` and source its env.sh"
    );
    eprintln!("\n!!!!! SKIPPED: the CSV files were NOT opened in a spreadsheet parser (needs openpyxl, see .ci/install-tools.sh) !!!!!\n");
    None
}

/// Loads a CSV into an xlsx workbook the way Excel imports one (a cell whose text
/// begins with `=`, `+`, `-` or `@` becomes a formula, a number becomes a number, the
/// rest text), saves it, opens it again with openpyxl and reports formulas and the
/// numeric values of the z-score columns.
const SHEET_SCRIPT: &str = r#"
import csv, json, re, sys, tempfile, os
import openpyxl
NUM = re.compile(r'^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$')
def as_excel(t):
    if NUM.match(t):
        return float(t)
    if t[:1] == '=':
        return t
    if t[:1] in ('+', '-', '@'):
        return '=' + t
    return t
wb = openpyxl.Workbook()
ws = wb.active
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f))
for r, row in enumerate(rows, 1):
    for c, text in enumerate(row, 1):
        ws.cell(row=r, column=c, value=as_excel(text))
path = os.path.join(tempfile.mkdtemp(), 'opened.xlsx')
wb.save(path)
ws = openpyxl.load_workbook(path).active
header = [c.value for c in ws[1]]
formulas, numbers, texts = [], {}, {}
for row in ws.iter_rows(min_row=2):
    for h, cell in zip(header, row):
        if cell.data_type == 'f':
            formulas.append([h, str(cell.value)])
        elif isinstance(cell.value, (int, float)):
            numbers.setdefault(h, []).append(cell.value)
        elif cell.value is not None:
            texts.setdefault(h, []).append(cell.value)
print(json.dumps({"rows": ws.max_row, "formulas": formulas, "numbers": numbers, "texts": texts}))
"#;

fn open_in_spreadsheet(python: &str, csv: &Path) -> serde_json::Value {
    let out = Command::new(python).arg("-c").arg(SHEET_SCRIPT).arg(csv).output().unwrap();
    assert!(out.status.success(), "openpyxl failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// CSV formula injection: names a spreadsheet would run (`=HYPERLINK(…)`, `-cmd`)
/// arrive through a real relay and `posyandu-relay export --format csv` as text, and
/// negative z-scores stay numbers, checked by loading the CSV into a workbook with
/// openpyxl. The monthly report CSV goes through the same function.
#[test]
fn csv_exports_neutralise_formulas() {
    use posyandu_core::*;
    use posyandu_tests::fixtures::{household, member};
    use posyandu_tests::relay::{device, sync_until_ok, RelayProcess};

    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::new(dir.path());
    let token = relay.register("P-1", "K-1", "D-1").unwrap();
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    relay.admin(&["add-posyandu", "--id", "P-1", "--name", "Posyandu Satu", "--puskesmas", "PKM-1"]).unwrap();
    let pkm = relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap().trim().to_string();
    relay.start().unwrap();
    let store = device(dir.path(), "P-1", "K-1", "D-1", &relay.url(), &token);
    let h = store.create_household(household("001")).unwrap();
    let evil = "=HYPERLINK(\"http://x\",\"y\")";
    let a = store.add_member(h, member(&store, evil, 365, Sex::Male, Relation::Anak)).unwrap();
    let b = store.add_member(h, member(&store, "-cmd", 400, Sex::Female, Relation::Anak)).unwrap();
    for (m, kg) in [(a, 6.9), (b, 6.6)] {
        store
            .record_visit(
                h,
                NewVisit {
                    date: store.today(),
                    kind: VisitKind::KunjunganRumah,
                    entries: vec![VisitEntry {
                        member_id: m,
                        measurements: Measurements { weight_kg: Some(kg), ..Default::default() },
                        ..Default::default()
                    }],
                },
            )
            .unwrap();
    }
    sync_until_ok(&store, 5).unwrap();

    // The export CLI, as the Puskesmas runs it.
    let out_dir = dir.path().join("out");
    let o = Command::new(relay_bin())
        .args(["export", "--url", &relay.url(), "--format", "csv", "--out"])
        .arg(&out_dir)
        .arg("--since-file")
        .arg(dir.path().join("cursor.txt"))
        .env("POSYANDU_PUSKESMAS_TOKEN", &pkm)
        .output()
        .unwrap();
    assert!(o.status.success(), "export: {}", String::from_utf8_lossy(&o.stderr));
    let files: Vec<PathBuf> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("'=HYPERLINK") && text.contains("'-cmd"), "{text}");
    // The monthly report CSV.
    let month = format!("{:04}-{:02}", store.today().year(), u8::from(store.today().month()));
    let report = reqwest::blocking::Client::new()
        .get(format!("{}/v1/report/P-1/{month}?format=csv", relay.url()))
        .bearer_auth(&pkm)
        .send()
        .unwrap();
    assert!(report.status().is_success());
    let report_csv = dir.path().join("report.csv");
    std::fs::write(&report_csv, report.bytes().unwrap()).unwrap();

    let Some(python) = spreadsheet_python() else { return };
    let sheet = open_in_spreadsheet(&python, &files[0]);
    assert_eq!(sheet["formulas"], serde_json::json!([]), "formulas in the export: {sheet}");
    assert_eq!(sheet["rows"], 3, "{sheet}");
    let names: Vec<&str> = sheet["texts"]["name"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(names.contains(&"'=HYPERLINK(\"http://x\",\"y\")") && names.contains(&"'-cmd"), "{names:?}");
    let zwfa: Vec<f64> =
        sheet["numbers"]["zwfa"].as_array().expect("zwfa numeric").iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(zwfa.len(), 2, "{sheet}");
    assert!(zwfa.iter().all(|z| *z < -2.0), "negative z-scores stay numbers: {zwfa:?}");
    assert!(sheet["numbers"]["weight_kg"].as_array().is_some_and(|w| w.len() == 2), "{sheet}");
    // The check has teeth: the same rows without the quote are formulas to the parser.
    let raw = dir.path().join("raw.csv");
    std::fs::write(&raw, text.replace("'=HYPERLINK", "=HYPERLINK").replace("'-cmd", "-cmd")).unwrap();
    assert_eq!(open_in_spreadsheet(&python, &raw)["formulas"].as_array().unwrap().len(), 2);
    let rep = open_in_spreadsheet(&python, &report_csv);
    assert_eq!(rep["formulas"], serde_json::json!([]), "formulas in the report: {rep}");
}

/// `bin` started with a permissive umask (022), as from a login shell, so the mode of
/// what it creates is its own doing.
fn permissive(bin: &Path) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", "umask 022 && exec \"$0\" \"$@\""]).arg(bin);
    c
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The relay database and its `-wal`/`-shm`, the kader store, and the files of
/// `posyandu-relay export` are created 0600 (readable by their user only), even when
/// the binaries start with umask 022; an existing 0644 database is tightened.
#[cfg(unix)]
#[test]
fn files_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |c: &mut Command| {
        let o = c.current_dir(d).stdin(Stdio::null()).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let relay = relay_bin();
    let db = d.join("relay.sqlite3");
    let admin = |args: &[&str]| ok(permissive(&relay).arg("admin").arg("--db").arg(&db).args(args));
    admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]);
    admin(&["add-posyandu", "--id", "P-1", "--name", "Posyandu Satu", "--puskesmas", "PKM-1"]);
    admin(&["add-kader", "--id", "K-1", "--name", "Kader Satu", "--posyandu", "P-1"]);
    let token = admin(&["add-device", "--kader", "K-1", "--device", "D-1"]).trim().to_string();
    let pkm = admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).trim().to_string();
    assert_eq!(mode(&db), 0o600, "relay database");
    // The relay serving, with a sync written through its WAL.
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut serve = Killed(
        permissive(&relay)
            .args(["serve", "--listen", &addr.to_string(), "--db"])
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(addr, &mut serve.0);
    let kader = kader_bin();
    let store = d.join("kader.sqlite3");
    let k = |args: &[&str]| ok(permissive(&kader).arg("--store").arg(&store).args(args));
    k(&[
        "init",
        "--device",
        "D-1",
        "--kader",
        "K-1",
        "--posyandu",
        "P-1",
        &format!("--relay=http://{addr}"),
        &format!("--token={token}"),
    ]);
    let h = k(&["add-household", "--rt", "001", "--rw", "002", "--kode-wilayah", "3275011001"]);
    k(&["add-member", "--household", h.trim(), "--name", "Budi", "--birth-date", "2025-06-01", "--sex", "L"]);
    k(&["sync"]);
    assert_eq!(mode(&store), 0o600, "kader store");
    for s in ["-wal", "-shm"] {
        let p = with_suffix(&store, s);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    let mut seen = 0;
    for s in ["-wal", "-shm"] {
        let p = with_suffix(&db, s);
        if p.exists() {
            seen += 1;
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    assert!(seen > 0, "the serving relay has a -wal or -shm file");
    // The Puskesmas export CLI: pages, cursor file and the directory it creates.
    let out = d.join("export");
    let cursor = d.join("cursor.txt");
    ok(permissive(&relay)
        .args(["export", "--url", &format!("http://{addr}"), "--format", "csv", "--out"])
        .arg(&out)
        .arg("--since-file")
        .arg(&cursor)
        .env("POSYANDU_PUSKESMAS_TOKEN", &pkm));
    assert_eq!(mode(&cursor), 0o600, "cursor file");
    assert_eq!(mode(&out), 0o700, "export directory");
    let pages: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(pages.len(), 1);
    assert_eq!(mode(&pages[0]), 0o600, "export page");
    drop(serve);
    // A database made world-readable by someone else is tightened at the next start.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    admin(&["list"]);
    assert_eq!(mode(&db), 0o600, "tightened");
    // The check has teeth: this test's own files, with umask 022, are not 0600.
    let mine = d.join("mine.txt");
    ok(Command::new("sh").args(["-c", "umask 022 && : > mine.txt"]));
    assert_eq!(mode(&mine), 0o644);
}

/// Slowloris, bounded: with a 2 s header-read timeout and a cap of 8 connections, 20
/// sockets that send half a request header are all closed within seconds (waves of 8),
/// and a normal request made meanwhile is answered.
#[test]
fn slow_headers_are_cut_and_the_relay_keeps_answering() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut relay = Killed(
        Command::new(relay_bin())
            .args(["serve", "--listen", &addr.to_string(), "--db"])
            .arg(dir.path().join("r.sqlite3"))
            .env("POSYANDU_RELAY_HEADER_READ_TIMEOUT_SECS", "2")
            .env("POSYANDU_RELAY_MAX_CONNECTIONS", "8")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(addr, &mut relay.0);
    let start = Instant::now();
    let slow: Vec<_> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                // Closed by the relay: EOF (or a reset, or a 408 answer then EOF).
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return Ok(start.elapsed()),
                        Ok(_) => continue,
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut =>
                        {
                            return Err(start.elapsed())
                        }
                        Err(_) => return Ok(start.elapsed()),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let t = Instant::now();
    let resp = client.get(format!("http://{addr}/healthz")).send().unwrap();
    assert!(resp.status().is_success());
    let waited = t.elapsed();
    let closed: Vec<Duration> = slow
        .into_iter()
        .map(|h| h.join().unwrap().unwrap_or_else(|d| panic!("slow socket still open after {d:?}")))
        .collect();
    let last = closed.iter().max().unwrap();
    eprintln!("20 slow sockets closed by {last:?}; a normal request waited {waited:?}");
    assert!(*last < Duration::from_secs(15), "{closed:?}");
    assert!(waited < Duration::from_secs(15), "{waited:?}");
    // Afterwards the relay answers at once.
    let t = Instant::now();
    assert!(client.get(format!("http://{addr}/healthz")).send().unwrap().status().is_success());
    assert!(t.elapsed() < Duration::from_secs(2));
}
