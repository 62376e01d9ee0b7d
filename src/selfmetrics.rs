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
    pub reload_successful: prometheus::Gauge,
    pub reload_success_time: prometheus::Gauge,
}

/// Drops every series of `vec` whose labels include all of `want`.
fn forget_in<T: prometheus::core::MetricVecBuilder>(
    vec: &prometheus::core::MetricVec<T>,
    want: &[(&str, &str)],
) {
    use prometheus::core::Collector as _;
    for mf in vec.collect() {
        for m in mf.get_metric() {
            let labels: std::collections::HashMap<&str, &str> = m
                .get_label()
                .iter()
                .map(|l| (l.name(), l.value()))
                .collect();
            if want.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                let _ = vec.remove(&labels);
            }
        }
    }
}

impl SelfMetrics {
    /// Drops every series of a target a reload removed.
    pub fn forget_target(&self, target: &str) {
        self.forget(&[("target", target)]);
    }

    /// Drops every series of a collector on a target (in every database).
    pub fn forget_collector_everywhere(&self, target: &str, collector: &str) {
        self.forget(&[("target", target), ("collector", collector)]);
    }

    fn forget(&self, want: &[(&str, &str)]) {
        for g in [
            &self.up,
            &self.collector_success,
            &self.collector_last_success,
            &self.collector_series_dropped,
            &self.connections,
            &self.server_version,
        ] {
            forget_in(g, want);
        }
        for c in [
            &self.collector_errors,
            &self.connect_errors,
            &self.app_value_errors,
        ] {
            forget_in(c, want);
        }
        for h in [&self.collector_duration, &self.lock_wait, &self.probe] {
            forget_in(h, want);
        }
    }

    /// Drops the series of one collector instance a reload removed.
    pub fn forget_collector(&self, target: &str, collector: &str, datname: &str) {
        let l = [target, collector, datname];
        let _ = self.collector_success.remove_label_values(&l);
        let _ = self.collector_last_success.remove_label_values(&l);
        let _ = self.collector_series_dropped.remove_label_values(&l);
        let _ = self.collector_duration.remove_label_values(&l);
        for kind in ["error", "timeout"] {
            let _ = self
                .collector_errors
                .remove_label_values(&[target, collector, datname, kind]);
        }
    }

    /// Records the outcome of a config reload (the start counts as one).
    pub fn reloaded(&self, ok: bool) {
        self.reload_successful.set(if ok { 1.0 } else { 0.0 });
        if ok {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.reload_success_time.set(now);
        }
    }
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
        let plain = |name: &str, help: &str| {
            let g = prometheus::Gauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let reload_successful = plain(
            "pgmig_config_last_reload_successful",
            "1 when the last config load (the start, SIGHUP or POST /-/reload) succeeded, 0 when it failed and the previous config kept running.",
        );
        let reload_success_time = plain(
            "pgmig_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load (the start, SIGHUP or POST /-/reload).",
        );
        SelfMetrics {
            reload_successful,
            reload_success_time,
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
