//! Issue 12, referrals with a lifecycle and the bidan role, end to end through a real
//! relay process on SQLite and on PostgreSQL (`POSYANDU_TEST_PG`, default the local
//! test database): a 2T child weighed on a kader phone, the rulebook's proposal, the
//! kader's referral, the bidan's steps through her API (diterima, ditangani with a
//! follow-up visit, selesai), and the kader's phone after its next sync showing the
//! status and the follow-up visit on its due list. Scope: a bidan of Posyandu A
//! neither sees nor acts on Posyandu B; a kader's push writing a bidan-side status is
//! refused; device and Puskesmas tokens cannot use the bidan endpoints.
//!
//! Needs `target/release/posyandu-relay` (`cargo build --release -p posyandu-server`).

use posyandu_core::doc::HouseholdDoc;
use posyandu_core::*;
use posyandu_tests::fixtures::{household, member};
use posyandu_tests::hostile::{push_changes, store_actor, store_doc, PgSchema};
use posyandu_tests::relay::http::{get, get_text, last_line, post};
use posyandu_tests::relay::{device, RelayProcess};
use serde_json::{json, Value};
use uuid::Uuid;

/// First day of the month `back` months before `d`'s month.
fn month_start(d: time::Date, back: i32) -> time::Date {
    let m = d.year() * 12 + (u8::from(d.month()) as i32 - 1) - back;
    time::Date::from_calendar_date(m.div_euclid(12), time::Month::try_from((m.rem_euclid(12) + 1) as u8).unwrap(), 1)
        .unwrap()
}

