//! The `migrations` section: the team's migration directories, planned at
//! load (and on every reload, which loads the whole config again) with the
//! `plan` module. A file PostgreSQL's parser rejects does not fail the load:
//! it is kept as a [`FileError`] that `--check-config` reports (exit 2) and
//! the `migrations` collector serves as a metric, while the other files of
//! the directory are still planned and watched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::duration::PromDuration;
use crate::plan::{self, Migration, PlanError, PlanOptions};

/// One `migrations` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMigrations {
    /// A directory (or one file) of migrations; relative to the config file's directory.
    pub path: PathBuf,
    /// The tool whose file conventions apply (`plan --tool` names).
    pub tool: String,
    /// The tool whose schema-history table records them, when it is not the
    /// `tool` itself (required for `sql`; dbmate's table is read as rails').
    pub history: Option<String>,
    /// The version of a plain SQL file (`tool: sql` only).
    pub version: Option<String>,
    /// Only on these targets (by name); every target when empty.
    #[serde(default)]
    pub targets: Vec<String>,
    /// How long after a migration is recorded as applied before its
    /// expected objects are checked.
    pub grace: Option<PromDuration>,
    /// Hazard codes this team accepts: not reported as planned hazards.
    #[serde(default)]
    pub accept_hazards: Vec<String>,
}

/// How long after "applied" the derived expectations start being checked,
/// by default: the tool records the version in the same transaction as
/// (or right after) the DDL, so a short grace only covers the poll skew.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// A file of a set that could not be planned.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub file: String,
    /// 1-based; 0 when the error is not about a place in the file.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// One configured set of migrations, planned.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    /// The path as configured (the `path` label).
    pub path: String,
    pub tool: plan::Tool,
    /// The history table's tool, as the frameworks collector names it.
    pub history: String,
    pub targets: Vec<String>,
    pub grace: Duration,
    pub accept_hazards: Vec<String>,
    /// The migrations that planned, in the order the tool applies them.
    pub migrations: Vec<Migration>,
    /// The files that did not.
    pub errors: Vec<FileError>,
}

impl MigrationSet {
    pub fn applies_to(&self, target: &str) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t == target)
    }

    /// The migration a version names (`after: 2` finds `000002`).
    pub fn find(&self, version: &str) -> Option<usize> {
        self.migrations
            .iter()
            .position(|m| versions_equal(&m.version, version))
    }
}

/// Equal versions, also when only leading zeros differ (golang-migrate's
/// files say 000002, its table and people say 2).
pub fn versions_equal(a: &str, b: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    a == b || (digits(a) && digits(b) && a.trim_start_matches('0') == b.trim_start_matches('0'))
}

/// History tables the `migrations` collector reads, by the frameworks
/// collector's tool names.
pub const HISTORY_TOOLS: &[&str] = &[
    "flyway",
    "golang-migrate",
    "sqlx",
    "goose",
    "rails",
    "prisma",
    "supabase",
    "diesel",
    "django",
    "knex",
    "liquibase",
    "alembic",
];

/// The history table a file convention's tool writes.
fn default_history(tool: plan::Tool) -> Option<&'static str> {
    Some(match tool {
        plan::Tool::Flyway => "flyway",
        plan::Tool::GolangMigrate => "golang-migrate",
        plan::Tool::Sqlx => "sqlx",
        plan::Tool::Goose => "goose",
        // dbmate's schema_migrations(version) has Rails' shape.
        plan::Tool::Dbmate => "rails",
        plan::Tool::Prisma => "prisma",
        plan::Tool::Supabase => "supabase",
        plan::Tool::Diesel => "diesel",
        plan::Tool::Sql => return None,
    })
}

fn file_error(e: &PlanError) -> FileError {
    match e {
        PlanError::Parse {
            path,
            line,
            column,
            message,
        } => FileError {
            file: path.display().to_string(),
            line: *line,
            column: *column,
            message: message.clone(),
        },
        PlanError::Io { path, .. }
        | PlanError::TooLarge { path, .. }
        | PlanError::Convention { path, .. } => FileError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: e
                .to_string()
                .trim_start_matches(&format!("{}: ", path.display()))
                .to_string(),
        },
        PlanError::Usage(m) => FileError {
            file: String::new(),
            line: 0,
            column: 0,
            message: m.clone(),
        },
    }
}

