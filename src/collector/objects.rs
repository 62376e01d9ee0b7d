//! Collectors `indexes`, `tables` and `functions`: per-object statistics of
//! each database, bounded by the `objects` filter (schema and table regular
//! expressions, matched in PostgreSQL) and a top-N per database.
//!
//! Sizes come from `pg_class.relpages * block_size`, never from
//! `pg_relation_size()` and its friends: those take a lock and queue behind
//! a migration's DDL. No query here takes a lock on a user relation.
//! PostgreSQL 13+; the statistics views need no privilege beyond CONNECT.
//!
//! `indexes` reads `pg_stat_user_indexes`, `pg_index`, `pg_class`; invalid
//! indexes (left by a failed CREATE INDEX CONCURRENTLY) are always kept and
//! also reported as `pgmig_index_invalid`; the others are kept largest first.
//!
//! `tables` reads `pg_stat_user_tables`, `pg_class` and `pg_locks`. A table
//! with an AccessExclusiveLock held or waited for is skipped for that poll,
//! reported by `pgmig_table_locked` and counted in `pgmig_tables_skipped`
//! (skipped, not missing).
//!
//! `functions` reads `pg_stat_user_functions` (filled only when
//! `track_functions` is `pl` or `all`, which `pgmig_functions_tracked` says).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_index_scans_total`, `pgmig_index_tuples_read_total`, `pgmig_index_tuples_fetched_total` | counter | target, datname, schema, table, index |
//! | `pgmig_index_size_bytes`, `pgmig_index_valid`, `pgmig_index_ready` | gauge | same |
//! | `pgmig_index_invalid` | gauge | same (only invalid indexes, value 1) |
//! | `pgmig_table_seq_scans_total`, `pgmig_table_idx_scans_total` | counter | target, datname, schema, table |
//! | `pgmig_table_live_tuples`, `pgmig_table_dead_tuples`, `pgmig_table_modified_since_analyze`, `pgmig_table_estimated_rows`, `pgmig_table_size_bytes` | gauge | same |
//! | `pgmig_table_last_vacuum_timestamp_seconds`, `pgmig_table_last_analyze_timestamp_seconds` | gauge | same + mode (manual, auto) |
//! | `pgmig_table_locked` | gauge | target, datname, schema, table |
//! | `pgmig_tables_skipped` | gauge | target, datname, reason |
//! | `pgmig_functions_tracked` | gauge | target, datname |
//! | `pgmig_function_calls_total`, `pgmig_function_total_seconds_total`, `pgmig_function_self_seconds_total` | counter | target, datname, schema, function |

use tokio_postgres::types::ToSql;

use super::{
    col, CollectError, CollectFuture, Collector, Ctx, Lane, Observation, Output, Scope, Spec,
    WindowEvidence,
};
use crate::catalogue::entry::{Kind, Metric, Section};
use crate::config::ObjectFilter;
use crate::exposition::Family;

pub const INDEXES: Spec = Spec {
    name: "indexes",
    about: "per-index statistics, sizes and invalid indexes",
    lane: Lane::Slow,
    scope: Scope::Database,
    schedule: |s| s.collectors.indexes.schedule,
    build: |s| {
        Box::new(Indexes {
            filter: s.objects.clone(),
            max: s.collectors.indexes.max_indexes,
        })
    },
    catalogue: &INDEXES_CATALOGUE,
};

pub const TABLES: Spec = Spec {
    name: "tables",
    about: "per-table statistics and sizes",
    lane: Lane::Slow,
    scope: Scope::Database,
    schedule: |s| s.collectors.tables.schedule,
    build: |s| {
        Box::new(Tables {
            filter: s.objects.clone(),
            max: s.collectors.tables.max_tables,
        })
    },
    catalogue: &TABLES_CATALOGUE,
};

