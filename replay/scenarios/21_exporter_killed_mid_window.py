"""The exporter is killed (SIGKILL) in the middle of a migration window and
comes back 90 s later. Flying blind during a migration is an incident: page
investigate while it is gone."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(),
    traffic=[checkout_traffic()],
    fault_at=10,
    steps=[
        dict(at=0, do="window_open", note="window opened"),
        dict(at=10, do="kill_exporter", note="exporter killed"),
        dict(at=100, do="start_exporter", note="exporter back"),
        dict(at=120, do="window_close", note="window closed"),
    ],
    expect=[dict(alertname="PgMigExporterAbsent", decision="investigate", within=120)],
)
