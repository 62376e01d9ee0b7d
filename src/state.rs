//! Shared state between the poller and the HTTP server: the latest snapshot
//! of every (target, collector) pair and each target's status.
//!
//! A snapshot replaces the previous one whole; a failed run removes it. The
//! HTTP side only takes a read lock long enough to clone `Arc`s, so a scrape
//! never waits on the database.
//!
//! Must not touch: connections, collectors or HTTP; it is a passive store
//! the poller fills and the server reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::evidence::WindowEvidence;
use crate::exposition::Rendered;

use crate::selfmetrics::SelfMetrics;

pub type Snapshot = Arc<Vec<Rendered>>;

/// (target slot, collector, database the collector ran in).
pub type Key = (usize, Arc<str>, String);

/// A target's place in the state. Slots are never reused for another
/// name: a target a reload removes is retired (its snapshots, status and
/// window dropped) and, should it come back, starts afresh in the same
/// slot; a target a reload keeps keeps its slot and everything in it.
#[derive(Debug, Clone)]
struct Slot {
    name: String,
    active: bool,
    status: TargetStatus,
}

#[derive(Debug, Clone, Default)]
pub struct TargetStatus {
    /// At least one poll (connection attempt plus collectors) has completed.
    pub polled_once: bool,
    pub up: bool,
    pub server_version: Option<String>,
    /// The last error, already free of secrets (connection errors never carry the password).
    pub last_error: Option<String>,
    /// Set when a probe timed out (the server accepts connections but does
    /// not answer, e.g. stopped by SIGSTOP); cleared by the next successful
    /// connection. Makes /readyz answer 503 with this reason.
    pub unresponsive: Option<String>,
}

pub struct State {
    snapshots: RwLock<HashMap<Key, Snapshot>>,
    /// The window evidence of the run behind each snapshot that reported
    /// some; put and removed together with the snapshot.
    evidence: RwLock<HashMap<Key, WindowEvidence>>,
    slots: Mutex<Vec<Slot>>,
    pub metrics: SelfMetrics,
    pub windows: crate::window::Windows,
}

impl State {
    /// A state whose slots 0.. are `targets`, in order.
    pub fn new(targets: Vec<String>, window: crate::window::WindowConfig) -> State {
        let n = targets.len();
        let slots = targets
            .into_iter()
            .map(|name| Slot {
                name,
                active: true,
                status: TargetStatus::default(),
            })
            .collect();
        State {
            snapshots: RwLock::new(HashMap::new()),
            evidence: RwLock::new(HashMap::new()),
            slots: Mutex::new(slots),
            metrics: SelfMetrics::new(),
            windows: crate::window::Windows::new(window, n),
        }
    }

    /// The slot of the target named `name`, made active: its own if it has
    /// one (kept or retired), a new one otherwise.
    pub fn slot(&self, name: &str) -> usize {
        let mut slots = self.slots.lock().expect("slots lock");
        let ti = match slots.iter().position(|s| s.name == name) {
            Some(ti) => ti,
            None => {
                slots.push(Slot {
                    name: name.to_string(),
                    active: false,
                    status: TargetStatus::default(),
                });
                slots.len() - 1
            }
        };
        slots[ti].active = true;
        self.windows.ensure(slots.len());
        ti
    }

    /// A target a reload removed: its snapshots, evidence, status, window
    /// and self-metric series go; the slot stays its name's.
    pub fn retire(&self, ti: usize) {
        let name = {
            let mut slots = self.slots.lock().expect("slots lock");
            let s = &mut slots[ti];
            s.active = false;
            s.status = TargetStatus::default();
            s.name.clone()
        };
        {
            let mut snaps = self.snapshots.write().expect("snapshot lock");
            self.evidence
                .write()
                .expect("evidence lock")
                .retain(|k, _| k.0 != ti);
            snaps.retain(|k, _| k.0 != ti);
        }
        self.windows.reset(ti);
        self.metrics.forget_target(&name);
    }

    /// The name of the target in slot `ti`.
    pub fn target_name(&self, ti: usize) -> String {
        self.slots.lock().expect("slots lock")[ti].name.clone()
    }

    /// The watched targets: (slot, name), in slot order.
    pub fn active_targets(&self) -> Vec<(usize, String)> {
        self.slots
            .lock()
            .expect("slots lock")
            .iter()
            .enumerate()
            .filter(|(_, s)| s.active)
            .map(|(i, s)| (i, s.name.clone()))
            .collect()
    }

