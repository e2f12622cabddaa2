//! NIK consistency: warnings, not errors.
//!
//! A NIK encodes the birth date as DDMMYY in digits 7–12, with 40 added to the day for
//! women. When that date or sex disagrees with what the kader entered, the person is
//! still registered (Dukcapil data has errors and elderly birth dates are often
//! estimated); the disagreement is a [`NikWarning`] shown to the kader and the
//! Puskesmas. A NIK that cannot be a NIK (length, digits, region, impossible date,
//! serial 0000) stays an error: `crate::validation::check_nik`.
//!
//! Source and doubts: `docs/rules.md`, "NIK consistency".

use time::Date;

use crate::growth::Sex;
use crate::model::Member;

/// A disagreement between a NIK and the entered data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NikWarning {
    /// The birth date in the NIK (shown as `DD-MM-YY`, the day without the +40)
    /// differs from the entered birth date.
    BirthDate { nik_date: String },
    /// The sex in the NIK (day + 40 = female) differs from the entered sex.
    Sex { nik_sex: Sex },
    /// The mother's NIK of a newborn encodes a man.
    MotherNikMale,
}

impl NikWarning {
    /// A stable code for exports and tests.
    pub fn code(&self) -> &'static str {
        match self {
            NikWarning::BirthDate { .. } => "nik_tanggal_lahir",
            NikWarning::Sex { .. } => "nik_jenis_kelamin",
            NikWarning::MotherNikMale => "nik_ibu_laki_laki",
        }
    }

    /// The message shown to the kader and the Puskesmas (Bahasa Indonesia).
    pub fn message(&self) -> String {
        match self {
            NikWarning::BirthDate { nik_date } => format!(
                "NIK tidak cocok: tanggal lahir di NIK ({nik_date}) berbeda dengan tanggal lahir yang diisi. \
                 Data tetap disimpan; periksa KTP/KK."
            ),
            NikWarning::Sex { nik_sex } => format!(
                "NIK tidak cocok: jenis kelamin di NIK ({}) berbeda dengan jenis kelamin yang diisi. \
                 Data tetap disimpan; periksa KTP/KK.",
                match nik_sex {
                    Sex::Male => "laki-laki",
                    Sex::Female => "perempuan",
                }
            ),
            NikWarning::MotherNikMale => {
                "NIK ibu tidak cocok: NIK ini milik laki-laki. Data tetap disimpan; periksa NIK ibu.".into()
            }
        }
    }
}

impl std::fmt::Display for NikWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// The birth day, month, two-digit year and sex a NIK encodes; `None` when the NIK
/// is not 16 digits (that is an error, reported by validation, not a warning).
fn decode(nik: &str) -> Option<(u32, u32, u32, Sex)> {
    if nik.len() != 16 || !nik.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| nik[r].parse::<u32>().ok();
    let (dd, mm, yy) = (num(6..8)?, num(8..10)?, num(10..12)?);
    let (day, sex) = if dd > 40 { (dd - 40, Sex::Female) } else { (dd, Sex::Male) };
    Some((day, mm, yy, sex))
}

/// Warnings for a NIK against the entered birth date and sex (empty when they agree
/// or when the NIK is not 16 digits).
pub fn nik_warnings(nik: &str, birth: Date, sex: Sex) -> Vec<NikWarning> {
    let Some((day, month, yy, nik_sex)) = decode(nik) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if birth.day() as u32 != day || birth.month() as u32 != month || (birth.year().rem_euclid(100)) as u32 != yy {
        out.push(NikWarning::BirthDate { nik_date: format!("{day:02}-{month:02}-{yy:02}") });
    }
    if nik_sex != sex {
        out.push(NikWarning::Sex { nik_sex });
    }
    out
}

/// Warnings for the mother's NIK given for a newborn without one.
pub fn mother_nik_warnings(mother_nik: &str) -> Vec<NikWarning> {
    match decode(mother_nik) {
        Some((.., Sex::Male)) => vec![NikWarning::MotherNikMale],
        _ => Vec::new(),
    }
}

/// Every NIK warning of a member (own NIK, or the mother's NIK of a newborn).
pub fn member_warnings(m: &Member) -> Vec<NikWarning> {
    let mut out = m.nik.as_deref().map(|n| nik_warnings(n, m.birth_date, m.sex)).unwrap_or_default();
    if let Some(mn) = &m.mother_nik {
        out.extend(mother_nik_warnings(&mn.mother_nik));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn agreeing_nik_has_no_warning() {
        assert!(nik_warnings("3275011205900001", date!(1990 - 05 - 12), Sex::Male).is_empty());
        assert!(nik_warnings("3275015205900002", date!(1990 - 05 - 12), Sex::Female).is_empty());
        // The century is not encoded.
        assert!(nik_warnings("3275011205900001", date!(1890 - 05 - 12), Sex::Male).is_empty());
    }

    #[test]
    fn birth_date_off_by_a_day_and_wrong_sex_are_warnings() {
        let w = nik_warnings("3275011205900001", date!(1990 - 05 - 13), Sex::Male);
        assert_eq!(w, vec![NikWarning::BirthDate { nik_date: "12-05-90".into() }]);
        assert_eq!(
            w[0].message(),
            "NIK tidak cocok: tanggal lahir di NIK (12-05-90) berbeda dengan tanggal lahir yang diisi. \
             Data tetap disimpan; periksa KTP/KK."
        );
        let w = nik_warnings("3275011205900001", date!(1990 - 05 - 12), Sex::Female);
        assert_eq!(w, vec![NikWarning::Sex { nik_sex: Sex::Male }]);
        assert_eq!(w[0].code(), "nik_jenis_kelamin");
        // Woman entered as a man, and the year differs: two warnings.
        let w = nik_warnings("3275015205910002", date!(1990 - 05 - 12), Sex::Male);
        assert_eq!(w.iter().map(|w| w.code()).collect::<Vec<_>>(), ["nik_tanggal_lahir", "nik_jenis_kelamin"]);
        assert_eq!(w[0], NikWarning::BirthDate { nik_date: "12-05-91".into() });
    }

    #[test]
    fn malformed_nik_gives_no_warning() {
        assert!(nik_warnings("12345", date!(1990 - 05 - 12), Sex::Male).is_empty());
        assert!(nik_warnings("32750112059000a1", date!(1990 - 05 - 12), Sex::Male).is_empty());
    }

    #[test]
    fn mother_nik_of_a_man() {
        assert_eq!(mother_nik_warnings("3275011205900001"), vec![NikWarning::MotherNikMale]);
        assert!(mother_nik_warnings("3275015205900002").is_empty());
    }
}
