//! The command line, in the Prometheus exporter convention (`--web.listen-address`
//! and friends), and `--check-config`'s report.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;

use crate::collector::COLLECTORS;
use crate::config::{FlagValues, Settings, DEFAULT_LISTEN_ADDRESS, ENV_VARS};
use crate::duration::PromDuration;

fn after_help() -> String {
    let mut s = String::from("Environment variables (flags win over them):\n");
    for (k, v) in ENV_VARS {
        let _ = writeln!(s, "  {k:<26} {v}");
    }
    s.push_str(
        "  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGHOSTADDR PGSSLROOTCERT\n\
         \x20 PGSSLCERT PGSSLKEY PGCHANNELBINDING PGPASSFILE PGCONNECT_TIMEOUT\n\
         \x20                            libpq's own, for whatever a connection string leaves out\n\n\
         Documentation: docs/configuration.md and docs/metrics.md",
    );
    s
}

#[derive(Debug, Parser)]
#[command(
    name = "pg_migration_exporter",
    version,
    about = "Prometheus exporter that watches PostgreSQL through schema migrations: who blocks whom, \
             what DDL runs, and the signals that decide a rollback.",
    after_help = after_help()
)]
pub struct Flags {
    /// Address to listen on for HTTP requests (host:port; :port for all interfaces; port 0 picks one).
    #[arg(
        long = "web.listen-address",
        value_name = "ADDRESS",
        help_heading = "Web"
    )]
    #[arg(long_help = format!("Address to listen on for HTTP requests [default: {DEFAULT_LISTEN_ADDRESS}]"))]
    pub web_listen_address: Option<String>,

    /// TLS and basic-auth config file in the Prometheus exporter-toolkit format.
    #[arg(long = "web.config.file", value_name = "FILE", help_heading = "Web")]
    pub web_config_file: Option<PathBuf>,

    /// Concurrent HTTP connections served; more are refused with 503 [default: 64].
    #[arg(long = "web.max-connections", value_name = "N", help_heading = "Web",
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub web_max_connections: Option<u32>,

    /// Path under which metrics are served [default: /metrics].
    #[arg(long = "web.telemetry-path", value_name = "PATH", help_heading = "Web")]
    pub web_telemetry_path: Option<String>,

    /// YAML config file: targets, session safety settings, collectors.
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Log level [default: info].
    #[arg(long = "log.level", value_name = "LEVEL", value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: Option<String>,

    /// Log format [default: logfmt].
    #[arg(long = "log.format", value_name = "FORMAT", value_parser = ["logfmt", "json"])]
    pub log_format: Option<String>,

    /// Watch only the targets whose name hashes to I modulo N (0 <= I < N): N replicas
    /// given 0/N .. N-1/N watch every target exactly once (docs/scale.md).
    #[arg(long = "targets.shard", value_name = "I/N", value_parser = crate::config::Shard::parse)]
    pub targets_shard: Option<crate::config::Shard>,

    /// Turn off every collector that no --collector.<name> flag or config file
    /// `enabled` key turns on.
    #[arg(long = "collector.disable-defaults", help_heading = "Collectors")]
    pub collector_disable_defaults: bool,

    /// `--collector.<name>` / `--no-collector.<name>`, in the order given
    /// (filled by [`parse`] from the flags generated out of the registry).
    #[arg(skip)]
    pub collectors: Vec<(String, bool)>,

    /// Validate flags, environment and config file, print what would run, and exit
    /// (non-zero on a problem). Does not connect to any database.
    #[arg(long = "check-config")]
    pub check_config: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Plan migration files: the lock each statement takes, rewrites and
    /// hazards (docs/plan.md). Exit 0 without hazards, 1 with, 2 on error.
    Plan(crate::plan::cli::PlanArgs),
}

impl Flags {
    pub fn values(&self) -> FlagValues {
        FlagValues {
            listen_address: self.web_listen_address.clone(),
            web_config_file: self.web_config_file.clone(),
            telemetry_path: self.web_telemetry_path.clone(),
            config_file: self.config_file.clone(),
            log_level: self.log_level.clone(),
            log_format: self.log_format.clone(),
            web_max_connections: self.web_max_connections.map(|n| n as usize),
            collectors: self.collectors.clone(),
            collectors_disable_defaults: self.collector_disable_defaults,
            shard: self.targets_shard,
        }
    }
}

