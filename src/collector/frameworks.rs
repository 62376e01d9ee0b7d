//! Collector `frameworks`: the schema-history tables of migration tools, and
//! the migration state each one records.
//!
//! Finds the tables in `pg_class`, `pg_namespace` and `pg_attribute` (any
//! schema but `pg_*` and `information_schema`), tells the tools apart by
//! table name and columns, then checks `pg_locks` before reading anything: a
//! table with an AccessExclusiveLock held or waited for is not read this poll
//! (the exporter must never queue behind a migration's DDL) and is reported
//! by `pgmig_migration_table_locked` alone. Each remaining table is read by
//! one small aggregate query; Liquibase's and Knex's lock tables by one more.
//! Advisory locks are one read of `pg_locks`. A table the exporter's role may
//! not read (no USAGE on its schema or no SELECT on it) is left out, logged
//! at debug; so is one whose read fails. The other tables are still
//! reported. At most [`MAX_TABLES`] history tables per database are read
//! (first by schema and table name); the rest count as dropped series.
//! PostgreSQL 13+; needs CONNECT and SELECT on the history tables.
//!
//! Tools and what each records (docs/frameworks.md has the sources read):
//! Flyway, Liquibase, Alembic, golang-migrate, Rails, Django, Prisma, Knex,
//! sqlx, Diesel, goose, Supabase, and the `custom` tables of the config. A
//! series a tool has no notion of (Alembic's count of applied migrations,
//! Rails' apply time, Django's lock) is absent rather than 0.
//!
//! Timestamps stored as `timestamp without time zone` are read in the
//! session's TimeZone (the server's default), which is what `now()` wrote
//! when the tool left TimeZone alone.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `pgmig_migration_framework_info` | gauge | target, datname, tool, schema, table |
//! | `pgmig_migration_version_info` | gauge | target, datname, tool, schema, table, version |
//! | `pgmig_migrations_applied` | gauge | target, datname, tool, schema, table |
//! | `pgmig_migration_last_applied_timestamp_seconds` | gauge | target, datname, tool, schema, table |
//! | `pgmig_migration_failed` | gauge | target, datname, tool, schema, table |
//! | `pgmig_migration_dirty` | gauge | target, datname, tool, schema, table |
//! | `pgmig_migration_lock_held` | gauge | target, datname, tool, schema, table |
//! | `pgmig_migration_table_locked` | gauge | target, datname, tool, schema, table |

use std::collections::{HashMap, HashSet};

use tokio_postgres::error::SqlState;

use super::{
    col, CollectError, CollectFuture, Collector, Ctx, Lane, Observation, Output, Scope, Spec,
    WindowEvidence,
};
use crate::catalogue::entry::{Kind, Metric, Section};
use crate::config::CustomFrameworkTable;

pub const NAME: &str = "frameworks";

/// History tables read per database and poll. A schema-per-tenant database
/// can hold thousands, each one query; past this many the poll would no
/// longer fit its timeout.
pub const MAX_TABLES: usize = 100;

pub const SPEC: Spec = Spec {
    name: NAME,
    about: "migration tools' schema-history tables: applied, failed, dirty, locked",
    lane: Lane::Slow,
    scope: Scope::Database,
    schedule: |s| s.collectors.frameworks.schedule,
    build: |s| {
        Box::new(Frameworks {
            custom: s.collectors.frameworks.custom.clone(),
            warned: HashSet::new(),
        })
    },
    catalogue: &CATALOGUE,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Flyway,
    Liquibase,
    Alembic,
    GolangMigrate,
    Rails,
    Django,
    Prisma,
    Knex,
    Sqlx,
    Diesel,
    Goose,
    Supabase,
    Custom,
}

impl Tool {
    pub fn label(self) -> &'static str {
        match self {
            Tool::Flyway => "flyway",
            Tool::Liquibase => "liquibase",
            Tool::Alembic => "alembic",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Rails => "rails",
            Tool::Django => "django",
            Tool::Prisma => "prisma",
            Tool::Knex => "knex",
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Goose => "goose",
            Tool::Supabase => "supabase",
            Tool::Custom => "custom",
        }
    }

    /// Whether the tool serialises its runs with an advisory lock whose key
    /// could be verified in its source.
    fn uses_advisory_lock(self) -> bool {
        matches!(
            self,
            Tool::Flyway
                | Tool::GolangMigrate
                | Tool::Rails
                | Tool::Prisma
                | Tool::Sqlx
                | Tool::Goose
        )
    }
}

/// Table names looked for in every schema (lock tables included).
const TABLE_NAMES: &[&str] = &[
    "flyway_schema_history",
    // Flyway before 5.0.
    "schema_version",
    "databasechangelog",
    "databasechangeloglock",
    "alembic_version",
    // golang-migrate, Rails, Supabase (told apart by their columns).
    "schema_migrations",
    "django_migrations",
    "_prisma_migrations",
    "knex_migrations",
    "knex_migrations_lock",
    "_sqlx_migrations",
    "__diesel_schema_migrations",
    "goose_db_version",
];

// ---- advisory lock keys ----------------------------------------------------

/// Prisma Migrate: `SELECT pg_advisory_lock(72707369)`
/// (prisma-engines, schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs).
pub const PRISMA_LOCK_KEY: i64 = 72_707_369;

/// goose's session locker: `lock.DefaultLockID`, crc64 (ECMA) of "goose"
/// (pressly/goose, lock/session_locker_options.go). Held only when the
/// application opted in with `WithSessionLocker`.
pub const GOOSE_LOCK_KEY: i64 = 5_887_940_537_704_921_958;

