//! `plan` over a large migration directory: wall time to discover, read,
//! parse (libpg_query) and analyse 500 Flyway migrations of about 12
//! statements each (tables, indexes, ALTER TABLE forms, backfills, a
//! function body), the way `pg_migration_exporter plan DIR` does.
//!
//! `cargo bench --bench plan` writes the files to a temp dir, plans them
//! seven times and prints each run and the median. Set PGMIG_BENCH_FILES to
//! change the number of files (default 500).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use pg_migration_exporter::plan::{plan_paths, PlanOptions};

fn migration(i: usize) -> String {
    let mut s = String::new();
    let t = format!("t{i}");
    let _ = writeln!(s, "-- migration {i}\nSET lock_timeout = '2s';");
    let _ = writeln!(s, "CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, org_id bigint NOT NULL, name varchar(200), created_at timestamptz DEFAULT now());");
    let _ = writeln!(
        s,
        "CREATE INDEX {t}_org_idx ON {t} (org_id, created_at DESC) WHERE name IS NOT NULL;"
    );
    if i > 0 {
        let p = format!("t{}", i - 1);
        let _ = writeln!(s, "ALTER TABLE {p} ADD COLUMN note_{i} text;");
        let _ = writeln!(s, "ALTER TABLE {p} ADD CONSTRAINT {p}_org_fkey_{i} FOREIGN KEY (org_id) REFERENCES {t} (id) NOT VALID;");
        let _ = writeln!(s, "ALTER TABLE {p} VALIDATE CONSTRAINT {p}_org_fkey_{i};");
        let _ = writeln!(s, "ALTER TABLE {p} ALTER COLUMN name TYPE text;");
        let _ = writeln!(
            s,
            "UPDATE {p} SET note_{i} = 'x' WHERE id BETWEEN 1 AND 10000 AND note_{i} IS NULL;"
        );
        let _ = writeln!(s, "CREATE INDEX {p}_note_{i}_idx ON {p} (note_{i});");
        let _ = writeln!(s, "COMMENT ON TABLE {p} IS 'changed by migration {i}';");
    }
    let _ = writeln!(
        s,
        "CREATE OR REPLACE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.created_at := coalesce(NEW.created_at, now());\n  RETURN NEW;\nEND\n$$;"
    );
    let _ = writeln!(
        s,
        "CREATE TRIGGER {t}_touch BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_touch();"
    );
    let _ = writeln!(s, "GRANT SELECT, INSERT ON {t} TO app;");
    s
}

fn main() {
    let n: usize = std::env::var("PGMIG_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let dir = std::env::temp_dir().join(format!("pgmig-bench-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = 0;
    for i in 0..n {
        let text = migration(i);
        bytes += text.len();
        std::fs::write(dir.join(format!("V{}__step_{i}.sql", i + 1)), text).unwrap();
    }
    let paths: Vec<PathBuf> = vec![dir.clone()];
    let mut times = Vec::new();
    let mut statements = 0;
    let mut hazards = 0;
    for run in 0..7 {
        let t0 = Instant::now();
        let ms = plan_paths(&paths, &PlanOptions::default()).expect("plan");
        let dt = t0.elapsed().as_secs_f64();
        statements = ms.iter().map(|m| m.statements.len()).sum();
        hazards = ms
            .iter()
            .flat_map(|m| &m.statements)
            .map(|s| s.hazards.len())
            .sum();
        println!(
            "run {run}: {n} files, {statements} statements: {:.1} ms",
            dt * 1e3
        );
        times.push(dt);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "plan: {n} files ({:.1} MB), {statements} statements, {hazards} hazards: median {:.1} ms, min {:.1} ms, max {:.1} ms",
        bytes as f64 / 1e6,
        times[times.len() / 2] * 1e3,
        times[0] * 1e3,
        times[times.len() - 1] * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
