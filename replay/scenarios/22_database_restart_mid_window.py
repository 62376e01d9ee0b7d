"""The database server restarts (immediate shutdown, 70 s down) in the middle
of a migration window. You cannot roll back a database that is down: the page
is an incident (investigate), never roll back now."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(),
    traffic=[checkout_traffic()],
    fault_at=10,
    steps=[
        dict(at=0, do="window_open", note="window opened"),
        dict(at=10, do="restart_postgres", down=70, note="server down for 70 s"),
        dict(at=150, do="window_close", note="window closed"),
    ],
    expect=[dict(alertname="PgMigTargetDown", decision="investigate", within=120)],
    allow=[("PgMigCollectorFailing", "watch")],
)
