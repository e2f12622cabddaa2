//! The Posyandu document on the relay (issue 12): the push checks of a device's
//! Posyandu document (called by [`crate::merge::apply_push`]), and the Puskesmas
//! endpoints that read it and set its schedule and sasaran, written by the relay as an
//! automerge change through the push path ([`crate::bidan::writer`]'s machinery).
//! `docs/sync-protocol.md`, "The Posyandu document"; `docs/puskesmas-api.md`.

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, Change, ChangeHash, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use posyandu_records::doc::{read_posyandu, DocProblem, PosyanduRead, ProblemKind, POSYANDU_KIND};

use crate::error::{truncate, ApiError};
use crate::merge::{causal_order, root_values, Merged, NewChange, MAX_DOC_BYTES};

/// The rest of [`crate::merge::apply_push`] for the device's own Posyandu document:
/// `am` has the push applied and passed the id, scope and schema checks. Refused:
/// a document without the genesis change of its Posyandu, a root `kind` other than
/// `posyandu`, an invalid value the push introduced (the shared reader
/// [`read_posyandu`]), a change not authored by the device's kader (the genesis
/// change excepted), a sasaran `source: puskesmas` written by a device (only the relay
/// writes it for a Puskesmas token), a document over [`MAX_DOC_BYTES`].
pub(crate) fn merged_posyandu(
    am: Automerge,
    existing: Option<&[u8]>,
    genesis: ChangeHash,
    authors: HashMap<ChangeHash, Result<String, String>>,
    new: Vec<Change>,
    label: &str,
) -> Result<Merged, ApiError> {
    let bad = |path: Option<String>, reason: String| ApiError::BadChange {
        doc: label.to_string(),
        path,
        reason: truncate(&reason, 200),
    };
    if am.get_change_by_hash(&genesis).is_none() {
        return Err(bad(None, "dokumen Posyandu tanpa perubahan awal (genesis) Posyandu ini".into()));
    }
    let kinds = root_values(&am, "kind");
    if kinds.is_empty() || kinds.iter().any(|v| !matches!(v, ScalarValue::Str(s) if s.as_str() == POSYANDU_KIND)) {
        return Err(bad(Some("kind".into()), "harus \"posyandu\"".into()));
    }
    let read = check_values(&am, existing).map_err(|(path, why)| bad(path, why))?;
    for author in authors.values() {
        if let Err(why) = author {
            return Err(bad(None, why.clone()));
        }
    }
    let puskesmas: HashSet<ChangeHash> = new
        .iter()
        .filter(|c| crate::relay_writer::PUSKESMAS.is_change(c.actor_id().to_bytes(), c.message()))
        .map(Change::hash)
        .collect();
    let pushed: HashSet<ChangeHash> = new.iter().map(Change::hash).collect();
    check_sasaran_source(&am, &pushed, &puskesmas).map_err(|(path, why)| bad(Some(path), why))?;
    let snapshot = am.save();
    if snapshot.len() > MAX_DOC_BYTES {
        return Err(bad(None, format!("dokumen menjadi terlalu besar (> {} KB)", MAX_DOC_BYTES >> 10)));
    }
    let new_changes =
        causal_order(new).into_iter().map(|c| NewChange { hash: c.hash().0, data: c.raw_bytes().to_vec() }).collect();
    Ok(Merged { snapshot: Some(snapshot), new_changes, read: None, posyandu: Some(read.posyandu) })
}

/// The shared reader on the merged document: an invalid value the push introduced is
/// refused with its path (values only a newer app knows are kept).
fn check_values(am: &Automerge, existing: Option<&[u8]>) -> Result<PosyanduRead, (Option<String>, String)> {
    let read = read_posyandu(am).map_err(|e| (None, e.to_string()))?;
    let invalid: Vec<&DocProblem> = read.problems.iter().filter(|p| p.kind == ProblemKind::Invalid).collect();
    if !invalid.is_empty() {
        let before: HashSet<(String, String)> = existing
            .and_then(|b| Automerge::load(b).ok())
            .and_then(|d| read_posyandu(&d).ok())
            .map(|r| r.problems.into_iter().map(|p| (p.path, p.reason)).collect())
            .unwrap_or_default();
        if let Some(p) = invalid.iter().find(|p| !before.contains(&(p.path.clone(), p.reason.clone()))) {
            return Err((Some(p.path.clone()), p.reason.clone()));
        }
    }
    Ok(read)
}

