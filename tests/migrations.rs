//! Collector `migrations` and the config's `migrations` section, against a
//! real PostgreSQL: golang-migrate files planned at load, their state from
//! the tool's table, the running statement matched by fingerprint, locks
//! beyond the plan, expectations derived from applied migrations only, and
//! an unparseable file reported without stopping anything.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{spawn_blocked, wait_until_lock_wait, Exporter, Metrics, PgCluster};

const T: Duration = Duration::from_secs(60);

/// golang-migrate's table, as its postgres driver creates it.
const GOLANG_MIGRATE_TABLE: &str =
    "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);";

fn dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pgmig-migrations-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (f, text) in files {
        std::fs::write(d.join(f), text).unwrap();
    }
    d
}

fn start(pg: &PgCluster, db: &str, migrations: &Path, extra: &str) -> (Exporter, PathBuf) {
    let cfg = migrations.with_extension("yml");
    std::fs::write(
        &cfg,
        format!(
            "collectors:\n  migrations: {{interval: 300ms}}\n  frameworks: {{enabled: false}}\n\
             migrations:\n  - path: {}\n    tool: golang-migrate\n    grace: 3s\n{extra}",
            migrations.display()
        ),
    )
    .unwrap();
    let e = Exporter::start(
        &["--config.file", cfg.to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(db)),
            ("PGMIG_TARGET_NAME", "m"),
        ],
    );
    (e, cfg)
}

