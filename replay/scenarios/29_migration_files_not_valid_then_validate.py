"""golang-migrate files (replay/migrations/not_valid_then_validate): migration
3 adds a foreign key NOT VALID, migration 4, two minutes later, validates it.
The plan says the constraint exists once it is validated, so between the two
(3 applied, 4 pending) the exporter expects nothing of it; after 4 it is
there. No page."""
import os

from common import APP_SCHEMA, checkout_traffic, config

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "migrations", "not_valid_then_validate")

UP = """
BEGIN; TRUNCATE schema_migrations; INSERT INTO schema_migrations VALUES ({v}, true); COMMIT;
{sql}
UPDATE schema_migrations SET dirty = false;
"""

SCENARIO = dict(
    setup=[APP_SCHEMA,
           "CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id int NOT NULL, total bigint);"
           " INSERT INTO invoices (account_id, total) SELECT g % 20000 + 1, g FROM generate_series(1, 50000) g;"
           " CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
           " INSERT INTO schema_migrations VALUES (2, false);"],
    config=config(extra=f"migrations:\n  - {{path: '{MIGRATIONS}', tool: golang-migrate, grace: 10s}}\n"),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=0, note="migration 3: the foreign key, NOT VALID", sql=UP.format(v=3, sql=(
            "ALTER TABLE invoices ADD CONSTRAINT invoices_account_fkey "
            "FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;"))),
        dict(at=120, note="migration 4: VALIDATE", sql=UP.format(v=4, sql=(
            "ALTER TABLE invoices VALIDATE CONSTRAINT invoices_account_fkey;"))),
    ],
)
