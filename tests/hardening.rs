//! Issue 18, hardening (second round), against the real binary: basic auth
//! that cannot stall the scrape, bounded file reads, no secret in any output,
//! a connection cap, a hung (SIGSTOPped) server seen as down, full
//! percent-decoding of `?target=`, and the window API behind basic auth.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{http_get, http_request, Exporter, Metrics, PgCluster, EXPORTER};

const T: Duration = Duration::from_secs(60);

/// A fresh directory per call: tests run on parallel threads of one
/// process, and a directory shared by name let one test read another's
/// output.
fn tmpdir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("pgmig-hard-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn basic(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

/// Runs the binary with a deadline; (exit success, stdout + stderr). A run
/// that overstays is killed and fails the test: a bounded read must not hang.
fn run_bounded(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let (ok, text, _) = run_measured(args, env);
    (ok, text)
}

/// [`run_bounded`], plus the process's peak resident memory in KiB (from
/// wait4, so it is this process's alone).
fn run_measured(args: &[&str], env: &[(&str, &str)]) -> (bool, String, i64) {
    let dir = tmpdir("run");
    let (out_p, err_p) = (dir.join("out"), dir.join("err"));
    let mut cmd = Command::new(EXPORTER);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    // Reaped by wait4 below (for its rusage), not by Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&out_p).unwrap())
        .stderr(std::fs::File::create(&err_p).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, max_rss) = loop {
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break (status, usage.ru_maxrss);
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out_p).unwrap() + &std::fs::read_to_string(&err_p).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (ok, text, max_rss)
}

#[test]
fn every_file_read_is_bounded() {
    let dir = tmpdir("files");
    let big = dir.join("big");
    std::fs::write(&big, vec![b'a'; 3 << 20]).unwrap();
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let url = ("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1:1/x");
    for bad in [Path::new("/dev/zero"), &big, &fifo] {
        let p = bad.to_str().unwrap();
        let (ok, out, rss) = run_measured(&["--check-config", "--web.config.file", p], &[url]);
        assert!(!ok && out.contains(p), "web config {p}: {out}");
        // Unbounded, /dev/zero grew the process to gigabytes.
        assert!(rss < 100 * 1024, "peak RSS {rss} KiB reading {p}");
        assert!(
            out.contains("not a regular file") || out.contains("larger than"),
            "{out}"
        );

        let (ok, out, rss) = run_measured(&["--check-config"], &[("PGMIG_DATABASE_URL_FILE", p)]);
        assert!(rss < 100 * 1024, "peak RSS {rss} KiB reading {p}");
        assert!(
            !ok && out.contains("PGMIG_DATABASE_URL_FILE") && out.contains(p),
            "{out}"
        );

        let cfg = dir.join("dsn.yml");
        std::fs::write(&cfg, format!("targets:\n  - name: t\n    dsn_file: {p}\n")).unwrap();
        let (ok, out) = run_bounded(
            &["--check-config", "--config.file", cfg.to_str().unwrap()],
            &[],
        );
        assert!(!ok && out.contains("dsn_file") && out.contains(p), "{out}");

        let cfg = dir.join("token.yml");
        std::fs::write(&cfg, format!("window: {{api_token_file: {p}}}\n")).unwrap();
        let (ok, out) = run_bounded(
            &["--check-config", "--config.file", cfg.to_str().unwrap()],
            &[url],
        );
        assert!(
            !ok && out.contains("api_token_file") && out.contains(p),
            "{out}"
        );

        if bad != big {
            let (ok, out) = run_bounded(&["--check-config", "--config.file", p], &[url]);
            assert!(
                !ok && out.contains("not a regular file"),
                "config {p}: {out}"
            );
        }
    }
    // Deeply nested YAML in the web config is refused before it is parsed.
    let deep = dir.join("deep.yml");
    std::fs::write(
        &deep,
        format!(
            "http_server_config: {}{}\n",
            "[".repeat(5000),
            "]".repeat(5000)
        ),
    )
    .unwrap();
    let (ok, out) = run_bounded(
        &[
            "--check-config",
            "--web.config.file",
            deep.to_str().unwrap(),
        ],
        &[url],
    );
    assert!(!ok && out.contains("nesting"), "{out}");
}

const MARKER: &str = "Mk7secretQ";

#[test]
fn malformed_urls_never_echo_the_password() {
    let corpus = [
        format!("postgresql://u:1234/{MARKER}@h:5432/db"),
        format!("postgresql://u:1234?{MARKER}@h/db"),
        format!("postgresql://u:12#{MARKER}@h/db"),
        format!("postgresql://u:{MARKER}@h:notaport/db"),
        format!("postgresql://u:{MARKER}%zz@h/db"),
        format!("postgresql://u:{MARKER}@[::1/db"),
        format!("postgresql://u:{MARKER}@h/db?sslmode=bogus"),
        format!("postgresql://u:p@h/db?{MARKER}"),
        format!("postgresql://u:p@h/db?password={MARKER}&gssencmode=require"),
        format!("host=h password=abc {MARKER}"),
        format!("host=h password=abc {MARKER}=1"),
        format!("host=h password='{MARKER}"),
    ];
    let dir = tmpdir("urls");
    for url in &corpus {
        // --check-config, the environment.
        let (ok, out) = run_bounded(&["--check-config"], &[("PGMIG_DATABASE_URL", url)]);
        assert!(!ok, "accepted: {url}\n{out}");
        assert!(!out.contains(MARKER), "{url}: {out}");
        // The config file.
        let cfg = dir.join("c.yml");
        std::fs::write(&cfg, format!("targets:\n  - name: t\n    dsn: \"{url}\"\n")).unwrap();
        let (ok, out) = run_bounded(
            &["--check-config", "--config.file", cfg.to_str().unwrap()],
            &[],
        );
        assert!(!ok && !out.contains(MARKER), "{url}: {out}");
        // The real run: refused at start, nothing logged with the secret.
        let (ok, out) = run_bounded(
            &[
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.level",
                "debug",
            ],
            &[("PGMIG_DATABASE_URL", url)],
        );
        assert!(!ok && !out.contains(MARKER), "{url}: {out}");
    }
}

/// A well-formed URL carrying the marker as its password, to a server that
/// is not there: the marker shows in no log line, label, /metrics line or page.
#[test]
fn an_accepted_url_keeps_its_password_out_of_every_output() {
    let port = common::free_port();
    let url = format!("postgresql://mon:{MARKER}@127.0.0.1:{port}/app?sslmode=disable");
    let (ok, out) = run_bounded(&["--check-config"], &[("PGMIG_DATABASE_URL", &url)]);
    assert!(ok, "{out}");
    assert!(!out.contains(MARKER), "{out}");
    let e = Exporter::start(&[], &[("PGMIG_DATABASE_URL", &url)]);
    let m = e.wait_for("a failed connection", T, |m| {
        (m.sum("pgmig_connect_errors_total", &[]) >= 1.0).then(|| m.raw.clone())
    });
    assert!(m.contains(&format!("127.0.0.1:{port}/app")), "{m}");
    for text in [m, e.get("/").text(), e.get("/readyz").text(), e.log_text()] {
        assert!(!text.contains(MARKER), "{text}");
    }
}

#[test]
fn basic_auth_is_case_insensitive_equal_in_time_and_does_not_stall_the_scrape() {
    let dir = tmpdir("auth");
    // Cost 11: 0.1-0.7 s per verification here, as a production hash costs.
    let hash = bcrypt::hash("right-pass", 11).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: {hash}\n")).unwrap();
    let pg = PgCluster::start_new(&[]);
    let e = Exporter::start(
        &["--web.config.file", web.to_str().unwrap()],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "t"),
        ],
    );
    let good = format!("Basic {}", basic("prometheus", "right-pass"));
    let scrape = |auth: &str| http_get(e.addr, "/metrics", &[("Authorization", auth)]);
    assert_eq!(scrape(&good).status, 200);
    let lower = format!("basic {}", basic("prometheus", "right-pass"));
    assert_eq!(
        scrape(&lower).status,
        200,
        "RFC 9110: the scheme is case-insensitive"
    );
    let deadline = Instant::now() + T;
    while Metrics::parse(&scrape(&good).text()).get("pgmig_up", &[("target", "t")]) != Some(1.0) {
        assert!(Instant::now() < deadline, "target never up");
        std::thread::sleep(Duration::from_millis(200));
    }

    // An unknown user costs what a wrong password costs.
    let time = |user: &str, i: usize| {
        let t = Instant::now();
        let r = scrape(&format!("Basic {}", basic(user, &format!("wrong-{i}"))));
        assert_eq!(r.status, 401);
        t.elapsed().as_secs_f64()
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    // Interleaved, so that a change in the machine's load hits both alike.
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for i in 0..9 {
        unknown.push(time("nobody", i));
        wrong.push(time("prometheus", i));
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    let ratio = unknown / wrong;
    eprintln!("median 401: unknown user {unknown:.3} s, wrong password {wrong:.3} s");
    // Before: 0.000 s against 1.2 s (a ratio near 0).
    assert!(
        (0.25..4.0).contains(&ratio),
        "unknown {unknown:.3} s vs wrong {wrong:.3} s"
    );

    // Baseline scrape latency, then the same under a flood of wrong passwords.
    let timed_scrape = || {
        let t = Instant::now();
        assert_eq!(scrape(&good).status, 200);
        t.elapsed().as_secs_f64()
    };
    let baseline = median((0..9).map(|_| timed_scrape()).collect());
    let timeouts = |m: &Metrics| m.sum("pgmig_collector_errors_total", &[("kind", "timeout")]);
    let before = timeouts(&Metrics::parse(&scrape(&good).text()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let addr = e.addr;
    let flood: Vec<_> = (0..12)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut codes = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let auth = format!("Basic {}", basic("prometheus", &format!("x{t}-{i}")));
                    codes.push(http_get(addr, "/metrics", &[("Authorization", &auth)]).status);
                    i += 1;
                }
                codes
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let during: Vec<f64> = (0..15)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(300));
            timed_scrape()
        })
        .collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let codes: Vec<u16> = flood.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let worst = during.iter().cloned().fold(0.0, f64::max);
    eprintln!(
        "scrape: baseline median {:.4} s; under flood median {:.4} s, worst {worst:.4} s; {} flood requests ({} answered 503)",
        baseline,
        median(during.clone()),
        codes.len(),
        codes.iter().filter(|c| **c == 503).count()
    );
    assert!(codes.iter().all(|c| *c == 401 || *c == 503), "{codes:?}");
    // Generous: a loaded 2-core machine; on the runtime thread the scrape
    // waited for a dozen queued bcrypt runs (seconds).
    assert!(
        worst < 1.0 + 20.0 * baseline,
        "worst {worst:.3} s vs baseline {baseline:.4} s"
    );
    let after = timeouts(&Metrics::parse(&scrape(&good).text()));
    assert_eq!(after, before, "collectors timed out during the flood");
}

