//! Collector `locks`: who is blocked, by whom, for how long, and which
//! relations have a lock queue.
//!
//! Every poll starts with a cheap gate: the pids of the backends waiting on
//! a heavyweight lock, read through `pg_stat_get_backend_idset()` and
//! `pg_stat_get_backend_wait_event_type()` (no `pg_stat_activity` row is
//! built, no `pg_locks` is read; under 1 ms at 1,000 backends, where
//! `pg_locks` costs 14-50 ms). `pg_locks` is read (only ungranted locks and
//! granted AccessExclusiveLocks on relations, with `pg_database`,
//! `pg_class`, `pg_namespace` for names and `pg_blocking_pids()` only for the
//! waiting backends) when the set of waiting pids differs from the last
//! read's, or when that read is [`FULL_READ_EVERY`] old. Otherwise the last
//! read's rows are served again with the current time: the same backends
//! still wait, so their lock, relation and chain are those already read.
//! A new lock queue is therefore seen on the first poll after it forms, and
//! nobody waiting costs no `pg_locks` read. While an AccessExclusiveLock is
//! held with nobody queued behind it (a migration's DDL in flight),
//! `pg_locks` is read on every poll, so that its release is seen at once. The blocking
//! roots' sessions (state, transaction age) are read on every poll that has
//! any, one `pg_stat_get_activity(pid)` per root. PostgreSQL 13+;
//! `pg_locks.waitstart` is used on 14+. Needs `pg_monitor` to see other
//! users' sessions.
//!
//! Wait start: on 14+, `pg_locks.waitstart`; it is NULL for the first
//! `deadlock_timeout` of a wait, when the poll's own time is taken (the
//! earliest value seen for a wait is kept). On 13, the blocked statement's
//! `query_start` (an overestimate when the statement ran before it blocked).
//!
//! `pgmig_lock_wait_seconds` observes a wait when a later poll no longer sees
//! it (the backend got its lock, gave up, or ended): the value is from the
//! wait's start to that poll, so it is accurate to one poll interval. Waits
//! shorter than a poll interval may go unseen. When a poll fails, the waits
//! in progress are forgotten rather than observed with a made-up end.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_blocked_backends` | gauge | target |
//! | `pgmig_blocked_backend_wait_seconds` | gauge | target, pid, blocking_root_pid, datname, usename, application_name, locktype, mode, relation |
//! | `pgmig_blocked_backend_chain_depth` | gauge | target, pid, blocking_root_pid |
//! | `pgmig_blocking_root_blocked_backends` | gauge | target, pid, datname, usename, application_name, state |
//! | `pgmig_blocking_root_transaction_seconds` | gauge | target, pid |
//! | `pgmig_lock_queue_length` | gauge | target, datname, relation |
//! | `pgmig_lock_access_exclusive` | gauge | target, datname, relation, status (held, waiting) |
//! | `pgmig_lock_oldest_wait_seconds` | gauge | target |
//! | `pgmig_lock_wait_seconds` | histogram | target |

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::{
    col, CollectError, CollectFuture, Collector, Ctx, Lane, Observation, Output, Scope, Spec,
    WindowEvidence,
};
use crate::catalogue::entry::{Kind, Metric, Section};

pub const NAME: &str = "locks";

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "who is blocked, by whom and for how long; lock queues per relation (pg_locks)",
    lane: Lane::Fast,
    scope: Scope::Server,
    schedule: |s| s.collectors.locks.schedule,
    build: |s| {
        Box::new(Locks {
            max_blocked: s.collectors.locks.max_blocked_series,
            max_relations: s.collectors.locks.max_relations,
            waits: HashMap::new(),
            last: None,
        })
    },
    catalogue: &CATALOGUE,
};

/// The longest the last `pg_locks` read is served again while the set of
/// waiting backends does not change (and the longest a held
/// AccessExclusiveLock with no queue behind it may go unseen).
pub const FULL_READ_EVERY: Duration = Duration::from_secs(30);

