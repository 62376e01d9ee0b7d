//! Collector `activity`: who is connected and what they are doing.
//!
//! Reads `pg_stat_activity` (PostgreSQL 13+; `backend_type` exists since 10)
//! and the `max_connections`, `superuser_reserved_connections` and, on 16+,
//! `reserved_connections` settings. Needs `pg_monitor` (or `pg_read_all_stats`)
//! to see other users' sessions; without it their state and query are NULL
//! and are counted under state `none`.
//!
//! The exporter's own backends are excluded from everything except
//! `pgmig_connections`, where they do take a slot.
//!
//! Reading `pg_stat_activity` builds a row for every backend (5-10 ms at
//! 1,000 backends), so the full read runs every [`FULL_READ_EVERY`], and
//! every poll while a DDL statement runs. The polls in between run a gate
//! that reads only the backend status array: the backends whose current
//! statement started since the last read and looks like DDL (its leading
//! word, behind comments) or has run for half a second. Such a statement not
//! seen before makes that poll a full read, so a migration's DDL is seen on
//! the first poll after it starts, and a new long statement within a second
//! or two; the polls in between serve the last read again (the ages in it
//! are as of that read, at most [`FULL_READ_EVERY`] old).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_backends` | gauge | target, state |
//! | `pgmig_backends_by_wait_event_type` | gauge | target, wait_event_type |
//! | `pgmig_backends_by_type` | gauge | target, backend_type |
//! | `pgmig_connections` | gauge | target |
//! | `pgmig_connections_max` | gauge | target |
//! | `pgmig_connections_reserved` | gauge | target |
//! | `pgmig_oldest_query_seconds` | gauge | target, pid, datname, usename, application_name |
//! | `pgmig_oldest_transaction_seconds` | gauge | target, pid, datname, usename, application_name |
//! | `pgmig_longest_idle_in_transaction_seconds` | gauge | target, pid, datname, usename, application_name |
//! | `pgmig_ddl_running` | gauge | target, command |
//! | `pgmig_ddl_duration_seconds` | gauge | target, command, pid, datname, usename, application_name (+ query when opted in) |

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use super::{
    col, CollectError, CollectFuture, Collector, Ctx, Lane, Observation, Output, Scope, Spec,
    WindowEvidence,
};
use crate::catalogue::entry::{Kind, Metric, Section};

pub const NAME: &str = "activity";

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "sessions by state, idle in transaction, running DDL and the oldest query (pg_stat_activity)",
    lane: Lane::Fast,
    scope: Scope::Server,
    schedule: |s| s.collectors.activity.schedule,
    build: |s| {
        Box::new(Activity {
            query_text: s.collectors.activity.query_text,
            max_len: s.collectors.activity.query_text_max_length,
            last: None,
        })
    },
    catalogue: &CATALOGUE,
};

/// States of a client backend, reported as 0 when absent. `none` is a NULL
/// state: a session the exporter's role may not see.
pub const STATES: &[&str] = &[
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
    "none",
];

/// Wait event types of PostgreSQL 13 to 18, reported as 0 when absent;
/// `none` means not waiting.
pub const WAIT_EVENT_TYPES: &[&str] = &[
    "Activity",
    "BufferPin",
    "Client",
    "Extension",
    "IO",
    "IPC",
    "Lock",
    "LWLock",
    "Timeout",
    "none",
];

/// Backend types always reported (0 when absent); others appear as seen.
pub const BACKEND_TYPES: &[&str] = &[
    "client backend",
    "autovacuum worker",
    "autovacuum launcher",
    "background worker",
    "parallel worker",
    "walsender",
    "checkpointer",
    "background writer",
    "walwriter",
];

// The commands `pgmig_ddl_running` counts, reported as 0 when absent; the
// window weighs the same list.
use crate::evidence::DDL_COMMANDS;

struct Activity {
    query_text: bool,
    max_len: usize,
    last: Option<LastRead>,
}

/// The longest the last full read is served again when no DDL runs.
pub const FULL_READ_EVERY: Duration = Duration::from_secs(15);

