"""CREATE INDEX CONCURRENTLY on a busy table, succeeding, with the exporter's
config naming the index (deployed with the migration). No page: not while
the build runs, not at its end."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(expected="  - {kind: index, name: public.accounts_email_idx, migration: m11}\n"),
    traffic=[checkout_traffic()],
    steps=[dict(at=0, sql="CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);", note="CIC")],
)
