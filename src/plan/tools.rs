//! Migration tools' file conventions: which files are migrations, their
//! version and name, the part of each file the tool runs ("up"), and
//! whether the tool runs it inside one transaction. docs/plan.md has the
//! rules per tool and where they come from.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::source::RawStatement;
use super::{PlanError, PlanOptions, MAX_FILES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Flyway,
    GolangMigrate,
    Sqlx,
    Goose,
    Dbmate,
    Prisma,
    Supabase,
    Diesel,
    Sql,
}

pub const TOOLS: [Tool; 9] = [
    Tool::Flyway,
    Tool::GolangMigrate,
    Tool::Sqlx,
    Tool::Goose,
    Tool::Dbmate,
    Tool::Prisma,
    Tool::Supabase,
    Tool::Diesel,
    Tool::Sql,
];

impl Tool {
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Flyway => "flyway",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Goose => "goose",
            Tool::Dbmate => "dbmate",
            Tool::Prisma => "prisma",
            Tool::Supabase => "supabase",
            Tool::Diesel => "diesel",
            Tool::Sql => "sql",
        }
    }

    pub fn parse(s: &str) -> Option<Tool> {
        TOOLS.into_iter().find(|t| t.as_str() == s)
    }
}

/// A migration file found under the given paths.
#[derive(Debug, Clone)]
pub struct Found {
    pub tool: Tool,
    pub version: String,
    pub name: String,
    pub file: PathBuf,
    /// The file's contents, read once under the size limit.
    pub text: String,
}

/// What a file is to one tool.
enum Role {
    /// A migration with this version and name.
    Up(String, String),
    /// The tool's own down/undo file or companion: not planned.
    Skip,
    /// Does not follow the convention.
    Foreign,
}

/// `<digits>_<name>` split; None when it does not start that way.
fn ver_name(s: &str) -> Option<(String, String)> {
    let (v, n) = s.split_once('_')?;
    let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty();
    ok.then(|| (v.to_string(), n.to_string()))
}

fn has_directive(text: &str, prefix: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().to_ascii_lowercase().starts_with(prefix))
}

fn role(tool: Tool, path: &Path, text: &str) -> Role {
    let file = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|s| s.to_str())
        .unwrap_or("");
    let up = |o: Option<(String, String)>| o.map_or(Role::Foreign, |(v, n)| Role::Up(v, n));
    match tool {
        Tool::Flyway => {
            if let Some(n) = file
                .strip_prefix("R__")
                .and_then(|r| r.strip_suffix(".sql"))
            {
                return Role::Up("R".into(), n.to_string());
            }
            if file.starts_with('U') && file.contains("__") {
                return Role::Skip;
            }
            let Some((v, n)) = file
                .strip_prefix('V')
                .and_then(|r| r.strip_suffix(".sql"))
                .and_then(|r| r.split_once("__"))
            else {
                return Role::Foreign;
            };
            let v = v.replace('_', ".");
            let ok = !v.is_empty()
                && v.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if ok {
                Role::Up(v, n.to_string())
            } else {
                Role::Foreign
            }
        }
        Tool::GolangMigrate => {
            if file.ends_with(".down.sql") {
                return Role::Skip;
            }
            up(file.strip_suffix(".up.sql").and_then(ver_name))
        }
        Tool::Sqlx | Tool::Goose | Tool::Dbmate | Tool::Supabase => {
            if file.ends_with(".down.sql") && tool == Tool::Sqlx {
                return Role::Skip;
            }
            let stem = file
                .strip_suffix(".up.sql")
                .filter(|_| tool == Tool::Sqlx)
                .or(file.strip_suffix(".sql"));
            let directive_ok = match tool {
                Tool::Goose => has_directive(text, "-- +goose up"),
                Tool::Dbmate => has_directive(text, "-- migrate:up"),
                _ => !has_directive(text, "-- +goose up") && !has_directive(text, "-- migrate:up"),
            };
            let path_ok = tool != Tool::Supabase || in_supabase_migrations(path);
            if directive_ok && path_ok {
                up(stem.and_then(ver_name))
            } else {
                Role::Foreign
            }
        }
        Tool::Prisma => match file {
            "migration.sql" => up(ver_name(parent)),
            _ => Role::Foreign,
        },
        Tool::Diesel => match file {
            "down.sql" => Role::Skip,
            // 2024-01-01-000000_name: the version is the timestamp's digits.
            "up.sql" => up(parent
                .split_once('_')
                .and_then(|(v, n)| ver_name(&format!("{}_{n}", v.replace('-', ""))))),
            _ => Role::Foreign,
        },
        Tool::Sql => Role::Foreign,
    }
}

