//! Indonesian anthropometric categories as data: each [`RuleTable`] lists its
//! cut-offs (in SD = z-score units) with the source next to them. Sources and doubts
//! are also in `docs/rules.md`.
//!
//! Classification uses the unrounded z-score, as WHO Anthro does. Boundaries follow
//! the wording of Permenkes 2/2020: "< -3", "-3 sd < -2", "-2 sd +1", "> +1 sd +2",
//! ..., so a lower band ends *before* its bound (`<`) and an upper band includes it
//! (`<=`).

use serde::{Deserialize, Serialize};

/// Permenkes 2/2020, the table of categories and thresholds.
pub const PERMENKES_2_2020: &str = "Peraturan Menteri Kesehatan RI Nomor 2 Tahun 2020 tentang Standar \
    Antropometri Anak, Lampiran, tabel \"Kategori dan Ambang Batas Status Gizi Anak\"";

/// One band of a rule table: z-scores up to `upper` (inclusive when `inclusive`,
/// else strictly below) get `category`. The last band has `upper = +inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band<C: 'static> {
    pub upper: f64,
    pub inclusive: bool,
    pub category: C,
}

/// A category table for one indicator and age range, with its source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleTable<C: 'static> {
    /// Indicator code as in the regulation, e.g. "IMT/U".
    pub indicator: &'static str,
    /// Ages it applies to, as the regulation states them.
    pub ages: &'static str,
    /// Regulation / guideline, edition, table.
    pub source: &'static str,
    /// Bands in increasing order of z.
    pub bands: &'static [Band<C>],
}

impl<C: Copy> RuleTable<C> {
    /// The category of `z`; `None` for a non-finite z.
    pub fn classify(&self, z: f64) -> Option<C> {
        if !z.is_finite() {
            return None;
        }
        self.bands.iter().find(|b| if b.inclusive { z <= b.upper } else { z < b.upper }).map(|b| b.category)
    }
}

const fn lt<C>(upper: f64, category: C) -> Band<C> {
    Band { upper, inclusive: false, category }
}
const fn le<C>(upper: f64, category: C) -> Band<C> {
    Band { upper, inclusive: true, category }
}

/// BB/U 0-60 months.
pub const BBU_0_60: RuleTable<WeightForAge> = RuleTable {
    indicator: "BB/U",
    ages: "0-60 bulan",
    source: PERMENKES_2_2020,
    bands: &[
        lt(-3.0, WeightForAge::SangatKurang),
        lt(-2.0, WeightForAge::Kurang),
        le(1.0, WeightForAge::Normal),
        le(f64::INFINITY, WeightForAge::RisikoLebih),
    ],
};

/// PB/U or TB/U 0-60 months.
pub const TBU_0_60: RuleTable<HeightForAge> = RuleTable {
    indicator: "PB/U atau TB/U",
    ages: "0-60 bulan",
    source: PERMENKES_2_2020,
    bands: &[
        lt(-3.0, HeightForAge::SangatPendek),
        lt(-2.0, HeightForAge::Pendek),
        le(3.0, HeightForAge::Normal),
        le(f64::INFINITY, HeightForAge::Tinggi),
    ],
};

/// TB/U 61-228 months. Permenkes 2/2020 gives the WHO 2007 height-for-age tables for
/// 5-18 years but its category table has TB/U only for 0-60 months; these are the
/// 0-60 month cut-offs, which are WHO's (stunting < -2, severe < -3; > +3 tall). The
/// doubt is in docs/rules.md.
pub const TBU_5_18: RuleTable<HeightForAge> = RuleTable {
    indicator: "TB/U",
    ages: "61-228 bulan (5-18 tahun)",
    source: "Tidak dikategorikan di tabel Permenkes 2/2020 untuk 5-18 tahun; dipakai ambang WHO \
        (WHO Growth Reference 2007; sama dengan ambang TB/U 0-60 bulan Permenkes 2/2020): \
        sangat pendek < -3, pendek -3 sd < -2, normal -2 sd +3, tinggi > +3",
    bands: TBU_0_60.bands,
};

/// BB/PB or BB/TB 0-60 months.
pub const BBTB_0_60: RuleTable<NutritionStatus> = RuleTable {
    indicator: "BB/PB atau BB/TB",
    ages: "0-60 bulan",
    source: PERMENKES_2_2020,
    bands: &[
        lt(-3.0, NutritionStatus::GiziBuruk),
        lt(-2.0, NutritionStatus::GiziKurang),
        le(1.0, NutritionStatus::GiziBaik),
        le(2.0, NutritionStatus::BerisikoGiziLebih),
        le(3.0, NutritionStatus::GiziLebih),
        le(f64::INFINITY, NutritionStatus::Obesitas),
    ],
};

