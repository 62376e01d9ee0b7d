//! Running one app collector: its SQL in a read-only transaction with its own
//! statement_timeout, rows turned into samples by the rules of `value.rs`.
//!
//! The SQL is sent as one simple-protocol message,
//! `SET LOCAL statement_timeout = ..; SET TRANSACTION READ ONLY; <sql>`: the
//! three statements form one implicit transaction that ends with the
//! message, so no transaction is ever left open between polls, even when
//! the query fails or is cancelled.
//!
//! Snapshot collectors (no `incremental`) replace their series on every run.
//! Incremental collectors read only the rows whose `incremental.column` is
//! greater than the watermark kept in memory, ordered by that column, at most
//! `max_rows` a run, and add them to counters and histograms that live in the
//! exporter:
//! - first run: with `start: now` (the default) only the current maximum is
//!   read and becomes the watermark, so rows that existed before the exporter
//!   started are never counted, and a restart cannot count a row twice (the
//!   counters restart from 0, which rate() reads as a counter reset); with
//!   `start: beginning` every existing row is counted;
//! - a row updated after it was read is not read again (its first version
//!   counts); a row that commits with a watermark value below one already
//!   read (concurrent inserts committing out of order) is missed, so prefer
//!   a column assigned at commit time, or accept that small loss;
//! - when a run stops at `max_rows`, the rows sharing the last watermark
//!   value are left for the next run, so a group of rows is never split;
//! - a label set seen for the first time is served at 0 for one run, then
//!   with its value: Prometheus counts growth only of series that existed
//!   before, so a failure burst in the very first rows still shows in rate().

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_postgres::SimpleQueryMessage;

use super::config::{AppCollector, AppMetric, MetricType, Start};
use super::signals::Signal;
use super::value::{self, Parsed, Problem};
use crate::collector::{
    quote_ident, CollectError, CollectFuture, Collector, Ctx, Observation, Output, WindowEvidence,
};
use crate::exposition::Family;

/// Cumulative histogram state of one series.
#[derive(Debug, Clone)]
struct Hist {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug, Clone, PartialEq)]
enum Watermark {
    /// Not read yet.
    Unknown,
    /// The table had no rows: everything that comes is new.
    Empty,
    /// The last value read, as PostgreSQL prints it, and its SQL type.
    At(String, String),
}

pub struct AppRuntime {
    cfg: Arc<AppCollector>,
    name: Arc<str>,
    columns_checked: bool,
    watermark: Watermark,
    counters: Vec<BTreeMap<Vec<String>, f64>>,
    hists: Vec<BTreeMap<Vec<String>, Hist>>,
    /// Label sets first seen in the last run: served at 0 for that run, so
    /// that rate() and increase() see their first rows (a series must exist
    /// before it grows for Prometheus to count the growth).
    fresh: Vec<std::collections::HashSet<Vec<String>>>,
    dropped: Vec<usize>,
}

impl AppRuntime {
    pub fn new(cfg: Arc<AppCollector>, name: Arc<str>) -> AppRuntime {
        let n = cfg.metrics.len();
        AppRuntime {
            cfg,
            name,
            columns_checked: false,
            watermark: Watermark::Unknown,
            counters: vec![BTreeMap::new(); n],
            hists: vec![BTreeMap::new(); n],
            fresh: vec![Default::default(); n],
            dropped: vec![0; n],
        }
    }
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn user_sql(cfg: &AppCollector) -> &str {
    cfg.sql.trim().trim_end_matches(';').trim_end()
}

/// The rows of the last statement of a simple-query response, with its columns.
fn last_result(
    msgs: Vec<SimpleQueryMessage>,
) -> (Vec<String>, Vec<tokio_postgres::SimpleQueryRow>) {
    let mut cols = Vec::new();
    let mut rows = Vec::new();
    for m in msgs {
        match m {
            SimpleQueryMessage::RowDescription(c) => {
                cols = c.iter().map(|c| c.name().to_string()).collect();
                rows.clear();
            }
            SimpleQueryMessage::Row(r) => rows.push(r),
            _ => {}
        }
    }
    (cols, rows)
}

/// A row's text in a column, or the column's absence as an error.
fn cell<'r>(row: &'r tokio_postgres::SimpleQueryRow, col: &str) -> Result<Option<&'r str>, String> {
    row.try_get(col).map_err(|e| e.to_string())
}

