"""After a migration, one import of a hundred rows fails among thousands of
good ones (a single bad file). A rollback would not help. No page."""
from common import APP_SCHEMA, checkout_traffic, config

BAD = """INSERT INTO app_events (operation, outcome, code, duration_ms)
SELECT 'import', 'failure', '23505', 4 FROM generate_series(1, 100);
"""
GOOD = """INSERT INTO app_events (operation, outcome, duration_ms) SELECT 'import', 'success', 4 FROM generate_series(1, 20);
"""
SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(),
    traffic=[checkout_traffic(), dict(sql=GOOD, rate=10, clients=1)],
    steps=[
        dict(at=0, note="the migration", sql="ALTER TABLE accounts ADD COLUMN imported_at timestamptz;"),
        dict(at=30, note="one bad import", sql=BAD),
    ],
)
