//! The records a kader reads and writes. These are plain values: how they are stored
//! as automerge documents lives in [`crate::doc`], checks in [`crate::validation`].
//!
//! Units are part of field names (`weight_kg`, `muac_cm`, `bp_systolic_mmhg`).

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

pub use crate::growth::{Measure, Sex};
pub use crate::ilp::{
    BirthAttendant, BirthData, BirthPlace, BirthRecord, MemberStatus, MemberStatusKind, NewBorn, OutcomeKind,
    PregnancyOutcome,
};
pub use crate::rules::lifestage::LifeStage;
pub use crate::rules::pregnancy::{
    estimated_due_date, gestational_weeks, is_kek, kek_muac_cm, may_record_pregnancy, pregnancy_min_age_months,
};
pub use crate::rules::referral_lifecycle::{ReasonSource, ReferralRecord, ReferralStatus, ReferralStep, StepRole};
pub use crate::rules::screening::GlucoseKind;
pub use crate::rules::spm_request::{SpmNote, SpmRequest, SpmRole, SpmStatus, SpmStep};
pub use crate::rules::vitamin_a::VitaminACapsule;

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

/// `Option<Date>` as `"YYYY-MM-DD"` or absent.
pub mod iso_date_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::iso_date::serialize(d, s),
            None => Option::<String>::None.serialize(s),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::iso_date")] Date);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Formats as `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Address of a household. `kode_wilayah` is the 10-digit Kemendagri code of the
/// kelurahan/desa.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub rt: String,
    pub rw: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dusun: Option<String>,
    pub kode_wilayah: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// The household attributes used by the six SPM areas ("satu data").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpmAttributes {
    /// Access to clean water (air bersih) — public works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_water: Option<bool>,
    /// Has a healthy latrine (jamban sehat) — public works / health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latrine: Option<bool>,
    /// Unfit housing (rumah tidak layak huni, "rutilahu") — housing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rutilahu: Option<bool>,
    /// Receives social aid (PKH/BPNT…) — social affairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_aid: Option<bool>,
    /// A school-age child out of school (anak tidak sekolah) — education.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_out_of_school: Option<bool>,
    /// Public order / safety note (trantibumlinmas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_order_note: Option<String>,
}

/// The six SPM (minimum service standard) areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpmArea {
    Kesehatan,
    Pendidikan,
    PekerjaanUmum,
    Perumahan,
    Trantibumlinmas,
    Sosial,
}

impl SpmArea {
    /// The area's code as stored (`pekerjaan_umum`, …).
    pub fn code(self) -> &'static str {
        match self {
            SpmArea::Kesehatan => "kesehatan",
            SpmArea::Pendidikan => "pendidikan",
            SpmArea::PekerjaanUmum => "pekerjaan_umum",
            SpmArea::Perumahan => "perumahan",
            SpmArea::Trantibumlinmas => "trantibumlinmas",
            SpmArea::Sosial => "sosial",
        }
    }

    pub const ALL: [SpmArea; 6] = [
        SpmArea::Kesehatan,
        SpmArea::Pendidikan,
        SpmArea::PekerjaanUmum,
        SpmArea::Perumahan,
        SpmArea::Trantibumlinmas,
        SpmArea::Sosial,
    ];
    pub fn label_id(self) -> &'static str {
        match self {
            SpmArea::Kesehatan => "Kesehatan",
            SpmArea::Pendidikan => "Pendidikan",
            SpmArea::PekerjaanUmum => "Pekerjaan umum",
            SpmArea::Perumahan => "Perumahan rakyat",
            SpmArea::Trantibumlinmas => "Ketenteraman dan ketertiban umum",
            SpmArea::Sosial => "Sosial",
        }
    }
}

/// A household (keluarga / rumah tangga) with everything recorded for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    pub id: Uuid,
    pub posyandu_id: String,
    /// Current KK (Kartu Keluarga) number; its history is in `kk_history`.
    pub kk_number: Option<String>,
    pub kk_history: Vec<KkChange>,
    pub head_member_id: Option<Uuid>,
    pub address: Address,
    pub gps: Option<GeoPoint>,
    pub spm: SpmAttributes,
    pub members: Vec<Member>,
    pub visits: Vec<Visit>,
    pub pregnancies: Vec<Pregnancy>,
    /// Referrals with their lifecycle (`referrals/<uuid>`; issue 12). Documents without
    /// the collection read as none; the older free-text `VisitEntry::referral` stays
    /// readable beside them (docs/schema.md).
    #[serde(default)]
    pub referrals: Vec<ReferralRecord>,
    /// SPM needs tracked as requests to the desa (`spm_steps`, `spm_notes`; issue 13).
    /// Documents without them read as none.
    #[serde(default)]
    pub spm_requests: Vec<SpmRequest>,
}

