//! Issue 3, must show: a schema of 5,000 tables with 15,000 indexes is
//! polled within the collectors' default timeouts, and the series stay
//! within the configured bounds (with the dropped ones counted).

mod common;

use std::time::Duration;

use common::{Exporter, PgCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_tables_fifteen_thousand_indexes_stay_within_timeouts_and_bounds() {
    let pg = PgCluster::start_new(&["max_locks_per_transaction=512"]);
    let c = pg.connect("postgres").await;
    // 4 schemas x 1,250 tables, each with a primary key and two more indexes.
    for s in 0..4 {
        c.batch_execute(&format!(
            "CREATE SCHEMA s{s};
             DO $$ BEGIN FOR i IN 1..1250 LOOP
               EXECUTE format('CREATE TABLE s{s}.t%s (id int PRIMARY KEY, a int, b text)', i);
               EXECUTE format('CREATE INDEX ON s{s}.t%s (a)', i);
               EXECUTE format('CREATE INDEX ON s{s}.t%s (b)', i);
             END LOOP; END $$;"
        ))
        .await
        .unwrap();
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_stat_user_indexes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 15_000);

    // Default timeouts and limits; only the intervals are shortened so the test need not wait a minute.
    let dir = std::env::temp_dir().join(format!("pgmig-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("c.yml");
    std::fs::write(&cfg, "collectors:\n  indexes: {interval: 3s}\n  tables: {interval: 3s}\n  functions: {interval: 3s}\n  database: {interval: 3s}\n").unwrap();
    let exporter = Exporter::start(
        &["--config.file", cfg.to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "big"),
        ],
    );
    let runs = |m: &common::Metrics, c: &str| {
        m.get(
            "pgmig_collector_duration_seconds_count",
            &[("target", "big"), ("collector", c)],
        )
        .unwrap_or(0.0)
    };
    let m = exporter.wait_for(
        "three runs of indexes and tables",
        Duration::from_secs(120),
        |m| (runs(m, "indexes") >= 3.0 && runs(m, "tables") >= 3.0).then(|| m.raw.clone()),
    );
    let m = common::Metrics::parse(&m);
    for c in [
        "indexes",
        "tables",
        "functions",
        "database",
        "locks",
        "activity",
    ] {
        assert_eq!(
            m.get(
                "pgmig_collector_success",
                &[("target", "big"), ("collector", c)]
            ),
            Some(1.0),
            "{c}"
        );
        assert_eq!(
            m.get(
                "pgmig_collector_errors_total",
                &[("target", "big"), ("collector", c), ("kind", "timeout")]
            ),
            Some(0.0),
            "{c}"
        );
        assert_eq!(
            m.get(
                "pgmig_collector_errors_total",
                &[("target", "big"), ("collector", c), ("kind", "error")]
            ),
            Some(0.0),
            "{c}"
        );
    }
    // Bounded: the default max_indexes (2,000) and max_tables (1,000).
    assert_eq!(
        m.find("pgmig_index_valid", &[("target", "big")]).len(),
        2000
    );
    assert_eq!(
        m.find("pgmig_table_live_tuples", &[("target", "big")])
            .len(),
        1000
    );
    assert_eq!(
        m.get(
            "pgmig_collector_series_dropped",
            &[("target", "big"), ("collector", "indexes")]
        ),
        Some(13_000.0 * 6.0)
    );
    assert_eq!(
        m.get(
            "pgmig_tables_skipped",
            &[("target", "big"), ("reason", "limit")]
        ),
        Some(4000.0)
    );
    let sum = m
        .get(
            "pgmig_collector_duration_seconds_sum",
            &[("target", "big"), ("collector", "indexes")],
        )
        .unwrap();
    eprintln!(
        "indexes collector: {:.3}s mean over {} runs",
        sum / runs(&m, "indexes"),
        runs(&m, "indexes")
    );
}
