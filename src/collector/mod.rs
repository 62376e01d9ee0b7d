//! The collector interface and the one table that registers every collector.
//!
//! A collector runs its queries on a session it is lent, and returns the
//! metric families of one snapshot. It never touches the HTTP side; the
//! poller stores what it returns, or removes the old snapshot when it fails.
//!
//! Must not touch: the state, the self-metrics, the poller or HTTP. What a
//! run sees besides its samples it reports as an [`Observation`]
//! (tests/architecture.rs enforces this).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use crate::exposition::Rendered;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::config::{Schedule, Settings};
pub use crate::evidence::WindowEvidence;
use crate::exposition::Family;

pub mod activity;
pub mod database;
pub mod expected_objects;
pub mod frameworks;
pub mod locks;
pub mod migrations;
pub mod objects;
pub mod probe;
pub mod progress;
pub mod statements;

/// Which of a target's sessions a collector runs on. Fast collectors (locks,
/// activity: every second) get a session of their own so that a slow catalog
/// query never delays the answer to "who is blocked".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    Fast,
    Slow,
}

/// Where a collector runs: once per target (server-wide views such as
/// pg_stat_activity, on the target's own database), or in every database the
/// target lists (catalogs and per-database statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Server,
    Database,
}

/// What a collector may use during one run.
pub struct Ctx<'a> {
    pub client: &'a Client,
    pub statements: &'a crate::db::Statements,
    pub target: &'a str,
    /// The database this session is connected to.
    pub datname: &'a str,
    pub server_version_num: i32,
    /// Backend pids of the exporter's own sessions on this target, excluded
    /// from everything the collectors report.
    pub own_pids: &'a [i32],
    /// Where the run reports what it saw besides its samples.
    pub observations: &'a Observations,
}

/// Something a collector saw during a run that is not a sample of its own
/// families. The poller turns these into the exporter's self-metrics, so
/// that collectors know nothing of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The lock waits that ended since the last run, in seconds (reported
    /// on every successful run of the locks collector, empty or not).
    LockWaitsEnded(Vec<f64>),
    /// The probe's round trip, in seconds.
    ProbeRoundTrip(f64),
    /// A value of an app collector's metric that was refused or coerced.
    AppValueProblem {
        collector: String,
        metric: String,
        reason: &'static str,
    },
    /// What the run saw that the migration window weighs (each collector
    /// fills only its part); the poller keeps it with the run's snapshot.
    Window(WindowEvidence),
}

/// The observations of one run, in the order they were made. Filled
/// through [`Ctx::observe`]; the poller takes them after the run, whether
/// it succeeded or not.
#[derive(Debug, Default)]
pub struct Observations(std::sync::Mutex<Vec<Observation>>);

impl Observations {
    pub fn take(&self) -> Vec<Observation> {
        std::mem::take(&mut *self.0.lock().expect("observations lock"))
    }
}

impl Ctx<'_> {
    /// Reports something the run saw (see [`Observation`]).
    pub fn observe(&self, o: Observation) {
        self.observations
            .0
            .lock()
            .expect("observations lock")
            .push(o);
    }

    /// Runs a fixed query as a statement prepared once per session.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let st = self.statements.get(self.client, sql).await?;
        let r = self.client.query(&st, params).await;
        if r.is_err() {
            self.statements.forget(sql);
        }
        r
    }

    /// [`Ctx::query`] for exactly one row.
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let st = self.statements.get(self.client, sql).await?;
        let r = self.client.query_one(&st, params).await;
        if r.is_err() {
            self.statements.forget(sql);
        }
        r
    }

    /// [`Ctx::query`] for at most one row.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let st = self.statements.get(self.client, sql).await?;
        let r = self.client.query_opt(&st, params).await;
        if r.is_err() {
            self.statements.forget(sql);
        }
        r
    }

    pub fn gauge(&self, name: &str, help: &str) -> Family {
        Family::gauge(name, help, &[("target", self.target)])
    }

    pub fn counter(&self, name: &str, help: &str) -> Family {
        Family::counter(name, help, &[("target", self.target)])
    }

    /// A gauge of a per-database collector: `target` and `datname` first.
    pub fn db_gauge(&self, name: &str, help: &str) -> Family {
        Family::gauge(
            name,
            help,
            &[("target", self.target), ("datname", self.datname)],
        )
    }

    pub fn db_counter(&self, name: &str, help: &str) -> Family {
        Family::counter(
            name,
            help,
            &[("target", self.target), ("datname", self.datname)],
        )
    }
}

/// The result of one successful run.
#[derive(Default)]
pub struct Output {
    pub families: Vec<Rendered>,
    /// Series left out by the collector's cardinality limits.
    pub dropped: usize,
}

