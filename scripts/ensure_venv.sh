#!/usr/bin/env bash
# ensure_venv.sh <rasa|service>: make .venv-rasa or .venv match its lock file, idempotently.
# A built environment is cached under $LAYANAN_CACHE (default ~/.cache/layanan-aduan) by a hash of its
# lock file and interpreter, and linked into the project, so a fresh clone on the same machine reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: ensure_venv.sh rasa|service}
cache=${LAYANAN_CACHE:-$HOME/.cache/layanan-aduan}
case "$kind" in
  rasa) link=.venv-rasa; lock=requirements/rasa.lock; python=$(bash scripts/find_python310.sh) ;;
  service) link=.venv; lock=requirements/service.lock; python=${PYTHON_SERVICE:-python3}
    "$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || {
      echo "The bot service needs Python >= 3.11 (set PYTHON_SERVICE=/path/to/python3.11)." >&2; exit 1; } ;;
  *) echo "unknown environment: $kind" >&2; exit 2 ;;
esac
hash=$( (cat "$lock"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
stamp="$link/.layanan-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
  exit 0
fi
target="$cache/venv-$kind-$hash"
if [ ! -f "$target/.layanan-stamp" ] || [ "$(cat "$target/.layanan-stamp")" != "$hash" ]; then
  echo ">> building $link from $lock (first time on this machine: a few minutes)"
  rm -rf "$target"
  mkdir -p "$cache"
  "$python" -m venv "$target"
  pip_install() {  # this machine's pip config lists local indexes; their "ignored" notices are noise
    "$target/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v ' is ignored: ' || true; }
    return "${PIPESTATUS[0]}"
  }
  pip_install -U pip 'setuptools<70' wheel
  pip_install -r "$lock"
  echo "$hash" > "$target/.layanan-stamp"
fi
rm -rf "$link"
ln -s "$target" "$link"
echo ">> $link -> $target"
