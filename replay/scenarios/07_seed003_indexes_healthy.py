"""Seed 003 (ReplyX 35 indexes, each CONCURRENTLY), healthy: the duplicate
cleaned first, every index built, the revision recorded. No page."""
from common import seed

READS = """\\set d random(1, 500)
SELECT count(*) FROM messages WHERE dialog_id = :d;
SELECT count(*) FROM dialogs WHERE assistant_id = :d % 100 + 1;
"""
SCENARIO = seed("replyx-indexes", "healthy", "@examples/replyx-indexes/healthy.sql",
                traffic=[dict(sql=READS, rate=5)])
