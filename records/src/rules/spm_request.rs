//! SPM requests (issue 13, "SPM needs handed to the desa"): the catalogue of coded
//! needs per SPM area and of the offices (OPD) a desa forwards them to (data:
//! `records/data/rules/spm_needs.json`, each entry with its source), the statuses
//! *dicatat → diverifikasi → diteruskan ke desa → diteruskan ke OPD → selesai / ditolak*,
//! who may record each, and the current status derived from the append-only steps.
//! `docs/rules.md`, "SPM requests".
//!
//! Pure: the document layout is in `crate::doc` (`spm_steps`, `spm_notes`), the relay's
//! checks and the desa's writer in `posyandu-server`.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use time::Date;
use uuid::Uuid;

use crate::model::SpmArea;

/// A request's status. Open enum in the document (a newer version may add one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpmStatus {
    /// Raised by a kader (the first step of every request; two kader raising the same
    /// need for the same subject both record one).
    Dicatat,
    /// Checked by the Posyandu's kader koordinator.
    Diverifikasi,
    /// Handed by the koordinator to the desa/kelurahan.
    DiteruskanKeDesa,
    /// Forwarded by the desa to a regional office (OPD); may be repeated (another office).
    DiteruskanKeOpd,
    /// Closed: the need was met.
    Selesai,
    /// Closed: refused, with a reason.
    Ditolak,
}

/// Who records a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpmRole {
    Kader,
    Koordinator,
    Desa,
}

impl SpmStatus {
    pub const ALL: [SpmStatus; 6] = [
        SpmStatus::Dicatat,
        SpmStatus::Diverifikasi,
        SpmStatus::DiteruskanKeDesa,
        SpmStatus::DiteruskanKeOpd,
        SpmStatus::Selesai,
        SpmStatus::Ditolak,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SpmStatus::Dicatat => "dicatat",
            SpmStatus::Diverifikasi => "diverifikasi",
            SpmStatus::DiteruskanKeDesa => "diteruskan_ke_desa",
            SpmStatus::DiteruskanKeOpd => "diteruskan_ke_opd",
            SpmStatus::Selesai => "selesai",
            SpmStatus::Ditolak => "ditolak",
        }
    }

    pub fn parse(s: &str) -> Option<SpmStatus> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }

    pub fn label_id(self) -> &'static str {
        match self {
            SpmStatus::Dicatat => "Dicatat kader",
            SpmStatus::Diverifikasi => "Diverifikasi kader koordinator",
            SpmStatus::DiteruskanKeDesa => "Diteruskan ke desa/kelurahan",
            SpmStatus::DiteruskanKeOpd => "Diteruskan ke OPD",
            SpmStatus::Selesai => "Selesai",
            SpmStatus::Ditolak => "Ditolak",
        }
    }

    /// Position in the lifecycle; the two closing statuses share the last one.
    pub fn rank(self) -> u8 {
        match self {
            SpmStatus::Dicatat => 0,
            SpmStatus::Diverifikasi => 1,
            SpmStatus::DiteruskanKeDesa => 2,
            SpmStatus::DiteruskanKeOpd => 3,
            SpmStatus::Selesai | SpmStatus::Ditolak => 4,
        }
    }

    /// Who may record this status: `dicatat` any kader; `diverifikasi` and
    /// `diteruskan_ke_desa` the koordinator; the rest the desa (through the relay).
    pub fn role(self) -> SpmRole {
        match self {
            SpmStatus::Dicatat => SpmRole::Kader,
            SpmStatus::Diverifikasi | SpmStatus::DiteruskanKeDesa => SpmRole::Koordinator,
            SpmStatus::DiteruskanKeOpd | SpmStatus::Selesai | SpmStatus::Ditolak => SpmRole::Desa,
        }
    }

    /// Recorded on the desa side (never by a phone).
    pub fn is_desa_side(self) -> bool {
        self.role() == SpmRole::Desa
    }

    pub fn is_closed(self) -> bool {
        self.rank() == 4
    }

    /// Whether a step of status `next` may follow the current status `self`.
    pub fn may_follow(self, next: SpmStatus) -> bool {
        use SpmStatus::*;
        matches!(
            (self, next),
            (Dicatat, Dicatat)
                | (Dicatat, Diverifikasi)
                | (Diverifikasi, DiteruskanKeDesa)
                | (DiteruskanKeDesa, DiteruskanKeOpd | Selesai | Ditolak)
                | (DiteruskanKeOpd, DiteruskanKeOpd | Selesai | Ditolak)
        )
    }
}

