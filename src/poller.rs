//! The background poller: for every target and lane, one task with one
//! connection that runs the lane's collectors on their own intervals.
//!
//! Connections per target: one per lane in use (two at most: the fast lane
//! for locks, activity and the probe; the slow lane for everything else),
//! plus, only while it is used, one short-lived connection: to cancel a query
//! that overran its timeout, or to run the per-database collectors in a
//! database other than the target's own (the slow lane visits the other
//! databases one at a time and closes each connection after use).
//!
//! Targets and lanes never wait on each other: a dead or slow target only
//! delays its own task. After a failed connection attempt the task waits with
//! exponential backoff (0.5 s doubling to 30 s, with jitter) so a server at
//! max_connections is not hammered.
//!
//! Owns scheduling only: what a collector reads is the collector's; what it
//! reports is recorded here as self-metrics. Must not touch HTTP.

pub mod serverlog;
pub mod targets;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::collector::{
    Collector, Ctx, Lane, Observation, Observations, Scope, WindowEvidence, COLLECTORS,
};
use crate::config::{Schedule, Settings, TargetSettings};
use crate::db;
use crate::selfmetrics::SelfMetrics;
use crate::state::{Key, State};

/// What the poller instantiates: a built-in collector from the
/// registration table, or an app collector from the config file.
pub struct Factory {
    pub name: Arc<str>,
    pub lane: Lane,
    pub scope: Scope,
    pub schedule: Schedule,
    /// Only on these targets (all when empty).
    pub targets: Vec<String>,
    /// Only in these databases; when empty: built-in per-database collectors
    /// run in every listed or discovered database, app collectors in the
    /// target's own database.
    pub databases: Vec<String>,
    pub app: bool,
    /// Everything the instances depend on, hashed: a reload keeps the
    /// running instances (and their state) of a factory whose fingerprint
    /// did not change.
    pub fingerprint: u64,
    build: Box<dyn Fn() -> Box<dyn Collector> + Send + Sync>,
}

fn hash_debug(v: &impl std::fmt::Debug) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{v:?}").hash(&mut h);
    h.finish()
}

/// What the built-in collectors may read of the settings besides their
/// own `collectors.<name>` section, hashed: the settings less what is
/// known not to reach them (targets, HTTP, logging, the collector
/// sections, app collectors, the window, the server log). Whatever a later
/// section adds counts, so that a change to it rebuilds the collectors.
fn builtin_inputs(settings: &Settings) -> u64 {
    let mut s = settings.clone();
    s.collectors = Default::default();
    s.targets.clear();
    s.shard = None;
    s.web = None;
    s.web_config_file = None;
    s.listen_address.clear();
    s.telemetry_path.clear();
    s.config_file = None;
    s.web_max_connections = 0;
    s.app_collectors.clear();
    s.window = Default::default();
    s.window_token = None;
    s.server_log = Default::default();
    s.server_log_follows.clear();
    // The planned migrations are the `migrations` collector's alone (its
    // fingerprint below): a new migration file restarts no other collector.
    s.migrations.clear();
    hash_debug(&s)
}

/// Every enabled collector: the built-in table, then the app collectors.
pub fn factories(settings: &Arc<Settings>) -> Vec<Arc<Factory>> {
    let mut out = Vec::new();
    let inputs = builtin_inputs(settings);
    for spec in COLLECTORS {
        let schedule = (spec.schedule)(settings);
        if !schedule.enabled {
            continue;
        }
        let s = settings.clone();
        let build = spec.build;
        out.push(Arc::new(Factory {
            name: spec.name.into(),
            lane: spec.lane,
            scope: spec.scope,
            schedule,
            targets: Vec::new(),
            databases: Vec::new(),
            app: false,
            fingerprint: hash_debug(&(
                spec.name,
                settings.collectors.section_text(spec.name),
                inputs,
                (spec.name == crate::collector::migrations::NAME).then(|| &settings.migrations),
            )),
            build: Box::new(move || build(&s)),
        }));
    }
    for c in &settings.app_collectors {
        let name: Arc<str> = format!("app:{}", c.name).into();
        let cfg = Arc::new(c.clone());
        out.push(Arc::new(Factory {
            name: name.clone(),
            lane: Lane::Slow,
            scope: Scope::Database,
            schedule: Schedule {
                enabled: true,
                interval: c.interval,
                timeout: c.timeout,
            },
            targets: c.targets.clone(),
            databases: c.databases.clone(),
            app: true,
            fingerprint: hash_debug(c),
            build: Box::new(move || {
                Box::new(crate::app::collector::AppRuntime::new(
                    cfg.clone(),
                    name.clone(),
                ))
            }),
        }));
    }
    out
}

