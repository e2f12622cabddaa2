//! # posyandu-server
//!
//! The Posyandu Sync relay: kader phones push the automerge changes they recorded
//! offline and pull those of the other kader of their Posyandu. The protocol is
//! described in `docs/sync-protocol.md`; the wire format is shared with the client
//! (`posyandu_records::wire`).
//!
//! - [`auth`]: bearer tokens and principals (device / Puskesmas).
//! - [`storage`]: the storage trait and its SQLite implementation.
//! - [`merge`]: pure sync logic (apply and validate a push, cut a pull page).
//! - [`sync`]: the `/v1/sync`, `/v1/snapshot` and `/v1/docs` handlers.
//! - [`quota`]: per-device request and new-household quotas (429 + `Retry-After`).
//! - [`bidan`]: the bidan's referral API and the relay's writer of her steps.
//! - [`desa`]: the desa/kelurahan's SPM requests API, coverage, CSV, GeoJSON, page.
//! - [`admin`]: registry operations used by the CLI.
//! - [`puskesmas`]: the Puskesmas read API (export, monthly reports, FHIR).
//! - [`metrics`], [`config`], [`error`].

pub mod admin;
pub mod at_rest;
pub mod auth;
pub mod bidan;
pub mod config;
pub mod desa;
pub mod error;
pub mod merge;
pub mod metrics;
pub mod posyandu;
pub mod puskesmas;
pub mod quota;
pub mod read_model;
pub mod relay_writer;
pub mod storage;
pub mod sync;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header::CONTENT_TYPE, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use posyandu_records::wire::{DOCS_PATH, MAX_BODY_BYTES, PROTOCOL_VERSION, SNAPSHOT_PATH, SYNC_PATH, VERSION_HEADER};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Longest part of a request path written to the log.
pub const MAX_LOGGED_PATH: usize = 200;

/// Longest a request may take, body upload included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

use crate::error::{ApiError, ErrorCode};
use crate::metrics::Metrics;
use crate::storage::{Limits, Storage};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    /// Device token → the store actor it is bound to, as confirmed by the storage (a
    /// binding never changes, so several relays may cache it).
    pub bindings: Arc<std::sync::Mutex<std::collections::HashMap<i64, Vec<u8>>>>,
    /// Signs and checks the short-lived link tokens of the HTML pages.
    pub links: puskesmas::links::LinkKey,
    /// Per-device request and new-document quotas (limits in `limits`).
    pub quotas: Arc<quota::Quotas>,
}

impl AppState {
    pub fn new(storage: impl Storage) -> Self {
        AppState {
            storage: Arc::new(storage),
            metrics: Arc::new(Metrics::new()),
            limits: Limits::default(),
            bindings: Default::default(),
            links: puskesmas::links::LinkKey::random(),
            quotas: Default::default(),
        }
    }

    /// Link tokens signed with a configured secret (see [`puskesmas::links`]).
    pub fn with_link_key(mut self, links: puskesmas::links::LinkKey) -> Self {
        self.links = links;
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The relay's HTTP API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(SYNC_PATH, post(sync::sync))
        .route(SNAPSHOT_PATH, post(sync::snapshot))
        .route(DOCS_PATH, post(sync::docs))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(puskesmas::routes())
        .merge(bidan::routes())
        .merge(posyandu::routes())
        .merge(desa::routes())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A request (body upload included) that takes longer than this is cut with 408,
        // so a stalled or deliberately slow client cannot hold a connection and a
        // storage slot forever. Generous: 4 MiB at 2G speed takes ~11 minutes, but the
        // client sends at most 512 KiB per request (~90 s at 50 kbit/s).
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(axum::middleware::map_response_with_state(state.clone(), finish_response))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // The path only: query strings may carry an `access_token` (HTML report links)
            // and must never reach the logs; cut, so a client cannot fill the log.
            tracing::info_span!("request", method = %req.method(), path = %error::truncate(req.uri().path(), MAX_LOGGED_PATH))
        }))
        .with_state(state)
}

/// Adds the protocol header to every response and counts error codes.
async fn finish_response(State(st): State<AppState>, mut resp: Response) -> Response {
    if let Some(ErrorCode(code)) = resp.extensions().get::<ErrorCode>().copied() {
        st.metrics.error(code);
    }
    resp.headers_mut().insert(VERSION_HEADER, HeaderValue::from(u16::from(PROTOCOL_VERSION)));
    resp
}

async fn healthz(State(st): State<AppState>) -> Response {
    match st.storage.health().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, code = e.code(), "health check failed");
            ApiError::Unavailable.into_response()
        }
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut resp = st.metrics.render().into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    resp
}

/// Limits of the HTTP connections, applied before any request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// A client must send a request's complete headers within this time after the
    /// connection opened (or after the previous response): a slow or stalled client
    /// (slowloris) is disconnected instead of holding a connection for ever.
    pub header_read_timeout: Duration,
    /// Connections served at once. Further clients wait in the listen backlog until
    /// one closes; keep it below the process's file limit (`LimitNOFILE`) so the relay
    /// never runs out of descriptors (database files and logs need some).
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits { header_read_timeout: Duration::from_secs(20), max_connections: 1024 }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for at most `grace`, with the default [`ConnLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, grace, ConnLimits::default()).await
}

/// [`serve`] with explicit connection limits. HTTP/1.1 (TLS and HTTP/2 belong to the
/// reverse proxy in front).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    limits: ConnLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let max = limits.max_connections.clamp(1, tokio::sync::Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_cap_logged = false;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => {
                at_cap_logged = false;
                p
            }
            Err(_) => {
                if !at_cap_logged {
                    tracing::warn!(max_connections = max, "connection limit reached; new clients wait");
                    at_cap_logged = true;
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let mut close_rx = close_rx.clone();
        let header_read_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _slot = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = async { close_rx.wait_for(|closing| *closing).await.is_ok() } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
        });
    }
    drop(listener);
    let _ = close_tx.send(true);
    // Every connection holds a slot: all slots back means all connections finished.
    match tokio::time::timeout(grace, slots.acquire_many(max as u32)).await {
        Ok(_) => {}
        Err(_) => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; stopping");
        }
    }
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
