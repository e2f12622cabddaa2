//! ID Core / SATUSEHAT constraints on the export, checked in Rust (the Python
//! validator checks FHIR R4 structure; this checks what the Indonesian profiles add).
//!
//! Encoded from the ID Core FSH source (github.com/yy-dto/IDCore, DTO Kemkes; files
//! named per check) and SATUSEHAT's published templates where ID Core is silent:
//!
//! - Patient (`Profile-IDCorePatient.fsh`): identifier 2..* with value, one official
//!   identifier in the NIK / NIK-ibu / IHS / passport systems; name 1..*; gender;
//!   birthDate (date); deceasedBoolean 1..1; address use, line 1..*, city, country and
//!   the administrative-code extension (province, city, district, village, rt, rw;
//!   `Extension-AddressExtension.fsh` requires all six — SATUSEHAT's Patient examples
//!   name it `https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode`,
//!   which is what SATUSEHAT accepts, so that URL is used). Newborns registered with
//!   the mother's NIK need `multipleBirthInteger` (SATUSEHAT newborn rule).
//! - Organization: identifier in `sys-ids.kemkes.go.id/organization/{org}`, active,
//!   type from `terminology.kemkes.go.id/CodeSystem/organization-type`, name, partOf.
//! - Location: identifier in `sys-ids.kemkes.go.id/location/{org}`, status, name,
//!   managingOrganization.
//! - Encounter (`Profile-IDCoreEncounter.fsh`): identifier 1..* (`sys-ids.kemkes.go.id/
//!   encounter/{org}`), status and class (v3 ActCode), participant.individual 1..
//!   (a Practitioner), type from v3 ParticipationType, period.start 1.. (dateTime
//!   with offset), location 1.., serviceProvider 1.., statusHistory with periods.
//! - Observation (`Profile-IDCoreObservation.fsh`): status, code, subject, encounter
//!   1..1; identifier `sys-ids.kemkes.go.id/observation/{org}`; category from
//!   observation-category; quantities in UCUM; interpretation from the Kemkes
//!   clinical-term or v3 ObservationInterpretation; blood pressure
//!   (`Profile-IDCoreVSBPSystolic.fsh`, `...Diastolic.fsh`): the fixed LOINC code,
//!   mm[Hg] between 0 and 450, interpretation 1..1.
//! - Immunization: identifier `sys-ids.kemkes.go.id/immunization/{org}`, status,
//!   vaccineCode (KFA or the local antigen system), patient, occurrenceDateTime,
//!   primarySource; not a primary source → reportOrigin; a primary source → a
//!   Practitioner performer; protocolApplied.doseNumberPositiveInt ≥ 1; reasonCode from
//!   the Kemkes immunization-reason / routine-timing systems.
//! - ServiceRequest, MedicationAdministration, Procedure: the R4 required elements plus
//!   a `sys-ids.kemkes.go.id` identifier, subject and encounter/context. A
//!   ServiceRequest's `encounter` is 0..1 (a referral raised outside a recorded visit,
//!   issue 12, has none; when present it references an Encounter); it needs a
//!   `requester` (the Posyandu's Organization or a Practitioner), and a `performer`, when
//!   present, references a Practitioner or names one.
//! - Bindings: a coding in a system the code table covers must be a code of the table
//!   (`server/data/satusehat-codes.json`), never an unverified one.
//! - Bundle: `transaction`; every entry has a request; conditional creates have a
//!   `urn:uuid` fullUrl (unique) and `ifNoneExist` on one of the resource's identifiers;
//!   PUT urls are `Type/id`; every reference resolves inside the bundle (urn:uuid) or is
//!   a SATUSEHAT `Type/id` reference.

use std::collections::HashSet;

use serde_json::Value;

use super::build::{ADMIN_CODE_URL, IHS_SYSTEM, NIK_IBU_SYSTEM, NIK_SYSTEM, SYS_IDS};
use super::codes;

const PATIENT_IDS: [&str; 4] = [IHS_SYSTEM, NIK_SYSTEM, NIK_IBU_SYSTEM, "https://fhir.kemkes.go.id/id/passport"];

struct Check<'a> {
    what: String,
    r: &'a Value,
    errors: Vec<String>,
}

