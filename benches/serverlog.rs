//! Throughput of the server-log follower: lines per second it reads, parses
//! and counts on one core, for jsonlog, csvlog and stderr files.
//!
//! `cargo bench --bench serverlog` writes a synthetic log of each format
//! (realistic entries as PostgreSQL 15 writes them: one in ten an ERROR or
//! FATAL with a SQLSTATE, the rest LOG lines; some csvlog entries span lines)
//! to a temp dir, then times `Follower::poll` + `Counts::add` reading it
//! from the start, as after a rotation. Set PGMIG_BENCH_LINES to change the
//! number of lines (default 2,000,000).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pg_migration_exporter::serverlog::{Counts, FileFormat, Follower, Options, Prefix};

const CODES: [&str; 6] = ["23505", "42P01", "42P10", "40P01", "57014", "53300"];
const USERS: [&str; 3] = ["app", "postgres", "migrator"];
const DBS: [&str; 3] = ["orders", "postgres", "analytics"];

fn json_line(i: usize, out: &mut String) {
    use std::fmt::Write as _;
    let (u, d) = (USERS[i % 3], DBS[i / 3 % 3]);
    if i.is_multiple_of(10) {
        let code = CODES[i / 10 % CODES.len()];
        let _ = writeln!(
            out,
            r#"{{"timestamp":"2026-11-22 03:59:12.050 UTC","user":"{u}","dbname":"{d}","pid":{pid},"remote_host":"10.0.0.7","remote_port":51234,"session_id":"6b026890.7cd0","line_num":{i},"ps":"INSERT","session_start":"2026-11-22 03:59:12 UTC","vxid":"3/6","txid":726,"error_severity":"ERROR","state_code":"{code}","message":"duplicate key value violates unique constraint \"organizations_name_key\"","detail":"Key (name)=(acme {i}) already exists.","statement":"INSERT INTO organizations (name, type) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING","application_name":"import-worker","backend_type":"client backend","query_id":0}}"#,
            pid = 1000 + i % 50
        );
    } else {
        let _ = writeln!(
            out,
            r#"{{"timestamp":"2026-11-22 03:59:12.050 UTC","user":"{u}","dbname":"{d}","pid":{pid},"remote_host":"10.0.0.7","remote_port":51234,"session_id":"6b026890.7cd0","line_num":{i},"ps":"SELECT","session_start":"2026-11-22 03:59:12 UTC","vxid":"3/6","txid":0,"error_severity":"LOG","message":"duration: 0.{i} ms  statement: SELECT id, name FROM organizations WHERE id = {i}","application_name":"api","backend_type":"client backend","query_id":0}}"#,
            pid = 1000 + i % 50
        );
    }
}

fn csv_line(i: usize, out: &mut String) {
    use std::fmt::Write as _;
    let (u, d) = (USERS[i % 3], DBS[i / 3 % 3]);
    if i.is_multiple_of(10) {
        let code = CODES[i / 10 % CODES.len()];
        let _ = writeln!(
            out,
            "2026-11-22 03:59:12.050 UTC,\"{u}\",\"{d}\",{pid},\"10.0.0.7:51234\",6b026890.7cd0,{i},\"INSERT\",2026-11-22 03:59:12 UTC,3/6,726,ERROR,{code},\"duplicate key value violates unique constraint \"\"organizations_name_key\"\"\",\"Key (name)=(acme {i}) already exists.\",,,,,\"INSERT INTO organizations (name, type)\nVALUES ($1, $2)\nON CONFLICT (name) DO NOTHING\",,,\"import-worker\",\"client backend\",,0",
            pid = 1000 + i % 50
        );
    } else {
        let _ = writeln!(
            out,
            "2026-11-22 03:59:12.050 UTC,\"{u}\",\"{d}\",{pid},\"10.0.0.7:51234\",6b026890.7cd0,{i},\"SELECT\",2026-11-22 03:59:12 UTC,3/6,0,LOG,00000,\"duration: 0.{i} ms  statement: SELECT id, name FROM organizations WHERE id = {i}\",,,,,,,,,\"api\",\"client backend\",,0",
            pid = 1000 + i % 50
        );
    }
}

