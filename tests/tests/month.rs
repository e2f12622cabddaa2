//! Issue 12 acceptance: one month of a Posyandu, end to end through a real relay
//! process on SQLite and on PostgreSQL (`POSYANDU_TEST_PG`, default the local test
//! database), every step through real relay syncs:
//!
//! 1. two kader phones create the Posyandu document offline (roster on one, area on
//!    the other) and, after syncing, both see both edits (the genesis change merges);
//! 2. the Puskesmas sets the schedule (second Tuesday) and the sasaran through
//!    `PUT /v1/posyandu/{id}/…`; a kader cannot write a Puskesmas sasaran;
//! 3. on H-1 phone A shows the undangan list (members and reasons, both phones'
//!    households);
//! 4. the service day is recorded on phones A and B (different households; a child
//!    whose third weighing gives 2T, a child absent, a pregnant woman, a child of B);
//! 5. after the session both phones show the home-visit list: the absent child, then
//!    the 2T child;
//! 6. a referral raised on the 2T child is received and closed by the bidan with a
//!    follow-up visit, which is then due on the kader's phone;
//! 7. a birth recorded on phone A has the newborn's KN1 due on phone B.
//!
//! The phones' clocks are set to the days of the month (the session is the latest
//! second Tuesday on or before the real date, so nothing is dated in the relay's
//! future). Needs `target/release/posyandu-relay`.

use posyandu_core::rules::schedule::{latest_service_day, HomeVisitSection, InviteReason};
use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::hostile::{push_changes, store_actor, PgSchema};
use posyandu_tests::relay::http::{call, call_text, last_line};
use posyandu_tests::relay::{device, RelayProcess};
use serde_json::json;
use time::{Duration, UtcOffset};
use uuid::Uuid;

const P: &str = "P-1";

/// Sets the store's clock to 09:00 WIB of `day`.
fn set_day(store: &mut Store, day: time::Date) {
    let wib = UtcOffset::from_hms(7, 0, 0).unwrap();
    let at = day.with_hms(9, 0, 0).unwrap().assume_offset(wib);
    store.set_clock(move || at, wib);
    assert_eq!(store.today(), day);
}

fn sync(store: &Store) {
    store.sync_now(&mut |_| {}).unwrap();
}

/// Day `day` (clamped to the month's length) of the month `back` months before `d`'s.
fn month_day(d: time::Date, back: i32, day: u8) -> time::Date {
    let m = d.year() * 12 + (u8::from(d.month()) as i32 - 1) - back;
    let (y, mo) = (m.div_euclid(12), time::Month::try_from((m.rem_euclid(12) + 1) as u8).unwrap());
    time::Date::from_calendar_date(y, mo, day.min(mo.length(y))).unwrap()
}

fn weigh(member_id: Uuid, kg: f64) -> VisitEntry {
    VisitEntry {
        member_id,
        measurements: Measurements { weight_kg: Some(kg), ..Default::default() },
        ..Default::default()
    }
}

