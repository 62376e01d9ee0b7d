"""After a migration the app's checkouts stop entirely (every call now fails
before it reaches the database, so nothing is recorded): the operation falls
to zero while its baseline was busy. Seed 001's "zero registrations". Roll
back if it persists."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(),
    traffic=[checkout_traffic(until=5)],
    fault_at=5,
    steps=[
        dict(at=-5, do="window_open", note="the deploy pipeline opens the window"),
        dict(at=0, note="the migration", sql="ALTER TABLE accounts ADD COLUMN region text;"),
        dict(at=30, do="window_close", note="the pipeline closes the window"),
    ],
    expect=[dict(alertname="PgMigOperationTrafficCollapsed", decision="rollback_if_persists", within=240)],
)
