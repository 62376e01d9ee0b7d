-- Seed 001 (Mamapace production migration): Supabase-style auth, posts with
-- row-level security, anon locked out, v2_ RPC functions.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
  -- The RPC signal needs function statistics (superuser only; on Supabase set it in the dashboard).
  EXECUTE format('ALTER DATABASE %I SET track_functions = %L', current_database(), 'all');
END $$;

CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE auth.users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    email_confirmed_at timestamptz,
    last_sign_in_at timestamptz
);

CREATE TABLE posts (id bigserial PRIMARY KEY, author_id bigint REFERENCES auth.users(id), body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE post_reactions (id bigserial PRIMARY KEY, post_id bigint REFERENCES posts(id), user_id bigint, kind text);
CREATE TABLE post_comments (id bigserial PRIMARY KEY, post_id bigint REFERENCES posts(id), user_id bigint, body text);

ALTER TABLE posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE post_reactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE post_comments ENABLE ROW LEVEL SECURITY;
CREATE POLICY posts_read ON posts FOR SELECT TO authenticated USING (true);
CREATE POLICY reactions_read ON post_reactions FOR SELECT TO authenticated USING (true);
CREATE POLICY comments_read ON post_comments FOR SELECT TO authenticated USING (true);
REVOKE ALL ON posts, post_reactions, post_comments FROM anon;
GRANT SELECT ON posts, post_reactions, post_comments TO authenticated;

-- The v2 RPC layer the app calls instead of reading tables as anon.
CREATE FUNCTION v2_get_feed(p_limit int) RETURNS SETOF posts LANGUAGE sql STABLE SECURITY DEFINER
AS $$ SELECT * FROM posts ORDER BY created_at DESC LIMIT p_limit $$;

INSERT INTO auth.users (email, created_at, email_confirmed_at)
SELECT 'old' || g || '@example.com', now() - interval '1 day', now() - interval '1 day' FROM generate_series(1, 20) g;
INSERT INTO posts (author_id, body) SELECT (g % 20) + 1, 'post ' || g FROM generate_series(1, 100) g;
