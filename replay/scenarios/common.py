"""Shared pieces of the replay scenarios: a small application (accounts plus
an app_events table the app writes one row per operation to), the exporter
config that maps app_events onto the decision signals, and the app's
traffic as pgbench scripts.

The app's operation is a function so that a failed statement is recorded as
a failed operation (with its SQLSTATE) instead of ending the pgbench client,
just as an application catches an error and reports it."""

APP_SCHEMA = """
CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, name text, balance bigint NOT NULL DEFAULT 0);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 'name ' || g, 0 FROM generate_series(1, 20000) g;
CREATE TABLE app_events (id bigserial PRIMARY KEY, operation text NOT NULL, outcome text NOT NULL,
                         code text, duration_ms float8 NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION app_checkout(p_id int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  BEGIN
    UPDATE accounts SET balance = balance + 1 WHERE id = p_id;
    INSERT INTO app_events (operation, outcome, duration_ms)
      VALUES ('checkout', 'success', extract(epoch FROM clock_timestamp() - t0) * 1000);
  EXCEPTION WHEN OTHERS THEN
    INSERT INTO app_events (operation, outcome, code, duration_ms)
      VALUES ('checkout', 'failure', SQLSTATE, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END;
END $$;
"""

# The traffic of the app: a checkout per transaction, plus a read of accounts.
CHECKOUT = """\\set id random(1, 20000)
SELECT app_checkout(:id);
SELECT name FROM accounts WHERE id = :id;
"""

COLLECTORS = """collectors:
  expected_objects: {interval: 2s}
  indexes: {interval: 2s}
  frameworks: {interval: 2s}
  progress: {interval: 2s}
"""

APP_COLLECTORS = """app_collectors:
  - name: app_operations
    interval: 1s
    sql: SELECT id, operation, outcome, duration_ms FROM app_events WHERE at < now() - interval '1 second'
    incremental: {column: id}
    metrics:
      - signal: operations
        labels: [operation, outcome]
      - signal: operation_duration
        labels: [operation]
        value: duration_ms
        scale: 0.001
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  - name: app_errors
    interval: 1s
    sql: SELECT id, operation, code FROM app_events WHERE code IS NOT NULL AND at < now() - interval '1 second'
    incremental: {column: id}
    metrics:
      - signal: operation_errors
        labels: [operation, code]
"""

WINDOW = """window:
  api_token_file: {token_file}
"""


def config(expected="", extra=""):
    """The exporter config of an app scenario: fast collectors, the app's
    signals, the window API, and the scenario's expected objects."""
    out = COLLECTORS + APP_COLLECTORS + WINDOW + extra
    if expected:
        out += "expected_objects:\n" + expected
    return out


def checkout_traffic(rate=10, clients=2, **kw):
    return dict(sql=CHECKOUT, rate=rate, clients=clients, **kw)


def seed(example, path, fault_sql, expect=(), allow=(), traffic=(), fault_at=0, steps=()):
    """A scenario played from one of examples/: its schema, its own exporter
    config, its workload as traffic, and its failure.sql or healthy.sql as the
    migration at fault_at."""
    d = f"examples/{example}"
    return dict(
        setup=[f"@{d}/schema.sql"],
        config=f"@{d}/config.yml",
        cwd=d,
        traffic=list(traffic),
        fault_at=fault_at,
        steps=[dict(at=fault_at, sql=fault_sql, note=f"{example} {path}", may_fail=True)] + list(steps),
        expect=list(expect),
        allow=list(allow),
    )


IMPORT_OK = """INSERT INTO import_monitoring (session_id, operation_end, records_attempted, records_successful, records_failed, performance_ms)
VALUES (gen_random_uuid(), now(), 100, 100, 0, 3);
"""
IMPORT_42P10 = """INSERT INTO import_monitoring (session_id, operation_end, records_attempted, records_successful, records_failed, error_code, performance_ms)
VALUES (gen_random_uuid(), now(), 100, 0, 100, '42P10', 900);
"""
REGISTRATION_OK = """INSERT INTO auth.users (email, email_confirmed_at) VALUES ('t' || md5(random()::text) || '@example.com', now());
"""
REGISTRATION_UNCONFIRMED = """INSERT INTO auth.users (email) VALUES ('t' || md5(random()::text) || '@example.com');
"""
SYNC_OK = """INSERT INTO sync_activity_log (org_id, sync_id, entity_type, action, status, record_count)
SELECT id, 'live', 'product', 'sync_complete', 'completed', 10 FROM organization LIMIT 1;
"""
SYNC_FAILING = """INSERT INTO sync_activity_log (org_id, sync_id, entity_type, action, status, record_count, error_message)
SELECT id, 'live', 'product', 'sync_error', CASE WHEN random() < 0.5 THEN 'failed' ELSE 'completed' END::sync_status_type, 10, 'upstream 502'
FROM organization LIMIT 1;
"""
