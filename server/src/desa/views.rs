//! What the desa sees (pure): a request with the least data, the coverage table, the
//! CSV per area, the service-area GeoJSON and the HTML page.

use std::collections::BTreeMap;

use posyandu_records::model::{format_date, Household, SpmArea, SpmRequest, SpmStatus};
use posyandu_records::posyandu::Posyandu;
use posyandu_records::rules::lifestage::{life_stage, LifeStage};
use posyandu_records::rules::pregnancy::PregnancyStatus;
use posyandu_records::rules::referral_lifecycle::step_day;
use posyandu_records::rules::spm_request as rules;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::DesaPrincipal;
use crate::puskesmas::html::esc;
use crate::read_model::HouseholdView;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestList {
    pub desa_id: String,
    pub requests: Vec<RequestView>,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NoteView {
    pub text: String,
    pub kader_id: String,
    /// `YYYY-MM-DD` (WIB).
    pub date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepView {
    pub status: SpmStatus,
    pub status_label: String,
    /// Kader id or `desa:<id>`.
    pub by: String,
    pub date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One request, least data: no NIK, birth date, measurement or pregnancy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestView {
    pub posyandu_id: String,
    pub household_id: Uuid,
    /// `<member uuid>:<need>` or `household:<need>`: the request's key.
    pub key: String,
    pub area: SpmArea,
    pub area_label: String,
    pub need: String,
    pub need_label: String,
    /// `anggota` or `rumah_tangga`.
    pub subject: String,
    /// The member's name, or the head of household's for a household need.
    pub name: String,
    pub kode_wilayah: String,
    pub rw: String,
    pub rt: String,
    pub status: SpmStatus,
    pub status_label: String,
    /// The office it was last forwarded to (code and name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office_label: Option<String>,
    /// Day it was raised (`YYYY-MM-DD`, WIB).
    pub raised_on: String,
    /// Whole days open (until today, or until it was closed).
    pub days_open: i64,
    pub notes: Vec<NoteView>,
    pub steps: Vec<StepView>,
}

pub fn request_view(posyandu: &str, hh: &Household, r: &SpmRequest, today: time::Date) -> RequestView {
    let name = match r.member_id {
        Some(m) => hh.member(m).map(|m| m.name.clone()).unwrap_or_default(),
        None => hh.head().map(|m| m.name.clone()).unwrap_or_default(),
    };
    let status = r.status();
    let office = r.office().map(str::to_string);
    RequestView {
        posyandu_id: posyandu.to_string(),
        household_id: hh.id,
        key: r.key.clone(),
        area: r.area,
        area_label: r.area.label_id().into(),
        need: r.need.clone(),
        need_label: rules::need_label(&r.need),
        subject: if r.member_id.is_some() { "anggota" } else { "rumah_tangga" }.into(),
        name,
        kode_wilayah: hh.address.kode_wilayah.clone(),
        rw: hh.address.rw.clone(),
        rt: hh.address.rt.clone(),
        status,
        status_label: status.label_id().into(),
        office_label: office.as_deref().and_then(rules::office).map(|o| o.label_id.clone()),
        office,
        raised_on: format_date(step_day(r.raised_at())),
        days_open: r.days_open(today),
        notes: r
            .notes
            .iter()
            .map(|n| NoteView { text: n.text.clone(), kader_id: n.kader_id.clone(), date: format_date(step_day(n.at)) })
            .collect(),
        steps: r
            .steps
            .iter()
            .map(|s| StepView {
                status: s.status,
                status_label: s.status.label_id().into(),
                by: s.by.clone(),
                date: format_date(step_day(s.at)),
                office: s.office.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
    }
}

/// Open requests as CSV (one area or all), with their age in days.
pub fn to_csv(list: &[RequestView]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "posyandu",
        "kode_wilayah",
        "rw",
        "rt",
        "nama",
        "bidang",
        "kebutuhan",
        "kode_kebutuhan",
        "status",
        "opd",
        "tanggal_dicatat",
        "hari_terbuka",
        "catatan",
    ];
    let _ = crate::puskesmas::write_csv_row(&mut w, header);
    for r in list {
        let notes: Vec<&str> = r.notes.iter().map(|n| n.text.as_str()).collect();
        let days = r.days_open.to_string();
        let _ = crate::puskesmas::write_csv_row(
            &mut w,
            [
                r.posyandu_id.as_str(),
                &r.kode_wilayah,
                &r.rw,
                &r.rt,
                &r.name,
                &r.area_label,
                &r.need_label,
                &r.need,
                r.status.code(),
                r.office.as_deref().unwrap_or(""),
                &r.raised_on,
                &days,
                &notes.join(" | "),
            ],
        );
    }
    w.into_inner().unwrap_or_default()
}

/// Households registered and visited per RT.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RtCoverage {
    pub kode_wilayah: String,
    pub rw: String,
    pub rt: String,
    /// The RT is in a Posyandu's service area (its document's `area`, issue 12): an RT
    /// of the area with no household registered yet is listed with zeros.
    pub in_service_area: bool,
    pub households: u32,
    /// Households with a visit (Posyandu day or home visit) in the last 90 days.
    pub visited_90_days: u32,
    pub open_requests: u32,
}

/// People registered by life stage, per Posyandu. Pregnancy is not shown: women are
/// counted by their age (the desa sees no pregnancy).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PosyanduPeople {
    pub posyandu_id: String,
    pub bayi_balita: u32,
    pub usia_sekolah_remaja: u32,
    pub dewasa: u32,
    pub lansia: u32,
    /// The Posyandu's sasaran of the year (its document, set by the Puskesmas or a
    /// kader): projected under-fives (0–59 months, compare `bayi_balita`) and elderly
    /// (compare `lansia`); `None` when not set.
    pub sasaran_balita: Option<u32>,
    pub sasaran_lansia: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Coverage {
    pub desa_id: String,
    pub date: String,
    pub rts: Vec<RtCoverage>,
    pub people: Vec<PosyanduPeople>,
}

/// Days a visit counts as recent for the coverage table.
pub const VISITED_DAYS: i64 = 90;

/// The coverage table of the desa: `hh` its households (already limited to its
/// villages), `posyandu` the documents of its Posyandu (service area and sasaran).
pub fn coverage(
    d: &DesaPrincipal,
    hh: &[(String, HouseholdView)],
    posyandu: &[Posyandu],
    today: time::Date,
) -> Coverage {
    let since = today - time::Duration::days(VISITED_DAYS);
    let mut rts: BTreeMap<(String, String, String), RtCoverage> = BTreeMap::new();
    let rt_row = |kode: &str, rw: &str, rt: &str| RtCoverage {
        kode_wilayah: kode.to_string(),
        rw: rw.to_string(),
        rt: rt.to_string(),
        in_service_area: false,
        households: 0,
        visited_90_days: 0,
        open_requests: 0,
    };
    for a in posyandu.iter().flat_map(|p| &p.area).filter(|a| d.kodes.contains(&a.kode_wilayah)) {
        rts.entry((a.kode_wilayah.clone(), a.rw.clone(), a.rt.clone()))
            .or_insert_with(|| rt_row(&a.kode_wilayah, &a.rw, &a.rt))
            .in_service_area = true;
    }
    let year = today.year().to_string();
    let mut people: BTreeMap<String, PosyanduPeople> = BTreeMap::new();
    for (scope, v) in hh {
        let h = &v.household;
        let a = &h.address;
        let row = rts
            .entry((a.kode_wilayah.clone(), a.rw.clone(), a.rt.clone()))
            .or_insert_with(|| rt_row(&a.kode_wilayah, &a.rw, &a.rt));
        row.households += 1;
        if h.visits.iter().any(|x| !x.deleted && x.date >= since && x.date <= today) {
            row.visited_90_days += 1;
        }
        row.open_requests += h.spm_requests.iter().filter(|r| !r.status().is_closed()).count() as u32;
        let p = people.entry(scope.clone()).or_insert_with(|| {
            let sasaran = posyandu.iter().find(|p| p.posyandu_id == *scope).and_then(|p| p.sasaran.get(&year));
            PosyanduPeople {
                posyandu_id: scope.clone(),
                bayi_balita: 0,
                usia_sekolah_remaja: 0,
                dewasa: 0,
                lansia: 0,
                sasaran_balita: sasaran.and_then(|s| s.balita),
                sasaran_lansia: sasaran.and_then(|s| s.lansia),
            }
        });
        for m in h.members.iter().filter(|m| !m.deleted && m.status.is_none() && m.birth_date <= today) {
            match life_stage(m.birth_date, today, PregnancyStatus::None) {
                LifeStage::BayiBalita => p.bayi_balita += 1,
                LifeStage::UsiaSekolahRemaja => p.usia_sekolah_remaja += 1,
                LifeStage::Dewasa | LifeStage::IbuHamil | LifeStage::IbuNifas => p.dewasa += 1,
                LifeStage::Lansia => p.lansia += 1,
            }
        }
    }
    Coverage {
        desa_id: d.desa_id.clone(),
        date: format_date(today),
        rts: rts.into_values().collect(),
        people: people.into_values().collect(),
    }
}

/// A GeoJSON FeatureCollection of the households with a GPS point: id, Posyandu,
/// village code, RW/RT and open requests — no name, no health data.
pub fn geojson(hh: &[(String, HouseholdView)]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = hh
        .iter()
        .filter_map(|(scope, v)| {
            let p = v.service_point?;
            let h = &v.household;
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                "properties": {
                    "household_id": h.id,
                    "posyandu_id": scope,
                    "kode_wilayah": h.address.kode_wilayah,
                    "rw": h.address.rw,
                    "rt": h.address.rt,
                    "open_requests": h.spm_requests.iter().filter(|r| !r.status().is_closed()).count(),
                }
            }))
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features})
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}\
th{background:#eef}td.n{text-align:right}.lama{color:#a00;font-weight:bold}.muted{color:#666;font-size:13px}";

/// Requests open longer than this are marked.
pub const LONG_OPEN_DAYS: i64 = 30;

/// The desa's page: open requests by area (oldest first, with their age) and the
/// coverage table. No script.
pub fn page(d: &DesaPrincipal, list: &[RequestView], truncated: bool, cov: &Coverage) -> String {
    let mut b = format!(
        "<h1>Kebutuhan SPM warga — {}</h1><p class=\"muted\">Kode wilayah: {} · per {}. Data dari Posyandu; \
         tanpa data klinis.</p>",
        esc(&d.name),
        esc(&d.kodes.join(", ")),
        esc(&cov.date)
    );
    b.push_str("<h2>Permintaan terbuka per bidang</h2>");
    if truncated {
        b.push_str("<p class=\"lama\">Daftar terpotong: terlalu banyak permintaan.</p>");
    }
    b.push_str("<table id=\"per-bidang\"><tr><th>Bidang</th><th>Terbuka</th><th>Lebih dari 30 hari</th></tr>");
    for area in SpmArea::ALL {
        let n = list.iter().filter(|r| r.area == area).count();
        let old = list.iter().filter(|r| r.area == area && r.days_open > LONG_OPEN_DAYS).count();
        b.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{n}</td><td class=\"n\">{old}</td></tr>",
            esc(area.label_id())
        ));
    }
    b.push_str("</table>");
    for area in SpmArea::ALL {
        let rows: Vec<&RequestView> = list.iter().filter(|r| r.area == area).collect();
        if rows.is_empty() {
            continue;
        }
        let code = serde_json::to_value(area).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        b.push_str(&format!("<h2>{}</h2><table id=\"bidang-{}\">", esc(area.label_id()), esc(&code)));
        b.push_str(
            "<tr><th>Kebutuhan</th><th>Nama</th><th>RW/RT</th><th>Status</th><th>OPD</th><th>Dicatat</th>\
             <th>Hari terbuka</th><th>Catatan</th></tr>",
        );
        for r in rows {
            let notes: Vec<String> = r.notes.iter().map(|n| esc(&n.text)).collect();
            let cls = if r.days_open > LONG_OPEN_DAYS { " lama" } else { "" };
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"n{cls}\">{}</td><td>{}</td></tr>",
                esc(&r.need_label),
                esc(&r.name),
                esc(&r.rw),
                esc(&r.rt),
                esc(&r.status_label),
                esc(r.office_label.as_deref().unwrap_or("–")),
                esc(&r.raised_on),
                r.days_open,
                notes.join("<br>")
            ));
        }
        b.push_str("</table>");
    }
    if list.is_empty() {
        b.push_str("<p>Tidak ada permintaan terbuka.</p>");
    }
    b.push_str(
        "<h2>Cakupan per RT</h2><table id=\"cakupan\"><tr><th>Kode wilayah</th><th>RW</th><th>RT</th>\
         <th>Wilayah layanan Posyandu</th><th>Rumah tangga terdaftar</th><th>Dikunjungi 90 hari terakhir</th>\
         <th>Permintaan terbuka</th></tr>",
    );
    for r in &cov.rts {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>",
            esc(&r.kode_wilayah),
            esc(&r.rw),
            esc(&r.rt),
            if r.in_service_area { "ya" } else { "tidak tercatat" },
            r.households,
            r.visited_90_days,
            r.open_requests
        ));
    }
    b.push_str("</table>");
    b.push_str(
        "<h2>Warga terdaftar per tahap kehidupan</h2><table id=\"warga\"><tr><th>Posyandu</th><th>Bayi dan balita</th>\
         <th>Sasaran balita</th><th>Usia sekolah dan remaja</th><th>Dewasa</th><th>Lansia</th><th>Sasaran lansia</th></tr>",
    );
    let target = |n: Option<u32>| n.map_or_else(|| "belum diisi".to_string(), |n| n.to_string());
    for p in &cov.people {
        b.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&p.posyandu_id),
            p.bayi_balita,
            target(p.sasaran_balita),
            p.usia_sekolah_remaja,
            p.dewasa,
            p.lansia,
            target(p.sasaran_lansia)
        ));
    }
    b.push_str("</table>");
    format!(
        "<!DOCTYPE html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>Kebutuhan SPM — {}</title>\
         <style>{STYLE}</style></head><body>{b}</body></html>",
        esc(&d.name)
    )
}
