//! `GET /v1/recap/{YYYY-MM}`: the Puskesmas-level recap of weighing results across
//! every Posyandu of the token's area, in one request (JSON, CSV or HTML).
//!
//! - `period=month` (default): the month; `period=ytd`: January to the month, each
//!   month's counts added (a child weighed in three months counts three times in D, as
//!   the monthly F2 forms added up do).
//! - Per Posyandu: households, the F2 total row (S, K, D, N, T, 2T, O, B, BGM and the
//!   nutrition status of BGM/2T children, by sex), whether it reported (at least one
//!   child weighed: *lapor*), the kader registered at the end of the period (*kader
//!   ada*: an enrolled, unrevoked device token of the Posyandu,
//!   [`crate::storage::Storage::kader_enrolled`]) and those who recorded a visit in the
//!   period (*kader aktif*).
//! - For the area: the F2 recap by age group × sex (summed), Posyandu *ada* (of the
//!   token's area) and *lapor*, kader *ada* and *aktif*.
//! - `period=ytd` adds the months' counts, except the *kumulatif* kurus / sangat kurus
//!   cases, which are the last month's (they already cover January to it).
//!
//! Every number comes from the same [`ReportBuilder`] as the monthly report of each
//! Posyandu (one truth), fed from the read model.

use std::collections::BTreeSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::report::{enrolment_cutoff, f2_rows, F2Row, F2StatusGizi, ReportBuilder};
use super::{parse_month, walk_posyandu};
use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PosyanduRecap {
    pub posyandu_id: String,
    pub households: u32,
    /// The F2 total row (0–59 months) of the period.
    pub total: F2Row,
    /// At least one child weighed in the period.
    pub reported: bool,
    /// Kader registered at the end of the period (enrolled, unrevoked device token).
    pub kader_ada: u32,
    /// Kader who recorded at least one visit in the period.
    pub kader_active: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PuskesmasRecap {
    pub puskesmas_id: String,
    pub month: String,
    /// `month` or `ytd` (January to `month`).
    pub period: &'static str,
    /// First and last day covered.
    pub from: String,
    pub to: String,
    /// F2 rows summed over the Posyandu (age groups, then the 0–59 total).
    pub f2: Vec<F2Row>,
    pub posyandu_ada: u32,
    pub posyandu_lapor: u32,
    /// Kader registered at the end of the period, summed over the Posyandu.
    pub kader_ada: u32,
    pub kader_aktif: u32,
    pub posyandu: Vec<PosyanduRecap>,
}

/// Builds the recap of `posyandu_ids` (already checked against the token's area).
pub async fn build(
    st: &AppState,
    puskesmas_id: &str,
    posyandu_ids: &[String],
    month: &str,
    ytd: bool,
) -> Result<PuskesmasRecap, ApiError> {
    let (first, last) = parse_month(month).ok_or_else(|| ApiError::BadBody("bulan harus berformat TTTT-BB".into()))?;
    let months: Vec<String> = if ytd {
        (1..=u8::from(first.month())).map(|m| format!("{:04}-{m:02}", first.year())).collect()
    } else {
        vec![month.to_string()]
    };
    let from = parse_month(&months[0]).map_or(first, |(f, _)| f);
    let mut recap = PuskesmasRecap {
        puskesmas_id: puskesmas_id.to_string(),
        month: month.to_string(),
        period: if ytd { "ytd" } else { "month" },
        from: posyandu_records::model::format_date(from),
        to: posyandu_records::model::format_date(last),
        f2: f2_rows(),
        posyandu_ada: posyandu_ids.len() as u32,
        posyandu_lapor: 0,
        kader_ada: 0,
        kader_aktif: 0,
        posyandu: Vec::new(),
    };
    let mut all_kader = BTreeSet::new();
    for p in posyandu_ids {
        let mut builders: Vec<ReportBuilder> =
            months.iter().filter_map(|m| parse_month(m).map(|(f, l)| ReportBuilder::new(p, m, f, l))).collect();
        let mut kader = BTreeSet::new();
        walk_posyandu(st, p, |l| {
            for b in builders.iter_mut() {
                b.add(l);
            }
            for v in l.household.visits.iter().filter(|v| !v.deleted && from <= v.date && v.date <= last) {
                kader.insert(v.kader_id.clone());
            }
        })
        .await?;
        let mut rows = f2_rows();
        let mut households = 0;
        let reports: Vec<_> = builders.into_iter().map(ReportBuilder::finish).collect();
        for r in &reports {
            households = r.households;
            for (acc, row) in rows.iter_mut().zip(&r.f2) {
                acc.add(row);
            }
        }
        if let Some(r) = reports.last() {
            for (acc, row) in rows.iter_mut().zip(&r.f2) {
                acc.cumulative_of(row);
            }
        }
        let kader_ada = st.storage.kader_enrolled(p.clone(), enrolment_cutoff(last)).await?;
        recap.kader_ada += kader_ada;
        for (acc, row) in recap.f2.iter_mut().zip(&rows) {
            acc.add(row);
        }
        let total = rows.pop().expect("total row");
        let reported = total.d.male + total.d.female > 0;
        recap.posyandu_lapor += reported as u32;
        all_kader.extend(kader.iter().map(|k| (p.clone(), k.clone())));
        recap.posyandu.push(PosyanduRecap {
            posyandu_id: p.clone(),
            households,
            total,
            reported,
            kader_ada,
            kader_active: kader.len() as u32,
        });
    }
    recap.kader_aktif = all_kader.len() as u32;
    Ok(recap)
}

const F2_COLUMNS: [&str; 9] = ["S", "K", "D", "N", "T", "2T", "O", "B", "BGM"];

fn f2_cells(r: &F2Row) -> Vec<u32> {
    [&r.s, &r.k, &r.d, &r.n, &r.t, &r.two_t, &r.o, &r.b, &r.bgm].iter().flat_map(|c| [c.male, c.female]).collect()
}

/// The nutrition status cells of a row (L, P for each of [`F2StatusGizi::COLUMNS`]).
fn status_cells(r: &F2Row) -> Vec<u32> {
    r.status.cells().iter().flat_map(|c| [c.male, c.female]).collect()
}

/// CSV: one row per (Posyandu or `TOTAL`, age group), columns `<indicator>_L` and
/// `<indicator>_P` (laki-laki, perempuan): the F2 indicators, then the nutrition status
/// of BGM/2T children ([`F2StatusGizi::COLUMNS`]), then `lapor`, `kader_ada`,
/// `kader_aktif`.
pub fn to_csv(r: &PuskesmasRecap) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["puskesmas".into(), "periode".into(), "posyandu".into(), "kelompok_umur".into()];
    header.extend(F2_COLUMNS.iter().flat_map(|c| [format!("{c}_L"), format!("{c}_P")]));
    header.extend(F2StatusGizi::COLUMNS.iter().flat_map(|(c, _)| [format!("{c}_L"), format!("{c}_P")]));
    header.extend(["lapor".into(), "kader_ada".into(), "kader_aktif".into()]);
    super::write_csv_row(&mut w, &header).map_err(ApiError::internal)?;
    let period = format!("{}..{}", r.from, r.to);
    let mut line = |posyandu: &str, row: &F2Row, tail: [String; 3]| -> csv::Result<()> {
        let mut cells = vec![r.puskesmas_id.clone(), period.clone(), posyandu.to_string(), row.age_group.to_string()];
        cells.extend(f2_cells(row).into_iter().chain(status_cells(row)).map(|n| n.to_string()));
        cells.extend(tail);
        super::write_csv_row(&mut w, &cells)
    };
    for p in &r.posyandu {
        let tail = [(p.reported as u8).to_string(), p.kader_ada.to_string(), p.kader_active.to_string()];
        line(&p.posyandu_id, &p.total, tail).map_err(ApiError::internal)?;
    }
    for row in &r.f2 {
        let tail = if row.age_group == "0-59" {
            [r.posyandu_lapor.to_string(), r.kader_ada.to_string(), r.kader_aktif.to_string()]
        } else {
            Default::default()
        };
        line("TOTAL", row, tail).map_err(ApiError::internal)?;
    }
    w.into_inner().map_err(|e| ApiError::internal(e.to_string()))
}

