"""Onboarding: one welcome DM per person whatever events arrive, consent, and the profile set-up flow."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.blocks.onboarding import CONSENT_ACTION
from bot.blocks.profiles import PROFILE_CALLBACK, PROFILE_OPEN_ACTION
from bot.slack_emulator.web_api import Call, FakeSlack
from handlers.onboarding import welcome
from models.db import Database
from models.invitation import STOPPED, Invitation
from models.member import Member, get_member
from models.profile import CONSENT_VERSION
from models.roster import RosterRecord
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, BotHarness, _serve
from tests.handlers.test_directory import opened_view, profile_values, search, shown

NEWBIE = "U0NEWBIE1"


def welcomes(bot: BotHarness, user: str) -> list[Call]:
    """Messages the bot managed to post in the user's DM."""
    return [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == user and c.ok]


def settle(bot: BotHarness, user: str, expected: int) -> None:
    """Events are handled after the ack, and the request answered only once its listener was queued: wait
    until every listener has finished (a positive signal, not a fixed sleep a slow run could outlast), then
    count the DMs."""
    assert bot.listeners is not None
    assert bot.listeners.wait_idle(timeout=30), "listeners still running after 30 s"
    assert bot.listeners.finished > 0  # the event did reach a listener
    assert len(welcomes(bot, user)) == expected


def joined_channel(user: str, channel: str = ALUMNI_CHANNEL) -> dict[str, Any]:
    return {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": "T1",
    }


def team_join(user: str, **extra: Any) -> dict[str, Any]:
    return {"type": "team_join", "user": {"id": user, "name": "newbie", "profile": {}, **extra}}