/// The gate: the pids of the backends waiting on a heavyweight lock, and the
/// server's clock. Reads the backend status array only, not `pg_locks`.
const WAITING_SQL: &str = "\
SELECT extract(epoch FROM now())::float8 AS now, \
       coalesce(array_agg(w.pid ORDER BY w.pid), '{}') AS waiting \
FROM (SELECT pg_catalog.pg_stat_get_backend_pid(b) AS pid \
      FROM pg_catalog.pg_stat_get_backend_idset() b \
      WHERE pg_catalog.pg_stat_get_backend_wait_event_type(b) = 'Lock') w \
WHERE w.pid <> ALL($1)";

fn locks_sql(server_version_num: i32) -> String {
    let (waitstart_col, start_expr) = if server_version_num >= 140000 {
        ("waitstart", "coalesce(l.waitstart, now())")
    } else {
        (
            "NULL::timestamptz AS waitstart",
            "coalesce(a.query_start, now())",
        )
    };
    format!(
        "WITH l AS (\
           SELECT locktype, database, relation, pid, mode, granted, {waitstart_col} \
           FROM pg_catalog.pg_locks \
           WHERE (pid IS NULL OR pid <> ALL($1)) \
             AND (NOT granted OR (locktype = 'relation' AND mode = 'AccessExclusiveLock'))) \
         SELECT coalesce(l.pid, 0) AS pid, l.granted, l.locktype, l.mode, \
                coalesce(d.datname, '') AS lock_datname, \
                CASE WHEN l.relation IS NULL THEN '' \
                     WHEN c.oid IS NOT NULL THEN n.nspname || '.' || c.relname \
                     ELSE 'oid:' || l.relation::text END AS relation, \
                coalesce(ad.datname, '') AS datname, coalesce(ar.rolname, '') AS usename, \
                coalesce(a.application_name, '') AS application_name, \
                extract(epoch FROM {start_expr})::float8 AS wait_start, \
                extract(epoch FROM now())::float8 AS now, \
                CASE WHEN NOT l.granted THEN pg_catalog.pg_blocking_pids(l.pid) END AS blockers \
         FROM l \
         LEFT JOIN LATERAL pg_catalog.pg_stat_get_activity(coalesce(l.pid, 0)) a ON true \
         LEFT JOIN pg_catalog.pg_database ad ON ad.oid = a.datid \
         LEFT JOIN pg_catalog.pg_roles ar ON ar.oid = a.usesysid \
         LEFT JOIN pg_catalog.pg_database d ON d.oid = l.database \
         LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation \
              AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) \
         LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    )
}

/// The roots' sessions, one `pg_stat_get_activity(pid)` each: the view
/// `pg_stat_activity` would build a row for every backend (5-10 ms at 1,000).
const ROOTS_SQL: &str = "\
SELECT s.pid, coalesce(d.datname, '') AS datname, coalesce(r.rolname, '') AS usename, \
       coalesce(s.application_name, '') AS application_name, coalesce(s.state, '') AS state, \
       coalesce(extract(epoch FROM now() - s.xact_start), 0)::float8 AS xact_seconds \
FROM pg_catalog.unnest($1::int4[]) p(pid) \
CROSS JOIN LATERAL pg_catalog.pg_stat_get_activity(p.pid) s \
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.datid \
LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.usesysid";

/// One row of the locks query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LockRow {
    /// 0 for a prepared transaction.
    pub pid: i32,
    pub granted: bool,
    pub locktype: String,
    pub mode: String,
    pub lock_datname: String,
    pub relation: String,
    pub datname: String,
    pub usename: String,
    pub application_name: String,
    pub wait_start: f64,
    pub now: f64,
    pub blockers: Option<Vec<i32>>,
}

/// A backend waiting on a lock, with its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub row: LockRow,
    pub root: i32,
    pub depth: usize,
    pub wait_seconds: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelationQueue {
    pub waiting: usize,
    pub ael_held: bool,
    pub ael_waiting: bool,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub blocked: Vec<Blocked>,
    /// Root pid -> number of backends it blocks, directly or through others.
    pub roots: BTreeMap<i32, usize>,
    /// (database, relation) -> queue.
    pub relations: BTreeMap<(String, String), RelationQueue>,
    pub now: f64,
}

