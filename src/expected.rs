//! Expected objects: what a migration must have created (or a rollback must
//! have removed), as listed in the config file, each turned into one catalog
//! query that answers "present or not" without taking a lock on the object.
//!
//! Names are resolved with `to_regclass()` / `to_regprocedure()`, which take
//! no lock, so a check never queues behind the migration it checks.

use serde::Deserialize;

use crate::duration::PromDuration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Table,
    Index,
    Constraint,
    Column,
    Function,
    Extension,
    Enum,
    Trigger,
    Rls,
    Policy,
    Privilege,
    Partition,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Index => "index",
            Kind::Constraint => "constraint",
            Kind::Column => "column",
            Kind::Function => "function",
            Kind::Extension => "extension",
            Kind::Enum => "enum",
            Kind::Trigger => "trigger",
            Kind::Rls => "rls",
            Kind::Policy => "policy",
            Kind::Privilege => "privilege",
            Kind::Partition => "partition",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    #[default]
    Present,
    Absent,
}

/// One expected object, checked at load time for the keys its kind needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawObject")]
pub struct ExpectedObject {
    pub kind: Kind,
    /// The canonical name used in the `name` label.
    pub label: String,
    pub expect: Expect,
    pub migration: String,
    /// Checked only once this migration version is applied (plus the set's
    /// grace), by the `migrations` collector; None: always, by `expected_objects`.
    pub after: Option<String>,
    /// Only on this target (by name); all targets when None.
    pub target: Option<String>,
    /// Only in this database; the target's own database when None.
    pub database: Option<String>,
    pub sql: String,
    pub params: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    kind: Kind,
    name: Option<String>,
    table: Option<String>,
    role: Option<String>,
    privilege: Option<String>,
    on_table: Option<String>,
    on_function: Option<String>,
    on_schema: Option<String>,
    covers: Option<PromDuration>,
    force: Option<bool>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    migration: String,
    after: Option<String>,
    target: Option<String>,
    database: Option<String>,
}

fn qualify(name: &str) -> (String, String) {
    match name.split_once('.') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None => ("public".to_string(), name.to_string()),
    }
}

/// The key checks of one kind of expected object.
struct Keys<'a>(&'a str);

impl Keys<'_> {
    fn need(&self, v: &Option<String>, key: &str) -> Result<String, String> {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("expected object of kind {}: {key} is required", self.0))
    }

    fn forbid(&self, present: bool, key: &str) -> Result<(), String> {
        if present {
            Err(format!(
                "expected object of kind {}: {key} does not apply",
                self.0
            ))
        } else {
            Ok(())
        }
    }

    /// Keys that belong to one kind only.
    fn check_applicable(&self, r: &RawObject) -> Result<(), String> {
        self.forbid(r.covers.is_some() && r.kind != Kind::Partition, "covers")?;
        self.forbid(r.force.is_some() && r.kind != Kind::Rls, "force")?;
        if r.kind != Kind::Privilege {
            self.forbid(r.role.is_some(), "role")?;
            self.forbid(r.privilege.is_some(), "privilege")?;
            self.forbid(
                r.on_table.is_some() || r.on_function.is_some() || r.on_schema.is_some(),
                "on_table/on_function/on_schema",
            )?;
        }
        Ok(())
    }
}

/// (label, SQL, parameters) of one expected-object check.
type Check = (String, &'static str, Vec<String>);

fn privilege(r: &RawObject, keys: &Keys) -> Result<Check, String> {
    keys.forbid(
        r.name.is_some() || r.table.is_some(),
        "name/table (use on_table, on_function or on_schema)",
    )?;
    let role = keys.need(&r.role, "role")?;
    let privilege = keys.need(&r.privilege, "privilege")?.to_uppercase();
    // CASE keeps has_*_privilege from erroring on a role or object that does not exist.
    Ok(match (&r.on_table, &r.on_function, &r.on_schema) {
            (Some(t), None, None) => (
                format!("{role} {privilege} ON TABLE {t}"),
                "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) OR pg_catalog.to_regclass($3) IS NULL THEN false ELSE pg_catalog.has_table_privilege($1, pg_catalog.to_regclass($3), $2) END",
                vec![role, privilege, t.clone()],
            ),
            (None, Some(f), None) => (
                format!("{role} {privilege} ON FUNCTION {f}"),
                "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) OR pg_catalog.to_regprocedure($3) IS NULL THEN false ELSE pg_catalog.has_function_privilege($1, pg_catalog.to_regprocedure($3), $2) END",
                vec![role, privilege, f.clone()],
            ),
            (None, None, Some(sc)) => (
                format!("{role} {privilege} ON SCHEMA {sc}"),
                "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $3) THEN false ELSE pg_catalog.has_schema_privilege($1, $3, $2) END",
                vec![role, privilege, sc.clone()],
            ),
            _ => return Err("expected object of kind privilege: set exactly one of on_table, on_function, on_schema".into()),
        })
}

fn function(r: &RawObject, keys: &Keys) -> Result<Check, String> {
    keys.forbid(r.table.is_some(), "table")?;
    let n = keys.need(&r.name, "name")?;
    Ok(if n.contains('(') {
        (
            n.clone(),
            "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
            vec![n],
        )
    } else {
        let (s, f) = qualify(&n);
        (n.clone(), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = $1 AND p.proname = $2)", vec![s, f])
    })
}

fn partition(r: &RawObject, keys: &Keys) -> Result<Check, String> {
    keys.forbid(r.name.is_some(), "name (use table)")?;
    let t = keys.need(&r.table, "table")?;
    let covers = r.covers.unwrap_or(PromDuration(std::time::Duration::ZERO));
    // A range partition (not the default one) whose bounds hold now() + covers;
    // MINVALUE/MAXVALUE bounds are open ends. Bounds are read from
    // pg_get_expr(relpartbound) and compared as timestamps.
    Ok((
            format!("{t} covers now+{covers}"),
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid \
             CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS b) e \
             WHERE i.inhparent = pg_catalog.to_regclass($1) AND e.b <> 'DEFAULT' \
               AND (substring(e.b FROM $re$FROM \\('([^']*)'\\)$re$) IS NULL OR substring(e.b FROM $re$FROM \\('([^']*)'\\)$re$)::timestamptz <= now() + $2::text::interval) \
               AND (substring(e.b FROM $re$TO \\('([^']*)'\\)$re$) IS NULL OR substring(e.b FROM $re$TO \\('([^']*)'\\)$re$)::timestamptz > now() + $2::text::interval))",
            // Seconds, not milliseconds: 13 and 14 reject an interval field over 2^31.
            vec![t, format!("{} seconds", covers.0.as_secs_f64())],
        ))
}

