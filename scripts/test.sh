#!/usr/bin/env bash
# Set up a virtual environment (if needed) and run every quality gate: ruff, mypy, pytest (SQLite + PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
echo "== ruff check";         "$VENV/bin/ruff" check .
echo "== ruff format --check"; "$VENV/bin/ruff" format --check .
echo "== mypy";               "$VENV/bin/mypy" bot handlers jobs models
echo "== pytest (SQLite and PostgreSQL)"
exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
