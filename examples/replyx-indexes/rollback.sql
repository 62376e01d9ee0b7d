-- Rollback Level 2 (alembic downgrade 202508230001): drop the indexes again.
DROP INDEX CONCURRENTLY IF EXISTS idx_knowledge_embeddings_ivfflat;
DROP INDEX CONCURRENTLY IF EXISTS idx_messages_dialog_timestamp;
DROP INDEX CONCURRENTLY IF EXISTS idx_assistants_user_active_created;
DROP INDEX CONCURRENTLY IF EXISTS idx_dialogs_assistant_started;
DROP INDEX CONCURRENTLY IF EXISTS idx_embeddings_assistant_importance;
DROP INDEX CONCURRENTLY IF EXISTS idx_users_email_active;
DROP INDEX CONCURRENTLY IF EXISTS idx_documents_user_upload_date;
DROP INDEX CONCURRENTLY IF EXISTS idx_user_knowledge_assistant_importance;
UPDATE alembic_version SET version_num = '202508230001';
