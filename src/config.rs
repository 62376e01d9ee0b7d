//! Settings: command-line flags, `PGMIG_*` environment variables and the YAML
//! config file, merged into one checked [`Settings`] value.
//!
//! Precedence, highest first: flags, environment, config file, defaults.
//! Every problem is reported with where it came from: the file, line and key
//! for the config file, the variable's name for the environment.
//!
//! Everything is parsed and checked here, once, into types the rest takes
//! as given. Must not touch connections, state or HTTP.

pub mod migrations;
pub mod serverlog;
pub mod thresholds;
pub mod window;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::conninfo::{ConnInfo, ConnInfoError};
use crate::duration::PromDuration;
use crate::yamlpos::locate_line;

/// The default listen address. Port 9786 is not used by postgres_exporter
/// (9187), pg_exporter (9630), sql_exporter (9399) or query-exporter (9560).
pub const DEFAULT_LISTEN_ADDRESS: &str = "0.0.0.0:9786";
pub const DEFAULT_TELEMETRY_PATH: &str = "/metrics";
pub const DEFAULT_APPLICATION_NAME: &str = "pg_migration_exporter";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    File {
        file: String,
        line: Option<usize>,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("flag --{flag}: {message}")]
    Flag { flag: String, message: String },
    #[error("target {target:?}: {message}")]
    Target { target: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "logfmt" => Ok(LogFormat::Logfmt),
            "json" => Ok(LogFormat::Json),
            o => Err(format!("{o:?} is not logfmt or json")),
        }
    }
}

/// How much the exporter logs (`log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn check_log_level(s: &str) -> Result<LogLevel, String> {
    match s {
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warn" => Ok(LogLevel::Warn),
        "error" => Ok(LogLevel::Error),
        o => Err(format!("{o:?} is not one of debug, info, warn, error")),
    }
}

/// Safety settings applied to every session the exporter opens.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    pub application_name: String,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_session_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            application_name: DEFAULT_APPLICATION_NAME.into(),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_millis(100),
            idle_in_transaction_session_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What every collector has: whether it runs, how often, and how long one run may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub enabled: bool,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Declares a collector's config-file section (the schedule keys plus its
