//! The local store: writes, validation, query tables, due list, migrations.

mod common;

use common::*;
use posyandu_core::validation::ValidationError;
use posyandu_core::*;
use time::macros::date;

#[test]
fn records_and_reads_back_a_household() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("s.sqlite3"), "D1");
    let hh = store.create_household(new_household("003")).unwrap();
    let mum = store.add_member(hh, mother()).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2026 - 01 - 20))).unwrap();
    let visit = store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 8.4)).unwrap();

    let h = store.household(hh).unwrap();
    assert_eq!(h.head_member_id, Some(mum), "first kepala keluarga becomes head");
    assert_eq!(h.members.len(), 2);
    assert_eq!(h.visits.len(), 1);
    assert_eq!(h.visits[0].id, visit);
    assert_eq!(h.visits[0].kader_id, "K-D1");
    assert_eq!(h.visits[0].entries[0].measurements.weight_kg, Some(8.4));
    assert_eq!(h.kk_history.len(), 1);

    let list = store.list_households(Some("003")).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].head_name.as_deref(), Some("Siti Aminah"));
    assert_eq!(list[0].member_count, 2);
    assert_eq!(list[0].last_visit.as_deref(), Some("2026-11-20"));
    assert!(store.list_households(Some("004")).unwrap().is_empty());

    assert_eq!(store.search_members("siti", 10).unwrap().len(), 1);
    assert_eq!(store.search_members("ami", 10).unwrap().len(), 1, "word prefix");
    assert_eq!(store.search_members("min", 10).unwrap().len(), 0, "not a word prefix");
    assert_eq!(store.search_members("32750152", 10).unwrap().len(), 2, "NIK prefix (child via mother's NIK)");
    assert_eq!(store.members_by_stage(LifeStage::BayiBalita).unwrap().len(), 1);
    assert_eq!(store.pending_changes().unwrap(), 4);
}

#[test]
fn invalid_input_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("s.sqlite3"), "D1");
    let hh = store.create_household(new_household("003")).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2026 - 01 - 20))).unwrap();
    let before = store.household(hh).unwrap();
    let pending = store.pending_changes().unwrap();

    let err = store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 0.2)).unwrap_err();
    assert!(matches!(err, Error::Validation(ValidationError::OutOfRange { field: "Berat badan (kg)", .. })), "{err:?}");
    assert!(err.to_string().contains("di luar batas wajar"), "{err}");
    let err = store.record_visit(hh, weighing(kid, date!(2026 - 01 - 01), 3.0)).unwrap_err();
    assert!(matches!(err, Error::Validation(ValidationError::VisitBeforeBirth { .. })));
    let err = store.record_visit(hh, weighing(kid, date!(2026 - 12 - 25), 9.0)).unwrap_err();
    assert!(matches!(err, Error::Validation(ValidationError::FutureDate { .. })));
    let err = store.record_visit(hh, weighing(uuid::Uuid::new_v4(), date!(2026 - 11 - 20), 9.0)).unwrap_err();
    assert!(matches!(err, Error::Validation(ValidationError::UnknownMember(_))));
    let mut bad = mother();
    bad.nik = Some("123".into());
    assert!(matches!(store.add_member(hh, bad), Err(Error::Validation(ValidationError::NikLength { len: 3 }))));
    let mut h = new_household("003");
    h.address.kode_wilayah = "12".into();
    assert!(store.create_household(h).is_err());

    assert_eq!(store.household(hh).unwrap(), before);
    assert_eq!(store.pending_changes().unwrap(), pending);
    // The store is still usable after refusals.
    store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 8.0)).unwrap();
    assert_eq!(store.household(hh).unwrap().visits.len(), 1);
}

#[test]
fn tombstones_hide_but_keep_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("s.sqlite3"), "D1");
    let hh = store.create_household(new_household("001")).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2026 - 01 - 20))).unwrap();
    let v = store.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 8.0)).unwrap();
    store.delete_visit(hh, v).unwrap();
    let h = store.household(hh).unwrap();
    assert!(h.visits[0].deleted, "the visit stays, marked deleted");
    assert_eq!(store.list_households(None).unwrap()[0].last_visit, None);
    store.remove_member(hh, kid).unwrap();
    assert!(store.household(hh).unwrap().members[0].deleted);
    assert!(store.search_members("budi", 10).unwrap().is_empty());
}

