"""The plainest healthy migration: add a nullable column and a default under
a lock_timeout, with its expected column deployed with it. No page."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(expected="  - {kind: column, table: public.accounts, name: status, migration: m26}\n"),
    traffic=[checkout_traffic()],
    steps=[dict(at=0, note="add column", sql="SET lock_timeout = '5s'; ALTER TABLE accounts ADD COLUMN status text DEFAULT 'active';")],
)
