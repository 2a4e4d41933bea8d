"""`alumni-bot playground [--port 3000] [--demo] [--host 127.0.0.1]`: start the playground and wait."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from bot.i18n import language_of, t
from bot.playground.server import LOOPBACK_HOSTS, Playground

DEMO_DATABASE = "playground-demo.db"
DATABASE = "playground.db"


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
    lang = language_of(os.environ.get("LANG"), "en")
    host = args.host or "127.0.0.1"
    if host not in LOOPBACK_HOSTS:
        # Only an explicit --host gets here; say loudly what it means.
        print(t("playground.exposed_warning", lang, host=host), file=sys.stderr)
    if os.environ.get("SLACK_BOT_TOKEN", "").startswith("xoxb-"):
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
