//! Puskesmas read path benchmark: one Puskesmas with `PKM_POSYANDU` (33) Posyandu ×
//! `PKM_HOUSEHOLDS` (250) households × 12 monthly visits. Seeds a SQLite relay
//! database directly (documents built with `HouseholdDoc`, rows inserted in the `doc`
//! table), then times, in one run:
//!
//! 0. the read-model rebuild: deriving every household's row (what a relay does by
//!    itself after an upgrade; the seeding bypasses the push path that keeps rows
//!    current);
//! 1. baseline: read + decode every document (`docs_after` pages + `load_readonly` +
//!    `read`), nothing else — what every Puskesmas request cost before the read model;
//! 2. the full NDJSON export through the HTTP router (pages of 1000 households);
//! 3. the monthly report (JSON) of every Posyandu for one month;
//! 4. one child's weight-for-age chart (JSON), mean of 50 requests;
//! 5. the FHIR bundle of one Posyandu.
//!
//! Prints a Markdown table and writes it to `target/bench-results/puskesmas.md`.
//! Peak memory is the process's VmHWM (it includes the seeding, so it is an upper
//! bound of the read path's own peak).
//!
//! Run: `cargo bench -p posyandu-server --bench puskesmas` (release profile).

use std::time::Instant;

use automerge::ActorId;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::model::*;
use posyandu_server::storage::SqliteStorage;
use posyandu_server::{admin, app, AppState};
use tower::ServiceExt;
use uuid::Uuid;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` 5), so each step's peak is its own.
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// One household: two parents, two under-fives, 12 monthly visits in 2024.
fn build(posyandu: &str, n: usize) -> (Uuid, Vec<u8>) {
    let id = Uuid::new_v4();
    let mut doc = HouseholdDoc::create(id, posyandu, &ActorId::random()).unwrap();
    let address = Address {
        rt: format!("{:03}", n % 12 + 1),
        rw: "001".into(),
        kode_wilayah: "3201010001".into(),
        ..Default::default()
    };
    doc.patch_household(
        &HouseholdPatch { address: Some(address), ..Default::default() },
        time::macros::date!(2024 - 01 - 01),
    )
    .unwrap();
    let mut add = |name: &str, birth: time::Date, sex: Sex, rel: Relation| {
        let mid = Uuid::new_v4();
        let nm = NewMember {
            nik: Some(format!("32010{n:011}")),
            mother_nik: None,
            name: name.into(),
            birth_date: birth,
            sex,
            relation: rel,
            bpjs_number: None,
            kia_book: None,
        };
        doc.add_member(mid, &nm).unwrap();
        mid
    };
    let dad = add("Bapak", time::macros::date!(1985 - 03 - 04), Sex::Male, Relation::KepalaKeluarga);
    let mom = add("Ibu", time::macros::date!(1990 - 07 - 08), Sex::Female, Relation::Istri);
    let births = [time::macros::date!(2022 - 02 - 10), time::macros::date!(2023 - 09 - 20)];
    let kids: Vec<Uuid> = births
        .iter()
        .enumerate()
        .map(|(i, b)| {
            add(&format!("Anak {i}"), *b, if (n + i) % 2 == 0 { Sex::Male } else { Sex::Female }, Relation::Anak)
        })
        .collect();
    for month in 1..=12u8 {
        let date = time::Date::from_calendar_date(2024, time::Month::try_from(month).unwrap(), 15).unwrap();
        let mut entries = Vec::new();
        for (i, k) in kids.iter().enumerate() {
            let age_m = ((date - births[i]).whole_days() as f64 / 30.4375) as f64;
            let w = 3.3 + age_m * 0.25 + ((n * 7 + month as usize * 3 + i) % 5) as f64 * 0.1 - 0.2;
            let mut e = VisitEntry { member_id: *k, ..Default::default() };
            e.measurements.weight_kg = Some((w * 10.0).round() / 10.0);
            e.measurements.length_height_cm = Some((50.0 + age_m * 1.1 * 10.0).round() / 10.0);
            if month == 2 || month == 8 {
                e.services.vitamin_a = true;
            }
            entries.push(e);
        }
        for (j, a) in [dad, mom].iter().enumerate() {
            let mut e = VisitEntry { member_id: *a, ..Default::default() };
            e.measurements.bp_systolic_mmhg = Some(120 + ((n + month as usize + j) % 40) as u16);
            e.measurements.bp_diastolic_mmhg = Some(75 + ((n + j) % 20) as u16);
            entries.push(e);
        }
        let v = Visit {
            id: Uuid::new_v4(),
            date,
            kind: VisitKind::HariBuka,
            kader_id: "K-1".into(),
            posyandu_id: posyandu.into(),
            entries,
            deleted: false,
        };
        doc.add_visit(&v).unwrap();
    }
    doc.commit("K-1", 1_700_000_000).unwrap();
    (id, doc.save())
}

async fn get(router: &axum::Router, path: &str, token: &str) -> (axum::http::HeaderMap, usize) {
    let resp = router
        .clone()
        .oneshot(Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (headers, body.len())
}

fn main() {
    let n_pos = env("PKM_POSYANDU", 33);
    let n_hh = env("PKM_HOUSEHOLDS", 250);
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("relay.sqlite3")).unwrap();
    let posyandu: Vec<String> = (1..=n_pos).map(|i| format!("P-{i:03}")).collect();
    let token = storage.with_conn(|c| {
        admin::add_puskesmas(c, "PKM-BENCH", "Puskesmas Bench").unwrap();
        for p in &posyandu {
            admin::add_posyandu(c, p, p, Some("PKM-BENCH")).unwrap();
            // SATUSEHAT ids for the FHIR export (sandbox-style placeholders).
            let config = posyandu_server::storage::SatusehatConfig {
                posyandu_id: p.clone(),
                posyandu_name: String::new(),
                org_id: format!("org-{p}"),
                puskesmas_org_id: "100000001".into(),
                location_id: format!("loc-{p}"),
                bidan_ihs: "N10000001".into(),
                bidan_name: "Bidan".into(),
                utc_offset: "+07:00".into(),
                kfa: Default::default(),
            };
            admin::set_satusehat(c, &config).unwrap();
        }
        admin::puskesmas_token(c, "PKM-BENCH").unwrap().token
    });

    // Seed: build documents on all cores, insert in one transaction per Posyandu.
    let t = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut total_bytes = 0usize;
    for p in &posyandu {
        let chunks: Vec<Vec<(Uuid, Vec<u8>)>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|t| s.spawn(move || (t..n_hh).step_by(threads).map(|n| build(p, n)).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        storage.with_conn(|c| {
            let tx = c.transaction().unwrap();
            let mut seq = 0i64;
            for (id, snap) in chunks.into_iter().flatten() {
                seq += 1;
                total_bytes += snap.len();
                tx.execute(
                    "INSERT INTO doc (id, scope, snapshot, updated_seq, updated_at) VALUES (?1, ?2, ?3, ?4, 0)",
                    rusqlite::params![id.as_bytes().to_vec(), p, snap, seq],
                )
                .unwrap();
            }
            tx.execute("INSERT INTO scope_counter (scope, last_seq) VALUES (?1, ?2)", rusqlite::params![p, seq])
                .unwrap();
            tx.commit().unwrap();
        });
    }
    let seed_s = t.elapsed().as_secs_f64();
    let seed_hwm = vm_hwm_kib();
    eprintln!("seeded {} households ({} MiB of snapshots) in {seed_s:.1}s", n_pos * n_hh, total_bytes >> 20);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let state = AppState::new(storage.clone());
    let router = app(state.clone());
    let mut rows: Vec<(String, f64, String, u64)> = Vec::new();
    reset_hwm();

    // 0. Read-model rebuild (rows for every document).
    let t = Instant::now();
    let rebuilt = rt.block_on(posyandu_server::read_model::rebuild(&state.storage, |_, _| {})).unwrap();
    assert_eq!(rebuilt as usize, n_pos * n_hh);
    let rebuild_s = t.elapsed().as_secs_f64();
    let rebuild_hwm = vm_hwm_kib();
    reset_hwm();

    // 1. Baseline: read + decode every document.
    let t = Instant::now();
    let decoded = rt.block_on(async {
        let mut n = 0usize;
        for p in &posyandu {
            let mut after = 0;
            loop {
                let docs = state.storage.docs_after(p.clone(), after, 256).await.unwrap();
                let full = docs.len() == 256;
                after = docs.last().map_or(after, |d| d.updated_seq);
                n += tokio::task::spawn_blocking(move || {
                    docs.iter().filter(|d| HouseholdDoc::load_readonly(&d.snapshot).unwrap().read().is_ok()).count()
                })
                .await
                .unwrap();
                if !full {
                    break;
                }
            }
        }
        n
    });
    assert_eq!(decoded, n_pos * n_hh);
    rows.push((
        "baseline: load + decode all documents".into(),
        t.elapsed().as_secs_f64(),
        format!("{decoded} households"),
        vm_hwm_kib(),
    ));
    reset_hwm();

    // 2. Full NDJSON export.
    let t = Instant::now();
    let (pages, bytes) = rt.block_on(async {
        let (mut cursor, mut pages, mut bytes) = (String::new(), 0, 0);
        loop {
            let (h, n) = get(&router, &format!("/v1/export?format=ndjson&limit=1000&since={cursor}"), &token).await;
            pages += 1;
            bytes += n;
            cursor = h["x-posyandu-cursor"].to_str().unwrap().to_string();
            if h["x-posyandu-more"] != "true" {
                let _ = cursor;
                break (pages, bytes);
            }
        }
    });
    rows.push((
        "full export, NDJSON (pages of 1000)".into(),
        t.elapsed().as_secs_f64(),
        format!("{pages} pages, {} MiB", bytes >> 20),
        vm_hwm_kib(),
    ));
    reset_hwm();

    // 3. Monthly reports of every Posyandu.
    let t = Instant::now();
    let rbytes = rt.block_on(async {
        let mut b = 0;
        for p in &posyandu {
            b += get(&router, &format!("/v1/report/{p}/2024-08"), &token).await.1;
        }
        b
    });
    rows.push((
        format!("{n_pos} monthly reports (JSON, 2024-08)"),
        t.elapsed().as_secs_f64(),
        format!("{} KiB", rbytes >> 10),
        vm_hwm_kib(),
    ));
    reset_hwm();

    // 3b. The Puskesmas recap (all 33 Posyandu in one request), month and January–August.
    for (label, q) in [("month", ""), ("January–August (ytd)", "?period=ytd")] {
        let t = Instant::now();
        let n = rt.block_on(get(&router, &format!("/v1/recap/2024-08{q}"), &token)).1;
        rows.push((
            format!("Puskesmas recap, {label}, one request"),
            t.elapsed().as_secs_f64(),
            format!("{} KiB", n >> 10),
            vm_hwm_kib(),
        ));
        reset_hwm();
    }

    // 4. One child's chart.
    let child = rt.block_on(async {
        let docs = state.storage.docs_after(posyandu[0].clone(), 0, 1).await.unwrap();
        let hh = HouseholdDoc::load_readonly(&docs[0].snapshot).unwrap().read().unwrap();
        hh.members.iter().find(|m| m.relation == Relation::Anak).unwrap().id
    });
    let n_charts = 50;
    let t = Instant::now();
    let cbytes = rt.block_on(async {
        let mut b = 0;
        for _ in 0..n_charts {
            b = get(&router, &format!("/v1/report/{}/child/{child}?format=json", posyandu[0]), &token).await.1;
        }
        b
    });
    let per_chart = t.elapsed().as_secs_f64() / n_charts as f64;
    rows.push((
        "one child's chart (JSON), per request".into(),
        per_chart,
        format!("{:.2} ms, {cbytes} bytes", per_chart * 1e3),
        vm_hwm_kib(),
    ));
    reset_hwm();

    // 5. FHIR bundle of one Posyandu.
    let t = Instant::now();
    let fbytes = rt.block_on(async {
        let (mut cursor, mut b) = (String::new(), 0);
        loop {
            let (h, n) = get(&router, &format!("/v1/fhir/{}?since={cursor}", posyandu[0]), &token).await;
            b += n;
            cursor = h["x-posyandu-cursor"].to_str().unwrap().to_string();
            if h["x-posyandu-more"] != "true" {
                break b;
            }
        }
    });
    rows.push((
        "FHIR bundles (pages of 100), one Posyandu".into(),
        t.elapsed().as_secs_f64(),
        format!("{} MiB", fbytes >> 20),
        vm_hwm_kib(),
    ));

    let hwm = rows.iter().map(|r| r.3).max().unwrap_or(0).max(seed_hwm);
    let mut md = format!(
        "## Puskesmas read path: {n_pos} Posyandu × {n_hh} households × 12 visits\n\n\
         Seeding {} households ({} MiB of automerge snapshots): {seed_s:.1} s, VmHWM after seeding {} MiB.\n\n\
         | step | time (s) | vs baseline | output | peak RSS of step (MiB) |\n|---|---:|---:|---|---:|\n",
        n_pos * n_hh,
        total_bytes >> 20,
        seed_hwm >> 10
    );
    md.push_str(&format!(
        "| read-model rebuild (derive every row) | {rebuild_s:.2} | {:.2}× | {rebuilt} rows | {} |\n",
        rebuild_s / rows[0].1,
        rebuild_hwm >> 10
    ));
    let base = rows[0].1;
    for (name, secs, out, kib) in &rows {
        md.push_str(&format!("| {name} | {secs:.3} | {:.4}× | {out} | {} |\n", secs / base, kib >> 10));
    }
    md.push_str(&format!("\nPeak memory (VmHWM) of the whole run: {} MiB.\n", hwm >> 10));
    print!("{md}");
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("puskesmas.md"), md).unwrap();
}
