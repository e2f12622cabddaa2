//! Referrals with a lifecycle (issue 12, "the ILP service cycle"): the reason codes a
//! referral may carry (with their source), the statuses *dirujuk → diterima →
//! ditangani → rujuk balik / selesai*, who may record each, the current status of a
//! referral derived from its append-only steps, the follow-up home visit a bidan asks
//! for, and the reasons the rulebook proposes for a member. `docs/rules.md`,
//! "Referrals and their lifecycle".
//!
//! Pure: the document layout is in `crate::doc` (`referrals/<uuid>`), the relay's
//! writer of bidan steps in `posyandu-server` (`server/src/bidan/`).

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::pregnancy::{pregnancy_status, PregnancyStatus};
use super::referral::{self, ReferralTrigger};
use super::screening;
use crate::model::Household;

/// A referral's status. Open enum in the document (a newer version may add one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Raised by the kader (the first step of every referral).
    Dirujuk,
    /// The bidan has received the referral.
    Diterima,
    /// The bidan has examined / treated the person.
    Ditangani,
    /// Referred back to the Posyandu for follow-up in the community (closed for the bidan).
    RujukBalik,
    /// Closed.
    Selesai,
}

/// Who records a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepRole {
    Kader,
    Bidan,
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 5] = [
        ReferralStatus::Dirujuk,
        ReferralStatus::Diterima,
        ReferralStatus::Ditangani,
        ReferralStatus::RujukBalik,
        ReferralStatus::Selesai,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReferralStatus::Dirujuk => "dirujuk",
            ReferralStatus::Diterima => "diterima",
            ReferralStatus::Ditangani => "ditangani",
            ReferralStatus::RujukBalik => "rujuk_balik",
            ReferralStatus::Selesai => "selesai",
        }
    }

    pub fn parse(s: &str) -> Option<ReferralStatus> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }

    pub fn label_id(self) -> &'static str {
        match self {
            ReferralStatus::Dirujuk => "Dirujuk",
            ReferralStatus::Diterima => "Diterima bidan",
            ReferralStatus::Ditangani => "Ditangani bidan",
            ReferralStatus::RujukBalik => "Rujuk balik ke Posyandu",
            ReferralStatus::Selesai => "Selesai",
        }
    }

    /// Position in the lifecycle: a later position wins over an earlier one whatever
    /// the order the steps arrived in. The two closing statuses share the last position.
    pub fn rank(self) -> u8 {
        match self {
            ReferralStatus::Dirujuk => 0,
            ReferralStatus::Diterima => 1,
            ReferralStatus::Ditangani => 2,
            ReferralStatus::RujukBalik | ReferralStatus::Selesai => 3,
        }
    }

    /// Who may record this status: `dirujuk` is the kader's; every other status is the
    /// bidan's (a kader cannot close a referral on the bidan's behalf).
    pub fn role(self) -> StepRole {
        match self {
            ReferralStatus::Dirujuk => StepRole::Kader,
            _ => StepRole::Bidan,
        }
    }

    /// The referral is closed for the bidan (no longer on her open list).
    pub fn is_closed(self) -> bool {
        self.rank() == 3
    }
}

/// A code of what the bidan did (`ditangani`); open set, a free short code is kept.
pub const ACTIONS: &[(&str, &str)] = &[
    ("pemeriksaan", "Pemeriksaan"),
    ("konseling_gizi", "Konseling gizi"),
    ("pmt", "Pemberian makanan tambahan (PMT)"),
    ("obat", "Pemberian obat"),
    ("rujuk_puskesmas", "Dirujuk lanjut ke Puskesmas"),
    ("rujuk_rs", "Dirujuk lanjut ke rumah sakit"),
    ("lainnya", "Lainnya"),
];

/// One step of a referral's history (append-only: written once, never edited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralStep {
    pub id: Uuid,
    pub status: ReferralStatus,
    pub role: StepRole,
    /// Kader id or bidan id.
    pub by: String,
    /// Unix seconds (writer's clock).
    pub at: i64,
    /// Coded action (see [`ACTIONS`]), for `ditangani`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Short note (≤ 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The bidan asks the kader for a home visit by this date.
    #[serde(with = "crate::model::iso_date_opt", default, skip_serializing_if = "Option::is_none")]
    pub follow_up_by: Option<Date>,
}