/// IMT/U 0-60 months (same cut-offs as BB/PB, BB/TB).
pub const IMTU_0_60: RuleTable<NutritionStatus> =
    RuleTable { indicator: "IMT/U", ages: "0-60 bulan", source: PERMENKES_2_2020, bands: BBTB_0_60.bands };

/// IMT/U 5-18 years: gizi buruk (severely thinness) < -3; gizi kurang (thinness)
/// -3 sd < -2; gizi baik (normal) -2 sd +1; gizi lebih (overweight) > +1 sd +2;
/// obesitas (obese) > +2.
pub const IMTU_5_18: RuleTable<NutritionStatus> = RuleTable {
    indicator: "IMT/U",
    ages: "5-18 tahun (61-228 bulan)",
    source: PERMENKES_2_2020,
    bands: &[
        lt(-3.0, NutritionStatus::GiziBuruk),
        lt(-2.0, NutritionStatus::GiziKurang),
        le(1.0, NutritionStatus::GiziBaik),
        le(2.0, NutritionStatus::GiziLebih),
        le(f64::INFINITY, NutritionStatus::Obesitas),
    ],
};

/// BB/U (berat badan menurut umur), weight-for-age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WeightForAge {
    /// z < -3
    SangatKurang,
    /// -3 <= z < -2
    Kurang,
    /// -2 <= z <= +1
    Normal,
    /// z > +1
    RisikoLebih,
}

impl WeightForAge {
    /// Category for 0-60 months ([`BBU_0_60`]).
    pub fn from_z(z: f64) -> Option<Self> {
        BBU_0_60.classify(z)
    }

    /// Indonesian label as printed in Permenkes 2/2020.
    pub fn label_id(&self) -> &'static str {
        match self {
            Self::SangatKurang => "Berat badan sangat kurang",
            Self::Kurang => "Berat badan kurang",
            Self::Normal => "Berat badan normal",
            Self::RisikoLebih => "Risiko berat badan lebih",
        }
    }
}

/// PB/U or TB/U (panjang/tinggi badan menurut umur), length/height-for-age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeightForAge {
    /// z < -3 (severely stunted)
    SangatPendek,
    /// -3 <= z < -2 (stunted)
    Pendek,
    /// -2 <= z <= +3
    Normal,
    /// z > +3
    Tinggi,
}

impl HeightForAge {
    /// Category for 0-60 months ([`TBU_0_60`]; the same cut-offs as [`TBU_5_18`]).
    pub fn from_z(z: f64) -> Option<Self> {
        TBU_0_60.classify(z)
    }

    pub fn label_id(&self) -> &'static str {
        match self {
            Self::SangatPendek => "Sangat pendek",
            Self::Pendek => "Pendek",
            Self::Normal => "Normal",
            Self::Tinggi => "Tinggi",
        }
    }
}

/// BB/PB or BB/TB (weight-for-length/height) and IMT/U (BMI-for-age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NutritionStatus {
    /// z < -3 (severely wasted; 5-18 years: severely thinness)
    GiziBuruk,
    /// -3 <= z < -2 (wasted; 5-18 years: thinness)
    GiziKurang,
    /// -2 <= z <= +1
    GiziBaik,
    /// +1 < z <= +2 (0-60 months only)
    BerisikoGiziLebih,
    /// 0-60 months: +2 < z <= +3 (overweight); 5-18 years: +1 < z <= +2
    GiziLebih,
    /// 0-60 months: z > +3; 5-18 years: z > +2
    Obesitas,
}

impl NutritionStatus {
    /// Category for 0-60 months ([`BBTB_0_60`], [`IMTU_0_60`]).
    pub fn from_z(z: f64) -> Option<Self> {
        BBTB_0_60.classify(z)
    }

    /// IMT/U category for 5-18 years ([`IMTU_5_18`]).
    pub fn from_z_5_18(z: f64) -> Option<Self> {
        IMTU_5_18.classify(z)
    }

    pub fn label_id(&self) -> &'static str {
        match self {
            Self::GiziBuruk => "Gizi buruk",
            Self::GiziKurang => "Gizi kurang",
            Self::GiziBaik => "Gizi baik",
            Self::BerisikoGiziLebih => "Berisiko gizi lebih",
            Self::GiziLebih => "Gizi lebih",
            Self::Obesitas => "Obesitas",
        }
    }
}
