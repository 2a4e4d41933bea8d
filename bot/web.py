"""HTTP mode: a WSGI app (`/slack/events`, `/healthz`) served by gunicorn with threaded workers."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.metrics import metrics_endpoint

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


def wsgi_app(
    app: App, *, healthy: Callable[[], bool]
) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """Route Slack's requests to Bolt and answer `/healthz` (200 when the database is reachable)."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    metrics = metrics_endpoint(app)  # Prometheus text format (bot/metrics.py)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            return metrics(environ, start_response)
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            ok = healthy()
            body = json.dumps({"ok": ok, "database": "up" if ok else "down"}).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if not _timestamp_is_integer(environ):
            # Bolt's verifier raises on a non-numeric timestamp, and its error path would then act on an
            # unverified body; refuse such requests here like any other bad signature.
            body = b"invalid request"
            start_response(
                "401 Unauthorized", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return slack(environ, start_response)

    return application


def _timestamp_is_integer(environ: WSGIEnvironment) -> bool:
    """True when the timestamp header is absent (Bolt answers 401 itself) or a plain integer."""
    value = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    return value is None or (isinstance(value, str) and value.strip().isdigit())


def gunicorn_options(port: int, *, workers: int | None = None, threads: int | None = None) -> dict[str, Any]:
    """The production server settings (also used by the load benchmark)."""
    return {
        "bind": f"0.0.0.0:{port}",
        "workers": workers or int(os.environ.get("WEB_CONCURRENCY", "2")),
        "worker_class": "gthread",
        "threads": threads or int(os.environ.get("WEB_THREADS", "8")),
        # Slack waits 3 s for an ack; a request stuck far longer is a bug, not a slow client.
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        # One shared control socket per user would clash between several instances on one machine.
        "control_socket_disable": True,
    }


def serve(make_application: Callable[[], Callable[..., Iterable[bytes]]], options: dict[str, Any]) -> None:
    """Run gunicorn in this process (arbiter plus forked workers); SIGTERM shuts it down gracefully."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Callable[..., Iterable[bytes]]:
            # Each worker builds its own app, engine and client after the fork (nothing shared across forks).
            return make_application()

    _Server().run()
