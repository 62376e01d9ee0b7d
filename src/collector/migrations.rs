//! Collector `migrations`: the state of each migration the config's
//! `migrations` section planned, which of its statements runs now, whether
//! the locks it holds match the plan, and the objects it must have created
//! or dropped once it is applied.
//!
//! Reads, on the target's own database: the tool's schema-history table
//! (found and lock-checked as the `frameworks` collector does: a table with
//! an AccessExclusiveLock held or waited for is not read, the last states
//! stand), `pg_stat_activity` (query text of client backends in this
//! database, matched to planned statements by pg_query fingerprint), and
//! `pg_locks` joined to `pg_class` for the backends running a migration.
//! Then the catalog checks of the expected objects of applied migrations
//! (the same checks as `expected_objects`, in the same families).
//!
//! A migration is `running` while a backend runs (or sits in the open
//! transaction of) one of its statements; else as its history table records
//! it: `applied`, `failed` (also dirty / half-applied), `rolled_back`
//! (recorded as undone, or seen applied earlier and no longer recorded),
//! or `pending`. Series are bounded by `max_migrations`. A running migration
//! is also window evidence (`migration_running`): in flight, and a source
//! that opens the window.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_migration_state` | gauge | target, datname, path, migration, state |
//! | `pgmig_migration_running_statement` | gauge | target, datname, path, migration |
//! | `pgmig_migration_statements` | gauge | target, datname, path, migration |
//! | `pgmig_migration_lock_beyond_plan` | gauge | target, datname, path, migration, relation, mode, planned |
//! | `pgmig_migration_planned_hazard` | gauge | target, datname, path, migration, code |
//! | `pgmig_migration_file_parse_errors` | gauge | target, datname, path |
//! | `pgmig_migration_file_parse_error` | gauge | target, datname, path, file, line, column |

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::{
    col, frameworks, CollectError, CollectFuture, Collector, Ctx, Lane, Observation, Output, Scope,
    Spec,
};
use crate::catalogue::entry::{Kind, Metric, Section};
use crate::config::migrations::MigrationSet;
use crate::config::Settings;
use crate::evidence::WindowEvidence;
use crate::expected::{Expect, ExpectedObject};
use crate::exposition::Family;
use crate::plan::{LockMode, Migration};

pub const NAME: &str = "migrations";

/// Failing files listed one by one per set; the count covers the rest.
pub const MAX_FILE_ERROR_SERIES: usize = 20;

/// Backends whose query text is fingerprinted per run.
const MAX_BACKENDS: i64 = 200;

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "your migration files (the migrations section; idle without one): each one's state, the statement running now and its locks against the plan, the objects applied ones must have left",
    lane: Lane::Slow,
    scope: Scope::Server,
    // On like every collector; without a migrations section (or one for
    // its target) a run queries nothing and serves nothing.
    schedule: |s| s.collectors.migrations.schedule,
    build: |s| Box::new(Migrations::new(s)),
    catalogue: &CATALOGUE,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Running,
    Applied,
    Failed,
    RolledBack,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Applied => "applied",
            State::Failed => "failed",
            State::RolledBack => "rolled_back",
        }
    }
}

/// What the history table says of one planned migration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recorded {
    Nothing,
    /// Applied, with how long ago when the table records it.
    Applied(Option<f64>),
    Failed,
    RolledBack,
}

/// One row of a history read: `key` (version or name), `status` (applied,
/// failed, rolled_back, or current / current_dirty for tools that keep
/// only the current version) and the seconds since it was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub key: String,
    pub status: String,
    pub age: Option<f64>,
}

/// The label of a migration: its version (Flyway's repeatable ones share
/// "R", so they are `R__<name>`).
pub fn label(m: &Migration) -> String {
    if m.version == "R" {
        format!("R__{}", m.name)
    } else {
        m.version.clone()
    }
}

fn digits(s: &str) -> Option<u128> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Whether a history table's key names this migration: its version (also
/// without leading zeros), or `<version>_<name>` (Prisma's directory name).
pub fn same_version(key: &str, m: &Migration) -> bool {
    key == m.version
        || key == label(m)
        || key
            .strip_prefix(m.version.as_str())
            .is_some_and(|r| r.starts_with('_'))
        || matches!((digits(key), digits(&m.version)), (Some(a), Some(b)) if a == b)
}