/// Longest note text (characters).
pub const MAX_NOTE: usize = 280;
/// Longest refusal reason (characters).
pub const MAX_REASON: usize = 280;
/// Longest need or office code.
pub const MAX_CODE: usize = 40;
/// Most steps / notes one request holds.
pub const MAX_STEPS: usize = 30;
pub const MAX_NOTES: usize = 30;
/// The subject of a household-level need.
pub const HOUSEHOLD_SUBJECT: &str = "household";

/// One step of a request's history (append-only: written once, never edited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpmStep {
    pub id: Uuid,
    pub status: SpmStatus,
    pub role: SpmRole,
    /// Kader id, or `desa:<desa id>` for a desa step.
    pub by: String,
    /// Unix seconds (writer's clock).
    pub at: i64,
    /// The area, on `dicatat` steps (the raising kader's choice from the catalogue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<SpmArea>,
    /// The office (catalogue code), on `diteruskan_ke_opd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// Why, on `ditolak`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A kader's note on a request (each kader reporting the same need adds one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpmNote {
    pub id: Uuid,
    /// ≤ [`MAX_NOTE`] characters.
    pub text: String,
    pub kader_id: String,
    pub at: i64,
}

/// A tracked SPM need of a person or a household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpmRequest {
    /// `<member uuid>:<need>` or `household:<need>` ([`request_key`]).
    pub key: String,
    pub area: SpmArea,
    /// Need code ([`need`]; an unknown code of a newer version is kept).
    pub need: String,
    /// The member, or `None` for the household itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<Uuid>,
    /// Notes ordered by (time, id).
    #[serde(default)]
    pub notes: Vec<SpmNote>,
    /// Every step, ordered by time (same second: lifecycle order, then id).
    #[serde(default)]
    pub steps: Vec<SpmStep>,
}

impl SpmRequest {
    pub fn status(&self) -> SpmStatus {
        derive_status(&self.steps).status
    }

    /// When it was first raised (the earliest `dicatat` step), Unix seconds.
    pub fn raised_at(&self) -> i64 {
        self.steps.iter().filter(|s| s.status == SpmStatus::Dicatat).map(|s| s.at).min().unwrap_or(0)
    }

    /// Whole days it has been open on `today` (WIB), from the day it was raised; for a
    /// closed request, until the day it was closed.
    pub fn days_open(&self, today: Date) -> i64 {
        let d = derive_status(&self.steps);
        let start = crate::rules::referral_lifecycle::step_day(self.raised_at());
        let end = d.closed_at.map_or(today, crate::rules::referral_lifecycle::step_day);
        (end - start).whole_days().max(0)
    }

    /// The office it was last forwarded to, if any.
    pub fn office(&self) -> Option<&str> {
        derive_status(&self.steps).office.and_then(|i| self.steps.get(i)).and_then(|s| s.office.as_deref())
    }
}

/// The key of a request: `<member uuid>:<need>` or `household:<need>`. Deterministic,
/// so two kader raising the same need for the same subject offline write the same
/// request.
pub fn request_key(member_id: Option<Uuid>, need: &str) -> String {
    match member_id {
        Some(m) => format!("{m}:{need}"),
        None => format!("{HOUSEHOLD_SUBJECT}:{need}"),
    }
}

/// Splits a request key into (member or household, need code); `None` if malformed.
pub fn parse_key(key: &str) -> Option<(Option<Uuid>, &str)> {
    let (subject, need) = key.split_once(':')?;
    if !is_code(need) {
        return None;
    }
    if subject == HOUSEHOLD_SUBJECT {
        return Some((None, need));
    }
    Some((Some(Uuid::parse_str(subject).ok().filter(|u| u.to_string() == subject)?), need))
}

/// A catalogue code: 1–40 of `a-z`, `0-9`, `_`.
pub fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_CODE && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The status derived from a request's steps, and the steps it ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub status: SpmStatus,
    /// Index (in the given slice) of the step that set the status.
    pub current: Option<usize>,
    /// Index of the last valid `diteruskan_ke_opd` step.
    pub office: Option<usize>,
    /// When it was closed (the closing step's time).
    pub closed_at: Option<i64>,
    /// Indexes of steps that are not a valid transition (ignored).
    pub ignored: Vec<usize>,
}

