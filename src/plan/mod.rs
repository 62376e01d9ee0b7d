//! `plan`: reads migration files the way a migration tool would run them,
//! parses each statement with PostgreSQL's own parser (libpg_query through
//! the `pg_query` crate) and says, per statement, which lock it takes on
//! which relation, whether it rewrites the table, whether it can run inside
//! a transaction, what it creates and drops, and which hazards it carries.
//!
//! Owns: file discovery per tool convention ([`tools`]), reading files under
//! a size limit and splitting them into statements ([`source`]), the lock
//! vocabulary ([`locks`]), per-statement analysis ([`analyze`], [`alter`], sharing [`context`]),
//! hazard codes ([`hazards`]) and the JSON/text renderings ([`output`]).
//! Nothing here talks to a database: a plan is a function of the files.

pub mod alter;
pub mod analyze;
pub mod cli;
pub mod context;
pub mod hazards;
pub mod locks;
pub mod output;
pub mod source;
pub mod tools;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use locks::LockMode;
pub use tools::Tool;

/// Largest migration file `plan` reads; a bigger one is refused before its
/// contents are read (a data dump is not a schema migration).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Most files one `plan` run accepts, so a mistyped path (say `/`) fails fast.
pub const MAX_FILES: usize = 100_000;

/// One migration: one file (or the up half of one) as its tool runs it.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    pub tool: Tool,
    pub version: String,
    pub name: String,
    pub file: PathBuf,
    /// Whether the tool wraps the whole migration in one transaction (or
    /// PostgreSQL runs it as one implicit transaction).
    #[serde(skip)]
    pub in_transaction: bool,
    pub statements: Vec<Statement>,
}

/// One top-level statement of a migration, as PostgreSQL parses it.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    /// 0-based position in the migration.
    pub index: usize,
    /// 1-based line of the statement's first token in `file`.
    pub line: usize,
    pub sql: String,
    /// Strongest lock per relation (`schema.relation`), by `pg_locks.mode` name.
    pub lock: BTreeMap<String, LockMode>,
    pub rewrites_table: bool,
    /// Whether PostgreSQL lets this statement run inside a transaction block.
    pub transactional: bool,
    pub hazards: Vec<Hazard>,
    pub creates: Vec<Object>,
    pub drops: Vec<Object>,
    /// pg_query fingerprint (16 hex digits): the same for the same statement
    /// with other literals or whitespace, so running query text can be
    /// matched to it (see [`fingerprint`]).
    #[serde(skip)]
    pub fingerprint: String,
    /// Whether the statement runs inside a transaction block when the tool
    /// runs the migration (tool wrapping or an explicit BEGIN).
    #[serde(skip)]
    pub in_transaction: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hazard {
    pub code: &'static str,
    pub message: String,
}

/// An object a statement creates or drops, in the expected-object vocabulary
/// (`kind` as in the config's `expected_objects`, `name` as that collector's
/// `name` label).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Object {
    pub kind: &'static str,
    pub name: String,
}

/// What went wrong reading or parsing migrations. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {size} bytes is over the {limit}-byte limit for a migration file")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Convention { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}

/// Options of one `plan` run.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// The tool whose conventions the files follow; detected when None.
    pub tool: Option<Tool>,
    /// The version of a plain SQL file (`Tool::Sql` only).
    pub version: Option<String>,
}

/// Plans every migration under `paths` (files or directories), in the
/// order the tool applies them.
pub fn plan_paths(paths: &[PathBuf], opts: &PlanOptions) -> Result<Vec<Migration>, PlanError> {
    let found = tools::discover(paths, opts)?;
    let mut set = context::SetState::default();
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        out.push(plan_file(f, &mut set)?);
    }
    Ok(out)
}

fn plan_file(f: tools::Found, set: &mut context::SetState) -> Result<Migration, PlanError> {
    let text = f.text;
    let up = tools::up_section(f.tool, &f.file, &text)?;
    let stmts = source::split(&f.file, &text, up.range.clone())?;
    let in_transaction = tools::wraps(f.tool, &up, &stmts, &f.file);
    let statements = analyze::analyze_migration(&stmts, in_transaction, set);
    Ok(Migration {
        tool: f.tool,
        version: f.version,
        name: f.name,
        file: f.file,
        in_transaction,
        statements,
    })
}

/// Like [`plan_paths`], but a file that cannot be parsed does not stop the
/// others: the exporter plans what it can and reports each failing file.
/// Discovery errors (a file off the tool's convention, an oversize file, a
/// missing directory) still fail the whole set: they say the path or the
/// tool is wrong, not one file.
pub fn plan_each(paths: &[PathBuf], opts: &PlanOptions) -> (Vec<Migration>, Vec<PlanError>) {
    let found = match tools::discover(paths, opts) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut set = context::SetState::default();
    let (mut out, mut errors) = (Vec::with_capacity(found.len()), Vec::new());
    for f in found {
        match plan_file(f, &mut set) {
            Ok(m) => out.push(m),
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

/// Whether any statement of any migration has a hazard (exit status 1).
pub fn has_hazards(ms: &[Migration]) -> bool {
    ms.iter()
        .any(|m| m.statements.iter().any(|s| !s.hazards.is_empty()))
}

/// The pg_query fingerprint of one statement's text (for example
/// `pg_stat_activity.query`): equal for statements that differ only in
/// literal values, whitespace or comments.
pub fn fingerprint(query: &str) -> Result<String, String> {
    pg_query::fingerprint(query, 0, 0)
        .map(|f| f.hex)
        .map_err(|e| match e {
            pg_query::Error::Parse(m) => m,
            other => other.to_string(),
        })
}

/// The fingerprints of each statement of a query text as
/// `pg_stat_activity.query` shows it: one for a single statement, several
/// when a tool sent a whole file at once. Text cut off at
/// `track_activity_query_size` loses its last, incomplete statement.
/// Empty when nothing in it parses.
pub fn statement_fingerprints(query: &str) -> Vec<String> {
    let parts: Vec<&str> = match pg_query::split_with_parser(query) {
        Ok(p) => p,
        Err(_) => match pg_query::split_with_scanner(query) {
            Ok(mut p) => {
                p.pop();
                p
            }
            Err(_) => return Vec::new(),
        },
    };
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .filter_map(|p| fingerprint(p).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_running_text_with_other_literals_and_spacing() {
        let planned =
            fingerprint("UPDATE users SET plan = 'free' WHERE id BETWEEN 1 AND 1000").unwrap();
        let running = fingerprint(
            "update users\n   set plan = 'pro'  where id between 5001 and 6000 -- batch 6",
        )
        .unwrap();
        assert_eq!(planned, running);
        assert_eq!(planned.len(), 16);
        let other =
            fingerprint("UPDATE users SET email = 'x' WHERE id BETWEEN 1 AND 1000").unwrap();
        assert_ne!(planned, other);
        assert!(fingerprint("UPDATE users SET").is_err());
    }

    #[test]
    fn a_whole_file_sent_at_once_gives_one_fingerprint_per_statement() {
        let one = fingerprint("CREATE TABLE a (id int)").unwrap();
        let two = fingerprint("ALTER TABLE a ADD COLUMN b int").unwrap();
        let fps =
            statement_fingerprints("CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN b int;");
        assert_eq!(fps, vec![one.clone(), two]);
        // Cut off inside the second statement: the first still matches.
        assert_eq!(
            statement_fingerprints("CREATE TABLE a (id int);\nALTER TABLE a ADD COLU"),
            vec![one]
        );
    }
}
