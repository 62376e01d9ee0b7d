//! Collector `statements`: the statements that cost the most, from
//! `pg_stat_statements` when the extension is installed in the target's
//! database (and loaded through shared_preload_libraries).
//!
//! Keeps the top N statements by total execution time each poll; all the
//! others are summed into one series with `queryid="other"`, so sums over
//! all series stay right. Because a statement can move in and out of the top
//! N, a single statement's counters can appear and vanish; sums do not.
//! PostgreSQL 13+ (where `total_time` became `total_exec_time`; the 17
//! renames of the block-time columns are not read). Needs `pg_read_all_stats`
//! (part of `pg_monitor`) to see other users' statements. If the extension
//! is missing, the collector says so once in the log and as
//! `pgmig_statements_available 0`, and succeeds.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_statements_available` | gauge | target |
//! | `pgmig_statement_calls_total` | counter | target, queryid, datname, usename (+ query when opted in) |
//! | `pgmig_statement_exec_seconds_total` | counter | same |
//! | `pgmig_statement_mean_exec_seconds` | gauge | same |
//! | `pgmig_statement_rows_total` | counter | same |

use super::{
    col, quote_ident, CollectError, CollectFuture, Collector, Ctx, Lane, Output, Scope, Spec,
};
use crate::catalogue::entry::{Kind, Metric, Section};

pub const NAME: &str = "statements";

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "the costliest statements from pg_stat_statements, when installed",
    lane: Lane::Slow,
    scope: Scope::Server,
    schedule: |s| s.collectors.statements.schedule,
    build: |s| {
        Box::new(Statements {
            top_n: s.collectors.statements.top_n,
            query_text: s.collectors.statements.query_text,
            max_len: s.collectors.statements.query_text_max_length,
            said_missing: false,
        })
    },
    catalogue: &CATALOGUE,
};

struct Statements {
    top_n: usize,
    query_text: bool,
    max_len: usize,
    said_missing: bool,
}

const FIND_SQL: &str = "SELECT n.nspname FROM pg_catalog.pg_extension e \
     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'";

impl Statements {
    /// The top statements' families plus `queryid="other"` summing the rest.
    fn families(
        &self,
        ctx: &Ctx<'_>,
        rows: &[tokio_postgres::Row],
        rest: &tokio_postgres::Row,
        out: &mut Output,
    ) -> Result<(), CollectError> {
        let mut calls = ctx.counter("pgmig_statement_calls_total", "Calls of each top statement, from pg_stat_statements.calls; queryid=\"other\" sums the rest.");
        let mut exec = ctx.counter("pgmig_statement_exec_seconds_total", "Total execution time of each top statement, from pg_stat_statements.total_exec_time; queryid=\"other\" sums the rest.");
        let mut mean = ctx.gauge(
            "pgmig_statement_mean_exec_seconds",
            "Mean execution time of each top statement, from pg_stat_statements.mean_exec_time.",
        );
        let mut nrows = ctx.counter("pgmig_statement_rows_total", "Rows returned or affected by each top statement, from pg_stat_statements.rows; queryid=\"other\" sums the rest.");
        for r in rows {
            let id: String = col(NAME, r, "queryid")?;
            let d: String = col(NAME, r, "datname")?;
            let u: String = col(NAME, r, "usename")?;
            let text;
            let mut labels = vec![
                ("queryid", id.as_str()),
                ("datname", d.as_str()),
                ("usename", u.as_str()),
            ];
            if self.query_text {
                let raw: Option<String> = col(NAME, r, "query")?;
                text = super::activity::normalize_query(raw.as_deref().unwrap_or(""), self.max_len);
                labels.push(("query", &text));
            }
            calls.add(&labels, col(NAME, r, "calls")?);
            exec.add(&labels, col(NAME, r, "exec_seconds")?);
            mean.add(&labels, col(NAME, r, "mean_seconds")?);
            nrows.add(&labels, col(NAME, r, "rows")?);
        }
        let mut other = vec![("queryid", "other"), ("datname", ""), ("usename", "")];
        if self.query_text {
            other.push(("query", ""));
        }
        calls.add(&other, col(NAME, rest, "calls")?);
        exec.add(&other, col(NAME, rest, "exec_seconds")?);
        nrows.add(&other, col(NAME, rest, "rows")?);
        out.dropped = col::<i64>(NAME, rest, "n")? as usize * 4;
        out.push(calls);
        out.push(exec);
        out.push(mean);
        out.push(nrows);
        Ok(())
    }
}

