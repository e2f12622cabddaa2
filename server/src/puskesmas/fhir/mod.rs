//! SATUSEHAT FHIR R4 export (issues 5 and 14).
//!
//! - `GET /v1/fhir/{posyandu}?since=&limit=&month=YYYY-MM&master=true|false`: a FHIR R4
//!   `Bundle` of type `transaction` of the Posyandu's households changed after the
//!   cursor (optionally only visits of one month), shaped for SATUSEHAT and the ID Core
//!   profiles (see [`build`] for every convention and its source, [`codes`] for the
//!   code table, [`profile`] for the constraints checked). Every entry has a `request`:
//!   what SATUSEHAT assigns ids to is a conditional create (`POST` + `ifNoneExist` on a
//!   `sys-ids.kemkes.go.id` identifier whose value is a UUID derived from the record),
//!   the Posyandu's Organization and Location are `PUT` under their SATUSEHAT ids; so a
//!   re-upload of the same export creates nothing twice. Needs the Posyandu's SATUSEHAT
//!   ids (`posyandu-relay admin satusehat`), else 409 `satusehat_not_configured`.
//!   `x-posyandu-ihs-missing` counts the members sent without an IHS number.
//! - `GET /v1/fhir/{posyandu}/missing-ihs?month=&format=json|csv`: the members with
//!   visits (of the month) whose IHS number is not known, for the Puskesmas' MPI lookup.
//! - `POST /v1/fhir/ihs?posyandu=`: CSV `nik,ihs` of the Puskesmas' MPI lookups (see
//!   [`ihs_upload_handler`]).

pub mod build;
pub mod codes;
pub mod profile;
pub mod referral;

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use build::{ExportContext, MissingIhs, ANTIGEN_SYSTEM, IHS_SYSTEM, MEMBER_SYSTEM, NIK_IBU_SYSTEM, NIK_SYSTEM};

use super::{decode, parse_limit, parse_month, puskesmas, query_pairs, Cursor, Loaded, CURSOR_HEADER, MORE_HEADER};
use crate::error::ApiError;
use crate::storage::satusehat::is_ihs_number;
use crate::AppState;

/// Households per FHIR page by default, and at most.
pub const DEFAULT_FHIR_LIMIT: usize = 100;
pub const MAX_FHIR_LIMIT: usize = 1000;
/// Members in an export without an IHS number (sent as conditional creates).
pub const IHS_MISSING_HEADER: &str = "x-posyandu-ihs-missing";
/// Largest IHS upload accepted, bytes and rows.
pub const MAX_IHS_UPLOAD_BYTES: usize = 1 << 20;
pub const MAX_IHS_UPLOAD_ROWS: usize = 20_000;

/// A stable UUID derived from parts (SHA-256, RFC 4122 version/variant bits set).
pub fn derived_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b).to_string()
}

/// A `transaction` Bundle of the given households, serialised household by household
/// (only one household's resources are held as JSON values at a time). Returns the
/// bytes and the members sent without an IHS number.
pub fn bundle_bytes(
    ctx: &ExportContext,
    households: &[Loaded],
    next: Option<String>,
) -> serde_json::Result<(Vec<u8>, Vec<MissingIhs>)> {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let mut head = json!({
        "resourceType": "Bundle",
        "id": Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": now },
        "identifier": { "system": "https://posyandu-sync.id/fhir/sid/posyandu", "value": ctx.config.posyandu_id },
        "type": "transaction",
        "timestamp": now,
    });
    if let Some(n) = next {
        head["link"] = json!([{ "relation": "next", "url": n }]);
    }
    let mut out = serde_json::to_vec(&head)?;
    out.pop(); // the closing brace
    out.extend_from_slice(b",\"entry\":[");
    let mut first = true;
    let mut entries = if ctx.master { build::master_entries(&ctx.config) } else { Vec::new() };
    let mut missing = Vec::new();
    let mut flush = |entries: &mut Vec<Value>, out: &mut Vec<u8>| -> serde_json::Result<()> {
        for e in entries.drain(..) {
            if !first {
                out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut *out, &e)?;
        }
        Ok(())
    };
    flush(&mut entries, &mut out)?;
    for l in households {
        build::household_entries(ctx, l, &mut entries, &mut missing);
        flush(&mut entries, &mut out)?;
    }
    out.extend_from_slice(b"]}");
    Ok((out, missing))
}

