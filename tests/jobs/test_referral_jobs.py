"""The 7-day "untouched by HR" flag (once each, HR channel only, via the outbox) and the digest section."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.i18n import Translator
from handlers.referrals import route_referral
from jobs.base import DigestContext, JobContext
from jobs.delivery import deliver_due
from jobs.referrals import STALE_JOB, STALE_PURPOSE, digest_section, run_stale_check
from jobs.runner import run_job
from models import referral as referrals
from models.outbox import OutboxMessage
from models.timeutil import freeze
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, HR, HR_CHANNEL, BotHarness

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 10:00 in Tokyo
SECRETS = ("zelda", "quartermaine", "@candidates.example", "yuki")


def _refer(bot: BotHarness, user: str = ALICE, *, email: str, name: str = "Zelda Quartermaine") -> int:
    with bot.db.session() as session:
        referral = referrals.submit_referral(
            session,
            actor=bot.services.actor(user),
            opportunity_id=None,
            candidate_name=name,
            candidate_email=email,
            consent=True,
        )
        rid = int(referral.id or 0)
    route_referral(bot.services, rid)  # posts to the HR channel (and DMs the referrer), like a submission
    return rid


def _move(bot: BotHarness, rid: int, to: str) -> None:
    with bot.db.session() as session:
        referrals.change_status(session, actor=bot.services.actor(HR), referral_id=rid, to_status=to)


def _flags(bot: BotHarness) -> list[OutboxMessage]:
    with bot.db.session() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.purpose == STALE_PURPOSE).order_by(OutboxMessage.id)
        return list(session.exec(stmt).all())


def _text(row: OutboxMessage) -> str:
    return json.dumps(row.message(), ensure_ascii=False)


def test_untouched_referrals_are_flagged_to_hr_once_each(bot: BotHarness) -> None:
    freeze(T0)
    stale = _refer(bot, email="zelda@candidates.example")
    touched = _refer(bot, email="b@candidates.example", name="Second Person")
    done = _refer(bot, email="c@candidates.example", name="Third Person")
    freeze(T0 + timedelta(days=3))
    _move(bot, touched, "in_review")
    _move(bot, done, "not_a_fit")
    freeze(None)

    # Day 6: nothing is 7 days old yet.
    assert run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=6)).count == 0
    # Day 7: the untouched one is flagged, to the HR channel only.
    result = run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=7))
    assert result.claimed and result.count == 1
    rows = _flags(bot)
    assert [(r.recipient, r.purpose) for r in rows] == [(HR_CHANNEL, STALE_PURPOSE)]
    # Broadcast to the channel and kept past the retention purge: the flag names no candidate.
    assert f"#{stale}" in _text(rows[0]) and "Zelda Quartermaine" not in _text(rows[0])
    # Day 8, 9: the same silence is not flagged again.
    for day in (8, 9):
        assert run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=day)).count == 0
    # Day 10: the one HR touched on day 3 is now 7 days untouched: flagged once; the closed one never.
    assert run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=10)).count == 1
    assert len(_flags(bot)) == 2 and f"#{touched}" in _text(_flags(bot)[1])
    assert f"#{done}" not in json.dumps([_text(r) for r in _flags(bot)])
    # HR touches the first one on day 11; a new 7-day silence is a new flag.
    freeze(T0 + timedelta(days=11))
    _move(bot, stale, "in_review")
    freeze(None)
    assert run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=17)).count == 0
    assert run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=18)).count == 1
    assert len(_flags(bot)) == 3


def test_the_flag_is_delivered_as_a_reply_to_the_referrals_hr_message(bot: BotHarness) -> None:
    freeze(T0)
    rid = _refer(bot, email="zelda@candidates.example")
    with bot.db.session() as session:
        hr_ts = referrals.get_referral(session, rid).hr_ts
    freeze(None)
    run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=8))
    assert deliver_due(bot.services) >= 1
    reply = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == hr_ts)[0]
    assert reply.args["channel"] == HR_CHANNEL and reply.args["reply_broadcast"] in (True, "true", "1", 1)
    assert "Zelda Quartermaine" not in json.dumps(reply.args["blocks"], ensure_ascii=False)
    # Only the HR channel and the referrer's DM (the submission receipt) ever saw the candidate.
    for call in bot.fake.calls:
        if any(s in json.dumps(call.args, ensure_ascii=False).lower() for s in SECRETS):
            assert call.args.get("channel") in {HR_CHANNEL, ALICE} or call.args.get("user_id") == ALICE, call


def test_dry_run_and_missing_hr_channel_queue_nothing(bot: BotHarness) -> None:
    freeze(T0)
    _refer(bot, email="zelda@candidates.example")
    freeze(None)
    dry = run_job(bot.services, STALE_JOB, at=T0 + timedelta(days=8), dry_run=True)
    assert dry.count == 1 and _flags(bot) == []
    from dataclasses import replace

    services: Any = replace(bot.services, settings=replace(bot.settings, alumni_hr_channel=None))
    ctx = JobContext(services, STALE_JOB, T0 + timedelta(days=8), "2026-11-10")
    assert run_stale_check(ctx) == 0 and _flags(bot) == []


def test_digest_counts_referrals_this_week_and_hires_without_candidate_data(bot: BotHarness) -> None:
    freeze(T0 - timedelta(days=10))
    hired = _refer(bot, email="old@candidates.example", name="Yuki Old")
    _move(bot, hired, "hired")
    freeze(T0 + timedelta(days=1))
    _refer(bot, email="zelda@candidates.example")
    _refer(bot, BOB, email="x@candidates.example", name="Yuki New")
    freeze(None)
    with bot.db.session() as session:
        section = digest_section(
            DigestContext(session, bot.services, T0, T0 + timedelta(days=7), Translator("en"))
        )
        quiet = digest_section(
            DigestContext(
                session, bot.services, T0 - timedelta(days=60), T0 - timedelta(days=53), Translator("en")
            )
        )
    assert section is not None
    assert section.lines == ["Referrals made this week: *2* · hires from referrals so far: *1*"]
    assert quiet is not None and "this week: *0*" in quiet.lines[0]  # hires so far still count
    # The real weekly digest (to the shared channel) carries the counts and no candidate data.
    run_job(bot.services, "digest", at=T0 + timedelta(days=7))
    with bot.db.session() as session:
        digest = session.exec(select(OutboxMessage).where(OutboxMessage.recipient == ALUMNI_CHANNEL)).all()
    text = json.dumps([row.message() for row in digest], ensure_ascii=False)
    assert "今週の紹介: *2* 件" in text
    assert not any(s in text.lower() for s in SECRETS)


def test_no_referrals_no_digest_section(bot: BotHarness) -> None:
    with bot.db.session() as session:
        ctx = DigestContext(session, bot.services, T0, T0 + timedelta(days=7), Translator("ja"))
        assert digest_section(ctx) is None
