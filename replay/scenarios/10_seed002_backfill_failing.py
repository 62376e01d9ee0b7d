"""Seed 002, failing: the backfill stopped part-way (conversations without
organization_id) and the dead column was not dropped. Roll back now
(integrity)."""
from common import seed

READS = """\\set c random(1, 300)
SELECT * FROM conversations WHERE id = :c;
"""
SCENARIO = seed("omniops-backfill", "failure", "@examples/omniops-backfill/failure.sql",
                traffic=[dict(sql=READS, rate=5)],
                expect=[dict(alertname="PgMigIntegrityViolation", decision="rollback_now", within=240)],
                allow=[("PgMigUnexpectedObjectPresent", "rollback_now")])
