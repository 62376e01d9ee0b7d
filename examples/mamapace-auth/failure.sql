-- The failure path: confirmation e-mails stop arriving (registrations stay
-- unconfirmed), the v2 RPC got slow, and a hot-fix granted anon SELECT on
-- posts: a security incident.
INSERT INTO auth.users (email) SELECT 'new' || g || '@example.com' FROM generate_series(1, 40) g;
UPDATE auth.users SET email_confirmed_at = now() WHERE email IN ('new1@example.com', 'new2@example.com', 'new3@example.com', 'new4@example.com');

CREATE OR REPLACE FUNCTION v2_get_feed(p_limit int) RETURNS SETOF posts LANGUAGE plpgsql STABLE SECURITY DEFINER
AS $$ BEGIN PERFORM pg_sleep(0.6); RETURN QUERY SELECT * FROM posts ORDER BY created_at DESC LIMIT p_limit; END $$;
SELECT count(*) FROM v2_get_feed(10);
SELECT count(*) FROM v2_get_feed(10);
SELECT count(*) FROM v2_get_feed(10);

GRANT SELECT ON posts TO anon;