/// The history table's word on each planned migration, in plan order.
pub fn recorded(migrations: &[Migration], rows: &[HistoryRow]) -> Vec<Recorded> {
    let mut out = vec![Recorded::Nothing; migrations.len()];
    for r in rows {
        if let Some(dirty) = match r.status.as_str() {
            "current" => Some(false),
            "current_dirty" => Some(true),
            _ => None,
        } {
            current(migrations, &r.key, dirty, &mut out);
            continue;
        }
        let Some(i) = migrations.iter().position(|m| same_version(&r.key, m)) else {
            continue;
        };
        // Rows come oldest first: a later row (a re-run, an undo) wins.
        out[i] = match r.status.as_str() {
            "applied" => Recorded::Applied(r.age),
            "failed" => Recorded::Failed,
            "rolled_back" => Recorded::RolledBack,
            _ => continue,
        };
    }
    out
}

/// Tools that keep only the current version (golang-migrate, Alembic):
/// everything up to it is applied; it is failed when dirty.
fn current(migrations: &[Migration], key: &str, dirty: bool, out: &mut [Recorded]) {
    let at = migrations.iter().position(|m| same_version(key, m));
    for (i, m) in migrations.iter().enumerate() {
        let cmp = match (at, digits(key), digits(&m.version)) {
            (_, Some(k), Some(v)) => v.cmp(&k),
            (Some(a), _, _) => i.cmp(&a),
            _ => continue,
        };
        out[i] = match cmp {
            std::cmp::Ordering::Less => Recorded::Applied(None),
            std::cmp::Ordering::Equal if dirty => Recorded::Failed,
            std::cmp::Ordering::Equal => Recorded::Applied(None),
            std::cmp::Ordering::Greater => Recorded::Nothing,
        };
    }
}

/// The query reading a history table as [`HistoryRow`]s (key, status, age),
/// oldest first; None for a tool this collector does not read.
pub fn history_sql(tool: frameworks::Tool, table: &str) -> Option<String> {
    use frameworks::Tool as T;
    let age = |c: &str| format!("extract(epoch FROM now() - ({c})::timestamptz)::float8");
    let (key, status, at, filter, order) = match tool {
        T::Flyway => ("version::text", "CASE WHEN NOT success THEN 'failed' WHEN type LIKE 'UNDO%' THEN 'rolled_back' ELSE 'applied' END".to_string(), age("installed_on"),
            "version IS NOT NULL AND type NOT IN ('SCHEMA', 'BASELINE', 'DELETE')", "installed_rank"),
        T::GolangMigrate => ("version::text", "CASE WHEN dirty THEN 'current_dirty' ELSE 'current' END".to_string(), "NULL::float8".to_string(), "true", "1"),
        T::Alembic => ("version_num::text", "'current'".to_string(), "NULL::float8".to_string(), "true", "1"),
        T::Sqlx => ("version::text", "CASE WHEN success THEN 'applied' ELSE 'failed' END".to_string(), age("installed_on"), "true", "version"),
        T::Goose => ("version_id::text", "CASE WHEN is_applied THEN 'applied' ELSE 'rolled_back' END".to_string(), age("tstamp"), "version_id <> 0", "id"),
        T::Prisma => ("migration_name::text", "CASE WHEN rolled_back_at IS NOT NULL THEN 'rolled_back' WHEN finished_at IS NOT NULL THEN 'applied' ELSE 'failed' END".to_string(), age("finished_at"), "true", "started_at"),
        T::Rails | T::Supabase => ("version::text", "'applied'".to_string(), "NULL::float8".to_string(), "true", "version"),
        T::Diesel => ("version::text", "'applied'".to_string(), age("run_on"), "true", "run_on"),
        T::Django => ("app::text || '.' || name::text", "'applied'".to_string(), age("applied"), "true", "id"),
        T::Knex => ("name::text", "'applied'".to_string(), age("migration_time"), "true", "id"),
        T::Liquibase => ("id::text", "CASE WHEN exectype = 'FAILED' THEN 'failed' ELSE 'applied' END".to_string(), age("dateexecuted"), "true", "orderexecuted"),
        T::Custom => return None,
    };
    Some(format!(
        "SELECT {key} AS key, {status} AS status, {at} AS age FROM {table} WHERE {filter} ORDER BY {order} LIMIT 100000"
    ))
}

/// A set's precomputed lookups.
struct Planned {
    set: MigrationSet,
    /// Statement fingerprint -> (migration, statement) in plan order.
    by_fingerprint: HashMap<String, Vec<(usize, usize)>>,
    /// (kind, name) -> the migrations that create or drop it, in order, with
    /// the check each gives.
    objects: Vec<Vec<(usize, ExpectedObject)>>,
}

