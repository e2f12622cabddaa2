//! `posyandu-relay`: serve the sync relay, manage its registry, or run a demo.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use posyandu_server::admin::Registry;
use posyandu_server::at_rest::{AtRest, KeySource};
use posyandu_server::bidan::registry::{self as bidan_registry, BidanRegistry};
use posyandu_server::config::{Config, ConfigLayer, LogFormat};
use posyandu_server::desa::registry::{self as desa_registry, DesaRegistry};
use posyandu_server::storage::postgres::PgRegistry;
use posyandu_server::storage::{PgStorage, SqliteStorage};
use posyandu_server::{admin, app, AppState};

const PROGRAM: &str = "posyandu-relay";

use posyandu_records::process::{private_files, tighten_sqlite_files};

fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    posyandu_records::process::write_stdout(PROGRAM, args, newline)
}

// `println!`/`print!` in this file go through `write_stdout` (these shadow the std macros).
macro_rules! println {
    () => { write_stdout(format_args!(""), true) };
    ($($t:tt)*) => { write_stdout(format_args!($($t)*), true) };
}
macro_rules! print {
    ($($t:tt)*) => { write_stdout(format_args!($($t)*), false) };
}

#[derive(Parser)]
#[command(name = "posyandu-relay", version, about = "Posyandu Sync relay server")]
struct Cli {
    /// PostgreSQL database (`postgres://user@host/db` or `host=... dbname=...`) shared
    /// by several relays; without it the SQLite file (--db) is used. Applies to serve,
    /// demo and admin.
    #[arg(long, global = true, env = "POSYANDU_RELAY_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Connections per relay process in the PostgreSQL pool.
    #[arg(long, global = true, env = "POSYANDU_RELAY_PG_POOL_SIZE", default_value_t = 16)]
    pg_pool_size: usize,
    /// Master key of encryption at rest: a file of 32 random bytes (or 64 hex digits),
    /// mode 0600 or 0400 (env POSYANDU_RELAY_DATA_KEY_FILE, config `data_key_file`).
    /// Required on PostgreSQL; on SQLite the default is relay-data.key beside the
    /// database, created on first start. Back it up separately from the database.
    #[arg(long, global = true)]
    data_key_file: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where the relay keeps its data.
enum Db {
    Sqlite(SqliteStorage),
    Postgres { url: String, pool_size: usize, keys: Arc<AtRest> },
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the sync API.
    Serve(ServeArgs),
    /// Manage Puskesmas, Posyandu, kader and device tokens.
    Admin {
        /// Database file (default from config/env, else ./posyandu-relay.sqlite3).
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        op: AdminOp,
    },
    /// Create a demo Posyandu with two kader devices, print their tokens, then serve
    /// (database default: ./posyandu-demo.sqlite3).
    Demo(ServeArgs),
    /// Pull the Puskesmas export (`GET /v1/export`) from a relay into DIR, page by page,
    /// resuming from the cursor in --since-file (see server/src/puskesmas/client.rs).
    Export(ExportCmd),
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// SQLite database file [default: ./posyandu-relay.sqlite3].
    #[arg(long)]
    db: Option<PathBuf>,
    /// TOML configuration file (see docs/relay-operations.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log format [default: pretty].
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Args, Clone)]
struct ExportCmd {
    /// Relay base URL, e.g. https://relay.example.go.id
    #[arg(long)]
    url: String,
    /// Puskesmas token (or env POSYANDU_PUSKESMAS_TOKEN).
    #[arg(long, env = "POSYANDU_PUSKESMAS_TOKEN", hide_env_values = true)]
    token: String,
    /// File holding the cursor; read at start (absent = everything), rewritten after
    /// every page.
    #[arg(long)]
    since_file: PathBuf,
    /// ndjson or csv.
    #[arg(long, default_value = "ndjson")]
    format: String,
    /// Directory for the page files.
    #[arg(long)]
    out: PathBuf,
    /// Households per page.
    #[arg(long, default_value_t = 500)]
    limit: usize,
    /// Only this Posyandu of the Puskesmas.
    #[arg(long)]
    posyandu: Option<String>,
}

