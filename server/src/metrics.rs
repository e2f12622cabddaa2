//! Prometheus metrics, hand-written (a handful of counters and one histogram).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Sync,
    Snapshot,
    Docs,
}

impl Endpoint {
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Sync => "sync",
            Endpoint::Snapshot => "snapshot",
            Endpoint::Docs => "docs",
        }
    }
}

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    /// (endpoint, result) → count; result is `ok` or an error code.
    requests: Mutex<BTreeMap<(Endpoint, &'static str), u64>>,
    /// Error code → count (all routes, including auth failures).
    errors: Mutex<BTreeMap<&'static str, u64>>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    changes_stored: AtomicU64,
    /// Stored documents the Puskesmas side could not read at all, and records it left
    /// out of the documents it read (see `admin problems`).
    unreadable_docs: AtomicU64,
    unreadable_records: AtomicU64,
    changes_pulled: AtomicU64,
    sync_latency: Histogram,
    snapshot_latency: Histogram,
    /// Read-model rows re-derived by the background rebuild, and documents still
    /// without a current row (see `crate::read_model::rebuild`).
    read_model_rebuilt: AtomicU64,
    read_model_stale: AtomicU64,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one finished request of a sync endpoint.
    pub fn request(&self, ep: Endpoint, result: &'static str, elapsed: Duration, bytes_in: usize, bytes_out: usize) {
        *self.requests.lock().unwrap_or_else(|p| p.into_inner()).entry((ep, result)).or_default() += 1;
        self.bytes_in.fetch_add(bytes_in as u64, Relaxed);
        self.bytes_out.fetch_add(bytes_out as u64, Relaxed);
        let h = match ep {
            Endpoint::Sync => &self.sync_latency,
            Endpoint::Snapshot | Endpoint::Docs => &self.snapshot_latency,
        };
        let secs = elapsed.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i].fetch_add(1, Relaxed);
            }
        }
        h.count.fetch_add(1, Relaxed);
        h.sum_micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    pub fn error(&self, code: &'static str) {
        *self.errors.lock().unwrap_or_else(|p| p.into_inner()).entry(code).or_default() += 1;
    }

    pub fn unreadable(&self, docs: u64, records: u64) {
        self.unreadable_docs.fetch_add(docs, Relaxed);
        self.unreadable_records.fetch_add(records, Relaxed);
    }

    pub fn changes(&self, stored: u64, pulled: u64) {
        self.changes_stored.fetch_add(stored, Relaxed);
        self.changes_pulled.fetch_add(pulled, Relaxed);
    }

    /// Progress of the read-model rebuild: rows rebuilt so far, documents remaining.
    pub fn read_model_progress(&self, rebuilt: u64, remaining: u64) {
        self.read_model_rebuilt.store(rebuilt, Relaxed);
        self.read_model_stale.store(remaining, Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "# HELP posyandu_sync_requests_total Requests to the sync endpoints by result (ok or error code).\n",
        );
        s.push_str("# TYPE posyandu_sync_requests_total counter\n");
        for ((ep, result), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(s, "posyandu_sync_requests_total{{endpoint=\"{}\",result=\"{result}\"}} {n}", ep.label());
        }
        s.push_str("# HELP posyandu_errors_total Error responses by code.\n# TYPE posyandu_errors_total counter\n");
        for (code, n) in self.errors.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(s, "posyandu_errors_total{{code=\"{code}\"}} {n}");
        }
        for (name, help, v) in [
            ("posyandu_sync_bytes_in_total", "Request body bytes received on the sync endpoints.", &self.bytes_in),
            ("posyandu_sync_bytes_out_total", "Response body bytes sent on the sync endpoints.", &self.bytes_out),
            ("posyandu_changes_stored_total", "New changes appended to change logs.", &self.changes_stored),
            ("posyandu_changes_pulled_total", "Changes sent to devices.", &self.changes_pulled),
            (
                "posyandu_unreadable_documents_total",
                "Stored documents the Puskesmas side could not read (see `admin problems`).",
                &self.unreadable_docs,
            ),
            (
                "posyandu_unreadable_records_total",
                "Records left out of stored documents read by the Puskesmas side (see `admin problems`).",
                &self.unreadable_records,
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
        }
        let _ = writeln!(
            s,
            "# HELP posyandu_read_model_rebuilt_total Read-model rows re-derived by the rebuild since start.\n\
             # TYPE posyandu_read_model_rebuilt_total counter\nposyandu_read_model_rebuilt_total {}\n\
             # HELP posyandu_read_model_stale Documents whose read-model row the rebuild has still to derive.\n\
             # TYPE posyandu_read_model_stale gauge\nposyandu_read_model_stale {}",
            self.read_model_rebuilt.load(Relaxed),
            self.read_model_stale.load(Relaxed)
        );
        s.push_str("# HELP posyandu_sync_duration_seconds Time to answer a sync endpoint request.\n");
        s.push_str("# TYPE posyandu_sync_duration_seconds histogram\n");
        for (ep, h) in [(Endpoint::Sync, &self.sync_latency), (Endpoint::Snapshot, &self.snapshot_latency)] {
            let l = ep.label();
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "posyandu_sync_duration_seconds_bucket{{endpoint=\"{l}\",le=\"{le}\"}} {}",
                    h.buckets[i].load(Relaxed)
                );
            }
            let count = h.count.load(Relaxed);
            let _ = writeln!(s, "posyandu_sync_duration_seconds_bucket{{endpoint=\"{l}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                s,
                "posyandu_sync_duration_seconds_sum{{endpoint=\"{l}\"}} {}",
                h.sum_micros.load(Relaxed) as f64 / 1e6
            );
            let _ = writeln!(s, "posyandu_sync_duration_seconds_count{{endpoint=\"{l}\"}} {count}");
        }
        s
    }
}
