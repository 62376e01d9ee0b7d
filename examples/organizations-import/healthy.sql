-- The healthy path (after the rollback, or done right the first time): drop
-- the invalid index, remove duplicates, build the index, imports succeed fast.
DROP INDEX CONCURRENTLY IF EXISTS organizations_exact_name_type_active;
DELETE FROM organizations o USING organizations d
 WHERE o.deleted_at IS NULL AND d.deleted_at IS NULL AND o.id > d.id
   AND lower(trim(o.name)) = lower(trim(d.name)) AND o.type = d.type;
CREATE UNIQUE INDEX CONCURRENTLY organizations_exact_name_type_active
    ON organizations (lower(trim(name)), type) WHERE deleted_at IS NULL;

INSERT INTO import_monitoring (session_id, operation_end, records_attempted, records_successful, records_failed, performance_ms)
SELECT gen_random_uuid(), now(), 100, 100, 0, 2 + (g % 3)
FROM generate_series(1, 60) g;

UPDATE system_settings SET import_enabled = true, maintenance_message = NULL WHERE setting_key = 'import_config';
