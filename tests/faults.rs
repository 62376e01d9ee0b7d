//! Issue 8: the exporter under faults, each against a real PostgreSQL:
//! the server down at start, the exporter's backends terminated (200 times,
//! with the connection bound checked throughout), the server at
//! max_connections, a query that hangs past its timeout (cancelled on the
//! server), a read-only standby as a target, and roles with only pg_monitor
//! and with less.

mod common;

use std::time::{Duration, Instant};

use common::{exporter_backends, Exporter, PgCluster};

const T: Duration = Duration::from_secs(60);
/// One connection per lane (fast, slow) plus one short-lived at a time.
const BOUND: i64 = 3;

fn config(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pgmig-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

fn up(m: &common::Metrics, t: &str) -> Option<f64> {
    m.get("pgmig_up", &[("target", t)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_at_start_then_it_appears() {
    let pg = PgCluster::init(&[]);
    let e = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "late"),
        ],
    );
    e.wait_for("pgmig_up 0 while nothing listens", T, |m| {
        (up(m, "late") == Some(0.0)).then_some(())
    });
    assert_eq!(e.get("/healthz").status, 200);
    assert_eq!(
        e.get("/readyz").status,
        200,
        "a failed first poll still counts as polled"
    );
    pg.start();
    e.wait_for("pgmig_up 1 once the server appears", T, |m| {
        (up(m, "late") == Some(1.0)
            && m.get("pgmig_collector_success", &[("collector", "locks")]) == Some(1.0))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_200_times_never_exceed_the_connection_bound() {
    let pg = PgCluster::start_new(&[]);
    let cfg = config("terminate.yml", "collectors:\n  database: {interval: 1s}\n  indexes: {interval: 1s}\n  tables: {interval: 1s}\n");
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    e.wait_for("up", T, |m| (up(m, "t") == Some(1.0)).then_some(()));
    let admin = pg.connect("postgres").await;
    let mut max_seen = 0;
    let mut terminated = 0i64;
    for _ in 0..200 {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        terminated += n;
        max_seen = max_seen.max(exporter_backends(&admin).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        terminated >= 20,
        "only {terminated} exporter backends were there to terminate"
    );
    assert!(
        max_seen <= BOUND,
        "{max_seen} exporter connections at once (bound {BOUND})"
    );
    // Reconnected: both lanes' sessions are back (up alone may still be the
    // value from before the last kill, until the next poll notices).
    let deadline = Instant::now() + T;
    loop {
        let n = exporter_backends(&admin).await;
        assert!(n <= BOUND, "{n} exporter connections after the storm");
        if n >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the exporter did not reconnect");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    e.wait_for("up again after the storm", T, |m| {
        (up(m, "t") == Some(1.0)
            && m.get("pgmig_collector_success", &[("collector", "activity")]) == Some(1.0))
        .then_some(())
    });
    // No pile-up: nobody is waiting for a lock or sitting idle in a transaction.
    let stuck: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter' AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stuck, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_at_max_connections_is_reported_without_a_tight_retry_loop() {
    let pg = PgCluster::start_new(&["max_connections=6", "superuser_reserved_connections=1"]);
    let admin = pg.connect("postgres").await;
    admin
        .batch_execute("CREATE ROLE app LOGIN; CREATE ROLE mon LOGIN IN ROLE pg_monitor")
        .await
        .unwrap();
    // Five slots for ordinary roles: fill them all.
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let (c, conn) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={} user=app dbname=postgres", pg.port),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        hogs.push(c);
    }
    let dsn = format!(
        "postgres://mon@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    let e = Exporter::start(
        &[],
        &[("PGMIG_DATABASE_URL", &dsn), ("PGMIG_TARGET_NAME", "full")],
    );
    e.wait_for("down while the server is full", T, |m| {
        (up(m, "full") == Some(0.0)
            && m.get("pgmig_connect_errors_total", &[("target", "full")])
                .unwrap_or(0.0)
                >= 1.0)
            .then_some(())
    });
    let first = e
        .metrics()
        .get("pgmig_connect_errors_total", &[("target", "full")])
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let after = e
        .metrics()
        .get("pgmig_connect_errors_total", &[("target", "full")])
        .unwrap();
    // Backoff from 0.5 s doubling: a handful of attempts in 6 s, not hundreds.
    assert!(after - first <= 12.0, "{} attempts in 6s", after - first);
    assert!(
        e.get("/").text().contains("too many clients") || e.get("/").text().contains("reserved"),
        "{}",
        e.get("/").text()
    );
    hogs.clear();
    e.wait_for("up once slots free up", T, |m| {
        (up(m, "full") == Some(1.0)).then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_query_is_cancelled_on_the_server() {
    let pg = PgCluster::shared();
    let db = pg.create_database("hang").await;
    let cfg = config(
        "hang.yml",
        "app_collectors:\n  - name: hangs\n    interval: 1s\n    timeout: 1s\n    sql: SELECT pg_sleep(30) AS v\n    metrics: [{name: shop_sleep, type: gauge, value: v}]\n",
    );
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    e.wait_for("the hanging collector fails, the others run", T, |m| {
        (!m.find(
            "pgmig_collector_errors_total",
            &[("collector", "app:hangs")],
        )
        .is_empty()
            && m.sum(
                "pgmig_collector_errors_total",
                &[("collector", "app:hangs")],
            ) >= 2.0
            && m.get("pgmig_collector_success", &[("collector", "app:hangs")]) == Some(0.0)
            && m.get("pgmig_collector_success", &[("collector", "locks")]) == Some(1.0))
        .then_some(())
    });
    // The server stopped each sleep: none has been running for more than a few seconds.
    let c = pg.connect(&db).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        let long: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND now() - query_start > interval '3 seconds'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            long, 0,
            "a hanging query outlived its timeout on the server"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_standby_is_watched_like_a_primary() {
    let primary = PgCluster::start_new(&[]);
    let standby = PgCluster::start_standby_of(&primary);
    let e = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &standby.url("postgres")),
            ("PGMIG_TARGET_NAME", "replica"),
        ],
    );
    let collectors = [
        "locks",
        "activity",
        "probe",
        "progress",
        "database",
        "indexes",
        "tables",
        "functions",
        "statements",
        "expected_objects",
        "frameworks",
    ];
    e.wait_for("every collector works on the standby", T, |m| {
        (m.get("pgmig_in_recovery", &[("target", "replica")]) == Some(1.0)
            && collectors.iter().all(|c| {
                m.get(
                    "pgmig_collector_success",
                    &[("target", "replica"), ("collector", c)],
                ) == Some(1.0)
            }))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_with_pg_monitor_and_with_less_degrade_without_failing() {
    let pg = PgCluster::start_new(&[]);
    let admin = pg.connect("postgres").await;
    admin.batch_execute("CREATE ROLE mon LOGIN IN ROLE pg_monitor; CREATE ROLE weak LOGIN; CREATE TABLE secret (id int)").await.unwrap();
    // Another user's session for the exporter to (not) see.
    let other = pg.connect("postgres").await;
    other
        .batch_execute("BEGIN; SELECT * FROM secret")
        .await
        .unwrap();
    for role in ["mon", "weak"] {
        let dsn = format!(
            "postgres://{role}@127.0.0.1:{}/postgres?sslmode=disable",
            pg.port
        );
        let e = Exporter::start(
            &[],
            &[("PGMIG_DATABASE_URL", &dsn), ("PGMIG_TARGET_NAME", role)],
        );
        let m = e.wait_for("every collector reports", T, |m| {
            let all = m.find("pgmig_collector_success", &[("target", role)]);
            (all.len() >= 11
                && all
                    .iter()
                    .filter(|s| s.labels["collector"] != "frameworks")
                    .all(|s| s.value == 1.0))
            .then(|| m.raw.clone())
        });
        let m = common::Metrics::parse(&m);
        let hidden = m
            .get("pgmig_backends", &[("target", role), ("state", "none")])
            .unwrap();
        let log = e.log_text();
        if role == "mon" {
            assert_eq!(hidden, 0.0, "pg_monitor sees every session's state");
            assert!(!log.contains("GRANT pg_monitor"));
        } else {
            assert!(
                hidden >= 1.0,
                "without pg_monitor other sessions' state is hidden"
            );
            assert!(
                log.contains("nor a member of pg_monitor") && log.contains("GRANT pg_monitor"),
                "{log}"
            );
        }
    }
    other.batch_execute("COMMIT").await.unwrap();
}