/// Where a reason of a referral came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonSource {
    /// Proposed by the rulebook ([`proposed_reasons`]) and confirmed by the kader.
    Rule,
    /// Chosen by the kader.
    Kader,
}

/// A referral of one member (document `referrals/<uuid>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralRecord {
    pub id: Uuid,
    pub member_id: Uuid,
    /// Day the kader raised it.
    #[serde(with = "crate::model::iso_date")]
    pub date: Date,
    /// Reason codes ([`REASONS`]; open: an unknown code is kept) and their source.
    pub reasons: std::collections::BTreeMap<String, ReasonSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The visit whose measurements triggered it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<Uuid>,
    /// Every step, ordered by (time, id); merging keeps them all.
    #[serde(default)]
    pub steps: Vec<ReferralStep>,
}

impl ReferralRecord {
    pub fn status(&self) -> ReferralStatus {
        current_status(&self.steps)
    }
}

/// The current status of a referral from its steps: the step furthest along the
/// lifecycle ([`ReferralStatus::rank`]); among steps of the same position the latest
/// (time, then step id). Deterministic whatever order concurrent offline steps
/// arrived in, and never moves back (a late `diterima` after `ditangani` does not
/// reopen it). No step (cannot happen for a written referral): `dirujuk`.
pub fn current_status(steps: &[ReferralStep]) -> ReferralStatus {
    steps.iter().max_by_key(|s| (s.status.rank(), s.at, s.id)).map_or(ReferralStatus::Dirujuk, |s| s.status)
}

/// The follow-up home visit the bidan asked for: the latest bidan step (time, id)
/// carrying a date, as `(by, asked_on)` — `asked_on` is the step's day (UTC+7).
pub fn follow_up(steps: &[ReferralStep]) -> Option<(Date, Date)> {
    steps
        .iter()
        .filter(|s| s.role == StepRole::Bidan && s.follow_up_by.is_some())
        .max_by_key(|s| (s.at, s.id))
        .and_then(|s| Some((s.follow_up_by?, step_day(s.at))))
}

/// The day (WIB, UTC+7) of a step's time.
pub fn step_day(at: i64) -> Date {
    let wib = time::UtcOffset::from_hms(7, 0, 0).expect("valid offset");
    time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH).to_offset(wib).date()
}

/// Whether a requested follow-up visit is still due: no home visit (`kunjungan_rumah`)
/// of the member recorded on or after the day it was asked for.
pub fn follow_up_pending(asked_on: Date, home_visits: &[Date]) -> bool {
    !home_visits.iter().any(|d| *d >= asked_on)
}

/// The date of "within `days` days" from `today`.
pub fn within_days(today: Date, days: u16) -> Date {
    today + time::Duration::days(i64::from(days))
}

/// Longest a bidan may ask for a follow-up ("within N days").
pub const MAX_FOLLOW_UP_DAYS: u16 = 90;

/// A reason a member may be referred for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonDef {
    pub code: &'static str,
    pub label_id: &'static str,
    /// The rulebook proposes it ([`proposed_reasons`]); otherwise the kader chooses it.
    pub proposed: bool,
    pub source: &'static str,
}