fn scenario(mut relay: RelayProcess, dir: &std::path::Path) {
    let token_a = relay.register("P-A", "K-A", "D-A").unwrap();
    let token_b = relay.register("P-B", "K-B", "D-B").unwrap();
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    relay.admin(&["add-posyandu", "--id", "P-A", "--name", "Posyandu P-A", "--puskesmas", "PKM-1"]).unwrap();
    let puskesmas = last_line(relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap());
    relay.admin(&["add-bidan", "--id", "B-A", "--name", "Bidan Ana", "--posyandu", "P-A"]).unwrap();
    relay.admin(&["add-bidan", "--id", "B-B", "--name", "Bidan Bela", "--posyandu", "P-B"]).unwrap();
    let bidan_a = last_line(relay.admin(&["bidan-token", "--bidan", "B-A"]).unwrap());
    let bidan_b = last_line(relay.admin(&["bidan-token", "--bidan", "B-B"]).unwrap());
    assert!(relay.admin(&["add-bidan", "--id", "B-X", "--name", "X", "--posyandu", "P-NONE"]).is_err());
    relay.start().unwrap();

    // A 2T child: three monthly weighings, +50 g each (T, T).
    let kader = device(dir, "P-A", "K-A", "D-A", &relay.url(), &token_a);
    let other = device(dir, "P-B", "K-B", "D-B", &relay.url(), &token_b);
    let today = kader.today();
    let h = kader.create_household(household("003")).unwrap();
    let child = kader.add_member(h, member(&kader, "Budi Santoso", 400, Sex::Male, Relation::Anak)).unwrap();
    let mut last_visit = Uuid::nil();
    for (i, d) in [month_start(today, 2), month_start(today, 1), today].into_iter().enumerate() {
        last_visit = kader
            .record_visit(
                h,
                NewVisit {
                    date: d,
                    kind: VisitKind::HariBuka,
                    entries: vec![VisitEntry {
                        member_id: child,
                        measurements: Measurements { weight_kg: Some(9.0 + 0.05 * i as f64), ..Default::default() },
                        ..Default::default()
                    }],
                },
            )
            .unwrap();
    }
    let proposed = kader.proposed_referral(h, child).unwrap();
    assert_eq!(proposed.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), vec!["2T"], "{proposed:?}");
    let rid = kader
        .raise_referral(
            h,
            NewReferral {
                member_id: child,
                reasons: proposed.iter().map(|p| p.code.clone()).collect(),
                note: Some("BB tidak naik dua bulan".into()),
                visit_id: Some(last_visit),
            },
        )
        .unwrap();
    // Raised once: the proposal no longer lists it.
    assert!(kader.proposed_referral(h, child).unwrap().is_empty());
    kader.sync_now(&mut |_| {}).unwrap();
    other.sync_now(&mut |_| {}).unwrap();

    // The bidan of P-A lists it, with the minimum she needs.
    let (s, list) = get(&relay, &bidan_a, "/v1/bidan/referrals");
    assert_eq!(s, 200, "{list}");
    let refs = list["referrals"].as_array().unwrap();
    assert_eq!(refs.len(), 1, "{list}");
    let r = &refs[0];
    assert_eq!(r["referral_id"], json!(rid.to_string()));
    assert_eq!(r["status"], json!("dirujuk"));
    assert_eq!(r["person"]["name"], json!("Budi Santoso"));
    assert_eq!(r["reasons"][0]["code"], json!("2T"));
    assert_eq!(r["reasons"][0]["source"], json!("rule"));
    assert_eq!(r["steps"].as_array().unwrap().len(), 1);
    assert_eq!(r["steps"][0]["by"], json!("K-A"));
    assert_eq!(r["measurements"].as_array().unwrap().len(), 3);
    assert_eq!(r["measurements"][0]["weight_kg"], json!(9.1));
    assert!(r["person"].get("nik").is_none() && r.get("address").is_none());
    let steps = format!("/v1/bidan/referrals/{h}/{rid}/steps");

    // Scope: the bidan of P-B sees nothing of P-A and cannot act on it.
    let (s, list_b) = get(&relay, &bidan_b, "/v1/bidan/referrals");
    assert_eq!((s, list_b["referrals"].as_array().unwrap().len()), (200, 0), "{list_b}");
    let (s, body) = get(&relay, &bidan_b, "/v1/bidan/referrals?posyandu=P-A");
    assert_eq!((s, body["code"].as_str()), (403, Some("forbidden_scope")), "{body}");
    let (s, body) = post(&relay, &bidan_b, &steps, json!({"status": "diterima"}));
    assert_eq!(s, 404, "{body}");
    // Device and Puskesmas tokens cannot use the bidan endpoints.
    for t in [&token_a, &puskesmas] {
        let (s, body) = get(&relay, t, "/v1/bidan/referrals");
        assert_eq!((s, body["code"].as_str()), (403, Some("wrong_token_kind")), "{body}");
        let (s, body) = post(&relay, t, &steps, json!({"status": "selesai"}));
        assert_eq!((s, body["code"].as_str()), (403, Some("wrong_token_kind")), "{body}");
    }
    // ... nor the bidan token the device or Puskesmas ones.
    let (s, _) = get(&relay, &bidan_a, "/v1/export");
    assert_eq!(s, 403);

    // A kader's push that closes the referral on the bidan's behalf is refused.
    let actor = store_actor(&kader);
    let mut am = store_doc(&kader, h, &actor);
    let mut forged = HouseholdDoc::load(&am.save(), &actor).unwrap();
    let fake = ReferralStep {
        id: Uuid::new_v4(),
        status: ReferralStatus::Selesai,
        role: StepRole::Bidan,
        by: "K-A".into(),
        at: kader.now().unix_timestamp(),
        action: None,
        note: None,
        follow_up_by: None,
    };
    forged.add_referral_step(rid, &fake).unwrap();
    let change = forged.commit("K-A", kader.now().unix_timestamp()).unwrap();
    let out = push_changes(&relay.url(), &token_a, &actor, h, vec![change.raw_bytes().to_vec()]).unwrap();
    assert_eq!(out.status, 400, "{}", out.describe());
    assert_eq!(out.code(), Some("bad_change"), "{}", out.describe());
    assert!(out.field("message").unwrap().contains("hanya dapat dicatat oleh bidan"), "{}", out.describe());
    assert!(out.field("path").unwrap().ends_with("/status"), "{}", out.describe());
    let (_, list) = get(&relay, &bidan_a, "/v1/bidan/referrals");
    assert_eq!(list["referrals"][0]["status"], json!("dirujuk"), "the forged step was not stored");

    // The bidan records what she did.
    let (s, v) = post(&relay, &bidan_a, &steps, json!({"status": "diterima"}));
    assert_eq!((s, v["status"].as_str()), (200, Some("diterima")), "{v}");
    let (s, v) = post(&relay, &bidan_a, &steps, json!({"status": "ditangani", "action": "pemeriksaan"}));
    assert_eq!((s, v["status"].as_str()), (200, Some("ditangani")), "{v}");
    let (s, v) = post(&relay, &bidan_a, &steps, json!({"status": "ditangani", "action": "tidak-ada"}));
    assert_eq!((s, v["code"].as_str()), (400, Some("bad_body")), "{v}");
    let (s, v) = post(
        &relay,
        &bidan_a,
        &steps,
        json!({"status": "selesai", "note": "konseling gizi, kunjungi lagi", "follow_up_within_days": 7}),
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("selesai")), "{v}");
    let by = format_date(posyandu_core::rules::referral_lifecycle::within_days(
        v["follow_up"]["asked_on"].as_str().and_then(parse_date).unwrap(),
        7,
    ));
    assert_eq!(v["follow_up"]["by"], json!(by));
    assert_eq!(v["follow_up"]["pending"], json!(true));
    assert_eq!(v["steps"].as_array().unwrap().len(), 4, "{v}");
    // Closed: no more steps, and off her open list.
    let (s, _) = post(&relay, &bidan_a, &steps, json!({"status": "diterima"}));
    assert_eq!(s, 400);
    let (_, open) = get(&relay, &bidan_a, "/v1/bidan/referrals");
    assert_eq!(open["referrals"].as_array().unwrap().len(), 0, "{open}");
    let (_, all) = get(&relay, &bidan_a, "/v1/bidan/referrals?status=all");
    assert_eq!(all["referrals"].as_array().unwrap().len(), 1, "{all}");

    // The kader's phone after its next sync: the status and the follow-up visit due.
    assert!(kader
        .due_visits()
        .unwrap()
        .iter()
        .all(|d| !d.reasons.iter().any(|r| matches!(r, DueReason::FollowUpVisit(_)))));
    kader.sync_now(&mut |_| {}).unwrap();
    let list = kader.referrals(false).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].id, list[0].status), (rid, ReferralStatus::Selesai));
    assert_eq!(list[0].follow_up_by.as_deref(), Some(by.as_str()));
    assert!(kader.referrals(true).unwrap().is_empty(), "closed referrals are not open");
    let full = kader.household_referrals(h).unwrap();
    assert_eq!(full[0].steps.iter().map(|s| s.status).collect::<Vec<_>>().len(), 4);
    let due = kader.due_visits().unwrap();
    let item = due.iter().find(|d| d.member_id == child).expect("child on the due list");
    assert!(item.reasons.contains(&DueReason::FollowUpVisit(by.clone())), "{:?}", item.reasons);
    // The home visit done: off the list.
    kader
        .record_visit(
            h,
            NewVisit {
                date: kader.today(),
                kind: VisitKind::KunjunganRumah,
                entries: vec![VisitEntry { member_id: child, ..Default::default() }],
            },
        )
        .unwrap();
    let due = kader.due_visits().unwrap();
    assert!(!due.iter().any(|d| d.reasons.iter().any(|r| matches!(r, DueReason::FollowUpVisit(_)))), "{due:?}");
    // The other Posyandu's phone never received the household.
    assert!(other.household(h).is_err());
    puskesmas_side(&relay, &puskesmas, rid, today);
    // And the kader's phone still syncs cleanly after the relay's changes.
    kader.sync_now(&mut |_| {}).unwrap();
    assert_eq!(kader.pending_changes().unwrap(), 0);
}

