"""Seed 001, failing: a hot-fix grants anon SELECT on posts (data exposed)
and registrations stop being confirmed. Roll back now (security)."""
from common import REGISTRATION_OK, REGISTRATION_UNCONFIRMED, seed

SCENARIO = seed("mamapace-auth", "failure", "@examples/mamapace-auth/failure.sql",
                traffic=[dict(sql=REGISTRATION_OK, rate=2, until=0),
                         dict(sql=REGISTRATION_UNCONFIRMED, rate=2, **{"from": 0})],
                expect=[dict(alertname="PgMigSecurityStateViolated", decision="rollback_now", within=150)],
                allow=[("PgMigOperationsFailing", "rollback_now"), ("PgMigOperationSuccessLow", "rollback_if_persists")])
