//! Test harness: a throwaway PostgreSQL cluster (initdb + postgres in a temp
//! dir on a free port, run as the `postgres` user when the tests run as
//! root), the real exporter binary, a tiny HTTP client and a parser for the
//! exposition text.
//!
//! Clusters are started with PR_SET_PDEATHSIG, so a test process that dies
//! takes its servers with it; the directories of dead test processes are
//! removed by the next run.

#![allow(dead_code)]

pub mod scenario;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

pub const EXPORTER: &str = env!("CARGO_BIN_EXE_pg_migration_exporter");

static ROOT: LazyLock<PathBuf> = LazyLock::new(|| {
    let root = std::env::temp_dir().join("pgmig-tests");
    std::fs::create_dir_all(&root).unwrap();
    // Remove what dead test processes left behind.
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777));
    }
    root
});

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// PostgreSQL's bin directory: $PGMIG_TEST_PG_BIN, else pg_config's, else Debian's 15.
pub fn pg_bin() -> PathBuf {
    if let Ok(p) = std::env::var("PGMIG_TEST_PG_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return p;
        }
    }
    PathBuf::from("/usr/lib/postgresql/15/bin")
}

/// uid and gid of the `postgres` user, when we are root and must drop to it.
fn drop_to() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !pw.is_null(),
        "running as root needs a postgres user (apt-get install postgresql)"
    );
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// A command that runs as `postgres` (when root) and gets `signal` when the
/// thread that spawned it exits.
fn pg_command(program: &Path, death_signal: Option<i32>) -> Command {
    let mut cmd = Command::new(program);
    let ids = drop_to();
    unsafe {
        cmd.pre_exec(move || {
            if let Some((uid, gid)) = ids {
                if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // After setuid: changing credentials clears the death signal.
            if let Some(sig) = death_signal {
                libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong);
            }
            Ok(())
        });
    }
    cmd
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct PgCluster {
    pub port: u16,
    pub dir: PathBuf,
    pub bin: PathBuf,
    extra_conf: Vec<String>,
    child: Mutex<Option<Child>>,
}

impl PgCluster {
    /// initdb a new cluster (not started).
    pub fn init(extra_conf: &[&str]) -> PgCluster {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = ROOT.join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        if drop_to().is_some() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(st.success());
        }
        let bin = pg_bin();
        let out = pg_command(&bin.join("initdb"), None)
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ])
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        PgCluster {
            port: free_port(),
            dir,
            bin,
            extra_conf: extra_conf.iter().map(|s| s.to_string()).collect(),
            child: Mutex::new(None),
        }
    }

    /// initdb and start a cluster owned by the caller; stopped on drop.
    pub fn start_new(extra_conf: &[&str]) -> PgCluster {
        let c = PgCluster::init(extra_conf);
        c.start();
        c
    }

    /// A streaming standby of `primary`. The primary is shut down cleanly,
    /// its data directory copied and restarted; the copy starts in standby
    /// mode (standby.signal, primary_conninfo) and streams from it. This works
    /// on every major with only initdb, pg_ctl and postgres (the npm builds
    /// of other majors ship no pg_basebackup).
    pub fn start_standby_of(primary: &PgCluster) -> PgCluster {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = ROOT.join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        primary.stop_clean();
        let st = Command::new("cp")
            .args(["-a"])
            .arg(primary.dir.join("data"))
            .arg(dir.join("data"))
            .status()
            .unwrap();
        assert!(st.success(), "copying the data directory failed");
        primary.start();
        let data = dir.join("data");
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        let _ = std::fs::remove_dir_all(data.join("log"));
        std::fs::write(data.join("standby.signal"), "").unwrap();
        let mut auto =
            std::fs::read_to_string(data.join("postgresql.auto.conf")).unwrap_or_default();
        auto.push_str(&format!(
            "primary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=standby'\n",
            primary.port
        ));
        std::fs::write(data.join("postgresql.auto.conf"), auto).unwrap();
        if drop_to().is_some() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(st.success());
        }
        let c = PgCluster {
            port: free_port(),
            dir,
            bin: primary.bin.clone(),
            extra_conf: primary
                .extra_conf
                .iter()
                .cloned()
                .chain(["hot_standby=on".to_string()])
                .collect(),
            child: Mutex::new(None),
        };
        c.start();
        c
    }

    /// A clean (fast) shutdown: SIGINT, then wait.
    pub fn stop_clean(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGINT);
            }
            let _ = c.wait();
        }
    }

    /// One cluster shared by the tests of this test binary. It is started
    /// from a thread that never ends, so its death signal fires only when
    /// the whole test process exits.
    pub fn shared() -> &'static PgCluster {
        static SHARED: LazyLock<PgCluster> = LazyLock::new(|| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let c = PgCluster::init(&[]);
                c.start();
                tx.send(c).unwrap();
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("shared cluster")
        });
        &SHARED
    }

    pub fn start(&self) {
        let log = std::fs::File::create(self.dir.join("postgres.log")).unwrap();
        let mut cmd = pg_command(&self.bin.join("postgres"), Some(libc::SIGQUIT));
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.join("sock"))
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=100",
            ])
            .args(["-c", "shared_buffers=32MB", "-c", "deadlock_timeout=1s"]);
        for c in &self.extra_conf {
            cmd.arg("-c").arg(c);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start postgres");
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            if let Some(status) = self
                .child
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "postgres exited with {status}: {}",
                    std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "postgres did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Immediate shutdown (SIGQUIT): what a crash looks like to clients.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGQUIT);
            }
            let _ = c.wait();
        }
        // The postmaster is gone; its children follow within moments.
        let pidfile = self.dir.join("data/postmaster.pid");
        let deadline = Instant::now() + Duration::from_secs(10);
        while pidfile.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    pub fn key_value(&self, db: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={db} sslmode=disable",
            self.port
        )
    }

    pub async fn connect(&self, db: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.key_value(db), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {db}: {e}"));
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }

    /// A fresh database for one test.
    pub async fn create_database(&self, prefix: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        let admin = self.connect("postgres").await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        name
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The exporter binary, running; killed on drop.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Exporter {
    /// Starts the exporter with `args` and `env` (the process environment is
    /// cleared of PG* and PGMIG_* first so the host does not leak in).
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Exporter {
        let mut cmd = Command::new(EXPORTER);
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        cmd.args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "debug",
        ])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start exporter");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let l2 = logs.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("msg=listening") {
                    if let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("address="))
                    {
                        if let Some(t) = tx.take() {
                            let _ = t.send(addr.parse::<SocketAddr>().unwrap());
                        }
                    }
                }
                l2.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("exporter did not start: {:?}", logs.lock().unwrap()));
        Exporter { child, addr, logs }
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(self.addr, path, &[])
    }

    /// The exporter's process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn metrics(&self) -> Metrics {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.text());
        Metrics::parse(&r.text())
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits until `f` returns Some on a fresh scrape.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Metrics) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.metrics();
            if let Some(v) = f(&m) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for: {what}\n--- last /metrics ---\n{}\n--- log ---\n{}", m.raw, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 GET (Connection: close), enough for the exporter.