impl Planned {
    fn new(set: MigrationSet) -> Planned {
        let mut by_fingerprint: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        let mut objects: BTreeMap<(&'static str, String), Vec<(usize, ExpectedObject)>> =
            BTreeMap::new();
        for (mi, m) in set.migrations.iter().enumerate() {
            for s in &m.statements {
                if !s.fingerprint.is_empty() {
                    by_fingerprint
                        .entry(s.fingerprint.clone())
                        .or_default()
                        .push((mi, s.index));
                }
                let made = s.creates.iter().map(|o| (o, Expect::Present));
                for (o, expect) in made.chain(s.drops.iter().map(|o| (o, Expect::Absent))) {
                    if let Some(x) = ExpectedObject::from_plan(o.kind, &o.name, expect, &label(m)) {
                        let e = objects.entry((o.kind, o.name.clone())).or_default();
                        // Within one migration the last statement's word counts.
                        match e.last_mut() {
                            Some(last) if last.0 == mi => *last = (mi, x),
                            _ => e.push((mi, x)),
                        }
                    }
                }
            }
        }
        Planned {
            set,
            by_fingerprint,
            objects: objects.into_values().collect(),
        }
    }
}

/// A backend running a planned statement.
#[derive(Debug, Clone)]
struct RunningAt {
    pid: i32,
    migration: usize,
    /// 0-based statement, None when the backend sent the whole file at once.
    statement: Option<usize>,
}

/// What the collector remembers of a migration between runs.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    applied_since: Option<Instant>,
    was_applied: bool,
    last: Option<State>,
}

struct Migrations {
    planned: Vec<Planned>,
    /// Hand-written expected objects bound with `after:`.
    bound: Vec<ExpectedObject>,
    max_migrations: usize,
    /// (set, migration) -> memory.
    memory: HashMap<(usize, usize), Memory>,
    first_run: bool,
}

impl Migrations {
    fn new(s: &Settings) -> Migrations {
        Migrations {
            planned: s.migrations.iter().cloned().map(Planned::new).collect(),
            bound: s
                .expected_objects
                .iter()
                .filter(|o| o.after.is_some())
                .cloned()
                .collect(),
            max_migrations: s.collectors.migrations.max_migrations,
            memory: HashMap::new(),
            first_run: true,
        }
    }
}

/// One set's result of a run.
struct SetRun {
    states: Vec<State>,
    /// Seconds since applied (None: not applied).
    applied_for: Vec<Option<Duration>>,
    running: Vec<RunningAt>,
}

const ACTIVITY_SQL: &str = "\
SELECT pid, query FROM pg_catalog.pg_stat_activity \
WHERE backend_type = 'client backend' AND datname = pg_catalog.current_database() \
  AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)') \
  AND pid <> ALL($1::int4[]) AND query <> '' AND octet_length(query) <= 1048576 \
ORDER BY pid LIMIT $2";

/// Relation locks of the given backends, each with the table an index or
/// TOAST table belongs to (a statement's lock on a table extends to them).
/// Catalogs and sequences are left out: every statement touches them.
const LOCKS_SQL: &str = "\
SELECT l.pid, l.mode, n.nspname::text AS schema, c.relname::text AS rel, \
       pn.nspname::text AS parent_schema, pc.relname::text AS parent_rel \
FROM pg_catalog.pg_locks l \
JOIN pg_catalog.pg_class c ON c.oid = l.relation \
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid \
LEFT JOIN pg_catalog.pg_class t ON t.reltoastrelid = c.oid \
LEFT JOIN pg_catalog.pg_class pc ON pc.oid = coalesce(i.indrelid, t.oid) \
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace \
WHERE l.locktype = 'relation' AND l.pid = ANY($1::int4[]) \
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) \
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind <> 'S'";

