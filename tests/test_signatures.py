"""Requests Slack did not sign are refused with 401 and change nothing (issue 9).

Every registered command, action, view callback, shortcut, options source and event (read from the listener
registry, so new listeners are covered as they appear) is sent with a missing signature, a timestamp more
than five minutes old or ahead, a forged signature, a signature made with another secret and a signature of a
different body. Each must get 401, leave every table as it was and cause no Slack Web API call. A correctly
signed copy of the same request is then accepted (not 401), so the refusals are not an accident of the
payloads. Runs on SQLite and PostgreSQL through the `bot` fixture.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ALICE, ALUMNI_CHANNEL, SIGNING_SECRET, BotHarness
from tests.drills.support import db_snapshot, live_registry, sample_action_id, settle, snapshot_diff
from tests.slack_requests import Answer, SlackSender, event_base

Send = Callable[..., Answer]  # send(**transport_kwargs) -> Answer
FIVE_MINUTES = 5 * 60


def _requests(bot: BotHarness, kind: str) -> list[tuple[str, Send]]:
    """(label, send) for every listener of one kind, plus one unregistered ID so the kind is never empty."""
    registry = live_registry(bot.services)
    s = bot.sender
    out: list[tuple[str, Send]] = []
    if kind == "command":
        for name in registry.commands:
            out.append((name, lambda name=name, **kw: s.command(name, "help", user=ALICE, **kw)))
    elif kind == "action":
        ids = [sample_action_id(a) for a in registry.actions] + ["unregistered_action"]
        for action_id in ids:
            out.append(
                (
                    action_id,
                    lambda action_id=action_id, **kw: s.block_action(
                        action_id, "1", user=ALICE, channel=ALUMNI_CHANNEL, **kw
                    ),
                )
            )
    elif kind == "view":
        for callback_id in [*registry.views, "unregistered_view"]:
            out.append(
                (
                    callback_id,
                    lambda callback_id=callback_id, **kw: s.view_submission(
                        callback_id, {"title": "x"}, user=ALICE, **kw
                    ),
                )
            )
    elif kind == "shortcut":
        for callback_id in [*registry.shortcuts, "unregistered_shortcut"]:
            out.append(
                (callback_id, lambda callback_id=callback_id, **kw: s.shortcut(callback_id, user=ALICE, **kw))
            )
        for action_id in registry.options:
            out.append(
                (
                    f"options:{action_id}",
                    lambda action_id=action_id, **kw: s.options(action_id, "a", user=ALICE, **kw),
                )
            )
    elif kind == "event":
        for event_type in [*registry.events, "member_joined_channel"]:
            event = {
                **event_base(event_type),
                "user": ALICE if event_type != "team_join" else {"id": ALICE, "name": "alice"},
                "channel": ALUMNI_CHANNEL,
                "tab": "home",
            }
            out.append((event_type, lambda event=event, **kw: s.event(event, **kw)))
        url_check = json.dumps({"type": "url_verification", "challenge": "c", "token": "legacy"})
        out.append(("url_verification", lambda **kw: s.post(url_check, "application/json", **kw)))
    return out


def _bad_variants() -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    wrong_secret = SlackSender("http://unused", "not-the-signing-secret").verifier

    def wrong_key() -> dict[str, Any]:
        ts = int(time.time())
        # The signature of a different body under the right secret would be the tampered case; this is
        # a well-formed signature under another app's secret.
        return {"timestamp": ts, "signature": wrong_secret.generate_signature(timestamp=str(ts), body="")}

    def tampered() -> dict[str, Any]:
        ts = int(time.time())
        right = SlackSender("http://unused", SIGNING_SECRET).verifier
        return {
            "timestamp": ts,
            "signature": right.generate_signature(timestamp=str(ts), body="payload=%7B%7D"),
        }

    return [
        ("no signature headers", lambda: {"sign": False}),
        # A few seconds past the limit: on a loaded machine the request can take a second to be verified.
        ("timestamp 5 min + 5 s old", lambda: {"timestamp": int(time.time()) - FIVE_MINUTES - 5}),
        ("timestamp 1 hour old", lambda: {"timestamp": int(time.time()) - 3600}),
        ("timestamp 5 min + 5 s ahead", lambda: {"timestamp": int(time.time()) + FIVE_MINUTES + 5}),
        ("forged signature", lambda: {"signature": "v0=" + "0" * 64}),
        ("signature without version", lambda: {"signature": "0" * 64}),
        ("other app's secret", wrong_key),
        ("signature of another body", tampered),
        (
            "signature only, no timestamp",
            lambda: {"sign": False, "headers": {"X-Slack-Signature": "v0=" + "a" * 64}},
        ),
    ]


@pytest.mark.parametrize("kind", ["command", "action", "view", "event", "shortcut"])
def test_unsigned_stale_or_forged_requests_get_401_and_write_nothing(bot: BotHarness, kind: str) -> None:
    requests = _requests(bot, kind)
    assert requests, f"no {kind} request to check"
    settle(bot.fake, quiet=0.05)
    before = db_snapshot(bot.db)
    calls_before = len(bot.fake.calls)
    wrong: list[str] = []
    for label, send in requests:
        for variant, transport in _bad_variants():
            answer = send(**transport())
            if answer.status != 401:
                wrong.append(f"{kind} {label} with {variant}: HTTP {answer.status} {answer.text[:120]!r}")
    settle(bot.fake)
    assert not wrong, "requests Slack did not sign were not refused with 401:\n" + "\n".join(wrong)
    changes = snapshot_diff(before, db_snapshot(bot.db))
    assert not changes, f"refused {kind} requests wrote to the database: {changes}"
    new_calls = [c.summary() for c in bot.fake.calls[calls_before:]]
    assert not new_calls, f"refused {kind} requests caused Slack calls: {new_calls}"

    # Control: the same requests, properly signed, get past verification.
    for label, send in requests:
        assert send().status != 401, f"a correctly signed {kind} {label} was refused"
    settle(bot.fake)


def test_a_retry_header_does_not_bypass_verification(bot: BotHarness) -> None:
    before = db_snapshot(bot.db)
    answer = bot.sender.event(
        {"type": "app_home_opened", "user": ALICE, "tab": "home"}, retry_num=1, signature="v0=" + "1" * 64
    )
    assert answer.status == 401
    settle(bot.fake)
    assert not bot.fake.calls_to("views.publish")
    assert not snapshot_diff(before, db_snapshot(bot.db))


def test_malformed_timestamp_header_gets_401_and_messages_nobody(bot: BotHarness) -> None:
    """Regression (found by this test, fixed in bot/web.py in commit aac587d): a non-numeric
    X-Slack-Request-Timestamp made Bolt's verifier raise ValueError; the app answered 500 and its error
    handler then acted on the UNVERIFIED body:
    it DMs the `user_id` named in it ("something went wrong") or POSTs to its `response_url`. Anyone on
    the internet can make the bot message any member, or make it POST to any URL (SSRF).
    The fix refuses such requests with 401 before Bolt.
    """
    forged = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=" + "a" * 64}
    answer = bot.sender.command("/alumni", "help", user=ALICE, response_url="", sign=False, headers=forged)
    settle(bot.fake)
    sent = [c.summary() for c in bot.fake.calls if c.method not in ("users.info",)]
    assert (answer.status, sent) == (401, []), f"HTTP {answer.status}; the bot then sent: {sent}"
