//! Checks at the write boundary. Every public write of the phone's store
//! (`posyandu_core::store`) validates its whole input before touching a document, so a
//! failed write changes nothing.

use time::{Date, Month};

use crate::model::*;

/// Why an input was refused. Shown to kader, so messages are in Bahasa Indonesia.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("NIK harus 16 angka (diisi: {len} karakter)")]
    NikLength { len: usize },
    #[error("NIK hanya boleh berisi angka")]
    NikNotDigits,
    #[error("NIK tidak valid: kode wilayah {code} tidak dikenal")]
    NikRegion { code: String },
    #[error("NIK tidak valid: tanggal lahir di dalam NIK ({part}) bukan tanggal yang benar")]
    NikBirthDate { part: String },
    #[error("NIK tidak valid: nomor urut 0000")]
    NikSerial,
    #[error("{field} harus {digits} angka")]
    Digits { field: &'static str, digits: usize },
    #[error("{field} wajib diisi")]
    Required { field: &'static str },
    #[error("{field} terlalu panjang (maksimal {max} karakter)")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} = {value} di luar batas wajar ({min}–{max})")]
    OutOfRange { field: &'static str, value: f64, min: f64, max: f64 },
    #[error("Tanggal {field} ({date}) ada di masa depan")]
    FutureDate { field: &'static str, date: String },
    #[error("Tanggal kunjungan ({visit}) sebelum tanggal lahir ({birth})")]
    VisitBeforeBirth { visit: String, birth: String },
    #[error("Tekanan darah sistolik harus lebih tinggi dari diastolik")]
    BloodPressureOrder,
    #[error("Anggota keluarga {0} tidak ada di rumah tangga ini")]
    UnknownMember(String),
    #[error("Anggota keluarga {0} dicatat lebih dari sekali dalam satu kunjungan")]
    DuplicateEntry(String),
    #[error("Kunjungan harus berisi paling sedikit satu anggota keluarga")]
    EmptyVisit,
    #[error("Terlalu banyak {field} (maksimal {max})")]
    TooMany { field: &'static str, max: usize },
    #[error("Kode imunisasi tidak dikenal: {0}")]
    UnknownAntigen(String),
    #[error("Kapsul vitamin A {capsule} untuk {recipients}")]
    VitaminACapsule { capsule: &'static str, recipients: String },
    #[error("Titik GPS di luar wilayah Indonesia")]
    GpsOutOfRange,
    #[error("Hanya perempuan yang dapat dicatat hamil")]
    PregnancyNotFemale,
    #[error("Pilihan nilai konflik tidak ada: {0}")]
    UnknownConflictChoice(String),
    #[error("Kode alasan rujukan tidak dikenal: {0}")]
    UnknownReferralReason(String),
    #[error("Tanggal {field} ({date}) di luar batas wajar (1900-01-01–2100-12-31)")]
    ImplausibleDate { field: &'static str, date: String },
    #[error("Butir daftar periksa \"{code}\" tidak berlaku untuk anggota ini (tahap {stage})")]
    ChecklistItem { code: String, stage: &'static str },
    #[error("Topik penyuluhan tidak dikenal: {0} (pilih dari daftar topik)")]
    UnknownCounsellingTopic(String),
    #[error("Kode kebutuhan SPM tidak dikenal: {0}")]
    UnknownSpmNeed(String),
    #[error("Kebutuhan SPM ini dicatat untuk {0}")]
    SpmSubject(&'static str),
    #[error("Permintaan SPM berstatus \"{from}\" tidak dapat menjadi \"{to}\"")]
    SpmTransition { from: &'static str, to: &'static str },
    #[error("Hanya kader koordinator Posyandu yang dapat memverifikasi dan meneruskan permintaan SPM")]
    NotKoordinator,
    #[error("{field} tidak boleh berisi karakter kontrol")]
    ControlCharacters { field: &'static str },
}

impl ValidationError {
    /// A short reason without the offending value (which may be personal data), for
    /// problems found in documents: e.g. "di luar batas wajar (0.5–250)".
    pub fn reason(&self) -> String {
        use ValidationError::*;
        match self {
            NikLength { .. } | NikNotDigits => "harus 16 angka".into(),
            NikRegion { .. } | NikBirthDate { .. } | NikSerial => "NIK tidak valid".into(),
            Digits { digits, .. } => format!("harus {digits} angka"),
            Required { .. } => "wajib diisi".into(),
            TooLong { max, .. } => format!("terlalu panjang (maksimal {max} karakter)"),
            OutOfRange { min, max, .. } => format!("di luar batas wajar ({min}–{max})"),
            FutureDate { .. } => "tanggal di masa depan".into(),
            VisitBeforeBirth { .. } => "kunjungan sebelum tanggal lahir".into(),
            BloodPressureOrder => "sistolik harus lebih tinggi dari diastolik".into(),
            UnknownMember(_) => "anggota keluarga tidak ada".into(),
            DuplicateEntry(_) => "anggota keluarga dicatat lebih dari sekali".into(),
            EmptyVisit => "kunjungan tanpa anggota keluarga".into(),
            TooMany { max, .. } => format!("terlalu banyak (maksimal {max})"),
            UnknownAntigen(_) => "kode imunisasi tidak dikenal".into(),
            VitaminACapsule { capsule, recipients } => format!("kapsul {capsule} untuk {recipients}"),
            GpsOutOfRange => "di luar wilayah Indonesia".into(),
            PregnancyNotFemale => "hanya perempuan yang dapat hamil".into(),
            UnknownConflictChoice(_) => "pilihan tidak ada".into(),
            UnknownReferralReason(_) => "kode alasan rujukan tidak dikenal".into(),
            ImplausibleDate { .. } => "tanggal di luar batas wajar (1900–2100)".into(),
            ChecklistItem { .. } => "butir daftar periksa tidak berlaku".into(),
            UnknownCounsellingTopic(_) => "topik penyuluhan tidak dikenal".into(),
            UnknownSpmNeed(_) => "kode kebutuhan SPM tidak dikenal".into(),
            SpmSubject(s) => format!("kebutuhan ini dicatat untuk {s}"),
            SpmTransition { .. } => "perubahan status tidak sah".into(),
            NotKoordinator => "bukan kader koordinator".into(),
            ControlCharacters { .. } => "berisi karakter kontrol".into(),
        }
    }
}

type V = Result<(), ValidationError>;

/// Allowed clock skew for "not in the future" checks, days.
pub const FUTURE_SKEW_DAYS: i64 = 1;
pub const MAX_NAME: usize = 100;
pub const MAX_TEXT: usize = 500;
pub const MAX_ENTRIES_PER_VISIT: usize = 30;
pub const MAX_LIST_ITEMS: usize = 30;
/// Checklist answers per visit entry.
pub const MAX_CHECKLIST_ITEMS: usize = 50;
/// Earliest and latest plausible date anywhere in a record (no clock needed).
pub const DATE_MIN: Date = time::macros::date!(1900 - 01 - 01);
pub const DATE_MAX: Date = time::macros::date!(2100 - 12 - 31);

/// Plausible range of a number field (inclusive; the value must also be finite).
/// One definition shared by the write checks and the document reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub field: &'static str,
    pub min: f64,
    pub max: f64,
}

impl Bounds {
    pub fn check(&self, value: f64) -> Result<(), ValidationError> {
        check_range(self.field, value, self.min, self.max)
    }
}

pub const WEIGHT_KG: Bounds = Bounds { field: "Berat badan (kg)", min: 0.5, max: 250.0 };
pub const LENGTH_HEIGHT_CM: Bounds = Bounds { field: "Panjang/tinggi badan (cm)", min: 35.0, max: 230.0 };
pub const HEAD_CIRCUMFERENCE_CM: Bounds = Bounds { field: "Lingkar kepala (cm)", min: 20.0, max: 70.0 };
pub const MUAC_CM: Bounds = Bounds { field: "LiLA (cm)", min: 5.0, max: 60.0 };
pub const WAIST_CM: Bounds = Bounds { field: "Lingkar perut (cm)", min: 30.0, max: 250.0 };
pub const BP_SYSTOLIC_MMHG: Bounds = Bounds { field: "Tekanan darah sistolik (mmHg)", min: 50.0, max: 300.0 };
pub const BP_DIASTOLIC_MMHG: Bounds = Bounds { field: "Tekanan darah diastolik (mmHg)", min: 20.0, max: 200.0 };
pub const BLOOD_GLUCOSE_MG_DL: Bounds = Bounds { field: "Gula darah (mg/dL)", min: 20.0, max: 800.0 };
pub const IRON_TABLETS: Bounds = Bounds { field: "Tablet tambah darah", min: 0.0, max: 120.0 };
pub const GRAVIDA: Bounds = Bounds { field: "Gravida", min: 1.0, max: 20.0 };
pub const BIRTH_ORDER: Bounds = Bounds { field: "Urutan kelahiran", min: 1.0, max: 20.0 };

/// A date anywhere in a record lies between [`DATE_MIN`] and [`DATE_MAX`].
pub fn check_date(field: &'static str, d: Date) -> V {
    if (DATE_MIN..=DATE_MAX).contains(&d) {
        Ok(())
    } else {
        Err(ValidationError::ImplausibleDate { field, date: format_date(d) })
    }
}

/// The structure of a NIK (16 digits), without the region/birth-date/sex checks of
/// [`check_nik`]: what the document reader applies (Dukcapil data has errors).
pub fn check_nik_structure(nik: &str) -> V {
    let len = nik.chars().count();
    if len != 16 {
        return Err(ValidationError::NikLength { len });
    }
    if !nik.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::NikNotDigits);
    }
    Ok(())
}

/// A KK (Kartu Keluarga) number: 16 digits.
pub fn check_kk(kk: &str) -> V {
    check_digits("Nomor KK", kk, 16)
}

/// RT or RW: one to three digits.
pub fn check_rt_rw(field: &'static str, s: &str) -> V {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        Err(ValidationError::Digits { field, digits: 3 })
    } else {
        Ok(())
    }
}

/// Systolic above diastolic.
pub fn check_blood_pressure(systolic: u16, diastolic: u16) -> V {
    if systolic <= diastolic {
        Err(ValidationError::BloodPressureOrder)
    } else {
        Ok(())
    }
}

/// At most `max` items.
pub fn check_count(field: &'static str, n: usize, max: usize) -> V {
    if n > max {
        Err(ValidationError::TooMany { field, max })
    } else {
        Ok(())
    }
}

pub fn check_range(field: &'static str, value: f64, min: f64, max: f64) -> V {
    if value.is_finite() && value >= min && value <= max {
        Ok(())
    } else {
        Err(ValidationError::OutOfRange { field, value, min, max })
    }
}

pub fn check_text(field: &'static str, s: &str, max: usize) -> V {
    if s.trim().is_empty() {
        return Err(ValidationError::Required { field });
    }
    if s.chars().count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    Ok(())
}

pub fn check_opt_text(field: &'static str, s: &Option<String>, max: usize) -> V {
    s.as_deref().map_or(Ok(()), |s| check_text(field, s, max))
}

pub fn check_digits(field: &'static str, s: &str, digits: usize) -> V {
    if s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::Digits { field, digits })
    }
}

pub fn check_not_future(field: &'static str, d: Date, today: Date) -> V {
    if (d - today).whole_days() > FUTURE_SKEW_DAYS {
        Err(ValidationError::FutureDate { field, date: format_date(d) })
    } else {
        Ok(())
    }
}

/// Validates a 16-digit NIK: digits, province code 11–99, a real birth date in
/// positions 7–12 (day + 40 for women), serial not 0000. Whether the encoded date and
/// sex agree with the entered ones is not an error but a warning
/// ([`crate::rules::identity::nik_warnings`]): the person is registered either way.
pub fn check_nik(nik: &str) -> V {
    let len = nik.chars().count();
    if len != 16 {
        return Err(ValidationError::NikLength { len });
    }
    check_nik_structure(nik)?;
    let num = |r: std::ops::Range<usize>| nik[r].parse::<u32>().unwrap_or(0);
    let province = num(0..2);
    if !(11..=99).contains(&province) {
        return Err(ValidationError::NikRegion { code: nik[0..2].to_string() });
    }
    let (dd, mm, yy) = (num(6..8), num(8..10), num(10..12));
    let day = if dd > 40 { dd - 40 } else { dd };
    let month = Month::try_from(mm as u8).ok();
    // The two-digit year is ambiguous; any century where the date exists will do here.
    let exists = month
        .is_some_and(|m| [1900, 2000].iter().any(|c| Date::from_calendar_date(*c + yy as i32, m, day as u8).is_ok()));
    if !exists {
        return Err(ValidationError::NikBirthDate { part: nik[6..12].to_string() });
    }
    if num(12..16) == 0 {
        return Err(ValidationError::NikSerial);
    }
    Ok(())
}

pub fn check_address(a: &Address) -> V {
    check_rt_rw("RT", &a.rt)?;
    check_rt_rw("RW", &a.rw)?;
    check_digits("Kode wilayah desa/kelurahan", &a.kode_wilayah, 10)?;
    check_opt_text("Dusun", &a.dusun, MAX_NAME)?;
    check_opt_text("Alamat jalan", &a.street, MAX_TEXT)
}

/// Latitude and longitude of a household: within Indonesia.
pub const GPS_LAT: Bounds = Bounds { field: "Lintang", min: -11.5, max: 6.5 };
pub const GPS_LON: Bounds = Bounds { field: "Bujur", min: 94.0, max: 141.5 };

pub fn check_gps(p: &GeoPoint) -> V {
    if GPS_LAT.check(p.lat).is_ok() && GPS_LON.check(p.lon).is_ok() {
        Ok(())
    } else {
        Err(ValidationError::GpsOutOfRange)
    }
}

pub fn check_spm(s: &SpmAttributes) -> V {
    check_opt_text("Catatan ketertiban umum", &s.public_order_note, MAX_TEXT)
}

pub fn check_new_household(h: &NewHousehold) -> V {
    if let Some(kk) = &h.kk_number {
        check_kk(kk)?;
    }
    check_address(&h.address)?;
    if let Some(p) = &h.gps {
        check_gps(p)?;
    }
    check_spm(&h.spm)
}

pub fn check_household_patch(p: &HouseholdPatch) -> V {
    if let Some(kk) = &p.kk_number {
        check_kk(kk)?;
    }
    if let Some(a) = &p.address {
        check_address(a)?;
    }
    if let Some(g) = &p.gps {
        check_gps(g)?;
    }
    if let Some(s) = &p.spm {
        check_spm(s)?;
    }
    Ok(())
}

pub fn check_new_member(m: &NewMember, today: Date) -> V {
    check_text("Nama", &m.name, MAX_NAME)?;
    check_not_future("lahir", m.birth_date, today)?;
    if m.birth_date.year() < 1900 {
        return Err(ValidationError::OutOfRange {
            field: "Tahun lahir",
            value: m.birth_date.year() as f64,
            min: 1900.0,
            max: today.year() as f64,
        });
    }
    check_date("lahir", m.birth_date)?;
    if let Some(nik) = &m.nik {
        check_nik(nik)?;
    }
    if let Some(mn) = &m.mother_nik {
        check_nik(&mn.mother_nik)?;
        BIRTH_ORDER.check(mn.birth_order as f64)?;
    }
    if let Some(b) = &m.bpjs_number {
        check_digits("Nomor BPJS", b, 13)?;
    }
    Ok(())
}

pub fn check_member_patch(p: &MemberPatch, current: &Member, today: Date) -> V {
    let merged = NewMember {
        nik: p.nik.clone().or_else(|| current.nik.clone()),
        mother_nik: current.mother_nik.clone(),
        name: p.name.clone().unwrap_or_else(|| current.name.clone()),
        birth_date: p.birth_date.unwrap_or(current.birth_date),
        sex: p.sex.unwrap_or(current.sex),
        relation: p.relation.unwrap_or(current.relation),
        bpjs_number: p.bpjs_number.clone().or_else(|| current.bpjs_number.clone()),
        kia_book: p.kia_book.or(current.kia_book),
    };
    check_new_member(&merged, today)
}

pub fn check_measurements(m: &Measurements) -> V {
    let r = |b: Bounds, v: Option<f64>| v.map_or(Ok(()), |v| b.check(v));
    r(WEIGHT_KG, m.weight_kg)?;
    r(LENGTH_HEIGHT_CM, m.length_height_cm)?;
    r(HEAD_CIRCUMFERENCE_CM, m.head_circumference_cm)?;
    r(MUAC_CM, m.muac_cm)?;
    r(WAIST_CM, m.waist_cm)?;
    r(BP_SYSTOLIC_MMHG, m.bp_systolic_mmhg.map(f64::from))?;
    r(BP_DIASTOLIC_MMHG, m.bp_diastolic_mmhg.map(f64::from))?;
    r(BLOOD_GLUCOSE_MG_DL, m.blood_glucose_mg_dl)?;
    if let (Some(s), Some(d)) = (m.bp_systolic_mmhg, m.bp_diastolic_mmhg) {
        check_blood_pressure(s, d)?;
    }
    Ok(())
}

/// A list of short texts (immunisations, counselling topics).
pub fn check_list(field: &'static str, items: &[String]) -> V {
    check_count(field, items.len(), MAX_LIST_ITEMS)?;
    items.iter().try_for_each(|s| check_text(field, s, MAX_NAME))
}

pub fn check_entry(e: &VisitEntry) -> V {
    check_measurements(&e.measurements)?;
    check_list("Imunisasi", &e.services.immunisations)?;
    for a in &e.services.immunisations {
        if !crate::rules::immunisation::is_known_antigen(a) {
            return Err(ValidationError::UnknownAntigen(a.clone()));
        }
    }
    if let Some(n) = e.services.iron_tablets {
        IRON_TABLETS.check(n as f64)?;
    }
    check_list("Topik penyuluhan", &e.counselling)?;
    check_count("Daftar periksa", e.checklist.len(), MAX_CHECKLIST_ITEMS)?;
    for k in e.checklist.keys() {
        check_text("Daftar periksa", k, MAX_NAME)?;
    }
    if let Some(r) = &e.referral {
        check_text("Alasan rujukan", &r.reason, MAX_TEXT)?;
        check_opt_text("Tujuan rujukan", &r.to, MAX_NAME)?;
    }
    check_count("Kebutuhan SPM", e.spm_needs.len(), MAX_LIST_ITEMS)?;
    e.spm_needs.iter().try_for_each(|n| check_text("Kebutuhan SPM", &n.need, MAX_TEXT))
}

/// A new visit against the household it is recorded in.
pub fn check_new_visit(v: &NewVisit, household: &Household, today: Date) -> V {
    check_visit_entries(v, household, today, None)
}

/// A corrected entry of the recorded visit `visit`: checked like a new one, except
/// that checklist answers and counselling topics the stored entry already holds (free
/// text of older app versions) are kept as they are.
pub fn check_amended_entry(visit: &Visit, entry: &VisitEntry, household: &Household, today: Date) -> V {
    let check = NewVisit { date: visit.date, kind: visit.kind, entries: vec![entry.clone()] };
    check_visit_entries(&check, household, today, Some(visit))
}

fn check_visit_entries(v: &NewVisit, household: &Household, today: Date, stored: Option<&Visit>) -> V {
    check_not_future("kunjungan", v.date, today)?;
    check_date("kunjungan", v.date)?;
    if v.entries.is_empty() {
        return Err(ValidationError::EmptyVisit);
    }
    check_count("anggota per kunjungan", v.entries.len(), MAX_ENTRIES_PER_VISIT)?;
    let mut seen = std::collections::HashSet::new();
    for e in &v.entries {
        let m = household
            .member(e.member_id)
            .filter(|m| !m.deleted)
            .ok_or_else(|| ValidationError::UnknownMember(e.member_id.to_string()))?;
        if !seen.insert(e.member_id) {
            return Err(ValidationError::DuplicateEntry(e.member_id.to_string()));
        }
        if v.date < m.birth_date {
            return Err(ValidationError::VisitBeforeBirth {
                visit: format_date(v.date),
                birth: format_date(m.birth_date),
            });
        }
        check_entry(e)?;
        check_vitamin_a_capsule(e, m, household, v.date)?;
        check_asi_eksklusif(e, m, v.date)?;
        let kept = stored.and_then(|s| s.entries.iter().find(|x| x.member_id == e.member_id));
        check_coded(e, m, household, v.date, kept)?;
    }
    Ok(())
}

/// Checklist answers must be items of the ILP catalogue asked of this member at the
/// visit (life stage, age, sex) and counselling topics catalogue codes
/// ([`crate::rules::checklist`]); what `kept` (the stored entry being corrected)
/// already holds passes unchanged.
pub fn check_coded(e: &VisitEntry, m: &Member, household: &Household, on: Date, kept: Option<&VisitEntry>) -> V {
    use crate::rules::checklist::{is_topic, item_for};
    let stage = household.life_stage_of(m.id, on).unwrap_or(LifeStage::Dewasa);
    for code in e.checklist.keys() {
        let old = kept.is_some_and(|k| k.checklist.contains_key(code));
        if !old && item_for(code, stage, m.birth_date, m.sex, on).is_none() {
            return Err(ValidationError::ChecklistItem { code: code.clone(), stage: stage.label_id() });
        }
    }
    for topic in &e.counselling {
        let old = kept.is_some_and(|k| k.counselling.contains(topic));
        if !old && !is_topic(topic) {
            return Err(ValidationError::UnknownCounsellingTopic(topic.clone()));
        }
    }
    Ok(())
}

/// ASI eksklusif is asked only of infants 0–5 completed months
/// ([`crate::rules::breastfeeding`]).
pub fn check_asi_eksklusif(e: &VisitEntry, m: &Member, on: Date) -> V {
    use crate::rules::breastfeeding::{asked_at, MAX_AGE_MONTHS};
    if e.asi_eksklusif.is_none() || asked_at(m.birth_date, on) {
        return Ok(());
    }
    Err(ValidationError::OutOfRange {
        field: "Umur bayi untuk ASI eksklusif (bulan)",
        value: crate::rules::age::age_months(m.birth_date, on) as f64,
        min: 0.0,
        max: MAX_AGE_MONTHS as f64,
    })
}

/// The vitamin A capsule must fit the person at the visit: blue for infants 6–11
/// months, red for children 12–59 months and ibu nifas ([`crate::rules::vitamin_a`]).
pub fn check_vitamin_a_capsule(e: &VisitEntry, m: &Member, household: &Household, on: Date) -> V {
    use crate::rules::vitamin_a::{expected_capsule, recipients_id};
    let Some(c) = e.services.vitamin_a_capsule else { return Ok(()) };
    let nifas = household.life_stage_of(m.id, on) == Some(LifeStage::IbuNifas);
    if expected_capsule(m.birth_date, on, nifas) == Some(c) {
        Ok(())
    } else {
        Err(ValidationError::VitaminACapsule { capsule: c.as_str(), recipients: recipients_id(c) })
    }
}

pub fn check_new_pregnancy(p: &NewPregnancy, household: &Household, today: Date) -> V {
    let m = household
        .member(p.member_id)
        .filter(|m| !m.deleted)
        .ok_or_else(|| ValidationError::UnknownMember(p.member_id.to_string()))?;
    if m.sex != Sex::Female {
        return Err(ValidationError::PregnancyNotFemale);
    }
    check_not_future("HPHT", p.lmp, today)?;
    check_date("HPHT", p.lmp)?;
    if let Some(d) = p.due_date {
        check_date("HPL", d)?;
    }
    let weeks = (today - p.lmp).whole_days() as f64 / 7.0;
    check_range("Usia kehamilan (minggu)", weeks, 0.0, 44.0)?;
    GRAVIDA.check(p.gravida as f64)?;
    if let Some(l) = p.muac_cm {
        MUAC_CM.check(l)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn nik_checks() {
        // Man born 1990-05-12 in Kota Bekasi (3275..).
        assert_eq!(check_nik("3275011205900001"), Ok(()));
        // Woman: day + 40.
        assert_eq!(check_nik("3275015205900002"), Ok(()));
        assert_eq!(check_nik("327501120590000"), Err(ValidationError::NikLength { len: 15 }));
        assert_eq!(check_nik("32750112059000a1"), Err(ValidationError::NikNotDigits));
        assert!(matches!(check_nik("0575011205900001"), Err(ValidationError::NikRegion { .. })));
        assert!(matches!(check_nik("3275013205900001"), Err(ValidationError::NikBirthDate { .. })));
        assert!(matches!(check_nik("3275011213900001"), Err(ValidationError::NikBirthDate { .. })));
        assert_eq!(check_nik("3275011205900000"), Err(ValidationError::NikSerial));
    }

    /// Issue 10, wrong answer 7: a NIK whose encoded birth date or sex disagrees with
    /// the entered ones must not block registration (it is a warning, see
    /// `rules::identity`).
    #[test]
    fn nik_date_or_sex_mismatch_does_not_block_registration() {
        let today = date!(2026 - 11 - 30);
        let m = NewMember {
            nik: Some("3275011205900001".into()),
            mother_nik: None,
            name: "Budi".into(),
            birth_date: date!(1990 - 05 - 13),
            sex: Sex::Male,
            relation: Relation::KepalaKeluarga,
            bpjs_number: None,
            kia_book: None,
        };
        assert_eq!(check_new_member(&m, today), Ok(()), "birth date one day off");
        let w = NewMember { sex: Sex::Female, birth_date: date!(1990 - 05 - 12), ..m.clone() };
        assert_eq!(check_new_member(&w, today), Ok(()), "sex differs");
        let mother_male = NewMember {
            nik: None,
            mother_nik: Some(MotherNik { mother_nik: "3275011205900001".into(), birth_order: 1 }),
            ..m.clone()
        };
        assert_eq!(check_new_member(&mother_male, today), Ok(()), "mother's NIK encodes a man");
        // Other NIK problems stay errors.
        let bad = NewMember { nik: Some("3275011205900000".into()), ..m };
        assert_eq!(check_new_member(&bad, today), Err(ValidationError::NikSerial));
    }

    #[test]
    fn ranges_and_bp() {
        let mut m = Measurements { weight_kg: Some(0.4), ..Default::default() };
        assert!(matches!(check_measurements(&m), Err(ValidationError::OutOfRange { field: "Berat badan (kg)", .. })));
        m.weight_kg = Some(f64::NAN);
        assert!(check_measurements(&m).is_err());
        m.weight_kg = Some(12.0);
        m.bp_systolic_mmhg = Some(80);
        m.bp_diastolic_mmhg = Some(90);
        assert_eq!(check_measurements(&m), Err(ValidationError::BloodPressureOrder));
        m.bp_systolic_mmhg = Some(301);
        assert!(check_measurements(&m).is_err());
    }

    #[test]
    fn shared_primitives() {
        assert_eq!(check_date("x", date!(1900 - 01 - 01)), Ok(()));
        assert_eq!(check_date("x", date!(2100 - 12 - 31)), Ok(()));
        assert!(check_date("x", date!(1899 - 12 - 31)).is_err());
        assert!(check_date("x", date!(2101 - 01 - 01)).is_err());
        assert_eq!(check_nik_structure("0000000000000000"), Ok(()), "structure only, no region check");
        assert_eq!(check_nik_structure("123"), Err(ValidationError::NikLength { len: 3 }));
        assert_eq!(check_kk("3275010101260001"), Ok(()));
        assert!(check_kk("3275O10101260001").is_err());
        assert_eq!(check_rt_rw("RT", "003"), Ok(()));
        assert!(check_rt_rw("RT", "0003").is_err());
        assert_eq!(check_blood_pressure(80, 90), Err(ValidationError::BloodPressureOrder));
        // Reasons never carry the value.
        let e = WEIGHT_KG.check(-50.0).unwrap_err();
        assert_eq!(e.reason(), "di luar batas wajar (0.5–250)");
        assert!(e.to_string().contains("-50"), "the kader-facing message may show the typed value");
        assert_eq!(ValidationError::UnknownMember("3275015205900002".into()).reason(), "anggota keluarga tidak ada");
    }

    #[test]
    fn messages_are_indonesian() {
        let e = ValidationError::VisitBeforeBirth { visit: "2026-01-01".into(), birth: "2026-02-01".into() };
        assert_eq!(e.to_string(), "Tanggal kunjungan (2026-01-01) sebelum tanggal lahir (2026-02-01)");
    }

    /// The capsule colour must fit the age at the visit (and nifas for red in adults).
    #[test]
    fn vitamin_a_capsule_fits_age() {
        let member = |birth: Date, sex: Sex| Member {
            id: uuid::Uuid::new_v4(),
            nik: None,
            mother_nik: None,
            name: "X".into(),
            birth_date: birth,
            sex,
            relation: Relation::Anak,
            bpjs_number: None,
            kia_book: None,
            status: None,
            birth: None,
            deleted: false,
        };
        let baby = member(date!(2025 - 08 - 15), Sex::Female);
        let mother = member(date!(1998 - 01 - 01), Sex::Female);
        let mut hh = Household {
            id: uuid::Uuid::new_v4(),
            posyandu_id: "P".into(),
            kk_number: None,
            kk_history: vec![],
            head_member_id: None,
            address: Address::default(),
            gps: None,
            spm: SpmAttributes::default(),
            members: vec![baby.clone(), mother.clone()],
            visits: vec![],
            pregnancies: vec![],
            referrals: vec![],
            spm_requests: vec![],
        };
        let visit = |m: &Member, c: VitaminACapsule, on: Date| NewVisit {
            date: on,
            kind: VisitKind::HariBuka,
            entries: vec![VisitEntry {
                member_id: m.id,
                services: Services { vitamin_a_capsule: Some(c), ..Default::default() },
                ..Default::default()
            }],
        };
        let today = date!(2026 - 12 - 31);
        let feb = date!(2026 - 02 - 20); // baby 6 months
        assert_eq!(check_new_visit(&visit(&baby, VitaminACapsule::Biru, feb), &hh, today), Ok(()));
        let e = check_new_visit(&visit(&baby, VitaminACapsule::Merah, feb), &hh, today).unwrap_err();
        assert_eq!(e.to_string(), "Kapsul vitamin A merah untuk anak 12–59 bulan dan ibu nifas");
        let aug = date!(2026 - 08 - 20); // 12 months
        assert_eq!(check_new_visit(&visit(&baby, VitaminACapsule::Merah, aug), &hh, today), Ok(()));
        let e = check_new_visit(&visit(&baby, VitaminACapsule::Biru, aug), &hh, today).unwrap_err();
        assert_eq!(e.to_string(), "Kapsul vitamin A biru untuk bayi 6–11 bulan");
        assert_eq!(e.reason(), "kapsul biru untuk bayi 6–11 bulan");
        // 5 months: no capsule at all.
        assert!(check_new_visit(&visit(&baby, VitaminACapsule::Biru, date!(2026 - 01 - 20)), &hh, today).is_err());
        // An adult woman: red only in nifas (42 days after a recorded end of pregnancy).
        assert!(check_new_visit(&visit(&mother, VitaminACapsule::Merah, feb), &hh, today).is_err());
        hh.pregnancies.push(Pregnancy {
            id: uuid::Uuid::new_v4(),
            member_id: mother.id,
            lmp: date!(2025 - 05 - 01),
            due_date: date!(2026 - 02 - 05),
            gravida: 1,
            muac_cm: None,
            kek: false,
            ended: Some(date!(2026 - 02 - 10)),
            outcome: None,
            deleted: false,
        });
        assert_eq!(check_new_visit(&visit(&mother, VitaminACapsule::Merah, feb), &hh, today), Ok(()));
        assert!(check_new_visit(&visit(&mother, VitaminACapsule::Biru, feb), &hh, today).is_err());
        assert!(check_new_visit(&visit(&mother, VitaminACapsule::Merah, date!(2026 - 03 - 25)), &hh, today).is_err());
    }
}