impl AppRuntime {
    async fn run_sql(
        &self,
        ctx: &Ctx<'_>,
        sql: &str,
    ) -> Result<(Vec<String>, Vec<tokio_postgres::SimpleQueryRow>), CollectError> {
        let full = format!(
            "SET LOCAL statement_timeout = {}; SET TRANSACTION READ ONLY; {sql}",
            self.cfg.timeout.as_millis().max(1)
        );
        let msgs = ctx
            .client
            .simple_query(&full)
            .await
            .map_err(|e| CollectError::query(self.name.to_string(), e))?;
        Ok(last_result(msgs))
    }

    fn check_columns(&mut self, cols: &[String]) -> Result<(), CollectError> {
        if self.columns_checked {
            return Ok(());
        }
        for m in &self.cfg.metrics {
            for c in m.label_columns.iter().chain(m.value.iter()) {
                if !cols.iter().any(|x| x == c) {
                    return Err(CollectError::Column {
                        collector: self.name.to_string().into(),
                        column: c.clone(),
                        message: format!(
                            "metric {} expects this column, but the query returns only: {}",
                            m.name,
                            cols.join(", ")
                        ),
                    });
                }
            }
        }
        self.columns_checked = true;
        Ok(())
    }

    fn problem(&self, ctx: &Ctx<'_>, m: &AppMetric, p: Problem) {
        ctx.observe(Observation::AppValueProblem {
            collector: self.cfg.name.clone(),
            metric: m.name.clone(),
            reason: p.as_str(),
        });
    }

    /// The label values of a row for a metric, in label order (columns, then static).
    fn label_values(
        &self,
        ctx: &Ctx<'_>,
        m: &AppMetric,
        row: &tokio_postgres::SimpleQueryRow,
    ) -> Option<Vec<String>> {
        let mut v = Vec::with_capacity(m.label_columns.len() + m.static_labels.len());
        for c in &m.label_columns {
            match cell(row, c) {
                // A NULL label value is an empty string, as Prometheus treats a missing label.
                Ok(x) => v.push(x.unwrap_or("").to_string()),
                Err(_) => {
                    self.problem(ctx, m, Problem::NotANumber);
                    return None;
                }
            }
        }
        v.extend(m.static_labels.values().cloned());
        Some(v)
    }

    fn value(
        &self,
        ctx: &Ctx<'_>,
        m: &AppMetric,
        row: &tokio_postgres::SimpleQueryRow,
        finite_only: bool,
    ) -> Option<f64> {
        let Some(col) = &m.value else {
            return Some(1.0);
        };
        let raw = cell(row, col).ok().flatten();
        match value::parse(raw, finite_only) {
            Parsed::Value(v) => Some(v * m.scale),
            Parsed::Lossy(v) => {
                self.problem(ctx, m, Problem::PrecisionLoss);
                Some(v * m.scale)
            }
            Parsed::Skip(p) => {
                self.problem(ctx, m, p);
                None
            }
        }
    }

    fn label_names(m: &AppMetric) -> Vec<&str> {
        m.label_columns
            .iter()
            .map(String::as_str)
            .chain(m.static_labels.keys().map(String::as_str))
            .collect()
    }

    fn family(ctx: &Ctx<'_>, m: &AppMetric) -> Family {
        match m.kind {
            MetricType::Counter => ctx.db_counter(&m.name, &m.help),
            _ => ctx.db_gauge(&m.name, &m.help),
        }
    }

    /// Whether the metric's values count as the window's backfill progress.
    fn is_progress(m: &AppMetric) -> bool {
        matches!(m.signal, Some(Signal::BackfillRatio | Signal::JobItemsDone))
    }

