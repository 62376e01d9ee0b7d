//! Issue 8, security: TLS and basic auth on the HTTP side with a real
//! client (curl), and TLS to PostgreSQL with sslmode=verify-full against a
//! server whose certificate is signed by a CA this test creates.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Exporter, PgCluster};

/// The server reads its key as the postgres user, and wants it private.
fn server_key_for_postgres(dir: &Path) {
    let _ = Command::new("chown")
        .args(["postgres:postgres"])
        .arg(dir.join("server.key"))
        .arg(dir.join("server.crt"))
        .status();
    let _ = Command::new("chmod")
        .args(["600"])
        .arg(dir.join("server.key"))
        .status();
    let _ = Command::new("chmod").args(["755"]).arg(dir).status();
}

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
    server_key_for_postgres(&dir);
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

/// A client certificate for `user`, signed by the CA in `dir`.
fn make_client_cert(dir: &Path, user: &str) {
    std::fs::write(dir.join("client-ext.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            &format!("/CN={user}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.crt",
            "-days",
            "2",
            "-extfile",
            "client-ext.cnf",
        ],
    );
}

fn wait_up_or_error(e: &Exporter) -> f64 {
    e.wait_for("connected or refused", Duration::from_secs(30), |m| {
        let up = m.get("pgmig_up", &[("target", "tls")]);
        let errs = m
            .get("pgmig_connect_errors_total", &[("target", "tls")])
            .unwrap_or(0.0);
        match up {
            Some(1.0) => Some(1.0),
            Some(_) if errs >= 1.0 => Some(0.0),
            _ => None,
        }
    })
}

/// Issue 18: client certificates, channel_binding and verify-ca's root
/// certificate follow libpq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_channel_binding_and_default_root_cert_as_libpq() {
    let dir = tmpdir("libpq");
    make_certs(&dir, "pgmig-libpq-ca");
    make_client_cert(&dir, "certuser");
    server_key_for_postgres(&dir);
    let _ = Command::new("chmod")
        .args(["644"])
        .arg(dir.join("ca.crt"))
        .status();
    let pg = PgCluster::init(&[
        "ssl=on",
        &format!("ssl_cert_file={}", dir.join("server.crt").display()),
        &format!("ssl_key_file={}", dir.join("server.key").display()),
        &format!("ssl_ca_file={}", dir.join("ca.crt").display()),
        "password_encryption=scram-sha-256",
    ]);
    std::fs::write(
        pg.dir.join("data/pg_hba.conf"),
        "local all all trust\n\
         hostssl all certuser 127.0.0.1/32 cert\n\
         host all scramuser 127.0.0.1/32 scram-sha-256\n\
         host all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    pg.start();
    let admin = pg.connect("postgres").await;
    admin
        .batch_execute(
            "CREATE ROLE certuser LOGIN; GRANT pg_monitor TO certuser; \
             CREATE ROLE scramuser LOGIN PASSWORD 'scram-pw'; GRANT pg_monitor TO scramuser",
        )
        .await
        .unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home_s = home.to_str().unwrap();
    let start = |dsn: &str| {
        Exporter::start(
            &[],
            &[
                ("PGMIG_DATABASE_URL", dsn),
                ("PGMIG_TARGET_NAME", "tls"),
                ("HOME", home_s),
            ],
        )
    };
    let p = pg.port;
    let d = |f: &str| dir.join(f).display().to_string();

    // A client certificate authenticates certuser; without it, refused.
    let with_cert = format!(
        "host=localhost port={p} user=certuser dbname=postgres sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
        d("ca.crt"), d("client.crt"), d("client.key")
    );
    assert_eq!(
        wait_up_or_error(&start(&with_cert)),
        1.0,
        "client certificate"
    );
    let without = format!(
        "host=localhost port={p} user=certuser dbname=postgres sslmode=verify-full sslrootcert={}",
        d("ca.crt")
    );
    assert_eq!(
        wait_up_or_error(&start(&without)),
        0.0,
        "no client certificate"
    );

    // channel_binding=require: SCRAM over TLS binds; trust cannot, so it is refused.
    let scram = format!(
        "host=localhost port={p} user=scramuser password=scram-pw dbname=postgres sslmode=require channel_binding=require"
    );
    assert_eq!(wait_up_or_error(&start(&scram)), 1.0, "scram-sha-256-plus");
    let trust = format!("host=localhost port={p} user=postgres dbname=postgres sslmode=require channel_binding=require");
    let e = start(&trust);
    assert_eq!(
        wait_up_or_error(&e),
        0.0,
        "channel binding cannot be honoured with trust"
    );
    assert!(e.log_text().contains("channel binding"), "{}", e.log_text());

    // verify-ca without sslrootcert: ~/.postgresql/root.crt, or an error naming it.
    let verify_ca =
        format!("host=127.0.0.1 port={p} user=postgres dbname=postgres sslmode=verify-ca");
    let e = start(&verify_ca);
    assert_eq!(wait_up_or_error(&e), 0.0);
    assert!(
        e.log_text().contains("root certificate file"),
        "{}",
        e.log_text()
    );
    std::fs::create_dir_all(home.join(".postgresql")).unwrap();
    std::fs::copy(dir.join("ca.crt"), home.join(".postgresql/root.crt")).unwrap();
    assert_eq!(
        wait_up_or_error(&start(&verify_ca)),
        1.0,
        "~/.postgresql/root.crt"
    );

    // No password in the string: ~/.pgpass supplies it, as libpq does.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let pgpass = home.join(".pgpass");
        std::fs::write(
            &pgpass,
            format!("localhost:{p}:postgres:scramuser:scram-pw\n"),
        )
        .unwrap();
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        let no_pw =
            format!("host=localhost port={p} user=scramuser dbname=postgres sslmode=require");
        assert_eq!(wait_up_or_error(&start(&no_pw)), 1.0, "~/.pgpass");
        std::fs::remove_file(&pgpass).unwrap();
        assert_eq!(wait_up_or_error(&start(&no_pw)), 0.0, "no password at all");
    }

    // hostaddr: connect to the address, verify the certificate against host.
    let via_addr = |host: &str| {
        format!(
            "host={host} hostaddr=127.0.0.1 port={p} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
            d("ca.crt")
        )
    };
    assert_eq!(
        wait_up_or_error(&start(&via_addr("localhost"))),
        1.0,
        "hostaddr"
    );
    assert_eq!(
        wait_up_or_error(&start(&via_addr("not-the-name.invalid"))),
        0.0,
        "the certificate is checked against host, not hostaddr"
    );

    // libpq's default client certificate: ~/.postgresql/postgresql.crt and .key.
    std::fs::copy(
        dir.join("client.crt"),
        home.join(".postgresql/postgresql.crt"),
    )
    .unwrap();
    std::fs::copy(
        dir.join("client.key"),
        home.join(".postgresql/postgresql.key"),
    )
    .unwrap();
    assert_eq!(
        wait_up_or_error(&start(&without)),
        1.0,
        "~/.postgresql/postgresql.crt"
    );
}
