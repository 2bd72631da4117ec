#!/bin/sh
# The replica service of docker/compose.yaml: on first start copy the primary with
# pg_basebackup -R (it then streams WAL from it), and run as a read-only hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -U "$POSTGRES_USER" -d "$POSTGRES_DB"; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h "$PRIMARY_HOST" -U replicator \
    -D "$PGDATA" -R -X stream -c fast
fi
chmod 700 "$PGDATA"
# hot_standby_feedback: a long read here delays the primary's vacuum rather than being cancelled.
exec postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on