/// Flyway's `LOCK_MAGIC_NUM`: "Flyway" in ASCII
/// (flyway, flyway-database-postgresql/.../PostgreSQLAdvisoryLockTemplate.java).
pub const FLYWAY_LOCK_MAGIC: i64 =
    (0x46 << 40) + (0x6C << 32) + (0x79 << 24) + (0x77 << 16) + (0x61 << 8) + 0x79;

/// CRC-32 (IEEE 802.3, reflected 0xEDB88320): Go's `crc32.ChecksumIEEE`,
/// Ruby's `Zlib.crc32`, the `crc` crate's `CRC_32_ISO_HDLC`.
pub fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// golang-migrate's postgres driver: `GenerateAdvisoryLockId(DatabaseName,
/// migrationsSchemaName, migrationsTableName)`, which joins the extra names
/// first, then the database, with NUL, and multiplies the CRC-32 by its salt
/// in uint32 arithmetic (database/util.go, database/postgres/postgres.go).
pub fn golang_migrate_lock_key(database: &str, schema: &str, table: &str) -> i64 {
    let joined = [schema, table, database].join("\0");
    i64::from(crc32_ieee(joined.as_bytes()).wrapping_mul(1_486_364_155))
}

/// Rails: `MIGRATOR_SALT * Zlib.crc32(current_database)`, an Integer that
/// fits in a bigint (activerecord/lib/active_record/migration.rb).
pub fn rails_lock_key(database: &str) -> i64 {
    2_053_462_845_i64.wrapping_mul(i64::from(crc32_ieee(database.as_bytes())))
}

/// sqlx: `0x3d32ad9e * crc32(current_database())` in i64
/// (sqlx-postgres/src/migrate.rs, `generate_lock_id`).
pub fn sqlx_lock_key(database: &str) -> i64 {
    0x3d32_ad9e_i64.wrapping_mul(i64::from(crc32_ieee(database.as_bytes())))
}

/// Java's `String.hashCode()`: over UTF-16 code units, wrapping i32.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// Flyway: `LOCK_MAGIC_NUM + table.toString().hashCode()`, where the table
/// prints as `"schema"."table"` (PostgreSQLConnection.java, SchemaObject.java).
pub fn flyway_lock_key(schema: &str, table: &str) -> i64 {
    FLYWAY_LOCK_MAGIC + i64::from(java_string_hash(&qualified(schema, table)))
}

/// The keys under which the tool may hold its lock on this table. For
/// golang-migrate both spellings of the database name: the CLI passes the
/// URL path ("/db") as the name, the library API `current_database()`.
pub fn advisory_keys(tool: Tool, database: &str, schema: &str, table: &str) -> Vec<i64> {
    match tool {
        Tool::Prisma => vec![PRISMA_LOCK_KEY],
        Tool::Goose => vec![GOOSE_LOCK_KEY],
        Tool::Flyway => vec![flyway_lock_key(schema, table)],
        Tool::Rails => vec![rails_lock_key(database)],
        Tool::Sqlx => vec![sqlx_lock_key(database)],
        Tool::GolangMigrate => vec![
            golang_migrate_lock_key(database, schema, table),
            golang_migrate_lock_key(&format!("/{database}"), schema, table),
        ],
        _ => Vec::new(),
    }
}

// ---- catalog and detection -------------------------------------------------

pub use super::quote_ident;

fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// A table of one of the looked-for names, as pg_catalog describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogTable {
    pub oid: i64,
    pub schema: String,
    pub name: String,
    /// USAGE on the schema and SELECT on the table.
    pub readable: bool,
    /// (column, type as `format_type()` names it without modifier).
    pub columns: Vec<(String, String)>,
}

impl CatalogTable {
    fn col_type(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, t)| t.as_str())
    }

    fn has(&self, columns: &[&str]) -> bool {
        columns.iter().all(|c| self.col_type(c).is_some())
    }

    fn is_bool(&self, column: &str) -> bool {
        self.col_type(column) == Some("boolean")
    }

    pub fn sql_name(&self) -> String {
        qualified(&self.schema, &self.name)
    }
}

fn is_time_type(t: &str) -> bool {
    matches!(
        t,
        "timestamp without time zone" | "timestamp with time zone" | "date"
    )
}

/// A schema-history table the collector reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub tool: Tool,
    pub table: CatalogTable,
    /// Liquibase's and Knex's lock table, beside the history table.
    pub lock_table: Option<CatalogTable>,
    pub custom: Option<CustomFrameworkTable>,
}

/// `schema.table`, or `table` in `public`.
pub fn split_table(spec: &str) -> (String, String) {
    match spec.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => ("public".to_string(), spec.to_string()),
    }
}

/// Which tool a table belongs to, from its name and columns; None when the
/// name matches but the shape does not.
pub fn tool_of(t: &CatalogTable) -> Option<Tool> {
    let tool = match t.name.as_str() {
        "flyway_schema_history" | "schema_version"
            if t.has(&["installed_rank", "version", "type", "installed_on"])
                && t.is_bool("success") =>
        {
            Tool::Flyway
        }
        "databasechangelog" if t.has(&["id", "dateexecuted", "orderexecuted", "exectype"]) => {
            Tool::Liquibase
        }
        "alembic_version" if t.has(&["version_num"]) => Tool::Alembic,
        "schema_migrations" if t.has(&["version"]) && t.is_bool("dirty") => Tool::GolangMigrate,
        "schema_migrations" if t.has(&["version", "statements"]) => Tool::Supabase,
        "schema_migrations"
            if t.columns.len() == 1
                && matches!(t.col_type("version"), Some("character varying" | "text")) =>
        {
            Tool::Rails
        }
        "django_migrations" if t.has(&["id", "app", "name", "applied"]) => Tool::Django,
        "_prisma_migrations"
            if t.has(&[
                "migration_name",
                "started_at",
                "finished_at",
                "rolled_back_at",
                "logs",
            ]) =>
        {
            Tool::Prisma
        }
        "knex_migrations" if t.has(&["id", "name", "migration_time"]) => Tool::Knex,
        "_sqlx_migrations" if t.has(&["version", "installed_on"]) && t.is_bool("success") => {
            Tool::Sqlx
        }
        "__diesel_schema_migrations" if t.has(&["version", "run_on"]) => Tool::Diesel,
        "goose_db_version" if t.has(&["id", "version_id", "tstamp"]) && t.is_bool("is_applied") => {
            Tool::Goose
        }
        _ => return None,
    };
    Some(tool)
}

