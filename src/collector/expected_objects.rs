//! Collector `expected_objects`: is each object a migration must have
//! created (or a rollback must have removed) there?
//!
//! Runs, in each database, the catalog check of every object the config
//! lists for that target and database (see `src/expected.rs` for the checks:
//! pg_class, pg_index, pg_constraint, pg_attribute, pg_proc, pg_extension,
//! pg_type, pg_trigger, pg_policy, has_*_privilege, pg_inherits). Names are
//! resolved with `to_regclass()` and friends, which take no lock. An invalid
//! index counts as not present. PostgreSQL 13+; needs only CONNECT (the
//! privilege functions need nothing more).
//!
//! A check whose query fails (for instance a partition key that is not a
//! timestamp) gives `pgmig_expected_object_check_failed 1` and no `present`
//! series for that object; the other objects are unaffected.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_expected_object_present` | gauge | target, datname, kind, name, expected, migration |
//! | `pgmig_expected_object_check_failed` | gauge | same |

use tokio_postgres::types::ToSql;

use super::{CollectFuture, Collector, Ctx, Lane, Output, Scope, Spec};
use crate::catalogue::entry::{Kind, Metric, Section};
use crate::expected::{Expect, ExpectedObject};
use crate::exposition::Family;

pub const NAME: &str = "expected_objects";

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "whether each object in expected_objects is there (catalog checks)",
    lane: Lane::Slow,
    scope: Scope::Database,
    schedule: |s| s.collectors.expected_objects.schedule,
    build: |s| {
        Box::new(Expected {
            objects: s.expected_objects.clone(),
            main_dbs: s
                .targets
                .iter()
                .map(|t| (t.name.clone(), t.main_database()))
                .collect(),
        })
    },
    catalogue: &CATALOGUE,
};

struct Expected {
    objects: Vec<ExpectedObject>,
    /// target name -> the database its connection string names.
    main_dbs: Vec<(String, String)>,
}

impl Expected {
    fn applies(&self, o: &ExpectedObject, target: &str, datname: &str) -> bool {
        if o.target.as_deref().is_some_and(|t| t != target) {
            return false;
        }
        match &o.database {
            Some(d) => d == datname,
            None => self
                .main_dbs
                .iter()
                .any(|(t, d)| t == target && d == datname),
        }
    }
}

impl Collector for Expected {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let (mut present, mut failed) = families(ctx);
            let objects = self
                .objects
                .iter()
                .filter(|o| o.after.is_none() && self.applies(o, ctx.target, ctx.datname));
            check(ctx, objects, &mut present, &mut failed).await?;
            let mut out = Output::default();
            out.push(present);
            out.push(failed);
            Ok(out)
        })
    }
}

/// The two families of expected-object checks (the `migrations` collector
/// serves its migration-bound checks in the same families).
pub fn families(ctx: &Ctx<'_>) -> (Family, Family) {
    (
        ctx.db_gauge(
            "pgmig_expected_object_present",
            "1 when an object the config expects is there (an invalid index counts as absent), 0 when not, from the catalogs; compare with the expected label.",
        ),
        ctx.db_gauge(
            "pgmig_expected_object_check_failed",
            "1 when the catalog query checking an expected object failed (see the log); its present series is then absent.",
        ),
    )
}

/// Runs each object's catalog check; a failing check marks that object
/// only, a lost connection fails the run.
pub async fn check<'o>(
    ctx: &Ctx<'_>,
    objects: impl Iterator<Item = &'o ExpectedObject>,
    present: &mut Family,
    failed: &mut Family,
) -> Result<(), super::CollectError> {
    for o in objects {
        let expected = match o.expect {
            Expect::Present => "present",
            Expect::Absent => "absent",
        };
        let labels = [
            ("kind", o.kind.as_str()),
            ("name", o.label.as_str()),
            ("expected", expected),
            ("migration", o.migration.as_str()),
        ];
        let params: Vec<&(dyn ToSql + Sync)> =
            o.params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        match ctx.query_one(o.sql.as_str(), &params).await {
            Ok(row) => match row.try_get::<_, bool>(0) {
                Ok(b) => {
                    present.add(&labels, if b { 1.0 } else { 0.0 });
                    failed.add(&labels, 0.0);
                }
                Err(e) => {
                    tracing::warn!(target = ctx.target, datname = ctx.datname, kind = o.kind.as_str(), name = %o.label,
                        error = %e, "expected-object check returned no boolean");
                    failed.add(&labels, 1.0);
                }
            },
            Err(e) => {
                if e.is_closed() {
                    return Err(super::CollectError::query(NAME, e));
                }
                tracing::warn!(target = ctx.target, datname = ctx.datname, kind = o.kind.as_str(), name = %o.label,
                    error = %crate::db::error_text(&e), "expected-object check failed");
                failed.add(&labels, 1.0);
            }
        }
    }
    Ok(())
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
    title: r#"Collector `expected_objects` (catalogs)"#,
    intro: r#"
One series per object listed under `expected_objects` in the config (see docs/configuration.md).

"#,
    metrics: &[
        Metric {
            name: "pgmig_expected_object_present",
            kind: Kind::Gauge,
            labels: &["target", "datname", "kind", "name", "expected", "migration"],
            help: Some(
                r#"1 when an object the config expects is there (an invalid index counts as absent), 0 when not, from the catalogs; compare with the expected label."#,
            ),
            source: r#"1 when the object is there, 0 when not; an invalid index (failed CREATE INDEX CONCURRENTLY) and a NOT VALID constraint count as not there; `expected` is `present` or `absent`"#,
            collector: "expected_objects",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_expected_object_check_failed",
            kind: Kind::Gauge,
            labels: &["target", "datname", "kind", "name", "expected", "migration"],
            help: Some(
                r#"1 when the catalog query checking an expected object failed (see the log); its present series is then absent."#,
            ),
            source: r#"1 when the check's catalog query failed (the `present` series is then absent), else 0"#,
            collector: "expected_objects",
            min_pg: Some(13),
        },
    ],
    outro: r#"
"#,
};