/// One collector instance: a collector in one database of one target.
struct Entry {
    factory: Arc<Factory>,
    datname: String,
    collector: Box<dyn Collector>,
    next: Instant,
    failing: bool,
}

impl Entry {
    fn key(&self, ti: usize) -> Key {
        (ti, self.factory.name.clone(), self.datname.clone())
    }
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

/// A pid in the own-pid list for as long as this lives.
struct OwnPid<'a>(&'a OwnPids, i32);

impl<'a> OwnPid<'a> {
    fn new(own: &'a OwnPids, pid: i32) -> OwnPid<'a> {
        own.add(pid);
        OwnPid(own, pid)
    }
}

impl Drop for OwnPid<'_> {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// Per-target lane connection states, for `pgmig_up`.
#[derive(Default)]
struct LaneStates(Mutex<BTreeMap<Lane, bool>>);

/// What the lanes of one target share.
#[derive(Default)]
pub(crate) struct TargetShared {
    own: OwnPids,
    lanes: LaneStates,
}

fn applies_to_target(f: &Factory, target: &str) -> bool {
    f.targets.is_empty() || f.targets.iter().any(|t| t == target)
}

fn new_entry(f: &Arc<Factory>, datname: &str) -> Entry {
    Entry {
        factory: f.clone(),
        datname: datname.to_string(),
        collector: (f.build)(),
        next: Instant::now(),
        failing: false,
    }
}

/// What one lane of one target runs: the settings (the target is
/// `settings.targets[tidx]`) and the lane's factories that apply to it, in
/// registry order. A reload sends the lane a new plan.
pub(crate) struct LanePlan {
    pub settings: Arc<Settings>,
    pub tidx: usize,
    pub factories: Vec<Arc<Factory>>,
}

impl LanePlan {
    fn target(&self) -> &TargetSettings {
        &self.settings.targets[self.tidx]
    }

