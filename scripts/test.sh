#!/usr/bin/env bash
# Set up a virtualenv and run the whole test suite on SQLite and on PostgreSQL.
#
#   bash scripts/test.sh                 # python3 (3.11, Django 5.2)
#   PYTHON=python3.12 bash scripts/test.sh   # Django 6.x
#   PYTHON=python3.13 DJANGO="Django>=6.0,<6.1" bash scripts/test.sh   # a given Django
#
# PostgreSQL is taken from PG_URL (default postgres://root@127.0.0.1:5432/postgres);
# set SKIP_POSTGRES=1 to run on SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
version=$("$PYTHON" -c 'import sys; print("%d%d" % sys.version_info[:2])')
VENV=${VENV:-.venv}
[ "$version" = "311" ] || VENV=${VENV}-py$version
DJANGO=${DJANGO:-}
[ -z "$DJANGO" ] || VENV=${VENV}-dj$(echo "$DJANGO" | tr -dc '0-9' | cut -c1-4)
PG_URL=${PG_URL:-postgres://root@127.0.0.1:5432/postgres}

# Debian packages the tests use, installed when we can (root + apt): chromium for
# the browser tests, pgbouncer for the connection-pooler tests, sqlite3 (the shell)
# for the test of writes from outside Django.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || missing="$missing pgbouncer"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian's$missing for the tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null) \
    || echo "WARNING:$missing could not be installed; the tests that need them will be skipped"
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
[ -z "$DJANGO" ] || "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$DJANGO"
"$VENV/bin/python" -c 'import django; print("Django", django.get_version())'

echo "== tests on SQLite (with the coverage floor of pyproject.toml)"
DATABASE_URL="sqlite:///:memory:" "$VENV/bin/python" -m pytest \
  --cov --cov-report=term:skip-covered --cov-fail-under=85 "$@"
if [ "${SKIP_POSTGRES:-0}" != "1" ]; then
  echo "== tests on PostgreSQL ($PG_URL)"
  DATABASE_URL="$PG_URL" TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-test_history_py$version${DJANGO:+_$(echo "$DJANGO" | tr -dc '0-9' | cut -c1-4)}}" \
    "$VENV/bin/python" -m pytest "$@"
fi
