-- The healthy path: anon locked out again (the security incident response),
-- the fast RPC back, and registrations confirmed.
REVOKE ALL ON posts FROM anon;
CREATE OR REPLACE FUNCTION v2_get_feed(p_limit int) RETURNS SETOF posts LANGUAGE sql STABLE SECURITY DEFINER
AS $$ SELECT * FROM posts ORDER BY created_at DESC LIMIT p_limit $$;
SELECT count(*) FROM v2_get_feed(10);
INSERT INTO auth.users (email, email_confirmed_at) SELECT 'ok' || g || '@example.com', now() FROM generate_series(1, 40) g;
