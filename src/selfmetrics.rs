//! The exporter's metrics about itself: per-target `pgmig_up`, per-collector
//! success, duration and last success, connection counts, build info, and the
//! lock-wait histogram that persists across polls.
//!
//! Written only by the poller (from collectors' observations and run
//! results); collectors never see it. Each family keeps its children by
//! label values (atomic gauges and counters, histograms under a small lock)
//! and renders itself with the exposition writer at each scrape
//! ([`SelfMetrics::families`]): the one metric model the exporter serves.
//! The output is what the `prometheus` crate wrote before (labels and series
//! in name order, families by name, empty families left out); a unit test
//! compares the two.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::exposition::{Family, Kind, Rendered};

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

/// A gauge's or a counter's value: an `f64` in an atomic.
#[derive(Debug, Default)]
pub struct Value(AtomicU64);

impl Value {
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    pub fn inc(&self) {
        // Only this update races with others of the same child.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + 1.0).to_bits())
            });
    }
}

/// A histogram's counts per bucket (not cumulative), sum and count.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    state: Mutex<(Vec<u64>, f64, u64)>,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            state: Mutex::new((vec![0; bounds.len()], 0.0, 0)),
        }
    }

    /// Counts `v` in the first bucket whose upper bound is at least `v`.
    pub fn observe(&self, v: f64) {
        let mut s = self.state.lock().expect("histogram");
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            s.0[i] += 1;
        }
        s.1 += v;
        s.2 += 1;
    }
}

/// What a family's children are.
pub trait Child: Send + Sync {
    fn new(bounds: &'static [f64]) -> Self;
    fn write(&self, f: &mut Family, labels: &[(&str, &str)]);
}

impl Child for Value {
    fn new(_: &'static [f64]) -> Self {
        Value::default()
    }
    fn write(&self, f: &mut Family, labels: &[(&str, &str)]) {
        f.add(labels, self.get());
    }
}

impl Child for Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram::new(bounds)
    }
    fn write(&self, f: &mut Family, labels: &[(&str, &str)]) {
        let (counts, sum, count) = self.state.lock().expect("histogram").clone();
        let cumulative: Vec<u64> = counts
            .iter()
            .scan(0, |acc, c| {
                *acc += c;
                Some(*acc)
            })
            .collect();
        f.add_histogram(labels, self.bounds, &cumulative, count, sum);
    }
}

/// A series' labels as written: (name, value) in name order.
type Labels<'a> = Vec<(&'a str, &'a str)>;

/// One family: its children by label values, created on first use.
pub struct MetricVec<C> {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    labels: &'static [&'static str],
    bounds: &'static [f64],
    children: RwLock<BTreeMap<Vec<String>, Arc<C>>>,
}

pub type GaugeVec = MetricVec<Value>;
pub type IntCounterVec = MetricVec<Value>;
pub type HistogramVec = MetricVec<Histogram>;

impl<C: Child> MetricVec<C> {
    fn new(
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &'static [&'static str],
        bounds: &'static [f64],
    ) -> Self {
        MetricVec {
            name,
            help,
            kind,
            labels,
            bounds,
            children: RwLock::new(BTreeMap::new()),
        }
    }

    /// The child of these label values (one per label, in the declared
    /// order), created at zero when new.
    pub fn with_label_values(&self, values: &[&str]) -> Arc<C> {
        debug_assert_eq!(values.len(), self.labels.len(), "{}", self.name);
        let key: Vec<String> = values.iter().map(|v| (*v).to_string()).collect();
        if let Some(c) = self.children.read().expect("metric").get(&key) {
            return c.clone();
        }
        self.children
            .write()
            .expect("metric")
            .entry(key)
            .or_insert_with(|| Arc::new(C::new(self.bounds)))
            .clone()
    }

    /// Drops the child of these label values; whether there was one.
    pub fn remove_label_values(&self, values: &[&str]) -> bool {
        let key: Vec<String> = values.iter().map(|v| (*v).to_string()).collect();
        self.children
            .write()
            .expect("metric")
            .remove(&key)
            .is_some()
    }

    /// Drops every child whose labels include all of `want`.
    fn forget(&self, want: &[(&str, &str)]) {
        let idx: Vec<Option<(usize, &str)>> = want
            .iter()
            .map(|(k, v)| self.labels.iter().position(|l| l == k).map(|i| (i, *v)))
            .collect();
        if idx.iter().any(Option::is_none) {
            return;
        }
        self.children
            .write()
            .expect("metric")
            .retain(|key, _| !idx.iter().flatten().all(|(i, v)| key[*i] == *v));
    }

    /// The family as served: labels in name order, series sorted by them;
    /// None while it has no child.
    fn render(&self) -> Option<Rendered> {
        let children = self.children.read().expect("metric");
        if children.is_empty() {
            return None;
        }
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by_key(|i| self.labels[*i]);
        let mut series: Vec<(Labels, &Arc<C>)> = children
            .iter()
            .map(|(key, c)| {
                let pairs = order
                    .iter()
                    .map(|i| (self.labels[*i], key[*i].as_str()))
                    .collect();
                (pairs, c)
            })
            .collect();
        series.sort_by(|a, b| a.0.iter().map(|p| p.1).cmp(b.0.iter().map(|p| p.1)));
        let mut f = match self.kind {
            Kind::Gauge => Family::gauge(self.name, self.help, &[]),
            Kind::Counter => Family::counter(self.name, self.help, &[]),
            Kind::Histogram => Family::histogram(self.name, self.help, &[]),
        };
        for (pairs, c) in series {
            c.write(&mut f, &pairs);
        }
        Some(f.finish())
    }
}

