#!/usr/bin/env bash
# Ensure a local PostgreSQL 15 + PostGIS 3 cluster owned by this project is running,
# and that the named databases exist. Skipped entirely when DATABASE_URL is set.
#   scripts/db.sh DBNAME [DBNAME ...]
set -euo pipefail

PORT="${REDLINE_PGPORT:-55432}"
PGVER=15
BIN="/usr/lib/postgresql/${PGVER}/bin"
POSTGIS_CONTROL="/usr/share/postgresql/${PGVER}/extension/postgis.control"
here="$(cd "$(dirname "$0")/.." && pwd)"

if [ -n "${DATABASE_URL:-}" ]; then
  echo "db: DATABASE_URL is set; using it, no local cluster started"
  exit 0
fi

is_root() { [ "$(id -u)" -eq 0 ]; }

install_packages() {
  if [ -x "$BIN/initdb" ] && [ -f "$POSTGIS_CONTROL" ]; then return; fi
  if ! is_root; then
    echo "db: PostgreSQL ${PGVER} + PostGIS 3 are missing; install postgresql-${PGVER}-postgis-3" \
      "(as root: apt-get install postgresql-${PGVER} postgresql-${PGVER}-postgis-3) or set DATABASE_URL" >&2
    exit 1
  fi
  echo "db: installing PostgreSQL ${PGVER} + PostGIS 3 with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    "postgresql-${PGVER}" "postgresql-${PGVER}-postgis-3" >/dev/null
}

# PostgreSQL refuses to run as root: as root the cluster belongs to the postgres user and
# lives where that user can reach it; otherwise it lives in the checkout.
if is_root; then
  DATA="${REDLINE_PGDATA:-/var/lib/postgresql/redline-${PORT}}"
  as_owner() { runuser -u postgres -- "$@"; }
else
  DATA="${REDLINE_PGDATA:-$here/.pgdata}"
  as_owner() { "$@"; }
fi

install_packages

if [ ! -f "$DATA/PG_VERSION" ]; then
  echo "db: creating cluster in $DATA (port $PORT)"
  mkdir -p "$DATA"
  if is_root; then chown postgres:postgres "$DATA"; fi
  chmod 700 "$DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >/dev/null
fi

# A replica's data folder (scripts/replica.sh puts one at port + 100) is read-only: refuse it.
if [ -f "$DATA/standby.signal" ]; then
  echo "db: $DATA holds a streaming replica (read-only), not a primary: choose another" \
    "REDLINE_PGPORT or REDLINE_PGDATA" >&2
  exit 1
fi

# Streaming replicas (scripts/replica.sh) connect over TCP with the replication protocol.
hba_changed=""
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' \
  "$DATA/pg_hba.conf"; then
  echo "host replication all 127.0.0.1/32 trust" | as_owner tee -a "$DATA/pg_hba.conf" >/dev/null
  hba_changed=1
fi

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  echo "db: starting PostgreSQL on 127.0.0.1:$PORT"
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c wal_level=replica -c max_wal_senders=10" \
    start >/dev/null
elif [ -n "$hba_changed" ]; then
  as_owner "$BIN/pg_ctl" -D "$DATA" reload >/dev/null
fi

psql_admin() { "$BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
for db in "$@"; do
  if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    psql_admin -c "CREATE DATABASE \"$db\""
  fi
  PGOPTIONS="-c client_min_messages=warning" "$BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d "$db" \
    -c "CREATE EXTENSION IF NOT EXISTS postgis"
done
echo "db: PostgreSQL ready on 127.0.0.1:$PORT ($*)"
