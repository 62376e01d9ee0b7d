"""Seed 000, failing: the unique index trips on duplicates and is left
INVALID, duplicates exist, imports fail with 42P10. Roll back now."""
from common import IMPORT_42P10, IMPORT_OK, seed

SCENARIO = seed("organizations-import", "failure", "@examples/organizations-import/failure.sql",
                traffic=[dict(sql=IMPORT_OK, rate=1, until=0), dict(sql=IMPORT_42P10, rate=1, **{"from": 0})],
                expect=[dict(alertname="PgMigIndexInvalid", decision="rollback_now", within=240)],
                allow=[("PgMigExpectedObjectMissing", "rollback_now"), ("PgMigIntegrityViolation", "rollback_now"),
                       ("PgMigOperationsFailing", "rollback_now"),
                       ("PgMigOperationSuccessLow", "rollback_if_persists"),
                       ("PgMigOperationErrorRatioHigh", "rollback_if_persists")])
