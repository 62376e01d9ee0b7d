//! The metric catalogue: every family the exporter serves, with its type,
//! help, labels, the collector (or part) that serves it and the oldest
//! PostgreSQL it needs, grouped and described as docs/metrics.md shows
//! them. docs/metrics.md is generated from here ([`metrics_md`]); tests
//! check the served families, the alert rules and the dashboards against
//! it. Owns names and descriptions only: no collection, no rendering.
//!
//! Each collector declares its own section next to its code (`CATALOGUE`
//! in `collector/<name>.rs`, carried by its registry entry
//! `collector::Spec::catalogue`), so that adding a collector adds its
//! metrics where it adds its SQL; this module holds the sections of the
//! other parts and puts them in order ([`sections`]).

pub mod entry;

pub use entry::{Kind, Metric, Section};

use crate::collector::COLLECTORS;

/// Every section, in docs/metrics.md's order: the exporter, the process and
/// the window; each registered collector's, in the registry's order; the
/// app signals and the server log.
pub fn sections() -> impl Iterator<Item = &'static Section> {
    BEFORE
        .iter()
        .chain(COLLECTORS.iter().map(|c| c.catalogue))
        .chain(AFTER.iter())
}

/// Every metric, in the order docs/metrics.md lists them.
pub fn all() -> impl Iterator<Item = &'static Metric> {
    sections().flat_map(|s| s.metrics.iter())
}

/// The metric named `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    all().find(|m| m.name == name)
}

/// docs/metrics.md, as generated from the catalogue.
pub fn metrics_md() -> String {
    let mut out = String::from(PREAMBLE);
    for s in sections() {
        out.push_str("## ");
        out.push_str(s.title);
        out.push('\n');
        out.push_str(s.intro);
        out.push_str("| metric | type | labels | source | min PG |\n|---|---|---|---|---|\n");
        for m in s.metrics {
            let min = m.min_pg.map_or("-".to_string(), |v| v.to_string());
            // An empty labels cell is written `| |`, as by hand.
            let labels: String = m
                .labels
                .iter()
                .map(|l| format!(" {l}"))
                .collect::<Vec<_>>()
                .join(",");
            out.push_str(&format!(
                "| `{}` | {} |{} | {} | {} |\n",
                m.name,
                m.kind.as_str(),
                labels,
                m.source,
                min
            ));
        }
        out.push_str(s.outro);
    }
    out
}

const PREAMBLE: &str = r#"# Metric reference

Every metric pg_migration_exporter serves. All names start with `pgmig_` except the standard
`process_*` metrics of every Prometheus client library (below); values are in base units
(seconds, bytes). Every series of a database-derived metric carries `target`, the configured name of
the database it came from (never its connection string).

