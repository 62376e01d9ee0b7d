//! Live reload against the real binary and a real PostgreSQL: SIGHUP adds
//! a target and an app collector while the kept target keeps its sessions
//! and its migration window; `POST /-/reload` removes a target and its
//! sessions leave pg_stat_activity; a broken file keeps the old config
//! serving and reports 0; the endpoint sits behind basic auth.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{http_request, Exporter, Metrics, PgCluster};

const T: Duration = Duration::from_secs(60);

fn tmpdir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("pgmig-reload-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn target(name: &str, pg: &PgCluster, db: &str) -> String {
    format!("  - name: {name}\n    dsn: \"{}\"\n", pg.url(db))
}

/// The exporter's sessions in one database, by pid.
async fn sessions(pg: &PgCluster, db: &str) -> Vec<i32> {
    let c = pg.connect("postgres").await;
    let rows = c
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter' \
             AND datname = $1 ORDER BY pid",
            &[&db],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Waits until the exporter holds `n` sessions in `db`; returns their pids.
async fn wait_sessions(pg: &PgCluster, db: &str, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + T;
    loop {
        let s = sessions(pg, db).await;
        if s.len() == n {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{db}: {} exporter sessions, want {n}",
            s.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn sighup(e: &Exporter) {
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(e.pid() as i32, libc::SIGHUP) }, 0);
}

fn reload_status(m: &Metrics) -> (Option<f64>, Option<f64>) {
    (
        m.get("pgmig_config_last_reload_successful", &[]),
        m.get("pgmig_config_last_reload_success_timestamp_seconds", &[]),
    )
}

fn up(m: &Metrics, t: &str) -> Option<f64> {
    m.get("pgmig_up", &[("target", t)])
}

fn write(p: &Path, text: &str) {
    // Write then rename: a reload never reads a half-written file.
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, p).unwrap();
}

#[tokio::test]
async fn sighup_adds_a_target_and_an_app_collector_and_the_kept_target_keeps_its_sessions_and_window(
) {
    let pg = PgCluster::shared();
    let (a, b) = (
        pg.create_database("reload_a").await,
        pg.create_database("reload_b").await,
    );
    let dir = tmpdir("hup");
    let token = "reload-window-token-0123";
    std::fs::write(dir.join("token"), token).unwrap();
    let window = format!(
        "window: {{auto: [], api_token_file: {}}}\n",
        dir.join("token").display()
    );
    let cfg = dir.join("c.yml");
    write(&cfg, &format!("{window}targets:\n{}", target("a", pg, &a)));
    let e = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &[]);
    e.wait_for("target a up", T, |m| {
        (up(m, "a") == Some(1.0)).then_some(())
    });
    let (ok, started) = reload_status(&e.metrics());
    assert_eq!(ok, Some(1.0), "the start counts as a successful load");
    let started = started.expect("timestamp at start");
    let before = wait_sessions(pg, &a, 2).await;
    let open = http_request(
        e.addr,
        "POST",
        "/api/v1/window/open?target=a",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(open.status, 200, "{}", open.text());
    e.wait_for("window of a open", T, |m| {
        (m.get("pgmig_migration_window_open", &[("target", "a")]) == Some(1.0)).then_some(())
    });

    std::thread::sleep(Duration::from_millis(1100)); // a later timestamp
    write(
        &cfg,
        &format!(
            "{window}targets:\n{}{}app_collectors:\n  - name: orders\n    interval: 500ms\n    sql: SELECT 42 AS n\n    metrics:\n      - {{name: shop_reload_orders, type: gauge, value: n}}\n",
            target("a", pg, &a),
            target("b", pg, &b)
        ),
    );
    sighup(&e);
    let m = e.wait_for("target b and its app collector", T, |m| {
        (up(m, "b") == Some(1.0)
            && m.get("shop_reload_orders", &[("target", "a")]) == Some(42.0)
            && m.get("shop_reload_orders", &[("target", "b")]) == Some(42.0))
        .then(|| Metrics::parse(&m.raw))
    });
    let (ok, at) = reload_status(&m);
    assert_eq!(ok, Some(1.0));
    assert!(at.unwrap() > started, "the success timestamp moved");
    assert_eq!(
        m.get("pgmig_migration_window_open", &[("target", "a")]),
        Some(1.0),
        "the kept target's window survives the reload"
    );
    assert_eq!(
        sessions(pg, &a).await,
        before,
        "the kept target keeps its sessions (same backend pids), its lanes given the new collector"
    );
    wait_sessions(pg, &b, 2).await;
    assert!(e.log_text().contains("config reloaded"), "{}", e.log_text());

    // New session settings: every lane reconnects (new backends), and the
    // target keeps its slot, so its window stays open.
    write(
        &cfg,
        &format!(
            "{window}session: {{lock_timeout: 200ms}}\ntargets:\n{}",
            target("a", pg, &a)
        ),
    );
    let r = http_request(e.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = Instant::now() + T;
    loop {
        let s = sessions(pg, &a).await;
        if s.len() == 2 && s.iter().all(|p| !before.contains(p)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a's sessions {s:?}, before {before:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_sessions(pg, &b, 0).await;
    let m = e.wait_for("a up again", T, |m| {
        (up(m, "a") == Some(1.0)).then(|| Metrics::parse(&m.raw))
    });
    assert_eq!(
        m.get("pgmig_migration_window_open", &[("target", "a")]),
        Some(1.0),
        "a reconnected target keeps its window"
    );
    assert!(e
        .log_text()
        .contains("connection settings changed by the reload"));
}

#[tokio::test]
async fn post_reload_removes_a_target_and_its_sessions_leave_pg_stat_activity() {
    let pg = PgCluster::shared();
    let (a, b) = (
        pg.create_database("reload_keep").await,
        pg.create_database("reload_gone").await,
    );
    let dir = tmpdir("post");
    let cfg = dir.join("c.yml");
    write(
        &cfg,
        &format!(
            "targets:\n{}{}",
            target("keep", pg, &a),
            target("gone", pg, &b)
        ),
    );
    let e = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &[]);
    e.wait_for("both up", T, |m| {
        (up(m, "keep") == Some(1.0) && up(m, "gone") == Some(1.0)).then_some(())
    });
    let kept = wait_sessions(pg, &a, 2).await;
    wait_sessions(pg, &b, 2).await;

    assert!(e
        .metrics()
        .get(
            "pgmig_collector_success",
            &[("target", "keep"), ("collector", "statements")]
        )
        .is_some());
    write(
        &cfg,
        &format!(
            "collectors: {{statements: {{enabled: false}}}}\ntargets:\n{}",
            target("keep", pg, &a)
        ),
    );
    let r = http_request(e.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    // The reply comes once the reload is applied: the target is gone now.
    let m = e.metrics();
    assert!(
        m.find("pgmig_up", &[("target", "gone")]).is_empty()
            && m.find("pgmig_collector_success", &[("target", "gone")])
                .is_empty()
            && !m.raw.contains("target=\"gone\""),
        "no series of the removed target:\n{}",
        m.raw
    );
    assert_eq!(up(&m, "keep"), Some(1.0));
    assert!(
        m.find("pgmig_collector_success", &[("collector", "statements")])
            .is_empty()
            && m.find("pgmig_statements_available", &[]).is_empty(),
        "a collector the reload disabled is gone with its series"
    );
    assert!(m
        .get(
            "pgmig_collector_success",
            &[("target", "keep"), ("collector", "database")]
        )
        .is_some());
    wait_sessions(pg, &b, 0).await;
    assert_eq!(sessions(pg, &a).await, kept, "the kept target's sessions");
    let landing = e.get("/").text();
    assert!(!landing.contains("<td>gone</td>"), "{landing}");
}

#[tokio::test]
async fn a_broken_config_keeps_the_old_targets_serving_and_reports_zero() {
    let pg = PgCluster::shared();
    let a = pg.create_database("reload_broken").await;
    let dir = tmpdir("broken");
    let cfg = dir.join("c.yml");
    let good = format!("targets:\n{}", target("a", pg, &a));
    write(&cfg, &good);
    let e = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &[]);
    e.wait_for("a up", T, |m| (up(m, "a") == Some(1.0)).then_some(()));
    let (_, started) = reload_status(&e.metrics());

    // A password in the file, and a misspelt key on line 5.
    let secret = "reload-marker-secret";
    let broken = format!(
        "targets:\n  - name: a\n    dsn: \"postgres://postgres:{secret}@127.0.0.1:{}/{a}\"\n  - name: b\n    dsnn: x\n",
        pg.port
    );
    write(&cfg, &broken);
    let r = http_request(e.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 500);
    let body = r.text();
    assert!(
        body.contains(&format!("{}:5", cfg.display())) && body.contains("dsnn"),
        "file, line and key: {body}"
    );
    let m = e.metrics();
    assert_eq!(reload_status(&m), (Some(0.0), started));
    assert_eq!(up(&m, "a"), Some(1.0), "the old config keeps serving");
    assert!(m
        .get(
            "pgmig_collector_success",
            &[("target", "a"), ("collector", "locks")]
        )
        .is_some());

    // SIGHUP with a file that parses but fails a check: 0 again, still serving.
    write(
        &cfg,
        &good.replace("targets:", "session: {application_name: \"\"}\ntargets:"),
    );
    let r = http_request(e.addr, "POST", "/-/reload", &[]);
    assert_eq!(r.status, 500, "{}", r.text());
    write(&cfg, &good);
    sighup(&e);
    e.wait_for("the good file reloaded", T, |m| {
        (reload_status(m).0 == Some(1.0)).then_some(())
    });
    write(&cfg, &broken);
    sighup(&e);
    e.wait_for("the broken file refused", T, |m| {
        (reload_status(m).0 == Some(0.0)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(up(&e.metrics(), "a"), Some(1.0));
    let log = e.log_text();
    assert!(log.contains("config reload failed"), "{log}");
    assert!(!log.contains(secret) && !body.contains(secret), "{log}");
}

#[tokio::test]
async fn reload_needs_basic_auth_and_post() {
    let pg = PgCluster::shared();
    let a = pg.create_database("reload_auth").await;
    let dir = tmpdir("auth");
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  ops: {}\n",
            bcrypt::hash("pw", 4).unwrap()
        ),
    )
    .unwrap();
    let cfg = dir.join("c.yml");
    write(&cfg, &format!("targets:\n{}", target("a", pg, &a)));
    let e = Exporter::start(
        &[
            "--config.file",
            cfg.to_str().unwrap(),
            "--web.config.file",
            web.to_str().unwrap(),
        ],
        &[],
    );
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ops:pw")
    );
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ops:nope")
    );
    assert_eq!(http_request(e.addr, "POST", "/-/reload", &[]).status, 401);
    assert_eq!(
        http_request(e.addr, "POST", "/-/reload", &[("Authorization", &wrong)]).status,
        401
    );
    let get = http_request(e.addr, "GET", "/-/reload", &[("Authorization", &auth)]);
    assert_eq!(get.status, 405);
    assert_eq!(get.header("Allow"), Some("POST, PUT"));
    assert!(!e.log_text().contains("config reloaded"));
    let ok = http_request(e.addr, "POST", "/-/reload", &[("Authorization", &auth)]);
    assert_eq!(ok.status, 200, "{}", ok.text());
}