/// The last full read of `pg_stat_activity`, and the statements (pid,
/// start) the gate has already seen, so that each makes one read.
struct LastRead {
    counts: Vec<CountRow>,
    max: i64,
    reserved: i64,
    details: Vec<DetailRow>,
    at: Instant,
    /// The server's clock at that read (epoch seconds).
    server_at: f64,
    seen: HashSet<(i32, u64)>,
}

impl LastRead {
    /// A full read is due: the last one is old, or it saw DDL running.
    fn due(&self, now: Instant) -> bool {
        now.duration_since(self.at) >= FULL_READ_EVERY
            || self
                .details
                .iter()
                .any(|d| d.kind == "ddl" && d.query.as_deref().and_then(classify_ddl).is_some())
    }
}

/// A statement that starts with a DDL word, behind whitespace, comments or a
/// parenthesis (the words `classify_ddl` reads). Anchored, so that the
/// common statement fails on its first letter: the unanchored pattern cost
/// 60 ms over 1,000 backends' query texts.
macro_rules! ddl_prefix {
    () => {
        "'^(\\s|--[^\\n]*\\n|/\\*([^*]|\\*+[^*/])*\\*+/|\\()*(create|alter|drop|vacuum|analy[sz]e|cluster|reindex|truncate|refresh|lock|comment|grant|revoke)\\M'"
    };
}

/// The gate: backends whose current statement started after `$2` (epoch
/// seconds) and either starts with a DDL word (behind whitespace, comments
/// or a parenthesis) or has run for half a second without waiting on its
/// client (a statement that will be the oldest query, not an idle session).
/// Reads the backend status array only, not `pg_stat_activity`.
const STARTED_SQL: &str = concat!(
    "\
SELECT x.pid, extract(epoch FROM x.started)::float8 AS started \
FROM (SELECT b, pg_catalog.pg_stat_get_backend_pid(b) AS pid, \
             pg_catalog.pg_stat_get_backend_activity_start(b) AS started \
      FROM pg_catalog.pg_stat_get_backend_idset() b) x \
WHERE x.started >= pg_catalog.to_timestamp($2) AND x.pid <> ALL($1) \
  AND ((x.started <= now() - interval '0.5 seconds' \
        AND pg_catalog.pg_stat_get_backend_wait_event_type(x.b) IS DISTINCT FROM 'Client') \
       OR pg_catalog.pg_stat_get_backend_activity(x.b) ~* ",
    ddl_prefix!(),
    ")"
);

const COUNTS_SQL: &str = "\
SELECT coalesce(state, 'none') AS state, coalesce(wait_event_type, 'none') AS wait_event_type, \
       coalesce(backend_type, CASE WHEN usename IS NOT NULL THEN 'hidden' ELSE '' END) AS backend_type, \
       (pid = ANY($1)) AS own, count(*)::int8 AS n \
FROM pg_catalog.pg_stat_activity GROUP BY 1, 2, 3, 4";

const SETTINGS_SQL_13: &str = "\
SELECT extract(epoch FROM now())::float8 AS now, \
       pg_catalog.current_setting('max_connections')::int8 AS max_connections, \
       pg_catalog.current_setting('superuser_reserved_connections')::int8 AS reserved";

const SETTINGS_SQL_16: &str = "\
SELECT extract(epoch FROM now())::float8 AS now, \
       pg_catalog.current_setting('max_connections')::int8 AS max_connections, \
       (pg_catalog.current_setting('superuser_reserved_connections')::int8 \
        + pg_catalog.current_setting('reserved_connections')::int8) AS reserved";