impl TryFrom<RawObject> for ExpectedObject {
    type Error = String;

    fn try_from(r: RawObject) -> Result<Self, String> {
        let keys = Keys(r.kind.as_str());
        keys.check_applicable(&r)?;
        let (label, sql, params): (String, &str, Vec<String>) = match r.kind {
            Kind::Table => {
                keys.forbid(r.table.is_some(), "table")?;
                let n = keys.need(&r.name, "name")?;
                (n.clone(), "SELECT coalesce((SELECT relkind IN ('r', 'p') FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass($1)), false)", vec![n])
            }
            Kind::Index => {
                keys.forbid(r.table.is_some(), "table")?;
                let n = keys.need(&r.name, "name")?;
                // An index left invalid by a failed CREATE INDEX CONCURRENTLY is not present.
                (n.clone(), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index WHERE indexrelid = pg_catalog.to_regclass($1) AND indisvalid AND indisready)", vec![n])
            }
            Kind::Constraint => {
                let t = keys.need(&r.table, "table")?;
                let n = keys.need(&r.name, "name")?;
                // NOT VALID (not yet validated) counts as not present: the migration is half done.
                (format!("{t}.{n}"), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = pg_catalog.to_regclass($1) AND conname = $2 AND convalidated)", vec![t, n])
            }
            Kind::Column => {
                let t = keys.need(&r.table, "table")?;
                let n = keys.need(&r.name, "name")?;
                (format!("{t}.{n}"), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped)", vec![t, n])
            }
            Kind::Function => function(&r, &keys)?,
            Kind::Extension => {
                keys.forbid(r.table.is_some(), "table")?;
                let n = keys.need(&r.name, "name")?;
                (
                    n.clone(),
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1)",
                    vec![n],
                )
            }
            Kind::Enum => {
                keys.forbid(r.table.is_some(), "table")?;
                let n = keys.need(&r.name, "name")?;
                let (s, t) = qualify(&n);
                (n.clone(), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace ns ON ns.oid = t.typnamespace WHERE t.typtype = 'e' AND ns.nspname = $1 AND t.typname = $2)", vec![s, t])
            }
            Kind::Trigger => {
                let t = keys.need(&r.table, "table")?;
                let n = keys.need(&r.name, "name")?;
                (format!("{t}.{n}"), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass($1) AND tgname = $2 AND NOT tgisinternal AND tgenabled <> 'D')", vec![t, n])
            }
            Kind::Rls => {
                keys.forbid(r.name.is_some(), "name (use table)")?;
                let t = keys.need(&r.table, "table")?;
                if r.force.unwrap_or(false) {
                    (format!("{t} (forced)"), "SELECT coalesce((SELECT relrowsecurity AND relforcerowsecurity FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass($1)), false)", vec![t])
                } else {
                    (t.clone(), "SELECT coalesce((SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass($1)), false)", vec![t])
                }
            }
            Kind::Policy => {
                let t = keys.need(&r.table, "table")?;
                let n = keys.need(&r.name, "name")?;
                (format!("{t}.{n}"), "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_policy WHERE polrelid = pg_catalog.to_regclass($1) AND polname = $2)", vec![t, n])
            }
            Kind::Privilege => privilege(&r, &keys)?,
            Kind::Partition => partition(&r, &keys)?,
        };
        // Bound to a version and not named otherwise: the version names it.
        let migration = match (&r.after, r.migration.is_empty()) {
            (Some(v), true) => v.clone(),
            _ => r.migration,
        };
        Ok(ExpectedObject {
            kind: r.kind,
            label,
            expect: r.expect,
            migration,
            after: r.after,
            target: r.target,
            database: r.database,
            sql: sql.to_string(),
            params,
        })
    }
}

