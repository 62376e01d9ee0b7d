//! The metric catalogue (src/catalogue.rs and each collector's CATALOGUE),
//! docs/metrics.md, the collector registry and the code
//! must agree: docs/metrics.md is exactly what the catalogue generates,
//! every metric name in the source is catalogued, every catalogued metric
//! exists in the source, and a real scrape serves each family with the
//! catalogued type, labels and help.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::PgCluster;
use pg_migration_exporter::catalogue;

/// `PGMIG_UPDATE_DOCS=1 cargo test --test docs metrics_md` rewrites
/// docs/metrics.md from the catalogue; otherwise any difference fails.
#[test]
fn metrics_md_is_generated_from_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md");
    let generated = catalogue::metrics_md();
    if std::env::var_os("PGMIG_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    if on_disk != generated {
        let line = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                on_disk.lines().count().min(generated.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "docs/metrics.md differs from what the catalogue generates, first at line {line}:\n  on disk:   {:?}\n  generated: {:?}\nedit src/catalogue.rs (or the collector's CATALOGUE) and run PGMIG_UPDATE_DOCS=1 cargo test --test docs metrics_md",
            on_disk.lines().nth(line - 1).unwrap_or(""),
            generated.lines().nth(line - 1).unwrap_or("")
        );
    }
}

#[test]
fn the_catalogue_names_each_metric_once_and_follows_the_conventions() {
    let mut seen = BTreeSet::new();
    for m in catalogue::all() {
        assert!(seen.insert(m.name), "{} catalogued twice", m.name);
        // The standard process metrics keep their client-library names.
        assert!(
            m.name.starts_with("pgmig_")
                || (m.collector == "process" && m.name.starts_with("process_")),
            "{}",
            m.name
        );
        assert_eq!(
            m.kind == catalogue::Kind::Counter,
            m.name.ends_with("_total"),
            "{}: counters, and only counters, end in _total",
            m.name
        );
        assert!(!m.labels.contains(&"le"), "{}", m.name);
    }
    assert!(seen.len() > 100, "only {} metrics", seen.len());
}

/// The registry and the catalogue cover each other: each registered
/// collector brings a section whose metrics all name it, and no other
/// section claims a metric for a registered collector, so a collector added
/// to `COLLECTORS` cannot serve metrics the docs do not list under it.
#[test]
fn each_registered_collector_brings_its_catalogue_section_and_only_it_names_the_collector() {
    use pg_migration_exporter::collector::COLLECTORS;
    let names: BTreeSet<&str> = COLLECTORS.iter().map(|c| c.name).collect();
    assert_eq!(
        names.len(),
        COLLECTORS.len(),
        "a collector registered twice"
    );
    let mut own = BTreeSet::new();
    for c in COLLECTORS {
        assert!(
            !c.catalogue.metrics.is_empty(),
            "collector {} registers no metrics",
            c.name
        );
        assert!(
            c.catalogue.title.contains(&format!("`{}`", c.name)),
            "collector {}: its section is titled {:?}",
            c.name,
            c.catalogue.title
        );
        for m in c.catalogue.metrics {
            assert_eq!(
                m.collector, c.name,
                "{} in collector {}'s section",
                m.name, c.name
            );
            own.insert(m.name);
        }
    }
    for m in catalogue::all() {
        if names.contains(m.collector) {
            assert!(
                own.contains(m.name),
                "{} names collector {} but is not in its section",
                m.name,
                m.collector
            );
        }
    }
    // Every section appears once in the generated page.
    let titles: Vec<&str> = catalogue::sections().map(|s| s.title).collect();
    let unique: BTreeSet<&str> = titles.iter().copied().collect();
    assert_eq!(unique.len(), titles.len(), "{titles:?}");
}

/// The source without its `const ...: Section = Section { ... };` items.
fn without_catalogue_sections(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(": Section = Section {") {
        let item = rest[..at].rfind('\n').map_or(0, |i| i + 1);
        out.push_str(&rest[..item]);
        let end = rest[at..].find("\n};").expect("a section ends with `};`");
        rest = &rest[at + end + 3..];
    }
    out.push_str(rest);
    out
}

