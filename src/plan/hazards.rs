//! Hazard codes: stable identifiers (CI gates and alert configs accept them
//! by name), each with a one-line reason and the safe way to do the same.
//! docs/plan.md lists the same table; tests/plan.rs keeps the two equal.

use super::Hazard;

pub struct Code {
    pub code: &'static str,
    pub reason: &'static str,
    pub fix: &'static str,
}

pub const CODES: &[Code] = &[
    Code { code: "index-not-concurrent", reason: "CREATE INDEX holds a SHARE lock (blocks writes) for the whole build", fix: "CREATE INDEX CONCURRENTLY, in a migration the tool does not wrap in a transaction" },
    Code { code: "drop-index-not-concurrent", reason: "DROP INDEX takes ACCESS EXCLUSIVE on the table", fix: "DROP INDEX CONCURRENTLY, outside a transaction" },
    Code { code: "reindex-not-concurrent", reason: "REINDEX blocks writes to the table (and reads through the index) while it rebuilds", fix: "REINDEX ... CONCURRENTLY, outside a transaction" },
    Code { code: "add-constraint-validates", reason: "adding a FOREIGN KEY or CHECK constraint checks every row while holding the lock", fix: "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later transaction (takes only SHARE UPDATE EXCLUSIVE)" },
    Code { code: "set-not-null-scans", reason: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE", fix: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT c, then SET NOT NULL (uses the validated check, no scan), then drop c" },
    Code { code: "column-type-rewrite", reason: "changing a column's type rewrites the table and its indexes under ACCESS EXCLUSIVE (unless the types are binary-compatible)", fix: "add a new column, backfill it in batches, switch the application, then drop the old column" },
    Code { code: "volatile-default-rewrite", reason: "a column added with a volatile default (random(), clock_timestamp(), nextval, serial, ...) rewrites the table under ACCESS EXCLUSIVE", fix: "add the column without a default (or with a constant one), then backfill in batches" },
    Code { code: "stored-generated-column", reason: "adding a STORED generated column rewrites the table under ACCESS EXCLUSIVE", fix: "add a plain column, backfill it in batches and keep it current with a trigger" },
    Code { code: "add-required-column", reason: "a NOT NULL column without a default fails on a table that has rows", fix: "add the column nullable (or with a constant default), backfill, then enforce NOT NULL through a validated CHECK" },
    Code { code: "unique-without-index", reason: "adding a PRIMARY KEY, UNIQUE or EXCLUDE constraint builds its index under ACCESS EXCLUSIVE", fix: "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX" },
    Code { code: "table-rewrite", reason: "this ALTER TABLE form (SET TABLESPACE, SET ACCESS METHOD, SET LOGGED/UNLOGGED) rewrites the table under ACCESS EXCLUSIVE", fix: "do it in a maintenance window, or copy into a new table online (logical replication or pg_repack)" },
    Code { code: "lock-timeout-missing", reason: "an ACCESS EXCLUSIVE request that waits queues every later query on the table behind it", fix: "SET lock_timeout (for example '2s') earlier in the migration and retry on timeout" },
    Code { code: "concurrently-in-transaction", reason: "this statement cannot run inside a transaction block, and the tool (or an explicit BEGIN) runs it in one: the migration fails", fix: "put it in its own migration the tool runs without a transaction (see docs/plan.md for each tool's switch)" },
    Code { code: "rename-table", reason: "the running application still uses the old table name until it is redeployed", fix: "create a view with the old name, or rename in a release after the application stops using it" },
    Code { code: "rename-column", reason: "the running application still uses the old column name until it is redeployed", fix: "add the new column, write both, backfill, switch reads, then drop the old one in a later release" },
    Code { code: "drop-table", reason: "the running application may still read or write the table", fix: "stop using the table in one release, drop it in a later one" },
    Code { code: "drop-column", reason: "the running application (or an ORM's cached column list) may still use the column", fix: "stop using (or ignore) the column in one release, drop it in a later one" },
    Code { code: "vacuum-full", reason: "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE", fix: "plain VACUUM, or pg_repack / pg_squeeze online" },
    Code { code: "cluster", reason: "CLUSTER rewrites the table under ACCESS EXCLUSIVE", fix: "pg_repack --order-by online, or a maintenance window" },
    Code { code: "refresh-matview-blocking", reason: "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks every read of the view", fix: "REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)" },
];

/// A hazard of `code` about `subject` (a relation, column or index name).
pub fn hazard(code: &'static str, subject: &str) -> Hazard {
    let c = CODES
        .iter()
        .find(|c| c.code == code)
        .unwrap_or_else(|| panic!("hazard code {code} is not in CODES"));
    Hazard {
        code: c.code,
        message: format!("{subject}: {}; instead: {}", c.reason, c.fix),
    }
}
