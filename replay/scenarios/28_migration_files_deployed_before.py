"""The exporter's config, pointing at the team's golang-migrate files
(replay/migrations/deployed_before), is deployed before migrations 2 and 3
run: their table and index are missing, and the exporter knows they are
pending, so nothing is checked. At 100 s golang-migrate applies them (dirty
while each runs, as the tool records it); after each one's grace the derived
expectations hold. No page: the false rollback_now of hand-written
expectations deployed early does not happen."""
import os

from common import APP_SCHEMA, checkout_traffic, config

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migrations", "deployed_before")

SCENARIO = dict(
    setup=[APP_SCHEMA,
           "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
           " INSERT INTO schema_migrations VALUES (1, false);"],
    config=config(extra=f"migrations:\n  - {{path: '{MIGRATIONS}', tool: golang-migrate}}\n"),
    traffic=[checkout_traffic()],
    steps=[dict(at=100, note="golang-migrate up: migrations 2 and 3, 100 s after the config", sql="""
BEGIN; TRUNCATE schema_migrations; INSERT INTO schema_migrations VALUES (2, true); COMMIT;
CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id int NOT NULL, total bigint);
UPDATE schema_migrations SET dirty = false;
BEGIN; TRUNCATE schema_migrations; INSERT INTO schema_migrations VALUES (3, true); COMMIT;
CREATE INDEX CONCURRENTLY invoices_account_idx ON invoices (account_id);
UPDATE schema_migrations SET dirty = false;
""")],
)
