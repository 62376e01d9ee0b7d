"""Seed 003, failing: idx_users_email_active trips on duplicate e-mails and is
left INVALID; Alembic never records the revision. Roll back now."""
from common import seed

READS = """\\set d random(1, 500)
SELECT count(*) FROM messages WHERE dialog_id = :d;
"""
SCENARIO = seed("replyx-indexes", "failure", "@examples/replyx-indexes/failure.sql",
                traffic=[dict(sql=READS, rate=5)],
                expect=[dict(alertname="PgMigIndexInvalid", decision="rollback_now", within=240)],
                allow=[("PgMigExpectedObjectMissing", "rollback_now")])
