//! HTML pages in Bahasa Indonesia: the monthly report and a child's weight-for-age
//! chart. Self-contained: inline CSS and SVG, no script, no external resource (the
//! responses carry a CSP that forbids any).

use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::growth::{self, weight_for_age_lms};
use posyandu_records::model::*;
use serde::Serialize;
use uuid::Uuid;

use super::links::LinkKey;
use super::report::{ChildRow, IndicatorRow, MonthlyReport, PersonRow};
use crate::error::ApiError;
use crate::AppState;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{}%", x.to_string().replace('.', ","))).unwrap_or_else(|| "–".into())
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}\
th{background:#eef}td.n{text-align:right}.warn{color:#a00;font-weight:bold}.muted{color:#666;font-size:13px}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    )
}

/// The F2 table (one row per age group, then the total), then its nutrition status
/// of BGM/2T children (table `{id}-status`).
fn f2_table(id: &str, title: &str, rows: &[super::report::F2Row]) -> String {
    use super::recap::{f2_header, f2_html_row, status_header, status_html_row};
    let label = |r: &super::report::F2Row| {
        if r.age_group == "0-59" {
            "Jumlah 0–59".to_string()
        } else {
            r.age_group.replace('-', "–")
        }
    };
    let mut t = format!("<h2>{}</h2><table id=\"{id}\">{}", esc(title), f2_header());
    for r in rows {
        t.push_str(&f2_html_row(&label(r), r));
    }
    t.push_str("</table><p class=\"muted\">L = laki-laki, P = perempuan. Umur dalam bulan penuh pada akhir bulan.</p>");
    let _ = write!(t, "<h3>Status gizi balita BGM/2T (konfirmasi)</h3><table id=\"{id}-status\">{}", status_header());
    for r in rows {
        t.push_str(&status_html_row(&label(r), r));
    }
    t.push_str(
        "</table><p class=\"muted\">Balita yang BGM atau 2T bulan ini, menurut pengukuran terakhir bulan ini \
         (BB/TB: kurus, sangat kurus, gizi lebih; TB/U: pendek, sangat pendek; Permenkes 2/2020). \
         Baru: pertama kali tahun ini; kumulatif: Januari s.d. bulan ini.</p>",
    );
    t
}

/// The Puskesmas recap page (`/v1/recap/{month}?format=html`).
pub fn recap_page(r: &super::recap::PuskesmasRecap) -> String {
    use super::recap::{f2_header, f2_html_row};
    let period = if r.period == "ytd" { "kumulatif Januari s.d." } else { "bulan" };
    let mut b = format!(
        "<h1>Rekapitulasi penimbangan Puskesmas {} — {period} {}</h1>\
         <p>Periode {} s.d. {}. Posyandu ada: <b id=\"ada\">{}</b>, lapor: <b id=\"lapor\">{}</b>; \
         kader ada: <b id=\"kader-ada\">{}</b>, aktif: <b id=\"kader-aktif\">{}</b>.</p>",
        esc(&r.puskesmas_id),
        month_label(&r.month),
        r.from,
        r.to,
        r.posyandu_ada,
        r.posyandu_lapor,
        r.kader_ada,
        r.kader_aktif
    );
    b.push_str(&f2_table("f2", "F2 seluruh Posyandu menurut umur dan jenis kelamin", &r.f2));
    let _ = write!(
        b,
        "<h2>Per Posyandu (0–59 bulan)</h2><table id=\"per-posyandu\">{}",
        f2_header().replacen("Umur (bln)", "Posyandu", 1)
    );
    for p in &r.posyandu {
        let label = format!("{}{}", p.posyandu_id, if p.reported { "" } else { " (tidak lapor)" });
        b.push_str(&f2_html_row(&label, &p.total));
    }
    b.push_str("</table>");
    page(&format!("Rekap Puskesmas {}", r.puskesmas_id), &b)
}

