//! What the command-line programs (`posyandu-kader`, `posyandu-relay`) do with their own
//! process: write to stdout without panicking on a closed pipe, and create files
//! readable by their user only (stores, relay databases, exports hold personal data).

use std::io::Write as _;

/// Writes to stdout. A closed pipe (`… | head -1`) ends the process quietly with
/// status 0 instead of panicking as `println!` does; any other write error ends it
/// with status 1 (`program` names it on stderr).
pub fn write_stdout(program: &str, args: std::fmt::Arguments<'_>, newline: bool) {
    let mut out = std::io::stdout().lock();
    let r = out.write_fmt(args).and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) });
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{program}: cannot write to stdout: {e}");
            std::process::exit(1)
        }
    }
}

/// Files this process creates are readable by its user only: 0600 (directories 0700).
/// SQLite gives a database's `-wal`/`-shm` the database's mode. (The Android app's
/// files are app-private: its sandbox gives them to the app's user only.)
pub fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file-creation mask; it has no failure mode.
    unsafe {
        libc::umask(0o077);
    }
}

/// Tightens an existing SQLite file and its `-wal`/`-shm` to 0600 (files created
/// before [`private_files`] or by another program).
pub fn tighten_sqlite_files(db: &std::path::Path) {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(m) = std::fs::metadata(&p) {
            if m.is_file() && m.permissions().mode() & 0o077 != 0 {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = db;
}
