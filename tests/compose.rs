//! docker-compose.yml, the Dockerfile and what they mount, checked without a
//! Docker engine (docs/docker-compose.md, "What is verified").
//!
//! - every service is there, images are pinned, long-running services have
//!   health checks, every `${VAR}` has a default;
//! - every build context, mounted host file and directory exists, and named
//!   volumes are declared;
//! - the Dockerfile: multi-stage, Rust bookworm builder, slim runtime, non-root
//!   USER, EXPOSE 9786, a /healthz HEALTHCHECK, and every COPY source (and
//!   every target file Cargo.toml declares) let through by .dockerignore;
//! - PostgreSQL: pg_stat_statements preloaded, track_functions=all, csvlog into
//!   a volume the exporter mounts read-only at the same path;
//! - the exporter's environment passes `--check-config` with every example's
//!   config, mapped from the container path to the repository;
//! - Prometheus: `promtool check config` in a temporary directory laid out like
//!   the container's mounts (so the relative rule_files resolve as they do in
//!   the container), scraping the exporter and alerting to Alertmanager;
//!   Alertmanager's config passes `amtool check-config`;
//! - Grafana: provisioning, dashboards and home dashboard paths resolve;
//! - migration-replay: the postgres image's psql, a script that passes
//!   `bash -n`, every example has the files it plays.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::{Mapping, Value};