/// own options, unknown keys rejected) and its resolved settings.
macro_rules! collector_section {
    ($file:ident => $settings:ident { $($(#[$doc:meta])* $field:ident : $ty:ty = $default:expr),* $(,)? }) => {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $file {
            enabled: Option<bool>,
            interval: Option<PromDuration>,
            timeout: Option<PromDuration>,
            $($field: Option<$ty>,)*
        }

        #[derive(Debug, Clone, PartialEq)]
        pub struct $settings {
            pub schedule: Schedule,
            $($(#[$doc])* pub $field: $ty,)*
        }

        impl $file {
            fn resolve(&self, default: Schedule, key: &str, file: &str) -> Result<$settings, ConfigError> {
                Ok($settings {
                    schedule: merge_schedule(default, self.enabled, self.interval, self.timeout, key, file)?,
                    $($field: self.$field.clone().unwrap_or_else(|| $default),)*
                })
            }
        }
    };
}

collector_section!(FileActivity => ActivitySettings {
    /// Opt-in: add a normalised, truncated `query` label to DDL and oldest-query series.
    query_text: bool = false,
    query_text_max_length: usize = 120,
});
collector_section!(FileLocks => LocksSettings {
    max_blocked_series: usize = 200,
    max_relations: usize = 100,
});
collector_section!(FileProbe => ProbeSettings {});
collector_section!(FileProgress => ProgressSettings {});
collector_section!(FileDatabase => DatabaseSettings {});
collector_section!(FileStatements => StatementsSettings {
    /// Statements kept per poll, by total execution time; the rest are summed into `other`.
    top_n: usize = 50,
    query_text: bool = false,
    query_text_max_length: usize = 120,
});
collector_section!(FileIndexes => IndexesSettings {
    /// Per-index series kept per database (invalid indexes always kept), largest first.
    max_indexes: usize = 2000,
});
collector_section!(FileTables => TablesSettings {
    max_tables: usize = 1000,
});
collector_section!(FileFunctions => FunctionsSettings {
    max_functions: usize = 500,
});
collector_section!(FileExpected => ExpectedSettings {});
collector_section!(FileFrameworks => FrameworksSettings {
    /// Extra schema-history tables of in-house tools.
    custom: Vec<CustomFrameworkTable> = Vec::new(),
});

collector_section!(FileMigrationsCollector => MigrationsSettings {
    /// Applied migrations whose state is served, newest first (every one not applied is).
    max_migrations: usize = 50,
});

/// A schema-history table of an in-house migration tool.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFrameworkTable {
    /// `schema.table` (or `table` in `public`).
    pub table: String,
    /// Column holding the migration's version or name.
    pub version_column: String,
    /// Column holding when it was applied (timestamp), if any.
    pub applied_at_column: Option<String>,
    /// Boolean column that is false for a failed migration, if any.
    pub success_column: Option<String>,
    /// Boolean column that is true for a dirty (half-applied) state, if any.
    pub dirty_column: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectorSettings {
    pub activity: ActivitySettings,
    pub locks: LocksSettings,
    pub probe: ProbeSettings,
    pub progress: ProgressSettings,
    pub database: DatabaseSettings,
    pub statements: StatementsSettings,
    pub indexes: IndexesSettings,
    pub tables: TablesSettings,
    pub functions: FunctionsSettings,
    pub expected_objects: ExpectedSettings,
    pub frameworks: FrameworksSettings,
    pub migrations: MigrationsSettings,
}

fn schedule(interval_ms: u64, timeout_ms: u64) -> Schedule {
    Schedule {
        enabled: true,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
    }
}

impl Default for CollectorSettings {
    fn default() -> Self {
        FileCollectors::default()
            .resolve("<defaults>")
            .expect("the defaults are valid")
    }
}

/// Which schemas and tables the per-object collectors (indexes, tables,
/// functions) look at: PostgreSQL regular expressions, matched in the
/// database. Empty include lists mean everything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFilter {
    #[serde(default)]
    pub include_schemas: Vec<String>,
    #[serde(default)]
    pub exclude_schemas: Vec<String>,
    #[serde(default)]
    pub include_tables: Vec<String>,
    #[serde(default)]
    pub exclude_tables: Vec<String>,
}

/// One database to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSettings {
    pub name: String,
    pub conninfo: ConnInfo,
    /// Databases the per-database collectors run in besides the connection's own.
    pub databases: Vec<String>,
    /// Also run them in every database on the server that accepts connections.
    pub discover_databases: bool,
    /// Databases discovery leaves out (templates always are).
    pub exclude_databases: Vec<String>,
}

impl TargetSettings {
    /// The database the target's connection string names.
    pub fn main_database(&self) -> String {
        self.conninfo
            .dbname
            .clone()
            .unwrap_or_else(|| "postgres".into())
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_address: String,
    pub telemetry_path: String,
    /// TLS and basic auth for HTTP (exporter-toolkit format).
    pub web_config_file: Option<PathBuf>,
    /// The web config file, loaded and checked once.
    pub web: Option<std::sync::Arc<crate::webconfig::WebConfig>>,
    /// Concurrent HTTP connections served; the excess is refused.
    pub web_max_connections: usize,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub config_file: Option<PathBuf>,
    pub session: SessionSettings,
    /// The targets this exporter watches (those of its shard, with `--targets.shard`).
    pub targets: Vec<TargetSettings>,
    /// `--targets.shard`, when given.
    pub shard: Option<Shard>,
    pub collectors: CollectorSettings,
    pub objects: ObjectFilter,
    pub expected_objects: Vec<crate::expected::ExpectedObject>,
    /// The configured migration directories, planned at load.
    pub migrations: Vec<migrations::MigrationSet>,
    pub app_collectors: Vec<crate::app::config::AppCollector>,
    /// Operation -> the error codes the migration expects for it.
    pub expected_error_codes: crate::app::config::ExpectedErrorCodes,
    /// Per-operation and per-target alerting thresholds, served as series.
    pub thresholds: thresholds::ThresholdsConfig,
    pub window: window::WindowConfig,
    /// The bearer token of the window API, read from `window.api_token_file`.
    pub window_token: Option<String>,
    /// Following PostgreSQL's log files for errors by SQLSTATE (off unless `server_log.follow` lists a log).
    pub server_log: serverlog::ServerLogConfig,
    /// The followed logs, resolved against the targets once: (target index, its entry).
    pub server_log_follows: Vec<(usize, serverlog::FollowConfig)>,
}

/// The flags that can override the other sources (see `cli.rs`).
#[derive(Debug, Default, Clone)]
pub struct FlagValues {
    pub listen_address: Option<String>,
    pub web_config_file: Option<PathBuf>,
    pub telemetry_path: Option<String>,
    pub config_file: Option<PathBuf>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub web_max_connections: Option<usize>,
    /// `--collector.<name>` (true) and `--no-collector.<name>` (false), as given.
    pub collectors: Vec<(String, bool)>,
    /// `--collector.disable-defaults`.
    pub collectors_disable_defaults: bool,
    /// `--targets.shard=i/n`.
    pub shard: Option<Shard>,
}

/// `--targets.shard=i/n`: this exporter watches the targets whose name
/// hashes to `i` modulo `n` (0 <= i < n), so that `n` replicas given
/// `0/n` to `n-1/n` watch every target exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?} is not i/n with 0 <= i < n (e.g. 0/3)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the target named `name` belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        shard_hash(name) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a over the target's name: stable across builds, versions and
/// machines (std's hasher is not), so replicas agree on who watches what.
pub fn shard_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `PGMIG_*` variables, read with envy.
#[derive(Debug, Default, Deserialize)]
struct EnvValues {
    database_url: Option<String>,
    database_url_file: Option<PathBuf>,
    target_name: Option<String>,
    web_listen_address: Option<String>,
    web_telemetry_path: Option<String>,
    web_config_file: Option<PathBuf>,
    config_file: Option<PathBuf>,
    log_level: Option<String>,
    log_format: Option<String>,
}

/// The environment variables the exporter reads, for `--help` and the docs.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "PGMIG_DATABASE_URL",
        "connection string of a target (libpq URL or key/value)",
    ),
    (
        "PGMIG_DATABASE_URL_FILE",
        "file holding that connection string (for secrets)",
    ),
    (
        "PGMIG_TARGET_NAME",
        "name of that target in the `target` label",
    ),
    ("PGMIG_WEB_LISTEN_ADDRESS", "same as --web.listen-address"),
    ("PGMIG_WEB_TELEMETRY_PATH", "same as --web.telemetry-path"),
    ("PGMIG_WEB_CONFIG_FILE", "same as --web.config.file"),
    ("PGMIG_CONFIG_FILE", "same as --config.file"),
    ("PGMIG_LOG_LEVEL", "same as --log.level"),
    ("PGMIG_LOG_FORMAT", "same as --log.format"),
];

// ---- the YAML file's shape -------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    web: FileWeb,
    #[serde(default)]
    log: FileLog,
    #[serde(default)]
    session: FileSession,
    #[serde(default)]
    targets: FileTargets,
    #[serde(default)]
    collectors: FileCollectors,
    #[serde(default)]
    objects: ObjectFilter,
    #[serde(default)]
    expected_objects: Vec<crate::expected::ExpectedObject>,
    #[serde(default)]
    migrations: Vec<migrations::FileMigrations>,
    #[serde(default)]
    app_collectors: crate::app::config::AppCollectors,
    #[serde(default)]
    expected_error_codes: crate::app::config::ExpectedErrorCodes,
    #[serde(default)]
    thresholds: thresholds::ThresholdsConfig,
    #[serde(default)]
    window: window::WindowConfig,
    #[serde(default)]
    server_log: serverlog::ServerLogConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWeb {
    listen_address: Option<String>,
    telemetry_path: Option<String>,
    config_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    level: Option<String>,
    format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSession {
    application_name: Option<String>,
    statement_timeout: Option<PromDuration>,
    lock_timeout: Option<PromDuration>,
    idle_in_transaction_session_timeout: Option<PromDuration>,
    connect_timeout: Option<PromDuration>,
}

/// A target as written: `dsn` or `dsn_file` (at most one of them; with
/// neither, the libpq environment variables describe the connection).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawTarget")]
struct FileTarget {
    name: Option<String>,
    source: DsnSource,
    databases: Vec<String>,
    discover_databases: bool,
    exclude_databases: Vec<String>,
}

#[derive(Debug, Clone)]
enum DsnSource {
    Inline(String),
    File(PathBuf),
    Environment,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Option<String>,
    dsn: Option<String>,
    dsn_file: Option<PathBuf>,
    #[serde(default)]
    databases: Vec<String>,
    #[serde(default)]
    discover_databases: bool,
    #[serde(default)]
    exclude_databases: Vec<String>,
}

impl TryFrom<RawTarget> for FileTarget {
    type Error = String;
    fn try_from(r: RawTarget) -> Result<Self, String> {
        let source = match (r.dsn, r.dsn_file) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "target {:?}: set only one of dsn and dsn_file",
                    r.name.unwrap_or_default()
                ))
            }
            (Some(d), None) => DsnSource::Inline(d),
            (None, Some(f)) => DsnSource::File(f),
            (None, None) => DsnSource::Environment,
        };
        if r.name.as_deref() == Some("") {
            return Err("target name must not be empty".into());
        }
        Ok(FileTarget {
            name: r.name,
            source,
            databases: r.databases,
            discover_databases: r.discover_databases,
            exclude_databases: r.exclude_databases,
        })
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(try_from = "Vec<FileTarget>")]
struct FileTargets(Vec<FileTarget>);

