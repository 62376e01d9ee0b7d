"""CREATE UNIQUE INDEX CONCURRENTLY over duplicate e-mails: the build fails
and leaves an INVALID index. Roll back now (drop the invalid index)."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA, "UPDATE accounts SET email = 'dup@example.com' WHERE id IN (7, 8);"],
    config=config(expected="  - {kind: index, name: public.accounts_email_key, migration: m12}\n"),
    traffic=[checkout_traffic()],
    steps=[dict(at=0, sql="CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);",
                must_fail=True, note="unique CIC over duplicates")],
    expect=[dict(alertname="PgMigIndexInvalid", decision="rollback_now", within=240)],
    allow=[("PgMigExpectedObjectMissing", "rollback_now")],
)
