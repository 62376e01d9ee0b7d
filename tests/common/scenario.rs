//! A scenario that makes every metric family of the exporter appear: lock
//! queues, DDL and progress, an invalid index, expected objects, functions,
//! pg_stat_statements, a standby. Used by the docs test and the promtool lint.

use std::time::Duration;

use super::{spawn_blocked, wait_until_lock_wait, Exporter, PgCluster};

pub const SETUP_SQL: &str = "
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric);
INSERT INTO orders SELECT g, 'c' || (g % 10), g FROM generate_series(1, 3000) g;
INSERT INTO orders VALUES (5000, 'dup', 1), (5001, 'dup', 1);
CREATE FUNCTION slow_key(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN $1; END $$;
CREATE FUNCTION v2_orders(int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM orders WHERE id > $1 $$;
SELECT v2_orders(1);
CREATE TABLE heartbeat (id int PRIMARY KEY, n int);
CREATE TABLE _prisma_migrations (
    id varchar(36) PRIMARY KEY NOT NULL, checksum varchar(64) NOT NULL, finished_at timestamptz,
    migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0);
INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
VALUES ('a1', 'c1', now(), '20251101_init', 1), ('a2', 'c2', NULL, '20251102_half', 0);
CREATE TABLE app_events (id serial PRIMARY KEY, op text, outcome text, code text, ms numeric);
CREATE FUNCTION scenario_touch() RETURNS void LANGUAGE plpgsql AS $$ BEGIN LOCK TABLE heartbeat IN ROW EXCLUSIVE MODE; END $$;
INSERT INTO heartbeat SELECT g, 0 FROM generate_series(1, 100) g;
ANALYZE orders;
";

/// Every collector every second, so tests do not wait for the slow defaults.
pub const FAST_COLLECTORS: &str = "collectors:
  progress: {interval: 1s}
  database: {interval: 1s}
  statements: {interval: 1s}
  indexes: {interval: 1s}
  tables: {interval: 1s}
  functions: {interval: 1s}
  expected_objects: {interval: 1s}
  frameworks: {interval: 1s}
  migrations: {interval: 1s}
";

/// The scenario's golang-migrate files: one running and waiting for its
/// lock, one running with a lock its plan does not name (inside a
/// function), one pending with a hazard, one that does not parse.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "000001_notes.up.sql",
        "ALTER TABLE orders ADD COLUMN note text;\n",
    ),
    ("000002_touch.up.sql", "SELECT scenario_touch();\n"),
    (
        "000003_idx.up.sql",
        "CREATE INDEX orders_total_idx ON orders (total);\n",
    ),
    ("000004_broken.up.sql", "ALTER TABLE orders ADD;\n"),
];

/// The scenario's config, after `FAST_COLLECTORS`.
pub const CONFIG: &str = "expected_error_codes:
  import: [42P10]
thresholds:
  response_seconds: 0.5
  operations:
    import: {error_ratio: 0.25, success_ratio: 0.5, success_ratio_for: 10m}
app_collectors:
  - name: events
    interval: 1s
    sql: SELECT id, op AS operation, outcome, coalesce(code, '') AS code, ms FROM app_events
    incremental: {column: id, start: beginning}
    metrics:
      - {signal: operations, labels: [operation, outcome]}
      - {signal: operation_errors, labels: [operation, code]}
      - {signal: operation_duration, labels: [operation], value: ms, scale: 0.001, buckets: [0.01, 0.1, 1]}
  - name: state
    interval: 1s
    sql: |
      SELECT 0 AS dups, 'orders' AS \"table\", 'customer' AS \"column\", 0.5 AS ratio, 'import_enabled' AS flag, true AS enabled,
             'sync' AS batch_job, 1 AS active, 10 AS done, 20 AS planned, 2.5 AS speed, 4 AS eta
    metrics:
      - {signal: integrity_violations, static_labels: {check: orders_dups}, value: dups}
      - {signal: backfill_ratio, labels: [table, column], value: ratio}
      - {signal: flag, labels: [flag], value: enabled}
      - {signal: job_active, labels: [batch_job], value: active}
      - {signal: job_items_done, labels: [batch_job], value: done}
      - {signal: job_items_planned, labels: [batch_job], value: planned}
      - {signal: job_items_per_second, labels: [batch_job], value: speed}
      - {signal: job_eta, labels: [batch_job], value: eta}
      - {name: scenario_rows, type: gauge, value: done, max_series: 0}
expected_objects:
  - {kind: index, name: public.orders_customer_key, migration: m1}
  - {kind: partition, table: public.orders, covers: 1d}
";

/// Server settings the scenario needs: csvlog (all versions) for the server-log collector.
pub const SERVER_CONF: &[&str] = &[
    "shared_preload_libraries=pg_stat_statements",
    "track_functions=all",
    "logging_collector=on",
    "log_destination=csvlog",
    "log_directory=log",
];

