"""An in-process emulator of the Slack Web API served over real HTTP (tests and the playground).

slack_sdk's ``WebClient(base_url=fake.api_url)`` talks to it exactly as it talks to Slack, so tests
exercise the real request encoding, error handling and retry handlers instead of mocks.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from bot.slack_emulator.blockkit import Kind, Violation, check
from bot.slack_emulator.sdk_check import sdk_check

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "AFAKE"
TEAM_ID = "T1"
TEAM_DOMAIN = "example"

# Args that slack_sdk (or a form post) may send as JSON strings; tests want them as objects.
_JSON_ARGS = ("blocks", "attachments", "view", "metadata", "files")

JsonDict = dict[str, Any]
Predicate = Callable[["Call"], bool]

# The app's manifest (the source of the granted bot scopes and subscribed events by default).
MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"

# Bot-token scopes each emulated Web API method requires, from the "Scopes" fact of each method's page on
# docs.slack.dev/reference/methods/<method> (checked with the docs search). A tuple means "any one of";
# conversations.* need the scope of the conversation's type, picked by `_CONVERSATION_SCOPES`.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "usergroups.users.list": ("usergroups:read",),
    "conversations.open": ("channels:manage", "groups:write", "im:write", "mpim:write"),
    "conversations.join": ("channels:join",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.info": ("files:read",),
}
# conversations.info/members need <type>:read, conversations.history/replies need <type>:history.
_CONVERSATION_SCOPES: dict[str, str] = {
    "conversations.info": "read",
    "conversations.members": "read",
    "conversations.history": "history",
    "conversations.replies": "history",
}


# A `message` event's channel_type -> the manifest's subscription (message.channels, message.im, ...).
_MESSAGE_SUBSCRIPTIONS = {"channel": "channels", "group": "groups", "im": "im", "mpim": "mpim"}


def event_subscription(event: dict[str, Any]) -> str:
    """The bot event name a manifest must subscribe to for Slack to send ``event`` (Events API)."""
    event_type = str(event.get("type") or "")
    if event_type == "message":
        return "message." + _MESSAGE_SUBSCRIPTIONS.get(str(event.get("channel_type") or ""), "?")
    return event_type


def manifest_bot_config(path: Path = MANIFEST_PATH) -> tuple[frozenset[str], frozenset[str]]:
    """(bot scopes, bot events) an app manifest grants and subscribes to.

    Without the file (an installed package) the manifest is generated from the listener registry, which is
    what `manifest.yml` holds (a test keeps them equal).
    """
    if path.exists():
        manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    else:
        from bot.app import build_registry  # late: the app imports handlers, which the tests load anyway
        from bot.manifest import build_manifest

        manifest = build_manifest(build_registry())
    scopes = ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    events = ((manifest.get("settings") or {}).get("event_subscriptions") or {}).get("bot_events") or []
    return frozenset(scopes), frozenset(events)


@dataclass
class Call:
    """One request the fake answered (API method, or a pseudo method such as ``response_url``)."""

    method: str
    args: JsonDict
    status: int
    response: JsonDict
    time: float
    key: str | None = None  # response_url key / file id for pseudo methods

    @property
    def ok(self) -> bool:
        """True when Slack would report success."""
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        """The Slack error code, if any."""
        err = self.response.get("error")
        return err if isinstance(err, str) else None

    def summary(self) -> str:
        """One line for assertion messages."""
        outcome = "ok" if self.ok else f"error={self.error!r} status={self.status}"
        return f"{self.method}({_short(self.args)}) -> {outcome}"


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    email: str | None
    locale: str
    tz: str
    tz_offset: int
    is_bot: bool
    deleted: bool
    team_id: str
    messages_tab_disabled: bool

    def to_api(self, *, include_locale: bool) -> JsonDict:
        profile: JsonDict = {"real_name": self.real_name, "display_name": self.name}
        if self.email is not None:
            profile["email"] = self.email
        data: JsonDict = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": profile,
        }
        if include_locale:
            data["locale"] = self.locale
        return data


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    members_bot: bool = True
    require_join: bool = False
    members: list[str] | None = None  # None: every non-deleted known user is a member
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None

    def to_api(self) -> JsonDict:
        data: JsonDict = {
            "id": self.id,
            "created": 1700000000,
            "is_archived": self.is_archived,
            "is_im": self.is_im,
            "is_mpim": self.is_mpim,
        }
        if self.is_im:
            data["user"] = self.user
            return data
        data.update(
            {
                "name": self.name,
                "is_channel": not self.is_private,
                "is_group": self.is_private,
                "is_private": self.is_private,
                "is_member": self.members_bot,
            }
        )
        return data


@dataclass
class _Fault:
    error: str | None
    status: int
    times: int
    retry_after: int | None
    delay: float
    body: str | bytes | JsonDict | None

    @property
    def delay_only(self) -> bool:
        return (
            self.delay > 0
            and self.error is None
            and self.status == 200
            and self.body is None
            and self.retry_after is None
        )


@dataclass
class _Reply:
    status: int = 200
    json_body: JsonDict | None = None
    raw: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if self.json_body is not None:
            return json.dumps(self.json_body).encode("utf-8")
        return self.raw

    def as_record(self) -> JsonDict:
        if self.json_body is not None:
            return copy.deepcopy(self.json_body)
        return {"ok": self.status == 200, "status": self.status, "bytes": len(self.raw)}


class _ApiError(Exception):
    """Raised by method handlers to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra

    def reply(self) -> _Reply:
        """The HTTP reply Slack would send for this error."""
        return _Reply(status=self.status, json_body={"ok": False, "error": self.error, **self.extra})


class _BadRequest(Exception):
    """A request the fake cannot parse; answered with HTTP 400."""


def _short(args: JsonDict, limit: int = 120) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _truthy(value: Any) -> bool:
    return value is True or value == 1 or (isinstance(value, str) and value.lower() in ("1", "true"))


