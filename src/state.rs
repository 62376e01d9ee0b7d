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
}

pub struct State {
    snapshots: RwLock<HashMap<Key, Snapshot>>,
    /// The migration-window sources each snapshot's run reported active;
    /// kept and dropped along with the snapshot.
    window_sources: Mutex<HashMap<Key, Vec<&'static str>>>,
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
            window_sources: Mutex::new(HashMap::new()),
            targets,
            status: Mutex::new(vec![TargetStatus::default(); n]),
            metrics: SelfMetrics::new(),
            windows: crate::window::Windows::new(window, n),
        }
    }

    pub fn put(&self, key: Key, snap: Vec<Rendered>) {
        self.snapshots
            .write()
            .expect("snapshot lock")
            .insert(key, Arc::new(snap));
    }

    pub fn remove(&self, key: &Key) {
        self.snapshots.write().expect("snapshot lock").remove(key);
        self.window_sources
            .lock()
            .expect("window sources lock")
            .remove(key);
    }

    /// Records the window sources a run reported (see [`State::remove`]).
    pub fn put_window_sources(&self, key: Key, sources: Vec<&'static str>) {
        self.window_sources
            .lock()
            .expect("window sources lock")
            .insert(key, sources);
    }

    /// The automatic window sources active on a target, in
    /// `AUTO_SOURCES` order.
    pub fn window_sources(&self, target: usize) -> Vec<&'static str> {
        let map = self.window_sources.lock().expect("window sources lock");
        crate::config::window::AUTO_SOURCES
            .iter()
            .copied()
            .filter(|s| map.iter().any(|(k, v)| k.0 == target && v.contains(s)))
            .collect()
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
        self.statuses().iter().all(|s| s.polled_once)
    }
}
