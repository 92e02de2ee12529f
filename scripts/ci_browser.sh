#!/usr/bin/env bash
# Make sure Debian's chromium is there for the dashboard's browser tests (tests/ui/test_browser.py).
# Playwright for Python (a [dev] dependency) drives it through executable_path; nothing downloads
# a browser at run time. CI runs as root; elsewhere this needs sudo or an existing chromium.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing and this is not root: install it with 'apt-get install chromium'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q chromium >/dev/null
/usr/bin/chromium --version >/dev/null
