//! `GET /v1/fhir/{posyandu}?since=<cursor>&limit=N`: a FHIR R4 `Bundle` (type
//! `collection`) of the Posyandu's households changed after the cursor, shaped for
//! SATUSEHAT (Kemenkes RI):
//!
//! - `Patient` per member (id = member UUID): identifier `https://fhir.kemkes.go.id/id/nik`
//!   (NIK), or for a newborn without NIK `https://fhir.kemkes.go.id/id/nik-ibu` (mother's
//!   NIK), plus the local member id; `name.text`, `gender`, `birthDate`.
//! - `Encounter` per visit and member (class `AMB` for hari buka, `HH` for a home visit,
//!   v3 ActCode), `status` finished, `period`, `subject`, serviceProvider display.
//! - `Observation` per measurement, LOINC + UCUM: 29463-7 body weight [kg]; 8302-2 body
//!   height (standing) / 8306-3 body length lying [cm]; 9843-4 head circumference [cm];
//!   56072-2 mid-upper arm circumference [cm]; 8280-0 waist circumference [cm];
//!   85354-9 blood pressure panel with components 8480-6 systolic / 8462-4 diastolic
//!   [mm[Hg]]; glucose [mg/dL]: 2339-0 glucose in blood for a random (sewaktu) reading
//!   or one without kind, 1556-0 fasting glucose in capillary blood for a fasting
//!   (puasa) reading.
//! - WHO z-scores: no LOINC code is used (we found none we could vouch for per index),
//!   so they are coded in the local system [`ZSCORE_SYSTEM`] (`wfa`, `lhfa`, `wfl`,
//!   `bmi`, `hcfa`, `muac`), value in UCUM `{SD}`, the Permenkes 2/2020 category as
//!   `interpretation.text`.
//! - `Immunization` per antigen given: `vaccineCode` in the local antigen system
//!   [`ANTIGEN_SYSTEM`] (the codes of the rulebook's immunisation schedule: HB0, BCG,
//!   POLIO1, DPT_HB_HIB1, MR1, …; to be mapped to KFA codes when the Puskesmas has
//!   them), `status` completed, `occurrenceDateTime`.
//!
//! Resource ids are the record UUIDs, or UUIDs derived by SHA-256 from them for
//! per-member resources of a visit, so re-exporting a household gives the same ids
//! (SATUSEHAT loaders can upsert). Deleted records are left out. Vitamin A, deworming
//! and iron tablets are not exported as FHIR yet.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::growth::{round_half_away, Measure, STANDING_FROM_DAYS};
use posyandu_records::model::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::export::assess_entry;
use super::{decode, parse_limit, puskesmas, query_pairs, Cursor, Loaded, CURSOR_HEADER, MORE_HEADER};
use crate::error::ApiError;
use crate::AppState;

pub const NIK_SYSTEM: &str = "https://fhir.kemkes.go.id/id/nik";
pub const NIK_IBU_SYSTEM: &str = "https://fhir.kemkes.go.id/id/nik-ibu";
pub const MEMBER_SYSTEM: &str = "https://posyandu-sync.id/fhir/sid/member-id";
pub const ZSCORE_SYSTEM: &str = "https://posyandu-sync.id/fhir/CodeSystem/who-growth-zscore";
pub const ANTIGEN_SYSTEM: &str = "https://posyandu-sync.id/fhir/CodeSystem/antigen";
/// Households per FHIR page by default, and at most.
pub const DEFAULT_FHIR_LIMIT: usize = 100;
pub const MAX_FHIR_LIMIT: usize = 1000;
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const OBS_CAT: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

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

fn urn(id: &str) -> String {
    format!("urn:uuid:{id}")
}

fn entry(id: &str, resource: Value) -> Value {
    json!({ "fullUrl": urn(id), "resource": resource })
}

fn category(code: &str, display: &str) -> Value {
    json!([{ "coding": [{ "system": OBS_CAT, "code": code, "display": display }] }])
}

fn qty(value: f64, unit: &str, code: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": UCUM, "code": code })
}

pub fn patient(m: &Member) -> Value {
    let mut identifiers = vec![json!({ "use": "usual", "system": MEMBER_SYSTEM, "value": m.id.to_string() })];
    if let Some(nik) = &m.nik {
        identifiers.insert(0, json!({ "use": "official", "system": NIK_SYSTEM, "value": nik }));
    } else if let Some(mn) = &m.mother_nik {
        identifiers.insert(0, json!({ "use": "official", "system": NIK_IBU_SYSTEM, "value": mn.mother_nik }));
    }
    let mut p = json!({
        "resourceType": "Patient",
        "id": m.id.to_string(),
        "identifier": identifiers,
        "active": true,
        "name": [{ "use": "official", "text": m.name }],
        "gender": if m.sex == Sex::Male { "male" } else { "female" },
        "birthDate": format_date(m.birth_date),
    });
    if let Some(mn) = &m.mother_nik {
        p["multipleBirthInteger"] = json!(mn.birth_order);
    }
    p
}