impl ExpectedObject {
    /// The expectation a planned migration's created (`Present`) or dropped
    /// (`Absent`) object gives, from the plan's `kind` and `name` (the
    /// format docs/plan.md describes). None for what the catalogs cannot
    /// check by name: enum values, and names that do not split as their
    /// kind needs. A planned partition is checked as the table it is.
    pub fn from_plan(kind: &str, name: &str, expect: Expect, migration: &str) -> Option<Self> {
        let split_last = |n: &str| {
            n.rsplit_once('.')
                .map(|(t, c)| (t.to_string(), c.to_string()))
        };
        let mut r = RawObject {
            kind: Kind::Table,
            name: None,
            table: None,
            role: None,
            privilege: None,
            on_table: None,
            on_function: None,
            on_schema: None,
            covers: None,
            force: None,
            expect,
            migration: migration.to_string(),
            after: None,
            target: None,
            database: None,
        };
        match kind {
            "table" | "partition" => r.name = Some(name.to_string()),
            "index" => (r.kind, r.name) = (Kind::Index, Some(name.to_string())),
            "function" => (r.kind, r.name) = (Kind::Function, Some(name.to_string())),
            "extension" => (r.kind, r.name) = (Kind::Extension, Some(name.to_string())),
            "enum" => (r.kind, r.name) = (Kind::Enum, Some(name.to_string())),
            "constraint" | "column" | "trigger" | "policy" => {
                let (t, n) = split_last(name)?;
                r.kind = match kind {
                    "constraint" => Kind::Constraint,
                    "column" => Kind::Column,
                    "trigger" => Kind::Trigger,
                    _ => Kind::Policy,
                };
                (r.table, r.name) = (Some(t), Some(n));
            }
            "rls" => {
                r.kind = Kind::Rls;
                match name.strip_suffix(" (forced)") {
                    Some(t) => (r.table, r.force) = (Some(t.to_string()), Some(true)),
                    None => r.table = Some(name.to_string()),
                }
            }
            "privilege" => {
                let (role, rest) = name.split_once(' ')?;
                let (privilege, rest) = rest.split_once(" ON ")?;
                let (what, object) = rest.split_once(' ')?;
                r.kind = Kind::Privilege;
                (r.role, r.privilege) = (Some(role.to_string()), Some(privilege.to_string()));
                match what {
                    "TABLE" => r.on_table = Some(object.to_string()),
                    "FUNCTION" => r.on_function = Some(object.to_string()),
                    "SCHEMA" => r.on_schema = Some(object.to_string()),
                    _ => return None,
                }
            }
            _ => return None,
        }
        ExpectedObject::try_from(r).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ExpectedObject, String> {
        serde_yaml_ng::from_str::<ExpectedObject>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn each_kind_requires_its_keys() {
        assert!(parse("kind: column\nname: x")
            .unwrap_err()
            .contains("table is required"));
        assert!(parse("kind: privilege\nrole: anon\nprivilege: select")
            .unwrap_err()
            .contains("exactly one of"));
        assert!(parse("kind: index\nname: i\ncovers: 1d")
            .unwrap_err()
            .contains("covers does not apply"));
        assert!(parse("kind: table\nname: t\nbogus: 1")
            .unwrap_err()
            .contains("bogus"));
    }

    #[test]
    fn planned_objects_become_the_same_checks_as_written_ones() {
        let written =
            parse("kind: column\ntable: public.accounts\nname: token\nmigration: '3'").unwrap();
        let planned =
            ExpectedObject::from_plan("column", "public.accounts.token", Expect::Present, "3")
                .unwrap();
        assert_eq!(planned, written);
        let p = ExpectedObject::from_plan(
            "privilege",
            "anon SELECT ON TABLE public.posts",
            Expect::Absent,
            "4",
        )
        .unwrap();
        assert_eq!(p.label, "anon SELECT ON TABLE public.posts");
        assert_eq!(p.params, vec!["anon", "SELECT", "public.posts"]);
        let rls =
            ExpectedObject::from_plan("rls", "public.p (forced)", Expect::Present, "5").unwrap();
        assert_eq!(rls.label, "public.p (forced)");
        assert!(
            ExpectedObject::from_plan("enum_value", "public.mood.calm", Expect::Present, "6")
                .is_none()
        );
    }

    #[test]
    fn labels_are_canonical() {
        let p = parse("kind: privilege\nrole: anon\nprivilege: select\non_table: public.posts\nexpect: absent").unwrap();
        assert_eq!(p.label, "anon SELECT ON TABLE public.posts");
        assert_eq!(p.expect, Expect::Absent);
        let c = parse("kind: constraint\ntable: public.orgs\nname: orgs_key").unwrap();
        assert_eq!(c.label, "public.orgs.orgs_key");
        let part = parse("kind: partition\ntable: public.log\ncovers: 31d").unwrap();
        assert_eq!(part.label, "public.log covers now+31d");
        assert_eq!(part.params[1], "2678400 seconds");
    }
}