/// The reason codes (data, with their source). The KMS codes are the codes of
/// [`ReferralTrigger::code`].
pub const REASONS: &[ReasonDef] = &[
    ReasonDef {
        code: "2T",
        label_id: "Berat badan tidak naik dua kali berturut-turut (2T)",
        proposed: true,
        source: "Buku KIA 2023, halaman KMS (rujuk bila T); 2T as the programme's earlier trigger (rules::referral)",
    },
    ReasonDef {
        code: "T",
        label_id: "Berat badan tidak naik (T)",
        proposed: true,
        source: "Buku KIA 2023, halaman KMS: \"Rujuk Bila Berat Badan Anak Tidak Naik (T)\"",
    },
    ReasonDef {
        code: "BGM",
        label_id: "Berat badan di bawah garis merah (BGM)",
        proposed: true,
        source: "Buku KIA 2023, halaman KMS: \"di Bawah Garis Merah\"",
    },
    ReasonDef {
        code: "ATAS_ORANYE",
        label_id: "Berat badan di atas garis oranye",
        proposed: true,
        source: "Buku KIA 2023, halaman KMS: \"di Atas Garis Oranye\"",
    },
    ReasonDef {
        code: "KEK_HAMIL",
        label_id: "Ibu hamil KEK (LiLA < 23,5 cm)",
        proposed: true,
        source: "Buku KIA 2023 (ibu hamil: LiLA < 23,5 cm berisiko KEK, periksa ke tenaga kesehatan); rules::pregnancy",
    },
    ReasonDef {
        code: "HIPERTENSI",
        label_id: "Tekanan darah tinggi (hipertensi)",
        proposed: true,
        source: "Juknis Posbindu PTM / ILP: skrining positif dirujuk ke Puskesmas; thresholds rules::screening",
    },
    ReasonDef {
        code: "TANDA_BAHAYA",
        label_id: "Tanda bahaya (ibu hamil, nifas, bayi/balita sakit)",
        proposed: false,
        source: "Buku KIA 2023, tanda bahaya: segera bawa ke fasilitas kesehatan (chosen by the kader)",
    },
    ReasonDef { code: "LAINNYA", label_id: "Alasan lain (lihat catatan)", proposed: false, source: "kader" },
];

/// The definition of a reason code (`None`: a code of a newer version, kept as is).
pub fn reason(code: &str) -> Option<&'static ReasonDef> {
    REASONS.iter().find(|r| r.code == code)
}

/// Longest reason code and most reasons on one referral.
pub const MAX_REASON_CODE: usize = 40;
pub const MAX_REASONS: usize = 10;

impl From<ReferralTrigger> for &'static ReasonDef {
    fn from(t: ReferralTrigger) -> Self {
        reason(t.code()).expect("every KMS trigger has a reason code")
    }
}