/// Works out chains, roots and queues from the rows of one poll.
pub fn analyse(rows: &[LockRow]) -> Analysis {
    let waiting: HashMap<i32, &LockRow> = rows
        .iter()
        .filter(|r| !r.granted)
        .map(|r| (r.pid, r))
        .collect();
    let mut a = Analysis {
        now: rows.first().map(|r| r.now).unwrap_or(0.0),
        ..Default::default()
    };
    let mut memo: HashMap<i32, (usize, i32)> = HashMap::new();
    for r in rows.iter().filter(|r| !r.granted) {
        let (depth, root) = chain(r.pid, &waiting, &mut memo, &mut HashSet::new());
        a.blocked.push(Blocked {
            row: r.clone(),
            root,
            depth,
            wait_seconds: (r.now - r.wait_start).max(0.0),
        });
    }
    // Every root counts every backend it blocks, directly or through a chain.
    let mut roots_memo: HashMap<i32, BTreeSet<i32>> = HashMap::new();
    for b in &a.blocked {
        let roots = roots_of(b.row.pid, &waiting, &mut roots_memo, &mut HashSet::new());
        for root in roots {
            *a.roots.entry(root).or_default() += 1;
        }
    }
    for r in rows.iter().filter(|r| r.locktype == "relation") {
        let q = a
            .relations
            .entry((r.lock_datname.clone(), r.relation.clone()))
            .or_default();
        if !r.granted {
            q.waiting += 1;
        }
        if r.mode == "AccessExclusiveLock" {
            if r.granted {
                q.ael_held = true;
            } else {
                q.ael_waiting = true;
            }
        }
    }
    a.blocked.sort_by(|x, y| {
        y.wait_seconds
            .total_cmp(&x.wait_seconds)
            .then(x.row.pid.cmp(&y.row.pid))
    });
    a
}

/// (longest chain length to a backend that is not waiting, that backend's pid).
/// Among several roots the smallest pid is named; a cycle (a deadlock not yet
/// detected) is its own root, named by its smallest pid.
fn chain(
    pid: i32,
    waiting: &HashMap<i32, &LockRow>,
    memo: &mut HashMap<i32, (usize, i32)>,
    on_path: &mut HashSet<i32>,
) -> (usize, i32) {
    if let Some(v) = memo.get(&pid) {
        return *v;
    }
    let Some(row) = waiting.get(&pid) else {
        return (0, pid);
    };
    if !on_path.insert(pid) {
        let cycle_root = on_path.iter().copied().min().unwrap_or(pid);
        return (0, cycle_root);
    }
    let mut best: Option<(usize, i32)> = None;
    for &b in row.blockers.as_deref().unwrap_or(&[]) {
        let (d, root) = chain(b, waiting, memo, on_path);
        let cand = (d + 1, root);
        best = Some(match best {
            None => cand,
            Some(cur) => (cur.0.max(cand.0), cur.1.min(cand.1)),
        });
    }
    on_path.remove(&pid);
    // Waiting with no blocker reported: the lock was just released.
    let v = best.unwrap_or((0, pid));
    memo.insert(pid, v);
    v
}

/// The blocking roots reachable from `pid`, memoised so that a long chain is
/// walked once, not once per member.
fn roots_of(
    pid: i32,
    waiting: &HashMap<i32, &LockRow>,
    memo: &mut HashMap<i32, BTreeSet<i32>>,
    on_path: &mut HashSet<i32>,
) -> BTreeSet<i32> {
    if let Some(r) = memo.get(&pid) {
        return r.clone();
    }
    let Some(row) = waiting.get(&pid) else {
        return BTreeSet::from([pid]);
    };
    if !on_path.insert(pid) {
        // A cycle (an undetected deadlock): its members have no root beyond it.
        return BTreeSet::new();
    }
    let mut out = BTreeSet::new();
    for &b in row.blockers.as_deref().unwrap_or(&[]) {
        out.extend(roots_of(b, waiting, memo, on_path));
    }
    on_path.remove(&pid);
    if out.is_empty() {
        // Waiting with no blocker outside a cycle: name the backend itself,
        // as chain() does.
        out.insert(chain_root_of_cycle(pid, waiting));
    }
    memo.insert(pid, out.clone());
    out
}