/// Why a configured custom table cannot be read, if it cannot.
fn custom_problem(t: &CatalogTable, c: &CustomFrameworkTable) -> Option<String> {
    let mut problems = Vec::new();
    if t.col_type(&c.version_column).is_none() {
        problems.push(format!("no column {:?}", c.version_column));
    }
    if let Some(a) = &c.applied_at_column {
        match t.col_type(a) {
            None => problems.push(format!("no column {a:?}")),
            Some(ty) if !is_time_type(ty) => {
                problems.push(format!("column {a:?} is {ty}, not a timestamp"))
            }
            _ => {}
        }
    }
    for b in [&c.success_column, &c.dirty_column].into_iter().flatten() {
        match t.col_type(b) {
            None => problems.push(format!("no column {b:?}")),
            Some("boolean") => {}
            Some(ty) => problems.push(format!("column {b:?} is {ty}, not boolean")),
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The history tables among the catalog's, in schema and table order, and
/// the problems of custom tables that exist but do not fit their config.
pub fn detect(
    tables: &[CatalogTable],
    custom: &[CustomFrameworkTable],
) -> (Vec<Detected>, Vec<String>) {
    let by_name: HashMap<(&str, &str), &CatalogTable> = tables
        .iter()
        .map(|t| ((t.schema.as_str(), t.name.as_str()), t))
        .collect();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for t in tables {
        let Some(tool) = tool_of(t) else { continue };
        let lock_table = match tool {
            Tool::Liquibase => by_name
                .get(&(t.schema.as_str(), "databasechangeloglock"))
                .filter(|l| l.is_bool("locked")),
            Tool::Knex => by_name
                .get(&(t.schema.as_str(), "knex_migrations_lock"))
                .filter(|l| {
                    matches!(
                        l.col_type("is_locked"),
                        Some("integer" | "smallint" | "bigint" | "numeric")
                    )
                }),
            _ => None,
        };
        found.push(Detected {
            tool,
            table: t.clone(),
            lock_table: lock_table.map(|l| (*l).clone()),
            custom: None,
        });
    }
    for c in custom {
        let (schema, name) = split_table(&c.table);
        let Some(t) = by_name.get(&(schema.as_str(), name.as_str())) else {
            continue;
        };
        match custom_problem(t, c) {
            Some(p) => problems.push(format!("custom table {}: {p}", c.table)),
            None => found.push(Detected {
                tool: Tool::Custom,
                table: (*t).clone(),
                lock_table: None,
                custom: Some(c.clone()),
            }),
        }
    }
    found.sort_by(|a, b| {
        (&a.table.schema, &a.table.name, a.tool).cmp(&(&b.table.schema, &b.table.name, b.tool))
    });
    (found, problems)
}

// ---- reading ---------------------------------------------------------------

/// The first condition (every name looked for, as `name`) lets pg_class's
/// index on relname answer: comparing `relname::text` alone scanned all of
/// pg_class, 130-230 ms every 15 s at 10,000 tables (70,000 relations).
const CATALOG_SQL: &str = "\
SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name, \
       (pg_catalog.has_schema_privilege(n.oid, 'USAGE') \
        AND pg_catalog.has_table_privilege(c.oid, 'SELECT')) AS readable, \
       array_agg(a.attname::text ORDER BY a.attnum) AS columns, \
       array_agg(pg_catalog.format_type(a.atttypid, NULL) ORDER BY a.attnum) AS types \
FROM pg_catalog.pg_class c \
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
WHERE c.relname = ANY (pg_catalog.array_cat($1::text[], $3::text[])::name[]) \
  AND c.relkind IN ('r', 'p') \
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' \
  AND (c.relname::text = ANY($1::text[]) \
       OR (n.nspname::text, c.relname::text) IN \
          (SELECT u.s, u.t FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) AS u(s, t))) \
GROUP BY c.oid, n.oid, n.nspname, c.relname \
ORDER BY n.nspname, c.relname";

/// Relations with an AccessExclusiveLock granted or requested: reading them
/// would queue behind the DDL and everything queued after it.
const LOCKED_SQL: &str = "\
SELECT DISTINCT l.relation::int8 AS oid FROM pg_catalog.pg_locks l \
WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' \
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d \
                    WHERE d.datname = pg_catalog.current_database()) \
  AND l.relation::int8 = ANY($1::int8[])";

/// Granted single-bigint advisory locks of this database (pg_locks shows the
/// key's high half in classid, the low half in objid, objsubid 1).
const ADVISORY_SQL: &str = "\
SELECT pg_catalog.current_database()::text AS datname, \
       ARRAY(SELECT (l.classid::int8 << 32) | l.objid::int8 FROM pg_catalog.pg_locks l \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
               AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d \
                                 WHERE d.datname = pg_catalog.current_database())) AS keys";

/// Flyway rows that are migrations that ran (not the schema marker, a
/// baseline, a repair's delete marker or an undo).
const FLYWAY_RAN: &str = "type NOT IN ('SCHEMA', 'BASELINE', 'DELETE') AND type NOT LIKE 'UNDO%'";

/// Liquibase's ExecType values with `ran == true`.
const LIQUIBASE_RAN: &str = "exectype IN ('EXECUTED', 'RERAN', 'MARK_RAN')";

/// Prisma's applied rows: finished and not marked rolled back.
const PRISMA_APPLIED: &str = "finished_at IS NOT NULL AND rolled_back_at IS NULL";
/// Prisma's unresolved rows: started, neither finished nor rolled back.
const PRISMA_OPEN: &str = "finished_at IS NULL AND rolled_back_at IS NULL";

fn epoch(expr: &str) -> String {
    format!("extract(epoch FROM ({expr})::timestamptz)::float8")
}

/// The query that reads one history table. Every variant returns one row:
/// `versions text[]`, `applied int8`, `last_applied float8`, `failed bool`,
/// `dirty bool`, NULL where the tool does not record the thing.
#[allow(clippy::too_many_lines)] // one SQL template per migration tool
pub fn read_sql(d: &Detected) -> String {
    let t = d.table.sql_name();
    let (applied, last, failed, dirty, versions) = match d.tool {
        Tool::Flyway => (
            format!("count(*) FILTER (WHERE success AND {FLYWAY_RAN})"),
            epoch(&format!("max(installed_on) FILTER (WHERE success AND {FLYWAY_RAN})")),
            "coalesce(bool_or(NOT success), false)".to_string(),
            "NULL".to_string(),
            format!(
                "SELECT version::text FROM {t} WHERE success AND version IS NOT NULL \
                 AND type <> 'DELETE' AND type NOT LIKE 'UNDO%' ORDER BY installed_rank DESC LIMIT 1"
            ),
        ),
        Tool::Liquibase => (
            format!("count(*) FILTER (WHERE {LIQUIBASE_RAN})"),
            epoch(&format!("max(dateexecuted) FILTER (WHERE {LIQUIBASE_RAN})")),
            "coalesce(bool_or(exectype = 'FAILED'), false)".to_string(),
            "NULL".to_string(),
            format!(
                "SELECT id::text FROM {t} WHERE {LIQUIBASE_RAN} \
                 ORDER BY dateexecuted DESC, orderexecuted DESC LIMIT 1"
            ),
        ),
        // Alembic keeps only its current head(s), no history.
        Tool::Alembic => (
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            format!("SELECT version_num::text FROM {t} ORDER BY version_num LIMIT 20"),
        ),
        // One row: the current version and whether it is dirty.
        Tool::GolangMigrate => (
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            "coalesce(bool_or(dirty), false)".to_string(),
            format!("SELECT version::text FROM {t} LIMIT 1"),
        ),
        // Rails' current version is the numerically largest.
        Tool::Rails => (
            "count(*)".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            format!(
                "SELECT version::text FROM {t} ORDER BY \
                 CASE WHEN version ~ '^[0-9]{{1,18}}$' THEN version::int8 END DESC NULLS LAST, \
                 version DESC LIMIT 1"
            ),
        ),
        Tool::Django => (
            "count(*)".to_string(),
            epoch("max(applied)"),
            "NULL".to_string(),
            "NULL".to_string(),
            format!(
                "SELECT app::text || '.' || name::text FROM {t} ORDER BY applied DESC, id DESC LIMIT 1"
            ),
        ),
        Tool::Prisma => (
            format!("count(*) FILTER (WHERE {PRISMA_APPLIED})"),
            epoch(&format!("max(finished_at) FILTER (WHERE {PRISMA_APPLIED})")),
            format!("coalesce(bool_or({PRISMA_OPEN} AND logs IS NOT NULL), false)"),
            format!("coalesce(bool_or({PRISMA_OPEN}), false)"),
            format!(
                "SELECT migration_name::text FROM {t} WHERE {PRISMA_APPLIED} \
                 ORDER BY migration_name DESC LIMIT 1"
            ),
        ),
        Tool::Knex => (
            "count(*)".to_string(),
            epoch("max(migration_time)"),
            "NULL".to_string(),
            "NULL".to_string(),
            format!("SELECT name::text FROM {t} ORDER BY id DESC LIMIT 1"),
        ),
        // sqlx calls a success = false row dirty and refuses to run past it.
        Tool::Sqlx => (
            "count(*) FILTER (WHERE success)".to_string(),
            epoch("max(installed_on) FILTER (WHERE success)"),
            "coalesce(bool_or(NOT success), false)".to_string(),
            "coalesce(bool_or(NOT success), false)".to_string(),
            format!(
                "SELECT version::text FROM {t} WHERE success ORDER BY version DESC LIMIT 1"
            ),
        ),
        Tool::Diesel => (
            "count(*)".to_string(),
            epoch("max(run_on)"),
            "NULL".to_string(),
            "NULL".to_string(),
            format!("SELECT version::text FROM {t} ORDER BY version DESC LIMIT 1"),
        ),
        Tool::Goose => return goose_sql(&t),
        Tool::Supabase => (
            "count(*)".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            format!("SELECT version::text FROM {t} ORDER BY version DESC LIMIT 1"),
        ),
        Tool::Custom => return custom_sql(&t, d.custom.as_ref()),
    };
    format!(
        "SELECT ({applied})::int8 AS applied, ({last})::float8 AS last_applied, \
         ({failed})::bool AS failed, ({dirty})::bool AS dirty, \
         ARRAY({versions}) AS versions FROM {t}"
    )
}

/// goose appends a row per up and (before v3.16) per down, so a version's
/// latest row tells whether it is applied; version 0 is the row goose writes
/// when it creates the table. The current version is the largest applied
/// one, as `GetLatestVersion` (max(version_id)) answers once downs delete.
fn goose_sql(t: &str) -> String {
    format!(
        "WITH latest AS (SELECT DISTINCT ON (version_id) version_id, is_applied, tstamp \
                         FROM {t} ORDER BY version_id, id DESC) \
         SELECT (count(*) FILTER (WHERE is_applied AND version_id <> 0))::int8 AS applied, \
                {} AS last_applied, NULL::bool AS failed, NULL::bool AS dirty, \
                ARRAY(SELECT max(version_id)::text FROM latest WHERE is_applied \
                      HAVING count(*) > 0) AS versions \
         FROM latest",
        epoch("max(tstamp) FILTER (WHERE is_applied AND version_id <> 0)")
    )
}

fn custom_sql(t: &str, c: Option<&CustomFrameworkTable>) -> String {
    let Some(c) = c else {
        return "SELECT NULL::int8 AS applied, NULL::float8 AS last_applied, NULL::bool AS failed, \
                NULL::bool AS dirty, ARRAY[]::text[] AS versions"
            .to_string();
    };
    let v = quote_ident(&c.version_column);
    let ok = match &c.success_column {
        Some(s) => format!("{} IS NOT FALSE", quote_ident(s)),
        None => "true".to_string(),
    };
    let last = match &c.applied_at_column {
        Some(a) => epoch(&format!("max({}) FILTER (WHERE {ok})", quote_ident(a))),
        None => "NULL".to_string(),
    };
    let order = match &c.applied_at_column {
        Some(a) => format!("{} DESC NULLS LAST, {v} DESC", quote_ident(a)),
        None => format!("{v} DESC"),
    };
    let failed = match &c.success_column {
        Some(s) => format!("coalesce(bool_or(NOT {}), false)", quote_ident(s)),
        None => "NULL".to_string(),
    };
    let dirty = match &c.dirty_column {
        Some(d) => format!("coalesce(bool_or({}), false)", quote_ident(d)),
        None => "NULL".to_string(),
    };
    format!(
        "SELECT (count(*) FILTER (WHERE {ok}))::int8 AS applied, ({last})::float8 AS last_applied, \
         ({failed})::bool AS failed, ({dirty})::bool AS dirty, \
         ARRAY(SELECT {v}::text FROM {t} WHERE {ok} ORDER BY {order} LIMIT 1) AS versions FROM {t}"
    )
}

/// The query that reads a lock table: `held bool`.
fn lock_sql(tool: Tool, lock: &CatalogTable) -> String {
    let cond = match tool {
        Tool::Knex => "is_locked = 1",
        _ => "locked",
    };
    format!(
        "SELECT coalesce(bool_or({cond}), false) AS held FROM {}",
        lock.sql_name()
    )
}

/// What one history table records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TableState {
    pub versions: Vec<String>,
    pub applied: Option<i64>,
    pub last_applied: Option<f64>,
    pub failed: Option<bool>,
    pub dirty: Option<bool>,
    pub lock_held: Option<bool>,
}

