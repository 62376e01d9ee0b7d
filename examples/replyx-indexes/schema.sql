-- Seed 003 (ReplyX database optimization): the tables before migration
-- 803b93aca2d2, which adds 35 indexes (and, where pgvector exists, an
-- ivfflat index on knowledge_embeddings). Alembic tracks the revision.
DO $$ BEGIN
  CREATE EXTENSION IF NOT EXISTS vector;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pgvector is not available (Debian package postgresql-15-pgvector not installed): knowledge_embeddings.embedding is float8[] and the ivfflat index is skipped';
END $$;

CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version VALUES ('202508230001');

CREATE TABLE users (id serial PRIMARY KEY, email text, is_active boolean, created_at timestamptz DEFAULT now());
CREATE TABLE assistants (id serial PRIMARY KEY, user_id int, is_active boolean, name text, created_at timestamptz DEFAULT now());
CREATE TABLE dialogs (id serial PRIMARY KEY, assistant_id int, user_id int, started_at timestamptz DEFAULT now(), status text);
CREATE TABLE messages (id serial PRIMARY KEY, dialog_id int, sender text, "timestamp" timestamptz DEFAULT now(), text text);
CREATE TABLE documents (id serial PRIMARY KEY, user_id int, upload_date timestamptz DEFAULT now(), filename text);
CREATE TABLE user_knowledge (id serial PRIMARY KEY, user_id int, assistant_id int, importance int, content text);
CREATE TABLE knowledge_embeddings (id serial PRIMARY KEY, assistant_id int, importance int, doc_id int, chunk_text text);
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    EXECUTE 'ALTER TABLE knowledge_embeddings ADD COLUMN embedding vector(3)';
  ELSE
    EXECUTE 'ALTER TABLE knowledge_embeddings ADD COLUMN embedding float8[]';
  END IF;
END $$;

INSERT INTO users (email, is_active) SELECT 'u' || g || '@x', g % 5 <> 0 FROM generate_series(1, 200) g;
INSERT INTO assistants (user_id, is_active, name) SELECT (g % 200) + 1, true, 'a' || g FROM generate_series(1, 100) g;
INSERT INTO dialogs (assistant_id, user_id, status) SELECT (g % 100) + 1, (g % 200) + 1, 'open' FROM generate_series(1, 500) g;
INSERT INTO messages (dialog_id, sender, text) SELECT (g % 500) + 1, 'user', 'hi' FROM generate_series(1, 2000) g;
INSERT INTO documents (user_id, filename) SELECT (g % 200) + 1, 'f' || g FROM generate_series(1, 100) g;
INSERT INTO user_knowledge (user_id, assistant_id, importance) SELECT (g % 200) + 1, (g % 100) + 1, g % 10 FROM generate_series(1, 300) g;
INSERT INTO knowledge_embeddings (assistant_id, importance, doc_id) SELECT (g % 100) + 1, g % 10, g FROM generate_series(1, 300) g;
-- Two users with one e-mail: the migration's unique index will trip on them.
UPDATE users SET email = 'dup@x' WHERE id IN (7, 8);
