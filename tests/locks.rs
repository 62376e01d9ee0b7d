//! Issue 2, must show: a table held in ACCESS EXCLUSIVE with three sessions
//! queued behind it in a chain, seen on /metrics, and the waits observed in
//! the lock-wait histogram once the holder commits.

mod common;

use std::time::{Duration, Instant};

use common::{spawn_blocked, wait_until_lock_wait, Exporter, PgCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_exclusive_chain_shows_root_queue_and_completed_waits() {
    let pg = PgCluster::shared();
    let db = pg.create_database("locks").await;
    let setup = pg.connect(&db).await;
    setup.batch_execute("CREATE TABLE orders (id int PRIMARY KEY, total numeric); INSERT INTO orders VALUES (1, 10)").await.unwrap();

    let exporter = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "app"),
        ],
    );
    exporter.wait_for("pgmig_up 1", Duration::from_secs(30), |m| {
        (m.get("pgmig_up", &[("target", "app")]) == Some(1.0)).then_some(())
    });

    // The holder: a migration that took ACCESS EXCLUSIVE and has not committed.
    let holder = pg.connect(&db).await;
    holder
        .batch_execute("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let holder_pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);

    // A chain: an ALTER TABLE queued for ACCESS EXCLUSIVE, two readers behind both.
    let (w1, t1) = spawn_blocked(pg, &db, "ALTER TABLE orders ADD COLUMN note text").await;
    wait_until_lock_wait(pg, &db, w1).await;
    let (w2, t2) = spawn_blocked(pg, &db, "SELECT count(*) FROM orders").await;
    wait_until_lock_wait(pg, &db, w2).await;
    let (w3, t3) = spawn_blocked(pg, &db, "SELECT sum(total) FROM orders").await;
    wait_until_lock_wait(pg, &db, w3).await;
    let formed = Instant::now();

    let before = exporter.metrics();
    let waits_before = before
        .get("pgmig_lock_wait_seconds_count", &[("target", "app")])
        .unwrap_or(0.0);
    let root = holder_pid.to_string();
    let m = exporter.wait_for(
        "three blocked backends with their root",
        Duration::from_secs(20),
        |m| {
            let ok = m.get("pgmig_blocked_backends", &[("target", "app")]) == Some(3.0)
                && [w1, w2, w3].iter().all(|p| {
                    m.get(
                        "pgmig_blocked_backend_wait_seconds",
                        &[("pid", &p.to_string()), ("blocking_root_pid", &root)],
                    )
                    .is_some()
                })
                && m.get("pgmig_lock_queue_length", &[("relation", "public.orders")]) == Some(3.0)
                && m.get(
                    "pgmig_lock_access_exclusive",
                    &[("relation", "public.orders"), ("status", "held")],
                ) == Some(1.0);
            ok.then(|| Metrics2(m.raw.clone()))
        },
    );
    eprintln!(
        "lock queue visible on /metrics {:?} after it formed (poll interval 1s)",
        formed.elapsed()
    );
    let m = common::Metrics::parse(&m.0);

    // The queued ALTER is itself waiting for ACCESS EXCLUSIVE; the readers sit
    // one link further down the chain.
    assert_eq!(
        m.get(
            "pgmig_lock_access_exclusive",
            &[("relation", "public.orders"), ("status", "waiting")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "pgmig_lock_queue_length",
            &[("relation", "public.orders"), ("datname", &db)]
        ),
        Some(3.0)
    );
    assert_eq!(
        m.get(
            "pgmig_blocked_backend_chain_depth",
            &[("pid", &w1.to_string())]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "pgmig_blocked_backend_chain_depth",
            &[("pid", &w2.to_string())]
        ),
        Some(2.0)
    );
    assert_eq!(
        m.get(
            "pgmig_blocking_root_blocked_backends",
            &[("pid", &root), ("state", "idle in transaction")]
        ),
        Some(3.0)
    );
    let w1_mode = m.find(
        "pgmig_blocked_backend_wait_seconds",
        &[("pid", &w1.to_string())],
    );
    assert_eq!(w1_mode[0].labels["mode"], "AccessExclusiveLock");
    assert!(
        m.get("pgmig_lock_oldest_wait_seconds", &[("target", "app")])
            .unwrap()
            >= 0.0
    );

    // The exporter's polls keep completing while the table is locked with a queue.
    let last = |m: &common::Metrics, c: &str| {
        m.get(
            "pgmig_collector_last_success_timestamp_seconds",
            &[("target", "app"), ("collector", c)],
        )
        .unwrap()
    };
    let (locks0, activity0) = (last(&m, "locks"), last(&m, "activity"));
    exporter.wait_for(
        "polls completing under the lock",
        Duration::from_secs(20),
        |m2| {
            (last(m2, "locks") > locks0
                && last(m2, "activity") > activity0
                && m2.get(
                    "pgmig_collector_success",
                    &[("target", "app"), ("collector", "locks")],
                ) == Some(1.0)
                && m2.get(
                    "pgmig_collector_success",
                    &[("target", "app"), ("collector", "activity")],
                ) == Some(1.0))
            .then_some(())
        },
    );

    // The exporter never reports its own backends.
    let own: Vec<String> = setup
        .query("SELECT pid::text FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!own.is_empty());
    for s in &m.samples {
        if let Some(pid) = s.labels.get("pid") {
            assert!(
                !own.contains(pid),
                "exporter backend {pid} reported in {s:?}"
            );
        }
    }

    holder.batch_execute("COMMIT").await.unwrap();
    for t in [t1, t2, t3] {
        t.await.unwrap().unwrap();
    }
    exporter.wait_for(
        "blocked series gone and three waits observed",
        Duration::from_secs(20),
        |m| {
            (m.get("pgmig_blocked_backends", &[("target", "app")]) == Some(0.0)
                && m.find("pgmig_blocked_backend_wait_seconds", &[]).is_empty()
                && m.find("pgmig_blocking_root_blocked_backends", &[])
                    .is_empty()
                && m.get("pgmig_lock_wait_seconds_count", &[("target", "app")])
                    == Some(waits_before + 3.0))
            .then_some(())
        },
    );
}

struct Metrics2(String);

/// Issue 20: the locks collector reads pg_locks only when the set of waiting
/// backends changes (or every 15 s). A server where nobody waits costs no
/// pg_locks read per poll, and a queue that forms after quiet polls is still
/// reported, waiting DDL and root blocker named (its state and transaction
/// age), on the first polls after it forms. Counted in polls, not
/// milliseconds, so that a loaded machine does not decide the outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_forming_after_quiet_polls_is_named_and_quiet_polls_skip_pg_locks() {
    // A private server: waits of other tests must not reach this one.
    let pg = PgCluster::start_new(&["shared_preload_libraries=pg_stat_statements"]);
    let db = pg.create_database("gate").await;
    let setup = pg.connect(&db).await;
    setup
        .batch_execute("CREATE EXTENSION pg_stat_statements; CREATE TABLE orders (id int)")
        .await
        .unwrap();
    // The locks collector alone, so that pg_locks reads are its own.
    let exporter = Exporter::start(
        &["--collector.disable-defaults", "--collector.locks"],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "app"),
        ],
    );
    let polls = |m: &common::Metrics| {
        m.get(
            "pgmig_collector_duration_seconds_count",
            &[("target", "app"), ("collector", "locks")],
        )
        .unwrap_or(0.0)
    };
    let pg_locks_reads = || async {
        let c = pg.connect(&db).await;
        let n: i64 = c
            .query_one(
                "SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements \
                 WHERE query LIKE '%FROM pg_catalog.pg_locks%' AND query LIKE '%pg_blocking_pids%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        n
    };
    let first = exporter.wait_for("two locks polls", Duration::from_secs(30), |m| {
        (polls(m) >= 2.0).then(|| polls(m))
    });
    let reads_before = pg_locks_reads().await;
    exporter.wait_for("six more locks polls", Duration::from_secs(60), |m| {
        (polls(m) >= first + 6.0).then_some(())
    });
    let reads_quiet = pg_locks_reads().await - reads_before;
    // Six polls with nobody waiting: at most the one read every 15 s.
    assert!(
        reads_quiet <= 1,
        "{reads_quiet} pg_locks reads in six polls while nobody waited"
    );

    // The root: a session idle in its transaction, holding a lock on orders.
    let holder = pg.connect(&db).await;
    holder
        .batch_execute("SET application_name = 'report'; BEGIN; SELECT count(*) FROM orders")
        .await
        .unwrap();
    let holder_pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let (ddl, task) = spawn_blocked(&pg, &db, "ALTER TABLE orders ADD COLUMN note text").await;
    wait_until_lock_wait(&pg, &db, ddl).await;
    let polls_at_formed = polls(&exporter.metrics());
    let (ddl_s, root) = (ddl.to_string(), holder_pid.to_string());
    let polls_at_seen = exporter.wait_for(
        "the waiting DDL and its root, with state and age",
        Duration::from_secs(30),
        |m| {
            let ok = m
                .get(
                    "pgmig_blocked_backend_wait_seconds",
                    &[
                        ("pid", &ddl_s),
                        ("blocking_root_pid", &root),
                        ("mode", "AccessExclusiveLock"),
                        ("relation", "public.orders"),
                    ],
                )
                .is_some()
                && m.get(
                    "pgmig_blocking_root_blocked_backends",
                    &[
                        ("pid", &root),
                        ("state", "idle in transaction"),
                        ("application_name", "report"),
                    ],
                ) == Some(1.0)
                && m.get("pgmig_blocking_root_transaction_seconds", &[("pid", &root)])
                    .is_some_and(|v| v > 0.0);
            ok.then(|| polls(m))
        },
    );
    // Seen on the first poll after the queue formed, or the one after it
    // (a poll may have been running while it formed).
    assert!(
        polls_at_seen - polls_at_formed <= 2.0,
        "seen {} polls after the queue formed",
        polls_at_seen - polls_at_formed
    );
    assert!(pg_locks_reads().await > reads_before + reads_quiet);

    holder.batch_execute("COMMIT").await.unwrap();
    task.await.unwrap().unwrap();
    exporter.wait_for("nobody blocked any more", Duration::from_secs(30), |m| {
        (m.get("pgmig_blocked_backends", &[("target", "app")]) == Some(0.0)).then_some(())
    });
}
