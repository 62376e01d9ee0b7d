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

/// (target index, collector, database the collector ran in).
pub type Key = (usize, Arc<str>, String);

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
    pub targets: Vec<String>,
    status: Mutex<Vec<TargetStatus>>,
    pub metrics: SelfMetrics,
    pub windows: crate::window::Windows,
}

impl State {
    pub fn new(targets: Vec<String>, window: crate::window::WindowConfig) -> State {
        let n = targets.len();
        State {
            snapshots: RwLock::new(HashMap::new()),
            evidence: RwLock::new(HashMap::new()),
            targets,
            status: Mutex::new(vec![TargetStatus::default(); n]),
            metrics: SelfMetrics::new(),
            windows: crate::window::Windows::new(window, n),
        }
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

    /// The window evidence of one target's current snapshots, merged.
    pub fn target_evidence(&self, target: usize) -> WindowEvidence {
        let map = self.evidence.read().expect("evidence lock");
        let mut out = WindowEvidence::default();
        for (_, e) in map.iter().filter(|(k, _)| k.0 == target) {
            out.merge(e);
        }
        out
    }

    /// The current snapshots, in a stable order.
    pub fn snapshots(&self) -> Vec<Snapshot> {
        let map = self.snapshots.read().expect("snapshot lock");
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort();
        keys.iter().map(|k| map[k].clone()).collect()
    }

    pub fn update_status(&self, target: usize, f: impl FnOnce(&mut TargetStatus)) {
        let mut s = self.status.lock().expect("status lock");
        f(&mut s[target]);
    }

    pub fn statuses(&self) -> Vec<TargetStatus> {
        self.status.lock().expect("status lock").clone()
    }

    pub fn ready(&self) -> bool {
        self.not_ready_reason().is_none()
    }

    /// Why /readyz answers 503: a target not polled yet, or one whose server
    /// stopped answering. A target that refuses connections is known to be
    /// down, and reported as such, so it does not make the exporter unready.
    pub fn not_ready_reason(&self) -> Option<String> {
        let st = self.statuses();
        if !st.iter().all(|s| s.polled_once) {
            return Some("some targets have not been polled yet".into());
        }
        let hung: Vec<String> = self
            .targets
            .iter()
            .zip(&st)
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
            .with_label_values(&[&self.targets[target]])
            .observe(timeout.as_secs_f64());
        self.update_status(target, |st| {
            st.up = false;
            st.unresponsive = Some(format!(
                "probe timed out after {timeout:?}: the server does not answer"
            ));
        });
    }
}
