//! The Puskesmas read API (issue 5): what a primary health centre pulls from the
//! Posyandu of its area.
//!
//! - `GET /v1/export` ([`export`]): incremental NDJSON/CSV export of merged households,
//!   members, pregnancies and visits, paged by an opaque cursor.
//! - `GET /v1/report/{posyandu}/{YYYY-MM}` ([`report`], [`html`]): the monthly report
//!   (laporan bulanan: SKDN, 2T/BGM, nutrition status, KEK, immunisation, screening,
//!   referrals, SPM needs, conflicts) as JSON, HTML or CSV.
//! - `GET /v1/report/{posyandu}/child/{member_id}`: one child's weight-for-age chart.
//! - `GET /v1/recap/{YYYY-MM}` ([`recap`]): the Puskesmas-level F2 recap across its
//!   Posyandu (JSON, HTML or CSV; `period=ytd` for January to the month).
//! - `GET /v1/eppgbm/{YYYY-MM}` ([`eppgbm`]): a by-name CSV of the month's under-five
//!   measurements shaped for e-PPGBM.
//! - `GET /v1/fhir/{posyandu}` ([`fhir`]): a FHIR R4 `Bundle` for SATUSEHAT.
//! - `GET /openapi.json`: the hand-written OpenAPI 3 description of the whole API.
//!
//! Everything reads the relay's read model ([`crate::read_model`]: rows derived at push
//! time, through [`crate::storage::Storage::read_after`] and
//! [`crate::storage::Storage::read_member`]), never the automerge documents, and the
//! Posyandu list the Puskesmas token carries
//! ([`Principal::Puskesmas`]). Only Puskesmas tokens are accepted (device tokens get
//! 403 `wrong_token_kind`); a Posyandu outside the token's area gets 403
//! `forbidden_scope`. Browsers cannot send a bearer header when a page is opened from
//! a link, so the HTML pages (only they) also accept `?access_token=` (RFC 6750 §2.3);
//! JSON, CSV and FHIR take the header only. Links written by the report page carry a
//! short-lived token signed for the one page they open ([`links`]), never the
//! Puskesmas token. Every response is `Cache-Control: no-store` and
//! `Referrer-Policy: no-referrer`.

pub mod client;
pub mod eppgbm;
pub mod export;
pub mod fhir;
pub mod html;
pub mod links;
pub mod recap;
pub mod referrals;
pub mod report;

use std::collections::BTreeMap;

use axum::http::{header::AUTHORIZATION, HeaderMap, HeaderValue};
use axum::routing::get;
use axum::Router;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::collections::HashMap;

use posyandu_records::growth::WeightTrend;
use posyandu_records::model::{Conflict, Household};
use uuid::Uuid;

use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::read_model::HouseholdView;
use crate::storage::ReadRow;
use crate::AppState;

/// Response header carrying the next cursor of `/v1/export` and `/v1/fhir/...`.
pub const CURSOR_HEADER: &str = "x-posyandu-cursor";
/// Response header: `true` when more documents remain after this page.
pub const MORE_HEADER: &str = "x-posyandu-more";
/// Documents read per storage call when a whole Posyandu is walked (reports).
pub const WALK_PAGE: usize = 256;
/// Default and largest number of household documents in one export / FHIR page.
pub const DEFAULT_LIMIT: usize = 500;
pub const MAX_LIMIT: usize = 5_000;

/// The OpenAPI 3 description served at `/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../static/openapi.json");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/export", get(export::handler))
        .route("/v1/report/{posyandu}/{month}", get(report::handler))
        .route("/v1/report/{posyandu}/child/{member_id}", get(html::child_handler))
        .route("/v1/recap/{month}", get(recap::handler))
        .route("/v1/eppgbm/{month}", get(eppgbm::handler))
        .route("/v1/fhir/{posyandu}", get(fhir::handler))
        .route("/v1/fhir/{posyandu}/missing-ihs", get(fhir::missing_ihs_handler))
        .route("/v1/fhir/ihs", axum::routing::post(fhir::ihs_upload_handler))
        .route("/openapi.json", get(openapi))
        .layer(axum::middleware::map_response(browser_headers))
}

async fn openapi() -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// Longest part of a requested id echoed in an error or a log line.
pub const MAX_ECHOED_ID: usize = 64;

/// The Puskesmas calling, with the Posyandu it may read.
#[derive(Debug, Clone)]
pub struct PuskesmasScope {
    pub puskesmas_id: String,
    /// The token it authenticated with (link tokens of its pages name it, so revoking
    /// the token also ends its pages' links).
    pub token_id: i64,
    /// Sorted, deduplicated.
    pub posyandu_ids: Vec<String>,
}