impl Household {
    pub fn member(&self, id: Uuid) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }
    pub fn head(&self) -> Option<&Member> {
        self.head_member_id.and_then(|id| self.member(id))
    }

    /// The life-cycle stage of a member on `today` (`None` for an unknown member).
    pub fn life_stage_of(&self, member_id: Uuid, today: Date) -> Option<LifeStage> {
        let m = self.member(member_id)?;
        let episodes = self
            .pregnancies
            .iter()
            .filter(|p| !p.deleted && p.member_id == member_id)
            .map(|p| (p.lmp, p.due_date, p.ended));
        Some(crate::rules::lifestage::life_stage(
            m.birth_date,
            today,
            crate::rules::pregnancy::pregnancy_status(episodes, today),
        ))
    }
}

/// One value the KK number had, and from when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KkChange {
    pub kk_number: String,
    #[serde(with = "iso_date")]
    pub since: Date,
}

/// Input for a new household.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewHousehold {
    pub kk_number: Option<String>,
    pub address: Address,
    pub gps: Option<GeoPoint>,
    pub spm: SpmAttributes,
}

/// Field edits on a household; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HouseholdPatch {
    pub kk_number: Option<String>,
    pub head_member_id: Option<Uuid>,
    pub address: Option<Address>,
    pub gps: Option<GeoPoint>,
    pub spm: Option<SpmAttributes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    KepalaKeluarga,
    Istri,
    Suami,
    Anak,
    Menantu,
    Cucu,
    OrangTua,
    Mertua,
    FamiliLain,
    Lainnya,
}

/// NIK substitute for a newborn without one: the mother's NIK and birth order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MotherNik {
    pub mother_nik: String,
    pub birth_order: u8,
}

/// A person in a household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mother_nik: Option<MotherNik>,
    pub name: String,
    #[serde(with = "iso_date")]
    pub birth_date: Date,
    pub sex: Sex,
    pub relation: Relation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpjs_number: Option<String>,
    /// Owns a Buku KIA / KMS (K in SKDN); `None`: not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kia_book: Option<bool>,
    /// Moved away or died, and when (issue 12); `None`: still a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatus>,
    /// Birth weight and length of a newborn registered from a pregnancy outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth: Option<BirthData>,
    #[serde(default)]
    pub deleted: bool,
}

impl Member {
    /// Whether the member has left the register (moved or died) on `day`
    /// ([`crate::rules::membership`]).
    pub fn gone_on(&self, day: Date) -> bool {
        crate::rules::membership::gone_on(self.status.as_ref(), day)
    }
}

/// Input for a new member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMember {
    pub nik: Option<String>,
    pub mother_nik: Option<MotherNik>,
    pub name: String,
    #[serde(with = "iso_date")]
    pub birth_date: Date,
    pub sex: Sex,
    pub relation: Relation,
    pub bpjs_number: Option<String>,
    /// Owns a Buku KIA / KMS; `None`: not recorded.
    #[serde(default)]
    pub kia_book: Option<bool>,
}

/// Field edits on a member; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberPatch {
    pub nik: Option<String>,
    pub name: Option<String>,
    #[serde(with = "iso_date_opt", default)]
    pub birth_date: Option<Date>,
    pub sex: Option<Sex>,
    pub relation: Option<Relation>,
    pub bpjs_number: Option<String>,
    #[serde(default)]
    pub kia_book: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// Monthly service day at the Posyandu.
    HariBuka,
    /// Home visit by a kader.
    KunjunganRumah,
}

/// Body measurements; every field optional, units in the name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_height_cm: Option<f64>,
    /// Lying (length) or standing (height).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_circumference_cm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muac_cm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waist_cm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bp_systolic_mmhg: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bp_diastolic_mmhg: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_glucose_mg_dl: Option<f64>,
    /// How the glucose was measured; `None` (as in documents written before this
    /// field existed) reads as sewaktu (random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_glucose_kind: Option<GlucoseKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oedema: Option<bool>,
}

