//! A write that returned OK survives a process kill: a child process records visits
//! as fast as it can and reports each one after `record_visit` returned; the parent
//! kills it with SIGKILL mid-stream, then reopens the store.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use posyandu_core::*;
use time::macros::date;

const CHILD_ENV: &str = "POSYANDU_CRASH_CHILD_STORE";

/// The child side: does nothing unless started by `killed_writer_loses_no_acknowledged_visit`.
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = open_store(std::path::Path::new(&path), "D1");
    let hh = store.list_households(None).unwrap()[0].id;
    let kid = store.household(hh).unwrap().members[0].id;
    loop {
        let id = store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 9.5)).unwrap();
        println!("OK {id}");
    }
}

#[test]
fn killed_writer_loses_no_acknowledged_visit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.sqlite3");
    {
        let store = open_store(&path, "D1");
        let hh = store.create_household(new_household("001")).unwrap();
        store.add_member(hh, child("Budi", date!(2024 - 01 - 20))).unwrap();
    }
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = Vec::new();
        // Kill at a varying point, while the child is in the middle of writing.
        let target = 20 + round * 37;
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.len() < target && Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("OK ") => acked.push(l[3..].trim().parse::<uuid::Uuid>().unwrap()),
                Some(_) => {}
                None => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Lines the child printed before dying were also acknowledged.
        for l in lines.map_while(Result::ok) {
            if let Some(id) = l.strip_prefix("OK ") {
                acked.push(id.trim().parse().unwrap());
            }
        }
        assert!(acked.len() >= target, "child wrote only {} visits", acked.len());

        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        drop(conn);
        let store = open_store(&path, "D1");
        let hh = store.list_households(None).unwrap()[0].id;
        let visits: std::collections::HashSet<_> = store.household(hh).unwrap().visits.iter().map(|v| v.id).collect();
        for id in &acked {
            assert!(visits.contains(id), "round {round}: acknowledged visit {id} lost");
        }
        // Every stored change is also in the outbox (nothing synced yet), so nothing
        // recorded can be lost for the relay either.
        assert!(store.pending_changes().unwrap() as usize >= visits.len());
    }
}