fn month(mut relay: RelayProcess, dir: &std::path::Path) {
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    relay.admin(&["add-posyandu", "--id", P, "--name", "Posyandu Satu", "--puskesmas", "PKM-1"]).unwrap();
    let pkm = last_line(relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap());
    let ta = relay.register(P, "K-A", "D-A").unwrap();
    let tb = relay.register(P, "K-B", "D-B").unwrap();
    relay.admin(&["add-bidan", "--id", "B-1", "--name", "Bidan Ana", "--posyandu", P]).unwrap();
    let bidan = last_line(relay.admin(&["bidan-token", "--bidan", "B-1"]).unwrap());
    relay.start().unwrap();
    let mut a = device(dir, P, "K-A", "D-A", &relay.url(), &ta);
    let mut b = device(dir, P, "K-B", "D-B", &relay.url(), &tb);
    let real_today = a.today();

    // 1. The Posyandu document, created offline on both phones.
    a.set_roster_entry("K-A", RosterEntry { name: "Bu Ani".into(), role: RosterRole::Ketua, active: true }).unwrap();
    let area = AreaEntry { kode_wilayah: "3275011001".into(), rw: "002".into(), rt: "001".into(), dusun: None };
    b.set_area_entry(area.clone(), true).unwrap();
    assert_eq!(a.posyandu().unwrap().roster.len(), 1);
    assert!(a.posyandu().unwrap().area.is_empty(), "not yet synced");
    sync(&a);
    sync(&b);
    sync(&a);
    for phone in [&a, &b] {
        let p = phone.posyandu().unwrap();
        assert_eq!(p.roster.get("K-A").map(|e| e.name.as_str()), Some("Bu Ani"));
        assert_eq!(p.area, vec![area.clone()]);
        assert!(phone.list_households(None).unwrap().is_empty(), "the Posyandu document is not a household");
    }

    // 2. The Puskesmas sets the schedule and the sasaran.
    let (s, body) = call(
        &relay,
        "PUT",
        &pkm,
        &format!("/v1/posyandu/{P}/schedule"),
        Some(json!({"rule": {"week": "second", "weekday": "tuesday"}})),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["schedule"]["rule"], json!({"week": "second", "weekday": "tuesday"}));
    assert_eq!(body["roster"]["K-A"]["name"], json!("Bu Ani"), "the phones' edits are kept");
    let year = real_today.year();
    let (s, body) = call(
        &relay,
        "PUT",
        &pkm,
        &format!("/v1/posyandu/{P}/sasaran"),
        Some(json!({"year": year, "ibu_hamil": 12, "bayi": 10, "balita": 48, "lansia": 30})),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["sasaran"][year.to_string()]["balita"], json!(48));
    assert_eq!(body["sasaran"][year.to_string()]["source"], json!("puskesmas"));
    // Bad input and other tokens are refused.
    let (s, _) =
        call(&relay, "PUT", &pkm, &format!("/v1/posyandu/{P}/schedule"), Some(json!({"rule": {"week": "ninth"}})));
    assert_eq!(s, 400);
    let (s, body) = call(&relay, "PUT", &ta, &format!("/v1/posyandu/{P}/sasaran"), Some(json!({"year": year})));
    assert_eq!((s, body["code"].as_str()), (403, Some("wrong_token_kind")), "{body}");
    let (s, _) = call(&relay, "GET", &pkm, "/v1/posyandu/P-OTHER", None);
    assert_eq!(s, 403);
    sync(&a);
    sync(&b);
    let schedule = a.posyandu().unwrap().schedule;
    assert_eq!(schedule.rule, Some(ScheduleRule { week: Week::Second, weekday: DayOfWeek::Tuesday }));
    assert_eq!(b.posyandu().unwrap().sasaran_of(year).and_then(|s| s.balita), Some(48));
    // A kader's push claiming a Puskesmas sasaran is refused.
    {
        let actor = store_actor(&a);
        let id = posyandu_core::doc::posyandu_doc_id(P);
        let mut am = posyandu_tests::hostile::store_doc(&a, id, &actor);
        let mut forged = posyandu_core::doc::HouseholdDoc::load(&am.save(), &actor).unwrap();
        let s = Sasaran {
            ibu_hamil: Some(1),
            ibu_bersalin: None,
            bayi: None,
            balita: Some(1),
            lansia: None,
            source: SasaranSource::Puskesmas,
        };
        forged.set_sasaran(year, &s).unwrap();
        let change = forged.commit("K-A", a.now().unix_timestamp()).unwrap();
        let out = push_changes(&relay.url(), &ta, &actor, id, vec![change.raw_bytes().to_vec()]).unwrap();
        assert_eq!((out.status, out.code()), (400, Some("bad_change")), "{}", out.describe());
        assert!(out.field("path").unwrap().ends_with("/source"), "{}", out.describe());
    }

    // The service day: the latest second Tuesday on or before today (real date).
    let s_day = latest_service_day(&schedule, real_today).expect("a second Tuesday within two years");
    assert!(s_day <= real_today && real_today - s_day < Duration::days(40));
    let eve = s_day - Duration::days(1);
    assert!(posyandu_core::rules::schedule::is_eve(&schedule, eve));

    // 3. H-1: the households, then the undangan list on phone A.
    set_day(&mut a, eve);
    set_day(&mut b, eve);
    let ha = a.create_household(household("001")).unwrap();
    a.add_member(ha, member(&a, "Pak Ahmad", 35 * 365, Sex::Male, Relation::KepalaKeluarga)).unwrap();
    let mut ibu = member(&a, "Ibu Sari", 30 * 365, Sex::Female, Relation::Istri);
    ibu.nik = Some("3275014505900002".into());
    let mother = a.add_member(ha, ibu).unwrap();
    let preg = a
        .add_pregnancy(
            ha,
            NewPregnancy {
                member_id: mother,
                lmp: eve - Duration::days(268),
                due_date: None,
                gravida: 2,
                muac_cm: None,
            },
        )
        .unwrap();
    let budi = a.add_member(ha, member(&a, "Budi", 400, Sex::Male, Relation::Anak)).unwrap();
    let citra = a.add_member(ha, member(&a, "Citra", 300, Sex::Female, Relation::Anak)).unwrap();
    // Budi: +50 g last month (T); Citra weighed last month.
    a.record_visit(
        ha,
        NewVisit { date: month_day(s_day, 2, 1), kind: VisitKind::HariBuka, entries: vec![weigh(budi, 9.0)] },
    )
    .unwrap();
    a.record_visit(
        ha,
        NewVisit {
            date: month_day(s_day, 1, 1),
            kind: VisitKind::HariBuka,
            entries: vec![weigh(budi, 9.05), weigh(citra, 8.0)],
        },
    )
    .unwrap();
    let hb = b.create_household(household("002")).unwrap();
    b.add_member(hb, member(&b, "Pak Joko", 40 * 365, Sex::Male, Relation::KepalaKeluarga)).unwrap();
    let dewi = b.add_member(hb, member(&b, "Dewi", 400, Sex::Female, Relation::Anak)).unwrap();
    b.record_visit(
        hb,
        NewVisit { date: month_day(s_day, 1, 1), kind: VisitKind::HariBuka, entries: vec![weigh(dewi, 9.0)] },
    )
    .unwrap();
    sync(&a);
    sync(&b);
    sync(&a);
    let inv = a.undangan(None).unwrap();
    assert_eq!(inv.service_day, format_date(s_day));
    let names: Vec<&str> = inv.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["Budi", "Citra", "Ibu Sari", "Dewi"], "by RT then name; adults not invited");
    let reasons = |name: &str| inv.items.iter().find(|i| i.name == name).unwrap().reasons.clone();
    assert!(reasons("Budi").contains(&InviteReason::Penimbangan), "{:?}", reasons("Budi"));
    assert!(reasons("Citra").contains(&InviteReason::Penimbangan));
    assert_eq!(reasons("Ibu Sari"), vec![InviteReason::IbuHamil]);
    let dewi_due: Vec<String> = reasons("Dewi")
        .into_iter()
        .find_map(|r| match r {
            InviteReason::Imunisasi(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default();
    assert!(!dewi_due.is_empty(), "Dewi has no immunisation recorded: {:?}", reasons("Dewi"));
    let round = posyandu_core::rules::vitamin_a::current_round(s_day).is_some();
    assert_eq!(
        reasons("Dewi").contains(&InviteReason::VitaminA),
        posyandu_core::rules::vitamin_a::is_round_month(s_day)
    );
    // Phone B's list is the same (same documents).
    assert_eq!(b.undangan(Some(s_day)).unwrap(), inv);

    // 4. The service day, recorded on both phones.
    set_day(&mut a, s_day);
    set_day(&mut b, s_day);
    let session_a = a
        .record_visit(
            ha,
            NewVisit {
                date: s_day,
                kind: VisitKind::HariBuka,
                entries: vec![
                    weigh(budi, 9.1),
                    VisitEntry {
                        member_id: mother,
                        measurements: Measurements { muac_cm: Some(25.0), ..Default::default() },
                        ..Default::default()
                    },
                ],
            },
        )
        .unwrap();
    let mut dewi_entry = weigh(dewi, 9.4);
    dewi_entry.services.immunisations = dewi_due.clone();
    dewi_entry.services.vitamin_a = round;
    b.record_visit(hb, NewVisit { date: s_day, kind: VisitKind::HariBuka, entries: vec![dewi_entry] }).unwrap();
    sync(&a);
    sync(&b);
    sync(&a);
    let reg = a.register(s_day).unwrap();
    assert_eq!((reg.expected, reg.came), (4, 3), "{reg:?}");
    let line = |name: &str| reg.entries.iter().find(|e| e.name == name).unwrap().clone();
    assert!(!line("Citra").came);
    assert_eq!(line("Budi").facts.as_ref().and_then(|f| f.trend.clone()).as_deref(), Some("T"));
    assert!(line("Budi").risks.contains(&DueReason::TwoT), "{:?}", line("Budi").risks);
    assert_eq!(line("Dewi").facts.as_ref().and_then(|f| f.weight_kg), Some(9.4));
    assert_eq!(line("Dewi").facts.as_ref().map(|f| f.immunisations.clone()), Some(dewi_due.clone()));
    assert!(line("Dewi").risks.is_empty(), "{:?}", line("Dewi").risks);
    assert_eq!(b.register(s_day).unwrap(), reg);

    // 5. After the session: the home-visit list on both phones.
    let after = s_day + Duration::days(1);
    set_day(&mut a, after);
    set_day(&mut b, after);
    for phone in [&a, &b] {
        let list = phone.home_visit_list(None).unwrap();
        assert_eq!(list.service_day, format_date(s_day));
        let got: Vec<(&str, HomeVisitSection)> = list.items.iter().map(|i| (i.name.as_str(), i.section)).collect();
        assert_eq!(got, vec![("Citra", HomeVisitSection::TidakHadir), ("Budi", HomeVisitSection::Berisiko)]);
        assert!(list.items[0].expected.contains(&InviteReason::Penimbangan));
        assert!(list.items[1].risks.contains(&DueReason::TwoT));
    }

    // 6. The referral: raised on the 2T child, received and closed by the bidan.
    let proposed = a.proposed_referral(ha, budi).unwrap();
    assert!(proposed.iter().any(|p| p.code == "2T"), "{proposed:?}");
    let rid = a
        .raise_referral(
            ha,
            NewReferral {
                member_id: budi,
                reasons: vec!["2T".into()],
                note: Some("BB tidak naik dua bulan".into()),
                visit_id: Some(session_a),
            },
        )
        .unwrap();
    sync(&a);
    let (s, list) = call(&relay, "GET", &bidan, "/v1/bidan/referrals", None);
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["referrals"][0]["referral_id"], json!(rid.to_string()), "{list}");
    let steps = format!("/v1/bidan/referrals/{ha}/{rid}/steps");
    let (s, v) = call(&relay, "POST", &bidan, &steps, Some(json!({"status": "diterima"})));
    assert_eq!((s, v["status"].as_str()), (200, Some("diterima")), "{v}");
    let (s, v) = call(
        &relay,
        "POST",
        &bidan,
        &steps,
        Some(json!({"status": "selesai", "note": "konseling gizi", "follow_up_within_days": 7})),
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("selesai")), "{v}");
    let by = v["follow_up"]["by"].as_str().unwrap().to_string();
    sync(&a);
    assert_eq!(a.referrals(false).unwrap()[0].status, ReferralStatus::Selesai);
    let due = a.due_visits().unwrap();
    let item = due.iter().find(|d| d.member_id == budi).expect("Budi on the due list");
    assert!(item.reasons.contains(&DueReason::FollowUpVisit(by.clone())), "{:?}", item.reasons);
    let list = a.home_visit_list(Some(s_day)).unwrap();
    assert!(list.items.iter().any(|i| i.member_id == budi && i.risks.contains(&DueReason::FollowUpVisit(by.clone()))));

    // 7. A birth on phone A; the newborn's KN1 due on phone B.
    let ids = a
        .record_birth(
            ha,
            BirthRecord {
                pregnancy_id: preg,
                date: after,
                outcome: PregnancyOutcome {
                    kind: OutcomeKind::LahirHidup,
                    place: Some(BirthPlace::FasilitasKesehatan),
                    attendant: Some(BirthAttendant::Bidan),
                },
                newborns: vec![NewBorn {
                    name: "Bayi Sari".into(),
                    sex: Sex::Female,
                    weight_kg: Some(3.0),
                    length_cm: Some(49.0),
                    kia_book: Some(true),
                }],
            },
        )
        .unwrap();
    sync(&a);
    sync(&b);
    let due = b.due_visits().unwrap();
    let of = |m: Uuid| due.iter().find(|d| d.member_id == m).map(|d| d.reasons.clone()).unwrap_or_default();
    assert!(of(ids[0]).contains(&DueReason::KunjunganNeonatal("KN1".into())), "{:?}", of(ids[0]));
    assert!(of(mother).contains(&DueReason::KunjunganNifas("KF1".into())), "{:?}", of(mother));

    // The Puskesmas side reads households only: two in the export, and the Posyandu
    // document through its own endpoint.
    let (ndjson, _) = posyandu_tests::hostile::export(&relay.url(), &pkm).unwrap();
    assert!(!ndjson.contains(&posyandu_core::doc::posyandu_doc_id(P).to_string()), "{ndjson}");
    assert!(ndjson.contains(&budi.to_string()) && ndjson.contains(&dewi.to_string()));
    // The monthly report of the session's month: coverage against the year's sasaran.
    let month = format!("{:04}-{:02}", s_day.year(), u8::from(s_day.month()));
    let (s, report) = call(&relay, "GET", &pkm, &format!("/v1/report/{P}/{month}"), None);
    assert_eq!(s, 200, "{report}");
    if s_day.year() == year {
        assert_eq!(report["sasaran"]["balita"], json!(48), "{}", report["sasaran"]);
        assert_eq!(report["sasaran"]["source"], json!("puskesmas"));
        assert_eq!(report["sasaran"]["d"], report["skdn"]["d"]);
        assert_eq!(report["skdn"]["d"], json!(2), "Budi and Dewi weighed at the session");
        let pct = report["sasaran"]["d_sasaran_pct"].as_f64().unwrap();
        assert!((pct - 200.0 / 48.0).abs() < 0.06, "{pct} (one decimal)");
        // The same in the CSV and on the page.
        let (s, csv) = call_text(&relay, "GET", &pkm, &format!("/v1/report/{P}/{month}?format=csv"), None);
        assert_eq!(s, 200);
        let sasaran: Vec<&str> = csv.lines().filter(|l| l.starts_with("sasaran,")).collect();
        assert!(sasaran.iter().any(|l| *l == format!("sasaran,balita,{year},48")), "{sasaran:?}");
        assert!(sasaran.iter().any(|l| *l == format!("sasaran,sumber,{year},puskesmas")), "{sasaran:?}");
        let (s, html) = call_text(&relay, "GET", &pkm, &format!("/v1/report/{P}/{month}?format=html"), None);
        assert_eq!(s, 200);
        assert!(html.contains(&format!("Cakupan terhadap sasaran {year} (sumber: puskesmas)")), "no sasaran table");
    } else {
        assert!(report.get("sasaran").is_none(), "no sasaran for the session's year");
    }
    let (s, p) = call(&relay, "GET", &pkm, &format!("/v1/posyandu/{P}"), None);
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["area"][0]["rt"], json!("001"));
    // Everything sent.
    sync(&a);
    sync(&b);
    assert_eq!((a.pending_changes().unwrap(), b.pending_changes().unwrap()), (0, 0));
}

#[test]
fn one_month_of_a_posyandu_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::new(dir.path());
    month(relay, dir.path());
}

#[test]
fn one_month_of_a_posyandu_postgres() {
    let schema = PgSchema::new();
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::new_pg(dir.path(), &schema.url);
    month(relay, dir.path());
}