pub const FUNCTIONS: Spec = Spec {
    name: "functions",
    about: "per-function call counts and times (pg_stat_user_functions)",
    lane: Lane::Slow,
    scope: Scope::Database,
    schedule: |s| s.collectors.functions.schedule,
    build: |s| {
        Box::new(Functions {
            filter: s.objects.clone(),
            max: s.collectors.functions.max_functions,
        })
    },
    catalogue: &FUNCTIONS_CATALOGUE,
};

/// The WHERE clause of the object filter over `schema_col` and `table_col`,
/// with the patterns as parameters $2..$5 ($1 is the limit).
fn filter_clause(schema_col: &str, table_col: Option<&str>) -> String {
    let mut s = format!(
        "(cardinality($2::text[]) = 0 OR {schema_col} ~ ANY($2::text[])) AND NOT ({schema_col} ~ ANY($3::text[]))"
    );
    match table_col {
        Some(t) => s.push_str(&format!(
            " AND (cardinality($4::text[]) = 0 OR {t} ~ ANY($4::text[])) AND NOT ({t} ~ ANY($5::text[]))"
        )),
        None => s.push_str(" AND cardinality($4::text[]) >= 0 AND cardinality($5::text[]) >= 0"),
    }
    s
}

async fn query_filtered(
    ctx: &Ctx<'_>,
    collector: &'static str,
    sql: &str,
    f: &ObjectFilter,
    limit: usize,
) -> Result<Vec<tokio_postgres::Row>, CollectError> {
    let limit = limit as i64;
    let params: [&(dyn ToSql + Sync); 5] = [
        &limit,
        &f.include_schemas,
        &f.exclude_schemas,
        &f.include_tables,
        &f.exclude_tables,
    ];
    ctx.query(sql, &params)
        .await
        .map_err(|e| CollectError::query(collector, e))
}

struct Indexes {
    filter: ObjectFilter,
    max: usize,
}

impl Collector for Indexes {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        const N: &str = "indexes";
        Box::pin(async move {
            let sql = format!(
                "SELECT s.schemaname::text AS schema, s.relname::text AS table_name, s.indexrelname::text AS index_name, \
                        s.idx_scan::float8 AS scans, s.idx_tup_read::float8 AS tup_read, s.idx_tup_fetch::float8 AS tup_fetch, \
                        (c.relpages::int8 * pg_catalog.current_setting('block_size')::int8)::float8 AS size_bytes, \
                        i.indisvalid AS valid, i.indisready AS ready, count(*) OVER () AS total \
                 FROM pg_catalog.pg_stat_user_indexes s \
                 JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid \
                 JOIN pg_catalog.pg_class c ON c.oid = s.indexrelid \
                 WHERE {} \
                 ORDER BY i.indisvalid, c.relpages DESC, s.indexrelid LIMIT $1",
                filter_clause("s.schemaname", Some("s.relname"))
            );
            let rows = query_filtered(ctx, N, &sql, &self.filter, self.max).await?;
            let mut out = Output::default();
            let mut scans = ctx.db_counter(
                "pgmig_index_scans_total",
                "Index scans started on each index, from pg_stat_user_indexes.idx_scan.",
            );
            let mut read = ctx.db_counter("pgmig_index_tuples_read_total", "Index entries returned by scans of each index, from pg_stat_user_indexes.idx_tup_read.");
            let mut fetched = ctx.db_counter("pgmig_index_tuples_fetched_total", "Live table rows fetched by simple scans of each index, from pg_stat_user_indexes.idx_tup_fetch.");
            let mut size = ctx.db_gauge("pgmig_index_size_bytes", "Size of each index from pg_class.relpages * block_size (as of its last VACUUM, ANALYZE or build; takes no lock).");
            let mut valid = ctx.db_gauge(
                "pgmig_index_valid",
                "1 when the index is valid for queries (pg_index.indisvalid), else 0.",
            );
            let mut ready = ctx.db_gauge(
                "pgmig_index_ready",
                "1 when the index accepts inserts (pg_index.indisready), else 0.",
            );
            let mut invalid = ctx.db_gauge("pgmig_index_invalid", "1 for each invalid index (pg_index.indisvalid false), such as one left by a failed CREATE INDEX CONCURRENTLY.");
            let mut total = 0i64;
            let mut invalid_names = Vec::new();
            for r in &rows {
                total = col(N, r, "total")?;
                let (sc, t, i): (String, String, String) = (
                    col(N, r, "schema")?,
                    col(N, r, "table_name")?,
                    col(N, r, "index_name")?,
                );
                let labels = [
                    ("schema", sc.as_str()),
                    ("table", t.as_str()),
                    ("index", i.as_str()),
                ];
                let is_valid: bool = col(N, r, "valid")?;
                scans.add(&labels, col::<Option<f64>>(N, r, "scans")?.unwrap_or(0.0));
                read.add(
                    &labels,
                    col::<Option<f64>>(N, r, "tup_read")?.unwrap_or(0.0),
                );
                fetched.add(
                    &labels,
                    col::<Option<f64>>(N, r, "tup_fetch")?.unwrap_or(0.0),
                );
                size.add(&labels, col(N, r, "size_bytes")?);
                valid.add(&labels, if is_valid { 1.0 } else { 0.0 });
                ready.add(&labels, f64::from(u8::from(col::<bool>(N, r, "ready")?)));
                if !is_valid {
                    invalid.add(&labels, 1.0);
                    invalid_names.push(format!("{}/{sc}/{i}", ctx.datname));
                }
            }
            ctx.observe(Observation::Window(WindowEvidence {
                invalid_indexes: Some(invalid_names),
                ..WindowEvidence::default()
            }));
            out.dropped = (total as usize).saturating_sub(rows.len()) * 6;
            for f in [scans, read, fetched, size, valid, ready, invalid] {
                out.push(f);
            }
            Ok(out)
        })
    }
}