/// The reasons the rulebook proposes to refer member `member_id` on `today`: the
/// standing KMS triggers of a child (2T, T, BGM, above the orange line:
/// [`referral::standing_triggers`]), KEK of a current pregnancy, and hypertension
/// at the member's latest blood-pressure reading (adults; [`screening::screen`]) when it
/// was this month or the previous one. Reasons of an open referral of the member are
/// not proposed again.
pub fn proposed_reasons(hh: &Household, member_id: Uuid, today: Date) -> Vec<&'static str> {
    let Some(m) = hh.member(member_id).filter(|m| !m.deleted) else { return Vec::new() };
    let mut out: Vec<&'static str> = Vec::new();
    let mut entries: Vec<(Date, &crate::model::VisitEntry)> = hh
        .visits
        .iter()
        .filter(|v| !v.deleted && v.date <= today)
        .flat_map(|v| v.entries.iter().filter(|e| e.member_id == member_id).map(move |e| (v.date, e)))
        .collect();
    entries.sort_by_key(|(d, _)| *d);
    let weighings: Vec<(Date, f64)> =
        entries.iter().filter_map(|(d, e)| e.measurements.weight_kg.map(|kg| (*d, kg))).collect();
    for t in referral::standing_triggers(m.sex, m.birth_date, &weighings, today) {
        out.push(t.code());
    }
    let episodes: Vec<_> = hh
        .pregnancies
        .iter()
        .filter(|p| !p.deleted && p.member_id == member_id)
        .map(|p| (p.lmp, p.due_date, p.ended, p.kek))
        .collect();
    if pregnancy_status(episodes.iter().map(|e| (e.0, e.1, e.2)), today) == PregnancyStatus::Pregnant
        && episodes.iter().max_by_key(|e| e.0).is_some_and(|e| e.3)
    {
        out.push("KEK_HAMIL");
    }
    let recent = |d: Date| d <= today && (0..=1).contains(&crate::growth::kms_age_months(d, today));
    if let Some((d, e)) = entries
        .iter()
        .rev()
        .find(|(_, e)| e.measurements.bp_systolic_mmhg.is_some() || e.measurements.bp_diastolic_mmhg.is_some())
    {
        if recent(*d) && screening::screen(m.sex, m.birth_date, *d, &e.measurements).hypertension == Some(true) {
            out.push("HIPERTENSI");
        }
    }
    let open: std::collections::HashSet<&str> = hh
        .referrals
        .iter()
        .filter(|r| r.member_id == member_id && !r.status().is_closed())
        .flat_map(|r| r.reasons.keys().map(String::as_str))
        .collect();
    out.retain(|c| !open.contains(c));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(status: ReferralStatus, at: i64, n: u128) -> ReferralStep {
        ReferralStep {
            id: Uuid::from_u128(n),
            status,
            role: status.role(),
            by: "x".into(),
            at,
            action: None,
            note: None,
            follow_up_by: None,
        }
    }

    #[test]
    fn status_is_furthest_step_whatever_the_order() {
        use ReferralStatus::*;
        let a = step(Dirujuk, 100, 1);
        let b = step(Diterima, 300, 2);
        let c = step(Ditangani, 200, 3); // recorded offline with an earlier clock
        for order in [vec![&a, &b, &c], vec![&c, &b, &a], vec![&b, &a, &c]] {
            let steps: Vec<ReferralStep> = order.into_iter().cloned().collect();
            assert_eq!(current_status(&steps), Ditangani);
        }
        // Two closing steps: the later one wins; same time: the larger id.
        let s = [a.clone(), step(Selesai, 500, 4), step(RujukBalik, 400, 5)];
        assert_eq!(current_status(&s), Selesai);
        let s = [a.clone(), step(Selesai, 500, 4), step(RujukBalik, 500, 5)];
        assert_eq!(current_status(&s), RujukBalik);
        assert_eq!(current_status(&[a]), Dirujuk);
        assert!(Selesai.is_closed() && RujukBalik.is_closed() && !Ditangani.is_closed());
        assert_eq!(Diterima.role(), StepRole::Bidan);
        assert_eq!(Dirujuk.role(), StepRole::Kader);
    }

    #[test]
    fn follow_up_is_the_latest_request_until_a_home_visit() {
        let mut s1 = step(ReferralStatus::Ditangani, 1_800_000_000, 1);
        s1.follow_up_by = Some(time::macros::date!(2027 - 01 - 20));
        let mut s2 = step(ReferralStatus::Selesai, 1_800_100_000, 2);
        s2.follow_up_by = Some(time::macros::date!(2027 - 01 - 25));
        let (by, asked) = follow_up(&[s2.clone(), s1.clone()]).unwrap();
        assert_eq!(by, time::macros::date!(2027 - 01 - 25));
        assert_eq!(asked, step_day(1_800_100_000));
        assert!(follow_up_pending(asked, &[asked - time::Duration::days(1)]));
        assert!(!follow_up_pending(asked, &[asked]));
        assert!(follow_up(&[step(ReferralStatus::Ditangani, 5, 3)]).is_none());
        assert_eq!(within_days(time::macros::date!(2027 - 01 - 30), 3), time::macros::date!(2027 - 02 - 02));
    }

    #[test]
    fn every_trigger_and_reason_code_is_catalogued_once() {
        for t in [
            ReferralTrigger::TidakNaik,
            ReferralTrigger::DuaT,
            ReferralTrigger::BawahGarisMerah,
            ReferralTrigger::AtasGarisOranye,
        ] {
            let def: &ReasonDef = t.into();
            assert!(def.proposed);
        }
        let mut codes: Vec<&str> = REASONS.iter().map(|r| r.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), REASONS.len());
        assert!(REASONS.iter().all(|r| r.code.len() <= MAX_REASON_CODE && !r.source.is_empty()));
    }
}