This page is generated from the metric catalogue in the code (`src/catalogue.rs`, and each
collector's `CATALOGUE` next to its code in `src/collector/`): edit it there and run
`PGMIG_UPDATE_DOCS=1 cargo test --test docs metrics_md`. Tests (`tests/docs.rs`) fail when this
page differs from what the catalogue generates, when a metric is in the code but not in the
catalogue or the other way round, when a registered collector brings no section of its own, or
when a real scrape serves a type, label set or help text that differs from the catalogue's. The
alert rules and dashboards may only name catalogued metrics.

Series of a collector are present only while its last run succeeded: a failed or timed-out run drops
them (no stale values) and sets `pgmig_collector_success` to 0. Per-pid and per-relation series vanish
on the first poll after the backend or the queue is gone.

**The `pid` label** (17 metrics, reviewed for cardinality) stays where the backend is the thing
you act on or the only key of the series, and each such family is bounded:

- the oldest query, oldest transaction and longest idle-in-transaction session: one series per
  target, and the pid is what `pg_terminate_backend` needs;
- `pgmig_ddl_duration_seconds` and `pgmig_progress_*`: one series per running DDL or maintenance
  operation; the pid tells two concurrent operations on the same relation apart and is how you
  cancel one;
- `pgmig_blocking_root_*`: one per blocking root, the session to cancel;
- `pgmig_blocked_backend_*`: one per blocked backend, capped by `collectors.locks.max_blocked_series`
  (200), longest waits first; `blocking_root_pid` ties each to its root. Their aggregates without
  pid are `pgmig_blocked_backends` and `pgmig_lock_queue_length`.

Every series with a pid disappears on the first poll after the backend or operation is gone, so
churn costs Prometheus new series, never an unbounded live set. Nothing else carries a pid.

"#;

/// The sections before the collectors': the exporter, the process, the window.
const BEFORE: &[Section] = &[
    Section {
        title: r#"Exporter and targets"#,
        intro: r#"
"#,
        metrics: &[
            Metric {
                name: "pgmig_build_info",
                kind: Kind::Gauge,
                labels: &["version", "revision", "rustversion"],
                help: Some(r#"Build information of pg_migration_exporter; the value is always 1."#),
                source: r#"the binary; always 1. `revision`: the git commit it was built from (12 hex digits; `unknown` without git, e.g. a Docker build without `--build-arg PGMIG_BUILD_REVISION`); `rustversion`: the compiler's version (`1.88.0`)"#,
                collector: "exporter",
                min_pg: None,
            },
            Metric {
                name: "pgmig_config_last_reload_successful",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(
                    r#"1 when the last config load (the start, SIGHUP or POST /-/reload) succeeded, 0 when it failed and the previous config kept running."#,
                ),
                source: r#"the exporter's config loads: 1 after the start and after each successful reload; 0 after a reload whose file, environment or flags failed validation (the error is logged with file, line and key; the previous config keeps running)"#,
                collector: "exporter",
                min_pg: None,
            },
            Metric {
                name: "pgmig_config_last_reload_success_timestamp_seconds",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(
                    r#"Unix time of the last successful config load (the start, SIGHUP or POST /-/reload)."#,
                ),
                source: r#"the exporter's clock when the start or the last successful reload applied the config"#,
                collector: "exporter",
                min_pg: None,
            },
            Metric {
                name: "pgmig_up",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"1 when the exporter's connections to the target are established, 0 when it cannot connect."#,
                ),
                source: r#"1 while every connection of the exporter to the target is established, 0 while it cannot connect or the probe times out (a hung server)"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_version_num",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"PostgreSQL server_version_num of the target, read once per connection."#,
                ),
                source: r#"`server_version_num`, read once per connection"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_exporter_connections",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(r#"Database connections the exporter holds open to the target."#),
                source: r#"connections the exporter holds open to the target (the documented bound is 2)"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_connect_errors_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(r#"Failed attempts to connect to the target."#),
                source: r#"failed connection attempts (retried with backoff 0.5 s to 30 s)"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_collector_success",
                kind: Kind::Gauge,
                labels: &["target", "collector", "datname"],
                help: Some(
                    r#"1 when the collector's last run on the target succeeded, 0 when it failed or timed out (its series are then absent)."#,
                ),
                source: r#"1 when the collector's last run succeeded, else 0"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_collector_duration_seconds",
                kind: Kind::Histogram,
                labels: &["target", "collector", "datname"],
                help: Some(
                    r#"Duration of collector runs, successful or not, measured by the exporter."#,
                ),
                source: r#"wall time of each run, measured by the exporter"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_collector_last_success_timestamp_seconds",
                kind: Kind::Gauge,
                labels: &["target", "collector", "datname"],
                help: Some(r#"Unix time of the collector's last successful run on the target."#),
                source: r#"Unix time of the last successful run"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_collector_errors_total",
                kind: Kind::Counter,
                labels: &["target", "collector", "datname", "kind"],
                help: Some(
                    r#"Failed collector runs, by kind: error (the query failed) or timeout (the run exceeded its timeout and was cancelled)."#,
                ),
                source: r#"failed runs; kind is `error` (a query failed) or `timeout` (the run exceeded its timeout and its query was cancelled on the server)"#,
                collector: "exporter",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_collector_series_dropped",
                kind: Kind::Gauge,
                labels: &["target", "collector", "datname"],
                help: Some(
                    r#"Series the collector's last run left out because of its configured cardinality limits."#,
                ),
                source: r#"series the last run left out because of a cardinality limit"#,
                collector: "exporter",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"The process"#,
        intro: r#"
The names, types and help texts of client_golang's process collector, read from `/proc/self` at
each scrape (absent where there is no `/proc`). CPU time is in the kernel's USER_HZ ticks (1/100 s).

"#,
        metrics: &[
            Metric {
                name: "process_cpu_seconds_total",
                kind: Kind::Counter,
                labels: &[],
                help: Some(r#"Total user and system CPU time spent in seconds."#),
                source: r#"user plus system CPU time of the exporter (`/proc/self/stat`)"#,
                collector: "process",
                min_pg: None,
            },
            Metric {
                name: "process_resident_memory_bytes",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(r#"Resident memory size in bytes."#),
                source: r#"resident set size (`VmRSS` of `/proc/self/status`)"#,
                collector: "process",
                min_pg: None,
            },
            Metric {
                name: "process_virtual_memory_bytes",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(r#"Virtual memory size in bytes."#),
                source: r#"virtual memory size (`VmSize`)"#,
                collector: "process",
                min_pg: None,
            },
            Metric {
                name: "process_start_time_seconds",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(r#"Start time of the process since unix epoch in seconds."#),
                source: r#"Unix time the process started (`/proc/stat` btime plus the start tick)"#,
                collector: "process",
                min_pg: None,
            },
            Metric {
                name: "process_open_fds",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(r#"Number of open file descriptors."#),
                source: r#"open file descriptors (entries of `/proc/self/fd`)"#,
                collector: "process",
                min_pg: None,
            },
            Metric {
                name: "process_max_fds",
                kind: Kind::Gauge,
                labels: &[],
                help: Some(r#"Maximum number of open file descriptors."#),
                source: r#"the soft limit on open files (`/proc/self/limits`)"#,
                collector: "process",
                min_pg: None,
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"The migration window"#,
        intro: r#"
"#,
        metrics: &[
            Metric {
                name: "pgmig_migration_window_open",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"1 while a migration window is open on the target (opened automatically by schema-changing DDL, a migration lock, a dirty migration, backfill progress or a configured migration running, or explicitly through the API)."#,
                ),
                source: r#"1 while a migration window is open: opened automatically while schema-changing DDL runs, a migration tool's lock is held, a migration is dirty, a backfill progresses or a backend runs a statement of a configured migration (and for `window.close_after` after; `window.max_auto` at most), or explicitly through `POST /api/v1/window/open`"#,
                collector: "window",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_window_start_timestamp_seconds",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(r#"Unix time the open migration window opened; 0 while none is open."#),
                source: r#"Unix time the open window opened; 0 while closed"#,
                collector: "window",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_window_source",
                kind: Kind::Gauge,
                labels: &["target", "source"],
                help: Some(
                    r#"1 for each source keeping the migration window open now (ddl, migration_lock, framework_dirty, backfill, migration_running, explicit), else 0."#,
                ),
                source: r#"1 for each source keeping the window open now: ddl, migration_lock, framework_dirty, backfill, migration_running, explicit"#,
                collector: "window",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_in_flight",
                kind: Kind::Gauge,
                labels: &["target", "reason"],
                help: Some(
                    r#"1 for each kind of evidence that a migration is working on the target now or was within window.in_flight_hold (ddl, lock, migration_lock, explicit, backfill, migration_running), else 0."#,
                ),
                source: r#"1 for each kind of evidence that a migration is working now, or was within `window.in_flight_hold`: ddl (schema-changing DDL, or a new invalid index), lock (an AccessExclusiveLock held or waited for), migration_lock, explicit, backfill (progress moved), migration_running (a backend runs a statement of a migration of the `migrations` section, matched by pg_query fingerprint); every reason always present"#,
                collector: "window",
                min_pg: Some(13),
            },
        ],
        outro: r#"
`datname` on the collector self-metrics is the database the collector ran in: the target's own
database for server-wide collectors, each listed or discovered database for per-database ones.

"#,
    },
];

/// The sections after the collectors': the app signals and the server log.
const AFTER: &[Section] = &[
    Section {
        title: r#"App signals (`app_collectors`, docs/app-collectors.md)"#,
        intro: r#"
The decision-signal vocabulary: standard names the shipped rules and dashboards are written
against, fed by app collectors (each metric says which `signal` it feeds). Labels are those the
signal requires; a collector may add its own (label columns or static labels) after them. Every
series also has `datname`, the database the collector ran in. Custom app metrics (with `name:`
instead of `signal:`) are named by the config and must not start with `pgmig_`.

"#,
        metrics: &[
            Metric {
                name: "pgmig_app_operations_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "operation", "outcome"],
                help: None,
                source: r#"signal `operations`: operations by outcome (`success`, `failure`)"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_operation_errors_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "operation", "code"],
                help: None,
                source: r#"signal `operation_errors`: failed operations by error code (the SQLSTATE the app recorded)"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_operation_duration_seconds",
                kind: Kind::Histogram,
                labels: &["target", "datname", "operation"],
                help: None,
                source: r#"signal `operation_duration`: one observation per new row (incremental collectors)"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_integrity_violations",
                kind: Kind::Gauge,
                labels: &["target", "datname", "check"],
                help: None,
                source: r#"signal `integrity_violations`: rows breaking a named check; must be 0"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_backfill_ratio",
                kind: Kind::Gauge,
                labels: &["target", "datname", "table", "column"],
                help: None,
                source: r#"signal `backfill_ratio`: share of rows filled, 0 to 1"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_flag",
                kind: Kind::Gauge,
                labels: &["target", "datname", "flag"],
                help: None,
                source: r#"signal `flag`: 1 on, 0 off"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_job_active",
                kind: Kind::Gauge,
                labels: &["target", "datname", "batch_job"],
                help: None,
                source: r#"signal `job_active`: active jobs"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_job_items_done",
                kind: Kind::Gauge,
                labels: &["target", "datname", "batch_job"],
                help: None,
                source: r#"signal `job_items_done`"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_job_items_planned",
                kind: Kind::Gauge,
                labels: &["target", "datname", "batch_job"],
                help: None,
                source: r#"signal `job_items_planned`: items to do in all"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_job_items_per_second",
                kind: Kind::Gauge,
                labels: &["target", "datname", "batch_job"],
                help: None,
                source: r#"signal `job_items_per_second`"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_job_eta_seconds",
                kind: Kind::Gauge,
                labels: &["target", "datname", "batch_job"],
                help: None,
                source: r#"signal `job_eta`"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_expected_error_code",
                kind: Kind::Gauge,
                labels: &["target", "operation", "code"],
                help: Some(
                    r#"1 for each error code the config lists as expected for an operation (expected_error_codes); the rules treat other codes as unknown."#,
                ),
                source: r#"1 for each code `expected_error_codes` lists for an operation (from the config, not the database)"#,
                collector: "app",
                min_pg: None,
            },
            Metric {
                name: "pgmig_app_operation_threshold",
                kind: Kind::Gauge,
                labels: &["target", "operation", "signal"],
                help: Some(
                    r#"Alerting threshold or duration (seconds) configured for an application operation (thresholds.operations), by signal; the rules use their default where it is absent."#,
                ),
                source: r#"`thresholds.operations` (and `thresholds.targets.<t>.operations`) of the config, not the database: `error_ratio`, `success_ratio`, `response_seconds` and their `*_for_seconds`"#,
                collector: "app",
                min_pg: None,
            },
            Metric {
                name: "pgmig_target_threshold",
                kind: Kind::Gauge,
                labels: &["target", "signal"],
                help: Some(
                    r#"Alerting threshold or duration (seconds) configured for the target (thresholds), by signal; the rules use their default where it is absent."#,
                ),
                source: r#"`thresholds` (and `thresholds.targets.<t>`) of the config, not the database: `response_seconds`, `degradation_ratio` and their `*_for_seconds`"#,
                collector: "app",
                min_pg: None,
            },
            Metric {
                name: "pgmig_app_value_errors_total",
                kind: Kind::Counter,
                labels: &["target", "collector", "metric", "reason"],
                help: Some(
                    r#"Values of app collectors skipped or used with a caveat, by reason (null, not_a_number, nan, infinite, out_of_range, precision_loss, negative, duplicate_labels); see docs/app-collectors.md."#,
                ),
                source: r#"values skipped or used with a caveat: null, not_a_number, nan, infinite, out_of_range, precision_loss, negative, duplicate_labels"#,
                collector: "app",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_app_series_dropped",
                kind: Kind::Gauge,
                labels: &["target", "datname", "collector", "metric"],
                help: Some(
                    r#"Series an app collector's metric left out because of its max_series limit (snapshot: in the last run; incremental: since start)."#,
                ),
                source: r#"series a metric left out because of its `max_series` (default 1000)"#,
                collector: "app",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Server log (`server_log`, docs/server-log.md)"#,
        intro: r#"
Present only for the targets listed under `server_log.follow`; read from PostgreSQL's log files, not
from a query. Counters start at 0 when the exporter starts (it begins at the end of the current file).

"#,
        metrics: &[
            Metric {
                name: "pgmig_server_errors_total",
                kind: Kind::Counter,
                labels: &[
                    "target",
                    "code",
                    "code_class",
                    "severity",
                    "datname",
                    "usename",
                ],
                help: Some(
                    r#"ERROR, FATAL and PANIC entries in the PostgreSQL server log since the exporter started, by SQLSTATE (code, or "other" beyond the allow-list or max_codes) and its class."#,
                ),
                source: r#"ERROR, FATAL and PANIC entries of the server log (jsonlog on 15+, csvlog, or stderr with `%e` in `log_line_prefix`) by SQLSTATE (`other` beyond the `codes` allow-list or the first `max_codes` codes), its two-character class, severity, database and user (empty for background processes; `other` beyond `max_series` label sets)"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_log_lines_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(
                    r#"Entries read from the PostgreSQL server log since the exporter started (a multi-line csvlog entry is one; stderr continuation lines are not counted)."#,
                ),
                source: r#"log entries read (a multi-line csvlog entry is one; stderr continuation lines are not counted)"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_log_unparsed_lines_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(
                    r#"Server log entries that could not be parsed (wrong format or log_line_prefix, a translated severity: set lc_messages to C or en)."#,
                ),
                source: r#"entries that could not be parsed: wrong `format` or `log_line_prefix`, `lc_messages` not English, foreign lines"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_log_lag_bytes",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"Bytes of the server log not read yet: from the read position to the end of the current file, plus any newer files."#,
                ),
                source: r#"bytes between the read position and the end of the log (the current file plus newer ones)"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_log_following",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"1 while the exporter reads a server log file of the target, 0 when the directory or file cannot be read or has no log file yet."#,
                ),
                source: r#"1 while a log file is being read; 0 when the directory or file cannot be read or holds no log file"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_log_reopens_total",
                kind: Kind::Counter,
                labels: &["target", "reason"],
                help: Some(
                    r#"Times the exporter moved to another server log file: reason rotation (a newer file, after reading the old one to its end) or truncation (the file shrank; read again from its start)."#,
                ),
                source: r#"moves to another file: `rotation` (a newer file, after reading the old one to its end) or `truncation` (the file shrank: read again from 0)"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_log_own_errors_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(
                    r#"Error entries of the server log from the exporter's own sessions (matched by its application_name: a collector's query cancelled at its timeout, a lock_timeout), left out of pgmig_server_errors_total."#,
                ),
                source: r#"error entries of the exporter's own sessions (matched by its `session.application_name`: a query cancelled at its collector's timeout, a `lock_timeout`, a failing app collector), left out of `pgmig_server_errors_total`; stays 0 for stderr files whose prefix has no `%a`"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_error_code_expected",
                kind: Kind::Gauge,
                labels: &["target", "code", "migration"],
                help: Some(
                    r#"1 for each SQLSTATE a migration expects (server_log.migrations[].expected_codes): the rules do not call these unexpected."#,
                ),
                source: r#"1 per code in `server_log.migrations[].expected_codes`"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_server_error_code_forbidden",
                kind: Kind::Gauge,
                labels: &["target", "code", "migration"],
                help: Some(
                    r#"1 for each SQLSTATE that must no longer appear once a migration is applied (server_log.migrations[].forbidden_codes)."#,
                ),
                source: r#"1 per code in `server_log.migrations[].forbidden_codes`"#,
                collector: "server_log",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_sqlstate_class_info",
                kind: Kind::Gauge,
                labels: &["code_class", "class_name"],
                help: Some(
                    r#"The name of each SQLSTATE class (PostgreSQL's errcodes appendix); the value is always 1. Join on code_class."#,
                ),
                source: r#"the class names of PostgreSQL's errcodes appendix; always 1 (join on `code_class`)"#,
                collector: "server_log",
                min_pg: Some(13),
            },
        ],
        outro: r#""#,
    },
];
