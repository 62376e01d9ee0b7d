//! The migration window: whether a migration is under way on a target, and
//! since when, so that rules can gate "only during a migration" alerts and
//! compare with the baseline from before it.
//!
//! A window opens automatically while any of the configured sources is
//! active (`ddl`: a DDL statement other than VACUUM/ANALYZE is running;
//! `migration_lock`: a migration tool's lock is held; `framework_dirty`: a
//! migration is recorded as dirty or half-applied) and closes `close_after`
//! once none is. The activity and frameworks collectors report the sources
//! as typed observations (`Observation::WindowSources`), which the state
//! keeps beside their snapshots; nothing here reads rendered text back. It opens explicitly through
//! `POST /api/v1/window/open?target=NAME` (and closes through
//! `/api/v1/window/close`), which a deploy pipeline calls with the bearer
//! token from `window.api_token_file`; an explicit window stays open until
//! closed, or for `max_explicit` at most.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_migration_window_open` | gauge | target |
//! | `pgmig_migration_window_start_timestamp_seconds` | gauge | target |
//! | `pgmig_migration_window_source` | gauge | target, source |
//!
//! Owns the window's logic; its config section is
//! [`crate::config::window`]'s. Must not touch connections or HTTP.

use std::sync::Mutex;

use crate::exposition::Rendered;

pub use crate::config::window::WindowConfig;
use crate::exposition::Family;

pub const SOURCES: &[&str] = &["ddl", "migration_lock", "framework_dirty", "explicit"];

/// One target's window.
#[derive(Debug, Default, Clone)]
struct TargetWindow {
    open_since: Option<f64>,
    explicit_since: Option<f64>,
    /// Last time an automatic source was seen active.
    last_auto: Option<f64>,
    active: Vec<&'static str>,
}

pub struct Windows {
    cfg: WindowConfig,
    targets: Mutex<Vec<TargetWindow>>,
}

impl Windows {
    pub fn new(cfg: WindowConfig, targets: usize) -> Windows {
        Windows {
            cfg,
            targets: Mutex::new(vec![TargetWindow::default(); targets]),
        }
    }

    pub fn api_enabled(&self) -> bool {
        self.cfg.api_token_file.is_some()
    }

    /// Advances a target's window with the sources active now.
    pub fn update(&self, ti: usize, active: Vec<&'static str>, now: f64) {
        let mut all = self.targets.lock().expect("windows");
        let w = &mut all[ti];
        let auto: Vec<&'static str> = active
            .into_iter()
            .filter(|s| self.cfg.auto.iter().any(|a| a == s))
            .collect();
        if !auto.is_empty() {
            w.last_auto = Some(now);
        }
        if let Some(since) = w.explicit_since {
            if now - since > self.cfg.max_explicit.0.as_secs_f64() {
                w.explicit_since = None;
            }
        }
        let auto_open = w
            .last_auto
            .is_some_and(|t| now - t <= self.cfg.close_after.0.as_secs_f64());
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
    }

    pub fn open_explicit(&self, ti: usize, now: f64) {
        let mut all = self.targets.lock().expect("windows");
        let w = &mut all[ti];
        w.explicit_since.get_or_insert(now);
        w.open_since.get_or_insert(now);
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
            "1 while a migration window is open on the target (opened automatically by DDL, a migration lock or a dirty migration, or explicitly through the API).",
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
            "1 for each source keeping the migration window open now (ddl, migration_lock, framework_dirty, explicit), else 0.",
            &base,
        );
        for s in SOURCES {
            src.add(
                &[("source", s)],
                if w.active.contains(s) { 1.0 } else { 0.0 },
            );
        }
        vec![open.finish(), start.finish(), src.finish()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::PromDuration;
    use std::time::Duration;

    fn cfg() -> WindowConfig {
        WindowConfig {
            close_after: PromDuration(Duration::from_secs(60)),
            ..Default::default()
        }
    }

    #[test]
    fn opens_on_ddl_and_closes_after_the_grace_period() {
        let w = Windows::new(cfg(), 1);
        w.update(0, vec![], 100.0);
        assert!(w.targets.lock().unwrap()[0].open_since.is_none());
        w.update(0, vec!["ddl"], 110.0);
        assert_eq!(w.targets.lock().unwrap()[0].open_since, Some(110.0));
        w.update(0, vec![], 169.0);
        assert_eq!(
            w.targets.lock().unwrap()[0].open_since,
            Some(110.0),
            "still within close_after"
        );
        w.update(0, vec![], 171.0);
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
        w.update(1, vec!["ddl"], 10.0);
        assert!(
            w.targets.lock().unwrap()[1].open_since.is_none(),
            "ddl is not a source here"
        );
        w.open_explicit(1, 20.0);
        w.update(1, vec![], 5000.0);
        assert_eq!(w.targets.lock().unwrap()[1].open_since, Some(20.0));
        w.close_explicit(1);
        w.update(1, vec![], 5001.0);
        assert!(w.targets.lock().unwrap()[1].open_since.is_none());
    }
}
