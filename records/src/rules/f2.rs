//! The F2 recap's nutrition status of children confirmed at BGM or 2T (section III of
//! the form "Rekapitulasi hasil penimbangan bayi balita"), and when such a case is
//! *baru* (new). `docs/rules.md`, section 23.
//!
//! Source: the F2 form as filled by a village in 2023 ("FORMAT F2 2023", Desa Benteng
//! Tawa, transcription at <https://id.scribd.com/document/631314993/FORMAT-F2-2023>):
//! "III Status Gizi (Konfirmasi BGM & 2T / yang diidentifikasi bermasalah)", a.
//! "Status Gizi berdasarkan berat badan menurut tinggi badan": 1 "Kurus/Gizi kurang
//! (BB/TB)", 2 "Sangat Kurus/Gizi buruk (BB/TB)" with "a. Baru" and "b. Kumulatif
//! sampai bulan ini", 3 "Gizi Lebih (B+)", 4 "Gizi Baik (B)"; b. "Status Gizi
//! berdasarkan indikator Tinggi Badan menurut Umur (TB/U)": 1 "Pendek", 2 "Sangat
//! Pendek", 3 "Normal"; each by age group 0–5, 6–11, 12–23, 24–35, 36–59 months and sex.
//!
//! Rules:
//! - **Whose status**: the children counted BGM or 2T in the month's F2
//!   ([`status_reported`]); the form's "yang diidentifikasi bermasalah" (others a
//!   health worker found) is not recorded and not counted.
//! - **Which status**: the Permenkes 2/2020 categories the growth module already gives
//!   ([`crate::growth::BBTB_0_60`], [`crate::growth::TBU_0_60`]), mapped to the form's
//!   rows by the tables [`WASTING_ROWS`] and [`STUNTING_ROWS`]; no z threshold is
//!   written here. Gizi lebih is BB/TB *gizi lebih* or *obesitas* (z > +2).
//! - **Baru / kumulatif** ([`new_case_month`]): a child is a *baru* case of a status in
//!   the first calendar month of the year in which she is counted with that status;
//!   *kumulatif sampai bulan ini* counts the children whose *baru* month of the year is
//!   the report month or earlier (so it is the sum of the months' *baru*).

use time::Date;

use crate::growth::{GrowthAssessment, HeightForAge, NutritionStatus};

/// A row of the F2 form's nutrition status section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum F2Status {
    /// "Kurus/Gizi kurang (BB/TB)".
    Kurus,
    /// "Sangat Kurus/Gizi buruk (BB/TB)".
    SangatKurus,
    /// "Gizi Lebih (B+)".
    GiziLebih,
    /// "Pendek (TB/U)".
    Pendek,
    /// "Sangat Pendek (TB/U)".
    SangatPendek,
}

/// BB/PB–BB/TB category (Permenkes 2/2020) → F2 row. Categories not listed (gizi baik,
/// berisiko gizi lebih) are no row counted here.
pub const WASTING_ROWS: &[(NutritionStatus, F2Status, &str)] = &[
    (NutritionStatus::GiziKurang, F2Status::Kurus, "F2 III.a.1 Kurus/Gizi kurang (BB/TB)"),
    (NutritionStatus::GiziBuruk, F2Status::SangatKurus, "F2 III.a.2 Sangat Kurus/Gizi buruk (BB/TB)"),
    (NutritionStatus::GiziLebih, F2Status::GiziLebih, "F2 III.a.3 Gizi Lebih (B+)"),
    (NutritionStatus::Obesitas, F2Status::GiziLebih, "F2 III.a.3 Gizi Lebih (B+): obesitas is above gizi lebih"),
];

/// PB/U–TB/U category (Permenkes 2/2020) → F2 row (stunting = pendek + sangat pendek).
pub const STUNTING_ROWS: &[(HeightForAge, F2Status, &str)] = &[
    (HeightForAge::Pendek, F2Status::Pendek, "F2 III.b.1 Pendek (TB/U)"),
    (HeightForAge::SangatPendek, F2Status::SangatPendek, "F2 III.b.2 Sangat Pendek (TB/U)"),
];

/// Whether the F2 reports the nutrition status of a child: she is counted BGM or 2T
/// in the month ("Konfirmasi BGM & 2T").
pub fn status_reported(bgm: bool, two_t: bool) -> bool {
    bgm || two_t
}

/// The F2 row of a measurement's BB/PB–BB/TB category, unless its z-score is flagged
/// implausible.
pub fn wasting_row(a: &GrowthAssessment) -> Option<F2Status> {
    let c = a.bbtb.filter(|_| !a.flags.wfl)?;
    WASTING_ROWS.iter().find(|(k, _, _)| *k == c).map(|(_, r, _)| *r)
}

/// The F2 row of a measurement's PB/U–TB/U category, unless its z-score is flagged
/// implausible.
pub fn stunting_row(a: &GrowthAssessment) -> Option<F2Status> {
    let c = a.tbu.filter(|_| !a.flags.lhfa)?;
    STUNTING_ROWS.iter().find(|(k, _, _)| *k == c).map(|(_, r, _)| *r)
}

