//! Collector `progress`: how far the running maintenance and DDL commands are.
//!
//! Reads the progress views: `pg_stat_progress_create_index` (CREATE INDEX
//! [CONCURRENTLY], REINDEX [CONCURRENTLY]), `pg_stat_progress_vacuum`,
//! `pg_stat_progress_analyze` (13+), `pg_stat_progress_cluster` (CLUSTER,
//! VACUUM FULL) and `pg_stat_progress_copy` (14+, skipped before). One gauge
//! set per running operation; the series vanish when it ends. Runs on the
//! fast lane every 5 s: the views are in shared memory and cost next to
//! nothing. Needs `pg_monitor` to see other users' operations.
//!
//! `relation` is `schema.name` when the operation runs in the exporter's
//! database, `oid:N` otherwise. The done ratio is the progress within the
//! current phase: the first of blocks, tuples, lockers and bytes that has a
//! known total and is not finished (1 when all are finished; absent when no
//! total is known, as for COPY FROM STDIN).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_progress_done_ratio` | gauge | target, command, phase, pid, datname, relation |
//! | `pgmig_progress_blocks_done`, `pgmig_progress_blocks_planned` | gauge | same |
//! | `pgmig_progress_tuples_done`, `pgmig_progress_tuples_planned` | gauge | same |
//! | `pgmig_progress_lockers_done`, `pgmig_progress_lockers_planned` | gauge | same |
//! | `pgmig_progress_bytes_done`, `pgmig_progress_bytes_planned` | gauge | same |

use super::{col, CollectError, CollectFuture, Collector, Ctx, Lane, Output, Scope, Spec};
use crate::catalogue::entry::{Kind, Metric, Section};

pub const NAME: &str = "progress";

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "progress of CREATE INDEX, VACUUM, ANALYZE, CLUSTER and COPY (pg_stat_progress_*)",
    lane: Lane::Fast,
    scope: Scope::Server,
    schedule: |s| s.collectors.progress.schedule,
    build: |_| Box::new(Progress),
    catalogue: &CATALOGUE,
};

const REL: &str = "coalesce(CASE WHEN p.datname = pg_catalog.current_database() THEN \
     (SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c \
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p.relid) END, \
     'oid:' || p.relid::text)";

fn progress_sql(server_version_num: i32) -> String {
    let mut parts = vec![
        format!(
            "SELECT p.command::text AS command, p.phase::text AS phase, p.pid, coalesce(p.datname, '') AS datname, {REL} AS relation, \
             p.blocks_done::int8 AS blocks_done, p.blocks_total::int8 AS blocks_total, p.tuples_done::int8 AS tuples_done, \
             p.tuples_total::int8 AS tuples_total, p.lockers_done::int8 AS lockers_done, p.lockers_total::int8 AS lockers_total, \
             0::int8 AS bytes_done, 0::int8 AS bytes_total \
             FROM pg_catalog.pg_stat_progress_create_index p"
        ),
        format!(
            "SELECT 'VACUUM', p.phase::text, p.pid, coalesce(p.datname, ''), {REL}, \
             p.heap_blks_scanned::int8, p.heap_blks_total::int8, 0::int8, 0::int8, 0::int8, 0::int8, 0::int8, 0::int8 \
             FROM pg_catalog.pg_stat_progress_vacuum p"
        ),
        format!(
            "SELECT 'ANALYZE', p.phase::text, p.pid, coalesce(p.datname, ''), {REL}, \
             p.sample_blks_scanned::int8, p.sample_blks_total::int8, 0::int8, 0::int8, 0::int8, 0::int8, 0::int8, 0::int8 \
             FROM pg_catalog.pg_stat_progress_analyze p"
        ),
        format!(
            "SELECT p.command::text, p.phase::text, p.pid, coalesce(p.datname, ''), {REL}, \
             p.heap_blks_scanned::int8, p.heap_blks_total::int8, p.heap_tuples_written::int8, 0::int8, 0::int8, 0::int8, 0::int8, 0::int8 \
             FROM pg_catalog.pg_stat_progress_cluster p"
        ),
    ];
    if server_version_num >= 140000 {
        parts.push(format!(
            "SELECT p.command::text, p.type::text, p.pid, coalesce(p.datname, ''), {REL}, \
             0::int8, 0::int8, p.tuples_processed::int8, 0::int8, 0::int8, 0::int8, p.bytes_processed::int8, p.bytes_total::int8 \
             FROM pg_catalog.pg_stat_progress_copy p"
        ));
    }
    parts.join(" UNION ALL ")
}

/// One running operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Op {
    pub command: String,
    pub phase: String,
    pub pid: i32,
    pub datname: String,
    pub relation: String,
    pub blocks: (i64, i64),
    pub tuples: (i64, i64),
    pub lockers: (i64, i64),
    pub bytes: (i64, i64),
}