const EXPORTER: &str = env!("CARGO_BIN_EXE_pg_migration_exporter");
const SERVICES: [&str; 6] = [
    "postgres",
    "exporter",
    "prometheus",
    "alertmanager",
    "grafana",
    "migration-replay",
];
/// Values a password-like variable may have: obvious local-only defaults.
const LOCAL_DEFAULTS: [&str; 3] = ["postgres", "pgmig", "admin"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn compose() -> Value {
    serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

fn services(c: &Value) -> &Mapping {
    c["services"].as_mapping().expect("services")
}

fn service<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["services"]
        .get(name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// Compose interpolation with the defaults only (no .env, no environment):
/// `$$` -> `$`, `${VAR:-default}` and `${VAR-default}` -> default. A variable
/// without a default is an error: `docker compose up` must work as is.
fn interpolate(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let end = r
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
            let body = &r[..end];
            let default = body
                .split_once(":-")
                .or_else(|| body.split_once('-'))
                .map(|(_, d)| d)
                .ok_or_else(|| format!("${{{body}}} has no default in {s:?}"))?;
            out.push_str(default);
            rest = &r[end + 1..];
        } else {
            return Err(format!("bare $ (use $$ or ${{VAR:-default}}) in {s:?}"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn string(v: &Value) -> String {
    let raw = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    };
    interpolate(&raw).unwrap()
}

fn environment(svc: &Value) -> BTreeMap<String, String> {
    match &svc["environment"] {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), string(v)))
            .collect(),
        Value::Sequence(items) => items
            .iter()
            .map(|i| {
                let s = string(i);
                let (k, v) = s.split_once('=').unwrap_or((&s, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        Value::Null => BTreeMap::new(),
        other => panic!("environment: {other:?}"),
    }
}

fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().map(string).collect(),
        Value::String(_) => vec![string(v)],
        Value::Null => vec![],
        other => panic!("not a list: {other:?}"),
    }
}

#[derive(Debug)]
struct Mount {
    source: String,
    target: String,
    read_only: bool,
    bind: bool,
}

fn mounts(svc: &Value) -> Vec<Mount> {
    string_list(&svc["volumes"])
        .into_iter()
        .map(|v| {
            let parts: Vec<&str> = v.split(':').collect();
            assert!(
                (2..=3).contains(&parts.len()),
                "volume {v:?}: expected SOURCE:TARGET[:MODE]"
            );
            Mount {
                source: parts[0].to_string(),
                target: parts[1].to_string(),
                read_only: parts.get(2) == Some(&"ro"),
                bind: parts[0].starts_with('.') || parts[0].starts_with('/'),
            }
        })
        .collect()
}

/// The repository path a container path of `svc` comes from (longest bind
/// mount prefix), if it comes from a bind mount.
fn host_path(svc: &Value, container: &str) -> Option<PathBuf> {
    mounts(svc)
        .into_iter()
        .filter(|m| m.bind)
        .filter(|m| {
            container == m.target
                || container.starts_with(&format!("{}/", m.target.trim_end_matches('/')))
        })
        .max_by_key(|m| m.target.len())
        .map(|m| {
            let rest = container[m.target.len()..].trim_start_matches('/');
            let base = root().join(&m.source);
            if rest.is_empty() {
                base
            } else {
                base.join(rest)
            }
        })
}

fn image_tag(image: &str) -> (&str, &str) {
    let (name, tag) = image
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("image {image:?} has no tag"));
    (name, tag)
}

#[test]
fn every_variable_has_a_default() {
    for (i, line) in read("docker-compose.yml").lines().enumerate() {
        let code = line.split(" #").next().unwrap();
        if code.trim_start().starts_with('#') {
            continue;
        }
        if let Err(e) = interpolate(code) {
            panic!("docker-compose.yml:{}: {e}", i + 1);
        }
    }
    assert_eq!(interpolate("a ${X:-b} $$c ${Y-d}").unwrap(), "a b $c d");
    assert!(interpolate("${X}").is_err());
}

#[test]
fn services_are_pinned_and_health_checked() {
    let c = compose();
    let names: BTreeSet<&str> = services(&c).keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(names, SERVICES.into_iter().collect(), "services");
    for name in SERVICES {
        let svc = service(&c, name);
        let image = string(&svc["image"]);
        if svc.get("build").is_none() {
            let (repo, tag) = image_tag(&image);
            assert!(
                tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()),
                "{name}: image {image} is not pinned to a version tag"
            );
            match repo {
                "postgres" => assert!(tag.starts_with("16"), "{name}: PostgreSQL 16, not {tag}"),
                "grafana/grafana" => assert!(
                    tag.starts_with("10.4") || tag.starts_with("11."),
                    "{name}: Grafana 10.4 or 11.x (the dashboards' targets), not {tag}"
                ),
                "prom/prometheus" => assert!(
                    tag.starts_with("v2.") || tag.starts_with("v3."),
                    "{name}: {tag}"
                ),
                "prom/alertmanager" => assert!(tag.starts_with("v0."), "{name}: {tag}"),
                _ => panic!("{name}: unexpected image {image}"),
            }
        }
        if name == "migration-replay" {
            assert_eq!(
                image,
                string(&service(&c, "postgres")["image"]),
                "migration-replay uses the postgres image's psql"
            );
            assert_eq!(string(&svc["restart"]), "no", "migration-replay runs once");
        } else {
            let test = string_list(&svc["healthcheck"]["test"]);
            assert!(
                test.len() >= 2 && (test[0] == "CMD" || test[0] == "CMD-SHELL"),
                "{name}: needs a healthcheck, has {test:?}"
            );
        }
        for (dep, cond) in svc["depends_on"].as_mapping().into_iter().flatten() {
            let dep = dep.as_str().unwrap();
            assert!(SERVICES.contains(&dep), "{name} depends on unknown {dep}");
            if string(&cond["condition"]) == "service_healthy" {
                assert!(
                    service(&c, dep).get("healthcheck").is_some(),
                    "{name} waits for {dep} to be healthy, which has no healthcheck"
                );
            }
        }
    }
    assert!(
        service(&c, "exporter")["build"].is_mapping(),
        "the exporter is built from the repository's Dockerfile"
    );
    // depends_on has no cycle (compose would refuse to start).
    fn visit<'a>(c: &'a Value, name: &'a str, path: &mut Vec<&'a str>) {
        assert!(
            !path.contains(&name),
            "depends_on cycle: {path:?} -> {name}"
        );
        path.push(name);
        for dep in service(c, name)["depends_on"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            visit(c, dep.0.as_str().unwrap(), path);
        }
        path.pop();
    }
    for name in SERVICES {
        visit(&c, name, &mut Vec::new());
    }
}

#[test]
fn every_mounted_path_and_build_context_exists() {
    let c = compose();
    let declared: BTreeSet<String> = c["volumes"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    let mut named_used = BTreeSet::new();
    for (name, svc) in services(&c) {
        let name = name.as_str().unwrap();
        for m in mounts(svc) {
            if m.bind {
                assert!(
                    !m.source.starts_with('/'),
                    "{name}: {} is an absolute host path: use one inside the repository",
                    m.source
                );
                let p = root().join(&m.source);
                assert!(p.exists(), "{name}: mounted {} does not exist", p.display());
            } else {
                assert!(
                    declared.contains(&m.source),
                    "{name}: volume {} is not declared",
                    m.source
                );
                named_used.insert(m.source.clone());
            }
            assert!(
                m.target.starts_with('/'),
                "{name}: {} is not absolute",
                m.target
            );
        }
        if let Some(build) = svc.get("build") {
            let ctx = root().join(string(&build["context"]));
            let dockerfile = ctx.join(string(&build["dockerfile"]));
            assert!(
                ctx.is_dir() && dockerfile.is_file(),
                "{name}: build context {} / {}",
                ctx.display(),
                dockerfile.display()
            );
        }
    }
    assert_eq!(named_used, declared, "declared volumes that are never used");
}

/// A small .dockerignore evaluator: patterns in order, the last match wins;
/// `*` matches everything, `NAME` or `NAME/` a top-level entry.
fn docker_context_admits(ignore: &str, path: &str) -> bool {
    let top = path.trim_start_matches("./").split('/').next().unwrap();
    let mut admitted = true;
    for line in ignore.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negate, pat) = match line.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, line),
        };
        let pat = pat.trim_start_matches('/').trim_end_matches('/');
        if pat == "*" || pat == top || pat == path.trim_start_matches("./") {
            admitted = negate;
        }
    }
    admitted
}

