"""ALTER TABLE queued behind a long report query (an active SELECT over the
table); traffic queues behind the ALTER. Decision: cancel the DDL within 30 s;
on-call does so at 60 s and the checkouts flow again."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(),
    traffic=[checkout_traffic(clients=4)],
    fault_at=10,
    steps=[
        dict(at=0, sql="SELECT count(*), pg_sleep(140) FROM accounts WHERE id < 10;", note="a 140 s report", may_fail=True),
        dict(at=10, sql="ALTER TABLE accounts ADD COLUMN note2 text;", note="ALTER queues behind it",
             must_fail=True),
        dict(at=60, note="on-call acts on the page: cancels the DDL",
             sql="SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE accounts ADD COLUMN %' AND pid <> pg_backend_pid();"),
    ],
    expect=[dict(alertname="PgMigMigrationBlockingTraffic", decision="cancel_ddl", within=30)],
    allow=[("PgMigLockQueueBehindAccessExclusive", "watch"), ("PgMigLongTransaction", "watch")],
)