/// The current status from the steps: the steps are replayed in the order of the
/// lifecycle (rank, then time, then step id) — so the result does not depend on the
/// order concurrent offline steps arrived in — and each is kept only when it is a
/// valid transition from the status reached so far ([`SpmStatus::may_follow`]);
/// invalid ones (a `selesai` of a request never forwarded to the desa, a second
/// closing step) are ignored and listed. No step: `dicatat`.
pub fn derive_status(steps: &[SpmStep]) -> Derived {
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| (steps[i].status.rank(), steps[i].at, steps[i].id));
    let mut d =
        Derived { status: SpmStatus::Dicatat, current: None, office: None, closed_at: None, ignored: Vec::new() };
    let mut started = false;
    for i in order {
        let s = &steps[i];
        let ok = if started { d.status.may_follow(s.status) } else { s.status == SpmStatus::Dicatat };
        if !ok || s.status.role() != s.role {
            d.ignored.push(i);
            continue;
        }
        started = true;
        d.status = s.status;
        d.current = Some(i);
        if s.status == SpmStatus::DiteruskanKeOpd {
            d.office = Some(i);
        }
        if s.status.is_closed() {
            d.closed_at = Some(s.at);
        }
    }
    d.ignored.sort_unstable();
    d
}

// ---- the catalogue ------------------------------------------------------------------

/// Whom a need concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeedSubject {
    Member,
    Household,
}

/// A coded need.
#[derive(Debug, Clone, Deserialize)]
pub struct NeedDef {
    pub code: String,
    pub area: SpmArea,
    pub subject: NeedSubject,
    pub label_id: String,
    pub source: String,
}

/// An office (OPD) a desa forwards to.
#[derive(Debug, Clone, Deserialize)]
pub struct OfficeDef {
    pub code: String,
    pub label_id: String,
    pub areas: Vec<SpmArea>,
    pub source: String,
}

#[derive(Deserialize)]
struct Offices {
    entries: Vec<OfficeDef>,
}

#[derive(Deserialize)]
struct Catalogue {
    entries: Vec<NeedDef>,
    offices: Offices,
}

fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| super::table::parse::<Catalogue>("spm_needs"))
}

/// Every coded need.
pub fn needs() -> &'static [NeedDef] {
    &catalogue().entries
}

/// A need by code.
pub fn need(code: &str) -> Option<&'static NeedDef> {
    needs().iter().find(|n| n.code == code)
}

/// Every office.
pub fn offices() -> &'static [OfficeDef] {
    &catalogue().offices.entries
}

/// An office by code.
pub fn office(code: &str) -> Option<&'static OfficeDef> {
    offices().iter().find(|o| o.code == code)
}

