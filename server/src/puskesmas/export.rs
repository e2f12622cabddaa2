//! `GET /v1/export`: incremental export of merged households for the Puskesmas.
//!
//! Query: `since` (opaque cursor, absent = from the beginning), `format`
//! (`ndjson`, default, or `csv`), `limit` (household documents per page, default 500,
//! max 5000), `posyandu` (optional: one Posyandu of the token's area).
//!
//! Paging: the Posyandu of the area are walked in id order; from each, the documents
//! changed after the cursor's position for it, in log order, until `limit` documents
//! are in the page. The response carries the next cursor in `x-posyandu-cursor` and
//! `x-posyandu-more: true|false`. A household is exported whole each time any of its
//! records changes (a late-synced visit re-exports its household), so the consumer
//! upserts by id; deleted members/visits/pregnancies come with `deleted: true`.
//!
//! Data minimisation (what the Puskesmas needs for follow-up and reporting):
//! included are the household's RT/RW/dusun and Kemendagri area code, its SPM
//! attributes, conflicted field paths; per member id, NIK (or mother's NIK and birth
//! order for a newborn), name, birth date, sex, relation to the head, Buku KIA/KMS
//! ownership (`kia_book`, absent = not recorded) and the rulebook's NIK warnings
//! ("NIK tidak cocok"); visits with measurements (with the glucose kind, absent =
//! sewaktu), services, referrals, SPM needs and the WHO z-scores / Permenkes
//! categories / N-T-O-B trend and the adult screening (from 15 years: hypertension,
//! high glucose, IMT and its category, central obesity) computed by the rulebook;
//! pregnancies. NOT exported: KK
//! number and its history, street address, GPS position, BPJS number. Visit entries
//! carry the ILP checklist answers and counselling topics as catalogue codes
//! (`checklist`: code → yes/no, `counselling`: codes); free text that older app
//! versions wrote there is not exported.
//!
//! NDJSON: one JSON object per line with `type` = `household`, `member`, `pregnancy`,
//! `visit` or `referral` (a household line comes first, then its records; referrals
//! with a lifecycle, issue 12: [`super::referrals`]).
//!
//! `format=csv&table=referrals`: one row per referral with a lifecycle instead
//! ([`super::referrals::CSV_HEADER`]); same paging and cursor.
//!
//! CSV: one flat row per visit entry (one member at one visit), household and member
//! columns repeated, see [`CSV_HEADER`]. Text cells that a spreadsheet would run as a
//! formula get a leading `'` ([`super::csv_cell`]); numbers stay numbers. Members never seen at a visit and
//! pregnancies are only in NDJSON.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::growth::{self, round_half_away, GrowthAssessment, WeightTrend};
use posyandu_records::model::*;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{decode, parse_limit, puskesmas, query_pairs, Cursor, Loaded, CURSOR_HEADER, MORE_HEADER};
use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
    /// `format=csv&table=referrals`: one row per referral with a lifecycle.
    CsvReferrals,
}

impl Format {
    pub fn parse(s: Option<&String>) -> Result<Format, ApiError> {
        match s.map(String::as_str) {
            None | Some("ndjson") => Ok(Format::Ndjson),
            Some("csv") => Ok(Format::Csv),
            Some(other) => {
                Err(ApiError::BadBody(format!("format tidak dikenal: {}", crate::error::truncate(other, 20))))
            }
        }
    }
    /// With the `table` parameter (`visits`, the default, or `referrals`; CSV only).
    pub fn parse_with_table(format: Option<&String>, table: Option<&String>) -> Result<Format, ApiError> {
        match (Format::parse(format)?, table.map(String::as_str)) {
            (f, None | Some("visits")) => Ok(f),
            (Format::Csv, Some("referrals")) => Ok(Format::CsvReferrals),
            (_, Some("referrals")) => Err(ApiError::BadBody("table=referrals hanya untuk format=csv".into())),
            (_, Some(other)) => {
                Err(ApiError::BadBody(format!("table tidak dikenal: {}", crate::error::truncate(other, 20))))
            }
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv | Format::CsvReferrals => "text/csv; charset=utf-8",
        }
    }
}