/// The SKDN bar chart (S, K, D, N) plus the N/T/O/B split of D.
pub fn skdn_svg(r: &MonthlyReport) -> String {
    let s = &r.skdn;
    let bars = [
        ("S", s.s, "#4a78b5"),
        ("K", s.k, "#5d9c59"),
        ("D", s.d, "#e0a030"),
        ("N", s.n, "#c0504d"),
        ("T", s.t, "#999"),
        ("O", s.o, "#bbb"),
        ("B", s.b, "#ccc"),
    ];
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let (w, h, top, base) = (560.0, 260.0, 20.0, 220.0);
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"skdn-chart\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Grafik SKDN\">"
    );
    let _ = write!(o, "<line x1=\"30\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#333\"/>", w - 10.0);
    for (i, (label, v, color)) in bars.iter().enumerate() {
        let bh = (base - top - 10.0) * (*v as f64) / max;
        let x = 45.0 + i as f64 * 72.0;
        let _ = write!(
            o,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"48\" height=\"{bh:.1}\" fill=\"{color}\"><title>{label} = {v}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"14\">{v}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{label}</text>",
            base - bh,
            x + 24.0,
            base - bh - 4.0,
            x + 24.0,
            base + 18.0
        );
    }
    let _ = write!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#555\">N+T+O+B = D</text></svg>",
        45.0 + 4.0 * 72.0,
        base + 34.0
    );
    o
}

fn child_rows(rows: &[ChildRow], posyandu: &str, links: Option<&LinkKey>) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">Tidak ada.</p>".into();
    }
    let mut o = String::from(
        "<table><tr><th>Nama</th><th>JK</th><th>Umur (bln)</th><th>RT/RW</th><th>Tanggal</th><th>BB (kg)</th><th>Z BB/U</th><th>Grafik</th></tr>",
    );
    for c in rows {
        let link = child_link(posyandu, c.member_id, links);
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}/{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><a href=\"{}\">lihat</a></td></tr>",
            esc(&c.name),
            if c.sex == "male" { "L" } else { "P" },
            c.age_months,
            esc(&c.rt),
            esc(&c.rw),
            c.date,
            c.weight_kg.map(|x| x.to_string()).unwrap_or_default(),
            c.zwfa.map(|x| format!("{x:.2}")).unwrap_or_default(),
            esc(&link)
        );
    }
    o.push_str("</table>");
    o
}

/// The chart link of a child: with a short-lived link token bound to the chart's path
/// (never the Puskesmas token), so it opens in a browser for [`super::links::LINK_TTL`].
fn child_link(posyandu: &str, member: Uuid, links: Option<&LinkKey>) -> String {
    let path = child_path(posyandu, member);
    match links {
        Some(k) => format!("{path}?format=html&{}={}", super::links::LINK_PARAM, url_part(&k.sign(&path))),
        None => format!("{path}?format=html"),
    }
}

/// The path of a child's chart page, as the link token signs it.
pub fn child_path(posyandu: &str, member: Uuid) -> String {
    format!("/v1/report/{}/child/{member}", url_part(posyandu))
}

fn url_part(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn person_rows(rows: &[PersonRow]) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">Tidak ada.</p>".into();
    }
    let mut o = String::from("<table><tr><th>Nama</th><th>Umur (th)</th><th>RT/RW</th><th>Keterangan</th></tr>");
    for p in rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}/{}</td><td>{}</td></tr>",
            esc(&p.name),
            p.age_years,
            esc(&p.rt),
            esc(&p.rw),
            esc(&p.detail)
        );
    }
    o.push_str("</table>");
    o
}

fn indicator_table(title: &str, rows: &[IndicatorRow]) -> String {
    let mut o = format!(
        "<h3>{}</h3><table><tr><th>Umur (bln)</th><th>Diukur L</th><th>Diukur P</th><th>&lt; −2 SD L</th><th>&lt; −2 SD P</th><th>&lt; −3 SD L</th><th>&lt; −3 SD P</th></tr>",
        esc(title)
    );
    for r in rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            r.age_group,
            r.measured.male,
            r.measured.female,
            r.below_2sd.male,
            r.below_2sd.female,
            r.below_3sd.male,
            r.below_3sd.female
        );
    }
    o.push_str("</table>");
    o
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

fn month_label(m: &str) -> String {
    match m.split_once('-').and_then(|(y, mm)| Some((y, mm.parse::<usize>().ok()?))) {
        Some((y, mm)) if (1..=12).contains(&mm) => format!("{} {y}", MONTHS[mm - 1]),
        _ => m.to_string(),
    }
}

