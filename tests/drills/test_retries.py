"""Slack retries an event it thinks failed (X-Slack-Retry-Num 1-3): each retry changes nothing (issue 9).

For every event type the registry lists (new ones are picked up automatically, with a generic payload),
the original delivery is sent, then the same event (same event_id) as retries 1, 2 and 3: after the
retries the database is exactly as after the original, and no further message, ephemeral or file reached
Slack. Re-publishing the same Home tab (views.publish of an identical view) is idempotent and allowed.
A second drill sends the original and its three retries at the same moment (the case Slack retries for:
the first delivery was slow), and still expects one welcome.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from bot.slack_emulator.web_api import Call
from tests.conftest import ALICE, ALUMNI_CHANNEL, BotHarness
from tests.drills.support import db_snapshot, live_registry, settle, snapshot_diff
from tests.slack_requests import event_base

NEWCOMER = "U0NEWBIE1"
MESSAGE_METHODS = (
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "files.completeUploadExternal",
    "response_url",
)


def event_payload(event_type: str, user: str) -> dict[str, Any]:
    """A realistic event of each type the bot handles (a generic one for types added later)."""
    if event_type == "app_home_opened":
        return {"type": event_type, "user": user, "tab": "home", "channel": "D0HOME001"}
    if event_type == "member_joined_channel":
        return {
            "type": event_type,
            "user": user,
            "channel": ALUMNI_CHANNEL,
            "channel_type": "C",
            "team": "T1",
        }
    if event_type == "team_join":
        return {
            "type": event_type,
            "user": {
                "id": user,
                "team_id": "T1",
                "name": "newbie",
                "real_name": "New Bie",
                "is_bot": False,
                "deleted": False,
                "profile": {"real_name": "New Bie", "email": f"{user.lower()}@example.com"},
            },
        }
    if event_type == "message.im":
        return {**event_base(event_type), "user": user, "channel": "D" + user, "text": "hello?"}
    return {**event_base(event_type), "user": user, "channel": ALUMNI_CHANNEL}


def _effects(calls: list[Call]) -> list[str]:
    return [c.summary() for c in calls if c.ok and c.method in MESSAGE_METHODS]


def _home_views(calls: list[Call]) -> list[str]:
    return [
        json.dumps(c.args.get("view"), sort_keys=True) for c in calls if c.method == "views.publish" and c.ok
    ]


def _wait_for_visible_effect(bot: BotHarness, start: int, timeout: float = 5.0) -> None:
    """Until the first delivery did something a user sees (a loaded machine can be slow to start)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(c.method in (*MESSAGE_METHODS, "views.publish") for c in bot.fake.calls[start:]):
            return
        time.sleep(0.02)


def _diff(before: list[str], after: str) -> str:
    import difflib

    old = json.dumps(json.loads(before[-1]), indent=1, ensure_ascii=False).splitlines() if before else []
    new = json.dumps(json.loads(after), indent=1, ensure_ascii=False).splitlines()
    return "\n".join(list(difflib.unified_diff(old, new, lineterm="", n=1))[:40])


def _event_types(bot: BotHarness) -> list[str]:
    return list(live_registry(bot.services).events)


@pytest.mark.parametrize(
    "event_type", ["app_home_opened", "member_joined_channel", "team_join", "*registered"]
)
def test_retries_of_an_event_change_nothing(bot: BotHarness, event_type: str) -> None:
    types = _event_types(bot)
    if event_type == "*registered":
        # Any event type registered after this drill was written, with a generic payload.
        todo = [t for t in types if t not in ("app_home_opened", "member_joined_channel", "team_join")]
        if not todo:
            pytest.skip("no other event types registered")
    else:
        assert event_type in types, f"{event_type} is no longer registered; update the drill"
        todo = [event_type]
    for kind in todo:
        user = f"U0N{uuid.uuid4().hex[:6].upper()}"
        bot.fake.add_user(
            user, name="newbie", real_name="New Bie", locale="en-US", email=f"{user.lower()}@example.com"
        )
        event = event_payload(kind, user)
        event_id = f"Ev{uuid.uuid4().hex[:10]}"
        start = len(bot.fake.calls)
        assert bot.sender.event(event, event_id=event_id).status == 200
        _wait_for_visible_effect(bot, start)
        settle(bot.fake, quiet=0.3)
        bot.settle()  # the first delivery's listener has ended: a quiet spell is no proof
        after_first = db_snapshot(bot.db)
        first_effects = _effects(bot.fake.calls[start:])
        first_homes = _home_views(bot.fake.calls[start:])
        mark = len(bot.fake.calls)
        for retry in (1, 2, 3):
            assert bot.sender.event(event, event_id=event_id, retry_num=retry).status == 200
        settle(bot.fake, quiet=0.3)
        bot.settle()  # every retry's listener has ended before looking for what it did
        changes = snapshot_diff(after_first, db_snapshot(bot.db))
        extra = _effects(bot.fake.calls[mark:])
        homes = _home_views(bot.fake.calls[mark:])
        assert not changes, f"{kind}: retries changed the database: {changes}"
        assert not extra, f"{kind}: retries sent again: {extra} (first delivery sent {first_effects})"
        different = [h for h in homes if h not in first_homes]
        assert not different, (
            f"{kind}: a retry published a different Home tab:\n{_diff(first_homes, different[0])}"
        )


def test_original_and_retries_arriving_together_welcome_once(bot: BotHarness) -> None:
    """Slack retries when the first delivery was slow: the original and the retries overlap."""
    for kind in ("member_joined_channel", "team_join"):
        if kind not in _event_types(bot):
            continue
        user = f"U0N{uuid.uuid4().hex[:6].upper()}"
        bot.fake.add_user(
            user, name="newbie", real_name="New Bie", locale="en-US", email=f"{user.lower()}@example.com"
        )
        event = event_payload(kind, user)
        event_id = f"Ev{uuid.uuid4().hex[:10]}"
        start = len(bot.fake.calls)
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda n=n: statuses.append(
                    bot.sender.event(event, event_id=event_id, retry_num=n).status
                )
            )
            for n in (None, 1, 2, 3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        settle(bot.fake, quiet=0.3)
        bot.settle()  # every delivery's listener has ended before counting welcomes
        assert statuses == [200] * 4
        dms = [
            c
            for c in bot.fake.calls[start:]
            if c.method == "chat.postMessage" and c.ok and c.args.get("channel") == user
        ]
        assert len(dms) == 1, f"{kind}: {len(dms)} welcome DMs for one event delivered 4 times"


def test_a_retry_of_an_event_for_someone_else_does_not_touch_alice(bot: BotHarness) -> None:
    """Retries carry the original payload; they must not be treated as a fresh event for another user."""
    bot.sender.event(event_payload("app_home_opened", ALICE), event_id="EvALICE1")
    settle(bot.fake)
    bot.settle()
    before = db_snapshot(bot.db)
    bot.sender.event(event_payload("app_home_opened", ALICE), event_id="EvALICE1", retry_num=2)
    settle(bot.fake)
    bot.settle()
    assert not snapshot_diff(before, db_snapshot(bot.db))
