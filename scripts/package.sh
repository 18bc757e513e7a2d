#!/usr/bin/env bash
# Build the distribution, check what it holds, and use it as a Django developer would:
# install the wheel into a fresh virtualenv (no requirements file), start a project with
# django-admin, add the apps as the README says, migrate, write, read history and serve
# a GraphQL query.
#
#   bash scripts/package.sh            # python3
#   PYTHON=python3.12 bash scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building the sdist and the wheel"
"$PYTHON" -m venv "$work/build-env"
"$work/build-env/bin/python" -m pip install -q --disable-pip-version-check build
"$work/build-env/bin/python" -m build -q --outdir "$work/dist" . >/dev/null
"$PYTHON" scripts/package_check.py contents "$work/dist"

echo "== installing the wheel into a fresh virtualenv and starting a project"
wheel=$(ls "$work"/dist/*.whl)
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "${wheel}[graphql]"
(cd "$work" && "$work/venv/bin/django-admin" startproject mysite)
"$PYTHON" scripts/package_check.py project "$work/mysite" "$work/venv/bin/python"
echo "== the package works from its wheel"