pub async fn handler(State(st): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    match inner(&st, &headers, raw.as_deref()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// One export page.
pub struct Page {
    pub body: Vec<u8>,
    pub next: Cursor,
    pub more: bool,
    /// Households written to the body.
    pub households: usize,
    /// A document that could not be produced: the page stops before it and the cursor
    /// does not pass it (the next request tries it again).
    pub unreadable: Option<String>,
    /// Records left out of the written households (see `Loaded::problems`).
    pub unreadable_records: usize,
}

async fn inner(st: &AppState, headers: &HeaderMap, raw: Option<&str>) -> Result<Response, ApiError> {
    let scope = puskesmas(st, headers, None).await?;
    let q = query_pairs(raw);
    let format = Format::parse_with_table(q.get("format"), q.get("table"))?;
    let (cursor, reset) = Cursor::parse(q.get("since").map(String::as_str))?.for_epoch(st.storage.epoch().await?);
    for p in cursor.seqs.keys() {
        scope.check(p)?;
    }
    let targets = scope.targets(&q)?;
    let limit = parse_limit(&q)?;
    let page = export_page(st, &targets, cursor, limit, format).await?;
    tracing::info!(puskesmas = %scope.puskesmas_id, households = page.households, more = page.more, "export page");
    let mut resp = (StatusCode::OK, page.body).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    h.insert(CURSOR_HEADER, HeaderValue::from_str(&page.next.encode()).map_err(ApiError::internal)?);
    h.insert(MORE_HEADER, HeaderValue::from_static(if page.more { "true" } else { "false" }));
    if reset {
        h.insert(super::RESET_HEADER, HeaderValue::from_static("true"));
    }
    h.insert("x-posyandu-households", HeaderValue::from(page.households));
    h.insert("x-posyandu-unreadable-records", HeaderValue::from(page.unreadable_records));
    if let Some(doc) = &page.unreadable {
        // The page stops before a document that cannot be read; the cursor stays before
        // it until an operator repairs it (`posyandu-relay admin problems`).
        h.insert("x-posyandu-unreadable", HeaderValue::from_str(doc).map_err(ApiError::internal)?);
    }
    Ok(resp)
}

/// Builds one page over `targets` (Posyandu ids) starting at `cursor`.
pub async fn export_page(
    st: &AppState,
    targets: &[String],
    cursor: Cursor,
    limit: usize,
    format: Format,
) -> Result<Page, ApiError> {
    let mut next = cursor;
    let mut remaining = limit;
    let mut more = false;
    let mut households = 0;
    let mut unreadable = None;
    let mut unreadable_records = 0;
    let mut out = Writer::new(format);
    for p in targets {
        let after = next.get(p);
        next.seqs.entry(p.clone()).or_insert(0);
        if remaining == 0 {
            // Only to answer `more` exactly: is anything left here?
            if !st.storage.read_after(p.clone(), after, 1).await?.is_empty() {
                more = true;
                break;
            }
            continue;
        }
        let mut docs = st.storage.read_after(p.clone(), after, remaining + 1).await?;
        if docs.len() > remaining {
            docs.truncate(remaining);
            more = true;
        }
        let Some(last) = docs.last().map(|d| d.updated_seq) else {
            continue;
        };
        let scope = p.clone();
        let mut w = std::mem::replace(&mut out, Writer::new(format));
        // Written in log order; at the first document that cannot be produced, stop: the
        // cursor stays before it (documents of one push share a position, so before that
        // position: its siblings are written again next time, harmless for an upsert).
        let (w2, written, stopped, records) = tokio::task::spawn_blocking(move || {
            let mut written = 0usize;
            let mut records = 0usize;
            for d in &docs {
                match decode(&scope, d) {
                    Ok(l) => {
                        records += l.problems.len();
                        w.household(&l);
                        written += 1;
                    }
                    Err(_) => {
                        return (w, written, Some((uuid::Uuid::from_bytes(d.doc).to_string(), d.updated_seq)), records)
                    }
                }
            }
            (w, written, None, records)
        })
        .await
        .map_err(ApiError::internal)?;
        out = w2;
        households += written;
        unreadable_records += records;
        st.metrics.unreadable(0, records as u64);
        remaining -= written;
        if let Some((doc, seq)) = stopped {
            // This Posyandu stops here; the others go on.
            st.metrics.unreadable(1, 0);
            next.seqs.insert(p.clone(), seq.saturating_sub(1).max(after));
            unreadable.get_or_insert(doc);
            continue;
        }
        next.seqs.insert(p.clone(), last);
        if more {
            break;
        }
    }
    Ok(Page { body: out.finish()?, next, more, households, unreadable, unreadable_records })
}

/// Growth result of one entry as exported (z-scores rounded to 2 decimals).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GrowthOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zwfa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zlhfa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zwfl: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zbmi: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zhcfa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zmuac: Option<f64>,
    /// BB/U, TB/U, BB/TB labels of Permenkes 2/2020.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbu: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tbu: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbtb: Option<&'static str>,
    /// Some z-score is outside the WHO plausibility limits.
    pub implausible: bool,
}

impl GrowthOut {
    pub fn from(a: &GrowthAssessment) -> GrowthOut {
        let r = |z: Option<f64>| z.map(|z| round_half_away(z, 2));
        let f = a.flags;
        GrowthOut {
            zwfa: r(a.zwfa),
            zlhfa: r(a.zlhfa),
            zwfl: r(a.zwfl),
            zbmi: r(a.zbmi),
            zhcfa: r(a.zhcfa),
            zmuac: r(a.zmuac),
            bbu: a.bbu.map(|c| c.label_id()),
            tbu: a.tbu.map(|c| c.label_id()),
            bbtb: a.bbtb.map(|c| c.label_id()),
            implausible: f.wfa || f.lhfa || f.wfl || f.bmi || f.hcfa || f.muac,
        }
    }
}

/// The rulebook's assessment of a member's entry (`None`: not an under-five / nothing
/// measured / inconsistent dates).
pub fn assess_entry(member: Option<&Member>, date: time::Date, e: &VisitEntry) -> Option<GrowthAssessment> {
    growth::assess_member(member?, date, &e.measurements).ok().flatten()
}

/// The rulebook's adult screening of a member's entry (`None`: unknown member, or
/// younger than the screening age).
pub fn screening_of(
    member: Option<&Member>,
    date: time::Date,
    e: &VisitEntry,
) -> Option<posyandu_records::rules::screening::ScreeningResult> {
    let m = member?;
    Some(posyandu_records::rules::screening::screen(m.sex, m.birth_date, date, &e.measurements)).filter(|r| r.applies)
}

pub fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

fn kind_code(k: VisitKind) -> &'static str {
    match k {
        VisitKind::HariBuka => "hari_buka",
        VisitKind::KunjunganRumah => "kunjungan_rumah",
    }
}

