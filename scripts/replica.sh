#!/usr/bin/env bash
# A local streaming replica (hot standby) of the cluster scripts/db.sh runs, to serve
# REDLINE_READ_DATABASE_URL (see docs/scaling.md).
#   scripts/replica.sh start    base backup (pg_basebackup -R) if there is none, start it, wait
#                               until it takes read-only connections and has replayed all the
#                               primary had written; does nothing more when it already runs
#   scripts/replica.sh stop     stop it (its data stays: the next start streams what it missed)
#   scripts/replica.sh remove   stop it and delete its data directory
#   scripts/replica.sh status   say whether it runs and how far behind the primary it is
# Primary: 127.0.0.1:$REDLINE_PGPORT (55432); replica: 127.0.0.1:$REDLINE_REPLICA_PORT (55532),
# e.g. REDLINE_READ_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55532/redline
set -euo pipefail

PORT="${REDLINE_PGPORT:-55432}"
RPORT="${REDLINE_REPLICA_PORT:-$((PORT + 100))}"
PGVER=15
BIN="/usr/lib/postgresql/${PGVER}/bin"
here="$(cd "$(dirname "$0")/.." && pwd)"
# Seconds to wait for the replica to replay up to the primary's position.
CATCH_UP_S="${REDLINE_REPLICA_CATCH_UP_S:-120}"

# As in scripts/db.sh: as root the cluster belongs to the postgres user.
if [ "$(id -u)" -eq 0 ]; then
  RDATA="${REDLINE_REPLICA_PGDATA:-/var/lib/postgresql/redline-${RPORT}}"
  as_owner() { runuser -u postgres -- "$@"; }
else
  RDATA="${REDLINE_REPLICA_PGDATA:-$here/.pgdata-replica}"
  as_owner() { "$@"; }
fi

say() { echo "replica: $*"; }
die() { echo "replica: $*" >&2; exit "${2:-1}"; }
sql_at() { "$BIN/psql" -X -q -tA -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }
running() { [ -f "$RDATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$RDATA" status >/dev/null 2>&1; }

stop_replica() {
  if running; then
    as_owner "$BIN/pg_ctl" -D "$RDATA" -m fast -w stop >/dev/null
    say "stopped (127.0.0.1:$RPORT)"
  fi
}

base_backup() {
  [ -x "$BIN/pg_basebackup" ] || die "pg_basebackup is missing: install postgresql-${PGVER}" 3
  sql_at "$PORT" "SELECT 1" >/dev/null 2>&1 ||
    die "no primary on 127.0.0.1:$PORT: start it with scripts/db.sh"
  say "base backup of 127.0.0.1:$PORT into $RDATA"
  rm -rf "$RDATA"
  mkdir -p "$RDATA"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$RDATA"; fi
  chmod 700 "$RDATA"
  # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
  # (It warns that it skips the primary's socket, which lives in its data directory.)
  as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$RDATA" -R -X stream \
    -c fast
  # The primary's log and socket lock came along with its data directory.
  rm -f "$RDATA/server.log" "$RDATA"/.s.PGSQL.*
}

start_server() {
  # hot_standby_feedback: a long read here holds back the primary's vacuum instead of being
  # cancelled by the replay of a cleanup.
  as_owner "$BIN/pg_ctl" -D "$RDATA" -l "$RDATA/server.log" -w -t 120 \
    -o "-p $RPORT -k $RDATA -c listen_addresses=127.0.0.1 -c hot_standby=on -c hot_standby_feedback=on" \
    start >/dev/null
}

# Seconds until the replica has replayed all the primary had written when asked; fails after
# CATCH_UP_S (the WAL it needs may be gone from the primary: then a new base backup is needed).
caught_up() {
  local target
  target="$(sql_at "$PORT" "SELECT pg_current_wal_lsn()")"
  for _ in $(seq $((CATCH_UP_S * 5))); do
    [ "$(sql_at "$RPORT" "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn" 2>/dev/null)" = t ] &&
      return 0
    sleep 0.2
  done
  return 1
}

# Whether the replica is a copy of this primary: a primary deleted and created again (a new
# cluster on the same port) leaves a replica of the old one, whose replay position may even
# be ahead of the new primary's and so look caught up.
same_cluster() {
  local query="SELECT system_identifier FROM pg_control_system()"
  [ "$(sql_at "$PORT" "$query")" = "$(sql_at "$RPORT" "$query")" ]
}

start_replica() {
  if [ -f "$RDATA/PG_VERSION" ] && [ ! -f "$RDATA/standby.signal" ]; then
    die "$RDATA holds a cluster that is not a standby: remove it or set REDLINE_REPLICA_PGDATA"
  fi
  [ -f "$RDATA/PG_VERSION" ] || base_backup
  running || start_server
  [ "$(sql_at "$RPORT" "SELECT pg_is_in_recovery()")" = t ] ||
    die "127.0.0.1:$RPORT answers but is not in recovery"
  if ! same_cluster; then
    say "$RDATA is a replica of another cluster: taking a new base backup"
    stop_replica
    base_backup
    start_server
  fi
  # Replay left paused (by a test interrupted while it checked stale reads) would never catch up.
  sql_at "$RPORT" "SELECT pg_wal_replay_resume()" >/dev/null
  if ! caught_up; then
    say "not caught up within ${CATCH_UP_S}s: taking a new base backup"
    stop_replica
    base_backup
    start_server
    caught_up || die "the new replica did not catch up within ${CATCH_UP_S}s; see $RDATA/server.log"
  fi
  say "streaming from 127.0.0.1:$PORT, read-only on 127.0.0.1:$RPORT"
}

case "${1:-start}" in
  start) start_replica ;;
  stop) stop_replica ;;
  remove)
    stop_replica
    rm -rf "$RDATA"
    say "removed $RDATA"
    ;;
  status)
    running || { say "not running"; exit 1; }
    say "running on 127.0.0.1:$RPORT; replayed up to $(sql_at "$RPORT" \
      "SELECT pg_last_wal_replay_lsn()"), primary at $(sql_at "$PORT" "SELECT pg_current_wal_lsn()")"
    ;;
  *) die "usage: scripts/replica.sh [start|stop|remove|status]" 2 ;;
esac