struct Tables {
    filter: ObjectFilter,
    max: usize,
}

impl Collector for Tables {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        const N: &str = "tables";
        Box::pin(async move {
            let sql = tables_sql();
            let rows = query_filtered(ctx, N, &sql, &self.filter, self.max).await?;
            let mut out = Output::default();
            let mut seq = ctx.db_counter(
                "pgmig_table_seq_scans_total",
                "Sequential scans of each table, from pg_stat_user_tables.seq_scan.",
            );
            let mut idx = ctx.db_counter(
                "pgmig_table_idx_scans_total",
                "Index scans of each table, from pg_stat_user_tables.idx_scan.",
            );
            let mut live = ctx.db_gauge(
                "pgmig_table_live_tuples",
                "Estimated live rows of each table, from pg_stat_user_tables.n_live_tup.",
            );
            let mut dead = ctx.db_gauge(
                "pgmig_table_dead_tuples",
                "Estimated dead rows of each table, from pg_stat_user_tables.n_dead_tup.",
            );
            let mut modified = ctx.db_gauge("pgmig_table_modified_since_analyze", "Rows modified since each table was last analyzed, from pg_stat_user_tables.n_mod_since_analyze.");
            let mut est = ctx.db_gauge("pgmig_table_estimated_rows", "Planner's row estimate of each table, from pg_class.reltuples (0 before the first ANALYZE).");
            let mut size = ctx.db_gauge("pgmig_table_size_bytes", "Size of each table's main fork from pg_class.relpages * block_size (takes no lock).");
            let mut vac = ctx.db_gauge("pgmig_table_last_vacuum_timestamp_seconds", "Unix time each table was last vacuumed, by mode (manual, auto), from pg_stat_user_tables; absent if never.");
            let mut ana = ctx.db_gauge("pgmig_table_last_analyze_timestamp_seconds", "Unix time each table was last analyzed, by mode (manual, auto), from pg_stat_user_tables; absent if never.");
            let mut locked = ctx.db_gauge("pgmig_table_locked", "1 for each table skipped this poll because an AccessExclusiveLock on it is held or waited for (from pg_locks).");
            let mut total = 0i64;
            let mut skipped = 0usize;
            for r in &rows {
                total = col(N, r, "total")?;
                let (sc, t): (String, String) = (col(N, r, "schema")?, col(N, r, "table_name")?);
                let labels = [("schema", sc.as_str()), ("table", t.as_str())];
                if col::<bool>(N, r, "locked")? {
                    locked.add(&labels, 1.0);
                    skipped += 1;
                    continue;
                }
                seq.add(
                    &labels,
                    col::<Option<f64>>(N, r, "seq_scan")?.unwrap_or(0.0),
                );
                idx.add(&labels, col(N, r, "idx_scan")?);
                live.add(&labels, col::<Option<f64>>(N, r, "live")?.unwrap_or(0.0));
                dead.add(&labels, col::<Option<f64>>(N, r, "dead")?.unwrap_or(0.0));
                modified.add(
                    &labels,
                    col::<Option<f64>>(N, r, "modified")?.unwrap_or(0.0),
                );
                est.add(&labels, col(N, r, "est_rows")?);
                size.add(&labels, col(N, r, "size_bytes")?);
                maintenance_times(r, &sc, &t, &mut vac, &mut ana)?;
            }
            let mut sk = ctx.db_gauge("pgmig_tables_skipped", "Tables left out of this poll, by reason: locked (an AccessExclusiveLock held or waited for) or limit (beyond max_tables).");
            let beyond = (total as usize).saturating_sub(rows.len());
            sk.add(&[("reason", "locked")], skipped as f64);
            sk.add(&[("reason", "limit")], beyond as f64);
            out.dropped = beyond * 9;
            for f in [
                seq, idx, live, dead, modified, est, size, vac, ana, locked, sk,
            ] {
                out.push(f);
            }
            Ok(out)
        })
    }
}

