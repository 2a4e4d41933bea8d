"""The `alumni-bot` command line: run the bot, upgrade the database, print the manifest, run jobs."""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from dotenv import load_dotenv

from bot.config import ConfigError, Settings
from bot.logging_setup import configure_logging

log = logging.getLogger("alumni-bot")


def _settings() -> Settings:
    return Settings.from_env()


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Slack: Socket Mode when SLACK_APP_TOKEN is set (unless --http), HTTP otherwise."""
    settings = _settings()
    http = args.http or not settings.socket_mode
    settings.require_credentials(socket_mode=not http)
    configure_logging(settings.log_level)

    from models.db import Database

    Database(settings.database_url).upgrade()
    if http:
        return _run_http(settings, port=args.port or settings.port, scheduler=not args.no_scheduler)
    return _run_socket_mode(settings, scheduler=not args.no_scheduler)


def _run_socket_mode(settings: Settings, *, scheduler: bool) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app, services_of
    from bot.metrics import start_ops_listener
    from jobs.scheduler import build_scheduler

    app = create_app(settings)
    services = services_of(app)
    jobs = build_scheduler(services) if scheduler else None
    if jobs is not None:
        jobs.start()
    handler = SocketModeHandler(app, settings.slack_app_token)
    health = socket_mode_health(handler.client.is_connected, jobs.health if jobs is not None else None)
    listener = start_ops_listener(settings.metrics_port, db=services.db, health=health)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    done.wait()
    handler.close()  # type: ignore[no-untyped-call]
    if listener is not None:
        listener.stop()
    if jobs is not None:
        jobs.stop()
    return 0


def socket_mode_health(
    connected: Callable[[], bool], scheduler: Callable[[], tuple[bool, dict[str, Any]]] | None
) -> Callable[[], tuple[bool, dict[str, Any]]]:
    """Liveness in Socket Mode: the WebSocket is connected and, when this process runs them, the jobs run.

    Socket Mode serves no HTTP of its own, so this is served by the ops listener on METRICS_PORT, which an
    orchestrator's ordinary HTTP probe can read (a heartbeat file would need an exec probe, without metrics).
    """

    def health() -> tuple[bool, dict[str, Any]]:
        is_connected = bool(connected())
        ok, details = scheduler() if scheduler is not None else (True, {})
        return is_connected and ok, {
            "socket_mode": "connected" if is_connected else "disconnected",
            **details,
        }

    return health


def _run_http(settings: Settings, *, port: int, scheduler: bool) -> int:
    from bot.web import serve, server_config

    # The scheduler runs as its own child process: the web server starts its workers as processes of their
    # own, and keeping scheduled jobs out of them lets web replicas scale on their own. Scaling out: run web
    # replicas with --no-scheduler and `alumni-bot jobs serve` wherever you like (JobRun claims keep every
    # run exactly-once).
    child = None
    if scheduler:
        # -u: unbuffered, so the child's log lines appear as they happen.
        child = subprocess.Popen([sys.executable, "-u", "-m", "bot.cli", "jobs", "serve"])
    # After the scheduler child started (it serves its own metrics on METRICS_PORT) and before anything
    # here imports prometheus_client: the forked web workers share one directory of metric values.
    from bot.metrics import enable_multiprocess

    metrics_dir = enable_multiprocess()
    try:
        serve(
            "bot.cli:make_http_application()",
            server_config(port, workers=settings.web_concurrency),
        )
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def make_http_application():  # type: ignore[no-untyped-def]
    """Build the HTTP application inside a server worker process (each builds its own app and engine)."""
    from bot.app import create_app, services_of
    from bot.web import asgi_app, wsgi_app

    settings = _settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    return asgi_app(wsgi_app(app, healthy=services_of(app).db.ping), threads=settings.web_threads)


def cmd_db(args: argparse.Namespace) -> int:
    from models.db import Database

    settings = _settings()
    Database(settings.database_url).upgrade()
    print(f"database is up to date ({settings.database_url.split('@')[-1]})")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.app import build_registry
    from bot.manifest import render_manifest

    sys.stdout.write(render_manifest(build_registry(), http_url=args.http_url))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from jobs.cli import run_jobs_command

    return run_jobs_command(args, _settings())


def cmd_ops(args: argparse.Namespace) -> int:
    """`import`, `export` and `report` for HR operators (bot/ops_cli.py)."""
    from bot.ops_cli import run_ops_command

    return run_ops_command(args, _settings())


def cmd_playground(args: argparse.Namespace) -> int:
    """The bot in a browser with an embedded Slack (bot/playground/); needs no Slack credentials."""
    from bot.playground.cli import run_playground_command

    return run_playground_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alumni-bot", description="alumni-bot: the alumni community Slack bot"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve Slack (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    run.add_argument("--http", action="store_true", help="HTTP mode even when SLACK_APP_TOKEN is set")
    run.add_argument("--port", type=int, default=None, help="HTTP port (default PORT or 3000)")
    run.add_argument("--no-scheduler", action="store_true", help="do not run scheduled jobs in this process")
    run.set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db)

    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--http-url", default=None, help="public base URL for HTTP mode (https://…)")
    manifest.set_defaults(func=cmd_manifest)

    from jobs.cli import add_jobs_parser

    add_jobs_parser(sub).set_defaults(func=cmd_jobs)

    from bot.ops_cli import add_ops_parsers

    for ops_parser in add_ops_parsers(sub):
        ops_parser.set_defaults(func=cmd_ops)

    from bot.playground.cli import add_playground_parser

    add_playground_parser(sub).set_defaults(func=cmd_playground)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # `.env` fills what the environment leaves unset, for the processes `run` starts (Settings.from_env reads
    # `.env` itself).
    load_dotenv(".env", override=False)
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
