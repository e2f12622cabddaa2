//! Monthly weight-gain check of the KMS (Kartu Menuju Sehat) and SKDN report.
//!
//! KBM (kenaikan berat badan minimal) per age in completed months, from
//! Permenkes RI No. 155/Menkes/Per/I/2010 tentang Penggunaan KMS bagi Balita
//! (table "Kenaikan Berat Badan Minimal"), reproduced on the KMS page of the
//! Buku KIA (2020/2023 editions): 1 mo 800 g, 2 mo 900 g, 3 mo 800 g,
//! 4 mo 600 g, 5 mo 500 g, 6–7 mo 400 g, 8–10 mo 300 g, 11–60 mo 200 g.
//!
//! N (naik): gain since last month >= KBM; T (tidak naik): gain < KBM;
//! O: not weighed the previous month; B (baru): first weighing.

use serde::{Deserialize, Serialize};

use super::{age_months_completed, Sex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WeightTrend {
    /// Naik: gained at least the KBM since last month's weighing.
    N,
    /// Tidak naik: gained less than the KBM (or lost weight).
    T,
    /// Not weighed in the previous month (or the previous record is unusable).
    O,
    /// Baru: first weighing.
    B,
}

impl WeightTrend {
    /// Indonesian label as on the KMS.
    pub fn label_id(&self) -> &'static str {
        match self {
            WeightTrend::N => "Naik (N)",
            WeightTrend::T => "Tidak naik (T)",
            WeightTrend::O => "Tidak ditimbang bulan lalu (O)",
            WeightTrend::B => "Baru pertama kali ditimbang (B)",
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::N => "N",
            Self::T => "T",
            Self::O => "O",
            Self::B => "B",
        }
    }
}

/// Minimum monthly weight gain in grams for a child whose age in completed
/// months is `age_months` (the age at the current weighing). `None` for
/// age 0 (no previous month) and outside 1..=60 months.
pub fn kbm_grams(age_months: i64) -> Option<u32> {
    match age_months {
        1 => Some(800),
        2 => Some(900),
        3 => Some(800),
        4 => Some(600),
        5 => Some(500),
        6 | 7 => Some(400),
        8..=10 => Some(300),
        11..=60 => Some(200),
        _ => None,
    }
}

/// N/T/O/B for the weighing `now` = (age_days, kg) given the previous
/// weighing `prev`. "Previous month" means the age in completed months
/// (days / 30.4375) differs by exactly 1; any other gap (0, 2+, negative)
/// gives O. The KBM is that of the current age in months; beyond 60 months
/// the last KBM (200 g) is used. The gain is compared in whole grams (rounded)
/// so that 8.2 - 7.4 kg counts as 800 g. A non-finite or non-positive
/// previous weight gives O; such a current weight gives T.
///
/// Sex is part of the signature for future sex-specific rules; the KBM table
/// of Permenkes 155/2010 is the same for boys and girls.
pub fn weight_trend(sex: Sex, prev: Option<(i64, f64)>, now: (i64, f64)) -> WeightTrend {
    let _ = sex;
    let Some((prev_days, prev_kg)) = prev else {
        return WeightTrend::B;
    };
    if !prev_kg.is_finite() || prev_kg <= 0.0 || prev_days < 0 || now.0 < 0 {
        return WeightTrend::O;
    }
    let m_now = age_months_completed(now.0);
    let m_prev = age_months_completed(prev_days);
    if m_now.checked_sub(m_prev) != Some(1) {
        return WeightTrend::O;
    }
    if !now.1.is_finite() || now.1 <= 0.0 {
        return WeightTrend::T;
    }
    let kbm = kbm_grams(m_now).unwrap_or(200) as f64;
    let gain_g = ((now.1 - prev_kg) * 1000.0).round();
    if gain_g >= kbm {
        WeightTrend::N
    } else {
        WeightTrend::T
    }
}

/// "2T": the last two trends are both T (tidak naik twice in a row), the
/// referral trigger of the KMS.
pub fn is_2t(trends: &[WeightTrend]) -> bool {
    matches!(trends, [.., WeightTrend::T, WeightTrend::T])
}