def _int_arg(args: JsonDict, name: str, default: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _ApiError("invalid_arguments", detail=f"{name} must be an integer") from exc


def _ts_key(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation as exc:
        raise _ApiError("invalid_ts_latest" if ts else "invalid_arguments") from exc


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"next:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(str(cursor).encode()).decode().partition(":")
        if prefix != "next":
            raise ValueError(prefix)
        return int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _ApiError("invalid_cursor") from exc


def _paginate(items: list[Any], args: JsonDict, default_limit: int) -> tuple[list[Any], str]:
    """Slices by ``cursor``/``limit`` the way Slack's cursor pagination does (limit 0 = all)."""
    start = _decode_cursor(args.get("cursor"))
    limit = _int_arg(args, "limit", default_limit)
    end = len(items) if limit <= 0 else start + limit
    page = items[start:end]
    next_cursor = _encode_cursor(end) if end < len(items) else ""
    return page, next_cursor


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: under load (benchmarks.load at c=32 keeps ~30 app threads calling)
    # the kernel dropped connection attempts and clients retried after 1 s and 3 s, which no Slack endpoint
    # does; those retries were most of the RSVP click's p99.
    request_queue_size = 128


class FakeSlack:
    """A fake Slack Web API server; see the module docstring.

    Use as ``with FakeSlack() as fake: WebClient(token="xoxb-test", base_url=fake.api_url)``.
    ``tokens`` restricts accepted bearer tokens (None accepts any non-blank token). The bot scopes granted
    (``missing_scope`` otherwise) and the events Slack would deliver come from ``manifest.yml`` unless
    ``scopes`` / ``events`` are given.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        events: Iterable[str] | None = None,
        manifest: Path = MANIFEST_PATH,
    ) -> None:
        self._lock = threading.RLock()
        self._tokens = set(tokens) if tokens is not None else None
        manifest_scopes, manifest_events = (
            manifest_bot_config(manifest) if scopes is None or events is None else (frozenset(), frozenset())
        )
        self.bot_scopes: frozenset[str] = frozenset(scopes) if scopes is not None else manifest_scopes
        self.bot_events: frozenset[str] = frozenset(events) if events is not None else manifest_events
        # Payloads refused per Block Kit rule id (both checks) and calls refused per missing scope, for the
        # audit of what the contract checks catch.
        self.rule_tally: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.server_errors: list[str] = []
        self.usergroups: dict[str, list[str]] = {}
        self.home_views: dict[str, JsonDict] = {}
        # Image addresses Slack cannot download (not public, not png/jpg/gif): see `refuse_image`.
        self.undownloadable_images: set[str] = set()
        self.uploaded_files: dict[str, JsonDict] = {}
        self.user_files: dict[str, JsonDict] = {}
        self.ephemerals: list[JsonDict] = []
        self.accepted_post_count = 0
        self.ratelimited_count = 0
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Channel] = {}
        self._messages: dict[str, list[JsonDict]] = {}
        self._responses: dict[str, list[JsonDict]] = {}
        self._views: dict[str, JsonDict] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._rate_limits: dict[str, tuple[int, int]] = {}
        self._rate_windows: dict[str, deque[float]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._held = 0
        self._ts_micros = 1_700_000_000_000_100
        self._id_counter = 0
        self._methods: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Starts serving on 127.0.0.1 with an OS-assigned port."""
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        # Held replies park handler threads; closing must not wait for them.
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            # A short poll interval keeps stop() (and so every test teardown) fast.
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Releases held replies and shuts the server down."""
        with self._lock:
            holds = list(self._holds.values())
            self._holds.clear()
        for event in holds:
            event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def api_url(self) -> str:
        """Pass as ``WebClient(base_url=...)``."""
        return self.base_url + "api/"

    def response_url(self, key: str) -> str:
        """A response_url whose POSTs are recorded under ``key``."""
        return f"{self.base_url}response/{key}"

    # ------------------------------------------------------------------ setup

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        email: str | None = None,
        locale: str = "en-US",
        tz: str = "Asia/Tokyo",
        tz_offset: int = 32400,
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str = TEAM_ID,
        messages_tab_disabled: bool = False,
    ) -> None:
        """Adds (or replaces) a workspace user."""
        with self._lock:
            self._users[user_id] = _User(
                id=user_id,
                name=name,
                real_name=real_name if real_name is not None else name,
                email=email,
                locale=locale,
                tz=tz,
                tz_offset=tz_offset,
                is_bot=is_bot,
                deleted=deleted,
                team_id=team_id,
                messages_tab_disabled=messages_tab_disabled,
            )

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_archived: bool = False,
        members_bot: bool = True,
        require_join: bool = False,
        members: list[str] | None = None,
    ) -> None:
        """Adds a channel; ``members`` None means every known non-deleted user is in it."""
        with self._lock:
            self._channels[channel_id] = _Channel(
                id=channel_id,
                name=name,
                is_private=is_private,
                is_archived=is_archived,
                members_bot=members_bot,
                require_join=require_join,
                members=list(members) if members is not None else None,
            )
            self._messages.setdefault(channel_id, [])

    def add_message(
        self,
        channel: str,
        *,
        text: str = "",
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        blocks: list[JsonDict] | None = None,
        metadata: JsonDict | None = None,
    ) -> str:
        """Seeds a message (e.g. written by a human) into history; returns its ts."""
        with self._lock:
            channel_id = self._dm_id(channel) if channel.startswith(("U", "W")) else channel
            if ts is None:
                ts = self._next_ts()
            else:
                self._bump_ts(ts)
            msg: JsonDict = {"type": "message", "ts": ts, "user": user, "text": text, "team": TEAM_ID}
            if blocks is not None:
                msg["blocks"] = blocks
            if metadata is not None:
                msg["metadata"] = metadata
            if thread_ts is not None:
                msg["thread_ts"] = thread_ts
            self._store(channel_id, msg)
            return ts

    def add_reaction(self, channel: str, ts: str, *, name: str, user: str) -> None:
        """A user reacts to a message (Slack lists `reactions` on the message: name, users, count)."""
        with self._lock:
            msg = self._find_message(channel, ts)
            reactions = msg.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                reactions.append(entry)
            if user not in entry["users"]:
                entry["users"].append(user)
                entry["count"] += 1

    def add_file(self, file_id: str, content: bytes, name: str, mimetype: str = "text/csv") -> None:
        """Registers a file as if a user had uploaded it (readable via files.info + download)."""
        with self._lock:
            self.user_files[file_id] = {
                "bytes": content,
                "name": name,
                "title": name,
                "mimetype": mimetype,
            }

    # ------------------------------------------------------------------ fault injection

    def refuse_image(self, url: str) -> None:
        """Slack fetches every image_url it is given; this one cannot be downloaded, so a message or view
        showing it is refused ("downloading image failed", as Slack answers)."""
        self.undownloadable_images.add(url)

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        body: str | bytes | JsonDict | None = None,
    ) -> None:
        """Queues a fault for the next ``times`` calls of ``method`` (FIFO with other faults).

        ``retry_after`` implies status 429 with a ``Retry-After`` header. A fault with only
        ``delay`` sleeps and then answers normally; otherwise it sleeps and answers the fault.
        ``body`` replaces the JSON error body (a str/bytes body is sent verbatim, e.g. HTML 503).
        """
        if retry_after is not None and status == 200:
            status = 429
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                _Fault(
                    error=error, status=status, times=times, retry_after=retry_after, delay=delay, body=body
                )
            )

    def rate_limit_per_second(self, method: str, n: int, retry_after: int = 1) -> None:
        """Answers 429 once more than ``n`` calls of ``method`` land within one second."""
        with self._lock:
            self._rate_limits[method] = (n, retry_after)
            self._rate_windows[method] = deque()

    def hold_replies(self, method: str) -> None:
        """Accepts and records calls to ``method`` but withholds the HTTP reply until released."""
        with self._lock:
            self._holds.setdefault(method, threading.Event())

    def release_replies(self, method: str) -> None:
        """Sends every withheld reply for ``method`` and stops holding new ones."""
        with self._lock:
            event = self._holds.pop(method, None)
        if event is not None:
            event.set()

    @property
    def held_count(self) -> int:
        """How many replies are currently withheld."""
        with self._lock:
            return self._held

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of ``method`` in arrival order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Predicate | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Polls until ``count`` calls of ``method`` match ``predicate``; returns all matches.

        Raises AssertionError listing what was called instead, so a failing test explains itself.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matches = [
                    c for c in self.calls if c.method == method and (predicate is None or predicate(c))
                ]
                snapshot = list(self.calls)
            if len(matches) >= count:
                return matches
            if time.monotonic() >= deadline:
                lines = "\n".join(f"  {c.summary()}" for c in snapshot[-30:]) or "  (no calls)"
                raise AssertionError(
                    f"expected {count} call(s) to {method}"
                    f"{' matching predicate' if predicate else ''} within {timeout}s, got {len(matches)}."
                    f" Calls so far ({len(snapshot)}):\n{lines}"
                )
            time.sleep(0.01)

    def reset(self) -> None:
        """Forgets recorded calls (state such as messages and users is kept)."""
        with self._lock:
            self.calls.clear()

    def messages(self, channel: str) -> list[JsonDict]:
        """Current messages of a channel (oldest first, after updates/deletes, metadata included).

        A user id is accepted and means the bot's DM with that user.
        """
        with self._lock:
            channel_id = self._dm_id(channel) if channel.startswith(("U", "W")) else channel
            return copy.deepcopy(self._messages.get(channel_id, []))

    def responses(self, key: str | None = None) -> list[JsonDict]:
        """Accepted response_url bodies for ``key`` (or for all keys, in key order)."""
        with self._lock:
            if key is not None:
                return copy.deepcopy(self._responses.get(key, []))
            return [copy.deepcopy(b) for bodies in self._responses.values() for b in bodies]

    # ------------------------------------------------------------------ request pipeline

    def _handle(self, h: BaseHTTPRequestHandler, verb: str) -> None:
        """Routes one HTTP request; never lets an exception escape into the server thread."""
        hold: threading.Event | None = None
        try:
            url = urlsplit(h.path)
            length_header = h.headers.get("Content-Length") or "0"
            length = int(length_header) if length_header.isdigit() else -1
            raw = h.rfile.read(length) if length > 0 else b""
            parts = [unquote(p) for p in url.path.split("/") if p]
            if length < 0:
                reply = _Reply(status=400, json_body={"ok": False, "error": "invalid_content_length"})
            elif len(parts) == 2 and parts[0] == "api":
                reply, hold = self._api(h, parts[1], url.query, raw)
            elif len(parts) == 2 and parts[0] == "response" and verb == "POST":
                key = parts[1]
                reply, hold = self._pipeline(
                    "response_url",
                    lambda: self._parse_webhook(h, raw),
                    lambda args: self._response_post(key, args),
                    key=key,
                )
            elif len(parts) == 2 and parts[0] == "upload" and verb == "POST":
                file_id = parts[1]
                reply, hold = self._pipeline(
                    "upload_url",
                    lambda: {"file_id": file_id, "length": len(raw)},
                    lambda args: self._upload(file_id, h, raw),
                    key=file_id,
                )
            elif len(parts) >= 2 and parts[0] == "files" and verb == "GET":
                file_id = parts[1]
                reply, hold = self._pipeline(
                    "file_download",
                    lambda: {"file_id": file_id},
                    lambda args: self._download(file_id, h),
                    key=file_id,
                )
            else:
                reply = _Reply(status=404, json_body={"ok": False, "error": "not_found", "path": url.path})
        except Exception as exc:
            # A bug in the fake must surface as a 500 reply (and in server_errors), not a hung client.
            with self._lock:
                self.server_errors.append(f"{verb} {h.path}: {exc!r}")
            reply = _Reply(
                status=500, json_body={"ok": False, "error": "fake_internal_error", "detail": repr(exc)}
            )
        if hold is not None:
            hold.wait()
            with self._lock:
                self._held -= 1
        self._send(h, reply)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, reply: _Reply) -> None:
        payload = reply.payload()
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", reply.content_type)
            h.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(payload)
        except OSError:
            # The client gave up (timeout / killed); that is exactly what some tests simulate.
            pass

    def _api(
        self, h: BaseHTTPRequestHandler, method: str, query: str, raw: bytes
    ) -> tuple[_Reply, threading.Event | None]:
        header = h.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""

        def parse() -> JsonDict:
            nonlocal token
            args = self._parse_args(h, query, raw)
            # A token in the body is a credential, not an argument worth asserting on.
            body_token = args.pop("token", None)
            if not token and isinstance(body_token, str):
                token = body_token.strip()
            return args

        def precheck(args: JsonDict) -> None:
            if not token:
                raise _ApiError("not_authed")
            if self._tokens is not None and token not in self._tokens:
                raise _ApiError("invalid_auth")
            if method not in self._methods:
                raise _ApiError("unknown_method", req_method=method)
            self._check_scope(method, args)

        return self._pipeline(method, parse, lambda args: self._methods[method](args), precheck=precheck)

    def _pipeline(
        self,
        method: str,
        parse: Callable[[], JsonDict],
        dispatch: Callable[[JsonDict], JsonDict | _Reply],
        *,
        key: str | None = None,
        precheck: Callable[[JsonDict], None] | None = None,
    ) -> tuple[_Reply, threading.Event | None]:
        """Parse, authorize, inject faults, rate-limit, dispatch, record, and maybe hold the reply."""
        try:
            args = parse()
        except _BadRequest as exc:
            reply = _Reply(status=400, json_body={"ok": False, "error": str(exc)})
            self._record(method, {}, reply, key)
            return reply, None
        if precheck is not None:
            try:
                precheck(args)
            except _ApiError as exc:
                reply = exc.reply()
                self._record(method, args, reply, key)
                return reply, None

        with self._lock:
            fault = self._take_fault(method)
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if not fault.delay_only:
                reply = self._fault_reply(fault)
                with self._lock:
                    if reply.status == 429:
                        self.ratelimited_count += 1
                    self._record(method, args, reply, key)
                return reply, None

        with self._lock:
            limited = self._rate_limited(method)
            if limited is not None:
                self.ratelimited_count += 1
                reply = limited
            else:
                try:
                    result = dispatch(args)
                    reply = result if isinstance(result, _Reply) else _Reply(json_body=result)
                except _ApiError as exc:
                    reply = exc.reply()
            self._record(method, args, reply, key)
            hold = self._holds.get(method)
            if hold is not None:
                self._held += 1
        return reply, hold

    def _record(self, method: str, args: JsonDict, reply: _Reply, key: str | None) -> None:
        with self._lock:
            self.calls.append(
                Call(
                    method=method,
                    args=copy.deepcopy(args),
                    status=reply.status,
                    response=reply.as_record(),
                    time=time.time(),
                    key=key,
                )
            )

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.body is not None and not isinstance(fault.body, dict):
            raw = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
            return _Reply(
                status=fault.status, raw=raw, content_type="text/html; charset=utf-8", headers=headers
            )
        if isinstance(fault.body, dict):
            body = dict(fault.body)
        else:
            error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
            body = {"ok": False, "error": error}
        return _Reply(status=fault.status, json_body=body, headers=headers)

    def _rate_limited(self, method: str) -> _Reply | None:
        limit = self._rate_limits.get(method)
        if limit is None:
            return None
        n, retry_after = limit
        window = self._rate_windows[method]
        now = time.monotonic()
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= n:
            return _Reply(
                status=429,
                json_body={"ok": False, "error": "ratelimited"},
                headers={"Retry-After": str(retry_after)},
            )
        window.append(now)
        return None

    # ------------------------------------------------------------------ request parsing

    @staticmethod
    def _parse_args(h: BaseHTTPRequestHandler, query: str, raw: bytes) -> JsonDict:
        """Merges query string, form body and JSON body the way Slack reads them."""
        args: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
        ctype = h.headers.get_content_type()
        if raw:
            if ctype == "application/json":
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise _BadRequest("invalid_json") from exc
                if not isinstance(body, dict):
                    raise _BadRequest("invalid_json")
                args.update(body)
            elif ctype == "multipart/form-data":
                args.update(_parse_multipart(h.headers.get("Content-Type", ""), raw))
            else:
                try:
                    args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise _BadRequest("invalid_form_data") from exc
        for name in _JSON_ARGS:
            value = args.get(name)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                # Undecodable values stay strings so the handler answers a format error.
                with contextlib.suppress(json.JSONDecodeError):
                    args[name] = json.loads(value)
        return args

    @staticmethod
    def _parse_webhook(h: BaseHTTPRequestHandler, raw: bytes) -> JsonDict:
        ctype = h.headers.get_content_type()
        try:
            if ctype == "application/x-www-form-urlencoded":
                payload = dict(parse_qsl(raw.decode("utf-8"))).get("payload", "")
                body = json.loads(payload)
            else:
                body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BadRequest("invalid_payload") from exc
        if not isinstance(body, dict):
            raise _BadRequest("invalid_payload")
        return body

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        self._ts_micros += 100
        return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def _bump_ts(self, ts: str) -> None:
        micros = int(_ts_key(ts) * 1_000_000)
        self._ts_micros = max(self._ts_micros, micros)

    def _next_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}FAKE{self._id_counter:05d}"

    @staticmethod
    def _dm_id(user_id: str) -> str:
        return "D" + user_id

    def _store(self, channel_id: str, msg: JsonDict) -> None:
        msgs = self._messages.setdefault(channel_id, [])
        msgs.append(msg)
        msgs.sort(key=lambda m: _ts_key(m["ts"]))

    def _find_message(self, channel_id: str, ts: Any) -> JsonDict:
        for msg in self._messages.get(channel_id, []):
            if msg["ts"] == ts:
                return msg
        raise _ApiError("message_not_found")

    def _user(self, user_id: Any) -> _User:
        user = self._users.get(str(user_id)) if user_id else None
        if user is None:
            raise _ApiError("user_not_found")
        return user

    def _channel(self, ref: Any, *, by_name: bool = False) -> _Channel:
        """Looks up an existing conversation by id (DMs exist for every known human user). Only methods that
        post a new message accept a channel name (`by_name`); chat.update, chat.delete, history and the rest
        take the ID ("Channel containing the message to be updated", chat.update)."""
        ref = str(ref or "")
        channel = self._channels.get(ref)
        if channel is not None:
            return channel
        if ref.startswith("D"):
            user = self._users.get(ref[1:])
            if user is not None and not user.is_bot:
                return self._ensure_dm(user)
        for candidate in self._channels.values() if by_name else ():
            if not candidate.is_im and candidate.name == ref.lstrip("#"):
                return candidate
        raise _ApiError("channel_not_found")

    def _ensure_dm(self, user: _User) -> _Channel:
        channel_id = self._dm_id(user.id)
        channel = self._channels.get(channel_id)
        if channel is None:
            channel = _Channel(id=channel_id, name=user.id, is_private=True, is_im=True, user=user.id)
            self._channels[channel_id] = channel
            self._messages.setdefault(channel_id, [])
        return channel

    def _post_target(self, ref: Any, *, by_name: bool = True) -> _Channel:
        """Resolves where chat.* may post, raising the error Slack would give."""
        ref = str(ref or "")
        if not ref:
            raise _ApiError("channel_not_found")
        if ref.startswith(("U", "W")):
            user = self._users.get(ref)
            if user is None:
                raise _ApiError("channel_not_found")
            if user.is_bot:
                raise _ApiError("cannot_dm_bot")
            channel = self._ensure_dm(user)
        else:
            channel = self._channel(ref, by_name=by_name)
        if channel.is_im:
            user = self._users.get(channel.user or "")
            if user is not None and user.messages_tab_disabled:
                raise _ApiError("messages_tab_disabled")
            return channel
        if channel.is_archived:
            raise _ApiError("is_archived")
        if not channel.members_bot and (channel.is_private or channel.require_join):
            raise _ApiError("not_in_channel")
        return channel

    def _readable(self, ref: Any) -> _Channel:
        """A conversation the bot may read (history/members/info)."""
        channel = self._channel(ref)
        if channel.is_private and not channel.is_im and not channel.members_bot:
            raise _ApiError("channel_not_found")
        return channel

    def _check_blocks(
        self,
        method: str,
        kind: Kind,
        blocks: Any,
        view: JsonDict | None = None,
        text: Any = None,
    ) -> None:
        if blocks is not None and not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        problems: list[Violation] = check(kind, blocks, view, text=text if isinstance(text, str) else None)
        problems += sdk_check(blocks, view)
        base = "/view" if view is not None else ""
        error = "invalid_arguments" if method.startswith("views.") else "invalid_blocks"
        unfetched = [
            f"[ERROR] downloading image failed [json-pointer:{base}{pointer}]"
            for pointer, url in _image_pointers(blocks or [], "/blocks")
            if url in self.undownloadable_images
        ]
        if unfetched and not problems:
            raise _ApiError(error, response_metadata={"messages": unfetched})
        if problems:
            with self._lock:
                self.violations.extend(f"{method}: {p}" for p in problems)
                self.rule_tally.update({p.rule for p in problems})
            # Slack answers a bad view with invalid_arguments and a bad message with invalid_blocks, each
            # with one "[ERROR] ... [json-pointer:...]" line per problem in response_metadata.messages.
            messages = [f"[ERROR] {p.message} [json-pointer:{_pointer(base, p.path)}]" for p in problems]
            raise _ApiError(
                error, errors=[str(p) for p in problems], response_metadata={"messages": messages}
            )

    def check_ack(self, body: Any, submitted: JsonDict | None = None) -> None:
        """Checks an ack body the app answered Slack with (the HTTP reply Slack itself reads).

        A view in ``response_action`` update/push is a modal; blocks in a command's ack are a message;
        ``response_action: errors`` answering the ``submitted`` view may name only its input blocks (Slack
        keys each error by an input block's block_id: https://docs.slack.dev/surfaces/modals). Violations
        are recorded like refused Web API payloads (``violations``, ``rule_tally``) under ``ack``; the caller
        (the test sender) has no Slack error to answer with.
        """
        if not isinstance(body, dict):
            return
        view = body.get("view")
        if body.get("response_action") == "errors" and isinstance(submitted, dict):
            inputs = {
                b.get("block_id")
                for b in submitted.get("blocks") or []
                if isinstance(b, dict) and b.get("type") == "input"
            }
            raw_errors = body.get("errors")
            errors: JsonDict = raw_errors if isinstance(raw_errors, dict) else {}
            strays = sorted(str(k) for k in errors if k not in inputs)
            if strays or not errors:
                with self._lock:
                    self.violations.append(
                        f"ack: errors keyed by no input block of the view: {strays or '{}'}"
                    )
                    self.rule_tally["errors_input_block"] += 1
        try:
            if body.get("response_action") in ("update", "push") and isinstance(view, dict):
                self._check_blocks("ack", "modal", view.get("blocks"), view)
            elif body.get("blocks") is not None:
                self._check_blocks("ack", "message", body.get("blocks"), text=body.get("text"))
        except _ApiError:
            pass  # recorded by _check_blocks

    def delivers(self, event: dict[str, Any]) -> bool:
        """Whether Slack would send this app ``event`` (its manifest subscribes to the event's type)."""
        return event_subscription(event) in self.bot_events

    def _check_scope(self, method: str, args: JsonDict) -> None:
        """Answers ``missing_scope`` (with ``needed`` and ``provided``) like Slack for an ungranted scope."""
        needed = METHOD_SCOPES.get(method)
        if method == "conversations.open":
            # Its scope is the one of the conversation it opens (docs.slack.dev/reference/methods/
            # conversations.open): one user's DM needs im:write, several users' group DM mpim:write.
            needed = self._open_scope(args)
        if method in _CONVERSATION_SCOPES:
            with self._lock:
                channel = self._channels.get(str(args.get("channel") or ""))
            if channel is None:
                channel_ref = str(args.get("channel") or "")
                if not channel_ref.startswith("D"):
                    return  # unknown conversation: the method answers channel_not_found
                kind = "im"
            else:
                kind = (
                    "im"
                    if channel.is_im
                    else "mpim"
                    if channel.is_mpim
                    else "groups"
                    if channel.is_private
                    else "channels"
                )
            needed = (f"{kind}:{_CONVERSATION_SCOPES[method]}",)
        if not needed or any(scope in self.bot_scopes for scope in needed):
            return
        with self._lock:
            self.rule_tally[f"missing_scope {'|'.join(needed)}"] += 1
        raise _ApiError("missing_scope", needed=",".join(needed), provided=",".join(sorted(self.bot_scopes)))

    def _open_scope(self, args: JsonDict) -> tuple[str, ...]:
        """The scope `conversations.open` needs for these arguments (an unknown channel: its error instead)."""
        if args.get("channel"):
            with self._lock:
                channel = self._channels.get(str(args["channel"]))
            if channel is None:
                return ()
            return ("mpim:write",) if channel.is_mpim else ("im:write",)
        raw = args.get("users")
        users = raw if isinstance(raw, list) else str(raw or "").split(",")
        return ("mpim:write",) if len([u for u in users if str(u).strip()]) > 1 else ("im:write",)

    @staticmethod
    def _check_metadata(metadata: Any) -> None:
        if metadata is None:
            return
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not metadata["event_type"]
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            raise _ApiError("invalid_metadata_format")

    def _file_object(self, file_id: str, entry: JsonDict) -> JsonDict:
        url = f"{self.base_url}files/{file_id}"
        return {
            "id": file_id,
            "name": entry.get("name"),
            "title": entry.get("title") or entry.get("name"),
            "mimetype": entry.get("mimetype", "application/octet-stream"),
            "size": len(entry.get("bytes") or b""),
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{file_id}",
        }

    # ------------------------------------------------------------------ methods: auth & users

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Example",
            "user": "alumni-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: JsonDict) -> JsonDict:
        user = self._user(args.get("user"))
        return {"ok": True, "user": user.to_api(include_locale=_truthy(args.get("include_locale")))}

    def _users_list(self, args: JsonDict) -> JsonDict:
        include_locale = _truthy(args.get("include_locale"))
        members = [u.to_api(include_locale=include_locale) for u in self._users.values()]
        page, next_cursor = _paginate(members, args, default_limit=0)
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_lookup_by_email(self, args: JsonDict) -> JsonDict:
        email = str(args.get("email") or "").lower()
        for user in self._users.values():
            if user.email is not None and user.email.lower() == email:
                return {"ok": True, "user": user.to_api(include_locale=False)}
        raise _ApiError("users_not_found")

    def _usergroups_users_list(self, args: JsonDict) -> JsonDict:
        group = self.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"ok": True, "users": list(group)}

    # ------------------------------------------------------------------ methods: conversations

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        if args.get("channel"):
            channel = self._channel(args["channel"])
            return {
                "ok": True,
                "channel": channel.to_api() if _truthy(args.get("return_im")) else {"id": channel.id},
            }
        raw_users = args.get("users")
        user_ids = raw_users if isinstance(raw_users, list) else str(raw_users or "").split(",")
        user_ids = [u.strip() for u in user_ids if u and u.strip()]
        if not user_ids:
            raise _ApiError("users_list_not_supplied")
        if len(user_ids) > 8:
            raise _ApiError("too_many_users")  # "Provide 1 to 8 user IDs" (the method's page)
        users = [self._user(u) for u in user_ids]
        for user in users:
            if user.is_bot:
                raise _ApiError("cannot_dm_bot")
            if user.deleted:
                raise _ApiError("user_disabled")
        if len(users) == 1:
            existed = self._dm_id(users[0].id) in self._channels
            channel = self._ensure_dm(users[0])
        else:
            digest = (
                hashlib.sha1(",".join(sorted(user_ids)).encode(), usedforsecurity=False)
                .hexdigest()[:8]
                .upper()
            )
            channel_id = f"GMP{digest}"
            existed = channel_id in self._channels
            if not existed:
                self._channels[channel_id] = _Channel(
                    id=channel_id,
                    name=f"mpdm-{'--'.join(u.name for u in users)}-1",
                    is_private=True,
                    is_mpim=True,
                    members=sorted(user_ids),
                )
                self._messages.setdefault(channel_id, [])
            channel = self._channels[channel_id]
        data: JsonDict = {
            "ok": True,
            "channel": channel.to_api() if _truthy(args.get("return_im")) else {"id": channel.id},
        }
        if existed:
            data.update({"no_op": True, "already_open": True})
        return data

    def _conversations_join(self, args: JsonDict) -> JsonDict:
        channel = self._channel(args.get("channel"))
        if channel.is_im or channel.is_mpim or channel.is_private:
            raise _ApiError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _ApiError("is_archived")
        data: JsonDict = {"ok": True}
        if channel.members_bot:
            data["warning"] = "already_in_channel"
            data["response_metadata"] = {"warnings": ["already_in_channel"]}
        channel.members_bot = True
        data["channel"] = channel.to_api()
        return data

    def _conversations_info(self, args: JsonDict) -> JsonDict:
        return {"ok": True, "channel": self._readable(args.get("channel")).to_api()}

    def _conversations_members(self, args: JsonDict) -> JsonDict:
        channel = self._readable(args.get("channel"))
        if channel.is_im:
            members = [channel.user or "", BOT_USER_ID]
        else:
            if channel.members is not None:
                members = list(channel.members)
            else:
                members = [u.id for u in self._users.values() if not u.deleted and not u.is_bot]
            if channel.members_bot and BOT_USER_ID not in members:
                members.append(BOT_USER_ID)
        page, next_cursor = _paginate(members, args, default_limit=100)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _history_view(self, msg: JsonDict, channel_id: str, include_metadata: bool) -> JsonDict:
        out = copy.deepcopy(msg)
        if not include_metadata:
            out.pop("metadata", None)
        if msg.get("thread_ts") == msg["ts"] or "thread_ts" not in msg:
            replies = [
                m
                for m in self._messages[channel_id]
                if m.get("thread_ts") == msg["ts"] and m["ts"] != msg["ts"]
            ]
            if replies:
                out["thread_ts"] = msg["ts"]
                out["reply_count"] = len(replies)
                out["latest_reply"] = replies[-1]["ts"]
        return out

    def _conversations_history(self, args: JsonDict) -> JsonDict:
        channel = self._readable(args.get("channel"))
        if not channel.is_im and not channel.is_private and not channel.members_bot:
            raise _ApiError("not_in_channel")
        include_metadata = _truthy(args.get("include_all_metadata"))
        inclusive = _truthy(args.get("inclusive"))
        oldest = _ts_key(args.get("oldest") or "0")
        latest = _ts_key(args["latest"]) if args.get("latest") else None
        selected: list[JsonDict] = []
        for msg in reversed(self._messages.get(channel.id, [])):  # Slack lists newest first
            if msg.get("thread_ts") not in (None, msg["ts"]):
                continue  # thread replies only show up in conversations.replies
            key = _ts_key(msg["ts"])
            if key < oldest or (key == oldest and not inclusive):
                continue
            if latest is not None and (key > latest or (key == latest and not inclusive)):
                continue
            selected.append(self._history_view(msg, channel.id, include_metadata))
        page, next_cursor = _paginate(selected, args, default_limit=100)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, args: JsonDict) -> JsonDict:
        channel = self._readable(args.get("channel"))
        ts = args.get("ts")
        parent = self._find_message(channel.id, ts)
        include_metadata = _truthy(args.get("include_all_metadata"))
        thread = [parent] + [
            m for m in self._messages[channel.id] if m.get("thread_ts") == ts and m["ts"] != ts
        ]
        items = [self._history_view(m, channel.id, include_metadata) for m in thread]
        page, next_cursor = _paginate(items, args, default_limit=100)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # ------------------------------------------------------------------ methods: chat

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        channel = self._post_target(args.get("channel"))
        text = args.get("text")
        blocks = args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        self._check_blocks("chat.postMessage", "message", blocks, text=text)
        metadata = args.get("metadata")
        self._check_metadata(metadata)
        ts = self._next_ts()
        msg: JsonDict = {
            "type": "message",
            "ts": ts,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": text or "",
        }
        for name in ("blocks", "attachments", "metadata"):
            if args.get(name) is not None:
                msg[name] = args[name]
        if args.get("thread_ts"):
            msg["thread_ts"] = str(args["thread_ts"])
        self._store(channel.id, msg)
        self.accepted_post_count += 1
        return {"ok": True, "channel": channel.id, "ts": ts, "message": copy.deepcopy(msg)}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        channel = self._channel(args.get("channel"))
        msg = self._find_message(channel.id, args.get("ts"))
        if msg.get("user") != BOT_USER_ID:
            raise _ApiError("cant_update_message")
        if channel.is_archived:
            raise _ApiError("is_archived")
        blocks = args.get("blocks")
        text = args.get("text")
        self._check_blocks("chat.update", "message", blocks, text=text)
        # An empty object removes the message's metadata (https://docs.slack.dev/reference/methods/chat.update).
        clear_metadata = args.get("metadata") == {}
        if not clear_metadata:
            self._check_metadata(args.get("metadata"))
        # Slack keeps fields that the update omits (text-only updates keep the old blocks).
        if "text" in args:
            msg["text"] = text or ""
        for name in ("blocks", "attachments", "metadata"):
            if name in args:
                msg[name] = args[name]
        if clear_metadata:
            msg.pop("metadata", None)
        msg["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel.id,
            "ts": msg["ts"],
            "text": msg["text"],
            "message": copy.deepcopy(msg),
        }

    def _chat_delete(self, args: JsonDict) -> JsonDict:
        channel = self._channel(args.get("channel"))
        msg = self._find_message(channel.id, args.get("ts"))
        if msg.get("user") != BOT_USER_ID:
            raise _ApiError("cant_delete_message")
        self._messages[channel.id].remove(msg)
        return {"ok": True, "channel": channel.id, "ts": msg["ts"]}

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        channel = self._post_target(args.get("channel"))
        user = self._user(args.get("user"))
        if not channel.is_im and channel.members is not None and user.id not in channel.members:
            raise _ApiError("user_not_in_channel")
        text = args.get("text")
        blocks = args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        self._check_blocks("chat.postEphemeral", "message", blocks, text=text)
        ts = self._next_ts()
        self.ephemerals.append(
            {"channel": channel.id, "user": user.id, "ts": ts, "text": text or "", "blocks": blocks}
        )
        return {"ok": True, "message_ts": ts}

    def _chat_get_permalink(self, args: JsonDict) -> JsonDict:
        channel = self._readable(args.get("channel"))
        msg = self._find_message(channel.id, args.get("message_ts"))
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel.id}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") not in (None, msg["ts"]):
            link += f"?thread_ts={msg['thread_ts']}&cid={channel.id}"
        return {"ok": True, "channel": channel.id, "permalink": link}

    # ------------------------------------------------------------------ methods: views

    def _new_view(self, view: Any, expected_type: str, method: str, kind: Kind) -> JsonDict:
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", detail="view must be a JSON object")
        if view.get("type") != expected_type:
            raise _ApiError("invalid_arguments", detail=f"view.type must be {expected_type}")
        self._check_blocks(method, kind, view.get("blocks"), view)
        external_id = view.get("external_id")
        if external_id and any(v.get("external_id") == external_id for v in self._views.values()):
            raise _ApiError("duplicate_external_id")
        view_id = self._next_id("V")
        return self._view_object(view_id, view, root_view_id=view_id)

    def _view_object(self, view_id: str, view: JsonDict, *, root_view_id: str) -> JsonDict:
        obj: JsonDict = {
            "id": view_id,
            "team_id": TEAM_ID,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        obj.update(copy.deepcopy(view))
        self._id_counter += 1
        obj.update(
            {
                "id": view_id,
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{self._id_counter:08x}",
                "root_view_id": root_view_id,
            }
        )
        self._views[view_id] = obj
        return obj

    def _views_open(self, args: JsonDict) -> JsonDict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", detail="trigger_id is required")
        obj = self._new_view(args.get("view"), "modal", "views.open", "modal")
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_push(self, args: JsonDict) -> JsonDict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", detail="trigger_id is required")
        obj = self._new_view(args.get("view"), "modal", "views.push", "modal")
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_update(self, args: JsonDict) -> JsonDict:
        view = args.get("view")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", detail="view must be a JSON object")
        current: JsonDict | None = None
        if args.get("view_id"):
            current = self._views.get(str(args["view_id"]))
        elif args.get("external_id"):
            current = next(
                (v for v in self._views.values() if v.get("external_id") == args["external_id"]), None
            )
        else:
            raise _ApiError("invalid_arguments", detail="view_id or external_id is required")
        if current is None:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        kind: Kind = "home" if current.get("type") == "home" else "modal"
        self._check_blocks("views.update", kind, view.get("blocks"), view)
        merged = dict(view)
        if not merged.get("external_id") and current.get("external_id"):
            merged["external_id"] = current["external_id"]
        obj = self._view_object(current["id"], merged, root_view_id=current["root_view_id"])
        for user_id, home in self.home_views.items():
            if home["id"] == obj["id"]:
                self.home_views[user_id] = obj
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_publish(self, args: JsonDict) -> JsonDict:
        user = self._user(args.get("user_id"))
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _ApiError("invalid_arguments", detail="view.type must be home")
        existing = self.home_views.get(user.id)
        if existing is not None and args.get("hash") and args["hash"] != existing["hash"]:
            raise _ApiError("hash_conflict")
        self._check_blocks("views.publish", "home", view.get("blocks"), view)
        view_id = existing["id"] if existing is not None else self._next_id("V")
        obj = self._view_object(view_id, view, root_view_id=view_id)
        self.home_views[user.id] = obj
        return {"ok": True, "view": copy.deepcopy(obj)}

    # ------------------------------------------------------------------ methods: files

    def _files_get_upload_url(self, args: JsonDict) -> JsonDict:
        filename = args.get("filename")
        length = _int_arg(args, "length", -1)
        if not filename or length < 0:
            raise _ApiError("invalid_arguments", detail="filename and length are required")
        file_id = self._next_id("F")
        self.uploaded_files[file_id] = {
            "bytes": None,
            "name": filename,
            "title": None,
            "channel_id": None,
            "length": length,
            "completed": False,
        }
        return {"ok": True, "upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: JsonDict) -> JsonDict:
        files = args.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            raise _ApiError("invalid_arguments", detail="files must be a JSON list of {id, title}")
        channel_id = args.get("channel_id") or None
        if channel_id is not None:
            channel_id = self._post_target(channel_id, by_name=False).id
        entries = []
        for item in files:
            entry = self.uploaded_files.get(str(item.get("id")))
            if entry is None or entry["bytes"] is None:
                raise _ApiError("file_not_found", file_id=item.get("id"))
            entries.append((str(item["id"]), item, entry))
        result = []
        for file_id, item, entry in entries:
            entry.update(
                {
                    "title": item.get("title") or entry["name"],
                    "channel_id": channel_id,
                    "initial_comment": args.get("initial_comment"),
                    "thread_ts": args.get("thread_ts"),
                    "completed": True,
                }
            )
            obj = self._file_object(file_id, entry)
            obj["channels"] = [channel_id] if channel_id else []
            result.append(obj)
        return {"ok": True, "files": result}

    def _files_info(self, args: JsonDict) -> JsonDict:
        file_id = str(args.get("file") or "")
        entry = self.user_files.get(file_id)
        if entry is None:
            uploaded = self.uploaded_files.get(file_id)
            if uploaded is not None and uploaded.get("completed"):
                entry = uploaded
        if entry is None:
            raise _ApiError("file_not_found")
        return {"ok": True, "file": self._file_object(file_id, entry)}

    # ------------------------------------------------------------------ non-API endpoints

    def _response_post(self, key: str, body: JsonDict) -> JsonDict:
        if not body.get("delete_original"):
            try:
                self._check_blocks("response_url", "message", body.get("blocks"), text=body.get("text"))
            except _ApiError as exc:
                raise _ApiError(exc.error, status=400, **exc.extra) from exc
        self._responses.setdefault(key, []).append(copy.deepcopy(body))
        return {"ok": True}

    def _upload(self, file_id: str, h: BaseHTTPRequestHandler, raw: bytes) -> _Reply:
        entry = self.uploaded_files.get(file_id)
        if entry is None:
            return _Reply(status=404, raw=b"not found", content_type="text/plain")
        data = raw
        if h.headers.get_content_type() == "multipart/form-data":
            parts = _parse_multipart(h.headers.get("Content-Type", ""), raw)
            data = next((v for v in parts.values() if isinstance(v, bytes)), raw)
        entry["bytes"] = data
        return _Reply(status=200, raw=f"OK - {len(data)}".encode(), content_type="text/plain; charset=utf-8")

    def _download(self, file_id: str, h: BaseHTTPRequestHandler) -> _Reply:
        header = h.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token or (self._tokens is not None and token not in self._tokens):
            return _Reply(status=403, raw=b"forbidden", content_type="text/plain")
        entry = self.user_files.get(file_id) or self.uploaded_files.get(file_id)
        if entry is None or entry.get("bytes") is None:
            return _Reply(status=404, raw=b"not found", content_type="text/plain")
        return _Reply(
            status=200, raw=entry["bytes"], content_type=entry.get("mimetype", "application/octet-stream")
        )


def _image_pointers(node: Any, path: str) -> list[tuple[str, str]]:
    """(json-pointer of an image_url, the url) for every image in `node` (blocks, accessories, elements)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if node.get("type") == "image" and isinstance(node.get("image_url"), str):
            found.append((f"{path}/image_url", node["image_url"]))
        for key, value in node.items():
            found += _image_pointers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _image_pointers(value, f"{path}/{index}")
    return found


def _pointer(base: str, path: str) -> str:
    """``blocks[3].elements[1].action_id`` as the JSON pointer Slack's messages use."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p]
    if parts and parts[0] == "view":
        parts = parts[1:]
    return base + "".join(f"/{p}" for p in parts)


def _parse_multipart(content_type: str, raw: bytes) -> JsonDict:
    """Parses multipart/form-data: file parts become bytes, other parts strings."""
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
        )
    except (UnicodeEncodeError, ValueError) as exc:
        raise _BadRequest("invalid_form_data") from exc
    if not message.is_multipart():
        raise _BadRequest("invalid_form_data")
    out: JsonDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        out[name] = data if part.get_filename() else data.decode("utf-8", "replace")
    return out


class _Handler(BaseHTTPRequestHandler):
    """Thin adapter from http.server to FakeSlack._handle."""

    owner: FakeSlack

    def do_GET(self) -> None:
        self.owner._handle(self, "GET")

    def do_POST(self) -> None:
        self.owner._handle(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Keeps test output quiet."""
