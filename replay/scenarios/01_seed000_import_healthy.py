"""Seed 000 (organizations import fix), done right: duplicates removed, the
unique index built CONCURRENTLY, imports keep succeeding. No page."""
from common import IMPORT_OK, seed

SCENARIO = seed("organizations-import", "healthy", "@examples/organizations-import/healthy.sql",
                traffic=[dict(sql=IMPORT_OK, rate=1)])
