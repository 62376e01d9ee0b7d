"""golang-migrate files (replay/migrations/planned_rollback): migrations 2
(a column) and 3 (its index) are applied when the exporter starts, so their
objects are expected. The team then runs `migrate down 2` on purpose: the
version goes to 2, then 1, and the index and the column are dropped. The
exporter sees the migrations rolled back and stops expecting their objects.
No page."""
import os

from common import APP_SCHEMA, checkout_traffic, config

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migrations", "planned_rollback")

DOWN = """
BEGIN; TRUNCATE schema_migrations; INSERT INTO schema_migrations VALUES ({v}, true); COMMIT;
{sql}
UPDATE schema_migrations SET dirty = false;
"""

SCENARIO = dict(
    setup=[APP_SCHEMA,
           "ALTER TABLE accounts ADD COLUMN tier int; CREATE INDEX accounts_tier_idx ON accounts (tier);"
           " CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
           " INSERT INTO schema_migrations VALUES (3, false);"],
    config=config(extra=f"migrations:\n  - {{path: '{MIGRATIONS}', tool: golang-migrate, grace: 10s}}\n"),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=0, note="migrate down: 3", sql=DOWN.format(v=2, sql="DROP INDEX CONCURRENTLY accounts_tier_idx;")),
        dict(at=20, note="migrate down: 2", sql=DOWN.format(v=1, sql="ALTER TABLE accounts DROP COLUMN tier;")),
    ],
)
