//! The `app_collectors` section of the config file: user-defined SQL over
//! the application's own tables, checked at load time into [`AppCollector`].
//!
//! Every problem is an error naming the collector and the metric (the file
//! and line come from the YAML parser): unknown keys, a metric with both or
//! neither of `name` and `signal`, duplicate metric names, a name under the
//! exporter's reserved `pgmig_` prefix, a label listed twice, a histogram
//! without (increasing) buckets, a metric type that does not fit the
//! collector's mode, bad durations.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Deserialize;

pub use super::signals::MetricType;
use super::signals::Signal;
use crate::duration::PromDuration;

/// Where an incremental collector starts reading at its first run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// From the current newest row: nothing that happened before the exporter
    /// started is counted, so a restart never counts a row twice.
    #[default]
    Now,
    /// From the first row: every existing row is counted at the first run.
    Beginning,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// An increasing column (a serial id or an insertion timestamp).
    pub column: String,
    #[serde(default)]
    pub start: Start,
    /// Rows read per run at most; the rest are read at the next run.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
}

fn default_max_rows() -> usize {
    10_000
}

/// One metric a collector produces, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AppMetric {
    pub name: String,
    pub help: String,
    pub kind: MetricType,
    pub signal: Option<Signal>,
    /// Label name -> the column it comes from.
    pub label_columns: Vec<String>,
    pub static_labels: BTreeMap<String, String>,
    pub value: Option<String>,
    pub scale: f64,
    pub buckets: Vec<f64>,
    pub max_series: usize,
}

/// One collector, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AppCollector {
    pub name: String,
    pub sql: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub targets: Vec<String>,
    pub databases: Vec<String>,
    pub min_server_version: Option<i32>,
    pub incremental: Option<Incremental>,
    pub metrics: Vec<AppMetric>,
}

