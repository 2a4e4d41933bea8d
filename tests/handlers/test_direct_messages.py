"""A member writing in the bot's Messages tab gets a short help in their language, once per quiet period.

Issue 12 defect 3: the tab accepted messages but the app did not subscribe to `message.im`, so they went
nowhere. Assertions run after the app has finished every listener (the harness waits for them on shutdown),
so "nothing more was sent" is checked without sleeping. SQLite and PostgreSQL through `db`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

from bot.slack_emulator.web_api import BOT_USER_ID, FakeSlack
from handlers.direct_messages import HELP_EVENT_TYPE, QUIET_PERIOD
from models.db import Database
from tests.conftest import ALICE, BOB, CAROL, HR, _serve

serve = contextmanager(_serve)


def dm(user: str, text: str = "hello?", **extra: Any) -> dict[str, Any]:
    """The `message` event Slack sends for a DM to the bot (message.im)."""
    return {
        "type": "message",
        "channel": "D" + user,
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
        **extra,
    }


def _posts_to(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [c.args for c in fake.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == "D" + user]


def test_a_member_writing_to_the_bot_gets_one_help_in_their_language(
    fake_slack: FakeSlack, db: Database
) -> None:
    with serve(fake_slack, db) as bot:
        bot.sender.event(dm(ALICE))
        bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == "D" + ALICE)
        bot.sender.event(dm(ALICE, "anyone there?"))  # chatty: no second help
        bot.sender.event(dm(ALICE, "hello!", subtype="message_changed"))  # an edit
        bot.sender.event(dm(BOB, "こんにちは"))
        bot.sender.event(dm(CAROL, "beep", bot_id="B0OTHER01"))  # another bot
        bot.sender.event(dm(CAROL, "a file", subtype="file_share"))
        bot.sender.event(dm(HR, "help"))
    (alice,) = _posts_to(fake_slack, ALICE)
    text = alice["text"]
    assert text.startswith("Hi! Nobody reads messages written here")
    for command in ("/alumni", "/checkin", "/events", "/opportunities", "/refer"):
        assert f"• `{command}`: " in text, command
    assert "/alumni-admin" not in text  # HR only
    assert text.splitlines()[-1].startswith("An idea or a concern") and "`/alumni feedback`" in text
    assert alice["metadata"]["event_type"] == HELP_EVENT_TYPE
    (bob,) = _posts_to(fake_slack, BOB)
    assert "誰も読んでいません" in bob["text"] and "`/alumni feedback` から人事チーム" in bob["text"]
    assert _posts_to(fake_slack, CAROL) == []
    (hr,) = _posts_to(fake_slack, HR)
    assert "• `/alumni-admin`: " in hr["text"]


def test_the_quiet_period_survives_a_restart_and_ends(fake_slack: FakeSlack, db: Database) -> None:
    # Alice got the help an hour ago from another process (or before a restart); Bob half a day ago.
    help_meta = {"event_type": HELP_EVENT_TYPE, "event_payload": {}}
    an_hour_ago = time.time() - 3600
    long_ago = time.time() - QUIET_PERIOD.total_seconds() - 3600
    fake_slack.add_message(ALICE, text="help", user=BOT_USER_ID, ts=f"{an_hour_ago:.6f}", metadata=help_meta)
    fake_slack.add_message(BOB, text="help", user=BOT_USER_ID, ts=f"{long_ago:.6f}", metadata=help_meta)
    with serve(fake_slack, db) as bot:
        bot.sender.event(dm(ALICE))
        bot.sender.event(dm(BOB))
    assert _posts_to(fake_slack, ALICE) == []
    assert len(_posts_to(fake_slack, BOB)) == 1