pub struct SelfMetrics {
    build_info: GaugeVec,
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
    pub reload_successful: GaugeVec,
    pub reload_success_time: GaugeVec,
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
            g.forget(want);
        }
        for c in [
            &self.collector_errors,
            &self.connect_errors,
            &self.app_value_errors,
        ] {
            c.forget(want);
        }
        for h in [&self.collector_duration, &self.lock_wait, &self.probe] {
            h.forget(want);
        }
    }

    /// Every family with a series, by name: what a scrape serves of them.
    pub fn families(&self) -> Vec<Rendered> {
        let mut out: Vec<Rendered> = [
            &self.build_info,
            &self.up,
            &self.collector_success,
            &self.collector_last_success,
            &self.collector_series_dropped,
            &self.connections,
            &self.server_version,
            &self.collector_errors,
            &self.connect_errors,
            &self.app_value_errors,
            &self.reload_successful,
            &self.reload_success_time,
        ]
        .iter()
        .filter_map(|v| v.render())
        .chain(
            [&self.collector_duration, &self.lock_wait, &self.probe]
                .iter()
                .filter_map(|v| v.render()),
        )
        .collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        out
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
        self.reload_successful
            .with_label_values(&[])
            .set(if ok { 1.0 } else { 0.0 });
        if ok {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.reload_success_time.with_label_values(&[]).set(now);
        }
    }
}

impl SelfMetrics {
    #[allow(clippy::too_many_lines)] // a flat list of registrations, one per self-metric
    pub fn new() -> SelfMetrics {
        let gauge = |name, help, labels| GaugeVec::new(name, help, Kind::Gauge, labels, &[]);
        let counter =
            |name, help, labels| IntCounterVec::new(name, help, Kind::Counter, labels, &[]);
        let histogram = |name, help, labels, buckets| {
            HistogramVec::new(name, help, Kind::Histogram, labels, buckets)
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
        let plain = |name, help| {
            let g = GaugeVec::new(name, help, Kind::Gauge, &[], &[]);
            g.with_label_values(&[]);
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
            build_info,
        }
    }
}

impl Default for SelfMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{encode, Format};
    use prometheus::Encoder;

    const LABELS: &[&str] = &["target", "collector", "datname"];
    const BOUNDS: &[f64] = &[0.01, 0.1, 1.0];

    type Crate = (
        prometheus::Registry,
        prometheus::GaugeVec,
        prometheus::IntCounterVec,
        prometheus::HistogramVec,
        prometheus::Gauge,
    );

    /// The families of the test below, the `prometheus` crate's way.
    fn crate_registry() -> Crate {
        let r = prometheus::Registry::new();
        let their_g =
            prometheus::GaugeVec::new(prometheus::Opts::new("pgmig_t_success", "Success."), LABELS)
                .unwrap();
        let their_c = prometheus::IntCounterVec::new(
            prometheus::Opts::new("pgmig_t_errors_total", "Errors."),
            LABELS,
        )
        .unwrap();
        let their_h = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("pgmig_t_seconds", "Durations.")
                .buckets(BOUNDS.to_vec()),
            LABELS,
        )
        .unwrap();
        let their_p = prometheus::Gauge::new("pgmig_t_plain", "Plain.").unwrap();
        let their_e = prometheus::GaugeVec::new(
            prometheus::Opts::new("pgmig_t_empty", "Never used."),
            &["target"],
        )
        .unwrap();
        r.register(Box::new(their_g.clone())).unwrap();
        r.register(Box::new(their_c.clone())).unwrap();
        r.register(Box::new(their_h.clone())).unwrap();
        r.register(Box::new(their_p.clone())).unwrap();
        r.register(Box::new(their_e)).unwrap();