impl Collector for Migrations {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let sets: Vec<usize> = (0..self.planned.len())
                .filter(|i| self.planned[*i].set.applies_to(ctx.target))
                .collect();
            let mut f = Families::new(ctx);
            let mut out = Output::default();
            if sets.is_empty() {
                return Ok(out);
            }
            if self.first_run {
                for e in sets.iter().flat_map(|si| &self.planned[*si].set.errors) {
                    tracing::warn!(target = ctx.target, collector = NAME, error = %e,
                        "migration file not planned: not watched until it parses (pgmig_migration_file_parse_error)");
                }
            }
            let history = read_histories(ctx, &self.planned, &sets).await?;
            let activity = read_activity(ctx).await?;
            let mut runs = Vec::with_capacity(sets.len());
            for (si, rows) in sets.iter().zip(history) {
                let running = match_running(&self.planned[*si], &activity);
                let run = self.states(*si, rows.as_deref(), running);
                runs.push((*si, run));
            }
            self.first_run = false;
            let pids: Vec<i32> = runs
                .iter()
                .flat_map(|(_, r)| r.running.iter().map(|x| x.pid))
                .collect();
            // A running migration is in-flight evidence of its own: a
            // lockless data migration shows no DDL, lock or progress.
            ctx.observe(Observation::Window(WindowEvidence {
                migration_running: !pids.is_empty(),
                ..WindowEvidence::default()
            }));
            let locks = read_locks(ctx, &pids).await?;
            for (si, run) in &runs {
                let p = &self.planned[*si];
                out.dropped += f.set(p, run, self.max_migrations);
                f.locks(p, run, &locks);
            }
            self.check_objects(ctx, &runs, &mut f).await?;
            f.finish(&mut out);
            Ok(out)
        })
    }

    fn reset(&mut self) {
        // The memory of what was applied stays: a lost session does not
        // un-apply a migration.
    }
}

impl Migrations {
    /// Each migration's state from its record, what runs now and memory.
    fn states(
        &mut self,
        si: usize,
        rows: Option<&[HistoryRow]>,
        running: Vec<RunningAt>,
    ) -> SetRun {
        let p = &self.planned[si];
        let n = p.set.migrations.len();
        let rec = rows.map(|r| recorded(&p.set.migrations, r));
        let now = Instant::now();
        let grace = p.set.grace;
        let (mut states, mut applied_for) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for mi in 0..n {
            let mem = self.memory.entry((si, mi)).or_default();
            let is_running = running.iter().any(|r| r.migration == mi);
            let state = match rec.as_ref().map(|r| r[mi]) {
                _ if is_running => State::Running,
                // The history table could not be read: the last state stands.
                None => mem.last.unwrap_or(State::Pending),
                Some(Recorded::Applied(_)) => State::Applied,
                Some(Recorded::Failed) => State::Failed,
                Some(Recorded::RolledBack) => State::RolledBack,
                Some(Recorded::Nothing) if mem.was_applied => State::RolledBack,
                Some(Recorded::Nothing) => State::Pending,
            };
            let age = match rec.as_ref().map(|r| r[mi]) {
                Some(Recorded::Applied(Some(a))) if a >= 0.0 => Some(Duration::from_secs_f64(a)),
                _ => None,
            };
            if state == State::Applied {
                // Applied before the exporter first looked: past any grace.
                let since = *mem.applied_since.get_or_insert(if self.first_run {
                    now.checked_sub(grace).unwrap_or(now)
                } else {
                    now
                });
                mem.was_applied = true;
                applied_for.push(Some(age.unwrap_or_else(|| now.duration_since(since))));
            } else {
                mem.applied_since = None;
                applied_for.push(None);
            }
            mem.last = Some(state);
            states.push(state);
        }
        SetRun {
            states,
            applied_for,
            running,
        }
    }

    /// The expected objects of applied migrations (past grace) and the
    /// hand-written ones bound to them, checked in the catalogs.
    async fn check_objects(
        &self,
        ctx: &Ctx<'_>,
        runs: &[(usize, SetRun)],
        f: &mut Families,
    ) -> Result<(), CollectError> {
        let mut checks: Vec<std::borrow::Cow<'_, ExpectedObject>> = Vec::new();
        for (si, run) in runs {
            let p = &self.planned[*si];
            let past_grace = |mi: usize| run.applied_for[mi].is_some_and(|d| d >= p.set.grace);
            for events in &p.objects {
                // The latest applied migration that touches the object has
                // the word; within its grace nothing is checked yet.
                if let Some((mi, x)) = events
                    .iter()
                    .rev()
                    .find(|(mi, _)| run.applied_for[*mi].is_some())
                {
                    if past_grace(*mi) {
                        checks.push(std::borrow::Cow::Borrowed(x));
                    }
                }
            }
            for o in &self.bound {
                let targeted = o.target.as_deref().is_none_or(|t| t == ctx.target)
                    && o.database.as_deref().is_none_or(|d| d == ctx.datname);
                let Some(mi) = o.after.as_deref().and_then(|v| p.set.find(v)) else {
                    continue;
                };
                if targeted && past_grace(mi) {
                    // The `migration` label names the version as
                    // pgmig_migration_state does, so rules can join the two.
                    let mut o = o.clone();
                    o.migration = label(&p.set.migrations[mi]);
                    checks.push(std::borrow::Cow::Owned(o));
                }
            }
        }
        super::expected_objects::check(
            ctx,
            checks.iter().map(|c| c.as_ref()),
            &mut f.present,
            &mut f.failed,
        )
        .await
    }
}