/// Default per-metric series limit.
pub const DEFAULT_MAX_SERIES: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: Option<String>,
    signal: Option<Signal>,
    #[serde(rename = "type")]
    kind: Option<MetricType>,
    help: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    static_labels: BTreeMap<String, String>,
    value: Option<String>,
    scale: Option<f64>,
    buckets: Option<Vec<f64>>,
    max_series: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollector {
    name: String,
    sql: String,
    interval: Option<PromDuration>,
    timeout: Option<PromDuration>,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    databases: Vec<String>,
    min_server_version: Option<i32>,
    incremental: Option<Incremental>,
    metrics: Vec<RawMetric>,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl TryFrom<RawCollector> for AppCollector {
    type Error = String;

    fn try_from(r: RawCollector) -> Result<Self, String> {
        let c = &r.name;
        if !valid_name(c) {
            return Err(format!(
                "app collector {c:?}: name must be letters, digits and _"
            ));
        }
        if r.sql.trim().is_empty() {
            return Err(format!("app collector {c}: sql is empty"));
        }
        let interval = r.interval.map(|d| d.0).unwrap_or(Duration::from_secs(15));
        let timeout = r.timeout.map(|d| d.0).unwrap_or(Duration::from_secs(5));
        if interval < Duration::from_millis(100) {
            return Err(format!(
                "app collector {c}: interval must be at least 100ms"
            ));
        }
        if timeout < Duration::from_millis(10) {
            return Err(format!("app collector {c}: timeout must be at least 10ms"));
        }
        if r.metrics.is_empty() {
            return Err(format!("app collector {c}: metrics is empty"));
        }
        if let Some(inc) = &r.incremental {
            if inc.column.is_empty() || inc.max_rows == 0 {
                return Err(format!(
                    "app collector {c}: incremental needs a column and max_rows > 0"
                ));
            }
        }
        let mut names = HashSet::new();
        let mut metrics = Vec::new();
        for m in r.metrics {
            metrics.push(metric(c, r.incremental.is_some(), m, &mut names)?);
        }
        Ok(AppCollector {
            name: r.name,
            sql: r.sql,
            interval,
            timeout,
            targets: r.targets,
            databases: r.databases,
            min_server_version: r.min_server_version,
            incremental: r.incremental,
            metrics,
        })
    }
}

/// One metric of an app collector, checked: its name, type and help (own or
/// from its signal), labels, buckets and value column.
fn metric(
    c: &str,
    incremental: bool,
    m: RawMetric,
    names: &mut HashSet<String>,
) -> Result<AppMetric, String> {
    let (name, kind, help, signal) = metric_identity(c, &m)?;
    let err = |msg: String| format!("app collector {c}: metric {name}: {msg}");
    if kind == MetricType::Counter && !name.ends_with("_total") {
        return Err(err("a counter's name must end in _total".into()));
    }
    if !names.insert(name.clone()) {
        return Err(err("defined twice in this collector".into()));
    }
    check_labels(&m, signal, &err)?;
    let buckets = m.buckets.clone().unwrap_or_default();
    match kind {
        MetricType::Histogram => {
            if buckets.is_empty() {
                return Err(err("a histogram needs buckets".into()));
            }
            if buckets.windows(2).any(|w| w[0] >= w[1]) || buckets.iter().any(|b| !b.is_finite()) {
                return Err(err("buckets must be finite and strictly increasing".into()));
            }
            if !incremental {
                return Err(err(
                    "a histogram needs an incremental collector (it observes each new row)".into(),
                ));
            }
        }
        _ if m.buckets.is_some() => return Err(err("buckets apply to histograms only".into())),
        MetricType::Gauge | MetricType::Info if incremental => {
            return Err(err(format!(
                "a {} needs a collector without incremental (it reports the current state)",
                kind.as_str()
            )))
        }
        _ => {}
    }
    let value = match (kind, &m.value) {
        (MetricType::Info, Some(_)) => {
            return Err(err(
                "an info metric has no value column (its value is 1)".into()
            ))
        }
        (MetricType::Info, None) => None,
        (MetricType::Counter, None) if incremental => None,
        (_, None) => {
            return Err(err(
                "value (the column holding the value) is required".into()
            ))
        }
        (_, Some(v)) => Some(v.clone()),
    };
    let scale = m.scale.unwrap_or(1.0);
    if !scale.is_finite() || scale == 0.0 {
        return Err(err("scale must be a finite, non-zero number".into()));
    }
    Ok(AppMetric {
        name,
        help,
        kind,
        signal,
        label_columns: m.labels,
        static_labels: m.static_labels,
        value,
        scale,
        buckets,
        max_series: m.max_series.unwrap_or(DEFAULT_MAX_SERIES),
    })
}

/// (name, type, help, signal): either a name of its own with a type, or a signal.
fn metric_identity(
    c: &str,
    m: &RawMetric,
) -> Result<(String, MetricType, String, Option<Signal>), String> {
    match (&m.name, m.signal) {
        (Some(_), Some(_)) | (None, None) => Err(format!(
            "app collector {c}: metric {}: set exactly one of name and signal",
            m.name
                .as_deref()
                .or(m.signal.map(|s| s.metric_name()))
                .unwrap_or("(unnamed)")
        )),
        (Some(n), None) => {
            if !valid_name(n) {
                return Err(format!(
                    "app collector {c}: metric {n:?}: not a valid metric name"
                ));
            }
            if n.starts_with("pgmig_") {
                return Err(format!(
                    "app collector {c}: metric {n}: names starting with pgmig_ belong to the exporter's built-in metrics; use a signal or another prefix"
                ));
            }
            let kind = m
                .kind
                .ok_or_else(|| format!("app collector {c}: metric {n}: type is required"))?;
            let help = m
                .help
                .clone()
                .unwrap_or_else(|| format!("From app collector {c}."));
            Ok((n.clone(), kind, help, None))
        }
        (None, Some(s)) => {
            if m.kind.is_some_and(|k| k != s.kind()) {
                return Err(format!(
                    "app collector {c}: metric {}: signal {} is a {}; drop type",
                    s.metric_name(),
                    s.as_str(),
                    s.kind().as_str()
                ));
            }
            let help = m
                .help
                .clone()
                .unwrap_or_else(|| format!("{} (app collector {c}).", s.help()));
            Ok((s.metric_name().to_string(), s.kind(), help, Some(s)))
        }
    }
}

/// Label names are valid, not the exporter's, listed once, and include the
/// ones the signal needs.
fn check_labels(
    m: &RawMetric,
    signal: Option<Signal>,
    err: &dyn Fn(String) -> String,
) -> Result<(), String> {
    let mut seen = HashSet::new();
    for l in m.labels.iter().chain(m.static_labels.keys()) {
        if !valid_name(l) || l.starts_with("__") {
            return Err(err(format!("label {l:?} is not a valid label name")));
        }
        if matches!(l.as_str(), "target" | "datname" | "le" | "collector") {
            return Err(err(format!("label {l:?} is set by the exporter")));
        }
        // Prometheus sets these on every scraped series: ours would
        // arrive renamed (exported_job) or replace the scrape's own.
        if matches!(l.as_str(), "job" | "instance") {
            return Err(err(format!(
                "label {l:?} is set by Prometheus at scrape time: use another name (e.g. batch_{l})"
            )));
        }
        if !seen.insert(l.clone()) {
            return Err(err(format!("label {l} is listed twice")));
        }
    }
    if let Some(s) = signal {
        for req in s.required_labels() {
            if !seen.contains(*req) {
                return Err(err(format!(
                    "signal {} needs label {req} (a label column or a static label)",
                    s.as_str()
                )));
            }
        }
    }
    Ok(())
}

impl<'de> Deserialize<'de> for AppCollector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawCollector::deserialize(d)?;
        AppCollector::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// The whole list, checked across collectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppCollectors(pub Vec<AppCollector>);

impl<'de> Deserialize<'de> for AppCollectors {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<AppCollector>::deserialize(d)?;
        let mut names = HashSet::new();
        // Custom metric name -> collector; a signal may be fed by several
        // collectors, but not twice with the same static labels.
        let mut custom: BTreeMap<&str, &str> = BTreeMap::new();
        let mut signals: HashSet<(String, Vec<(String, String)>)> = HashSet::new();
        for c in &v {
            if !names.insert(c.name.as_str()) {
                return Err(serde::de::Error::custom(format!(
                    "app collector {}: name used twice",
                    c.name
                )));
            }
            for m in &c.metrics {
                if m.signal.is_some() {
                    if m.label_columns.is_empty() {
                        let key = (
                            m.name.clone(),
                            m.static_labels.clone().into_iter().collect(),
                        );
                        if !signals.insert(key) {
                            return Err(serde::de::Error::custom(format!(
                                "app collector {}: metric {}: another collector already feeds this signal with the same static labels",
                                c.name, m.name
                            )));
                        }
                    }
                } else if let Some(other) = custom.insert(m.name.as_str(), c.name.as_str()) {
                    return Err(serde::de::Error::custom(format!(
                        "app collector {}: metric {}: already defined by app collector {other}",
                        c.name, m.name
                    )));
                }
            }
        }
        Ok(AppCollectors(v))
    }
}

