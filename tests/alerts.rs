//! The alerting rules (alerts/), their runbooks (docs/runbooks.md) and their
//! documentation (docs/alerts.md) agree with each other and with the
//! exporter's metrics. No database needed.
//!
//! - every metric a rule uses is in the exporter's metric catalogue
//!   (src/catalogue.rs) and is documented in docs/metrics.md;
//! - every runbook_url points at a heading of docs/runbooks.md;
//! - names, labels and annotations follow the conventions in docs/alerts.md;
//! - every alert, severity and recording rule has a promtool test and a route
//!   case, and is documented;
//! - scripts/test-alerts (promtool check/test, amtool check-config, route and
//!   inhibition tests) passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use pg_migration_exporter::catalogue;
use serde_yaml_ng::Value;

/// The shipped base of every runbook_url: `runbook_url_base` of
/// alerts/config.yml (docs/alerts.md says how to change it).
const RUNBOOK_BASE: &str =
    "https://github.com/pg-migration-exporter/pg-migration-exporter/blob/main/docs/runbooks.md";

/// `runbook_url_base` as alerts/config.yml sets it.
fn runbook_base() -> String {
    let cfg = yaml("alerts/config.yml");
    str_of(&cfg, "runbook_url_base")
        .expect("alerts/config.yml: runbook_url_base")
        .to_string()
}

const RULE_FILES: [&str; 3] = [
    "alerts/pgmig-rules.yml",
    "alerts/pgmig-alerts.yml",
    "alerts/pgmig-serverlog-alerts.yml",
];