/// The monthly report page.
pub fn report_page(r: &MonthlyReport, links: Option<&LinkKey>) -> String {
    let s = &r.skdn;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Laporan Bulanan Posyandu {} — {}</h1><p class=\"muted\">{} rumah tangga; data sampai posisi log {}.</p>",
        esc(&r.posyandu_id),
        esc(&month_label(&r.month)),
        r.households,
        r.as_of_seq
    );
    if r.conflicts.fields > 0 {
        let _ = write!(
            b,
            "<p class=\"warn\" id=\"conflict-flag\">Perhatian: {} isian di {} rumah tangga berisi data bertentangan (konflik) yang belum diselesaikan kader; laporan memakai nilai gabungan yang terpilih otomatis. {} di antaranya pada kunjungan bulan ini.</p>",
            r.conflicts.fields, r.conflicts.households, r.conflicts.affecting_month
        );
    }
    let _ = write!(
        b,
        "<h2>SKDN balita (0–59 bulan)</h2>{}<table id=\"skdn\"><tr><th>S</th><th>K</th><th>D</th><th>N</th><th>T</th><th>O</th><th>B</th></tr>\
         <tr><td class=\"n\" id=\"skdn-s\">{}</td><td class=\"n\" id=\"skdn-k\">{}</td><td class=\"n\" id=\"skdn-d\">{}</td><td class=\"n\" id=\"skdn-n\">{}</td><td class=\"n\" id=\"skdn-t\">{}</td><td class=\"n\" id=\"skdn-o\">{}</td><td class=\"n\" id=\"skdn-b\">{}</td></tr></table>\
         <table><tr><th>K/S</th><th>D/S (partisipasi)</th><th>N/D</th><th>N/S</th></tr><tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>\
         <p class=\"muted\">S: balita terdaftar; K: {}; D: ditimbang bulan ini; N: naik; T: tidak naik; O: tidak ditimbang bulan lalu; B: baru pertama ditimbang.</p>{}",
        skdn_svg(r),
        s.s, s.k, s.d, s.n, s.t, s.o, s.b,
        pct(s.k_s_pct), pct(s.d_s_pct), pct(s.n_d_pct), pct(s.n_s_pct),
        esc(r.thresholds.k_definition),
        s.k_note.as_deref().map(|n| format!("<p class=\"warn\" id=\"k-note\">{}</p>", esc(n))).unwrap_or_default()
    );
    b.push_str(&f2_table("f2", "Rekapitulasi hasil penimbangan (F2) menurut umur dan jenis kelamin", &r.f2));
    let _ = write!(
        b,
        "<p>Jumlah kader: ada <b id=\"kader-ada\">{}</b> (terdaftar dengan perangkat aktif pada akhir bulan), \
         aktif <b id=\"kader-aktif\">{}</b> (mencatat kunjungan bulan ini).</p>",
        r.kader.ada, r.kader.aktif
    );
    let _ = write!(
        b,
        "<h2>Balita 2T (tidak naik dua kali berturut-turut): {}</h2>{}",
        r.two_t.len(),
        child_rows(&r.two_t, &r.posyandu_id, links)
    );
    let _ = write!(
        b,
        "<h2>Balita BGM (bawah garis merah, BB/U &lt; −3 SD): {}</h2>{}",
        r.bgm.len(),
        child_rows(&r.bgm, &r.posyandu_id, links)
    );
    let n = &r.nutrition;
    let _ = write!(
        b,
        "<h2>Status gizi balita yang diukur bulan ini</h2>{}{}{}<p class=\"muted\">Z-skor WHO 2006 (Permenkes 2/2020); {} pengukuran dengan z-skor tidak masuk akal dikeluarkan.</p>",
        indicator_table("Berat badan kurang (BB/U)", &n.underweight),
        indicator_table("Stunting / pendek (TB/U)", &n.stunting),
        indicator_table("Wasting / gizi kurang (BB/TB)", &n.wasting),
        n.implausible
    );
    let _ = write!(
        b,
        "<h2>Ibu hamil</h2><p>Ibu hamil: <b>{}</b>; KEK: <b id=\"kek\">{}</b> ({}).</p>{}",
        r.maternal.pregnant,
        r.maternal.kek,
        esc(r.thresholds.kek),
        person_rows(&r.maternal.kek_list)
    );
    let im = &r.immunisation;
    b.push_str("<h2>Imunisasi dan vitamin A</h2><table><tr><th>Antigen</th><th>Dosis bulan ini</th></tr>");
    for (a, c) in &im.doses_by_antigen {
        let _ = write!(b, "<tr><td>{}</td><td class=\"n\">{c}</td></tr>", esc(a));
    }
    let _ = write!(b, "</table><p>Anak balita yang diimunisasi (0–59 bulan): {}.</p>", im.children_immunised);
    let va = &im.vitamin_a;
    let cov = |label: &str, c: &super::report::VitaminACoverage| {
        format!("{label} (kapsul {}): {} dari {} ({})", c.capsule, c.given, c.eligible, pct(c.pct))
    };
    let children = match (&va.infants_6_11, &va.children_12_59) {
        (Some(i), Some(c)) => format!("{}; {}", cov("Bayi 6–11 bulan", i), cov("Balita 12–59 bulan", c)),
        _ => format!("Balita: tidak berlaku ({})", va.not_applicable_reason.unwrap_or("")),
    };
    let _ =
        write!(b, "<p id=\"vitamin-a\">Vitamin A: {}. {}.</p>", esc(&children), esc(&cov("Ibu nifas", &va.ibu_nifas)));
    let asi = &r.asi_eksklusif;
    let _ = write!(
        b,
        "<p id=\"asi-eksklusif\">ASI eksklusif (bayi 0–5 bulan yang ditanya bulan ini): {} dari {} ({}).</p>",
        asi.yes,
        asi.asked,
        pct(asi.pct)
    );
    let sc = &r.screening;
    b.push_str(
        "<h2>Skrining usia dewasa dan lansia</h2><table id=\"skrining\"><tr><th>Kelompok</th><th>Dikunjungi</th>\
         <th>Tensi diukur</th><th>Hipertensi</th><th>Gula darah diukur</th><th>Gula darah puasa</th><th>Gula darah tinggi</th>\
         <th>IMT diukur</th><th>Kurus</th><th>Gemuk</th><th>Obesitas</th><th>Lingkar perut diukur</th><th>Obesitas sentral</th></tr>",
    );
    for (label, g) in [("Dewasa 15–59 th", &sc.adult_15_59), ("Lansia ≥ 60 th", &sc.elderly_60_plus)] {
        let _ = write!(b, "<tr><td>{label}</td>");
        for n in [
            g.visited,
            g.bp_measured,
            g.hypertension,
            g.glucose_measured,
            g.glucose_fasting,
            g.high_glucose,
            g.imt_measured,
            g.imt_kurus,
            g.imt_gemuk,
            g.imt_obesitas,
            g.waist_measured,
            g.central_obesity,
        ] {
            let _ = write!(b, "<td class=\"n\">{n}</td>");
        }
        b.push_str("</tr>");
    }
    let _ = write!(
        b,
        "</table><p class=\"muted\">Hipertensi: {}. Gula darah tinggi: {}. {}. Obesitas sentral: {}. Bacaan terakhir bulan ini per orang.</p>\
         <h3>Hipertensi</h3>{}<h3>Gula darah tinggi</h3>{}",
        esc(&r.thresholds.hypertension),
        esc(&r.thresholds.high_glucose),
        esc(&r.thresholds.imt),
        esc(&r.thresholds.central_obesity),
        person_rows(&sc.hypertension_list),
        person_rows(&sc.high_glucose_list)
    );
    let _ = write!(
        b,
        "<h2 id=\"nik-tidak-cocok\">NIK tidak cocok: {}</h2><p class=\"muted\">Tanggal lahir atau jenis kelamin di NIK berbeda dengan data yang diisi kader; data tetap tercatat, periksa KTP/KK.</p>{}",
        r.nik_warnings.len(),
        person_rows(&r.nik_warnings)
    );
    let _ = write!(b, "<h2>Rujukan: {}</h2>", r.referrals.len());
    if !r.referrals.is_empty() {
        b.push_str("<table><tr><th>Tanggal</th><th>Nama</th><th>Alasan</th><th>Tujuan</th></tr>");
        for x in &r.referrals {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                x.date,
                esc(&x.name),
                esc(&x.reason),
                esc(x.to.as_deref().unwrap_or("–"))
            );
        }
        b.push_str("</table>");
    }
    let rl = &r.referral_lifecycle;
    let _ = write!(
        b,
        "<h2>Siklus rujukan bulan ini</h2><table><tr><th>Alasan</th><th>Dirujuk</th><th>Diterima bidan</th><th>Ditangani</th><th>Ditutup</th></tr><tr><td>Semua</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
        rl.total.raised, rl.total.received, rl.total.handled, rl.total.closed
    );
    for x in &rl.by_reason {
        let c = &x.counts;
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&x.label),
            c.raised,
            c.received,
            c.handled,
            c.closed
        );
    }
    b.push_str("</table>");
    if let Some(x) = &r.sasaran {
        let n = |v: Option<u32>| v.map_or_else(|| "–".to_string(), |v| v.to_string());
        let pct = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.1}"));
        let _ = write!(
            b,
            "<h2>Cakupan terhadap sasaran {} (sumber: {})</h2><table id=\"sasaran\"><tr><th>Sasaran balita</th>\
             <th>D</th><th>D/sasaran (%)</th><th>S</th><th>S/sasaran (%)</th><th>Sasaran ibu hamil</th>\
             <th>Sasaran bayi</th><th>Sasaran lansia</th></tr><tr><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
            x.year,
            esc(&x.source),
            n(x.balita),
            x.d,
            pct(x.d_sasaran_pct),
            x.s,
            pct(x.s_sasaran_pct),
            n(x.ibu_hamil),
            n(x.bayi),
            n(x.lansia)
        );
    }
    b.push_str("<h2>Kebutuhan lintas sektor (SPM, satu data)</h2><table><tr><th>Bidang SPM</th><th>Jumlah</th></tr>");
    for a in &r.spm.by_area {
        let _ = write!(b, "<tr><td>{}</td><td class=\"n\">{}</td></tr>", esc(a.label), a.count);
    }
    b.push_str("</table>");
    b.push_str(
        "<h2>Daftar periksa kunjungan (indikator program)</h2><table><tr><th>Butir</th><th>Ditanya</th>\
         <th>Ya</th><th>%</th></tr>",
    );
    for c in &r.checklist {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.label),
            c.asked,
            c.yes,
            c.pct.map_or("–".to_string(), |p| format!("{p:.1}"))
        );
    }
    b.push_str("</table><h2>Penyuluhan per topik</h2><table><tr><th>Topik</th><th>Jumlah</th></tr>");
    for t in r.counselling.iter().filter(|t| t.entries > 0) {
        let _ = write!(b, "<tr><td>{}</td><td class=\"n\">{}</td></tr>", esc(&t.label), t.entries);
    }
    b.push_str("</table>");
    if !r.conflicts.items.is_empty() {
        b.push_str("<h2>Konflik data</h2><table><tr><th>Rumah tangga</th><th>Isian</th><th>Jumlah nilai</th><th>Bulan ini</th></tr>");
        for c in &r.conflicts.items {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                c.household_id,
                esc(&c.path),
                c.values,
                if c.affects_month { "ya" } else { "tidak" }
            );
        }
        b.push_str("</table>");
    }
    page(&format!("Laporan Posyandu {} {}", r.posyandu_id, r.month), &b)
}