impl PuskesmasScope {
    /// Allows a Posyandu of this Puskesmas' area; a cross-area attempt is refused and
    /// logged (the Puskesmas id and the requested id, cut to [`MAX_ECHOED_ID`]).
    pub fn check(&self, posyandu: &str) -> Result<(), ApiError> {
        if self.posyandu_ids.binary_search_by(|p| p.as_str().cmp(posyandu)).is_ok() {
            Ok(())
        } else {
            let requested = crate::error::truncate(posyandu, MAX_ECHOED_ID);
            tracing::warn!(puskesmas = %self.puskesmas_id, posyandu = %requested, "cross-area read refused");
            Err(ApiError::ForbiddenScope(requested))
        }
    }
}

impl PuskesmasScope {
    /// The Posyandu a request reads: `posyandu=` (one of the area, else refused and
    /// logged) or every Posyandu of the area.
    pub fn targets(&self, q: &BTreeMap<String, String>) -> Result<Vec<String>, ApiError> {
        match q.get("posyandu") {
            Some(p) => {
                self.check(p)?;
                Ok(vec![p.clone()])
            }
            None => Ok(self.posyandu_ids.clone()),
        }
    }
}

/// Authenticates a Puskesmas token (header, or `access_token` for HTML pages).
pub async fn puskesmas(
    st: &AppState,
    headers: &HeaderMap,
    access_token: Option<&str>,
) -> Result<PuskesmasScope, ApiError> {
    let mut token_id = None;
    let principal = match (auth::bearer(headers), access_token) {
        (None, Some(t)) if !t.is_empty() => {
            let mut h = HeaderMap::new();
            let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| ApiError::Unauthorized)?;
            h.insert(AUTHORIZATION, v);
            auth::authenticate(st, &h, &mut token_id).await
        }
        _ => auth::authenticate(st, headers, &mut token_id).await,
    };
    let principal = principal.inspect_err(|e| {
        tracing::warn!(token_id, code = e.code(), "puskesmas request refused");
    })?;
    match principal {
        Principal::Puskesmas { puskesmas_id, mut posyandu_ids, .. } => {
            posyandu_ids.sort();
            posyandu_ids.dedup();
            Ok(PuskesmasScope { puskesmas_id, token_id: token_id.unwrap_or(0), posyandu_ids })
        }
        Principal::Device(d) => {
            tracing::warn!(token_id = d.token_id, code = "wrong_token_kind", "device token on puskesmas API");
            Err(ApiError::WrongTokenKind)
        }
        Principal::Bidan(b) => {
            tracing::warn!(bidan_token_id = b.token_id, code = "wrong_token_kind", "bidan token on puskesmas API");
            Err(ApiError::WrongTokenKind)
        }
        Principal::Desa(d) => {
            tracing::warn!(desa_token_id = d.token_id, code = "wrong_token_kind", "desa token on puskesmas API");
            Err(ApiError::WrongTokenKind)
        }
    }
}

/// For the report and chart pages: checks that the Puskesmas token may read
/// `posyandu`. The token comes from the `Authorization` header; only an HTML page
/// (`html`), which a browser opens from a typed or bookmarked address, also takes it
/// from `?access_token=`. JSON and CSV never do: a token in their URL is refused with
/// `token_in_url`, so scripts do not learn to put it where logs keep it.
pub async fn page_access(
    st: &AppState,
    headers: &HeaderMap,
    q: &BTreeMap<String, String>,
    posyandu: &str,
    html: bool,
) -> Result<PuskesmasScope, ApiError> {
    let in_url = q.get("access_token").map(String::as_str);
    if in_url.is_some() && !html {
        tracing::warn!(code = "token_in_url", "access_token on a non-HTML format refused");
        return Err(ApiError::TokenInUrl);
    }
    let scope = puskesmas(st, headers, in_url).await?;
    scope.check(posyandu)?;
    Ok(scope)
}