/// The smallest pid of the cycle (or lone waiter) `pid` belongs to.
fn chain_root_of_cycle(pid: i32, waiting: &HashMap<i32, &LockRow>) -> i32 {
    let mut seen = HashSet::new();
    let mut stack = vec![pid];
    let mut min = pid;
    while let Some(p) = stack.pop() {
        if !seen.insert(p) {
            continue;
        }
        min = min.min(p);
        if let Some(r) = waiting.get(&p) {
            stack.extend(
                r.blockers
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .filter(|b| waiting.contains_key(b)),
            );
        }
    }
    min
}

/// The order in which blocked backends get their per-pid series, under
/// `max_blocked_series`: waiters for an AccessExclusiveLock (a migration's
/// DDL, which the alerts name) first, then the rest, each longest wait
/// first. Without it, a DDL queued behind a server with more standing waits
/// than the bound was the one left out (the shortest wait).
fn series_order(blocked: &[Blocked]) -> Vec<&Blocked> {
    let mut shown: Vec<&Blocked> = blocked.iter().collect();
    shown.sort_by_key(|b| b.row.mode != "AccessExclusiveLock");
    shown
}

/// A wait being followed across polls, for the histogram.
#[derive(Debug, Clone, PartialEq)]
struct Wait {
    key: String,
    start: f64,
}

/// Updates the waits followed across polls and returns the durations of the
/// waits that ended since the last poll.
fn track_waits(state: &mut HashMap<i32, Wait>, blocked: &[Blocked], now: f64) -> Vec<f64> {
    let mut ended = Vec::new();
    let mut current: HashMap<i32, Wait> = HashMap::with_capacity(blocked.len());
    for b in blocked {
        let key = format!(
            "{}/{}/{}/{}",
            b.row.locktype, b.row.lock_datname, b.row.relation, b.row.mode
        );
        let start = match state.get(&b.row.pid) {
            Some(w) if w.key == key => w.start.min(b.row.wait_start),
            Some(w) => {
                ended.push((now - w.start).max(0.0));
                b.row.wait_start
            }
            None => b.row.wait_start,
        };
        current.insert(b.row.pid, Wait { key, start });
    }
    for (pid, w) in state.iter() {
        if !current.contains_key(pid) {
            ended.push((now - w.start).max(0.0));
        }
    }
    *state = current;
    ended
}

struct Locks {
    max_blocked: usize,
    max_relations: usize,
    waits: HashMap<i32, Wait>,
    last: Option<LastRead>,
}

/// The last `pg_locks` read: its rows, the waiting pids it saw, and when.
struct LastRead {
    rows: Vec<LockRow>,
    waiting: Vec<i32>,
    at: Instant,
}

/// Whether the last read still describes the waits the gate sees: the same
/// backends wait (sorted pids) and the read is recent enough.
/// An AccessExclusiveLock held with nobody queued behind it (a migration's
/// DDL in flight) could be released without the waiting set changing, so
/// it is read again on every poll: the window must see it end.
fn last_read_holds(last: Option<&LastRead>, waiting: &[i32], now: Instant) -> bool {
    last.is_some_and(|l| {
        l.waiting == waiting
            && now.duration_since(l.at) < FULL_READ_EVERY
            && l.rows.iter().filter(|h| h.granted).all(|h| {
                l.rows.iter().any(|w| {
                    !w.granted && w.lock_datname == h.lock_datname && w.relation == h.relation
                })
            })
    })
}

/// The last read's rows at the gate's time `now`.
fn served_again(rows: &[LockRow], now: f64) -> Vec<LockRow> {
    rows.iter().map(|r| LockRow { now, ..r.clone() }).collect()
}

#[derive(Debug, Clone)]
struct RootInfo {
    datname: String,
    usename: String,
    application_name: String,
    state: String,
    xact_seconds: f64,
}