#[test]
fn data_survives_reopen_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let (hh, kid) = {
        let store = open_store(&path, "D1");
        let hh = store.create_household(new_household("001")).unwrap();
        let kid = store.add_member(hh, child("Budi", date!(2024 - 01 - 20))).unwrap();
        // More than the compaction threshold of incremental changes.
        for i in 0..80 {
            let mut v = weighing(kid, date!(2026 - 11 - 20), 10.0 + i as f64 * 0.01);
            v.kind = VisitKind::HariBuka;
            store.record_visit(hh, v).unwrap();
        }
        (hh, kid)
    };
    let store = Store::open_existing(&path, plain()).unwrap();
    let h = store.household(hh).unwrap();
    assert_eq!(h.visits.len(), 80);
    assert!(h.member(kid).is_some());
    assert_eq!(store.identity().device_id, "D1");
}

#[test]
fn due_list_names_the_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("s.sqlite3"), "D1");
    let hh = store.create_household(new_household("002")).unwrap();
    let mum = store.add_member(hh, mother()).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2025 - 12 - 01))).unwrap();
    store
        .add_pregnancy(
            hh,
            NewPregnancy {
                member_id: mum,
                lmp: date!(2026 - 08 - 01),
                due_date: None,
                gravida: 2,
                muac_cm: Some(22.0),
            },
        )
        .unwrap();
    let due = store.due_visits().unwrap();
    let kid_due = due.iter().find(|d| d.member_id == kid).expect("child due");
    // No hari buka recorded this month: expected at the session (tests/due_session.rs).
    assert!(kid_due.reasons.contains(&DueReason::ExpectedAtSession));
    // November is no vitamin A month (rounds February and August, listed through
    // the month after: docs/rules.md "Vitamin A").
    assert!(!kid_due.reasons.contains(&DueReason::VitaminAMissed));
    let mum_due = due.iter().find(|d| d.member_id == mum).expect("mother due");
    assert_eq!(mum_due.stage, LifeStage::IbuHamil);
    assert_eq!(mum_due.reasons, vec![DueReason::PregnantKek]);

    // Weighed this month with vitamin A: those reasons go.
    let mut v = weighing(kid, date!(2026 - 11 - 20), 8.0);
    v.entries[0].services.vitamin_a = true;
    store.record_visit(hh, v).unwrap();
    let due = store.due_visits().unwrap();
    let kid_due = due.iter().find(|d| d.member_id == kid);
    assert!(kid_due.is_none_or(
        |d| !d.reasons.contains(&DueReason::ExpectedAtSession) && !d.reasons.contains(&DueReason::VitaminAMissed)
    ));

    // February 2027 (the round): November's dose does not count; a red capsule
    // recorded in the round does (the capsule implies vitamin A).
    store.set_clock(|| time::macros::datetime!(2027-02-10 03:00 UTC), time::UtcOffset::from_hms(7, 0, 0).unwrap());
    let due = store.due_visits().unwrap();
    let kid_due = due.iter().find(|d| d.member_id == kid).expect("child due in February");
    assert!(kid_due.reasons.contains(&DueReason::VitaminAMissed), "{:?}", kid_due.reasons);
    let mut v = weighing(kid, date!(2027 - 02 - 05), 8.6);
    v.entries[0].services.vitamin_a_capsule = Some(VitaminACapsule::Merah);
    store.record_visit(hh, v).unwrap();
    let due = store.due_visits().unwrap();
    assert!(due.iter().find(|d| d.member_id == kid).is_none_or(|d| !d.reasons.contains(&DueReason::VitaminAMissed)));
}

#[test]
fn migrates_a_version_1_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    {
        // A store as version 1 of the app left it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(posyandu_core::store::schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO member (id, household_id, name, name_key, birth_date, sex, relation) VALUES ('m', 'h', 'X', 'x', '2020-01-01', 1, 'anak')",
            [],
        )
        .unwrap();
    }
    let store = open_store(&path, "D1");
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        posyandu_core::store::schema::user_version(&conn).unwrap(),
        posyandu_core::store::schema::SCHEMA_VERSION
    );
    let n: i64 = conn.query_row("SELECT count(*) FROM member", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "data kept across the upgrade");
    let idx: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'member_by_name_key'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(idx, 1);
    // Version 3: the table of what the document reader left out, empty after the upgrade.
    let problems: i64 = conn.query_row("SELECT count(*) FROM doc_problem", [], |r| r.get(0)).unwrap();
    assert_eq!(problems, 0);
    assert!(store.document_problems().unwrap().is_empty());
    drop(store);
    // A store from a newer app is refused, not misread.
    conn.pragma_update(None, "user_version", 99).unwrap();
    assert!(matches!(Store::open(&path, identity("D1", "K"), plain()), Err(Error::SchemaTooNew { found: 99, .. })));
}

