#!/usr/bin/env bash
# The API (REDLINE_API_WORKERS uvicorn processes, default one per core) and its job-queue
# workers (`redline worker`, REDLINE_QUEUE_WORKERS of them), started and stopped together:
# Ctrl-C, SIGTERM or any one of them exiting stops them all.
# Usage: DATABASE_URL=... scripts/run.sh [BIN_DIR] [HOST] [PORT]
set -euo pipefail
bin=${1:-.venv/bin}
host=${2:-127.0.0.1}
port=${3:-8000}
read -r workers api_workers < <("$bin/python" -c \
  'from app.config import get_settings as g; s = g(); print(s.queue_workers, s.api_processes)')
pids=()

stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT INT TERM

for _ in $(seq "$workers"); do
  "$bin/redline" worker &
  pids+=($!)
done
echo "Redline: API on http://$host:$port/ ($api_workers process(es)) with $workers job worker(s)"
# --no-access-log: the app logs every request once, as JSON with its request id
# (app/api/logging.py); uvicorn's own line would be a second one per request.
"$bin/uvicorn" app.api.main:app --host "$host" --port "$port" --workers "$api_workers" \
  --no-access-log &
pids+=($!)
wait -n
