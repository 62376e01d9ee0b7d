//! `--targets.shard=i/n`: n replicas with the same config and shards 0/n
//! to n-1/n watch every target exactly once, by a hash of the target's name
//! that does not change between builds; and a sharded exporter against a
//! real PostgreSQL polls its own targets only.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::{Exporter, PgCluster, EXPORTER};
use pg_migration_exporter::config::Shard;

fn config_with(names: &[String], dsn: &dyn Fn(&str) -> String) -> std::path::PathBuf {
    let mut text = String::from("targets:\n");
    for n in names {
        text.push_str(&format!("  - name: {n}\n    dsn: \"{}\"\n", dsn(n)));
    }
    let p = std::env::temp_dir().join(format!(
        "pgmig-shard-{}-{}.yml",
        std::process::id(),
        names.len()
    ));
    std::fs::write(&p, text).unwrap();
    p
}

/// The targets `--check-config` lists for a shard.
fn shard_targets(cfg: &std::path::Path, shard: &str) -> BTreeSet<String> {
    let out = Command::new(EXPORTER)
        .args(["--check-config", "--targets.shard", shard, "--config.file"])
        .arg(cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, rest) = text
        .split_once(&format!("targets of shard {shard} ("))
        .unwrap_or_else(|| panic!("{text}"));
    rest.lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("    "))
        .map(|l| l.trim().split_once(':').unwrap().0.to_string())
        .collect()
}

#[test]
fn n_shards_partition_the_targets() {
    let names: Vec<String> = (0..60).map(|i| format!("db-{i:03}")).collect();
    let cfg = config_with(&names, &|n| format!("postgres://u@127.0.0.1:1/{n}"));
    for n in [1u32, 2, 3, 7] {
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for i in 0..n {
            let got = shard_targets(&cfg, &format!("{i}/{n}"));
            assert!(
                n > 3 || !got.is_empty(),
                "shard {i}/{n} got nothing of 60 targets"
            );
            for t in &got {
                let sh = Shard::parse(&format!("{i}/{n}")).unwrap();
                assert!(sh.contains(t));
            }
            total += got.len();
            seen.extend(got);
        }
        assert_eq!(total, names.len(), "{n} shards: a target in two shards");
        assert_eq!(
            seen,
            names.iter().cloned().collect::<BTreeSet<_>>(),
            "{n} shards: a target in none"
        );
    }
}

#[test]
fn the_shard_of_a_name_is_fixed_and_bad_shards_are_refused() {
    // FNV-1a: replicas of different builds and versions must agree, so the
    // assignment is pinned here (a change would move targets on upgrade).
    assert_eq!(
        pg_migration_exporter::config::shard_hash("a"),
        0xaf63_dc4c_8601_ec8c
    );
    let in_of_4: Vec<u32> = ["primary", "billing", "analytics", "db-000"]
        .iter()
        .map(|n| {
            (0..4)
                .find(|i| {
                    Shard {
                        index: *i,
                        count: 4,
                    }
                    .contains(n)
                })
                .unwrap()
        })
        .collect();
    assert_eq!(in_of_4, [1, 0, 3, 2]);
    for bad in ["3/3", "1", "a/2", "0/0", "-1/2", "1/2/3"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
        let out = Command::new(EXPORTER)
            .args(["--check-config", "--targets.shard", bad])
            .env("PGMIG_DATABASE_URL", "postgres://u@h/d")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
    }
}

#[tokio::test]
async fn a_sharded_exporter_polls_only_its_targets() {
    let pg = PgCluster::shared();
    let db = pg.create_database("shard").await;
    let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let cfg = config_with(&names, &|_| pg.url(&db));
    let mine: BTreeSet<String> = names
        .iter()
        .filter(|n| Shard { index: 1, count: 2 }.contains(n))
        .cloned()
        .collect();
    assert!(!mine.is_empty() && mine.len() < names.len(), "{mine:?}");
    let e = Exporter::start(
        &[
            "--config.file",
            cfg.to_str().unwrap(),
            "--targets.shard",
            "1/2",
        ],
        &[],
    );
    let up = e.wait_for("the shard's targets up", Duration::from_secs(60), |m| {
        let up: BTreeSet<String> = m
            .find("pgmig_up", &[])
            .iter()
            .filter(|s| s.value == 1.0)
            .map(|s| s.labels["target"].clone())
            .collect();
        (up.len() == mine.len()).then_some(up)
    });
    assert_eq!(up, mine);
    let all: BTreeSet<String> = e
        .metrics()
        .samples
        .iter()
        .filter_map(|s| s.labels.get("target").cloned())
        .collect();
    assert_eq!(all, mine, "no series of another shard's target");
}