#[test]
fn migrates_a_version_2_store_to_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite3");
    let hh = {
        let store = open_store(&path, "D1");
        let hh = store.create_household(new_household("001")).unwrap();
        store.add_member(hh, mother()).unwrap();
        hh
    };
    {
        // Back to version 2 as the previous app left it: no doc_problem (3), no
        // quarantine (4), no referral (5) and no spm_request (6) table.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE doc_problem; DROP TABLE quarantine; DROP TABLE referral; DROP TABLE spm_request",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
    }
    let store = open_store(&path, "D1");
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(posyandu_core::store::schema::user_version(&conn).unwrap(), 6);
    assert_eq!(posyandu_core::store::schema::SCHEMA_VERSION, 6);
    assert!(store.document_problems().unwrap().is_empty());
    assert!(store.quarantined().unwrap().is_empty());
    assert_eq!(store.household(hh).unwrap().members.len(), 1, "data kept across the upgrade");
    // The new table is filled by the next write of the household.
    store.add_member(hh, child("Budi", date!(2026 - 01 - 20))).unwrap();
    assert!(store.document_problems().unwrap().is_empty());
}

#[test]
fn store_is_usable_from_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open_store(&dir.path().join("s.sqlite3"), "D1"));
    let hh = store.create_household(new_household("001")).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2024 - 01 - 20))).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let s = store.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    s.record_visit(hh, weighing(kid, date!(2026 - 11 - 20), 11.0)).unwrap();
                    s.list_households(None).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(store.household(hh).unwrap().visits.len(), 40);
}

/// Issue 10, wrong answer 7: a NIK whose birth date is a day off is registered, and
/// the warning comes from the rulebook; Buku KIA ownership is set on add and by patch,
/// and an absent value reads as "not recorded".
#[test]
fn nik_mismatch_registers_with_a_warning_and_kia_book_is_recorded() {
    use posyandu_core::rules::identity::{member_warnings, NikWarning};
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("s.sqlite3"), "D1");
    let hh = store.create_household(new_household("003")).unwrap();
    let mut mum = mother();
    mum.birth_date = date!(1990 - 05 - 13); // the NIK says 12-05-90
    let mum = store.add_member(hh, mum).expect("registered despite the NIK date");
    let mut kid = child("Budi", date!(2026 - 01 - 20));
    kid.kia_book = Some(true);
    let kid = store.add_member(hh, kid).unwrap();
    let other = store.add_member(hh, child("Ani", date!(2025 - 01 - 20))).unwrap();
    let h = store.household(hh).unwrap();
    let m = h.member(mum).unwrap();
    assert_eq!(member_warnings(m), vec![NikWarning::BirthDate { nik_date: "12-05-90".into() }]);
    assert_eq!(h.member(kid).unwrap().kia_book, Some(true));
    assert_eq!(h.member(other).unwrap().kia_book, None, "not recorded");
    store.update_member(hh, other, MemberPatch { kia_book: Some(false), ..Default::default() }).unwrap();
    store.update_member(hh, kid, MemberPatch { name: Some("Budi S".into()), ..Default::default() }).unwrap();
    let h = store.household(hh).unwrap();
    assert_eq!(h.member(other).unwrap().kia_book, Some(false));
    assert_eq!(h.member(kid).unwrap().kia_book, Some(true), "a patch without kia_book keeps it");
}

/// Issue 15: a damaged store says it is damaged (not "identity not found", which
/// invites setting the phone up again and losing unsent visits), and the file is kept.
#[test]
fn a_damaged_store_says_so_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let store = open_store(&path, "D1");
        let hh = store.create_household(new_household("001")).unwrap();
        store.add_member(hh, child("Budi", date!(2024 - 01 - 20))).unwrap();
    }
    // Checkpointed into the main file (the WAL is gone after a clean close).
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() > 8192, "{}", full.len());
    // 1. Overwritten header: not a database at all.
    let mut garbage = full.clone();
    garbage[..100].fill(0x5a);
    std::fs::write(&path, &garbage).unwrap();
    match Store::open_existing(&path, plain()) {
        Err(e @ Error::Corrupt { .. }) => assert!(e.to_string().contains("rusak"), "{e}"),
        Err(e) => panic!("expected Corrupt, got {e:?}"),
        Ok(_) => panic!("a damaged store opened"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file was changed");
    // 2. Truncated in the middle of its pages.
    std::fs::write(&path, &full[..full.len() / 2 + 100]).unwrap();
    let err = Store::open_existing(&path, plain()).and_then(|s| s.list_households(None).map(|_| ())).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, full.len() / 2 + 100);
}

