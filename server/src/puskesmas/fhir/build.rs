//! The resources of a SATUSEHAT transaction bundle, built from read-model households.
//!
//! Conventions and where they come from (SATUSEHAT = the "Implementasi Use Case"
//! pages of the SATUSEHAT FHIR IG, e.g. Antenatal Care step 2 "Pendaftaran Kunjungan";
//! IDCore = github.com/yy-dto/IDCore, the FSH source of the ID Core IG by DTO Kemkes):
//!
//! - Patients registered in SATUSEHAT's MPI are referenced as `Patient/{IHS number}`
//!   and not sent (SATUSEHAT: "registrasi data pasien baru tidak diperlukan"). A
//!   member without a known IHS number is sent as a conditional create (`POST
//!   Patient`, `ifNoneExist` on the NIK, or for a newborn without NIK on the local
//!   member id) and listed by [`super::missing_ihs_handler`].
//! - Identifiers of what the Puskesmas creates are in `http://sys-ids.kemkes.go.id/
//!   {resource}/{organization id}` with the Puskesmas' Organization id (SATUSEHAT
//!   Encounter template: `ORGANIZATION_IHS_NUMBER`, "ID organisasi induk"); values
//!   are our stable derived UUIDs, so `ifNoneExist` on them makes a re-upload a no-op.
//! - Encounter: `serviceProvider` the Puskesmas, `location` the Posyandu's Location,
//!   `participant` ATND the responsible bidan (a kader is not a health worker and has
//!   no Practitioner IHS number), `period` and `statusHistory` as dateTime with the
//!   Posyandu's UTC offset. The record has a date, not times: start 00:00, end 23:59:59.
//! - Codes come from the table [`super::codes`] (`server/data/satusehat-codes.json`).

use std::collections::HashMap;

use posyandu_records::growth::{round_half_away, Measure, STANDING_FROM_DAYS};
use posyandu_records::model::*;
use posyandu_records::rules::{immunisation, screening};
use serde_json::{json, Value};
use time::Date;

use super::super::export::assess_entry;
use super::super::Loaded;
use super::codes::{self, concept};
use crate::storage::SatusehatConfig;

pub const NIK_SYSTEM: &str = "https://fhir.kemkes.go.id/id/nik";
pub const NIK_IBU_SYSTEM: &str = "https://fhir.kemkes.go.id/id/nik-ibu";
pub const IHS_SYSTEM: &str = "https://fhir.kemkes.go.id/id/ihs-number";
pub const MEMBER_SYSTEM: &str = "https://posyandu-sync.id/fhir/sid/member-id";
pub const ANTIGEN_SYSTEM: &str = "https://posyandu-sync.id/fhir/CodeSystem/antigen";
pub const KFA_SYSTEM: &str = "http://sys-ids.kemkes.go.id/kfa";
/// Local codes of Posyandu services without a verified SATUSEHAT code (vitamin A,
/// deworming, iron tablets, PMT): see `satusehat-codes.json`.
pub const SERVICE_SYSTEM: &str = "https://posyandu-sync.id/fhir/CodeSystem/posyandu-service";
pub const ADMIN_CODE_URL: &str = "https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode";
pub const SYS_IDS: &str = "http://sys-ids.kemkes.go.id";
const UCUM: &str = "http://unitsofmeasure.org";
const OBS_CAT: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// What one export knows besides the households.
#[derive(Debug, Clone)]
pub struct ExportContext {
    pub config: SatusehatConfig,
    /// NIK → IHS number of the members the Puskesmas has looked up.
    pub ihs: HashMap<String, String>,
    /// Only visits of this month (first and last day), when set.
    pub month: Option<(Date, Date)>,
    /// Whether to send the Posyandu's Organization and Location (PUT).
    pub master: bool,
}

/// A member without an IHS number in the export (for the Puskesmas' MPI lookup).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingIhs {
    pub member_id: String,
    pub name: String,
    pub birth_date: String,
    /// `nik`, `nik-ibu` (a newborn registered with the mother's NIK) or `tanpa_nik`
    /// (neither recorded: the member's records are left out of the bundle until one is).
    pub identifier: &'static str,
    pub nik: String,
}

