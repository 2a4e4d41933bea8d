#!/usr/bin/env bash
# Set up a virtual environment (if needed) and run every quality gate: ruff, mypy, pytest (SQLite + PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
# The playground's browser tests drive Debian's Chromium (browser downloads are not reachable here);
# Japanese and emoji fonts make their screenshots readable. Installed only when missing, and only where
# this script may install Debian packages (root with apt-get); elsewhere the browser tests say what to install.
BROWSER_PACKAGES="chromium chromium-driver fonts-ipafont-gothic fonts-noto-color-emoji"
# shellcheck disable=SC2086
if ! dpkg -s $BROWSER_PACKAGES >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing $BROWSER_PACKAGES"
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $BROWSER_PACKAGES >/dev/null
fi
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