def test_join_welcome_once_then_consent_profile_and_the_directory_finds_them(bot: BotHarness) -> None:
    bot.fake.add_user(NEWBIE, name="佐藤 花子", real_name="Sato Hanako", locale="ja-JP")
    # Both join events at once, and Slack retrying both.
    events = [
        (joined_channel(NEWBIE), "Ev1", None),
        (team_join(NEWBIE), "Ev2", None),
        (joined_channel(NEWBIE), "Ev1", 1),
        (team_join(NEWBIE), "Ev2", 2),
    ]
    threads = [
        threading.Thread(target=bot.sender.event, args=(event,), kwargs={"event_id": eid, "retry_num": retry})
        for event, eid, retry in events
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    settle(bot, NEWBIE, 1)
    assert welcome(bot.services, NEWBIE) is False  # any later join event: nothing
    dm = bot.fake.messages(NEWBIE)
    assert len(dm) == 1
    text = json.dumps(dm[0], ensure_ascii=False)
    assert "ようこそ" in text and "データの取り扱い" in text  # in the member's language, with the data notice
    with bot.db.session() as session:
        assert len(session.exec(select(Member)).all()) == 1

    # Until they agree, other members cannot find them (their own profile first).
    consent = next(
        e
        for b in dm[0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == CONSENT_ACTION
    )
    bot.sender.block_action(
        CONSENT_ACTION, consent["value"], user=NEWBIE, channel="D" + NEWBIE, message=dm[0]
    )
    bot.fake.wait_for("chat.update", lambda c: c.args.get("channel") == "D" + NEWBIE)
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=NEWBIE)
        assert (
            member is not None
            and member.consented_at is not None
            and member.consent_version == CONSENT_VERSION
        )
    assert CONSENT_ACTION not in json.dumps(bot.fake.messages(NEWBIE)[0])

    # "Set up my profile" opens the modal; submitting it saves the profile.
    bot.sender.block_action(PROFILE_OPEN_ACTION, "welcome", user=NEWBIE, channel="D" + NEWBIE, message=dm[0])
    view = opened_view(bot, PROFILE_CALLBACK)
    values = profile_values(
        current_company="株式会社さくら技研", skills="Python, 営業", availability=["mentoring"]
    )
    answer = bot.sender.view_submission(PROFILE_CALLBACK, values, user=NEWBIE, blocks=view["blocks"])
    assert answer.json["response_action"] == "update"

    assert "佐藤 花子" in shown(search(bot, "python", user=ALICE))
    assert "佐藤 花子" in shown(search(bot, "さくら技研", user=BOB))


def test_unconsented_members_are_not_found(bot: BotHarness) -> None:
    bot.fake.add_user(NEWBIE, name="Sato Unagreed", locale="en-US")
    bot.sender.event(joined_channel(NEWBIE))
    settle(bot, NEWBIE, 1)
    bot.sender.block_action(PROFILE_OPEN_ACTION, "welcome", user=NEWBIE)
    view = opened_view(bot, PROFILE_CALLBACK)
    assert "agree" in json.dumps(view)  # the modal says they are not shown yet
    bot.sender.view_submission(
        PROFILE_CALLBACK, profile_values(skills="Haskell"), user=NEWBIE, blocks=view["blocks"]
    )
    assert "Sato Unagreed" not in shown(search(bot, "haskell", user=ALICE))
    assert "Sato Unagreed" in shown(search(bot, "haskell", user=NEWBIE))


def test_welcome_is_in_english_for_english_speakers_and_other_channels_are_ignored(bot: BotHarness) -> None:
    bot.sender.event(joined_channel(ALICE, channel="C0OTHER01"))
    bot.sender.event(joined_channel(ALICE))
    settle(bot, ALICE, 1)
    text = json.dumps(bot.fake.messages(ALICE)[0])
    assert "Welcome to the alumni community" in text and "How your data is used" in text


def test_bots_get_no_welcome(bot: BotHarness) -> None:
    bot.fake.add_user("U0ROBOT01", name="robot", is_bot=True)
    bot.sender.event(team_join("U0ROBOT01", is_bot=True))
    bot.sender.event(joined_channel("U0ROBOT01"))
    settle(bot, "U0ROBOT01", 0)


def test_a_failed_welcome_is_retried_by_the_next_join_event(bot: BotHarness) -> None:
    bot.fake.add_user(NEWBIE, name="sato", locale="en-US")
    bot.fake.fail("chat.postMessage", error="fatal_error")  # an answer slack_sdk does not retry
    bot.sender.event(team_join(NEWBIE))
    bot.fake.wait_for("chat.postMessage", lambda c: not c.ok)
    deadline = time.monotonic() + 5
    released = False
    while not released and time.monotonic() < deadline:
        with bot.db.session() as session:
            member = get_member(session, slack_user_id=NEWBIE)
            released = member is not None and member.welcomed_at is None
        time.sleep(0.02)
    assert released
    bot.sender.event(joined_channel(NEWBIE))
    settle(bot, NEWBIE, 1)


@pytest.fixture
def staff_workspace(fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    """A workspace that also holds current staff: no welcome on team_join."""
    yield from _serve(fake_slack, db, welcome_on_team_join=False)


def test_team_join_welcome_can_be_switched_off(staff_workspace: BotHarness) -> None:
    bot = staff_workspace
    bot.fake.add_user(NEWBIE, name="sato", locale="en-US")
    bot.sender.event(team_join(NEWBIE))
    settle(bot, NEWBIE, 0)
    bot.sender.event(joined_channel(NEWBIE))
    settle(bot, NEWBIE, 1)


def test_a_leaver_on_hrs_roster_is_linked_on_joining_even_without_the_welcome(
    staff_workspace: BotHarness,
) -> None:
    """Linking stops their invitations and moves the funnel to "joined"; only the welcome DM is switched off."""
    bot = staff_workspace
    with bot.db.session() as session:
        session.add(RosterRecord(email="sato@example.com", name="Sato Hanako", department="Sales"))
        pending = session.exec(select(RosterRecord)).one()
        session.add(Invitation(roster_record_id=int(pending.id or 0), email=pending.email, language="ja"))
    bot.fake.add_user(NEWBIE, name="sato", locale="ja-JP")
    bot.sender.event(team_join(NEWBIE, profile={"email": "Sato@Example.com"}))
    settle(bot, NEWBIE, 0)
    with bot.db.session() as session:
        record = session.exec(select(RosterRecord)).one()
        member = get_member(session, slack_user_id=NEWBIE)
        invitation = session.exec(select(Invitation)).one()
        assert member is not None and record.member_id == member.id
        assert (invitation.status, invitation.member_id) == (STOPPED, member.id)
