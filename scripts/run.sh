#!/usr/bin/env bash
# Set up a virtual environment (if needed) and start alumni-bot.
# No Slack app configured yet (no .env, or .env.example's placeholders): the playground with demo data, in
# the browser at the printed URL. Otherwise: migrate the database (SQLite by default) and run the bot.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .
if ! "$VENV/bin/python" -m bot.playground.cli configured; then
  exec "$VENV/bin/alumni-bot" playground --demo --port "${PLAYGROUND_PORT:-3000}"
fi
exec "$VENV/bin/alumni-bot" run "$@"
