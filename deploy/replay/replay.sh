#!/usr/bin/env bash
# migration-replay: the one-shot service of docker-compose.yml. Plays one of
# the seed migrations of examples/ against the stack's PostgreSQL with psql:
#
#   1. loads <example>/schema.sql into the application database (a fresh one
#      when it already holds tables), then marks itself healthy, which lets the
#      exporter start;
#   2. waits until the exporter is ready, then a warm-up (a healthy baseline);
#   3. plays <example>/failure.sql: the rollback signals fire;
#   4. optionally plays a lock-contention episode (a long transaction, an
#      ALTER TABLE queued for its ACCESS EXCLUSIVE lock, readers queued
#      behind the ALTER) so the lock panels have something to show;
#   5. after the pause, plays <example>/healthy.sql: the signals clear.
#
# Environment (defaults in brackets):
#   PGMIG_EXAMPLE              example directory name [organizations-import]
#   PGMIG_EXAMPLES_DIR         where examples/ is mounted [/examples]
#   PGMIG_APP_DB               the application database [app]
#   PGMIG_EXPORTER             exporter host:port to wait for [exporter:9786]
#   PGMIG_REPLAY_WARMUP        seconds between schema and failure [30]
#   PGMIG_REPLAY_PAUSE         seconds between failure and healthy [180]
#   PGMIG_REPLAY_LOCKS         1 to play the lock-contention episode [1]
#   PGMIG_REPLAY_READY_FILE    touched once the schema is loaded (the health
#                              check) [/tmp/pgmig-schema-loaded]
#   PGHOST, PGPORT, PGUSER, PGPASSWORD   libpq's, for psql (a superuser)
#
# Run it again with `docker compose run --rm migration-replay` (the database
# is re-created first; the exporter reconnects by itself).
set -uo pipefail

example="${PGMIG_EXAMPLE:-organizations-import}"
examples_dir="${PGMIG_EXAMPLES_DIR:-/examples}"
db="${PGMIG_APP_DB:-app}"
exporter="${PGMIG_EXPORTER:-exporter:9786}"
warmup="${PGMIG_REPLAY_WARMUP:-30}"
pause="${PGMIG_REPLAY_PAUSE:-180}"
locks="${PGMIG_REPLAY_LOCKS:-1}"
dir="$examples_dir/$example"

log() { printf '%s migration-replay: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*"; exit 1; }
psql_db() { psql -X -q -v ON_ERROR_STOP=0 -d "$db" "$@"; }

for f in schema.sql failure.sql healthy.sql; do
    [ -f "$dir/$f" ] || die "no $dir/$f (PGMIG_EXAMPLE=$example; examples: $(ls "$examples_dir" 2>/dev/null | tr '\n' ' '))"
done

log "waiting for PostgreSQL at ${PGHOST:-localhost}:${PGPORT:-5432}"
for _ in $(seq 1 120); do
    pg_isready -q -d postgres && break
    sleep 1
done
pg_isready -q -d postgres || die "PostgreSQL is not ready"

# The schema goes in before the exporter starts (docker-compose.yml: the
# exporter waits for this service's health check, the marker file below):
# app collectors querying tables that do not exist yet would fail, and
# PostgreSQL would log (and the exporter count) their 42P01 errors.
# A database that already holds tables was replayed before: the schema is
# loaded into ${db}_next, which then replaces it, so the exporter never sees
# a database without the tables (only, briefly, no database at all).
used=$(psql -X -qtA -d "$db" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'" 2>/dev/null || echo missing)
if [ "$used" = "0" ]; then
    load_db="$db"
else
    load_db="${db}_next"
    log "database $db holds $used tables: loading into $load_db, which then replaces it"
    psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$load_db\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$load_db\"" || die "cannot create database $load_db"
fi
psql -X -q -d "$load_db" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1
log "[$example] loading schema.sql into $load_db"
psql -X -q -v ON_ERROR_STOP=0 -d "$load_db" -f "$dir/schema.sql" >/dev/null || log "schema.sql reported errors (see above)"
if [ "$load_db" != "$db" ]; then
    psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
        -c "ALTER DATABASE \"$load_db\" RENAME TO \"$db\"" || die "cannot replace database $db"
fi
touch "${PGMIG_REPLAY_READY_FILE:-/tmp/pgmig-schema-loaded}" 2>/dev/null || true

log "waiting for the exporter at http://$exporter/readyz"
host="${exporter%:*}"
port="${exporter##*:}"
ready=0
for _ in $(seq 1 120); do
    if timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'GET /readyz HTTP/1.0\r\nHost: $host\r\n\r\n' >&3 && head -n1 <&3 | grep -q ' 200 '" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 1
done
[ "$ready" = 1 ] || log "the exporter is not ready; replaying anyway"

log "[$example] healthy baseline for ${warmup}s"
sleep "$warmup"

log "[$example] playing failure.sql: the rollback signals fire"
psql_db -f "$dir/failure.sql" >/dev/null 2>&1
log "[$example] failure path played (its errors are part of the scenario)"
start=$(date +%s)

if [ "$locks" = 1 ]; then
    log "lock contention: a long transaction holds public.pgmig_replay_orders, ALTER TABLE queues for ACCESS EXCLUSIVE, readers queue behind it"
    psql_db -c "CREATE TABLE IF NOT EXISTS public.pgmig_replay_orders (id bigserial PRIMARY KEY, customer text, total numeric)" \
        -c "INSERT INTO public.pgmig_replay_orders (customer, total) SELECT 'customer ' || g % 100, g % 97 FROM generate_series(1, 20000) g" >/dev/null
    PGAPPNAME=replay-report psql_db -c "BEGIN; SELECT count(*) FROM public.pgmig_replay_orders; SELECT pg_sleep(45); COMMIT;" >/dev/null 2>&1 &
    sleep 1
    PGAPPNAME=replay-migration psql_db -c "ALTER TABLE public.pgmig_replay_orders ADD COLUMN IF NOT EXISTS note text" >/dev/null 2>&1 &
    sleep 1
    for i in 1 2 3; do
        PGAPPNAME=replay-app psql_db -c "SELECT count(*) FROM public.pgmig_replay_orders WHERE customer = 'customer $i'" >/dev/null 2>&1 &
    done
    wait
    log "lock contention over"
fi

left=$(( pause - ($(date +%s) - start) ))
if [ "$left" -gt 0 ]; then
    log "[$example] pause: ${left}s before the healthy path"
    sleep "$left"
fi

log "[$example] playing healthy.sql: the signals clear"
psql_db -f "$dir/healthy.sql" >/dev/null 2>&1
log "[$example] done"
