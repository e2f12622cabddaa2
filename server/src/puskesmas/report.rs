//! The monthly Posyandu report (laporan bulanan), computed from the merged documents.
//!
//! Definitions (all ages at the stated day; "in the month" = visit date within the
//! calendar month; deleted members/visits/pregnancies are ignored):
//!
//! - **S**: children 0–59 completed months old on the last day of the month,
//!   registered (born on or before that day), and not moved away or dead before the
//!   month (a member with a *pindah*/*meninggal* status counts through the month of
//!   the event, not from the month after: [`posyandu_records::rules::membership`];
//!   the same holds for every other count and denominator of the report). **K**: children of S recorded as owning a
//!   Buku KIA/KMS (`Member::kia_book == Some(true)`). Children of S whose ownership is
//!   not recorded are counted in `k_unrecorded` and are **not** in K; K/S is K over all
//!   of S, and `k_note` says how many of S are unrecorded when there are any (so a low
//!   K/S caused by missing records is visible as such).
//! - **D**: children of S weighed in the month. Each is counted once, in **N**, **T**,
//!   **O** or **B** by the rulebook's trend ([`posyandu_records::rules::trend::weight_trends`])
//!   of the first weighing in the month (the rulebook scores the first weighing of each
//!   calendar month against the latest weighing of the previous calendar month; a
//!   weighing it does not score counts as O). D = N + T + O + B.
//!   Ratios K/S, D/S, N/D, N/S in percent (one decimal), `null` for a zero denominator.
//! - **2T**: children whose trend this month is T and whose previous trend is T too
//!   ([`posyandu_records::growth::is_2t`]). **BGM** (bawah garis merah): children whose
//!   last weighing in the month has weight-for-age z < −3 (z from the rulebook's WHO
//!   module; implausible z-scores excluded).
//! - **F2** ([`F2Row`], one per age group 0–5, 6–11, 12–23, 24–35, 36–59 months at the
//!   month's last day, then 0–59): S, K, D, N, T, 2T, O, B, BGM by sex, and section III,
//!   the nutrition status of the children counted BGM or 2T ([`F2StatusGizi`]: kurus,
//!   sangat kurus with their *baru* and *kumulatif* cases of the year, gizi lebih,
//!   pendek, sangat pendek; the rulebook's [`posyandu_records::rules::f2`]).
//! - **Kader** ([`KaderCounts`]): *ada* = kader with a device token of the Posyandu
//!   enrolled and not revoked at the end of the month (WIB), *aktif* = kader who
//!   recorded a visit dated in the month.
//! - **Nutrition status** of the children measured in the month (last measurement of
//!   the month), by sex and age group (0–5, 6–11, 12–23, 24–35, 36–59 completed months
//!   at the visit): underweight (BB/U z < −2), stunting (TB/U z < −2), wasting
//!   (BB/TB z < −2), each with its denominator (children with that z-score);
//!   implausible z-scores are counted separately and excluded.
//! - **KEK**: pregnancies ongoing in the month (LMP ≤ last day and ended — or, if not
//!   recorded, due date + the rulebook's grace of
//!   [`posyandu_records::rules::pregnancy::open_episode_grace_days`] days — ≥ first day) flagged KEK, or with a MUAC < 23.5 cm
//!   measured at a visit in the month.
//! - **Immunisation**: `doses_by_antigen` counts every dose given in the month per
//!   antigen code, whoever received it (children, school children, women given Td).
//!   `children_immunised` counts children **under five** (0–59 completed months at the
//!   visit) given at least one dose of the child schedule
//!   ([`posyandu_records::rules::immunisation`], group `anak`) in the month; adults' Td
//!   doses are in the dose table only.
//! - **Vitamin A** ([`posyandu_records::rules::vitamin_a`]): children's coverage only in
//!   the round months (February, August); other months `infants_6_11` and
//!   `children_12_59` are `null` with `not_applicable_reason`. In a round month,
//!   `infants_6_11` (blue capsule) and `children_12_59` (red) each count the children of
//!   S in that band by age on the last day of the month (`eligible`) and those of them
//!   given vitamin A at a visit in the month (`given`, any capsule recorded or the old
//!   yes/no), with `pct`. `ibu_nifas` (every month): women whose recorded end of
//!   pregnancy puts them in nifas (0–42 days after) on a day of the month
//!   (`eligible`), and those given vitamin A at a visit in the month during that nifas
//!   (`given`).
//! - **Screening** of adults (15–59 completed years at the person's last visit of the
//!   month: the Posbindu PTM / SPM "usia produktif" range) and elderly (≥ 60): per
//!   person and measure, the last reading of the month, judged by the rulebook
//!   ([`posyandu_records::rules::screening`], table `records/data/rules/screening.json`):
//!   hypertension (systolic ≥ 140 or diastolic ≥ 90 mmHg); high blood glucose by the
//!   kind of reading (puasa ≥ 126, sewaktu ≥ 200 mg/dL; a reading without kind is
//!   sewaktu); adult IMT category (kurus < 18.5, normal 18.5–25.0, gemuk > 25.0–27.0,
//!   obesitas > 27.0, IMT rounded to one decimal); central obesity (waist > 90 cm men,
//!   > 80 cm women).
//! - **NIK tidak cocok**: live members of the Posyandu whose NIK's encoded birth date or
//!   sex disagrees with the recorded ones (or a newborn's mother NIK that encodes a
//!   man), with the rulebook's message ([`posyandu_records::rules::identity`]); not tied
//!   to the month.
//! - **Referrals** and **SPM needs** raised at visits in the month (satu data hand-off,
//!   counted per SPM area).
//! - **ILP checklist** ([`ChecklistCoverageRow`], items marked `indicator` in
//!   `records/data/rules/ilp_checklist.json`, [`posyandu_records::rules::checklist`]):
//!   per item, members asked at a visit of the month while the item applied to them
//!   (life stage, age, sex at the visit), each once with their last answer of the
//!   month, and those answering yes. **Counselling**: visit entries of the month per
//!   coded topic (free text of older app versions is not counted).
//! - **Conflicts**: households of the Posyandu with unresolved same-field conflicts;
//!   the report uses automerge's merged winner and lists each conflicted path,
//!   flagging those inside a visit of the month (`affects_month`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::extract::{Path, RawQuery, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use posyandu_records::growth::{self, WeightTrend};
use posyandu_records::lifestage::{age_months, age_years};
use posyandu_records::model::*;
use posyandu_records::rules::breastfeeding;
use posyandu_records::rules::checklist;
use posyandu_records::rules::f2::{self, F2Status};
use posyandu_records::rules::membership::counted_in_month;
use posyandu_records::rules::screening::{screen, ImtCategory, ScreeningResult};
use posyandu_records::rules::{immunisation, vitamin_a};
use serde::Serialize;
use time::Date;
use uuid::Uuid;

use super::export::{assess_entry, sex_code};
use super::{parse_month, walk_posyandu, Loaded};
use crate::error::ApiError;
use crate::AppState;

