//! `--collector.<name>`, `--no-collector.<name>` and
//! `--collector.disable-defaults`: one pair of flags per collector of the
//! registry, the flags winning over the config file, and against a real
//! PostgreSQL, a disabled collector's metrics and success series absent.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::{Exporter, Metrics, PgCluster, EXPORTER};
use pg_migration_exporter::catalogue;
use pg_migration_exporter::collector::COLLECTORS;

const T: Duration = Duration::from_secs(60);

/// `--check-config` with these arguments: each collector and whether it runs.
fn enabled(args: &[&str], config: Option<&str>) -> Vec<(String, bool)> {
    let mut cmd = Command::new(EXPORTER);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let dir = std::env::temp_dir().join(format!("pgmig-cflags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(text) = config {
        let p = dir.join(format!("{}.yml", text.len()));
        std::fs::write(&p, text).unwrap();
        cmd.arg("--config.file").arg(p);
    }
    let out = cmd
        .args(args)
        .arg("--check-config")
        .env("PGMIG_DATABASE_URL", "postgres://u@127.0.0.1:1/d")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {text}");
    let section = text
        .split_once("\ncollectors:\n")
        .expect("collectors section")
        .1;
    COLLECTORS
        .iter()
        .map(|s| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{}:", s.name)))
                .unwrap_or_else(|| panic!("{} not listed: {text}", s.name));
            (s.name.to_string(), !line.ends_with(": disabled"))
        })
        .collect()
}

fn names(v: &[(String, bool)], on: bool) -> BTreeSet<String> {
    v.iter()
        .filter(|(_, e)| *e == on)
        .map(|(n, _)| n.clone())
        .collect()
}

#[test]
fn each_collector_has_a_flag_pair_that_turns_it_alone_off_and_on() {
    let all: BTreeSet<String> = COLLECTORS.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names(&enabled(&[], None), true), all, "every default is on");
    for spec in COLLECTORS {
        let off = enabled(&[&format!("--no-collector.{}", spec.name)], None);
        let mut want = all.clone();
        want.remove(spec.name);
        assert_eq!(names(&off, true), want, "--no-collector.{}", spec.name);
        let only = enabled(
            &[
                "--collector.disable-defaults",
                &format!("--collector.{}", spec.name),
            ],
            None,
        );
        assert_eq!(
            names(&only, true),
            BTreeSet::from([spec.name.to_string()]),
            "--collector.disable-defaults --collector.{}",
            spec.name
        );
    }
}

#[test]
fn flags_win_over_the_file_and_the_last_flag_wins() {
    let file = "collectors:\n  activity: {enabled: false}\n  probe: {enabled: true}\n  locks: {enabled: true}\n";
    let v = enabled(
        &["--collector.activity", "--no-collector.probe"],
        Some(file),
    );
    let on = names(&v, true);
    assert!(on.contains("activity") && !on.contains("probe"), "{v:?}");
    // disable-defaults leaves what the file turns on explicitly.
    let v = enabled(&["--collector.disable-defaults"], Some(file));
    assert_eq!(
        names(&v, true),
        BTreeSet::from(["locks".to_string(), "probe".to_string()])
    );
    let v = enabled(&["--collector.locks", "--no-collector.locks"], None);
    assert!(!names(&v, true).contains("locks"));
    let v = enabled(&["--no-collector.locks", "--collector.locks"], None);
    assert!(names(&v, true).contains("locks"));
}

#[test]
fn help_lists_every_collector_flag() {
    let out = Command::new(EXPORTER).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--collector.disable-defaults"), "{help}");
    for spec in COLLECTORS {
        for flag in [
            format!("--collector.{}", spec.name),
            format!("--no-collector.{}", spec.name),
        ] {
            assert!(help.contains(&flag), "{flag} missing from --help");
        }
    }
    let out = Command::new(EXPORTER)
        .args(["--collector.nosuch", "--check-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The metric families a collector serves, by the catalogue.
fn families_of(collector: &str) -> Vec<&'static str> {
    catalogue::all()
        .filter(|m| m.collector == collector)
        .map(|m| m.name)
        .collect()
}

fn served(m: &Metrics, family: &str) -> bool {
    m.samples.iter().any(|s| {
        s.name == family
            || s.name
                .strip_prefix(family)
                .is_some_and(|r| ["_bucket", "_sum", "_count"].contains(&r))
    })
}

#[tokio::test]
async fn a_disabled_collector_serves_neither_its_metrics_nor_its_success() {
    let pg = PgCluster::shared();
    let db = pg.create_database("cflags_off").await;
    let e = Exporter::start(
        &["--no-collector.activity", "--no-collector.probe"],
        &[("PGMIG_DATABASE_URL", &pg.url(&db))],
    );
    let m = e.wait_for("locks and progress ran", T, |m| {
        let ok = |c| m.get("pgmig_collector_success", &[("collector", c)]) == Some(1.0);
        (ok("locks") && ok("progress")).then(|| Metrics::parse(&m.raw))
    });
    std::thread::sleep(Duration::from_secs(2));
    let m2 = e.metrics();
    for m in [&m, &m2] {
        for c in ["activity", "probe"] {
            assert!(
                m.find("pgmig_collector_success", &[("collector", c)])
                    .is_empty(),
                "{c}"
            );
            for f in families_of(c) {
                assert!(!served(m, f), "{f} of the disabled {c} collector is served");
            }
        }
    }
    assert!(
        !families_of("activity").is_empty() && !families_of("probe").is_empty(),
        "the catalogue names their families"
    );
    assert!(served(&m2, "pgmig_blocked_backends"), "locks still serves");
}

#[tokio::test]
async fn disable_defaults_and_collector_locks_serve_only_locks() {
    let pg = PgCluster::shared();
    let db = pg.create_database("cflags_only").await;
    let e = Exporter::start(
        &["--collector.disable-defaults", "--collector.locks"],
        &[("PGMIG_DATABASE_URL", &pg.url(&db))],
    );
    e.wait_for("locks ran", T, |m| {
        (m.get("pgmig_collector_success", &[("collector", "locks")]) == Some(1.0)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let m = e.metrics();
    let ran: BTreeSet<&str> = m
        .find("pgmig_collector_success", &[])
        .iter()
        .map(|s| s.labels["collector"].as_str())
        .collect();
    assert_eq!(ran, BTreeSet::from(["locks"]));
    for spec in COLLECTORS.iter().filter(|s| s.name != "locks") {
        for f in families_of(spec.name) {
            assert!(!served(&m, f), "{f} of {} is served", spec.name);
        }
    }
    assert!(served(&m, "pgmig_blocked_backends"), "{}", m.raw);
    assert_eq!(
        m.get("pgmig_up", &[]),
        Some(1.0),
        "pgmig_up needs no collector"
    );
}
