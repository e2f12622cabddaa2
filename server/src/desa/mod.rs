//! The desa/kelurahan side (issue 13, "SPM needs handed to the desa"): a desa token
//! ([`Principal::Desa`]) is scoped to Kemendagri village codes (`Address.kode_wilayah`)
//! and reads, from the relay's read model, the SPM requests of its villages' households
//! and aggregate counts (people by life stage, households registered and visited per
//! RT); it writes only the desa-side request steps (forwarded to an office, done,
//! refused), which the relay writes into the household document as an automerge change
//! ([`crate::relay_writer::DESA`]) so the phones pull the new status at their next sync.
//! `docs/spm-hand-off.md`.
//!
//! Least data: a listed request carries the subject's name and RT/RW, the need, the
//! notes and steps — never a NIK, birth date, measurement, z-score, diagnosis or
//! pregnancy. Device, Puskesmas and bidan tokens get `wrong_token_kind`.

pub mod registry;
mod views;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use posyandu_records::model::{Household, SpmArea, SpmRole, SpmStatus, SpmStep};
use posyandu_records::rules::spm_request as rules;
use uuid::Uuid;

pub use views::*;

use crate::auth::{self, DesaPrincipal, Principal};
use crate::error::{truncate, ApiError};
use crate::read_model::HouseholdView;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/desa/requests", get(list_handler))
        .route("/v1/desa/requests.csv", get(csv_handler))
        .route("/v1/desa/requests/{household}/{key}/steps", post(step_handler))
        .route("/v1/desa/coverage", get(coverage_handler))
        .route("/v1/desa/households.geojson", get(geojson_handler))
        .route("/v1/desa/page", get(page_handler))
        .route("/v1/puskesmas/households.geojson", get(puskesmas_geojson_handler))
}

/// Rows read per storage call.
const PAGE: usize = 200;
/// Most requests one listing returns (`truncated` beyond).
pub const MAX_LISTED: usize = 5_000;

/// Authenticates a desa; any other token kind is refused. `access_token` only for the
/// HTML page (a browser opens it from a bookmark).
async fn desa(st: &AppState, headers: &HeaderMap, access_token: Option<&str>) -> Result<DesaPrincipal, ApiError> {
    let mut token_id = None;
    let principal = match (auth::bearer(headers), access_token) {
        (None, Some(t)) if !t.is_empty() => {
            let mut h = HeaderMap::new();
            let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| ApiError::Unauthorized)?;
            h.insert(axum::http::header::AUTHORIZATION, v);
            auth::authenticate(st, &h, &mut token_id).await
        }
        _ => auth::authenticate(st, headers, &mut token_id).await,
    };
    let principal = principal.inspect_err(|e| {
        tracing::warn!(token_id, code = e.code(), "desa request refused");
    })?;
    match principal {
        Principal::Desa(d) => Ok(d),
        other => {
            tracing::warn!(token_id = other.token_id(), code = "wrong_token_kind", "non-desa token on desa API");
            Err(ApiError::WrongTokenKind)
        }
    }
}

/// Every read-model household of the desa's Posyandu whose village code is one of its
/// codes, with its Posyandu.
async fn households(st: &AppState, d: &DesaPrincipal) -> Result<Vec<(String, HouseholdView)>, ApiError> {
    views(st, d.posyandu_ids.iter(), |v| d.kodes.iter().any(|k| *k == v.household.address.kode_wilayah)).await
}

/// The Posyandu documents (projections) of the desa's Posyandu that have one: service
/// area and sasaran for the coverage table.
async fn posyandu_docs(
    st: &AppState,
    d: &DesaPrincipal,
) -> Result<Vec<posyandu_records::posyandu::Posyandu>, ApiError> {
    let mut out = Vec::new();
    for p in &d.posyandu_ids {
        out.extend(st.storage.read_posyandu(p.clone()).await?);
    }
    Ok(out)
}