/// The Puskesmas reads the referral through the read model: an NDJSON `referral` line,
/// a row of `table=referrals`, the monthly report's counts; never a note; `admin list`
/// shows the bidan tokens.
fn puskesmas_side(relay: &RelayProcess, puskesmas: &str, rid: Uuid, today: time::Date) {
    let (s, body) = get_text(relay, puskesmas, "/v1/export?format=ndjson");
    assert_eq!(s, 200, "{body}");
    assert!(!body.contains("BB tidak naik dua bulan") && !body.contains("kunjungi lagi"), "notes are not exported");
    let line: Value = body
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "referral" && v["referral_id"] == json!(rid.to_string()))
        .expect("referral line");
    assert_eq!((line["status"].as_str(), line["closed"].as_bool()), (Some("selesai"), Some(true)), "{line}");
    let steps: Vec<(&str, &str)> = line["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["status"].as_str().unwrap(), s["by"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("dirujuk", "K-A"), ("diterima", "B-A"), ("ditangani", "B-A"), ("selesai", "B-A")]);
    assert_eq!(line["reasons"][0]["code"], json!("2T"));
    let (s, csv) = get_text(relay, puskesmas, "/v1/export?format=csv&table=referrals");
    assert_eq!(s, 200, "{csv}");
    assert!(csv.starts_with("posyandu_id,household_id,rt,rw,kode_wilayah,referral_id,"), "{csv}");
    let row = csv.lines().find(|l| l.contains(&rid.to_string())).expect("referral row");
    assert!(row.contains(",2T,rule,selesai,true,K-A,") && row.contains(",pemeriksaan,"), "{row}");
    let (s, _) = get_text(relay, puskesmas, "/v1/export?format=ndjson&table=referrals");
    assert_eq!(s, 400, "table is CSV only");
    let month = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
    let (s, report) = get(relay, puskesmas, &format!("/v1/report/P-A/{month}?format=json"));
    assert_eq!(s, 200, "{report}");
    let rl = &report["referral_lifecycle"];
    let counts = [&rl["raised"], &rl["received"], &rl["handled"], &rl["closed"]];
    assert_eq!(counts.map(|c| c.as_u64()), [Some(1); 4], "{rl}");
    assert_eq!(rl["status_at_month_end"]["selesai"], json!(1), "{rl}");
    assert_eq!(rl["by_reason"][0]["code"], json!("2T"), "{rl}");
    let listing = relay.admin(&["list"]).unwrap();
    assert!(
        listing.lines().any(|l| l.starts_with("Token bidan #") && l.contains("bidan B-A  Posyandu P-A")),
        "{listing}"
    );
}

#[test]
fn referral_lifecycle_and_bidan_scope_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::new(dir.path());
    scenario(relay, dir.path());
}

#[test]
fn referral_lifecycle_and_bidan_scope_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = PgSchema::new();
    let relay = RelayProcess::new_pg(dir.path(), &schema.url);
    scenario(relay, dir.path());
}
