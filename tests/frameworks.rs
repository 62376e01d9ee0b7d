//! Collector `frameworks`: every supported migration tool's history table,
//! created with the DDL the tool itself runs (docs/frameworks.md names the
//! source of each), read by the real exporter from a real PostgreSQL.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{spawn_blocked, wait_until_lock_wait, Exporter, Metrics, PgCluster};

const T: Duration = Duration::from_secs(90);

const FLYWAY_DDL: &str = r#"
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
INSERT INTO "public"."flyway_schema_history" VALUES
  (1, '1', 'init', 'SQL', 'V1__init.sql', 1234567, 'app', '2024-05-01 10:00:00', 40, true),
  (2, '2', 'add orders', 'SQL', 'V2__add_orders.sql', -45678, 'app', '2024-05-02 10:00:00', 55, true),
  (3, NULL, 'views', 'SQL', 'R__views.sql', 789, 'app', '2024-05-02 10:00:01', 5, true),
  (4, '3', 'backfill', 'SQL', 'V3__backfill.sql', 1011, 'app', '2024-05-03 10:00:00', 900, false);
"#;

const ALEMBIC_DDL: &str = "
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('ae1027a6acf');
";

/// Every tool's table in one database, some in their own schemas (three
/// tools call theirs schema_migrations).
fn all_tools_sql() -> String {
    let mut s = String::from(FLYWAY_DDL);
    s.push_str(ALEMBIC_DDL);
    s.push_str(
        r#"
-- Flyway again, in a schema whose name needs quoting.
CREATE SCHEMA "Tenant""A";
CREATE TABLE "Tenant""A"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "Tenant""A"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
INSERT INTO "Tenant""A"."flyway_schema_history" VALUES
  (1, '7', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', '2024-04-01 08:00:00', 0, true);

-- Liquibase (the SQL `liquibase update-sql` prints for PostgreSQL).
CREATE SCHEMA lb;
CREATE TABLE lb.databasechangeloglock (ID INTEGER NOT NULL, LOCKED BOOLEAN NOT NULL, LOCKGRANTED TIMESTAMP WITHOUT TIME ZONE, LOCKEDBY VARCHAR(255), CONSTRAINT DATABASECHANGELOGLOCK_PKEY PRIMARY KEY (ID));
DELETE FROM lb.databasechangeloglock;
INSERT INTO lb.databasechangeloglock (ID, LOCKED) VALUES (1, FALSE);
CREATE TABLE lb.databasechangelog (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP WITHOUT TIME ZONE NOT NULL, ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10));
INSERT INTO lb.databasechangelog (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, MD5SUM, DESCRIPTION, COMMENTS, EXECTYPE, CONTEXTS, LABELS, LIQUIBASE, DEPLOYMENT_ID) VALUES
  ('1', 'alice', 'db/changelog.xml', '2024-05-01 09:00:00', 1, '9:2ad7a1a1e3a0c2e8b7c3d2c1a0f9e8d7', 'createTable tableName=orders', '', 'EXECUTED', NULL, NULL, '4.27.0', '4550000001'),
  ('2', 'bob', 'db/changelog.xml', '2024-05-01 09:00:01', 2, '9:3bd7a1a1e3a0c2e8b7c3d2c1a0f9e8d7', 'addColumn tableName=orders', '', 'EXECUTED', NULL, NULL, '4.27.0', '4550000001'),
  ('3', 'bob', 'db/changelog.xml', '2024-05-01 09:00:02', 3, '9:4cd7a1a1e3a0c2e8b7c3d2c1a0f9e8d7', 'sql', '', 'MARK_RAN', NULL, NULL, '4.27.0', '4550000001');
-- A deployment in progress: the lock as Liquibase takes it.
UPDATE lb.databasechangeloglock SET LOCKED = TRUE, LOCKEDBY = 'deploy-7f9c (10.0.0.7)', LOCKGRANTED = '2024-05-03 11:00:00.000' WHERE ID = 1 AND LOCKED = FALSE;

-- golang-migrate, dirty after a failed up.
CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null);
TRUNCATE "public"."schema_migrations";
INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (20240503120000, true);

-- Rails.
CREATE SCHEMA rails;
CREATE TABLE "rails"."schema_migrations" ("version" character varying NOT NULL PRIMARY KEY);
CREATE TABLE "rails"."ar_internal_metadata" ("key" character varying NOT NULL PRIMARY KEY, "value" character varying, "created_at" timestamp(6) NOT NULL, "updated_at" timestamp(6) NOT NULL);
INSERT INTO "rails"."schema_migrations" (version) VALUES ('20240101000000'), ('20240301120000'), ('20240215093000'), ('9');
INSERT INTO "rails"."ar_internal_metadata" VALUES ('environment', 'production', now(), now());

-- Supabase CLI.
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text;
INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES
  ('20240410101010', 'init', ARRAY['create table t (id int)']),
  ('20240411111111', 'add_col', ARRAY['alter table t add column c text']);

-- Django (4.x).
CREATE SCHEMA dj;
CREATE TABLE "dj"."django_migrations" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" timestamp with time zone NOT NULL);
INSERT INTO "dj"."django_migrations" (app, name, applied) VALUES
  ('contenttypes', '0001_initial', '2024-05-01 12:00:00+00'),
  ('auth', '0001_initial', '2024-05-01 12:00:01+00'),
  ('orders', '0002_add_total', '2024-05-04 08:30:00+00');

-- Prisma: one applied, one rolled back, one applied, one half-applied.
CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES
  ('0b1b7c3e-6f0a-4c55-9d6c-1a2b3c4d5e01', 'a2b779a1a1709d6ce46833e4de94e3fdf4141877ab8fc4740535e9772f327450', '2024-05-01 10:00:01+00', '20240501100000_init', NULL, NULL, '2024-05-01 10:00:00+00', 1),
  ('0b1b7c3e-6f0a-4c55-9d6c-1a2b3c4d5e02', 'b2b779a1a1709d6ce46833e4de94e3fdf4141877ab8fc4740535e9772f327450', NULL, '20240501110000_add_index', 'Database error code: 42P07', '2024-05-01 11:05:00+00', '2024-05-01 11:00:00+00', 0),
  ('0b1b7c3e-6f0a-4c55-9d6c-1a2b3c4d5e03', 'c2b779a1a1709d6ce46833e4de94e3fdf4141877ab8fc4740535e9772f327450', '2024-05-02 09:00:02+00', '20240502090000_add_email', NULL, NULL, '2024-05-02 09:00:00+00', 1),
  ('0b1b7c3e-6f0a-4c55-9d6c-1a2b3c4d5e04', 'd2b779a1a1709d6ce46833e4de94e3fdf4141877ab8fc4740535e9772f327450', NULL, '20240503090000_backfill', NULL, NULL, '2024-05-03 09:00:00+00', 0);

-- Prisma in another schema, with a failed migration (its error in logs).
CREATE SCHEMA billing;
CREATE TABLE billing._prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO billing._prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES
  ('1b1b7c3e-6f0a-4c55-9d6c-1a2b3c4d5e01', 'e2b779a1a1709d6ce46833e4de94e3fdf4141877ab8fc4740535e9772f327450', '2024-05-01 10:00:01+00', '20240501100000_init', NULL, NULL, '2024-05-01 10:00:00+00', 1),
  ('1b1b7c3e-6f0a-4c55-9d6c-1a2b3c4d5e02', 'f2b779a1a1709d6ce46833e4de94e3fdf4141877ab8fc4740535e9772f327450', NULL, '20240502100000_unique_email', E'Database error code: 23505\n\nDatabase error:\nERROR: could not create unique index', NULL, '2024-05-02 10:00:00+00', 0);

-- Knex, with its lock taken.
create table "knex_migrations" ("id" serial primary key, "name" varchar(255), "batch" integer, "migration_time" timestamptz);
create table "knex_migrations_lock" ("index" serial primary key, "is_locked" integer);
insert into "knex_migrations_lock" ("is_locked") values (0);
insert into "knex_migrations" ("name", "batch", "migration_time") values
  ('20240501000000_create_users.js', 1, '2024-05-01 07:00:00+00'),
  ('20240502000000_add_orders.js', 2, '2024-05-02 07:00:00+00');
update "knex_migrations_lock" set "is_locked" = 1 where "is_locked" = 0;

-- sqlx, with a failed (dirty) migration.
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
INSERT INTO _sqlx_migrations VALUES
  (20240101000000, 'init', '2024-05-05 06:00:00+00', TRUE, '\x0102', 1200000),
  (20240102000000, 'add users', '2024-05-05 06:00:01+00', TRUE, '\x0304', 2300000),
  (20240103000000, 'broken', '2024-05-05 06:00:02+00', FALSE, '\x0506', -1);

-- Diesel.
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO __diesel_schema_migrations VALUES
  ('00000000000000', '2024-05-06 10:00:00'),
  ('20240105120000', '2024-05-06 10:00:01'),
  ('20240106120000', '2024-05-06 10:00:02');

-- goose, an older one that recorded a down as is_applied = false.
CREATE SCHEMA gs;
CREATE TABLE gs.goose_db_version (
	id serial NOT NULL,
	version_id bigint NOT NULL,
	is_applied boolean NOT NULL,
	tstamp timestamp NULL default now(),
	PRIMARY KEY(id)
);
INSERT INTO gs.goose_db_version (version_id, is_applied, tstamp) VALUES
  (0, true, '2024-05-07 09:00:00'),
  (20240101, true, '2024-05-07 09:00:01'),
  (20240102, true, '2024-05-07 09:00:02'),
  (20240103, true, '2024-05-07 09:00:03'),
  (20240103, false, '2024-05-07 09:10:00');

-- An in-house tool, configured as a custom table.
CREATE SCHEMA ops;
CREATE TABLE ops.schema_changes (change_id text PRIMARY KEY, applied_at timestamptz, ok boolean NOT NULL, in_progress boolean NOT NULL DEFAULT false);
INSERT INTO ops.schema_changes VALUES
  ('2024.05.1', '2024-05-08 10:00:00+00', true, false),
  ('2024.05.2', '2024-05-08 11:00:00+00', false, true);
"#,
    );
    s
}

