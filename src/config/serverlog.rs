//! The `server_log` section of the config file, parsed and checked once:
//! which logs to follow, in which format, and the codes each migration
//! expects or forbids. Owns the section's types; reading the logs is
//! [`crate::serverlog`]'s.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::duration::PromDuration;
use crate::serverlog::follow::{FileFormat, Glob, Options};
use crate::serverlog::parse::Prefix;
use crate::serverlog::sqlstate::SqlState;

/// The `server_log` section of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerLogConfig {
    /// The log of each target to follow; empty (the default): off.
    #[serde(default)]
    pub follow: Vec<FollowConfig>,
    /// How often the log is read.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: PromDuration,
    /// Allow-list: only these codes (and the migrations' expected and
    /// forbidden ones) get their own series; the rest is `code="other"`.
    #[serde(default)]
    pub codes: Vec<SqlState>,
    /// Without an allow-list: how many distinct codes get their own series
    /// (the first seen; later ones are `other`).
    #[serde(default = "default_max_codes")]
    pub max_codes: usize,
    /// Label sets of `pgmig_server_errors_total` per target; beyond it new
    /// (datname, usename) combinations are counted as `other`.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// The codes each migration expects or forbids.
    #[serde(default)]
    pub migrations: Vec<MigrationCodes>,
}

fn default_poll_interval() -> PromDuration {
    PromDuration(Duration::from_secs(1))
}
fn default_max_codes() -> usize {
    50
}
fn default_max_series() -> usize {
    500
}

impl Default for ServerLogConfig {
    fn default() -> Self {
        ServerLogConfig {
            follow: Vec::new(),
            poll_interval: default_poll_interval(),
            codes: Vec::new(),
            max_codes: default_max_codes(),
            max_series: default_max_series(),
            migrations: Vec::new(),
        }
    }
}

/// Which log format to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormatChoice {
    Jsonlog,
    Csvlog,
    Stderr,
    /// `.json` files if there are any, else `.csv`, else `.log` (stderr, when
    /// `log_line_prefix` is set).
    #[default]
    Auto,
}

/// The log of one target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowConfig {
    /// The target's name; may be left out when there is only one target.
    pub target: Option<String>,
    /// PostgreSQL's `log_directory` as the exporter sees it.
    pub directory: PathBuf,
    #[serde(default)]
    pub format: LogFormatChoice,
    /// Only files whose names match (`*`, `?`), e.g. `postgresql-*`; the
    /// format's suffix is required besides.
    pub pattern: Option<FilePattern>,
    /// The server's `log_line_prefix`, for stderr files; must contain `%e`.
    pub log_line_prefix: Option<LogLinePrefix>,
}

/// A file-name pattern from the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FilePattern(pub Glob);

impl TryFrom<String> for FilePattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() || s.contains('/') {
            return Err(format!(
                "{s:?}: a file-name pattern (with * and ?), not a path"
            ));
        }
        Ok(FilePattern(Glob(s)))
    }
}

/// A `log_line_prefix` from the config, checked when read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LogLinePrefix {
    pub text: String,
    pub prefix: Prefix,
}

impl TryFrom<String> for LogLinePrefix {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let prefix = Prefix::parse(&text)?;
        Ok(LogLinePrefix { text, prefix })
    }
}

/// (code, migration) pairs.
pub type CodeList = Vec<(SqlState, String)>;

/// The codes a migration expects (the application handles them) and forbids
/// (they must be gone once it is applied, e.g. 42P10 after the fix).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationCodes {
    pub name: String,
    /// The target it applies to; every followed target when left out.
    pub target: Option<String>,
    #[serde(default)]
    pub expected_codes: Vec<SqlState>,
    #[serde(default)]
    pub forbidden_codes: Vec<SqlState>,
}

impl ServerLogConfig {
    /// Checks the section against the target names. Errors are (key, message).
    pub fn validate(&self, targets: &[String]) -> Result<(), (String, String)> {
        let err = |k: String, m: String| Err((format!("server_log.{k}"), m));
        if self.poll_interval.0 < Duration::from_millis(100) {
            return err("poll_interval".into(), "must be at least 100ms".into());
        }
        if self.max_series == 0 {
            return err("max_series".into(), "must be at least 1".into());
        }
        let mut followed = Vec::new();
        for (i, f) in self.follow.iter().enumerate() {
            let name = match &f.target {
                Some(t) if targets.contains(t) => t.clone(),
                Some(t) => {
                    return err(
                        format!("follow[{i}].target"),
                        format!("no target is named {t:?}"),
                    )
                }
                None if targets.len() == 1 => targets[0].clone(),
                None => {
                    return err(
                        format!("follow[{i}].target"),
                        format!("name the target: there are {} targets", targets.len()),
                    )
                }
            };
            if followed.contains(&name) {
                return err(
                    format!("follow[{i}].target"),
                    format!("target {name:?} is followed twice"),
                );
            }
            followed.push(name);
            if f.directory.as_os_str().is_empty() {
                return err(format!("follow[{i}].directory"), "must not be empty".into());
            }
            if f.format == LogFormatChoice::Stderr && f.log_line_prefix.is_none() {
                return err(
                    format!("follow[{i}].log_line_prefix"),
                    "format stderr needs the server's log_line_prefix, with %e (the SQLSTATE)"
                        .into(),
                );
            }
        }
        for (i, m) in self.migrations.iter().enumerate() {
            if m.name.is_empty() {
                return err(format!("migrations[{i}].name"), "must not be empty".into());
            }
            if self.follow.is_empty() {
                return err(
                    format!("migrations[{i}]"),
                    "no log is followed (server_log.follow is empty)".into(),
                );
            }
            if let Some(t) = &m.target {
                if !followed.contains(t) {
                    return err(
                        format!("migrations[{i}].target"),
                        format!("target {t:?} has no server_log.follow entry"),
                    );
                }
            }
            if let Some(c) = m
                .expected_codes
                .iter()
                .find(|c| m.forbidden_codes.contains(c))
            {
                return err(
                    format!("migrations[{i}]"),
                    format!("{c} is both expected and forbidden"),
                );
            }
        }
        Ok(())
    }

