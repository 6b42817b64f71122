#!/usr/bin/env bash
# make prod-check: the production stack on 127.0.0.1 (PostgreSQL, two gunicorn instances, the email worker, an SMTP
# sink), the last seats raced through both instances, emails delivered across a worker restart; see
# scripts/prod_check.py. Everything it starts is stopped at the end; the whole run is capped at 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

if ! bash scripts/pg.sh --bindir >/dev/null; then
  echo "ERROR: make prod-check needs the PostgreSQL (>= 15) server programs, e.g. apt-get install postgresql-15." >&2
  exit 1
fi
# scripts/pg.sh starts a throwaway cluster, runs the check with DATABASE_URL pointing at it, then deletes it.
# The check bounds its own waits (150 s); timeout is the backstop: its SIGTERM makes the check stop what it started.
exec bash scripts/pg.sh timeout --kill-after=15 170 .venv/bin/python scripts/prod_check.py
