"""Seed 002 (OmniOps organization_id backfill), healthy: every row
backfilled, the dead customer_id column dropped. No page."""
from common import seed

READS = """\\set c random(1, 300)
SELECT * FROM conversations WHERE id = :c;
SELECT count(*) FROM messages WHERE conversation_id = :c;
"""
SCENARIO = seed("omniops-backfill", "healthy", "@examples/omniops-backfill/healthy.sql",
                traffic=[dict(sql=READS, rate=5)])