#[derive(Subcommand)]
enum AdminOp {
    /// Pushes the relay refused, newest first (device, document, path, reason; never a
    /// value). Revoke a misbehaving device with `revoke-device`.
    Refusals {
        /// Only this device.
        #[arg(long)]
        device: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Records in stored documents that the readers leave out (invalid values stored
    /// before pushes were checked, or records of a newer app version).
    Problems {
        #[arg(long)]
        posyandu: Option<String>,
    },
    AddPuskesmas {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    AddPosyandu {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        puskesmas: Option<String>,
    },
    AddKader {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        posyandu: String,
    },
    /// Issue a device token (printed once; an earlier token of the device is revoked).
    AddDevice {
        #[arg(long)]
        kader: String,
        #[arg(long)]
        device: String,
    },
    RevokeDevice {
        #[arg(long)]
        device: String,
    },
    /// Revoke one token by its id (as shown by `list`).
    RevokeToken {
        #[arg(long)]
        token_id: i64,
    },
    /// Issue a read-only Puskesmas token (printed once).
    PuskesmasToken {
        #[arg(long)]
        puskesmas: String,
    },
    /// Register a bidan (or update her name) and the Posyandu she covers (repeat
    /// `--posyandu`; replaces the earlier list).
    AddBidan {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long = "posyandu", required = true)]
        posyandu: Vec<String>,
    },
    /// Issue a bidan token (printed once; earlier ones stay valid until revoked).
    BidanToken {
        #[arg(long)]
        bidan: String,
    },
    /// Revoke one bidan token by its id (as printed when issued).
    RevokeBidanToken {
        #[arg(long)]
        token_id: i64,
    },
    /// Register a desa/kelurahan (or update it): its Kemendagri village codes (10
    /// digits, comma-separated or repeated) and the Posyandu serving them (repeat
    /// `--posyandu`); replaces the earlier lists.
    AddDesa {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long = "kode", required = true, value_delimiter = ',')]
        kode: Vec<String>,
        #[arg(long = "posyandu", required = true)]
        posyandu: Vec<String>,
    },
    /// Issue a desa token (printed once; earlier ones stay valid until revoked).
    DesaToken {
        #[arg(long)]
        desa: String,
    },
    /// Revoke one desa token by its id (as printed when issued).
    RevokeDesaToken {
        #[arg(long)]
        token_id: i64,
    },
    /// Make a kader the koordinator of her Posyandu (verifies SPM requests and hands
    /// them to the desa), or remove her with --remove.
    Koordinator {
        #[arg(long)]
        posyandu: String,
        #[arg(long)]
        kader: String,
        #[arg(long)]
        remove: bool,
    },
    List,
    /// Set the SATUSEHAT ids the FHIR export of a Posyandu references (from the
    /// Puskesmas' SATUSEHAT registration; ids only, no credentials).
    Satusehat {
        #[arg(long)]
        posyandu: String,
        /// The Posyandu's Organization id in SATUSEHAT.
        #[arg(long)]
        org: String,
        /// The Puskesmas' Organization id in SATUSEHAT.
        #[arg(long)]
        puskesmas_org: String,
        /// The Posyandu's Location id in SATUSEHAT.
        #[arg(long)]
        location: String,
        /// The responsible bidan's Practitioner IHS number.
        #[arg(long)]
        bidan: String,
        #[arg(long)]
        bidan_name: String,
        /// +07:00 (WIB), +08:00 (WITA) or +09:00 (WIT).
        #[arg(long, default_value = "+07:00")]
        utc_offset: String,
    },
    /// Map an antigen (e.g. BCG, MR1) to the KFA code of the vaccine product the
    /// Puskesmas uses, for the FHIR export's Immunizations.
    SatusehatKfa {
        /// The Puskesmas' Organization id in SATUSEHAT (as given to `satusehat`).
        #[arg(long)]
        puskesmas_org: String,
        #[arg(long)]
        antigen: String,
        #[arg(long)]
        kfa: String,
        /// The KFA product name.
        #[arg(long)]
        display: String,
    },
    /// After restoring a backup (relay stopped): give the relay a new random epoch so
    /// phones re-pull from the start and re-push what they hold. Prints the epoch.
    NewEpoch,
    /// Re-derive the read model (what the Puskesmas endpoints read) wherever it was
    /// derived by other rules or is missing. A relay does this by itself in the
    /// background when it starts; this runs it now, with progress. With `--posyandu` or
    /// `--all`, every row of that Posyandu (of every Posyandu) is re-derived whatever
    /// its stamp: the repair for rows `check-read-model` found damaged.
    RebuildReadModel {
        #[arg(long, conflicts_with = "all")]
        posyandu: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Compare every read-model row with a derivation from scratch of its document;
    /// exits non-zero if one differs (run it on a quiet relay).
    CheckReadModel {
        #[arg(long)]
        posyandu: Option<String>,
    },
    /// Seal every change and snapshot still stored in plaintext (written by a relay
    /// before encryption at rest), in batches; resumable. `serve` also does this at
    /// start. Safe while relays run.
    SealAtRest,
}