/// The label of a need (the code itself for a code of a newer version).
pub fn need_label(code: &str) -> String {
    need(code).map_or_else(|| code.to_string(), |n| n.label_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: u128, status: SpmStatus, at: i64) -> SpmStep {
        SpmStep {
            id: Uuid::from_u128(n),
            status,
            role: status.role(),
            by: "K-1".into(),
            at,
            area: (status == SpmStatus::Dicatat).then_some(SpmArea::Sosial),
            office: (status == SpmStatus::DiteruskanKeOpd).then(|| "dinsos".into()),
            reason: None,
        }
    }

    #[test]
    fn the_catalogue_covers_the_six_areas_and_every_office_is_known() {
        for area in SpmArea::ALL {
            assert!(needs().iter().any(|n| n.area == area), "{area:?} has no need");
            assert!(offices().iter().any(|o| o.areas.contains(&area)), "{area:?} has no office");
        }
        for n in needs() {
            assert!(is_code(&n.code), "{}", n.code);
        }
        for o in offices() {
            assert!(is_code(&o.code), "{}", o.code);
        }
        assert_eq!(need("rutilahu").map(|n| (n.area, n.subject)), Some((SpmArea::Perumahan, NeedSubject::Household)));
        assert_eq!(need("alat_bantu_disabilitas").map(|n| n.area), Some(SpmArea::Sosial));
        assert_eq!(need_label("baru_versi_lain"), "baru_versi_lain");
    }

    #[test]
    fn keys_round_trip_and_reject_junk() {
        let m = Uuid::from_u128(0xabcd_ef01_2345_6789_abcd_ef01_2345_6789);
        assert_eq!(parse_key(&request_key(Some(m), "jamban")), Some((Some(m), "jamban")));
        assert_eq!(parse_key(&request_key(None, "rutilahu")), Some((None, "rutilahu")));
        for bad in ["rutilahu", "household:", "household:Rutilahu", "x:jamban", "household:a/b", &format!("{m}:")] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
        // A UUID in another spelling would make a second key for one subject.
        assert_eq!(parse_key(&format!("{}:jamban", m.to_string().to_uppercase())), None);
    }

    #[test]
    fn the_status_follows_the_lifecycle_whatever_the_arrival_order() {
        let steps = vec![
            step(5, SpmStatus::Selesai, 500),
            step(3, SpmStatus::DiteruskanKeDesa, 300),
            step(1, SpmStatus::Dicatat, 100),
            step(4, SpmStatus::DiteruskanKeOpd, 400),
            step(2, SpmStatus::Diverifikasi, 200),
        ];
        let d = derive_status(&steps);
        assert_eq!(d.status, SpmStatus::Selesai);
        assert!(d.ignored.is_empty());
        assert_eq!(d.closed_at, Some(500));
        let mut rev = steps.clone();
        rev.reverse();
        assert_eq!(derive_status(&rev).status, SpmStatus::Selesai);
        // A clock-skewed phone: the koordinator's verification carries an earlier time
        // than the raising; the lifecycle order still applies it.
        let skew = vec![step(1, SpmStatus::Dicatat, 1_000), step(2, SpmStatus::Diverifikasi, 10)];
        assert_eq!(derive_status(&skew).status, SpmStatus::Diverifikasi);
    }

    #[test]
    fn invalid_transitions_are_ignored_and_listed() {
        // Closed by the desa before the koordinator forwarded it: ignored.
        let steps = vec![step(1, SpmStatus::Dicatat, 100), step(2, SpmStatus::Selesai, 200)];
        let d = derive_status(&steps);
        assert_eq!((d.status, d.ignored), (SpmStatus::Dicatat, vec![1]));
        // Two closing steps: the first (time, id) wins, the other is listed.
        let steps = vec![
            step(1, SpmStatus::Dicatat, 100),
            step(2, SpmStatus::Diverifikasi, 110),
            step(3, SpmStatus::DiteruskanKeDesa, 120),
            step(9, SpmStatus::Ditolak, 300),
            step(8, SpmStatus::Selesai, 300),
        ];
        let d = derive_status(&steps);
        assert_eq!((d.status, d.ignored), (SpmStatus::Selesai, vec![3]));
        // No `dicatat` at all: nothing counts.
        let d = derive_status(&[step(2, SpmStatus::Diverifikasi, 1)]);
        assert_eq!((d.status, d.current, d.ignored), (SpmStatus::Dicatat, None, vec![0]));
        // A step whose role is not its status's role is ignored.
        let mut forged = step(2, SpmStatus::Diverifikasi, 2);
        forged.role = SpmRole::Kader;
        let d = derive_status(&[step(1, SpmStatus::Dicatat, 1), forged]);
        assert_eq!((d.status, d.ignored), (SpmStatus::Dicatat, vec![1]));
    }

    #[test]
    fn a_request_is_forwarded_to_the_last_office_and_days_open_stop_at_closing() {
        let mut second = step(6, SpmStatus::DiteruskanKeOpd, 1_800_300_000);
        second.office = Some("disperkim".into());
        let r = SpmRequest {
            key: "household:rutilahu".into(),
            area: SpmArea::Perumahan,
            need: "rutilahu".into(),
            member_id: None,
            notes: Vec::new(),
            steps: vec![
                step(1, SpmStatus::Dicatat, 1_800_000_000),
                step(2, SpmStatus::Diverifikasi, 1_800_000_100),
                step(3, SpmStatus::DiteruskanKeDesa, 1_800_000_200),
                step(4, SpmStatus::DiteruskanKeOpd, 1_800_100_000),
                second,
            ],
        };
        assert_eq!(r.status(), SpmStatus::DiteruskanKeOpd);
        assert_eq!(r.office(), Some("disperkim"));
        let raised = crate::rules::referral_lifecycle::step_day(1_800_000_000);
        assert_eq!(r.days_open(raised + time::Duration::days(10)), 10);
        let mut closed = r.clone();
        closed.steps.push(step(7, SpmStatus::Selesai, 1_800_000_000 + 3 * 86_400));
        assert_eq!(closed.status(), SpmStatus::Selesai);
        assert_eq!(closed.days_open(raised + time::Duration::days(10)), 3);
    }
}
