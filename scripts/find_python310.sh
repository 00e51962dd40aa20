#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs >=3.8,<3.11), or explains how to get one.
set -euo pipefail
candidates=()
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
if command -v pyenv >/dev/null 2>&1; then
  for dir in "$(pyenv root)"/versions/3.10*; do
    [ -x "$dir/bin/python3.10" ] && candidates+=("$dir/bin/python3.10")
  done
fi
for dir in "$HOME"/.pyenv/versions/3.10* /usr/local/bin /usr/bin; do
  [ -x "$dir/bin/python3.10" ] && candidates+=("$dir/bin/python3.10")
  [ -x "$dir/python3.10" ] && candidates+=("$dir/python3.10")
done
for py in "${candidates[@]}"; do
  # A pyenv shim exists even when no 3.10 is installed: check that it really runs.
  if "$py" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
    echo "$py"
    exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.10 was not found, and Rasa 3.6 needs it (it does not run on 3.11+).
Install it with ONE of these, then run the command again:
  pyenv install 3.10.13            # with pyenv (https://github.com/pyenv/pyenv)
  uv python install 3.10           # with uv; then: export PATH="$(dirname "$(uv python find 3.10)"):$PATH"
  sudo apt install python3.10 python3.10-venv   # on Ubuntu 22.04
MSG
exit 1
