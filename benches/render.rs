//! Hot paths that need no database: rendering a snapshot of 75,000 series
//! (text, OpenMetrics, and gzip as /metrics does it) and turning lock rows
//! into the chain analysis. Run with `cargo bench --bench render`; prints
//! median and p90 over repeated runs. Speed is measured here, never asserted
//! in tests.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use pg_migration_exporter::collector::locks::{analyse, LockRow};
use pg_migration_exporter::exposition::{encode, Family, Format, Rendered};
use pg_migration_exporter::selfmetrics::SelfMetrics;

fn measure(name: &str, runs: usize, mut f: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = black_box(f());
        times.push(t.elapsed());
    }
    times.sort();
    let med = times[runs / 2];
    let p90 = times[runs * 9 / 10];
    println!(
        "{name:<44} median {:>9.3} ms   p90 {:>9.3} ms   ({size} bytes)",
        med.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3
    );
}

/// 75,000 series shaped like per-index and per-table statistics.
fn families() -> Vec<Rendered> {
    let mut out = Vec::new();
    let names = [
        ("pgmig_index_scans_total", true),
        ("pgmig_index_tuples_read_total", true),
        ("pgmig_index_tuples_fetched_total", true),
        ("pgmig_index_size_bytes", false),
        ("pgmig_index_valid", false),
    ];
    for (name, counter) in names {
        let base = [("target", "primary"), ("datname", "app")];
        let mut f = if counter {
            Family::counter(name, "Bench.", &base)
        } else {
            Family::gauge(name, "Bench.", &base)
        };
        for i in 0..15_000 {
            let schema = format!("s{}", i % 4);
            let table = format!("t{}", i / 3);
            let index = format!("t{}_idx_{}", i / 3, i % 3);
            f.add(
                &[("schema", &schema), ("table", &table), ("index", &index)],
                i as f64 * 3.5,
            );
        }
        out.push(f.finish());
    }
    out
}

fn lock_rows(n: i32) -> Vec<LockRow> {
    let mut rows = vec![LockRow {
        pid: 1,
        granted: true,
        locktype: "relation".into(),
        mode: "AccessExclusiveLock".into(),
        lock_datname: "app".into(),
        relation: "public.orders".into(),
        now: 100.0,
        ..Default::default()
    }];
    for p in 2..n + 2 {
        rows.push(LockRow {
            pid: p,
            granted: false,
            locktype: "relation".into(),
            mode: "AccessShareLock".into(),
            lock_datname: "app".into(),
            relation: "public.orders".into(),
            wait_start: 90.0,
            now: 100.0,
            blockers: Some(if p > 2 { vec![1, p - 1] } else { vec![1] }),
            ..Default::default()
        });
    }
    rows
}

/// The self-metrics of `targets` targets, each with every collector in
/// three databases, every histogram observed: what `/metrics` renders of
/// them at each scrape.
fn self_metrics(targets: usize) -> SelfMetrics {
    let m = SelfMetrics::new();
    for t in 0..targets {
        let target = format!("target{t}");
        m.up.with_label_values(&[&target]).set(1.0);
        m.connections.with_label_values(&[&target]).set(2.0);
        m.connect_errors.with_label_values(&[&target]).inc();
        m.server_version
            .with_label_values(&[&target])
            .set(150_000.0);
        m.lock_wait.with_label_values(&[&target]).observe(3.0);
        m.probe.with_label_values(&[&target]).observe(0.002);
        for c in pg_migration_exporter::collector::COLLECTORS {
            for db in ["app", "postgres", "reports"] {
                let l = [target.as_str(), c.name, db];
                m.collector_success.with_label_values(&l).set(1.0);
                m.collector_duration.with_label_values(&l).observe(0.004);
                m.collector_last_success.with_label_values(&l).set(1.7e9);
                m.collector_series_dropped.with_label_values(&l).set(0.0);
                m.collector_errors
                    .with_label_values(&[target.as_str(), c.name, db, "timeout"])
                    .inc();
            }
        }
    }
    m
}

fn main() {
    for targets in [1, 10] {
        let m = self_metrics(targets);
        let series: usize = m.families().iter().map(|f| f.len()).sum();
        measure(
            &format!("self-metrics rendered ({targets} target(s), {series} series)"),
            200,
            || m.families().len(),
        );
    }
    let fams = families();
    let series: usize = fams.iter().map(|f| f.len()).sum();
    println!("rendering {series} series");
    measure("encode text (75k series)", 30, || {
        encode(&fams, Format::Text).len()
    });
    measure("encode OpenMetrics (75k series)", 30, || {
        encode(&fams, Format::OpenMetrics).len()
    });
    measure("encode text + gzip fast (75k series)", 20, || {
        let body = encode(&fams, Format::Text);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(body.as_bytes()).unwrap();
        enc.finish().unwrap().len()
    });
    measure("build families (75k series)", 20, || families().len());
    let rows = lock_rows(200);
    measure("lock chain analysis (200 blocked in a chain)", 200, || {
        analyse(&rows).blocked.len()
    });
    let rows = lock_rows(1000);
    measure("lock chain analysis (1,000 blocked in a chain)", 50, || {
        analyse(&rows).blocked.len()
    });
}
