//! The bidan's API (issue 12): the open referrals of the Posyandu she covers, and the
//! steps she records (diterima, ditangani with a coded action, rujuk balik / selesai,
//! a follow-up home visit for the kader). Only bidan tokens ([`Principal::Bidan`]) are
//! accepted: device and Puskesmas tokens get `wrong_token_kind`. Her steps reach the
//! phones as automerge changes the relay writes into the household document
//! ([`writer`]) and stores like a push. `docs/bidan-api.md`.
//!
//! Least data: a listed referral carries the person's name, sex, birth date and age,
//! the RT, the reasons, the steps, the requested follow-up and the member's recent
//! measurements — never a NIK, BPJS number, address or GPS point.

pub mod registry;
pub mod writer;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use posyandu_records::doc::HouseholdDoc;
use posyandu_records::model::{format_date, Household, ReferralRecord, ReferralStatus, ReferralStep, StepRole};
use posyandu_records::rules::referral_lifecycle::{self as lifecycle, ACTIONS, MAX_FOLLOW_UP_DAYS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{self, BidanPrincipal, Principal};
use crate::error::{truncate, ApiError};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/bidan/referrals", get(list_handler))
        .route("/v1/bidan/referrals/{household}/{referral}/steps", post(step_handler))
}

/// Documents read per storage call while listing.
const PAGE: usize = 200;
/// Most referrals one listing returns (oldest first beyond it are cut; `truncated`).
pub const MAX_LISTED: usize = 2_000;
/// Recent measurements shown per referral.
const MEASUREMENTS_SHOWN: usize = 3;

