-- The healthy path: clean the duplicate, rebuild the failed index, record the revision.
DROP INDEX CONCURRENTLY IF EXISTS idx_users_email_active;
UPDATE users SET email = 'u8@x' WHERE id = 8;
\ir migration.sql
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    EXECUTE 'CREATE INDEX IF NOT EXISTS idx_knowledge_embeddings_ivfflat ON knowledge_embeddings USING ivfflat (embedding vector_l2_ops) WITH (lists = 1)';
  ELSE
    RAISE NOTICE 'pgvector is not available: idx_knowledge_embeddings_ivfflat skipped';
  END IF;
END $$;
UPDATE alembic_version SET version_num = '803b93aca2d2';
