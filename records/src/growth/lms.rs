//! LMS z-score arithmetic (WHO 2006 Child Growth Standards, methods chapter).
//!
//! `z = ((X/M)^L - 1) / (L*S)` for `L != 0`, `z = ln(X/M) / S` for `L == 0`.
//!
//! The "restricted" variant (used by WHO for weight-for-age, weight-for-length/
//! height, BMI-for-age and arm circumference-for-age) replaces the tail beyond
//! |z| = 3 by a linear extrapolation that uses the distance between the 2 SD
//! and 3 SD curves (SD23):
//!
//! ```text
//! z > 3:   z* =  3 + (X - SD3pos) / (SD3pos - SD2pos)
//! z < -3:  z* = -3 + (X - SD3neg) / (SD2neg - SD3neg)
//! where SDk = M * (1 + L*S*k)^(1/L)   (M * exp(S*k) when L == 0)
//! ```

/// One row of a WHO LMS table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lms {
    pub l: f64,
    pub m: f64,
    pub s: f64,
}

const L_ZERO: f64 = 1e-12;

impl Lms {
    /// Value of the centile curve at z-score `z` (the inverse of [`Lms::z_raw`]).
    pub fn value_at(&self, z: f64) -> f64 {
        if self.l.abs() < L_ZERO {
            self.m * (self.s * z).exp()
        } else {
            self.m * (1.0 + self.l * self.s * z).powf(1.0 / self.l)
        }
    }

    /// Unrestricted LMS z-score. `None` for non-finite or non-positive input.
    pub fn z_raw(&self, x: f64) -> Option<f64> {
        if !x.is_finite() || x <= 0.0 || self.m.is_nan() || self.m <= 0.0 || self.s.is_nan() || self.s <= 0.0 {
            return None;
        }
        let z = if self.l.abs() < L_ZERO {
            (x / self.m).ln() / self.s
        } else {
            ((x / self.m).powf(self.l) - 1.0) / (self.l * self.s)
        };
        z.is_finite().then_some(z)
    }

    /// Restricted LMS z-score (SD23 extrapolation beyond |z| = 3).
    pub fn z_restricted(&self, x: f64) -> Option<f64> {
        let z = self.z_raw(x)?;
        let out = if z > 3.0 {
            let sd3 = self.value_at(3.0);
            let sd23 = sd3 - self.value_at(2.0);
            3.0 + (x - sd3) / sd23
        } else if z < -3.0 {
            let sd3 = self.value_at(-3.0);
            let sd23 = self.value_at(-2.0) - sd3;
            -3.0 + (x - sd3) / sd23
        } else {
            z
        };
        out.is_finite().then_some(out)
    }

    /// Linear interpolation of L, M and S between two rows (`t` in 0..=1).
    pub fn lerp(&self, other: &Lms, t: f64) -> Lms {
        Lms {
            l: self.l + t * (other.l - self.l),
            m: self.m + t * (other.m - self.m),
            s: self.s + t * (other.s - self.s),
        }
    }
}