#[test]
fn dockerfile_builds_a_small_non_root_image() {
    let df = read("Dockerfile");
    let ignore = read(".dockerignore");
    // Join continuation lines.
    let joined = df.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_uppercase(), rest.trim().to_string())
        })
        .collect();
    let froms: Vec<&String> = instructions
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    let builder = froms[0].split_whitespace().next().unwrap();
    let (repo, tag) = image_tag(builder);
    assert_eq!(repo, "rust", "builder image");
    assert!(
        tag.starts_with("1.") && tag.ends_with("-slim-bookworm"),
        "builder rust:1.x-slim-bookworm, not {tag}"
    );
    // Exactly the crate's rust-version: the image is where that claim is
    // built, so the two cannot drift apart (Cargo.lock's newest requirement
    // is what sets both).
    let msrv = read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap();
    assert_eq!(
        tag.trim_end_matches("-slim-bookworm"),
        msrv,
        "the Dockerfile's toolchain and Cargo.toml's rust-version differ"
    );
    let runtime = froms.last().unwrap().split_whitespace().next().unwrap();
    assert!(
        runtime == "debian:bookworm-slim" || runtime.starts_with("gcr.io/distroless/"),
        "runtime image {runtime}"
    );

    let last_from = instructions
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .unwrap();
    let final_stage = &instructions[last_from..];
    let user = final_stage
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .map(|(_, u)| u.clone())
        .expect("USER in the runtime stage");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "root" && uid != "0", "runs as root: USER {user}");
    assert!(
        final_stage
            .iter()
            .any(|(op, a)| op == "EXPOSE" && a.split_whitespace().any(|p| p == "9786")),
        "EXPOSE 9786"
    );
    let health = final_stage
        .iter()
        .find(|(op, _)| op == "HEALTHCHECK")
        .map(|(_, a)| a.clone())
        .expect("HEALTHCHECK (or document why not)");
    assert!(
        health.contains("/healthz") && health.contains("9786"),
        "{health}"
    );
    if health.contains("bash") {
        assert!(
            runtime.starts_with("debian:"),
            "the HEALTHCHECK needs bash in the runtime image"
        );
    }

    // COPY sources exist and pass .dockerignore.
    let mut copied = Vec::new();
    for (op, args) in &instructions {
        if (op == "COPY" || op == "ADD") && !args.contains("--from=") {
            let words: Vec<&str> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            for src in &words[..words.len() - 1] {
                assert!(
                    root().join(src).exists(),
                    "COPY {src}: not in the repository"
                );
                assert!(
                    docker_context_admits(&ignore, src),
                    "COPY {src}: excluded by .dockerignore"
                );
                copied.push(src.trim_end_matches('/').to_string());
            }
        }
    }
    for needed in ["Cargo.toml", "Cargo.lock", "src"] {
        assert!(copied.iter().any(|c| c == needed), "COPY {needed}");
    }
    // cargo reads every target Cargo.toml declares, even for `--bin`.
    let manifest: toml_lite::Manifest = toml_lite::parse(&read("Cargo.toml"));
    for path in manifest.target_paths {
        let top = path.split('/').next().unwrap();
        assert!(
            copied.iter().any(|c| c == top || c == &path),
            "Cargo.toml declares {path}, which the Dockerfile does not COPY"
        );
    }
    assert!(
        !docker_context_admits(&ignore, "target"),
        "target/ in the context"
    );
    assert!(
        !docker_context_admits(&ignore, ".git"),
        ".git in the context"
    );
}

