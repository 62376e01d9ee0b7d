-- The healthy path: partitions three months ahead again, the sync completes.
DO $$ DECLARE m date := date_trunc('month', now())::date; i int; BEGIN
  FOR i IN 1..3 LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS sync_activity_log_%s PARTITION OF sync_activity_log FOR VALUES FROM (%L) TO (%L)',
                   to_char(m + (i || ' months')::interval, 'YYYY_MM'), m + (i || ' months')::interval, m + ((i + 1) || ' months')::interval);
  END LOOP;
END $$;
UPDATE sync_progress SET processed_count = 1000, failed_count = 0;
INSERT INTO sync_activity_log (org_id, sync_id, entity_type, action, status, record_count)
SELECT (SELECT id FROM organization LIMIT 1), 'sync-2', 'order', 'sync_complete', 'completed', 10 FROM generate_series(1, 50) g;