    fn active_slots(&self) -> Vec<bool> {
        let slots = self.slots.lock().expect("slots lock");
        slots.iter().map(|s| s.active).collect()
    }

    /// Publishes a snapshot that carries no window evidence.
    pub fn put(&self, key: Key, snap: Vec<Rendered>) {
        self.put_observed(key, snap, None);
    }

    /// Publishes a snapshot with the window evidence of the same run.
    pub fn put_observed(&self, key: Key, snap: Vec<Rendered>, evidence: Option<WindowEvidence>) {
        // Both locks, snapshots first (as in remove): the two maps change together.
        let mut snaps = self.snapshots.write().expect("snapshot lock");
        let mut ev = self.evidence.write().expect("evidence lock");
        match evidence {
            Some(e) => ev.insert(key.clone(), e),
            None => ev.remove(&key),
        };
        snaps.insert(key, Arc::new(snap));
    }

    pub fn remove(&self, key: &Key) {
        let mut snaps = self.snapshots.write().expect("snapshot lock");
        self.evidence.write().expect("evidence lock").remove(key);
        snaps.remove(key);
    }

    /// Removes a collector's snapshots on a target, in every database.
    pub fn remove_collector(&self, ti: usize, collector: &str) {
        let mut snaps = self.snapshots.write().expect("snapshot lock");
        let gone = |k: &Key| k.0 == ti && &*k.1 == collector;
        self.evidence
            .write()
            .expect("evidence lock")
            .retain(|k, _| !gone(k));
        snaps.retain(|k, _| !gone(k));
    }

    /// The window evidence of one target's current snapshots, merged.
    pub fn target_evidence(&self, target: usize) -> WindowEvidence {
        let map = self.evidence.read().expect("evidence lock");
        let mut out = WindowEvidence::default();
        for (_, e) in map.iter().filter(|(k, _)| k.0 == target) {
            out.merge(e);
        }
        out
    }

    /// The current snapshots of the watched targets, in a stable order (a
    /// task of a retired target that has not stopped yet is not served).
    pub fn snapshots(&self) -> Vec<Snapshot> {
        let active = self.active_slots();
        let map = self.snapshots.read().expect("snapshot lock");
        let mut keys: Vec<_> = map
            .keys()
            .filter(|k| active.get(k.0).copied().unwrap_or(false))
            .cloned()
            .collect();
        keys.sort();
        keys.iter().map(|k| map[k].clone()).collect()
    }

    pub fn update_status(&self, target: usize, f: impl FnOnce(&mut TargetStatus)) {
        let mut s = self.slots.lock().expect("slots lock");
        if s[target].active {
            f(&mut s[target].status);
        }
    }

    /// Each watched target's name and status, in slot order.
    pub fn statuses(&self) -> Vec<(String, TargetStatus)> {
        let slots = self.slots.lock().expect("slots lock");
        slots
            .iter()
            .filter(|s| s.active)
            .map(|s| (s.name.clone(), s.status.clone()))
            .collect()
    }

    pub fn ready(&self) -> bool {
        self.not_ready_reason().is_none()
    }

    /// Why /readyz answers 503: a target not polled yet, or one whose server
    /// stopped answering. A target that refuses connections is known to be
    /// down, and reported as such, so it does not make the exporter unready.
    pub fn not_ready_reason(&self) -> Option<String> {
        let st = self.statuses();
        if !st.iter().all(|(_, s)| s.polled_once) {
            return Some("some targets have not been polled yet".into());
        }
        let hung: Vec<String> = st
            .iter()
            .filter_map(|(t, s)| Some(format!("target {t}: {}", s.unresponsive.as_ref()?)))
            .collect();
        (!hung.is_empty()).then(|| hung.join("; "))
    }

    /// A probe (`SELECT 1`) overran its timeout: the server does not answer.
    /// The timeout is observed in the probe histogram (the round trip took
    /// at least that long) and the target is marked down until it answers.
    pub fn probe_timed_out(&self, target: usize, timeout: std::time::Duration) {
        self.metrics
            .probe
            .with_label_values(&[&self.target_name(target)])
            .observe(timeout.as_secs_f64());
        self.update_status(target, |st| {
            st.up = false;
            st.unresponsive = Some(format!(
                "probe timed out after {timeout:?}: the server does not answer"
            ));
        });
    }
}