    /// Reports the progress sum of a run's values (finite ones only) to the
    /// window, when the run had any.
    fn observe_progress(ctx: &Ctx<'_>, values: &[f64]) {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if !finite.is_empty() {
            ctx.observe(Observation::Window(WindowEvidence {
                progress: Some(finite.iter().sum()),
                ..WindowEvidence::default()
            }));
        }
    }

    async fn snapshot(&mut self, ctx: &Ctx<'_>) -> Result<Output, CollectError> {
        let (cols, rows) = self.run_sql(ctx, user_sql(&self.cfg)).await?;
        self.check_columns(&cols)?;
        let mut out = Output::default();
        let mut progress = Vec::new();
        let cfg = self.cfg.clone();
        for (i, m) in cfg.metrics.iter().enumerate() {
            let names = Self::label_names(m);
            let mut f = Self::family(ctx, m);
            let mut seen: std::collections::HashSet<Vec<String>> = std::collections::HashSet::new();
            let mut dropped = 0;
            for row in &rows {
                let Some(lv) = self.label_values(ctx, m, row) else {
                    continue;
                };
                let Some(v) = self.value(ctx, m, row, m.kind == MetricType::Counter) else {
                    continue;
                };
                if seen.contains(&lv) {
                    self.problem(ctx, m, Problem::Duplicate);
                    continue;
                }
                if seen.len() >= m.max_series {
                    dropped += 1;
                    continue;
                }
                let labels: Vec<(&str, &str)> = names
                    .iter()
                    .copied()
                    .zip(lv.iter().map(String::as_str))
                    .collect();
                f.add(&labels, v);
                if Self::is_progress(m) {
                    progress.push(v);
                }
                seen.insert(lv);
            }
            self.dropped[i] = dropped;
            out.push(f);
        }
        Self::observe_progress(ctx, &progress);
        out.dropped = self.dropped.iter().sum();
        out.push(self.dropped_family(ctx));
        Ok(out)
    }

    /// Adds one new row's value to a metric's counter or histogram, within
    /// the metric's series limit.
    fn accumulate(&mut self, i: usize, m: &AppMetric, lv: Vec<String>, v: f64) {
        match m.kind {
            MetricType::Histogram => {
                let n = self.hists[i].len();
                let h = match self.hists[i].get_mut(&lv) {
                    Some(h) => h,
                    None if n >= m.max_series => {
                        self.dropped[i] += 1;
                        return;
                    }
                    None => {
                        self.fresh[i].insert(lv.clone());
                        self.hists[i].entry(lv).or_insert(Hist {
                            counts: vec![0; m.buckets.len()],
                            sum: 0.0,
                            count: 0,
                        })
                    }
                };
                for (b, c) in m.buckets.iter().zip(h.counts.iter_mut()) {
                    if v <= *b {
                        *c += 1;
                    }
                }
                h.sum += v;
                h.count += 1;
            }
            _ => {
                let n = self.counters[i].len();
                match self.counters[i].get_mut(&lv) {
                    Some(c) => *c += v,
                    None if n >= m.max_series => self.dropped[i] += 1,
                    None => {
                        self.fresh[i].insert(lv.clone());
                        self.counters[i].insert(lv, v);
                    }
                }
            }
        }
    }

    async fn incremental(&mut self, ctx: &Ctx<'_>) -> Result<Output, CollectError> {
        let inc = self.cfg.incremental.clone().expect("incremental collector");
        for f in &mut self.fresh {
            f.clear();
        }
        let col = quote_ident(&inc.column);
        let sql = user_sql(&self.cfg).to_string();
        if self.watermark == Watermark::Unknown && inc.start == Start::Now {
            let (_, rows) = self
                .run_sql(ctx, &format!("SELECT max(q.{col})::text AS wm, pg_catalog.pg_typeof(max(q.{col}))::text AS ty FROM ({sql}) q"))
                .await?;
            let row = rows.first();
            self.watermark = match row.and_then(|r| r.get("wm")) {
                Some(wm) => Watermark::At(
                    wm.to_string(),
                    row.and_then(|r| r.get("ty")).unwrap_or("text").to_string(),
                ),
                None => Watermark::Empty,
            };
            return Ok(self.emit_cumulative(ctx));
        }
        let filter = match &self.watermark {
            Watermark::At(wm, ty) => format!("WHERE q.{col} > {}::{ty}", quote_literal(wm)),
            _ => String::new(),
        };
        let query = format!(
            "SELECT q.*, q.{col}::text AS __pgmig_wm, pg_catalog.pg_typeof(q.{col})::text AS __pgmig_ty \
             FROM ({sql}) q {filter} ORDER BY q.{col} LIMIT {}",
            inc.max_rows
        );
        let (cols, mut rows) = self.run_sql(ctx, &query).await?;
        self.check_columns(&cols)?;
        if rows.len() == inc.max_rows {
            // Leave the last watermark value's rows for the next run, unless
            // they are all there is.
            let last = rows
                .last()
                .and_then(|r| r.get("__pgmig_wm"))
                .map(str::to_string);
            let keep = rows
                .iter()
                .position(|r| r.get("__pgmig_wm").map(str::to_string) == last)
                .unwrap_or(rows.len());
            if keep > 0 {
                rows.truncate(keep);
            }
        }
        let cfg = self.cfg.clone();
        for row in &rows {
            for (i, m) in cfg.metrics.iter().enumerate() {
                let Some(lv) = self.label_values(ctx, m, row) else {
                    continue;
                };
                let Some(v) = self.value(ctx, m, row, true) else {
                    continue;
                };
                self.accumulate(i, m, lv, v);
            }
        }
        if let Some(last) = rows.last() {
            if let (Some(wm), Some(ty)) = (last.get("__pgmig_wm"), last.get("__pgmig_ty")) {
                self.watermark = Watermark::At(wm.to_string(), ty.to_string());
            }
        } else if self.watermark == Watermark::Unknown {
            self.watermark = Watermark::Empty;
        }
        Ok(self.emit_cumulative(ctx))
    }

    fn emit_cumulative(&self, ctx: &Ctx<'_>) -> Output {
        let mut out = Output::default();
        let mut progress = Vec::new();
        for (i, m) in self.cfg.metrics.iter().enumerate() {
            let names = Self::label_names(m);
            let mut f = Self::family(ctx, m);
            if m.kind == MetricType::Histogram {
                f = Family::histogram(
                    &m.name,
                    &m.help,
                    &[("target", ctx.target), ("datname", ctx.datname)],
                );
                for (lv, h) in &self.hists[i] {
                    let labels: Vec<(&str, &str)> = names
                        .iter()
                        .copied()
                        .zip(lv.iter().map(String::as_str))
                        .collect();
                    if self.fresh[i].contains(lv) {
                        f.add_histogram(&labels, &m.buckets, &vec![0; m.buckets.len()], 0, 0.0);
                    } else {
                        f.add_histogram(&labels, &m.buckets, &h.counts, h.count, h.sum);
                    }
                }
            } else {
                for (lv, v) in &self.counters[i] {
                    let labels: Vec<(&str, &str)> = names
                        .iter()
                        .copied()
                        .zip(lv.iter().map(String::as_str))
                        .collect();
                    let v = if self.fresh[i].contains(lv) { 0.0 } else { *v };
                    f.add(&labels, v);
                    if Self::is_progress(m) {
                        progress.push(v);
                    }
                }
            }
            out.push(f);
        }
        Self::observe_progress(ctx, &progress);
        out.dropped = self.dropped.iter().sum();
        out.push(self.dropped_family(ctx));
        out
    }

    fn dropped_family(&self, ctx: &Ctx<'_>) -> Family {
        let mut f = ctx.db_gauge(
            "pgmig_app_series_dropped",
            "Series an app collector's metric left out because of its max_series limit (snapshot: in the last run; incremental: since start).",
        );
        for (m, d) in self.cfg.metrics.iter().zip(&self.dropped) {
            f.add(
                &[("collector", &self.cfg.name), ("metric", &m.name)],
                *d as f64,
            );
        }
        f
    }
}

impl Collector for AppRuntime {
    fn min_server_version(&self) -> i32 {
        self.cfg.min_server_version.unwrap_or(130000)
    }

    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            if self.cfg.incremental.is_some() {
                self.incremental(ctx).await
            } else {
                self.snapshot(ctx).await
            }
        })
    }
}