/// Why a read gave nothing.
enum ReadError {
    /// An AccessExclusiveLock came between the pg_locks check and the read
    /// (the session's lock_timeout ended the wait).
    Locked,
    /// Skip this table, keep the others.
    Skip(String),
    Fatal(CollectError),
}

fn classify(e: tokio_postgres::Error) -> ReadError {
    if e.is_closed() {
        ReadError::Fatal(CollectError::query(NAME, e))
    } else if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
        ReadError::Locked
    } else {
        ReadError::Skip(crate::db::error_text(&e))
    }
}

async fn read_table(ctx: &Ctx<'_>, d: &Detected) -> Result<TableState, ReadError> {
    let row = ctx.query_one(&read_sql(d), &[]).await.map_err(classify)?;
    let f = |e| ReadError::Fatal(e);
    Ok(TableState {
        versions: col(NAME, &row, "versions").map_err(f)?,
        applied: col(NAME, &row, "applied").map_err(f)?,
        last_applied: col(NAME, &row, "last_applied").map_err(f)?,
        failed: col(NAME, &row, "failed").map_err(f)?,
        dirty: col(NAME, &row, "dirty").map_err(f)?,
        lock_held: None,
    })
}

struct Frameworks {
    custom: Vec<CustomFrameworkTable>,
    /// Custom-table problems already logged at warn: they repeat every poll.
    warned: HashSet<String>,
}