/// The export context of a Posyandu: its SATUSEHAT ids (409 without them) and the IHS
/// numbers of the NIKs of `households`.
async fn context(
    st: &AppState,
    posyandu: &str,
    households: &[Loaded],
    q: &std::collections::BTreeMap<String, String>,
) -> Result<ExportContext, ApiError> {
    let config = st
        .storage
        .satusehat_config(posyandu.to_string())
        .await?
        .ok_or_else(|| ApiError::SatusehatNotConfigured(posyandu.to_string()))?;
    let niks: Vec<String> = households
        .iter()
        .flat_map(|l| l.household.members.iter().filter_map(|m| m.nik.clone()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let ihs = st.storage.ihs_numbers(posyandu.to_string(), niks).await?;
    Ok(ExportContext {
        config,
        ihs,
        month: month_param(q)?,
        master: q.get("master").map(String::as_str) != Some("false"),
    })
}

fn month_param(q: &std::collections::BTreeMap<String, String>) -> Result<Option<(time::Date, time::Date)>, ApiError> {
    match q.get("month") {
        None => Ok(None),
        Some(m) => parse_month(m).map(Some).ok_or_else(|| ApiError::BadBody("month harus berbentuk YYYY-MM".into())),
    }
}

pub async fn handler(
    State(st): State<AppState>,
    Path(posyandu): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match inner(&st, &posyandu, &headers, raw.as_deref()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn inner(st: &AppState, posyandu: &str, headers: &HeaderMap, raw: Option<&str>) -> Result<Response, ApiError> {
    let q = query_pairs(raw);
    let scope = puskesmas(st, headers, None).await?;
    scope.check(posyandu)?;
    let (cursor, reset) = Cursor::parse(q.get("since").map(String::as_str))?.for_epoch(st.storage.epoch().await?);
    for p in cursor.seqs.keys() {
        scope.check(p)?;
    }
    // Bundles are ~50 KiB per household: a smaller default page than the export.
    let limit = if q.contains_key("limit") { parse_limit(&q)?.min(MAX_FHIR_LIMIT) } else { DEFAULT_FHIR_LIMIT };
    let after = cursor.get(posyandu);
    let mut docs = st.storage.read_after(posyandu.to_string(), after, limit + 1).await?;
    let more = docs.len() > limit;
    docs.truncate(limit);
    let mut next = cursor.clone();
    next.seqs.insert(posyandu.to_string(), docs.last().map_or(after, |d| d.updated_seq));
    let next_s = next.encode();
    let p = posyandu.to_string();
    let loaded: Vec<Loaded> =
        tokio::task::spawn_blocking(move || docs.iter().filter_map(|d| decode(&p, d).ok()).collect())
            .await
            .map_err(ApiError::internal)?;
    let ctx = context(st, posyandu, &loaded, &q).await?;
    let mut link = format!("/v1/fhir/{posyandu}?since={next_s}&limit={limit}");
    for k in ["month", "master"] {
        if let Some(v) = q.get(k) {
            link.push_str(&format!("&{k}={v}"));
        }
    }
    let link = more.then_some(link);
    let (body, missing) = tokio::task::spawn_blocking(move || bundle_bytes(&ctx, &loaded, link))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/fhir+json"));
    h.insert(CURSOR_HEADER, HeaderValue::from_str(&next_s).map_err(ApiError::internal)?);
    h.insert(MORE_HEADER, HeaderValue::from_static(if more { "true" } else { "false" }));
    h.insert(IHS_MISSING_HEADER, HeaderValue::from(missing.len() as u64));
    if reset {
        h.insert(super::RESET_HEADER, HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// `GET /v1/fhir/{posyandu}/missing-ihs?month=&format=json|csv`.
pub async fn missing_ihs_handler(
    State(st): State<AppState>,
    Path(posyandu): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let q = query_pairs(raw.as_deref());
        let scope = puskesmas(&st, &headers, None).await?;
        scope.check(&posyandu)?;
        let mut all = Vec::new();
        super::walk_posyandu(&st, &posyandu, |l| all.push(l.clone())).await?;
        let ctx = context(&st, &posyandu, &all, &q).await?;
        let mut missing = Vec::new();
        let mut scratch = Vec::new();
        for l in &all {
            build::household_entries(&ctx, l, &mut scratch, &mut missing);
            scratch.clear();
        }
        missing.sort_by(|a, b| (&a.name, &a.member_id).cmp(&(&b.name, &b.member_id)));
        if q.get("format").map(String::as_str) == Some("csv") {
            let mut w = csv::Writer::from_writer(Vec::new());
            super::write_csv_row(&mut w, ["member_id", "name", "birth_date", "identifier", "nik"])
                .map_err(ApiError::internal)?;
            for m in &missing {
                super::write_csv_row(
                    &mut w,
                    [m.member_id.as_str(), m.name.as_str(), m.birth_date.as_str(), m.identifier, m.nik.as_str()],
                )
                .map_err(ApiError::internal)?;
            }
            let out = w.into_inner().map_err(ApiError::internal)?;
            Ok::<_, ApiError>(([(CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        } else {
            let body = json!({ "posyandu": posyandu, "count": missing.len(), "members": missing });
            Ok(([(CONTENT_TYPE, "application/json")], body.to_string()).into_response())
        }
    };
    match run.await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Parses an IHS upload: CSV with a header naming columns `nik` and `ihs` (other
/// columns ignored; `,` or `;`), at most [`MAX_IHS_UPLOAD_ROWS`] rows. Each NIK must be
/// 16 digits and belong to a member of the Posyandu (`member_niks`), each IHS number
/// look like one ([`is_ihs_number`]). Errors are line-numbered, in Bahasa Indonesia,
/// and never repeat a NIK.
pub fn parse_ihs_csv(body: &[u8], member_niks: &HashSet<String>) -> Result<Vec<(String, String)>, Vec<String>> {
    let text = std::str::from_utf8(body).map_err(|_| vec!["berkas bukan teks UTF-8".to_string()])?;
    let text = text.trim_start_matches('\u{feff}');
    let delimiter = if text.lines().next().is_some_and(|h| h.contains(';') && !h.contains(',')) { b';' } else { b',' };
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header = rdr.headers().map_err(|_| vec!["baris judul tidak terbaca".to_string()])?.clone();
    let col = |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(ni), Some(ii)) = (col("nik"), col("ihs")) else {
        return Err(vec!["baris judul harus memuat kolom 'nik' dan 'ihs'".to_string()]);
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        if i >= MAX_IHS_UPLOAD_ROWS {
            errors.push(format!("lebih dari {MAX_IHS_UPLOAD_ROWS} baris: bagi berkas menjadi beberapa unggahan"));
            break;
        }
        let Ok(rec) = rec else {
            errors.push(format!("baris {line}: tidak terbaca"));
            continue;
        };
        let nik = rec.get(ni).unwrap_or("").trim().to_string();
        let ihs = rec.get(ii).unwrap_or("").trim().to_string();
        if nik.is_empty() && ihs.is_empty() {
            continue;
        }
        if nik.len() != 16 || !nik.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(format!("baris {line}: NIK harus 16 angka"));
        } else if !member_niks.contains(&nik) {
            errors.push(format!("baris {line}: NIK tidak terdaftar sebagai anggota Posyandu ini"));
        } else if !is_ihs_number(&ihs) {
            errors.push(format!("baris {line}: nomor IHS tidak valid (contoh: P02280547535)"));
        } else if let Some(prev) = seen.insert(nik.clone(), line) {
            errors.push(format!("baris {line}: NIK yang sama sudah ada di baris {prev}"));
        } else {
            rows.push((nik, ihs));
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// `POST /v1/fhir/ihs?posyandu=`: stores the IHS numbers of a Posyandu's members (CSV
/// `nik,ihs`, at most 1 MiB). All or nothing: any invalid row refuses the upload with
/// 400 `bad_body` listing (at most 20) line errors. Answers `{"stored": n}`.
pub async fn ihs_upload_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let run = async {
        let q = query_pairs(raw.as_deref());
        let scope = puskesmas(&st, &headers, None).await?;
        let posyandu = q.get("posyandu").ok_or_else(|| ApiError::BadBody("parameter posyandu wajib diisi".into()))?;
        scope.check(posyandu)?;
        if body.len() > MAX_IHS_UPLOAD_BYTES {
            return Err(ApiError::TooLarge);
        }
        let mut niks = HashSet::new();
        super::walk_posyandu(&st, posyandu, |l| {
            niks.extend(l.household.members.iter().filter(|m| !m.deleted).filter_map(|m| m.nik.clone()))
        })
        .await?;
        let rows = parse_ihs_csv(&body, &niks).map_err(|errs| {
            let n = errs.len();
            let mut msg = errs.into_iter().take(20).collect::<Vec<_>>().join("; ");
            if n > 20 {
                msg.push_str(&format!("; dan {} kesalahan lain", n - 20));
            }
            ApiError::BadBody(format!("unggahan IHS ditolak, tidak ada yang disimpan: {msg}"))
        })?;
        let stored = st.storage.put_ihs(posyandu.clone(), rows).await?;
        tracing::info!(puskesmas = %scope.puskesmas_id, posyandu = %posyandu, stored, "IHS numbers uploaded");
        Ok::<_, ApiError>(
            ([(CONTENT_TYPE, "application/json")], json!({ "posyandu": posyandu, "stored": stored }).to_string())
                .into_response(),
        )
    };
    match run.await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