pub async fn handler(
    State(st): State<AppState>,
    Path(month): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = super::query_pairs(raw.as_deref());
    let format = q.get("format").map(String::as_str).unwrap_or("json");
    if !matches!(format, "json" | "html" | "csv") {
        return Err(ApiError::BadBody("format harus json, html atau csv".into()));
    }
    let ytd = match q.get("period").map(String::as_str) {
        None | Some("month") => false,
        Some("ytd") => true,
        Some(_) => return Err(ApiError::BadBody("period harus month atau ytd".into())),
    };
    let in_url = q.get("access_token").map(String::as_str);
    if in_url.is_some() && format != "html" {
        return Err(ApiError::TokenInUrl);
    }
    let scope = super::puskesmas(&st, &headers, in_url).await?;
    let targets = scope.targets(&q)?;
    let recap = build(&st, &scope.puskesmas_id, &targets, &month, ytd).await?;
    tracing::info!(puskesmas = %scope.puskesmas_id, posyandu = targets.len(), ytd, "puskesmas recap");
    let (ct, body) = match format {
        "html" => ("text/html; charset=utf-8", super::html::recap_page(&recap).into_bytes()),
        "csv" => ("text/csv; charset=utf-8", to_csv(&recap)?),
        _ => ("application/json", serde_json::to_vec_pretty(&recap).map_err(ApiError::internal)?),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    Ok(resp)
}

/// Header cells of an F2 table (indicator, then L/P under each).
pub fn f2_header() -> String {
    header(F2_COLUMNS.iter().copied())
}

/// One F2 row as table cells.
pub fn f2_html_row(label: &str, r: &F2Row) -> String {
    html_row(label, f2_cells(r))
}

/// Header cells of the F2 nutrition status table (status, then L/P under each).
pub fn status_header() -> String {
    header(F2StatusGizi::COLUMNS.iter().map(|(_, h)| *h))
}

/// One row of the F2 nutrition status table.
pub fn status_html_row(label: &str, r: &F2Row) -> String {
    html_row(label, status_cells(r))
}

fn header<'a>(columns: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut h = String::from("<tr><th rowspan=\"2\">Umur (bln)</th>");
    for c in columns.clone() {
        h.push_str(&format!("<th colspan=\"2\">{}</th>", super::html::esc(c)));
    }
    h.push_str("</tr><tr>");
    for _ in columns {
        h.push_str("<th>L</th><th>P</th>");
    }
    h.push_str("</tr>");
    h
}

fn html_row(label: &str, cells: Vec<u32>) -> String {
    let mut s = format!("<tr><td>{}</td>", super::html::esc(label));
    for n in cells {
        s.push_str(&format!("<td class=\"n\">{n}</td>"));
    }
    s.push_str("</tr>");
    s
}
