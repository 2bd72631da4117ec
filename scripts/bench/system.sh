#!/usr/bin/env bash
# Debian packages `make bench` needs beyond `make test`'s (scripts/system_packages.sh): wrk
# (HTTP throughput) and the PostgreSQL client tools (pgbench, raw SQL throughput).
# Installed only when missing and when running as root; otherwise says what to install.
set -euo pipefail

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
compgen -G "/usr/lib/postgresql/*/bin/pgbench" >/dev/null || command -v pgbench >/dev/null 2>&1 \
  || missing+=(postgresql-client)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: missing Debian packages: ${missing[*]} (install them as root)" >&2
  exit 1
fi
echo "bench: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
