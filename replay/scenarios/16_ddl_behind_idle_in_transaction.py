"""ALTER TABLE queued for its ACCESS EXCLUSIVE lock behind a session left idle
in transaction; every checkout queues behind the ALTER. Decision: cancel the
DDL (pg_cancel_backend on the ALTER's pid), within 30 s of the queue forming;
on-call does so at 60 s and the checkouts flow again."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(),
    traffic=[checkout_traffic(clients=4)],
    fault_at=10,
    steps=[
        dict(at=0, do="session", id="idle", sql="BEGIN; SELECT balance FROM accounts WHERE id = 1;",
             note="a session goes idle in transaction"),
        dict(at=10, sql="ALTER TABLE accounts ADD COLUMN note text;", note="ALTER queues behind it",
             must_fail=True),
        dict(at=60, note="on-call acts on the page: cancels the DDL",
             sql="SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE accounts ADD COLUMN %' AND pid <> pg_backend_pid();"),
        dict(at=130, do="close", id="idle", note="the idle session ends"),
    ],
    expect=[dict(alertname="PgMigMigrationBlockingTraffic", decision="cancel_ddl", within=30)],
    allow=[("PgMigLockQueueBehindAccessExclusive", "watch"), ("PgMigLongIdleInTransaction", "watch")],
)
