"""Exactly once across processes, on SQLite and PostgreSQL: two `alumni-bot` processes started together send
each survey reminder, each intro "did you meet?" follow-up and a company news post once. The job racers run
for two different periods (as a scheduler that fell behind and one on time would), so a claimed period is
not what keeps the second from sending: the recipients' own state and the outbox dedupe are. The news
racers are two delivery workers (`jobs deliver --once`) on the one queued post."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import DeliveryOptions, deliver_due, deliverer_for
from jobs.intros import FOLLOW_UP_JOB, PURPOSE_FOLLOW_UP, ROUND_JOB
from jobs.news import PURPOSE_POST
from jobs.news import post as post_news
from jobs.runner import run_job
from jobs.surveys import INVITE_JOB, PURPOSE_REMINDER, REMINDER_JOB
from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.intro import IntroGroup
from models.outbox import SENT, OutboxMessage
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, make_settings
from tests.jobs.test_delivery_processes import alumni_bot, process_env
from tests.jobs.test_intros import MONDAY, PEOPLE, opt_in
from tests.jobs.test_survey_jobs_processes import RECIPIENTS, T0, _open_survey

# Intro members of their own: the survey's recipients are already members (`_open_survey` adds them).
INTRO_PEOPLE = {"U0INTRO01": PEOPLE[ALICE], "U0INTRO02": PEOPLE[BOB], "U0INTRO03": PEOPLE[CAROL]}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack().start()
    for user, locale in {**RECIPIENTS, **{u: loc for u, (loc, _) in INTRO_PEOPLE.items()}}.items():
        slack.add_user(user, name=user.lower(), locale=locale)
    slack.add_channel(ALUMNI_CHANNEL, name="alumni")
    yield slack
    slack.stop()


@pytest.fixture
def services(fake: FakeSlack, db: Database) -> Services:
    """This process's own services, to set the scene as the running bot would have."""
    built = build_services(make_settings(fake, db, language="en"), db=db)
    deliverer_for(built).options = DeliveryOptions(channel_interval=0.0, backoff_base=0.05, backoff_cap=0.2)
    return built


def _race(fake: FakeSlack, db: Database, tmp_path: Path, *commands: list[str]) -> list[str]:
    """Start the commands together and wait for all of them; returns their stdout."""
    env = process_env(fake, db.url, ALUMNI_LANGUAGE="en", ALUMNI_TIMEZONE="Asia/Tokyo")
    procs = [
        subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for command in commands
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), [e.decode()[-2000:] for _, e in outputs]
    return [out.decode() for out, _ in outputs]


def _run_at(job: str, *moments: datetime) -> list[list[str]]:
    return [alumni_bot("jobs", "run", job, "--at", at.isoformat()) for at in moments]


def _sent(db: Database, purpose: str) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose)).all())


def _posts(fake: FakeSlack) -> list[dict[str, object]]:
    return [c.args for c in fake.calls_to("chat.postMessage") if c.ok]


def _survey_reminders_due(services: Services) -> list[list[str]]:
    """A survey closing in three days, its invitations sent; the racers' reminder runs."""
    _open_survey(services.db)  # closes at T0 + 3 days
    assert run_job(services, INVITE_JOB, at=T0 + timedelta(minutes=5)).count == 3
    due = T0 + timedelta(days=2, hours=1)  # within the last 24 hours, in two reminder periods
    return _run_at(REMINDER_JOB, due, due + timedelta(minutes=15))


def _intro_follow_up_due(services: Services) -> list[list[str]]:
    """A group of three introduced on MONDAY; the racers' follow-up runs a week later, on two days."""
    opt_in(services.db, INTRO_PEOPLE)
    assert run_job(services, ROUND_JOB, at=MONDAY).count == 1
    due = MONDAY + timedelta(days=7, hours=1)
    return _run_at(FOLLOW_UP_JOB, due, due + timedelta(days=1))


def _news_queued(services: Services) -> list[list[str]]:
    """A company news post in the outbox; the racers are two delivery workers."""
    with services.db.session() as session:
        post_news(
            session,
            actor=Actor(HR, is_hr=True),
            settings=services.settings,
            title="Record year",
            body="Thank you, all of you.",
        )
    return [alumni_bot("jobs", "deliver", "--once", "--threads", "2")] * 2


def test_two_processes_send_each_reminder_follow_up_and_news_post_once(
    services: Services, fake: FakeSlack, db: Database, tmp_path: Path
) -> None:
    # The three races run side by side (one pair each) to keep the test short.
    commands = [*_survey_reminders_due(services), *_intro_follow_up_due(services)]
    assert deliver_due(services) == 3 + 1  # the invitations and the intro, before the news is queued
    commands += _news_queued(services)
    before = len(_posts(fake))
    _race(fake, db, tmp_path, *commands)
    posts = _posts(fake)[before:]
    assert fake.accepted_post_count == before + 3 + 1 + 1, [p["channel"] for p in posts]

    reminders = _sent(db, PURPOSE_REMINDER)
    assert sorted(r.recipient for r in reminders) == sorted(RECIPIENTS)
    assert {r.status for r in reminders} == {SENT}
    with db.session() as session:
        assert all(r.reminded_at is not None for r in session.exec(select(sv.SurveyRecipient)))

    [follow_up] = _sent(db, PURPOSE_FOLLOW_UP)
    assert follow_up.status == SENT and follow_up.recipient == ",".join(sorted(INTRO_PEOPLE))
    with db.session() as session:
        [group] = session.exec(select(IntroGroup)).all()
    assert group.follow_up_queued_at is not None

    [news] = _sent(db, PURPOSE_POST)
    assert news.status == SENT
    [posted] = fake.messages(ALUMNI_CHANNEL)
    assert "Record year" in str(posted)