/// Just enough of Cargo.toml: the files of [[bin]], [[bench]], [[test]],
/// [[example]] and [lib] sections (explicit `path` or cargo's default).
mod toml_lite {
    pub struct Manifest {
        pub target_paths: Vec<String>,
    }

    pub fn parse(text: &str) -> Manifest {
        let mut out = Vec::new();
        let mut section = String::new();
        let mut name: Option<String> = None;
        let mut path: Option<String> = None;
        let flush = |section: &str,
                     name: &mut Option<String>,
                     path: &mut Option<String>,
                     out: &mut Vec<String>| {
            let (name, path) = (name.take(), path.take());
            let dir = match section {
                "[[bench]]" => "benches",
                "[[test]]" => "tests",
                "[[example]]" => "examples",
                "[[bin]]" => "src/bin",
                "[lib]" => "src",
                _ => return,
            };
            match (path, name) {
                (Some(p), _) => out.push(p),
                (None, Some(n)) if section != "[lib]" => out.push(format!("{dir}/{n}.rs")),
                _ => out.push("src/lib.rs".to_string()),
            }
        };
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                flush(&section, &mut name, &mut path, &mut out);
                section = line.to_string();
            } else if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().trim_matches('"').to_string();
                match k.trim() {
                    "name" => name = Some(v),
                    "path" => path = Some(v),
                    _ => {}
                }
            }
        }
        flush(&section, &mut name, &mut path, &mut out);
        Manifest { target_paths: out }
    }
}

#[test]
fn dockerignore_evaluator() {
    let ig = "# c\n*\n!Cargo.toml\n!src/\n";
    assert!(docker_context_admits(ig, "src"));
    assert!(docker_context_admits(ig, "./src/main.rs"));
    assert!(docker_context_admits(ig, "Cargo.toml"));
    assert!(!docker_context_admits(ig, "target"));
    assert!(!docker_context_admits(ig, "benches"));
    let m = toml_lite::parse(
        "[package]\nname = \"x\"\n[[bin]]\nname = \"a\"\npath = \"src/main.rs\"\n[[bench]]\nname = \"render\"\nharness = false\n",
    );
    assert_eq!(m.target_paths, ["src/main.rs", "benches/render.rs"]);
}

fn command_args(svc: &Value) -> Vec<String> {
    string_list(&svc["command"])
}