impl Collector for Frameworks {
    fn collect<'a>(&'a mut self, ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move {
            let catalog = read_catalog(ctx, &self.custom).await?;
            let (mut found, problems) = detect(&catalog, &self.custom);
            for p in problems {
                if self.warned.insert(p.clone()) {
                    tracing::warn!(target = ctx.target, collector = NAME, datname = ctx.datname, problem = %p,
                        "custom schema-history table skipped");
                } else {
                    tracing::debug!(target = ctx.target, collector = NAME, datname = ctx.datname, problem = %p,
                        "custom schema-history table skipped");
                }
            }
            let left_out = found.len().saturating_sub(MAX_TABLES);
            found.truncate(MAX_TABLES);
            if found.is_empty() {
                return Ok(Output::default());
            }

            // pg_locks first: nothing AccessExclusive-locked or queued for is read.
            let (locked, datname, held) = lock_state(ctx, &found).await?;

            let mut results: Vec<(Detected, Option<TableState>)> = Vec::with_capacity(found.len());
            for d in found {
                let skip = |why: &str| {
                    tracing::debug!(target = ctx.target, collector = NAME, datname = ctx.datname,
                        tool = d.tool.label(), schema = %d.table.schema, table = %d.table.name,
                        reason = why, "schema-history table skipped");
                };
                if !d.table.readable {
                    skip("no USAGE on the schema or no SELECT on the table");
                    continue;
                }
                if locked.contains(&d.table.oid) {
                    results.push((d, None));
                    continue;
                }
                let mut state = match read_table(ctx, &d).await {
                    Ok(s) => s,
                    Err(ReadError::Locked) => {
                        results.push((d, None));
                        continue;
                    }
                    Err(ReadError::Skip(m)) => {
                        skip(&m);
                        continue;
                    }
                    Err(ReadError::Fatal(e)) => return Err(e),
                };
                state.lock_held = match (&d.lock_table, d.tool) {
                    (Some(l), _) if !l.readable => {
                        skip("lock table: no USAGE on the schema or no SELECT on the table");
                        None
                    }
                    (Some(l), _) if locked.contains(&l.oid) => None,
                    (Some(l), tool) => match ctx.query_one(&lock_sql(tool, l), &[]).await {
                        Ok(r) => Some(col::<bool>(NAME, &r, "held")?),
                        Err(e) => match classify(e) {
                            ReadError::Fatal(e) => return Err(e),
                            ReadError::Skip(m) => {
                                skip(&format!("lock table: {m}"));
                                None
                            }
                            ReadError::Locked => None,
                        },
                    },
                    (None, tool) if tool.uses_advisory_lock() => Some(
                        advisory_keys(tool, &datname, &d.table.schema, &d.table.name)
                            .iter()
                            .any(|k| held.contains(k)),
                    ),
                    (None, _) => None,
                };
                results.push((d, Some(state)));
            }
            let mut out = build(ctx, &results);
            // Each table left out would have had at least framework_info and table_locked.
            out.dropped = left_out * 2;
            Ok(out)
        })
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The candidate schema-history tables of the database, with their columns.
pub async fn read_catalog(
    ctx: &Ctx<'_>,
    custom: &[CustomFrameworkTable],
) -> Result<Vec<CatalogTable>, CollectError> {
    let q = |e| CollectError::query(NAME, e);
    let (schemas, names): (Vec<String>, Vec<String>) =
        custom.iter().map(|c| split_table(&c.table)).unzip();
    let rows = ctx
        .query(CATALOG_SQL, &[&TABLE_NAMES, &schemas, &names])
        .await
        .map_err(q)?;
    let mut catalog = Vec::with_capacity(rows.len());
    for r in &rows {
        let columns: Vec<String> = col(NAME, r, "columns")?;
        let types: Vec<String> = col(NAME, r, "types")?;
        catalog.push(CatalogTable {
            oid: col(NAME, r, "oid")?,
            schema: col(NAME, r, "schema")?,
            name: col(NAME, r, "name")?,
            readable: col(NAME, r, "readable")?,
            columns: columns.into_iter().zip(types).collect(),
        });
    }
    Ok(catalog)
}

