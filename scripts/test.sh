#!/usr/bin/env bash
# Run the whole test suite twice: on SQLite, then on a throwaway PostgreSQL cluster (scripts/pg.sh).
# Arguments go to pytest in both runs (make test ARGS="-k waitlist"). Exits non-zero if either run fails;
# "no tests ran" (pytest exit code 5) counts as a failure.
# Without PostgreSQL server programs the second run is skipped with a warning, or fails when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Runs pytest (with "$@" in front of it) and writes its counts, e.g. "143 passed, 2 skipped", to $logs/$name.summary.
run_pytest() {
  local name=$1 status=0 counts
  shift
  "$@" .venv/bin/pytest -q --junitxml="$logs/$name.xml" "${pytest_args[@]}" || status=$?
  counts=$(.venv/bin/python scripts/junit_summary.py "$logs/$name.xml" 2>/dev/null) || counts="no test report"
  case $status in
    0) echo "$counts" ;;
    5) echo "FAILED: no tests ran" ;;
    *) echo "FAILED: $counts (pytest exit code $status)" ;;
  esac >"$logs/$name.summary"
  return "$status"
}
pytest_args=("$@")

failed=0
echo "==> Tests on SQLite"
# Name the database so a DATABASE_URL in the environment or .env cannot turn this run into a PostgreSQL one.
run_pytest sqlite env DATABASE_URL="sqlite:///$PWD/db.sqlite3" || failed=1

if bash scripts/pg.sh --bindir >/dev/null; then
  echo "==> Tests on PostgreSQL"
  run_pytest postgresql bash scripts/pg.sh || failed=1
elif [ "${CI:-}" = "true" ]; then
  echo "ERROR: no PostgreSQL server programs found (initdb, pg_ctl); CI must run the tests on PostgreSQL too." >&2
  echo "FAILED: no PostgreSQL server programs" >"$logs/postgresql.summary"
  failed=1
else
  cat >&2 <<'MSG'

################################################################################
#  WARNING: the PostgreSQL run was SKIPPED: no PostgreSQL server programs     #
#  (initdb, pg_ctl) were found. Production runs on PostgreSQL; install them   #
#  (e.g. sudo apt-get install postgresql-15) and run make test again.         #
################################################################################

MSG
  echo "SKIPPED (no PostgreSQL server programs)" >"$logs/postgresql.summary"
fi

echo
echo "SQLite: $(cat "$logs/sqlite.summary") | PostgreSQL: $(cat "$logs/postgresql.summary")"
exit "$failed"
