//! Issue 4: custom SQL collectors against real PostgreSQL: exact histogram
//! buckets from rows, incremental reads that never double-count (also across
//! a restart), every odd value handled on purpose, the first-run column
//! check, a failing query isolated from the other collectors, and bad config
//! files rejected with file, line and key.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Exporter, Metrics, PgCluster, EXPORTER};

const T: Duration = Duration::from_secs(40);

fn config(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pgmig-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

const DURATIONS: &str = "app_collectors:
  - name: durations
    interval: 500ms
    sql: SELECT id, duration_ms FROM jobs
    incremental: {column: id, max_rows: 400}
    metrics:
      - signal: operation_duration
        static_labels: {operation: job}
        value: duration_ms
        scale: 0.001
        buckets: [0.01, 0.1, 1]
      - name: shop_jobs_total
        type: counter
        help: Jobs finished.
";

async fn insert_jobs(c: &tokio_postgres::Client, from: i32, n: i32) {
    // Durations cycle through 5, 50, 500 and 5000 ms: a quarter in each bucket band.
    c.execute(
        "INSERT INTO jobs (id, duration_ms) SELECT g, (ARRAY[5, 50, 500, 5000])[1 + g % 4] FROM generate_series($1::int, $2::int) g",
        &[&from, &(from + n - 1)],
    )
    .await
    .unwrap();
}

fn bucket(m: &Metrics, le: &str) -> f64 {
    m.get(
        "pgmig_app_operation_duration_seconds_bucket",
        &[("operation", "job"), ("le", le)],
    )
    .unwrap_or(-1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histogram_from_rows_has_exact_buckets_and_a_restart_does_not_double_count() {
    let pg = PgCluster::shared();
    let db = pg.create_database("hist").await;
    let c = pg.connect(&db).await;
    c.batch_execute("CREATE TABLE jobs (id int PRIMARY KEY, duration_ms numeric)")
        .await
        .unwrap();
    insert_jobs(&c, 1, 7).await; // before the exporter: never counted (start: now)
    let cfg = config("hist.yml", DURATIONS);
    let env = [
        ("PGMIG_DATABASE_URL", pg.url(&db)),
        ("PGMIG_TARGET_NAME", "t".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let e = Exporter::start(&["--config.file", &cfg], &env);
    e.wait_for("the watermark read", T, |m| {
        (m.get("pgmig_collector_success", &[("collector", "app:durations")]) == Some(1.0))
            .then_some(())
    });

    insert_jobs(&c, 8, 1000).await;
    let m = e.wait_for("1,000 observations", T, |m| {
        (m.get(
            "pgmig_app_operation_duration_seconds_count",
            &[("operation", "job")],
        ) == Some(1000.0))
        .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    // ids 8..1007: g % 4 gives 250 of each duration.
    assert_eq!(bucket(&m, "0.01"), 250.0);
    assert_eq!(bucket(&m, "0.1"), 500.0);
    assert_eq!(bucket(&m, "1"), 750.0);
    assert_eq!(bucket(&m, "+Inf"), 1000.0);
    let sum = m
        .get(
            "pgmig_app_operation_duration_seconds_sum",
            &[("operation", "job")],
        )
        .unwrap();
    assert!(
        (sum - 250.0 * (0.005 + 0.05 + 0.5 + 5.0)).abs() < 1e-6,
        "{sum}"
    );
    assert_eq!(m.get("shop_jobs_total", &[("target", "t")]), Some(1000.0));

    insert_jobs(&c, 1008, 500).await;
    let m = e.wait_for("exactly 500 more", T, |m| {
        (m.get(
            "pgmig_app_operation_duration_seconds_count",
            &[("operation", "job")],
        ) == Some(1500.0))
        .then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert_eq!(bucket(&m, "0.01"), 375.0);
    assert_eq!(bucket(&m, "+Inf"), 1500.0);
    assert_eq!(m.get("shop_jobs_total", &[]), Some(1500.0));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        e.metrics().get("shop_jobs_total", &[]),
        Some(1500.0),
        "rows read twice"
    );
    drop(e);

    // A restart starts from the newest row: nothing is counted again.
    let e = Exporter::start(&["--config.file", &cfg], &env);
    e.wait_for("the watermark read again", T, |m| {
        (m.get("pgmig_collector_success", &[("collector", "app:durations")]) == Some(1.0))
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let m = e.metrics();
    assert_eq!(
        m.get(
            "pgmig_app_operation_duration_seconds_count",
            &[("operation", "job")]
        )
        .unwrap_or(0.0),
        0.0
    );
    insert_jobs(&c, 1508, 4).await;
    e.wait_for("only the 4 new rows", T, |m| {
        (m.get(
            "pgmig_app_operation_duration_seconds_count",
            &[("operation", "job")],
        ) == Some(4.0)
            && m.get("shop_jobs_total", &[]) == Some(4.0))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_values_are_handled_on_purpose_and_counted() {
    let pg = PgCluster::shared();
    let db = pg.create_database("odd").await;
    let cfg = config(
        "odd.yml",
        "app_collectors:
  - name: odd
    interval: 500ms
    sql: |
      SELECT * FROM (VALUES
        ('null', NULL::text), ('nan', 'NaN'), ('inf', 'Infinity'), ('huge', '1e400'),
        ('big', '9007199254740993'), ('text', 'twelve'), ('bool', 't'), ('ok', '42'), ('ok', '43')) v(k, x)
    metrics:
      - {name: shop_odd, type: gauge, labels: [k], value: x}
",
    );
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    let m = e.wait_for("the odd values", T, |m| {
        m.get("shop_odd", &[("k", "ok")]).map(|_| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    assert_eq!(
        m.get("shop_odd", &[("k", "ok")]),
        Some(42.0),
        "the first of two rows with one label set"
    );
    assert!(m.get("shop_odd", &[("k", "nan")]).unwrap().is_nan());
    assert_eq!(m.get("shop_odd", &[("k", "inf")]), Some(f64::INFINITY));
    assert_eq!(m.get("shop_odd", &[("k", "big")]), Some(9007199254740992.0));
    assert_eq!(m.get("shop_odd", &[("k", "bool")]), Some(1.0));
    for k in ["null", "huge", "text"] {
        assert!(
            m.find("shop_odd", &[("k", k)]).is_empty(),
            "{k} should be skipped"
        );
    }
    let reasons = [
        ("null", 1.0),
        ("out_of_range", 1.0),
        ("not_a_number", 1.0),
        ("precision_loss", 1.0),
        ("duplicate_labels", 1.0),
    ];
    let runs = m
        .get(
            "pgmig_collector_duration_seconds_count",
            &[("collector", "app:odd")],
        )
        .unwrap();
    for (reason, per_run) in reasons {
        let v = m
            .get(
                "pgmig_app_value_errors_total",
                &[
                    ("collector", "odd"),
                    ("metric", "shop_odd"),
                    ("reason", reason),
                ],
            )
            .unwrap();
        assert!(
            v >= per_run && v <= per_run * runs,
            "{reason}: {v} over {runs} runs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_column_and_a_failing_query_fail_alone() {
    let pg = PgCluster::shared();
    let db = pg.create_database("failing").await;
    let cfg = config(
        "failing.yml",
        "app_collectors:
  - name: wrong_column
    interval: 500ms
    sql: SELECT 1 AS value
    metrics:
      - {name: shop_a, type: gauge, value: amount}
  - name: broken
    interval: 500ms
    sql: SELECT * FROM no_such_table
    metrics:
      - {name: shop_b, type: gauge, value: v}
  - name: fine
    interval: 500ms
    sql: SELECT 7 AS v
    metrics:
      - {name: shop_c, type: gauge, value: v}
",
    );
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    e.wait_for(
        "the good collector works, the broken ones report failure",
        T,
        |m| {
            (m.get("shop_c", &[]) == Some(7.0)
                && m.get(
                    "pgmig_collector_success",
                    &[("collector", "app:wrong_column")],
                ) == Some(0.0)
                && m.get("pgmig_collector_success", &[("collector", "app:broken")]) == Some(0.0)
                && m.get(
                    "pgmig_collector_errors_total",
                    &[("collector", "app:broken"), ("kind", "error")],
                )
                .unwrap_or(0.0)
                    >= 1.0
                && m.get("pgmig_collector_success", &[("collector", "locks")]) == Some(1.0))
            .then_some(())
        },
    );
    let log = e.log_text();
    assert!(
        log.contains("collector app:wrong_column: column \\\"amount\\\"")
            || log.contains("collector app:wrong_column: column \"amount\""),
        "{log}"
    );
    assert!(log.contains("returns only: value"), "{log}");
    assert!(log.contains("app:broken") && log.contains("42P01"), "{log}");
    // No transaction is left open by a failed query.
    let c = pg.connect(&db).await;
    let open: i64 = c
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter' AND state LIKE 'idle in transaction%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, 0);
}

#[test]
fn bad_config_files_name_file_line_and_key_and_check_config_fails() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs");
    let cases = [
        ("unknown_key.yml", ":8", "app_collectors[0].metrics[0].colour"),
        ("duplicate_metric.yml", ":", "app collector b: metric shop_orders: already defined by app collector a"),
        ("builtin_clash.yml", ":", "app collector sneaky: metric pgmig_up: names starting with pgmig_ belong to the exporter"),
        ("label_twice.yml", ":", "app collector outcomes: metric shop_outcomes: label outcome is listed twice"),
        ("prometheus_label.yml", ":", "app collector jobs: metric shop_jobs: label \"job\" is set by Prometheus at scrape time"),
        ("histogram_without_buckets.yml", ":", "app collector durations: metric shop_duration_seconds: a histogram needs buckets"),
        ("bad_duration.yml", ":4", "app_collectors[0].interval: invalid duration"),
        ("name_and_signal.yml", ":", "app collector both: metric shop_v: set exactly one of name and signal"),
    ];
    for (file, line, key) in cases {
        let p = dir.join(file);
        let out = Command::new(EXPORTER)
            .args(["--check-config", "--config.file"])
            .arg(&p)
            .env("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1/x")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} was accepted");
        assert!(
            err.contains(&format!("{}{line}", p.display())),
            "{file}: {err}"
        );
        assert!(err.contains(key), "{file}: {err} lacks {key}");
    }
}