/// Headers on every Puskesmas response (HTML, JSON, CSV, FHIR, errors): nothing of it
/// is kept in a browser or proxy cache, and no page leaks its address (which may hold
/// an `access_token` or link token) to another site in a `Referer`.
async fn browser_headers(mut resp: axum::response::Response) -> axum::response::Response {
    let h = resp.headers_mut();
    h.insert(axum::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(axum::http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

/// A CSV cell as it is safe to open in a spreadsheet (CSV/formula injection, OWASP):
/// text beginning with `=`, `+`, `-`, `@`, tab or carriage return gets a leading single
/// quote, so Excel, LibreOffice and Google Sheets show it as text instead of running it
/// as a formula (`=HYPERLINK(…)`, `-2+3`, `@SUM(…)`). A plain decimal number (`-2.31`,
/// `+4`, `1e-3`) is left as it is and stays a number. Every CSV the relay writes goes
/// through this function ([`write_csv_row`]).
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = matches!(s.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if risky && !is_plain_number(s) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// `[+-]digits[.digits][e[+-]digits]` (at least one digit before the exponent).
fn is_plain_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Writes one CSV record with every cell passed through [`csv_cell`].
pub fn write_csv_row<W: std::io::Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    w.write_record(cells.into_iter().map(|c| csv_cell(c.as_ref()).into_owned()))
}

/// The opaque export cursor: per Posyandu, the last log position already exported,
/// and the relay epoch those positions belong to. Encoded as base64url (no padding) of
/// the JSON object `{"e":<epoch>,"s":{"P-001":123,...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Per Posyandu: the log position exported up to.
    pub seqs: BTreeMap<String, u64>,
    /// The relay epoch the positions belong to (0: none yet).
    pub epoch: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CursorWire {
    #[serde(rename = "e", default)]
    epoch: u64,
    #[serde(rename = "s")]
    seqs: BTreeMap<String, u64>,
}

impl Cursor {
    pub fn parse(s: Option<&str>) -> Result<Cursor, ApiError> {
        let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Cursor::default());
        };
        let bad = || ApiError::BadBody("cursor `since` tidak valid".into());
        if s.len() > 64 * 1024 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| bad())?;
        let w: CursorWire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(Cursor { seqs: w.seqs, epoch: w.epoch })
    }

    pub fn encode(&self) -> String {
        let w = CursorWire { epoch: self.epoch, seqs: self.seqs.clone() };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&w).expect("map of strings to numbers"))
    }

    pub fn get(&self, posyandu: &str) -> u64 {
        self.seqs.get(posyandu).copied().unwrap_or(0)
    }

    /// The cursor to continue from on a relay of `epoch`: positions of another epoch
    /// (the relay was restored from a backup and reuses them) are dropped, so the
    /// export restarts from the beginning instead of skipping changes. Returns whether
    /// it was reset.
    pub fn for_epoch(self, epoch: u64) -> (Cursor, bool) {
        if self.epoch != 0 && self.epoch != epoch {
            (Cursor { seqs: BTreeMap::new(), epoch }, true)
        } else {
            (Cursor { seqs: self.seqs, epoch }, false)
        }
    }
}

/// Response header set when an export restarted from the beginning because the relay
/// was restored from a backup: the consumer should replace, not append.
pub const RESET_HEADER: &str = "x-posyandu-export-reset";

/// One merged household as the Puskesmas side reads it: a read-model row
/// ([`crate::read_model::HouseholdView`]).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub updated_seq: u64,
    pub household: Household,
    pub conflicts: Vec<Conflict>,
    /// Records the reader left out (invalid values stored before pushes were checked, or
    /// records of a newer app version): paths and reasons, never values.
    pub problems: Vec<posyandu_records::doc::DocProblem>,
    /// N/T/O/B of each scored weighing by `(visit id, member id)`, as derived when the
    /// row was written.
    pub trends: HashMap<(Uuid, Uuid), WeightTrend>,
}

impl Loaded {
    /// A household without conflicts or problems, through the read model's derivation
    /// (tests and tools).
    pub fn of(updated_seq: u64, household: Household) -> Loaded {
        let read = posyandu_records::doc::HouseholdRead { household, problems: Vec::new() };
        Loaded::from_view(updated_seq, HouseholdView::derive(read, Vec::new()))
    }

    pub fn from_view(updated_seq: u64, v: HouseholdView) -> Loaded {
        let trends = v.trend_map();
        Loaded { updated_seq, household: v.household, conflicts: v.conflicts, problems: v.problems, trends }
    }
}

/// Reads one read-model row (or, while the first rebuild runs, derives it from the
/// snapshot): a record that cannot be read is left out and listed in `problems`; only a
/// row that cannot be read at all is an error (logged with its position, never its
/// content).
pub fn decode(scope: &str, row: &ReadRow) -> Result<Loaded, String> {
    let updated_seq = row.updated_seq;
    match HouseholdView::from_content(&row.content) {
        Ok(v) => {
            if !v.problems.is_empty() {
                tracing::warn!(
                    scope,
                    updated_seq,
                    records = v.problems.len(),
                    "stored document has unreadable records"
                );
            }
            Ok(Loaded::from_view(updated_seq, v))
        }
        Err(e) => {
            tracing::error!(scope, updated_seq, error = %e, "cannot read stored document");
            Err(e)
        }
    }
}

