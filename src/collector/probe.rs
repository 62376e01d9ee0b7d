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

pub const NAME: &str = "probe";

pub const SPEC: Spec = Spec {
    name: NAME,
    about:
        "SELECT 1 round trip: the database's response time; its timeout marks a hung server down",
    lane: Lane::Fast,
    scope: Scope::Server,
    schedule: |s| s.collectors.probe.schedule,
    build: |_| Box::new(Probe),
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