/// One weighing on a child's chart.
#[derive(Debug, Clone, Serialize)]
pub struct ChartPoint {
    pub date: String,
    pub age_days: i64,
    pub weight_kg: f64,
    pub zwfa: Option<f64>,
    pub trend: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChildChart {
    pub posyandu_id: String,
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub name: String,
    pub sex: &'static str,
    pub birth_date: String,
    pub points: Vec<ChartPoint>,
}

/// A weight-for-age chart with the WHO median and ±2/±3 SD curves (from the rulebook's
/// LMS table) and the child's weighings.
pub fn wfa_svg(sex: Sex, points: &[ChartPoint]) -> String {
    let max_age = points.iter().map(|p| p.age_days).max().unwrap_or(0);
    let months = ((max_age as f64 / growth::DAYS_PER_MONTH / 6.0).ceil() * 6.0 + 6.0).clamp(24.0, 60.0);
    let max_day = ((months * growth::DAYS_PER_MONTH) as i64).min(1856);
    let zs = [
        (-3.0, "#c00000", "−3 SD"),
        (-2.0, "#e08000", "−2 SD"),
        (0.0, "#2a8a2a", "Median"),
        (2.0, "#e08000", "+2 SD"),
        (3.0, "#c00000", "+3 SD"),
    ];
    let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new(); zs.len()];
    let mut day = 0;
    while day <= max_day {
        if let Some(lms) = weight_for_age_lms(sex, day) {
            for (i, (z, _, _)) in zs.iter().enumerate() {
                curves[i].push((day as f64, lms.value_at(*z)));
            }
        }
        day += if day + 7 > max_day && day != max_day { max_day - day } else { 7 };
    }
    let ymax_data = points.iter().map(|p| p.weight_kg).fold(0.0, f64::max);
    let ymax_curve = curves.last().and_then(|c| c.last()).map_or(20.0, |p| p.1);
    let ymax = (ymax_data.max(ymax_curve) / 2.0).ceil() * 2.0 + 1.0;
    let (l, t, w, h) = (50.0, 20.0, 640.0, 380.0);
    let x = |d: f64| l + w * d / max_day.max(1) as f64;
    let y = |kg: f64| t + h - h * kg / ymax;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"wfa-chart\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Grafik berat badan menurut umur\">",
        l + w + 70.0, t + h + 50.0, l + w + 70.0, t + h + 50.0
    );
    // Grid: every 6 months, every 2 kg.
    let mut mth = 0.0;
    while mth <= months + 0.1 {
        let xd = x(mth * growth::DAYS_PER_MONTH).min(l + w);
        let _ = write!(o, "<line x1=\"{xd:.1}\" y1=\"{t}\" x2=\"{xd:.1}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{xd:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{mth}</text>", t + h, t + h + 15.0);
        mth += 6.0;
    }
    let mut kg = 0.0;
    while kg <= ymax {
        let yy = y(kg);
        let _ = write!(o, "<line x1=\"{l}\" y1=\"{yy:.1}\" x2=\"{}\" y2=\"{yy:.1}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{kg}</text>", l + w, l - 5.0, yy + 4.0);
        kg += 2.0;
    }
    let _ = write!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">Umur (bulan)</text>",
        l + w / 2.0,
        t + h + 35.0
    );
    let _ = write!(o, "<text x=\"14\" y=\"{}\" font-size=\"12\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">Berat badan (kg)</text>", t + h / 2.0, t + h / 2.0);
    for (i, (_, color, label)) in zs.iter().enumerate() {
        let pts: Vec<String> = curves[i].iter().map(|(d, v)| format!("{:.1},{:.1}", x(*d), y(*v))).collect();
        let _ = write!(
            o,
            "<polyline class=\"who-curve\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
            pts.join(" ")
        );
        if let Some((d, v)) = curves[i].last() {
            let _ = write!(
                o,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{color}\">{label}</text>",
                x(*d) + 4.0,
                y(*v) + 4.0
            );
        }
    }
    let pts: Vec<String> =
        points.iter().map(|p| format!("{:.1},{:.1}", x(p.age_days as f64), y(p.weight_kg))).collect();
    if pts.len() > 1 {
        let _ =
            write!(o, "<polyline fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2\" points=\"{}\"/>", pts.join(" "));
    }
    for p in points {
        let _ = write!(
            o,
            "<circle class=\"weighing\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#1f4e9c\"><title>{}: {} kg</title></circle>",
            x(p.age_days as f64),
            y(p.weight_kg),
            p.date,
            p.weight_kg
        );
    }
    o.push_str("</svg>");
    o
}