/// A year of sasaran a device's change of this push wrote into (any of its keys) must
/// read `source: kader` afterwards: only the relay, for a Puskesmas token, writes a
/// Puskesmas sasaran (and a kader who edits the counts makes them the kader's).
fn check_sasaran_source(
    am: &Automerge,
    pushed: &HashSet<ChangeHash>,
    puskesmas: &HashSet<ChangeHash>,
) -> Result<(), (String, String)> {
    let by_device =
        |op: &automerge::ObjId| am.hash_for_opid(op).is_some_and(|h| pushed.contains(&h) && !puskesmas.contains(&h));
    for (v, coll) in am.get_all(ROOT, "sasaran").unwrap_or_default() {
        if !matches!(v, Value::Object(ObjType::Map)) {
            continue;
        }
        for year in am.keys(&coll).collect::<Vec<_>>() {
            let Some((Value::Object(ObjType::Map), obj)) = am.get(&coll, year.as_str()).ok().flatten() else {
                continue;
            };
            let touched = am
                .keys(&obj)
                .any(|k| am.get_all(&obj, k.as_str()).unwrap_or_default().iter().any(|(_, op)| by_device(op)));
            if !touched {
                continue;
            }
            let sources = am.get_all(&obj, "source").unwrap_or_default();
            let all_kader = !sources.is_empty()
                && sources.iter().all(|(v, _)| {
                    matches!(v, Value::Scalar(s) if matches!(s.as_ref(), ScalarValue::Str(t) if t.as_str() == "kader"))
                });
            if !all_kader {
                return Err((
                    format!("sasaran/{year}/source"),
                    "sasaran dari Puskesmas hanya dapat diisi oleh Puskesmas".into(),
                ));
            }
        }
    }
    Ok(())
}

// ---- the Puskesmas endpoints ------------------------------------------------------

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, put};
use axum::{Json, Router};
use posyandu_records::doc::{genesis_change, posyandu_doc_id, HouseholdDoc};
use posyandu_records::model::parse_date;
use posyandu_records::posyandu::{
    check_sasaran, check_service_date, Posyandu, Sasaran, SasaranSource, ScheduleRule, ServiceDate,
};
use serde::Deserialize;

use crate::puskesmas::PuskesmasScope;
use crate::relay_writer::PUSKESMAS;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/posyandu/{posyandu}", get(get_handler))
        .route("/v1/posyandu/{posyandu}/schedule", put(schedule_handler))
        .route("/v1/posyandu/{posyandu}/sasaran", put(sasaran_handler))
}

/// Largest request body of these endpoints.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

async fn scope_for(st: &AppState, headers: &HeaderMap, posyandu: &str) -> Result<PuskesmasScope, ApiError> {
    let scope = crate::puskesmas::puskesmas(st, headers, None).await?;
    scope.check(posyandu)?;
    Ok(scope)
}

async fn current(st: &AppState, posyandu: &str) -> Result<Posyandu, ApiError> {
    Ok(st.storage.read_posyandu(posyandu.to_string()).await?.unwrap_or_else(|| Posyandu::empty(posyandu)))
}

/// `GET /v1/posyandu/{posyandu}`: schedule, roster, area and sasaran as the phones last
/// pushed them (the projection, never the document).
async fn get_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(posyandu): Path<String>,
) -> Result<Json<Posyandu>, ApiError> {
    scope_for(&st, &headers, &posyandu).await?;
    Ok(Json(current(&st, &posyandu).await?))
}