#[test]
fn postgres_logs_csv_into_a_volume_the_exporter_reads() {
    let c = compose();
    let pg = service(&c, "postgres");
    let args = command_args(pg);
    assert_eq!(args.first().map(String::as_str), Some("postgres"));
    let settings: BTreeMap<String, String> = args
        .windows(2)
        .filter(|w| w[0] == "-c")
        .map(|w| {
            let (k, v) = w[1].split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let get = |k: &str| settings.get(k).map(String::as_str).unwrap_or("");
    assert!(get("shared_preload_libraries")
        .split(',')
        .any(|l| l.trim() == "pg_stat_statements"));
    assert_eq!(get("track_functions"), "all");
    assert_eq!(get("logging_collector"), "on");
    assert!(get("log_destination")
        .split(',')
        .any(|d| d.trim() == "csvlog"));
    let log_dir = get("log_directory");
    assert!(log_dir.starts_with('/'), "log_directory {log_dir:?}");
    let log_mode = u32::from_str_radix(get("log_file_mode"), 8).expect("log_file_mode");
    assert!(
        log_mode & 0o004 != 0,
        "log files must be readable by the exporter's user"
    );

    let pg_log = mounts(pg)
        .into_iter()
        .find(|m| m.target == log_dir)
        .unwrap_or_else(|| panic!("no volume at log_directory {log_dir}"));
    assert!(!pg_log.bind, "the log directory is a named volume");
    let exp_log = mounts(service(&c, "exporter"))
        .into_iter()
        .find(|m| m.source == pg_log.source)
        .expect("the exporter mounts the log volume");
    assert_eq!(exp_log.target, log_dir, "same path in both containers");
    assert!(exp_log.read_only, "read-only in the exporter");
    assert!(
        read("docs/docker-compose.md").contains(log_dir),
        "docs/docker-compose.md documents {log_dir}"
    );
    // The exporter follows that directory (deploy/exporter/server-log.yml).
    let exp = service(&c, "exporter");
    let stack = host_path(exp, &environment(exp)["PGMIG_STACK_CONFIG"]).unwrap();
    let stack: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(stack).unwrap()).unwrap();
    let follow = &stack["server_log"]["follow"][0];
    assert_eq!(follow["directory"].as_str(), Some(log_dir));
    assert_eq!(follow["format"].as_str(), Some("csvlog"));
    assert_eq!(
        follow["target"].as_str(),
        Some(environment(exp)["PGMIG_TARGET_NAME"].as_str())
    );

    // The entrypoint wrapper prepares the log directory, then runs the image's.
    let entry = string_list(&pg["entrypoint"]);
    let script = entry
        .iter()
        .find(|a| a.starts_with('/'))
        .expect("entrypoint script");
    let host = host_path(pg, script).expect("the entrypoint script is mounted");
    let text = std::fs::read_to_string(&host).unwrap();
    assert!(text.contains(log_dir) && text.contains("exec docker-entrypoint.sh"));
    syntax_check("sh", &host);

    let initdb = host_path(pg, "/docker-entrypoint-initdb.d").expect("initdb scripts mounted");
    let sql: Vec<PathBuf> = std::fs::read_dir(&initdb)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    assert!(!sql.is_empty(), "{}: no .sql", initdb.display());
}

fn syntax_check(shell: &str, path: &Path) {
    let out = Command::new(shell)
        .arg("-n")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{shell}: {e}"));
    assert!(
        out.status.success(),
        "{shell} -n {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// postgres://user:password@host:port/db?... -> (user, password, host, port, db)
fn parse_dsn(dsn: &str) -> (String, String, String, String, String) {
    let rest = dsn.strip_prefix("postgres://").expect("a postgres:// URL");
    let (auth, rest) = rest.split_once('@').unwrap();
    let (user, password) = auth.split_once(':').unwrap();
    let (hostport, rest) = rest.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    let db = rest.split('?').next().unwrap();
    (
        user.into(),
        password.into(),
        host.into(),
        port.into(),
        db.into(),
    )
}

fn examples() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn exporter_environment_passes_check_config_for_every_example() {
    let c = compose();
    let exp = service(&c, "exporter");
    let env = environment(exp);
    let (user, password, host, port, db) = parse_dsn(&env["PGMIG_DATABASE_URL"]);
    assert!(
        services(&c).contains_key(host.as_str()),
        "DSN host {host} is a service"
    );
    assert_eq!(port, "5432");
    let pg_env = environment(service(&c, "postgres"));
    assert_eq!(db, pg_env["POSTGRES_DB"], "the DSN's database");
    let initdb = std::fs::read_to_string(
        host_path(service(&c, "postgres"), "/docker-entrypoint-initdb.d")
            .unwrap()
            .join("10-pgmig.sql"),
    )
    .unwrap();
    assert!(
        initdb.contains(&format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'")),
        "the initdb script creates the DSN's role {user}"
    );
    assert!(initdb.contains(&format!("GRANT pg_monitor TO {user}")));

    // The entrypoint script writes the example's config plus the stack's
    // sections and runs the exporter: run it here with the container paths
    // mapped to the repository, the exporter from this build, --check-config.
    let entry = string_list(&exp["entrypoint"]);
    assert_eq!(entry.first().map(String::as_str), Some("bash"), "{entry:?}");
    let script = host_path(exp, &entry[1]).expect("the entrypoint script is mounted");
    syntax_check("bash", &script);
    let raw_config = exp["environment"]["PGMIG_EXAMPLE_CONFIG"]
        .as_str()
        .expect("PGMIG_EXAMPLE_CONFIG")
        .to_string();
    assert!(
        raw_config.contains("${PGMIG_EXAMPLE:-organizations-import}"),
        "the config follows PGMIG_EXAMPLE: {raw_config}"
    );
    let stack = host_path(exp, &env["PGMIG_STACK_CONFIG"]).expect("stack config mounted");
    assert!(stack.is_file(), "{}", stack.display());
    let bin_dir = Path::new(EXPORTER).parent().unwrap();
    let tmp = TempDir::new("compose-exporter");
    let all = examples();
    assert!(all.len() >= 5, "examples: {all:?}");
    for example in &all {
        let container = raw_config.replace("${PGMIG_EXAMPLE:-organizations-import}", example);
        let host_file = host_path(exp, &container)
            .unwrap_or_else(|| panic!("{container} is not mounted into the exporter"));
        assert!(host_file.is_file(), "{}", host_file.display());
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg("--check-config").env_clear().env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.env("PGMIG_EXAMPLE_CONFIG", &host_file)
            .env("PGMIG_STACK_CONFIG", &stack)
            .env("PGMIG_COMBINED_CONFIG", tmp.0.join("config.yml"));
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "the exporter's entrypoint --check-config with the compose environment and {example}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Copy `from` (file or directory) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} not found: install it (scripts/install-deps installs prometheus and prometheus-alertmanager)");
}

/// `*` and `?` file-name globs, as Prometheus' rule_files take them.
fn glob_match(pattern: &str, name: &str) -> bool {
    fn m(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), name.as_bytes())
}

#[test]
fn glob_match_works() {
    assert!(glob_match("pgmig-*.yml", "pgmig-rules.yml"));
    assert!(!glob_match("pgmig-*.yml", "alertmanager.yml"));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a*", "ba"));
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("pgmig-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn prometheus_config_passes_promtool_in_the_container_layout() {
    let c = compose();
    let prom = service(&c, "prometheus");
    let config = command_args(prom)
        .iter()
        .find_map(|a| a.strip_prefix("--config.file=").map(String::from))
        .expect("--config.file in the prometheus command");

    // The container's file system, as far as the bind mounts make it.
    let tmp = TempDir::new("compose-prometheus");
    for m in mounts(prom).into_iter().filter(|m| m.bind) {
        copy_tree(
            &root().join(&m.source),
            &tmp.0.join(m.target.trim_start_matches('/')),
        );
    }
    let config_in_tmp = tmp.0.join(config.trim_start_matches('/'));
    assert!(
        config_in_tmp.is_file(),
        "{config} is not mounted into prometheus"
    );
    let out = Command::new(tool("promtool"))
        .args(["check", "config"])
        .arg(&config_in_tmp)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check config:\n{text}");

    // What it loads and scrapes.
    let cfg: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&config_in_tmp).unwrap()).unwrap();
    let rule_files = string_list(&cfg["rule_files"]);
    let config_dir = Path::new(&config).parent().unwrap();
    let mut loaded = BTreeSet::new();
    for rf in &rule_files {
        let container = config_dir.join(rf);
        let (dir, pattern) = (
            container.parent().unwrap(),
            container.file_name().unwrap().to_str().unwrap(),
        );
        let host_dir = host_path(prom, dir.to_str().unwrap())
            .unwrap_or_else(|| panic!("rule files {rf} are not mounted"));
        assert_eq!(host_dir, root().join("alerts"), "{rf} comes from alerts/");
        let matched: Vec<String> = std::fs::read_dir(&host_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| glob_match(pattern, n))
            .collect();
        assert!(!matched.is_empty(), "{rf} matches no file of alerts/");
        for n in matched {
            assert!(text.contains(&n), "promtool did not check {n}:\n{text}");
            loaded.insert(n);
        }
    }
    for e in std::fs::read_dir(root().join("alerts")).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with("pgmig-") && n.ends_with(".yml") {
            assert!(
                loaded.contains(&n),
                "alerts/{n} is not loaded by rule_files"
            );
        }
    }
    assert!(
        !loaded.contains("alertmanager.yml"),
        "rule_files loads alerts/alertmanager.yml"
    );
    let targets = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|sc| sc["static_configs"].as_sequence().into_iter().flatten())
            .flat_map(|s| string_list(&s["targets"]))
            .collect()
    };
    let scraped = targets(&cfg["scrape_configs"]);
    assert!(
        scraped.iter().any(|t| t == "exporter:9786"),
        "scrapes the exporter service: {scraped:?}"
    );
    let am = targets(&cfg["alerting"]["alertmanagers"]);
    assert_eq!(
        am,
        ["alertmanager:9093"],
        "alerts go to the alertmanager service"
    );
    let exporter_job = cfg["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|sc| {
            sc["static_configs"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|s| string_list(&s["targets"]).contains(&"exporter:9786".to_string()))
        })
        .unwrap();
    assert_ne!(
        exporter_job["honor_labels"].as_bool(),
        Some(true),
        "honor_labels would let an app job label replace the scrape job"
    );
}

