//! Issue 13, SPM needs handed to the desa, end to end through a real relay process on
//! SQLite and on PostgreSQL (`POSYANDU_TEST_PG`, default the local test database): two
//! kader raise the same need of the same person offline on two phones (and one more
//! need), sync — ONE request with both notes —, the kader koordinator verifies and
//! hands them to the desa, the desa forwards one to an office and closes it and
//! forwards the other, and both phones see the statuses after their next sync. Scope:
//! another village's desa sees nothing; device and Puskesmas tokens cannot write a
//! desa step; a kader's push of a desa step, or of a verification by a kader who is
//! not the koordinator, is refused.
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

fn scenario(mut relay: RelayProcess, dir: &std::path::Path) {
    let token_1 = relay.register("P-A", "K-1", "D-1").unwrap();
    let token_2 = relay.register("P-A", "K-2", "D-2").unwrap();
    relay.admin(&["add-puskesmas", "--id", "PKM-1", "--name", "Puskesmas Satu"]).unwrap();
    relay.admin(&["add-posyandu", "--id", "P-A", "--name", "Posyandu P-A", "--puskesmas", "PKM-1"]).unwrap();
    let puskesmas = last_line(relay.admin(&["puskesmas-token", "--puskesmas", "PKM-1"]).unwrap());
    relay.admin(&["koordinator", "--posyandu", "P-A", "--kader", "K-1"]).unwrap();
    // The fixture's households are in village 3275011001.
    relay
        .admin(&["add-desa", "--id", "DS-1", "--name", "Kelurahan Satu", "--kode", "3275011001", "--posyandu", "P-A"])
        .unwrap();
    relay
        .admin(&["add-desa", "--id", "DS-2", "--name", "Kelurahan Dua", "--kode", "3275011002", "--posyandu", "P-A"])
        .unwrap();
    assert!(relay.admin(&["add-desa", "--id", "DS-X", "--name", "X", "--kode", "32750", "--posyandu", "P-A"]).is_err());
    let desa_1 = last_line(relay.admin(&["desa-token", "--desa", "DS-1"]).unwrap());
    let desa_2 = last_line(relay.admin(&["desa-token", "--desa", "DS-2"]).unwrap());
    relay.start().unwrap();

    // Two phones of P-A; the household is registered on the first and synced to both.
    let koord = device(dir, "P-A", "K-1", "D-1", &relay.url(), &token_1);
    let kader = device(dir, "P-A", "K-2", "D-2", &relay.url(), &token_2);
    let h = koord.create_household(household("004")).unwrap();
    let darto = koord.add_member(h, member(&koord, "Darto", 70 * 366, Sex::Male, Relation::KepalaKeluarga)).unwrap();
    koord.sync_now(&mut |_| {}).unwrap();
    kader.sync_now(&mut |_| {}).unwrap();
    assert!(kader.household(h).is_ok());

    // Offline, both report that Pak Darto needs a hearing aid; the second kader also
    // reports the house unfit to live in.
    let key = koord.raise_spm_need(h, Some(darto), "alat_bantu_disabilitas", "Butuh alat bantu dengar").unwrap();
    let key2 = kader.raise_spm_need(h, Some(darto), "alat_bantu_disabilitas", "Pendengaran sangat berkurang").unwrap();
    assert_eq!(key, key2, "one request per subject and need");
    let rutilahu = kader.raise_spm_need(h, None, "rutilahu", "Atap bocor, dinding bambu lapuk").unwrap();
    assert!(kader.raise_spm_need(h, Some(darto), "rutilahu", "x").is_err(), "a household need");
    assert!(kader.raise_spm_need(h, None, "tidak_ada", "x").is_err(), "an unknown need");
    koord.sync_now(&mut |_| {}).unwrap();
    kader.sync_now(&mut |_| {}).unwrap();
    koord.sync_now(&mut |_| {}).unwrap();
    for phone in [&koord, &kader] {
        let r = phone.spm_request(h, &key).unwrap();
        let notes: Vec<&str> = r.notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(notes.len(), 2, "both notes: {notes:?}");
        assert!(notes.contains(&"Butuh alat bantu dengar") && notes.contains(&"Pendengaran sangat berkurang"));
        assert_eq!(r.status(), SpmStatus::Dicatat);
        let list = phone.spm_requests(true).unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        assert!(phone.conflicts(h).unwrap().is_empty());
    }

    // A kader who is not the koordinator cannot verify: the phone says so ...
    assert!(kader.verify_spm_request(h, &key).is_err());
    // ... and the relay refuses a forged verification.
    let actor = store_actor(&kader);
    let mut am = store_doc(&kader, h, &actor);
    let mut forged = HouseholdDoc::load(&am.save(), &actor).unwrap();
    let now = kader.now().unix_timestamp();
    let forged_step = |status: SpmStatus| SpmStep {
        id: Uuid::new_v4(),
        status,
        role: status.role(),
        by: "K-2".into(),
        at: now,
        area: None,
        office: None,
        reason: None,
    };
    forged.add_spm_step(&key, &forged_step(SpmStatus::Diverifikasi)).unwrap();
    let change = forged.commit("K-2", now).unwrap();
    let out = push_changes(&relay.url(), &token_2, &actor, h, vec![change.raw_bytes().to_vec()]).unwrap();
    assert_eq!((out.status, out.code()), (400, Some("bad_change")), "{}", out.describe());
    assert!(out.field("message").unwrap().contains("koordinator"), "{}", out.describe());
    // ... nor may a phone write a desa step (here: closing the request).
    let mut forged = HouseholdDoc::load(&am.save(), &actor).unwrap();
    forged.add_spm_step(&key, &forged_step(SpmStatus::Selesai)).unwrap();
    let change = forged.commit("K-2", now).unwrap();
    let out = push_changes(&relay.url(), &token_2, &actor, h, vec![change.raw_bytes().to_vec()]).unwrap();
    assert_eq!((out.status, out.code()), (400, Some("bad_change")), "{}", out.describe());
    assert!(out.field("message").unwrap().contains("desa/kelurahan"), "{}", out.describe());

    // The koordinator verifies both and hands them to the desa.
    koord.set_koordinator(true).unwrap();
    for k in [&key, &rutilahu] {
        koord.verify_spm_request(h, k).unwrap();
        koord.forward_spm_request(h, k).unwrap();
    }
    assert!(koord.forward_spm_request(h, &key).is_err(), "already handed over");
    koord.sync_now(&mut |_| {}).unwrap();

    // The desa lists them, with the least data.
    let (s, text) = get_text(&relay, &desa_1, "/v1/desa/requests");
    assert_eq!(s, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let reqs = list["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "{list}");
    let hearing = reqs.iter().find(|r| r["key"] == json!(key)).unwrap();
    assert_eq!(hearing["status"], json!("diteruskan_ke_desa"));
    assert_eq!(hearing["name"], json!("Darto"));
    assert_eq!(hearing["rt"], json!("004"));
    assert_eq!(hearing["notes"].as_array().unwrap().len(), 2);
    assert_eq!(hearing["steps"].as_array().unwrap().len(), 4, "two dicatat, diverifikasi, diteruskan_ke_desa");
    for banned in ["nik", "birth", "lahir", "weight", "z_score", "zscore", "pregnan", "hamil", "bpjs", "gps"] {
        assert!(!text.to_lowercase().contains(banned), "{banned} in {text}");
    }
    // Another village's desa sees nothing and cannot act.
    let (s, other) = get(&relay, &desa_2, "/v1/desa/requests");
    assert_eq!((s, other["requests"].as_array().unwrap().len()), (200, 0), "{other}");
    let steps = format!("/v1/desa/requests/{h}/{key}/steps");
    let (s, _) = post(&relay, &desa_2, &steps, json!({"status": "selesai"}));
    assert_eq!(s, 404);
    // Device and Puskesmas tokens cannot change the desa-side status.
    for t in [&token_1, &token_2, &puskesmas] {
        let (s, body) = post(&relay, t, &steps, json!({"status": "diteruskan_ke_opd", "office": "dinsos"}));
        assert_eq!((s, body["code"].as_str()), (403, Some("wrong_token_kind")), "{body}");
        let (s, _) = get(&relay, t, "/v1/desa/requests");
        assert_eq!(s, 403);
    }

    // The desa forwards the hearing aid to Dinas Sosial and closes it; the house goes
    // to Disperkim and stays open.
    let (s, v) = post(&relay, &desa_1, &steps, json!({"status": "diteruskan_ke_opd", "office": "dinsos"}));
    assert_eq!((s, v["status"].as_str()), (200, Some("diteruskan_ke_opd")), "{v}");
    let (s, v) = post(&relay, &desa_1, &steps, json!({"status": "selesai"}));
    assert_eq!((s, v["status"].as_str()), (200, Some("selesai")), "{v}");
    let house = format!("/v1/desa/requests/{h}/{rutilahu}/steps");
    let (s, v) = post(&relay, &desa_1, &house, json!({"status": "diteruskan_ke_opd", "office": "disperkim"}));
    assert_eq!((s, v["office_label"].as_str()), (200, Some("Dinas Perumahan dan Kawasan Permukiman")), "{v}");
    let (_, open) = get(&relay, &desa_1, "/v1/desa/requests");
    assert_eq!(open["requests"].as_array().unwrap().len(), 1, "{open}");
    let (s, csv) = get_text(&relay, &desa_1, "/v1/desa/requests.csv?area=perumahan");
    assert_eq!(s, 200);
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().contains(",rutilahu,diteruskan_ke_opd,disperkim,"), "{csv}");
    let (s, cov) = get(&relay, &desa_1, "/v1/desa/coverage");
    assert_eq!((s, cov["rts"][0]["rt"].as_str(), cov["rts"][0]["households"].as_u64()), (200, Some("004"), Some(1)));

    // Both phones see the statuses after their next sync.
    for phone in [&koord, &kader] {
        phone.sync_now(&mut |_| {}).unwrap();
        let r = phone.spm_request(h, &key).unwrap();
        assert_eq!(r.status(), SpmStatus::Selesai);
        assert_eq!(r.office(), Some("dinsos"));
        assert_eq!(phone.spm_request(h, &rutilahu).unwrap().status(), SpmStatus::DiteruskanKeOpd);
        let open = phone.spm_requests(true).unwrap();
        assert_eq!(open.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), [rutilahu.as_str()]);
        assert_eq!(open[0].status, SpmStatus::DiteruskanKeOpd);
        phone.sync_now(&mut |_| {}).unwrap();
        assert_eq!(phone.pending_changes().unwrap(), 0);
    }
}

#[test]
fn spm_requests_to_the_desa_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::new(dir.path());
    scenario(relay, dir.path());
}

#[test]
fn spm_requests_to_the_desa_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = PgSchema::new();
    let relay = RelayProcess::new_pg(dir.path(), &schema.url);
    scenario(relay, dir.path());
}
