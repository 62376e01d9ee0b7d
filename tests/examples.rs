//! Issue 4, must show: each seed migration in examples/ played against real
//! PostgreSQL with the exporter running the example's own config: the
//! failure path gives the signals the seed's runbook names, the healthy path
//! the opposite.

mod common;

use std::time::Duration;

use common::{example_dir, psql_file, Exporter, Metrics, PgCluster};

const T: Duration = Duration::from_secs(60);

async fn setup(pg: &PgCluster, example: &str) -> (String, Exporter) {
    let db = pg.create_database(&example.replace('-', "_")).await;
    let dir = example_dir(example);
    psql_file(pg, &db, &dir.join("schema.sql"));
    let exporter = Exporter::start(
        &["--config.file", dir.join("config.yml").to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "app"),
        ],
    );
    // Every app collector has run once (incremental ones have their watermark).
    exporter.wait_for("all collectors up", T, |m| {
        let app: Vec<_> = m.find("pgmig_collector_success", &[("target", "app")]);
        (!app.is_empty() && app.iter().all(|s| s.value == 1.0)).then_some(())
    });
    (db, exporter)
}

fn ops(m: &Metrics, op: &str, outcome: &str) -> f64 {
    m.sum(
        "pgmig_app_operations_total",
        &[("operation", op), ("outcome", outcome)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_import_failure_then_healthy() {
    let pg = PgCluster::shared();
    let (db, e) = setup(pg, "organizations-import").await;
    let dir = example_dir("organizations-import");

    let stderr = psql_file(pg, &db, &dir.join("failure.sql"));
    assert!(stderr.contains("could not create unique index"), "{stderr}");
    let idx = [
        ("kind", "index"),
        ("name", "public.organizations_exact_name_type_active"),
    ];
    let m = e.wait_for("the failure signals", T, |m| {
        (m.get("pgmig_expected_object_present", &idx) == Some(0.0)
            && m.get(
                "pgmig_index_invalid",
                &[("index", "organizations_exact_name_type_active")],
            ) == Some(1.0)
            && m.get(
                "pgmig_app_integrity_violations",
                &[("check", "organizations_duplicate_name_type")],
            )
            .unwrap_or(0.0)
                > 0.0
            && ops(m, "import", "failure") > 0.0
            && m.get("pgmig_app_flag", &[("flag", "import_enabled")]) == Some(0.0))
        .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    let (ok, bad) = (ops(&m, "import", "success"), ops(&m, "import", "failure"));
    assert_eq!(
        (ok, bad),
        (1200.0, 2800.0),
        "records from the 40 failure-path rows"
    );
    assert!(ok / (ok + bad) < 0.5, "import success rate under 50%");
    assert_eq!(
        m.sum(
            "pgmig_app_operation_errors_total",
            &[("operation", "import"), ("code", "42P10")]
        ),
        2800.0
    );
    let count = m
        .get(
            "pgmig_app_operation_duration_seconds_count",
            &[("operation", "import")],
        )
        .unwrap();
    assert_eq!(count, 40.0);
    // 800..1400 ms: nothing under 0.5 s, everything under 2.5 s.
    assert_eq!(
        m.get(
            "pgmig_app_operation_duration_seconds_bucket",
            &[("operation", "import"), ("le", "0.5")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "pgmig_app_operation_duration_seconds_bucket",
            &[("operation", "import"), ("le", "2.5")]
        ),
        Some(40.0)
    );
    assert!(
        m.find("pgmig_app_expected_error_code", &[]).is_empty(),
        "no error code is expected after this migration"
    );

    psql_file(pg, &db, &dir.join("healthy.sql"));
    let m = e.wait_for("the healthy signals", T, |m| {
        (m.get("pgmig_expected_object_present", &idx) == Some(1.0)
            && m.find("pgmig_index_invalid", &[]).is_empty()
            && m.get(
                "pgmig_app_integrity_violations",
                &[("check", "organizations_duplicate_name_type")],
            ) == Some(0.0)
            && ops(m, "import", "success") == 1200.0 + 6000.0
            && m.get("pgmig_app_flag", &[("flag", "import_enabled")]) == Some(1.0))
        .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    // The healthy path's imports: all succeed, none fail, all under 5 ms.
    assert_eq!(ops(&m, "import", "failure"), 2800.0);
    assert_eq!(
        m.get(
            "pgmig_app_operation_duration_seconds_bucket",
            &[("operation", "import"), ("le", "0.005")]
        ),
        Some(60.0)
    );
}