/// Columns of the CSV export (one row per visit entry).
pub const CSV_HEADER: &[&str] = &[
    "posyandu_id",
    "household_id",
    "rt",
    "rw",
    "kode_wilayah",
    "visit_id",
    "visit_date",
    "visit_kind",
    "kader_id",
    "visit_deleted",
    "member_id",
    "nik",
    "name",
    "sex",
    "birth_date",
    "age_months",
    "weight_kg",
    "length_height_cm",
    "measure",
    "head_circumference_cm",
    "muac_cm",
    "waist_cm",
    "bp_systolic_mmhg",
    "bp_diastolic_mmhg",
    "blood_glucose_mg_dl",
    "blood_glucose_kind",
    "oedema",
    "zwfa",
    "zlhfa",
    "zwfl",
    "bbu",
    "tbu",
    "bbtb",
    "weight_trend",
    "immunisations",
    "vitamin_a",
    "vitamin_a_capsule",
    "deworming",
    "iron_tablets",
    "supplementary_food",
    "referral_reason",
    "referral_to",
    "spm_needs",
    "conflicts",
    "imt",
    "imt_category",
    "hypertension",
    "high_glucose",
    "central_obesity",
    "kia_book",
    "nik_warnings",
    "member_status",
    "member_status_date",
];

enum Sink {
    Ndjson(Vec<u8>),
    Csv(csv::Writer<Vec<u8>>),
    CsvReferrals(csv::Writer<Vec<u8>>),
}

/// Serialises households into one page body.
pub struct Writer {
    sink: Sink,
    error: Option<String>,
}

impl Writer {
    pub fn new(format: Format) -> Writer {
        let sink = match format {
            Format::Ndjson => Sink::Ndjson(Vec::new()),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let _ = super::write_csv_row(&mut w, CSV_HEADER);
                Sink::Csv(w)
            }
            Format::CsvReferrals => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let _ = super::write_csv_row(&mut w, super::referrals::CSV_HEADER);
                Sink::CsvReferrals(w)
            }
        };
        Writer { sink, error: None }
    }

    pub fn finish(self) -> Result<Vec<u8>, ApiError> {
        if let Some(e) = self.error {
            return Err(ApiError::internal(e));
        }
        match self.sink {
            Sink::Ndjson(b) => Ok(b),
            Sink::Csv(w) | Sink::CsvReferrals(w) => w.into_inner().map_err(ApiError::internal),
        }
    }

    fn line(buf: &mut Vec<u8>, v: &serde_json::Value) {
        serde_json::to_writer(&mut *buf, v).expect("json value");
        buf.push(b'\n');
    }

    pub fn household(&mut self, l: &Loaded) {
        match &mut self.sink {
            Sink::Ndjson(buf) => ndjson_household(buf, l, &l.trends),
            Sink::Csv(w) => {
                if let Err(e) = csv_household(w, l, &l.trends) {
                    self.error.get_or_insert(e.to_string());
                }
            }
            Sink::CsvReferrals(w) => {
                let hh = &l.household;
                for r in super::referrals::exported(hh) {
                    if let Err(e) = super::write_csv_row(w, &super::referrals::csv_row(hh, r)) {
                        self.error.get_or_insert(e.to_string());
                    }
                }
            }
        }
    }
}

