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
    // Every app collector and the expected-object checks have run once
    // (incremental collectors have their watermark).
    exporter.wait_for("the example's collectors up", T, |m| {
        let ours: Vec<_> = m
            .find("pgmig_collector_success", &[("target", "app")])
            .into_iter()
            .filter(|s| {
                s.labels["collector"].starts_with("app:")
                    || s.labels["collector"] == "expected_objects"
            })
            .collect();
        (ours.len() >= 2 && ours.iter().all(|s| s.value == 1.0)).then_some(())
    });
    assert_own_thresholds(example, &exporter.metrics());
    (db, exporter)
}

/// Each seed's own numbers (its `thresholds`, docs/alerts.md "The seeds'
/// own numbers"), as the exporter serves them for the rules to join:
/// (operation, or "" for the target's own, signal, value).
fn seed_thresholds(example: &str) -> &'static [(&'static str, &'static str, f64)] {
    match example {
        "organizations-import" => &[
            ("", "response_seconds", 0.5),
            ("", "response_for_seconds", 900.0),
            ("import", "error_ratio", 0.25),
            ("import", "error_ratio_for_seconds", 300.0),
            ("import", "success_ratio", 0.5),
            ("import", "success_ratio_for_seconds", 600.0),
        ],
        "mamapace-auth" => &[
            ("registration", "success_ratio", 0.5),
            ("registration", "success_ratio_for_seconds", 900.0),
            ("v2_rpc", "error_ratio", 0.05),
            ("v2_rpc", "error_ratio_for_seconds", 300.0),
            ("v2_rpc", "response_seconds", 1.0),
            ("v2_rpc", "response_for_seconds", 300.0),
        ],
        "omniops-backfill" => &[
            ("dashboard", "error_ratio", 0.01),
            ("dashboard", "error_ratio_for_seconds", 300.0),
            ("dashboard", "response_seconds", 1.0),
            ("dashboard", "response_for_seconds", 900.0),
        ],
        "replyx-indexes" => &[
            ("", "degradation_ratio", 4.0),
            ("", "degradation_for_seconds", 900.0),
        ],
        "mantis-sync" => &[
            ("sync", "error_ratio", 0.25),
            ("sync", "error_ratio_for_seconds", 300.0),
            ("sync", "success_ratio", 0.5),
            ("sync", "success_ratio_for_seconds", 600.0),
        ],
        other => panic!("no thresholds listed for example {other}"),
    }
}