impl FileMigrations {
    /// Checks the entry (`key` is `migrations[i]`) and plans its files.
    /// Errors in the entry itself (an unknown tool, a target that does not
    /// exist) fail the load; errors in the files are kept in the set.
    pub fn resolve(
        &self,
        key: &str,
        config_dir: &Path,
        target_names: &[String],
    ) -> Result<MigrationSet, (String, String)> {
        let tool = plan::Tool::parse(&self.tool).ok_or_else(|| {
            (
                format!("{key}.tool"),
                format!(
                    "{:?} is not one of {}",
                    self.tool,
                    plan::tools::TOOLS.map(|t| t.as_str()).join(", ")
                ),
            )
        })?;
        let history = match (&self.history, default_history(tool)) {
            (Some(h), _) if HISTORY_TOOLS.contains(&h.as_str()) => h.clone(),
            (Some(h), _) => {
                return Err((
                    format!("{key}.history"),
                    format!("{h:?} is not one of {}", HISTORY_TOOLS.join(", ")),
                ))
            }
            (None, Some(h)) => h.to_string(),
            (None, None) => {
                return Err((
                    format!("{key}.history"),
                    "required with tool sql: the tool whose schema-history table records these migrations".into(),
                ))
            }
        };
        if let Some(t) = self.targets.iter().find(|t| !target_names.contains(t)) {
            return Err((
                format!("{key}.targets"),
                format!("no target is named {t:?}"),
            ));
        }
        if let Some(c) = self
            .accept_hazards
            .iter()
            .find(|c| !plan::hazards::CODES.iter().any(|k| k.code == c.as_str()))
        {
            return Err((
                format!("{key}.accept_hazards"),
                format!("{c:?} is not a hazard code (docs/plan.md lists them)"),
            ));
        }
        let full = if self.path.is_absolute() {
            self.path.clone()
        } else {
            config_dir.join(&self.path)
        };
        let opts = PlanOptions {
            tool: Some(tool),
            version: self.version.clone(),
        };
        let (migrations, errors) = plan::plan_each(&[full], &opts);
        Ok(MigrationSet {
            path: self.path.display().to_string(),
            tool,
            history,
            targets: self.targets.clone(),
            grace: self.grace.map_or(DEFAULT_GRACE, |g| g.0),
            accept_hazards: self.accept_hazards.clone(),
            migrations,
            errors: errors.iter().map(file_error).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> FileMigrations {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn a_broken_file_is_kept_as_an_error_and_the_others_are_planned() {
        let dir = std::env::temp_dir().join(format!("pgmig-migcfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1_a.up.sql"), "CREATE TABLE a (id int);\n").unwrap();
        std::fs::write(
            dir.join("2_b.up.sql"),
            "CREATE TABLE b (id int);\nALTER TABLE b ADD;\n",
        )
        .unwrap();
        let set = entry(&format!("path: {}\ntool: golang-migrate", dir.display()))
            .resolve("migrations[0]", Path::new("/"), &[])
            .unwrap();
        assert_eq!(set.migrations.len(), 1);
        assert_eq!(set.migrations[0].version, "1");
        assert_eq!(set.errors.len(), 1, "{:?}", set.errors);
        let e = set.errors[0].to_string();
        assert!(e.contains("2_b.up.sql:2:"), "{e}");
        assert_eq!(set.history, "golang-migrate");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entry_errors_name_the_key() {
        let e = entry("path: x\ntool: liquid")
            .resolve("migrations[0]", Path::new("/"), &[])
            .unwrap_err();
        assert_eq!(e.0, "migrations[0].tool");
        let e = entry("path: x\ntool: sql\nversion: '1'")
            .resolve("migrations[1]", Path::new("/"), &[])
            .unwrap_err();
        assert_eq!(e.0, "migrations[1].history");
        let e = entry("path: x\ntool: flyway\ntargets: [nope]")
            .resolve("migrations[2]", Path::new("/"), &["a".into()])
            .unwrap_err();
        assert!(e.1.contains("nope"), "{e:?}");
        let e = entry("path: x\ntool: flyway\naccept_hazards: [drop-it]")
            .resolve("migrations[3]", Path::new("/"), &[])
            .unwrap_err();
        assert_eq!(e.0, "migrations[3].accept_hazards");
    }
}
