//! App signals: user-defined SQL collectors over the application's own
//! tables (`app_collectors` in the config file), the decision-signal
//! vocabulary they feed, and the expected error codes of each operation.
//!
//! `app::config` and `app::signals` are config (parsed once, no I/O);
//! `app::collector` and `app::value` are a collector and follow its rules.

pub mod collector;
pub mod config;
pub mod signals;
pub mod value;

use crate::exposition::Rendered;

use crate::exposition::Family;

/// The error codes a migration expects for each operation
/// (`expected_error_codes` in the config), as
/// `pgmig_app_expected_error_code{target, operation, code} 1`, so that the
/// rules can tell expected errors from unknown ones.
pub fn expected_error_code_families(
    target: &str,
    codes: &config::ExpectedErrorCodes,
) -> Vec<Rendered> {
    let mut f = Family::gauge(
        "pgmig_app_expected_error_code",
        "1 for each error code the config lists as expected for an operation (expected_error_codes); the rules treat other codes as unknown.",
        &[("target", target)],
    );
    for (op, list) in codes {
        for code in list {
            f.add(&[("operation", op), ("code", code.as_str())], 1.0);
        }
    }
    vec![f.finish()]
}

/// The thresholds in force on a target (`thresholds` in the config), as
/// `pgmig_target_threshold{target, signal}` and
/// `pgmig_app_operation_threshold{target, operation, signal}`, so that the
/// rules compare each operation and target with its own numbers. Only the
/// configured keys are served: the rules fall back to their defaults.
pub fn threshold_families(
    target: &str,
    t: &crate::config::thresholds::TargetThresholds,
) -> Vec<Rendered> {
    let mut own = Family::gauge(
        "pgmig_target_threshold",
        "Alerting threshold or duration (seconds) configured for the target (thresholds), by signal; the rules use their default where it is absent.",
        &[("target", target)],
    );
    for (signal, v) in t.signals() {
        own.add(&[("signal", signal)], v);
    }
    let mut ops = Family::gauge(
        "pgmig_app_operation_threshold",
        "Alerting threshold or duration (seconds) configured for an application operation (thresholds.operations), by signal; the rules use their default where it is absent.",
        &[("target", target)],
    );
    for (op, o) in &t.operations {
        for (signal, v) in o.signals() {
            ops.add(&[("operation", op), ("signal", signal)], v);
        }
    }
    vec![own.finish(), ops.finish()]
}
