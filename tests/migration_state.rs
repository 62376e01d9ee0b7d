//! Issue 3: the migration-state collectors against real PostgreSQL: an
//! invalid index left by a failed CREATE UNIQUE INDEX CONCURRENTLY, a CREATE
//! INDEX seen in progress with its phase, expected objects of every kind,
//! table health with a locked table skipped (not missing), functions,
//! database-wide counters, pg_stat_statements with and without the
//! extension, and per-database collectors in several databases.

mod common;

use std::time::Duration;

use common::{spawn_blocked, wait_until_lock_wait, Exporter, Metrics, PgCluster};

const T: Duration = Duration::from_secs(40);

fn write_config(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pgmig-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

use common::scenario::FAST_COLLECTORS as FAST;

fn start(pg: &PgCluster, db: &str, extra: &str) -> Exporter {
    let cfg = write_config(&format!("{db}.yml"), &format!("{FAST}{extra}"));
    Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    )
}

fn ok(m: &Metrics, collector: &str) -> bool {
    m.get(
        "pgmig_collector_success",
        &[("target", "t"), ("collector", collector)],
    ) == Some(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_unique_index_concurrently_is_invalid_and_the_expected_index_absent() {
    let pg = PgCluster::shared();
    let db = pg.create_database("invalid_idx").await;
    let c = pg.connect(&db).await;
    c.batch_execute(
        "CREATE TABLE organizations (id serial PRIMARY KEY, name text, type text, deleted_at timestamptz);
         INSERT INTO organizations (name, type) VALUES ('Acme', 'customer'), ('acme ', 'customer'), ('Beta', 'partner');",
    )
    .await
    .unwrap();
    let exporter = start(
        pg,
        &db,
        "expected_objects:
  - kind: index
    name: public.organizations_exact_name_type_active
    migration: 20250109_fix_organizations_import
  - kind: table
    name: public.organizations
",
    );
    // The migration: a unique index on duplicated data fails with 23505 and leaves an invalid index.
    let err = c
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY organizations_exact_name_type_active ON organizations (lower(trim(name)), type) WHERE deleted_at IS NULL")
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "23505");

    let idx = [
        ("datname", db.as_str()),
        ("index", "organizations_exact_name_type_active"),
    ];
    let exp = [
        ("kind", "index"),
        ("name", "public.organizations_exact_name_type_active"),
        ("expected", "present"),
    ];
    exporter.wait_for("the invalid index and the absent expected object", T, |m| {
        (m.get("pgmig_index_invalid", &idx) == Some(1.0)
            && m.get("pgmig_index_valid", &idx) == Some(0.0)
            && m.get("pgmig_expected_object_present", &exp) == Some(0.0)
            && m.get(
                "pgmig_expected_object_present",
                &[("kind", "table"), ("name", "public.organizations")],
            ) == Some(1.0))
        .then_some(())
    });
    let m = exporter.metrics();
    assert_eq!(
        m.find("pgmig_expected_object_present", &exp)[0].labels["migration"],
        "20250109_fix_organizations_import"
    );

    // The fix: drop the invalid index, remove the duplicate, build again.
    c.batch_execute(
        "DROP INDEX organizations_exact_name_type_active; DELETE FROM organizations WHERE name = 'acme ';
         CREATE UNIQUE INDEX organizations_exact_name_type_active ON organizations (lower(trim(name)), type) WHERE deleted_at IS NULL;",
    )
    .await
    .unwrap();
    exporter.wait_for("the index valid and the expected object present", T, |m| {
        (m.find("pgmig_index_invalid", &idx).is_empty()
            && m.get("pgmig_index_valid", &idx) == Some(1.0)
            && m.get("pgmig_expected_object_present", &exp) == Some(1.0))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_index_is_seen_in_progress_with_its_phase() {
    let pg = PgCluster::shared();
    let db = pg.create_database("progress").await;
    let c = pg.connect(&db).await;
    // An expression index whose function sleeps makes the table scan take seconds.
    c.batch_execute(
        "CREATE TABLE big (id int, payload text);
         INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 4000) g;
         CREATE FUNCTION slow_key(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN $1; END $$;",
    )
    .await
    .unwrap();
    let exporter = start(pg, &db, "");
    let (pid, task) =
        spawn_blocked(pg, &db, "CREATE INDEX big_slow_key ON big (slow_key(id))").await;
    let p = pid.to_string();
    let m = exporter.wait_for("CREATE INDEX in progress, scanning the table", T, |m| {
        let s = m.find(
            "pgmig_progress_blocks_planned",
            &[("pid", &p), ("command", "CREATE INDEX")],
        );
        (s.len() == 1
            && s[0].labels["phase"] == "building index: scanning table"
            && s[0].value > 0.0)
            .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    let labels = [
        ("pid", p.as_str()),
        ("relation", "public.big"),
        ("datname", db.as_str()),
    ];
    let ratio = m
        .get("pgmig_progress_done_ratio", &labels)
        .expect("a done ratio");
    assert!((0.0..=1.0).contains(&ratio));
    assert_eq!(
        m.get(
            "pgmig_ddl_running",
            &[("target", "t"), ("command", "CREATE INDEX")]
        ),
        Some(1.0),
        "the activity collector sees the same DDL"
    );
    task.await.unwrap().unwrap();
    exporter.wait_for("the progress series vanish when the build ends", T, |m| {
        m.find("pgmig_progress_blocks_planned", &[("pid", &p)])
            .is_empty()
            .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_objects_of_every_kind_and_a_revoked_privilege() {
    let pg = PgCluster::shared();
    let db = pg.create_database("expected").await;
    let c = pg.connect(&db).await;
    c.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF; END $$;
         CREATE TYPE sync_status_type AS ENUM ('pending', 'in_progress', 'completed', 'failed');
         CREATE TABLE posts (id int PRIMARY KEY, org_id int, body text);
         ALTER TABLE posts ADD CONSTRAINT posts_body_nonempty CHECK (body <> '');
         ALTER TABLE posts ENABLE ROW LEVEL SECURITY;
         CREATE POLICY posts_select ON posts FOR SELECT USING (org_id = 1);
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE FUNCTION v2_get_posts(int) RETURNS SETOF posts LANGUAGE sql AS $$ SELECT * FROM posts WHERE org_id = $1 $$;
         CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TABLE sync_activity_log (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
         CREATE TABLE sync_activity_log_now PARTITION OF sync_activity_log
             FOR VALUES FROM (date_trunc('month', now())) TO (date_trunc('month', now()) + interval '1 month');",
    )
    .await
    .unwrap();
    let exporter = start(
        pg,
        &db,
        "expected_objects:
  - {kind: table, name: public.posts}
  - {kind: column, table: public.posts, name: org_id}
  - {kind: column, table: public.posts, name: organization_id}
  - {kind: constraint, table: public.posts, name: posts_body_nonempty}
  - {kind: function, name: public.v2_get_posts}
  - {kind: function, name: 'public.v2_get_posts(integer)'}
  - {kind: extension, name: plpgsql}
  - {kind: enum, name: public.sync_status_type}
  - {kind: trigger, table: public.posts, name: posts_touch}
  - {kind: rls, table: public.posts}
  - {kind: policy, table: public.posts, name: posts_select}
  - {kind: privilege, role: anon, privilege: SELECT, on_table: public.posts, expect: absent, migration: security}
  - {kind: partition, table: public.sync_activity_log, covers: 0s}
  - {kind: partition, table: public.sync_activity_log, covers: 62d}
  - {kind: index, name: public.not_there, expect: absent}
",
    );
    let want: &[(&str, &str, f64)] = &[
        ("table", "public.posts", 1.0),
        ("column", "public.posts.org_id", 1.0),
        ("column", "public.posts.organization_id", 0.0),
        ("constraint", "public.posts.posts_body_nonempty", 1.0),
        ("function", "public.v2_get_posts", 1.0),
        ("function", "public.v2_get_posts(integer)", 1.0),
        ("extension", "plpgsql", 1.0),
        ("enum", "public.sync_status_type", 1.0),
        ("trigger", "public.posts.posts_touch", 1.0),
        ("rls", "public.posts", 1.0),
        ("policy", "public.posts.posts_select", 1.0),
        ("privilege", "anon SELECT ON TABLE public.posts", 0.0),
        ("partition", "public.sync_activity_log covers now+0s", 1.0),
        ("partition", "public.sync_activity_log covers now+62d", 0.0),
        ("index", "public.not_there", 0.0),
    ];
    let m = exporter.wait_for("every expected object checked", T, |m| {
        want.iter()
            .all(|(k, n, _)| {
                m.get("pgmig_expected_object_present", &[("kind", k), ("name", n)])
                    .is_some()
            })
            .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    for (k, n, v) in want {
        assert_eq!(
            m.get("pgmig_expected_object_present", &[("kind", k), ("name", n)]),
            Some(*v),
            "{k} {n}"
        );
        assert_eq!(
            m.get(
                "pgmig_expected_object_check_failed",
                &[("kind", k), ("name", n)]
            ),
            Some(0.0),
            "{k} {n}"
        );
    }
    // The security incident: anon gets SELECT on posts.
    c.batch_execute("GRANT SELECT ON posts TO anon; ALTER TABLE posts DISABLE ROW LEVEL SECURITY")
        .await
        .unwrap();
    exporter.wait_for("anon's SELECT and RLS off are seen", T, |m| {
        (m.get(
            "pgmig_expected_object_present",
            &[("kind", "privilege"), ("expected", "absent")],
        ) == Some(1.0)
            && m.get("pgmig_expected_object_present", &[("kind", "rls")]) == Some(0.0))
        .then_some(())
    });
    c.batch_execute("REVOKE SELECT ON posts FROM anon")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_table_is_skipped_not_missing_and_every_collector_completes() {
    let pg = PgCluster::shared();
    let db = pg.create_database("tables").await;
    let c = pg.connect(&db).await;
    c.batch_execute(
        "CREATE TABLE accounts (id int PRIMARY KEY, n int); INSERT INTO accounts SELECT g, g FROM generate_series(1, 500) g;
         CREATE TABLE audit (id int); INSERT INTO audit SELECT generate_series(1, 100);
         ANALYZE accounts; ANALYZE audit; DELETE FROM audit WHERE id <= 10;",
    )
    .await
    .unwrap();
    let exporter = start(pg, &db, "");
    let tbl = [("datname", db.as_str()), ("table", "accounts")];
    exporter.wait_for("table stats for accounts", T, |m| {
        // Before 15 the statistics collector reports last_analyze a moment later.
        (m.get("pgmig_table_estimated_rows", &tbl) == Some(500.0)
            && m.get("pgmig_table_size_bytes", &tbl).unwrap_or(0.0) > 0.0
            && m.get(
                "pgmig_table_last_analyze_timestamp_seconds",
                &[("table", "accounts"), ("mode", "manual")],
            )
            .is_some_and(|v| v > 1.7e9))
        .then_some(())
    });

    // The migration holds ACCESS EXCLUSIVE on accounts with the app queued behind it.
    let holder = pg.connect(&db).await;
    holder
        .batch_execute("BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let (pid, task) = spawn_blocked(pg, &db, "SELECT count(*) FROM accounts").await;
    wait_until_lock_wait(pg, &db, pid).await;
    let before = exporter.metrics();
    let timeouts = |m: &Metrics| {
        m.sum(
            "pgmig_collector_errors_total",
            &[("target", "t"), ("kind", "timeout")],
        )
    };
    let last = |m: &Metrics, c: &str| {
        m.get(
            "pgmig_collector_last_success_timestamp_seconds",
            &[("target", "t"), ("collector", c), ("datname", &db)],
        )
        .unwrap_or(0.0)
    };
    let collectors = [
        "locks",
        "activity",
        "probe",
        "progress",
        "expected_objects",
        "frameworks",
        "database",
        "indexes",
        "tables",
        "functions",
        "statements",
    ];
    exporter.wait_for(
        "every collector completes a poll under the lock, the table skipped",
        T,
        |m| {
            (m.get("pgmig_table_locked", &tbl) == Some(1.0)
                && m.get(
                    "pgmig_tables_skipped",
                    &[("datname", db.as_str()), ("reason", "locked")],
                ) == Some(1.0)
                && m.find("pgmig_table_live_tuples", &tbl).is_empty()
                && m.find(
                    "pgmig_table_live_tuples",
                    &[("datname", db.as_str()), ("table", "audit")],
                )
                .len()
                    == 1
                && collectors
                    .iter()
                    .all(|c| ok(m, c) && last(m, c) > last(&before, c)))
            .then_some(())
        },
    );
    assert_eq!(
        timeouts(&exporter.metrics()),
        timeouts(&before),
        "a poll timed out under the lock"
    );
    holder.batch_execute("COMMIT").await.unwrap();
    task.await.unwrap().unwrap();
    exporter.wait_for("the table is back", T, |m| {
        (m.find("pgmig_table_locked", &tbl).is_empty()
            && m.get("pgmig_table_estimated_rows", &tbl) == Some(500.0))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_database_counters_and_missing_pg_stat_statements() {
    let pg = PgCluster::shared();
    let db = pg.create_database("funcs").await;
    let c = pg.connect(&db).await;
    c.batch_execute(&format!(
        "ALTER DATABASE {db} SET track_functions = 'all';
         CREATE FUNCTION v2_feed(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN n; END $$;"
    ))
    .await
    .unwrap();
    let app = pg.connect(&db).await;
    for i in 0..3 {
        app.query_one("SELECT v2_feed($1)", &[&i]).await.unwrap();
    }
    drop(app);
    c.batch_execute(
        "SELECT pg_create_physical_replication_slot('pgmig_test_slot_' || pg_backend_pid(), true)",
    )
    .await
    .unwrap();
    let exporter = start(pg, &db, "");
    let f = [("datname", db.as_str()), ("function", "v2_feed(n integer)")];
    let m = exporter.wait_for("function stats and database counters", T, |m| {
        (m.get("pgmig_function_calls_total", &f) == Some(3.0)
            && m.get("pgmig_functions_tracked", &[("datname", db.as_str())]) == Some(1.0)
            && m.get("pgmig_database_commits_total", &[("datname", db.as_str())])
                .unwrap_or(0.0)
                > 0.0
            && ok(m, "statements"))
        .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert!(m.get("pgmig_function_total_seconds_total", &f).unwrap() >= 0.03);
    assert!(
        m.get("pgmig_wal_written_bytes_total", &[("target", "t")])
            .unwrap()
            > 0.0
    );
    assert_eq!(m.get("pgmig_in_recovery", &[("target", "t")]), Some(0.0));
    assert!(!m
        .find(
            "pgmig_replication_slot_retained_bytes",
            &[("slot_type", "physical")]
        )
        .is_empty());
    // Without the extension: said once, as a metric, and nothing else fails.
    assert_eq!(
        m.get("pgmig_statements_available", &[("target", "t")]),
        Some(0.0)
    );
    assert!(m.find("pgmig_statement_calls_total", &[]).is_empty());
    assert_eq!(
        exporter
            .log_text()
            .matches("pg_stat_statements is not installed")
            .count(),
        1
    );
    c.batch_execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'pgmig_test_slot_%'").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_stat_statements_top_statements_and_the_rest_summed() {
    let pg = PgCluster::start_new(&["shared_preload_libraries=pg_stat_statements"]);
    let c = pg.connect("postgres").await;
    c.batch_execute("CREATE EXTENSION pg_stat_statements; SELECT pg_stat_statements_reset(); CREATE TABLE items (id int)").await.unwrap();
    for i in 0..20 {
        c.execute("INSERT INTO items VALUES ($1)", &[&i])
            .await
            .unwrap();
    }
    let cfg = write_config(
        "pgss.yml",
        &format!("{FAST}  statements: {{interval: 1s, top_n: 2}}\n")
            .replace("  statements: {interval: 1s}\n", ""),
    );
    let exporter = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    let m = exporter.wait_for("top statements", T, |m| {
        (m.get("pgmig_statements_available", &[("target", "t")]) == Some(1.0)
            && m.find("pgmig_statement_calls_total", &[]).len() == 3
            && m.get("pgmig_statement_calls_total", &[("queryid", "other")])
                .unwrap_or(0.0)
                > 0.0)
            .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    let top = m.find("pgmig_statement_exec_seconds_total", &[]);
    assert!(top.iter().all(|s| s.value >= 0.0));
    assert!(
        m.find("pgmig_statement_mean_exec_seconds", &[]).len() == 2,
        "mean only for the top statements"
    );
    assert!(
        !m.raw.contains("INSERT INTO items"),
        "query text without opt-in"
    );
    let dropped = m
        .get(
            "pgmig_collector_series_dropped",
            &[("target", "t"), ("collector", "statements")],
        )
        .unwrap();
    assert!(dropped > 0.0);
}

/// `queryid="other"` is a counter: when a statement with many calls moves
/// from the rest into the top N and one with few calls leaves it, the sum of
/// the statements outside the top N drops; the served counter must not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_other_counter_never_goes_down_when_the_top_set_changes() {
    let pg = PgCluster::start_new(&["shared_preload_libraries=pg_stat_statements"]);
    let c = pg.connect("postgres").await;
    c.batch_execute("CREATE EXTENSION pg_stat_statements; SELECT pg_stat_statements_reset()")
        .await
        .unwrap();
    // "few": 4 calls, 0.2 s, the top statement. "many": 300 calls, ~0 s, in the rest.
    for _ in 0..4 {
        c.batch_execute("SELECT pg_sleep(0.05) AS few")
            .await
            .unwrap();
    }
    for _ in 0..300 {
        c.execute("SELECT pg_sleep($1) AS many", &[&0.0f64])
            .await
            .unwrap();
    }
    let queryid = |text: &'static str| {
        let c = &c;
        async move {
            let r = c
                .query_one(
                    "SELECT queryid::text FROM pg_stat_statements WHERE query LIKE $1",
                    &[&format!("%AS {text}%")],
                )
                .await
                .unwrap();
            r.get::<_, String>(0)
        }
    };
    let (few, many) = (queryid("few").await, queryid("many").await);
    let cfg = write_config(
        "pgss_other.yml",
        &format!("{FAST}  statements: {{interval: 1s, top_n: 1}}\n")
            .replace("  statements: {interval: 1s}\n", ""),
    );
    let exporter = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    let other = |m: &Metrics| m.get("pgmig_statement_calls_total", &[("queryid", "other")]);
    let mut seen = Vec::new();
    exporter.wait_for("\"few\" on top, \"many\" in the rest", T, |m| {
        seen.extend(other(m));
        (m.find("pgmig_statement_calls_total", &[("queryid", few.as_str())])
            .len()
            == 1
            && other(m).unwrap_or(0.0) >= 300.0)
            .then_some(())
    });
    // "many" takes 0.3 s more and becomes the top statement.
    for _ in 0..6 {
        c.execute("SELECT pg_sleep($1) AS many", &[&0.05f64])
            .await
            .unwrap();
    }
    exporter.wait_for("\"many\" on top, \"few\" in the rest", T, |m| {
        seen.extend(other(m));
        (m.find("pgmig_statement_calls_total", &[("queryid", many.as_str())])
            .len()
            == 1
            && m.find("pgmig_statement_calls_total", &[("queryid", few.as_str())])
                .is_empty())
        .then_some(())
    });
    // A few more polls after the swap.
    std::thread::sleep(Duration::from_secs(3));
    seen.extend(other(&exporter.metrics()));
    assert!(
        seen.windows(2).all(|w| w[1] >= w[0]),
        "queryid=\"other\" calls went down: {seen:?}"
    );
    assert!(seen.len() >= 3, "too few samples: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_database_collectors_run_in_every_listed_and_discovered_database() {
    let pg = PgCluster::start_new(&[]);
    let admin = pg.connect("postgres").await;
    for d in ["app1", "app2", "ignored"] {
        admin
            .batch_execute(&format!("CREATE DATABASE {d}"))
            .await
            .unwrap();
    }
    for d in ["app1", "app2", "ignored"] {
        pg.connect(d)
            .await
            .batch_execute(&format!("CREATE TABLE t_{d} (id int PRIMARY KEY)"))
            .await
            .unwrap();
    }
    let cfg = write_config(
        "multi.yml",
        &format!(
            "{FAST}targets:\n  - name: srv\n    dsn: {}\n    databases: [app1]\n    discover_databases: true\n    exclude_databases: [ignored]\n",
            pg.url("postgres")
        ),
    );
    let exporter = Exporter::start(&["--config.file", &cfg], &[]);
    exporter.wait_for(
        "index series of app1 (listed) and app2 (discovered), none of ignored",
        T,
        |m| {
            (m.get(
                "pgmig_index_valid",
                &[
                    ("target", "srv"),
                    ("datname", "app1"),
                    ("index", "t_app1_pkey"),
                ],
            ) == Some(1.0)
                && m.get(
                    "pgmig_index_valid",
                    &[
                        ("target", "srv"),
                        ("datname", "app2"),
                        ("index", "t_app2_pkey"),
                    ],
                ) == Some(1.0)
                && m.find("pgmig_index_valid", &[("datname", "ignored")])
                    .is_empty()
                && m.get(
                    "pgmig_collector_success",
                    &[
                        ("target", "srv"),
                        ("collector", "tables"),
                        ("datname", "app2"),
                    ],
                ) == Some(1.0))
            .then_some(())
        },
    );
    // Visiting other databases stays within the connection bound: the two
    // lanes plus at most one visit at a time.
    let n: i64 = admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n <= 3, "{n} exporter connections");
    // A dropped database loses its series at the next discovery, not its target.
    admin
        .batch_execute("DROP DATABASE app2 WITH (FORCE)")
        .await
        .unwrap();
    exporter.wait_for("app1 still polled after app2 was dropped", T, |m| {
        (m.get(
            "pgmig_index_valid",
            &[("datname", "app1"), ("index", "t_app1_pkey")],
        ) == Some(1.0)
            && m.get("pgmig_up", &[("target", "srv")]) == Some(1.0))
        .then_some(())
    });
}