/// The command line: the derived flags plus `--collector.<name>` and
/// `--no-collector.<name>` for every collector in the registry.
pub fn command() -> clap::Command {
    use clap::{Arg, ArgAction, CommandFactory};
    let defaults = crate::config::CollectorSettings::default();
    let mut cmd = Flags::command();
    for spec in COLLECTORS {
        let on = defaults
            .clone()
            .schedule_mut(spec.name)
            .is_some_and(|s| s.enabled);
        // clap wants 'static ids; the flags are built once per process.
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        cmd = cmd
            .arg(
                Arg::new(leak(format!("collector.{}", spec.name)))
                    .long(leak(format!("collector.{}", spec.name)))
                    .action(ArgAction::SetTrue)
                    .help_heading("Collectors")
                    .help(format!(
                        "Enable the {} collector [default: {}]: {}.",
                        spec.name,
                        if on { "enabled" } else { "disabled" },
                        spec.about
                    )),
            )
            .arg(
                Arg::new(leak(format!("no-collector.{}", spec.name)))
                    .long(leak(format!("no-collector.{}", spec.name)))
                    .action(ArgAction::SetTrue)
                    .help_heading("Collectors")
                    .help(format!("Disable the {} collector.", spec.name)),
            );
    }
    cmd
}

/// Parses the process's command line (exits on an error or `--help`).
pub fn parse() -> Flags {
    use clap::FromArgMatches;
    let m = command().get_matches();
    let mut flags = Flags::from_arg_matches(&m).unwrap_or_else(|e| e.exit());
    flags.collectors = collector_flags(&m);
    flags
}

/// The collector flags given, in command-line order, so that the last of
/// `--collector.x` and `--no-collector.x` wins.
fn collector_flags(m: &clap::ArgMatches) -> Vec<(String, bool)> {
    let mut given: Vec<(usize, String, bool)> = Vec::new();
    for spec in COLLECTORS {
        for (prefix, on) in [("collector.", true), ("no-collector.", false)] {
            let id = format!("{prefix}{}", spec.name);
            if m.get_flag(&id) {
                given.push((m.index_of(&id).unwrap_or(0), spec.name.to_string(), on));
            }
        }
    }
    given.sort_by_key(|g| g.0);
    given.into_iter().map(|(_, n, on)| (n, on)).collect()
}