fn in_supabase_migrations(path: &Path) -> bool {
    let mut it = path.parent().into_iter().flat_map(|p| p.components().rev());
    let a = it
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let b = it
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    a.as_deref() == Some("migrations") && b.as_deref() == Some("supabase")
}

/// Every `.sql` file under `paths` (directories walked, hidden entries
/// skipped), sorted per directory.
fn sql_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PlanError> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).map_err(|e| PlanError::Io {
            path: p.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&p)
                .and_then(|rd| rd.map(|e| e.map(|e| e.path())).collect())
                .map_err(|e| PlanError::Io {
                    path: p.clone(),
                    source: e,
                })?;
            entries.retain(|e| {
                !e.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            });
            entries.sort();
            stack.extend(entries.into_iter().rev());
        } else if p.extension().is_some_and(|e| e == "sql") || paths.contains(&p) {
            out.push(p);
            if out.len() > MAX_FILES {
                return Err(PlanError::Usage(format!(
                    "more than {MAX_FILES} migration files"
                )));
            }
        }
    }
    Ok(out)
}

/// Finds the migrations under `paths`, in the order the tool applies them.
pub fn discover(paths: &[PathBuf], opts: &PlanOptions) -> Result<Vec<Found>, PlanError> {
    if paths.is_empty() {
        return Err(PlanError::Usage("no PATH given".into()));
    }
    if opts.tool == Some(Tool::Sql) || opts.version.is_some() {
        return plain_sql(paths, opts);
    }
    let files = sql_files(paths)?;
    let texts: Vec<String> = files
        .iter()
        .map(|f| super::source::read_limited(f))
        .collect::<Result<_, _>>()?;
    let tool = match opts.tool {
        Some(t) => t,
        None => detect(&files, &texts)?,
    };
    let mut found = Vec::new();
    for (f, text) in files.iter().zip(texts) {
        match role(tool, f, &text) {
            Role::Up(version, name) => found.push(Found {
                tool,
                version,
                name,
                file: f.clone(),
                text,
            }),
            Role::Skip => {}
            Role::Foreign => {
                return Err(PlanError::Convention {
                    path: f.clone(),
                    message: format!(
                        "does not follow the {} convention ({})",
                        tool.as_str(),
                        convention(tool)
                    ),
                })
            }
        }
    }
    found.sort_by(|a, b| {
        version_key(&a.version)
            .cmp(&version_key(&b.version))
            .then(a.name.cmp(&b.name))
    });
    for w in found.windows(2) {
        if w[0].version == w[1].version && w[0].version != "R" {
            return Err(PlanError::Convention {
                path: w[1].file.clone(),
                message: format!(
                    "version {} is also used by {}",
                    w[1].version,
                    w[0].file.display()
                ),
            });
        }
    }
    Ok(found)
}

/// The convention in a few words, for errors.
pub fn convention(tool: Tool) -> &'static str {
    match tool {
        Tool::Flyway => "V<version>__<name>.sql, R__<name>.sql, U<version>__<name>.sql",
        Tool::GolangMigrate => "<version>_<name>.up.sql and .down.sql",
        Tool::Sqlx => "<version>_<name>.sql, or .up.sql and .down.sql",
        Tool::Goose => "<version>_<name>.sql with a -- +goose Up line",
        Tool::Dbmate => "<version>_<name>.sql with a -- migrate:up line",
        Tool::Prisma => "<timestamp>_<name>/migration.sql",
        Tool::Supabase => "supabase/migrations/<timestamp>_<name>.sql",
        Tool::Diesel => "<timestamp>_<name>/up.sql and down.sql",
        Tool::Sql => "one SQL file and --version",
    }
}

