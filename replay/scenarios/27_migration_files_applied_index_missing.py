"""The exporter plans the team's golang-migrate files (replay/migrations/
applied_index_missing). Migration 3 creates an index CONCURRENTLY; the team
runs `migrate force 3` after only migration 2's table was created, so the
tool records 3 as applied and the index is not there. No expectation was
written by hand: the one derived from the file pages rollback_now once
its grace (10 s) has passed."""
import os

from common import APP_SCHEMA, checkout_traffic, config

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migrations", "applied_index_missing")

SCENARIO = dict(
    setup=[APP_SCHEMA,
           "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
           " INSERT INTO schema_migrations VALUES (1, false);"],
    config=config(extra=f"migrations:\n  - {{path: '{MIGRATIONS}', tool: golang-migrate, grace: 10s}}\n"),
    traffic=[checkout_traffic()],
    steps=[dict(at=0, note="migration 2 by hand, then `migrate force 3`: 3 recorded applied, its index never built", sql="""
CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id int NOT NULL, total bigint);
TRUNCATE schema_migrations;
INSERT INTO schema_migrations VALUES (3, false);
""")],
    expect=[dict(alertname="PgMigAppliedMigrationIncomplete", decision="rollback_now", within=240)],
    allow=[("PgMigExpectedObjectMissing", "rollback_now")],
)
