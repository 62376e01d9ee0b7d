//! The `thresholds` section of the config file: per-operation and
//! per-target alerting thresholds and durations, parsed and checked once.
//!
//! The exporter serves them as series (`pgmig_app_operation_threshold`,
//! `pgmig_target_threshold`) that the shipped rules join; whatever is not
//! configured falls back, in the rules, to the defaults of
//! `pgmig:threshold:*` (alerts/config.yml). So the numbers of a migration's
//! runbook live next to the collectors that measure it, and a rule file is
//! shared by every target.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::duration::PromDuration;

/// One operation's thresholds (`thresholds.operations.<name>`); each unset
/// key falls back to the target's entry, then to the rules' default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawOperation")]
pub struct OperationThresholds {
    /// PgMigOperationErrorRatioHigh: failed share of the calls above this.
    pub error_ratio: Option<f64>,
    /// How long that lasts (with unexpected error codes) before the critical.
    pub error_ratio_for: Option<PromDuration>,
    /// PgMigOperationSuccessLow: succeeded share of the calls below this.
    pub success_ratio: Option<f64>,
    /// How long that lasts before the critical.
    pub success_ratio_for: Option<PromDuration>,
    /// PgMigOperationSlow: the operation's p95 duration above this, seconds.
    pub response_seconds: Option<f64>,
    /// How long that lasts before the critical.
    pub response_for: Option<PromDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    error_ratio: Option<f64>,
    error_ratio_for: Option<PromDuration>,
    success_ratio: Option<f64>,
    success_ratio_for: Option<PromDuration>,
    response_seconds: Option<f64>,
    response_for: Option<PromDuration>,
}

fn ratio(key: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !(0.0..=1.0).contains(&x) => {
            Err(format!("{key}: {x} is not a ratio between 0 and 1"))
        }
        _ => Ok(()),
    }
}

fn positive(key: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(format!("{key}: {x} must be above 0")),
        _ => Ok(()),
    }
}

impl TryFrom<RawOperation> for OperationThresholds {
    type Error = String;
    fn try_from(r: RawOperation) -> Result<Self, String> {
        ratio("error_ratio", r.error_ratio)?;
        ratio("success_ratio", r.success_ratio)?;
        positive("response_seconds", r.response_seconds)?;
        Ok(OperationThresholds {
            error_ratio: r.error_ratio,
            error_ratio_for: r.error_ratio_for,
            success_ratio: r.success_ratio,
            success_ratio_for: r.success_ratio_for,
            response_seconds: r.response_seconds,
            response_for: r.response_for,
        })
    }
}

impl OperationThresholds {
    /// `self` with the unset keys taken from `base`.
    fn over(&self, base: &OperationThresholds) -> OperationThresholds {
        OperationThresholds {
            error_ratio: self.error_ratio.or(base.error_ratio),
            error_ratio_for: self.error_ratio_for.or(base.error_ratio_for),
            success_ratio: self.success_ratio.or(base.success_ratio),
            success_ratio_for: self.success_ratio_for.or(base.success_ratio_for),
            response_seconds: self.response_seconds.or(base.response_seconds),
            response_for: self.response_for.or(base.response_for),
        }
    }

    /// (signal, value) of each key set, in base units.
    pub fn signals(&self) -> Vec<(&'static str, f64)> {
        let secs = |d: Option<PromDuration>| d.map(|d| d.0.as_secs_f64());
        [
            ("error_ratio", self.error_ratio),
            ("error_ratio_for_seconds", secs(self.error_ratio_for)),
            ("success_ratio", self.success_ratio),
            ("success_ratio_for_seconds", secs(self.success_ratio_for)),
            ("response_seconds", self.response_seconds),
            ("response_for_seconds", secs(self.response_for)),
        ]
        .into_iter()
        .filter_map(|(s, v)| v.map(|v| (s, v)))
        .collect()
    }
}

/// A target's own thresholds (`thresholds` at the top, or
/// `thresholds.targets.<name>`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawTarget")]
pub struct TargetThresholds {
    /// PgMigSlowResponseUnderLockContention: probe response above this, seconds.
    pub response_seconds: Option<f64>,
    /// How long that lasts (with blocked backends) before the critical.
    pub response_for: Option<PromDuration>,
    /// PgMigPerformanceDegraded: current / pre-migration baseline above this.
    pub degradation_ratio: Option<f64>,
    /// How long that lasts before the critical.
    pub degradation_for: Option<PromDuration>,
    /// Per operation, over the top-level `operations`, key by key.
    pub operations: BTreeMap<String, OperationThresholds>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    response_seconds: Option<f64>,
    response_for: Option<PromDuration>,
    degradation_ratio: Option<f64>,
    degradation_for: Option<PromDuration>,
    #[serde(default)]
    operations: BTreeMap<String, OperationThresholds>,
}

