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
//!
//! Owns reading and counting; the `server_log` section's types are
//! [`crate::config::serverlog`]'s and the polling task is
//! [`crate::poller::serverlog`]'s. Must not touch the state or HTTP.

pub mod counts;
pub mod follow;
pub mod parse;
pub mod sqlstate;

use crate::exposition::Rendered;

use crate::exposition::Family;

pub use counts::Counts;
pub use follow::{FileFormat, Follower, Glob, Options};
pub use parse::Prefix;
pub use sqlstate::SqlState;

pub use crate::config::serverlog::{
    CodeList, FilePattern, FollowConfig, LogFormatChoice, LogLinePrefix, MigrationCodes,
    ServerLogConfig,
};

/// Bytes one poll reads at most; the rest is read by the next poll, at once.
pub const POLL_BUDGET: u64 = 64 << 20;

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
