//! The exporter under a database that goes away: PostgreSQL killed and
//! restarted under it, and a target that does not exist beside one that does.

mod common;

use std::time::Duration;

use common::{http_get, Exporter, PgCluster};

/// The documented bound: one connection per lane in use; issue-2 collectors
/// all run on the fast lane. Cancel requests add a short-lived one.
const MAX_CONNECTIONS_PER_TARGET: i64 = 2;

async fn exporter_connections(pg: &PgCluster) -> i64 {
    common::exporter_backends(&pg.connect("postgres").await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_postgres_gives_up_0_and_reconnects_when_it_returns() {
    let pg = PgCluster::start_new(&[]);
    let exporter = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "db"),
        ],
    );
    exporter.wait_for("up", Duration::from_secs(30), |m| {
        (m.get("pgmig_up", &[("target", "db")]) == Some(1.0)).then_some(())
    });
    assert!(exporter_connections(&pg).await <= MAX_CONNECTIONS_PER_TARGET);

    pg.kill();
    let m = exporter.wait_for(
        "pgmig_up 0 while the server is down",
        Duration::from_secs(30),
        |m| (m.get("pgmig_up", &[("target", "db")]) == Some(0.0)).then(|| m.raw.clone()),
    );
    // A failed target drops its collectors' series instead of serving stale ones.
    let m = common::Metrics::parse(&m);
    assert!(
        m.find("pgmig_backends", &[("target", "db")]).is_empty(),
        "stale series after the server died"
    );
    assert_eq!(
        m.get(
            "pgmig_collector_success",
            &[("target", "db"), ("collector", "locks")]
        ),
        Some(0.0)
    );
    // /metrics, /healthz and / keep answering.
    assert_eq!(exporter.get("/healthz").status, 200);
    assert_eq!(exporter.get("/").status, 200);
    std::thread::sleep(Duration::from_secs(2));
    let errors_down = exporter
        .metrics()
        .get("pgmig_connect_errors_total", &[("target", "db")])
        .unwrap();
    assert!(errors_down >= 1.0);

    pg.start();
    exporter.wait_for(
        "pgmig_up 1 after the restart",
        Duration::from_secs(60),
        |m| {
            (m.get("pgmig_up", &[("target", "db")]) == Some(1.0)
                && m.get(
                    "pgmig_collector_success",
                    &[("target", "db"), ("collector", "activity")],
                ) == Some(1.0))
            .then_some(())
        },
    );
    let n = exporter_connections(&pg).await;
    assert!(
        (1..=MAX_CONNECTIONS_PER_TARGET).contains(&n),
        "{n} exporter connections after the restart"
    );
    // Backoff, not a tight loop: a few seconds down means a handful of attempts.
    let errors = exporter
        .metrics()
        .get("pgmig_connect_errors_total", &[("target", "db")])
        .unwrap();
    assert!(
        errors < 30.0,
        "{errors} connection attempts while down: a tight retry loop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_target_is_down_while_the_other_target_works_and_no_password_leaks() {
    let pg = PgCluster::shared();
    let db = pg.create_database("good").await;
    let dir = std::env::temp_dir().join(format!("pgmig-two-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("targets.yml");
    std::fs::write(
        &cfg,
        format!(
            "targets:\n  - name: good\n    dsn: {}\n  - name: missing\n    dsn: postgres://postgres:hunter2-secret@127.0.0.1:{}/no_such_db?sslmode=disable\n",
            pg.url(&db),
            pg.port
        ),
    )
    .unwrap();
    let exporter = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &[]);
    let m = exporter.wait_for("good up, missing down", Duration::from_secs(30), |m| {
        (m.get("pgmig_up", &[("target", "good")]) == Some(1.0)
            && m.get("pgmig_up", &[("target", "missing")]) == Some(0.0)
            && m.get(
                "pgmig_collector_success",
                &[("target", "good"), ("collector", "locks")],
            ) == Some(1.0))
        .then(|| m.raw.clone())
    });
    assert!(m.contains("pgmig_backends{target=\"good\""));
    assert!(!m.contains("pgmig_backends{target=\"missing\""));
    let ready = http_get(exporter.addr, "/readyz", &[]);
    assert_eq!(
        ready.status,
        200,
        "both targets have been polled once: {}\n{}",
        exporter.get("/").text(),
        exporter.log_text()
    );
    let landing = exporter.get("/").text();
    assert!(
        landing.contains("no_such_db") || landing.contains("does not exist"),
        "{landing}"
    );
    // The dead target keeps failing in the background; the live one keeps polling.
    std::thread::sleep(Duration::from_secs(2));
    let m = exporter.metrics();
    assert!(
        m.get("pgmig_connect_errors_total", &[("target", "missing")])
            .unwrap()
            >= 1.0
    );
    assert_eq!(
        m.get(
            "pgmig_collector_success",
            &[("target", "good"), ("collector", "activity")]
        ),
        Some(1.0)
    );
    for (what, text) in [
        ("/metrics", m.raw.clone()),
        ("/", exporter.get("/").text()),
        ("log", exporter.log_text()),
    ] {
        assert!(
            !text.contains("hunter2-secret"),
            "the password appears in {what}"
        );
    }
    assert!(exporter.log_text().contains("password=<redacted>"));
}