/// Age groups in completed months.
pub const AGE_GROUPS: [(&str, i32, i32); 5] =
    [("0-5", 0, 5), ("6-11", 6, 11), ("12-23", 12, 23), ("24-35", 24, 35), ("36-59", 36, 59)];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Skdn {
    pub s: u32,
    pub k: u32,
    /// Children of S whose Buku KIA/KMS ownership is not recorded (not in K).
    pub k_unrecorded: u32,
    pub d: u32,
    pub n: u32,
    pub t: u32,
    pub o: u32,
    pub b: u32,
    pub k_s_pct: Option<f64>,
    pub d_s_pct: Option<f64>,
    pub n_d_pct: Option<f64>,
    pub n_s_pct: Option<f64>,
    /// Set when some of S have no recorded Buku KIA/KMS ownership.
    pub k_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildRow {
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub name: String,
    pub sex: &'static str,
    pub age_months: i32,
    pub rt: String,
    pub rw: String,
    pub date: String,
    pub weight_kg: Option<f64>,
    pub zwfa: Option<f64>,
}

/// Counts of one indicator by age group and sex.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SexCounts {
    pub male: u32,
    pub female: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndicatorRow {
    pub age_group: &'static str,
    /// Children with this z-score (denominator), by sex.
    pub measured: SexCounts,
    /// Children below −2 SD, by sex.
    pub below_2sd: SexCounts,
    /// Of those, below −3 SD.
    pub below_3sd: SexCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Nutrition {
    /// BB/U (weight-for-age) z < −2.
    pub underweight: Vec<IndicatorRow>,
    /// TB/U (length/height-for-age) z < −2.
    pub stunting: Vec<IndicatorRow>,
    /// BB/TB (weight-for-length/height) z < −2.
    pub wasting: Vec<IndicatorRow>,
    /// Measurements with an implausible z-score (excluded above).
    pub implausible: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonRow {
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub name: String,
    pub age_years: i32,
    pub rt: String,
    pub rw: String,
    pub detail: String,
}

impl PersonRow {
    /// A member of a household, with a detail line.
    pub fn of(hh: &Household, m: &Member, age_years: i32, detail: String) -> PersonRow {
        PersonRow {
            household_id: hh.id,
            member_id: m.id,
            name: m.name.clone(),
            age_years,
            rt: hh.address.rt.clone(),
            rw: hh.address.rw.clone(),
            detail,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Maternal {
    pub pregnant: u32,
    pub kek: u32,
    pub kek_list: Vec<PersonRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Immunisation {
    /// Every dose given in the month, per antigen code (children and adults).
    pub doses_by_antigen: BTreeMap<String, u32>,
    /// Children 0–59 months at the visit given a dose of the child schedule.
    pub children_immunised: u32,
    pub vitamin_a: VitaminA,
}

/// Vitamin A coverage of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VitaminACoverage {
    /// The capsule for the group (`biru`, `merah`).
    pub capsule: &'static str,
    pub eligible: u32,
    pub given: u32,
    pub pct: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VitaminA {
    /// February or August (bulan vitamin A).
    pub round_month: bool,
    /// Why the children's coverage is `null` (not a round month).
    pub not_applicable_reason: Option<&'static str>,
    /// 6–11 months, blue capsule; `null` outside round months.
    pub infants_6_11: Option<VitaminACoverage>,
    /// 12–59 months, red capsule; `null` outside round months.
    pub children_12_59: Option<VitaminACoverage>,
    /// Ibu nifas, red capsule; every month.
    pub ibu_nifas: VitaminACoverage,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScreeningGroup {
    /// People of the group seen at a visit in the month.
    pub visited: u32,
    pub bp_measured: u32,
    pub hypertension: u32,
    pub glucose_measured: u32,
    /// Of those, the last reading was fasting (puasa).
    pub glucose_fasting: u32,
    /// High by the threshold of the reading's kind (puasa ≥ 126, sewaktu ≥ 200 mg/dL).
    pub high_glucose: u32,
    /// Weight and height measured (adult IMT).
    pub imt_measured: u32,
    pub imt_kurus: u32,
    pub imt_gemuk: u32,
    pub imt_obesitas: u32,
    pub waist_measured: u32,
    pub central_obesity: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Screening {
    pub adult_15_59: ScreeningGroup,
    pub elderly_60_plus: ScreeningGroup,
    pub hypertension_list: Vec<PersonRow>,
    pub high_glucose_list: Vec<PersonRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralRow {
    pub date: String,
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub name: String,
    pub reason: String,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpmAreaCount {
    pub area: SpmArea,
    pub label: &'static str,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpmNeedRow {
    pub date: String,
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub area: SpmArea,
    pub need: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpmSummary {
    pub by_area: Vec<SpmAreaCount>,
    pub needs: Vec<SpmNeedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictRow {
    pub household_id: Uuid,
    pub path: String,
    /// Number of concurrent values kept.
    pub values: usize,
    /// The path lies in a visit dated in the report month.
    pub affects_month: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConflictSummary {
    pub households: u32,
    pub fields: u32,
    pub affecting_month: u32,
    pub items: Vec<ConflictRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Thresholds {
    pub hypertension: String,
    pub high_glucose: String,
    pub imt: String,
    pub central_obesity: String,
    pub bgm: &'static str,
    pub kek: &'static str,
    pub k_definition: &'static str,
}

/// One age group of the F2 recap ("Rekapitulasi hasil penimbangan bayi balita"): the
/// SKDN counts, N/T/O/B and 2T, each by sex, and the nutrition status of the children
/// found BGM or 2T (`status`). The age group is the child's age in completed months on
/// the last day of the month (the S definition).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct F2Row {
    pub age_group: &'static str,
    pub s: SexCounts,
    pub k: SexCounts,
    pub d: SexCounts,
    pub n: SexCounts,
    pub t: SexCounts,
    /// Of T: not gaining for the second month in a row (2T).
    pub two_t: SexCounts,
    pub o: SexCounts,
    pub b: SexCounts,
    /// BGM (BB/U below the red line) at the month's last weighing.
    pub bgm: SexCounts,
    /// F2 section III: nutrition status of the children counted BGM or 2T.
    pub status: F2StatusGizi,
}

/// F2 section III, "Status gizi (konfirmasi BGM & 2T)", of one age group by sex: the
/// rulebook's categories ([`posyandu_records::rules::f2`], Permenkes 2/2020) of the
/// children counted BGM or 2T in the month, from the month's last measurement giving
/// the index (BB/PB–BB/TB for kurus, sangat kurus and gizi lebih; PB/U–TB/U for pendek
/// and sangat pendek; implausible z-scores excluded). *Baru*: the first month of the
/// calendar year the child is counted with the status; *kumulatif*: the children whose
/// *baru* month is January to this month, in the age group of that month (the sum of
/// the months' *baru*).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct F2StatusGizi {
    /// Children counted BGM or 2T (whose status this section reports).
    pub bgm_2t: SexCounts,
    /// BB/TB gizi kurang (kurus).
    pub kurus: SexCounts,
    pub kurus_baru: SexCounts,
    pub kurus_kumulatif: SexCounts,
    /// BB/TB gizi buruk (sangat kurus).
    pub sangat_kurus: SexCounts,
    pub sangat_kurus_baru: SexCounts,
    pub sangat_kurus_kumulatif: SexCounts,
    /// BB/TB gizi lebih or obesitas (z > +2).
    pub gizi_lebih: SexCounts,
    /// TB/U pendek; with `sangat_pendek` the stunted children.
    pub pendek: SexCounts,
    pub sangat_pendek: SexCounts,
}

/// The fields of an [`F2StatusGizi`] in the order of its `COLUMNS`, each borrowed with
/// the tokens after `;` (`&` or `&mut`).
macro_rules! status_cells {
    ($s:expr; $($borrow:tt)+) => {
        [
            $($borrow)+ $s.bgm_2t,
            $($borrow)+ $s.kurus,
            $($borrow)+ $s.kurus_baru,
            $($borrow)+ $s.kurus_kumulatif,
            $($borrow)+ $s.sangat_kurus,
            $($borrow)+ $s.sangat_kurus_baru,
            $($borrow)+ $s.sangat_kurus_kumulatif,
            $($borrow)+ $s.gizi_lebih,
            $($borrow)+ $s.pendek,
            $($borrow)+ $s.sangat_pendek,
        ]
    };
}

impl F2StatusGizi {
    /// The columns in order: (CSV key, HTML heading).
    pub const COLUMNS: [(&'static str, &'static str); 10] = [
        ("BGM_2T", "BGM/2T"),
        ("kurus", "Kurus"),
        ("kurus_baru", "Kurus baru"),
        ("kurus_kumulatif", "Kurus kumulatif"),
        ("sangat_kurus", "Sangat kurus"),
        ("sangat_kurus_baru", "Sangat kurus baru"),
        ("sangat_kurus_kumulatif", "Sangat kurus kumulatif"),
        ("gizi_lebih", "Gizi lebih"),
        ("pendek", "Pendek"),
        ("sangat_pendek", "Sangat pendek"),
    ];

    /// The counts in the order of [`F2StatusGizi::COLUMNS`].
    pub fn cells(&self) -> [&SexCounts; 10] {
        status_cells!(self; &)
    }

    fn cells_mut(&mut self) -> [&mut SexCounts; 10] {
        status_cells!(self; &mut)
    }
}

impl SexCounts {
    fn add(&mut self, o: &SexCounts) {
        self.male += o.male;
        self.female += o.female;
    }
}

impl F2Row {
    /// Adds another row of the same age group (another Posyandu, or another month of a
    /// year-to-date recap: then take the last month's kumulatif with
    /// [`F2Row::cumulative_of`]).
    pub fn add(&mut self, o: &F2Row) {
        for (a, b) in [
            (&mut self.s, &o.s),
            (&mut self.k, &o.k),
            (&mut self.d, &o.d),
            (&mut self.n, &o.n),
            (&mut self.t, &o.t),
            (&mut self.two_t, &o.two_t),
            (&mut self.o, &o.o),
            (&mut self.b, &o.b),
            (&mut self.bgm, &o.bgm),
        ] {
            a.add(b);
        }
        for (a, b) in self.status.cells_mut().into_iter().zip(o.status.cells()) {
            a.add(b);
        }
    }

    /// Replaces the kumulatif counts with those of `last` (the period's last month):
    /// a year-to-date recap adds the months' other counts, but the kumulatif of the
    /// last month already covers January to it.
    pub fn cumulative_of(&mut self, last: &F2Row) {
        self.status.kurus_kumulatif = last.status.kurus_kumulatif.clone();
        self.status.sangat_kurus_kumulatif = last.status.sangat_kurus_kumulatif.clone();
    }
}

/// The F2 rows, one per [`AGE_GROUPS`] entry, then a total row (`age_group` "0-59").
pub fn f2_rows() -> Vec<F2Row> {
    AGE_GROUPS
        .iter()
        .map(|(g, _, _)| *g)
        .chain(["0-59"])
        .map(|g| F2Row { age_group: g, ..Default::default() })
        .collect()
}

/// Kader of a Posyandu (the F2's "Jumlah Kader: a. Ada, b. Aktif").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KaderCounts {
    /// Kader with a device token of the Posyandu enrolled before the end of the month
    /// and not revoked by then ([`enrolment_cutoff`]).
    pub ada: u32,
    /// Kader who recorded a visit dated in the month.
    pub aktif: u32,
}

/// The instant a month's kader registry is read at: the end of its last day in WIB
/// (UTC+7, the relay's day as for quotas), as Unix seconds. A kader is *ada* when one
/// of her device tokens was created before it and not revoked before it.
pub fn enrolment_cutoff(last: Date) -> i64 {
    const WIB_OFFSET_SECS: i64 = 7 * 3600;
    last.next_day().map_or(i64::MAX, |d| d.midnight().assume_utc().unix_timestamp() - WIB_OFFSET_SECS)
}

/// One indicator item of the ILP checklist in the month: members of its group with an
/// answer recorded at a visit of the month (`asked`; each member once, the last answer
/// of the month decides) and those answering yes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChecklistCoverageRow {
    pub code: String,
    pub label: String,
    pub stage: &'static str,
    pub asked: u32,
    pub yes: u32,
    pub pct: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CounsellingCount {
    pub code: String,
    pub label: String,
    pub entries: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonthlyReport {
    pub posyandu_id: String,
    pub month: String,
    /// Highest log position included (the report is exact up to it).
    pub as_of_seq: u64,
    pub households: u32,
    pub skdn: Skdn,
    /// The F2 recap: SKDN, N/T/O/B, 2T, BGM and the nutrition status of BGM/2T children
    /// by age group × sex (last row: total).
    pub f2: Vec<F2Row>,
    /// The F2 "Jumlah Kader": registered (*ada*) and recording (*aktif*).
    pub kader: KaderCounts,
    pub two_t: Vec<ChildRow>,
    pub bgm: Vec<ChildRow>,
    pub nutrition: Nutrition,
    pub maternal: Maternal,
    pub immunisation: Immunisation,
    pub screening: Screening,
    pub referrals: Vec<ReferralRow>,
    pub spm: SpmSummary,
    /// Coverage of the ILP checklist items that are program indicators (e.g. ASI
    /// eksklusif of infants 0–5 months), in catalogue order.
    pub checklist: Vec<ChecklistCoverageRow>,
    /// Counselling (penyuluhan) given in the month per coded topic: visit entries that
    /// list it.
    pub counselling: Vec<CounsellingCount>,
    pub conflicts: ConflictSummary,
    pub thresholds: Thresholds,
    /// "NIK tidak cocok": members whose NIK disagrees with their birth date or sex
    /// (registered anyway; `detail` is the rulebook's message).
    pub nik_warnings: Vec<PersonRow>,
    /// ASI eksklusif (issue 12): infants 0–5 months asked in the month and those
    /// answered yes (`rules::breastfeeding`).
    pub asi_eksklusif: AsiEksklusif,
    /// Referrals with a lifecycle (issue 12): raised, received, handled and closed in
    /// the month, by status at the month's end and by reason
    /// ([`super::referrals::ReferralCounts`]). `referrals` above lists the older
    /// free-text referrals of visit entries.
    pub referral_lifecycle: super::referrals::ReferralCounts,
    /// Coverage against the year's sasaran (issue 12), when the Posyandu document sets
    /// one for the month's year (JSON, CSV section `sasaran`, HTML table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasaran: Option<SasaranCoverage>,
}

/// The month's counts against the year's sasaran of the Posyandu document (set by the
/// Puskesmas or a kader): under-fives weighed (D) and registered (S) per sasaran balita.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SasaranCoverage {
    pub year: i32,
    /// `puskesmas` or `kader`.
    pub source: String,
    pub ibu_hamil: Option<u32>,
    pub bayi: Option<u32>,
    pub balita: Option<u32>,
    pub lansia: Option<u32>,
    /// D of the month (balita ditimbang) and S.
    pub d: u32,
    pub s: u32,
    /// D / sasaran balita, S / sasaran balita (percent).
    pub d_sasaran_pct: Option<f64>,
    pub s_sasaran_pct: Option<f64>,
}

/// Exclusive breastfeeding coverage of the month: infants 0–5 months at a visit of the
/// month with an answer recorded (`asked`), those whose last answer of the month is
/// yes (`yes`), and `pct` = yes / asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AsiEksklusif {
    pub asked: u32,
    pub yes: u32,
    pub pct: Option<f64>,
}

fn pct(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| growth::round_half_away(num as f64 * 100.0 / den as f64, 1))
}

fn inc(c: &mut SexCounts, sex: Sex) {
    match sex {
        Sex::Male => c.male += 1,
        Sex::Female => c.female += 1,
    }
}

fn age_group(months: i32) -> Option<usize> {
    AGE_GROUPS.iter().position(|(_, lo, hi)| (*lo..=*hi).contains(&months))
}

/// A child's weighings in `first..=last` (visit order) with her entry.
fn weighings<'v>(m: &Member, visits: &[&'v Visit], first: Date, last: Date) -> Vec<(&'v Visit, VisitEntry)> {
    visits
        .iter()
        .copied()
        .filter(|v| first <= v.date && v.date <= last)
        .filter_map(|v| {
            let e = v.entries.iter().find(|e| e.member_id == m.id)?;
            e.measurements.weight_kg.is_some().then(|| (v, e.clone()))
        })
        .collect()
}

/// The first weighing of the month the core scored, with its trend (the core scores
/// the first weighing of each calendar month against the latest of the previous one;
/// `None`: the month counts as O).
fn scored_trend<'v>(
    m: &Member,
    weighed: &[(&'v Visit, VisitEntry)],
    trends: &HashMap<(Uuid, Uuid), WeightTrend>,
) -> Option<(&'v Visit, WeightTrend)> {
    weighed.iter().find_map(|(v, _)| trends.get(&(v.id, m.id)).map(|t| (*v, *t)))
}

/// The scored weighing when it is 2T: T, and T at the trend before
/// ([`growth::is_2t`]).
fn two_t_weighing<'v>(
    m: &Member,
    visits: &[&'v Visit],
    trends: &HashMap<(Uuid, Uuid), WeightTrend>,
    scored: Option<(&'v Visit, WeightTrend)>,
) -> Option<&'v Visit> {
    let Some((sv, WeightTrend::T)) = scored else {
        return None;
    };
    let seq: Vec<WeightTrend> =
        visits.iter().filter(|v| v.date <= sv.date).filter_map(|v| trends.get(&(v.id, m.id)).copied()).collect();
    growth::is_2t(&seq).then_some(sv)
}

/// The month's last weighing when it is below the red line: BB/U "sangat kurang" (the
/// rulebook's category, the same the KMS referral trigger uses), implausible z-scores
/// excluded.
fn bgm_weighing<'w, 'v>(
    m: &Member,
    weighed: &'w [(&'v Visit, VisitEntry)],
) -> Option<(&'v Visit, &'w VisitEntry, growth::GrowthAssessment)> {
    let (lv, le) = weighed.last()?;
    let a = assess_entry(Some(m), lv.date, le)?;
    (!a.flags.wfa && a.bbu == Some(growth::WeightForAge::SangatKurang)).then(|| (*lv, le, a))
}

/// F2 section III of a child in the month `first..=last`: her age group (on `last`)
/// and her rows ([`f2::wasting_row`], [`f2::stunting_row`] of the month's last
/// measurement giving each index). `None` when she is not in the month's S or is
/// neither BGM nor 2T in it ([`f2::status_reported`]).
fn f2_case(
    m: &Member,
    visits: &[&Visit],
    trends: &HashMap<(Uuid, Uuid), WeightTrend>,
    first: Date,
    last: Date,
) -> Option<(usize, [Option<F2Status>; 2])> {
    if m.birth_date > last {
        return None;
    }
    let group = age_group(age_months(m.birth_date, last))?;
    let weighed = weighings(m, visits, first, last);
    let two_t = two_t_weighing(m, visits, trends, scored_trend(m, &weighed, trends)).is_some();
    let bgm = bgm_weighing(m, &weighed).is_some();
    if !f2::status_reported(bgm, two_t) {
        return None;
    }
    let assessed: Vec<growth::GrowthAssessment> = visits
        .iter()
        .filter(|v| first <= v.date && v.date <= last)
        .filter_map(|v| assess_entry(Some(m), v.date, v.entries.iter().find(|e| e.member_id == m.id)?))
        .collect();
    let wasting = assessed.iter().rev().find(|a| a.bbtb.is_some() && !a.flags.wfl).and_then(f2::wasting_row);
    let stunting = assessed.iter().rev().find(|a| a.tbu.is_some() && !a.flags.lhfa).and_then(f2::stunting_row);
    Some((group, [wasting, stunting]))
}

/// The F2 section III count of a row this month, or of its *baru* / *kumulatif* cases.
fn status_cell(s: &mut F2StatusGizi, row: F2Status, of: CaseCount) -> Option<&mut SexCounts> {
    use CaseCount::*;
    Some(match (row, of) {
        (F2Status::Kurus, Month) => &mut s.kurus,
        (F2Status::Kurus, Baru) => &mut s.kurus_baru,
        (F2Status::Kurus, Kumulatif) => &mut s.kurus_kumulatif,
        (F2Status::SangatKurus, Month) => &mut s.sangat_kurus,
        (F2Status::SangatKurus, Baru) => &mut s.sangat_kurus_baru,
        (F2Status::SangatKurus, Kumulatif) => &mut s.sangat_kurus_kumulatif,
        (F2Status::GiziLebih, Month) => &mut s.gizi_lebih,
        (F2Status::Pendek, Month) => &mut s.pendek,
        (F2Status::SangatPendek, Month) => &mut s.sangat_pendek,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaseCount {
    Month,
    Baru,
    Kumulatif,
}

/// Accumulates households one at a time (memory stays bounded by one household).
pub struct ReportBuilder {
    first: Date,
    last: Date,
    r: MonthlyReport,
    spm_counts: BTreeMap<SpmArea, u32>,
    immunised: BTreeSet<Uuid>,
    /// Vitamin A, children: (eligible, given) for 6–11 and 12–59 months; nifas.
    vit_a: [(u32, u32); 2],
    vit_a_nifas: (u32, u32),
    /// Kader who recorded a visit of the month.
    kader: BTreeSet<String>,
    /// ILP checklist answers of the month: (member, visit date, item applied to the
    /// member then, code, answer).
    answers: Vec<(Uuid, Date, bool, String, bool)>,
    counselling: BTreeMap<String, u32>,
}

impl ReportBuilder {
    pub fn new(posyandu_id: &str, month: &str, first: Date, last: Date) -> Self {
        let r = MonthlyReport {
            posyandu_id: posyandu_id.to_string(),
            month: month.to_string(),
            nutrition: Nutrition { underweight: rows(), stunting: rows(), wasting: rows(), implausible: 0 },
            f2: f2_rows(),
            thresholds: Thresholds {
                hypertension: posyandu_records::rules::screening::hypertension_text(),
                high_glucose: posyandu_records::rules::screening::glucose_text(),
                imt: posyandu_records::rules::screening::imt_text(),
                central_obesity: posyandu_records::rules::screening::waist_text(),
                bgm: "BB/U z < −3 SD (WHO 2006)",
                kek: "ibu hamil dengan status KEK atau LiLA < 23,5 cm",
                k_definition:
                    "balita terdaftar yang tercatat memiliki Buku KIA/KMS (yang belum dicatat tidak dihitung K)",
            },
            referral_lifecycle: super::referrals::ReferralCounts::new(),
            ..Default::default()
        };
        ReportBuilder {
            first,
            last,
            r,
            spm_counts: BTreeMap::new(),
            immunised: BTreeSet::new(),
            vit_a: [(0, 0); 2],
            vit_a_nifas: (0, 0),
            kader: BTreeSet::new(),
            answers: Vec::new(),
            counselling: BTreeMap::new(),
        }
    }

    fn in_month(&self, d: Date) -> bool {
        self.first <= d && d <= self.last
    }

    pub fn add(&mut self, l: &Loaded) {
        let hh = &l.household;
        self.r.households += 1;
        self.r.as_of_seq = self.r.as_of_seq.max(l.updated_seq);
        let visits: Vec<&Visit> = hh.visits.iter().filter(|v| !v.deleted).collect();
        let month_visits: Vec<&Visit> = visits.iter().copied().filter(|v| self.in_month(v.date)).collect();
        let trends = &l.trends;
        // Moved away / died (issue 12): counted through the month of the event, not from
        // the month after (`rules::membership`), in S and every denominator.
        let first = self.first;
        for m in hh.members.iter().filter(|m| !m.deleted && counted_in_month(m.status.as_ref(), first)) {
            let answers = month_visits.iter().filter_map(|v| {
                v.entries.iter().find(|e| e.member_id == m.id).map(|e| (v.date, breastfeeding::answer(e)))
            });
            if let Some(yes) = breastfeeding::month_answer(m.birth_date, answers) {
                self.r.asi_eksklusif.asked += 1;
                self.r.asi_eksklusif.yes += yes as u32;
            }
            self.child(hh, m, &visits, &trends);
            self.adult(hh, m, &month_visits);
            self.identity(hh, m);
        }
        self.maternal(hh, &month_visits);
        self.vitamin_a_nifas(hh, &month_visits);
        self.r.referral_lifecycle.add(hh, self.first, self.last);
        for v in &month_visits {
            self.kader.insert(v.kader_id.clone());
            for e in &v.entries {
                let name = hh.member(e.member_id).map(|m| m.name.clone()).unwrap_or_default();
                let under_five =
                    hh.member(e.member_id).is_some_and(|m| (0..60).contains(&age_months(m.birth_date, v.date)));
                for a in &e.services.immunisations {
                    *self.r.immunisation.doses_by_antigen.entry(a.clone()).or_default() += 1;
                    if under_five && immunisation::is_child_schedule(a) {
                        self.immunised.insert(e.member_id);
                    }
                }
                if let Some(rf) = &e.referral {
                    self.r.referrals.push(ReferralRow {
                        date: format_date(v.date),
                        household_id: hh.id,
                        member_id: e.member_id,
                        name: name.clone(),
                        reason: rf.reason.clone(),
                        to: rf.to.clone(),
                    });
                }
                if let Some(m) = hh.member(e.member_id).filter(|_| !e.checklist.is_empty()) {
                    let stage = hh.life_stage_of(m.id, v.date);
                    for (code, yes) in &e.checklist {
                        let applies = stage
                            .is_some_and(|st| checklist::item_for(code, st, m.birth_date, m.sex, v.date).is_some());
                        self.answers.push((m.id, v.date, applies, code.clone(), *yes));
                    }
                }
                for t in e.counselling.iter().filter(|t| checklist::is_topic(t)) {
                    *self.counselling.entry(t.clone()).or_default() += 1;
                }
                for n in &e.spm_needs {
                    *self.spm_counts.entry(n.area).or_default() += 1;
                    self.r.spm.needs.push(SpmNeedRow {
                        date: format_date(v.date),
                        household_id: hh.id,
                        member_id: e.member_id,
                        area: n.area,
                        need: n.need.clone(),
                    });
                }
            }
        }
        if !l.conflicts.is_empty() {
            self.r.conflicts.households += 1;
        }
        for c in &l.conflicts {
            let affects_month = c
                .path
                .strip_prefix("visits/")
                .and_then(|rest| rest.split('/').next())
                .and_then(|id| Uuid::parse_str(id).ok())
                .is_some_and(|id| month_visits.iter().any(|v| v.id == id));
            self.r.conflicts.fields += 1;
            self.r.conflicts.affecting_month += affects_month as u32;
            self.r.conflicts.items.push(ConflictRow {
                household_id: hh.id,
                path: c.path.clone(),
                values: c.values.len(),
                affects_month,
            });
        }
    }

    fn child(&mut self, hh: &Household, m: &Member, visits: &[&Visit], trends: &HashMap<(Uuid, Uuid), WeightTrend>) {
        if m.birth_date > self.last {
            return;
        }
        self.f2_status(m, visits, trends);
        let age_end = age_months(m.birth_date, self.last);
        if !(0..=59).contains(&age_end) {
            return;
        }
        let group = age_group(age_end).expect("0..=59 months is in a group");
        let total = AGE_GROUPS.len();
        let f2 = |r: &mut MonthlyReport, pick: fn(&mut F2Row) -> &mut SexCounts| {
            inc(pick(&mut r.f2[group]), m.sex);
            inc(pick(&mut r.f2[total]), m.sex);
        };
        f2(&mut self.r, |r| &mut r.s);
        if m.kia_book == Some(true) {
            f2(&mut self.r, |r| &mut r.k);
        }
        let sk = &mut self.r.skdn;
        sk.s += 1;
        match m.kia_book {
            Some(true) => sk.k += 1,
            Some(false) => {}
            None => sk.k_unrecorded += 1,
        }
        // Vitamin A band by age on the last day of the month (6–11 blue, 12–59 red).
        let vit_a_band =
            vitamin_a::child_dose(m.birth_date, self.last)
                .map(|d| if d.capsule == VitaminACapsule::Biru { 0 } else { 1 });
        let entry_of = |v: &Visit| v.entries.iter().find(|e| e.member_id == m.id).cloned();
        let weighed = weighings(m, visits, self.first, self.last);
        let given_vit_a =
            visits.iter().filter(|v| self.in_month(v.date)).any(|v| entry_of(v).is_some_and(|e| e.services.vitamin_a));
        if let Some(band) = vit_a_band {
            self.vit_a[band].0 += 1;
            self.vit_a[band].1 += given_vit_a as u32;
        }
        let row = |v: &Visit, e: &VisitEntry, z: Option<f64>| ChildRow {
            household_id: hh.id,
            member_id: m.id,
            name: m.name.clone(),
            sex: sex_code(m.sex),
            age_months: age_months(m.birth_date, v.date),
            rt: hh.address.rt.clone(),
            rw: hh.address.rw.clone(),
            date: format_date(v.date),
            weight_kg: e.measurements.weight_kg,
            zwfa: z.map(|z| growth::round_half_away(z, 2)),
        };
        if let Some((_, first_e)) = weighed.first() {
            let sk = &mut self.r.skdn;
            sk.d += 1;
            let scored = scored_trend(m, &weighed, trends);
            match scored.map(|(_, t)| t).unwrap_or(WeightTrend::O) {
                WeightTrend::N => sk.n += 1,
                WeightTrend::T => sk.t += 1,
                WeightTrend::O => sk.o += 1,
                WeightTrend::B => sk.b += 1,
            }
            f2(&mut self.r, |r| &mut r.d);
            f2(
                &mut self.r,
                match scored.map(|(_, t)| t).unwrap_or(WeightTrend::O) {
                    WeightTrend::N => |r: &mut F2Row| &mut r.n,
                    WeightTrend::T => |r: &mut F2Row| &mut r.t,
                    WeightTrend::O => |r: &mut F2Row| &mut r.o,
                    WeightTrend::B => |r: &mut F2Row| &mut r.b,
                },
            );
            if let Some(sv) = two_t_weighing(m, visits, trends, scored) {
                f2(&mut self.r, |r| &mut r.two_t);
                let e = entry_of(sv).unwrap_or_else(|| first_e.clone());
                let z = assess_entry(Some(m), sv.date, &e).and_then(|a| a.zwfa);
                self.r.two_t.push(row(sv, &e, z));
            }
            if let Some((lv, le, a)) = bgm_weighing(m, &weighed) {
                f2(&mut self.r, |r| &mut r.bgm);
                self.r.bgm.push(row(lv, le, a.zwfa));
            }
        }
        // Nutrition status from the last measurement of the month.
        let measured = visits
            .iter()
            .rev()
            .filter(|v| self.in_month(v.date))
            .find_map(|v| entry_of(v).and_then(|e| assess_entry(Some(m), v.date, &e).map(|a| (*v, a))));
        if let Some((v, a)) = measured {
            let Some(g) = age_group(age_months(m.birth_date, v.date)) else {
                return;
            };
            let f = a.flags;
            if f.wfa || f.lhfa || f.wfl {
                self.r.nutrition.implausible += 1;
            }
            let n = &mut self.r.nutrition;
            // Below −2 / −3 SD = the rulebook's categories (Permenkes 2/2020): kurang /
            // sangat kurang, pendek / sangat pendek, gizi kurang / gizi buruk.
            use growth::{HeightForAge as H, NutritionStatus as G, WeightForAge as W};
            let bands = [
                (
                    &mut n.underweight,
                    f.wfa,
                    a.bbu.map(|c| (c == W::Kurang || c == W::SangatKurang, c == W::SangatKurang)),
                ),
                (
                    &mut n.stunting,
                    f.lhfa,
                    a.tbu.map(|c| (c == H::Pendek || c == H::SangatPendek, c == H::SangatPendek)),
                ),
                (&mut n.wasting, f.wfl, a.bbtb.map(|c| (c == G::GiziKurang || c == G::GiziBuruk, c == G::GiziBuruk))),
            ];
            for (rows, bad, band) in bands {
                if let Some((below_2, below_3)) = band.filter(|_| !bad) {
                    let r = &mut rows[g];
                    inc(&mut r.measured, m.sex);
                    if below_2 {
                        inc(&mut r.below_2sd, m.sex);
                    }
                    if below_3 {
                        inc(&mut r.below_3sd, m.sex);
                    }
                }
            }
        }
    }

    /// F2 section III of a child: her status this month, and her *baru* and *kumulatif*
    /// kurus / sangat kurus cases of the year (January to this month), each counted in
    /// the age group of the month the case was new.
    fn f2_status(&mut self, m: &Member, visits: &[&Visit], trends: &HashMap<(Uuid, Uuid), WeightTrend>) {
        let total = AGE_GROUPS.len();
        let put = |r: &mut MonthlyReport, group: usize, row: Option<F2Status>, of: CaseCount| {
            for g in [group, total] {
                let st = &mut r.f2[g].status;
                match row {
                    None => inc(&mut st.bgm_2t, m.sex),
                    Some(row) => {
                        if let Some(c) = status_cell(st, row, of) {
                            inc(c, m.sex);
                        }
                    }
                }
            }
        };
        let mut cases: Vec<(Date, usize, F2Status)> = Vec::new();
        for month in 1..=u8::from(self.first.month()) {
            let Some((first, last)) = parse_month(&format!("{:04}-{month:02}", self.first.year())) else {
                continue;
            };
            let Some((group, rows)) = f2_case(m, visits, trends, first, last) else {
                continue;
            };
            if first == self.first {
                put(&mut self.r, group, None, CaseCount::Month);
                for row in rows.into_iter().flatten() {
                    put(&mut self.r, group, Some(row), CaseCount::Month);
                }
            }
            cases.extend(rows.into_iter().flatten().map(|row| (first, group, row)));
        }
        for row in [F2Status::Kurus, F2Status::SangatKurus] {
            let of_row = || cases.iter().filter(move |c| c.2 == row);
            let Some(new) = f2::new_case_month(self.last, of_row().map(|c| c.0)) else {
                continue;
            };
            let group = of_row().find(|c| c.0 == new).map(|c| c.1).expect("the month is one of the cases");
            put(&mut self.r, group, Some(row), CaseCount::Kumulatif);
            if new == self.first {
                put(&mut self.r, group, Some(row), CaseCount::Baru);
            }
        }
    }

    fn adult(&mut self, hh: &Household, m: &Member, month_visits: &[&Visit]) {
        // Every reading of the month, judged by the rulebook.
        let seen: Vec<(&Visit, &VisitEntry, ScreeningResult)> = month_visits
            .iter()
            .filter_map(|v| v.entries.iter().find(|e| e.member_id == m.id).map(|e| (*v, e)))
            .map(|(v, e)| (v, e, screen(m.sex, m.birth_date, v.date, &e.measurements)))
            .collect();
        let Some((last_v, _, _)) = seen.last() else {
            return;
        };
        let age = age_years(m.birth_date, last_v.date);
        let person = |detail: String| PersonRow::of(hh, m, age, detail);
        let s = &mut self.r.screening;
        let g = match age {
            a if a >= 60 => &mut s.elderly_60_plus,
            a if a >= posyandu_records::rules::screening::min_age_years() => &mut s.adult_15_59,
            _ => return,
        };
        g.visited += 1;
        // The last reading of the month of each measure.
        let last = |f: &dyn Fn(&ScreeningResult) -> bool| seen.iter().rev().find(|(_, _, r)| f(r));
        if let Some((v, e, r)) = last(&|r| r.hypertension.is_some()) {
            g.bp_measured += 1;
            if r.hypertension == Some(true) {
                g.hypertension += 1;
                let ms = &e.measurements;
                let d =
                    format!("{}: {}/{} mmHg", format_date(v.date), num(ms.bp_systolic_mmhg), num(ms.bp_diastolic_mmhg));
                s.hypertension_list.push(person(d));
            }
        }
        let g = if age >= 60 { &mut s.elderly_60_plus } else { &mut s.adult_15_59 };
        if let Some((v, e, r)) = last(&|r| r.high_glucose.is_some()) {
            g.glucose_measured += 1;
            let kind = GlucoseKind::or_default(r.glucose_kind);
            g.glucose_fasting += (kind == GlucoseKind::Puasa) as u32;
            if r.high_glucose == Some(true) {
                g.high_glucose += 1;
                let x = num(e.measurements.blood_glucose_mg_dl);
                s.high_glucose_list.push(person(format!("{}: {} {x} mg/dL", format_date(v.date), kind.code())));
            }
        }
        if let Some((_, _, r)) = last(&|r| r.imt_category.is_some()) {
            g.imt_measured += 1;
            match r.imt_category {
                Some(ImtCategory::Kurus) => g.imt_kurus += 1,
                Some(ImtCategory::Gemuk) => g.imt_gemuk += 1,
                Some(ImtCategory::Obesitas) => g.imt_obesitas += 1,
                _ => {}
            }
        }
        if let Some((_, _, r)) = last(&|r| r.central_obesity.is_some()) {
            g.waist_measured += 1;
            g.central_obesity += (r.central_obesity == Some(true)) as u32;
        }
    }

    fn identity(&mut self, hh: &Household, m: &Member) {
        let warnings = posyandu_records::rules::identity::member_warnings(m);
        if warnings.is_empty() {
            return;
        }
        let detail = warnings.iter().map(|w| w.message()).collect::<Vec<_>>().join(" ");
        self.r.nik_warnings.push(PersonRow::of(hh, m, age_years(m.birth_date, self.last), detail));
    }

    fn maternal(&mut self, hh: &Household, month_visits: &[&Visit]) {
        let mut counted = BTreeSet::new();
        for p in hh.pregnancies.iter().filter(|p| !p.deleted) {
            let end = posyandu_records::rules::pregnancy::episode_end(p.due_date, p.ended);
            if p.lmp > self.last || end < self.first || !counted.insert(p.member_id) {
                continue;
            }
            let Some(m) =
                hh.member(p.member_id).filter(|m| !m.deleted && counted_in_month(m.status.as_ref(), self.first))
            else {
                continue;
            };
            self.r.maternal.pregnant += 1;
            let low_muac = month_visits
                .iter()
                .filter(|v| v.date >= p.lmp && v.date <= end)
                .filter_map(|v| v.entries.iter().find(|e| e.member_id == m.id))
                .filter_map(|e| e.measurements.muac_cm)
                .find(|x| is_kek(*x));
            if p.kek || low_muac.is_some() {
                self.r.maternal.kek += 1;
                let lila = low_muac.or(p.muac_cm).map(|x| format!("LiLA {x} cm")).unwrap_or_else(|| "KEK".into());
                self.r.maternal.kek_list.push(PersonRow {
                    household_id: hh.id,
                    member_id: m.id,
                    name: m.name.clone(),
                    age_years: age_years(m.birth_date, self.last),
                    rt: hh.address.rt.clone(),
                    rw: hh.address.rw.clone(),
                    detail: format!("{lila}; HPL {}", format_date(p.due_date)),
                });
            }
        }
    }

    /// Ibu nifas of the month (recorded end of pregnancy; nifas overlaps the month)
    /// and those given vitamin A in the month during their nifas.
    fn vitamin_a_nifas(&mut self, hh: &Household, month_visits: &[&Visit]) {
        let days = vitamin_a::table().nifas.within_days_after_birth;
        let mut counted = BTreeSet::new();
        for p in hh.pregnancies.iter().filter(|p| !p.deleted) {
            let Some(ended) = p.ended else { continue };
            let nifas_end = ended + time::Duration::days(days);
            if ended > self.last
                || nifas_end < self.first
                || hh.member(p.member_id).is_none_or(|m| m.deleted || !counted_in_month(m.status.as_ref(), self.first))
            {
                continue;
            }
            if !counted.insert(p.member_id) {
                continue;
            }
            self.vit_a_nifas.0 += 1;
            let given = month_visits
                .iter()
                .filter(|v| ended <= v.date && v.date <= nifas_end)
                .filter_map(|v| v.entries.iter().find(|e| e.member_id == p.member_id))
                .any(|e| e.services.vitamin_a);
            self.vit_a_nifas.1 += given as u32;
        }
    }

    pub fn finish(mut self) -> MonthlyReport {
        let sk = &mut self.r.skdn;
        sk.k_s_pct = pct(sk.k, sk.s);
        if sk.k_unrecorded > 0 {
            sk.k_note = Some(format!(
                "{} dari {} balita belum dicatat kepemilikan Buku KIA/KMS-nya; mereka tidak dihitung K, \
                 jadi K/S bisa lebih rendah dari kenyataan.",
                sk.k_unrecorded, sk.s
            ));
        }
        sk.d_s_pct = pct(sk.d, sk.s);
        self.r.asi_eksklusif.pct = pct(self.r.asi_eksklusif.yes, self.r.asi_eksklusif.asked);
        self.r.referral_lifecycle.finish();
        sk.n_d_pct = pct(sk.n, sk.d);
        sk.n_s_pct = pct(sk.n, sk.s);
        debug_assert_eq!(sk.d, sk.n + sk.t + sk.o + sk.b);
        self.r.kader.aktif = self.kader.len() as u32;
        let im = &mut self.r.immunisation;
        im.children_immunised = self.immunised.len() as u32;
        let cov = |capsule: VitaminACapsule, (eligible, given): (u32, u32)| VitaminACoverage {
            capsule: capsule.as_str(),
            eligible,
            given,
            pct: pct(given, eligible),
        };
        let round = vitamin_a::is_round_month(self.first);
        im.vitamin_a = VitaminA {
            round_month: round,
            not_applicable_reason: (!round).then_some("bukan bulan vitamin A (Februari dan Agustus)"),
            infants_6_11: round.then(|| cov(VitaminACapsule::Biru, self.vit_a[0])),
            children_12_59: round.then(|| cov(VitaminACapsule::Merah, self.vit_a[1])),
            ibu_nifas: cov(vitamin_a::table().nifas.capsule, self.vit_a_nifas),
        };
        self.r.spm.by_area = SpmArea::ALL
            .iter()
            .map(|a| SpmAreaCount {
                area: *a,
                label: a.label_id(),
                count: self.spm_counts.get(a).copied().unwrap_or(0),
            })
            .collect();
        let coverage = checklist::coverage(
            self.answers.iter().map(|(m, d, applies, code, yes)| (*m, *d, *applies, code.as_str(), *yes)),
        );
        self.r.checklist = checklist::all_items()
            .iter()
            .filter(|i| i.indicator)
            .map(|i| {
                let c = coverage.get(&i.code).cloned().unwrap_or_default();
                ChecklistCoverageRow {
                    code: i.code.clone(),
                    label: i.label_id.clone(),
                    stage: i.stage.as_str(),
                    asked: c.asked,
                    yes: c.yes,
                    pct: pct(c.yes, c.asked),
                }
            })
            .collect();
        self.r.counselling = checklist::all_topics()
            .iter()
            .map(|t| CounsellingCount {
                code: t.code.clone(),
                label: t.label_id.clone(),
                entries: self.counselling.get(&t.code).copied().unwrap_or(0),
            })
            .collect();
        // Deterministic order whatever the storage order.
        let key = |c: &ChildRow| (c.rw.clone(), c.rt.clone(), c.name.clone(), c.member_id);
        self.r.two_t.sort_by_key(key);
        self.r.bgm.sort_by_key(key);
        self.r.maternal.kek_list.sort_by(|a, b| (&a.name, a.member_id).cmp(&(&b.name, b.member_id)));
        self.r.screening.hypertension_list.sort_by(|a, b| (&a.name, a.member_id).cmp(&(&b.name, b.member_id)));
        self.r.screening.high_glucose_list.sort_by(|a, b| (&a.name, a.member_id).cmp(&(&b.name, b.member_id)));
        self.r.nik_warnings.sort_by(|a, b| (&a.name, a.member_id).cmp(&(&b.name, b.member_id)));
        self.r.referrals.sort_by(|a, b| (&a.date, &a.name, a.member_id).cmp(&(&b.date, &b.name, b.member_id)));
        self.r.spm.needs.sort_by(|a, b| (&a.date, a.area, a.member_id).cmp(&(&b.date, b.area, b.member_id)));
        self.r.conflicts.items.sort_by(|a, b| (a.household_id, &a.path).cmp(&(b.household_id, &b.path)));
        self.r
    }
}

fn rows() -> Vec<IndicatorRow> {
    AGE_GROUPS.iter().map(|(g, _, _)| IndicatorRow { age_group: g, ..Default::default() }).collect()
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

/// Builds the report of one Posyandu and month from the storage.
pub async fn build(st: &AppState, posyandu: &str, month: &str) -> Result<MonthlyReport, ApiError> {
    let (first, last) = parse_month(month).ok_or_else(|| ApiError::BadBody("bulan harus berformat TTTT-BB".into()))?;
    let mut b = ReportBuilder::new(posyandu, month, first, last);
    walk_posyandu(st, posyandu, |l| b.add(l)).await?;
    let mut r = b.finish();
    r.kader.ada = st.storage.kader_enrolled(posyandu.to_string(), enrolment_cutoff(last)).await?;
    if let Some(p) = st.storage.read_posyandu(posyandu.to_string()).await? {
        r.sasaran = p.sasaran_of(first.year()).map(|x| SasaranCoverage {
            year: first.year(),
            source: x.source.as_str().to_string(),
            ibu_hamil: x.ibu_hamil,
            bayi: x.bayi,
            balita: x.balita,
            lansia: x.lansia,
            d: r.skdn.d,
            s: r.skdn.s,
            d_sasaran_pct: x.balita.and_then(|n| pct(r.skdn.d, n)),
            s_sasaran_pct: x.balita.and_then(|n| pct(r.skdn.s, n)),
        });
    }
    Ok(r)
}

pub async fn handler(
    State(st): State<AppState>,
    Path((posyandu, month)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (st, posyandu, month) = (&st, posyandu.as_str(), month.as_str());
    let q = super::query_pairs(raw.as_deref());
    let format = q.get("format").map(String::as_str).unwrap_or("json");
    if !matches!(format, "json" | "html" | "csv") {
        return Err(ApiError::BadBody("format harus json, html atau csv".into()));
    }
    let scope = super::page_access(st, &headers, &q, posyandu, format == "html").await?;
    let report = build(st, posyandu, month).await?;
    let (ct, body) = match format {
        "html" => (
            "text/html; charset=utf-8",
            super::html::report_page(&report, Some(&st.links.issued_to(scope.token_id))).into_bytes(),
        ),
        "csv" => ("text/csv; charset=utf-8", to_csv(&report)?),
        _ => ("application/json", serde_json::to_vec_pretty(&report).map_err(ApiError::internal)?),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    if format == "html" {
        resp.headers_mut().insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
        );
    }
    Ok(resp)
}

/// The report as CSV: one `section,indicator,group,value` row per number (lists of
/// children/people are in JSON/HTML only, as they carry names). Cells pass through
/// [`super::csv_cell`] like every CSV of the relay.
pub fn to_csv(r: &MonthlyReport) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut put =
        |section: &str, ind: &str, group: &str, v: String| super::write_csv_row(&mut w, [section, ind, group, &v]);
    let e = ApiError::internal;
    put("meta", "posyandu", "", r.posyandu_id.clone()).map_err(e)?;
    put("meta", "bulan", "", r.month.clone()).map_err(e)?;
    put("meta", "rumah_tangga", "", r.households.to_string()).map_err(e)?;
    let s = &r.skdn;
    for (k, v) in [
        ("S", s.s),
        ("K", s.k),
        ("K_belum_dicatat", s.k_unrecorded),
        ("D", s.d),
        ("N", s.n),
        ("T", s.t),
        ("O", s.o),
        ("B", s.b),
    ] {
        put("skdn", k, "", v.to_string()).map_err(e)?;
    }
    for (k, v) in [("K/S", s.k_s_pct), ("D/S", s.d_s_pct), ("N/D", s.n_d_pct), ("N/S", s.n_s_pct)] {
        put("skdn_persen", k, "", v.map(|x| x.to_string()).unwrap_or_default()).map_err(e)?;
    }
    let asi = &r.asi_eksklusif;
    put("asi_eksklusif", "ditanya", "0-5 bln", asi.asked.to_string()).map_err(e)?;
    put("asi_eksklusif", "ya", "0-5 bln", asi.yes.to_string()).map_err(e)?;
    put("asi_eksklusif", "persen", "0-5 bln", asi.pct.map(|x| x.to_string()).unwrap_or_default()).map_err(e)?;
    put("balita", "2T", "", r.two_t.len().to_string()).map_err(e)?;
    put("balita", "BGM", "", r.bgm.len().to_string()).map_err(e)?;
    for row in &r.f2 {
        for (k, c) in [
            ("S", &row.s),
            ("K", &row.k),
            ("D", &row.d),
            ("N", &row.n),
            ("T", &row.t),
            ("2T", &row.two_t),
            ("O", &row.o),
            ("B", &row.b),
            ("BGM", &row.bgm),
        ] {
            put("f2", k, &format!("{} bln L", row.age_group), c.male.to_string()).map_err(e)?;
            put("f2", k, &format!("{} bln P", row.age_group), c.female.to_string()).map_err(e)?;
        }
    }
    for row in &r.f2 {
        for ((k, _), c) in F2StatusGizi::COLUMNS.iter().zip(row.status.cells()) {
            put("f2_status_gizi", k, &format!("{} bln L", row.age_group), c.male.to_string()).map_err(e)?;
            put("f2_status_gizi", k, &format!("{} bln P", row.age_group), c.female.to_string()).map_err(e)?;
        }
    }
    put("kader", "ada", "", r.kader.ada.to_string()).map_err(e)?;
    put("kader", "aktif", "", r.kader.aktif.to_string()).map_err(e)?;
    for (name, rows) in [
        ("underweight", &r.nutrition.underweight),
        ("stunting", &r.nutrition.stunting),
        ("wasting", &r.nutrition.wasting),
    ] {
        for row in rows {
            for (sex, m, b2, b3) in [
                ("L", row.measured.male, row.below_2sd.male, row.below_3sd.male),
                ("P", row.measured.female, row.below_2sd.female, row.below_3sd.female),
            ] {
                let g = format!("{} bln {sex}", row.age_group);
                put(name, "diukur", &g, m.to_string()).map_err(e)?;
                put(name, "< -2 SD", &g, b2.to_string()).map_err(e)?;
                put(name, "< -3 SD", &g, b3.to_string()).map_err(e)?;
            }
        }
    }
    put("ibu_hamil", "jumlah", "", r.maternal.pregnant.to_string()).map_err(e)?;
    put("ibu_hamil", "KEK", "", r.maternal.kek.to_string()).map_err(e)?;
    for (a, n) in &r.immunisation.doses_by_antigen {
        put("imunisasi", a, "", n.to_string()).map_err(e)?;
    }
    let im = &r.immunisation;
    put("imunisasi", "anak_diimunisasi", "", im.children_immunised.to_string()).map_err(e)?;
    let va = &im.vitamin_a;
    for (g, c) in
        [("6-11 bln", &va.infants_6_11), ("12-59 bln", &va.children_12_59), ("ibu nifas", &Some(va.ibu_nifas.clone()))]
    {
        match c {
            Some(c) => {
                put("vitamin_a", "sasaran", g, c.eligible.to_string()).map_err(e)?;
                put("vitamin_a", "diberi", g, c.given.to_string()).map_err(e)?;
                put("vitamin_a", "persen", g, c.pct.map(|x| x.to_string()).unwrap_or_default()).map_err(e)?;
            }
            None => {
                put("vitamin_a", "tidak_berlaku", g, va.not_applicable_reason.unwrap_or("").to_string()).map_err(e)?
            }
        }
    }
    for (g, s) in [("dewasa", &r.screening.adult_15_59), ("lansia", &r.screening.elderly_60_plus)] {
        put("skrining", "dikunjungi", g, s.visited.to_string()).map_err(e)?;
        put("skrining", "tensi_diukur", g, s.bp_measured.to_string()).map_err(e)?;
        put("skrining", "hipertensi", g, s.hypertension.to_string()).map_err(e)?;
        put("skrining", "gula_diukur", g, s.glucose_measured.to_string()).map_err(e)?;
        put("skrining", "gula_puasa_diukur", g, s.glucose_fasting.to_string()).map_err(e)?;
        put("skrining", "gula_tinggi", g, s.high_glucose.to_string()).map_err(e)?;
        put("skrining", "imt_diukur", g, s.imt_measured.to_string()).map_err(e)?;
        put("skrining", "imt_kurus", g, s.imt_kurus.to_string()).map_err(e)?;
        put("skrining", "imt_gemuk", g, s.imt_gemuk.to_string()).map_err(e)?;
        put("skrining", "imt_obesitas", g, s.imt_obesitas.to_string()).map_err(e)?;
        put("skrining", "lingkar_perut_diukur", g, s.waist_measured.to_string()).map_err(e)?;
        put("skrining", "obesitas_sentral", g, s.central_obesity.to_string()).map_err(e)?;
    }
    put("identitas", "nik_tidak_cocok", "", r.nik_warnings.len().to_string()).map_err(e)?;
    put("rujukan", "jumlah", "", r.referrals.len().to_string()).map_err(e)?;
    let rl = &r.referral_lifecycle;
    let steps = |c: &super::referrals::StepCounts| {
        [("dirujuk", c.raised), ("diterima", c.received), ("ditangani", c.handled), ("ditutup", c.closed)]
    };
    for (k, v) in steps(&rl.total) {
        put("rujukan_siklus", k, "", v.to_string()).map_err(e)?;
    }
    for (status, v) in &rl.status_at_month_end {
        put("rujukan_status_akhir_bulan", status, "", v.to_string()).map_err(e)?;
    }
    for x in &rl.by_reason {
        for (k, v) in steps(&x.counts) {
            put("rujukan_alasan", k, &x.code, v.to_string()).map_err(e)?;
        }
    }
    for a in &r.spm.by_area {
        put("spm", a.label, "", a.count.to_string()).map_err(e)?;
    }
    if let Some(x) = &r.sasaran {
        let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        let g = x.year.to_string();
        put("sasaran", "sumber", &g, x.source.clone()).map_err(e)?;
        put("sasaran", "balita", &g, n(x.balita)).map_err(e)?;
        put("sasaran", "d_per_sasaran_balita_persen", &g, x.d_sasaran_pct.map(|p| p.to_string()).unwrap_or_default())
            .map_err(e)?;
        put("sasaran", "s_per_sasaran_balita_persen", &g, x.s_sasaran_pct.map(|p| p.to_string()).unwrap_or_default())
            .map_err(e)?;
        put("sasaran", "ibu_hamil", &g, n(x.ibu_hamil)).map_err(e)?;
        put("sasaran", "bayi", &g, n(x.bayi)).map_err(e)?;
        put("sasaran", "lansia", &g, n(x.lansia)).map_err(e)?;
    }
    for c in &r.checklist {
        put("daftar_periksa", &format!("{}_ditanya", c.code), c.stage, c.asked.to_string()).map_err(e)?;
        put("daftar_periksa", &format!("{}_ya", c.code), c.stage, c.yes.to_string()).map_err(e)?;
    }
    for t in &r.counselling {
        put("penyuluhan", &t.code, "", t.entries.to_string()).map_err(e)?;
    }
    put("konflik", "rumah_tangga", "", r.conflicts.households.to_string()).map_err(e)?;
    put("konflik", "isian", "", r.conflicts.fields.to_string()).map_err(e)?;
    put("konflik", "isian_bulan_ini", "", r.conflicts.affecting_month.to_string()).map_err(e)?;
    w.into_inner().map_err(ApiError::internal)
}
