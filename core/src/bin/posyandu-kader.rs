//! `posyandu-kader`: the kader's store from the command line — record households and
//! visits offline, see the due list, sync with a relay, and run WHO growth
//! assessments on a CSV file (like WHO Anthro's survey mode).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use posyandu_core::growth;
use posyandu_core::*;
use uuid::Uuid;

const PROGRAM: &str = "posyandu-kader";

use posyandu_core::process::{private_files, tighten_sqlite_files};

fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    posyandu_core::process::write_stdout(PROGRAM, args, newline)
}

// `println!` in this file goes through `write_stdout` (this shadows the std macro).
macro_rules! println {
    () => { write_stdout(format_args!(""), true) };
    ($($t:tt)*) => { write_stdout(format_args!($($t)*), true) };
}

#[derive(Parser)]
#[command(name = "posyandu-kader", version, about = "Posyandu Sync: catatan kader dari baris perintah")]
struct Cli {
    /// The store file (SQLCipher-encrypted SQLite; its key is in `<store>.key`, the
    /// device token in `<store>.secrets.json`, both 0600).
    #[arg(long, env = "POSYANDU_STORE", default_value = "kader.sqlite3", global = true)]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or re-identify) a store for a device, kader and Posyandu.
    Init {
        #[arg(long)]
        device: String,
        #[arg(long)]
        kader: String,
        #[arg(long)]
        posyandu: String,
        /// Relay URL, e.g. http://127.0.0.1:8080
        #[arg(long, requires = "token")]
        relay: Option<String>,
        /// Device token from `posyandu-relay admin add-device`.
        #[arg(long, env = "POSYANDU_TOKEN", requires = "relay")]
        token: Option<String>,
    },
    /// Add a household; prints its id.
    AddHousehold {
        #[arg(long)]
        rt: String,
        #[arg(long)]
        rw: String,
        /// Kemendagri 10-digit code of the kelurahan/desa.
        #[arg(long)]
        kode_wilayah: String,
        #[arg(long)]
        kk: Option<String>,
        #[arg(long)]
        dusun: Option<String>,
    },
    /// Add a member to a household; prints their id.
    AddMember {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        name: String,
        /// YYYY-MM-DD
        #[arg(long)]
        birth_date: String,
        /// L (laki-laki) or P (perempuan)
        #[arg(long)]
        sex: String,
        /// kepala_keluarga, istri, suami, anak, ...
        #[arg(long, default_value = "anak")]
        relation: String,
        #[arg(long)]
        nik: Option<String>,
        /// For a newborn without NIK: mother's NIK (birth order 1 unless --birth-order).
        #[arg(long)]
        mother_nik: Option<String>,
        #[arg(long, default_value_t = 1)]
        birth_order: u8,
    },
    /// Record a visit for one member; prints the visit id and, for a child, the growth result.
    RecordVisit {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Uuid,
        /// YYYY-MM-DD (default: today)
        #[arg(long)]
        date: Option<String>,
        /// hari_buka or kunjungan_rumah
        #[arg(long, default_value = "kunjungan_rumah")]
        kind: String,
        #[arg(long)]
        weight_kg: Option<f64>,
        #[arg(long)]
        height_cm: Option<f64>,
        /// l (lying) or h (standing)
        #[arg(long)]
        measure: Option<String>,
        #[arg(long)]
        muac_cm: Option<f64>,
        #[arg(long)]
        head_cm: Option<f64>,
        #[arg(long)]
        bp: Option<String>,
        #[arg(long)]
        vitamin_a: bool,
        /// Antigen code, repeatable (e.g. BCG, POLIO1, MR1).
        #[arg(long = "immunisation")]
        immunisations: Vec<String>,
        #[arg(long)]
        referral: Option<String>,
        /// ILP checklist answer `code=ya|tidak`, repeatable (codes: `checklist` command).
        #[arg(long = "answer")]
        answers: Vec<String>,
        /// Counselling topic code, repeatable (e.g. mp_asi, gizi_seimbang).
        #[arg(long = "counselling")]
        counselling: Vec<String>,
        /// Exclusive breastfeeding of an infant 0-5 months: true or false.
        #[arg(long)]
        asi_eksklusif: Option<bool>,
    },
    /// The ILP home-visit checklist to ask a member (their life stage and age on the date).
    Checklist {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Uuid,
        /// YYYY-MM-DD (default: today)
        #[arg(long)]
        date: Option<String>,
    },
    /// Record a pregnancy of a member; prints its id.
    AddPregnancy {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Uuid,
        /// HPHT (last menstrual period), YYYY-MM-DD.
        #[arg(long)]
        lmp: String,
        #[arg(long, default_value_t = 1)]
        gravida: u8,
        #[arg(long)]
        muac_cm: Option<f64>,
    },
    /// Record that a member moved away (pindah) or died (meninggal) on a date.
    MemberStatus {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Uuid,
        /// pindah or meninggal
        #[arg(long)]
        status: String,
        /// YYYY-MM-DD (default: today)
        #[arg(long)]
        date: Option<String>,
    },
    /// Record the outcome of a pregnancy and register the newborn(s) in one step;
    /// prints each newborn's id.
    RecordBirth {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        pregnancy: Uuid,
        /// YYYY-MM-DD (default: today)
        #[arg(long)]
        date: Option<String>,
        /// lahir_hidup, lahir_mati or keguguran
        #[arg(long, default_value = "lahir_hidup")]
        outcome: String,
        /// fasilitas_kesehatan, rumah or lainnya
        #[arg(long)]
        place: Option<String>,
        /// bidan, dokter, dukun or lainnya
        #[arg(long)]
        attendant: Option<String>,
        /// A newborn, repeatable in birth order: NAME:SEX[:WEIGHT_KG[:LENGTH_CM]], e.g. "Bayi Sari:P:3.1:49".
        #[arg(long = "baby")]
        babies: Vec<String>,
    },
    /// List households (optionally of one RT).
    List {
        #[arg(long)]
        rt: Option<String>,
    },
    /// Show one household as JSON.
    Show { household: Uuid },
    /// Search members by name or NIK prefix.
    Search { query: String },
    /// Members due for a home visit ("perlu dikunjungi").
    Due,
    /// Reasons the rulebook proposes to refer a member today (2T, T, BGM, above the
    /// orange line, KEK in pregnancy, hypertension).
    ProposeReferral {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Uuid,
    },
    /// Raise a referral (status dirujuk); prints its id. Without --reason, the
    /// rulebook's proposal.
    Refer {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Uuid,
        /// Reason code, repeatable (2T, T, BGM, ATAS_ORANYE, KEK_HAMIL, HIPERTENSI,
        /// TANDA_BAHAYA, LAINNYA).
        #[arg(long = "reason")]
        reasons: Vec<String>,
        #[arg(long)]
        note: Option<String>,
        /// The visit whose measurements triggered it.
        #[arg(long)]
        visit: Option<Uuid>,
    },
    /// Referrals of the Posyandu with their status (open ones unless --all).
    Referrals {
        #[arg(long)]
        all: bool,
    },
    /// SPM needs (issue 13): raise, note, verify/forward (koordinator), list.
    #[command(subcommand)]
    Spm(SpmCommand),
    /// Same-field conflicts of a household.
    Conflicts { household: Uuid },
    /// Resolve a conflict by choosing one of its values (as shown by `conflicts`).
    Resolve { household: Uuid, path: String, value_json: String },
    /// The Posyandu document: schedule of service days, roster, area, sasaran.
    Posyandu {
        #[command(subcommand)]
        action: PosyanduAction,
    },
    /// H-1 undangan list: who is expected at the service day and why (default: the
    /// next service day from today).
    Undangan {
        /// YYYY-MM-DD
        #[arg(long)]
        date: Option<String>,
    },
    /// The register of a service day: who was expected, who came, what was recorded.
    Register {
        /// YYYY-MM-DD
        #[arg(long)]
        date: String,
    },
    /// Home-visit list after a session: who did not come, then who is at risk (default:
    /// the latest service day on or before today).
    HomeVisits {
        /// YYYY-MM-DD
        #[arg(long)]
        date: Option<String>,
    },
    /// Sync with the relay now.
    Sync,
    /// Pending (not yet synced) changes and last sync time.
    Status,
    /// WHO 2006 (0-60 months) and WHO 2007 (61-228 months) z-scores for a CSV of measurements (survey mode).
    Growth {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum PosyanduAction {
    /// The schedule, roster, area and sasaran as JSON, and the next service day.
    Show,
    /// Set the schedule rule (`--nth 2 --weekday selasa`), or an explicit date
    /// (`--date YYYY-MM-DD`, optionally `--place`, `--note`, `--cancel`).
    Schedule {
        /// 1-5 or `last`/`terakhir`.
        #[arg(long, requires = "weekday")]
        nth: Option<String>,
        /// senin, selasa, rabu, kamis, jumat, sabtu, minggu.
        #[arg(long, requires = "nth")]
        weekday: Option<String>,
        /// Remove the rule.
        #[arg(long, conflicts_with_all = ["nth", "weekday"])]
        clear_rule: bool,
        #[arg(long)]
        date: Option<String>,
        #[arg(long, requires = "date")]
        place: Option<String>,
        #[arg(long, requires = "date")]
        note: Option<String>,
        /// No session on --date.
        #[arg(long, requires = "date")]
        cancel: bool,
        /// Remove the explicit --date.
        #[arg(long, requires = "date", conflicts_with_all = ["place", "note", "cancel"])]
        remove: bool,
    },
    /// Set a year's sasaran as the kader's (the Puskesmas sets its own on the relay).
    Sasaran {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        ibu_hamil: Option<u32>,
        #[arg(long)]
        ibu_bersalin: Option<u32>,
        #[arg(long)]
        bayi: Option<u32>,
        #[arg(long)]
        balita: Option<u32>,
        #[arg(long)]
        lansia: Option<u32>,
    },
    /// Add or edit a kader of the roster.
    Roster {
        #[arg(long)]
        kader: String,
        #[arg(long)]
        name: String,
        /// ketua, koordinator, anggota
        #[arg(long, default_value = "anggota")]
        role: String,
        #[arg(long)]
        inactive: bool,
    },
    /// Add (or with --remove, remove) a covered RT.
    Area {
        #[arg(long)]
        kode_wilayah: String,
        #[arg(long)]
        rw: String,
        #[arg(long)]
        rt: String,
        #[arg(long)]
        dusun: Option<String>,
        #[arg(long)]
        remove: bool,
    },
}

fn run_posyandu(store: &Store, action: PosyanduAction) -> Result<()> {
    match action {
        PosyanduAction::Show => {
            let p = store.posyandu()?;
            println!("{}", serde_json::to_string_pretty(&p)?);
            match store.next_service_day(None)? {
                Some(d) => println!("Hari buka berikutnya: {}", format_date(d)),
                None => println!("Jadwal hari buka belum diatur."),
            }
        }
        PosyanduAction::Schedule { nth, weekday, clear_rule, date, place, note, cancel, remove } => {
            if nth.is_none() && !clear_rule && date.is_none() {
                bail!("beri --nth dan --weekday, --clear-rule, atau --date");
            }
            if let (Some(nth), Some(weekday)) = (nth, weekday) {
                let week =
                    Week::parse(&nth).with_context(|| format!("--nth tidak dikenal: {nth} (1-5 atau terakhir)"))?;
                let weekday =
                    DayOfWeek::parse(&weekday).with_context(|| format!("--weekday tidak dikenal: {weekday}"))?;
                store.set_schedule_rule(Some(ScheduleRule { week, weekday }))?;
            } else if clear_rule {
                store.set_schedule_rule(None)?;
            }
            if let Some(d) = date {
                let d = date_arg(&d)?;
                let entry = (!remove).then_some(ServiceDate { place, note, cancelled: cancel });
                store.set_service_date(d, entry)?;
            }
            match store.next_service_day(None)? {
                Some(d) => println!("Hari buka berikutnya: {}", format_date(d)),
                None => println!("Tidak ada hari buka terjadwal."),
            }
        }
        PosyanduAction::Sasaran { year, ibu_hamil, ibu_bersalin, bayi, balita, lansia } => {
            store.set_sasaran(
                year,
                Sasaran { ibu_hamil, ibu_bersalin, bayi, balita, lansia, source: SasaranSource::Kader },
            )?;
            println!("Sasaran {year} disimpan.");
        }
        PosyanduAction::Roster { kader, name, role, inactive } => {
            let role = RosterRole::parse(&role).with_context(|| format!("peran tidak dikenal: {role}"))?;
            store.set_roster_entry(&kader, RosterEntry { name, role, active: !inactive })?;
            println!("Kader {kader} disimpan.");
        }
        PosyanduAction::Area { kode_wilayah, rw, rt, dusun, remove } => {
            store.set_area_entry(AreaEntry { kode_wilayah, rw, rt, dusun }, !remove)?;
            println!("Wilayah disimpan.");
        }
    }
    Ok(())
}

/// `posyandu-kader spm …`.
#[derive(Subcommand)]
enum SpmCommand {
    /// The catalogue of coded needs (code, area, subject, label).
    Needs,
    /// Raise a need of a member (--member) or of the household itself; if the same
    /// need of the same subject is already raised, the note is added to it. Prints the
    /// request key.
    Raise {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        member: Option<Uuid>,
        /// Need code (see `spm needs`), e.g. alat_bantu_disabilitas, rutilahu.
        #[arg(long)]
        need: String,
        /// Short note (≤ 280 characters).
        #[arg(long)]
        note: String,
    },
    /// Add a note to a request.
    Note {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        key: String,
        #[arg(long)]
        note: String,
    },
    /// Mark this phone's kader as the Posyandu's koordinator (or not, with --off).
    Koordinator {
        #[arg(long)]
        off: bool,
    },
    /// Verify a request (koordinator).
    Verify {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        key: String,
    },
    /// Hand a verified request to the desa (koordinator).
    Forward {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        key: String,
    },
    /// Requests of the Posyandu with their status (open ones unless --all).
    List {
        #[arg(long)]
        all: bool,
    },
    /// One request with every note and step, as JSON.
    Show {
        #[arg(long)]
        household: Uuid,
        #[arg(long)]
        key: String,
    },
}

fn run_spm(store: &Store, cmd: SpmCommand) -> Result<()> {
    use posyandu_core::rules::spm_request as spm;
    match cmd {
        SpmCommand::Needs => {
            for n in spm::needs() {
                println!("{}  {:?}  {:?}  {}", n.code, n.area, n.subject, n.label_id);
            }
        }
        SpmCommand::Raise { household, member, need, note } => {
            println!("{}", store.raise_spm_need(household, member, &need, &note)?);
        }
        SpmCommand::Note { household, key, note } => store.add_spm_note(household, &key, &note)?,
        SpmCommand::Koordinator { off } => store.set_koordinator(!off)?,
        SpmCommand::Verify { household, key } => store.verify_spm_request(household, &key)?,
        SpmCommand::Forward { household, key } => store.forward_spm_request(household, &key)?,
        SpmCommand::List { all } => {
            let list = store.spm_requests(!all)?;
            if list.is_empty() {
                println!("Tidak ada permintaan SPM.");
            }
            for r in list {
                println!(
                    "{}  {}  {}  {}  [{}]  catatan: {}  status: {}",
                    r.key,
                    r.area.label_id(),
                    r.need_label,
                    r.subject_name,
                    r.household_id,
                    r.notes,
                    r.status.code()
                );
            }
        }
        SpmCommand::Show { household, key } => {
            println!("{}", serde_json::to_string_pretty(&store.spm_request(household, &key)?)?);
        }
    }
    Ok(())
}

fn main() {
    private_files();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("POSYANDU_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        // Print the cause chain, skipping causes already spelled out by their parent.
        let mut msg = String::new();
        for cause in e.chain().map(|c| c.to_string()) {
            if !msg.contains(&cause) {
                msg = if msg.is_empty() { cause } else { format!("{msg}: {cause}") };
            }
        }
        eprintln!("Gagal: {msg}");
        std::process::exit(1);
    }
}

fn date_arg(s: &str) -> Result<time::Date> {
    parse_date(s).with_context(|| format!("tanggal tidak valid: {s} (format YYYY-MM-DD)"))
}

fn enum_arg<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .with_context(|| format!("{what} tidak dikenal: {s}"))
}

/// The store's key and the device token, in owner-only files beside the store
/// (`<store>.key`, `<store>.secrets.json`). This protects nothing against someone who
/// can read the whole directory; it exists for the desktop demo and tests (on a phone
/// the key comes from the Android Keystore).
fn keyring(store: &std::path::Path) -> std::sync::Arc<dyn Keyring> {
    std::sync::Arc::new(FileKeyring::new(store))
}

fn run(cli: Cli) -> Result<()> {
    let path = cli.store;
    match cli.command {
        Command::Init { device, kader, posyandu, relay, token } => {
            tighten_sqlite_files(&path);
            let store = Store::open(
                &path,
                DeviceIdentity { device_id: device, kader_id: kader, posyandu_id: posyandu },
                keyring(&path),
            )?;
            if let (Some(url), Some(token)) = (relay, token) {
                store.set_relay(&RelayConfig { url, token })?;
            }
            println!("Basis data siap: {}", path.display());
        }
        Command::Growth { input, output } => {
            let inp = std::fs::File::open(&input).with_context(|| format!("membuka {}", input.display()))?;
            let out = std::fs::File::create(&output).with_context(|| format!("membuat {}", output.display()))?;
            let mut out = std::io::BufWriter::new(out);
            let mut last = std::time::Instant::now();
            let summary = growth::run_batch(std::io::BufReader::new(inp), &mut out, &mut |rows| {
                if last.elapsed().as_millis() > 500 {
                    eprint!("\r{rows} baris diproses");
                    last = std::time::Instant::now();
                }
            })?;
            out.flush()?;
            eprintln!(
                "\rSelesai: {} baris, {} berhasil, {} galat, {} nilai tidak masuk akal ditandai → {}",
                summary.rows,
                summary.ok,
                summary.errors,
                summary.flagged,
                output.display()
            );
        }
        command => {
            tighten_sqlite_files(&path);
            let store = Store::open_existing(&path, keyring(&path))
                .with_context(|| format!("membuka {} (buat dulu dengan `posyandu-kader init`)", path.display()))?;
            run_store(&store, command)?;
        }
    }
    Ok(())
}

fn run_store(store: &Store, command: Command) -> Result<()> {
    match command {
        Command::AddHousehold { rt, rw, kode_wilayah, kk, dusun } => {
            let id = store.create_household(NewHousehold {
                kk_number: kk,
                address: Address { rt, rw, dusun, kode_wilayah, street: None },
                gps: None,
                spm: SpmAttributes::default(),
            })?;
            println!("{id}");
        }
        Command::AddMember { household, name, birth_date, sex, relation, nik, mother_nik, birth_order } => {
            let id = store.add_member(
                household,
                NewMember {
                    nik,
                    mother_nik: mother_nik.map(|mother_nik| MotherNik { mother_nik, birth_order }),
                    name,
                    birth_date: date_arg(&birth_date)?,
                    sex: growth::Sex::parse(&sex)?,
                    relation: enum_arg(&relation, "Hubungan keluarga")?,
                    bpjs_number: None,
                    kia_book: None,
                },
            )?;
            println!("{id}");
        }
        Command::Checklist { household, member, date } => {
            let date = match date {
                Some(d) => date_arg(&d)?,
                None => store.today(),
            };
            let (stage, items) = store.checklist_for(household, member, date)?;
            println!("Daftar periksa ({}):", stage.label_id());
            for i in items {
                println!("  {:<28} {}{}", i.code, i.label_id, if i.indicator { " [indikator]" } else { "" });
            }
            println!("Topik penyuluhan:");
            for t in posyandu_core::rules::checklist::topics_for(stage) {
                println!("  {:<28} {}", t.code, t.label_id);
            }
        }
        Command::RecordVisit {
            household,
            member,
            date,
            kind,
            weight_kg,
            height_cm,
            measure,
            muac_cm,
            head_cm,
            bp,
            vitamin_a,
            immunisations,
            referral,
            answers,
            counselling,
            asi_eksklusif,
        } => {
            let mut checklist = std::collections::BTreeMap::new();
            for a in &answers {
                let (code, v) = a.split_once('=').context("jawaban ditulis kode=ya atau kode=tidak")?;
                let yes = match v.trim() {
                    "ya" => true,
                    "tidak" => false,
                    other => anyhow::bail!("jawaban {code}: tulis ya atau tidak (diisi: {other})"),
                };
                checklist.insert(code.trim().to_string(), yes);
            }
            let date = match date {
                Some(d) => date_arg(&d)?,
                None => store.today(),
            };
            let (bp_systolic_mmhg, bp_diastolic_mmhg) = match bp {
                Some(bp) => {
                    let (s, d) = bp.split_once('/').context("tekanan darah ditulis sistolik/diastolik, mis. 120/80")?;
                    (Some(s.trim().parse()?), Some(d.trim().parse()?))
                }
                None => (None, None),
            };
            let measure = match measure {
                Some(m) => growth::Measure::parse(&m)?,
                None => None,
            };
            let measurements = Measurements {
                weight_kg,
                length_height_cm: height_cm,
                measure,
                head_circumference_cm: head_cm,
                muac_cm,
                bp_systolic_mmhg,
                bp_diastolic_mmhg,
                ..Default::default()
            };
            let entry = VisitEntry {
                member_id: member,
                measurements: measurements.clone(),
                services: Services { immunisations, vitamin_a, ..Default::default() },
                referral: referral.map(|reason| Referral { reason, to: None }),
                checklist,
                counselling,
                asi_eksklusif,
                ..Default::default()
            };
            let id = store.record_visit(
                household,
                NewVisit { date, kind: enum_arg(&kind, "Jenis kunjungan")?, entries: vec![entry] },
            )?;
            println!("{id}");
            let hh = store.household(household)?;
            if let Some(a) =
                hh.member(member).map(|m| growth::assess_member(m, date, &measurements)).transpose()?.flatten()
            {
                let z = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
                println!("BB/U z={} {}", z(a.zwfa), a.bbu.map_or("", |c| c.label_id()));
                println!("TB/U z={} {}", z(a.zlhfa), a.tbu.map_or("", |c| c.label_id()));
                println!("BB/TB z={} {}", z(a.zwfl), a.bbtb.map_or("", |c| c.label_id()));
            }
            let proposed = store.proposed_referral(household, member)?;
            if !proposed.is_empty() {
                let codes: Vec<&str> = proposed.iter().map(|p| p.code.as_str()).collect();
                println!("Usulan rujukan: {} (catat dengan: refer)", codes.join(", "));
            }
        }
        Command::ProposeReferral { household, member } => {
            let proposed = store.proposed_referral(household, member)?;
            if proposed.is_empty() {
                println!("Tidak ada usulan rujukan.");
            }
            for p in proposed {
                println!("{}  {}", p.code, p.label);
            }
        }
        Command::Refer { household, member, reasons, note, visit } => {
            let reasons = if reasons.is_empty() {
                store.proposed_referral(household, member)?.into_iter().map(|p| p.code).collect()
            } else {
                reasons
            };
            if reasons.is_empty() {
                bail!("tidak ada usulan rujukan; sebutkan alasan dengan --reason");
            }
            let id =
                store.raise_referral(household, NewReferral { member_id: member, reasons, note, visit_id: visit })?;
            println!("{id}");
        }
        Command::Spm(cmd) => run_spm(&store, cmd)?,
        Command::Referrals { all } => {
            let list = store.referrals(!all)?;
            if list.is_empty() {
                println!("Tidak ada rujukan.");
            }
            for r in list {
                let follow = r
                    .follow_up_by
                    .as_deref()
                    .map(|d| format!("  kunjungan rumah paling lambat {d}"))
                    .unwrap_or_default();
                println!(
                    "{}  {}  {}  {}  [{}]  status: {}{}",
                    r.id,
                    r.date,
                    r.member_name,
                    r.reasons.join(","),
                    r.household_id,
                    r.status.code(),
                    follow
                );
            }
        }
        Command::AddPregnancy { household, member, lmp, gravida, muac_cm } => {
            let id = store.add_pregnancy(
                household,
                NewPregnancy { member_id: member, lmp: date_arg(&lmp)?, due_date: None, gravida, muac_cm },
            )?;
            println!("{id}");
        }
        Command::MemberStatus { household, member, status, date } => {
            let kind = MemberStatusKind::parse(&status)
                .with_context(|| format!("status tidak dikenal: {status} (pindah atau meninggal)"))?;
            let date = match date {
                Some(d) => date_arg(&d)?,
                None => store.today(),
            };
            store.set_member_status(household, member, kind, date)?;
            println!("Status {} sejak {} dicatat", kind.label_id(), format_date(date));
        }
        Command::RecordBirth { household, pregnancy, date, outcome, place, attendant, babies } => {
            let date = match date {
                Some(d) => date_arg(&d)?,
                None => store.today(),
            };
            let mut newborns = Vec::new();
            for b in &babies {
                let parts: Vec<&str> = b.split(':').collect();
                if parts.len() < 2 || parts.len() > 4 {
                    bail!("bayi ditulis NAMA:JK[:BB_KG[:PB_CM]], mis. \"Bayi Sari:P:3.1:49\"");
                }
                let num = |i: usize| -> Result<Option<f64>> {
                    parts.get(i).map(|x| x.trim().parse::<f64>().context("angka tidak valid")).transpose()
                };
                newborns.push(NewBorn {
                    name: parts[0].trim().to_string(),
                    sex: growth::Sex::parse(parts[1].trim())?,
                    weight_kg: num(2)?,
                    length_cm: num(3)?,
                    kia_book: None,
                });
            }
            let outcome = PregnancyOutcome {
                kind: OutcomeKind::parse(&outcome)
                    .with_context(|| format!("hasil persalinan tidak dikenal: {outcome}"))?,
                place: place
                    .map(|p| BirthPlace::parse(&p).with_context(|| format!("tempat tidak dikenal: {p}")))
                    .transpose()?,
                attendant: attendant
                    .map(|a| BirthAttendant::parse(&a).with_context(|| format!("penolong tidak dikenal: {a}")))
                    .transpose()?,
            };
            let ids =
                store.record_birth(household, BirthRecord { pregnancy_id: pregnancy, date, outcome, newborns })?;
            for id in ids {
                println!("{id}");
            }
        }
        Command::List { rt } => {
            for h in store.list_households(rt.as_deref())? {
                println!(
                    "RT {}/RW {}  {}  {} anggota  kunjungan terakhir: {}{}  [{}]",
                    h.rt,
                    h.rw,
                    h.head_name.as_deref().unwrap_or("(tanpa kepala keluarga)"),
                    h.member_count,
                    h.last_visit.as_deref().unwrap_or("-"),
                    if h.conflict_count > 0 { format!("  ⚠ {} konflik", h.conflict_count) } else { String::new() },
                    h.id
                );
            }
        }
        Command::Show { household } => {
            println!("{}", serde_json::to_string_pretty(&store.household(household)?)?);
        }
        Command::Search { query } => {
            for m in store.search_members(&query, 50)? {
                println!(
                    "{}  lahir {}  {}  RT {}  [{} / {}]",
                    m.name,
                    m.birth_date,
                    m.stage.label_id(),
                    m.rt,
                    m.household_id,
                    m.id
                );
            }
        }
        Command::Posyandu { action } => run_posyandu(store, action)?,
        Command::Undangan { date } => {
            let list = store.undangan(date.as_deref().map(date_arg).transpose()?)?;
            println!("Undangan hari buka {}:", list.service_day);
            if list.items.is_empty() {
                println!("Tidak ada yang diundang.");
            }
            for i in list.items {
                let reasons: Vec<String> = i.reasons.iter().map(|r| r.label_id()).collect();
                println!(
                    "RT {}  {} ({})  — {}  [{}]",
                    i.rt,
                    i.name,
                    i.stage.label_id(),
                    reasons.join("; "),
                    i.household_id
                );
            }
        }
        Command::Register { date } => {
            let reg = store.register(date_arg(&date)?)?;
            println!("Register hari buka {}: {} diundang, {} hadir", reg.service_day, reg.expected, reg.came);
            for e in reg.entries {
                let facts = e
                    .facts
                    .as_ref()
                    .map(|f| {
                        let mut parts = Vec::new();
                        if let Some(w) = f.weight_kg {
                            parts.push(format!("BB {w} kg"));
                        }
                        if let Some(t) = &f.trend {
                            parts.push(t.clone());
                        }
                        if f.vitamin_a {
                            parts.push("vitamin A".into());
                        }
                        if !f.immunisations.is_empty() {
                            parts.push(f.immunisations.join(","));
                        }
                        parts.join(", ")
                    })
                    .unwrap_or_default();
                let risks: Vec<String> = e.risks.iter().map(|r| r.label_id()).collect();
                println!(
                    "RT {}  {}  {}  {}{}",
                    e.rt,
                    e.name,
                    if e.came { "hadir" } else { "tidak hadir" },
                    facts,
                    if risks.is_empty() { String::new() } else { format!("  — {}", risks.join("; ")) }
                );
            }
        }
        Command::HomeVisits { date } => {
            let list = store.home_visit_list(date.as_deref().map(date_arg).transpose()?)?;
            println!("Kunjungan rumah setelah hari buka {}:", list.service_day);
            if list.items.is_empty() {
                println!("Tidak ada yang perlu dikunjungi.");
            }
            for i in list.items {
                let mut reasons: Vec<String> = Vec::new();
                if i.section == HomeVisitSection::TidakHadir {
                    reasons.extend(i.expected.iter().map(|r| r.label_id()));
                }
                reasons.extend(i.risks.iter().map(|r| r.label_id()));
                println!(
                    "{}: RT {}  {} ({})  — {}  [{}]",
                    i.section.label_id(),
                    i.rt,
                    i.name,
                    i.stage.label_id(),
                    reasons.join("; "),
                    i.household_id
                );
            }
        }
        Command::Due => {
            let due = store.due_visits()?;
            if due.is_empty() {
                println!("Tidak ada yang perlu dikunjungi.");
            }
            for d in due {
                let reasons: Vec<String> = d.reasons.iter().map(|r| r.label_id()).collect();
                println!(
                    "RT {}  {} ({})  — {}  [{}]",
                    d.rt,
                    d.name,
                    d.stage.label_id(),
                    reasons.join("; "),
                    d.household_id
                );
            }
        }
        Command::Conflicts { household } => {
            let conflicts = store.conflicts(household)?;
            if conflicts.is_empty() {
                println!("Tidak ada konflik.");
            }
            for c in conflicts {
                println!("{}", c.path);
                for v in c.values {
                    println!(
                        "    {}  oleh {} pada {}",
                        v.value_json,
                        v.kader_id.as_deref().unwrap_or("?"),
                        v.written_at
                    );
                }
            }
        }
        Command::Resolve { household, path, value_json } => {
            store.resolve_conflict(household, &path, &value_json)?;
            println!("Konflik diselesaikan.");
        }
        Command::Sync => {
            let mut downloading = false;
            let report = store.sync_now(&mut |p| {
                if p.phase == SyncPhase::Download && p.docs_total > 0 {
                    downloading = true;
                    eprint!("\rMengunduh data awal: {}/{} dokumen", p.docs_done, p.docs_total);
                }
            })?;
            if downloading {
                eprintln!();
            }
            println!(
                "Sinkron selesai: {} dikirim, {} diterima, {} B naik, {} B turun, {} permintaan{}",
                report.pushed,
                report.pulled + report.snapshot_docs,
                report.bytes_up,
                report.bytes_down,
                report.requests,
                if report.conflicts > 0 {
                    format!(", {} rumah tangga berkonflik", report.conflicts)
                } else {
                    String::new()
                }
            );
            if report.refused > 0 {
                println!(
                    "PERHATIAN: {} rumah tangga ditolak server; datanya disimpan di HP (lihat `status`) dan \
                     rumah tangga dilanjutkan dari salinan server",
                    report.refused
                );
            }
            if report.repaired > 0 {
                println!("{} rumah tangga dilengkapi dari salinan server", report.repaired);
            }
        }
        Command::Status => {
            println!("Perubahan belum terkirim: {}", store.pending_changes()?);
            match store.last_sync_at()? {
                Some(t) => println!(
                    "Sinkron terakhir: {}",
                    time::OffsetDateTime::from_unix_timestamp(t)?.to_offset(time::UtcOffset::from_hms(7, 0, 0)?)
                ),
                None => println!("Belum pernah sinkron"),
            }
            let problems = store.document_problems()?;
            if problems.is_empty() {
                println!("Data tidak terbaca (0)");
            } else {
                println!("Data tidak terbaca ({}):", problems.len());
                for (household, p) in problems {
                    println!("  {household} {}: {}", p.path, p.reason);
                }
            }
            let refused = store.quarantined()?;
            if !refused.is_empty() {
                println!("Perubahan ditolak server (disimpan di HP, perlu dicatat ulang): {}", refused.len());
                for q in refused {
                    println!(
                        "  rumah tangga {}: {} perubahan, {} ({}{})",
                        q.household_id,
                        q.changes,
                        q.reason,
                        q.code,
                        q.path.map(|p| format!(", {p}")).unwrap_or_default()
                    );
                }
            }
        }
        Command::Init { .. } | Command::Growth { .. } => bail!("unreachable"),
    }
    Ok(())
}
