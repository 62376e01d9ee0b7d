"""A planned rollback: the migration adds a column and index, then the team
rolls it back on purpose inside an explicitly opened window, with the
rollback's expectations (absent) deployed. No page."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA,
           "ALTER TABLE accounts ADD COLUMN tier int; CREATE INDEX accounts_tier_idx ON accounts (tier);"],
    config=config(expected=(
        "  - {kind: column, table: public.accounts, name: tier, expect: absent, migration: m19_down}\n"
        "  - {kind: index, name: public.accounts_tier_idx, expect: absent, migration: m19_down}\n")),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=-40, do="window_open", note="the deploy pipeline opens the window"),
        dict(at=0, note="rollback", sql="DROP INDEX CONCURRENTLY accounts_tier_idx;"),
        dict(at=20, note="rollback", sql="ALTER TABLE accounts DROP COLUMN tier;"),
        dict(at=40, do="window_close", note="the pipeline closes the window"),
    ],
)