const PREFIX: &str = "%m [%p] %e %q%u@%d ";

fn stderr_line(i: usize, out: &mut String) {
    use std::fmt::Write as _;
    let (u, d) = (USERS[i % 3], DBS[i / 3 % 3]);
    let pid = 1000 + i % 50;
    if i.is_multiple_of(10) {
        let code = CODES[i / 10 % CODES.len()];
        let _ = writeln!(
            out,
            "2026-11-22 03:59:12.050 UTC [{pid}] {code} {u}@{d} ERROR:  duplicate key value violates unique constraint \"organizations_name_key\""
        );
        let _ = writeln!(
            out,
            "2026-11-22 03:59:12.050 UTC [{pid}] {code} {u}@{d} STATEMENT:  INSERT INTO organizations (name, type)\n\tVALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        );
    } else {
        let _ = writeln!(
            out,
            "2026-11-22 03:59:12.050 UTC [{pid}] 00000 {u}@{d} LOG:  duration: 0.{i} ms  statement: SELECT id, name FROM organizations WHERE id = {i}"
        );
    }
}

/// Writes `lines` entries to `path`; returns the file's size.
fn write_file(path: &Path, lines: usize, line: fn(usize, &mut String)) -> u64 {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut s = String::new();
    for i in 0..lines {
        line(i, &mut s);
        if s.len() > 1 << 20 {
            f.write_all(s.as_bytes()).unwrap();
            s.clear();
        }
    }
    f.write_all(s.as_bytes()).unwrap();
    f.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn run(name: &str, format: FileFormat, lines: usize, line: fn(usize, &mut String)) {
    let root: PathBuf = std::env::temp_dir().join(format!("pgmig-bench-{}", std::process::id()));
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let staged = root.join(format!("staged{}", format.suffix()));
    let bytes = write_file(&staged, lines, line);
    let mut follower = Follower::new(Options {
        directory: dir.clone(),
        pattern: None,
        formats: vec![format],
        prefix: (format == FileFormat::Stderr).then(|| Prefix::parse(PREFIX).unwrap()),
    });
    let mut counts = Counts::new(&[], &[], 50, 500);
    // Start-up on an empty directory, then the file appears: read from its start.
    follower.poll(u64::MAX, &mut |e| counts.add(e)).unwrap();
    std::fs::rename(&staged, dir.join(format!("postgresql{}", format.suffix()))).unwrap();
    let mut errors = 0u64;
    let t = Instant::now();
    while !follower
        .poll(u64::MAX, &mut |e| {
            errors += 1;
            counts.add(e)
        })
        .unwrap()
    {}
    let secs = t.elapsed().as_secs_f64();
    let s = &follower.stats;
    assert_eq!(s.unparsed, 0, "{name}: unparsed lines");
    assert_eq!(
        s.lines as usize,
        lines
            + if format == FileFormat::Stderr {
                lines / 10
            } else {
                0
            }
    );
    assert_eq!(errors as usize, lines.div_ceil(10));
    println!(
        "{name:8} {lines:>9} entries {:>7.1} MB in {secs:>6.3} s: {:>12.0} lines/s {:>8.1} MB/s ({} error series)",
        bytes as f64 / 1e6,
        s.lines as f64 / secs,
        bytes as f64 / 1e6 / secs,
        counts.series()
    );
    let _ = std::fs::remove_dir_all(&root);
}

fn main() {
    // `cargo test --benches` runs this too, with --bench absent: keep it short then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let lines: usize = std::env::var("PGMIG_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20_000 } else { 2_000_000 });
    run("jsonlog", FileFormat::Json, lines, json_line);
    run("csvlog", FileFormat::Csv, lines, csv_line);
    run("stderr", FileFormat::Stderr, lines, stderr_line);
}