/// Every read-model household of `scopes` that `keep` keeps, with its Posyandu, in log
/// order; a row that cannot be read is skipped (logged with its position only).
async fn views<'a>(
    st: &AppState,
    scopes: impl Iterator<Item = &'a String>,
    keep: impl Fn(&HouseholdView) -> bool,
) -> Result<Vec<(String, HouseholdView)>, ApiError> {
    let mut out = Vec::new();
    for scope in scopes {
        let mut after = 0;
        loop {
            let rows = st.storage.read_after(scope.clone(), after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.updated_seq;
            let n = rows.len();
            for row in rows {
                let Ok(view) = HouseholdView::from_content(&row.content) else {
                    tracing::warn!(scope, updated_seq = row.updated_seq, "read-model row unreadable; skipped");
                    continue;
                };
                if keep(&view) {
                    out.push((scope.clone(), view));
                }
            }
            if n < PAGE {
                break;
            }
        }
    }
    Ok(out)
}

/// The desa's requests (open only unless `all`; one area if given), oldest first.
async fn requests(
    st: &AppState,
    d: &DesaPrincipal,
    all: bool,
    area: Option<SpmArea>,
) -> Result<(Vec<RequestView>, bool), ApiError> {
    let today = crate::merge::relay_today();
    let mut out = Vec::new();
    let mut truncated = false;
    for (scope, v) in households(st, d).await? {
        for r in &v.household.spm_requests {
            if (!all && r.status().is_closed()) || area.is_some_and(|a| a != r.area) {
                continue;
            }
            if out.len() >= MAX_LISTED {
                truncated = true;
                continue;
            }
            out.push((r.raised_at(), request_view(&scope, &v.household, r, today)));
        }
    }
    out.sort_by(|(ta, a), (tb, b)| (ta, &a.household_id, &a.key).cmp(&(tb, &b.household_id, &b.key)));
    Ok((out.into_iter().map(|(_, v)| v).collect(), truncated))
}

fn parse_area(s: Option<&String>) -> Result<Option<SpmArea>, ApiError> {
    s.map(|a| {
        serde_json::from_value::<SpmArea>(serde_json::Value::String(a.clone()))
            .map_err(|_| ApiError::BadBody("bidang SPM tidak dikenal".into()))
    })
    .transpose()
}

fn parse_all(q: &BTreeMap<String, String>) -> Result<bool, ApiError> {
    match q.get("status").map(String::as_str) {
        None | Some("open") => Ok(false),
        Some("all") => Ok(true),
        Some(_) => Err(ApiError::BadBody("status harus open atau all".into())),
    }
}

/// JSON and CSV never take the token from the URL.
fn no_token_in_url(q: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if q.contains_key("access_token") {
        tracing::warn!(code = "token_in_url", "access_token on a desa non-HTML format refused");
        return Err(ApiError::TokenInUrl);
    }
    Ok(())
}

async fn list_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    no_token_in_url(&q)?;
    let d = desa(&st, &headers, None).await?;
    let (list, truncated) = requests(&st, &d, parse_all(&q)?, parse_area(q.get("area"))?).await?;
    Ok(private(Json(RequestList { desa_id: d.desa_id, requests: list, truncated }).into_response()))
}

async fn csv_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    no_token_in_url(&q)?;
    let d = desa(&st, &headers, None).await?;
    let (list, _) = requests(&st, &d, false, parse_area(q.get("area"))?).await?;
    let mut resp = to_csv(&list).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(private(resp))
}

async fn coverage_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    no_token_in_url(&q)?;
    let d = desa(&st, &headers, None).await?;
    let hh = households(&st, &d).await?;
    Ok(private(Json(coverage(&d, &hh, &posyandu_docs(&st, &d).await?, crate::merge::relay_today())).into_response()))
}

async fn geojson_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    no_token_in_url(&q)?;
    let d = desa(&st, &headers, None).await?;
    let hh = households(&st, &d).await?;
    Ok(geojson_response(&hh))
}

