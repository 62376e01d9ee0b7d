//! The decision-signal vocabulary: a small, fixed set of metric names and
//! labels that the shipped alert rules and dashboards are written against.
//! A team maps its own tables onto them in `app_collectors` (each metric
//! says which `signal` it feeds) and gets the decision tree for free.

use serde::Deserialize;

/// The type of an application metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricType {
    Gauge,
    Counter,
    Histogram,
    /// Value always 1; the labels carry the information (info and enum-style series).
    Info,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
            MetricType::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Operations by outcome (success, failure).
    Operations,
    /// Failed operations by error code (SQLSTATE as the app records it).
    OperationErrors,
    /// How long each operation took.
    OperationDuration,
    /// Rows breaking an integrity rule (duplicates on a new unique key, NULLs, orphans).
    IntegrityViolations,
    /// Share of rows done by a backfill, per table and column.
    BackfillRatio,
    /// A named boolean state (import enabled, maintenance mode).
    Flag,
    /// Active jobs.
    JobActive,
    /// Items a job has done.
    JobItemsDone,
    /// Items a job has to do.
    JobItemsPlanned,
    /// A job's speed.
    JobItemsPerSecond,
    /// A job's estimated time left.
    JobEta,
}

pub const ALL: &[Signal] = &[
    Signal::Operations,
    Signal::OperationErrors,
    Signal::OperationDuration,
    Signal::IntegrityViolations,
    Signal::BackfillRatio,
    Signal::Flag,
    Signal::JobActive,
    Signal::JobItemsDone,
    Signal::JobItemsPlanned,
    Signal::JobItemsPerSecond,
    Signal::JobEta,
];

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Operations => "operations",
            Signal::OperationErrors => "operation_errors",
            Signal::OperationDuration => "operation_duration",
            Signal::IntegrityViolations => "integrity_violations",
            Signal::BackfillRatio => "backfill_ratio",
            Signal::Flag => "flag",
            Signal::JobActive => "job_active",
            Signal::JobItemsDone => "job_items_done",
            Signal::JobItemsPlanned => "job_items_planned",
            Signal::JobItemsPerSecond => "job_items_per_second",
            Signal::JobEta => "job_eta",
        }
    }

    pub fn metric_name(self) -> &'static str {
        match self {
            Signal::Operations => "pgmig_app_operations_total",
            Signal::OperationErrors => "pgmig_app_operation_errors_total",
            Signal::OperationDuration => "pgmig_app_operation_duration_seconds",
            Signal::IntegrityViolations => "pgmig_app_integrity_violations",
            Signal::BackfillRatio => "pgmig_app_backfill_ratio",
            Signal::Flag => "pgmig_app_flag",
            Signal::JobActive => "pgmig_app_job_active",
            Signal::JobItemsDone => "pgmig_app_job_items_done",
            Signal::JobItemsPlanned => "pgmig_app_job_items_planned",
            Signal::JobItemsPerSecond => "pgmig_app_job_items_per_second",
            Signal::JobEta => "pgmig_app_job_eta_seconds",
        }
    }

    pub fn kind(self) -> MetricType {
        match self {
            Signal::Operations | Signal::OperationErrors => MetricType::Counter,
            Signal::OperationDuration => MetricType::Histogram,
            _ => MetricType::Gauge,
        }
    }

    /// Labels every series of the signal must have (the rules group by them).
    pub fn required_labels(self) -> &'static [&'static str] {
        match self {
            Signal::Operations => &["operation", "outcome"],
            Signal::OperationErrors => &["operation", "code"],
            Signal::OperationDuration => &["operation"],
            Signal::IntegrityViolations => &["check"],
            Signal::BackfillRatio => &["table", "column"],
            Signal::Flag => &["flag"],
            Signal::JobActive
            | Signal::JobItemsDone
            | Signal::JobItemsPlanned
            | Signal::JobItemsPerSecond
            | Signal::JobEta => &["batch_job"],
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Signal::Operations => "Application operations by outcome (success, failure), from the application's tables",
            Signal::OperationErrors => "Failed application operations by error code, from the application's tables",
            Signal::OperationDuration => "Duration of application operations in seconds, from the application's tables",
            Signal::IntegrityViolations => "Rows breaking a named integrity check (must be 0), from the application's tables",
            Signal::BackfillRatio => "Share of rows a backfill has filled (0 to 1), per table and column",
            Signal::Flag => "A named application flag: 1 on, 0 off",
            Signal::JobActive => "Active jobs, from the application's tables",
            Signal::JobItemsDone => "Items a job has processed",
            Signal::JobItemsPlanned => "Items a job has to process in all",
            Signal::JobItemsPerSecond => "A job's processing speed in items per second",
            Signal::JobEta => "A job's estimated time left in seconds",
        }
    }
}