impl Collector for Locks {
    fn reset(&mut self) {
        self.waits.clear();
        self.last = None;
    }

    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let q = |e| CollectError::query(NAME, e);
            let gate = ctx
                .query_one(WAITING_SQL, &[&ctx.own_pids])
                .await
                .map_err(q)?;
            let now: f64 = col(NAME, &gate, "now")?;
            let waiting: Vec<i32> = col(NAME, &gate, "waiting")?;
            let lock_rows = if last_read_holds(self.last.as_ref(), &waiting, Instant::now()) {
                served_again(&self.last.as_ref().expect("checked").rows, now)
            } else {
                let rows = self.read_locks(ctx).await?;
                self.last = Some(LastRead {
                    rows: rows.clone(),
                    waiting,
                    at: Instant::now(),
                });
                rows
            };
            let analysis = analyse(&lock_rows);
            let roots = read_roots(ctx, &analysis).await?;
            let ended = track_waits(&mut self.waits, &analysis.blocked, now);
            ctx.observe(Observation::LockWaitsEnded(ended));
            Ok(self.build(ctx, &analysis, &roots))
        })
    }
}

/// The blocking roots' sessions, read on every poll that has any.
async fn read_roots(ctx: &Ctx<'_>, a: &Analysis) -> Result<HashMap<i32, RootInfo>, CollectError> {
    let mut roots = HashMap::new();
    if a.roots.is_empty() {
        return Ok(roots);
    }
    let pids: Vec<i32> = a.roots.keys().copied().collect();
    let rows = ctx
        .query(ROOTS_SQL, &[&pids])
        .await
        .map_err(|e| CollectError::query(NAME, e))?;
    for r in rows {
        roots.insert(
            col::<i32>(NAME, &r, "pid")?,
            RootInfo {
                datname: col(NAME, &r, "datname")?,
                usename: col(NAME, &r, "usename")?,
                application_name: col(NAME, &r, "application_name")?,
                state: col(NAME, &r, "state")?,
                xact_seconds: col(NAME, &r, "xact_seconds")?,
            },
        );
    }
    Ok(roots)
}

impl Locks {
    /// One read of `pg_locks` (ungranted locks and granted relation
    /// AccessExclusiveLocks), with names and the waiters' blockers.
    async fn read_locks(&self, ctx: &Ctx<'_>) -> Result<Vec<LockRow>, CollectError> {
        let rows = ctx
            .query(&locks_sql(ctx.server_version_num), &[&ctx.own_pids])
            .await
            .map_err(|e| CollectError::query(NAME, e))?;
        let mut lock_rows = Vec::with_capacity(rows.len());
        for r in &rows {
            lock_rows.push(LockRow {
                pid: col(NAME, r, "pid")?,
                granted: col(NAME, r, "granted")?,
                locktype: col(NAME, r, "locktype")?,
                mode: col(NAME, r, "mode")?,
                lock_datname: col(NAME, r, "lock_datname")?,
                relation: col(NAME, r, "relation")?,
                datname: col(NAME, r, "datname")?,
                usename: col(NAME, r, "usename")?,
                application_name: col(NAME, r, "application_name")?,
                wait_start: col(NAME, r, "wait_start")?,
                now: col(NAME, r, "now")?,
                blockers: col(NAME, r, "blockers")?,
            });
        }
        Ok(lock_rows)
    }

