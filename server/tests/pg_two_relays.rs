//! Two real `posyandu-relay serve --database-url ...` processes on ONE PostgreSQL
//! schema; real kader clients (`posyandu_core::Store`, blocking, one std thread each)
//! record visits and sync through either relay at random. All devices converge, no
//! change is lost and the scope's log is exactly `1..=N`.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use posyandu_core::model::{
    Address, Measurements, NewHousehold, NewMember, NewVisit, Relation, Services, VisitEntry, VisitKind,
};
use posyandu_core::sync::RelayConfig;
use posyandu_core::{DeviceIdentity, Store};
use posyandu_server::admin;
use posyandu_server::storage::postgres::PgRegistry;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_posyandu-relay");

fn base_url() -> String {
    std::env::var("POSYANDU_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

fn sql(stmt: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls).await.expect("PostgreSQL");
        tokio::spawn(conn);
        client.batch_execute(stmt).await.unwrap();
    })
}

fn query_seqs(url: &str) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let rows = client.query("SELECT seq FROM change_log WHERE scope = 'P-001' ORDER BY seq", &[]).await.unwrap();
        let last: i64 =
            client.query_one("SELECT last_seq FROM scope_counter WHERE scope = 'P-001'", &[]).await.unwrap().get(0);
        let mut v: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        v.push(last);
        v
    })
}