impl Output {
    pub fn push(&mut self, f: Family) {
        self.families.push(f.finish());
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("collector {collector}: query failed: {message}")]
    Query {
        collector: Cow<'static, str>,
        message: String,
        /// The connection is gone: the poller reconnects.
        connection_lost: bool,
    },
    #[error("collector {collector}: column {column:?}: {message}")]
    Column {
        collector: Cow<'static, str>,
        column: String,
        message: String,
    },
}

impl CollectError {
    pub fn query(
        collector: impl Into<Cow<'static, str>>,
        e: tokio_postgres::Error,
    ) -> CollectError {
        CollectError::Query {
            collector: collector.into(),
            connection_lost: e.is_closed(),
            message: crate::db::error_text(&e),
        }
    }

    pub fn connection_lost(&self) -> bool {
        matches!(
            self,
            CollectError::Query {
                connection_lost: true,
                ..
            }
        )
    }
}

/// `quote_ident()` that always quotes: catalog and config names go into SQL text.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Reads a column, naming the collector and the column when it is missing or
/// of the wrong type. Text that is not valid UTF-8 (names in a SQL_ASCII
/// database can hold any byte) is read with U+FFFD in place of the bad
/// bytes rather than failing the collector over one odd name.
pub fn col<'r, T: tokio_postgres::types::FromSql<'r> + 'static>(
    collector: &'static str,
    row: &'r tokio_postgres::Row,
    column: &str,
) -> Result<T, CollectError> {
    row.try_get::<_, T>(column).or_else(|e| {
        lossy_text::<T>(row, column).ok_or_else(|| CollectError::Column {
            collector: collector.into(),
            column: column.to_string(),
            message: crate::db::error_text(&e),
        })
    })
}

/// `String` and `Option<String>` columns read again, lossily; `None` for
/// any other type or when that fails too.
fn lossy_text<T: 'static>(row: &tokio_postgres::Row, column: &str) -> Option<T> {
    use std::any::{Any, TypeId};
    let v: Box<dyn Any> = if TypeId::of::<T>() == TypeId::of::<String>() {
        Box::new(row.try_get::<_, LossyText>(column).ok()?.0)
    } else if TypeId::of::<T>() == TypeId::of::<Option<String>>() {
        Box::new(
            row.try_get::<_, Option<LossyText>>(column)
                .ok()?
                .map(|t| t.0),
        )
    } else {
        return None;
    };
    v.downcast::<T>().ok().map(|b| *b)
}

/// Text of any of the types `String` reads, with invalid UTF-8 replaced.
pub struct LossyText(pub String);

impl<'a> tokio_postgres::types::FromSql<'a> for LossyText {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(LossyText(String::from_utf8_lossy(raw).into_owned()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <String as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

pub type CollectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Output, CollectError>> + Send + 'a>>;

pub trait Collector: Send {
    /// The oldest server_version_num the collector supports.
    fn min_server_version(&self) -> i32 {
        130000
    }
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a>;
    /// Called when a run failed or the session was lost: state kept between
    /// runs (such as lock waits in progress) is no longer trustworthy.
    fn reset(&mut self) {}
}

/// One entry of the registration table.
pub struct Spec {
    /// Its name: the key under `collectors:`, the `collector` label and
    /// `--collector.<name>`.
    pub name: &'static str,
    /// What it reads, for `--help` and docs/configuration.md.
    pub about: &'static str,
    pub lane: Lane,
    pub scope: Scope,
    pub schedule: fn(&Settings) -> Schedule,
    pub build: fn(&Settings) -> Box<dyn Collector>,
    /// The metrics it serves: its section of the catalogue and of
    /// docs/metrics.md (`CATALOGUE` next to its code).
    pub catalogue: &'static crate::catalogue::entry::Section,
}

/// Every collector the exporter has, in the order they run within a lane.
pub const COLLECTORS: &[Spec] = &[
    locks::SPEC,
    activity::SPEC,
    probe::SPEC,
    progress::SPEC,
    expected_objects::SPEC,
    frameworks::SPEC,
    migrations::SPEC,
    database::SPEC,
    objects::INDEXES,
    objects::TABLES,
    objects::FUNCTIONS,
    statements::SPEC,
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_registry_and_the_config_sections_name_the_same_collectors() {
        let mut reg: Vec<&str> = super::COLLECTORS.iter().map(|s| s.name).collect();
        let mut cfg: Vec<&str> = crate::config::COLLECTOR_KEYS.to_vec();
        reg.sort_unstable();
        cfg.sort_unstable();
        assert_eq!(reg, cfg);
        let mut c = crate::config::CollectorSettings::default();
        for s in super::COLLECTORS {
            assert!(c.schedule_mut(s.name).is_some(), "{}", s.name);
            assert!(!c.section_text(s.name).is_empty(), "{}", s.name);
        }
    }
}
