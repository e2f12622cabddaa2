//! The Posyandu document (issue 12): schedule of service days, roster, area, sasaran,
//! and the three lists of a session (H-1 undangan, service-day register, home-visit
//! list after the session). Thin: the schedule and list rules are in
//! `posyandu_core::rules::schedule`, the gathering in `posyandu_core::store::posyandu`.

use posyandu_core::model::format_date;
use posyandu_core::rules::schedule::{HomeVisitSection, InviteReason};

use crate::error::{parse_date, parse_date_opt, PosyanduError, Result};
use crate::store::KaderStore;
use crate::visit::DueReason;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceDateInfo {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub place: Option<String>,
    pub note: Option<String>,
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RosterInfo {
    pub kader_id: String,
    pub name: String,
    /// `ketua`, `koordinator`, `anggota`.
    pub role: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AreaInfo {
    pub kode_wilayah: String,
    pub rw: String,
    pub rt: String,
    pub dusun: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SasaranInfo {
    pub year: i32,
    pub ibu_hamil: Option<u32>,
    pub ibu_bersalin: Option<u32>,
    pub bayi: Option<u32>,
    pub balita: Option<u32>,
    pub lansia: Option<u32>,
    /// `puskesmas` or `kader`.
    pub source: String,
}

/// The Posyandu document as the app shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PosyanduInfo {
    pub posyandu_id: String,
    /// `first`…`fifth`, `last`; `None` without a rule.
    pub rule_week: Option<String>,
    /// `monday`…`sunday`.
    pub rule_weekday: Option<String>,
    /// E.g. "selasa kedua setiap bulan".
    pub rule_label: Option<String>,
    pub dates: Vec<ServiceDateInfo>,
    pub roster: Vec<RosterInfo>,
    pub area: Vec<AreaInfo>,
    pub sasaran: Vec<SasaranInfo>,
    /// The next service day from today (`YYYY-MM-DD`), if the schedule gives one.
    pub next_service_day: Option<String>,
}

/// Why someone is expected at a service day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InviteReasonInfo {
    /// `penimbangan`, `vitamin_a`, `imunisasi`, `ibu_hamil`, `ibu_nifas`, `lansia`, `due`.
    pub code: String,
    pub label: String,
    /// The antigens for `imunisasi`.
    pub antigens: Vec<String>,
    /// The due-list reason for `due`.
    pub due: Option<DueReason>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UndanganItem {
    pub member_id: String,
    pub household_id: String,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    /// Life stage code (`bayi_balita`…) and its label.
    pub stage: String,
    pub stage_label: String,
    pub reasons: Vec<InviteReasonInfo>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UndanganList {
    pub service_day: String,
    pub items: Vec<UndanganItem>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RegisterLine {
    pub member_id: String,
    pub household_id: String,
    pub name: String,
    pub rt: String,
    pub stage: String,
    pub stage_label: String,
    pub expected: Vec<InviteReasonInfo>,
    pub came: bool,
    pub weight_kg: Option<f64>,
    pub length_height_cm: Option<f64>,
    pub muac_cm: Option<f64>,
    /// N/T/O/B of the weighing.
    pub trend: Option<String>,
    pub vitamin_a: bool,
    pub immunisations: Vec<String>,
    pub risks: Vec<DueReason>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceRegisterInfo {
    pub service_day: String,
    pub expected: u32,
    pub came: u32,
    pub entries: Vec<RegisterLine>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HomeVisitLine {
    /// `tidak_hadir` (expected, did not come) or `berisiko` (at risk).
    pub section: String,
    pub section_label: String,
    pub member_id: String,
    pub household_id: String,
    pub name: String,
    pub rt: String,
    pub head_name: Option<String>,
    pub stage: String,
    pub stage_label: String,
    pub expected: Vec<InviteReasonInfo>,
    pub risks: Vec<DueReason>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HomeVisitListInfo {
    pub service_day: String,
    pub items: Vec<HomeVisitLine>,
}

fn reason(r: InviteReason) -> InviteReasonInfo {
    let label = r.label_id();
    let (code, antigens, due) = match r {
        InviteReason::Penimbangan => ("penimbangan", vec![], None),
        InviteReason::VitaminA => ("vitamin_a", vec![], None),
        InviteReason::Imunisasi(a) => ("imunisasi", a, None),
        InviteReason::IbuHamil => ("ibu_hamil", vec![], None),
        InviteReason::IbuNifas => ("ibu_nifas", vec![], None),
        InviteReason::Lansia => ("lansia", vec![], None),
        InviteReason::Due(d) => ("due", vec![], Some(DueReason::from(d))),
    };
    InviteReasonInfo { code: code.into(), label, antigens, due }
}

fn week_code(w: posyandu_core::Week) -> String {
    use posyandu_core::Week as W;
    match w {
        W::First => "first",
        W::Second => "second",
        W::Third => "third",
        W::Fourth => "fourth",
        W::Fifth => "fifth",
        W::Last => "last",
    }
    .into()
}

fn weekday_code(d: posyandu_core::DayOfWeek) -> String {
    use posyandu_core::DayOfWeek as D;
    match d {
        D::Monday => "monday",
        D::Tuesday => "tuesday",
        D::Wednesday => "wednesday",
        D::Thursday => "thursday",
        D::Friday => "friday",
        D::Saturday => "saturday",
        D::Sunday => "sunday",
    }
    .into()
}

fn role_code(r: posyandu_core::RosterRole) -> String {
    use posyandu_core::RosterRole as R;
    match r {
        R::Ketua => "ketua",
        R::Koordinator => "koordinator",
        R::Anggota => "anggota",
    }
    .into()
}

fn section(s: HomeVisitSection) -> String {
    match s {
        HomeVisitSection::TidakHadir => "tidak_hadir",
        HomeVisitSection::Berisiko => "berisiko",
    }
    .into()
}

#[uniffi::export]
impl KaderStore {
    /// The Posyandu document of this phone's Posyandu.
    pub fn posyandu(&self) -> Result<PosyanduInfo> {
        let p = self.inner.posyandu()?;
        let next = self.inner.next_service_day(None)?;
        Ok(PosyanduInfo {
            posyandu_id: p.posyandu_id,
            rule_week: p.schedule.rule.map(|r| week_code(r.week)),
            rule_weekday: p.schedule.rule.map(|r| weekday_code(r.weekday)),
            rule_label: p.schedule.rule.map(|r| r.label_id()),
            dates: p
                .schedule
                .dates
                .into_iter()
                .map(|(date, d)| ServiceDateInfo { date, place: d.place, note: d.note, cancelled: d.cancelled })
                .collect(),
            roster: p
                .roster
                .into_iter()
                .map(|(kader_id, e)| RosterInfo { kader_id, name: e.name, role: role_code(e.role), active: e.active })
                .collect(),
            area: p
                .area
                .into_iter()
                .map(|a| AreaInfo { kode_wilayah: a.kode_wilayah, rw: a.rw, rt: a.rt, dusun: a.dusun })
                .collect(),
            sasaran: p
                .sasaran
                .into_iter()
                .map(|(y, s)| SasaranInfo {
                    year: y.parse().unwrap_or_default(),
                    ibu_hamil: s.ibu_hamil,
                    ibu_bersalin: s.ibu_bersalin,
                    bayi: s.bayi,
                    balita: s.balita,
                    lansia: s.lansia,
                    source: s.source.as_str().into(),
                })
                .collect(),
            next_service_day: next.map(format_date),
        })
    }

    /// Sets the schedule rule: `week` 1–5 or `last`/`terakhir`, `weekday` in Indonesian
    /// (`selasa`) or English; both `None` clears it.
    pub fn set_schedule_rule(&self, week: Option<String>, weekday: Option<String>) -> Result<()> {
        let rule = match (week, weekday) {
            (None, None) => None,
            (Some(w), Some(d)) => {
                let week = posyandu_core::Week::parse(&w)
                    .or_else(|| posyandu_core::Week::ALL.into_iter().find(|x| week_code(*x) == w.trim().to_lowercase()))
                    .ok_or_else(|| PosyanduError::validation(format!("Minggu ke- tidak dikenal: {w}")))?;
                let weekday = posyandu_core::DayOfWeek::parse(&d)
                    .ok_or_else(|| PosyanduError::validation(format!("Hari tidak dikenal: {d}")))?;
                Some(posyandu_core::ScheduleRule { week, weekday })
            }
            _ => return Err(PosyanduError::validation("Isi minggu ke- dan hari, atau kosongkan keduanya")),
        };
        Ok(self.inner.set_schedule_rule(rule)?)
    }

    /// Sets an explicit service date (moved, extra or cancelled).
    pub fn set_service_date(
        &self,
        date: String,
        place: Option<String>,
        note: Option<String>,
        cancelled: bool,
    ) -> Result<()> {
        let d = parse_date("hari buka", &date)?;
        Ok(self.inner.set_service_date(d, Some(posyandu_core::ServiceDate { place, note, cancelled }))?)
    }

    pub fn remove_service_date(&self, date: String) -> Result<()> {
        Ok(self.inner.set_service_date(parse_date("hari buka", &date)?, None)?)
    }

    pub fn set_roster_entry(&self, kader_id: String, name: String, role: String, active: bool) -> Result<()> {
        let role = posyandu_core::RosterRole::parse(&role)
            .ok_or_else(|| PosyanduError::validation(format!("Peran tidak dikenal: {role}")))?;
        Ok(self.inner.set_roster_entry(&kader_id, posyandu_core::RosterEntry { name, role, active })?)
    }

    pub fn set_area_entry(
        &self,
        kode_wilayah: String,
        rw: String,
        rt: String,
        dusun: Option<String>,
        covered: bool,
    ) -> Result<()> {
        Ok(self.inner.set_area_entry(posyandu_core::AreaEntry { kode_wilayah, rw, rt, dusun }, covered)?)
    }

    /// Sets a year's sasaran entered by the kader.
    pub fn set_sasaran(
        &self,
        year: i32,
        ibu_hamil: Option<u32>,
        ibu_bersalin: Option<u32>,
        bayi: Option<u32>,
        balita: Option<u32>,
        lansia: Option<u32>,
    ) -> Result<()> {
        let s = posyandu_core::Sasaran {
            ibu_hamil,
            ibu_bersalin,
            bayi,
            balita,
            lansia,
            source: posyandu_core::SasaranSource::Kader,
        };
        Ok(self.inner.set_sasaran(year, s)?)
    }

    /// The H-1 undangan list of service day `date` (default: the next one from today).
    pub fn undangan(&self, date: Option<String>) -> Result<UndanganList> {
        let list = self.inner.undangan(parse_date_opt("hari buka", date.as_deref())?)?;
        Ok(UndanganList {
            service_day: list.service_day,
            items: list
                .items
                .into_iter()
                .map(|i| UndanganItem {
                    member_id: i.member_id.to_string(),
                    household_id: i.household_id.to_string(),
                    name: i.name,
                    rt: i.rt,
                    head_name: i.head_name,
                    stage: i.stage.as_str().into(),
                    stage_label: i.stage.label_id().into(),
                    reasons: i.reasons.into_iter().map(reason).collect(),
                })
                .collect(),
        })
    }

    /// The register of service day `date`.
    pub fn service_register(&self, date: String) -> Result<ServiceRegisterInfo> {
        let reg = self.inner.register(parse_date("hari buka", &date)?)?;
        Ok(ServiceRegisterInfo {
            service_day: reg.service_day,
            expected: reg.expected,
            came: reg.came,
            entries: reg
                .entries
                .into_iter()
                .map(|e| {
                    let f = e.facts.unwrap_or(posyandu_core::SessionFacts {
                        weight_kg: None,
                        length_height_cm: None,
                        muac_cm: None,
                        trend: None,
                        vitamin_a: false,
                        immunisations: Vec::new(),
                        referral: false,
                    });
                    RegisterLine {
                        member_id: e.member_id.to_string(),
                        household_id: e.household_id.to_string(),
                        name: e.name,
                        rt: e.rt,
                        stage: e.stage.as_str().into(),
                        stage_label: e.stage.label_id().into(),
                        expected: e.expected.into_iter().map(reason).collect(),
                        came: e.came,
                        weight_kg: f.weight_kg,
                        length_height_cm: f.length_height_cm,
                        muac_cm: f.muac_cm,
                        trend: f.trend,
                        vitamin_a: f.vitamin_a,
                        immunisations: f.immunisations,
                        risks: e.risks.into_iter().map(DueReason::from).collect(),
                    }
                })
                .collect(),
        })
    }

    /// The home-visit list after the session of `date` (default: the latest service day
    /// on or before today): who did not come, then who is at risk.
    pub fn home_visit_list(&self, date: Option<String>) -> Result<HomeVisitListInfo> {
        let list = self.inner.home_visit_list(parse_date_opt("hari buka", date.as_deref())?)?;
        Ok(HomeVisitListInfo {
            service_day: list.service_day,
            items: list
                .items
                .into_iter()
                .map(|i| HomeVisitLine {
                    section: section(i.section),
                    section_label: i.section.label_id().into(),
                    member_id: i.member_id.to_string(),
                    household_id: i.household_id.to_string(),
                    name: i.name,
                    rt: i.rt,
                    head_name: i.head_name,
                    stage: i.stage.as_str().into(),
                    stage_label: i.stage.label_id().into(),
                    expected: i.expected.into_iter().map(reason).collect(),
                    risks: i.risks.into_iter().map(DueReason::from).collect(),
                })
                .collect(),
        })
    }
}
