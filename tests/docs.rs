//! docs/metrics.md and the code must agree: every metric name in the source
//! is documented, every documented metric exists in the source, and a real
//! scrape serves each family with the documented type and labels.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::PgCluster;

struct Doc {
    kind: String,
    labels: BTreeSet<String>,
}

fn documented() -> BTreeMap<String, Doc> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .unwrap();
    let mut out = BTreeMap::new();
    let rows = |l: &&str| l.starts_with("| `pgmig_") || l.starts_with("| `process_");
    for line in text.lines().filter(rows) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_string();
        let labels = cells[2]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        assert!(
            out.insert(
                name.clone(),
                Doc {
                    kind: cells[1].to_string(),
                    labels
                }
            )
            .is_none(),
            "{name} documented twice"
        );
    }
    out
}

/// Every `"pgmig_..."` and `"process_..."` string literal in src/.
fn names_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let full = std::fs::read_to_string(&p).unwrap();
                // Unit tests build made-up families; only the shipped code counts.
                let text = full.split("#[cfg(test)]").next().unwrap();
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
fn every_metric_in_the_source_is_documented_and_vice_versa() {
    let docs: BTreeSet<String> = documented().into_keys().collect();
    let code = names_in_source();
    let undocumented: Vec<_> = code.difference(&docs).collect();
    let stale: Vec<_> = docs.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "in the code, missing from docs/metrics.md: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "in docs/metrics.md, not in the code: {stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_scrape_serves_the_documented_types_and_labels() {
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

    let docs = documented();
    let mut seen_types: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for text in &texts {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                seen_types.insert(name.to_string(), kind.to_string());
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
            .get(name)
            .unwrap_or_else(|| panic!("{name} is served but not documented"));
        assert_eq!(
            &doc.kind, kind,
            "{name}: documented type {} but served {kind}",
            doc.kind
        );
        assert_eq!(
            &doc.labels, &seen_labels[name],
            "{name}: documented labels differ from served ones"
        );
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
        .filter(|n| !seen_types.contains_key(*n))
        .filter(|n| v >= 140000 || !only_14.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "documented but never served in the full scenario: {missing:?}"
    );
}
