//! The background poller: for every target and lane, one task with one
//! connection that runs the lane's collectors on their own intervals.
//!
//! Connections per target: one per lane in use (two at most), plus a
//! short-lived one while a query that overran its timeout is being cancelled.
//! Targets and lanes never wait on each other: a dead or slow target only
//! delays its own task. After a failed connection attempt the task waits with
//! exponential backoff (0.5 s doubling to 30 s, with jitter) so a server at
//! max_connections is not hammered.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::collector::{Collector, Ctx, Lane, COLLECTORS};
use crate::config::{Schedule, Settings};
use crate::db;
use crate::state::State;

struct Scheduled {
    collector: Box<dyn Collector>,
    schedule: Schedule,
    next: Instant,
    failing: bool,
}

/// Backend pids of a target's exporter sessions, shared by its lanes.
#[derive(Default)]
struct OwnPids(Mutex<Vec<i32>>);

impl OwnPids {
    fn add(&self, pid: i32) {
        self.0.lock().expect("pids").push(pid);
    }
    fn remove(&self, pid: i32) {
        self.0.lock().expect("pids").retain(|p| *p != pid);
    }
    fn get(&self) -> Vec<i32> {
        self.0.lock().expect("pids").clone()
    }
}

/// Per-target lane connection states, for `pgmig_up`.
#[derive(Default)]
struct LaneStates(Mutex<BTreeMap<Lane, bool>>);

/// Spawns the poll tasks. Returns once they are started.
pub fn spawn(settings: Arc<Settings>, state: Arc<State>) {
    for (ti, _) in settings.targets.iter().enumerate() {
        let own = Arc::new(OwnPids::default());
        let lane_states = Arc::new(LaneStates::default());
        let lanes: std::collections::BTreeSet<Lane> = COLLECTORS
            .iter()
            .filter(|spec| (spec.schedule)(&settings).enabled)
            .map(|spec| spec.lane)
            .collect();
        for lane in lanes {
            lane_states.0.lock().expect("lanes").insert(lane, false);
            tokio::spawn(supervise(
                settings.clone(),
                state.clone(),
                ti,
                lane,
                own.clone(),
                lane_states.clone(),
            ));
        }
    }
}

/// The collectors of one lane, built fresh.
fn build_lane(settings: &Settings, lane: Lane) -> Vec<Scheduled> {
    COLLECTORS
        .iter()
        .filter(|spec| spec.lane == lane)
        .filter_map(|spec| {
            let schedule = (spec.schedule)(settings);
            schedule.enabled.then(|| Scheduled {
                collector: (spec.build)(settings),
                schedule,
                next: Instant::now(),
                failing: false,
            })
        })
        .collect()
}