/// The tables collector's query: the largest tables first, those under an
/// AccessExclusiveLock first of all (they are skipped, not read).
fn tables_sql() -> String {
    format!(
        "WITH locked AS (\
           SELECT DISTINCT relation FROM pg_catalog.pg_locks \
           WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock' \
             AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) \
         SELECT s.schemaname::text AS schema, s.relname::text AS table_name, (l.relation IS NOT NULL) AS locked, \
                s.seq_scan::float8 AS seq_scan, coalesce(s.idx_scan, 0)::float8 AS idx_scan, \
                s.n_live_tup::float8 AS live, s.n_dead_tup::float8 AS dead, s.n_mod_since_analyze::float8 AS modified, \
                extract(epoch FROM s.last_vacuum)::float8 AS last_vacuum, extract(epoch FROM s.last_autovacuum)::float8 AS last_autovacuum, \
                extract(epoch FROM s.last_analyze)::float8 AS last_analyze, extract(epoch FROM s.last_autoanalyze)::float8 AS last_autoanalyze, \
                greatest(c.reltuples, 0)::float8 AS est_rows, \
                (c.relpages::int8 * pg_catalog.current_setting('block_size')::int8)::float8 AS size_bytes, \
                count(*) OVER () AS total \
         FROM pg_catalog.pg_stat_user_tables s \
         JOIN pg_catalog.pg_class c ON c.oid = s.relid \
         LEFT JOIN locked l ON l.relation = s.relid \
         WHERE {} \
         ORDER BY (l.relation IS NOT NULL) DESC, c.relpages DESC, s.relid LIMIT $1",
        filter_clause("s.schemaname", Some("s.relname"))
    )
}

