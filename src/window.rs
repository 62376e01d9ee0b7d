//! The migration window and the in-flight state: whether a migration is
//! under way on a target, since when, and why, so that rules can gate "only
//! during a migration" alerts, hold the pre-migration baseline, and keep the
//! "did the migration leave the right state" checks quiet while it is still
//! working.
//!
//! A window opens automatically while any configured source is active in the
//! latest snapshots (`ddl`: schema-changing DDL runs, see
//! [`crate::evidence::DDL_COMMANDS`];
//! `migration_lock`: a migration tool's lock is held; `framework_dirty`: a
//! migration is recorded as dirty; `backfill`: a backfill's ratio or a job's
//! done count moved since the last tick; `migration_running`: a backend runs
//! a statement of a migration of the `migrations` section) and closes `close_after` once none
//! is. An automatic window never lasts longer than `max_auto`: a source stuck
//! on (a forgotten lock row) cannot hold the baseline for ever; the window
//! then reopens only after every source cleared once. It opens explicitly
//! through `POST /api/v1/window/open?target=NAME` (closed through
//! `/api/v1/window/close`); an explicit window stays open until closed, or
//! for `max_explicit` at most.
//!
//! In flight is wider and shorter than the window: every piece of evidence
//! that a migration is working right now, each served as a `reason` of
//! `pgmig_migration_in_flight` that stays 1 for `in_flight_hold` after its
//! last evidence (so the end of a CONCURRENTLY build does not race the
//! expected-object check). Reasons: `ddl` (schema-changing DDL running, or a
//! new invalid index appeared: a build just failed), `lock` (an
//! AccessExclusiveLock held or waited for), `migration_lock`, `explicit`,
//! `backfill`, and `migration_running` (the `migrations` collector sees a
//! backend run a statement of a configured migration, matched by pg_query
//! fingerprint: evidence even for a lockless data migration that no other
//! reason sees).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_migration_window_open` | gauge | target |
//! | `pgmig_migration_window_start_timestamp_seconds` | gauge | target |
//! | `pgmig_migration_window_source` | gauge | target, source |
//! | `pgmig_migration_in_flight` | gauge | target, reason |
//!
//! Owns the window's logic; its config section is
//! [`crate::config::window`]'s. Must not touch connections or HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::exposition::Rendered;

pub use crate::config::window::WindowConfig;
use crate::evidence::WindowEvidence;
use crate::exposition::Family;

pub const SOURCES: &[&str] = &[
    "ddl",
    "migration_lock",
    "framework_dirty",
    "backfill",
    "migration_running",
    "explicit",
];

/// The `reason` values of `pgmig_migration_in_flight`, always all served.
pub const IN_FLIGHT_REASONS: &[&str] = &[
    "ddl",
    "lock",
    "migration_lock",
    "explicit",
    "backfill",
    "migration_running",
];

/// What one tick's snapshots of a target show.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Observed {
    /// Active sources and reasons that need no memory (`ddl`, `lock`, `migration_lock`, `framework_dirty`, `migration_running`).
    pub active: Vec<&'static str>,
    /// Sum of backfill ratios and job done counts; None when no such series.
    pub progress: Option<f64>,
    /// Invalid indexes (datname/schema/index); None until the collector reported.
    pub invalid_indexes: Option<BTreeSet<String>>,
}

/// One target's window.
#[derive(Debug, Default, Clone)]
struct TargetWindow {
    open_since: Option<f64>,
    explicit_since: Option<f64>,
    /// Last time an automatic source was seen active.
    last_auto: Option<f64>,
    /// Set when `max_auto` closed the window; cleared once no source is active.
    auto_exhausted: bool,
    active: Vec<&'static str>,
    last_progress: Option<f64>,
    known_invalid: Option<BTreeSet<String>>,
    /// Last evidence time of each in-flight reason.
    evidence: BTreeMap<&'static str, f64>,
}

pub struct Windows {
    cfg: WindowConfig,
    targets: Mutex<Vec<TargetWindow>>,
}