    /// The sessions' statement_timeout: the lane's largest collector
    /// timeout, capped by the session setting.
    pub fn statement_timeout(&self) -> Duration {
        let cap = self.settings.session.statement_timeout;
        self.factories
            .iter()
            .map(|f| f.schedule.timeout)
            .max()
            .unwrap_or(cap)
            .min(cap)
    }
}

/// The instances of one factory on a target: server-wide ones in the
/// target's own database, per-database ones in each of their databases.
fn entries_for(f: &Arc<Factory>, t: &TargetSettings) -> Vec<Entry> {
    let main = t.main_database();
    let mut dbs = vec![main.clone()];
    for d in &t.databases {
        if !dbs.contains(d) {
            dbs.push(d.clone());
        }
    }
    match (f.scope, f.databases.is_empty(), f.app) {
        (Scope::Server, _, _) | (Scope::Database, true, true) => vec![new_entry(f, &main)],
        (Scope::Database, true, false) => dbs.iter().map(|d| new_entry(f, d)).collect(),
        (Scope::Database, false, _) => f.databases.iter().map(|d| new_entry(f, d)).collect(),
    }
}

/// The collector instances of one lane.
fn build_lane(plan: &LanePlan) -> Vec<Entry> {
    plan.factories
        .iter()
        .flat_map(|f| entries_for(f, plan.target()))
        .collect()
}

/// Aborts a task when dropped: a lane task dropped by a reload (or whose
/// supervisor was aborted) stops, and its connection closes with it.
pub(crate) struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a lane and restarts it should it ever panic: a bug in one collector
/// must not silently stop a target from being watched.
pub(crate) async fn supervise(
    mut plans: tokio::sync::watch::Receiver<Arc<LanePlan>>,
    state: Arc<State>,
    ti: usize,
    lane: Lane,
    shared: Arc<TargetShared>,
) {
    loop {
        let plan = plans.borrow_and_update().clone();
        let entries = build_lane(&plan);
        let keys: Vec<Key> = entries.iter().map(|e| e.key(ti)).collect();
        let mut task = AbortOnDrop(tokio::spawn(
            LaneTask::new(
                plan.clone(),
                plans.clone(),
                state.clone(),
                ti,
                lane,
                entries,
                shared.clone(),
            )
            .run(),
        ));
        match (&mut task.0).await {
            Err(e) if e.is_panic() => {
                let tname = &plan.target().name;
                tracing::error!(target = %tname, lane = ?lane, "poll task panicked; restarting it in 1s");
                for k in keys {
                    state.remove(&k);
                    state
                        .metrics
                        .collector_success
                        .with_label_values(&[tname, &*k.1, &k.2])
                        .set(0.0);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ => return,
        }
    }
}

/// Resolves when the plan changes; never when its sender is gone (the
/// lane is being dropped then).
async fn plan_changed(plans: &mut tokio::sync::watch::Receiver<Arc<LanePlan>>) {
    if plans.changed().await.is_err() {
        std::future::pending::<()>().await;
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

/// The window evidence a run reported, merged; None when it reported none.
fn window_evidence(observations: &[Observation]) -> Option<WindowEvidence> {
    let mut out: Option<WindowEvidence> = None;
    for o in observations {
        if let Observation::Window(e) = o {
            out.get_or_insert_with(WindowEvidence::default).merge(e);
        }
    }
    out
}

/// Turns what a collector run saw into self-metrics.
fn record(m: &SelfMetrics, target: &str, observations: Vec<Observation>) {
    for o in observations {
        match o {
            Observation::LockWaitsEnded(waits) => {
                let hist = m.lock_wait.with_label_values(&[target]);
                for d in waits {
                    hist.observe(d);
                }
            }
            // Kept with the run's snapshot instead (see `window_evidence`).
            Observation::Window(_) => {}
            Observation::ProbeRoundTrip(secs) => {
                m.probe.with_label_values(&[target]).observe(secs);
            }
            Observation::AppValueProblem {
                collector,
                metric,
                reason,
            } => m
                .app_value_errors
                .with_label_values(&[target, &collector, &metric, reason])
                .inc(),
        }
    }
}

/// Drops an entry's series and marks it failed.
fn fail_entry(state: &State, ti: usize, tname: &str, e: &mut Entry) {
    state.remove(&e.key(ti));
    state
        .metrics
        .collector_success
        .with_label_values(&[tname, &e.factory.name, &e.datname])
        .set(0.0);
    e.collector.reset();
}

/// Publishes a successful run's snapshot (and window sources) and marks the
/// instance healthy.
fn succeeded(
    state: &State,
    ti: usize,
    tname: &str,
    e: &mut Entry,
    output: crate::collector::Output,
    evidence: Option<WindowEvidence>,
) {
    let m = &state.metrics;
    let labels = [tname, &*e.factory.name, e.datname.as_str()];
    state.put_observed(e.key(ti), output.families, evidence);
    m.collector_success.with_label_values(&labels).set(1.0);
    m.collector_last_success
        .with_label_values(&labels)
        .set(unix_now());
    m.collector_series_dropped
        .with_label_values(&labels)
        .set(output.dropped as f64);
    if e.failing {
        tracing::info!(target = tname, collector = %e.factory.name, datname = %e.datname, "collector recovered");
        e.failing = false;
    }
}

/// Runs one due collector instance on a session. Returns true when the
/// session turned out to be lost.
async fn run_entry(
    state: &State,
    ti: usize,
    tname: &str,
    e: &mut Entry,
    session: &db::Session,
    own: &OwnPids,
) -> bool {
    let m = &state.metrics;
    let factory = e.factory.clone();
    let name = &*factory.name;
    let labels = [tname, name, e.datname.as_str()];
    let mut lost = false;
    if session.server_version_num < e.collector.min_server_version() {
        if !e.failing {
            tracing::warn!(target = tname, collector = name, datname = %e.datname,
                server_version = session.server_version_num, min = e.collector.min_server_version(),
                "collector does not support this server version; skipped");
            e.failing = true;
        }
        m.collector_success.with_label_values(&labels).set(0.0);
    } else {
        let pids = own.get();
        let observations = Observations::default();
        let ctx = Ctx {
            client: &session.client,
            statements: &session.statements,
            target: tname,
            datname: &e.datname,
            server_version_num: session.server_version_num,
            own_pids: &pids,
            observations: &observations,
        };
        let started = Instant::now();
        let result =
            tokio::time::timeout(e.factory.schedule.timeout, e.collector.collect(&ctx)).await;
        m.collector_duration
            .with_label_values(&labels)
            .observe(started.elapsed().as_secs_f64());
        let observations = observations.take();
        let evidence = window_evidence(&observations);
        record(m, tname, observations);
        match result {
            Ok(Ok(output)) => succeeded(state, ti, tname, e, output, evidence),
            Ok(Err(err)) => {
                fail_entry(state, ti, tname, e);
                m.collector_errors
                    .with_label_values(&[tname, name, &e.datname, "error"])
                    .inc();
                if !e.failing {
                    tracing::warn!(target = tname, collector = name, datname = %e.datname, error = %err, "collector failed");
                } else {
                    tracing::debug!(target = tname, collector = name, datname = %e.datname, error = %err, "collector still failing");
                }
                e.failing = true;
                lost = err.connection_lost();
            }
            Err(_) => {
                session.cancel_running_query();
                fail_entry(state, ti, tname, e);
                m.collector_errors
                    .with_label_values(&[tname, name, &e.datname, "timeout"])
                    .inc();
                tracing::warn!(target = tname, collector = name, datname = %e.datname, timeout = ?e.factory.schedule.timeout,
                    "collector timed out; its query was cancelled on the server");
                e.failing = true;
                // SELECT 1 unanswered: the server hangs; drop the session so
                // that up goes to 0 and the lane reconnects (bounded).
                if name == crate::collector::probe::NAME {
                    state.probe_timed_out(ti, e.factory.schedule.timeout);
                    lost = true;
                }
            }
        }
    }
    let after = Instant::now();
    e.next += e.factory.schedule.interval;
    if e.next <= after {
        e.next = after + e.factory.schedule.interval;
    }
    lost || session.is_closed()
}

const DISCOVER_SQL: &str = "SELECT datname FROM pg_catalog.pg_database \
     WHERE datallowconn AND NOT datistemplate ORDER BY datname";

/// One lane of one target: its schedule (the collector instances and when
/// each is due), its connection, and the bookkeeping of reconnects and
/// database discovery. [`LaneTask::run`] is the poll loop.
struct LaneTask {
    settings: Arc<Settings>,
    /// The target's index in `settings.targets`.
    tidx: usize,
    plans: tokio::sync::watch::Receiver<Arc<LanePlan>>,
    state: Arc<State>,
    shared: Arc<TargetShared>,
    /// The target's slot in the state.
    ti: usize,
    lane: Lane,
    main_db: String,
    entries: Vec<Entry>,
    /// The factories of this lane, for entries discovery adds.
    factories: Vec<Arc<Factory>>,
    statement_timeout: Duration,
    discover: bool,
    next_discovery: Instant,
    backoff: Duration,
    seed: u64,
    last_connect_error: Option<String>,
    session: Option<db::Session>,
    failed_dbs: BTreeSet<String>,
}

/// A lane dropped by a reload takes its session with it (the connection
/// closes); its backend pid must not stay in the target's own-pid list,
/// where a later session of someone else with that pid would be hidden.
impl Drop for LaneTask {
    fn drop(&mut self) {
        if let Some(s) = &self.session {
            self.shared.own.remove(s.backend_pid);
        }
    }
}

/// Per-database collectors with no database list of their own follow discovery.
fn discoverable(f: &Factory) -> bool {
    f.scope == Scope::Database && !f.app && f.databases.is_empty()
}

/// The self-metrics of a collector instance exist from the start: success
/// at 0, and the error counters at 0 so that rate() sees the first error.
fn init_entry_metrics(m: &SelfMetrics, tname: &str, e: &Entry) {
    m.collector_success
        .with_label_values(&[tname, &e.factory.name, &e.datname])
        .set(0.0);
    for kind in ["error", "timeout"] {
        m.collector_errors
            .with_label_values(&[tname, &e.factory.name, &e.datname, kind]);
    }
}

impl LaneTask {
    fn new(
        plan: Arc<LanePlan>,
        plans: tokio::sync::watch::Receiver<Arc<LanePlan>>,
        state: Arc<State>,
        ti: usize,
        lane: Lane,
        entries: Vec<Entry>,
        shared: Arc<TargetShared>,
    ) -> LaneTask {
        let target = plan.target();
        let statement_timeout = plan.statement_timeout();
        let discover = target.discover_databases && plan.factories.iter().any(|f| discoverable(f));
        let m = &state.metrics;
        let tname = target.name.as_str();
        for e in &entries {
            init_entry_metrics(m, tname, e);
        }
        m.up.with_label_values(&[tname]).set(0.0);
        m.connections.with_label_values(&[tname]).set(0.0);
        m.connect_errors.with_label_values(&[tname]);
        let seed =
            ((ti as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (unix_now() * 1e6) as u64) | 1;
        let main_db = target.main_database();
        LaneTask {
            main_db,
            settings: plan.settings.clone(),
            tidx: plan.tidx,
            plans,
            state,
            shared,
            ti,
            lane,
            entries,
            factories: plan.factories.clone(),
            statement_timeout,
            discover,
            next_discovery: Instant::now(),
            backoff: Duration::from_millis(500),
            seed,
            last_connect_error: None,
            session: None,
            failed_dbs: BTreeSet::new(),
        }
    }

    /// Takes a reloaded plan on the same connection: instances whose
    /// factory did not change stay (with their state and schedule), those
    /// of removed or changed factories go with their series, new ones are
    /// added and run at once.
    fn reconcile(&mut self) {
        let plan = self.plans.borrow_and_update().clone();
        self.settings = plan.settings.clone();
        self.tidx = plan.tidx;
        let tname = plan.target().name.clone();
        let same = |a: &Factory, b: &Factory| a.name == b.name && a.fingerprint == b.fingerprint;
        let (state, ti) = (&self.state, self.ti);
        self.entries.retain_mut(|e| {
            match plan.factories.iter().find(|f| same(f, &e.factory)) {
                Some(f) => e.factory = f.clone(),
                None => {
                    state.remove(&e.key(ti));
                    state
                        .metrics
                        .forget_collector(&tname, &e.factory.name, &e.datname);
                    return false;
                }
            }
            true
        });
        for f in &plan.factories {
            if !self.entries.iter().any(|e| e.factory.name == f.name) {
                for e in entries_for(f, plan.target()) {
                    init_entry_metrics(&state.metrics, &tname, &e);
                    self.entries.push(e);
                }
            }
        }
        let order = |e: &Entry| plan.factories.iter().position(|f| f.name == e.factory.name);
        self.entries.sort_by_key(order);
        self.factories = plan.factories.clone();
        self.discover =
            plan.target().discover_databases && self.factories.iter().any(|f| discoverable(f));
        self.next_discovery = Instant::now();
        tracing::info!(target = %tname, lane = ?self.lane, instances = self.entries.len(), "collectors reloaded");
    }

    fn target(&self) -> &TargetSettings {
        &self.settings.targets[self.tidx]
    }

    /// Marks this lane up or down; returns whether every lane of the target is up.
    fn set_lane(&self, up: bool) -> bool {
        let m = &self.state.metrics;
        let tname = self.target().name.as_str();
        let mut l = self.shared.lanes.0.lock().expect("lanes");
        l.insert(self.lane, up);
        let all_up = l.values().all(|v| *v);
        let open = l.values().filter(|v| **v).count();
        m.up.with_label_values(&[tname])
            .set(if all_up { 1.0 } else { 0.0 });
        m.connections.with_label_values(&[tname]).set(open as f64);
        all_up
    }

    /// The poll loop: connect, discover, run what is due, sleep until the next.
    async fn run(mut self) {
        loop {
            if self.plans.has_changed().unwrap_or(false) {
                self.reconcile();
            }
            if self.session.is_none() && !self.connect().await {
                continue;
            }
            self.discover_databases().await;
            let lost = self.run_due().await;
            self.state
                .update_status(self.ti, |st| st.polled_once = true);
            if lost {
                self.lose_session();
                continue;
            }
            let next = self
                .entries
                .iter()
                .map(|e| e.next)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            // `changed()` marks the plan seen: reconcile here, not at the top.
            tokio::select! {
                _ = tokio::time::sleep_until(next.into()) => {}
                _ = plan_changed(&mut self.plans) => self.reconcile(),
            }
        }
    }

    /// Opens the lane's session. On failure, fails every entry, waits out the
    /// backoff and returns false.
    async fn connect(&mut self) -> bool {
        let target = &self.settings.targets[self.tidx];
        let (tname, lane) = (target.name.as_str(), self.lane);
        let m = &self.state.metrics;
        match db::connect(target, None, &self.settings.session, self.statement_timeout).await {
            Ok(s) => {
                tracing::info!(target = tname, lane = ?lane, server_version = %s.server_version,
                    backend_pid = s.backend_pid, role = %s.role, "connected");
                if !s.can_monitor && lane == Lane::Fast {
                    tracing::warn!(target = tname, role = %s.role,
                        "the role is neither superuser nor a member of pg_monitor: other users' sessions show state none and no query, \
                         and pg_stat_statements rows of other users have no query text; GRANT pg_monitor TO the role");
                }
                self.shared.own.add(s.backend_pid);
                m.server_version
                    .with_label_values(&[tname])
                    .set(s.server_version_num as f64);
                let up = self.set_lane(true);
                let version = s.server_version.clone();
                self.state.update_status(self.ti, |st| {
                    st.up = up;
                    st.server_version = Some(version);
                    st.last_error = None;
                    st.unresponsive = None;
                });
                self.last_connect_error = None;
                self.backoff = Duration::from_millis(500);
                let now = Instant::now();
                for e in &mut self.entries {
                    e.next = now;
                }
                self.session = Some(s);
                true
            }
            Err(err) => {
                let msg = err.to_string();
                if self.last_connect_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(target = tname, lane = ?lane, error = %msg,
                        retry_in = ?self.backoff, "cannot connect; retrying with backoff");
                } else {
                    tracing::debug!(target = tname, lane = ?lane, error = %msg, "still cannot connect");
                }
                self.last_connect_error = Some(msg.clone());
                m.connect_errors.with_label_values(&[tname]).inc();
                self.set_lane(false);
                for e in &mut self.entries {
                    fail_entry(&self.state, self.ti, tname, e);
                }
                self.state.update_status(self.ti, |st| {
                    st.polled_once = true;
                    st.up = false;
                    st.last_error = Some(msg);
                });
                let wait = self.backoff.mul_f64(0.75 + 0.5 * jitter(&mut self.seed));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = plan_changed(&mut self.plans) => self.reconcile(),
                }
                self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
                false
            }
        }
    }

    /// Every 60 s when discovery is on: entries for new databases, and none
    /// (nor their series) for vanished ones.
    async fn discover_databases(&mut self) {
        if !self.discover || Instant::now() < self.next_discovery {
            return;
        }
        self.next_discovery = Instant::now() + Duration::from_secs(60);
        let target = &self.settings.targets[self.tidx];
        let s = self.session.as_ref().expect("session just ensured");
        let rows = match s.client.query(DISCOVER_SQL, &[]).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(target = %target.name, error = %db::error_text(&err), "database discovery failed");
                return;
            }
        };
        let found: BTreeSet<String> = rows
            .iter()
            .filter_map(|r| {
                r.try_get::<_, crate::collector::LossyText>(0)
                    .ok()
                    .map(|t| t.0)
            })
            .filter(|d| !target.exclude_databases.contains(d))
            .collect();
        let listed: BTreeSet<String> = std::iter::once(self.main_db.clone())
            .chain(target.databases.iter().cloned())
            .collect();
        let (state, ti) = (&self.state, self.ti);
        self.entries.retain_mut(|e| {
            let keep = e.factory.scope == Scope::Server
                || e.factory.app
                || !e.factory.databases.is_empty()
                || listed.contains(&e.datname)
                || found.contains(&e.datname);
            if !keep {
                state.remove(&e.key(ti));
            }
            keep
        });
        for d in &found {
            for f in self.factories.iter().filter(|f| discoverable(f)) {
                if !self
                    .entries
                    .iter()
                    .any(|e| e.factory.name == f.name && &e.datname == d)
                {
                    let e = new_entry(f, d);
                    init_entry_metrics(&self.state.metrics, &target.name, &e);
                    self.entries.push(e);
                }
            }
        }
    }

    /// Runs the due entries: those in the target's own database on the lane's
    /// session, then the others. Returns true when the session was lost.
    async fn run_due(&mut self) -> bool {
        let now = Instant::now();
        let tname = self.settings.targets[self.tidx].name.as_str();
        let s = self.session.as_ref().expect("session just ensured");
        for e in self
            .entries
            .iter_mut()
            .filter(|e| e.next <= now && e.datname == self.main_db)
        {
            if run_entry(&self.state, self.ti, tname, e, s, &self.shared.own).await {
                return true;
            }
        }
        self.visit_other_databases(now).await;
        false
    }

    /// Per-database collectors elsewhere: one database at a time, each on a
    /// connection opened for the visit and closed after it.
    async fn visit_other_databases(&mut self, now: Instant) {
        let target = &self.settings.targets[self.tidx];
        let tname = target.name.as_str();
        let other_dbs: BTreeSet<String> = self
            .entries
            .iter()
            .filter(|e| e.next <= now && e.datname != self.main_db)
            .map(|e| e.datname.clone())
            .collect();
        for d in other_dbs {
            let due = |e: &&mut Entry| e.next <= now && e.datname == d;
            match db::connect(
                target,
                Some(&d),
                &self.settings.session,
                self.statement_timeout,
            )
            .await
            {
                Ok(visit) => {
                    if self.failed_dbs.remove(&d) {
                        tracing::info!(target = tname, datname = %d, "database reachable again");
                    }
                    // Removed on drop: also when a reload drops the lane mid-visit.
                    let _own = OwnPid::new(&self.shared.own, visit.backend_pid);
                    for e in self.entries.iter_mut().filter(due) {
                        if run_entry(&self.state, self.ti, tname, e, &visit, &self.shared.own).await
                        {
                            break;
                        }
                    }
                }
                Err(err) => {
                    if self.failed_dbs.insert(d.clone()) {
                        tracing::warn!(target = tname, datname = %d, error = %err, "cannot connect to database");
                    }
                    for e in self.entries.iter_mut().filter(due) {
                        fail_entry(&self.state, self.ti, tname, e);
                        self.state
                            .metrics
                            .collector_errors
                            .with_label_values(&[tname, &e.factory.name, &e.datname, "error"])
                            .inc();
                        e.next = Instant::now() + e.factory.schedule.interval;
                    }
                }
            }
        }
    }

    /// The session broke: drop it, fail every entry, mark the lane down.
    fn lose_session(&mut self) {
        let s = self.session.take().expect("session");
        let tname = self.settings.targets[self.tidx].name.as_str();
        tracing::warn!(target = tname, lane = ?self.lane, "connection lost; reconnecting");
        self.shared.own.remove(s.backend_pid);
        drop(s);
        let up = self.set_lane(false);
        for e in &mut self.entries {
            fail_entry(&self.state, self.ti, tname, e);
        }
        self.state.update_status(self.ti, |st| {
            st.up = up;
            st.last_error = Some("connection lost".into());
        });
    }
}