/// All resources of one household, appended to `out`.
pub fn household_entries(l: &Loaded, out: &mut Vec<Value>) {
    let hh = &l.household;
    for m in hh.members.iter().filter(|m| !m.deleted) {
        out.push(entry(&m.id.to_string(), patient(m)));
    }
    for v in hh.visits.iter().filter(|v| !v.deleted) {
        let date = format_date(v.date);
        for e in &v.entries {
            let Some(m) = hh.member(e.member_id).filter(|m| !m.deleted) else {
                continue;
            };
            let vid = v.id.to_string();
            let mid = m.id.to_string();
            let enc_id = derived_id(&["encounter", &vid, &mid]);
            let (class, display) = match v.kind {
                VisitKind::HariBuka => ("AMB", "ambulatory"),
                VisitKind::KunjunganRumah => ("HH", "home health"),
            };
            out.push(entry(
                &enc_id,
                json!({
                    "resourceType": "Encounter",
                    "id": enc_id,
                    "identifier": [{ "system": "https://posyandu-sync.id/fhir/sid/visit-id", "value": vid }],
                    "status": "finished",
                    "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": display },
                    "subject": { "reference": urn(&mid), "display": m.name },
                    "period": { "start": date, "end": date },
                    "serviceProvider": { "display": format!("Posyandu {}", v.posyandu_id) },
                }),
            ));
            let obs = |key: &str, cat: Value, code: Value, extra: Value| -> (String, Value) {
                let id = derived_id(&["observation", &vid, &mid, key]);
                let mut o = json!({
                    "resourceType": "Observation",
                    "id": id,
                    "status": "final",
                    "category": cat,
                    "code": code,
                    "subject": { "reference": urn(&mid) },
                    "encounter": { "reference": urn(&enc_id) },
                    "effectiveDateTime": date,
                });
                if let (Value::Object(o), Value::Object(x)) = (&mut o, extra) {
                    o.extend(x);
                }
                (id, o)
            };
            let loinc = |code: &str, display: &str| json!({ "coding": [{ "system": LOINC, "code": code, "display": display }], "text": display });
            let vital = || category("vital-signs", "Vital Signs");
            let ms = &e.measurements;
            let mut push = |(id, o): (String, Value)| out.push(entry(&id, o));
            if let Some(w) = ms.weight_kg {
                push(obs(
                    "weight",
                    vital(),
                    loinc("29463-7", "Body weight"),
                    json!({ "valueQuantity": qty(w, "kg", "kg") }),
                ));
            }
            if let Some(lh) = ms.length_height_cm {
                let age = (v.date - m.birth_date).whole_days();
                let lying = match ms.measure {
                    Some(Measure::Lying) => true,
                    Some(Measure::Standing) => false,
                    None => age < STANDING_FROM_DAYS,
                };
                let code = if lying { loinc("8306-3", "Body height --lying") } else { loinc("8302-2", "Body height") };
                push(obs("length_height", vital(), code, json!({ "valueQuantity": qty(lh, "cm", "cm") })));
            }
            if let Some(x) = ms.head_circumference_cm {
                push(obs(
                    "head",
                    vital(),
                    loinc("9843-4", "Head Occipital-frontal circumference"),
                    json!({ "valueQuantity": qty(x, "cm", "cm") }),
                ));
            }
            if let Some(x) = ms.muac_cm {
                push(obs(
                    "muac",
                    vital(),
                    loinc("56072-2", "Circumference Mid upper arm"),
                    json!({ "valueQuantity": qty(x, "cm", "cm") }),
                ));
            }
            if let Some(x) = ms.waist_cm {
                push(obs(
                    "waist",
                    vital(),
                    loinc("8280-0", "Waist Circumference at umbilicus by Tape measure"),
                    json!({ "valueQuantity": qty(x, "cm", "cm") }),
                ));
            }
            if ms.bp_systolic_mmhg.is_some() || ms.bp_diastolic_mmhg.is_some() {
                let mut comps = Vec::new();
                if let Some(s) = ms.bp_systolic_mmhg {
                    comps.push(json!({ "code": loinc("8480-6", "Systolic blood pressure"), "valueQuantity": qty(s as f64, "mmHg", "mm[Hg]") }));
                }
                if let Some(d) = ms.bp_diastolic_mmhg {
                    comps.push(json!({ "code": loinc("8462-4", "Diastolic blood pressure"), "valueQuantity": qty(d as f64, "mmHg", "mm[Hg]") }));
                }
                push(obs(
                    "bp",
                    vital(),
                    loinc("85354-9", "Blood pressure panel with all children optional"),
                    json!({ "component": comps }),
                ));
            }
            if let Some(x) = ms.blood_glucose_mg_dl {
                // Fasting (puasa) or random (sewaktu; also a reading without kind).
                let code = match GlucoseKind::or_default(ms.blood_glucose_kind) {
                    GlucoseKind::Puasa => loinc("1556-0", "Fasting glucose [Mass/volume] in Capillary blood"),
                    GlucoseKind::Sewaktu => loinc("2339-0", "Glucose [Mass/volume] in Blood"),
                };
                push(obs(
                    "glucose",
                    category("laboratory", "Laboratory"),
                    code,
                    json!({ "valueQuantity": qty(x, "mg/dL", "mg/dL") }),
                ));
            }
            if let Some(a) = assess_entry(Some(m), v.date, e) {
                let zs = [
                    ("wfa", "Weight-for-age z-score (BB/U)", a.zwfa, a.bbu.map(|c| c.label_id())),
                    ("lhfa", "Length/height-for-age z-score (PB/U, TB/U)", a.zlhfa, a.tbu.map(|c| c.label_id())),
                    ("wfl", "Weight-for-length/height z-score (BB/PB, BB/TB)", a.zwfl, a.bbtb.map(|c| c.label_id())),
                    ("bmi", "BMI-for-age z-score (IMT/U)", a.zbmi, a.imtu.map(|c| c.label_id())),
                    ("hcfa", "Head circumference-for-age z-score (LK/U)", a.zhcfa, None),
                    ("muac", "Arm circumference-for-age z-score (LiLA/U)", a.zmuac, None),
                ];
                for (code, display, z, label) in zs {
                    let Some(z) = z else { continue };
                    let mut extra = json!({ "valueQuantity": qty(round_half_away(z, 2), "SD", "{SD}") });
                    if let Some(label) = label {
                        extra["interpretation"] = json!([{ "text": label }]);
                    }
                    push(obs(
                        &format!("z-{code}"),
                        category("exam", "Exam"),
                        json!({ "coding": [{ "system": ZSCORE_SYSTEM, "code": code, "display": display }], "text": display }),
                        extra,
                    ));
                }
            }
            for antigen in &e.services.immunisations {
                let id = derived_id(&["immunization", &vid, &mid, antigen]);
                out.push(entry(
                    &id,
                    json!({
                        "resourceType": "Immunization",
                        "id": id,
                        "status": "completed",
                        "vaccineCode": { "coding": [{ "system": ANTIGEN_SYSTEM, "code": antigen, "display": antigen }], "text": antigen },
                        "patient": { "reference": urn(&mid) },
                        "encounter": { "reference": urn(&enc_id) },
                        "occurrenceDateTime": date,
                        "primarySource": true,
                    }),
                ));
            }
        }
    }
}