/// The Puskesmas's service-area map: its Posyandu's households with a GPS point.
async fn puskesmas_geojson_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    no_token_in_url(&q)?;
    let scope = crate::puskesmas::puskesmas(&st, &headers, None).await?;
    let wanted = scope.posyandu_ids.iter().filter(|p| q.get("posyandu").is_none_or(|x| x == *p));
    let out = views(&st, wanted, |_| true).await?;
    if let Some(p) = q.get("posyandu") {
        if !scope.posyandu_ids.iter().any(|x| x == p) {
            return Err(ApiError::ForbiddenScope(truncate(p, crate::puskesmas::MAX_ECHOED_ID)));
        }
    }
    Ok(geojson_response(&out))
}

fn geojson_response(hh: &[(String, HouseholdView)]) -> Response {
    let mut resp = Json(geojson(hh)).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/geo+json"));
    private(resp)
}

async fn page_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let d = desa(&st, &headers, q.get("access_token").map(String::as_str)).await?;
    let (list, truncated) = requests(&st, &d, false, None).await?;
    let hh = households(&st, &d).await?;
    let cov = coverage(&d, &hh, &posyandu_docs(&st, &d).await?, crate::merge::relay_today());
    let mut resp = views::page(&d, &list, truncated, &cov).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    resp.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(private(resp))
}

