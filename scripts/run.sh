#!/usr/bin/env bash
# Run the portal for development: set up .venv, apply migrations, load the demo studio (once; it prints the demo admin's
# login), then serve http://127.0.0.1:${PORT:-8000}/ with DEBUG on. Uses db.sqlite3 unless DATABASE_URL says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

export DEBUG=1 # development only: never serve the portal to others with DEBUG on
port=${PORT:-8000}
python=.venv/bin/python

if [ ! -f dance_portal/management/commands/demo_studio.py ]; then
  echo "ERROR: dance_portal/management/commands/demo_studio.py (the demo data) is missing from this checkout." >&2
  exit 1
fi

echo "==> Applying database migrations"
"$python" manage.py migrate --no-input -v 0
echo "==> Loading the demo studio (only into an empty database)"
"$python" manage.py demo_studio
echo "==> Serving http://127.0.0.1:$port/ (admin: http://127.0.0.1:$port/admin/); stop with Ctrl-C"
exec "$python" manage.py runserver "127.0.0.1:$port"
