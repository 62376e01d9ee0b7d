//! The exporter's metrics about itself: per-target `pgmig_up`, per-collector
//! success, duration and last success, connection counts, build info, and the
//! lock-wait histogram that persists across polls. They live in the
//! exporter's own `prometheus::Registry`, never the crate's global one.
//!
//! Written only by the poller (from collectors' observations and run
//! results); collectors never see it.

use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Buckets of `pgmig_collector_duration_seconds`: a catalog query takes
/// milliseconds; anything near a second is worth seeing.
pub const COLLECTOR_DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of `pgmig_lock_wait_seconds`: from "noticed at one poll" to "the
/// migration froze the app for half an hour".
pub const LOCK_WAIT_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Buckets of `pgmig_probe_duration_seconds`: the runbooks' thresholds are
/// 100 ms (target) and 500 ms (investigate).
pub const PROBE_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

pub struct SelfMetrics {
    pub registry: Registry,
    pub up: GaugeVec,
    pub collector_success: GaugeVec,
    pub collector_duration: HistogramVec,
    pub collector_last_success: GaugeVec,
    pub collector_series_dropped: GaugeVec,
    pub collector_errors: IntCounterVec,
    pub connections: GaugeVec,
    pub connect_errors: IntCounterVec,
    pub server_version: GaugeVec,
    pub lock_wait: HistogramVec,
    pub probe: HistogramVec,
    pub app_value_errors: IntCounterVec,
}

impl SelfMetrics {
    #[allow(clippy::too_many_lines)] // a flat list of registrations, one per self-metric
    pub fn new() -> SelfMetrics {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: &[f64]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                labels,
            )
            .expect("valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        let build_info = gauge(
            "pgmig_build_info",
            "Build information of pg_migration_exporter; the value is always 1.",
            &["version", "revision", "rustversion"],
        );
        // build.rs sets both; "unknown" when built without git (e.g. in Docker).
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                env!("PGMIG_BUILD_REVISION"),
                env!("PGMIG_BUILD_RUSTC_VERSION"),
            ])
            .set(1.0);
        SelfMetrics {
            up: gauge(
                "pgmig_up",
                "1 when the exporter's connections to the target are established, 0 when it cannot connect.",
                &["target"],
            ),
            collector_success: gauge(
                "pgmig_collector_success",
                "1 when the collector's last run on the target succeeded, 0 when it failed or timed out (its series are then absent).",
                &["target", "collector", "datname"],
            ),
            collector_duration: histogram(
                "pgmig_collector_duration_seconds",
                "Duration of collector runs, successful or not, measured by the exporter.",
                &["target", "collector", "datname"],
                COLLECTOR_DURATION_BUCKETS,
            ),
            collector_last_success: gauge(
                "pgmig_collector_last_success_timestamp_seconds",
                "Unix time of the collector's last successful run on the target.",
                &["target", "collector", "datname"],
            ),
            collector_series_dropped: gauge(
                "pgmig_collector_series_dropped",
                "Series the collector's last run left out because of its configured cardinality limits.",
                &["target", "collector", "datname"],
            ),
            collector_errors: counter(
                "pgmig_collector_errors_total",
                "Failed collector runs, by kind: error (the query failed) or timeout (the run exceeded its timeout and was cancelled).",
                &["target", "collector", "datname", "kind"],
            ),
            connections: gauge(
                "pgmig_exporter_connections",
                "Database connections the exporter holds open to the target.",
                &["target"],
            ),
            connect_errors: counter(
                "pgmig_connect_errors_total",
                "Failed attempts to connect to the target.",
                &["target"],
            ),
            server_version: gauge(
                "pgmig_server_version_num",
                "PostgreSQL server_version_num of the target, read once per connection.",
                &["target"],
            ),
            lock_wait: histogram(
                "pgmig_lock_wait_seconds",
                "Completed heavyweight-lock waits seen in pg_locks, observed when the wait ends (accurate to one locks poll interval).",
                &["target"],
                LOCK_WAIT_BUCKETS,
            ),
            probe: histogram(
                "pgmig_probe_duration_seconds",
                "Round-trip time of the probe collector's trivial query (SELECT 1), measured by the exporter: the database's response time.",
                &["target"],
                PROBE_BUCKETS,
            ),
            app_value_errors: counter(
                "pgmig_app_value_errors_total",
                "Values of app collectors skipped or used with a caveat, by reason (null, not_a_number, nan, infinite, out_of_range, precision_loss, negative, duplicate_labels); see docs/app-collectors.md.",
                &["target", "collector", "metric", "reason"],
            ),
            registry,
        }
    }
}

impl Default for SelfMetrics {
    fn default() -> Self {
        Self::new()
    }
}