/// Nothing of a desa response is cached, and no address leaks in a `Referer`.
fn private(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(axum::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(axum::http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// What a desa records.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// `diteruskan_ke_opd`, `selesai` or `ditolak`.
    pub status: String,
    /// Office code (catalogue), for `diteruskan_ke_opd`.
    #[serde(default)]
    pub office: Option<String>,
    /// Why, for `ditolak` (≤ 280 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Checks a desa step request against the request's current status and builds the
/// step (pure).
pub fn build_step(req: &StepRequest, desa_id: &str, now: i64, current: SpmStatus) -> Result<SpmStep, ApiError> {
    let bad = |m: &str| ApiError::BadBody(m.to_string());
    let status = SpmStatus::parse(&req.status)
        .filter(|s| s.role() == SpmRole::Desa)
        .ok_or_else(|| bad("status harus diteruskan_ke_opd, selesai atau ditolak"))?;
    if !current.may_follow(status) {
        return Err(bad(match current {
            SpmStatus::Dicatat | SpmStatus::Diverifikasi => {
                "permintaan belum diteruskan ke desa oleh kader koordinator"
            }
            SpmStatus::Selesai | SpmStatus::Ditolak => "permintaan ini sudah ditutup",
            _ => "perubahan status tidak sah",
        }));
    }
    let office = match (status, req.office.as_deref()) {
        (SpmStatus::DiteruskanKeOpd, Some(o)) if rules::office(o).is_some() => Some(o.to_string()),
        (SpmStatus::DiteruskanKeOpd, _) => return Err(bad("kode OPD tujuan tidak dikenal")),
        (_, Some(_)) => return Err(bad("kode OPD hanya untuk diteruskan_ke_opd")),
        (_, None) => None,
    };
    let reason = req.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
    if let Some(r) = &reason {
        if r.chars().count() > rules::MAX_REASON || r.chars().any(char::is_control) {
            return Err(bad("alasan paling banyak 280 karakter, tanpa karakter kontrol"));
        }
    }
    if status == SpmStatus::Ditolak && reason.is_none() {
        return Err(bad("alasan penolakan wajib diisi"));
    }
    Ok(SpmStep {
        id: Uuid::new_v4(),
        status,
        role: SpmRole::Desa,
        by: crate::relay_writer::DESA.author(desa_id),
        at: now,
        area: None,
        office,
        reason,
    })
}

async fn step_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((household, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let d = desa(&st, &headers, None).await?;
    let Ok(household) = Uuid::parse_str(&household) else { return Err(ApiError::NotFound) };
    if rules::parse_key(&key).is_none() {
        return Err(ApiError::NotFound);
    }
    let req: StepRequest = crate::relay_writer::step_body(&body)?;
    // The household, in one of its Posyandu and one of its villages (any other reads
    // as unknown).
    let found = crate::relay_writer::find_household(&st, &d.posyandu_ids, household).await?;
    let Some((scope, snapshot)) = found else {
        tracing::warn!(desa_token_id = d.token_id, code = "not_found", "desa step on an unknown household");
        return Err(ApiError::NotFound);
    };
    let hh = read(&snapshot)?;
    if !d.kodes.iter().any(|k| *k == hh.address.kode_wilayah) {
        tracing::warn!(desa_token_id = d.token_id, code = "not_found", "desa step on another village's household");
        return Err(ApiError::NotFound);
    }
    let r = hh.spm_requests.iter().find(|r| r.key == key).ok_or(ApiError::NotFound)?;
    let now = crate::storage::sqlite::now_unix();
    let step = build_step(&req, &d.desa_id, now, r.status())?;
    let change = crate::relay_writer::DESA.change(&snapshot, &d.desa_id, now, |doc| doc.add_spm_step(&key, &step))?;
    crate::relay_writer::DESA
        .store(&st, &scope, *household.as_bytes(), vec![change], &d.desa_id, d.token_id, 0)
        .await?;
    tracing::info!(desa_token_id = d.token_id, status = step.status.code(), "desa step stored");
    // The request as it is now (re-read: concurrent steps are included).
    let snapshot = crate::relay_writer::snapshot_in(&st, &scope, household)
        .await?
        .ok_or_else(|| ApiError::internal("document vanished"))?;
    let hh = read(&snapshot)?;
    let r = hh.spm_requests.iter().find(|r| r.key == key).ok_or_else(|| ApiError::internal("request vanished"))?;
    Ok(private(Json(request_view(&scope, &hh, r, crate::merge::relay_today())).into_response()))
}

fn read(snapshot: &[u8]) -> Result<Household, ApiError> {
    posyandu_records::doc::HouseholdDoc::load_readonly(snapshot)
        .and_then(|d| d.read())
        .map_err(|e| ApiError::internal(format!("stored doc: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desa_steps_are_checked() {
        let ok = |r: StepRequest, cur| build_step(&r, "D-1", 1_800_000_000, cur);
        let fwd = |o: &str| StepRequest { status: "diteruskan_ke_opd".into(), office: Some(o.into()), reason: None };
        let s = ok(fwd("dinsos"), SpmStatus::DiteruskanKeDesa).unwrap();
        assert_eq!((s.status, s.role, s.by.as_str()), (SpmStatus::DiteruskanKeOpd, SpmRole::Desa, "desa:D-1"));
        assert!(ok(fwd("kantor_lain"), SpmStatus::DiteruskanKeDesa).is_err());
        // Not yet handed to the desa, or already closed.
        assert!(ok(fwd("dinsos"), SpmStatus::Diverifikasi).is_err());
        assert!(ok(fwd("dinsos"), SpmStatus::Selesai).is_err());
        // Phone-side statuses are not the desa's.
        for s in ["dicatat", "diverifikasi", "diteruskan_ke_desa", "batal"] {
            assert!(ok(StepRequest { status: s.into(), ..Default::default() }, SpmStatus::DiteruskanKeDesa).is_err());
        }
        assert!(ok(StepRequest { status: "ditolak".into(), ..Default::default() }, SpmStatus::DiteruskanKeOpd).is_err());
        let t = ok(
            StepRequest { status: "ditolak".into(), reason: Some(" sudah terdaftar ".into()), ..Default::default() },
            SpmStatus::DiteruskanKeOpd,
        )
        .unwrap();
        assert_eq!(t.reason.as_deref(), Some("sudah terdaftar"));
        assert!(ok(
            StepRequest { status: "selesai".into(), office: Some("dinsos".into()), ..Default::default() },
            SpmStatus::DiteruskanKeOpd
        )
        .is_err());
    }
}
