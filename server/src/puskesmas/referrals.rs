//! Referrals with a lifecycle (issue 12, `Household::referrals`) on the Puskesmas side:
//! the export's `referral` NDJSON lines and `table=referrals` CSV, and the monthly
//! report's counts by status and reason. The status is derived by the rulebook
//! (`rules::referral_lifecycle`), never stored; the FHIR `ServiceRequest` is in
//! `fhir/build.rs`.
//!
//! Least data: the referral id, member id, reasons (code, label, source), the derived
//! status, every step's status, role, who (kader id or bidan id — no other bidan data),
//! time and day, coded action, and the follow-up date; no note (the read model does not
//! keep them).

use std::collections::BTreeMap;

use posyandu_records::model::{format_date, Household, ReasonSource, ReferralRecord, ReferralStatus, StepRole};
use posyandu_records::rules::referral_lifecycle::{self as lifecycle, REASONS};
use serde::Serialize;
use serde_json::{json, Value};
use time::Date;

fn source_code(s: ReasonSource) -> &'static str {
    match s {
        ReasonSource::Rule => "rule",
        ReasonSource::Kader => "kader",
    }
}

fn role_code(r: StepRole) -> &'static str {
    match r {
        StepRole::Kader => "kader",
        StepRole::Bidan => "bidan",
    }
}

/// The label of a reason code (the code itself for one of a newer app version).
pub fn reason_label(code: &str) -> String {
    lifecycle::reason(code).map_or_else(|| code.to_string(), |d| d.label_id.to_string())
}

/// The referrals to export: those of a member of the household that is not deleted.
pub fn exported(hh: &Household) -> impl Iterator<Item = &ReferralRecord> {
    hh.referrals.iter().filter(move |r| hh.member(r.member_id).is_some_and(|m| !m.deleted))
}

const CLOSING: [ReferralStatus; 2] = [ReferralStatus::RujukBalik, ReferralStatus::Selesai];

/// One NDJSON `referral` line. Steps in time order; steps of the same second (a bidan
/// recording two at once) in lifecycle order.
pub fn ndjson_line(hh: &Household, r: &ReferralRecord) -> Value {
    let status = r.status();
    let mut steps: Vec<_> = r.steps.iter().collect();
    steps.sort_by_key(|s| (s.at, s.status.rank(), s.id));
    json!({
        "type": "referral",
        "household_id": hh.id,
        "referral_id": r.id,
        "member_id": r.member_id,
        "date": format_date(r.date),
        "visit_id": r.visit_id,
        "status": status.code(),
        "status_label": status.label_id(),
        "closed": status.is_closed(),
        "reasons": r.reasons.iter().map(|(code, src)| json!({
            "code": code,
            "label": reason_label(code),
            "source": source_code(*src),
        })).collect::<Vec<_>>(),
        "steps": steps.iter().map(|s| json!({
            "step_id": s.id,
            "status": s.status.code(),
            "role": role_code(s.role),
            "by": s.by,
            "at": s.at,
            "date": format_date(lifecycle::step_day(s.at)),
            "action": s.action,
            "follow_up_by": s.follow_up_by.map(format_date),
        })).collect::<Vec<_>>(),
        "follow_up_by": lifecycle::follow_up(&r.steps).map(|(by, _)| format_date(by)),
    })
}

/// Columns of the referral CSV (`/v1/export?format=csv&table=referrals`): one row per
/// referral; the dates are the first day (WIB) of each step; `*_by` the kader or bidan id.
pub const CSV_HEADER: &[&str] = &[
    "posyandu_id",
    "household_id",
    "rt",
    "rw",
    "kode_wilayah",
    "referral_id",
    "member_id",
    "date",
    "visit_id",
    "reasons",
    "reason_sources",
    "status",
    "closed",
    "raised_by",
    "received_on",
    "received_by",
    "handled_on",
    "handled_by",
    "action",
    "closed_on",
    "closed_status",
    "closed_by",
    "follow_up_by",
    "steps",
];

