#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster, then stop the cluster and delete it.
#   scripts/pg.sh COMMAND [ARGS...]   starts a cluster on a free 127.0.0.1 port (data and unix socket in a temp
#                                     folder, fsync off), creates database dance_portal, runs COMMAND with
#                                     DATABASE_URL=postgres://postgres@127.0.0.1:<port>/dance_portal and exits with
#                                     COMMAND's status; PG_SH_BINDIR, PG_SH_DATA, PG_SH_OPTIONS and PG_SH_LOG let
#                                     COMMAND stop and start the server (make prod-check takes the database away)
#   scripts/pg.sh --bindir            prints the folder of the PostgreSQL (>= 15) server programs, or exits 1
# PostgreSQL refuses to run as root, so as root the server programs run as the `postgres` user.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
minimum_major=15 # the oldest PostgreSQL that Django 6.1 supports

find_bindir() {
  local candidates=() dir major
  if command -v pg_config >/dev/null 2>&1; then candidates+=("$(pg_config --bindir)"); fi
  # Debian/Ubuntu keep the server programs off PATH, one folder per major version; newest first.
  while IFS= read -r dir; do candidates+=("$dir"); done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV)
  if command -v initdb >/dev/null 2>&1; then candidates+=("$(dirname "$(command -v initdb)")"); fi
  for dir in ${candidates[@]+"${candidates[@]}"}; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] || continue
    major=$("$dir/initdb" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
    if [ "$major" -ge "$minimum_major" ] 2>/dev/null; then echo "$dir"; return 0; fi
  done
  return 1
}

if [ "${1:-}" = "--bindir" ]; then
  find_bindir
  exit
fi
[ $# -gt 0 ] || { echo "usage: scripts/pg.sh COMMAND [ARGS...] | --bindir" >&2; exit 2; }

if ! bindir=$(find_bindir); then
  echo "ERROR: no PostgreSQL >= $minimum_major server programs (initdb, pg_ctl) found via pg_config, in" \
    "/usr/lib/postgresql/*/bin or on PATH. Install them, e.g. apt-get install postgresql-15." >&2
  exit 1
fi

# As root, run the server programs as `postgres` (from a folder it may enter).
as_server_user() {
  if [ "$(id -u)" -ne 0 ]; then
    (cd /tmp && "$@")
  elif command -v runuser >/dev/null 2>&1; then
    (cd /tmp && runuser -u postgres -- "$@")
  else
    (cd /tmp && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
  fi
}
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "ERROR: running as root, but PostgreSQL refuses to run as root and there is no 'postgres' user to run it as." >&2
  exit 1
fi

# /tmp, not $TMPDIR: the postgres user must reach it and a unix socket path must stay short.
tmp=$(mktemp -d /tmp/dance-portal-pg.XXXXXX)
cleanup() {
  as_server_user "$bindir/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ "$(id -u)" -ne 0 ] || chown postgres "$tmp"

free_port='import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
port=$("$root_dir/.venv/bin/python" -c "$free_port" 2>/dev/null || python3 -c "$free_port")

# Trust authentication: the cluster listens on 127.0.0.1 only, holds test data only and lives as long as COMMAND.
if ! as_server_user "$bindir/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
  >"$tmp/initdb.log" 2>&1; then
  echo "ERROR: initdb failed:" >&2
  cat "$tmp/initdb.log" >&2
  exit 1
fi
# Throwaway data: durability settings off for speed.
server_options="-p $port -k $tmp -c listen_addresses=127.0.0.1"
server_options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if ! as_server_user "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -o "$server_options" -w -t 60 start \
  >/dev/null; then
  echo "ERROR: the PostgreSQL server did not start:" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
as_server_user "$bindir/createdb" -h "$tmp" -p "$port" -U postgres dance_portal

version=$("$bindir/postgres" --version | sed -E 's/^[^0-9]*([0-9.]+).*/\1/')
echo "==> PostgreSQL $version running on 127.0.0.1:$port (throwaway, in $tmp)"
status=0
PG_SH_BINDIR="$bindir" PG_SH_DATA="$tmp/data" PG_SH_OPTIONS="$server_options" PG_SH_LOG="$tmp/server.log" \
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/dance_portal" "$@" || status=$?
exit "$status"