impl Op {
    /// Progress within the current phase (see the module doc).
    pub fn done_ratio(&self) -> Option<f64> {
        let pairs = [self.blocks, self.tuples, self.lockers, self.bytes];
        let known: Vec<(i64, i64)> = pairs.into_iter().filter(|(_, total)| *total > 0).collect();
        if known.is_empty() {
            return None;
        }
        Some(match known.iter().find(|(done, total)| done < total) {
            Some((done, total)) => (*done as f64 / *total as f64).clamp(0.0, 1.0),
            None => 1.0,
        })
    }
}

struct Progress;

impl Collector for Progress {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let rows = ctx
                .query(&progress_sql(ctx.server_version_num), &[])
                .await
                .map_err(|e| CollectError::query(NAME, e))?;
            let mut ops = Vec::with_capacity(rows.len());
            for r in &rows {
                let pid: i32 = col(NAME, r, "pid")?;
                if ctx.own_pids.contains(&pid) {
                    continue;
                }
                ops.push(Op {
                    command: col(NAME, r, "command")?,
                    phase: col(NAME, r, "phase")?,
                    pid,
                    datname: col(NAME, r, "datname")?,
                    relation: col(NAME, r, "relation")?,
                    blocks: (col(NAME, r, "blocks_done")?, col(NAME, r, "blocks_total")?),
                    tuples: (col(NAME, r, "tuples_done")?, col(NAME, r, "tuples_total")?),
                    lockers: (
                        col(NAME, r, "lockers_done")?,
                        col(NAME, r, "lockers_total")?,
                    ),
                    bytes: (col(NAME, r, "bytes_done")?, col(NAME, r, "bytes_total")?),
                });
            }
            Ok(build(ctx, &ops))
        })
    }
}

/// A family and the field of an operation it reports.
type Field = (crate::exposition::Family, fn(&Op) -> i64);

fn build(ctx: &Ctx<'_>, ops: &[Op]) -> Output {
    let mut out = Output::default();
    let mut ratio = ctx.gauge(
        "pgmig_progress_done_ratio",
        "Progress of a running operation within its current phase (0 to 1), from the pg_stat_progress_* views.",
    );
    let mut fams: Vec<Field> = vec![
        (ctx.gauge("pgmig_progress_blocks_done", "Blocks scanned so far by a running operation, from the pg_stat_progress_* views."), |o| o.blocks.0),
        (ctx.gauge("pgmig_progress_blocks_planned", "Blocks a running operation will scan (0 when unknown), from the pg_stat_progress_* views."), |o| o.blocks.1),
        (ctx.gauge("pgmig_progress_tuples_done", "Tuples processed so far by a running operation, from the pg_stat_progress_* views."), |o| o.tuples.0),
        (ctx.gauge("pgmig_progress_tuples_planned", "Tuples a running operation will process (0 when unknown), from pg_stat_progress_create_index."), |o| o.tuples.1),
        (ctx.gauge("pgmig_progress_lockers_done", "Lockers already waited for by CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY, from pg_stat_progress_create_index."), |o| o.lockers.0),
        (ctx.gauge("pgmig_progress_lockers_planned", "Lockers CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY must wait for, from pg_stat_progress_create_index."), |o| o.lockers.1),
        (ctx.gauge("pgmig_progress_bytes_done", "Bytes processed so far by a running COPY, from pg_stat_progress_copy (14+)."), |o| o.bytes.0),
        (ctx.gauge("pgmig_progress_bytes_planned", "Size of the file a running COPY FROM reads (0 when unknown), from pg_stat_progress_copy (14+)."), |o| o.bytes.1),
    ];
    for op in ops {
        let pid = op.pid.to_string();
        let labels = [
            ("command", op.command.as_str()),
            ("phase", op.phase.as_str()),
            ("pid", pid.as_str()),
            ("datname", op.datname.as_str()),
            ("relation", op.relation.as_str()),
        ];
        if let Some(r) = op.done_ratio() {
            ratio.add(&labels, r);
        }
        for (f, get) in &mut fams {
            f.add(&labels, get(op) as f64);
        }
    }
    out.push(ratio);
    for (f, _) in fams {
        out.push(f);
    }
    out
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
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
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_ratio_follows_the_current_phase() {
        let mut op = Op {
            blocks: (50, 200),
            ..Default::default()
        };
        assert_eq!(op.done_ratio(), Some(0.25));
        op.blocks = (200, 200);
        op.tuples = (30, 120);
        assert_eq!(op.done_ratio(), Some(0.25));
        op.tuples = (120, 120);
        assert_eq!(op.done_ratio(), Some(1.0));
        assert_eq!(
            Op {
                bytes: (10, 0),
                ..Default::default()
            }
            .done_ratio(),
            None
        );
    }
}