impl TryFrom<Vec<FileTarget>> for FileTargets {
    type Error = String;
    fn try_from(v: Vec<FileTarget>) -> Result<Self, String> {
        let mut seen = std::collections::HashSet::new();
        for t in &v {
            if let Some(n) = &t.name {
                if !seen.insert(n.clone()) {
                    return Err(format!("targets: name {n:?} is used twice"));
                }
            }
        }
        Ok(FileTargets(v))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCollectors {
    #[serde(default)]
    activity: FileActivity,
    #[serde(default)]
    locks: FileLocks,
    #[serde(default)]
    probe: FileProbe,
    #[serde(default)]
    progress: FileProgress,
    #[serde(default)]
    database: FileDatabase,
    #[serde(default)]
    statements: FileStatements,
    #[serde(default)]
    indexes: FileIndexes,
    #[serde(default)]
    tables: FileTables,
    #[serde(default)]
    functions: FileFunctions,
    #[serde(default)]
    expected_objects: FileExpected,
    #[serde(default)]
    frameworks: FileFrameworks,
    #[serde(default)]
    migrations: FileMigrationsCollector,
}

impl FileCollectors {
    /// Default schedules: 1 s for what answers "who is blocked now", slower
    /// for catalog and statistics collectors.
    fn resolve(&self, file: &str) -> Result<CollectorSettings, ConfigError> {
        Ok(CollectorSettings {
            activity: self
                .activity
                .resolve(schedule(1000, 2000), "activity", file)?,
            locks: self.locks.resolve(schedule(1000, 2000), "locks", file)?,
            probe: self.probe.resolve(schedule(1000, 2000), "probe", file)?,
            progress: self
                .progress
                .resolve(schedule(5000, 5000), "progress", file)?,
            database: self
                .database
                .resolve(schedule(15_000, 5000), "database", file)?,
            statements: self
                .statements
                .resolve(schedule(30_000, 10_000), "statements", file)?,
            indexes: self
                .indexes
                .resolve(schedule(60_000, 15_000), "indexes", file)?,
            tables: self
                .tables
                .resolve(schedule(60_000, 15_000), "tables", file)?,
            functions: self
                .functions
                .resolve(schedule(60_000, 10_000), "functions", file)?,
            expected_objects: self.expected_objects.resolve(
                schedule(15_000, 10_000),
                "expected_objects",
                file,
            )?,
            frameworks: self
                .frameworks
                .resolve(schedule(15_000, 10_000), "frameworks", file)?,
            migrations: self
                .migrations
                .resolve(schedule(5000, 5000), "migrations", file)?,
        })
    }
}

/// The collectors' keys under `collectors:`, which are also their names in
/// the collector registry (`collector::COLLECTORS`; a test there keeps the
/// two equal) and in `--collector.<name>`.
pub const COLLECTOR_KEYS: &[&str] = &[
    "activity",
    "locks",
    "probe",
    "progress",
    "database",
    "statements",
    "indexes",
    "tables",
    "functions",
    "expected_objects",
    "frameworks",
    "migrations",
];

impl FileCollectors {
    /// `collectors.<name>.enabled` as the file writes it (None: not written).
    fn enabled_in_file(&self, name: &str) -> Option<bool> {
        match name {
            "activity" => self.activity.enabled,
            "locks" => self.locks.enabled,
            "probe" => self.probe.enabled,
            "progress" => self.progress.enabled,
            "database" => self.database.enabled,
            "statements" => self.statements.enabled,
            "indexes" => self.indexes.enabled,
            "tables" => self.tables.enabled,
            "functions" => self.functions.enabled,
            "expected_objects" => self.expected_objects.enabled,
            "frameworks" => self.frameworks.enabled,
            "migrations" => self.migrations.enabled,
            _ => None,
        }
    }
}

impl CollectorSettings {
    /// The whole section of the collector named `name`, as text: what a
    /// reload compares to tell whether the collector's settings changed.
    pub fn section_text(&self, name: &str) -> String {
        match name {
            "activity" => format!("{:?}", self.activity),
            "locks" => format!("{:?}", self.locks),
            "probe" => format!("{:?}", self.probe),
            "progress" => format!("{:?}", self.progress),
            "database" => format!("{:?}", self.database),
            "statements" => format!("{:?}", self.statements),
            "indexes" => format!("{:?}", self.indexes),
            "tables" => format!("{:?}", self.tables),
            "functions" => format!("{:?}", self.functions),
            "expected_objects" => format!("{:?}", self.expected_objects),
            "frameworks" => format!("{:?}", self.frameworks),
            "migrations" => format!("{:?}", self.migrations),
            _ => String::new(),
        }
    }

    /// The schedule of the collector named `name` (a [`COLLECTOR_KEYS`] entry).
    pub fn schedule_mut(&mut self, name: &str) -> Option<&mut Schedule> {
        Some(match name {
            "activity" => &mut self.activity.schedule,
            "locks" => &mut self.locks.schedule,
            "probe" => &mut self.probe.schedule,
            "progress" => &mut self.progress.schedule,
            "database" => &mut self.database.schedule,
            "statements" => &mut self.statements.schedule,
            "indexes" => &mut self.indexes.schedule,
            "tables" => &mut self.tables.schedule,
            "functions" => &mut self.functions.schedule,
            "expected_objects" => &mut self.expected_objects.schedule,
            "frameworks" => &mut self.frameworks.schedule,
            "migrations" => &mut self.migrations.schedule,
            _ => return None,
        })
    }
}

/// Which collectors run: `--collector.<name>`/`--no-collector.<name>` win
/// (the last one given, as with any repeated flag), then the file's
/// `collectors.<name>.enabled`, then the default, which
/// `--collector.disable-defaults` turns off.
fn apply_collector_flags(
    c: &mut CollectorSettings,
    file: &FileCollectors,
    flags: &FlagValues,
) -> Result<(), ConfigError> {
    if let Some((name, _)) = flags
        .collectors
        .iter()
        .find(|(n, _)| !COLLECTOR_KEYS.contains(&n.as_str()))
    {
        return Err(flag_err(
            &format!("collector.{name}"),
            format!("no collector is named {name:?}"),
        ));
    }
    for key in COLLECTOR_KEYS {
        let flag = flags.collectors.iter().rev().find(|(n, _)| n == key);
        let in_file = file.enabled_in_file(key);
        let s = c.schedule_mut(key).expect("every key has a schedule");
        s.enabled = match (flag, in_file) {
            (Some((_, on)), _) => *on,
            (None, Some(on)) => on,
            (None, None) => s.enabled && !flags.collectors_disable_defaults,
        };
    }
    Ok(())
}

fn merge_schedule(
    base: Schedule,
    enabled: Option<bool>,
    interval: Option<PromDuration>,
    timeout: Option<PromDuration>,
    key: &str,
    file: &str,
) -> Result<Schedule, ConfigError> {
    let s = Schedule {
        enabled: enabled.unwrap_or(base.enabled),
        interval: interval.map(|d| d.0).unwrap_or(base.interval),
        timeout: timeout.map(|d| d.0).unwrap_or(base.timeout),
    };
    let err = |message: String| ConfigError::File {
        file: file.to_string(),
        line: None,
        message,
    };
    if s.interval < Duration::from_millis(100) {
        return Err(err(format!(
            "collectors.{key}.interval: must be at least 100ms"
        )));
    }
    if s.timeout < Duration::from_millis(10) {
        return Err(err(format!(
            "collectors.{key}.timeout: must be at least 10ms"
        )));
    }
    Ok(s)
}

/// Parses a YAML config file's text. `file` is used in error messages only.
fn parse_file(text: &str, file: &str) -> Result<FileConfig, ConfigError> {
    // A file named on purpose but empty is more likely a failed mount or a
    // truncated write than a wish for defaults: say so rather than run with
    // nothing the operator configured.
    let blank = text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    });
    if blank {
        return Err(ConfigError::File {
            file: file.to_string(),
            line: Some(1),
            message: "the file is empty (nothing but blank lines and comments): write `{}` for all the defaults, or leave out the config file".into(),
        });
    }
    check_flow_depth(text, file)?;
    serde_path_to_error::deserialize::<_, FileConfig>(serde_yaml_ng::Deserializer::from_str(text))
        .map_err(|e| yaml_error(e, file, text))
}

