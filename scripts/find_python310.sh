#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs 3.10), or explains what to install.
set -u
is_310() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
candidates+=(python3.10)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for d in "$root"/versions/3.10*; do [ -x "$d/bin/python3.10" ] && candidates+=("$d/bin/python3.10"); done
fi
for d in "$HOME"/.pyenv/versions/3.10*; do [ -x "$d/bin/python3.10" ] && candidates+=("$d/bin/python3.10"); done
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10 python3)
for c in "${candidates[@]}"; do
  if is_310 "$c"; then command -v "$c" 2>/dev/null || echo "$c"; exit 0; fi
done
cat >&2 <<'MSG'
No Python 3.10 interpreter found: Rasa 3.6 runs on Python 3.10 only.
Install one, then run the command again:
  pyenv install 3.10.13            (with pyenv), or
  apt-get install python3.10 python3.10-venv   (Debian/Ubuntu with 3.10 packages), or
  point PYTHON at one:  make run PYTHON=/path/to/python3.10
MSG
exit 1
