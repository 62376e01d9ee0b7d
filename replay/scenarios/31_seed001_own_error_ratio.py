"""Seed 001's own error-ratio threshold, end to end: the exporter's config
gives the operation the seed's v2 RPC numbers (error ratio above 5%, critical
after 5 minutes) and serves them as pgmig_app_operation_threshold; the
shipped rules join them. A migration adds a CHECK constraint (NOT VALID)
that one checkout in six now violates: 17% fail with 23514. Under the
default (25%) that is no alert (as in 23_one_bad_import_among_thousands);
under the seed's 5% it is roll back if it persists."""
from common import APP_SCHEMA, checkout_traffic, config

THRESHOLDS = """thresholds:
  operations:
    checkout: {error_ratio: 0.05, error_ratio_for: 5m, response_seconds: 1, response_for: 5m}
"""

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(extra=THRESHOLDS),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=-5, do="window_open", note="the deploy pipeline opens the window"),
        dict(at=0, note="the migration: a CHECK one account in six now fails",
             sql="ALTER TABLE accounts ADD CONSTRAINT accounts_sixth CHECK (id % 6 <> 0) NOT VALID;"),
        dict(at=30, do="window_close", note="the pipeline closes the window"),
    ],
    expect=[dict(alertname="PgMigOperationErrorRatioHigh", decision="rollback_if_persists", within=270)],
)