impl TryFrom<RawTarget> for TargetThresholds {
    type Error = String;
    fn try_from(r: RawTarget) -> Result<Self, String> {
        positive("response_seconds", r.response_seconds)?;
        positive("degradation_ratio", r.degradation_ratio)?;
        Ok(TargetThresholds {
            response_seconds: r.response_seconds,
            response_for: r.response_for,
            degradation_ratio: r.degradation_ratio,
            degradation_for: r.degradation_for,
            operations: r.operations,
        })
    }
}

impl TargetThresholds {
    /// `self` with the unset keys (and operations) taken from `base`.
    fn over(&self, base: &TargetThresholds) -> TargetThresholds {
        let mut operations = base.operations.clone();
        for (op, t) in &self.operations {
            let merged = t.over(
                operations
                    .get(op)
                    .unwrap_or(&OperationThresholds::default()),
            );
            operations.insert(op.clone(), merged);
        }
        TargetThresholds {
            response_seconds: self.response_seconds.or(base.response_seconds),
            response_for: self.response_for.or(base.response_for),
            degradation_ratio: self.degradation_ratio.or(base.degradation_ratio),
            degradation_for: self.degradation_for.or(base.degradation_for),
            operations,
        }
    }

    /// (signal, value) of each target-level key set, in base units.
    pub fn signals(&self) -> Vec<(&'static str, f64)> {
        let secs = |d: Option<PromDuration>| d.map(|d| d.0.as_secs_f64());
        [
            ("response_seconds", self.response_seconds),
            ("response_for_seconds", secs(self.response_for)),
            ("degradation_ratio", self.degradation_ratio),
            ("degradation_for_seconds", secs(self.degradation_for)),
        ]
        .into_iter()
        .filter_map(|(s, v)| v.map(|v| (s, v)))
        .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.signals().is_empty() && self.operations.values().all(|o| o.signals().is_empty())
    }
}

/// The `thresholds` section: every target's, then each target's own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsConfig {
    pub response_seconds: Option<f64>,
    pub response_for: Option<PromDuration>,
    pub degradation_ratio: Option<f64>,
    pub degradation_for: Option<PromDuration>,
    #[serde(default)]
    pub operations: BTreeMap<String, OperationThresholds>,
    /// Target name -> its own thresholds, over the ones above.
    #[serde(default)]
    pub targets: BTreeMap<String, TargetThresholds>,
}

impl ThresholdsConfig {
    fn every_target(&self) -> Result<TargetThresholds, String> {
        TargetThresholds::try_from(RawTarget {
            response_seconds: self.response_seconds,
            response_for: self.response_for,
            degradation_ratio: self.degradation_ratio,
            degradation_for: self.degradation_for,
            operations: self.operations.clone(),
        })
    }

    /// Checks the values the parser could not (top-level numbers, target
    /// names); the error names the key.
    pub fn validate(&self, target_names: &[String]) -> Result<(), (String, String)> {
        self.every_target()
            .map_err(|m| ("thresholds".to_string(), m))?;
        for name in self.targets.keys() {
            if !target_names.iter().any(|t| t == name) {
                return Err((
                    format!("thresholds.targets.{name}"),
                    format!(
                        "no target is named {name:?} (targets: {})",
                        target_names.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The thresholds in force on one target.
    pub fn resolve(&self, target: &str) -> TargetThresholds {
        let all = self.every_target().unwrap_or_default();
        match self.targets.get(target) {
            Some(own) => own.over(&all),
            None => all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ThresholdsConfig, String> {
        serde_yaml_ng::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn a_target_entry_overrides_the_common_one_key_by_key() {
        let c = parse(
            "response_seconds: 0.5\noperations:\n  import: {error_ratio: 0.25, success_ratio_for: 10m}\ntargets:\n  b:\n    response_for: 15m\n    operations:\n      import: {error_ratio: 0.05}\n",
        )
        .unwrap();
        let b = c.resolve("b");
        assert_eq!(
            b.signals(),
            vec![("response_seconds", 0.5), ("response_for_seconds", 900.0)]
        );
        assert_eq!(
            b.operations["import"].signals(),
            vec![("error_ratio", 0.05), ("success_ratio_for_seconds", 600.0)]
        );
        assert_eq!(
            c.resolve("a").operations["import"].signals(),
            vec![("error_ratio", 0.25), ("success_ratio_for_seconds", 600.0)]
        );
    }

    #[test]
    fn a_ratio_outside_0_to_1_is_refused_with_its_key() {
        let e = parse("operations:\n  import: {error_ratio: 5}\n").unwrap_err();
        assert!(e.contains("error_ratio: 5 is not a ratio"), "{e}");
        let e = parse("operations:\n  import: {error_rate: 0.5}\n").unwrap_err();
        assert!(e.contains("error_rate"), "{e}");
    }

    #[test]
    fn an_unknown_target_is_refused() {
        let c = parse("targets:\n  nope: {response_seconds: 1}\n").unwrap();
        let (key, msg) = c.validate(&["main".into()]).unwrap_err();
        assert_eq!(key, "thresholds.targets.nope");
        assert!(msg.contains("main"), "{msg}");
    }
}