/// One entry of `expected_error_codes`: a SQLSTATE, as PostgreSQL reports it
/// (`42P10`; YAML numbers such as `23505` or `01000` are read back as five
/// digits), or a code of the application's own (`completed_with_errors`: the
/// `code` label an `operation_errors` app metric reads from the app's
/// tables). Checked at load, so that a typo (`42p10`, `"23 505"`, an empty
/// string) is an error naming file, line and key instead of a code that never
/// matches and turns every expected error into an "unknown" one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    SqlState(crate::serverlog::sqlstate::SqlState),
    /// A letter, then letters, digits, `_`, `-` or `.`; at most 63 bytes.
    App(String),
}

/// The longest application code accepted (a PostgreSQL identifier's length).
const MAX_APP_CODE: usize = 63;

impl ErrorCode {
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::SqlState(s) => s.as_str(),
            ErrorCode::App(s) => s,
        }
    }

    pub fn parse(s: &str) -> Result<ErrorCode, String> {
        use crate::serverlog::sqlstate::{is_sqlstate, SqlState};
        if is_sqlstate(s.as_bytes()) {
            return SqlState::parse(s).map(ErrorCode::SqlState);
        }
        let mut chars = s.chars();
        let app = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && s.len() <= MAX_APP_CODE;
        if app {
            Ok(ErrorCode::App(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is neither a SQLSTATE (five digits or upper-case letters, e.g. 23505 or 42P10) \
                 nor an application code (a letter, then letters, digits, '_', '-' or '.', at most {MAX_APP_CODE} bytes)"
            ))
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ErrorCode;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a SQLSTATE such as 23505 or 42P10, or an application error code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ErrorCode, E> {
                ErrorCode::parse(v).map_err(E::custom)
            }
            // YAML reads 23505 as a number and 01000 as 1000: the SQLSTATE
            // type takes integers back as five digits and refuses floats.
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ErrorCode, E> {
                let d = serde::de::value::U64Deserializer::<E>::new(v);
                crate::serverlog::sqlstate::SqlState::deserialize(d).map(ErrorCode::SqlState)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ErrorCode, E> {
                let d = serde::de::value::I64Deserializer::<E>::new(v);
                crate::serverlog::sqlstate::SqlState::deserialize(d).map(ErrorCode::SqlState)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ErrorCode, E> {
                let d = serde::de::value::F64Deserializer::<E>::new(v);
                crate::serverlog::sqlstate::SqlState::deserialize(d).map(ErrorCode::SqlState)
            }
        }
        d.deserialize_any(V)
    }
}

/// `expected_error_codes`: operation -> the codes a migration expects for it.
pub type ExpectedErrorCodes = BTreeMap<String, Vec<ErrorCode>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<AppCollectors, String> {
        serde_yaml_ng::from_str::<AppCollectors>(y).map_err(|e| e.to_string())
    }

    const OK: &str = "
- name: imports
  sql: SELECT id, performance_ms FROM import_monitoring
  incremental: {column: id}
  metrics:
    - signal: operation_duration
      static_labels: {operation: import}
      value: performance_ms
      scale: 0.001
      buckets: [0.005, 0.05, 0.5]
";

    #[test]
    fn a_good_collector_loads() {
        let c = parse(OK).unwrap();
        let m = &c.0[0].metrics[0];
        assert_eq!(m.name, "pgmig_app_operation_duration_seconds");
        assert_eq!(m.kind, MetricType::Histogram);
        assert_eq!(c.0[0].interval, Duration::from_secs(15));
    }

    #[test]
    fn each_validation_error_names_collector_and_metric() {
        let cases = [
            (
                OK.replace(
                    "value: performance_ms",
                    "value: performance_ms\n      bogus: 1",
                ),
                "unknown field `bogus`",
            ),
            (
                OK.replace(
                    "    - signal: operation_duration",
                    "    - signal: operation_duration\n      name: x",
                ),
                "imports: metric x: set exactly one of name and signal",
            ),
            (
                OK.replace("      buckets: [0.005, 0.05, 0.5]\n", ""),
                "imports: metric pgmig_app_operation_duration_seconds: a histogram needs buckets",
            ),
            (
                OK.replace("[0.005, 0.05, 0.5]", "[0.5, 0.05]"),
                "strictly increasing",
            ),
            (
                OK.replace(
                    "static_labels: {operation: import}",
                    "labels: [operation, operation]",
                ),
                "label operation is listed twice",
            ),
            (
                OK.replace("  incremental: {column: id}\n", ""),
                "needs an incremental collector",
            ),
            (
                OK.replace(
                    "signal: operation_duration",
                    "name: pgmig_up\n      type: gauge",
                ),
                "belong to the exporter's built-in metrics",
            ),
            (
                OK.replace("static_labels: {operation: import}", "static_labels: {}"),
                "needs label operation",
            ),
            (
                format!("{OK}{}", OK.replace("name: imports", "name: imports2")),
                "same static labels",
            ),
            (
                OK.replace("  metrics:", "  interval: 5x\n  metrics:"),
                "unknown unit",
            ),
        ];
        for (yaml, want) in cases {
            let err = parse(&yaml).unwrap_err();
            assert!(err.contains(want), "{err} lacks {want}");
        }
    }

    #[test]
    fn duplicate_custom_metric_across_collectors_is_rejected() {
        let y = "
- name: a
  sql: SELECT 1 AS v
  metrics: [{name: shop_orders, type: gauge, value: v}]
- name: b
  sql: SELECT 2 AS v
  metrics: [{name: shop_orders, type: gauge, value: v}]
";
        assert!(parse(y)
            .unwrap_err()
            .contains("app collector b: metric shop_orders: already defined by app collector a"));
    }
}
