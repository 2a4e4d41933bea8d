"""`alumni-bot playground [--port 3000] [--demo] [--host 127.0.0.1]`: start the playground and wait."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import environment_values
from bot.i18n import language_of, t
from bot.playground.server import LOOPBACK_HOSTS, Playground

DEMO_DATABASE = "playground-demo.db"
DATABASE = "playground.db"


# The values `.env.example` ships with: a copy nobody filled in is "no Slack app yet".
_UNSET = frozenset({"", "xoxb-your-bot-token", "your-signing-secret"})


def slack_app_configured(environ: Mapping[str, str] | None = None, dotenv_path: str | None = ".env") -> bool:
    """Whether someone started configuring a real Slack app (a bot token or a signing secret is filled in).

    `scripts/run.sh` starts the playground when this is False, and the bot otherwise, so a half-filled
    `.env` still gets `alumni-bot run`'s message naming what is missing.
    """
    values = environment_values(environ, dotenv_path=dotenv_path)
    return any(
        values.get(name, "").strip() not in _UNSET for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    )


def add_playground_parser(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "playground", help="use the bot in a browser with an embedded Slack (no Slack app needed)"
    )
    parser.add_argument("--port", type=int, default=3000, help="the page's port (default 3000)")
    parser.add_argument(
        "--demo", action="store_true", help=f"start with demo data (recreates {DEMO_DATABASE})"
    )
    parser.add_argument(
        "--host",
        default=None,
        help="address to listen on (default 127.0.0.1; anything else makes the playground reachable by others)",
    )
    return parser


def run_playground_command(args: argparse.Namespace) -> int:
    from bot.logging_setup import configure_logging

    configure_logging()
    # Start-up chatter (migrations, each scheduled job) would bury the one line a newcomer needs: the URL.
    for noisy in ("alembic", "apscheduler", "jobs.scheduler", "jobs.delivery", "slack_bolt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    env = environment_values(dotenv_path=None)
    lang = language_of(env.get("LANG"), "en")
    host = args.host or "127.0.0.1"
    if host not in LOOPBACK_HOSTS:
        # Only an explicit --host gets here; say loudly what it means.
        print(t("playground.exposed_warning", lang, host=host), file=sys.stderr)
    if env.get("SLACK_BOT_TOKEN", "").startswith("xoxb-"):
        print(t("playground.real_token_ignored", lang), file=sys.stderr)
    path = Path(DEMO_DATABASE if args.demo else DATABASE).resolve()
    if args.demo:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
    playground = Playground(database_url=f"sqlite:///{path}", port=args.port, host=host, demo=args.demo)
    playground.start()
    print(t("playground.started", lang, url=playground.url), flush=True)
    if args.demo:
        print(t("playground.demo_note", lang, path=path), flush=True)
    print(t("playground.connect_hint", lang), flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    playground.stop()
    return 0


if __name__ == "__main__":
    # `python -m bot.playground.cli configured`: exit 0 when a Slack app is configured (for scripts/run.sh).
    sys.exit(0 if sys.argv[1:] == ["configured"] and slack_app_configured() else 1)
