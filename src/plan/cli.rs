//! The `plan` subcommand's arguments and its run: print the plan, exit 0
//! without hazards, 1 with hazards, 2 on error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{output, plan_paths, PlanOptions, Tool};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Migration tool whose file conventions and transaction rules apply
    /// (detected from the files when they fit exactly one).
    #[arg(long, value_name = "TOOL", value_parser = ["flyway", "golang-migrate", "sqlx", "goose", "dbmate", "prisma", "supabase", "diesel", "sql"])]
    pub tool: Option<String>,

    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,

    /// Version of a plain SQL file (with --tool sql).
    #[arg(long = "version", value_name = "VERSION")]
    pub sql_version: Option<String>,

    /// Migration files or directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &PlanArgs) -> ExitCode {
    let opts = PlanOptions {
        tool: args.tool.as_deref().and_then(Tool::parse),
        version: args.sql_version.clone(),
    };
    let ms = match plan_paths(&args.paths, &opts) {
        Ok(ms) => ms,
        Err(e) => {
            eprintln!("pg_migration_exporter plan: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.format == "json" {
        output::json(&ms)
    } else {
        output::text(&ms)
    };
    print!("{text}");
    if super::has_hazards(&ms) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
