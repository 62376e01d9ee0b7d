//! Collector `statements`: the statements that cost the most, from
//! `pg_stat_statements` when the extension is installed in the target's
//! database (and loaded through shared_preload_libraries).
//!
//! Keeps the top N statements by total execution time each poll; all the
//! others are summed into one series with `queryid="other"`. Because a
//! statement can move in and out of the top N, a single statement's counters
//! can appear and vanish. `other` is a true counter all the same: it is not
//! the current sum of the statements outside the top N (that sum drops when
//! one of them enters the top N, which `rate()` would read as a reset and a
//! huge increase), but the running total of their increments since the
//! previous poll, per statement (see [`RestCounter`]).
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
            rest: RestCounter::default(),
        })
    },
    catalogue: &CATALOGUE,
};

struct Statements {
    top_n: usize,
    query_text: bool,
    max_len: usize,
    said_missing: bool,
    rest: RestCounter,
}

/// A statement of pg_stat_statements: (userid, dbid, queryid). PostgreSQL
/// 14+ may keep two entries of a key (toplevel true and false): they are summed.
type Key = (String, String, String);

/// calls, execution seconds, rows.
type Counts = [f64; 3];

/// The `queryid="other"` counters: at each poll, each statement outside the
/// top N adds what it gained since the previous poll (all of its value when
/// it is new, or after pg_stat_statements reset or evicted it), so the sum
/// only grows whichever statements enter or leave the top N. At the first
/// poll it starts at the sum of the statements outside the top N, as the
/// statements' own counters start at their cumulative values.
#[derive(Default)]
struct RestCounter {
    previous: std::collections::HashMap<Key, Counts>,
    total: Counts,
}

impl RestCounter {
    /// Advances over one poll's statements (all of them, top ones included,
    /// so a statement leaving the top N adds only its increment) and returns
    /// the counters and how many statements are outside the top N.
    fn advance(
        &mut self,
        all: std::collections::HashMap<Key, Counts>,
        top: &std::collections::HashSet<Key>,
    ) -> (Counts, usize) {
        let mut n = 0;
        for (k, cur) in &all {
            if top.contains(k) {
                continue;
            }
            n += 1;
            let prev = self.previous.get(k);
            for i in 0..3 {
                // New (or first poll), or lower than before (pg_stat_statements
                // reset or evicted and re-added it): all of it is new.
                self.total[i] += match prev {
                    Some(p) if cur[i] >= p[i] => cur[i] - p[i],
                    _ => cur[i],
                };
            }
        }
        self.previous = all;
        (self.total, n)
    }
}

const FIND_SQL: &str = "SELECT n.nspname FROM pg_catalog.pg_extension e \
     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'";

impl Statements {
    /// The top statements' families plus `queryid="other"` summing the rest.
    fn families(
        &self,
        ctx: &Ctx<'_>,
        rows: &[tokio_postgres::Row],
        rest: (Counts, usize),
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
        let ([c, e, n], outside) = rest;
        calls.add(&other, c);
        exec.add(&other, e);
        nrows.add(&other, n);
        out.dropped = outside * 4;
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
                "SELECT s.userid::text AS userid, s.dbid::text AS dbid, \
                        coalesce(s.queryid::text, '') AS queryid, coalesce(d.datname, '') AS datname, \
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
            let all = read_all(ctx, &schema).await?;
            let top = rows
                .iter()
                .map(|r| {
                    Ok((
                        col(NAME, r, "userid")?,
                        col(NAME, r, "dbid")?,
                        col(NAME, r, "queryid")?,
                    ))
                })
                .collect::<Result<std::collections::HashSet<Key>, CollectError>>()?;
            let rest = self.rest.advance(all, &top);
            self.families(ctx, &rows, rest, &mut out)?;
            Ok(out)
        })
    }
}

/// Every statement's counters, without the query texts (showtext false: no
/// read of the texts file), for the `other` counter.
async fn read_all(
    ctx: &Ctx<'_>,
    schema: &str,
) -> Result<std::collections::HashMap<Key, Counts>, CollectError> {
    let all_sql = format!(
        "SELECT userid::text AS userid, dbid::text AS dbid, coalesce(queryid::text, '') AS queryid, \
                calls::float8 AS calls, (total_exec_time / 1000)::float8 AS exec_seconds, rows::float8 AS rows \
         FROM {}.pg_stat_statements(false)",
        quote_ident(schema)
    );
    let mut all: std::collections::HashMap<Key, Counts> = std::collections::HashMap::new();
    let rows = ctx
        .query(&all_sql, &[])
        .await
        .map_err(|e| CollectError::query(NAME, e))?;
    for r in rows {
        let key = (
            col(NAME, &r, "userid")?,
            col(NAME, &r, "dbid")?,
            col(NAME, &r, "queryid")?,
        );
        let v = all.entry(key).or_default();
        for (slot, c) in v.iter_mut().zip(["calls", "exec_seconds", "rows"]) {
            *slot += col::<f64>(NAME, &r, c)?;
        }
    }
    Ok(all)
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
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
};
