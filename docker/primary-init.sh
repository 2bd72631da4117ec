#!/bin/sh
# Run once by the postgis image when it creates the primary's cluster (docker/compose.yaml):
# a role that may stream WAL, and the pg_hba entry letting it connect for replication.
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}'"
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