/// The last (auto)vacuum and (auto)analyze times of one table row, by mode.
fn maintenance_times(
    r: &tokio_postgres::Row,
    schema: &str,
    table: &str,
    vac: &mut Family,
    ana: &mut Family,
) -> Result<(), CollectError> {
    for (column, is_vacuum, mode) in [
        ("last_vacuum", true, "manual"),
        ("last_autovacuum", true, "auto"),
        ("last_analyze", false, "manual"),
        ("last_autoanalyze", false, "auto"),
    ] {
        if let Some(ts) = col::<Option<f64>>("tables", r, column)? {
            let f = if is_vacuum { &mut *vac } else { &mut *ana };
            f.add(&[("schema", schema), ("table", table), ("mode", mode)], ts);
        }
    }
    Ok(())
}

struct Functions {
    filter: ObjectFilter,
    max: usize,
}

impl Collector for Functions {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        const N: &str = "functions";
        Box::pin(async move {
            let sql = format!(
                "SELECT s.schemaname::text AS schema, \
                        s.funcname || '(' || pg_catalog.pg_get_function_identity_arguments(s.funcid) || ')' AS function, \
                        s.calls::float8 AS calls, (s.total_time / 1000)::float8 AS total_seconds, (s.self_time / 1000)::float8 AS self_seconds, \
                        pg_catalog.current_setting('track_functions') AS tracking, count(*) OVER () AS total \
                 FROM pg_catalog.pg_stat_user_functions s \
                 WHERE {} \
                 ORDER BY s.total_time DESC, s.funcid LIMIT $1",
                filter_clause("s.schemaname", None)
            );
            let rows = query_filtered(ctx, N, &sql, &self.filter, self.max).await?;
            let tracking = ctx
                .query_one(
                    "SELECT pg_catalog.current_setting('track_functions') <> 'none'",
                    &[],
                )
                .await
                .map_err(|e| CollectError::query(N, e))?
                .get::<_, bool>(0);
            let mut out = Output::default();
            let mut tr = ctx.db_gauge("pgmig_functions_tracked", "1 when track_functions is pl or all, so pg_stat_user_functions is filled; 0 when it is none.");
            tr.add(&[], if tracking { 1.0 } else { 0.0 });
            let mut calls = ctx.db_counter(
                "pgmig_function_calls_total",
                "Calls of each function, from pg_stat_user_functions.calls.",
            );
            let mut total_s = ctx.db_counter("pgmig_function_total_seconds_total", "Time spent in each function and what it called, from pg_stat_user_functions.total_time.");
            let mut self_s = ctx.db_counter(
                "pgmig_function_self_seconds_total",
                "Time spent in each function itself, from pg_stat_user_functions.self_time.",
            );
            let mut total = 0i64;
            for r in &rows {
                total = col(N, r, "total")?;
                let (sc, f): (String, String) = (col(N, r, "schema")?, col(N, r, "function")?);
                let labels = [("schema", sc.as_str()), ("function", f.as_str())];
                calls.add(&labels, col(N, r, "calls")?);
                total_s.add(&labels, col(N, r, "total_seconds")?);
                self_s.add(&labels, col(N, r, "self_seconds")?);
            }
            out.dropped = (total as usize).saturating_sub(rows.len()) * 3;
            for f in [tr, calls, total_s, self_s] {
                out.push(f);
            }
            Ok(out)
        })
    }
}

/// The metrics the `indexes` collector serves, as docs/metrics.md lists them
/// (its section of the catalogue; `catalogue::sections` puts it in order).
pub const INDEXES_CATALOGUE: Section = Section {
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
            help: Some(r#"Index scans started on each index, from pg_stat_user_indexes.idx_scan."#),
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
            help: Some(r#"1 when the index is valid for queries (pg_index.indisvalid), else 0."#),
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
};

/// The metrics the `tables` collector serves, as docs/metrics.md lists them
/// (its section of the catalogue; `catalogue::sections` puts it in order).
pub const TABLES_CATALOGUE: Section = Section {
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
};

/// The metrics the `functions` collector serves, as docs/metrics.md lists them
/// (its section of the catalogue; `catalogue::sections` puts it in order).
pub const FUNCTIONS_CATALOGUE: Section = Section {
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
};
