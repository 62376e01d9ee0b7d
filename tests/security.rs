//! Issue 8, security: TLS and basic auth on the HTTP side with a real
//! client (curl), and TLS to PostgreSQL with sslmode=verify-full against a
//! server whose certificate is signed by a CA this test creates.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Exporter, PgCluster};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pgmig-sec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for localhost / 127.0.0.1 signed by it.
fn make_certs(dir: &Path, ca_name: &str) {
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca_name}"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn curl(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(args)
        .output()
        .expect("curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_with_a_real_client() {
    let dir = tmpdir("web");
    make_certs(&dir, "pgmig-web-ca");
    let hash = bcrypt::hash("s3cret-pass", 4).unwrap();
    std::fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  prometheus: {hash}\n",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        ),
    )
    .unwrap();
    let pg = PgCluster::shared();
    let db = pg.create_database("tls_web").await;
    let e = Exporter::start(
        &["--web.config.file", dir.join("web.yml").to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url(&db)),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    let url = format!("https://localhost:{}/metrics", e.addr.port());
    let ca = dir.join("ca.crt");
    let ca = ca.to_str().unwrap();
    assert_eq!(
        curl(&["--cacert", ca, "-u", "prometheus:s3cret-pass", &url]).1,
        "200"
    );
    assert_eq!(
        curl(&["--cacert", ca, "-u", "prometheus:wrong", &url]).1,
        "401"
    );
    assert_eq!(
        curl(&["--cacert", ca, "-u", "nobody:s3cret-pass", &url]).1,
        "401"
    );
    assert_eq!(curl(&["--cacert", ca, &url]).1, "401");
    assert_eq!(
        curl(&[
            "--cacert",
            ca,
            &format!("https://localhost:{}/", e.addr.port())
        ])
        .1,
        "401",
        "every endpoint but the probes"
    );
    // The probes answer without credentials (docs/security.md), over TLS too.
    assert_eq!(
        curl(&[
            "--cacert",
            ca,
            &format!("https://localhost:{}/healthz", e.addr.port())
        ])
        .1,
        "200"
    );
    // The certificate is checked by the client: an unknown CA fails the handshake.
    let (code, _) = curl(&["-u", "prometheus:s3cret-pass", &url]);
    assert_ne!(code, 0, "curl must reject a certificate from an unknown CA");
    // Plain HTTP to the TLS port does not get metrics.
    let (code, status) = curl(&[
        "-u",
        "prometheus:s3cret-pass",
        &format!("http://localhost:{}/metrics", e.addr.port()),
    ]);
    assert!(
        code != 0 || status != "200",
        "plain HTTP was served on the TLS port"
    );
    assert!(!e.log_text().contains("s3cret-pass"));
}

/// `--check-config` with a web config file: (success, stderr).
fn check_web_config(file: &Path) -> (bool, String) {
    let out = Command::new(common::EXPORTER)
        .args(["--check-config", "--web.config.file"])
        .arg(file)
        .env("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1/x")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_bad_web_config_names_the_file_and_key() {
    let dir = tmpdir("badweb");
    std::fs::write(
        dir.join("web.yml"),
        "basic_auth_users:\n  alice: plaintext\n",
    )
    .unwrap();
    let (ok, err) = check_web_config(&dir.join("web.yml"));
    assert!(!ok);
    assert!(
        err.contains("web.yml") && err.contains("basic_auth_users.alice: not a bcrypt hash"),
        "{err}"
    );
    std::fs::write(
        dir.join("web.yml"),
        "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /x\n  colour: red\n",
    )
    .unwrap();
    let (ok, err) = check_web_config(&dir.join("web.yml"));
    assert!(
        !ok && err.contains("web.yml:4") && err.contains("colour"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_verify_full_against_a_server_signed_by_a_test_ca() {
    let dir = tmpdir("pg");
    make_certs(&dir, "pgmig-pg-ca");
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    make_certs(&other, "pgmig-other-ca");
    // The server reads its key as the postgres user, and wants it private.
    let _ = Command::new("chown")
        .args(["postgres:postgres"])
        .arg(dir.join("server.key"))
        .arg(dir.join("server.crt"))
        .status();
    let _ = Command::new("chmod")
        .args(["600"])
        .arg(dir.join("server.key"))
        .status();
    let _ = Command::new("chmod").args(["755"]).arg(&dir).status();
    let pg = PgCluster::start_new(&[
        "ssl=on",
        &format!("ssl_cert_file={}", dir.join("server.crt").display()),
        &format!("ssl_key_file={}", dir.join("server.key").display()),
    ]);
    let good = format!(
        "host=localhost port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
        pg.port,
        dir.join("ca.crt").display()
    );
    let e = Exporter::start(
        &[],
        &[("PGMIG_DATABASE_URL", &good), ("PGMIG_TARGET_NAME", "tls")],
    );
    e.wait_for(
        "connected over verified TLS",
        Duration::from_secs(30),
        |m| (m.get("pgmig_up", &[("target", "tls")]) == Some(1.0)).then_some(()),
    );
    let c = pg.connect("postgres").await;
    let ssl: bool = c
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'pg_migration_exporter'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl, "the exporter's sessions are not encrypted");
    drop(e);

    // The same server with a root certificate that did not sign it: refused.
    let bad = good.replace(
        &dir.join("ca.crt").display().to_string(),
        &other.join("ca.crt").display().to_string(),
    );
    let e = Exporter::start(
        &[],
        &[("PGMIG_DATABASE_URL", &bad), ("PGMIG_TARGET_NAME", "tls")],
    );
    e.wait_for("refused: unknown issuer", Duration::from_secs(30), |m| {
        (m.get("pgmig_connect_errors_total", &[("target", "tls")])
            .unwrap_or(0.0)
            >= 1.0)
            .then_some(())
    });
    assert_eq!(e.metrics().get("pgmig_up", &[("target", "tls")]), Some(0.0));
    assert!(
        e.log_text().to_lowercase().contains("certificate"),
        "{}",
        e.log_text()
    );

    // require without a root certificate encrypts without verifying, as libpq does.
    let req = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require",
        pg.port
    );
    let e = Exporter::start(
        &[],
        &[("PGMIG_DATABASE_URL", &req), ("PGMIG_TARGET_NAME", "tls")],
    );
    e.wait_for(
        "connected with sslmode=require",
        Duration::from_secs(30),
        |m| (m.get("pgmig_up", &[("target", "tls")]) == Some(1.0)).then_some(()),
    );
}
