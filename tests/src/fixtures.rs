//! Input builders shared by the end-to-end tests and benchmarks.

use posyandu_core::*;

/// A household in RT `rt`, RW 002 of a Kota Bekasi kelurahan.
pub fn household(rt: &str) -> NewHousehold {
    NewHousehold {
        kk_number: None,
        address: Address { rt: rt.into(), rw: "002".into(), kode_wilayah: "3275011001".into(), ..Default::default() },
        gps: None,
        spm: SpmAttributes::default(),
    }
}

/// A member born `days_old` days before the store's today.
pub fn member(store: &Store, name: impl Into<String>, days_old: i64, sex: Sex, relation: Relation) -> NewMember {
    NewMember {
        nik: None,
        mother_nik: None,
        name: name.into(),
        birth_date: store.today() - time::Duration::days(days_old),
        sex,
        relation,
        bpjs_number: None,
        kia_book: None,
    }
}
