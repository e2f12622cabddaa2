//! A referral with a lifecycle (issue 12, `referrals/<uuid>`) as a SATUSEHAT
//! `ServiceRequest` (one per referral, stable id and identifier from the referral id):
//!
//! - `status` from the rulebook's derived status ([`fhir_status`]): *dirujuk*,
//!   *diterima*, *ditangani* → `active` (the request is being acted on); *rujuk balik*,
//!   *selesai* → `completed`.
//! - `intent` `order`; `category` and `code` SNOMED CT 3457005 Patient referral (as the
//!   older free-text referral).
//! - `subject` the Patient; `encounter` the Encounter of the visit it was raised at,
//!   when that visit is in the bundle (a referral raised outside a visit has none:
//!   `encounter` is 0..1 in R4).
//! - `authoredOn` the kader's `dirujuk` step (its time in the Posyandu's UTC offset), else
//!   the referral's day at 00:00.
//! - `requester` the Posyandu's Organization (kader work is attributed to the Posyandu,
//!   as in the rest of the export: a kader has no Practitioner IHS number); `performer`
//!   the responsible bidan configured for the Posyandu (`admin satusehat --bidan`).
//! - `reasonCode`: every reason code in the local system [`REASON_SYSTEM`] with its
//!   Indonesian label; a free-text referral of the same visit entry is merged in as one
//!   more `reasonCode` text (no second ServiceRequest).

use posyandu_records::model::{Referral, ReferralRecord, ReferralStatus};
use serde_json::{json, Value};

use super::build::{sys_ids, ExportContext};
use super::codes::concept;

/// Local code system of the referral reason codes (`rules::referral_lifecycle::REASONS`).
pub const REASON_SYSTEM: &str = "https://posyandu-sync.id/fhir/CodeSystem/referral-reason";

/// FHIR `ServiceRequest.status` of a referral status.
pub fn fhir_status(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Dirujuk | ReferralStatus::Diterima | ReferralStatus::Ditangani => "active",
        ReferralStatus::RujukBalik | ReferralStatus::Selesai => "completed",
    }
}

/// `+07:00` → the offset (`None` for anything else).
fn parse_offset(s: &str) -> Option<time::UtcOffset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s.get(1..)?.split_once(':')?;
    time::UtcOffset::from_hms(sign * h.parse::<i8>().ok()?, sign * m.parse::<i8>().ok()?, 0).ok()
}

/// `authoredOn`: the first kader step's time in the Posyandu's offset, else the day.
pub fn authored_on(r: &ReferralRecord, offset: &str) -> String {
    let at = r.steps.iter().filter(|s| s.status == ReferralStatus::Dirujuk).map(|s| s.at).min();
    let formatted = at.zip(parse_offset(offset)).and_then(|(at, off)| {
        let t = time::OffsetDateTime::from_unix_timestamp(at).ok()?.to_offset(off).replace_nanosecond(0).ok()?;
        t.format(&time::format_description::well_known::Rfc3339).ok()
    });
    formatted.unwrap_or_else(|| format!("{}T00:00:00{offset}", posyandu_records::model::format_date(r.date)))
}

/// The ServiceRequest of referral `r` (id, resource): `subject` a Patient reference,
/// `encounter` the visit's Encounter if it is in the bundle, `free_text` the visit
/// entry's older free-text referral it replaces.
pub fn service_request(
    ctx: &ExportContext,
    r: &ReferralRecord,
    subject: &str,
    encounter: Option<&str>,
    free_text: Option<&Referral>,
) -> (String, Value) {
    let c = &ctx.config;
    let id = super::derived_id(&["service-request-referral", &r.id.to_string()]);
    let mut reasons: Vec<Value> = r
        .reasons
        .keys()
        .map(|code| {
            let label = crate::puskesmas::referrals::reason_label(code);
            json!({ "coding": [{ "system": REASON_SYSTEM, "code": code, "display": label }], "text": label })
        })
        .collect();
    if let Some(f) = free_text.filter(|f| !f.reason.trim().is_empty()) {
        reasons.push(json!({ "text": f.reason }));
    }
    let mut sr = json!({
        "resourceType": "ServiceRequest",
        "id": id,
        "identifier": [{ "system": sys_ids("servicerequest", &c.puskesmas_org_id), "value": id }],
        "status": fhir_status(r.status()),
        "intent": "order",
        "category": [concept("referral")],
        "code": concept("referral"),
        "subject": { "reference": subject },
        "authoredOn": authored_on(r, &c.utc_offset),
        "requester": { "reference": format!("Organization/{}", c.org_id), "display": c.posyandu_name },
        "performer": [{ "reference": format!("Practitioner/{}", c.bidan_ihs), "display": c.bidan_name }],
        "reasonCode": reasons,
    });
    if let Some(e) = encounter {
        sr["encounter"] = json!({ "reference": e });
    }
    (id, sr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_open_to_active_and_closed_to_completed() {
        let got: Vec<&str> = ReferralStatus::ALL.iter().map(|s| fhir_status(*s)).collect();
        assert_eq!(got, ["active", "active", "active", "completed", "completed"]);
        assert_eq!(parse_offset("+08:00"), time::UtcOffset::from_hms(8, 0, 0).ok());
        assert_eq!(parse_offset("-03:30"), time::UtcOffset::from_hms(-3, -30, 0).ok());
        assert_eq!(parse_offset("08:00"), None);
    }
}