/// The oldest query, transaction and idle-in-transaction session, and every
/// active statement that looks like DDL (classified exactly in Rust, where
/// comments can be skipped). pg_stat_activity is read once (the CTE is
/// referenced several times, so it is materialised).
const DETAIL_SQL: &str = concat!(
    "\
WITH a AS (\
  SELECT pid, coalesce(datname, '') AS datname, coalesce(usename, '') AS usename, \
         coalesce(application_name, '') AS application_name, state, query, \
         xact_start, query_start, state_change \
  FROM pg_catalog.pg_stat_activity \
  WHERE backend_type = 'client backend' AND pid <> ALL($1)) \
(SELECT 'query' AS kind, pid, datname, usename, application_name, \
        extract(epoch FROM now() - query_start)::float8 AS seconds, left(query, 1024) AS query \
   FROM a WHERE state = 'active' AND query_start IS NOT NULL ORDER BY query_start LIMIT 1) \
UNION ALL \
(SELECT 'transaction', pid, datname, usename, application_name, \
        extract(epoch FROM now() - xact_start)::float8, left(query, 1024) \
   FROM a WHERE xact_start IS NOT NULL ORDER BY xact_start LIMIT 1) \
UNION ALL \
(SELECT 'idle_in_transaction', pid, datname, usename, application_name, \
        extract(epoch FROM now() - state_change)::float8, left(query, 1024) \
   FROM a WHERE state IN ('idle in transaction', 'idle in transaction (aborted)') \
   ORDER BY state_change LIMIT 1) \
UNION ALL \
(SELECT 'ddl', pid, datname, usename, application_name, \
        extract(epoch FROM now() - query_start)::float8, left(query, 1024) \
   FROM a WHERE state = 'active' AND query ~* ",
    ddl_prefix!(),
    ")"
);

/// One row of `DETAIL_SQL`.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailRow {
    pub kind: String,
    pub pid: i32,
    pub datname: String,
    pub usename: String,
    pub application_name: String,
    pub seconds: f64,
    pub query: Option<String>,
}

impl Collector for Activity {
    fn reset(&mut self) {
        self.last = None;
    }

    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let mut started = Vec::new();
            if let Some(last) = self.last.as_ref().filter(|l| !l.due(Instant::now())) {
                started = started_since(ctx, last.server_at).await?;
                if started.iter().all(|k| last.seen.contains(k)) {
                    return Ok(self.build(
                        ctx,
                        &last.counts,
                        last.max,
                        last.reserved,
                        &last.details,
                    ));
                }
            }
            let mut read = full_read(ctx).await?;
            // Statements that started a second before this read are in it;
            // older ones are behind every later gate's window.
            read.seen = self
                .last
                .take()
                .map(|l| l.seen)
                .unwrap_or_default()
                .into_iter()
                .chain(started)
                .filter(|(_, s)| f64::from_bits(*s) >= read.server_at - GATE_SLACK_S)
                .collect();
            let out = self.build(ctx, &read.counts, read.max, read.reserved, &read.details);
            self.last = Some(read);
            Ok(out)
        })
    }
}

/// The gate looks this far before the last read, so that a statement that
/// started while the read ran is not missed.
const GATE_SLACK_S: f64 = 2.0;

/// The statements `STARTED_SQL` finds since `since - GATE_SLACK_S`.
async fn started_since(ctx: &Ctx<'_>, since: f64) -> Result<Vec<(i32, u64)>, CollectError> {
    let q = |e| CollectError::query(NAME, e);
    let since = since - GATE_SLACK_S;
    let rows = ctx
        .query(STARTED_SQL, &[&ctx.own_pids, &since])
        .await
        .map_err(q)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let started: f64 = col(NAME, r, "started")?;
        out.push((col(NAME, r, "pid")?, started.to_bits()));
    }
    Ok(out)
}

