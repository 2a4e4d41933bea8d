"""The front door (issue 13): unsigned requests cost nothing, say nothing and reach no one.

Every test runs the app over real HTTP on SQLite and on PostgreSQL (`bot` fixture).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import http.server
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import BoltRequest

from bot.app import create_app
from bot.blocks.checkins import NUDGE_SNOOZE_ACTION, nudge_message
from bot.blocks.directory import MORE_ACTION
from bot.i18n import Translator
from models.timeutil import now
from tests.conftest import ALICE, ALUMNI_CHANNEL, SIGNING_SECRET, BotHarness
from tests.drills.support import db_snapshot, settle, snapshot_diff
from tests.handlers.test_directory import add_member, search


def post_raw(bot: BotHarness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST exact bytes to /slack/events (urllib would insist on text)."""
    parsed = urllib.parse.urlsplit(bot.url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=20)
    try:
        conn.request("POST", "/slack/events", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def headers_only_status(bot: BotHarness, headers: dict[str, str], *, content_length: int) -> int:
    """Send a POST's headers (declaring `content_length`) but no body; return the status answered."""
    parsed = urllib.parse.urlsplit(bot.url)
    lines = ["POST /slack/events HTTP/1.1", f"Host: {parsed.netloc}", f"Content-Length: {content_length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status_line = sock.makefile("rb").readline().decode("latin-1")
    return int(status_line.split()[1])


def signed(
    bot: BotHarness, body: bytes, *, content_type: str, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    # Over the raw bytes (slack_sdk's generator decodes them as UTF-8 first, which non-UTF-8 bodies fail).
    mac = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    signature = "v0=" + mac.hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def command_body(**fields: str) -> bytes:
    values = {
        "team_id": "T1",
        "user_id": ALICE,
        "channel_id": ALUMNI_CHANNEL,
        "command": "/alumni",
        "text": "help",
        "response_url": "",
        "trigger_id": "t.1",
    }
    values.update(fields)
    return urllib.parse.urlencode(values).encode()


def slack_calls(bot: BotHarness) -> list[str]:
    return [c.summary() for c in bot.fake.calls if c.method != "users.info"]


# -- 1. timestamps that only look like numbers; the error path never acts on an unverified body ------------


@pytest.mark.parametrize("timestamp", ["²³", "9" * 5000], ids=["unicode-digits", "5000-digits"])
def test_timestamps_that_are_not_ascii_seconds_get_401_and_message_nobody(
    bot: BotHarness, timestamp: str
) -> None:
    body = command_body()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "a" * 64,
    }
    status, _ = post_raw(bot, body, headers)
    settle(bot.fake)
    assert (status, slack_calls(bot)) == (401, [])


def test_bolt_error_path_never_messages_the_user_named_in_an_unverified_body(bot: BotHarness) -> None:
    """Even a request that reaches Bolt without the door (another server, a future route): Bolt's
    verification raises on "²³", calls the app's error handler, and that must not post anything."""
    app = create_app(bot.settings, services=bot.services)
    body = command_body(channel_id=ALUMNI_CHANNEL).decode()
    request = BoltRequest(
        body=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": "²³",
            "x-slack-signature": "v0=" + "a" * 64,
        },
    )
    response = app.dispatch(request)
    settle(bot.fake)
    assert response.status >= 400
    assert slack_calls(bot) == []


# -- 2. malformed bodies: 401 when unsigned, 400 when signed, never 500 -----------------------------------

MALFORMED = {
    "non-utf8 form": (b"payload=%7B%7D&x=\xff\xfe\xfa", "application/x-www-form-urlencoded"),
    "invalid json payload": (b"payload=%7Bnot%20json", "application/x-www-form-urlencoded"),
    "deeply nested payload": (
        b"payload=" + urllib.parse.quote("[" * 200_000).encode(),
        "application/x-www-form-urlencoded",
    ),
    "deeply nested json": (b"{" + b'"a":' * 1 + b"[" * 200_000, "application/json"),
    "non-utf8 json": (b'{"type": "\xff"}', "application/json"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_bodies_get_401_unsigned_and_400_signed_never_500(
    bot: BotHarness, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = MALFORMED[kind]
    caplog.set_level(logging.INFO)
    unsigned = {"Content-Type": content_type}
    forged = {**signed(bot, b"other body", content_type=content_type)}
    assert post_raw(bot, body, unsigned)[0] == 401
    assert post_raw(bot, body, forged)[0] == 401
    status, text = post_raw(bot, body, signed(bot, body, content_type=content_type))
    assert status == 400, text
    settle(bot.fake)
    assert slack_calls(bot) == []
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


# -- 3. size cap and what a refusal logs ----------------------------------------------------------------


def test_bodies_over_the_limit_get_413_and_their_refusal_logs_a_line_not_the_body(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = command_body(text="x" * (2 * 1024 * 1024))
    before = db_snapshot(bot.db)
    for headers in (
        {"Content-Type": "application/x-www-form-urlencoded"},
        signed(bot, body, content_type="application/x-www-form-urlencoded"),
    ):
        # Only the headers are sent: the answer must come before a byte of the body is read.
        assert headers_only_status(bot, headers, content_length=len(body)) == 413
    settle(bot.fake)
    assert slack_calls(bot) == []
    assert not snapshot_diff(before, db_snapshot(bot.db))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(logged) < 2000, f"{len(logged)} characters logged for two refused requests"
    assert "413" in logged and str(len(body)) in logged  # the refusal says what and how big


def test_a_genuine_request_refused_for_clock_skew_logs_no_personal_data(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": ALICE},
        "view": {
            "id": "V1",
            "callback_id": "referral_submit",
            "state": {
                "values": {
                    "email": {"email": {"type": "plain_text_input", "value": "candidate.person@example.org"}},
                    "phone": {"phone": {"type": "plain_text_input", "value": "+81-90-5555-0199"}},
                }
            },
        },
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    stale = int(time.time()) - 10 * 60
    status, _ = post_raw(
        bot, body, signed(bot, body, content_type="application/x-www-form-urlencoded", timestamp=stale)
    )
    assert status == 401
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "candidate.person" not in logged and "5555" not in logged
    assert "window" in logged  # the operator still learns why (clock skew), with the skew in seconds


# -- 5. bidirectional-text spoofing ---------------------------------------------------------------------

SPOOF = "Free laptop \u202egnp.exe\u202c \u2066x\u2069\u200b\u2060\ufeff"
INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\u2060\ufeff"


def _has_invisible(text: str) -> bool:
    return any(ch in text for ch in INVISIBLE)


def test_bidi_controls_in_a_stored_name_never_reach_slack(bot: BotHarness) -> None:
    """An old row (stored before text was cleaned on the way in) is neutralised when rendered."""
    add_member(bot, "U0SPOOF01", name=SPOOF, skills="Rust")
    answer = search(bot, "rust", user=ALICE)
    shown = json.dumps(answer, ensure_ascii=False)
    assert "gnp.exe" in shown and not _has_invisible(shown)


def test_bidi_controls_typed_into_a_form_are_dropped_on_the_way_in(bot: BotHarness) -> None:
    from bot.blocks.profiles import CHECKIN_CALLBACK, SHARE, WHATS_NEW
    from models.checkin import CheckIn
    from tests.handlers.test_checkins import checkin_values

    add_member(bot, ALICE, name="Alice")
    values: dict[str, Any] = checkin_values(SPOOF, share=True)
    values[SHARE] = ["share"]
    values[WHATS_NEW] = SPOOF
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, values, user=ALICE)
    assert answer.status == 200, answer.text
    posted = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)[-1]
    assert "gnp.exe" in json.dumps(posted.args, ensure_ascii=False)
    assert not _has_invisible(json.dumps(posted.args, ensure_ascii=False))
    from sqlmodel import select

    with bot.db.session() as session:
        stored = [c.text for c in session.exec(select(CheckIn)).all()]
    assert stored and all("gnp.exe" in (s or "") and not _has_invisible(s or "") for s in stored)


# -- 6. container and response_url: only the bot's own message, only Slack's hosts ----------------------


def test_a_click_cannot_make_the_bot_update_a_message_elsewhere(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    announcement = bot.services.client.chat_postMessage(channel=ALUMNI_CHANNEL, text="Welcome, everyone")
    message = nudge_message(Translator("en"), last_contact=now(), snooze_days=30)
    forged_container = {
        "type": "message",
        "message_ts": announcement["ts"],
        "channel_id": ALUMNI_CHANNEL,
        "is_ephemeral": False,
    }
    answer = bot.sender.block_action(
        NUDGE_SNOOZE_ACTION,
        "snooze",
        user=ALICE,
        channel=ALUMNI_CHANNEL,
        message={"ts": announcement["ts"], "text": message["text"], "blocks": message["blocks"]},
        container=forged_container,
    )
    assert answer.status == 200
    settle(bot.fake)
    bot.settle()  # the snooze's update is after-ack work: a quiet spell is no proof it is over
    updates = [c.args for c in bot.fake.calls if c.method == "chat.update"]
    assert not [u for u in updates if u.get("channel") == ALUMNI_CHANNEL], updates


@pytest.fixture
def foreign_host() -> Iterator[list[str]]:
    """A web server on another loopback port that records every request (a "non-Slack" host)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hits.append(f"http://127.0.0.1:{server.server_port}/hook")
    try:
        yield hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_bot_answers_only_on_slacks_response_url_hosts(bot: BotHarness, foreign_host: list[str]) -> None:
    url = foreign_host.pop()
    for i in range(12):
        add_member(bot, f"U0RUST{i:03d}", name=f"Rustacean {i}", skills="Rust")
    body = search(bot, "rust", user=ALICE)
    more = next(e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"])
    answer = bot.sender.block_action(MORE_ACTION, more["value"], user=ALICE, response_url=url)
    assert answer.status == 200
    settle(bot.fake, quiet=0.3)
    bot.settle()  # whatever the click's listener does has ended
    assert foreign_host == [], "the bot posted to a response_url outside Slack"
    # Control: on Slack's (here the fake's) response URL the same click answers.
    slack_url = bot.fake.response_url("more")
    bot.sender.block_action(MORE_ACTION, more["value"], user=ALICE, response_url=slack_url)
    bot.fake.wait_for("response_url")
