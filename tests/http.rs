//! The HTTP side as Prometheus and people see it: promtool's lint on a real
//! scrape, OpenMetrics negotiation, gzip, the health endpoints and the
//! landing page; and the command line (--help, --version, --check-config).

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{http_get, Exporter, PgCluster, EXPORTER};

async fn running_exporter(prefix: &str) -> Exporter {
    let pg = PgCluster::shared();
    let db = pg.create_database(prefix).await;
    let e = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    e.wait_for("both collectors succeeded", Duration::from_secs(30), |m| {
        (m.get(
            "pgmig_collector_success",
            &[("target", "t"), ("collector", "locks")],
        ) == Some(1.0)
            && m.get(
                "pgmig_collector_success",
                &[("target", "t"), ("collector", "activity")],
            ) == Some(1.0))
        .then_some(())
    });
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_check_metrics_finds_no_problem_in_a_real_scrape() {
    // The full scenario, so that every metric family is linted, not only the idle ones.
    let pg = PgCluster::start_new(common::scenario::SERVER_CONF);
    pg.connect("postgres")
        .await
        .batch_execute(common::scenario::SETUP_SQL)
        .await
        .unwrap();
    let _standby = PgCluster::start_standby_of(&pg);
    let e = common::scenario::start_exporter(&pg, "postgres");
    let mut bodies = Vec::new();
    common::scenario::play(&pg, "postgres", &e, |t| bodies.push(t)).await;
    for body in bodies {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool (Debian package prometheus; scripts/test installs it)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let problems = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && problems.trim().is_empty(),
            "promtool check metrics:\n{problems}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_when_asked_and_gzip_when_accepted() {
    let e = running_exporter("formats").await;
    let plain = http_get(e.addr, "/metrics", &[]);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(plain
        .text()
        .contains("# TYPE pgmig_connect_errors_total counter"));

    let om = http_get(
        e.addr,
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text; version=1.0.0,text/plain;q=0.5",
        )],
    );
    assert!(om
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = om.text();
    assert!(text.ends_with("# EOF\n"));
    assert!(text.contains("# TYPE pgmig_connect_errors counter"));
    assert!(text.contains("pgmig_connect_errors_total{target=\"t\"}"));

    let gz = http_get(e.addr, "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_string(&mut unzipped)
        .unwrap();
    assert!(unzipped.contains("pgmig_up{target=\"t\"} 1"));
    assert!(gz.body.len() < unzipped.len() / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_landing_and_unknown_paths() {
    let e = running_exporter("endpoints").await;
    assert_eq!(e.get("/healthz").status, 200);
    assert_eq!(e.get("/readyz").status, 200);
    let landing = e.get("/");
    assert_eq!(landing.status, 200);
    assert!(landing.text().contains("<a href=\"/metrics\">"));
    assert!(landing.text().contains("<td>t</td><td>up</td>"));
    assert_eq!(e.get("/nope").status, 404);
}

#[test]
fn readyz_is_503_until_every_target_has_been_polled() {
    // A target that never answers: a listening socket that accepts and says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dsn =
        format!("host=127.0.0.1 port={port} user=x dbname=x sslmode=disable connect_timeout=20");
    let e = Exporter::start(&[], &[("PGMIG_DATABASE_URL", &dsn)]);
    assert_eq!(e.get("/readyz").status, 503);
    assert_eq!(e.get("/healthz").status, 200);
    assert!(e.get("/").text().contains("starting"));
    drop(silent);
}

#[test]
fn help_and_version() {
    let out = Command::new(EXPORTER).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for flag in [
        "--web.listen-address",
        "--web.telemetry-path",
        "--config.file",
        "--log.level",
        "--log.format",
        "--check-config",
        "PGMIG_DATABASE_URL_FILE",
        "9786",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let out = Command::new(EXPORTER).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("pg_migration_exporter {}", env!("CARGO_PKG_VERSION"))
    );
}

fn check_config(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(EXPORTER);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .arg("--check-config")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn check_config_prints_what_would_run_without_secrets() {
    let (ok, out, err) = check_config(
        &[],
        &[(
            "PGMIG_DATABASE_URL",
            "postgres://mon:s3cret-pw@db.example:6432/app?sslmode=verify-full",
        )],
    );
    assert!(ok, "{err}");
    assert!(out.contains("db.example:6432/app: host=db.example port=6432 user=mon dbname=app password=<redacted> sslmode=verify-full"), "{out}");
    assert!(out.contains("locks: every 1s (timeout 2s)"), "{out}");
    assert!(out.contains("lock_timeout=100ms"), "{out}");
    assert!(out.contains("server log: off"), "{out}");
    assert!(!out.contains("s3cret-pw"));
}

#[test]
fn check_config_prints_the_server_log_section() {
    let dir = std::env::temp_dir().join(format!("pgmig-slcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("sl.yml");
    std::fs::write(
        &p,
        "server_log:\n  poll_interval: 2s\n  follow:\n    - directory: /var/log/pg\n      format: csvlog\n  migrations:\n    - name: m1\n      forbidden_codes: [42P10]\n",
    )
    .unwrap();
    let (ok, out, err) = check_config(
        &["--config.file", p.to_str().unwrap()],
        &[("PGMIG_DATABASE_URL", "postgres://mon@db.example/app")],
    );
    assert!(ok, "{err}");
    assert!(out.contains("server log: read every 2s"), "{out}");
    assert!(out.contains("/var/log/pg (Csvlog)"), "{out}");
    assert!(
        out.contains("migration m1: 0 expected, 1 forbidden codes"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_config_names_file_line_and_key_and_fails() {
    let dir = std::env::temp_dir().join(format!("pgmig-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "unknown.yml",
            "collectors:\n  locks:\n    interval: 1s\n    max_relatoins: 5\n",
            ":4",
            "collectors.locks.max_relatoins",
        ),
        (
            "duration.yml",
            "session:\n  lock_timeout: 100\n",
            ":2",
            "session.lock_timeout: invalid duration \"100\": missing unit",
        ),
        (
            "both.yml",
            "targets:\n  - name: a\n    dsn: host=x\n    dsn_file: /x\n",
            ":",
            "only one of dsn and dsn_file",
        ),
        (
            "dup.yml",
            "targets:\n  - name: a\n    dsn: host=x\n  - name: a\n    dsn: host=y\n",
            ":",
            "name \"a\" is used twice",
        ),
        (
            "type.yml",
            "collectors:\n  activity:\n    query_text: maybe\n",
            ":3",
            "collectors.activity.query_text",
        ),
    ];
    for (name, text, line, key) in cases {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let (ok, _, err) = check_config(&["--config.file", p.to_str().unwrap()], &[]);
        assert!(!ok, "{name} was accepted");
        let want = format!("{}{line}", p.display());
        assert!(err.contains(&want), "{name}: {err} lacks {want}");
        assert!(err.contains(key), "{name}: {err} lacks {key}");
    }
    let (ok, _, err) = check_config(
        &[],
        &[(
            "PGMIG_DATABASE_URL",
            "postgres://u:pw@h/d?sslmode=sometimes",
        )],
    );
    assert!(!ok);
    assert!(
        err.contains("PGMIG_DATABASE_URL") && err.contains("sslmode") && !err.contains(":pw@"),
        "{err}"
    );
}

#[test]
fn secrets_come_from_files() {
    let dir = std::env::temp_dir().join(format!("pgmig-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("dsn");
    std::fs::write(&f, "postgres://mon:from-file@filehost:5999/appdb\n").unwrap();
    let (ok, out, err) = check_config(&[], &[("PGMIG_DATABASE_URL_FILE", f.to_str().unwrap())]);
    assert!(ok, "{err}");
    assert!(
        out.contains("filehost:5999/appdb") && !out.contains("from-file"),
        "{out}"
    );
    let (ok, _, err) = check_config(&[], &[("PGMIG_DATABASE_URL_FILE", "/nonexistent/dsn")]);
    assert!(!ok && err.contains("PGMIG_DATABASE_URL_FILE"), "{err}");
}

/// The Dockerfile's HEALTHCHECK command (the exec form's arguments).
fn dockerfile_healthcheck() -> Vec<String> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"),
    )
    .unwrap();
    let joined = text.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK "))
        .expect("a HEALTHCHECK in the Dockerfile");
    let exec = &line[line.find(" CMD ").expect("HEALTHCHECK ... CMD") + 5..];
    // The exec form is a JSON array, and JSON is YAML.
    serde_yaml_ng::from_str(exec.trim()).expect("HEALTHCHECK CMD in exec form")
}

#[test]
fn probes_and_the_image_healthcheck_work_with_basic_auth_on() {
    let dir = std::env::temp_dir().join(format!("pgmig-http-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hash = bcrypt::hash("probe-pass", 4).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: {hash}\n")).unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dsn =
        format!("host=127.0.0.1 port={port} user=x dbname=x sslmode=disable connect_timeout=20");
    let e = Exporter::start(
        &["--web.config.file", web.to_str().unwrap()],
        &[("PGMIG_DATABASE_URL", &dsn)],
    );
    assert_eq!(e.get("/healthz").status, 200);
    // Unauthenticated, /readyz still tells the truth (503: never polled) rather than 401.
    assert_eq!(e.get("/readyz").status, 503);
    assert_eq!(e.get("/metrics").status, 401);
    assert_eq!(e.get("/").status, 401, "the landing page lists targets");
    let with_password = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u"])
        .arg("prometheus:probe-pass")
        .arg(format!("http://{}/metrics", e.addr))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&with_password.stdout), "200");
    // The image's health check, as Docker would run it, against this process.
    let mut cmd = dockerfile_healthcheck();
    assert!(cmd.len() >= 2, "{cmd:?}");
    let script = cmd.last_mut().unwrap();
    assert!(
        script.contains("/healthz") && script.contains("/9786"),
        "{script}"
    );
    *script = script.replace("/9786", &format!("/{}", e.addr.port()));
    let status = Command::new(&cmd[0]).args(&cmd[1..]).status().unwrap();
    assert!(
        status.success(),
        "HEALTHCHECK {cmd:?} failed with basic auth on"
    );
    // The same command fails on a path that needs the password: the check can fail.
    let guarded = cmd.last().unwrap().replace("/healthz", "/metrics");
    let status = Command::new(&cmd[0])
        .args(&cmd[1..cmd.len() - 1])
        .arg(guarded)
        .status()
        .unwrap();
    assert!(!status.success());
    drop(silent);
}

#[test]
fn process_metrics_and_build_info_are_plausible() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dsn =
        format!("host=127.0.0.1 port={port} user=x dbname=x sslmode=disable connect_timeout=20");
    let e = Exporter::start(&[], &[("PGMIG_DATABASE_URL", &dsn)]);
    let m = e.metrics();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let get = |name: &str| m.get(name, &[]).unwrap_or_else(|| panic!("{name} missing"));
    assert!(get("process_resident_memory_bytes") > 0.0);
    assert!(get("process_virtual_memory_bytes") >= get("process_resident_memory_bytes"));
    let start = get("process_start_time_seconds");
    assert!(
        start <= now + 1.0 && start > now - 3600.0,
        "start {start}, now {now}"
    );
    let fds = get("process_open_fds");
    assert!(fds > 0.0 && fds <= get("process_max_fds"), "{fds}");
    let cpu = get("process_cpu_seconds_total");
    assert!(cpu >= 0.0);
    // The counter never goes back.
    let later = e.metrics().get("process_cpu_seconds_total", &[]).unwrap();
    assert!(later >= cpu);
    // A new connection is a new descriptor the next scrape counts (the harness
    // closes each scrape's own connection; this one stays open meanwhile).
    // Ten held, five required: the poller's own connection attempts come and go.
    let held: Vec<std::net::TcpStream> = (0..10)
        .map(|_| std::net::TcpStream::connect(e.addr).unwrap())
        .collect();
    e.wait_for("five more open fds", Duration::from_secs(30), |m| {
        (m.get("process_open_fds", &[]).unwrap() >= fds + 5.0).then_some(())
    });
    drop(held);

    let info = m.find("pgmig_build_info", &[]);
    assert_eq!(info.len(), 1);
    let labels = &info[0].labels;
    assert_eq!(labels["version"], env!("CARGO_PKG_VERSION"));
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .unwrap();
    let rustc = String::from_utf8_lossy(&rustc.stdout).to_string();
    assert_eq!(
        Some(labels["rustversion"].as_str()),
        rustc.split_whitespace().nth(1),
        "{rustc}"
    );
    // Built from this checkout: the revision is its HEAD, or a commit after it
    // was built that HEAD descends from.
    let rev = &labels["revision"];
    assert!(
        rev.len() == 12 && rev.chars().all(|c| c.is_ascii_hexdigit()),
        "{rev}"
    );
    let known = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "cat-file", "-e"])
        .arg(format!("{rev}^{{commit}}"))
        .status()
        .unwrap();
    assert!(known.success(), "{rev} is not a commit of this repository");
    drop(silent);
}

/// Log lines use promslog's keys (time, level, source, msg first) and a
/// hostile value cannot break a line or forge a key, in logfmt and JSON.
#[test]
fn log_lines_use_prometheus_keys_and_escape_control_characters() {
    let hostile = "evil\rname\nlevel=ERROR msg=forged\u{1b}[2J";
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dsn = format!("host=127.0.0.1 port={port} user=x dbname=x connect_timeout=20");
    let e = Exporter::start(
        &[],
        &[("PGMIG_DATABASE_URL", &dsn), ("PGMIG_TARGET_NAME", hostile)],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !e.log_text().contains("watching target") {
        assert!(std::time::Instant::now() < deadline, "{}", e.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = e.log_text();
    for line in log.lines() {
        assert!(!line.chars().any(char::is_control), "{line:?}");
        let keys: Vec<&str> = line
            .split(' ')
            .filter_map(|w| w.split_once('=').map(|(k, _)| k))
            .take(4)
            .collect();
        assert_eq!(keys, ["time", "level", "source", "msg"], "{line}");
    }
    let watching = log
        .lines()
        .find(|l| l.contains("msg=\"watching target\""))
        .unwrap();
    assert!(
        watching.contains(r#"target="evil\rname\nlevel=ERROR msg=forged\u001b[2J""#),
        "{watching}"
    );
    drop(e);

    let mut child = Command::new(EXPORTER)
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.format",
            "json",
        ])
        .env("PGMIG_DATABASE_URL", &dsn)
        .env("PGMIG_TARGET_NAME", hostile)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = lines.next().expect("a log line").unwrap();
        // JSON is YAML: parse each line as one object.
        let v: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(&line).expect(&line);
        let keys: Vec<&str> = v.keys().take(4).map(|k| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["time", "level", "source", "msg"], "{line}");
        assert!(!line.chars().any(char::is_control), "{line:?}");
        if v["msg"] == "watching target" {
            assert_eq!(v["target"].as_str(), Some(hostile), "{line}");
        }
        seen.push(v["msg"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["listening", "watching target"]);
    let _ = child.kill();
    let _ = child.wait();
    drop(silent);
}