/// A `collection` Bundle of the given households, serialised household by household
/// (only one household's resources are held as JSON values at a time).
pub fn bundle_bytes(posyandu: &str, households: &[Loaded], next: Option<String>) -> serde_json::Result<Vec<u8>> {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let mut head = json!({
        "resourceType": "Bundle",
        "id": Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": now },
        "identifier": { "system": "https://posyandu-sync.id/fhir/sid/posyandu", "value": posyandu },
        "type": "collection",
        "timestamp": now,
    });
    if let Some(n) = next {
        head["link"] = json!([{ "relation": "next", "url": n }]);
    }
    let mut out = serde_json::to_vec(&head)?;
    out.pop(); // the closing brace
    out.extend_from_slice(b",\"entry\":[");
    let mut first = true;
    let mut entries = Vec::new();
    for l in households {
        entries.clear();
        household_entries(l, &mut entries);
        for e in &entries {
            if !first {
                out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut out, e)?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(out)
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
    let link = more.then(|| format!("/v1/fhir/{posyandu}?since={next_s}&limit={limit}"));
    let body = tokio::task::spawn_blocking(move || {
        let loaded: Vec<Loaded> = docs.iter().filter_map(|d| decode(&p, d).ok()).collect();
        bundle_bytes(&p, &loaded, link)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/fhir+json"));
    h.insert(CURSOR_HEADER, HeaderValue::from_str(&next_s).map_err(ApiError::internal)?);
    h.insert(MORE_HEADER, HeaderValue::from_static(if more { "true" } else { "false" }));
    if reset {
        h.insert(super::RESET_HEADER, HeaderValue::from_static("true"));
    }
    Ok(resp)
}
