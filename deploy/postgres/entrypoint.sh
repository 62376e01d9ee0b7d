#!/bin/sh
# Entrypoint of the compose stack's PostgreSQL: prepare the csvlog directory,
# then hand over to the image's own entrypoint (which drops to the postgres
# user). The directory is a named volume shared read-only with the exporter
# at the same path; a fresh named volume is owned by root, so give it to
# postgres and make it (and, through log_file_mode=0644, the log files)
# readable by the exporter's non-root user.
set -eu
log_dir=/var/log/postgresql
mkdir -p "$log_dir"
chown postgres:postgres "$log_dir"
chmod 0755 "$log_dir"
exec docker-entrypoint.sh "$@"
