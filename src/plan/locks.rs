//! Table-level lock modes, named as `pg_locks.mode` names them, in
//! PostgreSQL's own numbering (lockdefs.h), the order of strength its docs
//! list them in. "Never weaker" is a comparison in this order; it is not a
//! conflict lattice (ShareLock does not conflict with itself, while the
//! weaker ShareUpdateExclusiveLock does), so the plan names the mode itself.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

pub const ALL: [LockMode; 8] = [
    LockMode::AccessShare,
    LockMode::RowShare,
    LockMode::RowExclusive,
    LockMode::ShareUpdateExclusive,
    LockMode::Share,
    LockMode::ShareRowExclusive,
    LockMode::Exclusive,
    LockMode::AccessExclusive,
];

impl LockMode {
    /// The name in `pg_locks.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// Parses a `pg_locks.mode` name.
    pub fn from_pg(s: &str) -> Option<LockMode> {
        ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// From the parser's LOCK TABLE mode number (1 = AccessShareLock .. 8).
    pub fn from_lock_stmt(n: i32) -> Option<LockMode> {
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| ALL.get(i).copied())
    }

    /// What it blocks, in words, for the text report.
    pub fn blocks(self) -> &'static str {
        match self {
            LockMode::AccessShare | LockMode::RowShare | LockMode::RowExclusive => {
                "blocks only DDL"
            }
            LockMode::ShareUpdateExclusive => "blocks DDL, VACUUM and other schema changes",
            LockMode::Share | LockMode::ShareRowExclusive => "blocks writes",
            LockMode::Exclusive => "blocks writes and SELECT FOR UPDATE",
            LockMode::AccessExclusive => "blocks reads and writes",
        }
    }
}

impl Serialize for LockMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_by_strength() {
        for m in ALL {
            assert_eq!(LockMode::from_pg(m.as_str()), Some(m));
        }
        assert!(LockMode::ShareUpdateExclusive < LockMode::Share);
        assert!(LockMode::Share < LockMode::AccessExclusive);
        assert_eq!(LockMode::from_lock_stmt(8), Some(LockMode::AccessExclusive));
        assert_eq!(LockMode::from_lock_stmt(0), None);
    }
}
