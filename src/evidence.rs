//! The migration window's evidence as collectors report it: a leaf type, so
//! that the window and the state (which the HTTP server reads) can hold it
//! without reaching the collectors or the database. Collectors fill it
//! (`collector::Observation::Window`); the poller keeps it with each
//! snapshot; `window::Observed` weighs it. Owns no logic beyond merging.

/// The commands `pgmig_ddl_running` counts (reported as 0 when absent), each
/// with whether it changes the schema and so opens the migration window.
/// Maintenance (VACUUM, ANALYZE, CLUSTER, REFRESH MATERIALIZED VIEW,
/// TRUNCATE, LOCK TABLE) and CREATE TABLE (apps create temporary tables all
/// day) do not. One list, so that a command the activity collector learns to
/// name is weighed by the window too.
pub const DDL_COMMANDS: &[(&str, bool)] = &[
    ("CREATE INDEX", true),
    ("CREATE INDEX CONCURRENTLY", true),
    ("DROP INDEX", true),
    ("DROP INDEX CONCURRENTLY", true),
    ("REINDEX", true),
    ("REINDEX CONCURRENTLY", true),
    ("CREATE TABLE", false),
    ("ALTER TABLE", true),
    ("DROP TABLE", true),
    ("TRUNCATE", false),
    ("VACUUM", false),
    ("VACUUM FULL", false),
    ("ANALYZE", false),
    ("CLUSTER", false),
    ("REFRESH MATERIALIZED VIEW", false),
    ("LOCK TABLE", false),
    ("OTHER DDL", true),
];

/// Whether a `pgmig_ddl_running` command changes the schema ([`DDL_COMMANDS`]).
pub fn changes_schema(command: &str) -> bool {
    DDL_COMMANDS.iter().any(|(c, s)| *s && *c == command)
}

/// A run's evidence for the migration window, typed so that the window
/// never reads rendered families back. Collectors fill the parts they
/// compute; [`WindowEvidence::merge`] joins the parts of a target's runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowEvidence {
    /// Commands of running DDL statements (as `pgmig_ddl_running` names them).
    pub ddl_running: Vec<String>,
    /// An AccessExclusiveLock is held or waited for on some relation.
    pub access_exclusive: bool,
    /// A migration tool's lock is held.
    pub migration_lock_held: bool,
    /// A migration is recorded as half-applied.
    pub migration_dirty: bool,
    /// A backend runs a statement of a configured migration (the
    /// `migrations` collector's `running` state).
    pub migration_running: bool,
    /// Sum of backfill ratios and job done counts; None when there is none.
    pub progress: Option<f64>,
    /// Invalid indexes as `datname/schema/index`; None when this run did not
    /// look at indexes.
    pub invalid_indexes: Option<Vec<String>>,
}

impl WindowEvidence {
    /// Adds another run's evidence to this one.
    pub fn merge(&mut self, o: &WindowEvidence) {
        self.ddl_running.extend(o.ddl_running.iter().cloned());
        self.access_exclusive |= o.access_exclusive;
        self.migration_lock_held |= o.migration_lock_held;
        self.migration_dirty |= o.migration_dirty;
        self.migration_running |= o.migration_running;
        if let Some(p) = o.progress {
            self.progress = Some(self.progress.unwrap_or(0.0) + p);
        }
        if let Some(i) = &o.invalid_indexes {
            self.invalid_indexes
                .get_or_insert_with(Vec::new)
                .extend(i.iter().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_changing_ddl_opens_the_window_and_maintenance_does_not() {
        for c in [
            "ALTER TABLE",
            "CREATE INDEX CONCURRENTLY",
            "DROP TABLE",
            "OTHER DDL",
        ] {
            assert!(changes_schema(c), "{c}");
        }
        for c in [
            "VACUUM",
            "VACUUM FULL",
            "CREATE TABLE",
            "TRUNCATE",
            "LOCK TABLE",
            "SELECT",
        ] {
            assert!(!changes_schema(c), "{c}");
        }
        let names: std::collections::BTreeSet<_> = DDL_COMMANDS.iter().map(|(c, _)| c).collect();
        assert_eq!(names.len(), DDL_COMMANDS.len(), "a command listed twice");
    }
}
