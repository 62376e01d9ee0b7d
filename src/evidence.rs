//! The migration window's evidence as collectors report it: a leaf type, so
//! that the window and the state (which the HTTP server reads) can hold it
//! without reaching the collectors or the database. Collectors fill it
//! (`collector::Observation::Window`); the poller keeps it with each
//! snapshot; `window::Observed` weighs it. Owns no logic beyond merging.

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
