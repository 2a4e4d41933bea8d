"""Issue 14: decisions are made before the ack, in the order taps arrive; follow-up work runs after the ack
and a failure there is told to the user in their language (never a 404/500 to Slack). SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.blocks import events as ui
from bot.i18n import t
from bot.slack_emulator.web_api import FakeSlack
from models import event as ev
from models.actors import Actor
from models.timeutil import now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, BotHarness

ORGANIZER_ACTOR = Actor("U0ORG0001", is_organizer=True)
GAP = 0.04  # seconds between one tap and the next, as in the issue


def _event(bot: BotHarness, capacity: int | None) -> int:
    """An announced event (created in the database; the announcement is a message in the fake channel)."""
    from datetime import timedelta

    data = ev.EventInput(
        title="Meetup",
        description="",
        starts_at=now() + timedelta(days=3),
        ends_at=now() + timedelta(days=3, hours=2),
        tz="Asia/Tokyo",
        place="Tokyo",
        online_url="",
        capacity=capacity,
    )
    with bot.db.session() as session:
        event = ev.create_event(session, actor=ORGANIZER_ACTOR, data=data, display_name="Oscar", locale="en")
        event_id = event.id or 0
    ts = bot.fake.add_message(ALUMNI_CHANNEL, text="Meetup", user="UBOT")
    with bot.db.session() as session:
        ev.set_announcement(session, event_id=event_id, channel=ALUMNI_CHANNEL, ts=ts)
    return event_id


def _taps(bot: BotHarness, taps: list[tuple[str, str]], event_id: int) -> list[int]:
    """Send each (user, action_id) tap GAP seconds after the previous one, without waiting for answers."""
    statuses: list[int] = [0] * len(taps)

    def tap(index: int, user: str, action_id: str) -> None:
        answer = bot.sender.block_action(action_id, str(event_id), user=user, channel=ALUMNI_CHANNEL)
        statuses[index] = answer.status

    threads = []
    for index, (user, action_id) in enumerate(taps):
        thread = threading.Thread(target=tap, args=(index, user, action_id))
        thread.start()
        threads.append(thread)
        time.sleep(GAP)
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def _answers(bot: BotHarness, event_id: int, answer: str) -> list[str]:
    with bot.db.session() as session:
        return ev.user_ids_with_answer(session, event_id=event_id, answers=[answer])


@pytest.mark.parametrize("first, second", [(ALICE, BOB), (BOB, ALICE)])
def test_the_first_tap_on_the_last_seat_gets_it(bot: BotHarness, first: str, second: str) -> None:
    event_id = _event(bot, capacity=1)
    assert _taps(bot, [(first, ui.RSVP_GOING), (second, ui.RSVP_GOING)], event_id) == [200, 200]
    assert _answers(bot, event_id, ev.GOING) == [first]
    assert _answers(bot, event_id, ev.WAITLIST) == [second]
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    told = [c for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == second]
    assert told and "1" in told[-1].args["text"]  # the second is told their waitlist place


MEMBERS = [f"U0MEMBER{n}" for n in range(8)]


@pytest.fixture
def members(fake_slack: FakeSlack) -> list[str]:
    for number, user in enumerate(MEMBERS):
        fake_slack.add_user(user, name=f"member{number}", real_name=f"Member {number}", locale="en-US")
    return MEMBERS


@pytest.mark.parametrize("round_", range(3))
def test_a_rapid_change_of_mind_always_leaves_the_last_answer(
    members: list[str], bot: BotHarness, round_: int
) -> None:
    event_id = _event(bot, capacity=None)
    taps: list[tuple[str, str]] = []
    for user in members:
        taps += [(user, ui.RSVP_GOING), (user, ui.RSVP_NOT_GOING)]
    # Interleaved per member: each member's Going then, GAP later, their Can't go.
    statuses = _taps(bot, taps, event_id)
    assert statuses == [200] * len(taps)
    assert _answers(bot, event_id, ev.GOING) == []
    assert sorted(_answers(bot, event_id, ev.NOT_GOING)) == sorted(members)
    # The announcement, refreshed after the acks, ends up showing the final state.
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=60)
    final = str(bot.fake.messages(ALUMNI_CHANNEL)[-1].get("blocks"))
    assert t("events.announce.counts", "ja", going=0, maybe=0, not_going=len(members)) in final


def _told(bot: BotHarness, user: str) -> list[str]:
    """Everything only `user` was told: ephemerals to them and DMs."""
    ephemeral = [
        str(c.args.get("text")) for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == user
    ]
    return ephemeral + [str(m.get("text")) for m in bot.fake.messages(user)]


def test_a_failure_after_the_ack_is_told_to_the_member_in_their_language(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.events

    def broken(*_: object) -> None:
        raise RuntimeError("announcement refresh broke")

    monkeypatch.setattr(handlers.events, "refresh_announcement", broken)
    event_id = _event(bot, capacity=None)
    answer = bot.sender.block_action(ui.RSVP_GOING, str(event_id), user=BOB, channel=ALUMNI_CHANNEL)
    assert answer.status == 200  # the decision was made and acked; the follow-up failed later
    assert _answers(bot, event_id, ev.GOING) == [BOB]
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    assert t("common.error_generic", "ja") in _told(bot, BOB)  # Bob reads Japanese


def test_a_failure_before_the_ack_is_told_to_the_member_and_slack_gets_an_ack(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("decision broke")

    monkeypatch.setattr(ev, "rsvp", broken)
    event_id = _event(bot, capacity=None)
    answer = bot.sender.block_action(ui.RSVP_GOING, str(event_id), user=ALICE, channel=ALUMNI_CHANNEL)
    assert answer.status == 200  # never a 404/500 to Slack
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    assert t("common.error_generic", "en") in _told(bot, ALICE)