pub async fn child_handler(
    State(st): State<AppState>,
    Path((posyandu, member_id)): Path<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (st, posyandu, member_id) = (&st, posyandu.as_str(), member_id.as_str());
    let q = super::query_pairs(raw.as_deref());
    let html = q.get("format").is_none_or(|f| f == "html");
    match q.get(super::links::LINK_PARAM) {
        // A link from the report page: valid for this exact path, HTML only, until it
        // expires. The bearer header, if any, is not needed.
        Some(link) if html => {
            let issuer = st.links.verify(uri.path(), link).map_err(|e| {
                tracing::warn!(reason = %e, "link token refused");
                ApiError::BadLink
            })?;
            // The Puskesmas token whose report wrote the link must still be valid.
            if !st.storage.token_valid(issuer).await? {
                tracing::warn!(token_id = issuer, "link token of a revoked Puskesmas token refused");
                return Err(ApiError::BadLink);
            }
        }
        Some(_) => return Err(ApiError::TokenInUrl),
        None => {
            super::page_access(st, &headers, &q, posyandu, html).await?;
        }
    }
    let member_id = Uuid::parse_str(member_id).map_err(|_| ApiError::NotFound)?;
    // One household's read-model row, found through the member index.
    let row = st.storage.read_member(posyandu.to_string(), member_id).await?;
    let row = row.ok_or(ApiError::NotFound)?;
    let scope = posyandu.to_string();
    let l = tokio::task::spawn_blocking(move || super::decode(&scope, &row))
        .await
        .map_err(ApiError::internal)?
        .map_err(|_| ApiError::NotFound)?;
    let hh = &l.household;
    let m = hh.member(member_id).filter(|m| !m.deleted).ok_or(ApiError::NotFound)?;
    let sex = m.sex;
    let chart = {
        let trends = &l.trends;
        let mut points = Vec::new();
        for v in hh.visits.iter().filter(|v| !v.deleted) {
            let Some(e) = v.entries.iter().find(|e| e.member_id == m.id) else { continue };
            let Some(w) = e.measurements.weight_kg else { continue };
            let age = (v.date - m.birth_date).whole_days();
            if !(0..=1856).contains(&age) {
                continue;
            }
            let z = super::export::assess_entry(Some(m), v.date, e).and_then(|a| a.zwfa);
            points.push(ChartPoint {
                date: format_date(v.date),
                age_days: age,
                weight_kg: w,
                zwfa: z.map(|z| growth::round_half_away(z, 2)),
                trend: trends.get(&(v.id, m.id)).map(|t| t.code()),
            });
        }
        ChildChart {
            posyandu_id: posyandu.to_string(),
            household_id: hh.id,
            member_id,
            name: m.name.clone(),
            sex: super::export::sex_code(m.sex),
            birth_date: format_date(m.birth_date),
            points,
        }
    };
    let (ct, body) = match q.get("format").map(String::as_str).unwrap_or("html") {
        "json" => ("application/json", serde_json::to_vec_pretty(&chart).map_err(ApiError::internal)?),
        "html" => {
            let mut b = format!(
                "<h1>Grafik BB/U — {}</h1><p>Jenis kelamin: {}; lahir {}; Posyandu {}.</p>{}",
                esc(&chart.name),
                if sex == Sex::Male { "laki-laki" } else { "perempuan" },
                chart.birth_date,
                esc(posyandu),
                wfa_svg(sex, &chart.points)
            );
            b.push_str(
                "<table><tr><th>Tanggal</th><th>Umur (bln)</th><th>BB (kg)</th><th>Z BB/U</th><th>Tren</th></tr>",
            );
            for p in &chart.points {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    p.date,
                    growth::age_months_completed(p.age_days),
                    p.weight_kg,
                    p.zwfa.map(|z| format!("{z:.2}")).unwrap_or_default(),
                    p.trend.unwrap_or("")
                );
            }
            b.push_str("</table><p class=\"muted\">Kurva: standar pertumbuhan WHO 2006 (median, ±2 SD, ±3 SD).</p>");
            ("text/html; charset=utf-8", page(&format!("Grafik BB/U {}", chart.name), &b).into_bytes())
        }
        _ => return Err(ApiError::BadBody("format harus html atau json".into())),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    resp.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    Ok(resp)
}
