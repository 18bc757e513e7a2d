#!/usr/bin/env bash
# Set up a virtualenv, migrate the SQLite demo database, load the demo history and
# serve the demo (GraphiQL at http://127.0.0.1:8000/graphql/).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py load_demo_history
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