/// The deepest nesting of `[` and `{` a config file may use. Real ones
/// use a few levels; the YAML parser slows down sharply on tens of
/// thousands (a 200 kB file took minutes), so refuse those up front.
const MAX_FLOW_DEPTH: usize = 32;

fn check_flow_depth(text: &str, file: &str) -> Result<(), ConfigError> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<char> = None;
    let mut prev = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\n') => {
                line += 1;
                // Plain YAML strings do not span lines inside flow
                // collections often enough to matter; quotes do.
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if !prev.is_alphanumeric() => quote = Some(c),
            (None, '#') if prev.is_whitespace() => {
                // A comment: skip to the end of the line.
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        break;
                    }
                }
                prev = '\n';
                continue;
            }
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(ConfigError::File {
                        file: file.to_string(),
                        line: Some(line),
                        message: format!(
                            "nesting deeper than {MAX_FLOW_DEPTH} levels of [ and {{: not a config file?"
                        ),
                    });
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    Ok(())
}

/// `--web.max-connections` by default: a few scrapers and a deploy
/// pipeline need a handful; the cap bounds memory under a connection flood.
pub const DEFAULT_WEB_MAX_CONNECTIONS: usize = 64;

/// Config files larger than this are refused before they are parsed: a
/// real one is a few kilobytes, and a huge one is a mistake (or a path to
/// something that is not a config file) that would only cost memory.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a config file: at most [`MAX_CONFIG_BYTES`], UTF-8, with the line
/// of the first invalid byte named.
fn read_config_text(p: &std::path::Path, name: &str) -> Result<String, ConfigError> {
    use std::io::Read as _;
    let err = |line: Option<usize>, message: String| ConfigError::File {
        file: name.to_string(),
        line,
        message,
    };
    if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) {
        return Err(err(None, "not a regular file".into()));
    }
    let f = std::fs::File::open(p).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(None, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(err(
            None,
            format!(
                "the file is larger than {} MiB: not a config file?",
                MAX_CONFIG_BYTES >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        err(
            Some(line),
            format!("not valid UTF-8 (byte {at}): config files are UTF-8 text"),
        )
    })
}

/// File, line and the full key path (serde_path_to_error knows the key even
/// where serde_yaml only knows the enclosing mapping).
fn yaml_error(
    e: serde_path_to_error::Error<serde_yaml_ng::Error>,
    file: &str,
    text: &str,
) -> ConfigError {
    let mut path = e.path().to_string();
    let inner = e.into_inner();
    // The key's own line for errors in a value (serde_yaml knows only the
    // enclosing mapping's), the parser's for syntax errors found further
    // down: the later of the two is right in both cases.
    let mut line = match (locate_line(text, &path), inner.location().map(|l| l.line())) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    // "End of stream" errors are placed after the last line.
    let last = text.lines().count().max(1);
    line = line.map(|l| l.min(last));
    let mut message = inner.to_string();
    if message.contains("cannot start any token")
        && line
            .and_then(|l| text.lines().nth(l - 1))
            .is_some_and(|l| l.contains('\t'))
    {
        message = message.replacen(
            "cannot start any token",
            "cannot start any token (a tab: YAML indents with spaces)",
            1,
        );
    }
    // A key given twice: point at the second one, where the mistake is.
    if let Some(field) = message
        .split_once("duplicate field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(f, _)| f.to_string())
    {
        let full = if path == "." || path.is_empty() {
            field.clone()
        } else {
            format!("{path}.{field}")
        };
        if let Some(first) = locate_line(text, &full) {
            let lines: Vec<&str> = text.lines().collect();
            let indent = |l: &str| l.len() - l.trim_start().len();
            let first_indent = indent(lines[first - 1]);
            if let Some(i) = lines.iter().enumerate().skip(first).find_map(|(i, l)| {
                (indent(l) == first_indent && l.trim_start().starts_with(&format!("{field}:")))
                    .then_some(i)
            }) {
                line = Some(i + 1);
                path = full;
                message = format!("given twice (first on line {first})");
            }
        }
    }
    // serde_yaml appends " at line L column C"; the line is already in the prefix.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // serde_yaml may prefix the enclosing mapping's path; ours is more precise.
    if let Some((prefix, rest)) = message.split_once(": ") {
        if !prefix.contains(' ') && path.starts_with(prefix) {
            message = rest.to_string();
        }
    }
    if path != "." && !path.is_empty() {
        message = format!("{path}: {message}");
    }
    ConfigError::File {
        file: file.to_string(),
        line,
        message,
    }
}

impl Settings {
    /// Loads settings from the flags, the process environment and the config file.
    pub fn load(flags: &FlagValues) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(flags, &vars)
    }

    /// Like [`Settings::load`] with an explicit environment, for tests.
    pub fn load_with_env(
        flags: &FlagValues,
        vars: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let lookup = |k: &str| {
            vars.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let env: EnvValues = envy::prefixed("PGMIG_")
            .from_iter(vars.iter().cloned())
            .map_err(|e| ConfigError::Env {
                var: "PGMIG_*".into(),
                message: e.to_string(),
            })?;

        let config_file = flags.config_file.clone().or(env.config_file.clone());
        let (file_cfg, file_name) = match &config_file {
            Some(p) => {
                let name = p.display().to_string();
                let text = read_config_text(p, &name)?;
                (parse_file(&text, &name)?, name)
            }
            None => (FileConfig::default(), "<no config file>".to_string()),
        };

        let (log_level, log_format) = log_settings(flags, &env, &file_cfg, &file_name)?;
        let (listen_address, telemetry_path, web_config_file, web) =
            web_settings(flags, &env, &file_cfg)?;

        let session = session_settings(&file_cfg, &file_name)?;

        let mut collectors = file_cfg.collectors.resolve(&file_name)?;
        apply_collector_flags(&mut collectors, &file_cfg.collectors, flags)?;

        let targets = target_settings(&env, &file_cfg, &file_name, &lookup)?;
        check_target_references(&file_cfg, &file_name, &targets)?;
        let window_token = window_token(&file_cfg, &file_name)?;
        let target_names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        file_cfg
            .thresholds
            .validate(&target_names)
            .map_err(|(key, m)| file_err(&file_name, &key, m))?;
        file_cfg
            .server_log
            .validate(&target_names)
            .map_err(|(key, m)| file_err(&file_name, &key, m))?;
        let migrations =
            migration_sets(&file_cfg, &file_name, config_file.as_deref(), &target_names)?;
        let mut names = std::collections::HashSet::new();
        for t in &targets {
            if !names.insert(t.name.as_str()) {
                return Err(ConfigError::Target {
                    target: t.name.clone(),
                    message: "two targets have this name; names must be unique".into(),
                });
            }
        }

        Ok(Settings {
            listen_address,
            telemetry_path,
            web_config_file,
            web,
            web_max_connections: flags
                .web_max_connections
                .unwrap_or(DEFAULT_WEB_MAX_CONNECTIONS),
            log_level,
            log_format,
            config_file,
            session,
            targets: shard_targets(targets.clone(), flags.shard),
            shard: flags.shard,
            collectors,
            objects: file_cfg.objects.clone(),
            expected_objects: file_cfg.expected_objects.clone(),
            migrations,
            app_collectors: file_cfg.app_collectors.0.clone(),
            expected_error_codes: file_cfg.expected_error_codes.clone(),
            thresholds: file_cfg.thresholds.clone(),
            window: file_cfg.window.clone(),
            window_token,
            server_log_follows: shard_follows(
                &targets,
                file_cfg.server_log.resolve(&target_names),
                flags.shard,
            ),
            server_log: file_cfg.server_log.clone(),
        })
    }
}

/// The targets of this shard (all without `--targets.shard`). Applied after
/// every check, so that a config is valid or not whatever the shard.
fn shard_targets(targets: Vec<TargetSettings>, shard: Option<Shard>) -> Vec<TargetSettings> {
    match shard {
        Some(sh) => targets
            .into_iter()
            .filter(|t| sh.contains(&t.name))
            .collect(),
        None => targets,
    }
}

/// The followed logs, their target indices renumbered into the shard's
/// target list (followed logs of other shards' targets left out).
fn shard_follows(
    all: &[TargetSettings],
    follows: Vec<(usize, &serverlog::FollowConfig)>,
    shard: Option<Shard>,
) -> Vec<(usize, serverlog::FollowConfig)> {
    let kept: Vec<usize> = (0..all.len())
        .filter(|&i| shard.is_none_or(|sh| sh.contains(&all[i].name)))
        .collect();
    follows
        .into_iter()
        .filter_map(|(ti, f)| Some((kept.iter().position(|&k| k == ti)?, f.clone())))
        .collect()
}

/// What a reload cannot change: the HTTP side (listen address, telemetry
/// path, TLS and basic auth, connection cap), logging, the migration
/// window (its settings and API token) and the server-log followers. The
/// running values stay in `new`; `changed` hears each key that differs.
pub fn keep_restart_only(
    old: &Settings,
    mut new: Settings,
    mut changed: impl FnMut(&str),
) -> Settings {
    if new.listen_address != old.listen_address {
        changed("web.listen_address");
    }
    if new.telemetry_path != old.telemetry_path {
        changed("web.telemetry_path");
    }
    if new.web_config_file != old.web_config_file {
        changed("web.config_file");
    }
    if (new.log_level, new.log_format) != (old.log_level, old.log_format) {
        changed("log");
    }
    if new.window != old.window || new.window_token != old.window_token {
        changed("window");
    }
    if new.server_log != old.server_log {
        changed("server_log");
    }
    new.listen_address = old.listen_address.clone();
    new.telemetry_path = old.telemetry_path.clone();
    new.web_config_file = old.web_config_file.clone();
    new.web = old.web.clone();
    new.web_max_connections = old.web_max_connections;
    new.log_level = old.log_level;
    new.log_format = old.log_format;
    new.window = old.window.clone();
    new.window_token = old.window_token.clone();
    new.server_log = old.server_log.clone();
    new.server_log_follows = old.server_log_follows.clone();
    new
}

/// `log.level` and `log.format`: flag, then environment, then file.
fn log_settings(
    flags: &FlagValues,
    env: &EnvValues,
    file_cfg: &FileConfig,
    file_name: &str,
) -> Result<(LogLevel, LogFormat), ConfigError> {
    let log_level = match (&flags.log_level, &env.log_level, &file_cfg.log.level) {
        (Some(v), _, _) => check_log_level(v).map_err(|m| flag_err("log.level", m))?,
        (None, Some(v), _) => check_log_level(v).map_err(|m| env_err("PGMIG_LOG_LEVEL", m))?,
        (None, None, Some(v)) => {
            check_log_level(v).map_err(|m| file_err(file_name, "log.level", m))?
        }
        _ => LogLevel::Info,
    };
    let log_format = match (&flags.log_format, &env.log_format, &file_cfg.log.format) {
        (Some(v), _, _) => LogFormat::parse(v).map_err(|m| flag_err("log.format", m))?,
        (None, Some(v), _) => LogFormat::parse(v).map_err(|m| env_err("PGMIG_LOG_FORMAT", m))?,
        (None, None, Some(v)) => {
            LogFormat::parse(v).map_err(|m| file_err(file_name, "log.format", m))?
        }
        _ => LogFormat::Logfmt,
    };
    Ok((log_level, log_format))
}

/// Listen address, telemetry path and the web config file, loaded once.
type WebSettings = (
    String,
    String,
    Option<PathBuf>,
    Option<std::sync::Arc<crate::webconfig::WebConfig>>,
);

fn web_settings(
    flags: &FlagValues,
    env: &EnvValues,
    file_cfg: &FileConfig,
) -> Result<WebSettings, ConfigError> {
    let listen_address = flags
        .listen_address
        .clone()
        .or(env.web_listen_address.clone())
        .or(file_cfg.web.listen_address.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN_ADDRESS.to_string());
    let telemetry_path = flags
        .telemetry_path
        .clone()
        .or(env.web_telemetry_path.clone())
        .or(file_cfg.web.telemetry_path.clone())
        .unwrap_or_else(|| DEFAULT_TELEMETRY_PATH.to_string());
    let web_config_file = flags
        .web_config_file
        .clone()
        .or(env.web_config_file.clone())
        .or(file_cfg.web.config_file.clone());
    let web = match &web_config_file {
        Some(p) => Some(std::sync::Arc::new(
            crate::webconfig::WebConfig::load(p)
                .map_err(|e| flag_err("web.config.file", e.to_string()))?,
        )),
        None => None,
    };
    if !telemetry_path.starts_with('/') || telemetry_path == "/" {
        return Err(flag_err(
            "web.telemetry-path",
            format!("{telemetry_path:?} must start with / and not be / itself"),
        ));
    }
    Ok((listen_address, telemetry_path, web_config_file, web))
}

/// The `session` section over the defaults.
fn session_settings(
    file_cfg: &FileConfig,
    file_name: &str,
) -> Result<SessionSettings, ConfigError> {
    let d = SessionSettings::default();
    let fs = &file_cfg.session;
    let session = SessionSettings {
        application_name: fs.application_name.clone().unwrap_or(d.application_name),
        statement_timeout: fs
            .statement_timeout
            .map(|x| x.0)
            .unwrap_or(d.statement_timeout),
        lock_timeout: fs.lock_timeout.map(|x| x.0).unwrap_or(d.lock_timeout),
        idle_in_transaction_session_timeout: fs
            .idle_in_transaction_session_timeout
            .map(|x| x.0)
            .unwrap_or(d.idle_in_transaction_session_timeout),
        connect_timeout: fs.connect_timeout.map(|x| x.0).unwrap_or(d.connect_timeout),
    };
    if session.application_name.is_empty() {
        return Err(file_err(
            file_name,
            "session.application_name",
            "must not be empty: it is how the exporter recognises and excludes its own sessions"
                .into(),
        ));
    }
    Ok(session)
}

/// The file's targets, then the one from `PGMIG_DATABASE_URL(_FILE)` and
/// libpq's `PG*` variables (also when the file lists none).
fn target_settings(
    env: &EnvValues,
    file_cfg: &FileConfig,
    file_name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<TargetSettings>, ConfigError> {
    let mut targets = Vec::new();
    for (i, t) in file_cfg.targets.0.iter().enumerate() {
        let key = format!("targets[{i}]");
        let mut ci = match &t.source {
            DsnSource::Inline(s) => ConnInfo::parse(s)
                .map_err(|e| file_err(file_name, &format!("{key}.dsn"), e.to_string()))?,
            DsnSource::File(p) => {
                read_dsn_file(p).map_err(|m| file_err(file_name, &format!("{key}.dsn_file"), m))?
            }
            DsnSource::Environment => ConnInfo::default(),
        };
        ci.fill_from_env(lookup)
            .map_err(|e| file_err(file_name, &key, e.to_string()))?;
        let name = t.name.clone().unwrap_or_else(|| ci.default_name());
        targets.push(TargetSettings {
            name,
            conninfo: ci,
            databases: t.databases.clone(),
            discover_databases: t.discover_databases,
            exclude_databases: t.exclude_databases.clone(),
        });
    }
    let env_dsn = match (&env.database_url, &env.database_url_file) {
        (Some(_), Some(_)) => {
            return Err(env_err(
                "PGMIG_DATABASE_URL_FILE",
                "set only one of PGMIG_DATABASE_URL and PGMIG_DATABASE_URL_FILE".into(),
            ))
        }
        (Some(s), None) => {
            Some(ConnInfo::parse(s).map_err(|e| env_err("PGMIG_DATABASE_URL", e.to_string()))?)
        }
        (None, Some(p)) => {
            Some(read_dsn_file(p).map_err(|m| env_err("PGMIG_DATABASE_URL_FILE", m))?)
        }
        (None, None) => None,
    };
    if env_dsn.is_some() || targets.is_empty() {
        let mut ci = env_dsn.unwrap_or_default();
        ci.fill_from_env(lookup)
            .map_err(|e| env_err("PG*", e.to_string()))?;
        let name = env.target_name.clone().unwrap_or_else(|| ci.default_name());
        targets.push(TargetSettings {
            name,
            conninfo: ci,
            databases: Vec::new(),
            discover_databases: false,
            exclude_databases: Vec::new(),
        });
    }
    Ok(targets)
}

/// App collectors and expected objects name only configured targets.
fn check_target_references(
    file_cfg: &FileConfig,
    file_name: &str,
    targets: &[TargetSettings],
) -> Result<(), ConfigError> {
    for (i, c) in file_cfg.app_collectors.0.iter().enumerate() {
        for t in &c.targets {
            if !targets.iter().any(|x| &x.name == t) {
                return Err(file_err(
                    file_name,
                    &format!("app_collectors[{i}].targets"),
                    format!("app collector {}: no target is named {t:?}", c.name),
                ));
            }
        }
    }
    for (i, o) in file_cfg.expected_objects.iter().enumerate() {
        if let Some(t) = &o.target {
            if !targets.iter().any(|x| &x.name == t) {
                return Err(file_err(
                    file_name,
                    &format!("expected_objects[{i}].target"),
                    format!("no target is named {t:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// Plans the `migrations` entries (paths relative to the config file's
/// directory) and checks that each `after:` of an expected object names a
/// version of a set that watches the object's target.
fn migration_sets(
    file_cfg: &FileConfig,
    file_name: &str,
    config_file: Option<&Path>,
    target_names: &[String],
) -> Result<Vec<migrations::MigrationSet>, ConfigError> {
    let dir = config_file
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut sets = Vec::with_capacity(file_cfg.migrations.len());
    for (i, m) in file_cfg.migrations.iter().enumerate() {
        let set = m
            .resolve(&format!("migrations[{i}]"), &dir, target_names)
            .map_err(|(key, msg)| file_err(file_name, &key, msg))?;
        sets.push(set);
    }
    for (i, o) in file_cfg.expected_objects.iter().enumerate() {
        let Some(v) = &o.after else { continue };
        let watching: Vec<&migrations::MigrationSet> = sets
            .iter()
            .filter(|s| o.target.as_ref().is_none_or(|t| s.applies_to(t)))
            .collect();
        let known = watching.iter().any(|s| s.find(v).is_some());
        // A version in a file that failed to parse is unknown here; the
        // parse error is what to report then, not this reference.
        if !known && !watching.iter().any(|s| !s.errors.is_empty()) {
            return Err(file_err(
                file_name,
                &format!("expected_objects[{i}].after"),
                format!("no configured migration (the migrations section) has version {v:?}"),
            ));
        }
    }
    Ok(sets)
}

/// Checks the `window` section and reads its API token, if any.
fn window_token(file_cfg: &FileConfig, file_name: &str) -> Result<Option<String>, ConfigError> {
    file_cfg
        .window
        .validate()
        .map_err(|m| file_err(file_name, "window", m))?;
    let token = match &file_cfg.window.api_token_file {
        Some(p) => {
            let t = crate::limits::read_bounded(p, crate::limits::MAX_SECRET_FILE_BYTES)
                .map_err(|e| file_err(file_name, "window.api_token_file", e.to_string()))?
                .trim()
                .to_string();
            if t.len() < 16 {
                return Err(file_err(
                    file_name,
                    "window.api_token_file",
                    "the token must be at least 16 characters".into(),
                ));
            }
            Some(t)
        }
        None => None,
    };
    Ok(token)
}

fn read_dsn_file(p: &Path) -> Result<ConnInfo, String> {
    let text = crate::limits::read_bounded(p, crate::limits::MAX_SECRET_FILE_BYTES)
        .map_err(|e| e.to_string())?;
    ConnInfo::parse(text.trim()).map_err(|e: ConnInfoError| format!("{}: {e}", p.display()))
}

fn flag_err(flag: &str, message: String) -> ConfigError {
    ConfigError::Flag {
        flag: flag.into(),
        message,
    }
}

fn env_err(var: &str, message: String) -> ConfigError {
    ConfigError::Env {
        var: var.into(),
        message,
    }
}

fn file_err(file: &str, key: &str, message: String) -> ConfigError {
    ConfigError::File {
        file: file.into(),
        line: None,
        message: format!("{key}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = parse_file("collectors:\n  locks:\n    intervall: 1s\n", "x.yml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.yml:3"), "{msg}");
        assert!(msg.contains("intervall"), "{msg}");
    }

    #[test]
    fn bad_duration_names_line_and_key() {
        let err = parse_file("collectors:\n  activity:\n    interval: 1x\n", "c.yml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("c.yml:3"), "{msg}");
        assert!(msg.contains("collectors.activity.interval"), "{msg}");
        assert!(msg.contains("unknown unit"), "{msg}");
    }

    #[test]
    fn target_with_dsn_and_dsn_file_is_rejected() {
        let text = "targets:\n  - name: a\n    dsn: host=x\n    dsn_file: /tmp/y\n";
        let msg = parse_file(text, "t.yml").unwrap_err().to_string();
        assert!(msg.contains("only one of dsn and dsn_file"), "{msg}");
        assert!(msg.starts_with("t.yml:"), "{msg}");
    }

    #[test]
    fn flags_win_over_environment() {
        let flags = FlagValues {
            listen_address: Some("127.0.0.1:1".into()),
            ..Default::default()
        };
        let s = Settings::load_with_env(
            &flags,
            &env(&[
                ("PGMIG_WEB_LISTEN_ADDRESS", "127.0.0.1:2"),
                ("PGMIG_WEB_TELEMETRY_PATH", "/m"),
                ("PGMIG_DATABASE_URL", "postgres://u:p@h:1/d"),
            ]),
        )
        .unwrap();
        assert_eq!(s.listen_address, "127.0.0.1:1");
        assert_eq!(s.telemetry_path, "/m");
        assert_eq!(s.targets.len(), 1);
        assert_eq!(s.targets[0].name, "h:1/d");
    }

    #[test]
    fn libpq_variables_alone_make_a_target() {
        let s = Settings::load_with_env(
            &FlagValues::default(),
            &env(&[
                ("PGHOST", "dbhost"),
                ("PGDATABASE", "app"),
                ("PGUSER", "mon"),
            ]),
        )
        .unwrap();
        assert_eq!(s.targets[0].conninfo.hosts, vec!["dbhost"]);
        assert_eq!(s.targets[0].conninfo.dbname.as_deref(), Some("app"));
        assert_eq!(s.listen_address, DEFAULT_LISTEN_ADDRESS);
    }

    #[test]
    fn after_must_name_a_configured_migration_version() {
        let dir = std::env::temp_dir().join(format!("pgmig-after-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).unwrap();
        std::fs::write(dir.join("db/000002_a.up.sql"), "CREATE TABLE a (id int);\n").unwrap();
        let cfg = dir.join("c.yml");
        let load = |after: &str| {
            std::fs::write(
                &cfg,
                format!("migrations:\n  - {{path: db, tool: golang-migrate}}\nexpected_objects:\n  - {{kind: table, name: public.a, after: '{after}'}}\n"),
            )
            .unwrap();
            let flags = FlagValues {
                config_file: Some(cfg.clone()),
                ..Default::default()
            };
            Settings::load_with_env(&flags, &env(&[("PGHOST", "h")]))
        };
        // Relative to the config file's directory; leading zeros do not matter.
        let s = load("2").unwrap();
        assert_eq!(s.migrations[0].migrations.len(), 1);
        assert_eq!(s.expected_objects[0].migration, "2");
        let msg = load("3").unwrap_err().to_string();
        assert!(msg.contains("expected_objects[0].after"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_log_level_from_env_names_the_variable() {
        let err =
            Settings::load_with_env(&FlagValues::default(), &env(&[("PGMIG_LOG_LEVEL", "loud")]))
                .unwrap_err();
        assert!(err.to_string().contains("PGMIG_LOG_LEVEL"), "{err}");
    }
}
