//! Collector `database`: database-wide counters, WAL and replication.
//!
//! Reads `pg_stat_database` (per database: commits, rollbacks, deadlocks,
//! conflicts, temp bytes, blocks hit and read), `pg_is_in_recovery()` and the
//! current WAL position (`pg_current_wal_lsn()` on a primary,
//! `pg_last_wal_replay_lsn()` on a standby), `pg_stat_wal` (14+),
//! `pg_stat_replication` (per standby: write/flush/replay lag in seconds and
//! bytes) and `pg_replication_slots` (WAL each slot retains). Server-wide,
//! slow lane, every 15 s. Needs `pg_monitor` for the replication views.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_database_commits_total` ... `pgmig_database_blocks_read_total` | counter | target, datname |
//! | `pgmig_in_recovery` | gauge | target |
//! | `pgmig_wal_written_bytes_total` | counter | target |
//! | `pgmig_wal_records_total`, `pgmig_wal_fpi_total`, `pgmig_wal_bytes_total` | counter | target |
//! | `pgmig_replication_lag_seconds`, `pgmig_replication_lag_bytes` | gauge | target, application_name, client_addr, kind |
//! | `pgmig_replication_slot_retained_bytes` | gauge | target, slot_name, slot_type, active |

use super::{col, CollectError, CollectFuture, Collector, Ctx, Lane, Output, Scope, Spec};
use crate::catalogue::entry::{Kind, Metric, Section};

pub const NAME: &str = "database";

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "database counters, WAL position and replication lag (pg_stat_database, pg_stat_replication, slots)",
    lane: Lane::Slow,
    scope: Scope::Server,
    schedule: |s| s.collectors.database.schedule,
    build: |_| Box::new(Database),
    catalogue: &CATALOGUE,
};

const STAT_DATABASE_SQL: &str = "\
SELECT datname, xact_commit::float8 AS xact_commit, xact_rollback::float8 AS xact_rollback, \
       deadlocks::float8 AS deadlocks, conflicts::float8 AS conflicts, temp_bytes::float8 AS temp_bytes, \
       blks_hit::float8 AS blks_hit, blks_read::float8 AS blks_read \
FROM pg_catalog.pg_stat_database WHERE datname IS NOT NULL";

const WAL_POSITION_SQL: &str = "\
SELECT pg_catalog.pg_is_in_recovery() AS in_recovery, \
       pg_catalog.pg_wal_lsn_diff(CASE WHEN pg_catalog.pg_is_in_recovery() \
            THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_lsn() END, '0/0')::float8 AS position";

const STAT_WAL_SQL: &str = "\
SELECT wal_records::float8 AS wal_records, wal_fpi::float8 AS wal_fpi, wal_bytes::float8 AS wal_bytes \
FROM pg_catalog.pg_stat_wal";

const REPLICATION_SQL: &str = "\
SELECT coalesce(application_name, '') AS application_name, coalesce(host(client_addr), 'local') AS client_addr, \
       extract(epoch FROM write_lag)::float8 AS write_lag, extract(epoch FROM flush_lag)::float8 AS flush_lag, \
       extract(epoch FROM replay_lag)::float8 AS replay_lag, \
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), write_lsn)::float8 AS write_bytes, \
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), flush_lsn)::float8 AS flush_bytes, \
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)::float8 AS replay_bytes \
FROM pg_catalog.pg_stat_replication";

const SLOTS_SQL: &str = "\
SELECT slot_name::text AS slot_name, slot_type, active, \
       coalesce(pg_catalog.pg_wal_lsn_diff(CASE WHEN pg_catalog.pg_is_in_recovery() \
            THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_lsn() END, restart_lsn), 0)::float8 AS retained \
FROM pg_catalog.pg_replication_slots";

struct Database;

impl Collector for Database {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let mut out = Output::default();
            stat_database(ctx, &mut out).await?;
            let in_recovery = wal(ctx, &mut out).await?;
            replication(ctx, in_recovery, &mut out).await?;
            Ok(out)
        })
    }
}

fn q(e: tokio_postgres::Error) -> CollectError {
    CollectError::query(NAME, e)
}

/// Transactions, deadlocks, conflicts, temp bytes and block reads of each
/// database, from pg_stat_database.
async fn stat_database(ctx: &Ctx<'_>, out: &mut Output) -> Result<(), CollectError> {
    let counters: [(&str, &str, &str); 7] = [
        ("xact_commit", "pgmig_database_commits_total", "Transactions committed in each database, from pg_stat_database.xact_commit."),
        ("xact_rollback", "pgmig_database_rollbacks_total", "Transactions rolled back in each database, from pg_stat_database.xact_rollback."),
        ("deadlocks", "pgmig_database_deadlocks_total", "Deadlocks detected in each database, from pg_stat_database.deadlocks."),
        ("conflicts", "pgmig_database_conflicts_total", "Queries cancelled by recovery conflicts on a standby, from pg_stat_database.conflicts."),
        ("temp_bytes", "pgmig_database_temp_bytes_total", "Bytes written to temporary files by queries, from pg_stat_database.temp_bytes."),
        ("blks_hit", "pgmig_database_blocks_hit_total", "Block reads served from shared buffers, from pg_stat_database.blks_hit."),
        ("blks_read", "pgmig_database_blocks_read_total", "Block reads that went to the operating system, from pg_stat_database.blks_read."),
    ];
    let rows = ctx.query(STAT_DATABASE_SQL, &[]).await.map_err(q)?;
    for (column, name, help) in counters {
        let mut f = ctx.counter(name, help);
        for r in &rows {
            let d: String = col(NAME, r, "datname")?;
            f.add(&[("datname", &d)], col::<f64>(NAME, r, column)?);
        }
        out.push(f);
    }
    Ok(())
}