/// Counts, settings and the oldest sessions and DDL from `pg_stat_activity`,
/// pipelined on the one connection: three statements, one round trip.
async fn full_read(ctx: &Ctx<'_>) -> Result<LastRead, CollectError> {
    let settings_sql = if ctx.server_version_num >= 160000 {
        SETTINGS_SQL_16
    } else {
        SETTINGS_SQL_13
    };
    let own: &[i32] = ctx.own_pids;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&own];
    let (counts, settings, details) = tokio::join!(
        ctx.query(COUNTS_SQL, &params),
        ctx.query_one(settings_sql, &[]),
        ctx.query(DETAIL_SQL, &params),
    );
    let q = |e| CollectError::query(NAME, e);
    let (counts, settings, details) = (
        counts.map_err(q)?,
        settings.map_err(q)?,
        details.map_err(q)?,
    );
    let mut count_rows = Vec::with_capacity(counts.len());
    for r in &counts {
        count_rows.push(CountRow {
            state: col(NAME, r, "state")?,
            wait_event_type: col(NAME, r, "wait_event_type")?,
            backend_type: col(NAME, r, "backend_type")?,
            own: col(NAME, r, "own")?,
            n: col::<i64>(NAME, r, "n")?,
        });
    }
    let mut detail_rows = Vec::with_capacity(details.len());
    for r in &details {
        detail_rows.push(DetailRow {
            kind: col(NAME, r, "kind")?,
            pid: col(NAME, r, "pid")?,
            datname: col(NAME, r, "datname")?,
            usename: col(NAME, r, "usename")?,
            application_name: col(NAME, r, "application_name")?,
            seconds: col::<Option<f64>>(NAME, r, "seconds")?.unwrap_or(0.0),
            query: col(NAME, r, "query")?,
        });
    }
    Ok(LastRead {
        counts: count_rows,
        max: col(NAME, &settings, "max_connections")?,
        reserved: col(NAME, &settings, "reserved")?,
        details: detail_rows,
        at: Instant::now(),
        server_at: col(NAME, &settings, "now")?,
        seen: HashSet::new(),
    })
}

/// One row of `COUNTS_SQL`. Without pg_monitor, other users' sessions have
/// NULL backend_type and state; those with a user name are counted as
/// client backends in state `none` (background processes have none, except
/// the logical replication launcher, which may be counted with them).
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    pub state: String,
    pub wait_event_type: String,
    pub backend_type: String,
    pub own: bool,
    pub n: i64,
}

impl Activity {
    fn build(
        &self,
        ctx: &Ctx<'_>,
        counts: &[CountRow],
        max: i64,
        reserved: i64,
        details: &[DetailRow],
    ) -> Output {
        let mut out = Output::default();
        let seeded = |keys: &[&str]| -> BTreeMap<String, f64> {
            keys.iter().map(|k| (k.to_string(), 0.0)).collect()
        };
        let mut by_state = seeded(STATES);
        let mut by_wait = seeded(WAIT_EVENT_TYPES);
        let mut by_type = seeded(BACKEND_TYPES);
        let mut connections = 0.0;
        for r in counts {
            let n = r.n as f64;
            let client = r.backend_type == "client backend" || r.backend_type == "hidden";
            if client {
                connections += n;
            }
            if r.own {
                continue;
            }
            if client {
                *by_state.entry(r.state.clone()).or_default() += n;
            }
            *by_wait.entry(r.wait_event_type.clone()).or_default() += n;
            if !r.backend_type.is_empty() && r.backend_type != "hidden" {
                *by_type.entry(r.backend_type.clone()).or_default() += n;
            }
        }
        let mut f = ctx.gauge(
            "pgmig_backends",
            "Client backends by state, from pg_stat_activity (the exporter's own excluded).",
        );
        for (k, v) in &by_state {
            f.add(&[("state", k)], *v);
        }
        out.push(f);
        let mut f = ctx.gauge(
            "pgmig_backends_by_wait_event_type",
            "Backends by wait_event_type, from pg_stat_activity; none means not waiting.",
        );
        for (k, v) in &by_wait {
            f.add(&[("wait_event_type", k)], *v);
        }
        out.push(f);
        let mut f = ctx.gauge(
            "pgmig_backends_by_type",
            "Backends by backend_type, from pg_stat_activity.",
        );
        for (k, v) in &by_type {
            f.add(&[("backend_type", k)], *v);
        }
        out.push(f);
        let mut f = ctx.gauge(
            "pgmig_connections",
            "Client backends connected, the exporter's own included, from pg_stat_activity.",
        );
        f.add(&[], connections);
        out.push(f);
        let mut f = ctx.gauge("pgmig_connections_max", "The max_connections setting.");
        f.add(&[], max as f64);
        out.push(f);
        let mut f = ctx.gauge(
            "pgmig_connections_reserved",
            "Connection slots reserved for superusers and pg_use_reserved_connections (superuser_reserved_connections plus reserved_connections on 16+).",
        );
        f.add(&[], reserved as f64);
        out.push(f);

        self.push_oldest(ctx, details, &mut out);
        self.push_ddl(ctx, details, &mut out);
        out
    }