impl<'a> Check<'a> {
    fn new(r: &'a Value) -> Self {
        let what = format!("{}/{}", r["resourceType"].as_str().unwrap_or("?"), r["id"].as_str().unwrap_or("?"));
        Check { what, r, errors: Vec::new() }
    }
    fn err(&mut self, msg: impl std::fmt::Display) {
        self.errors.push(format!("{}: {msg}", self.what));
    }
    fn s(&self, path: &str) -> Option<&'a str> {
        get(self.r, path).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
    }
    fn required(&mut self, paths: &[&str]) {
        for p in paths {
            if get(self.r, p).is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty)) {
                self.err(format!("{p} wajib ada"));
            }
        }
    }
    fn one_of(&mut self, path: &str, allowed: &[&str]) {
        match self.s(path) {
            Some(v) if allowed.contains(&v) => {}
            Some(v) => self.err(format!("{path} = {v} tidak diizinkan")),
            None => self.err(format!("{path} wajib ada")),
        }
    }
    /// The first identifier is in `sys-ids.kemkes.go.id/{kind}/{org}` with a value.
    fn sys_ids(&mut self, kind: &str) {
        let prefix = format!("{SYS_IDS}/{kind}/");
        let ok = self.r["identifier"].as_array().is_some_and(|ids| {
            ids.iter().any(|i| {
                i["system"].as_str().is_some_and(|s| s.starts_with(&prefix) && s.len() > prefix.len())
                    && i["value"].as_str().is_some_and(|v| !v.is_empty())
            })
        });
        if !ok {
            self.err(format!("identifier dengan system {prefix}{{org}} wajib ada"));
        }
    }
    fn reference(&mut self, path: &str, types: &[&str]) {
        match self.s(path) {
            Some(r) if r.starts_with("urn:uuid:") || types.iter().any(|t| r.starts_with(&format!("{t}/"))) => {}
            Some(r) => self.err(format!("{path} = {r} bukan rujukan ke {}", types.join("/"))),
            None => self.err(format!("{path} wajib ada")),
        }
    }
    fn date_time_with_offset(&mut self, path: &str) {
        match self.s(path) {
            Some(v) if is_date_time_with_offset(v) => {}
            Some(v) => self.err(format!("{path} = {v} harus dateTime dengan zona waktu")),
            None => self.err(format!("{path} wajib ada")),
        }
    }
}

/// `a.b.0.c` style paths.
fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = match part.parse::<usize>() {
            Ok(i) => cur.get(i)?,
            Err(_) => cur.get(part)?,
        };
    }
    Some(cur)
}

