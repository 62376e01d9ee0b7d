"""An invalid index left by a failed build last month exists before the
exporter is rolled out; a healthy, unrelated migration then runs. The old
index must not page roll back now at rollout, and must not silence anything
else. No page."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA,
           "UPDATE accounts SET name = 'same' WHERE id IN (3, 4);",
           dict(sql="CREATE UNIQUE INDEX CONCURRENTLY accounts_name_key ON accounts (name);", may_fail=True)],
    config=config(expected="  - {kind: column, table: public.accounts, name: created_at, migration: m20}\n"),
    traffic=[checkout_traffic()],
    steps=[dict(at=60, note="an unrelated healthy migration, a minute after the rollout",
                sql="ALTER TABLE accounts ADD COLUMN created_at timestamptz;")],
    allow=[("PgMigPreexistingState", "watch")],
)
