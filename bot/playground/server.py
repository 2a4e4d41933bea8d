"""`alumni-bot playground`: the bot, an embedded Slack and a web page, all in one process on loopback.

Four servers start:
1. `PlaygroundSlack`, the Slack Web API emulator (the one the tests use) that accepts only the token made
   for this run;
2. the bot itself, unmodified: `create_app` + `wsgi_app` on its own loopback port, signature verification
   on, `SLACK_API_URL` pointing at the emulator, a random signing secret, plus the scheduler and the outbox
   delivery loop (the same `jobs/` code as production);
3. the playground web server: the page (`static/`) and the JSON API below, which `Bridge` turns into
   Slack-signed requests to the bot;
4. `Mailbox`, a loopback SMTP server the bot's invitation emails go to (`SMTP_*` point at it), kept and
   listed in the state's `mails` for the page: nothing is ever sent outside this computer.

JSON API (UTF-8 JSON in and out; POSTs must say `Content-Type: application/json`, else 415; errors answer
`{"ok": false, "error": ...}` with HTTP 400/404; on loopback a request naming another Host gets 403):
- `GET /api/state?since=V[&wait=S]`: the whole client state (see `Playground.state`); when nothing
  changed since version V it answers `{"version": V, "changed": false}` (after waiting up to S ≤ 25 s).
- `POST /api/command {user, channel, text}`, `POST /api/message {user, channel, text, thread_ts?}`,
  `POST /api/action {user, source, channel?, ts?, view_id?, action, state?}`,
  `POST /api/view_submission {user, view_id, state}`, `POST /api/view_closed {user, view_id}`,
  `POST /api/options {user, view_id?, action_id, block_id, value}`, `POST /api/home_opened {user}`,
  `POST /api/shortcut {user, callback_id}`, `POST /api/jobs/run {name, at?}`,
  `POST /api/people {name, locale, tz}`, `POST /api/files {user, name, content_base64, mimetype?}` (a
  file a person uploads for a `file_input`; answers `{file: {id, name}}` to put in the submitted state).
- `GET /files/<id>`: a file the bot uploaded (report chart, CSV export), as a download.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import models.timeutil as timeutil
from bot.config import Settings
from bot.i18n import language_of, t
from bot.playground.bridge import BadRequest, Bridge
from bot.playground.emulator import PlaygroundSlack
from bot.playground.mailbox import Mailbox
from bot.playground.workspace import Workspace, build_workspace

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from bot.services import Services
    from jobs.delivery import DeliveryLoop
    from jobs.scheduler import Scheduler

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_BODY = 1_000_000
MAX_WAIT = 25.0
# The sender of invitation emails and the join link they carry (the playground's mail server keeps them).
MAIL_FROM = "alumni-bot <alumni@playground.example>"
JOIN_URL = "https://join.slack.com/t/playground/shared_invite/example"

JsonDict = dict[str, Any]
WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the page polls twice a second."""


