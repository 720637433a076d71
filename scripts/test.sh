#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it.
#   - a virtualenv in .venv with vcall and its test extras
#   - Debian's chromium (headless browser tests), if missing
#   - Debian's postgresql (the tests start a server of their own), if missing
#   - the page's Vonage Client SDK, where vcall serve looks for it (npm ci from client/'s
#     lockfile into the user's cache: vcall/client_sdk.py)
# Extra arguments go to pytest (e.g. scripts/test.sh -k token).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# compat: the editable install is a path in a .pth file, not setuptools' import hook, which
# slows every vcall command's start-up (bench/startup.py measures this install).
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
  --config-settings editable_mode=compat

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser tests"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing Debian's postgresql for the event-store tests"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
echo "== the page's Client SDK"
.venv/bin/python -m vcall.client_sdk

echo "== ruff"
.venv/bin/ruff check vcall tests bench
echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
if [ "$code" = 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$code"