/// Issue 15: one damaged household does not block the others, is listed, and is
/// rebuilt from what the phone still holds (here its unsent changes) without
/// discarding the outbox.
#[test]
fn a_damaged_household_is_rebuilt_from_its_unsent_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let store = open_store(&path, "D1");
    let hh = store.create_household(new_household("001")).unwrap();
    let kid = store.add_member(hh, child("Budi", date!(2024 - 01 - 20))).unwrap();
    let other = store.create_household(new_household("002")).unwrap();
    let before = store.household(hh).unwrap();
    let pending = store.pending_changes().unwrap();
    drop(store);
    // Damage the stored document of `hh` (its snapshot bytes), nothing else.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let n = conn
            .execute("UPDATE doc SET snapshot = zeroblob(length(snapshot)) WHERE id = ?1", [hh.to_string()])
            .unwrap();
        assert_eq!(n, 1);
    }
    let store = Store::open_existing(&path, plain()).unwrap();
    assert!(matches!(store.household(hh), Err(Error::Document(_))));
    assert!(store.household(other).is_ok(), "the other household is untouched");
    assert_eq!(store.damaged_households().unwrap(), vec![hh]);
    // No relay configured: rebuilt from the phone's own changes (the outbox).
    let r = store.repair_damaged_households().unwrap();
    assert_eq!((r.damaged.clone(), r.repaired.clone()), (vec![hh], vec![hh]));
    let after = store.household(hh).unwrap();
    assert_eq!(after, before);
    assert!(after.member(kid).is_some());
    assert!(store.damaged_households().unwrap().is_empty());
    // Nothing unsent was discarded.
    assert_eq!(store.pending_changes().unwrap(), pending);
}

#[test]
fn checklist_answers_and_counselling_are_coded_by_stage_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("s.sqlite3"), "D1");
    let hh = store.create_household(new_household("003")).unwrap();
    let mum = store.add_member(hh, mother()).unwrap();
    // Born 2026-04-10: 7 completed months on 2026-11-20.
    let baby = store.add_member(hh, child("Ani", date!(2026 - 04 - 10))).unwrap();
    let on = date!(2026 - 11 - 20);

    let (stage, items) = store.checklist_for(hh, baby, on).unwrap();
    assert_eq!(stage, LifeStage::BayiBalita);
    let codes: Vec<&str> = items.iter().map(|i| i.code.as_str()).collect();
    assert!(codes.contains(&"mp_asi") && !codes.contains(&"tali_pusat_kering"), "{codes:?}");
    let (stage, items) = store.checklist_for(hh, mum, on).unwrap();
    assert_eq!(stage, LifeStage::Dewasa);
    assert!(items.iter().all(|i| i.code != "mp_asi"));

    let mut v = weighing(baby, on, 7.6);
    v.entries[0].checklist.insert("mp_asi".into(), true);
    v.entries[0].counselling = vec!["mp_asi".into()];
    let visit = store.record_visit(hh, v.clone()).unwrap();

    // An item of another stage or age, the old ASI key (now the typed field), and
    // free-text counselling: refused, nothing written.
    let pending = store.pending_changes().unwrap();
    for code in ["ttd_diminum", "tali_pusat_kering", "asi_eksklusif"] {
        let mut bad = v.clone();
        bad.entries[0].checklist.insert(code.into(), true);
        let err = store.record_visit(hh, bad).unwrap_err();
        assert!(matches!(err, Error::Validation(ValidationError::ChecklistItem { .. })), "{code}: {err:?}");
        assert!(err.to_string().contains("tidak berlaku untuk anggota ini"), "{err}");
    }
    let mut bad = v.clone();
    bad.entries[0].counselling = vec!["MP-ASI".into()];
    let err = store.record_visit(hh, bad).unwrap_err();
    assert!(matches!(err, Error::Validation(ValidationError::UnknownCounsellingTopic(_))), "{err:?}");
    assert_eq!(store.pending_changes().unwrap(), pending);

    // A correction keeps what the stored entry already holds (free text of an older
    // app version) but cannot add a new uncoded value.
    let h = store.household(hh).unwrap();
    let mut stored = h.visits.iter().find(|x| x.id == visit).unwrap().clone();
    stored.entries[0].counselling.push("MP-ASI".into());
    let mut entry = stored.entries[0].clone();
    entry.measurements.weight_kg = Some(7.7);
    assert_eq!(validation::check_amended_entry(&stored, &entry, &h, on), Ok(()));
    entry.counselling.push("Gizi".into());
    assert!(validation::check_amended_entry(&stored, &entry, &h, on).is_err());

    let mut fix = store.household(hh).unwrap().visits[0].entries[0].clone();
    fix.checklist.insert("mp_asi".into(), false);
    store.amend_visit_entry(hh, visit, fix).unwrap();
    let e = &store.household(hh).unwrap().visits[0].entries[0];
    assert_eq!(e.checklist.get("mp_asi"), Some(&false));
    assert_eq!(e.counselling, vec!["mp_asi".to_string()]);
}