/// Every `"pgmig_..."` and `"process_..."` string literal in src/, leaving
/// out the catalogue (src/catalogue.rs and each collector's section).
fn names_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("catalogue.rs") {
                let full = std::fs::read_to_string(&p).unwrap();
                // Unit tests build made-up families; only the shipped code counts.
                let text = full.split("#[cfg(test)]").next().unwrap();
                // A collector's own catalogue section (`CATALOGUE` next to its
                // code) names its metrics but does not serve them.
                let text = &without_catalogue_sections(text);
                let quoted = text
                    .match_indices("\"pgmig_")
                    .chain(text.match_indices("\"process_"));
                for (i, _) in quoted {
                    let rest = &text[i + 1..];
                    let end = rest.find('"').unwrap();
                    let name = &rest[..end];
                    // A bare prefix ("pgmig_") is not a metric name.
                    if !name.ends_with('_')
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    {
                        out.insert(name.to_string());
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

#[test]
fn every_metric_in_the_source_is_catalogued_and_vice_versa() {
    let docs: BTreeSet<String> = catalogue::all().map(|m| m.name.to_string()).collect();
    let code = names_in_source();
    let undocumented: Vec<_> = code.difference(&docs).collect();
    let stale: Vec<_> = docs.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "in the code, missing from the catalogue (src/catalogue.rs or a collector's CATALOGUE): {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "in the catalogue, not in the code: {stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_scrape_serves_the_catalogued_types_labels_and_help() {
    let pg = PgCluster::start_new(common::scenario::SERVER_CONF);
    let db = "postgres";
    let setup = pg.connect(db).await;
    setup
        .batch_execute(common::scenario::SETUP_SQL)
        .await
        .unwrap();
    let _standby = PgCluster::start_standby_of(&pg);
    let exporter = common::scenario::start_exporter(&pg, db);
    let mut texts = Vec::new();
    common::scenario::play(&pg, db, &exporter, |text| texts.push(text)).await;

    let docs: BTreeMap<&str, &catalogue::Metric> = catalogue::all().map(|m| (m.name, m)).collect();
    let mut seen_types: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_help: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for text in &texts {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                seen_types.insert(name.to_string(), kind.to_string());
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                let help = help.replace("\\n", "\n").replace("\\\\", "\\");
                seen_help.insert(name.to_string(), help);
            }
        }
        for s in common::Metrics::parse(text).samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suf| {
                    s.name
                        .strip_suffix(suf)
                        .filter(|f| seen_types.get(*f).map(String::as_str) == Some("histogram"))
                })
                .unwrap_or(&s.name)
                .to_string();
            let labels = seen_labels.entry(family).or_default();
            labels.extend(s.labels.keys().filter(|k| *k != "le").cloned());
        }
    }
    for (name, kind) in &seen_types {
        let doc = docs
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name} is served but not catalogued"));
        assert_eq!(
            doc.kind.as_str(),
            kind,
            "{name}: catalogued type {} but served {kind}",
            doc.kind.as_str()
        );
        let labels: BTreeSet<String> = doc.labels.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            &labels, &seen_labels[name],
            "{name}: catalogued labels differ from served ones"
        );
        if let Some(help) = doc.help {
            assert_eq!(
                Some(help),
                seen_help.get(name).map(String::as_str),
                "{name}: catalogued help differs from the served HELP"
            );
        }
    }
    // pg_stat_wal exists from 14 on.
    let v: i32 = pg
        .connect(db)
        .await
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    let only_14: &[&str] = &[
        "pgmig_wal_bytes_total",
        "pgmig_wal_fpi_total",
        "pgmig_wal_records_total",
    ];
    let missing: Vec<_> = docs
        .keys()
        .filter(|n| !seen_types.contains_key(**n))
        .filter(|n| v >= 140000 || !only_14.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogued but never served in the full scenario: {missing:?}"
    );
}

fn configuration_md() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"))
        .unwrap()
}

/// The rows of the first table after `heading`: cells, backticks removed.
fn table_after(md: &str, heading: &str) -> Vec<Vec<String>> {
    let rest = md
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("{heading} missing"))
        .1;
    rest.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().replace('`', ""))
                .collect()
        })
        .collect()
}

/// Every flag `--help` lists is in the flags table of docs/configuration.md
/// and every flag there exists; the per-collector flags are the table's
/// `--collector.<name>` rows, one per collector of the registry.
#[test]
fn every_flag_is_documented_and_every_documented_flag_exists() {
    let out = std::process::Command::new(common::EXPORTER)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    let names: Vec<&str> = pg_migration_exporter::collector::COLLECTORS
        .iter()
        .map(|s| s.name)
        .collect();
    // The flag lines: "      --name <VALUE>" or "  -h, --help".
    let served: BTreeSet<String> = help
        .lines()
        .map(|l| {
            l.trim_start()
                .trim_start_matches("-h, ")
                .trim_start_matches("-V, ")
        })
        .filter_map(|l| l.strip_prefix("--"))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .map(|w| {
            for (prefix, generic) in [
                ("no-collector.", "no-collector.<name>"),
                ("collector.", "collector.<name>"),
            ] {
                if w.strip_prefix(prefix).is_some_and(|n| names.contains(&n)) {
                    return generic.to_string();
                }
            }
            w
        })
        .map(|w| format!("--{w}"))
        .collect();
    let documented: BTreeSet<String> = table_after(&configuration_md(), "## Flags")
        .iter()
        .flat_map(|row| row[0].split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        served, documented,
        "--help vs docs/configuration.md ## Flags"
    );
}

/// docs/configuration.md's collectors table is the registry: each
/// collector's name, default, lane and description.
#[test]
fn the_collectors_table_equals_the_registry() {
    let defaults = pg_migration_exporter::config::CollectorSettings::default();
    let want: Vec<Vec<String>> = pg_migration_exporter::collector::COLLECTORS
        .iter()
        .map(|s| {
            let on = defaults.clone().schedule_mut(s.name).unwrap().enabled;
            vec![
                s.name.to_string(),
                if on { "enabled" } else { "disabled" }.to_string(),
                format!("{:?}", s.lane).to_lowercase(),
                s.about.to_string(),
            ]
        })
        .collect();
    assert_eq!(table_after(&configuration_md(), "## Collectors"), want);
}
