"""Check-in nudges with a frozen clock: only members past the cadence, at 10:00 on a weekday in their own
time zone, once; snoozed, opted-out and unconsented members get nothing; a second run sends nothing new."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.blocks.profiles import CHECKIN_OPEN_ACTION
from jobs.delivery import deliver_due
from jobs.nudges import JOB, PURPOSE
from jobs.runner import run_job
from models.actors import Actor
from models.checkin import record_checkin, set_nudges_enabled, snooze_nudges
from models.outbox import OutboxMessage
from models.profile import ProfileInput, give_consent, update_profile
from models.timeutil import freeze
from tests.conftest import ALICE, BOB, CAROL, BotHarness

T0 = datetime(2026, 1, 5, 3, tzinfo=UTC)  # everyone agreed (last told us about themselves) here
MONDAY = datetime(2026, 4, 13, tzinfo=UTC)  # 98 days later
SNOOZED, OFF, RECENT, UNAGREED = "U0SNOOZE1", "U0OFF0001", "U0RECENT1", "U0UNAGRE1"
TOKYO, NEW_YORK, LONDON = "Asia/Tokyo", "America/New_York", "Europe/London"


def setup_members(bot: BotHarness) -> None:
    freeze(T0)
    people = {ALICE: NEW_YORK, BOB: TOKYO, CAROL: LONDON, SNOOZED: TOKYO, OFF: TOKYO, RECENT: TOKYO}
    with bot.db.session() as session:
        for user, tz in people.items():
            give_consent(session, actor=Actor(user), tz=tz, locale="ja" if user == BOB else "en")
        update_profile(session, actor=Actor(UNAGREED), data=ProfileInput(skills="x"), tz=TOKYO)
        set_nudges_enabled(session, actor=Actor(OFF), enabled=False)
    freeze(MONDAY - timedelta(days=10))
    with bot.db.session() as session:
        record_checkin(session, actor=Actor(RECENT), data=ProfileInput(), whats_new="hi", share=False)
        snooze_nudges(session, actor=Actor(SNOOZED))
    freeze(None)


def run_at(bot: BotHarness, instant: datetime) -> set[str]:
    result = run_job(bot.services, JOB, at=instant)
    return {q["recipient"] for q in result.queued}


def nudges_to(bot: BotHarness, user: str) -> list[dict[str, object]]:
    return [m for m in bot.fake.messages(user) if CHECKIN_OPEN_ACTION in json.dumps(m.get("blocks"))]


def test_nudges_go_at_ten_local_time_on_weekdays_once_and_only_to_members_past_the_cadence(
    bot: BotHarness,
) -> None:
    setup_members(bot)
    saturday_london_ten = datetime(2026, 4, 11, 9, tzinfo=UTC)
    assert run_at(bot, saturday_london_ten) == set()  # the weekend: nobody
    assert run_at(bot, datetime(2026, 4, 13, 1, tzinfo=UTC)) == {BOB}  # 10:00 Monday in Tokyo
    assert run_at(bot, datetime(2026, 4, 13, 5, tzinfo=UTC)) == set()  # 10:00 nowhere we have members
    assert run_at(bot, datetime(2026, 4, 13, 9, tzinfo=UTC)) == {CAROL}  # 10:00 in London (BST)
    assert run_at(bot, datetime(2026, 4, 13, 14, tzinfo=UTC)) == {ALICE}  # 10:00 in New York (EDT)
    assert deliver_due(bot.services) == 3

    bob = nudges_to(bot, BOB)
    assert len(bob) == 1 and "近況報告" in json.dumps(bob[0], ensure_ascii=False)  # in Bob's language
    assert "check-in" in json.dumps(nudges_to(bot, ALICE)[0]).lower()

    # The same hour again (a second replica, a restart) and the next weekday: nothing new.
    again = run_job(bot.services, JOB, at=datetime(2026, 4, 13, 1, tzinfo=UTC))
    assert not again.claimed and again.queued == []
    assert run_at(bot, datetime(2026, 4, 14, 1, tzinfo=UTC)) == set()
    assert run_at(bot, datetime(2026, 4, 14, 14, tzinfo=UTC)) == set()
    assert deliver_due(bot.services) == 0
    for user in (ALICE, BOB, CAROL):
        assert len(nudges_to(bot, user)) == 1
    with bot.db.session() as session:
        recipients = {
            row.recipient
            for row in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE))
        }
    assert recipients == {ALICE, BOB, CAROL}  # never the snoozed, opted-out, recent or unconsented member


def test_an_ignored_nudge_comes_again_one_cadence_later_and_after_a_snooze(bot: BotHarness) -> None:
    setup_members(bot)
    assert run_at(bot, datetime(2026, 4, 13, 1, tzinfo=UTC)) == {BOB}
    # 10 days before MONDAY + 30 days of snooze: the snoozed member's nudge comes once the snooze ended.
    assert run_at(bot, datetime(2026, 5, 4, 1, tzinfo=UTC)) == {SNOOZED}
    assert run_at(bot, datetime(2026, 6, 1, 1, tzinfo=UTC)) == set()  # same cadence window for both
    # 182 days: the next window for both; the member who checked in on April 3 is due for the first time.
    assert run_at(bot, datetime(2026, 7, 6, 1, tzinfo=UTC)) == {BOB, SNOOZED, RECENT}