#[test]
fn alertmanager_config_passes_amtool() {
    let c = compose();
    let am = service(&c, "alertmanager");
    let config = command_args(am)
        .iter()
        .find_map(|a| a.strip_prefix("--config.file=").map(String::from))
        .expect("--config.file");
    let host = host_path(am, &config).expect("the config is mounted");
    assert_eq!(host, root().join("alerts/alertmanager.yml"));
    let out = Command::new(tool("amtool"))
        .args(["check-config"])
        .arg(&host)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "amtool check-config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn grafana_provisions_the_dashboards() {
    let c = compose();
    let g = service(&c, "grafana");
    let prov = host_path(g, "/etc/grafana/provisioning").expect("provisioning mounted");
    assert_eq!(prov, root().join("grafana/provisioning"));

    let ds: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(prov.join("datasources/pgmig.yml")).unwrap(),
    )
    .unwrap();
    let url = ds["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|d| d["type"].as_str() == Some("prometheus"))
        .and_then(|d| d["url"].as_str())
        .unwrap()
        .to_string();
    assert_eq!(url, "http://prometheus:9090");
    assert!(services(&c).contains_key("prometheus"));

    let dash: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(prov.join("dashboards/pgmig.yml")).unwrap(),
    )
    .unwrap();
    for p in dash["providers"].as_sequence().unwrap() {
        let path = p["options"]["path"].as_str().unwrap();
        let host = host_path(g, path).unwrap_or_else(|| panic!("{path} is not mounted"));
        assert_eq!(host, root().join("grafana/dashboards"));
        let n = std::fs::read_dir(&host)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count();
        assert!(n >= 2, "{}: {n} dashboards", host.display());
    }
    let env = environment(g);
    if let Some(home) = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH") {
        let host = host_path(g, home).expect("home dashboard mounted");
        assert!(host.is_file(), "{}", host.display());
    }
    let tag = image_tag(&string(&g["image"])).1.to_string();
    assert!(
        read("docs/dashboards.md").contains("schemaVersion")
            && (tag.starts_with("10.4") || tag.starts_with("11.")),
        "Grafana {tag}"
    );
}

