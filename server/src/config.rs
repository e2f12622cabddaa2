//! Relay configuration: defaults, overridden by a TOML file, overridden by
//! `POSYANDU_RELAY_*` environment variables, overridden by command-line flags.
//!
//! ```toml
//! listen = "0.0.0.0:8080"
//! db = "/var/lib/posyandu/relay.sqlite3"
//! log_format = "json"          # or "pretty"
//! max_push_bytes = 8388608
//! max_push_changes = 20000
//! max_requests_per_minute = 120 # per device token; more get 429 + Retry-After
//! max_new_docs_per_day = 1000  # households a device token may create per day (WIB)
//! shutdown_grace_secs = 30
//! header_read_timeout_secs = 20 # complete request headers within this, else closed
//! max_connections = 1024       # served at once; keep below the file limit
//! link_secret = "…"            # signs the HTML pages' link tokens; same on every relay
//!                              # behind one address (default: random per start)
//! data_key_file = "/etc/posyandu/relay-data.key" # 32 bytes (or 64 hex digits), mode
//!                              # 0600/0400: seals stored changes and snapshots at rest;
//!                              # required on PostgreSQL; SQLite default: relay-data.key
//!                              # beside the database, created on first start
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::storage::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub db: PathBuf,
    pub log_format: LogFormat,
    pub limits: Limits,
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Secret for the HTML pages' link tokens (`None`: random per process).
    pub link_secret: Option<Secret>,
    /// Header-read timeout and connection cap of `serve`.
    pub conn: crate::ConnLimits,
    /// Master key of encryption at rest ([`crate::at_rest`]); `None`: on SQLite,
    /// `relay-data.key` beside the database (created on first start); on PostgreSQL,
    /// refused.
    pub data_key_file: Option<PathBuf>,
}

/// A configured secret: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: PathBuf::from("./posyandu-relay.sqlite3"),
            log_format: LogFormat::Pretty,
            limits: Limits::default(),
            shutdown_grace_secs: 30,
            link_secret: None,
            conn: crate::ConnLimits::default(),
            data_key_file: None,
        }
    }
}

/// The file (and environment) layer: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub listen: Option<SocketAddr>,
    pub db: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub max_push_bytes: Option<usize>,
    pub max_push_changes: Option<usize>,
    pub max_requests_per_minute: Option<u32>,
    pub max_new_docs_per_day: Option<u32>,
    pub shutdown_grace_secs: Option<u64>,
    pub link_secret: Option<Secret>,
    pub header_read_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub data_key_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid environment variable {name}: {message}")]
    Env { name: String, message: String },
}

