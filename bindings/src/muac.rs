//! LiLA (MUAC) band of a child 6–59 months, from the core's rulebook
//! (`posyandu_core::rules::muac`): the app colours it, it holds no threshold.

use posyandu_core::rules::muac as rule;

use crate::member::mirror_enum;

/// Band of the LiLA tape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum MuacBand {
    /// Gizi buruk: refer.
    Merah,
    /// Gizi kurang.
    Kuning,
    Hijau,
}
mirror_enum!(MuacBand, rule::MuacBand, [Merah, Kuning, Hijau]);

/// A child's LiLA band with its Indonesian label (limits included).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MuacResult {
    pub band: MuacBand,
    pub label: String,
}

/// The LiLA band of a child `age_days` old (e.g. `GrowthResult.age_days`); `null`
/// outside 6–59 months or for a value that is not a positive number.
#[uniffi::export]
pub fn child_muac_band(age_days: i64, muac_cm: f64) -> Option<MuacResult> {
    rule::child_muac_band(age_days, muac_cm).map(|b| MuacResult { band: b.into(), label: b.label_id() })
}
