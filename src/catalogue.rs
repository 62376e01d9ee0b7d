//! The metric catalogue: every family the exporter serves, with its type,
//! help, labels, the collector (or part) that serves it and the oldest
//! PostgreSQL it needs, grouped and described as docs/metrics.md shows
//! them. docs/metrics.md is generated from here ([`metrics_md`]); tests
//! check the served families, the alert rules and the dashboards against
//! it. Owns names and descriptions only: no collection, no rendering.

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// Every label its series can carry (`le` of histograms left out).
    pub labels: &'static [&'static str],
    /// The `# HELP` text it is served with; `None` where the config
    /// supplies it (the app signals take their metric's `help`).
    pub help: Option<&'static str>,
    /// Where the value comes from, for docs/metrics.md.
    pub source: &'static str,
    /// The collector, or the part of the exporter, that serves it.
    pub collector: &'static str,
    /// The oldest PostgreSQL major version that has it; `None`: not from PostgreSQL.
    pub min_pg: Option<u32>,
}

/// A heading of docs/metrics.md with its text and its metrics.
pub struct Section {
    pub title: &'static str,
    /// Markdown between the heading and the table.
    pub intro: &'static str,
    pub metrics: &'static [Metric],
    /// Markdown after the table, up to the next heading.
    pub outro: &'static str,
}

/// Every metric, in the order docs/metrics.md lists them.
pub fn all() -> impl Iterator<Item = &'static Metric> {
    SECTIONS.iter().flat_map(|s| s.metrics.iter())
}

/// The metric named `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    all().find(|m| m.name == name)
}