fn entry_json(
    hh: &Household,
    v: &Visit,
    e: &VisitEntry,
    trends: &HashMap<(Uuid, Uuid), WeightTrend>,
) -> serde_json::Value {
    let g = assess_entry(hh.member(e.member_id), v.date, e).map(|a| GrowthOut::from(&a));
    json!({
        "member_id": e.member_id,
        "measurements": e.measurements,
        // The rulebook's result as it serialises (codes: `puasa`, `gemuk`, …).
        "screening": screening_of(hh.member(e.member_id), v.date, e),
        "services": e.services,
        "referral": e.referral,
        "spm_needs": e.spm_needs,
        // Coded ILP checklist answers and counselling topics (catalogue
        // `records/data/rules/ilp_checklist.json`); free text is not exported.
        "checklist": e.checklist,
        "counselling": e.counselling,
        "growth": g,
        "weight_trend": trends.get(&(v.id, e.member_id)).map(|t| t.code()),
    })
}

fn ndjson_household(buf: &mut Vec<u8>, l: &Loaded, trends: &HashMap<(Uuid, Uuid), WeightTrend>) {
    let hh = &l.household;
    Writer::line(
        buf,
        &json!({
            "type": "household",
            "posyandu_id": hh.posyandu_id,
            "household_id": hh.id,
            "seq": l.updated_seq,
            "rt": hh.address.rt,
            "rw": hh.address.rw,
            "dusun": hh.address.dusun,
            "kode_wilayah": hh.address.kode_wilayah,
            "head_member_id": hh.head_member_id,
            "spm": hh.spm,
            "conflicts": l.conflicts.iter().map(|c| &c.path).collect::<Vec<_>>(),
        }),
    );
    for m in &hh.members {
        Writer::line(
            buf,
            &json!({
                "type": "member",
                "household_id": hh.id,
                "member_id": m.id,
                "nik": m.nik,
                "mother_nik": m.mother_nik,
                "name": m.name,
                "birth_date": format_date(m.birth_date),
                "sex": sex_code(m.sex),
                "relation": m.relation,
                "kia_book": m.kia_book,
                "status": m.status.map(|s| s.kind.as_str()),
                "status_date": m.status.map(|s| format_date(s.date)),
                "birth_weight_kg": m.birth.and_then(|b| b.weight_kg),
                "birth_length_cm": m.birth.and_then(|b| b.length_cm),
                "birth_pregnancy_id": m.birth.and_then(|b| b.pregnancy_id),
                "nik_warnings": posyandu_records::rules::identity::member_warnings(m)
                    .iter()
                    .map(|w| json!({ "code": w.code(), "message": w.message() }))
                    .collect::<Vec<_>>(),
                "deleted": m.deleted,
            }),
        );
    }
    for p in &hh.pregnancies {
        Writer::line(
            buf,
            &json!({
                "type": "pregnancy",
                "household_id": hh.id,
                "pregnancy_id": p.id,
                "member_id": p.member_id,
                "lmp": format_date(p.lmp),
                "due_date": format_date(p.due_date),
                "gravida": p.gravida,
                "muac_cm": p.muac_cm,
                "kek": p.kek,
                "ended": p.ended.map(format_date),
                "outcome": p.outcome.map(|o| o.kind.as_str()),
                "birth_place": p.outcome.and_then(|o| o.place).map(|x| x.as_str()),
                "birth_attendant": p.outcome.and_then(|o| o.attendant).map(|x| x.as_str()),
                "deleted": p.deleted,
            }),
        );
    }
    for v in &hh.visits {
        let entries: Vec<_> = v.entries.iter().map(|e| entry_json(hh, v, e, trends)).collect();
        Writer::line(
            buf,
            &json!({
                "type": "visit",
                "household_id": hh.id,
                "visit_id": v.id,
                "date": format_date(v.date),
                "kind": kind_code(v.kind),
                "kader_id": v.kader_id,
                "posyandu_id": v.posyandu_id,
                "deleted": v.deleted,
                "entries": entries,
            }),
        );
    }
    for r in super::referrals::exported(hh) {
        Writer::line(buf, &super::referrals::ndjson_line(hh, r));
    }
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn csv_household(
    w: &mut csv::Writer<Vec<u8>>,
    l: &Loaded,
    trends: &HashMap<(Uuid, Uuid), WeightTrend>,
) -> csv::Result<()> {
    let hh = &l.household;
    let conflicts = l.conflicts.len().to_string();
    for v in &hh.visits {
        for e in &v.entries {
            let m = hh.member(e.member_id);
            let g = assess_entry(m, v.date, e);
            let sc = screening_of(m, v.date, e);
            let ms = &e.measurements;
            let sv = &e.services;
            let age = m.map(|m| posyandu_records::lifestage::age_months(m.birth_date, v.date).to_string());
            let z = |x: Option<f64>| x.map(|z| round_half_away(z, 2).to_string()).unwrap_or_default();
            let needs: Vec<String> = e
                .spm_needs
                .iter()
                .map(|n| format!("{}:{}", serde_json::to_value(n.area).unwrap().as_str().unwrap_or(""), n.need))
                .collect();
            let row: Vec<String> = vec![
                hh.posyandu_id.clone(),
                hh.id.to_string(),
                hh.address.rt.clone(),
                hh.address.rw.clone(),
                hh.address.kode_wilayah.clone(),
                v.id.to_string(),
                format_date(v.date),
                kind_code(v.kind).into(),
                v.kader_id.clone(),
                v.deleted.to_string(),
                e.member_id.to_string(),
                m.and_then(|m| m.nik.clone()).unwrap_or_default(),
                m.map(|m| m.name.clone()).unwrap_or_default(),
                m.map(|m| sex_code(m.sex).to_string()).unwrap_or_default(),
                m.map(|m| format_date(m.birth_date)).unwrap_or_default(),
                age.unwrap_or_default(),
                num(ms.weight_kg),
                num(ms.length_height_cm),
                ms.measure.map(|x| if x == Measure::Lying { "l" } else { "h" }.to_string()).unwrap_or_default(),
                num(ms.head_circumference_cm),
                num(ms.muac_cm),
                num(ms.waist_cm),
                num(ms.bp_systolic_mmhg),
                num(ms.bp_diastolic_mmhg),
                num(ms.blood_glucose_mg_dl),
                ms.blood_glucose_mg_dl
                    .map(|_| GlucoseKind::or_default(ms.blood_glucose_kind).code().to_string())
                    .unwrap_or_default(),
                num(ms.oedema),
                z(g.as_ref().and_then(|g| g.zwfa)),
                z(g.as_ref().and_then(|g| g.zlhfa)),
                z(g.as_ref().and_then(|g| g.zwfl)),
                g.as_ref().and_then(|g| g.bbu).map(|c| c.label_id().to_string()).unwrap_or_default(),
                g.as_ref().and_then(|g| g.tbu).map(|c| c.label_id().to_string()).unwrap_or_default(),
                g.as_ref().and_then(|g| g.bbtb).map(|c| c.label_id().to_string()).unwrap_or_default(),
                trends.get(&(v.id, e.member_id)).map(|t| t.code().to_string()).unwrap_or_default(),
                sv.immunisations.join(";"),
                sv.vitamin_a.to_string(),
                sv.vitamin_a_capsule.map(|c| c.as_str()).unwrap_or_default().to_string(),
                sv.deworming.to_string(),
                num(sv.iron_tablets),
                sv.supplementary_food.to_string(),
                e.referral.as_ref().map(|r| r.reason.clone()).unwrap_or_default(),
                e.referral.as_ref().and_then(|r| r.to.clone()).unwrap_or_default(),
                needs.join(";"),
                conflicts.clone(),
                num(sc.as_ref().and_then(|r| r.imt)),
                sc.as_ref().and_then(|r| r.imt_category).map(|c| c.code().to_string()).unwrap_or_default(),
                num(sc.as_ref().and_then(|r| r.hypertension)),
                num(sc.as_ref().and_then(|r| r.high_glucose)),
                num(sc.as_ref().and_then(|r| r.central_obesity)),
                num(m.and_then(|m| m.kia_book)),
                m.map(|m| {
                    posyandu_records::rules::identity::member_warnings(m)
                        .iter()
                        .map(|w| w.message())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
                m.and_then(|m| m.status).map(|s| s.kind.as_str().to_string()).unwrap_or_default(),
                m.and_then(|m| m.status).map(|s| format_date(s.date)).unwrap_or_default(),
            ];
            super::write_csv_row(w, &row)?;
        }
    }
    Ok(())
}