#[test]
fn window_api_sits_behind_basic_auth_and_decodes_targets_fully() {
    let dir = tmpdir("window");
    let token = "0123456789abcdef-token";
    std::fs::write(dir.join("token"), token).unwrap();
    let cfg = dir.join("c.yml");
    std::fs::write(
        &cfg,
        format!(
            "window: {{auto: [], api_token_file: {}}}\n",
            dir.join("token").display()
        ),
    )
    .unwrap();
    let name = "a/b 100% é";
    let env = [
        ("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1:1/x"),
        ("PGMIG_TARGET_NAME", name),
    ];
    let bearer = format!("Bearer {token}");
    // Without basic auth: the bearer token alone; every escape decoded.
    let e = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &env);
    let post = |q: &str, h: &[(&str, &str)]| {
        http_request(
            e.addr,
            "POST",
            &format!("/api/v1/window/open?target={q}"),
            h,
        )
        .status
    };
    assert_eq!(
        post("a%2Fb+100%25+%C3%A9", &[("Authorization", &bearer)]),
        200
    );
    assert_eq!(
        post(
            "a%2Fb%20100%25%20%c3%a9",
            &[("authorization", &format!("bearer {token}"))]
        ),
        200
    );
    assert_eq!(
        post("a%2Fb+100%+%C3%A9", &[("Authorization", &bearer)]),
        400,
        "lone %"
    );
    assert_eq!(
        post("a%2Fb+100%25+%C3", &[("Authorization", &bearer)]),
        400,
        "not UTF-8"
    );
    assert_eq!(
        post(
            "a%2Fb+100%25+%C3%A9",
            &[("Authorization", &format!("{bearer}x"))]
        ),
        401
    );
    drop(e);
    // With basic auth: the API needs it too, and the token in X-Window-Token.
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  deploy: {}\n",
            bcrypt::hash("pw", 4).unwrap()
        ),
    )
    .unwrap();
    let e = Exporter::start(
        &[
            "--config.file",
            cfg.to_str().unwrap(),
            "--web.config.file",
            web.to_str().unwrap(),
        ],
        &env,
    );
    let post = |h: &[(&str, &str)]| http_request(e.addr, "POST", "/api/v1/window/open", h).status;
    assert_eq!(
        post(&[("Authorization", &bearer)]),
        401,
        "the bearer token alone no longer suffices"
    );
    let b = format!("Basic {}", basic("deploy", "pw"));
    assert_eq!(
        post(&[("Authorization", &b)]),
        401,
        "basic auth alone does not either"
    );
    assert_eq!(
        post(&[
            ("Authorization", &b),
            ("X-Window-Token", "wrong-token-wrong")
        ]),
        401
    );
    assert_eq!(
        post(&[("Authorization", &b), ("X-Window-Token", token)]),
        200
    );
    assert!(!e.log_text().contains(token));
}