/// Repeatable Flyway migrations ("R") sort after every versioned one.
fn version_key(v: &str) -> (u8, Vec<u128>, String) {
    if v == "R" {
        return (1, Vec::new(), String::new());
    }
    let parts: Option<Vec<u128>> = v.split('.').map(|p| p.parse().ok()).collect();
    match parts {
        Some(p) => (0, p, String::new()),
        None => (0, Vec::new(), v.to_string()),
    }
}

/// The tool whose convention every file follows, when exactly one does.
fn detect(files: &[PathBuf], texts: &[String]) -> Result<Tool, PlanError> {
    if files.is_empty() {
        return Err(PlanError::Usage(
            "no .sql files under the given paths".into(),
        ));
    }
    let fits = |t: Tool| {
        let mut any_up = false;
        for (f, text) in files.iter().zip(texts) {
            match role(t, f, text) {
                Role::Foreign => return false,
                Role::Up(..) => any_up = true,
                Role::Skip => {}
            }
        }
        any_up
    };
    let mut c: Vec<Tool> = TOOLS.into_iter().filter(|t| fits(*t)).collect();
    // A supabase/migrations path is more specific than sqlx's bare names.
    if c.contains(&Tool::Supabase) {
        c.retain(|t| *t != Tool::Sqlx);
    }
    match c.as_slice() {
        [t] => Ok(*t),
        [] => Err(PlanError::Usage(
            "the files follow no single tool's convention; pass --tool (see docs/plan.md)".into(),
        )),
        many => Err(PlanError::Usage(format!(
            "the files fit more than one tool's convention ({}); pass --tool",
            many.iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn plain_sql(paths: &[PathBuf], opts: &PlanOptions) -> Result<Vec<Found>, PlanError> {
    let (Some(Tool::Sql) | None, Some(version), [file]) = (opts.tool, &opts.version, paths) else {
        return Err(PlanError::Usage(
            "--tool sql takes exactly one FILE and --version VERSION (and --version only goes with --tool sql)".into(),
        ));
    };
    if std::fs::metadata(file).is_ok_and(|m| m.is_dir()) {
        return Err(PlanError::Convention {
            path: file.clone(),
            message: "--tool sql takes a file, not a directory".into(),
        });
    }
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(vec![Found {
        tool: Tool::Sql,
        version: version.clone(),
        name,
        file: file.clone(),
        text: super::source::read_limited(file)?,
    }])
}

/// The part of a file its tool runs, and what its directives say.
#[derive(Debug, Clone)]
pub struct Up {
    pub range: Range<usize>,
    /// A directive turned the tool's transaction off.
    pub no_transaction: bool,
}

/// Byte range of the first line starting with `prefix` (case-insensitive).
fn directive_line(text: &str, prefix: &str) -> Option<Range<usize>> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().to_ascii_lowercase().starts_with(prefix) {
            return Some(at..at + line.len());
        }
        at += line.len();
    }
    None
}

pub fn up_section(tool: Tool, path: &Path, text: &str) -> Result<Up, PlanError> {
    let whole = Up {
        range: 0..text.len(),
        no_transaction: false,
    };
    let (up, down, no_tx) = match tool {
        Tool::Goose => (
            "-- +goose up",
            "-- +goose down",
            has_directive(text, "-- +goose no transaction"),
        ),
        Tool::Dbmate => {
            let no_tx = directive_line(text, "-- migrate:up")
                .is_some_and(|r| text[r].to_ascii_lowercase().contains("transaction:false"));
            ("-- migrate:up", "-- migrate:down", no_tx)
        }
        Tool::Sqlx => {
            let first = text.lines().next().unwrap_or("").trim();
            return Ok(Up {
                no_transaction: first == "-- no-transaction",
                ..whole
            });
        }
        _ => return Ok(whole),
    };
    let Some(u) = directive_line(text, up) else {
        return Err(PlanError::Convention {
            path: path.to_path_buf(),
            message: format!("no `{up}` line"),
        });
    };
    let end = directive_line(&text[u.end..], down).map_or(text.len(), |d| u.end + d.start);
    Ok(Up {
        range: u.end..end,
        no_transaction: no_tx,
    })
}

/// Whether the tool runs the migration inside one transaction.
pub fn wraps(tool: Tool, up: &Up, stmts: &[RawStatement], path: &Path) -> bool {
    let all_transactional = stmts
        .iter()
        .all(|s| super::analyze::can_run_in_transaction(&s.node));
    match tool {
        // Flyway runs a migration holding a statement that cannot run in a
        // transaction (CREATE INDEX CONCURRENTLY...) outside one.
        Tool::Flyway => {
            all_transactional && !companion_says(path, ".conf", "executeintransaction=false")
        }
        // One multi-statement query string: PostgreSQL runs it as one
        // implicit transaction.
        Tool::GolangMigrate | Tool::Prisma => stmts.len() > 1,
        Tool::Sqlx | Tool::Goose | Tool::Dbmate => !up.no_transaction,
        Tool::Supabase => true,
        Tool::Diesel => !companion_says(path, "metadata.toml", "run_in_transaction=false"),
        Tool::Sql => false,
    }
}

/// Whether a companion file (`<file>.conf`, or `metadata.toml` next to the
/// file) holds `setting` (compared without spaces, case-insensitively).
fn companion_says(path: &Path, companion: &str, setting: &str) -> bool {
    let p = if companion.starts_with('.') {
        let mut s = path.as_os_str().to_owned();
        s.push(companion);
        PathBuf::from(s)
    } else {
        path.with_file_name(companion)
    };
    super::source::read_limited(&p).is_ok_and(|t| {
        t.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.to_ascii_lowercase() == setting
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up_of(tool: Tool, path: &str, text: &str) -> Option<(String, String)> {
        match role(tool, Path::new(path), text) {
            Role::Up(v, n) => Some((v, n)),
            _ => None,
        }
    }

    #[test]
    fn file_names_per_tool() {
        let vn = |v: &str, n: &str| Some((v.to_string(), n.to_string()));
        assert_eq!(
            up_of(Tool::Flyway, "db/V1_2__add_x.sql", ""),
            vn("1.2", "add_x")
        );
        assert_eq!(up_of(Tool::Flyway, "db/V1__", ""), None);
        assert_eq!(up_of(Tool::Flyway, "db/Vx__a.sql", ""), None);
        assert_eq!(
            up_of(Tool::GolangMigrate, "m/000010_users.up.sql", ""),
            vn("000010", "users")
        );
        assert_eq!(
            up_of(Tool::Goose, "m/2_a.sql", "-- +goose Up\nSELECT 1;"),
            vn("2", "a")
        );
        assert_eq!(up_of(Tool::Goose, "m/2_a.sql", "SELECT 1;"), None);
        assert_eq!(
            up_of(Tool::Supabase, "x/supabase/migrations/20240101_a.sql", ""),
            vn("20240101", "a")
        );
        assert_eq!(
            up_of(Tool::Supabase, "x/migrations/20240101_a.sql", ""),
            None
        );
        assert_eq!(
            up_of(Tool::Diesel, "m/2024-01-02-030405_posts/up.sql", ""),
            vn("20240102030405", "posts")
        );
        assert_eq!(
            up_of(Tool::Prisma, "p/20240101000000_init/migration.sql", ""),
            vn("20240101000000", "init")
        );
    }

    #[test]
    fn versions_sort_numerically_and_repeatables_last() {
        let mut v = vec!["10", "R", "2", "1.10", "1.9"];
        v.sort_by_key(|s| version_key(s));
        assert_eq!(v, vec!["1.9", "1.10", "2", "10", "R"]);
    }

    #[test]
    fn directives_choose_the_up_section_and_the_transaction() {
        let text = "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\nDROP INDEX i;\n";
        let up = up_section(Tool::Goose, Path::new("1_a.sql"), text).unwrap();
        assert!(up.no_transaction);
        assert_eq!(&text[up.range], "CREATE INDEX CONCURRENTLY i ON t (a);\n");
        let text = "-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\nSELECT 2;\n";
        let up = up_section(Tool::Dbmate, Path::new("1_a.sql"), text).unwrap();
        assert!(up.no_transaction);
        assert_eq!(&text[up.range], "SELECT 1;\n");
        assert!(up_section(Tool::Dbmate, Path::new("1_a.sql"), "SELECT 1;").is_err());
    }
}
