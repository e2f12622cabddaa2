//! The device endpoints: `POST /v1/sync`, `POST /v1/snapshot` and `POST /v1/docs`.
//!
//! Each authenticates from the headers first, binds the token to the calling store's
//! actor (the `x-posyandu-actor` header; one store per device token) and takes one
//! request from the device's quota ([`crate::quota`]) **before any byte of the body is
//! read**: an unauthenticated or over-quota client never makes the relay buffer its
//! body. Then it reads the body (at most `MAX_BODY_BYTES`), decodes it
//! (version byte + zstd(postcard), see `posyandu_records::wire`), calls the storage,
//! and answers with an encoded body or an [`ApiError`]. Pushed changes are parsed and
//! measured uncompressed before any storage work. Each request is counted and timed;
//! refusals are logged with the token id, route and code only, and refused pushes are
//! kept for the operator (`admin refusals`).

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::wire::{
    self, DocsRequest, SnapshotRequest, SyncRequest, ACTOR_HEADER, DOCS_PATH, MAX_BODY_BYTES, MAX_DOCS_PER_REQUEST,
    SNAPSHOT_PATH, SYNC_PATH,
};

use crate::auth::{self, DevicePrincipal};
use crate::error::ApiError;
use crate::metrics::Endpoint;
use crate::AppState;

/// Content type of encoded wire bodies.
pub const WIRE_CONTENT_TYPE: &str = "application/octet-stream";

/// A device endpoint: times and counts the request around its `inner` function.
macro_rules! endpoint {
    ($name:ident, $inner:ident, $ep:expr, $path:expr) => {
        pub async fn $name(State(st): State<AppState>, req: Request) -> Response {
            let start = Instant::now();
            let (parts, body) = req.into_parts();
            let mut who = None;
            let mut bytes_in = 0;
            let result = async {
                // Headers only: the body is not touched until the caller is known and
                // within its quota.
                let device = device(&st, &parts.headers, &mut who).await?;
                st.quotas.check_request(&st.limits, device.token_id, Instant::now())?;
                let body = read_body(body).await?;
                bytes_in = body.len();
                $inner(&st, device, body).await
            }
            .await;
            finish(&st, $ep, $path, start, bytes_in, who, result).await
        }
    };
}

endpoint!(sync, sync_inner, Endpoint::Sync, SYNC_PATH);
endpoint!(snapshot, snapshot_inner, Endpoint::Snapshot, SNAPSHOT_PATH);
endpoint!(docs, docs_inner, Endpoint::Docs, DOCS_PATH);

/// Who called, as far as known when the request ended (for logs and refusals).
#[derive(Debug, Clone)]
enum Caller {
    Token(i64),
    Device(DevicePrincipal),
}

/// Authenticates a device and binds its token to the calling store's actor.
async fn device(st: &AppState, headers: &HeaderMap, who: &mut Option<Caller>) -> Result<DevicePrincipal, ApiError> {
    let mut token_id = None;
    let principal = auth::authenticate(st, headers, &mut token_id).await;
    *who = token_id.map(Caller::Token);
    let device = principal?.device().ok_or(ApiError::WrongTokenKind)?.clone();
    *who = Some(Caller::Device(device.clone()));
    if let Some(actor) = declared_actor(headers)? {
        let cached = st.bindings.lock().unwrap_or_else(|p| p.into_inner()).get(&device.token_id).cloned();
        match cached {
            Some(bound) if bound == actor => {}
            Some(_) => return Err(ApiError::DeviceBound),
            None => {
                st.storage.bind_actor(device.token_id, actor.clone()).await?;
                let mut cache = st.bindings.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() > 1_000_000 {
                    cache.clear();
                }
                cache.insert(device.token_id, actor);
            }
        }
    }
    Ok(device)
}

/// The store actor the client declares (hex, at most 32 bytes), if any.
fn declared_actor(headers: &HeaderMap) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(v) = headers.get(ACTOR_HEADER) else { return Ok(None) };
    let bytes = v
        .to_str()
        .ok()
        .filter(|s| s.len() <= 64 && !s.is_empty())
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| ApiError::BadBody(format!("header {ACTOR_HEADER} harus hex (paling banyak 32 byte)")))?;
    Ok(Some(bytes))
}

/// Parses every pushed change (bounded inflation of compressed ones), replaces it by its
/// uncompressed bytes and checks the push limits on what merging will really cost.
fn normalize_push(st: &AppState, req: &mut SyncRequest) -> Result<(), ApiError> {
    // As sent first (cheap): a compressed change only grows when inflated.
    let (count, sent) =
        req.push.iter().flat_map(|d| &d.changes).fold((0usize, 0usize), |(n, b), c| (n + 1, b + c.len()));
    if count > st.limits.max_push_changes || sent > st.limits.max_push_bytes {
        return Err(ApiError::TooLarge);
    }
    let (mut count, mut bytes, mut ops) = (0usize, 0usize, 0usize);
    for dc in &mut req.push {
        let label = uuid::Uuid::from_bytes(dc.doc).to_string();
        for raw in &mut dc.changes {
            count += 1;
            if count > st.limits.max_push_changes {
                return Err(ApiError::TooLarge);
            }
            let change = wire::parse_change(std::mem::take(raw)).map_err(|e| match e {
                wire::WireError::TooLarge => ApiError::TooLarge,
                other => ApiError::BadChange { doc: label.clone(), path: None, reason: other.to_string() },
            })?;
            bytes += change.raw_bytes().len();
            ops += change.len();
            if bytes > st.limits.max_push_bytes || ops > st.limits.max_push_ops {
                return Err(ApiError::TooLarge);
            }
            *raw = change.raw_bytes().to_vec();
        }
    }
    Ok(())
}