fn state(m: &Metrics, migration: &str) -> Option<String> {
    m.find("pgmig_migration_state", &[("migration", migration)])
        .iter()
        .find(|s| s.value == 1.0)
        .map(|s| s.labels["state"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expectations_of_a_migration_wait_until_it_is_applied_and_its_grace_passed_and_stop_when_it_is_rolled_back(
) {
    let pg = PgCluster::shared();
    let db = pg.create_database("migpending").await;
    let files = dir(
        "pending",
        &[
            (
                "000001_accounts.up.sql",
                "CREATE TABLE accounts (id int PRIMARY KEY, email text);\n",
            ),
            ("000001_accounts.down.sql", "DROP TABLE accounts;\n"),
            (
                "000002_email_idx.up.sql",
                "CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);\n",
            ),
        ],
    );
    let c = pg.connect(&db).await;
    c.batch_execute(GOLANG_MIGRATE_TABLE).await.unwrap();
    c.batch_execute("CREATE TABLE accounts (id int PRIMARY KEY, email text); INSERT INTO schema_migrations VALUES (1, false);")
        .await
        .unwrap();
    // Written by hand and bound to migration 2: also waits for it.
    let extra = "expected_objects:\n  - {kind: column, table: public.accounts, name: nickname, after: '2'}\n";
    let (e, _) = start(pg, &db, &files, extra);

    let m = e.wait_for("migration 1 applied, 2 pending", T, |m| {
        (state(m, "000001").as_deref() == Some("applied")
            && state(m, "000002").as_deref() == Some("pending"))
        .then(|| Metrics::parse(&m.raw))
    });
    // Applied before the exporter looked: checked at once.
    let m = if m
        .get(
            "pgmig_expected_object_present",
            &[("name", "public.accounts")],
        )
        .is_some()
    {
        m
    } else {
        e.wait_for("migration 1's table checked", T, |m| {
            m.get(
                "pgmig_expected_object_present",
                &[("name", "public.accounts")],
            )
            .is_some()
            .then(|| Metrics::parse(&m.raw))
        })
    };
    assert_eq!(
        m.get(
            "pgmig_expected_object_present",
            &[
                ("name", "public.accounts"),
                ("migration", "000001"),
                ("kind", "table")
            ]
        ),
        Some(1.0)
    );
    // Pending: neither the planned index nor the bound column is checked.
    for _ in 0..5 {
        let m = e.metrics();
        assert!(
            m.find(
                "pgmig_expected_object_present",
                &[("name", "public.accounts_email_idx")]
            )
            .is_empty(),
            "{}",
            m.raw
        );
        assert!(
            m.find(
                "pgmig_expected_object_present",
                &[("name", "public.accounts.nickname")]
            )
            .is_empty(),
            "{}",
            m.raw
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // The tool records 2 as applied, but the index is not there.
    c.batch_execute("UPDATE schema_migrations SET version = 2")
        .await
        .unwrap();
    let first = e.wait_for("migration 2 applied", T, |m| {
        (state(m, "000002").as_deref() == Some("applied")).then(|| Metrics::parse(&m.raw))
    });
    // Within its grace (3 s) nothing of migration 2 is checked yet.
    assert!(
        first
            .find("pgmig_expected_object_present", &[("migration", "000002")])
            .is_empty(),
        "{}",
        first.raw
    );
    let m = e.wait_for("the missing index after the grace", T, |m| {
        m.get(
            "pgmig_expected_object_present",
            &[
                ("name", "public.accounts_email_idx"),
                ("migration", "000002"),
                ("expected", "present"),
            ],
        )
        .map(|_| Metrics::parse(&m.raw))
    });
    assert_eq!(
        m.get(
            "pgmig_expected_object_present",
            &[("name", "public.accounts_email_idx")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "pgmig_expected_object_present",
            &[
                ("name", "public.accounts.nickname"),
                ("migration", "000002")
            ]
        ),
        Some(0.0)
    );
    // A pending migration's hazard is served while pending only.
    assert!(m
        .find("pgmig_migration_planned_hazard", &[("migration", "000002")])
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_statement_is_matched_to_its_migration_and_index_and_locks_beyond_the_plan_show()
{
    let pg = PgCluster::shared();
    let db = pg.create_database("migrunning").await;
    let files = dir(
        "running",
        &[
            ("000001_t.up.sql", "CREATE TABLE t (id int);\nCREATE TABLE t2 (id int);\nCREATE TABLE t3 (id int);\n"),
            (
                "000002_note.up.sql",
                "SET lock_timeout = '50s';\nALTER TABLE t ADD COLUMN note text;\nCREATE INDEX t_note_idx ON t (note);\n",
            ),
            ("000003_touch.up.sql", "SELECT touch_t2(42);\n"),
            ("000004_two.up.sql", "ALTER TABLE t3 ADD COLUMN a int;\nALTER TABLE t3 ADD COLUMN b int;\n"),
        ],
    );
    let c = pg.connect(&db).await;
    c.batch_execute(GOLANG_MIGRATE_TABLE).await.unwrap();
    c.batch_execute(
        "CREATE TABLE t (id int); CREATE TABLE t2 (id int); CREATE TABLE t3 (id int);
         INSERT INTO schema_migrations VALUES (1, false);
         CREATE FUNCTION touch_t2(n int) RETURNS void LANGUAGE plpgsql AS $$
         BEGIN LOCK TABLE t2 IN SHARE MODE; PERFORM pg_sleep(60); END $$;",
    )
    .await
    .unwrap();
    let (e, _) = start(pg, &db, &files, "");
    e.wait_for("migration 2 pending", T, |m| {
        (state(m, "000002").as_deref() == Some("pending")).then_some(())
    });
    assert_eq!(
        e.metrics().get(
            "pgmig_migration_planned_hazard",
            &[("migration", "000002"), ("code", "index-not-concurrent")]
        ),
        Some(1.0)
    );

    // A reader holds t and t3: the migrations' ALTERs wait behind it.
    let holder = pg.connect(&db).await;
    holder
        .batch_execute("BEGIN; SELECT * FROM t; SELECT * FROM t3")
        .await
        .unwrap();
    // Statement 2 of 3, with other spacing than the file.
    let (pid, _alter) = spawn_blocked(pg, &db, "alter table t   add column note text").await;
    wait_until_lock_wait(pg, &db, pid).await;
    // golang-migrate sends a whole file at once.
    let (pid4, _whole) = spawn_blocked(
        pg,
        &db,
        "ALTER TABLE t3 ADD COLUMN a int;\nALTER TABLE t3 ADD COLUMN b int;\n",
    )
    .await;
    wait_until_lock_wait(pg, &db, pid4).await;
    // A function the plan cannot see into takes a lock on t2.
    let (_, _touch) = spawn_blocked(pg, &db, "SELECT touch_t2(7)").await;

    let m = e.wait_for("three running migrations", T, |m| {
        (["000002", "000003", "000004"]
            .iter()
            .all(|v| state(m, v).as_deref() == Some("running"))
            && m.get(
                "pgmig_migration_lock_beyond_plan",
                &[("migration", "000003")],
            )
            .is_some())
        .then(|| Metrics::parse(&m.raw))
    });
    let at = |v: &str| m.get("pgmig_migration_running_statement", &[("migration", v)]);
    assert_eq!(at("000002"), Some(2.0), "{}", m.raw);
    assert_eq!(
        m.get("pgmig_migration_statements", &[("migration", "000002")]),
        Some(3.0)
    );
    assert_eq!(at("000003"), Some(1.0));
    // The whole file at once: the migration is known, the statement is not.
    assert_eq!(at("000004"), Some(0.0));
    assert_eq!(
        m.get(
            "pgmig_migration_lock_beyond_plan",
            &[
                ("migration", "000003"),
                ("relation", "public.t2"),
                ("mode", "ShareLock"),
                ("planned", "none")
            ]
        ),
        Some(1.0),
        "{}",
        m.raw
    );
    // The ALTERs wait for exactly what their plan says.
    assert!(
        m.find(
            "pgmig_migration_lock_beyond_plan",
            &[("migration", "000002")]
        )
        .is_empty(),
        "{}",
        m.raw
    );
    assert!(
        m.find(
            "pgmig_migration_lock_beyond_plan",
            &[("migration", "000004")]
        )
        .is_empty(),
        "{}",
        m.raw
    );
    // Running migrations' hazards are still served.
    assert_eq!(
        m.get(
            "pgmig_migration_planned_hazard",
            &[("migration", "000002"), ("code", "index-not-concurrent")]
        ),
        Some(1.0)
    );
    c.batch_execute(&format!(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND query LIKE '%touch_t2(7)%' AND pid <> pg_backend_pid()"
    ))
    .await
    .unwrap();
    holder.batch_execute("COMMIT").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_migration_file_is_a_metric_and_fails_check_config_naming_file_and_line() {
    let pg = PgCluster::shared();
    let db = pg.create_database("migbroken").await;
    let files = dir(
        "broken",
        &[
            ("1_ok.up.sql", "CREATE TABLE ok (id int);\n"),
            (
                "2_bad.up.sql",
                "CREATE TABLE bad (id int);\nALTER TABLE bad ADD;\n",
            ),
        ],
    );
    let c = pg.connect(&db).await;
    c.batch_execute(GOLANG_MIGRATE_TABLE).await.unwrap();
    let (e, cfg) = start(pg, &db, &files, "");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pg_migration_exporter"))
        .args(["--config.file", cfg.to_str().unwrap(), "--check-config"])
        .env("PGMIG_DATABASE_URL", pg.url(&db))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2_bad.up.sql:2:"), "{stderr}");
    assert!(stderr.contains("syntax error"), "{stderr}");

    // The running exporter serves the error and still watches the good file.
    let m = e.wait_for("the parse error", T, |m| {
        m.get("pgmig_migration_file_parse_errors", &[])
            .map(|_| Metrics::parse(&m.raw))
    });
    assert_eq!(
        m.get("pgmig_migration_file_parse_errors", &[("target", "m")]),
        Some(1.0)
    );
    let err = m.find("pgmig_migration_file_parse_error", &[("line", "2")]);
    assert_eq!(err.len(), 1, "{}", m.raw);
    assert!(err[0].labels["file"].ends_with("2_bad.up.sql"));
    assert_eq!(state(&m, "1").as_deref(), Some("pending"));
    assert_eq!(m.get("pgmig_up", &[("target", "m")]), Some(1.0));
}

/// A lockless data migration (no DDL, no AccessExclusiveLock, no progress
/// series) is in flight only because the plan recognises its statement:
/// `pgmig_migration_in_flight{reason="migration_running"}` is 1 and the
/// window opens while it runs, and both stay for the hold-down after it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_migration_is_in_flight_and_opens_the_window_until_the_hold_down_after_it_ends() {
    let pg = PgCluster::shared();
    let db = pg.create_database("miginflight").await;
    let files = dir(
        "inflight",
        &[
            ("000001_t.up.sql", "CREATE TABLE t (id int, n int);\n"),
            ("000002_backfill.up.sql", "SELECT backfill_t(1000);\n"),
        ],
    );
    let c = pg.connect(&db).await;
    c.batch_execute(GOLANG_MIGRATE_TABLE).await.unwrap();
    // The backfill works until the test says it is done: it ends when the
    // test wants, on its own, not by cancel.
    c.batch_execute(
        "CREATE TABLE t (id int, n int); CREATE TABLE backfill_done (x int);
         INSERT INTO schema_migrations VALUES (1, false);
         CREATE FUNCTION backfill_t(batch int) RETURNS void LANGUAGE plpgsql AS $$
         BEGIN
           WHILE NOT EXISTS (SELECT 1 FROM backfill_done) LOOP
             UPDATE t SET n = id WHERE n IS NULL;
             PERFORM pg_sleep(0.05);
           END LOOP;
         END $$;",
    )
    .await
    .unwrap();
    let (e, _) = start(
        pg,
        &db,
        &files,
        "window: {in_flight_hold: 3s, close_after: 3s}\n",
    );
    let reason = |m: &Metrics, r: &str| {
        m.get(
            "pgmig_migration_in_flight",
            &[("target", "m"), ("reason", r)],
        )
    };
    let open = |m: &Metrics| m.get("pgmig_migration_window_open", &[("target", "m")]);
    let m = e.wait_for("migration 2 pending", T, |m| {
        (state(m, "000002").as_deref() == Some("pending")).then(|| Metrics::parse(&m.raw))
    });
    assert_eq!(reason(&m, "migration_running"), Some(0.0), "{}", m.raw);
    assert_eq!(open(&m), Some(0.0), "{}", m.raw);

    let (_, backfill) = spawn_blocked(pg, &db, "select backfill_t( 500 )").await;
    let m = e.wait_for("migration 2 running and in flight", T, |m| {
        (state(m, "000002").as_deref() == Some("running")
            && reason(m, "migration_running") == Some(1.0))
        .then(|| Metrics::parse(&m.raw))
    });
    let m = if open(&m) == Some(1.0) {
        m
    } else {
        // The window is weighed on the poller's tick, after the run.
        e.wait_for("window open", T, |m| {
            (open(m) == Some(1.0)).then(|| Metrics::parse(&m.raw))
        })
    };
    assert_eq!(
        m.get(
            "pgmig_migration_window_source",
            &[("target", "m"), ("source", "migration_running")]
        ),
        Some(1.0),
        "{}",
        m.raw
    );
    // The other reasons are not asserted 0: the locks and activity
    // collectors see the whole shared cluster, where other tests run DDL.

    c.batch_execute("INSERT INTO backfill_done VALUES (1)")
        .await
        .unwrap();
    backfill.await.unwrap().unwrap();
    let ended = std::time::Instant::now();
    let m = e.wait_for("migration 2 no longer running", T, |m| {
        (state(m, "000002").as_deref() == Some("pending")).then(|| Metrics::parse(&m.raw))
    });
    if ended.elapsed() < Duration::from_secs(2) {
        assert_eq!(
            reason(&m, "migration_running"),
            Some(1.0),
            "held after the end: {}",
            m.raw
        );
        assert_eq!(open(&m), Some(1.0), "{}", m.raw);
    }
    e.wait_for("migration_running cleared after the hold-down", T, |m| {
        (reason(m, "migration_running") == Some(0.0)).then_some(())
    });
    let held = ended.elapsed();
    assert!(
        held >= Duration::from_secs(2),
        "cleared {held:?} after the end, the hold-down is 3 s on 1 s window ticks"
    );
    e.wait_for("window closed after close_after", T, |m| {
        (open(m) == Some(0.0)).then_some(())
    });
}