#[test]
fn migration_replay_plays_every_example() {
    let c = compose();
    let r = service(&c, "migration-replay");
    let env = environment(r);
    let entry = string_list(&r["entrypoint"]);
    assert_eq!(entry.first().map(String::as_str), Some("bash"));
    let script = host_path(r, &entry[1]).expect("the replay script is mounted");
    syntax_check("bash", &script);
    let text = std::fs::read_to_string(&script).unwrap();
    for needle in [
        "psql",
        "schema.sql",
        "failure.sql",
        "healthy.sql",
        "PGMIG_EXAMPLE",
    ] {
        assert!(text.contains(needle), "the replay script uses {needle}");
    }
    let dir = host_path(r, &env["PGMIG_EXAMPLES_DIR"]).expect("examples mounted");
    assert_eq!(dir, root().join("examples"));
    assert_eq!(env["PGMIG_EXAMPLE"], "organizations-import", "the default");
    for example in examples() {
        for f in ["schema.sql", "failure.sql", "healthy.sql", "config.yml"] {
            assert!(
                dir.join(&example).join(f).is_file(),
                "examples/{example}/{f}"
            );
        }
    }
    assert_eq!(env["PGHOST"], "postgres");
    let pg_env = environment(service(&c, "postgres"));
    assert_eq!(env["PGPASSWORD"], pg_env["POSTGRES_PASSWORD"]);
    assert_eq!(env["PGMIG_APP_DB"], pg_env["POSTGRES_DB"]);
    let (host, port) = env["PGMIG_EXPORTER"].split_once(':').unwrap();
    assert!(services(&c).contains_key(host) && port == "9786");
    // The schema is in before the exporter starts: the exporter waits for the
    // replay's health check, which is the file the script touches after
    // schema.sql (the script then waits for the exporter by itself).
    assert_eq!(
        string(&service(&c, "exporter")["depends_on"]["migration-replay"]["condition"]),
        "service_healthy"
    );
    let ready = &env["PGMIG_REPLAY_READY_FILE"];
    let test = string_list(&r["healthcheck"]["test"]);
    assert!(
        test.contains(ready),
        "the health check tests {ready}: {test:?}"
    );
    let touch = text
        .find("touch \"${PGMIG_REPLAY_READY_FILE")
        .expect("touches the ready file");
    assert!(
        text.find("schema.sql\" >/dev/null").unwrap() < touch
            && touch < text.find("/readyz").unwrap(),
        "ready after schema.sql, before waiting for the exporter"
    );
    assert!(
        r["depends_on"].get("exporter").is_none(),
        "the replay must not wait for the exporter, which waits for it"
    );
}