/// docs/metrics.md, as generated from the catalogue.
pub fn metrics_md() -> String {
    let mut out = String::from(PREAMBLE);
    for s in SECTIONS {
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

This page is generated from the metric catalogue in the code (`src/catalogue.rs`): edit it there and
run `PGMIG_UPDATE_DOCS=1 cargo test --test docs metrics_md`. Tests (`tests/docs.rs`) fail when this
page differs from what the catalogue generates, when a metric is in the code but not in the
catalogue or the other way round, or when a real scrape serves a type, label set or help text that
differs from the catalogue's. The alert rules and dashboards may only name catalogued metrics.

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

pub const SECTIONS: &[Section] = &[
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
    Section {
        title: r#"Collector `probe`"#,
        intro: r#"
"#,
        metrics: &[Metric {
            name: "pgmig_probe_duration_seconds",
            kind: Kind::Histogram,
            labels: &["target"],
            help: Some(
                r#"Round-trip time of the probe collector's trivial query (SELECT 1), measured by the exporter: the database's response time."#,
            ),
            source: r#"round trip of `SELECT 1` every second on the fast lane, measured by the exporter: the database's response time (buckets 1 ms to 2.5 s); a probe that times out is observed at its timeout"#,
            collector: "probe",
            min_pg: Some(13),
        }],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `activity` (pg_stat_activity)"#,
        intro: r#"
The exporter's own backends are excluded from everything except `pgmig_connections`.

"#,
        metrics: &[
            Metric {
                name: "pgmig_backends",
                kind: Kind::Gauge,
                labels: &["target", "state"],
                help: Some(
                    r#"Client backends by state, from pg_stat_activity (the exporter's own excluded)."#,
                ),
                source: r#"client backends by `state`; all of active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled and none (NULL: not visible to the exporter's role) are always present"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_backends_by_wait_event_type",
                kind: Kind::Gauge,
                labels: &["target", "wait_event_type"],
                help: Some(
                    r#"Backends by wait_event_type, from pg_stat_activity; none means not waiting."#,
                ),
                source: r#"backends by `wait_event_type` (Activity, BufferPin, Client, Extension, IO, IPC, Lock, LWLock, Timeout always present; none = not waiting)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_backends_by_type",
                kind: Kind::Gauge,
                labels: &["target", "backend_type"],
                help: Some(r#"Backends by backend_type, from pg_stat_activity."#),
                source: r#"backends by `backend_type` (the common types always present, others as seen)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_connections",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"Client backends connected, the exporter's own included, from pg_stat_activity."#,
                ),
                source: r#"client backends connected, the exporter's own included"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_connections_max",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(r#"The max_connections setting."#),
                source: r#"`max_connections`"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_connections_reserved",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"Connection slots reserved for superusers and pg_use_reserved_connections (superuser_reserved_connections plus reserved_connections on 16+)."#,
                ),
                source: r#"`superuser_reserved_connections` (+ `reserved_connections` on 16+)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_oldest_query_seconds",
                kind: Kind::Gauge,
                labels: &["target", "pid", "datname", "usename", "application_name"],
                help: Some(
                    r#"Age of the oldest running statement of a client backend (now() - query_start), from pg_stat_activity; 0 with empty labels when none runs."#,
                ),
                source: r#"`now() - query_start` of the oldest active statement; 0 with empty labels when none (`query` label added when `query_text` is on)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_oldest_transaction_seconds",
                kind: Kind::Gauge,
                labels: &["target", "pid", "datname", "usename", "application_name"],
                help: Some(
                    r#"Age of the oldest open transaction of a client backend (now() - xact_start), from pg_stat_activity; 0 with empty labels when none is open."#,
                ),
                source: r#"`now() - xact_start` of the oldest open transaction; 0 with empty labels when none (`query` label when opted in)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_longest_idle_in_transaction_seconds",
                kind: Kind::Gauge,
                labels: &["target", "pid", "datname", "usename", "application_name"],
                help: Some(
                    r#"Time the longest idle-in-transaction client backend has been idle (now() - state_change), from pg_stat_activity; 0 with empty labels when none."#,
                ),
                source: r#"`now() - state_change` of the longest idle-in-transaction session; 0 with empty labels when none (`query` label when opted in)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_ddl_running",
                kind: Kind::Gauge,
                labels: &["target", "command"],
                help: Some(r#"Running DDL statements by command, from pg_stat_activity."#),
                source: r#"running DDL statements by command: CREATE INDEX, CREATE INDEX CONCURRENTLY, DROP INDEX, DROP INDEX CONCURRENTLY, REINDEX, REINDEX CONCURRENTLY, CREATE TABLE, ALTER TABLE, DROP TABLE, TRUNCATE, VACUUM, VACUUM FULL, ANALYZE, CLUSTER, REFRESH MATERIALIZED VIEW, LOCK TABLE, OTHER DDL (always present)"#,
                collector: "activity",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_ddl_duration_seconds",
                kind: Kind::Gauge,
                labels: &[
                    "target",
                    "command",
                    "pid",
                    "datname",
                    "usename",
                    "application_name",
                ],
                help: Some(
                    r#"How long each running DDL statement has run (now() - query_start), by command, from pg_stat_activity."#,
                ),
                source: r#"`now() - query_start` of each running DDL statement (`query` label when opted in)"#,
                collector: "activity",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `locks` (pg_locks, pg_blocking_pids)"#,
        intro: r#"
"#,
        metrics: &[
            Metric {
                name: "pgmig_blocked_backends",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"Backends waiting for a heavyweight lock, from pg_locks (the exporter's own excluded)."#,
                ),
                source: r#"backends waiting for a heavyweight lock"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_blocked_backend_wait_seconds",
                kind: Kind::Gauge,
                labels: &[
                    "target",
                    "pid",
                    "blocking_root_pid",
                    "datname",
                    "usename",
                    "application_name",
                    "locktype",
                    "mode",
                    "relation",
                ],
                help: Some(
                    r#"How long each blocked backend has waited for its lock, with the head of its blocking chain, from pg_locks and pg_blocking_pids()."#,
                ),
                source: r#"how long each blocked backend has waited (`pg_locks.waitstart` on 14+, `query_start` on 13), with the head of its blocking chain; at most `max_blocked_series`, longest waits first"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_blocked_backend_chain_depth",
                kind: Kind::Gauge,
                labels: &["target", "pid", "blocking_root_pid"],
                help: Some(
                    r#"Number of backends between a blocked backend and its blocking root, itself included (1 = blocked directly by the root), from pg_blocking_pids()."#,
                ),
                source: r#"links between the blocked backend and its root (1 = blocked directly by the root)"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_blocking_root_blocked_backends",
                kind: Kind::Gauge,
                labels: &[
                    "target",
                    "pid",
                    "datname",
                    "usename",
                    "application_name",
                    "state",
                ],
                help: Some(
                    r#"Backends blocked, directly or through a chain, by each blocking root (a backend that blocks others and waits for no lock itself), from pg_blocking_pids()."#,
                ),
                source: r#"backends a blocking root (blocks others, waits for no lock itself) blocks directly or through a chain; pid 0 and state `prepared transaction` for a prepared transaction"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_blocking_root_transaction_seconds",
                kind: Kind::Gauge,
                labels: &["target", "pid"],
                help: Some(
                    r#"Age of each blocking root's transaction (now() - xact_start), from pg_stat_activity; 0 for a prepared transaction or a session already gone."#,
                ),
                source: r#"`now() - xact_start` of each blocking root"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_lock_queue_length",
                kind: Kind::Gauge,
                labels: &["target", "datname", "relation"],
                help: Some(
                    r#"Lock requests waiting on each relation that has a queue or an AccessExclusiveLock, from pg_locks."#,
                ),
                source: r#"ungranted lock requests on each relation that has a queue or an AccessExclusiveLock; at most `max_relations`, longest queues first"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_lock_access_exclusive",
                kind: Kind::Gauge,
                labels: &["target", "datname", "relation", "status"],
                help: Some(
                    r#"1 when an AccessExclusiveLock on the relation is held (status=held) or waited for (status=waiting), from pg_locks."#,
                ),
                source: r#"1 when an AccessExclusiveLock on the relation is `held` or `waiting`, else 0"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_lock_oldest_wait_seconds",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"The longest current lock wait in seconds, from pg_locks.waitstart (14+) or query_start (13); 0 when nobody waits."#,
                ),
                source: r#"the longest current lock wait; 0 when nobody waits"#,
                collector: "locks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_lock_wait_seconds",
                kind: Kind::Histogram,
                labels: &["target"],
                help: Some(
                    r#"Completed heavyweight-lock waits seen in pg_locks, observed when the wait ends (accurate to one locks poll interval)."#,
                ),
                source: r#"completed lock waits, observed when a later poll no longer sees the wait; accurate to one poll interval (buckets 0.5 s to 30 min)"#,
                collector: "locks",
                min_pg: Some(13),
            },
        ],
        outro: r#"
`relation` is `schema.name` for relations of the database the exporter is connected to, and
`oid:N` for relations of other databases (their names are not visible from this connection).

"#,
    },
    Section {
        title: r#"Collector `progress` (pg_stat_progress_*)"#,
        intro: r#"
One set per running operation; the series vanish when it ends. `command` is what the view says
(CREATE INDEX, CREATE INDEX CONCURRENTLY, REINDEX, REINDEX CONCURRENTLY, VACUUM, ANALYZE, CLUSTER,
VACUUM FULL, COPY FROM, COPY TO); `phase` is the view's phase (for COPY, its type: FILE, PROGRAM,
PIPE, CALLBACK).

"#,
        metrics: &[
            Metric {
                name: "pgmig_progress_done_ratio",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Progress of a running operation within its current phase (0 to 1), from the pg_stat_progress_* views."#,
                ),
                source: r#"progress within the current phase, 0 to 1: the first of blocks, tuples, lockers, bytes with a known total that is not finished; absent when no total is known"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_blocks_done",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Blocks scanned so far by a running operation, from the pg_stat_progress_* views."#,
                ),
                source: r#"blocks scanned (create_index blocks_done, vacuum heap_blks_scanned, analyze sample_blks_scanned, cluster heap_blks_scanned)"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_blocks_planned",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Blocks a running operation will scan (0 when unknown), from the pg_stat_progress_* views."#,
                ),
                source: r#"blocks to scan (0 when unknown)"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_tuples_done",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Tuples processed so far by a running operation, from the pg_stat_progress_* views."#,
                ),
                source: r#"tuples processed (create_index tuples_done, cluster heap_tuples_written, copy tuples_processed)"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_tuples_planned",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Tuples a running operation will process (0 when unknown), from pg_stat_progress_create_index."#,
                ),
                source: r#"tuples to process (create_index tuples_total; 0 when unknown)"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_lockers_done",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Lockers already waited for by CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY, from pg_stat_progress_create_index."#,
                ),
                source: r#"lockers already waited for (create_index lockers_done)"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_lockers_planned",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Lockers CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY must wait for, from pg_stat_progress_create_index."#,
                ),
                source: r#"lockers to wait for (create_index lockers_total)"#,
                collector: "progress",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_progress_bytes_done",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Bytes processed so far by a running COPY, from pg_stat_progress_copy (14+)."#,
                ),
                source: r#"bytes processed by COPY (bytes_processed)"#,
                collector: "progress",
                min_pg: Some(14),
            },
            Metric {
                name: "pgmig_progress_bytes_planned",
                kind: Kind::Gauge,
                labels: &["target", "command", "phase", "pid", "datname", "relation"],
                help: Some(
                    r#"Size of the file a running COPY FROM reads (0 when unknown), from pg_stat_progress_copy (14+)."#,
                ),
                source: r#"size of the file COPY FROM reads (bytes_total; 0 when unknown)"#,
                collector: "progress",
                min_pg: Some(14),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `expected_objects` (catalogs)"#,
        intro: r#"
One series per object listed under `expected_objects` in the config (see docs/configuration.md).

"#,
        metrics: &[
            Metric {
                name: "pgmig_expected_object_present",
                kind: Kind::Gauge,
                labels: &["target", "datname", "kind", "name", "expected", "migration"],
                help: Some(
                    r#"1 when an object the config expects is there (an invalid index counts as absent), 0 when not, from the catalogs; compare with the expected label."#,
                ),
                source: r#"1 when the object is there, 0 when not; an invalid index (failed CREATE INDEX CONCURRENTLY) and a NOT VALID constraint count as not there; `expected` is `present` or `absent`"#,
                collector: "expected_objects",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_expected_object_check_failed",
                kind: Kind::Gauge,
                labels: &["target", "datname", "kind", "name", "expected", "migration"],
                help: Some(
                    r#"1 when the catalog query checking an expected object failed (see the log); its present series is then absent."#,
                ),
                source: r#"1 when the check's catalog query failed (the `present` series is then absent), else 0"#,
                collector: "expected_objects",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `frameworks` (migration tools' schema-history tables)"#,
        intro: r#"
Per database; see [frameworks.md](frameworks.md) for each tool's table, what was checked and the
advisory-lock keys. `tool` is one of flyway, liquibase, alembic, golang-migrate, rails, django,
prisma, knex, sqlx, diesel, goose, supabase, custom.

"#,
        metrics: &[
            Metric {
                name: "pgmig_migration_framework_info",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"1 for each schema-history table of a migration tool found in the database (pg_class, pg_attribute)."#,
                ),
                source: r#"1 for each schema-history table of a migration tool found (pg_class, pg_namespace, pg_attribute; any schema but `pg_*`/information_schema)"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_version_info",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table", "version"],
                help: Some(
                    r#"1, with the current (latest applied) migration version in the version label, from the tool's history table."#,
                ),
                source: r#"1, with the current (latest applied) version from the history table; Alembic has one series per head"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migrations_applied",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"Migrations recorded as applied in the tool's history table; absent for tools that keep no history (Alembic, golang-migrate)."#,
                ),
                source: r#"migrations recorded as applied; absent for Alembic and golang-migrate, which keep no history"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_last_applied_timestamp_seconds",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"Unix time at which the last applied migration was recorded; absent for tools that do not record it."#,
                ),
                source: r#"Unix time the last applied migration was recorded; absent when the tool does not record it or none is applied"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_failed",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"1 when the history table records a failed migration (Flyway/sqlx success = false, Liquibase FAILED, Prisma unfinished with an error logged, custom success column false)."#,
                ),
                source: r#"1 when a failed migration is recorded (Flyway/sqlx success = false, Liquibase FAILED, Prisma unfinished and not rolled back with an error in logs, custom success column false); absent for tools with no such record"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_dirty",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"1 when the history table records a half-applied migration (golang-migrate dirty, Prisma started but neither finished nor rolled back, sqlx success = false, custom dirty column)."#,
                ),
                source: r#"1 when a migration is dirty or half-applied (golang-migrate dirty, Prisma started but neither finished nor rolled back, sqlx success = false, custom dirty column); absent for tools with no such record"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_lock_held",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"1 while the tool's migration lock is held: Liquibase/Knex lock table, or the tool's advisory lock key granted in pg_locks."#,
                ),
                source: r#"1 while the tool's migration lock is held: Liquibase `databasechangeloglock.locked`, Knex `knex_migrations_lock.is_locked`, or the tool's advisory key granted in pg_locks (Prisma, golang-migrate, Rails, sqlx, goose, Flyway); absent for tools without a lock"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_table_locked",
                kind: Kind::Gauge,
                labels: &["target", "datname", "tool", "schema", "table"],
                help: Some(
                    r#"1 when the history table was not read this poll because an AccessExclusiveLock on it is held or waited for (pg_locks); its other series are then absent."#,
                ),
                source: r#"1 when the history table was not read this poll because an AccessExclusiveLock on it is held or waited for (pg_locks, checked before any read); its other series are then absent"#,
                collector: "frameworks",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `migrations` (your migration files, planned, against the tool's table)"#,
        intro: r#"
Served when the config has a `migrations` section (docs/configuration.md), once per target, on
its own database (`datname`). `path` is the set's configured path, `migration` the migration's
version (Flyway's repeatable ones `R__<name>`). The expected objects of applied migrations are
checked by this collector and served in `pgmig_expected_object_present` /
`pgmig_expected_object_check_failed` with the `migration` that expects them.

"#,
        metrics: &[
            Metric {
                name: "pgmig_migration_state",
                kind: Kind::Gauge,
                labels: &["target", "datname", "path", "migration", "state"],
                help: Some(
                    r#"1 for each configured migration, with its state (pending, running, applied, failed, rolled_back) in the state label, from the tool's schema-history table and pg_stat_activity."#,
                ),
                source: r#"1 per configured migration, its state in `state`: `running` (a backend runs one of its statements, or sits in its open transaction), else from the tool's history table `applied`, `failed` (also dirty or half-applied), `rolled_back` (recorded as undone, or seen applied and no longer recorded), `pending`; at most `max_migrations` per set, not-applied first"#,
                collector: "migrations",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_running_statement",
                kind: Kind::Gauge,
                labels: &["target", "datname", "path", "migration"],
                help: Some(
                    r#"Which statement (1-based, in file order) of a running migration a backend runs now, from pg_stat_activity matched to the plan by pg_query fingerprint; 0 when the tool sent the whole file at once."#,
                ),
                source: r#"1-based statement of the running migration a backend runs (pg_stat_activity.query matched by pg_query fingerprint); 0 when the tool sent the whole file as one query"#,
                collector: "migrations",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_statements",
                kind: Kind::Gauge,
                labels: &["target", "datname", "path", "migration"],
                help: Some(
                    r#"Statements the plan of a running migration has (the n of statement i of n)."#,
                ),
                source: r#"statements in the plan of a running migration"#,
                collector: "migrations",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_lock_beyond_plan",
                kind: Kind::Gauge,
                labels: &[
                    "target",
                    "datname",
                    "path",
                    "migration",
                    "relation",
                    "mode",
                    "planned",
                ],
                help: Some(
                    r#"1 for each relation a backend running a migration holds or waits for in a mode stronger than its plan says (pg_locks); planned=none when the plan names no lock on it."#,
                ),
                source: r#"1 per relation a backend running the migration holds or waits for (pg_locks) in a mode stronger than the plan of the statements it has run (an index or TOAST table counts as its table; relations the migration creates and sequences left out); `planned` is the planned mode or `none`"#,
                collector: "migrations",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_planned_hazard",
                kind: Kind::Gauge,
                labels: &["target", "datname", "path", "migration", "code"],
                help: Some(
                    r#"1 for each hazard code the plan finds in a pending or running migration that the config does not accept (migrations[].accept_hazards)."#,
                ),
                source: r#"1 per hazard code (docs/plan.md) of a pending or running migration not in `accept_hazards`"#,
                collector: "migrations",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_file_parse_errors",
                kind: Kind::Gauge,
                labels: &["target", "datname", "path"],
                help: Some(
                    r#"Migration files of a configured migrations path that could not be planned (parse error, over the size limit, off the tool's convention), at config load."#,
                ),
                source: r#"files of the set that could not be planned at config load (parse error, over 4 MiB, off the tool's convention); 0 when all planned"#,
                collector: "migrations",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_migration_file_parse_error",
                kind: Kind::Gauge,
                labels: &["target", "datname", "path", "file", "line", "column"],
                help: Some(
                    r#"1 for each migration file that could not be planned, with where PostgreSQL's parser stopped (line 0: not a place in the file)."#,
                ),
                source: r#"1 per such file (at most 20 per set), where PostgreSQL's parser stopped; line 0 when the error has no place in the file"#,
                collector: "migrations",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `database` (pg_stat_database, WAL, replication)"#,
        intro: r#"
"#,
        metrics: &[
            Metric {
                name: "pgmig_database_commits_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Transactions committed in each database, from pg_stat_database.xact_commit."#,
                ),
                source: r#"pg_stat_database.xact_commit"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_database_rollbacks_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Transactions rolled back in each database, from pg_stat_database.xact_rollback."#,
                ),
                source: r#"pg_stat_database.xact_rollback"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_database_deadlocks_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Deadlocks detected in each database, from pg_stat_database.deadlocks."#,
                ),
                source: r#"pg_stat_database.deadlocks"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_database_conflicts_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Queries cancelled by recovery conflicts on a standby, from pg_stat_database.conflicts."#,
                ),
                source: r#"pg_stat_database.conflicts (recovery conflicts on a standby)"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_database_temp_bytes_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Bytes written to temporary files by queries, from pg_stat_database.temp_bytes."#,
                ),
                source: r#"pg_stat_database.temp_bytes"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_database_blocks_hit_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Block reads served from shared buffers, from pg_stat_database.blks_hit."#,
                ),
                source: r#"pg_stat_database.blks_hit"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_database_blocks_read_total",
                kind: Kind::Counter,
                labels: &["target", "datname"],
                help: Some(
                    r#"Block reads that went to the operating system, from pg_stat_database.blks_read."#,
                ),
                source: r#"pg_stat_database.blks_read"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_in_recovery",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"1 when the server is a standby in recovery, from pg_is_in_recovery()."#,
                ),
                source: r#"1 on a standby, from pg_is_in_recovery()"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_wal_written_bytes_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(
                    r#"WAL position in bytes: pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby."#,
                ),
                source: r#"WAL position in bytes: pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby; its rate is the WAL rate"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_wal_records_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(r#"WAL records generated, from pg_stat_wal (14+)."#),
                source: r#"pg_stat_wal.wal_records"#,
                collector: "database",
                min_pg: Some(14),
            },
            Metric {
                name: "pgmig_wal_fpi_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(r#"WAL full-page images generated, from pg_stat_wal (14+)."#),
                source: r#"pg_stat_wal.wal_fpi"#,
                collector: "database",
                min_pg: Some(14),
            },
            Metric {
                name: "pgmig_wal_bytes_total",
                kind: Kind::Counter,
                labels: &["target"],
                help: Some(r#"WAL bytes generated, from pg_stat_wal (14+)."#),
                source: r#"pg_stat_wal.wal_bytes"#,
                collector: "database",
                min_pg: Some(14),
            },
            Metric {
                name: "pgmig_replication_lag_seconds",
                kind: Kind::Gauge,
                labels: &["target", "application_name", "client_addr", "kind"],
                help: Some(
                    r#"Replication lag of each standby by kind (write, flush, replay), from pg_stat_replication; absent while the standby is idle and caught up."#,
                ),
                source: r#"pg_stat_replication write_lag, flush_lag, replay_lag (kind = write, flush, replay); absent while NULL (idle and caught up)"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_replication_lag_bytes",
                kind: Kind::Gauge,
                labels: &["target", "application_name", "client_addr", "kind"],
                help: Some(
                    r#"WAL bytes each standby has not yet written, flushed or replayed, from pg_stat_replication."#,
                ),
                source: r#"pg_current_wal_lsn() minus the standby's write_lsn, flush_lsn, replay_lsn"#,
                collector: "database",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_replication_slot_retained_bytes",
                kind: Kind::Gauge,
                labels: &["target", "slot_name", "slot_type", "active"],
                help: Some(
                    r#"WAL bytes each replication slot keeps from being removed (current WAL position - restart_lsn), from pg_replication_slots."#,
                ),
                source: r#"WAL a replication slot keeps: current WAL position minus restart_lsn, from pg_replication_slots"#,
                collector: "database",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `statements` (pg_stat_statements)"#,
        intro: r#"
Top `top_n` statements by total execution time per poll; the rest summed into `queryid="other"` (with
empty `datname` and `usename`). `other` is a true counter: each poll it adds what each statement
outside the top N gained since the previous poll, so it never goes down when a statement enters or
leaves the top N. With `query_text: true` each series also has a
normalised, truncated `query` label.

"#,
        metrics: &[
            Metric {
                name: "pgmig_statements_available",
                kind: Kind::Gauge,
                labels: &["target"],
                help: Some(
                    r#"1 when pg_stat_statements is installed in the target's database and readable, else 0."#,
                ),
                source: r#"1 when pg_stat_statements is installed (and loaded) in the target's database, else 0"#,
                collector: "statements",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_statement_calls_total",
                kind: Kind::Counter,
                labels: &["target", "queryid", "datname", "usename"],
                help: Some(
                    r#"Calls of each top statement, from pg_stat_statements.calls; queryid="other" sums the rest."#,
                ),
                source: r#"pg_stat_statements.calls"#,
                collector: "statements",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_statement_exec_seconds_total",
                kind: Kind::Counter,
                labels: &["target", "queryid", "datname", "usename"],
                help: Some(
                    r#"Total execution time of each top statement, from pg_stat_statements.total_exec_time; queryid="other" sums the rest."#,
                ),
                source: r#"pg_stat_statements.total_exec_time"#,
                collector: "statements",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_statement_mean_exec_seconds",
                kind: Kind::Gauge,
                labels: &["target", "queryid", "datname", "usename"],
                help: Some(
                    r#"Mean execution time of each top statement, from pg_stat_statements.mean_exec_time."#,
                ),
                source: r#"pg_stat_statements.mean_exec_time (top statements only)"#,
                collector: "statements",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_statement_rows_total",
                kind: Kind::Counter,
                labels: &["target", "queryid", "datname", "usename"],
                help: Some(
                    r#"Rows returned or affected by each top statement, from pg_stat_statements.rows; queryid="other" sums the rest."#,
                ),
                source: r#"pg_stat_statements.rows"#,
                collector: "statements",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `indexes` (pg_stat_user_indexes, pg_index, pg_class)"#,
        intro: r#"
Per database, bounded by the `objects` filter and `max_indexes` (invalid indexes first, then the
largest). Sizes come from `pg_class.relpages * block_size`: no lock, never `pg_relation_size()`.

"#,
        metrics: &[
            Metric {
                name: "pgmig_index_scans_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(
                    r#"Index scans started on each index, from pg_stat_user_indexes.idx_scan."#,
                ),
                source: r#"pg_stat_user_indexes.idx_scan"#,
                collector: "indexes",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_index_tuples_read_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(
                    r#"Index entries returned by scans of each index, from pg_stat_user_indexes.idx_tup_read."#,
                ),
                source: r#"pg_stat_user_indexes.idx_tup_read"#,
                collector: "indexes",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_index_tuples_fetched_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(
                    r#"Live table rows fetched by simple scans of each index, from pg_stat_user_indexes.idx_tup_fetch."#,
                ),
                source: r#"pg_stat_user_indexes.idx_tup_fetch"#,
                collector: "indexes",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_index_size_bytes",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(
                    r#"Size of each index from pg_class.relpages * block_size (as of its last VACUUM, ANALYZE or build; takes no lock)."#,
                ),
                source: r#"pg_class.relpages * block_size"#,
                collector: "indexes",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_index_valid",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(
                    r#"1 when the index is valid for queries (pg_index.indisvalid), else 0."#,
                ),
                source: r#"pg_index.indisvalid as 0/1"#,
                collector: "indexes",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_index_ready",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(r#"1 when the index accepts inserts (pg_index.indisready), else 0."#),
                source: r#"pg_index.indisready as 0/1"#,
                collector: "indexes",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_index_invalid",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table", "index"],
                help: Some(
                    r#"1 for each invalid index (pg_index.indisvalid false), such as one left by a failed CREATE INDEX CONCURRENTLY."#,
                ),
                source: r#"1 for each invalid index (only those have the series)"#,
                collector: "indexes",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `tables` (pg_stat_user_tables, pg_class, pg_locks)"#,
        intro: r#"
Per database, bounded by the `objects` filter and `max_tables` (largest first). A table with an
AccessExclusiveLock held or waited for is skipped for that poll: it gets `pgmig_table_locked 1` and is
counted in `pgmig_tables_skipped{reason="locked"}` instead of its statistics.

"#,
        metrics: &[
            Metric {
                name: "pgmig_table_seq_scans_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "table"],
                help: Some(r#"Sequential scans of each table, from pg_stat_user_tables.seq_scan."#),
                source: r#"pg_stat_user_tables.seq_scan"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_idx_scans_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "table"],
                help: Some(r#"Index scans of each table, from pg_stat_user_tables.idx_scan."#),
                source: r#"pg_stat_user_tables.idx_scan"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_live_tuples",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table"],
                help: Some(
                    r#"Estimated live rows of each table, from pg_stat_user_tables.n_live_tup."#,
                ),
                source: r#"pg_stat_user_tables.n_live_tup"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_dead_tuples",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table"],
                help: Some(
                    r#"Estimated dead rows of each table, from pg_stat_user_tables.n_dead_tup."#,
                ),
                source: r#"pg_stat_user_tables.n_dead_tup"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_modified_since_analyze",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table"],
                help: Some(
                    r#"Rows modified since each table was last analyzed, from pg_stat_user_tables.n_mod_since_analyze."#,
                ),
                source: r#"pg_stat_user_tables.n_mod_since_analyze"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_estimated_rows",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table"],
                help: Some(
                    r#"Planner's row estimate of each table, from pg_class.reltuples (0 before the first ANALYZE)."#,
                ),
                source: r#"pg_class.reltuples (0 before the first ANALYZE)"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_size_bytes",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table"],
                help: Some(
                    r#"Size of each table's main fork from pg_class.relpages * block_size (takes no lock)."#,
                ),
                source: r#"pg_class.relpages * block_size (main fork)"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_last_vacuum_timestamp_seconds",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table", "mode"],
                help: Some(
                    r#"Unix time each table was last vacuumed, by mode (manual, auto), from pg_stat_user_tables; absent if never."#,
                ),
                source: r#"last_vacuum (mode=manual), last_autovacuum (mode=auto); absent if never"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_last_analyze_timestamp_seconds",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table", "mode"],
                help: Some(
                    r#"Unix time each table was last analyzed, by mode (manual, auto), from pg_stat_user_tables; absent if never."#,
                ),
                source: r#"last_analyze (manual), last_autoanalyze (auto); absent if never"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_table_locked",
                kind: Kind::Gauge,
                labels: &["target", "datname", "schema", "table"],
                help: Some(
                    r#"1 for each table skipped this poll because an AccessExclusiveLock on it is held or waited for (from pg_locks)."#,
                ),
                source: r#"1 for each table skipped this poll because of an AccessExclusiveLock held or waited for"#,
                collector: "tables",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_tables_skipped",
                kind: Kind::Gauge,
                labels: &["target", "datname", "reason"],
                help: Some(
                    r#"Tables left out of this poll, by reason: locked (an AccessExclusiveLock held or waited for) or limit (beyond max_tables)."#,
                ),
                source: r#"tables left out this poll: reason=locked, or reason=limit (beyond max_tables)"#,
                collector: "tables",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
    Section {
        title: r#"Collector `functions` (pg_stat_user_functions)"#,
        intro: r#"
Per database, bounded by the `objects` schema filter and `max_functions`. `function` is the name with
its argument types, e.g. `v2_get_posts(integer)`.

"#,
        metrics: &[
            Metric {
                name: "pgmig_functions_tracked",
                kind: Kind::Gauge,
                labels: &["target", "datname"],
                help: Some(
                    r#"1 when track_functions is pl or all, so pg_stat_user_functions is filled; 0 when it is none."#,
                ),
                source: r#"1 when track_functions is pl or all (so pg_stat_user_functions is filled), else 0"#,
                collector: "functions",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_function_calls_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "function"],
                help: Some(r#"Calls of each function, from pg_stat_user_functions.calls."#),
                source: r#"pg_stat_user_functions.calls"#,
                collector: "functions",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_function_total_seconds_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "function"],
                help: Some(
                    r#"Time spent in each function and what it called, from pg_stat_user_functions.total_time."#,
                ),
                source: r#"pg_stat_user_functions.total_time"#,
                collector: "functions",
                min_pg: Some(13),
            },
            Metric {
                name: "pgmig_function_self_seconds_total",
                kind: Kind::Counter,
                labels: &["target", "datname", "schema", "function"],
                help: Some(
                    r#"Time spent in each function itself, from pg_stat_user_functions.self_time."#,
                ),
                source: r#"pg_stat_user_functions.self_time"#,
                collector: "functions",
                min_pg: Some(13),
            },
        ],
        outro: r#"
"#,
    },
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
