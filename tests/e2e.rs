//! Issue 6: the whole chain with the real programs. PostgreSQL (with a
//! streaming standby), the exporter, a real Prometheus (Debian's
//! `prometheus`) with the project's rules, and a real Alertmanager (Debian's
//! `prometheus-alertmanager`) with the example config whose receivers point
//! at a webhook this test runs. The organizations-import seed's failing path
//! is replayed: the rollback_now alerts it should cause reach the webhook
//! with the right labels and others do not; every dashboard panel query
//! returns data from that Prometheus; after the rollback the alerts resolve.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{example_dir, psql_file, spawn_blocked, wait_until_lock_wait, Exporter, PgCluster};

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(name: &'static str, cmd: &mut Command, log: &Path) -> Proc {
    let f = std::fs::File::create(log).unwrap();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::from(f))
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: {e} (scripts/install-deps installs it)"));
    Proc(child)
}

/// Webhook bodies received, by path.
type Received = Arc<Mutex<Vec<(String, String)>>>;

fn webhook() -> (u16, Received) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s);
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            g.lock()
                .unwrap()
                .push((path, String::from_utf8_lossy(&body).to_string()));
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

fn wait<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    wait_or(what, timeout, f, String::new)
}

/// `wait`, with `explain` saying what was seen when it times out.
fn wait_or<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
    explain: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}{}",
            explain()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs an instant query; returns the raw JSON, or "" while Prometheus is not up yet.
fn query(prom: u16, expr: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", prom)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "GET /api/v1/query?query={} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        urlencode(expr)
    );
    if s.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Distinct free ports: held together while picked, so two picks never collide.
fn free_ports<const N: usize>() -> [u16; N] {
    let ls: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| ls[i].local_addr().unwrap().port())
}

fn non_empty(json: &str) -> bool {
    json.contains("\"status\":\"success\"") && !json.contains("\"result\":[]")
}

fn firing(got: &Received, alertname: &str) -> Vec<(String, String)> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| b.contains(&format!("\"alertname\":\"{alertname}\"")))
        .cloned()
        .collect()
}

