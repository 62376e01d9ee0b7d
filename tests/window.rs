//! Issue 5: the migration window, opened automatically by DDL and
//! explicitly through the authenticated API, and closed again.

mod common;

use std::time::Duration;

use common::{http_request, spawn_blocked, wait_until_lock_wait, Exporter, PgCluster};

const T: Duration = Duration::from_secs(40);

fn config(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pgmig-window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

fn open(m: &common::Metrics) -> Option<f64> {
    m.get("pgmig_migration_window_open", &[("target", "w")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_opens_the_window_and_it_closes_after_the_grace_period() {
    let pg = PgCluster::shared();
    let db = pg.create_database("window_auto").await;
    let c = pg.connect(&db).await;
    c.batch_execute("CREATE TABLE t (id int, v text)")
        .await
        .unwrap();
    let cfg = config("auto.yml", "window: {close_after: 2s}\n");
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "w"),
        ],
    );
    e.wait_for("a closed window at rest", T, |m| {
        (open(m) == Some(0.0)).then_some(())
    });
    let m = e.metrics();
    assert_eq!(
        m.get(
            "pgmig_migration_window_start_timestamp_seconds",
            &[("target", "w")]
        ),
        Some(0.0)
    );

    let writer = pg.connect(&db).await;
    writer
        .batch_execute("BEGIN; INSERT INTO t VALUES (1, 'x')")
        .await
        .unwrap();
    let (pid, task) = spawn_blocked(pg, &db, "CREATE INDEX CONCURRENTLY t_v ON t (v)").await;
    wait_until_lock_wait(pg, &db, pid).await;
    let start = e.wait_for("the window opened by the DDL", T, |m| {
        (open(m) == Some(1.0)
            && m.get("pgmig_migration_window_source", &[("source", "ddl")]) == Some(1.0))
        .then(|| {
            m.get(
                "pgmig_migration_window_start_timestamp_seconds",
                &[("target", "w")],
            )
            .unwrap()
        })
    });
    assert!(start > 1.7e9);
    writer.batch_execute("COMMIT").await.unwrap();
    task.await.unwrap().unwrap();
    e.wait_for("the window closed after the DDL ended", T, |m| {
        (open(m) == Some(0.0)
            && m.get("pgmig_migration_window_source", &[("source", "ddl")]) == Some(0.0))
        .then_some(())
    });
}

/// The frameworks collector feeds the window too: a golang-migrate history
/// table left dirty opens it with source `framework_dirty`, and fixing the
/// row closes it after the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dirty_migration_opens_the_window_until_it_is_fixed() {
    let pg = PgCluster::shared();
    let db = pg.create_database("window_dirty").await;
    let c = pg.connect(&db).await;
    c.batch_execute(
        "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);
         INSERT INTO schema_migrations VALUES (20240503120000, false);",
    )
    .await
    .unwrap();
    let cfg = config(
        "dirty.yml",
        "window: {close_after: 2s}\ncollectors:\n  frameworks: {interval: 1s}\n",
    );
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "w"),
        ],
    );
    let dirty_source = |m: &common::Metrics| {
        m.get(
            "pgmig_migration_window_source",
            &[("target", "w"), ("source", "framework_dirty")],
        )
    };
    e.wait_for("a clean history and a closed window", T, |m| {
        (m.get("pgmig_migration_dirty", &[("tool", "golang-migrate")]) == Some(0.0)
            && open(m) == Some(0.0))
        .then_some(())
    });
    c.batch_execute("UPDATE schema_migrations SET dirty = true")
        .await
        .unwrap();
    e.wait_for("the window opened by the dirty migration", T, |m| {
        (open(m) == Some(1.0) && dirty_source(m) == Some(1.0)).then_some(())
    });
    c.batch_execute("UPDATE schema_migrations SET dirty = false")
        .await
        .unwrap();
    e.wait_for("the window closed after the fix", T, |m| {
        (open(m) == Some(0.0) && dirty_source(m) == Some(0.0)).then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_api_needs_the_token() {
    let pg = PgCluster::shared();
    let db = pg.create_database("window_api").await;
    let token = config("token", "0123456789abcdef-secret\n");
    // Only explicit control here: DDL of tests running beside this one must not open it.
    let cfg = config(
        "api.yml",
        &format!("window: {{auto: [], api_token_file: {token}}}\n"),
    );
    let e = Exporter::start(
        &["--config.file", &cfg],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "w"),
        ],
    );
    e.wait_for("a closed window", T, |m| {
        (open(m) == Some(0.0)).then_some(())
    });

    let post = |path: &str, auth: Option<&str>| {
        let h = auth.map(|a| format!("Bearer {a}"));
        let headers: Vec<(&str, &str)> = h.iter().map(|v| ("Authorization", v.as_str())).collect();
        http_request(e.addr, "POST", path, &headers).status
    };
    assert_eq!(post("/api/v1/window/open?target=w", None), 401);
    assert_eq!(
        post(
            "/api/v1/window/open?target=w",
            Some("wrong-token-wrong-token")
        ),
        401
    );
    assert_eq!(
        http_request(e.addr, "GET", "/api/v1/window/open?target=w", &[]).status,
        405
    );
    assert_eq!(
        post(
            "/api/v1/window/open?target=nope",
            Some("0123456789abcdef-secret")
        ),
        400
    );
    e.wait_for("still closed", T, |m| (open(m) == Some(0.0)).then_some(()));

    assert_eq!(
        post(
            "/api/v1/window/open?target=w",
            Some("0123456789abcdef-secret")
        ),
        200
    );
    e.wait_for("opened explicitly", T, |m| {
        (open(m) == Some(1.0)
            && m.get("pgmig_migration_window_source", &[("source", "explicit")]) == Some(1.0))
        .then_some(())
    });
    assert_eq!(
        post(
            "/api/v1/window/close?target=w",
            Some("0123456789abcdef-secret")
        ),
        200
    );
    e.wait_for("closed explicitly", T, |m| {
        (open(m) == Some(0.0)).then_some(())
    });
    assert!(
        !e.log_text().contains("0123456789abcdef-secret"),
        "the token leaked into the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_api_is_off_without_a_token() {
    let pg = PgCluster::shared();
    let db = pg.create_database("window_off").await;
    let e = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "w"),
        ],
    );
    assert_eq!(
        http_request(e.addr, "POST", "/api/v1/window/open", &[]).status,
        404
    );
}