/// The history rows of each set, None where the table is locked or cannot
/// be read (the last states stand); empty when the tool never ran here.
async fn read_histories(
    ctx: &Ctx<'_>,
    planned: &[Planned],
    sets: &[usize],
) -> Result<Vec<Option<Vec<HistoryRow>>>, CollectError> {
    let catalog = frameworks::read_catalog(ctx, &[]).await?;
    let (found, _) = frameworks::detect(&catalog, &[]);
    let locked = frameworks::locked_tables(ctx, &found).await?;
    let mut out = Vec::with_capacity(sets.len());
    for si in sets {
        let want = planned[*si].set.history.as_str();
        let Some(d) = found.iter().find(|d| d.tool.label() == want) else {
            out.push(Some(Vec::new()));
            continue;
        };
        let sql = match history_sql(d.tool, &d.table.sql_name()) {
            Some(s) if d.table.readable && !locked.contains(&d.table.oid) => s,
            _ => {
                out.push(None);
                continue;
            }
        };
        match ctx.query(&sql, &[]).await {
            Ok(rows) => {
                let mut v = Vec::with_capacity(rows.len());
                for r in &rows {
                    v.push(HistoryRow {
                        key: col(NAME, r, "key")?,
                        status: col(NAME, r, "status")?,
                        age: col(NAME, r, "age")?,
                    });
                }
                out.push(Some(v));
            }
            Err(e) if e.is_closed() => return Err(CollectError::query(NAME, e)),
            Err(e) => {
                tracing::debug!(target = ctx.target, collector = NAME, error = %crate::db::error_text(&e),
                    "schema-history table not read; the last states stand");
                out.push(None);
            }
        }
    }
    Ok(out)
}

/// (pid, statement fingerprints) of the client backends in this database.
async fn read_activity(ctx: &Ctx<'_>) -> Result<Vec<(i32, Vec<String>)>, CollectError> {
    let rows = ctx
        .query(ACTIVITY_SQL, &[&ctx.own_pids, &MAX_BACKENDS])
        .await
        .map_err(|e| CollectError::query(NAME, e))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let query: String = col(NAME, r, "query")?;
        let fps = crate::plan::statement_fingerprints(&query);
        if !fps.is_empty() {
            out.push((col(NAME, r, "pid")?, fps));
        }
    }
    Ok(out)
}

/// Which backends run which migration's statements. One statement: the
/// migration that has it (the first not yet applied... in plan order, the
/// first whose fingerprints include it). Several (a whole file sent at
/// once): the migration whose statements include all of them, statement
/// unknown.
fn match_running(p: &Planned, activity: &[(i32, Vec<String>)]) -> Vec<RunningAt> {
    let mut out = Vec::new();
    for (pid, fps) in activity {
        let Some(first) = p.by_fingerprint.get(&fps[0]) else {
            continue;
        };
        if fps.len() == 1 {
            // A statement several migrations share (say a SET) is not evidence.
            let migrations: std::collections::BTreeSet<usize> = first.iter().map(|x| x.0).collect();
            if migrations.len() == 1 {
                out.push(RunningAt {
                    pid: *pid,
                    migration: first[0].0,
                    statement: Some(first[0].1),
                });
            }
            continue;
        }
        let whole = first.iter().map(|x| x.0).find(|mi| {
            fps.iter().all(|fp| {
                p.by_fingerprint
                    .get(fp)
                    .is_some_and(|v| v.iter().any(|x| x.0 == *mi))
            })
        });
        if let Some(mi) = whole {
            out.push(RunningAt {
                pid: *pid,
                migration: mi,
                statement: None,
            });
        }
    }
    out
}

/// One relation lock of a backend running a migration.
struct HeldLock {
    pid: i32,
    mode: Option<LockMode>,
    relation: String,
    parent: Option<String>,
}