fn config(
    listen: Option<SocketAddr>,
    db: Option<PathBuf>,
    file: Option<&PathBuf>,
    log: Option<LogFormat>,
    data_key_file: Option<PathBuf>,
) -> anyhow::Result<Config> {
    let file = match file {
        Some(p) => ConfigLayer::from_file(p)?,
        None => ConfigLayer::default(),
    };
    let env = ConfigLayer::from_env(|k| std::env::var(k).ok())?;
    let flags = ConfigLayer { listen, db, log_format: log, data_key_file, ..Default::default() };
    Ok(file.overlay(env).overlay(flags).resolve())
}

/// The master key of encryption at rest (see `posyandu_server::at_rest`): the
/// configured key file; without one, on SQLite `relay-data.key` beside the database
/// (created on first start, with a warning), on PostgreSQL an error. Never logged.
fn data_keys(cfg: &Config, postgres: bool) -> anyhow::Result<Arc<AtRest>> {
    if let Some(path) = &cfg.data_key_file {
        return Ok(AtRest::load(path)?);
    }
    anyhow::ensure!(
        !postgres,
        "PostgreSQL needs a data key for encryption at rest: --data-key-file FILE (or \
         POSYANDU_RELAY_DATA_KEY_FILE, or data_key_file in the config file), a file of 32 random bytes \
         or 64 hex digits with mode 0600, e.g. `(umask 077; openssl rand -hex 32 > relay-data.key)`; \
         every relay on the database needs the same file, kept apart from the database backups"
    );
    let (keys, source) = AtRest::load_or_create(&AtRest::default_key_path(&cfg.db))?;
    if let KeySource::Created(path) = source {
        let msg = "created a new data key for encryption at rest; back it up, but NOT with the database \
                   backups (a backup together with its key reveals everything; losing the key loses the data)";
        tracing::warn!(key_file = %path.display(), "{msg}");
        if !tracing::dispatcher::has_been_set() {
            eprintln!("warning: {msg}: {}", path.display());
        }
    }
    Ok(keys)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn open(db: &PathBuf, keys: Arc<AtRest>) -> anyhow::Result<SqliteStorage> {
    tighten_sqlite_files(db);
    SqliteStorage::open_with(db, keys).with_context(|| format!("cannot open database {}", db.display()))
}

fn main() -> std::process::ExitCode {
    private_files();
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let pg = cli.database_url.clone().filter(|u| !u.trim().is_empty());
    let pool_size = cli.pg_pool_size;
    let key_flag = cli.data_key_file.clone();
    match cli.cmd {
        Cmd::Serve(a) => {
            let cfg = config(a.listen, a.db, a.config.as_ref(), a.log_format, key_flag)?;
            init_logging(cfg.log_format);
            let keys = data_keys(&cfg, pg.is_some())?;
            let db = match pg {
                Some(url) => Db::Postgres { url, pool_size, keys },
                None => Db::Sqlite(open(&cfg.db, keys)?),
            };
            run(cfg, db)
        }
        Cmd::Demo(a) => {
            // The demo never touches the default production database.
            let db = a.db.or_else(|| Some(PathBuf::from("./posyandu-demo.sqlite3")));
            let cfg = config(a.listen, db, a.config.as_ref(), a.log_format, key_flag)?;
            let keys = data_keys(&cfg, pg.is_some())?;
            let db = match pg {
                Some(url) => {
                    let reg = PgRegistry::connect(&url).context("cannot open the PostgreSQL database")?;
                    demo(&reg, &cfg, "PostgreSQL (--database-url)")?;
                    Db::Postgres { url, pool_size, keys }
                }
                None => {
                    let storage = open(&cfg.db, keys)?;
                    storage.with_conn(|conn| demo(&*conn, &cfg, &cfg.db.display().to_string()))?;
                    Db::Sqlite(storage)
                }
            };
            init_logging(cfg.log_format);
            run(cfg, db)
        }
        Cmd::Export(a) => {
            let args = posyandu_server::puskesmas::client::ExportArgs {
                url: a.url,
                token: a.token,
                since_file: a.since_file,
                format: a.format,
                out: a.out,
                limit: a.limit,
                posyandu: a.posyandu,
            };
            let sum = posyandu_server::puskesmas::client::run_export(&args)?;
            eprintln!("{} halaman, {} rumah tangga, {} file", sum.pages, sum.households, sum.files.len());
            Ok(())
        }
        Cmd::Admin {
            db,
            config: file,
            op: op @ (AdminOp::RebuildReadModel { .. } | AdminOp::CheckReadModel { .. }),
        } => {
            // Reading documents and rows needs the data key.
            let cfg = config(None, db, file.as_ref(), None, key_flag)?;
            let keys = data_keys(&cfg, pg.is_some())?;
            let sqlite = match &pg {
                Some(_) => None,
                None => Some(open(&cfg.db, keys.clone())?),
            };
            read_model_op(pg, pool_size, keys, sqlite, op)
        }
        Cmd::Admin { db, config: file, op } => {
            let cfg = config(None, db, file.as_ref(), None, key_flag)?;
            // Only the operations that read documents need the data key.
            let needs_key = matches!(op, AdminOp::Problems { .. } | AdminOp::SealAtRest);
            if let Some(url) = pg {
                let keys = if needs_key { Some(data_keys(&cfg, true)?) } else { None };
                if let (AdminOp::SealAtRest, Some(keys)) = (&op, &keys) {
                    return seal_at_rest_pg(&url, keys.clone());
                }
                let reg = PgRegistry::connect(&url).context("cannot open the PostgreSQL database")?;
                return admin_op(&reg, keys.as_deref(), op);
            }
            // On SQLite the key beside the database is created with the database.
            let keys = match &cfg.data_key_file {
                Some(_) => data_keys(&cfg, false)?,
                None if needs_key || !cfg.db.exists() => data_keys(&cfg, false)?,
                None => AtRest::ephemeral(), // registry operations never touch sealed data
            };
            let storage = open(&cfg.db, keys)?;
            if matches!(op, AdminOp::SealAtRest) {
                init_logging(LogFormat::Pretty);
                let p = posyandu_server::storage::seal_pass::seal_sqlite(&storage)
                    .map_err(|e| anyhow::anyhow!("sealing failed: {e}"))?;
                return report_sealed(p);
            }
            let keys = storage.keys().clone();
            storage.with_conn(|conn| admin_op(&*conn, Some(&keys), op))
        }
    }
}

fn report_sealed(p: posyandu_server::at_rest::SealProgress) -> anyhow::Result<()> {
    println!(
        "{} dari {} perubahan dan {} dari {} dokumen disegel (dienkripsi)",
        p.changes_done, p.changes_total, p.snapshots_done, p.snapshots_total
    );
    Ok(())
}

fn seal_at_rest_pg(url: &str, keys: Arc<AtRest>) -> anyhow::Result<()> {
    init_logging(LogFormat::Pretty);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let p = rt.block_on(async {
        let storage = PgStorage::connect_with(url, 2, keys)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the PostgreSQL database: {e}"))?;
        posyandu_server::storage::seal_pass::seal_pg(&storage).await.map_err(|e| anyhow::anyhow!("sealing failed: {e}"))
    })?;
    report_sealed(p)
}

/// Every registry the admin commands use (both backends implement all of them).
trait AdminRegistry: BidanRegistry + DesaRegistry {}
impl<T: BidanRegistry + DesaRegistry + ?Sized> AdminRegistry for T {}

fn admin_op(conn: &dyn AdminRegistry, keys: Option<&AtRest>, op: AdminOp) -> anyhow::Result<()> {
    match op {
        AdminOp::AddPuskesmas { id, name } => {
            admin::add_puskesmas(conn, &id, &name)?;
            println!("Puskesmas {id} tersimpan");
        }
        AdminOp::AddPosyandu { id, name, puskesmas } => {
            admin::add_posyandu(conn, &id, &name, puskesmas.as_deref())?;
            println!("Posyandu {id} tersimpan");
        }
        AdminOp::AddKader { id, name, posyandu } => {
            admin::add_kader(conn, &id, &name, &posyandu)?;
            println!("Kader {id} tersimpan");
        }
        AdminOp::AddDevice { kader, device } => {
            let t = admin::add_device(conn, &kader, &device)?;
            eprintln!("Token #{} untuk perangkat {device} (hanya ditampilkan sekali):", t.token_id);
            println!("{}", t.token);
        }
        AdminOp::RevokeDevice { device } => {
            let n = admin::revoke_device(conn, &device)?;
            println!("{n} token perangkat {device} dicabut");
        }
        AdminOp::RevokeToken { token_id } => {
            admin::revoke_token(conn, token_id)?;
            println!("Token #{token_id} dicabut");
        }
        AdminOp::PuskesmasToken { puskesmas } => {
            let t = admin::puskesmas_token(conn, &puskesmas)?;
            eprintln!("Token #{} untuk Puskesmas {puskesmas} (hanya ditampilkan sekali):", t.token_id);
            println!("{}", t.token);
        }
        AdminOp::List => {
            print!("{}", admin::list(conn)?);
            print!("{}", bidan_registry::list(conn)?);
        }
        AdminOp::AddBidan { id, name, posyandu } => {
            bidan_registry::add_bidan(conn, &id, &name, &posyandu)?;
            println!("Bidan {id} tersimpan ({} Posyandu)", posyandu.len());
        }
        AdminOp::BidanToken { bidan } => {
            let t = bidan_registry::bidan_token(conn, &bidan)?;
            eprintln!("Token bidan #{} untuk {bidan} (hanya ditampilkan sekali):", t.token_id);
            println!("{}", t.token);
        }
        AdminOp::RevokeBidanToken { token_id } => {
            bidan_registry::revoke_bidan_token(conn, token_id)?;
            println!("Token bidan #{token_id} dicabut");
        }
        AdminOp::AddDesa { id, name, kode, posyandu } => {
            desa_registry::add_desa(conn, &id, &name, &kode, &posyandu)?;
            println!("Desa {id} tersimpan ({} kode wilayah, {} Posyandu)", kode.len(), posyandu.len());
        }
        AdminOp::DesaToken { desa } => {
            let t = desa_registry::desa_token(conn, &desa)?;
            eprintln!("Token desa #{} untuk {desa} (hanya ditampilkan sekali):", t.token_id);
            println!("{}", t.token);
        }
        AdminOp::RevokeDesaToken { token_id } => {
            desa_registry::revoke_desa_token(conn, token_id)?;
            println!("Token desa #{token_id} dicabut");
        }
        AdminOp::Koordinator { posyandu, kader, remove } => {
            desa_registry::koordinator(conn, &posyandu, &kader, remove)?;
            if remove {
                println!("Kader {kader} bukan lagi koordinator Posyandu {posyandu}");
            } else {
                println!("Kader {kader} menjadi koordinator Posyandu {posyandu}");
            }
        }
        AdminOp::Satusehat { posyandu, org, puskesmas_org, location, bidan, bidan_name, utc_offset } => {
            let config = posyandu_server::storage::SatusehatConfig {
                posyandu_id: posyandu.clone(),
                posyandu_name: String::new(),
                org_id: org,
                puskesmas_org_id: puskesmas_org,
                location_id: location,
                bidan_ihs: bidan,
                bidan_name,
                utc_offset,
                kfa: Default::default(),
            };
            admin::set_satusehat(conn, &config)?;
            println!("Konfigurasi SATUSEHAT Posyandu {posyandu} tersimpan");
        }
        AdminOp::SatusehatKfa { puskesmas_org, antigen, kfa, display } => {
            admin::set_kfa(conn, &puskesmas_org, &antigen, &kfa, &display)?;
            println!("Kode KFA {antigen} untuk {puskesmas_org} tersimpan");
        }
        AdminOp::Refusals { device, limit } => print!("{}", admin::refusals(conn, device.as_deref(), limit)?),
        AdminOp::Problems { posyandu } => {
            let keys = keys.context("the data key is needed to read documents")?;
            let (listing, docs) = admin::problems(conn, keys, posyandu.as_deref())?;
            print!("{listing}");
            eprintln!("{docs} dokumen diperiksa");
        }
        AdminOp::NewEpoch => {
            let epoch = admin::new_epoch(conn)?;
            eprintln!("Epoch relay baru (perangkat akan menarik ulang dan mengirim ulang datanya):");
            println!("{epoch}");
        }
        AdminOp::RebuildReadModel { .. } | AdminOp::CheckReadModel { .. } => {
            anyhow::bail!("read-model operations need the storage, not the registry")
        }
        AdminOp::SealAtRest => anyhow::bail!("seal-at-rest is run before the registry is opened"),
    }
    Ok(())
}

/// `admin rebuild-read-model` / `admin check-read-model`.
fn read_model_op(
    pg: Option<String>,
    pool_size: usize,
    keys: Arc<AtRest>,
    sqlite: Option<SqliteStorage>,
    op: AdminOp,
) -> anyhow::Result<()> {
    use posyandu_server::read_model;
    use posyandu_server::storage::Storage;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let (storage, scopes): (std::sync::Arc<dyn Storage>, Vec<String>) = match (pg, sqlite) {
            (Some(url), _) => {
                let reg = PgRegistry::connect(&url).context("cannot open the PostgreSQL database")?;
                let scopes = tokio::task::block_in_place(|| reg_scopes(&reg))?;
                let s = PgStorage::connect_with(&url, pool_size, keys)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot open the PostgreSQL database: {e}"))?;
                (std::sync::Arc::new(s), scopes)
            }
            (None, Some(s)) => {
                let scopes = s.with_conn(|c| reg_scopes(&*c))?;
                (std::sync::Arc::new(s), scopes)
            }
            (None, None) => anyhow::bail!("no database"),
        };
        match op {
            AdminOp::RebuildReadModel { posyandu, all } => {
                let started = std::time::Instant::now();
                if posyandu.is_some() || all {
                    let n = storage.invalidate_read_model(posyandu).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    eprintln!("read model: {n} rows marked for re-derivation");
                }
                let n = read_model::rebuild(&storage, |done, remaining| {
                    eprintln!("read model: {done} rebuilt, {remaining} remaining");
                })
                .await
                .map_err(|e| anyhow::anyhow!("rebuild failed: {e}"))?;
                println!(
                    "{n} baris model baca diturunkan ulang ({} s), aturan {}",
                    started.elapsed().as_secs(),
                    read_model::stamp()
                );
            }
            AdminOp::CheckReadModel { posyandu } => {
                let scopes = match posyandu {
                    Some(p) => vec![p],
                    None => scopes,
                };
                let (checked, bad) = read_model::verify(&storage, &scopes).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                for m in &bad {
                    println!("{}\t{}\t{}", m.scope, m.doc, m.kind);
                }
                eprintln!("{checked} dokumen diperiksa, {} berbeda", bad.len());
                anyhow::ensure!(
                    bad.is_empty(),
                    "read model differs from the documents: run `admin rebuild-read-model --posyandu <id>` (or `--all`)"
                );
            }
            _ => anyhow::bail!("not a read-model operation"),
        }
        Ok(())
    })
}