struct Schema(String);
impl Drop for Schema {
    fn drop(&mut self) {
        sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

struct Relay(Child);
impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn data_key(dir: &std::path::Path) -> std::path::PathBuf {
    let key = dir.join("relay-data.key");
    posyandu_server::at_rest::AtRest::load_or_create(&key).unwrap();
    key
}

fn start_relay(url: &str, dir: &std::path::Path, i: usize) -> (Relay, String) {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--pg-pool-size", "4"])
            .arg("--db")
            .arg(dir.join(format!("unused-{i}.sqlite3")))
            .env("POSYANDU_RELAY_DATABASE_URL", url)
            // PostgreSQL needs an explicit data key; both relays share it.
            .env("POSYANDU_RELAY_DATA_KEY_FILE", data_key(dir))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut relay = Relay(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (relay, format!("http://127.0.0.1:{port}"));
            }
            if relay.0.try_wait().unwrap().is_some() {
                break; // port taken meanwhile: try another
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = relay.0.kill();
    }
    panic!("relay did not start");
}

#[test]
fn two_relay_processes_one_database_converge_without_gaps() {
    let schema = Schema(format!("t_{}", Uuid::new_v4().simple()));
    sql(&format!("CREATE SCHEMA {}", schema.0));
    let url = format!("{} options='-csearch_path={}'", base_url(), schema.0);
    let dir = tempfile::tempdir().unwrap();

    // The operator CLI works on PostgreSQL too.
    let out = Command::new(BIN)
        .args(["--database-url", &url, "admin", "add-puskesmas", "--id", "PKM-01", "--name", "Puskesmas Satu"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    const DEVICES: usize = 4;
    let tokens: Vec<String> = {
        let reg = PgRegistry::connect(&url).unwrap();
        admin::add_posyandu(&reg, "P-001", "Posyandu Melati", Some("PKM-01")).unwrap();
        (0..DEVICES)
            .map(|i| {
                admin::add_kader(&reg, &format!("K-{i}"), "Kader", "P-001").unwrap();
                admin::add_device(&reg, &format!("K-{i}"), &format!("D-{i}")).unwrap().token
            })
            .collect()
    };

    // Two relays started at once (both run the migrations: advisory lock).
    let (ra, url_a) = start_relay(&url, dir.path(), 0);
    let (rb, url_b) = start_relay(&url, dir.path(), 1);
    let relays = [url_a, url_b];

    let address =
        Address { rt: "001".into(), rw: "002".into(), dusun: None, kode_wilayah: "3201010001".into(), street: None };
    const ROUNDS: usize = 6;
    let stores: Vec<Store> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..DEVICES)
            .map(|i| {
                let (dir, relays, token, address) = (dir.path(), &relays, &tokens[i], address.clone());
                s.spawn(move || {
                    let store = Store::open(
                        dir.join(format!("d{i}.sqlite3")),
                        DeviceIdentity {
                            device_id: format!("D-{i}"),
                            kader_id: format!("K-{i}"),
                            posyandu_id: "P-001".into(),
                        },
                        std::sync::Arc::new(posyandu_core::MemoryKeyring::random()),
                    )
                    .unwrap();
                    let sync_via = |store: &Store| {
                        let relay = &relays[rand::random::<u32>() as usize % 2];
                        store.set_relay(&RelayConfig { url: relay.clone(), token: token.clone() }).unwrap();
                        store.sync_now(&mut |_| {}).unwrap();
                    };
                    for round in 0..ROUNDS {
                        // Each device adds a household with a child, then visits a random
                        // household it knows (its own or one pulled from another kader).
                        let h = store
                            .create_household(NewHousehold {
                                kk_number: None,
                                address: address.clone(),
                                gps: None,
                                spm: Default::default(),
                            })
                            .unwrap();
                        store
                            .add_member(
                                h,
                                NewMember {
                                    nik: None,
                                    mother_nik: None,
                                    name: format!("Anak {i}-{round}"),
                                    birth_date: time::macros::date!(2024 - 01 - 15),
                                    sex: posyandu_core::growth::Sex::Female,
                                    relation: Relation::Anak,
                                    bpjs_number: None,
                                    kia_book: None,
                                },
                            )
                            .unwrap();
                        sync_via(&store);
                        let known = store.list_households(None).unwrap();
                        let target = known[rand::random::<u32>() as usize % known.len()].id;
                        let member = store.household(target).unwrap().members[0].id;
                        let entry = VisitEntry {
                            member_id: member,
                            measurements: Measurements {
                                weight_kg: Some(9.0 + round as f64 / 10.0),
                                ..Default::default()
                            },
                            services: Services { vitamin_a: true, ..Default::default() },
                            ..Default::default()
                        };
                        store
                            .record_visit(
                                target,
                                NewVisit {
                                    date: time::macros::date!(2025 - 02 - 10),
                                    kind: VisitKind::HariBuka,
                                    entries: vec![entry],
                                },
                            )
                            .unwrap();
                        sync_via(&store);
                    }
                    store
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Final round: everyone pulls everything (through either relay).
    for round in 0..2 {
        for (i, store) in stores.iter().enumerate() {
            let relay = &relays[(i + round) % 2];
            store.set_relay(&RelayConfig { url: relay.clone(), token: tokens[i].clone() }).unwrap();
            store.sync_now(&mut |_| {}).unwrap();
            assert_eq!(store.pending_changes().unwrap(), 0);
        }
    }
    let view = |store: &Store| {
        let mut hs: Vec<(Uuid, Vec<Uuid>)> = store
            .list_households(None)
            .unwrap()
            .into_iter()
            .map(|h| {
                let mut visits: Vec<Uuid> = store.household(h.id).unwrap().visits.iter().map(|v| v.id).collect();
                visits.sort();
                (h.id, visits)
            })
            .collect();
        hs.sort();
        hs
    };
    let first = view(&stores[0]);
    assert_eq!(first.len(), DEVICES * ROUNDS, "every household everywhere");
    assert_eq!(first.iter().map(|(_, v)| v.len()).sum::<usize>(), DEVICES * ROUNDS, "every visit everywhere");
    for s in &stores[1..] {
        assert_eq!(view(s), first, "devices converge");
    }
    // The log: exactly 1..=N, no gap, no duplicate, counter at N.
    let mut seqs = query_seqs(&url);
    let last = seqs.pop().unwrap();
    let n = seqs.len() as i64;
    assert!(n >= (DEVICES * ROUNDS * 2) as i64, "{n} changes");
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
    assert_eq!(last, n);
    drop((ra, rb));
}
