"""Seed 004, failing: a cleanup job dropped the future partitions and half of
the syncs fail. The missing future partition is a schedule/watch matter, the
failing syncs are rollback_if_persists; nothing is roll back now."""
from common import SYNC_FAILING, SYNC_OK, seed

SCENARIO = seed("mantis-sync", "failure", "@examples/mantis-sync/failure.sql",
                traffic=[dict(sql=SYNC_OK, rate=2, until=0), dict(sql=SYNC_FAILING, rate=2, **{"from": 0})],
                expect=[dict(alertname="PgMigOperationErrorRatioHigh", decision="rollback_if_persists", within=240)],
                allow=[("PgMigOperationSuccessLow", "rollback_if_persists"),
                       ("PgMigFuturePartitionMissing", "schedule_rollback")])