impl From<&WindowEvidence> for Observed {
    /// Weighs the typed evidence of one target's latest runs.
    fn from(e: &WindowEvidence) -> Observed {
        let mut out = Observed::default();
        if e.ddl_running
            .iter()
            .any(|c| crate::evidence::changes_schema(c))
        {
            out.active.push("ddl");
        }
        if e.access_exclusive {
            out.active.push("lock");
        }
        if e.migration_lock_held {
            out.active.push("migration_lock");
        }
        if e.migration_dirty {
            out.active.push("framework_dirty");
        }
        if e.migration_running {
            out.active.push("migration_running");
        }
        out.progress = e.progress;
        out.invalid_indexes = e
            .invalid_indexes
            .as_ref()
            .map(|i| i.iter().cloned().collect());
        out
    }
}

/// The sources active this tick, counting the evidence that needs memory
/// (progress moved, a new invalid index) against the previous tick.
fn sources_now(w: &mut TargetWindow, seen: Observed) -> Vec<&'static str> {
    let mut active = seen.active;
    if let (Some(now), Some(before)) = (seen.progress, w.last_progress) {
        if (now - before).abs() > f64::EPSILON {
            active.push("backfill");
        }
    }
    if seen.progress.is_some() {
        w.last_progress = seen.progress;
    }
    if let Some(now) = seen.invalid_indexes {
        let new = w
            .known_invalid
            .as_ref()
            .is_some_and(|known| now.iter().any(|i| !known.contains(i)));
        if new && !active.contains(&"ddl") {
            active.push("ddl");
        }
        w.known_invalid = Some(now);
    }
    active
}

impl Windows {
    pub fn new(cfg: WindowConfig, targets: usize) -> Windows {
        Windows {
            cfg,
            targets: Mutex::new(vec![TargetWindow::default(); targets]),
        }
    }

    /// Room for `n` targets (a reload added some).
    pub fn ensure(&self, n: usize) {
        let mut all = self.targets.lock().expect("windows");
        if all.len() < n {
            all.resize(n, TargetWindow::default());
        }
    }

    /// Forgets a target's window (a reload removed it).
    pub fn reset(&self, ti: usize) {
        if let Some(w) = self.targets.lock().expect("windows").get_mut(ti) {
            *w = TargetWindow::default();
        }
    }

    pub fn api_enabled(&self) -> bool {
        self.cfg.api_token_file.is_some()
    }

    /// Advances a target's window and in-flight evidence with what it shows now.
    pub fn update(&self, ti: usize, seen: Observed, now: f64) {
        let mut all = self.targets.lock().expect("windows");
        let w = &mut all[ti];
        let active = sources_now(w, seen);
        for r in &active {
            if IN_FLIGHT_REASONS.contains(r) {
                w.evidence.insert(r, now);
            }
        }
        let auto: Vec<&'static str> = active
            .into_iter()
            .filter(|s| {
                crate::config::window::AUTO_SOURCES.contains(s)
                    && self.cfg.auto.iter().any(|a| a == s)
            })
            .collect();
        if auto.is_empty() {
            w.auto_exhausted = false;
        } else if !w.auto_exhausted {
            w.last_auto = Some(now);
        }
        if let Some(since) = w.explicit_since {
            w.evidence.insert("explicit", now);
            if now - since > self.cfg.max_explicit.0.as_secs_f64() {
                w.explicit_since = None;
            }
        }
        let mut auto_open = w
            .last_auto
            .is_some_and(|t| now - t <= self.cfg.close_after.0.as_secs_f64());
        if auto_open
            && w.explicit_since.is_none()
            && w.open_since
                .is_some_and(|s| now - s > self.cfg.max_auto.0.as_secs_f64())
        {
            auto_open = false;
            w.auto_exhausted = true;
        }
        let open = auto_open || w.explicit_since.is_some();
        match (open, w.open_since) {
            (true, None) => w.open_since = Some(now),
            (false, Some(_)) => {
                w.open_since = None;
                w.last_auto = None;
            }
            _ => {}
        }
        w.active = auto;
        if w.explicit_since.is_some() {
            w.active.push("explicit");
        }
        let hold = self.cfg.in_flight_hold.0.as_secs_f64();
        w.evidence.retain(|_, t| now - *t <= hold);
    }