pub fn start_exporter(pg: &PgCluster, db: &str) -> Exporter {
    let dir = std::env::temp_dir().join(format!("pgmig-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("scenario.yml");
    let log = format!(
        "server_log:\n  follow:\n    - directory: {}\n      format: csvlog\n  migrations:\n    - name: m1\n      expected_codes: [23505]\n      forbidden_codes: [42P10]\n",
        pg.dir.join("data/log").display()
    );
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    for (f, text) in MIGRATIONS {
        std::fs::write(migrations.join(f), text).unwrap();
    }
    let log = format!(
        "{log}migrations:\n  - {{path: {}, tool: golang-migrate}}\n",
        migrations.display()
    );
    std::fs::write(&cfg, format!("{FAST_COLLECTORS}{CONFIG}{log}")).unwrap();
    Exporter::start(
        &["--config.file", cfg.to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(db)),
            ("PGMIG_TARGET_NAME", "s"),
        ],
    )
}

/// Plays the scenario, handing each interesting scrape to `keep`.
pub async fn play(pg: &PgCluster, db: &str, exporter: &Exporter, mut keep: impl FnMut(String)) {
    let c = pg.connect(db).await;
    c.batch_execute("VACUUM heartbeat").await.unwrap();
    c.batch_execute("INSERT INTO app_events (op, outcome, code, ms) VALUES ('import', 'success', NULL, 3), ('import', 'failure', '42P10', 900), ('import', 'failure', 'oops', NULL)").await.unwrap();
    c.batch_execute("ANALYZE heartbeat").await.unwrap();
    c.batch_execute("SELECT pg_create_physical_replication_slot('scenario_slot', true)")
        .await
        .unwrap();
    // An invalid index from a failed unique build on duplicates.
    let _ = c
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY orders_customer_key ON orders (customer)")
        .await;
    // A standby streaming from us; continuous writes keep its lag non-null.
    let writer = pg.connect(db).await;
    let writes = tokio::spawn(async move {
        for i in 0..2400 {
            let _ = writer
                .execute(
                    "UPDATE heartbeat SET n = n + 1 WHERE id = $1",
                    &[&(i % 100 + 1)],
                )
                .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    // A writer in an open transaction: CREATE INDEX CONCURRENTLY waits for it
    // (in progress, phase "waiting for writers before build"), and an ALTER
    // TABLE queues for ACCESS EXCLUSIVE behind both.
    let holder = pg.connect(db).await;
    holder
        .batch_execute("BEGIN; INSERT INTO orders VALUES (9999, 'w', 0)")
        .await
        .unwrap();
    let (build_pid, build) = spawn_blocked(
        pg,
        db,
        "CREATE INDEX CONCURRENTLY orders_slow ON orders (slow_key(id))",
    )
    .await;
    wait_until_lock_wait(pg, db, build_pid).await;
    let (_, alter) = spawn_blocked(pg, db, "ALTER TABLE orders ADD COLUMN note text").await;
    // A migration statement holding a lock its plan cannot see (in a function).
    let toucher = pg.connect(db).await;
    toucher.batch_execute("BEGIN").await.unwrap();
    toucher
        .batch_execute("SELECT scenario_touch()")
        .await
        .unwrap();
    let b = build_pid.to_string();
    let text = exporter.wait_for(
        "every kind of series at once",
        Duration::from_secs(60),
        |m| {
            let ok = m
                .get("pgmig_blocked_backends", &[("target", "s")])
                .unwrap_or(0.0)
                >= 1.0
                && !m
                    .find("pgmig_progress_blocks_planned", &[("pid", &b)])
                    .is_empty()
                && !m.find("pgmig_index_invalid", &[]).is_empty()
                && !m.find("pgmig_replication_lag_seconds", &[]).is_empty()
                && !m.find("pgmig_statement_mean_exec_seconds", &[]).is_empty()
                && !m.find("pgmig_function_calls_total", &[]).is_empty()
                && !m.find("pgmig_expected_object_present", &[]).is_empty()
                && !m
                    .find("pgmig_table_last_vacuum_timestamp_seconds", &[])
                    .is_empty()
                && !m
                    .find("pgmig_table_last_analyze_timestamp_seconds", &[])
                    .is_empty()
                && !m
                    .find("pgmig_replication_slot_retained_bytes", &[])
                    .is_empty()
                && [
                    "pgmig_app_operation_duration_seconds_count",
                    "pgmig_app_value_errors_total",
                    "pgmig_app_job_eta_seconds",
                    "pgmig_migration_dirty",
                    "pgmig_server_errors_total",
                    "pgmig_migration_running_statement",
                    "pgmig_migration_lock_beyond_plan",
                    "pgmig_migration_planned_hazard",
                    "pgmig_migration_file_parse_error",
                ]
                .iter()
                .all(|n| !m.find(n, &[]).is_empty());
            ok.then(|| m.raw.clone())
        },
    );
    keep(text);
    toucher.batch_execute("COMMIT").await.unwrap();
    holder.batch_execute("COMMIT").await.unwrap();
    // The build and the ALTER may end in a deadlock (the build waits for the
    // ALTER's transaction, the ALTER for the build's lock): either outcome is fine here.
    let _ = build.await.unwrap();
    let _ = alter.await.unwrap();
    let text = exporter.wait_for(
        "a completed lock wait and the expected-object check failure",
        Duration::from_secs(60),
        |m| {
            (m.get("pgmig_lock_wait_seconds_count", &[("target", "s")])
                .unwrap_or(0.0)
                >= 1.0
                && !m.find("pgmig_expected_object_check_failed", &[]).is_empty())
            .then(|| m.raw.clone())
        },
    );
    keep(text);
    writes.abort();
}
