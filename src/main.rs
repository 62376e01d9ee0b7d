//! The binary: parse flags, load settings, start logging, run.

use std::process::ExitCode;

use pg_migration_exporter::cli::{describe, Command};
use pg_migration_exporter::config::Settings;

fn main() -> ExitCode {
    let flags = pg_migration_exporter::cli::parse();
    if let Some(Command::Plan(args)) = &flags.command {
        return pg_migration_exporter::plan::cli::run(args);
    }
    let settings = match Settings::load(&flags.values()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pg_migration_exporter: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if flags.check_config {
        // Unplannable migration files do not stop the exporter (it serves
        // them as pgmig_migration_file_parse_error), but they fail the check.
        let bad: Vec<String> = settings
            .migrations
            .iter()
            .flat_map(|m| {
                m.errors
                    .iter()
                    .map(|e| format!("migrations {}: {e}", m.path))
            })
            .collect();
        if !bad.is_empty() {
            for b in &bad {
                eprintln!("pg_migration_exporter: configuration error: {b}");
            }
            return ExitCode::from(2);
        }
        print!("{}", describe(&settings));
        return ExitCode::SUCCESS;
    }
    pg_migration_exporter::logging::init(&settings.log_level, settings.log_format);
    // One thread: the work is waiting on PostgreSQL and writing text, a few
    // milliseconds a second. A thread pool only added wake-ups across threads
    // and a malloc arena per thread (measured: more CPU, 2 MB more RSS).
    // Blocking file reads (the server-log follower) still go to tokio's
    // blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pg_migration_exporter: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pg_migration_exporter::run(settings, flags.values())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve");
            ExitCode::FAILURE
        }
    }
}
