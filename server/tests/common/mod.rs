//! Households built in memory for the monthly-report and FHIR tests (`report_*.rs`,
//! `fhir_*.rs`): one place that spells out the record types, so a new field is added
//! here once.
#![allow(dead_code)]

use posyandu_records::model::*;
use time::Date;
use uuid::Uuid;

/// A child (relation *anak*) with nothing but identity; callers adjust fields with
/// struct update syntax.
pub fn member(id: Uuid, name: &str, birth: Date, sex: Sex) -> Member {
    Member {
        id,
        nik: None,
        mother_nik: None,
        name: name.into(),
        birth_date: birth,
        sex,
        relation: Relation::Anak,
        bpjs_number: None,
        kia_book: None,
        status: None,
        birth: None,
        deleted: false,
    }
}

/// A visit of kader K-1 at Posyandu P-001.
pub fn visit(id: Uuid, date: Date, kind: VisitKind, entries: Vec<VisitEntry>) -> Visit {
    Visit { id, date, kind, kader_id: "K-1".into(), posyandu_id: "P-001".into(), entries, deleted: false }
}

/// One visit per `(date, entry)`, ids 10 000, 10 001, … in order.
pub fn visits_of(entries: Vec<(Date, VisitEntry)>, kind: VisitKind) -> Vec<Visit> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, (date, e))| visit(Uuid::from_u128(10_000 + i as u128), date, kind, vec![e]))
        .collect()
}

/// A household of Posyandu P-001 in RT 001 / RW 002 of village `kode_wilayah`.
pub fn household(
    id: Uuid,
    kode_wilayah: &str,
    members: Vec<Member>,
    visits: Vec<Visit>,
    pregnancies: Vec<Pregnancy>,
) -> Household {
    Household {
        id,
        posyandu_id: "P-001".into(),
        kk_number: None,
        kk_history: Vec::new(),
        head_member_id: None,
        address: Address {
            rt: "001".into(),
            rw: "002".into(),
            kode_wilayah: kode_wilayah.into(),
            ..Default::default()
        },
        gps: None,
        spm: SpmAttributes::default(),
        members,
        visits,
        pregnancies,
        referrals: Vec::new(),
        spm_requests: Vec::new(),
    }
}

/// The SATUSEHAT configuration of Posyandu P-001 (organisation, location, bidan) with
/// the relay's UTC offset `utc_offset` (e.g. `+07:00`).
pub fn satusehat_config(utc_offset: &str) -> posyandu_server::storage::SatusehatConfig {
    posyandu_server::storage::SatusehatConfig {
        posyandu_id: "P-001".into(),
        posyandu_name: "Posyandu Melati".into(),
        org_id: "a1b2c3d4-0000-4000-8000-000000000001".into(),
        puskesmas_org_id: "100000001".into(),
        location_id: "b1b2c3d4-0000-4000-8000-000000000002".into(),
        bidan_ihs: "N10000001".into(),
        bidan_name: "Bidan Rina".into(),
        utc_offset: utc_offset.into(),
        kfa: Default::default(),
    }
}