/// Authenticates a bidan; any other token kind is refused.
async fn bidan(st: &AppState, headers: &HeaderMap) -> Result<BidanPrincipal, ApiError> {
    let mut token_id = None;
    let principal = auth::authenticate(st, headers, &mut token_id).await.inspect_err(|e| {
        tracing::warn!(token_id, code = e.code(), "bidan request refused");
    })?;
    match principal {
        Principal::Bidan(b) => Ok(b),
        other => {
            tracing::warn!(token_id = other.token_id(), code = "wrong_token_kind", "non-bidan token on bidan API");
            Err(ApiError::WrongTokenKind)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// One of her Posyandu (default: all of them).
    pub posyandu: Option<String>,
    /// `open` (default) or `all`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ReferralList {
    pub bidan_id: String,
    pub referrals: Vec<ReferralView>,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PersonView {
    pub member_id: Uuid,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    /// Completed months on the day of the listing (WIB).
    pub age_months: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReasonView {
    pub code: String,
    /// Indonesian label (the code itself for a code of a newer app version).
    pub label: String,
    /// `rule` (proposed by the rulebook) or `kader`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MeasurementView {
    pub date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_height_cm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muac_cm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bp_systolic_mmhg: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bp_diastolic_mmhg: Option<u16>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FollowUpView {
    /// Visit by this date.
    pub by: String,
    pub asked_on: String,
    /// No home visit recorded since it was asked for.
    pub pending: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReferralView {
    pub posyandu_id: String,
    pub household_id: Uuid,
    pub referral_id: Uuid,
    pub rt: String,
    pub person: PersonView,
    pub date: String,
    pub status: ReferralStatus,
    pub status_label: String,
    pub reasons: Vec<ReasonView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub steps: Vec<ReferralStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUpView>,
    /// The member's latest measurements up to the referral's day, newest first.
    pub measurements: Vec<MeasurementView>,
}

/// The view of one referral of `hh` (pure; what both endpoints return).
pub fn view(hh: &Household, r: &ReferralRecord, today: time::Date) -> Option<ReferralView> {
    let m = hh.member(r.member_id)?;
    let mut seen: Vec<(time::Date, MeasurementView)> = hh
        .visits
        .iter()
        .filter(|v| !v.deleted && v.date <= r.date)
        .flat_map(|v| v.entries.iter().filter(|e| e.member_id == m.id).map(move |e| (v.date, e)))
        .filter_map(|(d, e)| {
            let x = &e.measurements;
            let any = x.weight_kg.is_some()
                || x.length_height_cm.is_some()
                || x.muac_cm.is_some()
                || x.bp_systolic_mmhg.is_some()
                || x.bp_diastolic_mmhg.is_some();
            any.then(|| {
                (
                    d,
                    MeasurementView {
                        date: format_date(d),
                        weight_kg: x.weight_kg,
                        length_height_cm: x.length_height_cm,
                        muac_cm: x.muac_cm,
                        bp_systolic_mmhg: x.bp_systolic_mmhg,
                        bp_diastolic_mmhg: x.bp_diastolic_mmhg,
                    },
                )
            })
        })
        .collect();
    seen.sort_by(|a, b| b.0.cmp(&a.0));
    seen.truncate(MEASUREMENTS_SHOWN);
    let home_visits: Vec<time::Date> = hh
        .visits
        .iter()
        .filter(|v| !v.deleted && v.kind == posyandu_records::model::VisitKind::KunjunganRumah)
        .filter(|v| v.entries.iter().any(|e| e.member_id == m.id))
        .map(|v| v.date)
        .collect();
    let status = r.status();
    Some(ReferralView {
        posyandu_id: hh.posyandu_id.clone(),
        household_id: hh.id,
        referral_id: r.id,
        rt: hh.address.rt.clone(),
        person: PersonView {
            member_id: m.id,
            name: m.name.clone(),
            sex: match m.sex {
                posyandu_records::model::Sex::Male => "L".into(),
                posyandu_records::model::Sex::Female => "P".into(),
            },
            birth_date: format_date(m.birth_date),
            age_months: posyandu_records::rules::age::age_months(m.birth_date, today),
        },
        date: format_date(r.date),
        status,
        status_label: status.label_id().into(),
        reasons: r
            .reasons
            .iter()
            .map(|(code, src)| ReasonView {
                code: code.clone(),
                label: lifecycle::reason(code).map_or_else(|| code.clone(), |d| d.label_id.to_string()),
                source: match src {
                    posyandu_records::model::ReasonSource::Rule => "rule".into(),
                    posyandu_records::model::ReasonSource::Kader => "kader".into(),
                },
            })
            .collect(),
        note: r.note.clone(),
        steps: r.steps.clone(),
        follow_up: lifecycle::follow_up(&r.steps).map(|(by, asked)| FollowUpView {
            by: format_date(by),
            asked_on: format_date(asked),
            pending: lifecycle::follow_up_pending(asked, &home_visits),
        }),
        measurements: seen.into_iter().map(|(_, v)| v).collect(),
    })
}

/// Her Posyandu, or the one asked for if she covers it (`forbidden_scope` otherwise).
fn scopes(b: &BidanPrincipal, asked: Option<&str>) -> Result<Vec<String>, ApiError> {
    match asked {
        None => Ok(b.posyandu_ids.clone()),
        Some(p) if b.posyandu_ids.iter().any(|x| x == p) => Ok(vec![p.to_string()]),
        Some(p) => {
            tracing::warn!(bidan_token_id = b.token_id, code = "forbidden_scope", "bidan asked for another Posyandu");
            Err(ApiError::ForbiddenScope(truncate(p, crate::puskesmas::MAX_ECHOED_ID)))
        }
    }
}

async fn list_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<ReferralList>, ApiError> {
    let b = bidan(&st, &headers).await?;
    let all = match q.status.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(_) => return Err(ApiError::BadBody("status harus open atau all".into())),
    };
    let today = crate::merge::relay_today();
    let mut out = Vec::new();
    let mut truncated = false;
    for scope in scopes(&b, q.posyandu.as_deref())? {
        let mut after = 0;
        loop {
            let docs = st.storage.docs_after(scope.clone(), after, PAGE).await?;
            let Some(last) = docs.last() else { break };
            after = last.updated_seq;
            let n = docs.len();
            for d in docs {
                let Ok(doc) = HouseholdDoc::load_readonly(&d.snapshot) else {
                    tracing::warn!(doc = %Uuid::from_bytes(d.doc), "stored document unreadable; skipped");
                    continue;
                };
                let Ok(hh) = doc.read() else { continue };
                for r in &hh.referrals {
                    if !all && r.status().is_closed() {
                        continue;
                    }
                    if let Some(v) = view(&hh, r, today) {
                        if out.len() >= MAX_LISTED {
                            truncated = true;
                        } else {
                            out.push(v);
                        }
                    }
                }
            }
            if n < PAGE {
                break;
            }
        }
    }
    out.sort_by(|a, b| (&a.date, a.referral_id).cmp(&(&b.date, b.referral_id)));
    Ok(Json(ReferralList { bidan_id: b.bidan_id, referrals: out, truncated }))
}

/// What a bidan records.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// `diterima`, `ditangani`, `rujuk_balik` or `selesai`.
    pub status: String,
    /// A code of `ACTIONS` (e.g. `pemeriksaan`).
    #[serde(default)]
    pub action: Option<String>,
    /// Short note (≤ 500 characters).
    #[serde(default)]
    pub note: Option<String>,
    /// Ask the kader for a home visit by this date (`YYYY-MM-DD`) ...
    #[serde(default)]
    pub follow_up_by: Option<String>,
    /// ... or within this many days (1–90).
    #[serde(default)]
    pub follow_up_within_days: Option<u16>,
}

/// Checks a step request and builds the step (pure).
pub fn build_step(
    req: &StepRequest,
    bidan_id: &str,
    now: i64,
    today: time::Date,
    current: ReferralStatus,
) -> Result<ReferralStep, ApiError> {
    let bad = |m: &str| ApiError::BadBody(m.to_string());
    let status = ReferralStatus::parse(&req.status)
        .ok_or_else(|| bad("status harus diterima, ditangani, rujuk_balik atau selesai"))?;
    if status.role() != StepRole::Bidan {
        return Err(bad("status dirujuk dicatat oleh kader"));
    }
    if current.is_closed() {
        return Err(bad("rujukan ini sudah ditutup (rujuk balik / selesai)"));
    }
    if let Some(a) = &req.action {
        if !ACTIONS.iter().any(|(code, _)| code == a) {
            return Err(bad("kode tindakan tidak dikenal"));
        }
    }
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    if let Some(n) = &note {
        if n.chars().count() > posyandu_records::validation::MAX_TEXT || n.chars().any(char::is_control) {
            return Err(bad("catatan paling banyak 500 karakter, tanpa karakter kontrol"));
        }
    }
    let follow_up_by = match (&req.follow_up_by, req.follow_up_within_days) {
        (Some(_), Some(_)) => return Err(bad("isi tanggal kunjungan atau jumlah hari, bukan keduanya")),
        (Some(d), None) => {
            Some(posyandu_records::model::parse_date(d).ok_or_else(|| bad("tanggal kunjungan tidak valid"))?)
        }
        (None, Some(n)) if (1..=MAX_FOLLOW_UP_DAYS).contains(&n) => Some(lifecycle::within_days(today, n)),
        (None, Some(_)) => return Err(bad("jumlah hari kunjungan harus 1–90")),
        (None, None) => None,
    };
    if let Some(d) = follow_up_by {
        if d < today || d > lifecycle::within_days(today, MAX_FOLLOW_UP_DAYS) {
            return Err(bad("tanggal kunjungan harus antara hari ini dan 90 hari lagi"));
        }
    }
    Ok(ReferralStep {
        id: Uuid::new_v4(),
        status,
        role: StepRole::Bidan,
        by: bidan_id.to_string(),
        at: now,
        action: req.action.clone(),
        note,
        follow_up_by,
    })
}

async fn step_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((household, referral)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<ReferralView>, ApiError> {
    let b = bidan(&st, &headers).await?;
    let (Ok(household), Ok(referral)) = (Uuid::parse_str(&household), Uuid::parse_str(&referral)) else {
        return Err(ApiError::NotFound);
    };
    let req: StepRequest = crate::relay_writer::step_body(&body)?;
    // The household, in one of her Posyandu (another Posyandu's reads as unknown).
    let found = crate::relay_writer::find_household(&st, &b.posyandu_ids, household).await?;
    let Some((scope, snapshot)) = found else {
        tracing::warn!(bidan_token_id = b.token_id, code = "not_found", "bidan step on an unknown household");
        return Err(ApiError::NotFound);
    };
    let doc = HouseholdDoc::load_readonly(&snapshot).map_err(|e| ApiError::internal(format!("stored doc: {e}")))?;
    let hh = doc.read().map_err(|e| ApiError::internal(format!("stored doc: {e}")))?;
    let r = hh.referrals.iter().find(|r| r.id == referral).ok_or(ApiError::NotFound)?;
    let now = crate::storage::sqlite::now_unix();
    let today = crate::merge::relay_today();
    let step = build_step(&req, &b.bidan_id, now, today, r.status())?;
    let change = writer::step_change(&snapshot, referral, &step, &b.bidan_id, now)?;
    // Stored like a push of a device that is the relay writing for this bidan
    // (`crate::relay_writer`): merged, validated, logged, read model updated.
    crate::relay_writer::BIDAN
        .store(&st, &scope, *household.as_bytes(), vec![change], &b.bidan_id, b.token_id, 0)
        .await?;
    tracing::info!(bidan_token_id = b.token_id, status = step.status.code(), "bidan step stored");
    // The referral as it is now (re-read: concurrent steps are included).
    let snapshot = crate::relay_writer::snapshot_in(&st, &scope, household)
        .await?
        .ok_or_else(|| ApiError::internal("document vanished"))?;
    let hh = HouseholdDoc::load_readonly(&snapshot)
        .and_then(|d| d.read())
        .map_err(|e| ApiError::internal(format!("stored doc: {e}")))?;
    let r = hh.referrals.iter().find(|r| r.id == referral).ok_or_else(|| ApiError::internal("referral vanished"))?;
    Ok(Json(view(&hh, r, today).ok_or_else(|| ApiError::internal("referral member vanished"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_requests_are_checked() {
        let today = time::macros::date!(2026 - 12 - 01);
        let ok = |r: StepRequest| build_step(&r, "B-1", 1_800_000_000, today, ReferralStatus::Dirujuk);
        let s = ok(StepRequest {
            status: "ditangani".into(),
            action: Some("pemeriksaan".into()),
            follow_up_within_days: Some(7),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (s.status, s.role, s.follow_up_by),
            (ReferralStatus::Ditangani, StepRole::Bidan, Some(time::macros::date!(2026 - 12 - 08)))
        );
        assert!(ok(StepRequest { status: "dirujuk".into(), ..Default::default() }).is_err());
        assert!(ok(StepRequest { status: "batal".into(), ..Default::default() }).is_err());
        assert!(ok(StepRequest { status: "diterima".into(), action: Some("x".into()), ..Default::default() }).is_err());
        assert!(ok(StepRequest { status: "diterima".into(), follow_up_within_days: Some(91), ..Default::default() })
            .is_err());
        assert!(ok(StepRequest {
            status: "diterima".into(),
            follow_up_by: Some("2026-11-30".into()),
            ..Default::default()
        })
        .is_err());
        assert!(
            ok(StepRequest { status: "diterima".into(), note: Some("a".repeat(501)), ..Default::default() }).is_err()
        );
        let closed = build_step(
            &StepRequest { status: "selesai".into(), ..Default::default() },
            "B-1",
            1,
            today,
            ReferralStatus::Selesai,
        );
        assert!(closed.is_err());
    }
}
