//! Issue 16, must show: the replay library (`scripts/replay`) is green. Every
//! scenario of replay/scenarios/ is played against a real PostgreSQL with real
//! traffic, the exporter built by this cargo run, the shipped rules in a real
//! Prometheus and the shipped routing in a real Alertmanager; the script
//! exits non-zero when any scenario's notifications differ from what it
//! states (a missing decision, one too late, or one it does not allow).
//! About 7 minutes of wall clock: the scenarios run side by side.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_replay_library_reaches_every_stated_decision_and_no_other() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let decisions = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("decisions.md");
    let out = Command::new(root.join("scripts/replay"))
        .args([
            "--exporter",
            env!("CARGO_BIN_EXE_pg_migration_exporter"),
            "--decisions",
            decisions.to_str().unwrap(),
        ])
        .current_dir(&root)
        .output()
        .expect("running scripts/replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let table = std::fs::read_to_string(&decisions).unwrap_or_default();
    assert!(
        out.status.success(),
        "scripts/replay failed ({}):\n{stdout}\n{stderr}\n{table}",
        out.status
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "no summary line:\n{stdout}"
    );
    let scenarios = table.lines().filter(|l| l.starts_with("| `")).count();
    assert!(scenarios >= 24, "only {scenarios} scenarios ran:\n{table}");
}