    /// The oldest query, the oldest transaction and the longest idle in
    /// transaction: one series each, with the backend to act on.
    fn push_oldest(&self, ctx: &Ctx<'_>, details: &[DetailRow], out: &mut Output) {
        for (kind, name, help) in [
            ("query", "pgmig_oldest_query_seconds", "Age of the oldest running statement of a client backend (now() - query_start), from pg_stat_activity; 0 with empty labels when none runs."),
            ("transaction", "pgmig_oldest_transaction_seconds", "Age of the oldest open transaction of a client backend (now() - xact_start), from pg_stat_activity; 0 with empty labels when none is open."),
            ("idle_in_transaction", "pgmig_longest_idle_in_transaction_seconds", "Time the longest idle-in-transaction client backend has been idle (now() - state_change), from pg_stat_activity; 0 with empty labels when none."),
        ] {
            let mut f = ctx.gauge(name, help);
            match details.iter().find(|d| d.kind == kind) {
                Some(d) => {
                    let pid = d.pid.to_string();
                    let mut labels = vec![
                        ("pid", pid.as_str()),
                        ("datname", d.datname.as_str()),
                        ("usename", d.usename.as_str()),
                        ("application_name", d.application_name.as_str()),
                    ];
                    let text;
                    if self.query_text {
                        text = normalize_query(d.query.as_deref().unwrap_or(""), self.max_len);
                        labels.push(("query", &text));
                    }
                    f.add(&labels, d.seconds.max(0.0));
                }
                None => {
                    let mut labels = vec![("pid", ""), ("datname", ""), ("usename", ""), ("application_name", "")];
                    if self.query_text {
                        labels.push(("query", ""));
                    }
                    f.add(&labels, 0.0);
                }
            }
            out.push(f);
        }
    }

    /// Running DDL by command and how long each has run; the commands are
    /// the window's evidence.
    fn push_ddl(&self, ctx: &Ctx<'_>, details: &[DetailRow], out: &mut Output) {
        let mut running: BTreeMap<&str, f64> =
            DDL_COMMANDS.iter().map(|(c, _)| (*c, 0.0)).collect();
        let mut f = ctx.gauge(
            "pgmig_ddl_duration_seconds",
            "How long each running DDL statement has run (now() - query_start), by command, from pg_stat_activity.",
        );
        for d in details.iter().filter(|d| d.kind == "ddl") {
            let Some(cmd) = d.query.as_deref().and_then(classify_ddl) else {
                continue;
            };
            *running.entry(cmd).or_default() += 1.0;
            let pid = d.pid.to_string();
            let mut labels = vec![
                ("command", cmd),
                ("pid", pid.as_str()),
                ("datname", d.datname.as_str()),
                ("usename", d.usename.as_str()),
                ("application_name", d.application_name.as_str()),
            ];
            let text;
            if self.query_text {
                text = normalize_query(d.query.as_deref().unwrap_or(""), self.max_len);
                labels.push(("query", &text));
            }
            f.add(&labels, d.seconds.max(0.0));
        }
        out.push(f);
        let mut f = ctx.gauge(
            "pgmig_ddl_running",
            "Running DDL statements by command, from pg_stat_activity.",
        );
        let mut ddl_running = Vec::new();
        for (cmd, n) in running {
            f.add(&[("command", cmd)], n);
            if n > 0.0 {
                ddl_running.push(cmd.to_string());
            }
        }
        out.push(f);
        ctx.observe(Observation::Window(WindowEvidence {
            ddl_running,
            ..WindowEvidence::default()
        }));
    }
}