    pub fn open_explicit(&self, ti: usize, now: f64) {
        let mut all = self.targets.lock().expect("windows");
        let w = &mut all[ti];
        w.explicit_since.get_or_insert(now);
        w.open_since.get_or_insert(now);
        w.evidence.insert("explicit", now);
    }

    pub fn close_explicit(&self, ti: usize) {
        let mut all = self.targets.lock().expect("windows");
        all[ti].explicit_since = None;
        // An automatic source still active keeps it open at the next update.
        all[ti].open_since = None;
        all[ti].last_auto = None;
    }

    pub fn families(&self, ti: usize, target: &str) -> Vec<Rendered> {
        let w = self.targets.lock().expect("windows")[ti].clone();
        let base = [("target", target)];
        let mut open = Family::gauge(
            "pgmig_migration_window_open",
            "1 while a migration window is open on the target (opened automatically by schema-changing DDL, a migration lock, a dirty migration, backfill progress or a configured migration running, or explicitly through the API).",
            &base,
        );
        open.add(&[], if w.open_since.is_some() { 1.0 } else { 0.0 });
        let mut start = Family::gauge(
            "pgmig_migration_window_start_timestamp_seconds",
            "Unix time the open migration window opened; 0 while none is open.",
            &base,
        );
        start.add(&[], w.open_since.unwrap_or(0.0));
        let mut src = Family::gauge(
            "pgmig_migration_window_source",
            "1 for each source keeping the migration window open now (ddl, migration_lock, framework_dirty, backfill, migration_running, explicit), else 0.",
            &base,
        );
        for s in SOURCES {
            src.add(
                &[("source", s)],
                if w.active.contains(s) { 1.0 } else { 0.0 },
            );
        }
        let mut flight = Family::gauge(
            "pgmig_migration_in_flight",
            "1 for each kind of evidence that a migration is working on the target now or was within window.in_flight_hold (ddl, lock, migration_lock, explicit, backfill, migration_running), else 0.",
            &base,
        );
        for r in IN_FLIGHT_REASONS {
            let on = w.evidence.contains_key(r);
            flight.add(&[("reason", r)], if on { 1.0 } else { 0.0 });
        }
        vec![open.finish(), start.finish(), src.finish(), flight.finish()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::PromDuration;
    use std::time::Duration;

    fn seen(active: &[&'static str]) -> Observed {
        Observed {
            active: active.to_vec(),
            ..Default::default()
        }
    }

    fn in_flight(w: &Windows, ti: usize) -> Vec<&'static str> {
        w.targets.lock().unwrap()[ti]
            .evidence
            .keys()
            .copied()
            .collect()
    }

    #[test]
    fn in_flight_holds_each_reason_after_its_last_evidence() {
        let w = Windows::new(cfg(), 1);
        w.update(0, seen(&["lock"]), 100.0);
        assert_eq!(in_flight(&w, 0), vec!["lock"]);
        assert!(
            w.targets.lock().unwrap()[0].open_since.is_none(),
            "a lock alone is in flight but opens no window"
        );
        w.update(0, seen(&[]), 150.0);
        assert_eq!(in_flight(&w, 0), vec!["lock"], "within the 60 s hold");
        w.update(0, seen(&[]), 161.0);
        assert!(in_flight(&w, 0).is_empty(), "hold over");
    }

    #[test]
    fn backfill_progress_and_a_new_invalid_index_are_evidence() {
        let w = Windows::new(cfg(), 1);
        let prog = |p: f64| Observed {
            progress: Some(p),
            ..Default::default()
        };
        w.update(0, prog(0.1), 10.0);
        assert!(
            in_flight(&w, 0).is_empty(),
            "no earlier value to compare with"
        );
        w.update(0, prog(0.1), 11.0);
        assert!(in_flight(&w, 0).is_empty(), "no progress");
        w.update(0, prog(0.2), 12.0);
        assert_eq!(in_flight(&w, 0), vec!["backfill"]);
        assert_eq!(w.targets.lock().unwrap()[0].open_since, Some(12.0));

        let w = Windows::new(cfg(), 1);
        let inv = |names: &[&str]| Observed {
            invalid_indexes: Some(names.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        w.update(0, inv(&["db/public/old"]), 10.0);
        assert!(
            in_flight(&w, 0).is_empty(),
            "invalid before the exporter saw anything"
        );
        w.update(0, inv(&["db/public/old"]), 11.0);
        assert!(in_flight(&w, 0).is_empty());
        w.update(0, inv(&["db/public/old", "db/public/new"]), 12.0);
        assert_eq!(in_flight(&w, 0), vec!["ddl"], "a build just failed");
    }

    #[test]
    fn an_automatic_window_is_bounded_by_max_auto() {
        let w = Windows::new(
            WindowConfig {
                max_auto: PromDuration(Duration::from_secs(100)),
                ..cfg()
            },
            1,
        );
        w.update(0, seen(&["migration_lock"]), 0.0);
        w.update(0, seen(&["migration_lock"]), 100.0);
        assert_eq!(w.targets.lock().unwrap()[0].open_since, Some(0.0));
        w.update(0, seen(&["migration_lock"]), 101.0);
        assert!(
            w.targets.lock().unwrap()[0].open_since.is_none(),
            "stuck source"
        );
        w.update(0, seen(&["migration_lock"]), 500.0);
        assert!(
            w.targets.lock().unwrap()[0].open_since.is_none(),
            "stays closed"
        );
        w.update(0, seen(&[]), 501.0);
        w.update(0, seen(&["ddl"]), 502.0);
        assert_eq!(
            w.targets.lock().unwrap()[0].open_since,
            Some(502.0),
            "reopens"
        );
    }

    #[test]
    fn a_running_migration_is_in_flight_and_a_source_only_when_window_auto_names_it() {
        let running = Observed::from(&WindowEvidence {
            migration_running: true,
            ..Default::default()
        });
        let w = Windows::new(cfg(), 1);
        w.update(0, running.clone(), 10.0);
        assert_eq!(in_flight(&w, 0), vec!["migration_running"]);
        assert_eq!(w.targets.lock().unwrap()[0].open_since, Some(10.0));
        assert_eq!(
            w.targets.lock().unwrap()[0].active,
            vec!["migration_running"]
        );

        let w = Windows::new(
            WindowConfig {
                auto: vec!["ddl".into()],
                ..cfg()
            },
            1,
        );
        w.update(0, running, 10.0);
        assert_eq!(
            in_flight(&w, 0),
            vec!["migration_running"],
            "in flight whatever window.auto says"
        );
        assert!(w.targets.lock().unwrap()[0].open_since.is_none());
    }

    fn cfg() -> WindowConfig {
        WindowConfig {
            close_after: PromDuration(Duration::from_secs(60)),
            ..Default::default()
        }
    }

    #[test]
    fn opens_on_ddl_and_closes_after_the_grace_period() {
        let w = Windows::new(cfg(), 1);
        w.update(0, seen(&[]), 100.0);
        assert!(w.targets.lock().unwrap()[0].open_since.is_none());
        w.update(0, seen(&["ddl"]), 110.0);
        assert_eq!(w.targets.lock().unwrap()[0].open_since, Some(110.0));
        w.update(0, seen(&[]), 169.0);
        assert_eq!(
            w.targets.lock().unwrap()[0].open_since,
            Some(110.0),
            "still within close_after"
        );
        w.update(0, seen(&[]), 171.0);
        assert!(w.targets.lock().unwrap()[0].open_since.is_none());
    }

    #[test]
    fn explicit_window_stays_until_closed_and_sources_can_be_turned_off() {
        let w = Windows::new(
            WindowConfig {
                auto: vec![],
                ..cfg()
            },
            2,
        );
        w.update(1, seen(&["ddl"]), 10.0);
        assert!(
            w.targets.lock().unwrap()[1].open_since.is_none(),
            "ddl is not a source here"
        );
        w.open_explicit(1, 20.0);
        w.update(1, seen(&[]), 5000.0);
        assert_eq!(w.targets.lock().unwrap()[1].open_since, Some(20.0));
        w.close_explicit(1);
        w.update(1, seen(&[]), 5001.0);
        assert!(w.targets.lock().unwrap()[1].open_since.is_none());
    }
}