/// Writes an edit of the Posyandu document for a Puskesmas: loads the relay's copy (or
/// starts from the genesis change), applies `edit` under a fresh relay actor, and
/// stores the change through the push path so every phone of the Posyandu pulls it.
async fn write(
    st: &AppState,
    scope: &PuskesmasScope,
    posyandu: &str,
    edit: impl FnOnce(&mut HouseholdDoc) -> posyandu_records::Result<()>,
) -> Result<Posyandu, ApiError> {
    let id = posyandu_doc_id(posyandu);
    let stored = st.storage.fetch_docs(posyandu.to_string(), vec![*id.as_bytes()]).await?.docs.into_iter().next();
    let actor = PUSKESMAS.actor();
    let internal = |e: posyandu_records::Error| ApiError::internal(format!("posyandu document: {e}"));
    let (mut doc, mut changes) = match stored {
        Some(d) => (HouseholdDoc::load(&d.snapshot, &actor).map_err(internal)?, Vec::new()),
        None => (
            HouseholdDoc::posyandu_genesis(posyandu, &actor).map_err(internal)?,
            vec![genesis_change(posyandu).map_err(internal)?.raw_bytes().to_vec()],
        ),
    };
    let new_docs = changes.len() as u64;
    edit(&mut doc).map_err(|e| ApiError::BadBody(e.to_string()))?;
    let author = PUSKESMAS.author(&scope.puskesmas_id);
    if let Some(c) = doc.commit(&author, crate::storage::sqlite::now_unix()) {
        changes.push(c.raw_bytes().to_vec());
    }
    if changes.len() as u64 > new_docs {
        PUSKESMAS.store(st, posyandu, *id.as_bytes(), changes, &scope.puskesmas_id, scope.token_id, new_docs).await?;
        tracing::info!(puskesmas = %scope.puskesmas_id, posyandu, "posyandu document written for a puskesmas");
    }
    current(st, posyandu).await
}

fn body_json(body: &Bytes) -> Result<serde_json::Value, ApiError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadBody(truncate(&e.to_string(), 200)))
}

/// `PUT /v1/posyandu/{posyandu}/schedule`: `{"rule": {"week", "weekday"} | null,
/// "dates": {"YYYY-MM-DD": {"place", "note", "cancelled"} | null}}`; a key left out is
/// left as it is, `null` clears the rule or removes the date.
async fn schedule_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(posyandu): Path<String>,
    body: Bytes,
) -> Result<Json<Posyandu>, ApiError> {
    let scope = scope_for(&st, &headers, &posyandu).await?;
    let serde_json::Value::Object(req) = body_json(&body)? else {
        return Err(ApiError::BadBody("isi harus objek JSON".into()));
    };
    if let Some(k) = req.keys().find(|k| *k != "rule" && *k != "dates") {
        return Err(ApiError::BadBody(format!("kunci tidak dikenal: {}", truncate(k, 40))));
    }
    let rule: Option<Option<ScheduleRule>> = match req.get("rule") {
        None => None,
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|e| ApiError::BadBody(format!("rule: {}", truncate(&e.to_string(), 150))))?,
        ),
    };
    let mut dates: Vec<(time::Date, Option<ServiceDate>)> = Vec::new();
    if let Some(d) = req.get("dates") {
        let d: std::collections::BTreeMap<String, Option<ServiceDate>> = serde_json::from_value(d.clone())
            .map_err(|e| ApiError::BadBody(format!("dates: {}", truncate(&e.to_string(), 150))))?;
        if d.len() > 50 {
            return Err(ApiError::TooLarge);
        }
        for (k, v) in d {
            let date = parse_date(&k).ok_or_else(|| ApiError::BadBody("tanggal harus YYYY-MM-DD".into()))?;
            if let Some(v) = &v {
                check_service_date(date, v).map_err(|e| ApiError::BadBody(e.to_string()))?;
            }
            dates.push((date, v));
        }
    }
    let p = write(&st, &scope, &posyandu, |doc| {
        if let Some(rule) = &rule {
            doc.set_schedule_rule(rule.as_ref())?;
        }
        for (date, v) in &dates {
            doc.set_service_date(*date, v.as_ref())?;
        }
        Ok(())
    })
    .await?;
    Ok(Json(p))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SasaranRequest {
    year: i32,
    ibu_hamil: Option<u32>,
    ibu_bersalin: Option<u32>,
    bayi: Option<u32>,
    balita: Option<u32>,
    lansia: Option<u32>,
}

