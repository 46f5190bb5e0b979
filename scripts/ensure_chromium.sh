#!/usr/bin/env bash
# Make sure a Chromium exists for the Playwright tests: a system chromium if present,
# else Playwright's own download, else (as root on Debian) apt-get install chromium.
set -u
PY=${1:-.venv/bin/python}
if [ -n "${HOTCRM_CHROMIUM:-}" ] && [ -x "${HOTCRM_CHROMIUM}" ]; then exit 0; fi
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then exit 0; fi
done
if "$PY" -m playwright install chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Chromium with apt-get ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  command -v chromium >/dev/null 2>&1 && exit 0
fi
echo "No Chromium available: the end-to-end tests will be skipped (or fail under" \
     "HOTCRM_REQUIRE_SERVICES=1)." >&2
exit 0
