//! Fixtures shared by the core's integration tests.
#![allow(dead_code)]

use posyandu_core::*;
use time::macros::{date, datetime};
use time::{Date, UtcOffset};
use uuid::Uuid;

pub const TODAY: Date = date!(2026 - 11 - 23);

pub fn identity(device: &str, kader: &str) -> DeviceIdentity {
    DeviceIdentity { device_id: device.into(), kader_id: kader.into(), posyandu_id: "P-001".into() }
}

/// A keyring that leaves the store file plain (these tests read and damage it with
/// plain SQLite; encryption is tested in `cipher.rs`).
pub fn plain() -> std::sync::Arc<dyn Keyring> {
    std::sync::Arc::new(MemoryKeyring::unencrypted_for_tests())
}

/// A store whose clock is fixed at 2026-11-23 10:00 WIB.
pub fn open_store(path: &std::path::Path, device: &str) -> Store {
    let mut s = Store::open(path, identity(device, &format!("K-{device}")), plain()).expect("open store");
    s.set_clock(|| datetime!(2026-11-23 03:00 UTC), UtcOffset::from_hms(7, 0, 0).unwrap());
    s
}

pub fn new_household(rt: &str) -> NewHousehold {
    NewHousehold {
        kk_number: Some("3275010101260001".into()),
        address: Address {
            rt: rt.into(),
            rw: "005".into(),
            dusun: None,
            kode_wilayah: "3275011001".into(),
            street: None,
        },
        gps: None,
        spm: SpmAttributes { clean_water: Some(true), ..Default::default() },
    }
}

pub fn mother() -> NewMember {
    NewMember {
        nik: Some("3275015205900002".into()),
        mother_nik: None,
        name: "Siti Aminah".into(),
        birth_date: date!(1990 - 05 - 12),
        sex: Sex::Female,
        relation: Relation::KepalaKeluarga,
        bpjs_number: None,
        kia_book: None,
    }
}

pub fn child(name: &str, birth: Date) -> NewMember {
    NewMember {
        nik: None,
        mother_nik: Some(MotherNik { mother_nik: "3275015205900002".into(), birth_order: 1 }),
        name: name.into(),
        birth_date: birth,
        sex: Sex::Male,
        relation: Relation::Anak,
        bpjs_number: None,
        kia_book: None,
    }
}

pub fn weighing(member: Uuid, date: Date, weight_kg: f64) -> NewVisit {
    NewVisit {
        date,
        kind: VisitKind::KunjunganRumah,
        entries: vec![VisitEntry {
            member_id: member,
            measurements: Measurements {
                weight_kg: Some(weight_kg),
                length_height_cm: Some(75.0),
                measure: Some(Measure::Lying),
                ..Default::default()
            },
            ..Default::default()
        }],
    }
}