    #[allow(clippy::too_many_lines)] // a flat list of the families of one snapshot, one block each
    fn build(&self, ctx: &Ctx<'_>, a: &Analysis, roots: &HashMap<i32, RootInfo>) -> Output {
        let mut out = Output::default();
        let mut f = ctx.gauge(
            "pgmig_blocked_backends",
            "Backends waiting for a heavyweight lock, from pg_locks (the exporter's own excluded).",
        );
        f.add(&[], a.blocked.len() as f64);
        out.push(f);

        let mut oldest = ctx.gauge("pgmig_lock_oldest_wait_seconds", "The longest current lock wait in seconds, from pg_locks.waitstart (14+) or query_start (13); 0 when nobody waits.");
        oldest.add(
            &[],
            a.blocked.first().map(|b| b.wait_seconds).unwrap_or(0.0),
        );
        out.push(oldest);

        let mut wait = ctx.gauge(
            "pgmig_blocked_backend_wait_seconds",
            "How long each blocked backend has waited for its lock, with the head of its blocking chain, from pg_locks and pg_blocking_pids().",
        );
        let mut depth = ctx.gauge(
            "pgmig_blocked_backend_chain_depth",
            "Number of backends between a blocked backend and its blocking root, itself included (1 = blocked directly by the root), from pg_blocking_pids().",
        );
        for b in series_order(&a.blocked).into_iter().take(self.max_blocked) {
            let pid = b.row.pid.to_string();
            let root = b.root.to_string();
            wait.add(
                &[
                    ("pid", &pid),
                    ("blocking_root_pid", &root),
                    ("datname", &b.row.datname),
                    ("usename", &b.row.usename),
                    ("application_name", &b.row.application_name),
                    ("locktype", &b.row.locktype),
                    ("mode", &b.row.mode),
                    ("relation", &b.row.relation),
                ],
                b.wait_seconds,
            );
            depth.add(
                &[("pid", &pid), ("blocking_root_pid", &root)],
                b.depth as f64,
            );
        }
        out.dropped += a.blocked.len().saturating_sub(self.max_blocked) * 2;
        out.push(wait);
        out.push(depth);

        let mut rb = ctx.gauge(
            "pgmig_blocking_root_blocked_backends",
            "Backends blocked, directly or through a chain, by each blocking root (a backend that blocks others and waits for no lock itself), from pg_blocking_pids().",
        );
        let mut rt = ctx.gauge(
            "pgmig_blocking_root_transaction_seconds",
            "Age of each blocking root's transaction (now() - xact_start), from pg_stat_activity; 0 for a prepared transaction or a session already gone.",
        );
        for (pid, n) in &a.roots {
            let p = pid.to_string();
            let info = roots.get(pid);
            let state = match (pid, info) {
                (0, _) => "prepared transaction",
                (_, Some(i)) => i.state.as_str(),
                (_, None) => "gone",
            };
            rb.add(
                &[
                    ("pid", &p),
                    ("datname", info.map(|i| i.datname.as_str()).unwrap_or("")),
                    ("usename", info.map(|i| i.usename.as_str()).unwrap_or("")),
                    (
                        "application_name",
                        info.map(|i| i.application_name.as_str()).unwrap_or(""),
                    ),
                    ("state", state),
                ],
                *n as f64,
            );
            rt.add(&[("pid", &p)], info.map(|i| i.xact_seconds).unwrap_or(0.0));
        }
        out.push(rb);
        out.push(rt);

        let mut rels: Vec<(&(String, String), &RelationQueue)> = a
            .relations
            .iter()
            .filter(|(_, q)| q.waiting > 0 || q.ael_held || q.ael_waiting)
            .collect();
        rels.sort_by(|x, y| y.1.waiting.cmp(&x.1.waiting).then(x.0.cmp(y.0)));
        out.dropped += rels.len().saturating_sub(self.max_relations) * 3;
        let mut ql = ctx.gauge(
            "pgmig_lock_queue_length",
            "Lock requests waiting on each relation that has a queue or an AccessExclusiveLock, from pg_locks.",
        );
        let mut ael = ctx.gauge(
            "pgmig_lock_access_exclusive",
            "1 when an AccessExclusiveLock on the relation is held (status=held) or waited for (status=waiting), from pg_locks.",
        );
        let mut access_exclusive = false;
        for ((db, rel), q) in rels.into_iter().take(self.max_relations) {
            access_exclusive |= q.ael_held || q.ael_waiting;
            ql.add(&[("datname", db), ("relation", rel)], q.waiting as f64);
            ael.add(
                &[("datname", db), ("relation", rel), ("status", "held")],
                if q.ael_held { 1.0 } else { 0.0 },
            );
            ael.add(
                &[("datname", db), ("relation", rel), ("status", "waiting")],
                if q.ael_waiting { 1.0 } else { 0.0 },
            );
        }
        out.push(ql);
        out.push(ael);
        ctx.observe(Observation::Window(WindowEvidence {
            access_exclusive,
            ..WindowEvidence::default()
        }));
        out
    }
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
    title: r#"Collector `locks` (pg_locks, pg_blocking_pids)"#,
    intro: r#"
"#,
    metrics: &[
        Metric {
            name: "pgmig_blocked_backends",
            kind: Kind::Gauge,
            labels: &["target"],
            help: Some(
                r#"Backends waiting for a heavyweight lock, from pg_locks (the exporter's own excluded)."#,
            ),
            source: r#"backends waiting for a heavyweight lock"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_blocked_backend_wait_seconds",
            kind: Kind::Gauge,
            labels: &[
                "target",
                "pid",
                "blocking_root_pid",
                "datname",
                "usename",
                "application_name",
                "locktype",
                "mode",
                "relation",
            ],
            help: Some(
                r#"How long each blocked backend has waited for its lock, with the head of its blocking chain, from pg_locks and pg_blocking_pids()."#,
            ),
            source: r#"how long each blocked backend has waited (`pg_locks.waitstart` on 14+, `query_start` on 13), with the head of its blocking chain; at most `max_blocked_series`, longest waits first"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_blocked_backend_chain_depth",
            kind: Kind::Gauge,
            labels: &["target", "pid", "blocking_root_pid"],
            help: Some(
                r#"Number of backends between a blocked backend and its blocking root, itself included (1 = blocked directly by the root), from pg_blocking_pids()."#,
            ),
            source: r#"links between the blocked backend and its root (1 = blocked directly by the root)"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_blocking_root_blocked_backends",
            kind: Kind::Gauge,
            labels: &[
                "target",
                "pid",
                "datname",
                "usename",
                "application_name",
                "state",
            ],
            help: Some(
                r#"Backends blocked, directly or through a chain, by each blocking root (a backend that blocks others and waits for no lock itself), from pg_blocking_pids()."#,
            ),
            source: r#"backends a blocking root (blocks others, waits for no lock itself) blocks directly or through a chain; pid 0 and state `prepared transaction` for a prepared transaction"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_blocking_root_transaction_seconds",
            kind: Kind::Gauge,
            labels: &["target", "pid"],
            help: Some(
                r#"Age of each blocking root's transaction (now() - xact_start), from pg_stat_activity; 0 for a prepared transaction or a session already gone."#,
            ),
            source: r#"`now() - xact_start` of each blocking root"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_lock_queue_length",
            kind: Kind::Gauge,
            labels: &["target", "datname", "relation"],
            help: Some(
                r#"Lock requests waiting on each relation that has a queue or an AccessExclusiveLock, from pg_locks."#,
            ),
            source: r#"ungranted lock requests on each relation that has a queue or an AccessExclusiveLock; at most `max_relations`, longest queues first"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_lock_access_exclusive",
            kind: Kind::Gauge,
            labels: &["target", "datname", "relation", "status"],
            help: Some(
                r#"1 when an AccessExclusiveLock on the relation is held (status=held) or waited for (status=waiting), from pg_locks."#,
            ),
            source: r#"1 when an AccessExclusiveLock on the relation is `held` or `waiting`, else 0"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_lock_oldest_wait_seconds",
            kind: Kind::Gauge,
            labels: &["target"],
            help: Some(
                r#"The longest current lock wait in seconds, from pg_locks.waitstart (14+) or query_start (13); 0 when nobody waits."#,
            ),
            source: r#"the longest current lock wait; 0 when nobody waits"#,
            collector: "locks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_lock_wait_seconds",
            kind: Kind::Histogram,
            labels: &["target"],
            help: Some(
                r#"Completed heavyweight-lock waits seen in pg_locks, observed when the wait ends (accurate to one locks poll interval)."#,
            ),
            source: r#"completed lock waits, observed when a later poll no longer sees the wait; accurate to one poll interval (buckets 0.5 s to 30 min)"#,
            collector: "locks",
            min_pg: Some(13),
        },
    ],
    outro: r#"
`relation` is `schema.name` for relations of the database the exporter is connected to, and
`oid:N` for relations of other databases (their names are not visible from this connection).

"#,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        pid: i32,
        granted: bool,
        mode: &str,
        blockers: Option<Vec<i32>>,
        wait_start: f64,
    ) -> LockRow {
        LockRow {
            pid,
            granted,
            locktype: "relation".into(),
            mode: mode.into(),
            lock_datname: "app".into(),
            relation: "public.orders".into(),
            wait_start,
            now: 100.0,
            blockers,
            ..Default::default()
        }
    }

    /// Holder 10 has ACCESS EXCLUSIVE; 11 wants ACCESS EXCLUSIVE behind it;
    /// 12 and 13 want ACCESS SHARE behind both (PostgreSQL reports both the
    /// holder and the queued requester as their blockers).
    fn chain_rows() -> Vec<LockRow> {
        vec![
            row(10, true, "AccessExclusiveLock", None, 100.0),
            row(11, false, "AccessExclusiveLock", Some(vec![10]), 90.0),
            row(12, false, "AccessShareLock", Some(vec![10, 11]), 95.0),
            row(13, false, "AccessShareLock", Some(vec![11, 10]), 97.0),
        ]
    }

    #[test]
    fn chain_behind_access_exclusive_has_one_root_and_depths() {
        let a = analyse(&chain_rows());
        assert_eq!(a.blocked.len(), 3);
        assert!(a.blocked.iter().all(|b| b.root == 10));
        let depth: HashMap<i32, usize> = a.blocked.iter().map(|b| (b.row.pid, b.depth)).collect();
        assert_eq!(depth[&11], 1);
        assert_eq!(depth[&12], 2);
        assert_eq!(depth[&13], 2);
        assert_eq!(a.roots.get(&10), Some(&3));
        let q = &a.relations[&("app".to_string(), "public.orders".to_string())];
        assert_eq!(
            q,
            &RelationQueue {
                waiting: 3,
                ael_held: true,
                ael_waiting: true
            }
        );
        // Longest wait first.
        assert_eq!(a.blocked[0].row.pid, 11);
        assert_eq!(a.blocked[0].wait_seconds, 10.0);
    }

    #[test]
    fn a_new_access_exclusive_waiter_comes_before_older_waits_under_the_series_bound() {
        let mut rows: Vec<LockRow> = (20..25)
            .map(|p| row(p, false, "AccessShareLock", Some(vec![10]), 50.0))
            .collect();
        rows.push(row(10, true, "AccessExclusiveLock", None, 0.0));
        rows.push(row(30, false, "AccessExclusiveLock", Some(vec![10]), 99.0));
        let a = analyse(&rows);
        let order: Vec<i32> = series_order(&a.blocked).iter().map(|b| b.row.pid).collect();
        assert_eq!(order, vec![30, 20, 21, 22, 23, 24]);
        // The oldest wait is still the longest one.
        assert_eq!(a.blocked[0].wait_seconds, 50.0);
    }

    #[test]
    fn a_deadlock_cycle_does_not_loop_and_names_its_smallest_pid() {
        let rows = vec![
            row(21, false, "ShareLock", Some(vec![22]), 99.0),
            row(22, false, "ShareLock", Some(vec![21]), 99.0),
        ];
        let a = analyse(&rows);
        assert_eq!(a.blocked.len(), 2);
        assert!(a.blocked.iter().all(|b| b.root == 21), "{:?}", a.blocked);
    }

    #[test]
    fn wait_histogram_observes_when_a_wait_ends_not_before() {
        let mut state = HashMap::new();
        let a = analyse(&chain_rows());
        assert!(track_waits(&mut state, &a.blocked, 100.0).is_empty());
        // Next poll: same waits, later.
        let mut later = chain_rows();
        for r in &mut later {
            r.now = 101.0;
        }
        let a = analyse(&later);
        assert!(track_waits(&mut state, &a.blocked, 101.0).is_empty());
        // The holder committed: nobody waits any more.
        let mut ended = track_waits(&mut state, &[], 102.0);
        ended.sort_by(f64::total_cmp);
        assert_eq!(ended, vec![5.0, 7.0, 12.0]);
        assert!(state.is_empty());
    }

    #[test]
    fn a_pid_waiting_on_another_lock_ends_its_first_wait() {
        let mut state = HashMap::new();
        let a = analyse(&[
            row(10, true, "AccessExclusiveLock", None, 0.0),
            row(11, false, "AccessShareLock", Some(vec![10]), 90.0),
        ]);
        track_waits(&mut state, &a.blocked, 100.0);
        let mut other = row(11, false, "RowExclusiveLock", Some(vec![10]), 105.0);
        other.now = 106.0;
        let a = analyse(&[row(10, true, "AccessExclusiveLock", None, 0.0), other]);
        assert_eq!(track_waits(&mut state, &a.blocked, 106.0), vec![16.0]);
        assert_eq!(state[&11].start, 105.0);
    }
}