/// `PUT /v1/posyandu/{posyandu}/sasaran`: one year's sasaran (`source: puskesmas`).
async fn sasaran_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(posyandu): Path<String>,
    body: Bytes,
) -> Result<Json<Posyandu>, ApiError> {
    let scope = scope_for(&st, &headers, &posyandu).await?;
    let req: SasaranRequest =
        serde_json::from_value(body_json(&body)?).map_err(|e| ApiError::BadBody(truncate(&e.to_string(), 200)))?;
    let s = Sasaran {
        ibu_hamil: req.ibu_hamil,
        ibu_bersalin: req.ibu_bersalin,
        bayi: req.bayi,
        balita: req.balita,
        lansia: req.lansia,
        source: SasaranSource::Puskesmas,
    };
    check_sasaran(req.year, &s).map_err(|e| ApiError::BadBody(e.to_string()))?;
    let p = write(&st, &scope, &posyandu, |doc| doc.set_sasaran(req.year, &s)).await?;
    Ok(Json(p))
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;
    use posyandu_records::doc::{genesis_change, posyandu_doc_id, HouseholdDoc};
    use posyandu_records::posyandu::*;

    use crate::merge::{apply_push, PushAuth};

    fn doc_with(posyandu: &str, edit: impl FnOnce(&mut HouseholdDoc)) -> Vec<Vec<u8>> {
        let mut d = HouseholdDoc::posyandu_genesis(posyandu, &ActorId::random()).unwrap();
        edit(&mut d);
        let c = d.commit("K-1", 1_700_000_000).unwrap();
        vec![genesis_change(posyandu).unwrap().raw_bytes().to_vec(), c.raw_bytes().to_vec()]
    }

    #[test]
    fn a_devices_posyandu_document_is_accepted_and_projected() {
        let changes = doc_with("P-1", |d| {
            d.set_schedule_rule(Some(&ScheduleRule { week: Week::Second, weekday: DayOfWeek::Tuesday })).unwrap()
        });
        let id = posyandu_doc_id("P-1");
        let m = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &changes).unwrap();
        assert!(m.read.is_none(), "not a household");
        let p = m.posyandu.expect("projection");
        assert_eq!(p.schedule.rule.map(|r| r.week), Some(Week::Second));
        assert_eq!(m.new_changes.len(), 2);
        // The genesis alone (another phone's first push) is known: nothing new.
        let again =
            apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), m.snapshot.as_deref(), &changes[..1]).unwrap();
        assert!(again.snapshot.is_none());
    }

    #[test]
    fn another_posyandus_document_and_forged_ones_are_refused() {
        // P-2's document pushed by a device of P-1: its id form is refused first.
        let changes = doc_with("P-2", |d| d.set_area_entry(&area(), true).unwrap());
        let other = posyandu_doc_id("P-2");
        let err = apply_push(*other.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &changes).unwrap_err();
        assert_eq!(err.code(), "forbidden_scope");
        // A household document under the Posyandu document's id (no genesis).
        let id = posyandu_doc_id("P-1");
        let mut hh = HouseholdDoc::create(id, "P-1", &ActorId::random()).unwrap();
        hh.patch_household(
            &posyandu_records::model::HouseholdPatch { address: Some(Default::default()), ..Default::default() },
            time::macros::date!(2026 - 01 - 01),
        )
        .unwrap();
        let c = hh.commit("K-1", 1_700_000_000).unwrap().raw_bytes().to_vec();
        let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &[c]).unwrap_err();
        assert_eq!(err.code(), "bad_change", "{err:?}");
        // A device writing a Puskesmas sasaran.
        let s = Sasaran {
            ibu_hamil: None,
            ibu_bersalin: None,
            bayi: None,
            balita: Some(40),
            lansia: None,
            source: SasaranSource::Puskesmas,
        };
        let changes = doc_with("P-1", |d| d.set_sasaran(2026, &s).unwrap());
        let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &changes).unwrap_err();
        assert_eq!(err.code(), "bad_change");
        assert!(err.to_string().contains("sasaran/2026/source"), "{err}");
        let kader = Sasaran { source: SasaranSource::Kader, ..s };
        let changes = doc_with("P-1", |d| d.set_sasaran(2026, &kader).unwrap());
        apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &changes).unwrap();
        // An invalid value is refused with its path.
        let changes = doc_with("P-1", |d| {
            d.set_service_date(
                time::macros::date!(2026 - 03 - 12),
                Some(&ServiceDate { place: Some("x".repeat(500)), ..Default::default() }),
            )
            .unwrap()
        });
        let err = apply_push(*id.as_bytes(), &PushAuth::simple("P-1", "K-1"), None, &changes).unwrap_err();
        assert!(err.to_string().contains("schedule/dates/2026-03-12/place"), "{err}");
    }

    fn area() -> AreaEntry {
        AreaEntry { kode_wilayah: "3275011001".into(), rw: "002".into(), rt: "001".into(), dusun: None }
    }
}