#[test]
fn ports_are_local_and_documented() {
    let c = compose();
    let docs = read("docs/docker-compose.md");
    assert!(docs.contains("docker compose up"));
    for (svc, port) in [
        ("grafana", "3000"),
        ("prometheus", "9090"),
        ("alertmanager", "9093"),
        ("exporter", "9786"),
    ] {
        let ports = string_list(&service(&c, svc)["ports"]);
        assert!(
            ports.contains(&format!("127.0.0.1:{port}:{port}")),
            "{svc} publishes {port} on 127.0.0.1: {ports:?}"
        );
        assert!(
            docs.contains(&format!("localhost:{port}")),
            "docs/docker-compose.md names localhost:{port}"
        );
    }
    for (name, svc) in services(&c) {
        let name = name.as_str().unwrap();
        for p in string_list(&svc["ports"]) {
            assert!(
                p.starts_with("127.0.0.1:"),
                "{name} publishes {p} beyond localhost"
            );
        }
    }
}

#[test]
fn no_secrets_beyond_local_defaults() {
    let c = compose();
    for (name, svc) in services(&c) {
        let name = name.as_str().unwrap();
        for (k, v) in environment(svc) {
            let key = k.to_uppercase();
            if ["PASSWORD", "SECRET", "TOKEN", "API_KEY"]
                .iter()
                .any(|w| key.contains(w))
            {
                assert!(
                    LOCAL_DEFAULTS.contains(&v.as_str()),
                    "{name}: {k} is not an obvious local default"
                );
            }
            if v.starts_with("postgres://") {
                let (_, password, _, _, _) = parse_dsn(&v);
                assert!(LOCAL_DEFAULTS.contains(&password.as_str()), "{name}: {k}");
            }
        }
    }
    let docs = read("docs/docker-compose.md");
    assert!(
        docs.to_lowercase().contains("local"),
        "documented as local-only"
    );
}
