#!/usr/bin/env bash
# Headless Chromium for the explorer's end-to-end tests (Debian's package; Playwright drives it
# through executable_path, so no browser download is needed). Failure is not fatal: the browser
# tests then skip and say why.
set -uo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "setup-browser: could not install chromium; browser tests will skip" >&2
else
  echo "setup-browser: chromium missing and cannot apt-get install it; browser tests will skip" >&2
fi
exit 0
