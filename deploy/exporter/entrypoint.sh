#!/usr/bin/env bash
# Entrypoint of the compose stack's exporter: the chosen example's config
# (PGMIG_EXAMPLE_CONFIG) with the stack's own sections appended
# (PGMIG_STACK_CONFIG: server_log, following PostgreSQL's csvlog), written to
# PGMIG_COMBINED_CONFIG and passed on as PGMIG_CONFIG_FILE. Arguments go to
# the exporter (tests/compose.rs runs this script with --check-config).
set -euo pipefail
out="${PGMIG_COMBINED_CONFIG:-/tmp/pgmig-config.yml}"
{
    cat "${PGMIG_EXAMPLE_CONFIG:?the example config file}"
    printf '\n'
    cat "${PGMIG_STACK_CONFIG:?the stack config file}"
} > "$out"
export PGMIG_CONFIG_FILE="$out"
exec pg_migration_exporter "$@"