/// Which of the found tables are AccessExclusive-locked or queued for
/// (never read then), and, for tools with an advisory lock, the database
/// name and the advisory keys held.
async fn lock_state(
    ctx: &Ctx<'_>,
    found: &[Detected],
) -> Result<(HashSet<i64>, String, HashSet<i64>), CollectError> {
    let q = |e| CollectError::query(NAME, e);
    let oids: Vec<i64> = found
        .iter()
        .flat_map(|d| std::iter::once(d.table.oid).chain(d.lock_table.as_ref().map(|l| l.oid)))
        .collect();
    let locked = locked_oids(ctx, &oids).await?;
    let (datname, held) = if found.iter().any(|d| d.tool.uses_advisory_lock()) {
        let r = ctx.query_one(ADVISORY_SQL, &[]).await.map_err(q)?;
        let keys: Vec<i64> = col(NAME, &r, "keys")?;
        (
            col::<String>(NAME, &r, "datname")?,
            keys.into_iter().collect::<HashSet<i64>>(),
        )
    } else {
        (String::new(), HashSet::new())
    };
    Ok((locked, datname, held))
}

/// Which of the found tables (not their lock tables) have an
/// AccessExclusiveLock held or waited for: reading them would queue.
pub async fn locked_tables(
    ctx: &Ctx<'_>,
    found: &[Detected],
) -> Result<HashSet<i64>, CollectError> {
    let oids: Vec<i64> = found.iter().map(|d| d.table.oid).collect();
    locked_oids(ctx, &oids).await
}

async fn locked_oids(ctx: &Ctx<'_>, oids: &[i64]) -> Result<HashSet<i64>, CollectError> {
    let mut locked = HashSet::new();
    let rows = ctx
        .query(LOCKED_SQL, &[&oids])
        .await
        .map_err(|e| CollectError::query(NAME, e))?;
    for r in rows {
        locked.insert(col::<i64>(NAME, &r, "oid")?);
    }
    Ok(locked)
}

/// The window's part of the history tables: a tool's lock held, a migration dirty.
fn evidence(results: &[(Detected, Option<TableState>)]) -> WindowEvidence {
    let states = || results.iter().filter_map(|(_, s)| s.as_ref());
    WindowEvidence {
        migration_dirty: states().any(|s| s.dirty == Some(true)),
        migration_lock_held: states().any(|s| s.lock_held == Some(true)),
        ..WindowEvidence::default()
    }
}