def serve_wsgi(application: WsgiApp, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serves `application` from a background thread (one thread per request)."""
    server = make_server(host, port, application, _ThreadingWSGIServer, _QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"wsgi-{port}", daemon=True
    )
    thread.start()
    return server, thread


@dataclass
class Playground:
    """Everything `alumni-bot playground` runs; `start()` it, read `url`, `stop()` it."""

    database_url: str
    port: int = 3000
    host: str = "127.0.0.1"
    demo: bool = False
    scheduler: bool = True
    slack: PlaygroundSlack = field(init=False)
    mailbox: Mailbox = field(init=False)
    workspace: Workspace = field(init=False)
    settings: Settings = field(init=False)
    services: Services = field(init=False)
    bridge: Bridge = field(init=False)
    bot_url: str = field(init=False)
    _servers: list[WSGIServer] = field(default_factory=list)
    _scheduler: Scheduler | None = None
    _delivery: DeliveryLoop | None = None
    _jobs_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Playground:
        from bot.app import create_app, registry_of
        from bot.services import build_services
        from bot.web import EVENTS_PATH, wsgi_app
        from models.db import Database

        # A token and secret made for this run only: no real Slack credential is ever read or accepted.
        token = "xoxb-playground-" + secrets.token_hex(12)
        signing_secret = secrets.token_hex(20)
        self.slack = PlaygroundSlack(tokens={token})
        self.slack.start()
        self.mailbox = Mailbox(on_mail=self.slack.touch).start()
        self.workspace = build_workspace(self.slack, demo=self.demo)
        self.settings = Settings(
            slack_bot_token=token,
            slack_signing_secret=signing_secret,
            slack_api_url=self.slack.api_url,
            database_url=self.database_url,
            alumni_channel=self.workspace.alumni_channel,
            alumni_hr_channel=self.workspace.hr_channel,
            hr_users=frozenset(self.workspace.hr_users),
            organizer_users=frozenset(self.workspace.organizer_users),
            leaders=frozenset(self.workspace.leader_users),
            alumni_staff_channel=self.workspace.staff_channel,
            timezone="Asia/Tokyo",
            language="ja",
            # Invitation emails go to the playground's own mail server and are shown on the page.
            smtp_host="127.0.0.1",
            smtp_port=self.mailbox.port,
            smtp_starttls=False,
            smtp_from=MAIL_FROM,
            join_url=JOIN_URL,
        )
        database = Database(self.database_url)
        database.upgrade()
        self.services = build_services(self.settings, db=database)
        if self.demo:
            from bot.playground.demo import seed_demo
            from handlers.opportunities import announce

            # The bot's own announcement code posts the demo's openings, as if each had just been posted.
            for opportunity_id in seed_demo(database, self.workspace):
                announce(self.services, opportunity_id)
        app = create_app(self.settings, services=self.services)
        bot_server, _ = serve_wsgi(wsgi_app(app, healthy=database.ping), "127.0.0.1", 0)
        self._servers.append(bot_server)
        self.bot_url = f"http://127.0.0.1:{bot_server.server_port}"
        registry = registry_of(app)
        self.bridge = Bridge(
            self.slack, self.bot_url + EVENTS_PATH, signing_secret, commands=set(registry.commands)
        )
        self.bridge.subscribed_events = set(registry.events)
        # The outbox delivery loop always runs (listeners queue messages too); the cron schedule only with
        # `scheduler` (tests drive jobs from the clock panel instead). Same code as `alumni-bot run`.
        from jobs.delivery import DeliveryLoop

        self._delivery = DeliveryLoop(self.services, poll_interval=0.5, threads=2).start()
        if self.scheduler:
            from jobs.scheduler import Scheduler

            # No catch-up of runs "missed" before this playground existed.
            self._scheduler = Scheduler(self.services, delivery=False)
            self._scheduler.start(catch_up=False)
        page_server, _ = serve_wsgi(self.wsgi, self.host, self.port)
        self._servers.append(page_server)
        self.port = page_server.server_port
        return self

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._delivery is not None:
            self._delivery.stop()
        for server in reversed(self._servers):
            server.shutdown()
            server.server_close()
        self._servers.clear()
        self.slack.stop()
        self.mailbox.stop()
        self.services.db.dispose()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # ------------------------------------------------------------------ state

    def state(self) -> JsonDict:
        """What the page draws: people, channels, commands, messages, modals, Home, files, jobs, clock, and
        the emails the bot sent (`mails`: from, to, subject, date, plain-text body)."""
        from jobs.scheduler import describe_cron, describe_jobs

        slack = self.slack
        frozen = timeutil.frozen()
        return {
            "version": slack.version,
            "changed": True,
            "me_default": self.workspace.me_default,
            "people": slack.people(),
            "channels": slack.channels(),
            "commands": self.workspace.commands,
            "shortcuts": self.workspace.shortcuts,
            "messages": slack.snapshot_messages(),
            "views": slack.snapshot_views(),
            "home": slack.snapshot_home(),
            "files": [dict(f, url=f"/files/{quote(f['id'])}") for f in slack.snapshot_files()],
            "jobs": [
                {
                    "name": job["name"],
                    "description": job["description"],
                    "schedule": describe_cron(job["cron"]),
                    "next_run": job["next_run"].isoformat() if job["next_run"] else None,
                }
                for job in describe_jobs(self.services)
            ],
            "clock": {
                "now": timeutil.now().isoformat(),
                "frozen": frozen is not None,
                "zone": self.settings.timezone,
            },
            "mails": self.mailbox.mails(),
            "notices": list(slack.notices),
            "slack_errors": list(slack.slack_errors),
        }

    # ------------------------------------------------------------------ actions that are not Slack requests

    def run_job(self, name: Any, at: Any = None) -> JsonDict:
        """The clock panel: run a job now or as of `at` (same runner as `alumni-bot jobs run`), then deliver."""
        from jobs.base import discover_jobs
        from jobs.delivery import deliver_keys
        from jobs.runner import run_job
        from models.outbox import FAILED, SENT

        if not isinstance(name, str) or name not in discover_jobs():
            raise BadRequest("unknown job")
        instant = _parse_instant(at, self.settings.zone) if at else None
        with self._jobs_lock:
            result = run_job(self.services, name, at=instant)
            outcome = deliver_keys(self.services, result.keys, timeout=60) if result.claimed else {}
        self.slack.touch()
        return {
            "ok": True,
            "job": result.job,
            "period": result.period,
            "at": result.scheduled_for.isoformat(),
            "claimed": result.claimed,
            "status": result.status,
            "queued": len(result.queued),
            "sent": sum(1 for s in outcome.values() if s == SENT),
            "failed": sum(1 for s in outcome.values() if s == FAILED),
        }

    def add_person(self, name: Any, locale: Any, tz: Any) -> JsonDict:
        """Adds a person to the workspace; the bot hears `team_join` as it would from Slack."""
        if not isinstance(name, str) or not name.strip() or len(name) > 80:
            raise BadRequest("name is required (at most 80 characters)")
        locale = locale if isinstance(locale, str) and locale else "en-US"
        if language_of(locale, "") == "":
            raise BadRequest("locale must be Japanese or English (ja-JP, en-US, ...)")
        try:
            zone = ZoneInfo(str(tz or "Asia/Tokyo"))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BadRequest("tz must be an IANA time zone such as Asia/Tokyo") from exc
        user_id = self.workspace.add_person(self.slack, name.strip(), locale, zone.key)
        self.bridge.team_join(user_id)
        self.slack.touch()
        return {"ok": True, "id": user_id}

    def upload(self, user: Any, name: Any, content_base64: Any, mimetype: Any = None) -> JsonDict:
        """A file a person uploads (a `file_input`, e.g. the roster CSV); its id goes in the submission."""
        if not any(p["id"] == user for p in self.slack.people()):
            raise BadRequest("unknown user")
        if not isinstance(name, str) or not name.strip() or not isinstance(content_base64, str):
            raise BadRequest("name and content_base64 are required")
        try:
            content = base64.b64decode(content_base64, validate=True)
        except ValueError as exc:
            raise BadRequest("content_base64 is not base64") from exc
        file_id = "F" + secrets.token_hex(5).upper()
        kind = mimetype if isinstance(mimetype, str) and mimetype else mimetypes.guess_type(name)[0]
        self.slack.add_file(file_id, content, name.strip(), kind or "application/octet-stream")
        return {"ok": True, "file": {"id": file_id, "name": name.strip()}}

    # ------------------------------------------------------------------ WSGI

    def wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        if not self._host_allowed(environ.get("HTTP_HOST", "")):
            # DNS rebinding: a web page from elsewhere whose name resolves to 127.0.0.1 must not read or act.
            return _json(start_response, {"ok": False, "error": "host_not_allowed"}, "403 Forbidden")
        if method == "POST" and not environ.get("CONTENT_TYPE", "").startswith("application/json"):
            # A cross-site form can POST text/plain without asking; JSON needs a CORS preflight we never grant.
            return _json(
                start_response, {"ok": False, "error": "json_required"}, "415 Unsupported Media Type"
            )
        try:
            if method == "GET" and path == "/api/state":
                return _json(start_response, self._get_state(environ))
            if method == "GET" and path.startswith("/files/"):
                return self._file(start_response, path.removeprefix("/files/"))
            if method == "GET":
                return _static(start_response, path)
            if method == "POST" and path in self._routes():
                body = _read_json(environ)
                return _json(start_response, self._routes()[path](body))
            return _json(start_response, {"ok": False, "error": "not_found"}, "404 Not Found")
        except BadRequest as exc:
            return _json(start_response, {"ok": False, "error": str(exc)}, "400 Bad Request")
        except Exception:
            log.exception("playground request failed", extra={"path": path})
            return _json(
                start_response, {"ok": False, "error": "internal_error"}, "500 Internal Server Error"
            )

    def _host_allowed(self, host: str) -> bool:
        """On loopback only loopback names are served; with an explicit --host, any name the operator uses."""
        if self.host not in LOOPBACK_HOSTS:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name.strip("[]") in LOOPBACK_HOSTS

    def _routes(self) -> dict[str, Callable[[JsonDict], JsonDict]]:
        b = self.bridge
        return {
            "/api/command": lambda d: b.command(d.get("user"), d.get("channel"), d.get("text")),
            "/api/message": lambda d: b.message(
                d.get("user"), d.get("channel"), d.get("text"), d.get("thread_ts")
            ),
            "/api/action": lambda d: b.action(
                d.get("user"),
                d.get("source"),
                d.get("action"),
                channel=d.get("channel"),
                ts=d.get("ts"),
                view_id=d.get("view_id"),
                state=d.get("state"),
            ),
            "/api/view_submission": lambda d: b.view_submission(
                d.get("user"), d.get("view_id"), d.get("state")
            ),
            "/api/view_closed": lambda d: b.view_closed(d.get("user"), d.get("view_id")),
            "/api/options": lambda d: b.options(
                d.get("user"), d.get("action_id"), d.get("block_id"), d.get("value"), d.get("view_id")
            ),
            "/api/home_opened": lambda d: b.home_opened(d.get("user")),
            "/api/shortcut": lambda d: b.shortcut(d.get("user"), d.get("callback_id")),
            "/api/jobs/run": lambda d: self.run_job(d.get("name"), d.get("at")),
            "/api/people": lambda d: self.add_person(d.get("name"), d.get("locale"), d.get("tz")),
            "/api/files": lambda d: self.upload(
                d.get("user"), d.get("name"), d.get("content_base64"), d.get("mimetype")
            ),
        }

    def _get_state(self, environ: WSGIEnvironment) -> JsonDict:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            since = int(query.get("since", ["-1"])[0])
            wait = min(MAX_WAIT, max(0.0, float(query.get("wait", ["0"])[0])))
        except ValueError as exc:
            raise BadRequest("since and wait must be numbers") from exc
        if since == self.slack.version and wait > 0:
            self.slack.wait_for_change(since, wait)
        if since == self.slack.version:
            return {"version": since, "changed": False}
        return self.state()

    def _file(self, start_response: StartResponse, file_id: str) -> Iterable[bytes]:
        found = self.slack.file_bytes(file_id)
        if found is None:
            return _json(start_response, {"ok": False, "error": "file_not_found"}, "404 Not Found")
        content, name, mimetype = found
        start_response(
            "200 OK",
            [
                ("Content-Type", mimetype),
                ("Content-Length", str(len(content))),
                # RFC 6266 / 5987: a UTF-8 file name that survives Japanese titles.
                ("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}"),
            ],
        )
        return [content]


def _parse_instant(raw: Any, zone: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest("at must be an ISO-8601 instant, e.g. 2026-12-07T09:00+09:00") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _read_json(environ: WSGIEnvironment) -> JsonDict:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise BadRequest("bad Content-Length") from exc
    if length <= 0 or length > MAX_BODY:
        raise BadRequest("a JSON body is required")
    try:
        body = json.loads(environ["wsgi.input"].read(length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _json(start_response: StartResponse, body: JsonDict, status: str = "200 OK") -> Iterable[bytes]:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [payload]


def _static(start_response: StartResponse, path: str) -> Iterable[bytes]:
    """The page (`bot/playground/static/`, shipped as package data); `/` is index.html."""
    relative = "index.html" if path in ("/", "") else path.removeprefix("/static/").lstrip("/")
    root = Path(str(resources.files("bot.playground") / "static")).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        if relative == "index.html":
            return _fallback_page(start_response)
        return _json(start_response, {"ok": False, "error": "not_found"}, "404 Not Found")
    content = target.read_bytes()
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(content)))])
    return [content]


def _fallback_page(start_response: StartResponse) -> Iterable[bytes]:
    """Shown only when the page's files are missing from the install: the API still works."""
    text = t("playground.page_missing", "en") + "\n" + t("playground.page_missing", "ja")
    html = (
        "<!doctype html><meta charset='utf-8'><title>alumni-bot Playground</title>"
        f"<h1>alumni-bot Playground</h1><p>{text}</p>"
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(html)))]
    )
    return [html]
