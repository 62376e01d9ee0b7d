//! Issue 20, must show: `scripts/demo` runs the real stack (PostgreSQL, this
//! exporter, Prometheus with the shipped rules, Alertmanager with the shipped
//! routes, a webhook receiver) and its timeline shows no page on the healthy
//! migration and a decision delivered by Alertmanager on each failing one:
//! `cancel_ddl` for the DDL stuck in the lock queue, `rollback_now` for the
//! failed unique index. About 3 minutes of wall clock at `--duration 30`: the
//! shipped rules hold an invalid index for two minutes before they page.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_demo_pages_the_failing_migrations_through_alertmanager_and_not_the_healthy_one() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/demo"))
        .args([
            "--duration",
            "30",
            "--exporter",
            env!("CARGO_BIN_EXE_pg_migration_exporter"),
        ])
        .current_dir(&root)
        .output()
        .expect("running scripts/demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/demo failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let line = |needle: &str| stdout.lines().position(|l| l.contains(needle));
    let quiet = line("healthy migration: no page")
        .unwrap_or_else(|| panic!("no quiet healthy path:\n{stdout}"));
    let failing = line("migration started: replay/demo/failing.sql")
        .unwrap_or_else(|| panic!("the failing migration never started:\n{stdout}"));
    // The decision as the webhook receiver got it from Alertmanager, after
    // the failing migration started, with its summary and runbook.
    let page = line("ALERTMANAGER -> receiver")
        .unwrap_or_else(|| panic!("no notification from Alertmanager:\n{stdout}"));
    assert!(quiet < failing && failing < page, "out of order:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    // cancel_ddl is a page: the shipped routes send it to the pager.
    assert!(
        lines[page].contains("DECISION cancel_ddl")
            && lines[page].contains("receiver 'pager-rollback-now'"),
        "{}",
        lines[page]
    );
    assert!(
        lines[page..]
            .iter()
            .any(|l| l.contains("summary: ") && l.len() > 30),
        "no summary:\n{stdout}"
    );
    assert!(
        lines[page..].iter().any(|l| l.contains("runbook: https://")
            && l.contains("docs/runbooks.md#pgmigmigrationblockingtraffic")),
        "no runbook:\n{stdout}"
    );
    assert!(
        stdout.contains("statement 1 of 1: ALTER TABLE accounts ADD COLUMN note text"),
        "no statement from plan:\n{stdout}"
    );
    assert!(
        stdout.contains("lock queue on public.accounts"),
        "no lock queue:\n{stdout}"
    );
    // The rollback: after the failed index build, a rollback_now notification.
    let index = line("migration started: replay/demo/failing-index.sql")
        .unwrap_or_else(|| panic!("the failing index migration never started:\n{stdout}"));
    assert!(
        lines[index..]
            .iter()
            .any(|l| l.contains("ALERTMANAGER -> receiver") && l.contains("DECISION rollback_now")),
        "no rollback_now from Alertmanager:\n{stdout}"
    );
}