/// What `--check-config` prints: the effective settings, passwords redacted.
#[allow(clippy::too_many_lines)] // a flat listing of every resolved setting for --check-config
pub fn describe(s: &Settings) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "config OK");
    let _ = writeln!(
        o,
        "config file: {}",
        s.config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none)".into())
    );
    let _ = writeln!(o, "listen address: {}", s.listen_address);
    let _ = writeln!(o, "telemetry path: {}", s.telemetry_path);
    let _ = writeln!(o, "max connections: {}", s.web_max_connections);
    let _ = writeln!(
        o,
        "web config: {}",
        s.web_config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none: plain HTTP, no auth)".into())
    );
    let _ = writeln!(o, "log: level={} format={:?}", s.log_level, s.log_format);
    let ss = &s.session;
    let _ = writeln!(
        o,
        "session: application_name={} statement_timeout={} lock_timeout={} idle_in_transaction_session_timeout={} connect_timeout={}",
        ss.application_name,
        PromDuration(ss.statement_timeout),
        PromDuration(ss.lock_timeout),
        PromDuration(ss.idle_in_transaction_session_timeout),
        PromDuration(ss.connect_timeout),
    );
    match s.shard {
        Some(sh) => {
            let _ = writeln!(o, "targets of shard {sh} ({}):", s.targets.len());
        }
        None => {
            let _ = writeln!(o, "targets ({}):", s.targets.len());
        }
    }
    for t in &s.targets {
        let _ = writeln!(o, "  {}: {}", t.name, t.conninfo);
        if !t.databases.is_empty() || t.discover_databases {
            let _ = writeln!(
                o,
                "    databases: {}{}",
                t.databases.join(", "),
                if t.discover_databases {
                    " (and every database discovered on the server)"
                } else {
                    ""
                }
            );
        }
    }
    if !s.expected_objects.is_empty() {
        let _ = writeln!(o, "expected objects ({}):", s.expected_objects.len());
        for x in &s.expected_objects {
            let _ = writeln!(o, "  {} {} ({:?})", x.kind.as_str(), x.label, x.expect);
        }
    }
    for m in &s.migrations {
        let _ = writeln!(
            o,
            "migrations {} ({}, history table of {}, grace {}): {} planned{}",
            m.path,
            m.tool.as_str(),
            m.history,
            PromDuration(m.grace),
            m.migrations.len(),
            if m.targets.is_empty() {
                String::new()
            } else {
                format!(", targets {}", m.targets.join(", "))
            }
        );
    }
    let _ = writeln!(o, "collectors:");
    for spec in COLLECTORS {
        let sch = (spec.schedule)(s);
        if sch.enabled {
            let _ = writeln!(
                o,
                "  {}: every {} (timeout {}), {:?} lane, {}",
                spec.name,
                PromDuration(sch.interval),
                PromDuration(sch.timeout),
                spec.lane,
                match spec.scope {
                    crate::collector::Scope::Server => "once per target",
                    crate::collector::Scope::Database => "in each database",
                }
            );
        } else {
            let _ = writeln!(o, "  {}: disabled", spec.name);
        }
    }
    if !s.app_collectors.is_empty() {
        let _ = writeln!(o, "app collectors ({}):", s.app_collectors.len());
        for c in &s.app_collectors {
            let metrics: Vec<String> = c
                .metrics
                .iter()
                .map(|m| format!("{} ({})", m.name, m.kind.as_str()))
                .collect();
            let _ = writeln!(
                o,
                "  app:{}: every {} (timeout {}), {}: {}",
                c.name,
                PromDuration(c.interval),
                PromDuration(c.timeout),
                if c.incremental.is_some() {
                    "incremental"
                } else {
                    "snapshot"
                },
                metrics.join(", ")
            );
        }
    }
    if !s.expected_error_codes.is_empty() {
        for (op, codes) in &s.expected_error_codes {
            let codes: Vec<&str> = codes
                .iter()
                .map(crate::app::config::ErrorCode::as_str)
                .collect();
            let _ = writeln!(o, "expected error codes of {op}: {}", codes.join(", "));
        }
    }
    for t in &s.targets {
        let th = s.thresholds.resolve(&t.name);
        let show = |v: Vec<(&str, f64)>| {
            v.iter()
                .map(|(k, x)| format!("{k}={x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !th.signals().is_empty() {
            let _ = writeln!(o, "thresholds of {}: {}", t.name, show(th.signals()));
        }
        for (op, ot) in &th.operations {
            let _ = writeln!(
                o,
                "thresholds of {} operation {op}: {}",
                t.name,
                show(ot.signals())
            );
        }
    }
    let sl = &s.server_log;
    if sl.follow.is_empty() {
        let _ = writeln!(o, "server log: off");
    } else {
        let _ = writeln!(
            o,
            "server log: read every {}, max_codes={} max_series={}{}",
            sl.poll_interval,
            sl.max_codes,
            sl.max_series,
            if sl.codes.is_empty() {
                String::new()
            } else {
                format!(", {} codes allowed", sl.codes.len())
            }
        );
        for f in &sl.follow {
            let _ = writeln!(
                o,
                "  {}: {} ({:?})",
                f.target.as_deref().unwrap_or("(the only target)"),
                f.directory.display(),
                f.format
            );
        }
        for m in &sl.migrations {
            let _ = writeln!(
                o,
                "  migration {}: {} expected, {} forbidden codes",
                m.name,
                m.expected_codes.len(),
                m.forbidden_codes.len()
            );
        }
    }
    o
}
