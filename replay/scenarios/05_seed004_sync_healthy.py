"""Seed 004 (Mantis sync tables), healthy: partitions three months ahead, the
sync completes. No page."""
from common import SYNC_OK, seed

SCENARIO = seed("mantis-sync", "healthy", "@examples/mantis-sync/healthy.sql",
                traffic=[dict(sql=SYNC_OK, rate=2)])