/// Runs a lane and restarts it should it ever panic: a bug in one collector
/// must not silently stop a target from being watched.
async fn supervise(
    settings: Arc<Settings>,
    state: Arc<State>,
    ti: usize,
    lane: Lane,
    own: Arc<OwnPids>,
    lanes: Arc<LaneStates>,
) {
    loop {
        let collectors = build_lane(&settings, lane);
        let names: Vec<&'static str> = collectors.iter().map(|c| c.collector.name()).collect();
        let task = tokio::spawn(run_lane(
            settings.clone(),
            state.clone(),
            ti,
            lane,
            collectors,
            own.clone(),
            lanes.clone(),
        ));
        match task.await {
            Err(e) if e.is_panic() => {
                let tname = &settings.targets[ti].name;
                tracing::error!(target = %tname, lane = ?lane, "poll task panicked; restarting it in 1s");
                for n in names {
                    state.remove(ti, n);
                    state
                        .metrics
                        .collector_success
                        .with_label_values(&[tname, n])
                        .set(0.0);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ => return,
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A small xorshift for backoff jitter; no need for a random-number crate.
fn jitter(seed: &mut u64) -> f64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed % 1000) as f64 / 1000.0
}

async fn run_lane(
    settings: Arc<Settings>,
    state: Arc<State>,
    ti: usize,
    lane: Lane,
    mut collectors: Vec<Scheduled>,
    own: Arc<OwnPids>,
    lanes: Arc<LaneStates>,
) {
    let target = &settings.targets[ti];
    let tname = target.name.as_str();
    let m = &state.metrics;
    let statement_timeout = collectors
        .iter()
        .map(|c| c.schedule.timeout)
        .max()
        .unwrap_or(settings.session.statement_timeout)
        .min(settings.session.statement_timeout);
    for c in &collectors {
        m.collector_success
            .with_label_values(&[tname, c.collector.name()])
            .set(0.0);
        // Counters exist from the start at 0, so rate() sees the first error.
        for kind in ["error", "timeout"] {
            m.collector_errors
                .with_label_values(&[tname, c.collector.name(), kind]);
        }
    }
    m.up.with_label_values(&[tname]).set(0.0);
    m.connections.with_label_values(&[tname]).set(0.0);
    m.connect_errors.with_label_values(&[tname]);

    let set_lane = |up: bool| {
        let mut l = lanes.0.lock().expect("lanes");
        l.insert(lane, up);
        let all_up = l.values().all(|v| *v);
        let open = l.values().filter(|v| **v).count();
        m.up.with_label_values(&[tname])
            .set(if all_up { 1.0 } else { 0.0 });
        m.connections.with_label_values(&[tname]).set(open as f64);
        all_up
    };

    let mut backoff = Duration::from_millis(500);
    let mut seed: u64 =
        ((ti as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (unix_now() * 1e6) as u64) | 1;
    let mut last_connect_error: Option<String> = None;
    let mut session: Option<db::Session> = None;

    loop {
        if session.is_none() {
            match db::connect(target, &settings.session, statement_timeout).await {
                Ok(s) => {
                    tracing::info!(target = tname, lane = ?lane, server_version = %s.server_version,
                        backend_pid = s.backend_pid, "connected");
                    own.add(s.backend_pid);
                    m.server_version
                        .with_label_values(&[tname])
                        .set(s.server_version_num as f64);
                    let up = set_lane(true);
                    let version = s.server_version.clone();
                    state.update_status(ti, |st| {
                        st.up = up;
                        st.server_version = Some(version);
                        st.last_error = None;
                    });
                    last_connect_error = None;
                    backoff = Duration::from_millis(500);
                    let now = Instant::now();
                    for c in &mut collectors {
                        c.next = now;
                    }
                    session = Some(s);
                }
                Err(e) => {
                    let msg = e.to_string();
                    if last_connect_error.as_deref() != Some(msg.as_str()) {
                        tracing::warn!(target = tname, lane = ?lane, error = %msg,
                            retry_in = ?backoff, "cannot connect; retrying with backoff");
                    } else {
                        tracing::debug!(target = tname, lane = ?lane, error = %msg, "still cannot connect");
                    }
                    last_connect_error = Some(msg.clone());
                    m.connect_errors.with_label_values(&[tname]).inc();
                    set_lane(false);
                    for c in &mut collectors {
                        state.remove(ti, c.collector.name());
                        m.collector_success
                            .with_label_values(&[tname, c.collector.name()])
                            .set(0.0);
                        c.collector.reset();
                    }
                    state.update_status(ti, |st| {
                        st.polled_once = true;
                        st.up = false;
                        st.last_error = Some(msg);
                    });
                    let wait = backoff.mul_f64(0.75 + 0.5 * jitter(&mut seed));
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            }
        }
        let s = session.as_ref().expect("session just ensured");
        let mut lost = false;
        let now = Instant::now();
        for c in collectors.iter_mut().filter(|c| c.next <= now) {
            let name = c.collector.name();
            let labels = [tname, name];
            if s.server_version_num < c.collector.min_server_version() {
                if !c.failing {
                    tracing::warn!(
                        target = tname,
                        collector = name,
                        server_version = s.server_version_num,
                        min = c.collector.min_server_version(),
                        "collector does not support this server version; skipped"
                    );
                    c.failing = true;
                }
                m.collector_success.with_label_values(&labels).set(0.0);
                c.next = Instant::now() + c.schedule.interval;
                continue;
            }
            let pids = own.get();
            let ctx = Ctx {
                client: &s.client,
                target: tname,
                server_version_num: s.server_version_num,
                own_pids: &pids,
                metrics: m,
            };
            let started = Instant::now();
            let result = tokio::time::timeout(c.schedule.timeout, c.collector.collect(&ctx)).await;
            let elapsed = started.elapsed();
            m.collector_duration
                .with_label_values(&labels)
                .observe(elapsed.as_secs_f64());
            match result {
                Ok(Ok(output)) => {
                    state.put(ti, name, output.families);
                    m.collector_success.with_label_values(&labels).set(1.0);
                    m.collector_last_success
                        .with_label_values(&labels)
                        .set(unix_now());
                    m.collector_series_dropped
                        .with_label_values(&labels)
                        .set(output.dropped as f64);
                    if c.failing {
                        tracing::info!(target = tname, collector = name, "collector recovered");
                        c.failing = false;
                    }
                }
                Ok(Err(e)) => {
                    state.remove(ti, name);
                    c.collector.reset();
                    m.collector_success.with_label_values(&labels).set(0.0);
                    m.collector_errors
                        .with_label_values(&[tname, name, "error"])
                        .inc();
                    if !c.failing {
                        tracing::warn!(target = tname, collector = name, error = %e, "collector failed");
                    } else {
                        tracing::debug!(target = tname, collector = name, error = %e, "collector still failing");
                    }
                    c.failing = true;
                    if e.connection_lost() {
                        lost = true;
                    }
                }
                Err(_) => {
                    s.cancel_running_query();
                    state.remove(ti, name);
                    c.collector.reset();
                    m.collector_success.with_label_values(&labels).set(0.0);
                    m.collector_errors
                        .with_label_values(&[tname, name, "timeout"])
                        .inc();
                    tracing::warn!(target = tname, collector = name, timeout = ?c.schedule.timeout,
                        "collector timed out; its query was cancelled on the server");
                    c.failing = true;
                }
            }
            let after = Instant::now();
            c.next += c.schedule.interval;
            if c.next <= after {
                c.next = after + c.schedule.interval;
            }
            if lost || s.is_closed() {
                lost = true;
                break;
            }
        }
        state.update_status(ti, |st| st.polled_once = true);
        if lost {
            let s = session.take().expect("session");
            tracing::warn!(target = tname, lane = ?lane, "connection lost; reconnecting");
            own.remove(s.backend_pid);
            drop(s);
            let up = set_lane(false);
            for c in &mut collectors {
                state.remove(ti, c.collector.name());
                m.collector_success
                    .with_label_values(&[tname, c.collector.name()])
                    .set(0.0);
                c.collector.reset();
            }
            state.update_status(ti, |st| {
                st.up = up;
                st.last_error = Some("connection lost".into());
            });
            continue;
        }
        let next = collectors
            .iter()
            .map(|c| c.next)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::time::sleep_until(next.into()).await;
    }
}