async fn read_locks(ctx: &Ctx<'_>, pids: &[i32]) -> Result<Vec<HeldLock>, CollectError> {
    if pids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = ctx
        .query(LOCKS_SQL, &[&pids])
        .await
        .map_err(|e| CollectError::query(NAME, e))?;
    let q = crate::plan::context::quote_ident;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mode: String = col(NAME, r, "mode")?;
        let schema: String = col(NAME, r, "schema")?;
        let rel: String = col(NAME, r, "rel")?;
        let ps: Option<String> = col(NAME, r, "parent_schema")?;
        let pr: Option<String> = col(NAME, r, "parent_rel")?;
        out.push(HeldLock {
            pid: col(NAME, r, "pid")?,
            mode: LockMode::from_pg(&mode),
            relation: format!("{}.{}", q(&schema), q(&rel)),
            parent: ps.zip(pr).map(|(s, t)| format!("{}.{}", q(&s), q(&t))),
        });
    }
    Ok(out)
}

/// The strongest lock the plan lets a backend hold on each relation while
/// it runs statement `at` of `m` (None: the whole file at once). Inside the
/// tool's transaction, earlier statements' locks are still held.
fn planned_locks(m: &Migration, at: Option<usize>) -> BTreeMap<String, LockMode> {
    let mut out: BTreeMap<String, LockMode> = BTreeMap::new();
    for s in &m.statements {
        let upto = match at {
            None => true,
            Some(i) if s.index == i => true,
            Some(i) => s.index < i && s.in_transaction && m.statements[i].in_transaction,
        };
        if upto {
            for (rel, mode) in &s.lock {
                let e = out.entry(rel.clone()).or_insert(*mode);
                *e = (*e).max(*mode);
            }
        }
    }
    out
}

/// The relations the migration creates: new, so any lock on them is its own.
fn created(m: &Migration) -> Vec<&str> {
    m.statements
        .iter()
        .flat_map(|s| s.creates.iter())
        .filter(|o| matches!(o.kind, "table" | "index" | "partition"))
        .map(|o| o.name.as_str())
        .collect()
}

/// The collector's families, filled set by set.
struct Families {
    state: Family,
    statement: Family,
    statements: Family,
    beyond: Family,
    hazard: Family,
    errors: Family,
    error: Family,
    present: Family,
    failed: Family,
}

impl Families {
    fn new(ctx: &Ctx<'_>) -> Families {
        let (present, failed) = super::expected_objects::families(ctx);
        Families {
            state: ctx.db_gauge("pgmig_migration_state", "1 for each configured migration, with its state (pending, running, applied, failed, rolled_back) in the state label, from the tool's schema-history table and pg_stat_activity."),
            statement: ctx.db_gauge("pgmig_migration_running_statement", "Which statement (1-based, in file order) of a running migration a backend runs now, from pg_stat_activity matched to the plan by pg_query fingerprint; 0 when the tool sent the whole file at once."),
            statements: ctx.db_gauge("pgmig_migration_statements", "Statements the plan of a running migration has (the n of statement i of n)."),
            beyond: ctx.db_gauge("pgmig_migration_lock_beyond_plan", "1 for each relation a backend running a migration holds or waits for in a mode stronger than its plan says (pg_locks); planned=none when the plan names no lock on it."),
            hazard: ctx.db_gauge("pgmig_migration_planned_hazard", "1 for each hazard code the plan finds in a pending or running migration that the config does not accept (migrations[].accept_hazards)."),
            errors: ctx.db_gauge("pgmig_migration_file_parse_errors", "Migration files of a configured migrations path that could not be planned (parse error, over the size limit, off the tool's convention), at config load."),
            error: ctx.db_gauge("pgmig_migration_file_parse_error", "1 for each migration file that could not be planned, with where PostgreSQL's parser stopped (line 0: not a place in the file)."),
            present,
            failed,
        }
    }

