//! The binary: parse flags, load settings, start logging, run.

use std::process::ExitCode;

use clap::Parser;
use pg_migration_exporter::cli::{describe, Flags};
use pg_migration_exporter::config::Settings;

fn main() -> ExitCode {
    let flags = Flags::parse();
    let settings = match Settings::load(&flags.values()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pg_migration_exporter: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if flags.check_config {
        print!("{}", describe(&settings));
        return ExitCode::SUCCESS;
    }
    pg_migration_exporter::logging::init(&settings.log_level, settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pg_migration_exporter: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pg_migration_exporter::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve");
            ExitCode::FAILURE
        }
    }
}