    /// The followed targets: (target index, its entry). Call after `validate`.
    pub fn resolve<'a>(&'a self, targets: &[String]) -> Vec<(usize, &'a FollowConfig)> {
        self.follow
            .iter()
            .filter_map(|f| {
                let ti = match &f.target {
                    Some(t) => targets.iter().position(|x| x == t)?,
                    None => 0,
                };
                Some((ti, f))
            })
            .collect()
    }

    /// (code, migration) pairs a target expects and forbids.
    pub fn lists(&self, target: &str) -> (CodeList, CodeList) {
        let mut expected = Vec::new();
        let mut forbidden = Vec::new();
        for m in &self.migrations {
            if m.target.as_deref().is_some_and(|t| t != target) {
                continue;
            }
            expected.extend(m.expected_codes.iter().map(|c| (*c, m.name.clone())));
            forbidden.extend(m.forbidden_codes.iter().map(|c| (*c, m.name.clone())));
        }
        (expected, forbidden)
    }
}

impl FollowConfig {
    pub fn options(&self) -> Options {
        let prefix = self.log_line_prefix.as_ref().map(|p| p.prefix.clone());
        let formats = match self.format {
            LogFormatChoice::Jsonlog => vec![FileFormat::Json],
            LogFormatChoice::Csvlog => vec![FileFormat::Csv],
            LogFormatChoice::Stderr => vec![FileFormat::Stderr],
            LogFormatChoice::Auto if prefix.is_some() => {
                vec![FileFormat::Json, FileFormat::Csv, FileFormat::Stderr]
            }
            LogFormatChoice::Auto => vec![FileFormat::Json, FileFormat::Csv],
        };
        Options {
            directory: self.directory.clone(),
            pattern: self.pattern.as_ref().map(|p| p.0.clone()),
            formats,
            prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerLogConfig, String> {
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn off_by_default_and_checked_against_the_targets() {
        let d = ServerLogConfig::default();
        assert!(d.follow.is_empty());
        assert!(d.validate(&["a".into(), "b".into()]).is_ok());
        let c = parse("follow:\n  - directory: /var/log/pg\nmigrations:\n  - {name: m1, expected_codes: [23505], forbidden_codes: [42P10]}\n").unwrap();
        assert!(c.validate(&["only".into()]).is_ok());
        assert_eq!(c.resolve(&["only".into()])[0].0, 0);
        let (k, m) = c.validate(&["a".into(), "b".into()]).unwrap_err();
        assert_eq!(k, "server_log.follow[0].target");
        assert!(m.contains("name the target"), "{m}");
        let (e, f) = c.lists("only");
        assert_eq!((e[0].0.as_str(), f[0].0.as_str()), ("23505", "42P10"));
    }

    #[test]
    fn bad_sections_are_refused() {
        assert!(parse("follow:\n  - directory: /x\n    fromat: csvlog\n")
            .unwrap_err()
            .contains("fromat"));
        assert!(parse("follow:\n  - directory: /x\n    format: syslog\n").is_err());
        assert!(
            parse("follow:\n  - directory: /x\n    log_line_prefix: '%m [%p] '\n")
                .unwrap_err()
                .contains("%e")
        );
        assert!(parse("follow:\n  - directory: /x\n    pattern: a/b\n").is_err());
        assert!(parse("codes: [42p10]\n").is_err());
        let t = ["a".to_string()];
        let c = parse("follow:\n  - {directory: /x, format: stderr}\n").unwrap();
        assert!(c.validate(&t).unwrap_err().1.contains("log_line_prefix"));
        let c = parse("follow:\n  - {directory: /x, target: b}\n").unwrap();
        assert_eq!(c.validate(&t).unwrap_err().0, "server_log.follow[0].target");
        let c = parse("migrations:\n  - {name: m, forbidden_codes: [42P10]}\n").unwrap();
        assert!(c.validate(&t).is_err());
        let c = parse("follow:\n  - {directory: /x}\nmigrations:\n  - {name: m, expected_codes: [42P10], forbidden_codes: [42P10]}\n").unwrap();
        assert!(c.validate(&t).unwrap_err().1.contains("both"));
        let c = parse("poll_interval: 10ms\n").unwrap();
        assert!(c.validate(&t).is_err());
    }
}