/// Upper-cased words of a statement after leading comments and whitespace,
/// up to `limit` words.
fn leading_words(sql: &str, limit: usize) -> Vec<String> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut words = Vec::new();
    while i < b.len() && words.len() < limit {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b'(' || c == b')' || c == b',' {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            // Comments nest in PostgreSQL.
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            words.push(sql[start..i].to_ascii_uppercase());
        } else {
            // A quoted identifier, a number or punctuation: the command words are behind us.
            break;
        }
    }
    words
}

/// The DDL command a statement starts with, or None when it is not DDL.
pub fn classify_ddl(sql: &str) -> Option<&'static str> {
    let w = leading_words(sql, 8);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let has = |word: &str| w.contains(&word);
    Some(match w.as_slice() {
        ["CREATE", "UNIQUE", "INDEX", ..] | ["CREATE", "INDEX", ..] => {
            if has("CONCURRENTLY") {
                "CREATE INDEX CONCURRENTLY"
            } else {
                "CREATE INDEX"
            }
        }
        ["DROP", "INDEX", ..] => {
            if has("CONCURRENTLY") {
                "DROP INDEX CONCURRENTLY"
            } else {
                "DROP INDEX"
            }
        }
        ["REINDEX", ..] => {
            if has("CONCURRENTLY") {
                "REINDEX CONCURRENTLY"
            } else {
                "REINDEX"
            }
        }
        ["CREATE", "TABLE", ..]
        | ["CREATE", "UNLOGGED", "TABLE", ..]
        | ["CREATE", "TEMP" | "TEMPORARY", "TABLE", ..] => "CREATE TABLE",
        ["ALTER", "TABLE", ..] => "ALTER TABLE",
        ["DROP", "TABLE", ..] => "DROP TABLE",
        ["TRUNCATE", ..] => "TRUNCATE",
        ["VACUUM", ..] => {
            if has("FULL") {
                "VACUUM FULL"
            } else {
                "VACUUM"
            }
        }
        ["ANALYZE" | "ANALYSE", ..] => "ANALYZE",
        ["CLUSTER", ..] => "CLUSTER",
        ["REFRESH", "MATERIALIZED", "VIEW", ..] => "REFRESH MATERIALIZED VIEW",
        ["LOCK", ..] => "LOCK TABLE",
        ["CREATE" | "ALTER" | "DROP" | "COMMENT" | "GRANT" | "REVOKE", ..] => "OTHER DDL",
        _ => return None,
    })
}

/// For the opt-in `query` label: comments dropped, string and number
/// literals replaced by `?` (they may hold secrets or personal data),
/// whitespace collapsed, truncated to `max_len` characters.
pub fn normalize_query(sql: &str, max_len: usize) -> String {
    let mut out = String::with_capacity(sql.len().min(max_len + 8));
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut last_space = true;
    while i < chars.len() && out.chars().count() < max_len {
        match token_at(&chars, i) {
            Token::Comment(next) => i = next,
            Token::Literal(next) => {
                i = next;
                out.push('?');
                last_space = false;
            }
            Token::Other if chars[i].is_whitespace() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
                i += 1;
            }
            Token::Other => {
                out.push(chars[i]);
                last_space = false;
                i += 1;
            }
        }
    }
    let t = out.trim_end();
    t.chars().take(max_len).collect()
}

/// What [`normalize_query`] finds at a position, with the index after it.
enum Token {
    /// `-- ...` or a (nested) `/* ... */`: dropped.
    Comment(usize),
    /// A quoted or dollar-quoted string or a number: replaced by `?`.
    Literal(usize),
    /// Anything else: one character, kept.
    Other,
}

fn token_at(chars: &[char], i: usize) -> Token {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    if c == '-' && next == Some('-') {
        let end = chars[i..].iter().position(|&x| x == '\n');
        return Token::Comment(end.map_or(chars.len(), |e| i + e));
    }
    if c == '/' && next == Some('*') {
        return Token::Comment(block_comment_end(chars, i));
    }
    if c == '\'' {
        return Token::Literal(quoted_end(chars, i));
    }
    if c == '$' {
        if let Some(end) = dollar_quoted_end(chars, i) {
            return Token::Literal(end);
        }
    }
    let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if c.is_ascii_digit() && !prev_ident {
        let digits = chars[i..]
            .iter()
            .position(|&x| !(x.is_ascii_digit() || x == '.'));
        return Token::Literal(digits.map_or(chars.len(), |e| i + e));
    }
    Token::Other
}