const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
const DECISIONS: [&str; 6] = [
    "rollback_now",
    "cancel_ddl",
    "investigate",
    "rollback_if_persists",
    "schedule_rollback",
    "watch",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    serde_yaml_ng::from_str(&read(rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn seq(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_sequence).map_or(&[], Vec::as_slice)
}

/// One rule of a rule file.
struct Rule {
    file: &'static str,
    /// `alert` or `record` name.
    name: String,
    is_alert: bool,
    expr: String,
    for_: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
                    };
                    (k.as_str().unwrap().to_string(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    for file in RULE_FILES {
        let doc = yaml(file);
        for group in seq(doc.get("groups")) {
            for r in seq(group.get("rules")) {
                let (name, is_alert) = match (str_of(r, "alert"), str_of(r, "record")) {
                    (Some(a), None) => (a.to_string(), true),
                    (None, Some(r)) => (r.to_string(), false),
                    _ => panic!("{file}: a rule needs exactly one of alert/record: {r:?}"),
                };
                out.push(Rule {
                    file,
                    name,
                    is_alert,
                    expr: str_of(r, "expr")
                        .unwrap_or_else(|| panic!("{file}: a rule without expr"))
                        .to_string(),
                    for_: str_of(r, "for").unwrap_or("0s").to_string(),
                    labels: string_map(r.get("labels")),
                    annotations: string_map(r.get("annotations")),
                });
            }
        }
    }
    assert!(out.len() > 20, "too few rules found: {}", out.len());
    out
}

/// PromQL identifiers (metric and recording-rule names, functions, labels)
/// outside string literals.
fn identifiers(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = expr.chars().peekable();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut BTreeSet<String>| {
        if !cur.is_empty() {
            out.insert(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                flush(&mut cur, &mut out);
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
            }
            '#' => {
                flush(&mut cur, &mut out);
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == ':' => {
                if cur.is_empty() && c.is_ascii_digit() {
                    // a number (or a duration such as 5m): skip it whole
                    while chars
                        .peek()
                        .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '.')
                    {
                        chars.next();
                    }
                } else {
                    cur.push(c);
                }
            }
            _ => flush(&mut cur, &mut out),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// `pgmig_*` metric names the rules read: recording-rule names (with ':')
/// left out. Annotation templates count too (their `query` strings).
fn metrics_used() -> BTreeMap<String, BTreeSet<String>> {
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rules() {
        let mut ids = identifiers(&r.expr);
        for a in r.annotations.values() {
            // template text: look inside the strings too
            ids.extend(identifiers(&a.replace(['"', '\'', '`'], " ")));
        }
        for id in ids {
            if id.starts_with("pgmig_") && !id.contains(':') {
                used.entry(id).or_default().insert(r.name.clone());
            }
        }
    }
    used
}

/// Resolves a used name against a set of families: the name itself, or a
/// histogram's _bucket/_sum/_count series.
fn family(name: &str, is_family: impl Fn(&str) -> Option<bool>) -> Option<&str> {
    if is_family(name).is_some() {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if is_family(base) == Some(true) {
                return Some(base);
            }
        }
    }
    None
}

#[test]
fn rule_metrics_are_in_the_catalogue() {
    // The exporter's metric catalogue (src/catalogue.rs): (name, is a histogram).
    let contract: BTreeMap<&str, bool> = catalogue::all()
        .map(|m| (m.name, m.kind == catalogue::Kind::Histogram))
        .collect();
    let used = metrics_used();
    assert!(used.len() > 30, "too few metrics found: {used:?}");
    let unknown: Vec<String> = used
        .iter()
        .filter(|(name, _)| family(name, |n| contract.get(n).copied()).is_none())
        .map(|(name, rules)| format!("{name} (used by {rules:?})"))
        .collect();
    assert!(
        unknown.is_empty(),
        "rules use metrics the exporter does not serve:\n  {}",
        unknown.join("\n  ")
    );
}

/// Fails until docs/metrics.md documents every metric of the contract that
/// the rules use (the exporter's new families are being added there).
#[test]
fn rule_metrics_are_documented_in_metrics_md() {
    let text = read("docs/metrics.md");
    let mut documented: BTreeMap<String, bool> = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `pgmig_")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_string();
        let histogram = cells.get(1).is_some_and(|t| *t == "histogram");
        documented.insert(name, histogram);
    }
    assert!(
        !documented.is_empty(),
        "no metric table rows in docs/metrics.md"
    );
    let missing: Vec<String> = metrics_used()
        .iter()
        .filter(|(name, _)| family(name, |n| documented.get(n).copied()).is_none())
        .map(|(name, rules)| format!("{name} (used by {rules:?})"))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics used by alerts/*.yml but missing from docs/metrics.md's tables:\n  {}",
        missing.join("\n  ")
    );
}

/// GitHub's heading anchors: lowercase, punctuation dropped, spaces to '-',
/// repeated headings suffixed -1, -2, ...
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let slug: String = text
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

#[test]
fn github_anchor_rules() {
    let a = anchors(
        "# Title\n## PgMigTargetDown\n## What it means?\n## Title\n```\n# not a heading\n```\n",
    );
    let want: BTreeSet<String> = ["title", "pgmigtargetdown", "what-it-means", "title-1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(a, want);
}

#[test]
fn every_runbook_url_points_at_a_heading_of_runbooks_md() {
    let headings = anchors(&read("docs/runbooks.md"));
    let base = runbook_base();
    assert_eq!(base, RUNBOOK_BASE, "the shipped runbook_url_base changed");
    let mut problems = Vec::new();
    for r in rules().iter().filter(|r| r.is_alert) {
        let Some(url) = r.annotations.get("runbook_url") else {
            problems.push(format!("{}: no runbook_url", r.name));
            continue;
        };
        let Some(anchor) = url
            .strip_prefix(base.as_str())
            .and_then(|rest| rest.strip_prefix('#'))
        else {
            problems.push(format!("{}: {url} does not start with {base}#", r.name));
            continue;
        };
        if !headings.contains(anchor) {
            problems.push(format!(
                "{}: #{anchor} is no heading of docs/runbooks.md",
                r.name
            ));
        }
        if anchor != r.name.to_lowercase() {
            problems.push(format!(
                "{}: points at #{anchor}, not its own section #{}",
                r.name,
                r.name.to_lowercase()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn is_camel_case(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

#[test]
fn alerts_follow_the_conventions() {
    let rules = rules();
    let mut problems = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for r in rules.iter().filter(|r| r.is_alert) {
        by_name.entry(&r.name).or_default().push(r);
        if r.file != "alerts/pgmig-alerts.yml" && r.file != "alerts/pgmig-serverlog-alerts.yml" {
            problems.push(format!(
                "{}: alerts belong in alerts/pgmig-alerts.yml",
                r.name
            ));
        }
        if !r.name.starts_with("PgMig") || !is_camel_case(&r.name) {
            problems.push(format!("{}: not CamelCase with the PgMig prefix", r.name));
        }
        // `preexisting: "true"` marks state older than the migration period
        // (never inhibits, see alerts/alertmanager.yml).
        let keys: BTreeSet<&str> = r
            .labels
            .keys()
            .map(String::as_str)
            .filter(|k| !(*k == "preexisting" && r.labels[*k] == "true"))
            .collect();
        if keys != BTreeSet::from(["decision", "severity"]) {
            problems.push(format!(
                "{}: labels must be severity, decision (and preexisting=\"true\"), not {keys:?}",
                r.name
            ));
        }
        match r.labels.get("severity") {
            Some(s) if SEVERITIES.contains(&s.as_str()) => {}
            s => problems.push(format!("{}: severity {s:?}", r.name)),
        }
        match r.labels.get("decision") {
            Some(d) if DECISIONS.contains(&d.as_str()) => {}
            d => problems.push(format!("{}: decision {d:?}", r.name)),
        }
        let keys: BTreeSet<&str> = r.annotations.keys().map(String::as_str).collect();
        if keys != BTreeSet::from(["description", "runbook_url", "summary"]) {
            problems.push(format!(
                "{}: annotations must be summary, description, runbook_url, not {keys:?}",
                r.name
            ));
        }
        if r.annotations
            .get("summary")
            .is_some_and(|s| s.contains("{{"))
        {
            problems.push(format!("{}: the summary must be fixed text", r.name));
        }
        let d = r.annotations.get("description").map_or("", String::as_str);
        // An alert on the exporter's own state (its reload) has no target:
        // its series carry only job and instance, and it names the instance.
        let about_exporter = r.expr.starts_with("pgmig_config_");
        if about_exporter && !d.contains("$labels.instance") {
            problems.push(format!(
                "{}: the description must name the instance",
                r.name
            ));
        }
        if !about_exporter && !d.contains("$labels.target") {
            problems.push(format!("{}: the description must name the target", r.name));
        }
        if !d.contains("$value") {
            problems.push(format!("{}: the description must give the value", r.name));
        }
        if r.labels.get("decision").map(String::as_str) == Some("rollback_now")
            && !["0s", "30s", "1m", "2m"].contains(&r.for_.as_str())
        {
            problems.push(format!(
                "{}: rollback_now needs no or a short `for`, not {}",
                r.name, r.for_
            ));
        }
    }
    // One name with several rules: one per severity, each with its own `for`
    // or threshold, all with the same decision (node-mixin style).
    for (name, rs) in &by_name {
        if rs.len() < 2 {
            continue;
        }
        let sev: BTreeSet<&str> = rs.iter().map(|r| r.labels["severity"].as_str()).collect();
        let dec: BTreeSet<&str> = rs.iter().map(|r| r.labels["decision"].as_str()).collect();
        if sev.len() != rs.len() || dec.len() != 1 {
            problems.push(format!(
                "{name}: its rules need distinct severities and one decision"
            ));
        }
        let variants: BTreeSet<(&str, &str)> = rs
            .iter()
            .map(|r| (r.for_.as_str(), r.expr.as_str()))
            .collect();
        if variants.len() != rs.len() {
            problems.push(format!("{name}: two severities with the same expr and for"));
        }
    }
    // Recording rules: level:metric:operations.
    for r in rules.iter().filter(|r| !r.is_alert) {
        if r.name.split(':').count() != 3 || r.name.split(':').any(str::is_empty) {
            problems.push(format!(
                "{}: recording rules are named level:metric:operations",
                r.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Prometheus keeps `expr` as a raw YAML node: a YAML alias there
/// (`expr: *x`) loads as the expression `x` and `promtool check rules`
/// accepts it. No anchors or aliases in the rule files.
#[test]
fn rule_files_use_no_yaml_aliases() {
    for file in RULE_FILES {
        for (i, line) in read(file).lines().enumerate() {
            let code = line.split(" #").next().unwrap();
            if code.trim_start().starts_with('#') {
                continue;
            }
            if let Some((_, value)) = code.split_once(": ") {
                let v = value.trim_start();
                assert!(
                    !(v.starts_with('&') || v.starts_with('*')),
                    "{file}:{}: YAML anchor/alias in a rule file: {line}",
                    i + 1
                );
            }
        }
    }
}

fn test_files() -> Vec<(String, Value)> {
    let dir = root().join("alerts/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap().display().to_string();
            let v = yaml(&rel);
            (rel, v)
        })
        .collect()
}

#[test]
fn every_alert_severity_and_recording_rule_has_a_promtool_test() {
    // (alertname, severity) pairs some test expects to fire, and the text of
    // every expected sample of the promql tests.
    let mut fired: BTreeSet<(String, String)> = BTreeSet::new();
    let mut quiet: BTreeSet<String> = BTreeSet::new();
    let mut samples = String::new();
    for (_, doc) in test_files() {
        for t in seq(doc.get("tests")) {
            for a in seq(t.get("alert_rule_test")) {
                let name = str_of(a, "alertname").unwrap().to_string();
                let exp = seq(a.get("exp_alerts"));
                if exp.is_empty() {
                    quiet.insert(name.clone());
                }
                for e in exp {
                    let sev = e
                        .get("exp_labels")
                        .and_then(|l| str_of(l, "severity"))
                        .unwrap_or("")
                        .to_string();
                    fired.insert((name.clone(), sev));
                }
            }
            for p in seq(t.get("promql_expr_test")) {
                samples.push_str(str_of(p, "expr").unwrap_or(""));
                samples.push('\n');
                for s in seq(p.get("exp_samples")) {
                    samples.push_str(str_of(s, "labels").unwrap_or(""));
                    samples.push('\n');
                }
            }
        }
    }
    let mut problems = Vec::new();
    for r in rules() {
        if r.is_alert {
            let sev = r.labels["severity"].clone();
            if !fired.contains(&(r.name.clone(), sev.clone())) {
                problems.push(format!("no test expects {} to fire at {sev}", r.name));
            }
            if !quiet.contains(&r.name) {
                problems.push(format!("no test shows {} not firing", r.name));
            }
        } else if !samples
            .lines()
            .any(|l| l.starts_with(&format!("{}{{", r.name)) || l == r.name)
        {
            problems.push(format!("no promql_expr_test checks a sample of {}", r.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_severity_and_decision_has_a_route_case() {
    let cases: Vec<BTreeSet<String>> = read("alerts/tests/routes.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().skip(1).map(String::from).collect())
        .collect();
    for r in rules().iter().filter(|r| r.is_alert) {
        let sev = format!("severity={}", r.labels["severity"]);
        let dec = format!("decision={}", r.labels["decision"]);
        assert!(
            cases.iter().any(|c| c.contains(&sev) && c.contains(&dec)),
            "{}: no route case in alerts/tests/routes.txt for {sev} {dec}",
            r.name
        );
    }
}

#[test]
fn docs_alerts_md_covers_every_rule() {
    let doc = read("docs/alerts.md");
    let missing: BTreeSet<String> = rules()
        .into_iter()
        .map(|r| r.name)
        .filter(|n| !doc.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/alerts.md does not mention: {missing:?}"
    );
    assert!(
        doc.contains(RUNBOOK_BASE),
        "docs/alerts.md must state the runbook base URL"
    );
}

#[test]
fn scripts_test_alerts_passes() {
    let script = root().join("scripts/test-alerts");
    assert!(Path::new(&script).exists());
    let out = Command::new(&script)
        .current_dir(root())
        .output()
        .expect("running scripts/test-alerts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/test-alerts failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "no summary line:\n{stdout}"
    );
}

/// Runs alerts/generate.py with `args`; panics with its output when it fails.
fn generate(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(root().join("alerts/generate.py"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("running python3 alerts/generate.py")
}

#[test]
fn rule_files_are_what_alerts_config_yml_generates() {
    let out = generate(&["--check"]);
    assert!(
        out.status.success(),
        "alerts/pgmig-*.yml differ from alerts/config.yml: run python3 alerts/generate.py\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every setting of alerts/config.yml reaches the rules (the job selector
/// into raw selectors, the cluster label into every by/on, the runbook base,
/// a threshold), the result loads in promtool, and the shipped config turns
/// it back into the shipped files exactly.
#[test]
fn alerts_config_settings_reach_every_rule_and_round_trip() {
    let dir = std::env::temp_dir().join(format!("pgmig-mixin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in RULE_FILES {
        std::fs::copy(root().join(f), dir.join(Path::new(f).file_name().unwrap())).unwrap();
    }
    let cfg = read("alerts/config.yml")
        .replace("job_selector: ''", "job_selector: job=\"pgmig\"")
        .replace("cluster_label: ''", "cluster_label: cluster")
        .replace(RUNBOOK_BASE, "https://wiki.example.com/runbooks")
        .replace(
            "  rollback_error_ratio: 0.25",
            "  rollback_error_ratio: 0.1",
        );
    std::fs::write(dir.join("mine.yml"), cfg).unwrap();
    let d = dir.display().to_string();
    let mine = dir.join("mine.yml").display().to_string();
    let out = generate(&["--config", &mine, "--rules", &d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = std::fs::read_to_string(dir.join("pgmig-alerts.yml")).unwrap();
    let rules = std::fs::read_to_string(dir.join("pgmig-rules.yml")).unwrap();
    assert!(alerts.contains("pgmig_migration_failed{job=\"pgmig\"} > 0"));
    assert!(alerts.contains(
        "pgmig_expected_object_present{job=\"pgmig\", expected=\"present\", kind!~\"rls|policy|partition\"} == 0"
    ));
    assert!(rules.contains(
        "max by (cluster, target) (max_over_time(pgmig_migration_window_open{job=\"pgmig\"}[1h]))"
    ));
    let code = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (f, text) in [("alerts", &alerts), ("rules", &rules)] {
        assert!(
            !code(text).contains("on (target") && !code(text).contains("by (target"),
            "{f}: a by/on (target ...) without the cluster label"
        );
    }
    assert!(alerts.contains("runbook_url: https://wiki.example.com/runbooks#pgmigmigrationfailed"));
    assert!(!alerts.contains(RUNBOOK_BASE));
    assert!(
        rules.contains("record: pgmig:threshold:rollback_error_ratio\n        expr: vector(0.1)")
    );
    // The recording rules' names and the annotations' prose stay as they are.
    assert!(rules.contains("record: target:pgmig_migration_window_open:max_over_time1h"));
    let check = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .args(RULE_FILES.map(|f| dir.join(Path::new(f).file_name().unwrap())))
        .output()
        .expect("promtool (scripts/install-deps installs it)");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let out = generate(&["--rules", &d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in RULE_FILES {
        let back = std::fs::read_to_string(dir.join(Path::new(f).file_name().unwrap())).unwrap();
        assert!(
            back == read(f),
            "{f}: the shipped config does not give the shipped file back"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn alerts_config_errors_name_the_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("pgmig-mixin-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        read("alerts/config.yml").replace(
            "  rollback_error_ratio: 0.25",
            "  rollback_error_ratio: lots",
        ),
    )
    .unwrap();
    let out = generate(&["--check", "--config", &bad.display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bad.yml:")
            && err.contains("thresholds.rollback_error_ratio: 'lots' is not a number"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
