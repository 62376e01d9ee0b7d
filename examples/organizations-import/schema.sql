-- Seed 000 (Organizations Import Fix, PostgreSQL 42P10): the application's
-- tables in their real shape, before the migration.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE organizations (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    type text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- The monitoring table of the runbook, as the app fills it.
CREATE TABLE import_monitoring (
    id SERIAL PRIMARY KEY,
    session_id UUID NOT NULL,
    operation_start TIMESTAMP DEFAULT NOW(),
    operation_end TIMESTAMP,
    records_attempted INTEGER,
    records_successful INTEGER,
    records_failed INTEGER,
    error_code TEXT,
    error_message TEXT,
    performance_ms NUMERIC
);
CREATE INDEX IF NOT EXISTS idx_import_monitoring_session ON import_monitoring(session_id, operation_start);

-- Phase 1 of the rollback flips this flag.
CREATE TABLE system_settings (
    setting_key text PRIMARY KEY,
    import_enabled boolean NOT NULL DEFAULT true,
    maintenance_message text
);
INSERT INTO system_settings (setting_key) VALUES ('import_config');

INSERT INTO organizations (name, type)
SELECT 'Org ' || g, CASE WHEN g % 3 = 0 THEN 'partner' ELSE 'customer' END FROM generate_series(1, 500) g;
