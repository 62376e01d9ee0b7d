-- Runs once, when the compose stack's PostgreSQL initialises its data
-- directory (docker-entrypoint-initdb.d), as the superuser, connected to
-- POSTGRES_DB (app).
--
-- The exporter's role: pg_monitor for the statistics views and pg_locks,
-- pg_read_all_data (PostgreSQL 14+) so the app collectors of examples/ can
-- read the application's tables. The password is a local-only default, like
-- POSTGRES_PASSWORD: never reuse this stack's credentials anywhere else.
CREATE ROLE pgmig LOGIN PASSWORD 'pgmig';
GRANT pg_monitor TO pgmig;
GRANT pg_read_all_data TO pgmig;

-- pg_stat_statements (preloaded through shared_preload_libraries) in the app
-- database and in template1, so a database the replay re-creates has it too.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\connect template1
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
