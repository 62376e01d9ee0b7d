//! Server errors by SQLSTATE: follows PostgreSQL's own log files (jsonlog,
//! csvlog, or stderr with `%e` in `log_line_prefix`) and counts ERROR, FATAL
//! and PANIC entries by code. No catalog view has these counts.
//!
//! Off by default: it runs for the targets listed under `server_log.follow`
//! in the config file (docs/server-log.md). Each followed target gets a
//! follower ([`follow`]) polled every `poll_interval` on the blocking pool;
//! its counters live here, since the exporter started, and are published as
//! one snapshot per poll. Parsing reads only the fields needed ([`parse`]);
//! the label sets are bounded ([`counts`]).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_server_errors_total` | counter | target, code, code_class, severity, datname, usename |
//! | `pgmig_server_log_lines_total` | counter | target |
//! | `pgmig_server_log_unparsed_lines_total` | counter | target |
//! | `pgmig_server_log_lag_bytes` | gauge | target |
//! | `pgmig_server_log_following` | gauge | target |
//! | `pgmig_server_log_reopens_total` | counter | target, reason |
//! | `pgmig_server_log_own_errors_total` | counter | target |
//! | `pgmig_server_error_code_expected` | gauge | target, code, migration |
//! | `pgmig_server_error_code_forbidden` | gauge | target, code, migration |
//! | `pgmig_sqlstate_class_info` | gauge | code_class, class_name |

pub mod counts;
pub mod follow;
pub mod parse;
pub mod sqlstate;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::exposition::Rendered;
use serde::Deserialize;

use crate::config::Settings;
use crate::duration::PromDuration;
use crate::exposition::Family;
use crate::state::State;

pub use counts::Counts;
pub use follow::{FileFormat, Follower, Glob, Options};
pub use parse::Prefix;
pub use sqlstate::SqlState;

/// Bytes one poll reads at most; the rest is read by the next poll, at once.
pub const POLL_BUDGET: u64 = 64 << 20;

// ---- configuration ---------------------------------------------------------

/// The `server_log` section of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerLogConfig {
    /// The log of each target to follow; empty (the default): off.
    #[serde(default)]
    pub follow: Vec<FollowConfig>,
    /// How often the log is read.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: PromDuration,
    /// Allow-list: only these codes (and the migrations' expected and
    /// forbidden ones) get their own series; the rest is `code="other"`.
    #[serde(default)]
    pub codes: Vec<SqlState>,
    /// Without an allow-list: how many distinct codes get their own series
    /// (the first seen; later ones are `other`).
    #[serde(default = "default_max_codes")]
    pub max_codes: usize,
    /// Label sets of `pgmig_server_errors_total` per target; beyond it new
    /// (datname, usename) combinations are counted as `other`.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// The codes each migration expects or forbids.
    #[serde(default)]
    pub migrations: Vec<MigrationCodes>,
}

fn default_poll_interval() -> PromDuration {
    PromDuration(Duration::from_secs(1))
}
fn default_max_codes() -> usize {
    50
}
fn default_max_series() -> usize {
    500
}

impl Default for ServerLogConfig {
    fn default() -> Self {
        ServerLogConfig {
            follow: Vec::new(),
            poll_interval: default_poll_interval(),
            codes: Vec::new(),
            max_codes: default_max_codes(),
            max_series: default_max_series(),
            migrations: Vec::new(),
        }
    }
}

/// Which log format to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormatChoice {
    Jsonlog,
    Csvlog,
    Stderr,
    /// `.json` files if there are any, else `.csv`, else `.log` (stderr, when
    /// `log_line_prefix` is set).
    #[default]
    Auto,
}

/// The log of one target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowConfig {
    /// The target's name; may be left out when there is only one target.
    pub target: Option<String>,
    /// PostgreSQL's `log_directory` as the exporter sees it.
    pub directory: PathBuf,
    #[serde(default)]
    pub format: LogFormatChoice,
    /// Only files whose names match (`*`, `?`), e.g. `postgresql-*`; the
    /// format's suffix is required besides.
    pub pattern: Option<FilePattern>,
    /// The server's `log_line_prefix`, for stderr files; must contain `%e`.
    pub log_line_prefix: Option<LogLinePrefix>,
}

/// A file-name pattern from the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FilePattern(pub Glob);

impl TryFrom<String> for FilePattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() || s.contains('/') {
            return Err(format!(
                "{s:?}: a file-name pattern (with * and ?), not a path"
            ));
        }
        Ok(FilePattern(Glob(s)))
    }
}

/// A `log_line_prefix` from the config, checked when read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LogLinePrefix {
    pub text: String,
    pub prefix: Prefix,
}

impl TryFrom<String> for LogLinePrefix {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let prefix = Prefix::parse(&text)?;
        Ok(LogLinePrefix { text, prefix })
    }
}

