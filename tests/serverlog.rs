//! Issue 9: server errors by SQLSTATE, read from PostgreSQL's own log files.
//!
//! Each test starts a cluster with the logging collector writing one format
//! (jsonlog, csvlog, stderr with `%e`) under `<data>/log`, provokes errors
//! before the exporter starts (which must not be counted), then 23505, 42P01,
//! 42P10 and a deadlock (40P01) with a log rotation in the middle and a
//! truncation at the end, and checks the counters rise by exactly the
//! number provoked. An app collector whose query always fails (22012) puts
//! the exporter's own errors in the same log: they are left out of the
//! counts (matched by `application_name`) and counted apart.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{wait_until_lock_wait, Exporter, Metrics, PgCluster};

const T: Duration = Duration::from_secs(90);

fn pg_major() -> u32 {
    let out = Command::new(common::pg_bin().join("postgres"))
        .arg("--version")
        .output()
        .expect("postgres --version");
    // "postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Case {
    destination: &'static str,
    format: &'static str,
    suffix: &'static str,
    prefix: Option<&'static str>,
}

/// The log files of the format, oldest name first.
fn log_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Error entries naming `relation` that have reached the log files.
fn logged(dir: &Path, suffix: &str, relation: &str) -> usize {
    log_files(dir, suffix)
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(relation) && l.contains("does not exist"))
                .count()
        })
        .sum()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn fails_with(c: &tokio_postgres::Client, sql: &str, code: &str) {
    let e = c
        .batch_execute(sql)
        .await
        .expect_err(&format!("{sql} must fail"));
    assert_eq!(e.code().map(|c| c.code()), Some(code), "{sql}: {e:?}");
}

/// Two transactions update two rows in opposite order: one of them gets 40P01.
async fn deadlock(pg: &PgCluster, db: &str) {
    let a = pg.connect(db).await;
    let b = pg.connect(db).await;
    let pid_a: i32 = a
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    a.batch_execute("BEGIN; UPDATE t SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    b.batch_execute("BEGIN; UPDATE t SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    let ta = tokio::spawn(async move {
        let r = a.batch_execute("UPDATE t SET v = v + 1 WHERE id = 2").await;
        (a, r)
    });
    wait_until_lock_wait(pg, db, pid_a).await;
    let rb = b.batch_execute("UPDATE t SET v = v + 1 WHERE id = 1").await;
    let (a, ra) = ta.await.unwrap();
    let codes: Vec<Option<&str>> = [&ra, &rb]
        .iter()
        .map(|r| r.as_ref().err().and_then(|e| e.code()).map(|c| c.code()))
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == Some("40P01")).count(),
        1,
        "exactly one deadlock victim: {ra:?} {rb:?}"
    );
    a.batch_execute("ROLLBACK").await.unwrap();
    b.batch_execute("ROLLBACK").await.unwrap();
}

fn errors(m: &Metrics, db: &str, code: &str) -> f64 {
    m.sum(
        "pgmig_server_errors_total",
        &[("target", "pg"), ("datname", db), ("code", code)],
    )
}

const CODES: [&str; 4] = ["23505", "42P01", "42P10", "40P01"];

fn counts(m: &Metrics, db: &str) -> [f64; 4] {
    CODES.map(|c| errors(m, db, c))
}