/// The CSV row of a referral.
pub fn csv_row(hh: &Household, r: &ReferralRecord) -> Vec<String> {
    let status = r.status();
    let first = |statuses: &[ReferralStatus]| {
        r.steps.iter().filter(|s| statuses.contains(&s.status)).min_by_key(|s| (s.at, s.id))
    };
    let raised = first(&[ReferralStatus::Dirujuk]);
    let received = first(&[ReferralStatus::Diterima]);
    let handled = first(&[ReferralStatus::Ditangani]);
    let closed = first(&CLOSING);
    let day = |s: Option<&posyandu_records::model::ReferralStep>| {
        s.map(|s| format_date(lifecycle::step_day(s.at))).unwrap_or_default()
    };
    let by = |s: Option<&posyandu_records::model::ReferralStep>| s.map(|s| s.by.clone()).unwrap_or_default();
    let action = r
        .steps
        .iter()
        .filter(|s| s.action.is_some())
        .max_by_key(|s| (s.at, s.id))
        .and_then(|s| s.action.clone())
        .unwrap_or_default();
    vec![
        hh.posyandu_id.clone(),
        hh.id.to_string(),
        hh.address.rt.clone(),
        hh.address.rw.clone(),
        hh.address.kode_wilayah.clone(),
        r.id.to_string(),
        r.member_id.to_string(),
        format_date(r.date),
        r.visit_id.map(|v| v.to_string()).unwrap_or_default(),
        r.reasons.keys().cloned().collect::<Vec<_>>().join(";"),
        r.reasons.values().map(|s| source_code(*s)).collect::<Vec<_>>().join(";"),
        status.code().to_string(),
        status.is_closed().to_string(),
        by(raised),
        day(received),
        by(received),
        day(handled),
        by(handled),
        action,
        day(closed),
        closed.map(|s| s.status.code().to_string()).unwrap_or_default(),
        by(closed),
        lifecycle::follow_up(&r.steps).map(|(d, _)| format_date(d)).unwrap_or_default(),
        r.steps.len().to_string(),
    ]
}

/// Referral counts of one group (all, or one reason) in the month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepCounts {
    /// Raised (`dirujuk`, the referral's date) in the month.
    pub raised: u32,
    /// With a `diterima` step dated in the month.
    pub received: u32,
    /// With a `ditangani` step dated in the month.
    pub handled: u32,
    /// With a closing step (`rujuk_balik` or `selesai`) dated in the month.
    pub closed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCounts {
    pub code: String,
    pub label: String,
    #[serde(flatten)]
    pub counts: StepCounts,
}

/// The month's referrals with a lifecycle (issue 12). A step counts in the month of its
/// day (WIB); a referral counts once per kind of step even with two such steps (two
/// bidan offline). `status_at_month_end`: the referrals raised in the month by their
/// status derived from the steps recorded up to the month's last day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReferralCounts {
    #[serde(flatten)]
    pub total: StepCounts,
    /// Status code → referrals raised in the month with that status at the month's end
    /// (every status listed, zeros included).
    pub status_at_month_end: BTreeMap<&'static str, u32>,
    /// Per reason code, in the catalogue's order (codes of newer versions after), only
    /// reasons with a count.
    pub by_reason: Vec<ReasonCounts>,
}

impl ReferralCounts {
    pub fn new() -> ReferralCounts {
        ReferralCounts {
            status_at_month_end: ReferralStatus::ALL.iter().map(|s| (s.code(), 0)).collect(),
            ..Default::default()
        }
    }

    /// Adds the referrals of one household for the month `first..=last`.
    pub fn add(&mut self, hh: &Household, first: Date, last: Date) {
        let in_month = |d: Date| first <= d && d <= last;
        for r in exported(hh) {
            let step_in = |statuses: &[ReferralStatus]| {
                r.steps.iter().any(|s| statuses.contains(&s.status) && in_month(lifecycle::step_day(s.at)))
            };
            let c = StepCounts {
                raised: in_month(r.date) as u32,
                received: step_in(&[ReferralStatus::Diterima]) as u32,
                handled: step_in(&[ReferralStatus::Ditangani]) as u32,
                closed: step_in(&CLOSING) as u32,
            };
            if c == StepCounts::default() {
                continue;
            }
            if c.raised == 1 {
                let upto: Vec<_> = r.steps.iter().filter(|s| lifecycle::step_day(s.at) <= last).cloned().collect();
                *self.status_at_month_end.entry(lifecycle::current_status(&upto).code()).or_default() += 1;
            }
            add_counts(&mut self.total, &c);
            for code in r.reasons.keys() {
                match self.by_reason.iter_mut().find(|x| &x.code == code) {
                    Some(x) => add_counts(&mut x.counts, &c),
                    None => self.by_reason.push(ReasonCounts {
                        code: code.clone(),
                        label: reason_label(code),
                        counts: c.clone(),
                    }),
                }
            }
        }
    }

    /// Orders the reasons as the catalogue does (unknown codes after, by code).
    pub fn finish(&mut self) {
        let pos = |code: &str| REASONS.iter().position(|r| r.code == code).unwrap_or(usize::MAX);
        self.by_reason.sort_by(|a, b| (pos(&a.code), &a.code).cmp(&(pos(&b.code), &b.code)));
    }
}

fn add_counts(to: &mut StepCounts, c: &StepCounts) {
    to.raised += c.raised;
    to.received += c.received;
    to.handled += c.handled;
    to.closed += c.closed;
}