/// Extra app collectors so that every dashboard panel (backfill, jobs) has a
/// signal to show, beside the example's own.
const COVERAGE: &str = "
  - name: coverage
    interval: 1s
    sql: SELECT 'conversations' AS \"table\", 'organization_id' AS \"column\", 0.6 AS ratio, 'import' AS batch_job, 1 AS active, 40 AS done, 100 AS planned, 2 AS speed, 30 AS eta
    metrics:
      - {signal: backfill_ratio, labels: [table, column], value: ratio}
      - {signal: job_active, labels: [batch_job], value: active}
      - {signal: job_items_done, labels: [batch_job], value: done}
      - {signal: job_items_planned, labels: [batch_job], value: planned}
      - {signal: job_items_per_second, labels: [batch_job], value: speed}
      - {signal: job_eta, labels: [batch_job], value: eta}
  # Fails (times out) only while advisory lock 4242 is held: a collector failing
  # during the replay, for the \"failing collectors\" panels.
  - name: flaky
    interval: 1s
    timeout: 500ms
    sql: SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted) THEN pg_sleep(3)::text ELSE '0' END AS v
    metrics:
      - {name: e2e_flaky, type: gauge, value: v}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_migration_pages_dashboards_show_data_and_the_rollback_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("pgmig-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();

    // PostgreSQL with what the dashboards read (pg_stat_statements, function
    // statistics, a csvlog), and a streaming standby.
    let pg = PgCluster::start_new(common::scenario::SERVER_CONF);
    let _standby = PgCluster::start_standby_of(&pg);
    let db = "app";
    pg.connect("postgres")
        .await
        .batch_execute("CREATE DATABASE app")
        .await
        .unwrap();
    let c = pg.connect(db).await;
    c.batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    psql_file(
        &pg,
        db,
        &example_dir("organizations-import").join("schema.sql"),
    );
    c.batch_execute(SETUP).await.unwrap();
    c.batch_execute("VACUUM orders").await.unwrap();
    c.batch_execute("ANALYZE").await.unwrap();
    c.batch_execute("SELECT pg_create_physical_replication_slot('e2e_slot', true)")
        .await
        .unwrap();

    // The exporter with the example's config, plus: faster collectors, the
    // coverage collector, the server log, an expected error code, and an
    // expected-object check that fails (a partition check on an integer key).
    let example =
        std::fs::read_to_string(example_dir("organizations-import").join("config.yml")).unwrap();
    let cfg = example
        .replace(
            "\ncollectors:\n",
            "\ncollectors:\n  tables: {interval: 2s}\n  functions: {interval: 2s}\n  statements: {interval: 2s}\n  database: {interval: 2s}\n  frameworks: {interval: 2s}\n",
        )
        .replace("\napp_collectors:\n", &format!("\napp_collectors:{COVERAGE}"))
        .replace("  import: []", "  import: [\"23505\"]")
        .replace("\nexpected_objects:\n", "\nexpected_objects:\n  - {kind: partition, table: public.text_parts, covers: 1d}\n");
    let cfg = format!(
        "{cfg}server_log:\n  follow:\n    - directory: {}\n      format: csvlog\n  migrations:\n    - name: 20250109_fix_organizations_import\n      forbidden_codes: [42P10]\n",
        pg.dir.join("data/log").display()
    );
    // The team's migration files (golang-migrate): the index build and the
    // ALTER run below, and a statement whose function takes a lock the plan
    // cannot see.
    let migrations = tmp.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    for (f, text) in [
        (
            "000001_v.up.sql",
            "CREATE INDEX CONCURRENTLY orders_v ON orders (v);\n",
        ),
        ("000002_w.up.sql", "ALTER TABLE orders ADD COLUMN w int;\n"),
        ("000003_touch.up.sql", "SELECT e2e_touch();\n"),
    ] {
        std::fs::write(migrations.join(f), text).unwrap();
    }
    let cfg = format!(
        "{cfg}migrations:\n  - {{path: {}, tool: golang-migrate}}\n",
        migrations.display()
    );
    let cfg_path = tmp.join("exporter.yml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let exporter = Exporter::start(
        &["--config.file", cfg_path.to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(db)),
            ("PGMIG_TARGET_NAME", "app"),
        ],
    );

    // Alertmanager with the example config, its placeholder receivers pointed at our webhook.
    let (hook_port, got) = webhook();
    let am_cfg = std::fs::read_to_string(root.join("alerts/alertmanager.yml"))
        .unwrap()
        .replace(
            "127.0.0.1:9/PLACEHOLDER-",
            &format!("127.0.0.1:{hook_port}/"),
        );
    std::fs::write(tmp.join("alertmanager.yml"), am_cfg).unwrap();
    let [am_port, prom_port] = free_ports::<2>();
    let _am = spawn(
        "prometheus-alertmanager",
        Command::new("prometheus-alertmanager")
            .arg(format!(
                "--config.file={}",
                tmp.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", tmp.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address="),
        &tmp.join("alertmanager.log"),
    );

    // Prometheus scraping the exporter every second, with the project's rules.
    let rules: Vec<PathBuf> = std::fs::read_dir(root.join("alerts"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        // The rule files are alerts/pgmig-*.yml, as deploy/prometheus loads
        // them; alerts/ also holds the Alertmanager config and the rules'
        // generator config (config.yml), which are not rule files.
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("pgmig-") && name.ends_with(".yml")
        })
        .collect();
    let rule_list: Vec<String> = rules
        .iter()
        .map(|p| format!("  - {}", p.display()))
        .collect();
    std::fs::write(
        tmp.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\nscrape_configs:\n  - job_name: pgmig\n    static_configs:\n      - targets: ['{}']\n",
            rule_list.join("\n"),
            exporter.addr
        ),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                tmp.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.join("prom-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}")),
        &tmp.join("prometheus.log"),
    );
    wait(
        "Prometheus scraping the exporter",
        Duration::from_secs(60),
        || non_empty(&query(prom_port, "pgmig_up{job=\"pgmig\"} == 1")).then_some(()),
    );

    // The application at work before and during the migration: imports that
    // succeed, RPC calls, a statement slow enough to have a baseline.
    let app = pg.connect(db).await;
    let traffic = tokio::spawn(async move {
        loop {
            let _ = app
                .batch_execute(
                    "INSERT INTO import_monitoring (session_id, operation_end, records_attempted, records_successful, records_failed, performance_ms) \
                     VALUES (gen_random_uuid(), now(), 10, 10, 0, 3); SELECT v2_ping(); SELECT pg_sleep(0.02);",
                )
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    // The baselines are recorded while no migration window is open.
    wait(
        "the pre-migration baselines",
        Duration::from_secs(240),
        || {
            [
                "target_operation:pgmig_app_success_ratio:rate5m_baseline",
                "target:pgmig_probe_duration_seconds:p95_rate5m_baseline",
                "target_operation:pgmig_app_operation_duration_seconds:p95_rate5m_baseline",
                "target_datname_queryid:pgmig_statement_exec_seconds:mean_rate5m_baseline",
            ]
            .iter()
            .all(|r| non_empty(&query(prom_port, r)))
            .then_some(())
        },
    );

    // The failing path of the seed: the invalid unique index, duplicates, 42P10
    // imports; the migration tool records the failure and is left dirty and locked.
    psql_file(
        &pg,
        db,
        &example_dir("organizations-import").join("failure.sql"),
    );
    c.batch_execute(FRAMEWORKS_FAIL).await.unwrap();

    let must_fire = [
        "PgMigIndexInvalid",
        "PgMigExpectedObjectMissing",
        "PgMigIntegrityViolation",
        "PgMigMigrationFailed",
    ];
    let received = || {
        let g = got.lock().unwrap();
        let seen: std::collections::BTreeSet<String> = g
            .iter()
            .flat_map(|(p, b)| {
                b.match_indices("\"alertname\":\"").map(move |(i, _)| {
                    let rest = &b[i + 13..];
                    format!("{p}:{}", &rest[..rest.find('"').unwrap_or(0)])
                })
            })
            .collect();
        format!(
            "; received: {seen:?}; firing in Prometheus: {}",
            query(prom_port, "ALERTS{alertstate=\"firing\"}")
        )
    };
    wait_or(
        "the rollback_now alerts at the pager",
        Duration::from_secs(240),
        || {
            must_fire
                .iter()
                .all(|a| {
                    firing(&got, a)
                        .iter()
                        .any(|(p, _)| p == "/pager-rollback-now")
                })
                .then_some(())
        },
        received,
    );
    for a in must_fire {
        let hits = firing(&got, a);
        // The rollback_now receiver pages and also posts to the migration chat.
        let paths: Vec<&str> = hits.iter().map(|(p, _)| p.as_str()).collect();
        let Some((_, body)) = hits.iter().find(|(p, _)| p == "/pager-rollback-now") else {
            panic!("{a} never reached the pager: {paths:?}");
        };
        assert!(
            body.contains("\"decision\":\"rollback_now\"")
                && body.contains("\"severity\":\"critical\""),
            "{a}: {body}"
        );
        assert!(
            body.contains("\"target\":\"app\"") && body.contains("\"status\":\"firing\""),
            "{a}: {body}"
        );
        assert!(body.contains("runbook_url"), "{a}: {body}");
    }
    for a in [
        "PgMigTargetDown",
        "PgMigSecurityStateViolated",
        "PgMigCollectorFailing",
    ] {
        assert!(firing(&got, a).is_empty(), "{a} should not fire");
    }

    // While the alerts fire: a lock queue and an index build in progress, so
    // that every panel has something to show; then every panel query.
    let holder = pg.connect(db).await;
    holder
        .batch_execute("BEGIN; INSERT INTO orders VALUES (1000, 'w')")
        .await
        .unwrap();
    // More failing imports, a collector failing, and the migration tool's lock
    // taken now (a held lock would have held back the missing-object alerts above).
    c.batch_execute(
        "INSERT INTO import_monitoring (session_id, operation_end, records_attempted, records_successful, records_failed, error_code, performance_ms) \
         SELECT gen_random_uuid(), now(), 100, 0, 100, '42P10', 900 FROM generate_series(1, 5); SELECT pg_advisory_lock(4242);",
    )
    .await
    .unwrap();
    c.batch_execute(
        "update \"knex_migrations_lock\" set \"is_locked\" = 1 where \"is_locked\" = 0",
    )
    .await
    .unwrap();
    let toucher = pg.connect(db).await;
    toucher
        .batch_execute("CREATE FUNCTION e2e_touch() RETURNS void LANGUAGE plpgsql AS $$ BEGIN LOCK TABLE import_monitoring IN ROW EXCLUSIVE MODE; END $$")
        .await
        .unwrap();
    toucher.batch_execute("BEGIN").await.unwrap();
    toucher.batch_execute("SELECT e2e_touch()").await.unwrap();
    let (cic, cic_task) =
        spawn_blocked(&pg, db, "CREATE INDEX CONCURRENTLY orders_v ON orders (v)").await;
    wait_until_lock_wait(&pg, db, cic).await;
    let (alter, alter_task) = spawn_blocked(&pg, db, "ALTER TABLE orders ADD COLUMN w int").await;
    wait_until_lock_wait(&pg, db, alter).await;
    let out = Command::new("python3")
        .arg(root.join("grafana/generate.py"))
        .arg("--queries")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "generate.py --queries: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let queries = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        queries.lines().count() > 20,
        "too few panel queries: {queries}"
    );
    // A few passes: rate() needs two samples in its window, a new series a poll.
    let mut pending: Vec<(String, String, String)> = queries
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, '\t');
            let (uid, title, expr) = (
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            (uid.to_string(), title.to_string(), substitute(expr))
        })
        .collect();
    for pass in 0..4 {
        pending.retain(|(_, _, expr)| !non_empty(&query(prom_port, expr)));
        if pending.is_empty() || pass == 3 {
            break;
        }
        std::thread::sleep(Duration::from_secs(10));
    }
    let empty: Vec<String> = pending
        .iter()
        .map(|(uid, title, expr)| format!("{uid} / {title}: {expr} -> {}", query(prom_port, expr)))
        .collect();
    assert!(
        empty.is_empty(),
        "panels without data during the replay:\n{}",
        empty.join("\n")
    );
    toucher.batch_execute("COMMIT").await.unwrap();
    holder.batch_execute("COMMIT").await.unwrap();
    let _ = cic_task.await.unwrap();
    let _ = alter_task.await.unwrap();

    // The rollback is played: the app is healthy again, the tool repaired, the alerts resolve.
    psql_file(
        &pg,
        db,
        &example_dir("organizations-import").join("healthy.sql"),
    );
    c.batch_execute(FRAMEWORKS_REPAIR).await.unwrap();
    c.batch_execute("SELECT pg_advisory_unlock(4242)")
        .await
        .unwrap();
    wait(
        "the rollback_now alerts resolved at the webhook",
        Duration::from_secs(300),
        || {
            must_fire
                .iter()
                .all(|a| {
                    firing(&got, a)
                        .iter()
                        .any(|(_, b)| b.contains("\"status\":\"resolved\""))
                })
                .then_some(())
        },
    );
    traffic.abort();
    drop(exporter);
}

