"""HTTP mode: the front door (`/slack/events`, `/healthz`) as a WSGI app, and the server that runs it.

Two layers, so every server gets the same door:

* `wsgi_app` is the door itself. It caps the body size (413), verifies Slack's signature over the raw bytes
  *before* anything parses them (401), refuses verified bodies Bolt could not parse (400), and only then hands
  the request to Bolt. Refusals are logged with a request id, the reason and sizes, never the body.
* `asgi_app` + `serve` run it in production (`alumni-bot run --http`): Hypercorn's event loop reads each whole
  request (closing sockets that stall), and only complete requests reach a bounded pool of threads running
  the WSGI app. A client that sends headers and stalls costs a socket, never a thread.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request.internals import parse_body

from bot.metrics import metrics_endpoint

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from hypercorn.config import Config

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"  # Prometheus text format (bot/metrics.py)

# Slack's largest requests are interaction payloads that echo a whole message (at most 50 blocks) or modal
# (at most 100 blocks) with its state. The bot's own biggest, the opportunity form with every field at its
# limit in Japanese (URL-encoded UTF-8 is 9 bytes a character) plus the view echoed back, is about 106 KiB;
# 1 MiB leaves room for future forms while bounding what one request can cost.
MAX_BODY_BYTES = 1024 * 1024
# Slack signs with a Unix time in seconds: ASCII digits, 10 of them until the year 2286. Anything else
# (Unicode digits like "²³", 5,000-digit numbers that `int()` refuses) is not a Slack timestamp.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# "v0=" and a hex SHA-256 (https://api.slack.com/authentication/verifying-requests-from-slack).
_SIGNATURE_MAX = 80
# Slack's docs: refuse requests more than five minutes old (replays); slack_sdk's verifier uses the same.
_WINDOW_SECONDS = 5 * 60

WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def wsgi_app(
    app: App,
    *,
    healthy: Callable[[], bool],
    signing_secret: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> WsgiApp:
    """Route `/healthz` and, through the door checks, Slack's requests to Bolt.

    `signing_secret` defaults to the one the Bolt app was built with.
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    secret = (signing_secret or str(getattr(app, "_signing_secret", ""))).encode()
    if not secret:
        raise ValueError("the Slack signing secret is empty")

    def health(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        ok = healthy()
        body = json.dumps({"ok": ok, "database": "up" if ok else "down"}).encode()
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    scrape: list[WsgiApp] = []

    def metrics(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Built on the first scrape: the benchmarks' bare Bolt app (benchmarks/load.py) has no services and
        # is never scraped, and a worker that is never scraped pays nothing for it.
        if not scrape:
            scrape.append(metrics_endpoint(app))
        return scrape[0](environ, start_response)

    # Every GET route in one place (`/metrics` and friends go here too).
    get_routes: dict[str, WsgiApp] = {HEALTH_PATH: health, METRICS_PATH: metrics}

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        method = environ.get("REQUEST_METHOD")
        route = get_routes.get(str(path))
        if route is not None and method in {"GET", "HEAD"}:
            return route(environ, start_response)
        if path != EVENTS_PATH or method != "POST":
            return slack(environ, start_response)  # Bolt answers 404 without reading anything
        admitted = _admit(environ, secret, max_body_bytes)
        if isinstance(admitted, _Refusal):
            return admitted.answer(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(admitted)
        environ["CONTENT_LENGTH"] = str(len(admitted))
        return slack(environ, start_response)

    return application


class _Refusal:
    """A request the door refuses: its HTTP status and the reason that goes to the log."""

    def __init__(self, status: str, reason: str, size: int, **facts: object) -> None:
        self.status, self.reason, self.size, self.facts = status, reason, size, facts

    def answer(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = uuid.uuid4().hex[:12]
        # Ids and sizes only: the body of a refused request is never logged (it may be 1 MB, or a genuine
        # request that failed verification through clock skew, with personal data in it).
        facts = "".join(f" {key}={value}" for key, value in self.facts.items())
        log.warning(
            "refused request %s: %s (HTTP %s, %d body bytes)%s",
            request_id,
            self.reason,
            self.status.split()[0],
            self.size,
            facts,
            extra={"request_id": request_id, "reason": self.reason, "body_bytes": self.size},
        )
        body = self.status.split(" ", 1)[1].lower().encode()
        start_response(
            self.status,
            [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(body))),
                ("X-Request-Id", request_id),
            ],
        )
        return [body]


def _signature_matches(secret: bytes, raw: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 scheme, HMAC-SHA256 of `v0:{timestamp}:{raw body}` under the signing secret
    (https://api.slack.com/authentication/verifying-requests-from-slack), over the bytes as received:
    slack_sdk's `SignatureVerifier` decodes bytes as UTF-8 first and raises on anything else."""
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("latin-1", "replace"))


def _admit(environ: WSGIEnvironment, secret: bytes, max_body_bytes: int) -> bytes | _Refusal:
    """The raw body of a request Slack signed and Bolt can parse, or why it is refused."""
    try:
        declared = int(str(environ.get("CONTENT_LENGTH") or "0"))
    except ValueError:
        return _Refusal("400 Bad Request", "unreadable Content-Length", 0)
    if declared < 0:
        return _Refusal("400 Bad Request", "unreadable Content-Length", 0)
    if declared > max_body_bytes:
        # Refused before reading a byte of it.
        return _Refusal("413 Content Too Large", "body over the size limit", declared, limit=max_body_bytes)
    raw = _read(environ["wsgi.input"], declared)
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
    if not timestamp or not signature:
        return _Refusal("401 Unauthorized", "missing signature headers", len(raw))
    if not _TIMESTAMP.fullmatch(timestamp) or len(signature) > _SIGNATURE_MAX:
        return _Refusal("401 Unauthorized", "malformed signature headers", len(raw))
    skew = int(time.time()) - int(timestamp)
    if abs(skew) > _WINDOW_SECONDS:
        return _Refusal("401 Unauthorized", "timestamp outside the 5-minute window", len(raw), skew_s=skew)
    if not _signature_matches(secret, raw, timestamp, signature):
        return _Refusal("401 Unauthorized", "signature does not match", len(raw))
    # Signed by Slack, but Bolt would raise while parsing it (and answer 500 with a traceback in the log).
    try:
        parse_body(raw.decode("utf-8"), _content_type(environ))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return _Refusal("400 Bad Request", f"unparsable signed body ({type(exc).__name__})", len(raw))
    return raw


def _content_type(environ: WSGIEnvironment) -> str | None:
    value = environ.get("CONTENT_TYPE")
    return str(value).split(";")[0] if value else None


def _read(stream: Any, length: int) -> bytes:
    """Exactly `length` bytes (fewer only when the client closed early); never more than it declared."""
    chunks: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# -- production server: Hypercorn's event loop in front, complete requests to a bounded thread pool -----------

# How long a connection may go without sending a byte while its request is unfinished (and how long an idle
# keep-alive connection stays open). Slack sends each request at once; only a broken or hostile client stalls.
READ_TIMEOUT_SECONDS = 10
KEEP_ALIVE_SECONDS = 5
# Header block limit: Slack's headers are a few hundred bytes.
MAX_HEADER_BYTES = 16 * 1024

ASGIApp = Callable[[dict[str, Any], Callable[[], Any], Callable[[dict[str, Any]], Any]], Any]


def asgi_app(wsgi: WsgiApp, *, threads: int, max_body_bytes: int = MAX_BODY_BYTES) -> ASGIApp:
    """Read each whole request in the event loop, then run `wsgi` for it on one of `threads` threads.

    a2wsgi runs the WSGI app on its own pool as soon as the headers arrive and lets it read the body from the
    socket, which would hand a thread to a client that stalls mid-body; buffering first means a thread only
    ever sees a complete request. Bodies over `max_body_bytes` are refused (413) without being buffered.
    """
    from a2wsgi import WSGIMiddleware

    inner = WSGIMiddleware(wsgi, workers=threads)  # type: ignore[arg-type]

    async def application(
        scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[dict[str, Any]], Any]
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            return
        headers = [
            (k, v) for k, v in scope["headers"] if k.lower() not in {b"content-length", b"transfer-encoding"}
        ]
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > max_body_bytes:
                # Answered through the door so the refusal is logged like every other one.
                body = bytearray()
                headers.append((b"content-length", str(max_body_bytes + 1).encode()))
                break
            if not message.get("more_body"):
                headers.append((b"content-length", str(len(body)).encode()))
                break
        complete = bytes(body)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": complete, "more_body": False}
            return dict(await receive())

        await inner(dict(scope, headers=headers), replay, send)  # type: ignore[arg-type]

    return application


def server_config(port: int, *, workers: int, host: str = "0.0.0.0") -> Config:  # noqa: S104
    """Hypercorn's settings for `alumni-bot run --http` (also used by the benchmarks and the drill)."""
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.workers = workers
    config.read_timeout = READ_TIMEOUT_SECONDS
    config.keep_alive_timeout = KEEP_ALIVE_SECONDS
    config.h11_max_incomplete_size = MAX_HEADER_BYTES
    # Slack waits 3 s for an ack: in-flight requests get that long, and a little more, on SIGTERM.
    config.graceful_timeout = 10
    config.accesslog = None
    config.errorlog = "-"
    return config


def serve(application_path: str, config: Config) -> int:
    """Run Hypercorn: `config.workers` processes each import `application_path` ("module:factory()").

    SIGTERM or SIGINT shut it down gracefully.
    """
    from hypercorn.run import run

    config.application_path = application_path
    return run(config)