        (r, their_g, their_c, their_h, their_p)
    }

    /// The same updates on the hand families and on the `prometheus` crate's
    /// (what served the self-metrics before) give the same text, byte for
    /// byte: label order, series order, family order, histogram lines,
    /// integer counters, children created and never set, removals.
    #[test]
    fn self_metrics_render_as_the_prometheus_crate_did() {
        let ours_g = GaugeVec::new("pgmig_t_success", "Success.", Kind::Gauge, LABELS, &[]);
        let ours_c = IntCounterVec::new(
            "pgmig_t_errors_total",
            "Errors.",
            Kind::Counter,
            LABELS,
            &[],
        );
        let ours_h = HistogramVec::new(
            "pgmig_t_seconds",
            "Durations.",
            Kind::Histogram,
            LABELS,
            BOUNDS,
        );
        let ours_p = GaugeVec::new("pgmig_t_plain", "Plain.", Kind::Gauge, &[], &[]);
        let ours_e = GaugeVec::new(
            "pgmig_t_empty",
            "Never used.",
            Kind::Gauge,
            &["target"],
            &[],
        );

        let (r, their_g, their_c, their_h, their_p) = crate_registry();

        // Declared order target, collector, datname; name order collector,
        // datname, target: "b" targets sort before "a" collectors' rows.
        let rows = [
            ["b", "locks", "app"],
            ["a", "activity", "postgres"],
            ["a", "zeta", "app"],
            ["b", "activity", "app\"x\n"],
            ["c", "gone", "app"],
        ];
        for (i, l) in rows.iter().enumerate() {
            let v = i as f64 * 1.5;
            ours_g.with_label_values(l).set(v);
            their_g.with_label_values(l).set(v);
            ours_c.with_label_values(l);
            their_c.with_label_values(l);
            for _ in 0..i {
                ours_c.with_label_values(l).inc();
                their_c.with_label_values(l).inc();
            }
            for x in [0.005, 0.05, 0.05, 0.5, 7.0, 0.1].iter().take(i + 1) {
                ours_h.with_label_values(l).observe(x * v);
                their_h.with_label_values(l).observe(x * v);
            }
        }
        assert!(ours_g.remove_label_values(&rows[4]));
        their_g.remove_label_values(&rows[4]).unwrap();
        ours_p.with_label_values(&[]).set(0.25);
        their_p.set(0.25);

        let mut ours: Vec<Rendered> = [&ours_g, &ours_c, &ours_p, &ours_e]
            .iter()
            .filter_map(|v| v.render())
            .chain(ours_h.render())
            .collect();
        ours.sort_by(|a, b| a.name().cmp(b.name()));
        let mut theirs = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&r.gather(), &mut theirs)
            .unwrap();
        assert_eq!(
            encode(&ours, Format::Text),
            String::from_utf8(theirs).unwrap()
        );
    }

    #[test]
    fn forgetting_drops_the_series_of_a_target_or_a_collector_everywhere() {
        let m = SelfMetrics::new();
        for t in ["a", "b"] {
            m.up.with_label_values(&[t]).set(1.0);
            for c in ["locks", "activity"] {
                for db in ["app", "postgres"] {
                    m.collector_success.with_label_values(&[t, c, db]).set(1.0);
                    m.collector_duration
                        .with_label_values(&[t, c, db])
                        .observe(0.1);
                }
            }
        }
        m.forget_target("a");
        m.forget_collector_everywhere("b", "locks");
        let text = encode(&m.families(), Format::Text);
        assert!(!text.contains("target=\"a\""), "{text}");
        assert!(!text.contains("collector=\"locks\""), "{text}");
        assert_eq!(
            text.matches("pgmig_collector_success{").count(),
            2,
            "{text}"
        );
        assert!(text.contains("pgmig_up{target=\"b\"} 1"), "{text}");
        assert!(text.contains("pgmig_build_info{"), "{text}");
        assert!(
            text.contains("pgmig_config_last_reload_successful 0"),
            "{text}"
        );
    }
}