/// [`decode`] for reports and bundles, which go on without a document they cannot
/// read (counted in `/metrics`).
fn decode_all(st: &AppState, scope: &str, rows: &[ReadRow]) -> Vec<Loaded> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match decode(scope, r) {
            Ok(l) => {
                st.metrics.unreadable(0, l.problems.len() as u64);
                out.push(l);
            }
            Err(_) => st.metrics.unreadable(1, 0),
        }
    }
    out
}

/// One page of a Posyandu's read-model rows after `after`, decoded off the async
/// runtime. Returns the decoded households and the last `updated_seq` read (to continue
/// from), and whether the storage returned a full page.
pub async fn load_page(
    st: &AppState,
    posyandu: &str,
    after: u64,
    limit: usize,
) -> Result<(Vec<Loaded>, u64, bool), ApiError> {
    let rows = st.storage.read_after(posyandu.to_string(), after, limit).await?;
    let full = rows.len() >= limit;
    let last = rows.last().map_or(after, |d| d.updated_seq);
    let scope = posyandu.to_string();
    let st2 = st.clone();
    let loaded =
        tokio::task::spawn_blocking(move || decode_all(&st2, &scope, &rows)).await.map_err(ApiError::internal)?;
    Ok((loaded, last, full))
}

/// Walks every document of a Posyandu, page by page, handing each to `f` (memory stays
/// bounded by one page).
pub async fn walk_posyandu(st: &AppState, posyandu: &str, mut f: impl FnMut(&Loaded)) -> Result<u64, ApiError> {
    let mut after = 0;
    loop {
        let (page, last, full) = load_page(st, posyandu, after, WALK_PAGE).await?;
        for l in &page {
            f(l);
        }
        after = last;
        if !full {
            return Ok(after);
        }
    }
}

/// Parses `YYYY-MM`.
pub fn parse_month(s: &str) -> Option<(time::Date, time::Date)> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let m: u8 = m.parse().ok()?;
    let month = time::Month::try_from(m).ok()?;
    let first = time::Date::from_calendar_date(y, month, 1).ok()?;
    let last = time::Date::from_calendar_date(y, month, month.length(y)).ok()?;
    Some((first, last))
}

/// Splits a query string into decoded pairs (`+` is a space).
pub fn query_pairs(raw: Option<&str>) -> BTreeMap<String, String> {
    fn dec(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                if let Ok(v) = u8::from_str_radix(hex, 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// `limit` query parameter, defaulting and capped.
pub fn parse_limit(q: &BTreeMap<String, String>) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(MAX_LIMIT)),
            _ => Err(ApiError::BadBody("limit harus bilangan bulat ≥ 1".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let mut c = Cursor { epoch: 42, ..Cursor::default() };
        c.seqs.insert("P-001".into(), 12);
        c.seqs.insert("P-002".into(), 7);
        let s = c.encode();
        assert_eq!(Cursor::parse(Some(&s)).unwrap(), c);
        assert_eq!(Cursor::parse(None).unwrap(), Cursor::default());
        assert!(Cursor::parse(Some("!!")).is_err());
        // Same epoch: continue; another epoch (a restored relay): restart from zero.
        assert_eq!(c.clone().for_epoch(42), (c.clone(), false));
        let (reset, was_reset) = c.clone().for_epoch(43);
        assert!(was_reset && reset.seqs.is_empty() && reset.epoch == 43);
        let (first, was_reset) = Cursor::default().for_epoch(43);
        assert!(!was_reset && first.epoch == 43);
    }

    #[test]
    fn csv_cells_are_neutralised_but_numbers_stay_numbers() {
        for (input, out) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("-cmd", "'-cmd"),
            ("+1+2", "'+1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("-2-3", "'-2-3"),
            ("-inf", "'-inf"),
            ("-2.31", "-2.31"),
            ("+4", "+4"),
            ("-0.5e-3", "-0.5e-3"),
            ("-.5", "-.5"),
            ("12", "12"),
            ("Siti Aminah", "Siti Aminah"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(input), out, "{input:?}");
        }
    }

    #[test]
    fn months_and_queries_parse() {
        let (a, b) = parse_month("2024-02").unwrap();
        assert_eq!((a.day(), b.day()), (1, 29));
        assert!(parse_month("2024-13").is_none() && parse_month("24-01").is_none());
        let q = query_pairs(Some("since=abc%3D&format=csv&x"));
        assert_eq!(q["since"], "abc=");
        assert_eq!(q["format"], "csv");
        assert_eq!(q["x"], "");
    }
}
