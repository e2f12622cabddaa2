//! `GET /v1/eppgbm/{YYYY-MM}`: a by-name CSV shaped for e-PPGBM (the ministry's
//! electronic community-based nutrition recording), one row per under-five measured in
//! the month (any weight, length/height, head circumference or LiLA), for every
//! Posyandu of the token's area (or `posyandu=` one of them). Read from the read model;
//! z-scores, categories and N/T/O/B are the rulebook's.
//!
//! Columns ([`COLUMNS`], in this order; empty = not recorded):
//!
//! | column | meaning |
//! | --- | --- |
//! | `nik` | child's NIK (empty for a newborn registered with the mother's NIK) |
//! | `nama` | child's name |
//! | `jk` | `L` / `P` |
//! | `tgl_lahir` | birth date `YYYY-MM-DD` |
//! | `anak_ke` | birth order, where the child was registered by the mother's NIK |
//! | `nik_ibu` | mother's NIK: the one the child was registered with, else the NIK of the household's *istri* |
//! | `nama_ibu` | the member with that NIK, else the household's *istri* |
//! | `nama_ayah` | the household's *kepala keluarga* if male, else its *suami* |
//! | `kode_wilayah`, `rt`, `rw`, `dusun` | the household's address (no street) |
//! | `posyandu` | Posyandu id |
//! | `tgl_ukur` | measurement (visit) date |
//! | `umur_bulan` | completed months on that date |
//! | `bb_kg` | weight |
//! | `tb_cm` | length/height as measured |
//! | `cara_ukur` | `terlentang` (lying) / `berdiri` (standing) |
//! | `lingkar_kepala_cm` | head circumference |
//! | `lila_cm` | mid-upper-arm circumference |
//! | `zs_bbu`, `bbu` | weight-for-age z-score and category (Permenkes 2/2020) |
//! | `zs_tbu`, `tbu` | length/height-for-age (length/height corrected for the measure as WHO does) |
//! | `zs_bbtb`, `bbtb` | weight-for-length/height |
//! | `naik_berat` | N / T / O / B of this weighing (KMS, by calendar month) |
//! | `vitamin_a` | `biru` / `merah` when a capsule was given at this visit, else empty |
//! | `pmt` | `ya` when supplementary food (PMT) was given at this visit, else `tidak` |
//! | `asi_eksklusif` | `ya` / `tidak`: the exclusive-breastfeeding answer recorded at this visit for an infant 0–5 months (`rules::breastfeeding`, issue 12); empty when not asked |
//! | `bb_lahir_kg`, `pb_lahir_cm` | birth weight and length of a newborn registered from a pregnancy outcome (`Member::birth`, issue 12); empty for other children |
//!
//! Text cells go through [`super::csv_cell`] (no formula injection); numbers stay
//! numbers.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::growth::{round_half_away, Measure};
use posyandu_records::model::*;
use posyandu_records::rules::age::is_under_five;

use super::export::{assess_entry, sex_code};
use super::{parse_month, walk_posyandu, Loaded};
use crate::error::ApiError;
use crate::AppState;

pub const COLUMNS: [&str; 33] = [
    "nik",
    "nama",
    "jk",
    "tgl_lahir",
    "anak_ke",
    "nik_ibu",
    "nama_ibu",
    "nama_ayah",
    "kode_wilayah",
    "rt",
    "rw",
    "dusun",
    "posyandu",
    "tgl_ukur",
    "umur_bulan",
    "bb_kg",
    "tb_cm",
    "cara_ukur",
    "lingkar_kepala_cm",
    "lila_cm",
    "zs_bbu",
    "bbu",
    "zs_tbu",
    "tbu",
    "zs_bbtb",
    "bbtb",
    "naik_berat",
    "vitamin_a",
    "pmt",
    "asi_eksklusif",
    "bb_lahir_kg",
    "pb_lahir_cm",
    "id_anggota",
];

fn num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn z(v: Option<f64>) -> String {
    v.map(|x| round_half_away(x, 2).to_string()).unwrap_or_default()
}