/// (code, migration) pairs.
pub type CodeList = Vec<(SqlState, String)>;

/// The codes a migration expects (the application handles them) and forbids
/// (they must be gone once it is applied, e.g. 42P10 after the fix).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationCodes {
    pub name: String,
    /// The target it applies to; every followed target when left out.
    pub target: Option<String>,
    #[serde(default)]
    pub expected_codes: Vec<SqlState>,
    #[serde(default)]
    pub forbidden_codes: Vec<SqlState>,
}

impl ServerLogConfig {
    /// Checks the section against the target names. Errors are (key, message).
    pub fn validate(&self, targets: &[String]) -> Result<(), (String, String)> {
        let err = |k: String, m: String| Err((format!("server_log.{k}"), m));
        if self.poll_interval.0 < Duration::from_millis(100) {
            return err("poll_interval".into(), "must be at least 100ms".into());
        }
        if self.max_series == 0 {
            return err("max_series".into(), "must be at least 1".into());
        }
        let mut followed = Vec::new();
        for (i, f) in self.follow.iter().enumerate() {
            let name = match &f.target {
                Some(t) if targets.contains(t) => t.clone(),
                Some(t) => {
                    return err(
                        format!("follow[{i}].target"),
                        format!("no target is named {t:?}"),
                    )
                }
                None if targets.len() == 1 => targets[0].clone(),
                None => {
                    return err(
                        format!("follow[{i}].target"),
                        format!("name the target: there are {} targets", targets.len()),
                    )
                }
            };
            if followed.contains(&name) {
                return err(
                    format!("follow[{i}].target"),
                    format!("target {name:?} is followed twice"),
                );
            }
            followed.push(name);
            if f.directory.as_os_str().is_empty() {
                return err(format!("follow[{i}].directory"), "must not be empty".into());
            }
            if f.format == LogFormatChoice::Stderr && f.log_line_prefix.is_none() {
                return err(
                    format!("follow[{i}].log_line_prefix"),
                    "format stderr needs the server's log_line_prefix, with %e (the SQLSTATE)"
                        .into(),
                );
            }
        }
        for (i, m) in self.migrations.iter().enumerate() {
            if m.name.is_empty() {
                return err(format!("migrations[{i}].name"), "must not be empty".into());
            }
            if self.follow.is_empty() {
                return err(
                    format!("migrations[{i}]"),
                    "no log is followed (server_log.follow is empty)".into(),
                );
            }
            if let Some(t) = &m.target {
                if !followed.contains(t) {
                    return err(
                        format!("migrations[{i}].target"),
                        format!("target {t:?} has no server_log.follow entry"),
                    );
                }
            }
            if let Some(c) = m
                .expected_codes
                .iter()
                .find(|c| m.forbidden_codes.contains(c))
            {
                return err(
                    format!("migrations[{i}]"),
                    format!("{c} is both expected and forbidden"),
                );
            }
        }
        Ok(())
    }

    /// The followed targets: (target index, its entry). Call after `validate`.
    pub fn resolve<'a>(&'a self, targets: &[String]) -> Vec<(usize, &'a FollowConfig)> {
        self.follow
            .iter()
            .filter_map(|f| {
                let ti = match &f.target {
                    Some(t) => targets.iter().position(|x| x == t)?,
                    None => 0,
                };
                Some((ti, f))
            })
            .collect()
    }

    /// (code, migration) pairs a target expects and forbids.
    pub fn lists(&self, target: &str) -> (CodeList, CodeList) {
        let mut expected = Vec::new();
        let mut forbidden = Vec::new();
        for m in &self.migrations {
            if m.target.as_deref().is_some_and(|t| t != target) {
                continue;
            }
            expected.extend(m.expected_codes.iter().map(|c| (*c, m.name.clone())));
            forbidden.extend(m.forbidden_codes.iter().map(|c| (*c, m.name.clone())));
        }
        (expected, forbidden)
    }
}

impl FollowConfig {
    pub fn options(&self) -> Options {
        let prefix = self.log_line_prefix.as_ref().map(|p| p.prefix.clone());
        let formats = match self.format {
            LogFormatChoice::Jsonlog => vec![FileFormat::Json],
            LogFormatChoice::Csvlog => vec![FileFormat::Csv],
            LogFormatChoice::Stderr => vec![FileFormat::Stderr],
            LogFormatChoice::Auto if prefix.is_some() => {
                vec![FileFormat::Json, FileFormat::Csv, FileFormat::Stderr]
            }
            LogFormatChoice::Auto => vec![FileFormat::Json, FileFormat::Csv],
        };
        Options {
            directory: self.directory.clone(),
            pattern: self.pattern.as_ref().map(|p| p.0.clone()),
            formats,
            prefix,
        }
    }
}

