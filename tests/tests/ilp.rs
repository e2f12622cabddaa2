//! Issue 12 end to end, through a real relay process on SQLite and on PostgreSQL: a
//! birth recorded on one kader's phone registers the newborn; after sync, a second
//! kader's phone has the newborn's KN1 and the mother's KF1 on its due list; a child
//! who moved away last month is in last month's S of the Puskesmas report and no
//! longer in this month's.

use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::hostile::PgSchema;
use posyandu_tests::relay::{device, RelayProcess};
use serde_json::Value;
use time::Duration;

const P: &str = "P-1";

fn month_of(d: time::Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

fn report(relay: &RelayProcess, pkm: &str, month: &str) -> Value {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/v1/report/{P}/{month}", relay.url()))
        .bearer_auth(pkm)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    serde_json::from_str(&r.text().unwrap()).unwrap()
}

fn birth_and_move(mut relay: RelayProcess, dir: &std::path::Path) {
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    relay.admin(&["add-posyandu", "--id", P, "--name", "Posyandu Satu", "--puskesmas", "PKM-1"]).unwrap();
    let pkm = relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap().trim().to_string();
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.start().unwrap();
    let a = device(dir, P, "K-A", "D-A", &relay.url(), &ta);
    let b = device(dir, P, "K-B", "D-B", &relay.url(), &tb);
    let today = a.today();

    // Phone A: a pregnant mother, a child who stays, a child who moved last month.
    let hh = a.create_household(household("001")).unwrap();
    let mut ibu = member(&a, "Ibu Sari", 30 * 365, Sex::Female, Relation::Istri);
    ibu.nik = Some("3275014505900002".into());
    let mother = a.add_member(hh, ibu).unwrap();
    let stays = a.add_member(hh, member(&a, "Tetap", 400, Sex::Female, Relation::Anak)).unwrap();
    let mover = a.add_member(hh, member(&a, "Pindah", 500, Sex::Male, Relation::Anak)).unwrap();
    let last_month_end = today.replace_day(1).unwrap() - Duration::days(1);
    a.set_member_status(hh, mover, MemberStatusKind::Pindah, last_month_end).unwrap();
    let preg = a
        .add_pregnancy(
            hh,
            NewPregnancy {
                member_id: mother,
                lmp: today - Duration::days(275),
                due_date: None,
                gravida: 2,
                muac_cm: None,
            },
        )
        .unwrap();
    // The birth, offline, today.
    let ids = a
        .record_birth(
            hh,
            BirthRecord {
                pregnancy_id: preg,
                date: today,
                outcome: PregnancyOutcome {
                    kind: OutcomeKind::LahirHidup,
                    place: Some(BirthPlace::Rumah),
                    attendant: Some(BirthAttendant::Bidan),
                },
                newborns: vec![NewBorn {
                    name: "Bayi Sari".into(),
                    sex: Sex::Male,
                    weight_kg: Some(3.1),
                    length_cm: Some(49.0),
                    kia_book: Some(true),
                }],
            },
        )
        .unwrap();
    let baby = ids[0];
    a.sync_now(&mut |_| {}).unwrap();

    // Phone B: the newborn is registered, its KN1 and the mother's KF1 are due; the
    // child who moved is on no list.
    b.sync_now(&mut |_| {}).unwrap();
    let h = b.household(hh).unwrap();
    let nb = h.member(baby).expect("newborn reached phone B");
    assert_eq!(nb.birth_date, today);
    assert_eq!(nb.mother_nik.as_ref().map(|m| (m.mother_nik.as_str(), m.birth_order)), Some(("3275014505900002", 1)));
    assert_eq!(nb.birth.and_then(|x| x.weight_kg), Some(3.1));
    assert_eq!(h.pregnancies[0].outcome.map(|o| o.kind), Some(OutcomeKind::LahirHidup));
    let due = b.due_visits().unwrap();
    let of = |m| due.iter().find(|d| d.member_id == m).map(|d| d.reasons.clone()).unwrap_or_default();
    assert!(of(baby).contains(&DueReason::KunjunganNeonatal("KN1".into())), "{:?}", of(baby));
    assert!(of(mother).contains(&DueReason::KunjunganNifas("KF1".into())), "{:?}", of(mother));
    assert!(due.iter().all(|d| d.member_id != mover), "the child who moved is not due");
    assert!(!of(stays).is_empty(), "the child who stays is (not weighed)");
    // B meets both contacts with a home visit; A sees them met after sync.
    b.record_visit(
        hh,
        NewVisit {
            date: today,
            kind: VisitKind::KunjunganRumah,
            entries: vec![
                VisitEntry { member_id: mother, ..Default::default() },
                VisitEntry { member_id: baby, ..Default::default() },
            ],
        },
    )
    .unwrap();
    b.sync_now(&mut |_| {}).unwrap();
    a.sync_now(&mut |_| {}).unwrap();
    let due = a.due_visits().unwrap();
    assert!(
        due.iter()
            .flat_map(|d| &d.reasons)
            .all(|r| !matches!(r, DueReason::KunjunganNeonatal(_) | DueReason::KunjunganNifas(_))),
        "{due:?}"
    );

    // The Puskesmas report: last month S = stays + mover; this month S = stays + newborn.
    let last = report(&relay, &pkm, &month_of(last_month_end));
    assert_eq!(last["skdn"]["s"], 2, "{}", last["skdn"]);
    let now = report(&relay, &pkm, &month_of(today));
    assert_eq!(now["skdn"]["s"], 2, "{}", now["skdn"]);
    let f2_total = now["f2"].as_array().unwrap().last().unwrap();
    // Stays (female) and the newborn (male); the mover (male) is gone.
    assert_eq!((f2_total["s"]["male"].as_u64(), f2_total["s"]["female"].as_u64()), (Some(1), Some(1)));
    // The export shows the status and the birth.
    let (ndjson, _) = posyandu_tests::hostile::export(&relay.url(), &pkm).unwrap();
    let line = ndjson.lines().find(|l| l.contains(&mover.to_string()) && l.contains("\"member\"")).unwrap();
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["status"], "pindah");
    let line = ndjson.lines().find(|l| l.contains("\"pregnancy\"")).unwrap();
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!((v["outcome"].as_str(), v["birth_attendant"].as_str()), (Some("lahir_hidup"), Some("bidan")));
}

#[test]
fn birth_newborn_due_and_moved_member_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::new(dir.path());
    birth_and_move(relay, dir.path());
}

#[test]
fn birth_newborn_due_and_moved_member_postgres() {
    let schema = PgSchema::new();
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::new_pg(dir.path(), &schema.url);
    birth_and_move(relay, dir.path());
}