fn config_file(db: &str, extra: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("pgmig-frameworks-{db}.yml"));
    std::fs::write(
        &p,
        format!("collectors:\n  frameworks:\n    interval: 1s\n{extra}"),
    )
    .unwrap();
    p
}

fn start(url: &str, cfg: &std::path::Path) -> Exporter {
    Exporter::start(
        &["--config.file", cfg.to_str().unwrap()],
        &[("PGMIG_DATABASE_URL", url), ("PGMIG_TARGET_NAME", "t")],
    )
}

/// Unix time of a timestamp literal, as the server reads it in the default
/// TimeZone (a literal with an offset is absolute).
async fn epoch(c: &tokio_postgres::Client, ts: &str) -> f64 {
    c.query_one(
        "SELECT extract(epoch FROM $1::text::timestamptz)::float8",
        &[&ts],
    )
    .await
    .unwrap()
    .get(0)
}

/// What one history table should show. None: the series is absent.
struct Expect {
    tool: &'static str,
    schema: &'static str,
    table: &'static str,
    versions: &'static [&'static str],
    applied: Option<f64>,
    last_applied: Option<&'static str>,
    failed: Option<f64>,
    dirty: Option<f64>,
    lock: Option<f64>,
}

fn mismatches(m: &Metrics, db: &str, e: &Expect, last: Option<f64>) -> Vec<String> {
    let l = [
        ("target", "t"),
        ("datname", db),
        ("tool", e.tool),
        ("schema", e.schema),
        ("table", e.table),
    ];
    let mut out = Vec::new();
    let who = format!("{} {}.{}", e.tool, e.schema, e.table);
    if m.get("pgmig_migration_framework_info", &l) != Some(1.0) {
        out.push(format!("{who}: framework_info not 1"));
    }
    if m.get("pgmig_migration_table_locked", &l) != Some(0.0) {
        out.push(format!("{who}: table_locked not 0"));
    }
    let mut versions: Vec<&str> = m
        .find("pgmig_migration_version_info", &l)
        .iter()
        .map(|s| s.labels["version"].as_str())
        .collect();
    versions.sort();
    if versions != e.versions {
        out.push(format!(
            "{who}: versions {versions:?}, want {:?}",
            e.versions
        ));
    }
    for (name, want) in [
        ("pgmig_migrations_applied", e.applied),
        ("pgmig_migration_last_applied_timestamp_seconds", last),
        ("pgmig_migration_failed", e.failed),
        ("pgmig_migration_dirty", e.dirty),
        ("pgmig_migration_lock_held", e.lock),
    ] {
        let got: Vec<f64> = m.find(name, &l).iter().map(|s| s.value).collect();
        let ok = match want {
            None => got.is_empty(),
            Some(w) => got.len() == 1 && (got[0] - w).abs() < 0.001,
        };
        if !ok {
            out.push(format!("{who}: {name} = {got:?}, want {want:?}"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_reports_version_count_time_failure_dirt_and_lock() {
    let pg = PgCluster::shared();
    let db = pg.create_database("fw_all").await;
    let c = pg.connect(&db).await;
    c.batch_execute(&all_tools_sql()).await.unwrap();

    let expect = [
        // Highest successful versioned rank is 2; rank 3 is repeatable, rank 4 failed.
        Expect {
            tool: "flyway",
            schema: "public",
            table: "flyway_schema_history",
            versions: &["2"],
            applied: Some(3.0),
            last_applied: Some("2024-05-02 10:00:01"),
            failed: Some(1.0),
            dirty: None,
            lock: Some(0.0),
        },
        // A baseline alone: a version, no migration ran.
        Expect {
            tool: "flyway",
            schema: "Tenant\"A",
            table: "flyway_schema_history",
            versions: &["7"],
            applied: Some(0.0),
            last_applied: None,
            failed: Some(0.0),
            dirty: None,
            lock: Some(0.0),
        },
        Expect {
            tool: "liquibase",
            schema: "lb",
            table: "databasechangelog",
            versions: &["3"],
            applied: Some(3.0),
            last_applied: Some("2024-05-01 09:00:02"),
            failed: Some(0.0),
            dirty: None,
            lock: Some(1.0),
        },
        Expect {
            tool: "alembic",
            schema: "public",
            table: "alembic_version",
            versions: &["ae1027a6acf"],
            applied: None,
            last_applied: None,
            failed: None,
            dirty: None,
            lock: None,
        },
        Expect {
            tool: "golang-migrate",
            schema: "public",
            table: "schema_migrations",
            versions: &["20240503120000"],
            applied: None,
            last_applied: None,
            failed: None,
            dirty: Some(1.0),
            lock: Some(0.0),
        },
        // Numerically largest, not lexically ('9').
        Expect {
            tool: "rails",
            schema: "rails",
            table: "schema_migrations",
            versions: &["20240301120000"],
            applied: Some(4.0),
            last_applied: None,
            failed: None,
            dirty: None,
            lock: Some(0.0),
        },
        Expect {
            tool: "supabase",
            schema: "supabase_migrations",
            table: "schema_migrations",
            versions: &["20240411111111"],
            applied: Some(2.0),
            last_applied: None,
            failed: None,
            dirty: None,
            lock: None,
        },
        Expect {
            tool: "django",
            schema: "dj",
            table: "django_migrations",
            versions: &["orders.0002_add_total"],
            applied: Some(3.0),
            last_applied: Some("2024-05-04 08:30:00+00"),
            failed: None,
            dirty: None,
            lock: None,
        },
        // Half-applied (no error logged yet): dirty, not failed.
        Expect {
            tool: "prisma",
            schema: "public",
            table: "_prisma_migrations",
            versions: &["20240502090000_add_email"],
            applied: Some(2.0),
            last_applied: Some("2024-05-02 09:00:02+00"),
            failed: Some(0.0),
            dirty: Some(1.0),
            lock: Some(0.0),
        },
        // Failed: unfinished, not rolled back, error in logs.
        Expect {
            tool: "prisma",
            schema: "billing",
            table: "_prisma_migrations",
            versions: &["20240501100000_init"],
            applied: Some(1.0),
            last_applied: Some("2024-05-01 10:00:01+00"),
            failed: Some(1.0),
            dirty: Some(1.0),
            lock: Some(0.0),
        },
        Expect {
            tool: "knex",
            schema: "public",
            table: "knex_migrations",
            versions: &["20240502000000_add_orders.js"],
            applied: Some(2.0),
            last_applied: Some("2024-05-02 07:00:00+00"),
            failed: None,
            dirty: None,
            lock: Some(1.0),
        },
        Expect {
            tool: "sqlx",
            schema: "public",
            table: "_sqlx_migrations",
            versions: &["20240102000000"],
            applied: Some(2.0),
            last_applied: Some("2024-05-05 06:00:01+00"),
            failed: Some(1.0),
            dirty: Some(1.0),
            lock: Some(0.0),
        },
        Expect {
            tool: "diesel",
            schema: "public",
            table: "__diesel_schema_migrations",
            versions: &["20240106120000"],
            applied: Some(3.0),
            last_applied: Some("2024-05-06 10:00:02"),
            failed: None,
            dirty: None,
            lock: None,
        },
        // 20240103 was rolled back; version 0 is goose's own first row.
        Expect {
            tool: "goose",
            schema: "gs",
            table: "goose_db_version",
            versions: &["20240102"],
            applied: Some(2.0),
            last_applied: Some("2024-05-07 09:00:02"),
            failed: None,
            dirty: None,
            lock: Some(0.0),
        },
        Expect {
            tool: "custom",
            schema: "ops",
            table: "schema_changes",
            versions: &["2024.05.1"],
            applied: Some(1.0),
            last_applied: Some("2024-05-08 10:00:00+00"),
            failed: Some(1.0),
            dirty: Some(1.0),
            lock: None,
        },
    ];
    let mut lasts = Vec::new();
    for e in &expect {
        lasts.push(match e.last_applied {
            Some(ts) => Some(epoch(&c, ts).await),
            None => None,
        });
    }

    let cfg = config_file(
        &db,
        "    custom:\n      - table: ops.schema_changes\n        version_column: change_id\n        applied_at_column: applied_at\n        success_column: ok\n        dirty_column: in_progress\n",
    );
    let exporter = start(&pg.url(&db), &cfg);
    let deadline = Instant::now() + T;
    loop {
        let m = exporter.metrics();
        let problems: Vec<String> = expect
            .iter()
            .zip(&lasts)
            .flat_map(|(e, last)| mismatches(&m, &db, e, *last))
            .collect();
        let tables = m.find("pgmig_migration_framework_info", &[]).len();
        if problems.is_empty() && tables == expect.len() {
            assert_eq!(
                m.get(
                    "pgmig_collector_success",
                    &[("target", "t"), ("collector", "frameworks")]
                ),
                Some(1.0)
            );
            // Not history tables: the lock tables and Rails' metadata.
            for t in [
                "databasechangeloglock",
                "knex_migrations_lock",
                "ar_internal_metadata",
            ] {
                assert!(
                    m.find("pgmig_migration_framework_info", &[("table", t)])
                        .is_empty(),
                    "{t} reported as a history table"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "frameworks not as expected ({tables} tables):\n{}\n--- /metrics ---\n{}\n--- log ---\n{}",
            problems.join("\n"),
            m.raw,
            exporter.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = std::fs::remove_file(cfg);
}

/// Advisory lock keys as each tool computes them for the database name
/// `pgmig_fw_locks` (a fixed name, so the keys can be written down; computed
/// independently of the exporter with each tool's arithmetic).
const LOCK_DB: &str = "pgmig_fw_locks";
const RAILS_KEY: i64 = 6_179_737_608_997_216_320;
const SQLX_KEY: i64 = 3_089_868_802_993_896_832;
/// golang-migrate's CLI names the database by the URL path, "/pgmig_fw_locks".
const GOLANG_MIGRATE_CLI_KEY: i64 = 1_219_545_745;
const GOOSE_KEY: i64 = 5_887_940_537_704_921_958;
/// 0x466C79776179 ("Flyway") + Java hashCode of "public"."flyway_schema_history".
const FLYWAY_KEY: i64 = 77_433_833_903_597;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_locks_of_prisma_rails_sqlx_golang_migrate_goose_and_flyway_are_seen() {
    let pg = PgCluster::shared();
    let admin = pg.connect("postgres").await;
    admin
        .batch_execute(&format!("CREATE DATABASE {LOCK_DB}"))
        .await
        .unwrap();
    let c = pg.connect(LOCK_DB).await;
    c.batch_execute(FLYWAY_DDL).await.unwrap();
    c.batch_execute(
        r#"
CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null);
INSERT INTO "public"."schema_migrations" VALUES (3, false);
CREATE SCHEMA rails;
CREATE TABLE "rails"."schema_migrations" ("version" character varying NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
CREATE TABLE goose_db_version (
	id serial NOT NULL,
	version_id bigint NOT NULL,
	is_applied boolean NOT NULL,
	tstamp timestamp NULL default now(),
	PRIMARY KEY(id)
);
INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true);
"#,
    )
    .await
    .unwrap();

    let cfg = config_file(LOCK_DB, "");
    let exporter = start(&pg.url(LOCK_DB), &cfg);
    let tools = [
        ("prisma", "public", "_prisma_migrations"),
        ("rails", "rails", "schema_migrations"),
        ("sqlx", "public", "_sqlx_migrations"),
        ("golang-migrate", "public", "schema_migrations"),
        ("goose", "public", "goose_db_version"),
        ("flyway", "public", "flyway_schema_history"),
    ];
    let held = |m: &Metrics, (tool, schema, table): (&str, &str, &str)| {
        m.get(
            "pgmig_migration_lock_held",
            &[("tool", tool), ("schema", schema), ("table", table)],
        )
    };
    exporter.wait_for("no lock held", T, |m| {
        tools.iter().all(|t| held(m, *t) == Some(0.0)).then_some(())
    });

    // `prisma migrate deploy` running: only Prisma's lock.
    let prisma = pg.connect(LOCK_DB).await;
    prisma
        .batch_execute("SELECT pg_advisory_lock(72707369)")
        .await
        .unwrap();
    exporter.wait_for("Prisma's lock alone", T, |m| {
        tools
            .iter()
            .all(|t| held(m, *t) == Some(if t.0 == "prisma" { 1.0 } else { 0.0 }))
            .then_some(())
    });

    // Every other tool takes its lock the way it does: session locks, and
    // Flyway's default transaction-scoped one.
    let others = pg.connect(LOCK_DB).await;
    others
        .batch_execute(&format!(
            "SELECT pg_try_advisory_lock({RAILS_KEY}); SELECT pg_advisory_lock({SQLX_KEY}); \
             SELECT pg_advisory_lock({GOLANG_MIGRATE_CLI_KEY}); SELECT pg_try_advisory_lock({GOOSE_KEY})"
        ))
        .await
        .unwrap();
    let flyway = pg.connect(LOCK_DB).await;
    flyway
        .batch_execute(&format!(
            "BEGIN; SELECT pg_try_advisory_xact_lock({FLYWAY_KEY})"
        ))
        .await
        .unwrap();
    exporter.wait_for("every tool's lock", T, |m| {
        tools.iter().all(|t| held(m, *t) == Some(1.0)).then_some(())
    });

    prisma
        .batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();
    others
        .batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();
    flyway.batch_execute("COMMIT").await.unwrap();
    exporter.wait_for("every lock released", T, |m| {
        (tools.iter().all(|t| held(m, *t) == Some(0.0))
            && m.get(
                "pgmig_collector_success",
                &[("target", "t"), ("collector", "frameworks")],
            ) == Some(1.0))
        .then_some(())
    });
    let _ = std::fs::remove_file(cfg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_table_under_access_exclusive_lock_is_skipped_and_the_poll_goes_on() {
    let pg = PgCluster::shared();
    let db = pg.create_database("fw_ael").await;
    let c = pg.connect(&db).await;
    c.batch_execute(FLYWAY_DDL).await.unwrap();
    c.batch_execute(ALEMBIC_DDL).await.unwrap();
    let cfg = config_file(&db, "");
    let exporter = start(&pg.url(&db), &cfg);

    let fl = [("tool", "flyway"), ("schema", "public")];
    let success = |m: &Metrics| {
        m.get(
            "pgmig_collector_success",
            &[("target", "t"), ("collector", "frameworks")],
        )
    };
    let last_success = |m: &Metrics| {
        m.get(
            "pgmig_collector_last_success_timestamp_seconds",
            &[("target", "t"), ("collector", "frameworks")],
        )
        .unwrap_or(0.0)
    };
    let readable = |m: &Metrics| {
        m.get("pgmig_migration_table_locked", &fl) == Some(0.0)
            && m.find("pgmig_migration_version_info", &fl)
                .first()
                .is_some_and(|s| s.labels["version"] == "2")
    };
    // Skipped, not missing: info and table_locked only, nothing read.
    let skipped = |m: &Metrics| {
        m.get("pgmig_migration_table_locked", &fl) == Some(1.0)
            && m.get("pgmig_migration_framework_info", &fl) == Some(1.0)
            && [
                "pgmig_migration_version_info",
                "pgmig_migrations_applied",
                "pgmig_migration_last_applied_timestamp_seconds",
                "pgmig_migration_failed",
                "pgmig_migration_lock_held",
            ]
            .iter()
            .all(|n| m.find(n, &fl).is_empty())
            && m.get(
                "pgmig_migration_version_info",
                &[("tool", "alembic"), ("version", "ae1027a6acf")],
            ) == Some(1.0)
            && success(m) == Some(1.0)
    };
    exporter.wait_for("flyway read", T, |m| readable(m).then_some(()));

    // A migration holding ACCESS EXCLUSIVE in an open transaction.
    let holder = pg.connect(&db).await;
    holder
        .batch_execute("BEGIN; LOCK TABLE flyway_schema_history IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let since = exporter.wait_for("flyway skipped while locked", T, |m| {
        skipped(m).then(|| last_success(m))
    });
    // Polls keep completing (they do not wait on the lock).
    exporter.wait_for("two more polls under the lock", T, |m| {
        (skipped(m) && last_success(m) > since + 1.5).then_some(())
    });
    holder.batch_execute("COMMIT").await.unwrap();
    exporter.wait_for("flyway read again", T, |m| readable(m).then_some(()));

    // ACCESS EXCLUSIVE waited for: an ALTER queued behind a reader. Reading
    // now would queue behind the ALTER.
    let reader = pg.connect(&db).await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM flyway_schema_history")
        .await
        .unwrap();
    let (pid, task) = spawn_blocked(
        pg,
        &db,
        "ALTER TABLE flyway_schema_history ADD COLUMN note text",
    )
    .await;
    wait_until_lock_wait(pg, &db, pid).await;
    let since = exporter.wait_for("flyway skipped while DDL waits", T, |m| {
        skipped(m).then(|| last_success(m))
    });
    exporter.wait_for("two more polls with the DDL queued", T, |m| {
        (skipped(m) && last_success(m) > since + 1.5).then_some(())
    });
    reader.batch_execute("COMMIT").await.unwrap();
    task.await.unwrap().unwrap();
    exporter.wait_for("flyway read after the DDL", T, |m| {
        readable(m).then_some(())
    });
    let errors = exporter.metrics().sum(
        "pgmig_collector_errors_total",
        &[("collector", "frameworks")],
    );
    assert_eq!(errors, 0.0, "{}", exporter.log_text());
    let _ = std::fs::remove_file(cfg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_the_role_may_not_read_are_left_out_and_the_rest_reported() {
    let pg = PgCluster::shared();
    let db = pg.create_database("fw_priv").await;
    let role = format!("{db}_mon");
    let c = pg.connect(&db).await;
    c.batch_execute(FLYWAY_DDL).await.unwrap();
    c.batch_execute(ALEMBIC_DDL).await.unwrap();
    c.batch_execute(&format!(
        r#"
create table "knex_migrations" ("id" serial primary key, "name" varchar(255), "batch" integer, "migration_time" timestamptz);
create table "knex_migrations_lock" ("index" serial primary key, "is_locked" integer);
insert into "knex_migrations_lock" ("is_locked") values (1);
insert into "knex_migrations" ("name", "batch", "migration_time") values ('20240501000000_init.js', 1, now());
CREATE SCHEMA secret;
CREATE TABLE secret._sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
CREATE ROLE "{role}" LOGIN;
GRANT SELECT ON alembic_version, knex_migrations TO "{role}";
-- SELECT on the table but no USAGE on its schema.
GRANT SELECT ON secret._sqlx_migrations TO "{role}";
"#
    ))
    .await
    .unwrap();
    let cfg = config_file(&db, "");
    let url = format!(
        "postgres://{role}@127.0.0.1:{}/{db}?sslmode=disable",
        pg.port
    );
    let exporter = start(&url, &cfg);
    exporter.wait_for("readable tables reported, the others left out", T, |m| {
        (m.get(
            "pgmig_migration_version_info",
            &[("tool", "alembic"), ("version", "ae1027a6acf")],
        ) == Some(1.0)
            && m.get(
                "pgmig_migrations_applied",
                &[("tool", "knex"), ("table", "knex_migrations")],
            ) == Some(1.0)
            && m.get(
                "pgmig_collector_success",
                &[("target", "t"), ("collector", "frameworks")],
            ) == Some(1.0))
        .then_some(())
    });
    let m = exporter.metrics();
    for tool in ["flyway", "sqlx"] {
        assert!(
            m.samples
                .iter()
                .all(|s| s.labels.get("tool").map(String::as_str) != Some(tool)),
            "{tool} reported without privileges:\n{}",
            m.raw
        );
    }
    // Its lock table is not readable: the lock is unknown, not "free".
    assert!(m
        .find("pgmig_migration_lock_held", &[("tool", "knex")])
        .is_empty());
    let _ = std::fs::remove_file(cfg);
}