#[test]
fn connections_are_capped_and_idle_ones_closed() {
    let e = Exporter::start(
        &["--web.max-connections", "4"],
        &[("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1:1/x")],
    );
    let held: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(e.addr).unwrap())
        .collect();
    // The accept loop takes the held ones first; the fifth is refused.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(e.addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reply = String::new();
    let _ = extra.read_to_string(&mut reply);
    assert!(
        reply.starts_with("HTTP/1.1 503") && reply.contains("too many connections"),
        "{reply:?}"
    );
    // An idle connection is closed by the server (EOF, not our read timeout).
    let mut idle = held.into_iter().next().unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        idle.read(&mut buf)
            .expect("closed by the server, not timed out"),
        0
    );
    drop(idle);
    // Once the held connections are gone, requests are served again.
    let deadline = Instant::now() + T;
    loop {
        let mut s = TcpStream::connect(e.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut r = String::new();
        let _ = s.read_to_string(&mut r);
        if r.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {r:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The postmaster and every child of it.
fn cluster_pids(pg: &PgCluster) -> Vec<i32> {
    let pidfile = std::fs::read_to_string(pg.dir.join("data/postmaster.pid")).unwrap();
    let pm: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
    let mut pids = vec![pm];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<i32>().ok());
        if ppid == Some(pm) {
            pids.push(pid);
        }
    }
    pids
}

/// Resumes the stopped processes even when an assertion fails.
struct Stopped(Vec<i32>);

impl Stopped {
    fn stop(pids: Vec<i32>) -> Stopped {
        for p in &pids {
            unsafe { libc::kill(*p, libc::SIGSTOP) };
        }
        Stopped(pids)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for p in &self.0 {
            unsafe { libc::kill(*p, libc::SIGCONT) };
        }
    }
}

#[test]
fn a_stopped_server_is_down_and_not_ready_until_it_resumes() {
    let pg = PgCluster::start_new(&[]);
    let e = Exporter::start(
        &[],
        &[
            ("PGMIG_DATABASE_URL", &pg.url("postgres")),
            ("PGMIG_TARGET_NAME", "hung"),
        ],
    );
    let up = |m: &Metrics| m.get("pgmig_up", &[("target", "hung")]);
    e.wait_for("up", T, |m| (up(m) == Some(1.0)).then_some(()));
    let deadline = Instant::now() + T;
    while e.get("/readyz").status != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let probe_sum = |m: &Metrics| m.sum("pgmig_probe_duration_seconds_sum", &[("target", "hung")]);
    let probe_timeouts = |m: &Metrics| {
        m.sum(
            "pgmig_collector_errors_total",
            &[
                ("target", "hung"),
                ("collector", "probe"),
                ("kind", "timeout"),
            ],
        )
    };
    let m = e.metrics();
    let (sum0, timeouts0) = (probe_sum(&m), probe_timeouts(&m));

    let stopped = Stopped::stop(cluster_pids(&pg));
    let m = e.wait_for("pgmig_up 0 while the server is stopped", T, |m| {
        (up(m) == Some(0.0) && probe_timeouts(m) > timeouts0).then(|| m.raw.clone())
    });
    let m = Metrics::parse(&m);
    // The timed-out probe is in the histogram: at least its 2 s timeout.
    assert!(
        probe_sum(&m) - sum0 >= 1.9,
        "probe sum {} -> {}",
        sum0,
        probe_sum(&m)
    );
    let ready = e.get("/readyz");
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(
        ready.text().contains("hung") && ready.text().contains("probe timed out"),
        "{}",
        ready.text()
    );

    drop(stopped);
    e.wait_for("up again once resumed", T, |m| {
        (up(m) == Some(1.0)).then_some(())
    });
    let deadline = Instant::now() + T;
    while e.get("/readyz").status != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready again: {}",
            e.get("/readyz").text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