/// The index after the `/* ... */` starting at `i`, nested comments included.
fn block_comment_end(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The index after the `'...'` starting at `i` (`''` is a quote inside).
fn quoted_end(chars: &[char], mut i: usize) -> usize {
    i += 1;
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            break;
        }
        i += 1;
    }
    i + 1
}

/// The index after the `$tag$ ... $tag$` starting at `i`; None when `$`
/// starts no closed dollar-quoted string (a parameter such as `$1`).
fn dollar_quoted_end(chars: &[char], i: usize) -> Option<usize> {
    let end = chars[i + 1..].iter().position(|&x| x == '$')?;
    let tag: String = chars[i..i + end + 2].iter().collect();
    if !tag[1..tag.len() - 1]
        .chars()
        .all(|x| x.is_alphanumeric() || x == '_')
    {
        return None;
    }
    let rest: String = chars[i + tag.chars().count()..].iter().collect();
    let close = rest.find(&tag)?;
    Some(i + tag.chars().count() + rest[..close].chars().count() + tag.chars().count())
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
    title: r#"Collector `activity` (pg_stat_activity)"#,
    intro: r#"
The exporter's own backends are excluded from everything except `pgmig_connections`.

"#,
    metrics: &[
        Metric {
            name: "pgmig_backends",
            kind: Kind::Gauge,
            labels: &["target", "state"],
            help: Some(
                r#"Client backends by state, from pg_stat_activity (the exporter's own excluded)."#,
            ),
            source: r#"client backends by `state`; all of active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled and none (NULL: not visible to the exporter's role) are always present"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_backends_by_wait_event_type",
            kind: Kind::Gauge,
            labels: &["target", "wait_event_type"],
            help: Some(
                r#"Backends by wait_event_type, from pg_stat_activity; none means not waiting."#,
            ),
            source: r#"backends by `wait_event_type` (Activity, BufferPin, Client, Extension, IO, IPC, Lock, LWLock, Timeout always present; none = not waiting)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_backends_by_type",
            kind: Kind::Gauge,
            labels: &["target", "backend_type"],
            help: Some(r#"Backends by backend_type, from pg_stat_activity."#),
            source: r#"backends by `backend_type` (the common types always present, others as seen)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_connections",
            kind: Kind::Gauge,
            labels: &["target"],
            help: Some(
                r#"Client backends connected, the exporter's own included, from pg_stat_activity."#,
            ),
            source: r#"client backends connected, the exporter's own included"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_connections_max",
            kind: Kind::Gauge,
            labels: &["target"],
            help: Some(r#"The max_connections setting."#),
            source: r#"`max_connections`"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_connections_reserved",
            kind: Kind::Gauge,
            labels: &["target"],
            help: Some(
                r#"Connection slots reserved for superusers and pg_use_reserved_connections (superuser_reserved_connections plus reserved_connections on 16+)."#,
            ),
            source: r#"`superuser_reserved_connections` (+ `reserved_connections` on 16+)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_oldest_query_seconds",
            kind: Kind::Gauge,
            labels: &["target", "pid", "datname", "usename", "application_name"],
            help: Some(
                r#"Age of the oldest running statement of a client backend (now() - query_start), from pg_stat_activity; 0 with empty labels when none runs."#,
            ),
            source: r#"`now() - query_start` of the oldest active statement; 0 with empty labels when none (`query` label added when `query_text` is on)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_oldest_transaction_seconds",
            kind: Kind::Gauge,
            labels: &["target", "pid", "datname", "usename", "application_name"],
            help: Some(
                r#"Age of the oldest open transaction of a client backend (now() - xact_start), from pg_stat_activity; 0 with empty labels when none is open."#,
            ),
            source: r#"`now() - xact_start` of the oldest open transaction; 0 with empty labels when none (`query` label when opted in)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_longest_idle_in_transaction_seconds",
            kind: Kind::Gauge,
            labels: &["target", "pid", "datname", "usename", "application_name"],
            help: Some(
                r#"Time the longest idle-in-transaction client backend has been idle (now() - state_change), from pg_stat_activity; 0 with empty labels when none."#,
            ),
            source: r#"`now() - state_change` of the longest idle-in-transaction session; 0 with empty labels when none (`query` label when opted in)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_ddl_running",
            kind: Kind::Gauge,
            labels: &["target", "command"],
            help: Some(r#"Running DDL statements by command, from pg_stat_activity."#),
            source: r#"running DDL statements by command: CREATE INDEX, CREATE INDEX CONCURRENTLY, DROP INDEX, DROP INDEX CONCURRENTLY, REINDEX, REINDEX CONCURRENTLY, CREATE TABLE, ALTER TABLE, DROP TABLE, TRUNCATE, VACUUM, VACUUM FULL, ANALYZE, CLUSTER, REFRESH MATERIALIZED VIEW, LOCK TABLE, OTHER DDL (always present)"#,
            collector: "activity",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_ddl_duration_seconds",
            kind: Kind::Gauge,
            labels: &[
                "target",
                "command",
                "pid",
                "datname",
                "usename",
                "application_name",
            ],
            help: Some(
                r#"How long each running DDL statement has run (now() - query_start), by command, from pg_stat_activity."#,
            ),
            source: r#"`now() - query_start` of each running DDL statement (`query` label when opted in)"#,
            collector: "activity",
            min_pg: Some(13),
        },
    ],
    outro: r#"
"#,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ddl_behind_comments() {
        assert_eq!(
            classify_ddl("/* flyway */ -- x\n create unique index concurrently idx on t(a)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        assert_eq!(
            classify_ddl("CREATE INDEX i ON t (a)"),
            Some("CREATE INDEX")
        );
        assert_eq!(
            classify_ddl("alter table t add column c int"),
            Some("ALTER TABLE")
        );
        assert_eq!(
            classify_ddl("VACUUM (FULL, ANALYZE) t"),
            Some("VACUUM FULL")
        );
        assert_eq!(classify_ddl("vacuum t"), Some("VACUUM"));
        assert_eq!(
            classify_ddl("REINDEX INDEX CONCURRENTLY i"),
            Some("REINDEX CONCURRENTLY")
        );
        assert_eq!(
            classify_ddl("lock table t in access exclusive mode"),
            Some("LOCK TABLE")
        );
        assert_eq!(
            classify_ddl("create policy p on t using (true)"),
            Some("OTHER DDL")
        );
        assert_eq!(
            classify_ddl("select * from t where x = 'create index'"),
            None
        );
        assert_eq!(classify_ddl("update t set altered = true"), None);
    }

    #[test]
    fn normalizes_literals_and_truncates() {
        assert_eq!(
            normalize_query(
                "SELECT *  FROM users\n WHERE email = 'a@b.c' AND id = 42 -- hi",
                200
            ),
            "SELECT * FROM users WHERE email = ? AND id = ?"
        );
        assert_eq!(
            normalize_query("select $x$secret$x$, 'it''s'", 200),
            "select ?, ?"
        );
        assert_eq!(
            normalize_query("select t1.c2 from t1", 200),
            "select t1.c2 from t1"
        );
        assert_eq!(
            normalize_query("CREATE INDEX CONCURRENTLY idx ON t (a)", 12),
            "CREATE INDEX"
        );
    }

    #[test]
    fn normalizing_drops_nested_comments_keeps_parameters_and_ends_unclosed_literals() {
        assert_eq!(
            normalize_query("/* a /* b */ c */ select 1.5 /* x", 200),
            "select ?"
        );
        assert_eq!(normalize_query("select $1, $$x$$", 200), "select $?, ?");
        assert_eq!(normalize_query("select 'unclosed secret", 200), "select ?");
        assert_eq!(
            normalize_query("select $q$ never closed", 200),
            "select $q$ never closed"
        );
    }
}
