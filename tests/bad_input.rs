//! Bad input (issue 8): hostile names and values from the database come out
//! escaped, cut or repaired in both exposition formats and parse back to
//! what went in; malformed config files are refused with file, line and key.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{psql_bin, Exporter, Metrics, PgCluster};

const EXPORTER: &str = env!("CARGO_BIN_EXE_pg_migration_exporter");
const T: Duration = Duration::from_secs(60);

/// psql with raw bytes in the command: a SQL_ASCII database stores them as they are.
fn psql_bytes(cluster: &PgCluster, db: &str, sql: &[u8]) {
    let out = Command::new(psql_bin())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(cluster.key_value(db))
        .arg("-c")
        .arg(OsStr::from_bytes(sql))
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const LONG_LEN: usize = 3000;

fn app_config(dir: &Path, dsn: &str) -> std::path::PathBuf {
    let p = dir.join("hostile.yml");
    std::fs::write(
        &p,
        format!(
            r#"targets:
  - name: hostile
    dsn: "{dsn}"
    databases: [postgres, hostile]
collectors:
  tables: {{interval: 1s}}
  indexes: {{interval: 1s}}
app_collectors:
  - name: hostile
    interval: 1s
    sql: |
      SELECT v AS what, 1 AS n FROM (VALUES
        ('quo"te'), ('back\slash'), (E'new\nline'), ('tab	and ✓ unicode'),
        (repeat('x', {LONG_LEN})), ('trailing\'), ('{{"json": "in a label"}}')) t(v)
    metrics:
      - name: hostile_values
        type: gauge
        help: Values with characters the exposition format must escape.
        labels: [what]
        value: n
"#
        ),
    )
    .unwrap();
    p
}

/// Every sample of `name` for the given label, parsed from text.
fn label_values(m: &Metrics, name: &str, label: &str) -> Vec<String> {
    let mut v: Vec<String> = m
        .find(name, &[])
        .iter()
        .filter_map(|s| s.labels.get(label).cloned())
        .collect();
    v.sort();
    v
}

#[test]
fn hostile_label_values_round_trip_in_text_and_openmetrics() {
    let cluster = PgCluster::start_new(&[]);
    psql_bytes(
        &cluster,
        "postgres",
        b"CREATE DATABASE hostile ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
    );
    // Quotes, a backslash, a newline, bytes that are not UTF-8, and the
    // longest name PostgreSQL allows (63 bytes).
    let long_name = "n".repeat(63);
    let mut sql = Vec::new();
    sql.extend_from_slice(b"CREATE TABLE public.\"quo\"\"te\\back\" (id int PRIMARY KEY);");
    sql.extend_from_slice(b"CREATE TABLE public.\"new\nline\" (id int);");
    sql.extend_from_slice(b"CREATE TABLE public.\"bad\xff\xfename\" (id int);");
    sql.extend_from_slice(format!("CREATE TABLE public.{long_name} (id int);").as_bytes());
    psql_bytes(&cluster, "hostile", &sql);

    let dir = tempfile_dir();
    let cfg = app_config(&dir, &cluster.url("postgres"));
    let exporter = Exporter::start(&["--config.file", cfg.to_str().unwrap()], &[]);
    let want_tables = vec![
        "bad\u{FFFD}\u{FFFD}name".to_string(),
        "new\nline".to_string(),
        long_name.clone(),
        "quo\"te\\back".to_string(),
    ];
    exporter.wait_for("the hostile tables and app values", T, |m| {
        let tables: Vec<String> = m
            .find("pgmig_table_size_bytes", &[("datname", "hostile")])
            .iter()
            .filter_map(|s| s.labels.get("table").cloned())
            .collect();
        (tables.len() == 4 && !m.find("hostile_values", &[]).is_empty()).then_some(())
    });

    let text = exporter.get("/metrics");
    let om = common::http_get(
        exporter.addr,
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert!(om.text().ends_with("# EOF\n"));
    for body in [text.text(), om.text()] {
        let m = Metrics::parse(&body);
        let mut tables: Vec<String> = m
            .find("pgmig_table_size_bytes", &[("datname", "hostile")])
            .iter()
            .filter_map(|s| s.labels.get("table").cloned())
            .collect();
        tables.sort();
        assert_eq!(tables, want_tables, "{body}");

        let values = label_values(&m, "hostile_values", "what");
        for want in [
            "quo\"te",
            "back\\slash",
            "new\nline",
            "tab\tand ✓ unicode",
            "trailing\\",
            "{\"json\": \"in a label\"}",
        ] {
            assert!(
                values.iter().any(|v| v == want),
                "{want:?} not in {values:?}"
            );
        }
        // The long value is cut to the limit, at a character boundary, marked with "...".
        let long = values
            .iter()
            .find(|v| v.starts_with("xxx"))
            .expect("the long value");
        assert!(long.len() <= 1024 && long.len() > 1000, "{}", long.len());
        assert!(long.ends_with("...") && long.trim_end_matches('.').bytes().all(|b| b == b'x'));
        // No raw newline inside a sample: every line is a comment or a sample.
        for line in body.lines() {
            assert!(
                line.starts_with('#')
                    || line.starts_with("pg")
                    || line.starts_with("process_")
                    || line.starts_with("hostile_"),
                "a line broken by an unescaped value: {line:?}"
            );
        }
    }
    // The collectors that read these names did not fail over them.
    let m = exporter.metrics();
    for c in ["tables", "indexes", "app:hostile"] {
        let ok = m.find("pgmig_collector_success", &[("collector", c)]);
        assert!(
            !ok.is_empty() && ok.iter().all(|s| s.value == 1.0),
            "{c}: {ok:?}"
        );
    }
    // And the text format passes promtool's linter.
    if let Some(promtool) = which("promtool") {
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.text().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "promtool: {report}");
    }
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pgmig-bad-input-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `--check-config` on a file; returns (exit code, stderr).
fn check_config(path: &Path) -> (Option<i32>, String) {
    let out = Command::new(EXPORTER)
        .args(["--check-config", "--config.file"])
        .arg(path)
        .env("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1/x")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn every_malformed_config_shape_names_file_line_and_key() {
    let dir = tempfile_dir();
    // (file name, content, line, what the message must name)
    // Anchors that would expand nine-fold per level (9^9 strings).
    let mut bomb = String::from("expected_error_codes:\n  l0: &l0 [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for n in 1..9 {
        let refs = vec![format!("*l{}", n - 1); 9].join(",");
        bomb.push_str(&format!("  l{n}: &l{n} [{refs}]\n"));
    }
    // Nesting deep enough to overflow a recursive parser's stack, or to
    // keep the parser busy for minutes.
    let deep = format!(
        "collectors: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let cases: Vec<(&str, String, usize, &str)> = vec![
        ("empty.yml", String::new(), 1, "the file is empty"),
        (
            "comments.yml",
            "# only a comment\n\n---\n".into(),
            1,
            "the file is empty",
        ),
        (
            "top_list.yml",
            "- collectors\n- targets\n".into(),
            1,
            "invalid type: sequence",
        ),
        (
            "wrong_type_interval.yml",
            "collectors:\n  locks:\n    interval: [1, 2]\n".into(),
            3,
            "collectors.locks.interval",
        ),
        (
            "wrong_type_bool.yml",
            "collectors:\n  tables:\n    enabled: maybe\n".into(),
            3,
            "collectors.tables.enabled",
        ),
        (
            "wrong_type_targets.yml",
            "targets: postgres://x@y/z\n".into(),
            1,
            "targets",
        ),
        (
            "wrong_type_number.yml",
            "collectors:\n  indexes:\n    max_indexes: lots\n".into(),
            3,
            "collectors.indexes.max_indexes",
        ),
        (
            "negative_number.yml",
            "collectors:\n  indexes:\n    max_indexes: -5\n".into(),
            3,
            "collectors.indexes.max_indexes",
        ),
        (
            "unknown_key.yml",
            "collectors:\n  locks:\n    intervall: 1s\n".into(),
            3,
            "intervall",
        ),
        (
            "syntax.yml",
            "collectors:\n  locks:\n    interval: 1s\n   tables: {}\n".into(),
            4,
            "did not find expected",
        ),
        (
            "unclosed_quote.yml",
            "log:\n  level: \"info\n".into(),
            2,
            "log.level: found unexpected end of stream",
        ),
        (
            "duplicate_key.yml",
            "log:\n  level: info\n  level: debug\n".into(),
            3,
            "log.level: given twice (first on line 2)",
        ),
        (
            "tab_indent.yml",
            "collectors:\n\tlocks: {}\n".into(),
            2,
            "tab",
        ),
        // Refused at the first alias, without expanding: the line is where
        // the aliased node was anchored, the key is where it was used.
        (
            "alias_bomb.yml",
            bomb,
            2,
            "expected_error_codes.l1[0]: invalid type: sequence",
        ),
        ("deep.yml", deep, 1, "nesting deeper than 32 levels"),
    ];
    for (name, content, line, key) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        let (code, err) = check_config(&p);
        assert_eq!(code, Some(2), "{name} was accepted: {err}");
        assert!(
            err.contains(&format!("{}:{line}:", p.display())),
            "{name}: no file:line {line} in {err}"
        );
        assert!(
            err.to_lowercase().contains(&key.to_lowercase()),
            "{name}: {err} does not name {key}"
        );
    }

    // Not UTF-8: the line of the first bad byte.
    let p = dir.join("latin1.yml");
    std::fs::write(&p, b"log:\n  level: info\n# caf\xe9\n").unwrap();
    let (code, err) = check_config(&p);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("{}:3:", p.display())), "{err}");
    assert!(err.contains("UTF-8"), "{err}");

    // Huge: refused before parsing, whatever it holds.
    let p = dir.join("huge.yml");
    let mut big = String::from("collectors:\n");
    while big.len() <= 5 << 20 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&p, big).unwrap();
    let (code, err) = check_config(&p);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&p.display().to_string()) && err.contains("larger than"),
        "{err}"
    );

    // `{}` is the way to ask for every default.
    let p = dir.join("defaults.yml");
    std::fs::write(&p, "{}\n").unwrap();
    let (code, err) = check_config(&p);
    assert_eq!(code, Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `expected_error_codes` are typed at load: a SQLSTATE (YAML numbers read
/// back as five digits) or an application code. A code that is neither
/// would never match the app's errors and would turn every expected error
/// into an "unknown" one (the rollback rule's trigger), so it is refused
/// with file, line and key.
#[test]
fn expected_error_codes_that_are_neither_sqlstate_nor_app_code_are_refused() {
    let dir = tempfile_dir();
    let bad = [
        (
            "lower_case.yml",
            "\"42p10\"",
            "\"42p10\" is neither a SQLSTATE",
        ),
        (
            "space.yml",
            "\"23 505\"",
            "\"23 505\" is neither a SQLSTATE",
        ),
        ("empty_code.yml", "\"\"", "\"\" is neither a SQLSTATE"),
        ("six_digits.yml", "123456", "123456 is not a SQLSTATE"),
        ("float.yml", "1.5", "quote the SQLSTATE"),
        ("list.yml", "[42P10]", "invalid type: sequence"),
    ];
    for (name, code, msg) in bad {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!("expected_error_codes:\n  import:\n    - 40P01\n    - {code}\n"),
        )
        .unwrap();
        let (rc, err) = check_config(&p);
        assert_eq!(rc, Some(2), "{name} was accepted: {err}");
        assert!(
            err.contains(&format!(
                "{}:4: expected_error_codes.import[1]: ",
                p.display()
            )),
            "{name}: no file:line:key in {err}"
        );
        assert!(err.contains(msg), "{name}: {err} does not say {msg}");
    }

    // SQLSTATEs, quoted or read as numbers (01000 keeps its zero), and the
    // app's own codes are accepted and listed as written.
    let p = dir.join("good.yml");
    std::fs::write(
        &p,
        "expected_error_codes:\n  import: [42P10, 23505, 01000, \"22E01\"]\n  sync: [completed_with_errors, E-TIMEOUT.2]\n",
    )
    .unwrap();
    let out = Command::new(EXPORTER)
        .args(["--check-config", "--config.file"])
        .arg(&p)
        .env("PGMIG_DATABASE_URL", "postgres://x@127.0.0.1/x")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("expected error codes of import: 42P10, 23505, 01000, 22E01"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expected error codes of sync: completed_with_errors, E-TIMEOUT.2"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