/// Recovery state and the WAL position (and pg_stat_wal on 14+); whether the
/// server is in recovery.
async fn wal(ctx: &Ctx<'_>, out: &mut Output) -> Result<bool, CollectError> {
    let pos = ctx.query_one(WAL_POSITION_SQL, &[]).await.map_err(q)?;
    let in_recovery: bool = col(NAME, &pos, "in_recovery")?;
    let mut f = ctx.gauge(
        "pgmig_in_recovery",
        "1 when the server is a standby in recovery, from pg_is_in_recovery().",
    );
    f.add(&[], if in_recovery { 1.0 } else { 0.0 });
    out.push(f);
    // The WAL position only grows, so it is a counter: its rate is the WAL rate.
    let mut f = ctx.counter(
        "pgmig_wal_written_bytes_total",
        "WAL position in bytes: pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby.",
    );
    if let Some(p) = col::<Option<f64>>(NAME, &pos, "position")? {
        f.add(&[], p);
    }
    out.push(f);

    if ctx.server_version_num >= 140000 {
        let w = ctx.query_one(STAT_WAL_SQL, &[]).await.map_err(q)?;
        for (column, name, help) in [
            (
                "wal_records",
                "pgmig_wal_records_total",
                "WAL records generated, from pg_stat_wal (14+).",
            ),
            (
                "wal_fpi",
                "pgmig_wal_fpi_total",
                "WAL full-page images generated, from pg_stat_wal (14+).",
            ),
            (
                "wal_bytes",
                "pgmig_wal_bytes_total",
                "WAL bytes generated, from pg_stat_wal (14+).",
            ),
        ] {
            let mut f = ctx.counter(name, help);
            f.add(&[], col::<f64>(NAME, &w, column)?);
            out.push(f);
        }
    }
    Ok(in_recovery)
}

/// Each standby's lag (on a primary) and each slot's retained WAL.
async fn replication(
    ctx: &Ctx<'_>,
    in_recovery: bool,
    out: &mut Output,
) -> Result<(), CollectError> {
    let mut lag_s = ctx.gauge(
        "pgmig_replication_lag_seconds",
        "Replication lag of each standby by kind (write, flush, replay), from pg_stat_replication; absent while the standby is idle and caught up.",
    );
    let mut lag_b = ctx.gauge(
        "pgmig_replication_lag_bytes",
        "WAL bytes each standby has not yet written, flushed or replayed, from pg_stat_replication.",
    );
    if !in_recovery {
        for r in ctx.query(REPLICATION_SQL, &[]).await.map_err(q)? {
            let app: String = col(NAME, &r, "application_name")?;
            let addr: String = col(NAME, &r, "client_addr")?;
            for kind in ["write", "flush", "replay"] {
                let labels = [
                    ("application_name", app.as_str()),
                    ("client_addr", addr.as_str()),
                    ("kind", kind),
                ];
                if let Some(v) = col::<Option<f64>>(NAME, &r, &format!("{kind}_lag"))? {
                    lag_s.add(&labels, v);
                }
                if let Some(v) = col::<Option<f64>>(NAME, &r, &format!("{kind}_bytes"))? {
                    lag_b.add(&labels, v);
                }
            }
        }
    }
    out.push(lag_s);
    out.push(lag_b);

    let mut slots = ctx.gauge(
        "pgmig_replication_slot_retained_bytes",
        "WAL bytes each replication slot keeps from being removed (current WAL position - restart_lsn), from pg_replication_slots.",
    );
    for r in ctx.query(SLOTS_SQL, &[]).await.map_err(q)? {
        let name: String = col(NAME, &r, "slot_name")?;
        let kind: String = col(NAME, &r, "slot_type")?;
        let active: bool = col(NAME, &r, "active")?;
        slots.add(
            &[
                ("slot_name", &name),
                ("slot_type", &kind),
                ("active", if active { "true" } else { "false" }),
            ],
            col(NAME, &r, "retained")?,
        );
    }
    out.push(slots);
    Ok(())
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
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
            help: Some(r#"Deadlocks detected in each database, from pg_stat_database.deadlocks."#),
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
            help: Some(r#"1 when the server is a standby in recovery, from pg_is_in_recovery()."#),
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
};