/// The identifier system of a resource type for the Puskesmas' organization.
pub fn sys_ids(resource: &str, org: &str) -> String {
    format!("{SYS_IDS}/{resource}/{org}")
}

fn urn(id: &str) -> String {
    format!("urn:uuid:{id}")
}

/// A transaction entry that creates `resource` unless one with its first identifier
/// exists (FHIR conditional create).
pub fn create_entry(id: &str, resource: Value) -> Value {
    let rtype = resource["resourceType"].as_str().unwrap_or_default().to_string();
    let ident = &resource["identifier"][0];
    let cond = format!(
        "identifier={}|{}",
        ident["system"].as_str().unwrap_or_default(),
        ident["value"].as_str().unwrap_or_default()
    );
    json!({
        "fullUrl": urn(id),
        "resource": resource,
        "request": { "method": "POST", "url": rtype, "ifNoneExist": cond },
    })
}

/// A transaction entry that creates or replaces `resource` under its SATUSEHAT id.
pub fn put_entry(resource: Value) -> Value {
    let url = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    );
    json!({ "resource": resource, "request": { "method": "PUT", "url": url } })
}

/// `YYYY-MM-DDThh:mm:ss+07:00`.
fn date_time(d: Date, hms: &str, offset: &str) -> String {
    format!("{}T{hms}{offset}", format_date(d))
}

/// The Posyandu's Organization (Kemkes organization type Posyandu, part of the
/// Puskesmas) and Location.
pub fn master_entries(c: &SatusehatConfig) -> Vec<Value> {
    let org = json!({
        "resourceType": "Organization",
        "id": c.org_id,
        "meta": { "profile": ["https://fhir.kemkes.go.id/r4/StructureDefinition/Organization"] },
        "identifier": [{ "use": "official", "system": sys_ids("organization", &c.puskesmas_org_id), "value": c.posyandu_id }],
        "active": true,
        "type": [concept("org-type-posyandu")],
        "name": c.posyandu_name,
        "partOf": { "reference": format!("Organization/{}", c.puskesmas_org_id) },
    });
    let loc = json!({
        "resourceType": "Location",
        "id": c.location_id,
        "meta": { "profile": ["https://fhir.kemkes.go.id/r4/StructureDefinition/Location"] },
        "identifier": [{ "system": sys_ids("location", &c.puskesmas_org_id), "value": c.posyandu_id }],
        "status": "active",
        "name": c.posyandu_name,
        "mode": "instance",
        "managingOrganization": { "reference": format!("Organization/{}", c.org_id) },
    });
    vec![put_entry(org), put_entry(loc)]
}

/// The administrative-code extension of a household address (Kemendagri area code
/// `PPKKCCDDDD` → province, city, district, village; RT and RW as recorded).
pub fn address(a: &Address) -> Value {
    let k = &a.kode_wilayah;
    let mut line = format!("RT {} / RW {}", a.rt, a.rw);
    if let Some(d) = a.dusun.as_deref().filter(|d| !d.trim().is_empty()) {
        line.push_str(&format!(", {d}"));
    }
    let mut addr = json!({ "use": "home", "line": [line], "country": "ID" });
    if k.len() == 10 && k.bytes().all(|b| b.is_ascii_digit()) {
        // The relay has codes, not names: `city` carries the regency/city code.
        addr["city"] = json!(&k[..4]);
        addr["extension"] = json!([{
            "url": ADMIN_CODE_URL,
            "extension": [
                { "url": "province", "valueCode": &k[..2] },
                { "url": "city", "valueCode": &k[..4] },
                { "url": "district", "valueCode": &k[..6] },
                { "url": "village", "valueCode": k },
                { "url": "rt", "valueCode": a.rt },
                { "url": "rw", "valueCode": a.rw },
            ],
        }]);
    }
    addr
}

