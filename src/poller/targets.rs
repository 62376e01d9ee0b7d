//! The watched targets and their lane tasks, as the current settings say:
//! started at start, and brought in line by each reload.
//!
//! A reload ([`Poller::apply`]) compares the new settings with what runs:
//! - a target no longer listed: its lane tasks are dropped (their sessions
//!   close with them) and its slot in the state is retired (snapshots,
//!   status, window and self-metric series gone);
//! - a new target: a slot and lane tasks, as at start;
//! - a kept target whose connection settings (the target's own, the
//!   session settings, the lane's statement_timeout) did not change keeps
//!   its lane tasks and sessions; the lanes get the new plan and keep the
//!   collector instances whose factory is unchanged (with their state:
//!   lock waits in progress, app collectors' incremental baselines);
//! - a kept target whose connection settings changed gets new lane tasks
//!   (new sessions); its slot, and so its window and status, stay.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{
    applies_to_target, factories, supervise, AbortOnDrop, Factory, LanePlan, TargetShared,
};
use crate::collector::Lane;
use crate::config::{SessionSettings, Settings, TargetSettings};
use crate::state::State;

/// What a lane's session was opened with: when it changes, the lane
/// reconnects.
#[derive(PartialEq)]
struct ConnKey {
    target: TargetSettings,
    session: SessionSettings,
    statement_timeout: Duration,
}

/// A running lane task and the channel its plans arrive on.
struct LaneHandle {
    conn: ConnKey,
    plans: watch::Sender<Arc<LanePlan>>,
    /// The collectors it runs, to drop their series when it goes.
    collectors: Vec<Arc<str>>,
    _task: AbortOnDrop<()>,
}

/// A watched target: its slot and its lanes.
struct Watched {
    ti: usize,
    shared: Arc<TargetShared>,
    lanes: BTreeMap<Lane, LaneHandle>,
}

/// Every watched target's tasks.
pub struct Poller {
    state: Arc<State>,
    targets: BTreeMap<String, Watched>,
}

impl Poller {
    pub fn new(state: Arc<State>) -> Poller {
        Poller {
            state,
            targets: BTreeMap::new(),
        }
    }

    /// Starts, keeps, changes and stops lane tasks so that what runs is
    /// what `settings` says. Returns once the tasks are started.
    pub fn apply(&mut self, settings: Arc<Settings>) {
        let all = factories(&settings);
        let gone: Vec<String> = self
            .targets
            .keys()
            .filter(|n| !settings.targets.iter().any(|t| &t.name == *n))
            .cloned()
            .collect();
        for name in gone {
            let w = self.targets.remove(&name).expect("listed");
            let ti = w.ti;
            drop(w);
            self.state.retire(ti);
            tracing::info!(target = %name, "target removed by the reload; its connections are closed");
        }
        for tidx in 0..settings.targets.len() {
            self.apply_target(&settings, &all, tidx);
        }
    }

    fn apply_target(&mut self, settings: &Arc<Settings>, all: &[Arc<Factory>], tidx: usize) {
        let t = &settings.targets[tidx];
        let state = self.state.clone();
        let w = self
            .targets
            .entry(t.name.clone())
            .or_insert_with(|| Watched {
                ti: state.slot(&t.name),
                shared: Arc::new(TargetShared::default()),
                lanes: BTreeMap::new(),
            });
        let ti = w.ti;
        let codes_key = (ti, "expected_error_codes".into(), t.main_database());
        if settings.expected_error_codes.is_empty() {
            state.remove(&codes_key);
        } else {
            state.put(
                codes_key,
                crate::app::expected_error_code_families(&t.name, &settings.expected_error_codes),
            );
        }
        // The thresholds in force on the target, served for the rules to join.
        let thresholds_key = (ti, "thresholds".into(), t.main_database());
        let thresholds = settings.thresholds.resolve(&t.name);
        if thresholds.is_empty() {
            state.remove(&thresholds_key);
        } else {
            state.put(
                thresholds_key,
                crate::app::threshold_families(&t.name, &thresholds),
            );
        }
        let mut by_lane: BTreeMap<Lane, Vec<Arc<Factory>>> = BTreeMap::new();
        for f in all.iter().filter(|f| applies_to_target(f, &t.name)) {
            by_lane.entry(f.lane).or_default().push(f.clone());
        }
        let unused: Vec<Lane> = w
            .lanes
            .keys()
            .filter(|l| !by_lane.contains_key(l))
            .copied()
            .collect();
        for lane in unused {
            let h = w.lanes.remove(&lane).expect("listed");
            stop_lane(&state, w, &t.name, lane, h);
        }
        for (lane, factories) in by_lane {
            let plan = Arc::new(LanePlan {
                settings: settings.clone(),
                tidx,
                factories,
            });
            update_lane(&state, w, lane, plan);
        }
    }
}

/// Hands a lane its new plan on its running session, or, when the session
/// settings changed (or the lane is new), starts a new task for it.
fn update_lane(state: &Arc<State>, w: &mut Watched, lane: Lane, plan: Arc<LanePlan>) {
    let t = &plan.settings.targets[plan.tidx];
    let conn = ConnKey {
        target: t.clone(),
        session: plan.settings.session.clone(),
        statement_timeout: plan.statement_timeout(),
    };
    let collectors: Vec<Arc<str>> = plan.factories.iter().map(|f| f.name.clone()).collect();
    if let Some(h) = w.lanes.get_mut(&lane) {
        if h.conn == conn {
            // Gone from the scrape at once; the lane drops the instances
            // when it takes the plan (at once too, unless a run is under way).
            for c in h.collectors.iter().filter(|c| !collectors.contains(c)) {
                state.remove_collector(w.ti, c);
                state.metrics.forget_collector_everywhere(&t.name, c);
            }
            h.collectors = collectors;
            h.plans.send_replace(plan);
            return;
        }
        let old = w.lanes.remove(&lane).expect("present");
        stop_lane(state, w, &t.name, lane, old);
        tracing::info!(target = %t.name, lane = ?lane, "connection settings changed by the reload; reconnecting");
    }
    let (tx, rx) = watch::channel(plan);
    w.shared.lanes.0.lock().expect("lanes").insert(lane, false);
    let task = tokio::spawn(supervise(rx, state.clone(), w.ti, lane, w.shared.clone()));
    w.lanes.insert(
        lane,
        LaneHandle {
            conn,
            plans: tx,
            collectors,
            _task: AbortOnDrop(task),
        },
    );
}

/// Drops a lane task (its session closes) and the series of its collectors.
fn stop_lane(state: &State, w: &Watched, target: &str, lane: Lane, h: LaneHandle) {
    let collectors = h.collectors.clone();
    drop(h);
    w.shared.lanes.0.lock().expect("lanes").remove(&lane);
    for c in &collectors {
        state.remove_collector(w.ti, c);
        state.metrics.forget_collector_everywhere(target, c);
    }
}