/// The rows of one household for the month `[first, last]`.
pub fn household_rows(l: &Loaded, first: time::Date, last: time::Date) -> Vec<Vec<String>> {
    let hh = &l.household;
    let live = |m: &&Member| !m.deleted;
    let istri = hh.members.iter().filter(live).find(|m| m.relation == Relation::Istri);
    let ayah = hh
        .head()
        .filter(|h| !h.deleted && h.sex == Sex::Male)
        .or_else(|| hh.members.iter().filter(live).find(|m| m.relation == Relation::Suami));
    let mut out = Vec::new();
    for v in hh.visits.iter().filter(|v| !v.deleted && first <= v.date && v.date <= last) {
        for e in &v.entries {
            let Some(m) = hh.member(e.member_id).filter(|m| !m.deleted) else { continue };
            if !is_under_five(m.birth_date, v.date) {
                continue;
            }
            let ms = &e.measurements;
            if ms.weight_kg.is_none()
                && ms.length_height_cm.is_none()
                && ms.head_circumference_cm.is_none()
                && ms.muac_cm.is_none()
            {
                continue;
            }
            let mother_nik =
                m.mother_nik.as_ref().map(|n| n.mother_nik.clone()).or_else(|| istri.and_then(|i| i.nik.clone()));
            let mother = mother_nik
                .as_deref()
                .and_then(|n| hh.members.iter().filter(live).find(|x| x.nik.as_deref() == Some(n)))
                .or(istri);
            let a = assess_entry(Some(m), v.date, e);
            let trend = l.trends.get(&(v.id, m.id)).map(|t| t.code().to_string()).unwrap_or_default();
            let sv = &e.services;
            out.push(vec![
                m.nik.clone().unwrap_or_default(),
                m.name.clone(),
                sex_code(m.sex).to_string(),
                format_date(m.birth_date),
                m.mother_nik.as_ref().map(|n| n.birth_order.to_string()).unwrap_or_default(),
                mother_nik.unwrap_or_default(),
                mother.map(|x| x.name.clone()).unwrap_or_default(),
                ayah.map(|x| x.name.clone()).unwrap_or_default(),
                hh.address.kode_wilayah.clone(),
                hh.address.rt.clone(),
                hh.address.rw.clone(),
                hh.address.dusun.clone().unwrap_or_default(),
                hh.posyandu_id.clone(),
                format_date(v.date),
                posyandu_records::rules::age::age_months(m.birth_date, v.date).to_string(),
                num(ms.weight_kg),
                num(ms.length_height_cm),
                match ms.measure {
                    Some(Measure::Lying) => "terlentang".into(),
                    Some(Measure::Standing) => "berdiri".into(),
                    None => String::new(),
                },
                num(ms.head_circumference_cm),
                num(ms.muac_cm),
                z(a.as_ref().and_then(|a| a.zwfa)),
                a.as_ref().and_then(|a| a.bbu).map(|c| c.label_id().to_string()).unwrap_or_default(),
                z(a.as_ref().and_then(|a| a.zlhfa)),
                a.as_ref().and_then(|a| a.tbu).map(|c| c.label_id().to_string()).unwrap_or_default(),
                z(a.as_ref().and_then(|a| a.zwfl)),
                a.as_ref().and_then(|a| a.bbtb).map(|c| c.label_id().to_string()).unwrap_or_default(),
                trend,
                if sv.vitamin_a {
                    sv.vitamin_a_capsule
                        .or_else(|| {
                            posyandu_records::rules::vitamin_a::child_dose(m.birth_date, v.date).map(|d| d.capsule)
                        })
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_else(|| "ya".into())
                } else {
                    String::new()
                },
                if sv.supplementary_food { "ya" } else { "tidak" }.into(),
                posyandu_records::rules::breastfeeding::answer(e)
                    .filter(|_| posyandu_records::rules::breastfeeding::asked_at(m.birth_date, v.date))
                    .map(|a| if a { "ya" } else { "tidak" }.to_string())
                    .unwrap_or_default(),
                num(m.birth.and_then(|b| b.weight_kg)),
                num(m.birth.and_then(|b| b.length_cm)),
                m.id.to_string(),
            ]);
        }
    }
    out
}

pub async fn handler(
    State(st): State<AppState>,
    Path(month): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = super::query_pairs(raw.as_deref());
    if q.contains_key("access_token") {
        return Err(ApiError::TokenInUrl);
    }
    let scope = super::puskesmas(&st, &headers, None).await?;
    let (first, last) = parse_month(&month).ok_or_else(|| ApiError::BadBody("bulan harus berformat TTTT-BB".into()))?;
    let targets = scope.targets(&q)?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &targets {
        walk_posyandu(&st, p, |l| rows.extend(household_rows(l, first, last))).await?;
    }
    // Stable order: Posyandu, RW, RT, name, date.
    rows.sort_by(|a, b| (&a[12], &a[10], &a[9], &a[1], &a[13]).cmp(&(&b[12], &b[10], &b[9], &b[1], &b[13])));
    let mut w = csv::Writer::from_writer(Vec::new());
    super::write_csv_row(&mut w, COLUMNS).map_err(ApiError::internal)?;
    for r in &rows {
        super::write_csv_row(&mut w, r).map_err(ApiError::internal)?;
    }
    let body = w.into_inner().map_err(|e| ApiError::internal(e.to_string()))?;
    tracing::info!(puskesmas = %scope.puskesmas_id, rows = rows.len(), "e-PPGBM export");
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(resp)
}
