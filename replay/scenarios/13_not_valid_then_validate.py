"""A CHECK constraint added NOT VALID (instant), then VALIDATE CONSTRAINT a
minute later, as the safe pattern says. While NOT VALID the constraint counts
as absent: that is the migration in progress, not a failure. No page."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(expected="  - {kind: constraint, table: public.accounts, name: accounts_balance_nonneg, migration: m13}\n"),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=0, sql="BEGIN; SET LOCAL lock_timeout = '5s'; ALTER TABLE accounts ADD CONSTRAINT accounts_balance_nonneg CHECK (balance >= 0) NOT VALID; COMMIT;", note="NOT VALID"),
        dict(at=70, sql="ALTER TABLE accounts VALIDATE CONSTRAINT accounts_balance_nonneg;", note="VALIDATE"),
    ],
)