/// SATUSEHAT newborn rule: `multipleBirthInteger` is the twin order, 0 for a single
/// birth. Children of the household with the same mother's NIK and birth date are one
/// multiple birth, ordered by their recorded birth order ("anak ke-").
pub fn multiple_birth(hh: &Household, m: &Member) -> Option<i64> {
    let mn = m.mother_nik.as_ref()?;
    let mut twins: Vec<&Member> = hh
        .members
        .iter()
        .filter(|o| !o.deleted && o.birth_date == m.birth_date)
        .filter(|o| o.mother_nik.as_ref().is_some_and(|x| x.mother_nik == mn.mother_nik))
        .collect();
    if twins.len() < 2 {
        return Some(0);
    }
    twins.sort_by_key(|o| (o.mother_nik.as_ref().map(|x| x.birth_order), o.id));
    twins.iter().position(|o| o.id == m.id).map(|i| i as i64 + 1)
}

/// A Patient for conditional create (a member without a known IHS number).
pub fn patient(hh: &Household, m: &Member) -> Value {
    let mut identifiers = Vec::new();
    if let Some(nik) = &m.nik {
        identifiers.push(json!({ "use": "official", "system": NIK_SYSTEM, "value": nik }));
    } else if let Some(mn) = &m.mother_nik {
        identifiers.push(json!({ "use": "official", "system": NIK_IBU_SYSTEM, "value": mn.mother_nik }));
    }
    identifiers.push(json!({ "use": "usual", "system": MEMBER_SYSTEM, "value": m.id.to_string() }));
    let mut p = json!({
        "resourceType": "Patient",
        "id": m.id.to_string(),
        "meta": { "profile": ["https://fhir.kemkes.go.id/r4/StructureDefinition/Patient"] },
        "identifier": identifiers,
        "active": true,
        "name": [{ "use": "official", "text": m.name }],
        "gender": if m.sex == Sex::Male { "male" } else { "female" },
        "birthDate": format_date(m.birth_date),
        "deceasedBoolean": false,
        "address": [address(&hh.address)],
    });
    if let Some(n) = multiple_birth(hh, m) {
        p["multipleBirthInteger"] = json!(n);
    }
    p
}

/// Dose number of an antigen code: its trailing number (`DPT_HB_HIB3` → 3), at least 1
/// (`HB0`, the birth dose, is the first hepatitis B dose; `BCG` has one dose).
pub fn dose_number(code: &str) -> u32 {
    let digits: String =
        code.chars().rev().take_while(|c| c.is_ascii_digit()).collect::<Vec<_>>().into_iter().rev().collect();
    digits.parse::<u32>().unwrap_or(0).max(1)
}

/// `reasonCode` codings of a dose: the programme (Kemkes immunization-reason) and, for
/// the child schedule, on time (IM-Ideal) or catch-up (IM-Kejar) by the rulebook's
/// on-time window.
pub fn immunization_reason(code: &str, birth: Date, on: Date) -> Vec<Value> {
    let Some(a) = immunisation::antigen(code) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let key = match a.group {
        immunisation::AntigenGroup::Anak => {
            let months = a.recommended.map(|r| r.completed_months.or(r.months).unwrap_or(0)).unwrap_or(0);
            if months >= 12 {
                "imm-reason-baduta"
            } else {
                "imm-reason-dasar"
            }
        }
        immunisation::AntigenGroup::Bias => "imm-reason-sd",
        immunisation::AntigenGroup::Wus => "imm-reason-wus",
        immunisation::AntigenGroup::DaerahEndemis => "imm-reason-program",
    };
    out.push(codes::must(key).coding());
    if a.group == immunisation::AntigenGroup::Anak {
        if let Some(until) = a.on_time_until() {
            let t = if until.within(birth, on) { "imm-timing-ideal" } else { "imm-timing-kejar" };
            out.push(codes::must(t).coding());
        }
    }
    out
}

fn qty(value: f64, unit: &str, code: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": UCUM, "code": code })
}

fn category(code: &str, display: &str) -> Value {
    json!([{ "coding": [{ "system": OBS_CAT, "code": code, "display": display }] }])
}

/// v3 interpretation High or Normal.
fn high_or_normal(high: bool) -> Value {
    json!([concept(if high { "interp-high" } else { "interp-normal" })])
}