fn assert_own_thresholds(example: &str, m: &Metrics) {
    let want = seed_thresholds(example);
    let served = m
        .find("pgmig_app_operation_threshold", &[("target", "app")])
        .len()
        + m.find("pgmig_target_threshold", &[("target", "app")]).len();
    assert_eq!(
        served,
        want.len(),
        "{example}: served thresholds\n{}",
        m.raw
    );
    for (op, signal, v) in want {
        let got = if op.is_empty() {
            m.get(
                "pgmig_target_threshold",
                &[("target", "app"), ("signal", signal)],
            )
        } else {
            m.get(
                "pgmig_app_operation_threshold",
                &[("target", "app"), ("operation", op), ("signal", signal)],
            )
        };
        assert_eq!(got, Some(*v), "{example}: {op} {signal}");
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mamapace_auth_failure_then_healthy() {
    let pg = PgCluster::shared();
    let (db, e) = setup(pg, "mamapace-auth").await;
    let dir = example_dir("mamapace-auth");
    psql_file(pg, &db, &dir.join("failure.sql"));
    let anon = [
        ("kind", "privilege"),
        ("name", "anon SELECT ON TABLE public.posts"),
        ("expected", "absent"),
    ];
    let feed = [
        ("datname", db.as_str()),
        ("function", "v2_get_feed(p_limit integer)"),
    ];
    let m = e.wait_for(
        "unconfirmed registrations, a slow RPC, anon reading posts",
        T,
        |m| {
            (ops(m, "registration", "success") + ops(m, "registration", "failure") == 40.0
                && m.get("pgmig_expected_object_present", &anon) == Some(1.0)
                && m.get("pgmig_function_calls_total", &feed).unwrap_or(0.0) >= 3.0)
                .then(|| m.raw.clone())
        },
    );
    let m = Metrics::parse(&m);
    let (ok, bad) = (
        ops(&m, "registration", "success"),
        ops(&m, "registration", "failure"),
    );
    assert_eq!((ok, bad), (4.0, 36.0));
    assert!(ok / (ok + bad) < 0.5, "registration success rate under 50%");
    let mean = m.get("pgmig_function_total_seconds_total", &feed).unwrap()
        / m.get("pgmig_function_calls_total", &feed).unwrap();
    assert!(
        mean > 0.5,
        "v2 RPC mean {mean}s should be over the 500 ms target"
    );
    assert_eq!(
        m.get(
            "pgmig_expected_object_present",
            &[("kind", "rls"), ("name", "public.posts")]
        ),
        Some(1.0)
    );

    psql_file(pg, &db, &dir.join("healthy.sql"));
    e.wait_for(
        "anon locked out again and 40 confirmed registrations",
        T,
        |m| {
            (m.get("pgmig_expected_object_present", &anon) == Some(0.0)
                && ops(m, "registration", "success") == 44.0
                && ops(m, "registration", "failure") == 36.0)
                .then_some(())
        },
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omniops_backfill_failure_then_healthy() {
    let pg = PgCluster::shared();
    let (db, e) = setup(pg, "omniops-backfill").await;
    let dir = example_dir("omniops-backfill");
    psql_file(pg, &db, &dir.join("failure.sql"));
    let ratio = |m: &Metrics, t: &str| {
        m.get(
            "pgmig_app_backfill_ratio",
            &[("table", t), ("column", "organization_id")],
        )
    };
    let dead = [
        ("kind", "column"),
        ("name", "public.conversations.customer_id"),
        ("expected", "absent"),
    ];
    let m = e.wait_for("the backfill stuck under 100%", T, |m| {
        (ratio(m, "conversations").is_some_and(|r| r > 0.0 && r < 0.7)
            && ratio(m, "messages").is_some_and(|r| r > 0.0)
            && ratio(m, "page_embeddings") == Some(0.0))
        .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert_eq!(
        ratio(&m, "messages").map(|r| (r * 1000.0).round()),
        Some(667.0),
        "messages follow their conversations"
    );
    assert_eq!(
        m.get(
            "pgmig_app_integrity_violations",
            &[("check", "conversations_without_organization")]
        ),
        Some(100.0)
    );
    assert_eq!(
        m.get("pgmig_expected_object_present", &dead),
        Some(1.0),
        "the dead column is still there"
    );

    psql_file(pg, &db, &dir.join("healthy.sql"));
    e.wait_for("100% everywhere and the dead column gone", T, |m| {
        (["conversations", "messages", "page_embeddings"]
            .iter()
            .all(|t| ratio(m, t) == Some(1.0))
            && m.get(
                "pgmig_app_integrity_violations",
                &[("check", "conversations_without_organization")],
            ) == Some(0.0)
            && m.get("pgmig_expected_object_present", &dead) == Some(0.0))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replyx_indexes_failure_healthy_and_rollback() {
    let pg = PgCluster::shared();
    let db = pg.create_database("replyx").await;
    let dir = example_dir("replyx-indexes");
    let notice = psql_file(pg, &db, &dir.join("schema.sql"));
    if notice.contains("pgvector is not available") {
        eprintln!("replyx-indexes: pgvector (Debian package postgresql-15-pgvector) is not installable here: the vector column and ivfflat index part is skipped");
    }
    let e = Exporter::start(
        &["--config.file", dir.join("config.yml").to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "app"),
        ],
    );
    let stderr = psql_file(pg, &db, &dir.join("failure.sql"));
    assert!(
        stderr.contains("could not create unique index \"idx_users_email_active\""),
        "{stderr}"
    );
    let email = [("kind", "index"), ("name", "public.idx_users_email_active")];
    let m = e.wait_for("the invalid index, absent as an expected object", T, |m| {
        (m.get("pgmig_expected_object_present", &email) == Some(0.0)
            && m.get(
                "pgmig_index_invalid",
                &[("index", "idx_users_email_active")],
            ) == Some(1.0)
            && m.get(
                "pgmig_expected_object_present",
                &[("name", "public.idx_messages_dialog_timestamp")],
            ) == Some(1.0)
            // The indexes collector polls on its own interval.
            && m.find("pgmig_index_valid", &[("datname", db.as_str())])
                .iter()
                .filter(|s| s.labels["index"].starts_with("idx_"))
                .count()
                == 35)
            .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert_eq!(
        m.find("pgmig_index_valid", &[("datname", db.as_str())])
            .iter()
            .filter(|s| s.labels["index"].starts_with("idx_"))
            .count(),
        35
    );

    psql_file(pg, &db, &dir.join("healthy.sql"));
    e.wait_for("all seven expected indexes present, none invalid", T, |m| {
        let present = m.find("pgmig_expected_object_present", &[("kind", "index")]);
        (present.len() == 7
            && present.iter().all(|s| s.value == 1.0)
            && m.find("pgmig_index_invalid", &[]).is_empty())
        .then_some(())
    });

    psql_file(pg, &db, &dir.join("rollback.sql"));
    e.wait_for("after the rollback the seven indexes are gone", T, |m| {
        let present = m.find("pgmig_expected_object_present", &[("kind", "index")]);
        (present.len() == 7 && present.iter().all(|s| s.value == 0.0)).then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mantis_sync_failure_then_healthy() {
    let pg = PgCluster::shared();
    let (db, e) = setup(pg, "mantis-sync").await;
    let dir = example_dir("mantis-sync");
    let part = [
        ("kind", "partition"),
        ("name", "public.sync_activity_log covers now+31d"),
    ];
    let m = e.wait_for("every object of migration 0024 present", T, |m| {
        let present = m.find("pgmig_expected_object_present", &[("migration", "0024")]);
        (present.len() == 26 && present.iter().all(|s| s.value == 1.0)).then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert_eq!(
        m.find("pgmig_expected_object_present", &[("kind", "policy")])
            .len(),
        12
    );
    assert_eq!(
        m.get("pgmig_app_job_items_planned", &[("batch_job", "sync-1")]),
        Some(1000.0)
    );

    psql_file(pg, &db, &dir.join("failure.sql"));
    let m = e.wait_for("a missing future partition and failing syncs", T, |m| {
        (m.get("pgmig_expected_object_present", &part) == Some(0.0)
            && ops(m, "sync", "failure") == 20.0)
            .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert_eq!(ops(&m, "sync", "success"), 30.0);
    assert_eq!(
        m.sum(
            "pgmig_app_operation_errors_total",
            &[("operation", "sync"), ("code", "failed")]
        ),
        20.0
    );
    assert_eq!(
        m.get(
            "pgmig_app_expected_error_code",
            &[("operation", "sync"), ("code", "completed_with_errors")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get("pgmig_app_job_items_done", &[("batch_job", "sync-1")]),
        Some(300.0)
    );
    assert_eq!(
        m.get("pgmig_app_job_active", &[("batch_job", "sync-1")]),
        Some(1.0)
    );

    psql_file(pg, &db, &dir.join("healthy.sql"));
    e.wait_for("partitions ahead again, the sync complete", T, |m| {
        (m.get("pgmig_expected_object_present", &part) == Some(1.0)
            && m.get("pgmig_app_job_active", &[("batch_job", "sync-1")]) == Some(0.0)
            && ops(m, "sync", "success") >= 30.0 + 50.0
            && ops(m, "sync", "failure") == 20.0)
            .then_some(())
    });
}
