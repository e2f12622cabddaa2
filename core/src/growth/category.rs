//! Indonesian anthropometric categories, Permenkes RI No. 2 Tahun 2020
//! tentang Standar Antropometri Anak (cut-offs in SD = z-score units).
//!
//! Classification uses the unrounded z-score, as WHO Anthro does.

use serde::{Deserialize, Serialize};

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
    pub fn from_z(z: f64) -> Option<Self> {
        if !z.is_finite() {
            return None;
        }
        Some(if z < -3.0 {
            Self::SangatKurang
        } else if z < -2.0 {
            Self::Kurang
        } else if z <= 1.0 {
            Self::Normal
        } else {
            Self::RisikoLebih
        })
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
    pub fn from_z(z: f64) -> Option<Self> {
        if !z.is_finite() {
            return None;
        }
        Some(if z < -3.0 {
            Self::SangatPendek
        } else if z < -2.0 {
            Self::Pendek
        } else if z <= 3.0 {
            Self::Normal
        } else {
            Self::Tinggi
        })
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
    /// z < -3 (severely wasted)
    GiziBuruk,
    /// -3 <= z < -2 (wasted)
    GiziKurang,
    /// -2 <= z <= +1
    GiziBaik,
    /// +1 < z <= +2
    BerisikoGiziLebih,
    /// +2 < z <= +3 (overweight)
    GiziLebih,
    /// z > +3
    Obesitas,
}

impl NutritionStatus {
    pub fn from_z(z: f64) -> Option<Self> {
        if !z.is_finite() {
            return None;
        }
        Some(if z < -3.0 {
            Self::GiziBuruk
        } else if z < -2.0 {
            Self::GiziKurang
        } else if z <= 1.0 {
            Self::GiziBaik
        } else if z <= 2.0 {
            Self::BerisikoGiziLebih
        } else if z <= 3.0 {
            Self::GiziLebih
        } else {
            Self::Obesitas
        })
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