// ---- one target's collector ------------------------------------------------

/// A followed log with its counters.
pub struct TargetLog {
    target: String,
    follower: Follower,
    counts: Counts,
    /// The exporter's `application_name`: its own sessions' errors (a
    /// collector's query cancelled at its timeout, a `lock_timeout`) are not
    /// the application's and must not trip the error-rate rules.
    own_application_name: String,
    own_errors: u64,
    expected: CodeList,
    forbidden: CodeList,
    last_error: Option<String>,
}

impl TargetLog {
    pub fn new(
        target: &str,
        cfg: &ServerLogConfig,
        follow: &FollowConfig,
        own_application_name: &str,
    ) -> TargetLog {
        let (expected, forbidden) = cfg.lists(target);
        let always: Vec<SqlState> = expected.iter().chain(&forbidden).map(|(c, _)| *c).collect();
        TargetLog {
            target: target.to_string(),
            follower: Follower::new(follow.options()),
            counts: Counts::new(&cfg.codes, &always, cfg.max_codes, cfg.max_series),
            own_application_name: own_application_name.to_string(),
            own_errors: 0,
            expected,
            forbidden,
            last_error: None,
        }
    }

    /// Reads what is new (at most `budget` bytes). Returns whether it caught up.
    pub fn poll(&mut self, budget: u64) -> bool {
        let (counts, own, own_errors) = (
            &mut self.counts,
            self.own_application_name.as_str(),
            &mut self.own_errors,
        );
        let r = self.follower.poll(budget, &mut |e| {
            if !own.is_empty() && e.application_name == own {
                *own_errors += 1;
            } else {
                counts.add(e)
            }
        });
        match r {
            Ok(caught_up) => {
                if self.last_error.take().is_some() {
                    tracing::info!(target = %self.target, file = %follow::display(&self.follower.stats.file), "reading the server log again");
                }
                caught_up
            }
            Err(e) => {
                let msg = e.to_string();
                if self.last_error.as_deref() != Some(&msg) {
                    tracing::warn!(target = %self.target, error = %msg, "cannot read the server log");
                }
                self.last_error = Some(msg);
                true
            }
        }
    }

    pub fn stats(&self) -> &follow::Stats {
        &self.follower.stats
    }

    pub fn families(&self) -> Vec<Rendered> {
        let t = self.target.as_str();
        let base = [("target", t)];
        let s = &self.follower.stats;
        let mut lines = Family::counter(
            "pgmig_server_log_lines_total",
            "Entries read from the PostgreSQL server log since the exporter started (a multi-line csvlog entry is one; stderr continuation lines are not counted).",
            &base,
        );
        lines.add(&[], s.lines as f64);
        let mut unparsed = Family::counter(
            "pgmig_server_log_unparsed_lines_total",
            "Server log entries that could not be parsed (wrong format or log_line_prefix, a translated severity: set lc_messages to C or en).",
            &base,
        );
        unparsed.add(&[], s.unparsed as f64);
        let mut lag = Family::gauge(
            "pgmig_server_log_lag_bytes",
            "Bytes of the server log not read yet: from the read position to the end of the current file, plus any newer files.",
            &base,
        );
        lag.add(&[], s.lag_bytes as f64);
        let mut following = Family::gauge(
            "pgmig_server_log_following",
            "1 while the exporter reads a server log file of the target, 0 when the directory or file cannot be read or has no log file yet.",
            &base,
        );
        let ok = self.last_error.is_none() && self.follower.is_following();
        following.add(&[], if ok { 1.0 } else { 0.0 });
        let mut reopens = Family::counter(
            "pgmig_server_log_reopens_total",
            "Times the exporter moved to another server log file: reason rotation (a newer file, after reading the old one to its end) or truncation (the file shrank; read again from its start).",
            &base,
        );
        reopens.add(&[("reason", "rotation")], s.rotations as f64);
        reopens.add(&[("reason", "truncation")], s.truncations as f64);
        let mut own = Family::counter(
            "pgmig_server_log_own_errors_total",
            "Error entries of the server log from the exporter's own sessions (matched by its application_name: a collector's query cancelled at its timeout, a lock_timeout), left out of pgmig_server_errors_total.",
            &base,
        );
        own.add(&[], self.own_errors as f64);
        let mut expected = Family::gauge(
            "pgmig_server_error_code_expected",
            "1 for each SQLSTATE a migration expects (server_log.migrations[].expected_codes): the rules do not call these unexpected.",
            &base,
        );
        for (c, m) in &self.expected {
            expected.add(&[("code", c.as_str()), ("migration", m)], 1.0);
        }
        let mut forbidden = Family::gauge(
            "pgmig_server_error_code_forbidden",
            "1 for each SQLSTATE that must no longer appear once a migration is applied (server_log.migrations[].forbidden_codes).",
            &base,
        );
        for (c, m) in &self.forbidden {
            forbidden.add(&[("code", c.as_str()), ("migration", m)], 1.0);
        }
        vec![
            self.counts.family(t),
            lines.finish(),
            unparsed.finish(),
            lag.finish(),
            following.finish(),
            reopens.finish(),
            own.finish(),
            expected.finish(),
            forbidden.finish(),
        ]
    }
}

