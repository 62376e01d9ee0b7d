-- Seed 004 (Mantis migration 0024): sync preview cache, progress and a
-- monthly-partitioned activity log, with enums, RLS (4 policies a table)
-- and triggers. Partitions are made relative to today so the example keeps
-- working: this month, the next three, and a catch-all future partition.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE organization (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text);
CREATE TABLE auth.users_extended (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), org_id uuid REFERENCES organization(id));
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

CREATE TYPE sync_type AS ENUM ('woocommerce', 'odoo', 'shopify', 'custom');
CREATE TYPE sync_action AS ENUM ('preview_delta', 'sync_start', 'sync_complete', 'sync_error');
CREATE TYPE sync_entity_type AS ENUM ('customer', 'product', 'order', 'invoice');
CREATE TYPE sync_status_type AS ENUM ('pending', 'in_progress', 'completed', 'failed', 'completed_with_errors');

CREATE TABLE sync_preview_cache (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), org_id uuid REFERENCES organization(id), sync_type sync_type,
    sync_id varchar(255), delta_json jsonb, computed_at timestamptz DEFAULT now(),
    expires_at timestamptz DEFAULT now() + interval '1 hour', computed_by uuid, cache_key varchar(255) UNIQUE,
    created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
CREATE TABLE sync_progress (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), org_id uuid REFERENCES organization(id), sync_id varchar(255),
    job_id varchar(255), entity_type sync_entity_type, current_item integer DEFAULT 0, total_items integer DEFAULT 0,
    processed_count integer DEFAULT 0, failed_count integer DEFAULT 0, speed_items_per_min numeric, eta_seconds integer,
    elapsed_seconds integer, started_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
    completed_at timestamptz, source_system varchar(50), batch_number integer, metadata jsonb, initiated_by uuid,
    UNIQUE (org_id, sync_id));
CREATE TABLE sync_activity_log (
    id uuid NOT NULL DEFAULT gen_random_uuid(), org_id uuid, sync_id varchar(255), entity_type sync_entity_type,
    action sync_action, status sync_status_type, record_count integer, duration_seconds numeric,
    error_message text, user_id uuid, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
DO $$ DECLARE m date := date_trunc('month', now())::date; i int; BEGIN
  FOR i IN 0..3 LOOP
    EXECUTE format('CREATE TABLE sync_activity_log_%s PARTITION OF sync_activity_log FOR VALUES FROM (%L) TO (%L)',
                   to_char(m + (i || ' months')::interval, 'YYYY_MM'), m + (i || ' months')::interval, m + ((i + 1) || ' months')::interval);
  END LOOP;
  EXECUTE format('CREATE TABLE sync_activity_log_future PARTITION OF sync_activity_log FOR VALUES FROM (%L) TO (MAXVALUE)', m + interval '4 months');
END $$;
CREATE INDEX ON sync_activity_log (org_id, created_at);
CREATE INDEX ON sync_progress (org_id, completed_at);

-- Triggers: elapsed time, speed, ETA, completion, activity log.
CREATE FUNCTION sync_progress_calc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  NEW.elapsed_seconds := extract(epoch FROM now() - NEW.started_at)::int;
  NEW.updated_at := now();
  IF NEW.elapsed_seconds > 0 THEN NEW.speed_items_per_min := NEW.processed_count * 60.0 / NEW.elapsed_seconds; END IF;
  IF NEW.speed_items_per_min > 0 THEN NEW.eta_seconds := ((NEW.total_items - NEW.processed_count) * 60.0 / NEW.speed_items_per_min)::int; END IF;
  IF NEW.total_items > 0 AND NEW.processed_count >= NEW.total_items AND NEW.completed_at IS NULL THEN NEW.completed_at := now(); END IF;
  RETURN NEW; END $$;
CREATE TRIGGER sync_progress_elapsed BEFORE UPDATE ON sync_progress FOR EACH ROW EXECUTE FUNCTION sync_progress_calc();
CREATE FUNCTION sync_progress_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF NEW.completed_at IS NOT NULL AND OLD.completed_at IS NULL THEN
    INSERT INTO sync_activity_log (org_id, sync_id, entity_type, action, status, record_count)
    VALUES (NEW.org_id, NEW.sync_id, NEW.entity_type, 'sync_complete', 'completed', NEW.processed_count);
  END IF; RETURN NEW; END $$;
CREATE TRIGGER sync_progress_activity AFTER UPDATE ON sync_progress FOR EACH ROW EXECUTE FUNCTION sync_progress_log();
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER sync_preview_cache_touch BEFORE UPDATE ON sync_preview_cache FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- RLS: four policies a table, organization-based isolation.
DO $$ DECLARE t text; BEGIN
  FOREACH t IN ARRAY ARRAY['sync_preview_cache', 'sync_progress', 'sync_activity_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (EXISTS (SELECT 1 FROM auth.users_extended u WHERE u.id = auth.uid() AND u.org_id = %I.org_id))', t || '_select', t, t);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM auth.users_extended u WHERE u.id = auth.uid() AND u.org_id = %I.org_id))', t || '_insert', t, t);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (EXISTS (SELECT 1 FROM auth.users_extended u WHERE u.id = auth.uid() AND u.org_id = %I.org_id))', t || '_update', t, t);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (EXISTS (SELECT 1 FROM auth.users_extended u WHERE u.id = auth.uid() AND u.org_id = %I.org_id))', t || '_delete', t, t);
  END LOOP;
END $$;

INSERT INTO organization (name) VALUES ('acme');
INSERT INTO sync_progress (org_id, sync_id, job_id, entity_type, total_items, processed_count, started_at)
SELECT id, 'sync-1', 'job-1', 'product', 1000, 0, now() - interval '10 minutes' FROM organization;
