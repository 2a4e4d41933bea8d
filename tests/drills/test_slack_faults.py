"""The fake Slack fails (500s, timeouts, `ratelimited`) on chat.postMessage, views.open and chat.update
(issue 9): the user still gets an answer or a clear "try again", nothing is half-written, delivery resumes.

Listener side (a user is waiting): each drill injects one fault long enough to outlast the client's retries
and checks what the user sees and what the database holds:
- views.open failing for `/opportunities post`: the user is told to try again (never silence, never the
  generic "something went wrong on our side" for a Slack outage), nothing is stored;
- chat.postMessage failing while a new opportunity is announced: the post is stored exactly once and the
  poster is told (DM or a message saying the announcement failed) - the retry of the post must not create
  a second row;
- chat.update failing while an RSVP is saved: the RSVP is stored and the member is told it is saved;
- a 500 that clears on the client's retry: the user sees the normal answer.
Delivery side (scheduled messages): the outbox worker keeps every message across 500s, `ratelimited` with
Retry-After and a timeout whose message did reach Slack, and sends each exactly once.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from bot.slack_emulator.web_api import BOT_USER_ID
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, ORGANIZER, BotHarness
from tests.drills.support import db_snapshot, settle, snapshot_diff

FAULTS = {
    # name: FakeSlack.fail kwargs (enough occurrences to outlast slack_sdk's retries in bot/slack_client.py)
    "500": {"status": 500, "error": "internal_error", "times": 3},
    "ratelimited": {"retry_after": 1, "times": 4},
    "timeout": {"delay": 1.6, "times": 3},
}
BUSY_OR_RETRY = ("try again", "もう一度", "しばらく", "後ほど", "時間をおいて")


def _sqlite_only(bot: BotHarness) -> None:
    """Listener-side drills are about Slack, not the database: SQLite only (delivery drills run on both)."""
    if bot.db.is_postgres:
        pytest.skip("Slack fault handling in listeners does not depend on the database")


def _texts_to(bot: BotHarness, user: str, start: int) -> list[str]:
    """What `user` was told after call index `start` (DM, ephemeral, response_url), successful calls only."""
    out = []
    for c in bot.fake.calls[start:]:
        if not c.ok:
            continue
        if (
            c.method == "response_url"
            or (c.method == "chat.postEphemeral" and c.args.get("user") == user)
            or (c.method == "chat.postMessage" and c.args.get("channel") == user)
        ):
            out.append(str(c.args.get("text") or "") + str(c.args.get("blocks") or ""))
    return out


def _inject(bot: BotHarness, method: str, fault: str) -> None:
    if fault == "timeout":
        bot.services.client.timeout = 1  # the listener client's timeout (10 s in production)
    bot.fake.fail(method, **FAULTS[fault])


def _wait_told(bot: BotHarness, user: str, start: int, timeout: float = 12.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        told = _texts_to(bot, user, start)
        if told:
            settle(bot.fake, quiet=0.2)
            return _texts_to(bot, user, start)
        time.sleep(0.05)
    return []


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_views_open_failing_tells_the_user_to_try_again_and_stores_nothing(
    bot: BotHarness, fault: str
) -> None:
    _sqlite_only(bot)
    before = db_snapshot(bot.db)
    _inject(bot, "views.open", fault)
    start = len(bot.fake.calls)
    answer = bot.sender.command(
        "/opportunities", "post", user=ALICE, response_url=bot.fake.response_url("post")
    )
    assert answer.status == 200
    told = _wait_told(bot, ALICE, start)
    assert told, f"{fault} on views.open: the user heard nothing"
    assert any(m in t for t in told for m in BUSY_OR_RETRY), f"{fault} on views.open: told {told}"
    settle(bot.fake)
    bot.settle()
    assert not snapshot_diff(before, db_snapshot(bot.db))


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_announcement_failing_keeps_one_post_and_tells_the_poster(bot: BotHarness, fault: str) -> None:
    _sqlite_only(bot)
    from sqlmodel import select

    from models.opportunity import Opportunity

    title = f"Data engineer {uuid.uuid4().hex[:6]}"
    bot.fake.reset()
    bot.sender.command("/opportunities", "post", user=CAROL)
    bot.fake.wait_for("views.open")
    _inject(bot, "chat.postMessage", fault)
    start = len(bot.fake.calls)
    answer = _post_opportunity_again(bot, CAROL, title)
    assert answer.status == 200 and "errors" not in answer.text, answer.text
    told = _wait_told(bot, CAROL, start, timeout=15)
    settle(bot.fake, quiet=0.5)
    bot.settle()  # the announcement (after-ack work) has ended, posted or not: a quiet spell is no proof
    with bot.db.session() as session:
        rows = session.exec(select(Opportunity).where(Opportunity.title == title)).all()
    assert len(rows) == 1, f"{fault}: {len(rows)} stored posts"
    posted = [
        m for m in bot.fake.messages(ALUMNI_CHANNEL) if title in str(m.get("text")) + str(m.get("blocks"))
    ]
    assert len(posted) <= 1, f"{fault}: announced {len(posted)} times"
    if not posted:
        assert told, f"{fault}: the post is stored but not announced and the poster was told nothing"


def _post_opportunity_again(bot: BotHarness, user: str, title: str) -> Any:
    """Submit the post modal the last views.open showed (faults already armed on other methods)."""
    from tests.drills.support import input_elements, state_from_view

    view = [c for c in bot.fake.calls if c.method == "views.open" and c.ok][-1].args["view"]
    fill: dict[str, Any] = {}
    for block_id, _a, element in input_elements(view):
        if block_id == "title":
            fill[block_id] = title
        elif block_id == "kind" and not element.get("initial_option"):
            fill[block_id] = "job"
        elif block_id == "apply_url":
            fill[block_id] = "https://example.com/apply"
    state = {b: next(iter(a.values())) for b, a in state_from_view(view, fill).items()}
    return bot.sender.view_submission(
        view["callback_id"],
        state,
        user=user,
        private_metadata=view.get("private_metadata", ""),
        blocks=view["blocks"],
    )


def _event_with_announcement(bot: BotHarness) -> tuple[int, str]:
    from models import event as ev
    from models.actors import Actor
    from models.timeutil import now

    ts = bot.fake.add_message(ALUMNI_CHANNEL, text="event", user=BOT_USER_ID)
    with bot.db.session() as s:
        event = ev.create_event(
            s,
            actor=Actor(ORGANIZER, is_organizer=True),
            data=ev.EventInput(
                title="Drill meetup",
                starts_at=now() + timedelta(days=3),
                ends_at=now() + timedelta(days=3, hours=2),
                tz="Asia/Tokyo",
            ),
        )
        ev.set_announcement(s, event_id=event.id, channel=ALUMNI_CHANNEL, ts=ts)
        assert event.id is not None
        return event.id, ts


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_rsvp_is_saved_and_confirmed_when_the_announcement_update_fails(bot: BotHarness, fault: str) -> None:
    _sqlite_only(bot)
    from models import event as ev

    event_id, ts = _event_with_announcement(bot)
    _inject(bot, "chat.update", fault)
    start = len(bot.fake.calls)
    answer = bot.sender.block_action(
        "events_rsvp_going",
        str(event_id),
        user=BOB,
        channel=ALUMNI_CHANNEL,
        message={"ts": ts, "text": "", "blocks": []},
        response_url=bot.fake.response_url("rsvp"),
    )
    assert answer.status == 200
    told = _wait_told(bot, BOB, start)
    assert told, f"{fault} on chat.update: the member was told nothing"
    with bot.db.session() as s:
        going = ev.user_ids_with_answer(s, event_id=event_id, answers=[ev.GOING])
    assert going == [BOB]


def test_a_500_that_clears_on_retry_is_invisible_to_the_user(bot: BotHarness) -> None:
    _sqlite_only(bot)
    bot.fake.fail("views.open", status=500, error="internal_error", times=1)
    start = len(bot.fake.calls)
    bot.sender.command("/opportunities", "post", user=ALICE, response_url=bot.fake.response_url("ok"))
    opened = bot.fake.wait_for("views.open", lambda c: c.ok, timeout=8)
    assert opened
    settle(bot.fake)
    bot.settle()
    assert not _texts_to(bot, ALICE, start), "the user was told about an error the retry absorbed"


# ---------------------------------------------------------------------------------------------- delivery


def _deliverer(bot: BotHarness) -> Any:
    from jobs.delivery import Deliverer, DeliveryOptions

    options = DeliveryOptions(
        channel_interval=0.0,
        backoff_base=0.05,
        backoff_cap=0.2,
        http_timeout=1,
        max_attempts=8,
        stale_after=timedelta(seconds=2),
    )
    return Deliverer(bot.services, options=options)


def _queue(bot: BotHarness, n: int, purpose: str) -> list[str]:
    from models.outbox import dedupe_key, enqueue

    period = uuid.uuid4().hex[:8]
    keys = []
    with bot.db.session() as s:
        for i, user in enumerate([ALICE, BOB, CAROL][:n]):
            enqueue(
                s,
                purpose=purpose,
                recipient=user,
                period=period,
                message={"text": f"drill message {i} {period}"},
            )
            keys.append(dedupe_key(purpose, user, period))
    return keys


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["500", "ratelimited", "timeout", "mixed"])
def test_delivery_resumes_after_faults_and_sends_each_message_once(bot: BotHarness, fault: str) -> None:
    from jobs.delivery import deliver_keys

    keys = _queue(bot, 3, f"drill_{fault}")
    if fault == "500":
        bot.fake.fail("chat.postMessage", status=500, error="internal_error", times=4)
    elif fault == "ratelimited":
        bot.fake.fail("chat.postMessage", retry_after=1, times=2)
    elif fault == "timeout":
        # The reply comes after the worker gave up, but Slack did post the message: no second copy.
        bot.fake.fail("chat.postMessage", delay=1.5, times=1)
    else:
        bot.fake.fail("chat.postMessage", status=503, body="<html>Service Unavailable</html>", times=1)
        bot.fake.fail("chat.postMessage", retry_after=1, times=1)
        bot.fake.fail("chat.postMessage", delay=1.5, times=1)
    statuses = deliver_keys(bot.services, keys, timeout=25, deliverer=_deliverer(bot))
    assert set(statuses.values()) == {"sent"}, statuses
    period = keys[0].rsplit(":", 1)[-1] if ":" in keys[0] else ""
    for user in (ALICE, BOB, CAROL):
        copies = [
            m
            for m in bot.fake.messages(user)
            if "drill message" in str(m.get("text")) and period in str(m.get("text"))
        ]
        assert len(copies) == 1, (
            f"{fault}: {user} got {len(copies)} copies: {[c.get('text') for c in copies]}"
        )