/// `pgmig_sqlstate_class_info`: the class names of the errcodes appendix.
pub fn class_info_family() -> Rendered {
    let mut f = Family::gauge(
        "pgmig_sqlstate_class_info",
        "The name of each SQLSTATE class (PostgreSQL's errcodes appendix); the value is always 1. Join on code_class.",
        &[],
    );
    for (c, n) in sqlstate::CLASSES {
        f.add(&[("code_class", c), ("class_name", n)], 1.0);
    }
    f.finish()
}

/// Follows the configured logs until the process ends. Returns at once when none is.
pub async fn run(settings: Arc<Settings>, state: Arc<State>) {
    let cfg = &settings.server_log;
    let names: Vec<String> = settings.targets.iter().map(|t| t.name.clone()).collect();
    let follows = cfg.resolve(&names);
    let Some((first, _)) = follows.first() else {
        return;
    };
    state.put(
        (*first, "server_log_classes", String::new()),
        vec![class_info_family()],
    );
    for (ti, f) in follows {
        let t = &settings.targets[ti];
        let key = (ti, "server_log", crate::poller::main_database(t));
        tracing::info!(target = %t.name, directory = %f.directory.display(), "following the server log");
        let mut log = TargetLog::new(&t.name, cfg, f, &settings.session.application_name);
        let state = state.clone();
        let every = cfg.poll_interval.0;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                loop {
                    let r = tokio::task::spawn_blocking(move || {
                        let caught_up = log.poll(POLL_BUDGET);
                        let fams = log.families();
                        (log, caught_up, fams)
                    })
                    .await;
                    let Ok((l, caught_up, fams)) = r else {
                        tracing::error!("the server log follower panicked; it stops");
                        return;
                    };
                    log = l;
                    state.put(key.clone(), fams);
                    if caught_up {
                        break;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerLogConfig, String> {
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn off_by_default_and_checked_against_the_targets() {
        let d = ServerLogConfig::default();
        assert!(d.follow.is_empty());
        assert!(d.validate(&["a".into(), "b".into()]).is_ok());
        let c = parse("follow:\n  - directory: /var/log/pg\nmigrations:\n  - {name: m1, expected_codes: [23505], forbidden_codes: [42P10]}\n").unwrap();
        assert!(c.validate(&["only".into()]).is_ok());
        assert_eq!(c.resolve(&["only".into()])[0].0, 0);
        let (k, m) = c.validate(&["a".into(), "b".into()]).unwrap_err();
        assert_eq!(k, "server_log.follow[0].target");
        assert!(m.contains("name the target"), "{m}");
        let (e, f) = c.lists("only");
        assert_eq!((e[0].0.as_str(), f[0].0.as_str()), ("23505", "42P10"));
    }

    #[test]
    fn bad_sections_are_refused() {
        assert!(parse("follow:\n  - directory: /x\n    fromat: csvlog\n")
            .unwrap_err()
            .contains("fromat"));
        assert!(parse("follow:\n  - directory: /x\n    format: syslog\n").is_err());
        assert!(
            parse("follow:\n  - directory: /x\n    log_line_prefix: '%m [%p] '\n")
                .unwrap_err()
                .contains("%e")
        );
        assert!(parse("follow:\n  - directory: /x\n    pattern: a/b\n").is_err());
        assert!(parse("codes: [42p10]\n").is_err());
        let t = ["a".to_string()];
        let c = parse("follow:\n  - {directory: /x, format: stderr}\n").unwrap();
        assert!(c.validate(&t).unwrap_err().1.contains("log_line_prefix"));
        let c = parse("follow:\n  - {directory: /x, target: b}\n").unwrap();
        assert_eq!(c.validate(&t).unwrap_err().0, "server_log.follow[0].target");
        let c = parse("migrations:\n  - {name: m, forbidden_codes: [42P10]}\n").unwrap();
        assert!(c.validate(&t).is_err());
        let c = parse("follow:\n  - {directory: /x}\nmigrations:\n  - {name: m, expected_codes: [42P10], forbidden_codes: [42P10]}\n").unwrap();
        assert!(c.validate(&t).unwrap_err().1.contains("both"));
        let c = parse("poll_interval: 10ms\n").unwrap();
        assert!(c.validate(&t).is_err());
    }
}