/// Tables the dashboards read beyond the example's: migration tools' history
/// tables in their real shape (healthy), and a partitioned table with a text
/// key (its partition check, which compares timestamps, fails on purpose).
const SETUP: &str = r#"
CREATE TABLE orders (id int PRIMARY KEY, v text);
INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 100) g;
CREATE FUNCTION v2_ping() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
SELECT v2_ping();
CREATE TABLE text_parts (k text NOT NULL) PARTITION BY RANGE (k);
CREATE TABLE text_parts_a PARTITION OF text_parts FOR VALUES FROM ('a') TO ('m');
CREATE TABLE "flyway_schema_history" (
    "installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
ALTER TABLE "flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
INSERT INTO "flyway_schema_history" VALUES (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'app', now(), 5, true);
create table "knex_migrations" ("id" serial primary key, "name" varchar(255), "batch" integer, "migration_time" timestamptz);
create table "knex_migrations_lock" ("index" serial primary key, "is_locked" integer);
insert into "knex_migrations_lock" ("is_locked") values (0);
insert into "knex_migrations" ("name", "batch", "migration_time") values ('20250101_init.js', 1, now());
CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null);
INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (20250101000000, false);
"#;

/// The migration tools record the failure: Flyway a failed row, golang-migrate
/// dirty. (Knex's lock is taken only later: a held migration lock means "in
/// flight", which holds back the missing-object alerts on purpose.)
const FRAMEWORKS_FAIL: &str = r#"
INSERT INTO "flyway_schema_history" VALUES (2, '2', 'fix organizations import', 'SQL', 'V2__fix.sql', 2, 'app', now(), 40, false);
UPDATE "public"."schema_migrations" SET version = 20250109000000, dirty = true;
"#;

/// After the rollback: `flyway repair`, golang-migrate forced back, the lock released.
const FRAMEWORKS_REPAIR: &str = r#"
DELETE FROM "flyway_schema_history" WHERE success = false;
UPDATE "public"."schema_migrations" SET version = 20250101000000, dirty = false;
update "knex_migrations_lock" set "is_locked" = 0;
"#;

/// Grafana's template variables, as a user would pick them: all jobs,
/// instances, targets and databases; Grafana's interval macros.
fn substitute(expr: &str) -> String {
    let mut e = expr.to_string();
    for (from, to) in [
        ("${__rate_interval}", "1m"),
        ("$__rate_interval", "1m"),
        ("${__interval}", "15s"),
        ("$__interval", "15s"),
        // A short dashboard range: Prometheus has only this test's data.
        ("${__range}", "1m"),
        ("$__range", "1m"),
    ] {
        e = e.replace(from, to);
    }
    for var in [
        "job",
        "instance",
        "target",
        "datname",
        "operation",
        "relation",
        "index",
        "table",
        "collector",
    ] {
        e = e
            .replace(&format!("${{{var}}}"), ".*")
            .replace(&format!("${var}"), ".*");
    }
    e
}
