-- The failure path: duplicates the migration did not clean up make the
-- unique index fail (23505) and leave it INVALID; imports keep failing
-- with 42P10 (ON CONFLICT has no matching unique index), and slowly.
INSERT INTO organizations (name, type) VALUES ('Acme', 'customer'), ('acme ', 'customer'), ('ACME', 'customer');

CREATE UNIQUE INDEX CONCURRENTLY organizations_exact_name_type_active
    ON organizations (lower(trim(name)), type) WHERE deleted_at IS NULL;

INSERT INTO import_monitoring (session_id, operation_end, records_attempted, records_successful, records_failed, error_code, error_message, performance_ms)
SELECT gen_random_uuid(), now(), 100,
       CASE WHEN g % 10 < 7 THEN 0 ELSE 100 END,
       CASE WHEN g % 10 < 7 THEN 100 ELSE 0 END,
       CASE WHEN g % 10 < 7 THEN '42P10' END,
       CASE WHEN g % 10 < 7 THEN 'there is no unique or exclusion constraint matching the ON CONFLICT specification' END,
       800 + (g % 7) * 100
FROM generate_series(1, 40) g;

-- Phase 1 of the rollback: stop new imports.
UPDATE system_settings SET import_enabled = false, maintenance_message = 'Import system temporarily unavailable' WHERE setting_key = 'import_config';
