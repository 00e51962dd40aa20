#!/usr/bin/env bash
# ensure_chromium.sh: make sure Debian's Chromium is at /usr/bin/chromium for the browser tests, idempotently.
# Playwright drives this system browser (executable_path); `playwright install` is never used, so nothing
# is downloaded at test time. Set LAYANAN_CHROMIUM to use a browser somewhere else.
set -euo pipefail
chromium=${LAYANAN_CHROMIUM:-/usr/bin/chromium}
version() { "$1" --version 2>/dev/null | grep -m1 -i chromium || echo "unknown version"; }
if [ -x "$chromium" ]; then
  echo ">> chromium present: $chromium ($(version "$chromium"))"
  exit 0
fi
if [ "$chromium" != /usr/bin/chromium ]; then
  echo "LAYANAN_CHROMIUM=$chromium does not exist or is not executable." >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "chromium is missing and installing it needs root (apt-get install chromium)." >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo ">> chromium missing: apt-get install -y chromium"
if ! "${as_root[@]}" apt-get install -y -q chromium; then
  echo ">> install failed: apt-get update, then install again"
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q chromium
fi
echo ">> chromium installed: $chromium ($(version "$chromium"))"