fn build(ctx: &Ctx<'_>, results: &[(Detected, Option<TableState>)]) -> Output {
    let mut info = ctx.db_gauge(
        "pgmig_migration_framework_info",
        "1 for each schema-history table of a migration tool found in the database (pg_class, pg_attribute).",
    );
    let mut version = ctx.db_gauge(
        "pgmig_migration_version_info",
        "1, with the current (latest applied) migration version in the version label, from the tool's history table.",
    );
    let mut applied = ctx.db_gauge(
        "pgmig_migrations_applied",
        "Migrations recorded as applied in the tool's history table; absent for tools that keep no history (Alembic, golang-migrate).",
    );
    let mut last = ctx.db_gauge(
        "pgmig_migration_last_applied_timestamp_seconds",
        "Unix time at which the last applied migration was recorded; absent for tools that do not record it.",
    );
    let mut failed = ctx.db_gauge(
        "pgmig_migration_failed",
        "1 when the history table records a failed migration (Flyway/sqlx success = false, Liquibase FAILED, Prisma unfinished with an error logged, custom success column false).",
    );
    let mut dirty = ctx.db_gauge(
        "pgmig_migration_dirty",
        "1 when the history table records a half-applied migration (golang-migrate dirty, Prisma started but neither finished nor rolled back, sqlx success = false, custom dirty column).",
    );
    let mut lock = ctx.db_gauge(
        "pgmig_migration_lock_held",
        "1 while the tool's migration lock is held: Liquibase/Knex lock table, or the tool's advisory lock key granted in pg_locks.",
    );
    let mut table_locked = ctx.db_gauge(
        "pgmig_migration_table_locked",
        "1 when the history table was not read this poll because an AccessExclusiveLock on it is held or waited for (pg_locks); its other series are then absent.",
    );
    for (d, state) in results {
        let labels = [
            ("tool", d.tool.label()),
            ("schema", d.table.schema.as_str()),
            ("table", d.table.name.as_str()),
        ];
        info.add(&labels, 1.0);
        table_locked.add(&labels, flag(state.is_none()));
        let Some(s) = state else { continue };
        for v in &s.versions {
            version.add(
                &[labels[0], labels[1], labels[2], ("version", v.as_str())],
                1.0,
            );
        }
        if let Some(n) = s.applied {
            applied.add(&labels, n as f64);
        }
        if let Some(t) = s.last_applied {
            last.add(&labels, t);
        }
        if let Some(b) = s.failed {
            failed.add(&labels, flag(b));
        }
        if let Some(b) = s.dirty {
            dirty.add(&labels, flag(b));
        }
        if let Some(b) = s.lock_held {
            lock.add(&labels, flag(b));
        }
    }
    ctx.observe(Observation::Window(evidence(results)));
    let mut out = Output::default();
    for f in [
        info,
        version,
        applied,
        last,
        failed,
        dirty,
        lock,
        table_locked,
    ] {
        out.push(f);
    }
    out
}

/// The metrics this collector serves, as docs/metrics.md lists them (its
/// section of the catalogue; `catalogue::sections` puts it in order).
pub const CATALOGUE: Section = Section {
    title: r#"Collector `frameworks` (migration tools' schema-history tables)"#,
    intro: r#"
Per database; see [frameworks.md](frameworks.md) for each tool's table, what was checked and the
advisory-lock keys. `tool` is one of flyway, liquibase, alembic, golang-migrate, rails, django,
prisma, knex, sqlx, diesel, goose, supabase, custom.

"#,
    metrics: &[
        Metric {
            name: "pgmig_migration_framework_info",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"1 for each schema-history table of a migration tool found in the database (pg_class, pg_attribute)."#,
            ),
            source: r#"1 for each schema-history table of a migration tool found (pg_class, pg_namespace, pg_attribute; any schema but `pg_*`/information_schema)"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_version_info",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table", "version"],
            help: Some(
                r#"1, with the current (latest applied) migration version in the version label, from the tool's history table."#,
            ),
            source: r#"1, with the current (latest applied) version from the history table; Alembic has one series per head"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migrations_applied",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"Migrations recorded as applied in the tool's history table; absent for tools that keep no history (Alembic, golang-migrate)."#,
            ),
            source: r#"migrations recorded as applied; absent for Alembic and golang-migrate, which keep no history"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_last_applied_timestamp_seconds",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"Unix time at which the last applied migration was recorded; absent for tools that do not record it."#,
            ),
            source: r#"Unix time the last applied migration was recorded; absent when the tool does not record it or none is applied"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_failed",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"1 when the history table records a failed migration (Flyway/sqlx success = false, Liquibase FAILED, Prisma unfinished with an error logged, custom success column false)."#,
            ),
            source: r#"1 when a failed migration is recorded (Flyway/sqlx success = false, Liquibase FAILED, Prisma unfinished and not rolled back with an error in logs, custom success column false); absent for tools with no such record"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_dirty",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"1 when the history table records a half-applied migration (golang-migrate dirty, Prisma started but neither finished nor rolled back, sqlx success = false, custom dirty column)."#,
            ),
            source: r#"1 when a migration is dirty or half-applied (golang-migrate dirty, Prisma started but neither finished nor rolled back, sqlx success = false, custom dirty column); absent for tools with no such record"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_lock_held",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"1 while the tool's migration lock is held: Liquibase/Knex lock table, or the tool's advisory lock key granted in pg_locks."#,
            ),
            source: r#"1 while the tool's migration lock is held: Liquibase `databasechangeloglock.locked`, Knex `knex_migrations_lock.is_locked`, or the tool's advisory key granted in pg_locks (Prisma, golang-migrate, Rails, sqlx, goose, Flyway); absent for tools without a lock"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
        Metric {
            name: "pgmig_migration_table_locked",
            kind: Kind::Gauge,
            labels: &["target", "datname", "tool", "schema", "table"],
            help: Some(
                r#"1 when the history table was not read this poll because an AccessExclusiveLock on it is held or waited for (pg_locks); its other series are then absent."#,
            ),
            source: r#"1 when the history table was not read this poll because an AccessExclusiveLock on it is held or waited for (pg_locks, checked before any read); its other series are then absent"#,
            collector: "frameworks",
            min_pg: Some(13),
        },
    ],
    outro: r#"