fn reg_scopes(reg: &dyn Registry) -> anyhow::Result<Vec<String>> {
    Ok(reg.listing()?.posyandu.into_iter().map(|p| p.0).collect())
}

/// Registers the demo Posyandu (idempotently) and prints fresh device tokens (issuing
/// them revokes the previous demo tokens) and the commands to try a sync.
fn demo(conn: &dyn Registry, cfg: &Config, db_label: &str) -> anyhow::Result<()> {
    let tokens = (|| -> anyhow::Result<Vec<(String, String, String)>> {
        admin::add_puskesmas(conn, "PKM-DEMO", "Puskesmas Sukamaju")?;
        admin::add_posyandu(conn, "P-DEMO", "Posyandu Melati", Some("PKM-DEMO"))?;
        admin::add_kader(conn, "K-SITI", "Siti Aminah", "P-DEMO")?;
        admin::add_kader(conn, "K-DEWI", "Dewi Lestari", "P-DEMO")?;
        let mut out = Vec::new();
        for (kader, device) in [("K-SITI", "D-SITI"), ("K-DEWI", "D-DEWI")] {
            let t = admin::add_device(conn, kader, device)?;
            out.push((kader.to_string(), device.to_string(), t.token));
        }
        Ok(out)
    })()?;
    let url = format!("http://{}", cfg.listen);
    println!("Demo Posyandu Melati (P-DEMO, Puskesmas PKM-DEMO) siap di {url}");
    println!("Database: {db_label}\n");
    for (kader, device, token) in &tokens {
        let store = format!("{}.sqlite3", device.to_lowercase());
        println!("# Kader {kader}, perangkat {device}");
        println!("posyandu-kader --store {store} init --device {device} --kader {kader} --posyandu P-DEMO --relay={url} --token={token}");
    }
    let (_, d1, _) = &tokens[0];
    let (_, d2, _) = &tokens[1];
    let (s1, s2) = (format!("{}.sqlite3", d1.to_lowercase()), format!("{}.sqlite3", d2.to_lowercase()));
    println!("\n# Coba: catat di perangkat pertama, sinkronkan, lalu tarik di perangkat kedua");
    println!("# (posyandu-kader ada di target/release/ setelah `cargo build --release -p posyandu-core`)");
    println!("H=$(posyandu-kader --store {s1} add-household --rt 003 --rw 005 --kode-wilayah 3275011001)");
    println!("A=$(posyandu-kader --store {s1} add-member --household $H --name Budi --birth-date 2025-06-01 --sex L)");
    println!("posyandu-kader --store {s1} record-visit --household $H --member $A --weight-kg 9.1 --height-cm 76.5 --measure l");
    println!("posyandu-kader --store {s1} sync");
    println!("posyandu-kader --store {s2} sync");
    println!("posyandu-kader --store {s2} list");
    println!("\n(Menjalankan demo lagi membuat token baru; token lama dicabut.)\n");
    Ok(())
}

