"""A batched backfill of several minutes: the new nullable column was added
by the previous deploy (expand), now 1,000 rows every 5 s for about two
minutes, each batch its own short transaction, watched through a backfill
ratio. The DML opens the window by itself (backfill progress). No page."""
from common import APP_SCHEMA, checkout_traffic, config

BATCH = """UPDATE accounts SET email_lower = lower(email)
 WHERE id IN (SELECT id FROM accounts WHERE email_lower IS NULL ORDER BY id LIMIT 1000);
"""
EXTRA = """  - name: email_lower_backfill
    interval: 1s
    sql: SELECT count(email_lower)::float8 / greatest(count(*), 1) AS ratio FROM accounts
    metrics:
      - signal: backfill_ratio
        static_labels: {table: accounts, column: email_lower}
        value: ratio
"""
SCENARIO = dict(
    setup=[APP_SCHEMA, "ALTER TABLE accounts ADD COLUMN email_lower text;"],
    config=config(expected="  - {kind: column, table: public.accounts, name: email_lower, migration: m14}\n").replace(
        "window:", EXTRA + "window:", 1),
    traffic=[checkout_traffic(), dict(sql=BATCH, rate=0.2, clients=1, **{"from": 0, "until": 120})],
)