impl Collector for Statements {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let q = |e| CollectError::query(NAME, e);
            let mut out = Output::default();
            let mut avail = ctx.gauge(
                "pgmig_statements_available",
                "1 when pg_stat_statements is installed in the target's database and readable, else 0.",
            );
            let schema: Option<String> = ctx
                .query_opt(FIND_SQL, &[])
                .await
                .map_err(q)?
                .and_then(|r| r.try_get::<_, super::LossyText>(0).ok())
                .map(|t| t.0);
            let Some(schema) = schema else {
                if !self.said_missing {
                    tracing::info!(target = ctx.target, datname = ctx.datname,
                        "pg_stat_statements is not installed in this database; the statements collector reports nothing else");
                    self.said_missing = true;
                }
                avail.add(&[], 0.0);
                out.push(avail);
                return Ok(out);
            };
            let view = format!("{}.pg_stat_statements", quote_ident(&schema));
            let text_col = if self.query_text {
                "left(s.query, 2048)"
            } else {
                "NULL::text"
            };
            let top_sql = format!(
                "SELECT coalesce(s.queryid::text, '') AS queryid, coalesce(d.datname, '') AS datname, \
                        coalesce(r.rolname, '') AS usename, s.calls::float8 AS calls, \
                        (s.total_exec_time / 1000)::float8 AS exec_seconds, (s.mean_exec_time / 1000)::float8 AS mean_seconds, \
                        s.rows::float8 AS rows, {text_col} AS query \
                 FROM {view} s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid \
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid \
                 ORDER BY s.total_exec_time DESC LIMIT $1"
            );
            let limit = self.top_n as i64;
            let rows = match ctx.query(&top_sql, &[&limit]).await {
                Ok(r) => r,
                // Installed but not loaded (shared_preload_libraries): report, do not fail.
                Err(e)
                    if e.code()
                        == Some(
                            &tokio_postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        ) =>
                {
                    if !self.said_missing {
                        tracing::warn!(target = ctx.target, error = %crate::db::error_text(&e),
                            "pg_stat_statements is installed but not loaded");
                        self.said_missing = true;
                    }
                    avail.add(&[], 0.0);
                    out.push(avail);
                    return Ok(out);
                }
                Err(e) => return Err(q(e)),
            };
            self.said_missing = false;
            avail.add(&[], 1.0);
            out.push(avail);
            let rest_sql = format!(
                "SELECT coalesce(sum(calls), 0)::float8 AS calls, coalesce(sum(total_exec_time) / 1000, 0)::float8 AS exec_seconds, \
                        coalesce(sum(rows), 0)::float8 AS rows, count(*)::int8 AS n \
                 FROM (SELECT calls, total_exec_time, rows FROM {view} ORDER BY total_exec_time DESC OFFSET $1) t"
            );
            let rest = ctx.query_one(&rest_sql, &[&limit]).await.map_err(q)?;

            self.families(ctx, &rows, &rest, &mut out)?;
            Ok(out)
        })
    }
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
    title: r#"Collector `statements` (pg_stat_statements)"#,
    intro: r#"
Top `top_n` statements by total execution time per poll; the rest summed into `queryid="other"` (with
empty `datname` and `usename`) so that sums stay right. With `query_text: true` each series also has a
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
};