/// The month (its first day) in which a child counts as a *baru* case of a status in
/// the calendar year of `month`: the first month of that year, up to and including
/// `month`, among `case_months` (the months, any day of them, in which she was counted
/// with the status). `None`: no case that year up to `month`.
///
/// A case is *baru* in `month` when this returns `month`'s first day, and is in the
/// *kumulatif sampai bulan ini* of `month` when it returns any month.
pub fn new_case_month(month: Date, case_months: impl IntoIterator<Item = Date>) -> Option<Date> {
    let first_of = |d: Date| d.replace_day(1).expect("day 1 exists");
    let until = first_of(month);
    case_months.into_iter().map(first_of).filter(|d| d.year() == until.year() && *d <= until).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::{assess, Anthropometry, Measure, Sex};
    use time::macros::date;

    #[test]
    fn only_bgm_or_2t_children_are_reported() {
        assert!(status_reported(true, false));
        assert!(status_reported(false, true));
        assert!(status_reported(true, true));
        assert!(!status_reported(false, false));
    }

    #[test]
    fn rows_come_from_the_permenkes_categories() {
        let with = |bbtb, tbu| GrowthAssessment { bbtb, tbu, ..Default::default() };
        let w = |c| wasting_row(&with(Some(c), None));
        assert_eq!(w(NutritionStatus::GiziKurang), Some(F2Status::Kurus));
        assert_eq!(w(NutritionStatus::GiziBuruk), Some(F2Status::SangatKurus));
        assert_eq!(w(NutritionStatus::GiziLebih), Some(F2Status::GiziLebih));
        assert_eq!(w(NutritionStatus::Obesitas), Some(F2Status::GiziLebih));
        assert_eq!(w(NutritionStatus::GiziBaik), None);
        assert_eq!(w(NutritionStatus::BerisikoGiziLebih), None);
        let s = |c| stunting_row(&with(None, Some(c)));
        assert_eq!(s(HeightForAge::Pendek), Some(F2Status::Pendek));
        assert_eq!(s(HeightForAge::SangatPendek), Some(F2Status::SangatPendek));
        assert_eq!(s(HeightForAge::Normal), None);
        assert_eq!(s(HeightForAge::Tinggi), None);
        // An implausible z-score gives no row.
        let mut a = with(Some(NutritionStatus::GiziBuruk), Some(HeightForAge::SangatPendek));
        a.flags.wfl = true;
        a.flags.lhfa = true;
        assert_eq!((wasting_row(&a), stunting_row(&a)), (None, None));
    }

    #[test]
    fn a_measured_child_gets_her_rows() {
        // Girl, 366 days, 5.8 kg, 68 cm lying: weight-for-length z −3.34 (gizi buruk:
        // sangat kurus), length-for-age z −2.35 (pendek), as `posyandu-kader growth`
        // scores them.
        let a = assess(&Anthropometry {
            sex: Sex::Female,
            age_days: 366,
            weight_kg: Some(5.8),
            length_height_cm: Some(68.0),
            measure: Some(Measure::Lying),
            oedema: false,
            head_cm: None,
            muac_cm: None,
        })
        .unwrap();
        assert_eq!(wasting_row(&a), Some(F2Status::SangatKurus), "{:?}", a.zwfl);
        assert_eq!(stunting_row(&a), Some(F2Status::Pendek), "{:?}", a.zlhfa);
    }

    #[test]
    fn baru_is_the_first_case_month_of_the_calendar_year() {
        let cases = [date!(2024 - 04 - 15), date!(2024 - 05 - 16)];
        // April: new. May: a case again, not new; still in May's kumulatif.
        assert_eq!(new_case_month(date!(2024 - 04 - 30), cases), Some(date!(2024 - 04 - 01)));
        assert_eq!(new_case_month(date!(2024 - 05 - 31), cases), Some(date!(2024 - 04 - 01)));
        // March: not yet a case (later months do not count).
        assert_eq!(new_case_month(date!(2024 - 03 - 31), cases), None);
        // A case in December is new again in January of the next year, not in its kumulatif before.
        let cases = [date!(2024 - 12 - 10), date!(2025 - 01 - 20)];
        assert_eq!(new_case_month(date!(2025 - 01 - 31), cases), Some(date!(2025 - 01 - 01)));
        assert_eq!(new_case_month(date!(2024 - 12 - 01), cases), Some(date!(2024 - 12 - 01)));
        // Not a case in the month but earlier that year: in the kumulatif, not new.
        let cases = [date!(2024 - 02 - 29)];
        assert_eq!(new_case_month(date!(2024 - 06 - 15), cases), Some(date!(2024 - 02 - 01)));
        // Absent a month between two cases does not make the second new.
        let cases = [date!(2024 - 01 - 31), date!(2024 - 03 - 01)];
        assert_eq!(new_case_month(date!(2024 - 03 - 31), cases), Some(date!(2024 - 01 - 01)));
        assert_eq!(new_case_month(date!(2024 - 03 - 31), []), None);
    }
}
