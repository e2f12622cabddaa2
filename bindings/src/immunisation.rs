//! The immunisation schedule and vitamin A rules of the core, for the app: the antigen
//! list (the app's antigen picker is built from it), each antigen's status for a child
//! on a day, the vitamin A capsule for an age and whether the current vitamin A round
//! was missed. Thin: every answer is the core's (`posyandu_core::rules`).

use posyandu_core::model::format_date;
use posyandu_core::rules::{immunisation as im, vitamin_a as va};

use crate::error::{parse_date, parse_date_opt, Result};
use crate::member::mirror_enum;
use crate::visit::VitaminACapsule;

/// Programme an antigen belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AntigenGroup {
    /// Child schedule (imunisasi dasar and baduta boosters).
    Anak,
    /// School programme (BIAS), by grade.
    Bias,
    /// Td for women of child-bearing age.
    Wus,
    /// Regional programme in endemic areas (JE).
    DaerahEndemis,
}
mirror_enum!(AntigenGroup, im::AntigenGroup, [Anak, Bias, Wus, DaerahEndemis]);

/// One antigen code the system records, in schedule order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AntigenInfo {
    /// Code stored in visits, e.g. "DPT_HB_HIB1".
    pub code: String,
    pub group: AntigenGroup,
    /// First eligible birth date (`YYYY-MM-DD`), e.g. rotavirus "2023-05-16".
    pub born_from: Option<String>,
    /// Where the rule comes from (regulation, guideline).
    pub source: String,
}

/// Every antigen code the core knows, child schedule first, in schedule order.
#[uniffi::export]
pub fn known_antigens() -> Vec<AntigenInfo> {
    im::known_antigens()
        .iter()
        .map(|a| AntigenInfo {
            code: a.code.clone(),
            group: a.group.into(),
            born_from: a.born_from.clone(),
            source: a.source.clone(),
        })
        .collect()
}

/// A dose recorded as given.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GivenDose {
    pub code: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// Where an antigen stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum DoseStatus {
    /// Recorded as given (see `given_date`).
    Given,
    NotYetDue,
    /// In its on-time window.
    Due,
    /// Late, catch-up (imunisasi kejar) still possible: "terlewat".
    Overdue,
    /// Late and past the catch-up limit (e.g. HB0 after 7 days): no longer given.
    WindowClosed,
    /// Born before the antigen's eligible cohort (e.g. rotavirus before 16 May 2023).
    NotEligible,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AntigenStatus {
    pub code: String,
    pub group: AntigenGroup,
    pub status: DoseStatus,
    /// `YYYY-MM-DD` when `status` is `Given`.
    pub given_date: Option<String>,
}

/// The status of every antigen of the child schedule for a child born on
/// `birth_date` on `today`, in schedule order, followed by other antigens recorded as
/// given. Unknown codes in `given` are ignored.
#[uniffi::export]
pub fn immunisation_status(birth_date: String, given: Vec<GivenDose>, today: String) -> Result<Vec<AntigenStatus>> {
    let birth = parse_date("lahir", &birth_date)?;
    let today = parse_date("hari ini", &today)?;
    let given =
        given.into_iter().map(|g| Ok((g.code, parse_date("imunisasi", &g.date)?))).collect::<Result<Vec<_>>>()?;
    Ok(im::immunisation_status(birth, &given, today)
        .into_iter()
        .map(|s| {
            let (status, given_date) = match s.status {
                im::DoseStatus::Given { date } => (DoseStatus::Given, Some(format_date(date))),
                im::DoseStatus::NotYetDue => (DoseStatus::NotYetDue, None),
                im::DoseStatus::Due => (DoseStatus::Due, None),
                im::DoseStatus::Overdue => (DoseStatus::Overdue, None),
                im::DoseStatus::WindowClosed => (DoseStatus::WindowClosed, None),
                im::DoseStatus::NotEligible => (DoseStatus::NotEligible, None),
            };
            AntigenStatus { code: s.code, group: s.group.into(), status, given_date }
        })
        .collect())
}

/// The vitamin A capsule for someone born on `birth_date` given vitamin A on `on`
/// (`nifas`: up to 42 days after giving birth); `None` when none is due at that age.
#[uniffi::export]
pub fn expected_vitamin_a_capsule(birth_date: String, on: String, nifas: bool) -> Result<Option<VitaminACapsule>> {
    let birth = parse_date("lahir", &birth_date)?;
    let on = parse_date("pemberian", &on)?;
    Ok(va::expected_capsule(birth, on, nifas).map(Into::into))
}

/// Whether a child has missed the current vitamin A round on `today` (February or
/// August, and the month after), given the date of their last vitamin A.
#[uniffi::export]
pub fn vitamin_a_missed(birth_date: String, last_vitamin_a: Option<String>, today: String) -> Result<bool> {
    let birth = parse_date("lahir", &birth_date)?;
    let last = parse_date_opt("vitamin A", last_vitamin_a.as_deref())?;
    let today = parse_date("hari ini", &today)?;
    Ok(va::missed(birth, last, today))
}