"#,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &str, name: &str, cols: &[(&str, &str)]) -> CatalogTable {
        CatalogTable {
            oid: 1,
            schema: schema.into(),
            name: name.into(),
            readable: true,
            columns: cols
                .iter()
                .map(|(c, t)| (c.to_string(), t.to_string()))
                .collect(),
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32_ieee(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_ieee(b""), 0);
    }

    // Expected values computed independently (Python's zlib.crc32 with each
    // tool's arithmetic: Go uint32 wrap-around, Ruby Integer, Rust i64, Java int).
    #[test]
    fn golang_migrate_key_joins_schema_table_database_and_wraps_in_u32() {
        assert_eq!(
            golang_migrate_lock_key("app", "public", "schema_migrations"),
            1_787_120_056
        );
        assert_eq!(
            golang_migrate_lock_key("/app", "public", "schema_migrations"),
            1_726_534_663
        );
        assert_eq!(
            golang_migrate_lock_key("pgmig_fw_locks", "public", "schema_migrations"),
            449_126_532
        );
        assert_eq!(
            golang_migrate_lock_key("/pgmig_fw_locks", "public", "schema_migrations"),
            1_219_545_745
        );
        assert_eq!(
            advisory_keys(Tool::GolangMigrate, "app", "public", "schema_migrations"),
            vec![1_787_120_056, 1_726_534_663]
        );
    }

    #[test]
    fn rails_and_sqlx_keys_multiply_the_database_crc_by_their_salt() {
        assert_eq!(rails_lock_key("app"), 6_939_591_962_871_035_475);
        assert_eq!(rails_lock_key("pgmig_fw_locks"), 6_179_737_608_997_216_320);
        assert_eq!(rails_lock_key("postgres"), 737_815_420_147_457_505);
        assert_eq!(sqlx_lock_key("app"), 3_469_795_979_745_788_610);
        assert_eq!(sqlx_lock_key("pgmig_fw_locks"), 3_089_868_802_993_896_832);
        // The largest CRC still fits: no wrap-around for either tool.
        assert!(2_053_462_845_i128 * i128::from(u32::MAX) < i128::from(i64::MAX));
    }

    #[test]
    fn flyway_key_is_the_magic_plus_the_java_hash_of_the_quoted_table() {
        assert_eq!(FLYWAY_LOCK_MAGIC, 77_431_708_279_161);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("é😀"), 1_996_812);
        assert_eq!(
            java_string_hash("\"public\".\"flyway_schema_history\""),
            2_125_624_436
        );
        assert_eq!(
            flyway_lock_key("public", "flyway_schema_history"),
            77_433_833_903_597
        );
        assert_eq!(
            flyway_lock_key("odd\"s", "flyway_schema_history"),
            77_432_993_799_186
        );
    }

    #[test]
    fn goose_key_is_crc64_ecma_of_goose() {
        // Go's crc64.Checksum with crc64.MakeTable(crc64.ECMA).
        let mut crc = !0u64;
        for &b in b"goose" {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xC96C_5795_D787_0F42
                } else {
                    crc >> 1
                };
            }
        }
        assert_eq!(!crc as i64, GOOSE_LOCK_KEY);
    }

    #[test]
    fn identifiers_are_quoted_with_doubled_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("Tenant\"A", "t"), "\"Tenant\"\"A\".\"t\"");
    }

    #[test]
    fn schema_migrations_is_told_apart_by_its_columns() {
        let gm = table(
            "public",
            "schema_migrations",
            &[("version", "bigint"), ("dirty", "boolean")],
        );
        let rails = table(
            "public",
            "schema_migrations",
            &[("version", "character varying")],
        );
        let supa = table(
            "supabase_migrations",
            "schema_migrations",
            &[
                ("version", "text"),
                ("statements", "text[]"),
                ("name", "text"),
            ],
        );
        let other = table(
            "public",
            "schema_migrations",
            &[("version", "integer"), ("applied_by", "text")],
        );
        assert_eq!(tool_of(&gm), Some(Tool::GolangMigrate));
        assert_eq!(tool_of(&rails), Some(Tool::Rails));
        assert_eq!(tool_of(&supa), Some(Tool::Supabase));
        assert_eq!(tool_of(&other), None);
    }

    #[test]
    fn lock_tables_are_attached_from_the_same_schema_only() {
        let cols = [
            ("id", "character varying"),
            ("dateexecuted", "timestamp without time zone"),
            ("orderexecuted", "integer"),
            ("exectype", "character varying"),
        ];
        let lock = [("id", "integer"), ("locked", "boolean")];
        let tables = vec![
            table("a", "databasechangelog", &cols),
            table("a", "databasechangeloglock", &lock),
            table("b", "databasechangelog", &cols),
            table("c", "databasechangeloglock", &lock),
        ];
        let (found, problems) = detect(&tables, &[]);
        assert!(problems.is_empty());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].lock_table.as_ref().unwrap().schema, "a");
        assert!(found[1].lock_table.is_none());
    }

    #[test]
    fn a_custom_table_needs_its_columns_with_the_right_types() {
        let t = table(
            "ops",
            "changes",
            &[
                ("id", "text"),
                ("at", "timestamp with time zone"),
                ("ok", "integer"),
            ],
        );
        let mut c = CustomFrameworkTable {
            table: "ops.changes".into(),
            version_column: "id".into(),
            applied_at_column: Some("at".into()),
            success_column: Some("ok".into()),
            dirty_column: None,
        };
        let (found, problems) = detect(std::slice::from_ref(&t), std::slice::from_ref(&c));
        assert!(found.is_empty());
        assert!(problems[0].contains("not boolean"), "{problems:?}");
        c.success_column = None;
        let (found, problems) = detect(std::slice::from_ref(&t), std::slice::from_ref(&c));
        assert!(problems.is_empty());
        assert_eq!(found[0].tool, Tool::Custom);
        assert_eq!(split_table("t"), ("public".into(), "t".into()));
    }
}
