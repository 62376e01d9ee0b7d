//! The `window` section of the config file, parsed and checked once. Owns
//! the section's types and the list of automatic sources; the window's
//! logic is [`crate::window`]'s.

use std::time::Duration;

use serde::Deserialize;

use crate::duration::PromDuration;

/// A DDL statement other than VACUUM/ANALYZE is running.
pub const DDL: &str = "ddl";
/// A migration tool's lock is held.
pub const MIGRATION_LOCK: &str = "migration_lock";
/// A migration is recorded as dirty or half-applied.
pub const FRAMEWORK_DIRTY: &str = "framework_dirty";
/// A backfill's ratio or a batch job's done count moved since the last tick.
pub const BACKFILL: &str = "backfill";
/// A backend runs a statement of a migration of the `migrations` section.
pub const MIGRATION_RUNNING: &str = "migration_running";

/// The sources that open a window automatically, as `window.auto` names them.
pub const AUTO_SOURCES: &[&str] = &[
    DDL,
    MIGRATION_LOCK,
    FRAMEWORK_DIRTY,
    BACKFILL,
    MIGRATION_RUNNING,
];

/// The `window` section of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Which automatic sources open a window (`ddl`, `migration_lock`, `framework_dirty`, `backfill`, `migration_running`).
    #[serde(default = "default_auto")]
    pub auto: Vec<String>,
    /// How long a window stays open after its last automatic source cleared.
    #[serde(default = "default_close_after")]
    pub close_after: PromDuration,
    /// The longest an explicitly opened window stays open without being closed.
    #[serde(default = "default_max_explicit")]
    pub max_explicit: PromDuration,
    /// The longest an automatically opened window stays open, sources or not.
    #[serde(default = "default_max_explicit")]
    pub max_auto: PromDuration,
    /// How long each in-flight reason stays 1 after its last evidence.
    #[serde(default = "default_in_flight_hold")]
    pub in_flight_hold: PromDuration,
    /// A file holding the bearer token of the open/close API; the API is off without it.
    pub api_token_file: Option<std::path::PathBuf>,
}

fn default_auto() -> Vec<String> {
    AUTO_SOURCES.iter().map(|s| s.to_string()).collect()
}
fn default_close_after() -> PromDuration {
    PromDuration(Duration::from_secs(120))
}
fn default_max_explicit() -> PromDuration {
    PromDuration(Duration::from_secs(6 * 3600))
}
fn default_in_flight_hold() -> PromDuration {
    PromDuration(Duration::from_secs(60))
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            auto: default_auto(),
            close_after: default_close_after(),
            max_explicit: default_max_explicit(),
            max_auto: default_max_explicit(),
            in_flight_hold: default_in_flight_hold(),
            api_token_file: None,
        }
    }
}

impl WindowConfig {
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.auto {
            if !AUTO_SOURCES.contains(&s.as_str()) {
                return Err(format!(
                    "window.auto: unknown source {s:?} ({})",
                    AUTO_SOURCES.join(", ")
                ));
            }
        }
        Ok(())
    }
}
