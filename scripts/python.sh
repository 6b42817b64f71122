#!/usr/bin/env bash
# Print the path of a Python 3.13 interpreter (the version in .python-version), or say how to install one and exit 1.
# Looks on PATH, then in pyenv's versions (its shims may be missing from PATH), then in the usual system places.
set -euo pipefail

is_313() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; }

candidates=()
if on_path=$(command -v python3.13 2>/dev/null); then candidates+=("$on_path"); fi
# Newest 3.13.x first; PYENV_ROOT and ~/.pyenv may be the same folder, which only costs a second look.
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
  [ -n "$root" ] && [ -d "$root/versions" ] || continue
  while IFS= read -r version; do
    candidates+=("$root/versions/$version/bin/python3.13")
  done < <(ls "$root/versions" | grep -E '^3\.13(\.|$)' | sort -rV)
done
candidates+=(/usr/local/bin/python3.13 /usr/bin/python3.13)

for python in "${candidates[@]}"; do
  if [ -x "$python" ] && is_313 "$python"; then
    "$python" -c "import sys; print(sys.executable)"
    exit 0
  fi
done

cat >&2 <<'MSG'
ERROR: Python 3.13 was not found (looked for python3.13 on PATH, in pyenv's versions, /usr/local/bin and /usr/bin).
Install it, then run the command again:
  - with pyenv (https://github.com/pyenv/pyenv):  pyenv install 3.13
  - Ubuntu (deadsnakes PPA):                      sudo apt-get install python3.13 python3.13-venv
  - macOS (Homebrew):                             brew install python@3.13
  - or an installer from https://www.python.org/downloads/
MSG
exit 1
