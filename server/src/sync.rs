//! The two device endpoints: `POST /v1/sync` and `POST /v1/snapshot`.
//!
//! Both authenticate first, then decode the body (version byte + zstd(postcard), see
//! `posyandu_core::sync::wire`), call the storage, and answer with an encoded body or
//! an [`ApiError`]. Each request is counted and timed; refusals (401/403) are logged
//! with the token id and route only.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::State;
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_core::sync::wire::{self, SnapshotRequest, SyncRequest, SNAPSHOT_PATH, SYNC_PATH};

use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::metrics::Endpoint;
use crate::AppState;

/// Content type of encoded wire bodies.
pub const WIRE_CONTENT_TYPE: &str = "application/octet-stream";

pub async fn sync(State(st): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let bytes_in = body.as_ref().map_or(0, |b| b.len());
    let mut token_id = None;
    let result = sync_inner(&st, &headers, body, &mut token_id).await;
    finish(&st, Endpoint::Sync, SYNC_PATH, start, bytes_in, token_id, result)
}

pub async fn snapshot(State(st): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let bytes_in = body.as_ref().map_or(0, |b| b.len());
    let mut token_id = None;
    let result = snapshot_inner(&st, &headers, body, &mut token_id).await;
    finish(&st, Endpoint::Snapshot, SNAPSHOT_PATH, start, bytes_in, token_id, result)
}

async fn sync_inner(
    st: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    token_id: &mut Option<i64>,
) -> Result<Vec<u8>, ApiError> {
    let principal = auth::authenticate(st, headers, token_id).await?;
    let device = principal.device().ok_or(ApiError::WrongTokenKind)?.clone();
    let req: SyncRequest = decode_body(body)?;
    let (count, bytes) =
        req.push.iter().flat_map(|d| &d.changes).fold((0usize, 0usize), |(n, b), c| (n + 1, b + c.len()));
    if count > st.limits.max_push_changes || bytes > st.limits.max_push_bytes {
        return Err(ApiError::TooLarge);
    }
    let outcome = st.storage.sync(device, req).await?;
    let pulled: usize = outcome.response.pull.iter().map(|d| d.changes.len()).sum();
    st.metrics.changes(outcome.new_changes, pulled as u64);
    tracing::debug!(
        token_id = principal.token_id(),
        stored = outcome.response.stored,
        new = outcome.new_changes,
        pulled,
        cursor = outcome.response.cursor,
        more = outcome.response.more,
        "sync"
    );
    Ok(wire::encode(&outcome.response))
}

async fn snapshot_inner(
    st: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    token_id: &mut Option<i64>,
) -> Result<Vec<u8>, ApiError> {
    let principal = auth::authenticate(st, headers, token_id).await?;
    let scope = match &principal {
        Principal::Device(d) => d.posyandu_id.clone(),
        // A Puskesmas sees several Posyandu: its read API is separate (future work).
        Principal::Puskesmas { .. } => return Err(ApiError::WrongTokenKind),
    };
    let req: SnapshotRequest = decode_body(body)?;
    let page = st.storage.snapshot(scope, req).await?;
    Ok(wire::encode(&page))
}

fn decode_body<T: for<'de> serde::Deserialize<'de>>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|r| match r {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => ApiError::TooLarge,
        other => ApiError::BadBody(other.body_text()),
    })?;
    Ok(wire::decode(&body)?)
}

fn finish(
    st: &AppState,
    ep: Endpoint,
    route: &'static str,
    start: Instant,
    bytes_in: usize,
    token_id: Option<i64>,
    result: Result<Vec<u8>, ApiError>,
) -> Response {
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