/// `YYYY-MM-DDThh:mm:ss(.fff)(Z|±hh:mm)`.
pub fn is_date_time_with_offset(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn codings(v: &Value) -> Vec<&Value> {
    v["coding"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// Every coding in the resource whose system the code table covers is a code of it.
fn bindings(c: &mut Check, v: &Value) {
    match v {
        Value::Object(m) => {
            if let (Some(sys), Some(code)) =
                (m.get("system").and_then(Value::as_str), m.get("code").and_then(Value::as_str))
            {
                if m.contains_key("display") && codes::covers_system(sys) && !codes::is_known(sys, code) {
                    c.err(format!("kode {code} tidak ada di tabel kode untuk {sys}"));
                }
            }
            for x in m.values() {
                bindings(c, x);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| bindings(c, x)),
        _ => {}
    }
}

pub fn check_patient(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.required(&["name.0", "gender", "birthDate", "deceasedBoolean", "address.0"]);
    c.one_of("gender", &["male", "female", "other", "unknown"]);
    let ids = r["identifier"].as_array().cloned().unwrap_or_default();
    if ids.len() < 2 || ids.iter().any(|i| i["value"].as_str().is_none_or(str::is_empty)) {
        c.err("identifier minimal 2, masing-masing dengan value");
    }
    let official = ids.iter().find(|i| i["system"].as_str().is_some_and(|s| PATIENT_IDS.contains(&s)));
    match official {
        None => c.err("identifier NIK, NIK ibu, IHS atau paspor wajib ada"),
        Some(i) => {
            let v = i["value"].as_str().unwrap_or("");
            let nik_like = i["system"] == NIK_SYSTEM || i["system"] == NIK_IBU_SYSTEM;
            if nik_like && (v.len() != 16 || !v.bytes().all(|b| b.is_ascii_digit())) {
                c.err("NIK harus 16 angka");
            }
            if i["system"] == NIK_IBU_SYSTEM && !r["multipleBirthInteger"].is_u64() {
                c.err("bayi dengan NIK ibu wajib punya multipleBirthInteger (0 untuk kelahiran tunggal)");
            }
        }
    }
    if let Some(b) = c.s("birthDate") {
        if time::Date::parse(b, time::macros::format_description!("[year]-[month]-[day]")).is_err() {
            c.err(format!("birthDate = {b} bukan tanggal YYYY-MM-DD"));
        }
    }
    if let Some(a) = r["address"].get(0) {
        for p in ["use", "line.0", "city", "country"] {
            if get(a, p).and_then(Value::as_str).is_none_or(str::is_empty) {
                c.err(format!("address.{p} wajib ada"));
            }
        }
        let ext = a["extension"].as_array().and_then(|e| e.iter().find(|x| x["url"] == ADMIN_CODE_URL));
        match ext {
            None => c.err("address wajib punya ekstensi administrativeCode"),
            Some(x) => {
                let part = |n: &str| {
                    x["extension"]
                        .as_array()
                        .and_then(|a| a.iter().find(|e| e["url"] == n))
                        .and_then(|e| e["valueCode"].as_str())
                        .unwrap_or("")
                        .to_string()
                };
                let (p, k, d, v) = (part("province"), part("city"), part("district"), part("village"));
                for (n, val) in [("province", &p), ("city", &k), ("district", &d), ("village", &v)] {
                    if val.is_empty() {
                        c.err(format!("administrativeCode.{n} wajib ada"));
                    }
                }
                for n in ["rt", "rw"] {
                    if part(n).is_empty() {
                        c.err(format!("administrativeCode.{n} wajib ada"));
                    }
                }
                let nested = p.len() == 2 && k.len() == 4 && d.len() == 6 && v.len() == 10;
                if !(nested && k.starts_with(&p) && d.starts_with(&k) && v.starts_with(&d)) {
                    c.err("administrativeCode: kode provinsi/kota/kecamatan/desa tidak berjenjang (2/4/6/10 angka)");
                }
            }
        }
    }
    if let Some(n) = r.get("multipleBirthInteger") {
        if !n.is_u64() {
            c.err("multipleBirthInteger harus bilangan ≥ 0");
        }
    }
    c.errors
}

pub fn check_organization(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("organization");
    c.required(&["active", "name", "type.0"]);
    let ok = r["type"].as_array().is_some_and(|t| {
        t.iter()
            .flat_map(codings)
            .any(|cd| cd["system"] == "http://terminology.kemkes.go.id/CodeSystem/organization-type")
    });
    if !ok {
        c.err("type dari terminology.kemkes.go.id/CodeSystem/organization-type wajib ada");
    }
    c.reference("partOf.reference", &["Organization"]);
    bindings(&mut c, r);
    c.errors
}

pub fn check_location(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("location");
    c.one_of("status", &["active", "suspended", "inactive"]);
    c.required(&["name"]);
    c.reference("managingOrganization.reference", &["Organization"]);
    c.errors
}

pub fn check_encounter(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("encounter");
    c.one_of(
        "status",
        &[
            "planned",
            "arrived",
            "triaged",
            "in-progress",
            "onleave",
            "finished",
            "cancelled",
            "entered-in-error",
            "unknown",
        ],
    );
    if r["class"]["system"] != "http://terminology.hl7.org/CodeSystem/v3-ActCode" {
        c.err("class dari v3-ActCode wajib ada");
    }
    c.one_of("class.code", &["AMB", "HH", "IMP", "EMER", "VR", "FLD", "SS", "OBSENC", "PRENC", "ACUTE", "NONAC"]);
    c.reference("subject.reference", &["Patient"]);
    let parts = r["participant"].as_array().cloned().unwrap_or_default();
    if parts.is_empty() {
        c.err("participant wajib ada (nakes penanggung jawab)");
    }
    for p in &parts {
        if !p["individual"]["reference"].as_str().is_some_and(|s| s.starts_with("Practitioner/")) {
            c.err("participant.individual harus Practitioner/{IHS nakes}");
        }
        let typed = p["type"].as_array().is_some_and(|t| {
            t.iter()
                .flat_map(codings)
                .any(|cd| cd["system"] == "http://terminology.hl7.org/CodeSystem/v3-ParticipationType")
        });
        if !typed {
            c.err("participant.type dari v3-ParticipationType wajib ada");
        }
    }
    c.date_time_with_offset("period.start");
    if r["period"].get("end").is_some() {
        c.date_time_with_offset("period.end");
    }
    c.reference("location.0.location.reference", &["Location"]);
    c.reference("serviceProvider.reference", &["Organization"]);
    let hist = r["statusHistory"].as_array().cloned().unwrap_or_default();
    if hist.is_empty() {
        c.err("statusHistory wajib ada");
    }
    for h in &hist {
        if h["status"].as_str().is_none() || !h["period"]["start"].as_str().is_some_and(is_date_time_with_offset) {
            c.err("statusHistory butuh status dan period.start (dateTime dengan zona waktu)");
        }
    }
    bindings(&mut c, r);
    c.errors
}

pub fn check_observation(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("observation");
    c.one_of(
        "status",
        &["registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"],
    );
    c.required(&["code.coding.0", "category.0"]);
    c.reference("subject.reference", &["Patient"]);
    c.reference("encounter.reference", &["Encounter"]);
    c.date_time_with_offset("effectiveDateTime");
    let allowed =
        ["http://loinc.org", "http://snomed.info/sct", "http://terminology.kemkes.go.id/CodeSystem/clinical-term"];
    if !codings(&r["code"]).iter().any(|cd| cd["system"].as_str().is_some_and(|s| allowed.contains(&s))) {
        c.err("code harus LOINC, SNOMED CT atau clinical-term Kemkes");
    }
    if let Some(q) = r.get("valueQuantity") {
        if q["system"] != "http://unitsofmeasure.org" || q["code"].as_str().is_none() || !q["value"].is_number() {
            c.err("valueQuantity harus UCUM dengan value dan code");
        }
    }
    for i in r["interpretation"].as_array().into_iter().flatten() {
        let ok = codings(i).iter().all(|cd| {
            cd["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
                || (cd["system"] == "http://terminology.kemkes.go.id/CodeSystem/clinical-term"
                    && cd["code"].as_str().is_some_and(|s| s.starts_with("OI")))
        });
        if !ok || codings(i).is_empty() {
            c.err("interpretation harus dari v3-ObservationInterpretation atau clinical-term OI");
        }
    }
    let code = r["code"]["coding"][0]["code"].as_str().unwrap_or("");
    if code == "8480-6" || code == "8462-4" {
        let v = r["valueQuantity"]["value"].as_f64();
        if r["valueQuantity"]["code"] != "mm[Hg]" || !v.is_some_and(|v| (0.0..=450.0).contains(&v)) {
            c.err("tekanan darah harus mm[Hg] antara 0 dan 450");
        }
        if r["interpretation"].as_array().map_or(0, Vec::len) != 1 {
            c.err("tekanan darah wajib punya tepat satu interpretation");
        }
    }
    bindings(&mut c, r);
    c.errors
}

pub fn check_immunization(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("immunization");
    c.one_of("status", &["completed", "entered-in-error", "not-done"]);
    let sys_ok = codings(&r["vaccineCode"])
        .iter()
        .any(|cd| cd["system"] == "http://sys-ids.kemkes.go.id/kfa" || cd["system"] == super::ANTIGEN_SYSTEM);
    if !sys_ok {
        c.err("vaccineCode harus KFA atau kode antigen");
    }
    c.reference("patient.reference", &["Patient"]);
    c.date_time_with_offset("occurrenceDateTime");
    match r["primarySource"].as_bool() {
        None => c.err("primarySource wajib ada"),
        Some(false) => {
            if !codings(&r["reportOrigin"])
                .iter()
                .any(|cd| cd["system"] == "http://terminology.hl7.org/CodeSystem/immunization-origin")
            {
                c.err("primarySource=false wajib punya reportOrigin (immunization-origin)");
            }
        }
        Some(true) => {
            if !r["performer"].as_array().is_some_and(|p| {
                p.iter().any(|x| x["actor"]["reference"].as_str().is_some_and(|s| s.starts_with("Practitioner/")))
            }) {
                c.err("primarySource=true wajib punya performer Practitioner");
            }
        }
    }
    let dose_ok = r["protocolApplied"].as_array().is_some_and(|p| {
        !p.is_empty() && p.iter().all(|x| x["doseNumberPositiveInt"].as_u64().is_some_and(|n| n >= 1))
    });
    if !dose_ok {
        c.err("protocolApplied.doseNumberPositiveInt ≥ 1 wajib ada");
    }
    for rc in r["reasonCode"].as_array().into_iter().flatten() {
        for cd in codings(rc) {
            let s = cd["system"].as_str().unwrap_or("");
            if !s.starts_with("http://terminology.kemkes.go.id/CodeSystem/immunization-") {
                c.err(format!("reasonCode dari sistem {s} tidak diizinkan"));
            }
        }
    }
    bindings(&mut c, r);
    c.errors
}

pub fn check_service_request(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("servicerequest");
    c.one_of("status", &["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"]);
    c.one_of(
        "intent",
        &[
            "proposal",
            "plan",
            "directive",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        ],
    );
    c.required(&["code.coding.0"]);
    c.reference("subject.reference", &["Patient"]);
    if !r["encounter"].is_null() {
        c.reference("encounter.reference", &["Encounter"]);
    }
    c.reference("requester.reference", &["Organization", "Practitioner", "PractitionerRole"]);
    if let Some(performers) = r["performer"].as_array() {
        for (i, p) in performers.iter().enumerate() {
            if p.get("reference").is_some() {
                c.reference(&format!("performer.{i}.reference"), &["Practitioner", "PractitionerRole", "Organization"]);
            } else if p["display"].as_str().is_none_or(|d| d.trim().is_empty()) {
                c.err(format!("performer.{i} tanpa rujukan atau nama"));
            }
        }
    }
    c.date_time_with_offset("authoredOn");
    bindings(&mut c, r);
    c.errors
}

pub fn check_medication_administration(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("medicationadministration");
    c.one_of("status", &["in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"]);
    c.required(&["medicationCodeableConcept.coding.0"]);
    c.reference("subject.reference", &["Patient"]);
    c.reference("context.reference", &["Encounter"]);
    c.date_time_with_offset("effectiveDateTime");
    c.errors
}

pub fn check_procedure(r: &Value) -> Vec<String> {
    let mut c = Check::new(r);
    c.sys_ids("procedure");
    c.one_of(
        "status",
        &["preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"],
    );
    c.required(&["code.coding.0"]);
    c.reference("subject.reference", &["Patient"]);
    c.reference("encounter.reference", &["Encounter"]);
    c.errors
}

/// The profile checks of one resource (unknown resource types: an error).
pub fn check_resource(r: &Value) -> Vec<String> {
    match r["resourceType"].as_str() {
        Some("Patient") => check_patient(r),
        Some("Organization") => check_organization(r),
        Some("Location") => check_location(r),
        Some("Encounter") => check_encounter(r),
        Some("Observation") => check_observation(r),
        Some("Immunization") => check_immunization(r),
        Some("ServiceRequest") => check_service_request(r),
        Some("MedicationAdministration") => check_medication_administration(r),
        Some("Procedure") => check_procedure(r),
        other => vec![format!("resourceType {other:?} tidak diekspor")],
    }
}

fn references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("reference", Value::String(s)) => out.push(s),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// Every constraint on a whole bundle: empty when it conforms.
pub fn check_bundle(b: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    if b["resourceType"] != "Bundle" || b["type"] != "transaction" {
        errors.push("Bundle harus resourceType Bundle dengan type transaction".to_string());
    }
    let entries = b["entry"].as_array().cloned().unwrap_or_default();
    let mut full_urls = HashSet::new();
    for e in &entries {
        if let Some(u) = e["fullUrl"].as_str() {
            if !full_urls.insert(u.to_string()) {
                errors.push(format!("fullUrl {u} ganda"));
            }
        }
    }
    for e in &entries {
        let r = &e["resource"];
        let what = format!("{}/{}", r["resourceType"].as_str().unwrap_or("?"), r["id"].as_str().unwrap_or("?"));
        errors.extend(check_resource(r));
        let method = e["request"]["method"].as_str().unwrap_or("");
        let url = e["request"]["url"].as_str().unwrap_or("");
        match method {
            "POST" => {
                if url != r["resourceType"].as_str().unwrap_or("") {
                    errors.push(format!("{what}: request.url harus tipe resource"));
                }
                if !e["fullUrl"].as_str().is_some_and(|u| u.starts_with("urn:uuid:")) {
                    errors.push(format!("{what}: POST butuh fullUrl urn:uuid"));
                }
                // The condition names one of the resource's own identifiers, so a
                // re-upload finds what the first upload created.
                let conds: Vec<String> = r["identifier"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| {
                        format!(
                            "identifier={}|{}",
                            i["system"].as_str().unwrap_or("?"),
                            i["value"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                let cond = e["request"]["ifNoneExist"].as_str().unwrap_or("");
                if !conds.iter().any(|c| c == cond) {
                    errors.push(format!(
                        "{what}: ifNoneExist harus salah satu identifier resource (unggah ulang tidak boleh menggandakan)"
                    ));
                }
            }
            "PUT" => {
                if url != what {
                    errors.push(format!("{what}: PUT harus ke {what}"));
                }
            }
            _ => errors.push(format!("{what}: request.method harus POST (bersyarat) atau PUT")),
        }
        let mut refs = Vec::new();
        references(r, &mut refs);
        for rf in refs {
            let ok = if rf.starts_with("urn:uuid:") {
                full_urls.contains(rf)
            } else {
                rf.split_once('/').is_some_and(|(t, id)| {
                    t.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !id.is_empty() && !id.contains('/')
                })
            };
            if !ok {
                errors.push(format!("{what}: rujukan {rf} tidak terselesaikan"));
            }
        }
    }
    errors
}
