//! What the app's ILP forms ask the core before the kader saves (issue 12): the
//! referral reason catalogue (codes, labels, which ones the rulebook proposes) and
//! whether the ASI eksklusif question applies to a member at a visit. Thin: the rules
//! are `posyandu_core::rules::referral_lifecycle::REASONS` and
//! `posyandu_core::rules::breastfeeding::asked_at`; the app holds no age threshold.

use posyandu_core::model::parse_date;
use posyandu_core::rules::{breastfeeding, referral_lifecycle};

/// A reason a member may be referred for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReferralReasonOption {
    pub code: String,
    /// Indonesian label.
    pub label: String,
    /// The rulebook proposes it from the data (`proposedReferral`); otherwise the kader
    /// chooses it (danger signs, other).
    pub proposed_by_rules: bool,
}

/// Every reason code of the catalogue, in its order.
#[uniffi::export]
pub fn referral_reasons() -> Vec<ReferralReasonOption> {
    referral_lifecycle::REASONS
        .iter()
        .map(|r| ReferralReasonOption {
            code: r.code.to_string(),
            label: r.label_id.to_string(),
            proposed_by_rules: r.proposed,
        })
        .collect()
}

/// Whether the ASI eksklusif question is asked of a member born on `birth_date` at a
/// visit on `visit_date` (both `YYYY-MM-DD`; false when either is not a date).
#[uniffi::export]
pub fn asi_eksklusif_asked(birth_date: String, visit_date: String) -> bool {
    match (parse_date(birth_date.trim()), parse_date(visit_date.trim())) {
        (Some(b), Some(v)) => breastfeeding::asked_at(b, v),
        _ => false,
    }
}

/// The Indonesian label of a bidan's coded action (`pemeriksaan`, `konseling_gizi`, …);
/// the code itself for a code of a newer version.
#[uniffi::export]
pub fn referral_action_label(code: String) -> String {
    referral_lifecycle::ACTIONS.iter().find(|(c, _)| *c == code).map_or(code, |(_, l)| l.to_string())
}