impl ConfigLayer {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })
    }

    /// Reads `POSYANDU_RELAY_LISTEN`, `_DB`, `_LOG_FORMAT`, `_MAX_PUSH_BYTES`,
    /// `_MAX_PUSH_CHANGES`, `_MAX_REQUESTS_PER_MINUTE`, `_MAX_NEW_DOCS_PER_DAY`, `_SHUTDOWN_GRACE_SECS`, `_LINK_SECRET`, `_HEADER_READ_TIMEOUT_SECS`, `_MAX_CONNECTIONS`, `_DATA_KEY_FILE` through `get` (the process
    /// environment in production).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        fn parse<T: std::str::FromStr>(
            get: &impl Fn(&str) -> Option<String>,
            name: &str,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            get(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.parse::<T>().map_err(|e| ConfigError::Env { name: name.into(), message: e.to_string() }))
                .transpose()
        }
        let log_format = match get("POSYANDU_RELAY_LOG_FORMAT").as_deref() {
            None | Some("") => None,
            Some("json") => Some(LogFormat::Json),
            Some("pretty") => Some(LogFormat::Pretty),
            Some(other) => {
                return Err(ConfigError::Env {
                    name: "POSYANDU_RELAY_LOG_FORMAT".into(),
                    message: format!("{other}: use json or pretty"),
                })
            }
        };
        Ok(ConfigLayer {
            listen: parse(&get, "POSYANDU_RELAY_LISTEN")?,
            db: get("POSYANDU_RELAY_DB").filter(|v| !v.is_empty()).map(PathBuf::from),
            log_format,
            max_push_bytes: parse(&get, "POSYANDU_RELAY_MAX_PUSH_BYTES")?,
            max_push_changes: parse(&get, "POSYANDU_RELAY_MAX_PUSH_CHANGES")?,
            max_requests_per_minute: parse(&get, "POSYANDU_RELAY_MAX_REQUESTS_PER_MINUTE")?,
            max_new_docs_per_day: parse(&get, "POSYANDU_RELAY_MAX_NEW_DOCS_PER_DAY")?,
            shutdown_grace_secs: parse(&get, "POSYANDU_RELAY_SHUTDOWN_GRACE_SECS")?,
            link_secret: get("POSYANDU_RELAY_LINK_SECRET").filter(|v| !v.is_empty()).map(Secret),
            header_read_timeout_secs: parse(&get, "POSYANDU_RELAY_HEADER_READ_TIMEOUT_SECS")?,
            max_connections: parse(&get, "POSYANDU_RELAY_MAX_CONNECTIONS")?,
            data_key_file: get("POSYANDU_RELAY_DATA_KEY_FILE").filter(|v| !v.is_empty()).map(PathBuf::from),
        })
    }

    /// Values set in `over` win.
    pub fn overlay(self, over: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            listen: over.listen.or(self.listen),
            db: over.db.or(self.db),
            log_format: over.log_format.or(self.log_format),
            max_push_bytes: over.max_push_bytes.or(self.max_push_bytes),
            max_push_changes: over.max_push_changes.or(self.max_push_changes),
            max_requests_per_minute: over.max_requests_per_minute.or(self.max_requests_per_minute),
            max_new_docs_per_day: over.max_new_docs_per_day.or(self.max_new_docs_per_day),
            shutdown_grace_secs: over.shutdown_grace_secs.or(self.shutdown_grace_secs),
            link_secret: over.link_secret.or(self.link_secret),
            header_read_timeout_secs: over.header_read_timeout_secs.or(self.header_read_timeout_secs),
            max_connections: over.max_connections.or(self.max_connections),
            data_key_file: over.data_key_file.or(self.data_key_file),
        }
    }

    pub fn resolve(self) -> Config {
        let d = Config::default();
        Config {
            listen: self.listen.unwrap_or(d.listen),
            db: self.db.unwrap_or(d.db),
            log_format: self.log_format.unwrap_or(d.log_format),
            limits: Limits {
                max_push_bytes: self.max_push_bytes.unwrap_or(d.limits.max_push_bytes),
                max_push_changes: self.max_push_changes.unwrap_or(d.limits.max_push_changes),
                max_push_ops: d.limits.max_push_ops,
                max_requests_per_minute: self
                    .max_requests_per_minute
                    .filter(|n| *n > 0)
                    .unwrap_or(d.limits.max_requests_per_minute),
                max_new_docs_per_day: self.max_new_docs_per_day.unwrap_or(d.limits.max_new_docs_per_day),
            },
            shutdown_grace_secs: self.shutdown_grace_secs.unwrap_or(d.shutdown_grace_secs),
            link_secret: self.link_secret,
            conn: crate::ConnLimits {
                header_read_timeout: self
                    .header_read_timeout_secs
                    .filter(|s| *s > 0)
                    .map_or(d.conn.header_read_timeout, std::time::Duration::from_secs),
                max_connections: self.max_connections.filter(|n| *n > 0).unwrap_or(d.conn.max_connections),
            },
            data_key_file: self.data_key_file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let file: ConfigLayer =
            toml::from_str("listen = \"0.0.0.0:9000\"\ndb = \"/tmp/a.sqlite3\"\nlog_format = \"json\"").unwrap();
        let env = ConfigLayer::from_env(|k| (k == "POSYANDU_RELAY_DB").then(|| "/tmp/b.sqlite3".to_string())).unwrap();
        let flags = ConfigLayer { listen: Some("127.0.0.1:7000".parse().unwrap()), ..Default::default() };
        let c = file.overlay(env).overlay(flags).resolve();
        assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(c.db, PathBuf::from("/tmp/b.sqlite3"));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.conn, crate::ConnLimits::default());
        assert_eq!(c.conn.header_read_timeout, std::time::Duration::from_secs(20));
        let env = ConfigLayer::from_env(|k| match k {
            "POSYANDU_RELAY_HEADER_READ_TIMEOUT_SECS" => Some("3".into()),
            "POSYANDU_RELAY_MAX_CONNECTIONS" => Some("8".into()),
            _ => None,
        })
        .unwrap()
        .resolve();
        assert_eq!(
            env.conn,
            crate::ConnLimits { header_read_timeout: std::time::Duration::from_secs(3), max_connections: 8 }
        );
        assert!(toml::from_str::<ConfigLayer>("bogus = 1").is_err());
        let file: ConfigLayer = toml::from_str("data_key_file = \"/etc/a.key\"").unwrap();
        let env =
            ConfigLayer::from_env(|k| (k == "POSYANDU_RELAY_DATA_KEY_FILE").then(|| "/etc/b.key".to_string())).unwrap();
        assert_eq!(file.clone().resolve().data_key_file, Some(PathBuf::from("/etc/a.key")));
        assert_eq!(file.overlay(env).resolve().data_key_file, Some(PathBuf::from("/etc/b.key")));
        assert_eq!(ConfigLayer::default().resolve().data_key_file, None);
        assert!(ConfigLayer::from_env(|_| Some("x".into())).is_err());
    }
}