impl Measurements {
    pub fn is_empty(&self) -> bool {
        *self == Measurements::default()
    }
}

/// Services given at the visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Services {
    /// Antigens given, e.g. "HB0", "BCG", "POLIO1", "DPT_HB_HIB1", "MR1" (see
    /// [`crate::rules::immunisation::known_antigens`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub immunisations: Vec<String>,
    /// Vitamin A given. Implied by `vitamin_a_capsule` (the writer and the reader set
    /// it whenever a capsule is recorded); alone in documents written before the
    /// capsule was recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vitamin_a: bool,
    /// Capsule of the vitamin A dose: `biru` (100 000 IU, 6–11 months) or `merah`
    /// (200 000 IU, 12–59 months and ibu nifas); see [`crate::rules::vitamin_a`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitamin_a_capsule: Option<VitaminACapsule>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deworming: bool,
    /// Iron/folic acid tablets given (TTD), count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iron_tablets: Option<u16>,
    /// Supplementary food (PMT).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supplementary_food: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A need for another sector raised at a visit (e.g. hearing aid → social affairs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpmNeed {
    pub area: SpmArea,
    pub need: String,
}

/// What was recorded for one member at one visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VisitEntry {
    pub member_id: Uuid,
    #[serde(default)]
    pub measurements: Measurements,
    #[serde(default)]
    pub services: Services,
    /// Life-stage checklist answers, e.g. "asi_eksklusif": true.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub checklist: std::collections::BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counselling: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spm_needs: Vec<SpmNeed>,
    /// Exclusive breastfeeding (ASI eksklusif) of an infant 0–5 months (issue 12):
    /// `Some(true)` yes, `Some(false)` no, `None` not asked. The older checklist key
    /// `asi_eksklusif` is still read ([`crate::rules::breastfeeding::answer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asi_eksklusif: Option<bool>,
}

/// A visit (append-only; corrections are field edits, deletion is a tombstone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub id: Uuid,
    #[serde(with = "iso_date")]
    pub date: Date,
    pub kind: VisitKind,
    pub kader_id: String,
    pub posyandu_id: String,
    pub entries: Vec<VisitEntry>,
    #[serde(default)]
    pub deleted: bool,
}

/// Input for a new visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVisit {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub kind: VisitKind,
    pub entries: Vec<VisitEntry>,
}

/// A pregnancy episode of a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pregnancy {
    pub id: Uuid,
    pub member_id: Uuid,
    /// Last menstrual period (HPHT).
    #[serde(with = "iso_date")]
    pub lmp: Date,
    /// Estimated due date (HPL), Naegele's rule unless given.
    #[serde(with = "iso_date")]
    pub due_date: Date,
    pub gravida: u8,
    /// LiLA at registration, cm; KEK (chronic energy deficiency) when < 23.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muac_cm: Option<f64>,
    pub kek: bool,
    /// Date the episode ended (birth or loss); the mother is then in nifas for 42 days.
    #[serde(with = "iso_date_opt", default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Date>,
    /// How the episode ended (issue 12): lahir hidup / lahir mati / keguguran, place
    /// and attendant; its date is `ended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<PregnancyOutcome>,
    #[serde(default)]
    pub deleted: bool,
}

/// Input for a new pregnancy episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPregnancy {
    pub member_id: Uuid,
    #[serde(with = "iso_date")]
    pub lmp: Date,
    #[serde(with = "iso_date_opt", default)]
    pub due_date: Option<Date>,
    pub gravida: u8,
    pub muac_cm: Option<f64>,
}

/// A same-field conflict: two or more values written concurrently, all kept until a
/// user chooses one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub household_id: Uuid,
    /// Path of the field in the household document, e.g. `members/<id>/name`.
    pub path: String,
    pub values: Vec<ConflictValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// The value as JSON text (`"Siti"`, `12.5`, `true`, `null` for an object).
    pub value_json: String,
    /// Kader who wrote it (from the change), if known.
    pub kader_id: Option<String>,
    /// When it was written, Unix seconds (device clock).
    pub written_at: i64,
}