async fn play(case: Case) {
    let destination = format!("log_destination={}", case.destination);
    let mut conf = vec![
        "logging_collector=on",
        destination.as_str(),
        "log_directory=log",
        "log_rotation_age=0",
        "log_rotation_size=0",
        "lc_messages=C",
    ];
    let prefix_conf;
    if let Some(p) = case.prefix {
        prefix_conf = format!("log_line_prefix={p}");
        conf.push(&prefix_conf);
    }
    let pg = PgCluster::start_new(&conf);
    let log_dir = pg.dir.join("data/log");
    let db = pg.create_database("slog").await;
    let c = pg.connect(&db).await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t VALUES (1, 0), (2, 0);
         CREATE TABLE organizations (name text, type text);",
    )
    .await
    .unwrap();

    // Errors from before the exporter starts, in the log by the time it does.
    for _ in 0..3 {
        fails_with(&c, "SELECT * FROM missing_before_start", "42P01").await;
    }
    wait_until("the old errors in the log file", || {
        logged(&log_dir, case.suffix, "missing_before_start") == 3
    });

    let prefix_line = case
        .prefix
        .map(|p| format!("      log_line_prefix: '{p}'\n"))
        .unwrap_or_default();
    let cfg_text = format!(
        "targets:\n  - name: pg\n    dsn: {url}\napp_collectors:\n  - name: always_fails\n    interval: 500ms\n    sql: SELECT 1/0 AS v\n    metrics:\n      - {{name: never_served, type: gauge, value: v}}\nserver_log:\n  poll_interval: 500ms\n  follow:\n    - directory: {dir}\n      format: {format}\n{prefix_line}  migrations:\n    - name: fix_organizations_import\n      expected_codes: [23505]\n      forbidden_codes: [42P10]\n",
        url = pg.url("postgres"),
        dir = log_dir.display(),
        format = case.format,
    );
    let cfg = pg.dir.join("exporter.yml");
    std::fs::write(&cfg, cfg_text).unwrap();
    let e = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &[]);
    e.wait_for("the follower at the end of the current file", T, |m| {
        (m.get("pgmig_server_log_following", &[("target", "pg")]) == Some(1.0)).then_some(())
    });
    let m = e.metrics();
    assert_eq!(
        counts(&m, &db),
        [0.0; 4],
        "entries from before start-up are not counted"
    );
    assert_eq!(
        m.get(
            "pgmig_server_error_code_forbidden",
            &[
                ("target", "pg"),
                ("code", "42P10"),
                ("migration", "fix_organizations_import")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "pgmig_server_error_code_expected",
            &[
                ("target", "pg"),
                ("code", "23505"),
                ("migration", "fix_organizations_import")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "pgmig_sqlstate_class_info",
            &[
                ("code_class", "23"),
                ("class_name", "Integrity Constraint Violation")
            ]
        ),
        Some(1.0)
    );

    // The log file name has a one-second resolution: let the rotation make a new one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let files_before = log_files(&log_dir, case.suffix).len();

    // Before the rotation: 2 x 23505, 2 x 42P01, 1 x 42P10.
    for _ in 0..2 {
        fails_with(&c, "INSERT INTO t VALUES (1, 0)", "23505").await;
        fails_with(&c, "SELECT * FROM missing_after_start", "42P01").await;
    }
    fails_with(
        &c,
        "INSERT INTO organizations VALUES ('acme', 'customer') ON CONFLICT (name) DO NOTHING",
        "42P10",
    )
    .await;
    let admin = pg.connect("postgres").await;
    admin
        .batch_execute("SELECT pg_rotate_logfile()")
        .await
        .unwrap();
    // After it: 1 x 42P01, 1 x 42P10, a deadlock.
    fails_with(&c, "SELECT * FROM missing_after_start", "42P01").await;
    fails_with(
        &c,
        "INSERT INTO organizations VALUES ('acme', 'customer') ON CONFLICT (name) DO NOTHING",
        "42P10",
    )
    .await;
    deadlock(&pg, &db).await;
    // The same code as the exporter's own failing query, from a session of the application.
    fails_with(&c, "SELECT 1/0", "22012").await;
    wait_until("the rotation to a new file", || {
        log_files(&log_dir, case.suffix).len() > files_before
    });

    let want = [2.0, 3.0, 2.0, 1.0];
    let own = |m: &Metrics| m.get("pgmig_server_log_own_errors_total", &[("target", "pg")]);
    e.wait_for("every provoked error counted", T, |m| {
        (counts(m, &db) == want
            && errors(m, &db, "22012") == 1.0
            && own(m) >= Some(2.0)
            && m.get("pgmig_server_log_lag_bytes", &[("target", "pg")]) == Some(0.0))
        .then_some(())
    });
    // Several more polls: nothing is counted twice.
    std::thread::sleep(Duration::from_secs(2));
    let m = e.metrics();
    assert_eq!(counts(&m, &db), want, "{}", m.raw);
    assert_eq!(
        m.sum("pgmig_server_errors_total", &[("code", "22012")]),
        1.0,
        "the exporter's own failing query is not the application's error: {}",
        m.raw
    );
    assert!(
        m.sum(
            "pgmig_collector_errors_total",
            &[("collector", "app:always_fails")]
        ) >= 2.0,
        "{}",
        m.raw
    );
    assert!(
        m.get(
            "pgmig_server_log_reopens_total",
            &[("target", "pg"), ("reason", "rotation")]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        m.get("pgmig_server_log_unparsed_lines_total", &[("target", "pg")]),
        Some(0.0),
        "{}",
        m.raw
    );
    assert!(
        m.get("pgmig_server_log_lines_total", &[("target", "pg")])
            .unwrap()
            >= 8.0
    );
    let s = m.find(
        "pgmig_server_errors_total",
        &[("datname", &db), ("code", "23505")],
    );
    assert_eq!(s.len(), 1, "{}", m.raw);
    let l = &s[0].labels;
    assert_eq!(
        (
            l["code_class"].as_str(),
            l["severity"].as_str(),
            l["usename"].as_str()
        ),
        ("23", "ERROR", "postgres")
    );

    // Truncation: the file shrinks under the reader, which starts again at 0.
    let current = log_files(&log_dir, case.suffix)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&current)
        .unwrap()
        .set_len(0)
        .unwrap();
    fails_with(&c, "SELECT * FROM missing_after_truncation", "42P01").await;
    e.wait_for("the error written after the truncation", T, |m| {
        (errors(m, &db, "42P01") == 4.0
            && m.get(
                "pgmig_server_log_reopens_total",
                &[("target", "pg"), ("reason", "truncation")],
            ) == Some(1.0))
        .then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonlog_counts_errors_by_sqlstate_through_rotation_and_truncation() {
    if pg_major() < 15 {
        eprintln!("jsonlog needs PostgreSQL 15 or later; skipped");
        return;
    }
    play(Case {
        destination: "jsonlog",
        format: "jsonlog",
        suffix: ".json",
        prefix: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csvlog_counts_errors_by_sqlstate_through_rotation_and_truncation() {
    play(Case {
        destination: "csvlog",
        format: "csvlog",
        suffix: ".csv",
        prefix: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_with_sqlstate_in_the_prefix_counts_errors_too() {
    play(Case {
        destination: "stderr",
        format: "stderr",
        suffix: ".log",
        // %a: without it the exporter's own entries cannot be told apart.
        prefix: Some("%m [%p] %e %q%u@%d/%a "),
    })
    .await;
}

#[test]
fn a_config_naming_an_unknown_target_is_refused_with_file_and_key() {
    let dir = std::env::temp_dir().join(format!("pgmig-serverlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.yml");
    std::fs::write(
        &cfg,
        "targets:\n  - {name: a, dsn: 'host=x'}\nserver_log:\n  follow:\n    - {target: b, directory: /x}\n",
    )
    .unwrap();
    let out = Command::new(common::EXPORTER)
        .args(["--config.file", cfg.to_str().unwrap()])
        .env_remove("PGMIG_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yml") && err.contains("server_log.follow[0].target"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