    /// The set's state, hazard and error series; returns the series left out.
    fn set(&mut self, p: &Planned, run: &SetRun, max: usize) -> usize {
        let path = p.set.path.as_str();
        self.errors
            .add(&[("path", path)], p.set.errors.len() as f64);
        for e in p.set.errors.iter().take(MAX_FILE_ERROR_SERIES) {
            let (line, column) = (e.line.to_string(), e.column.to_string());
            self.error.add(
                &[
                    ("path", path),
                    ("file", e.file.as_str()),
                    ("line", &line),
                    ("column", &column),
                ],
                1.0,
            );
        }
        let ms = &p.set.migrations;
        let served = served(&run.states, max);
        for &mi in &served {
            let m = &ms[mi];
            let l = label(m);
            let st = run.states[mi];
            self.state.add(
                &[("path", path), ("migration", &l), ("state", st.as_str())],
                1.0,
            );
            if matches!(st, State::Pending | State::Running) {
                let mut codes: Vec<&str> = m
                    .statements
                    .iter()
                    .flat_map(|s| s.hazards.iter().map(|h| h.code))
                    .filter(|c| !p.set.accept_hazards.iter().any(|a| a == c))
                    .collect();
                codes.sort_unstable();
                codes.dedup();
                for c in codes {
                    self.hazard
                        .add(&[("path", path), ("migration", &l), ("code", c)], 1.0);
                }
            }
        }
        // Two backends on one migration: the furthest statement.
        let mut at: BTreeMap<usize, usize> = BTreeMap::new();
        for r in &run.running {
            let i = r.statement.map_or(0, |i| i + 1);
            let e = at.entry(r.migration).or_insert(i);
            *e = (*e).max(i);
        }
        for (mi, i) in at {
            let m = &ms[mi];
            let l = label(m);
            let labels = [("path", path), ("migration", l.as_str())];
            self.statement.add(&labels, i as f64);
            self.statements.add(&labels, m.statements.len() as f64);
        }
        ms.len() - served.len()
    }

    /// Locks of the set's running backends stronger than planned.
    fn locks(&mut self, p: &Planned, run: &SetRun, locks: &[HeldLock]) {
        let mut seen = std::collections::BTreeSet::new();
        for r in &run.running {
            let m = &p.set.migrations[r.migration];
            let plan = planned_locks(m, r.statement);
            let new = created(m);
            let l = label(m);
            for h in locks.iter().filter(|h| h.pid == r.pid) {
                let Some(mode) = h.mode else { continue };
                let names = std::iter::once(h.relation.as_str()).chain(h.parent.as_deref());
                if names.clone().any(|n| new.contains(&n)) {
                    continue;
                }
                let bound = names.filter_map(|n| plan.get(n)).max().copied();
                if bound.is_none_or(|b| mode > b) {
                    let planned = bound.map_or("none", LockMode::as_str);
                    let labels = [
                        ("path", p.set.path.as_str()),
                        ("migration", l.as_str()),
                        ("relation", h.relation.as_str()),
                        ("mode", mode.as_str()),
                        ("planned", planned),
                    ];
                    if seen.insert(format!("{l}\0{}\0{}", h.relation, mode.as_str())) {
                        self.beyond.add(&labels, 1.0);
                    }
                }
            }
        }
    }

    fn finish(self, out: &mut Output) {
        for f in [
            self.state,
            self.statement,
            self.statements,
            self.beyond,
            self.hazard,
            self.errors,
            self.error,
            self.present,
            self.failed,
        ] {
            out.push(f);
        }
    }
}

