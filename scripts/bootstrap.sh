#!/usr/bin/env bash
# Make .venv a Python 3.13 virtualenv with requirements.txt installed. Cheap to run again: it reinstalls only when
# requirements.txt changed since the last install (a hash kept in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.requirements.sha256

if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then
  python=$(bash scripts/python.sh)
  echo "==> Creating $venv with $python"
  "$python" -m venv --clear "$venv"
fi

wanted=$("$venv/bin/python" -c "import hashlib; print(hashlib.sha256(open('requirements.txt', 'rb').read()).hexdigest())")
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "==> Installing requirements.txt into $venv (the first time takes a minute or two)"
  "$venv/bin/python" -m pip install --quiet --quiet --disable-pip-version-check --root-user-action=ignore \
    -r requirements.txt
  echo "$wanted" >"$stamp"
fi