pub fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_request(addr, "GET", path, headers)
}

/// A minimal HTTP/1.1 request without a body (Connection: close).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> HttpResponse {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect to exporter");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of one scrape.
pub struct Metrics {
    pub raw: String,
    pub samples: Vec<Sample>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name_labels, value) = line.rsplit_once(' ').expect("sample line");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let (name, labels) = match name_labels.split_once('{') {
                Some((n, rest)) => (
                    n.to_string(),
                    parse_labels(rest.strip_suffix('}').expect("closing brace")),
                ),
                None => (name_labels.to_string(), BTreeMap::new()),
            };
            samples.push(Sample {
                name,
                labels,
                value,
            });
        }
        Metrics {
            raw: text.to_string(),
            samples,
        }
    }

    /// Samples of `name` whose labels include all of `want`.
    pub fn find(&self, name: &str, want: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && want
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The value of the one sample matching, if exactly one does.
    pub fn get(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        match self.find(name, want).as_slice() {
            [s] => Some(s.value),
            _ => None,
        }
    }

    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.find(name, want).iter().map(|s| s.value).sum()
    }
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            chars.next();
            if c == '=' {
                break;
            }
            if c != ',' {
                key.push(c);
            }
        }
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => val.push('\n'),
                    Some(o) => val.push(o),
                    None => break,
                },
                '"' => break,
                c => val.push(c),
            }
        }
        out.insert(key, val);
    }
    out
}

/// Runs `psql`-free SQL that must block (a lock wait) in the background;
/// returns the backend pid and the task finishing the statement.
pub async fn spawn_blocked(
    cluster: &PgCluster,
    db: &str,
    sql: &'static str,
) -> (
    i32,
    tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let c = cluster.connect(db).await;
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let task = tokio::spawn(async move { c.batch_execute(sql).await });
    (pid, task)
}

/// Waits until the backend is waiting on a lock, seen from a separate session.
pub async fn wait_until_lock_wait(cluster: &PgCluster, db: &str, pid: i32) {
    let c = cluster.connect(db).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: bool = c
            .query_one("SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .map(|r| r.get(0))
            .unwrap_or(false);
        if waiting {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never waited on a lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// psql: from the server's bin dir when it has one (Debian), else Debian's client.
pub fn psql_bin() -> PathBuf {
    let p = pg_bin().join("psql");
    if p.exists() {
        p
    } else {
        PathBuf::from("/usr/bin/psql")
    }
}

/// Runs a SQL file with psql, statement by statement (so CREATE INDEX
/// CONCURRENTLY works); errors do not stop it: failure paths contain
/// statements that fail on purpose. Returns psql's stderr.
pub fn psql_file(cluster: &PgCluster, db: &str, file: &Path) -> String {
    let out = Command::new(psql_bin())
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
            "-f",
        ])
        .arg(file)
        .env_remove("PGOPTIONS")
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql -f {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The directory of an example.
pub fn example_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// How many sessions the exporter holds on the server `c` is connected to.
pub async fn exporter_backends(c: &tokio_postgres::Client) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_migration_exporter'",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}
