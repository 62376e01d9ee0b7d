//! The activity collector against real sessions: a long idle-in-transaction
//! session, a CREATE INDEX CONCURRENTLY in progress, connection counts, and
//! the opt-in query text with its literals stripped.

mod common;

use std::time::Duration;

use common::{spawn_blocked, wait_until_lock_wait, Exporter, PgCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_in_transaction_session_is_reported_with_its_pid_and_age() {
    let pg = PgCluster::shared();
    let db = pg.create_database("idle").await;
    let exporter = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );

    let idle = pg.connect(&db).await;
    idle.batch_execute("SET application_name = 'forgotten-psql'; BEGIN; SELECT 1")
        .await
        .unwrap();
    let pid: i32 = idle
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let p = pid.to_string();

    let first = exporter.wait_for(
        "idle in transaction for over a second",
        Duration::from_secs(30),
        |m| {
            m.get(
                "pgmig_longest_idle_in_transaction_seconds",
                &[
                    ("target", "t"),
                    ("pid", &p),
                    ("application_name", "forgotten-psql"),
                ],
            )
            .filter(|v| *v >= 1.0)
        },
    );
    let later = exporter.wait_for(
        "the idle time keeps growing",
        Duration::from_secs(30),
        |m| {
            m.get("pgmig_longest_idle_in_transaction_seconds", &[("pid", &p)])
                .filter(|v| *v >= first + 1.0)
        },
    );
    assert!(later > first);
    let m = exporter.metrics();
    assert!(
        m.get("pgmig_oldest_transaction_seconds", &[("pid", &p)])
            .unwrap()
            >= later - 0.5
    );
    assert!(
        m.get(
            "pgmig_backends",
            &[("target", "t"), ("state", "idle in transaction")]
        )
        .unwrap()
            >= 1.0
    );
    // Bounded label sets report 0 rather than nothing.
    assert_eq!(
        m.get(
            "pgmig_backends",
            &[("target", "t"), ("state", "fastpath function call")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "pgmig_backends_by_wait_event_type",
            &[("target", "t"), ("wait_event_type", "BufferPin")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "pgmig_ddl_running",
            &[("target", "t"), ("command", "CLUSTER")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get("pgmig_connections_max", &[("target", "t")]),
        Some(100.0)
    );
    assert!(
        m.get("pgmig_connections_reserved", &[("target", "t")])
            .unwrap()
            >= 3.0
    );
    // At least the idle session plus the exporter's own.
    assert!(m.get("pgmig_connections", &[("target", "t")]).unwrap() >= 2.0);

    idle.batch_execute("COMMIT").await.unwrap();
    exporter.wait_for(
        "the idle-in-transaction series moves on",
        Duration::from_secs(30),
        |m| {
            m.find("pgmig_longest_idle_in_transaction_seconds", &[("pid", &p)])
                .is_empty()
                .then_some(())
        },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_index_concurrently_in_progress_is_seen_as_ddl_with_opt_in_query_text() {
    let pg = PgCluster::shared();
    let db = pg.create_database("cic").await;
    let setup = pg.connect(&db).await;
    setup.batch_execute("CREATE TABLE users (id int, email text); INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1000) g").await.unwrap();
    let dir = tempdir();
    let cfg = dir.join("cfg.yml");
    std::fs::write(
        &cfg,
        "collectors:\n  activity:\n    query_text: true\n    query_text_max_length: 200\n",
    )
    .unwrap();
    let exporter = Exporter::start(
        &["--config.file", cfg.to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );

    // A writer with an open transaction makes CREATE INDEX CONCURRENTLY wait
    // for it, so the build stays in progress for as long as we need.
    let writer = pg.connect(&db).await;
    writer
        .batch_execute("BEGIN; INSERT INTO users VALUES (0, 'secret@example.com')")
        .await
        .unwrap();
    let (cic, task) = spawn_blocked(
        pg,
        &db,
        "/* migration 42 */ CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email) WHERE email <> 'admin@example.com'",
    )
    .await;
    wait_until_lock_wait(pg, &db, cic).await;
    let p = cic.to_string();

    let m = exporter.wait_for(
        "CREATE INDEX CONCURRENTLY running",
        Duration::from_secs(30),
        |m| {
            (m.get(
                "pgmig_ddl_running",
                &[("target", "t"), ("command", "CREATE INDEX CONCURRENTLY")],
            ) == Some(1.0)
                && m.get(
                    "pgmig_ddl_duration_seconds",
                    &[("command", "CREATE INDEX CONCURRENTLY"), ("pid", &p)],
                )
                .is_some()
                // The locks collector sees the wait on its own poll.
                && m.get("pgmig_blocked_backend_wait_seconds", &[("pid", &p)])
                    .is_some())
            .then(|| m.raw.clone())
        },
    );
    let m = common::Metrics::parse(&m);
    let ddl = m.find("pgmig_ddl_duration_seconds", &[("pid", &p)]);
    let q = &ddl[0].labels["query"];
    assert!(
        q.starts_with(
            "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email) WHERE email <> ?"
        ),
        "{q}"
    );
    assert!(
        !m.raw.contains("admin@example.com"),
        "a literal leaked into a label"
    );
    assert!(
        !m.raw.contains("secret@example.com"),
        "a literal leaked into a label"
    );
    // The build waits for the writer: a lock wait with the writer as its root.
    let wait = m.find("pgmig_blocked_backend_wait_seconds", &[("pid", &p)]);
    assert_eq!(wait.len(), 1, "{}", m.raw);
    assert_eq!(wait[0].labels["locktype"], "virtualxid");

    writer.batch_execute("COMMIT").await.unwrap();
    task.await.unwrap().unwrap();
    exporter.wait_for(
        "the DDL series vanish when the build ends",
        Duration::from_secs(30),
        |m| {
            (m.get(
                "pgmig_ddl_running",
                &[("command", "CREATE INDEX CONCURRENTLY")],
            ) == Some(0.0)
                && m.find("pgmig_ddl_duration_seconds", &[("pid", &p)])
                    .is_empty())
            .then_some(())
        },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_text_is_absent_unless_opted_in() {
    let pg = PgCluster::shared();
    let db = pg.create_database("noquery").await;
    let exporter = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    let s = pg.connect(&db).await;
    let task = tokio::spawn(async move {
        s.batch_execute("SELECT pg_sleep(3) /* 'classified' */")
            .await
    });
    exporter.wait_for(
        "the sleeping query is the oldest",
        Duration::from_secs(30),
        |m| {
            m.get("pgmig_oldest_query_seconds", &[("target", "t")])
                .filter(|v| *v > 0.5)
        },
    );
    let m = exporter.metrics();
    assert!(
        m.samples.iter().all(|s| !s.labels.contains_key("query")),
        "query label without opt-in"
    );
    assert!(!m.raw.contains("pg_sleep"));
    task.await.unwrap().unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pgmig-cfg-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
