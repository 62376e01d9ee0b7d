//! Collector `probe`: the database's response time, as on-call feels it.
//!
//! Runs `SELECT 1` on the fast lane every second and observes its round trip
//! into the histogram `pgmig_probe_duration_seconds{target}` (in the
//! exporter's registry, so it accumulates across polls). A slow probe means
//! the server itself is slow to answer (CPU, connection or I/O saturation);
//! it is the "database response time > 500 ms" signal of the runbooks.
//! Any PostgreSQL version; no privilege needed.

use std::time::Instant;

use super::{CollectError, CollectFuture, Collector, Ctx, Lane, Observation, Output, Scope, Spec};
use crate::catalogue::entry::{Kind, Metric, Section};

pub const NAME: &str = "probe";

pub const SPEC: Spec = Spec {
    name: NAME,
    about:
        "SELECT 1 round trip: the database's response time; its timeout marks a hung server down",
    lane: Lane::Fast,
    scope: Scope::Server,
    schedule: |s| s.collectors.probe.schedule,
    build: |_| Box::new(Probe),
    catalogue: &CATALOGUE,
};

struct Probe;

impl Collector for Probe {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            ctx.client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| CollectError::query(NAME, e))?;
            ctx.observe(Observation::ProbeRoundTrip(start.elapsed().as_secs_f64()));
            Ok(Output::default())
        })
    }
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
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
};