/// Which migrations get series: those not applied first (running, failed,
/// rolled back, then pending in the order they will run), then applied
/// ones newest first, `max` in all.
fn served(states: &[State], max: usize) -> Vec<usize> {
    let rank = |s: State| match s {
        State::Running => 0,
        State::Failed => 1,
        State::RolledBack => 2,
        State::Pending => 3,
        State::Applied => 4,
    };
    let mut idx: Vec<usize> = (0..states.len()).collect();
    idx.sort_by_key(|&i| {
        let newest_first = if states[i] == State::Applied {
            usize::MAX - i
        } else {
            i
        };
        (rank(states[i]), newest_first)
    });
    idx.truncate(max);
    idx.sort_unstable();
    idx
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
    title: r#"Collector `migrations` (your migration files, planned, against the tool's table)"#,
    intro: r#"
Served when the config has a `migrations` section (docs/configuration.md), once per target, on
its own database (`datname`). `path` is the set's configured path, `migration` the migration's
version (Flyway's repeatable ones `R__<name>`). The expected objects of applied migrations are
checked by this collector and served in `pgmig_expected_object_present` /
`pgmig_expected_object_check_failed` with the `migration` that expects them.

"#,
    metrics: &[
        Metric {
            name: "pgmig_migration_state",
            kind: Kind::Gauge,
            labels: &["target", "datname", "path", "migration", "state"],
            help: Some(
                r#"1 for each configured migration, with its state (pending, running, applied, failed, rolled_back) in the state label, from the tool's schema-history table and pg_stat_activity."#,
            ),
            source: r#"1 per configured migration, its state in `state`: `running` (a backend runs one of its statements, or sits in its open transaction), else from the tool's history table `applied`, `failed` (also dirty or half-applied), `rolled_back` (recorded as undone, or seen applied and no longer recorded), `pending`; at most `max_migrations` per set, not-applied first"#,
            collector: "migrations",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_running_statement",
            kind: Kind::Gauge,
            labels: &["target", "datname", "path", "migration"],
            help: Some(
                r#"Which statement (1-based, in file order) of a running migration a backend runs now, from pg_stat_activity matched to the plan by pg_query fingerprint; 0 when the tool sent the whole file at once."#,
            ),
            source: r#"1-based statement of the running migration a backend runs (pg_stat_activity.query matched by pg_query fingerprint); 0 when the tool sent the whole file as one query"#,
            collector: "migrations",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_statements",
            kind: Kind::Gauge,
            labels: &["target", "datname", "path", "migration"],
            help: Some(
                r#"Statements the plan of a running migration has (the n of statement i of n)."#,
            ),
            source: r#"statements in the plan of a running migration"#,
            collector: "migrations",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_lock_beyond_plan",
            kind: Kind::Gauge,
            labels: &[
                "target",
                "datname",
                "path",
                "migration",
                "relation",
                "mode",
                "planned",
            ],
            help: Some(
                r#"1 for each relation a backend running a migration holds or waits for in a mode stronger than its plan says (pg_locks); planned=none when the plan names no lock on it."#,
            ),
            source: r#"1 per relation a backend running the migration holds or waits for (pg_locks) in a mode stronger than the plan of the statements it has run (an index or TOAST table counts as its table; relations the migration creates and sequences left out); `planned` is the planned mode or `none`"#,
            collector: "migrations",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_planned_hazard",
            kind: Kind::Gauge,
            labels: &["target", "datname", "path", "migration", "code"],
            help: Some(
                r#"1 for each hazard code the plan finds in a pending or running migration that the config does not accept (migrations[].accept_hazards)."#,
            ),
            source: r#"1 per hazard code (docs/plan.md) of a pending or running migration not in `accept_hazards`"#,
            collector: "migrations",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_file_parse_errors",
            kind: Kind::Gauge,
            labels: &["target", "datname", "path"],
            help: Some(
                r#"Migration files of a configured migrations path that could not be planned (parse error, over the size limit, off the tool's convention), at config load."#,
            ),
            source: r#"files of the set that could not be planned at config load (parse error, over 4 MiB, off the tool's convention); 0 when all planned"#,
            collector: "migrations",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_file_parse_error",
            kind: Kind::Gauge,
            labels: &["target", "datname", "path", "file", "line", "column"],
            help: Some(
                r#"1 for each migration file that could not be planned, with where PostgreSQL's parser stopped (line 0: not a place in the file)."#,
            ),
            source: r#"1 per such file (at most 20 per set), where PostgreSQL's parser stopped; line 0 when the error has no place in the file"#,
            collector: "migrations",
            min_pg: Some(13),
        },
    ],
    outro: r#"
"#,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn mig(version: &str, name: &str) -> Migration {
        Migration {
            tool: crate::plan::Tool::GolangMigrate,
            version: version.into(),
            name: name.into(),
            file: PathBuf::from(format!("{version}_{name}.up.sql")),
            in_transaction: true,
            statements: Vec::new(),
        }
    }

    fn row(key: &str, status: &str) -> HistoryRow {
        HistoryRow {
            key: key.into(),
            status: status.into(),
            age: None,
        }
    }

    #[test]
    fn golang_migrate_current_version_applies_everything_up_to_it() {
        let ms = [mig("000001", "a"), mig("000002", "b"), mig("000003", "c")];
        let r = recorded(&ms, &[row("2", "current")]);
        assert_eq!(
            r,
            vec![
                Recorded::Applied(None),
                Recorded::Applied(None),
                Recorded::Nothing
            ]
        );
        let r = recorded(&ms, &[row("2", "current_dirty")]);
        assert_eq!(r[1], Recorded::Failed);
    }

    #[test]
    fn a_later_row_wins_and_prisma_names_match_their_version() {
        let ms = [mig("20250101", "init"), mig("20250102", "add")];
        let r = recorded(
            &ms,
            &[
                row("20250101_init", "applied"),
                row("20250102_add", "failed"),
                row("20250102_add", "rolled_back"),
            ],
        );
        assert_eq!(r, vec![Recorded::Applied(None), Recorded::RolledBack]);
    }

    #[test]
    fn series_keep_every_unapplied_migration_before_old_applied_ones() {
        use State::*;
        let s = [Applied, Applied, Applied, Running, Pending];
        assert_eq!(served(&s, 3), vec![2, 3, 4]);
        assert_eq!(served(&s, 10), vec![0, 1, 2, 3, 4]);
    }
}
