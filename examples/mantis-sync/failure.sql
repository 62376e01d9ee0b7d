-- The failure path: the future partitions were dropped by a cleanup job (no
-- partition for next month), and syncs start failing.
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'sync_activity_log'::regclass
             AND c.relname <> 'sync_activity_log_' || to_char(now(), 'YYYY_MM') LOOP
    EXECUTE format('DROP TABLE %I', r.relname);
  END LOOP;
END $$;
UPDATE sync_progress SET processed_count = 300, failed_count = 120;
INSERT INTO sync_activity_log (org_id, sync_id, entity_type, action, status, record_count, error_message)
SELECT (SELECT id FROM organization LIMIT 1), 'sync-1', 'product', 'sync_error',
       CASE WHEN g % 10 < 4 THEN 'failed' ELSE 'completed' END::sync_status_type, 10,
       CASE WHEN g % 10 < 4 THEN 'upstream 502' END
FROM generate_series(1, 50) g;
