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
        let init: Vec<&String> = lines.iter().filter(|l| l.starts_with("posyandu-kader ") && l.contains(" init ")).collect();
        assert_eq!(init.len(), 2, "{lines:#?}");
        for l in &init {
            let token = l.split_whitespace().find_map(|w| w.strip_prefix("--token=")).expect("--token=…");
            assert!(!token.starts_with('-'), "{l}");
        }
        // Every command line the demo printed (not comments, not prose), in order.
        let script: Vec<&String> =
            lines.iter().filter(|l| l.starts_with("posyandu-kader ") || l.starts_with("H=$(") || l.starts_with("A=$(")).collect();
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