/// Every resource of one household's visits (and the Patients they need), appended
/// to `out`; members without an IHS number appended to `missing`.
pub fn household_entries(ctx: &ExportContext, l: &Loaded, out: &mut Vec<Value>, missing: &mut Vec<MissingIhs>) {
    let c = &ctx.config;
    let org = &c.puskesmas_org_id;
    let hh = &l.household;
    // Patient references, and Patient entries for members without an IHS number.
    let mut refs: HashMap<uuid::Uuid, String> = HashMap::new();
    let mut skipped: std::collections::HashSet<uuid::Uuid> = std::collections::HashSet::new();
    let in_month = |d: Date| ctx.month.is_none_or(|(a, b)| d >= a && d <= b);
    let visits: Vec<&Visit> = hh.visits.iter().filter(|v| !v.deleted && in_month(v.date)).collect();
    // Referrals with a lifecycle (issue 12) raised in the period: one ServiceRequest each
    // (`super::referral`); a visit entry's free-text referral that one of them points at
    // (same visit and member) is merged into it, not sent twice.
    let referrals: Vec<&ReferralRecord> = super::super::referrals::exported(hh).filter(|r| in_month(r.date)).collect();
    let merged: std::collections::HashSet<(uuid::Uuid, uuid::Uuid)> =
        referrals.iter().filter_map(|r| r.visit_id.map(|v| (v, r.member_id))).collect();
    let people = visits
        .iter()
        .flat_map(|v| v.entries.iter().map(|e| e.member_id))
        .chain(referrals.iter().map(|r| r.member_id))
        .collect::<Vec<_>>();
    for member_id in people {
        let Some(m) = hh.member(member_id).filter(|m| !m.deleted) else { continue };
        if refs.contains_key(&m.id) || skipped.contains(&m.id) {
            continue;
        }
        let ihs = m.nik.as_ref().and_then(|n| ctx.ihs.get(n));
        let r = match ihs {
            Some(ihs) => format!("Patient/{ihs}"),
            // Neither NIK nor mother's NIK: SATUSEHAT cannot identify the person, so
            // the member's records stay out of the bundle and the member is listed.
            None if m.nik.is_none() && m.mother_nik.is_none() => {
                missing.push(MissingIhs {
                    member_id: m.id.to_string(),
                    name: m.name.clone(),
                    birth_date: format_date(m.birth_date),
                    identifier: "tanpa_nik",
                    nik: String::new(),
                });
                skipped.insert(m.id);
                continue;
            }
            None => {
                let id = m.id.to_string();
                let p = patient(hh, m);
                let cond = match &m.nik {
                    Some(nik) => format!("identifier={NIK_SYSTEM}|{nik}"),
                    None => format!("identifier={MEMBER_SYSTEM}|{id}"),
                };
                out.push(json!({
                    "fullUrl": urn(&id),
                    "resource": p,
                    "request": { "method": "POST", "url": "Patient", "ifNoneExist": cond },
                }));
                missing.push(MissingIhs {
                    member_id: id.clone(),
                    name: m.name.clone(),
                    birth_date: format_date(m.birth_date),
                    identifier: if m.nik.is_some() { "nik" } else { "nik-ibu" },
                    nik: m
                        .nik
                        .clone()
                        .or_else(|| m.mother_nik.as_ref().map(|x| x.mother_nik.clone()))
                        .unwrap_or_default(),
                });
                urn(&id)
            }
        };
        refs.insert(m.id, r);
    }
    for v in visits.iter().copied() {
        let start = date_time(v.date, "00:00:00", &c.utc_offset);
        let end = date_time(v.date, "23:59:59", &c.utc_offset);
        for e in &v.entries {
            let Some(m) = hh.member(e.member_id).filter(|m| !m.deleted) else { continue };
            let Some(subject) = refs.get(&m.id).cloned() else { continue };
            let vid = v.id.to_string();
            let mid = m.id.to_string();
            let enc_id = super::derived_id(&["encounter", &vid, &mid]);
            let (class, display) = match v.kind {
                VisitKind::HariBuka => ("AMB", "ambulatory"),
                VisitKind::KunjunganRumah => ("HH", "home health"),
            };
            out.push(create_entry(
                &enc_id,
                json!({
                    "resourceType": "Encounter",
                    "id": enc_id,
                    "meta": { "profile": ["https://fhir.kemkes.go.id/r4/StructureDefinition/Encounter"] },
                    "identifier": [{ "system": sys_ids("encounter", org), "value": enc_id }],
                    "status": "finished",
                    "class": { "system": ACT_CODE, "code": class, "display": display },
                    "subject": { "reference": subject, "display": m.name },
                    "participant": [{
                        "type": [concept("participant-atnd")],
                        "individual": { "reference": format!("Practitioner/{}", c.bidan_ihs), "display": c.bidan_name },
                    }],
                    "period": { "start": start, "end": end },
                    "location": [{ "location": { "reference": format!("Location/{}", c.location_id), "display": c.posyandu_name } }],
                    "statusHistory": [
                        { "status": "arrived", "period": { "start": start, "end": start } },
                        { "status": "in-progress", "period": { "start": start, "end": end } },
                        { "status": "finished", "period": { "start": end, "end": end } },
                    ],
                    "serviceProvider": { "reference": format!("Organization/{org}") },
                }),
            ));
            let enc_ref = urn(&enc_id);
            let performer = json!([{ "reference": format!("Organization/{}", c.org_id), "display": c.posyandu_name }]);
            let mut obs = |key: &str, cat: Value, code: Value, extra: Value| {
                let id = super::derived_id(&["observation", &vid, &mid, key]);
                let mut o = json!({
                    "resourceType": "Observation",
                    "id": id,
                    "meta": { "profile": ["https://fhir.kemkes.go.id/r4/StructureDefinition/Observation"] },
                    "identifier": [{ "system": sys_ids("observation", org), "value": id }],
                    "status": "final",
                    "category": cat,
                    "code": code,
                    "subject": { "reference": subject },
                    "encounter": { "reference": enc_ref },
                    "effectiveDateTime": start,
                    "performer": performer,
                });
                if let (Value::Object(o), Value::Object(x)) = (&mut o, extra) {
                    o.extend(x);
                }
                out.push(create_entry(&id, o));
            };
            let vital = || category("vital-signs", "Vital Signs");
            let exam = || category("exam", "Exam");
            let ms = &e.measurements;
            let age_days = (v.date - m.birth_date).whole_days();
            if let Some(w) = ms.weight_kg {
                obs("weight", vital(), concept("obs-weight"), json!({ "valueQuantity": qty(w, "kg", "kg") }));
            }
            if let Some(lh) = ms.length_height_cm {
                let lying = match ms.measure {
                    Some(Measure::Lying) => true,
                    Some(Measure::Standing) => false,
                    None => age_days < STANDING_FROM_DAYS,
                };
                let key = if lying { "obs-length" } else { "obs-height" };
                obs("length_height", vital(), concept(key), json!({ "valueQuantity": qty(lh, "cm", "cm") }));
            }
            if let Some(x) = ms.head_circumference_cm {
                obs("head", vital(), concept("obs-head"), json!({ "valueQuantity": qty(x, "cm", "cm") }));
            }
            if let Some(x) = ms.muac_cm {
                obs("muac", exam(), concept("obs-muac"), json!({ "valueQuantity": qty(x, "cm", "cm") }));
            }
            if let Some(x) = ms.waist_cm {
                obs("waist", vital(), concept("obs-waist"), json!({ "valueQuantity": qty(x, "cm", "cm") }));
            }
            // Blood pressure: two Observations (ID Core VS-BP systolic/diastolic), each
            // with an interpretation (required there): High at or above the rulebook's
            // hypertension threshold of that component, else Normal.
            let components = [
                ("bp-systolic", "obs-bp-systolic", ms.bp_systolic_mmhg, (ms.bp_systolic_mmhg, None)),
                ("bp-diastolic", "obs-bp-diastolic", ms.bp_diastolic_mmhg, (None, ms.bp_diastolic_mmhg)),
            ];
            for (key, code, value, (sys, dia)) in components {
                let Some(v) = value else { continue };
                let high = screening::is_hypertension(sys, dia) == Some(true);
                let extra =
                    json!({ "valueQuantity": qty(v as f64, "mmHg", "mm[Hg]"), "interpretation": high_or_normal(high) });
                obs(key, vital(), concept(code), extra);
            }
            if let Some(x) = ms.blood_glucose_mg_dl {
                let kind = GlucoseKind::or_default(ms.blood_glucose_kind);
                let key = match kind {
                    GlucoseKind::Puasa => "obs-glucose-fasting",
                    GlucoseKind::Sewaktu => "obs-glucose-random",
                };
                let high = screening::is_high_glucose(x, kind);
                obs(
                    "glucose",
                    category("laboratory", "Laboratory"),
                    concept(key),
                    json!({ "valueQuantity": qty(x, "mg/dL", "mg/dL"), "interpretation": high_or_normal(high) }),
                );
            }
            if let Some(a) = assess_entry(Some(m), v.date, e) {
                let under2 = age_days < STANDING_FROM_DAYS;
                let zs = [
                    ("wfa", "z-wfa", a.zwfa, a.bbu.map(|c| c.label_id())),
                    ("lhfa", if under2 { "z-lfa" } else { "z-hfa" }, a.zlhfa, a.tbu.map(|c| c.label_id())),
                    ("wfl", if under2 { "z-wfl" } else { "z-wfh" }, a.zwfl, a.bbtb.map(|c| c.label_id())),
                    ("bmi", "z-bmi", a.zbmi, a.imtu.map(|c| c.label_id())),
                    ("hcfa", "z-hcfa", a.zhcfa, None),
                ];
                for (key, code_key, z, label) in zs {
                    let Some(z) = z else { continue };
                    let mut extra = json!({ "valueQuantity": qty(round_half_away(z, 2), "SD", "{SD}") });
                    if let Some(label) = label {
                        if let Some(ic) = codes::get(&format!("interp-{label}")) {
                            extra["interpretation"] = json!([{ "coding": [ic.coding()], "text": label }]);
                        }
                    }
                    obs(&format!("z-{key}"), exam(), concept(code_key), extra);
                }
            }
            let sv = &e.services;
            for antigen in &sv.immunisations {
                let id = super::derived_id(&["immunization", &vid, &mid, antigen]);
                // Doses recorded at a hari buka are given there by the health worker;
                // a dose recorded on a home visit is a kader copying the Buku KIA: not
                // a primary source, report origin "Written Record".
                let primary = v.kind == VisitKind::HariBuka;
                let mut coding = vec![json!({ "system": ANTIGEN_SYSTEM, "code": antigen, "display": antigen })];
                // KFA codes are product-level: the Puskesmas' own mapping
                // (`admin satusehat-kfa`); the relay ships none it could vouch for.
                if let Some((code, display)) = c.kfa.get(antigen) {
                    coding.insert(0, json!({ "system": KFA_SYSTEM, "code": code, "display": display }));
                }
                let mut imm = json!({
                    "resourceType": "Immunization",
                    "id": id,
                    "meta": { "profile": ["https://fhir.kemkes.go.id/r4/StructureDefinition/Immunization"] },
                    "identifier": [{ "system": sys_ids("immunization", org), "value": id }],
                    "status": "completed",
                    "vaccineCode": { "coding": coding, "text": antigen },
                    "patient": { "reference": subject },
                    "encounter": { "reference": enc_ref },
                    "occurrenceDateTime": start,
                    "primarySource": primary,
                    "location": { "reference": format!("Location/{}", c.location_id) },
                    "protocolApplied": [{ "doseNumberPositiveInt": dose_number(antigen) }],
                });
                let reason = immunization_reason(antigen, m.birth_date, v.date);
                if !reason.is_empty() {
                    imm["reasonCode"] = json!([{ "coding": reason }]);
                }
                if primary {
                    imm["performer"] = json!([{
                        "function": concept("imm-function-ap"),
                        "actor": { "reference": format!("Practitioner/{}", c.bidan_ihs), "display": c.bidan_name },
                    }]);
                } else {
                    imm["reportOrigin"] = concept("imm-origin-record");
                }
                out.push(create_entry(&id, imm));
            }
            // Vitamin A, deworming and iron tablets: MedicationAdministration with the
            // local service code (no verified KFA code; see satusehat-codes.json).
            let mut meds: Vec<(&str, String, Option<u16>)> = Vec::new();
            if sv.vitamin_a {
                let (code, text) = match sv.vitamin_a_capsule {
                    Some(VitaminACapsule::Biru) => ("vitamin-a-biru", "Kapsul vitamin A biru (100.000 IU)"),
                    Some(VitaminACapsule::Merah) => ("vitamin-a-merah", "Kapsul vitamin A merah (200.000 IU)"),
                    None => ("vitamin-a", "Kapsul vitamin A"),
                };
                meds.push((code, text.to_string(), None));
            }
            if sv.deworming {
                meds.push(("obat-cacing", "Obat cacing".to_string(), None));
            }
            if let Some(n) = sv.iron_tablets.filter(|n| *n > 0) {
                meds.push(("ttd", "Tablet tambah darah (TTD)".to_string(), Some(n)));
            }
            for (code, text, count) in meds {
                let id = super::derived_id(&["medication-administration", &vid, &mid, code]);
                let mut ma = json!({
                    "resourceType": "MedicationAdministration",
                    "id": id,
                    "identifier": [{ "system": sys_ids("medicationadministration", org), "value": id }],
                    "status": "completed",
                    "medicationCodeableConcept": { "coding": [{ "system": SERVICE_SYSTEM, "code": code, "display": text }], "text": text },
                    "subject": { "reference": subject },
                    "context": { "reference": enc_ref },
                    "effectiveDateTime": start,
                });
                if let Some(n) = count {
                    ma["dosage"] = json!({ "text": format!("{n} tablet"), "dose": { "value": n, "unit": "tablet", "system": UCUM, "code": "{tbl}" } });
                }
                out.push(create_entry(&id, ma));
            }
            if sv.supplementary_food {
                let id = super::derived_id(&["procedure", &vid, &mid, "pmt"]);
                out.push(create_entry(
                    &id,
                    json!({
                        "resourceType": "Procedure",
                        "id": id,
                        "identifier": [{ "system": sys_ids("procedure", org), "value": id }],
                        "status": "completed",
                        "code": { "coding": [{ "system": SERVICE_SYSTEM, "code": "pmt", "display": "Pemberian makanan tambahan (PMT)" }], "text": "Pemberian makanan tambahan (PMT)" },
                        "subject": { "reference": subject },
                        "encounter": { "reference": enc_ref },
                        "performedDateTime": start,
                    }),
                ));
            }
            if let Some(r) = e.referral.as_ref().filter(|_| !merged.contains(&(v.id, m.id))) {
                let id = super::derived_id(&["service-request", &vid, &mid]);
                let mut sr = json!({
                    "resourceType": "ServiceRequest",
                    "id": id,
                    "identifier": [{ "system": sys_ids("servicerequest", org), "value": id }],
                    "status": "active",
                    "intent": "order",
                    "category": [concept("referral")],
                    "code": concept("referral"),
                    "subject": { "reference": subject },
                    "encounter": { "reference": enc_ref },
                    "authoredOn": start,
                    "requester": { "reference": format!("Organization/{}", c.org_id), "display": c.posyandu_name },
                    "reasonCode": [{ "text": r.reason }],
                });
                if let Some(to) = r.to.as_deref().filter(|t| !t.trim().is_empty()) {
                    sr["performer"] = json!([{ "display": to }]);
                }
                out.push(create_entry(&id, sr));
            }
        }
    }
    for r in referrals {
        let Some(subject) = refs.get(&r.member_id) else { continue };
        // The Encounter of the visit it was raised at, when that visit is in this bundle.
        let encounter = r
            .visit_id
            .and_then(|vid| visits.iter().find(|v| v.id == vid))
            .filter(|v| v.entries.iter().any(|e| e.member_id == r.member_id))
            .map(|v| urn(&super::derived_id(&["encounter", &v.id.to_string(), &r.member_id.to_string()])));
        let free_text = r.visit_id.and_then(|vid| {
            hh.visits
                .iter()
                .find(|v| v.id == vid && !v.deleted)
                .and_then(|v| v.entries.iter().find(|e| e.member_id == r.member_id))
                .and_then(|e| e.referral.as_ref())
        });
        let (id, sr) = super::referral::service_request(ctx, r, subject, encounter.as_deref(), free_text);
        out.push(create_entry(&id, sr));
    }
}