async fn sync_inner(st: &AppState, device: DevicePrincipal, body: Bytes) -> Result<Vec<u8>, ApiError> {
    let token_id = device.token_id;
    let mut req: SyncRequest = wire::decode(&body)?;
    drop(body);
    normalize_push(st, &mut req)?;
    let now = crate::storage::sqlite::now_unix();
    let quota = st.quotas.new_doc_quota(&st.limits, token_id, now);
    let outcome = st.storage.sync(device, req, quota).await?;
    st.quotas.record_new_docs(token_id, now, outcome.new_docs);
    let pulled: usize = outcome.response.pull.iter().map(|d| d.changes.len()).sum();
    st.metrics.changes(outcome.new_changes, pulled as u64);
    tracing::debug!(
        token_id,
        stored = outcome.response.stored,
        new = outcome.new_changes,
        pulled,
        cursor = outcome.response.cursor,
        more = outcome.response.more,
        "sync"
    );
    Ok(wire::encode(&outcome.response))
}

async fn snapshot_inner(st: &AppState, device: DevicePrincipal, body: Bytes) -> Result<Vec<u8>, ApiError> {
    // A Puskesmas sees several Posyandu: its read API is separate (`/v1/export`).
    let scope = device.posyandu_id;
    let req: SnapshotRequest = wire::decode(&body)?;
    let page = st.storage.snapshot(scope, req).await?;
    Ok(wire::encode(&page))
}

async fn docs_inner(st: &AppState, device: DevicePrincipal, body: Bytes) -> Result<Vec<u8>, ApiError> {
    let scope = device.posyandu_id;
    let req: DocsRequest = wire::decode(&body)?;
    if req.docs.len() > MAX_DOCS_PER_REQUEST {
        return Err(ApiError::TooLarge);
    }
    let resp = st.storage.fetch_docs(scope, req.docs).await?;
    Ok(wire::encode(&resp))
}

/// Reads the request body, at most `MAX_BODY_BYTES` (a larger one is refused as soon
/// as the limit is passed, without buffering the rest).
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        if e.into_inner().is::<http_body_util::LengthLimitError>() {
            ApiError::TooLarge
        } else {
            ApiError::BadBody("isi permintaan terputus".into())
        }
    })
}

/// Codes of refused pushes kept for the operator.
const KEPT_REFUSALS: [&str; 6] =
    ["bad_change", "forbidden_scope", "doc_id_mismatch", "unsupported_schema", "too_large", "device_bound"];

async fn finish(
    st: &AppState,
    ep: Endpoint,
    route: &'static str,
    start: Instant,
    bytes_in: usize,
    who: Option<Caller>,
    result: Result<Vec<u8>, ApiError>,
) -> Response {
    let token_id = match &who {
        Some(Caller::Token(id)) => Some(*id),
        Some(Caller::Device(d)) => Some(d.token_id),
        None => None,
    };
    match result {
        Ok(body) => {
            st.metrics.request(ep, "ok", start.elapsed(), bytes_in, body.len());
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(WIRE_CONTENT_TYPE));
            resp
        }
        Err(e) => {
            let code = e.code();
            let status = e.status();
            if let (Some(Caller::Device(d)), true) = (&who, KEPT_REFUSALS.contains(&code)) {
                let body = e.body();
                let refusal = crate::storage::Refusal {
                    at: crate::storage::sqlite::now_unix(),
                    token_id: d.token_id,
                    device_id: d.device_id.clone(),
                    posyandu_id: d.posyandu_id.clone(),
                    doc_id: body.doc,
                    code: code.to_string(),
                    path: body.path,
                    reason: crate::error::truncate(&body.message, 300),
                };
                if let Err(err) = st.storage.record_refusal(refusal).await {
                    tracing::error!(code = err.code(), "could not record a refused push");
                }
                tracing::warn!(token_id, route, code, doc = ?e.body().doc, path = ?e.body().path, "push refused");
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                tracing::warn!(token_id, route, code, status = status.as_u16(), "request refused");
            } else if status.is_client_error() {
                tracing::info!(token_id, route, code, status = status.as_u16(), "request rejected");
            }
            let resp = e.into_response();
            let out = axum::body::HttpBody::size_hint(resp.body()).exact().unwrap_or(0) as usize;
            st.metrics.request(ep, code, start.elapsed(), bytes_in, out);
            resp
        }
    }
}
