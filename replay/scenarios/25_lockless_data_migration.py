"""A lockless, non-transactional data migration: a procedure that commits
every batch (CALL ... COMMIT per 2,000 rows) inside an explicit window,
followed by a data check that reads 0 only once it is done. No page while
it runs; none after."""
from common import APP_SCHEMA, checkout_traffic, config

PROC = """
ALTER TABLE accounts ADD COLUMN balance_cents bigint;
CREATE PROCEDURE migrate_cents() LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
  LOOP
    UPDATE accounts SET balance_cents = balance * 100
     WHERE id IN (SELECT id FROM accounts WHERE balance_cents IS NULL LIMIT 2000);
    GET DIAGNOSTICS n = ROW_COUNT;
    COMMIT;
    EXIT WHEN n = 0;
    PERFORM pg_sleep(6);
  END LOOP;
END $$;
"""
EXTRA = """  - name: cents_check
    interval: 2s
    sql: SELECT count(*) AS n FROM accounts WHERE balance_cents IS NULL
    metrics:
      - signal: integrity_violations
        static_labels: {check: accounts_without_cents}
        value: n
"""
SCENARIO = dict(
    setup=[APP_SCHEMA, PROC],
    config=config().replace("window:", EXTRA + "window:", 1),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=-5, do="window_open", note="window opened"),
        dict(at=0, note="CALL migrate_cents() (about 65 s)", sql="CALL migrate_cents();"),
        dict(at=100, do="window_close", note="window closed"),
    ],
)