fn run(cfg: Config, db: Db) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        // Plaintext left by a relay from before encryption at rest is sealed before
        // serving (resumable; nothing to do on a sealed database).
        let (state, db_label) = match db {
            Db::Sqlite(storage) => {
                let s = storage.clone();
                tokio::task::spawn_blocking(move || posyandu_server::storage::seal_pass::seal_sqlite(&s))
                    .await?
                    .map_err(|e| anyhow::anyhow!("sealing stored data failed: {e}"))?;
                (AppState::new(storage), cfg.db.display().to_string())
            }
            Db::Postgres { url, pool_size, keys } => {
                let storage = PgStorage::connect_with(&url, pool_size, keys)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot open the PostgreSQL database: {e}"))?;
                posyandu_server::storage::seal_pass::seal_pg(&storage)
                    .await
                    .map_err(|e| anyhow::anyhow!("sealing stored data failed: {e}"))?;
                (AppState::new(storage), "postgresql".to_string())
            }
        };
        let mut state = state.with_limits(cfg.limits);
        if let Some(secret) = &cfg.link_secret {
            anyhow::ensure!(secret.0.len() >= 32, "link_secret must be at least 32 characters");
            state = state.with_link_key(posyandu_server::puskesmas::links::LinkKey::from_secret(&secret.0));
        }
        // Rows derived by other rules (a new release) or missing (a database from before
        // the read model) are re-derived in the background; the old rows are served
        // meanwhile.
        posyandu_server::read_model::spawn_rebuild(state.clone());
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        tracing::info!(listen = %listener.local_addr()?, db = %db_label, "posyandu-relay listening");
        posyandu_server::serve_with(
            listener,
            app(state),
            posyandu_server::shutdown_signal(),
            Duration::from_secs(cfg.shutdown_grace_secs),
            cfg.conn,
        )
        .await?;
        tracing::info!("posyandu-relay stopped");
        Ok(())
    })
}
