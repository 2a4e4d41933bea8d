"""Event reminders (24 h and 1 h, configurable), the channel reminder on the event day, follow-ups and the
digest section; exactly once through the runner's claims and the outbox, also across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.config import ConfigError, Settings, parse_offsets
from bot.i18n import Translator, t
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs import events as jobs_events
from jobs.base import DigestContext
from jobs.delivery import deliver_due
from jobs.runner import run_job
from models import event as ev
from models.actors import Actor
from models.db import Database
from models.jobrun import JobRun
from models.outbox import CANCELLED, OutboxMessage
from models.timeutil import freeze
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, ORGANIZER, ROOT, make_settings
from tests.databases import PostgresFactory

ORG = Actor(ORGANIZER, is_organizer=True)
# Thursday 2026-12-10 18:00 in Tokyo.
START = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
LOCALES = {ALICE: "en", BOB: "ja", CAROL: "en"}


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    yield build_services(make_settings(fake_slack, db), db=db)


def _event(
    services: Services,
    *,
    start: datetime = START,
    going: tuple[str, ...] = (ALICE, BOB),
    maybe: tuple[str, ...] = (CAROL,),
    title: str = "Alumni meetup",
) -> int:
    freeze(start - timedelta(days=7))
    with services.db.session() as session:
        event = ev.create_event(
            session,
            actor=ORG,
            locale="en",
            data=ev.EventInput(
                title=title, starts_at=start, ends_at=start + timedelta(hours=2), tz="Asia/Tokyo"
            ),
        )
        assert event.id is not None
        event_id = event.id
    for users, answer in ((going, ev.GOING), (maybe, ev.MAYBE)):
        for user in users:
            with services.db.session() as session:
                ev.rsvp(session, actor=Actor(user), event_id=event_id, answer=answer, locale=LOCALES[user])
    freeze(None)
    return event_id


def _dm_texts(fake: FakeSlack, user: str) -> list[str]:
    return [m.get("text", "") for m in fake.messages(user)]


def _run(services: Services, job: str, at: datetime) -> int:
    result = run_job(services, job, at=at)
    return len(result.queued) if result.claimed else -1


def test_reminders_24h_and_1h_go_out_exactly_once_each(services: Services, fake_slack: FakeSlack) -> None:
    event_id = _event(services)
    day_before = START - timedelta(hours=24)
    assert _run(services, jobs_events.REMINDER_JOB, day_before - timedelta(minutes=5)) == 0  # not yet
    assert _run(services, jobs_events.REMINDER_JOB, day_before) == 2
    assert _run(services, jobs_events.REMINDER_JOB, day_before) == -1  # the period is claimed: nothing
    assert _run(services, jobs_events.REMINDER_JOB, day_before + timedelta(minutes=5)) == 0  # deduped
    assert deliver_due(services) == 2
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(hours=1)) == 2
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(minutes=30)) == 0
    assert deliver_due(services) == 2
    assert deliver_due(services) == 0
    assert _run(services, jobs_events.REMINDER_JOB, START) == 0  # started: nothing more

    alice = fake_slack.messages(ALICE)
    assert [m["text"] for m in alice] == [t("events.reminder.text", "en", title="Alumni meetup")] * 2
    token = f"<!date^{int(START.timestamp())}^"
    assert all(token in json.dumps(m["blocks"]) for m in alice)  # shown in Alice's own time zone
    assert _dm_texts(fake_slack, BOB) == [t("events.reminder.text", "ja", title="Alumni meetup")] * 2
    assert fake_slack.messages(CAROL) == []  # maybe: no reminder
    with services.db.session() as session:
        periods = sorted(r.period for r in session.exec(select(OutboxMessage)))
    stamp = int(START.timestamp())
    assert periods == sorted([f"e{event_id}@{stamp}/1440m"] * 2 + [f"e{event_id}@{stamp}/60m"] * 2)


def test_cancelled_events_send_no_reminders_and_queued_ones_are_withdrawn(
    services: Services, fake_slack: FakeSlack
) -> None:
    cancelled = _event(services)
    queued_then_cancelled = _event(services, start=START + timedelta(hours=6), title="Later")
    assert _run(services, jobs_events.REMINDER_JOB, START + timedelta(hours=6) - timedelta(hours=24)) == 2
    freeze(START - timedelta(days=2))
    with services.db.session() as session:
        ev.cancel_event(session, actor=ORG, event_id=cancelled)
        ev.cancel_event(session, actor=ORG, event_id=queued_then_cancelled)
    freeze(None)
    for at in (START - timedelta(hours=24), START - timedelta(hours=1)):
        assert _run(services, jobs_events.REMINDER_JOB, at) == 0
    assert _run(services, jobs_events.DAY_JOB, START.replace(hour=0)) == 0
    assert _run(services, jobs_events.FOLLOWUP_JOB, START + timedelta(hours=5)) == 0
    assert deliver_due(services) == 0
    assert fake_slack.calls_to("chat.postMessage") == []
    with services.db.session() as session:
        assert {r.status for r in session.exec(select(OutboxMessage))} == {CANCELLED}


def test_a_moved_event_is_reminded_for_its_new_time(services: Services, fake_slack: FakeSlack) -> None:
    event_id = _event(services, going=(ALICE,), maybe=())
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(hours=24)) == 1
    assert deliver_due(services) == 1
    new_start = START + timedelta(days=2)
    freeze(START - timedelta(hours=20))
    with services.db.session() as session:
        ev.update_event(
            session,
            actor=ORG,
            event_id=event_id,
            data=ev.EventInput(
                title="Alumni meetup", starts_at=new_start, ends_at=new_start + timedelta(hours=2)
            ),
        )
    freeze(None)
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(hours=1)) == 0  # the old time is gone
    assert _run(services, jobs_events.REMINDER_JOB, new_start - timedelta(hours=24)) == 1
    assert deliver_due(services) == 1
    assert len(fake_slack.messages(ALICE)) == 2


def test_offsets_come_from_the_environment(services: Services, fake_slack: FakeSlack) -> None:
    assert parse_offsets("24h, 1h") == (1440, 60)
    assert parse_offsets("2d,90,30m") == (2880, 90, 30)
    for bad in ("", "soon", "0", "-5m"):
        with pytest.raises(ValueError):
            parse_offsets(bad)
    assert jobs_events.reminder_windows((1440, 60)) == [(1440, timedelta(hours=6)), (60, timedelta(hours=1))]
    services.settings = replace(
        services.settings,
        event_reminder_offsets=Settings.from_env(
            {"ALUMNI_EVENT_REMINDER_OFFSETS": "3h,15m"}, dotenv_path=None
        ).event_reminder_offsets,
    )
    _event(services, going=(ALICE,), maybe=())
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(hours=24)) == 0
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(hours=3)) == 1
    assert _run(services, jobs_events.REMINDER_JOB, START - timedelta(minutes=15)) == 1
    with pytest.raises(ConfigError, match="ALUMNI_EVENT_REMINDER_OFFSETS"):  # a typo stops start-up
        Settings.from_env({"ALUMNI_EVENT_REMINDER_OFFSETS": "nonsense"}, dotenv_path=None)


def test_channel_reminder_on_the_morning_of_the_event_day(services: Services, fake_slack: FakeSlack) -> None:
    today = _event(services)  # 18:00 in Tokyo
    _event(services, start=START + timedelta(days=1), title="Tomorrow")
    nine_tokyo = datetime(2026, 12, 10, 0, 0, tzinfo=UTC)  # 09:00 Asia/Tokyo
    assert _run(services, jobs_events.DAY_JOB, nine_tokyo) == 1
    assert _run(services, jobs_events.DAY_JOB, nine_tokyo + timedelta(hours=1)) == -1  # same day: claimed
    assert deliver_due(services) == 1
    (message,) = fake_slack.messages(ALUMNI_CHANNEL)
    assert message["text"] == t("events.reminder.day_text", "ja", title="Alumni meetup")
    assert t("events.announce.counts", "ja", going=2, maybe=1, not_going=0) in json.dumps(
        message["blocks"], ensure_ascii=False
    )
    assert f'"value": "{today}"' in json.dumps(message["blocks"])  # RSVP buttons work from here too


def test_followups_prompt_the_organiser_then_ask_attendees(services: Services, fake_slack: FakeSlack) -> None:
    event_id = _event(services, going=(ALICE, BOB, CAROL), maybe=())
    end = START + timedelta(hours=2)
    assert _run(services, jobs_events.FOLLOWUP_JOB, end - timedelta(minutes=15)) == 0
    assert _run(services, jobs_events.FOLLOWUP_JOB, end) == 1  # the organiser's attendance prompt
    freeze(end + timedelta(minutes=30))
    with services.db.session() as session:
        ev.mark_attendance(session, actor=ORG, event_id=event_id, attended=[ALICE, BOB])
    freeze(None)
    assert _run(services, jobs_events.FOLLOWUP_JOB, end + timedelta(hours=1)) == 0
    assert _run(services, jobs_events.FOLLOWUP_JOB, end + timedelta(hours=2)) == 2  # attendees only
    assert _run(services, jobs_events.FOLLOWUP_JOB, end + timedelta(hours=2, minutes=15)) == 0
    assert deliver_due(services) == 3
    assert _dm_texts(fake_slack, ORGANIZER) == [
        t("events.reminder.attendance_text", "en", title="Alumni meetup")
    ]
    feedback = fake_slack.messages(BOB)[0]
    assert feedback["text"] == t("events.reminder.feedback_text", "ja", title="Alumni meetup")
    ids = [e["action_id"] for b in feedback["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids == [f"events_rate_{n}" for n in range(1, 6)] + ["events_comment"]
    assert fake_slack.messages(CAROL) == []


def test_digest_lists_upcoming_events_with_counts(services: Services) -> None:
    _event(services, title="<!channel> night")
    week_end = START - timedelta(days=3)
    with services.db.session() as session:
        ctx = DigestContext(session, services, week_end - timedelta(days=7), week_end, Translator("en"))
        section = jobs_events.digest_section(ctx)
        assert section is not None and section.total == 1
        assert section.lines[0].startswith("• *&lt;!channel&gt; night*: <!date^")
        assert section.lines[0].endswith("· 2 going")
        late = DigestContext(session, services, START, START + timedelta(days=7), Translator("en"))
        assert jobs_events.digest_section(late) is None


def test_two_processes_at_once_against_postgresql_send_each_reminder_once(
    postgres_factory: PostgresFactory, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    url = postgres_factory.create()
    database = Database(url)
    try:
        services = build_services(make_settings(fake_slack, database), db=database)
        _event(services, going=(ALICE, BOB, CAROL), maybe=())
        day_before = START - timedelta(hours=24)
        env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))
            },
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "test-signing-secret",
            "SLACK_API_URL": fake_slack.api_url,
            "DATABASE_URL": url,
            "ALUMNI_CHANNEL": ALUMNI_CHANNEL,
            "ALUMNI_TIMEZONE": "Asia/Tokyo",
            "ALUMNI_LANGUAGE": "ja",
            "PYTHONPATH": str(ROOT),
        }
        # Two processes for the same instant (one claims, one finds the claim) and one five minutes later
        # (its own period: the outbox's dedupe keys stop it), all started together.
        instants = [day_before, day_before, day_before + timedelta(minutes=5)]
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "jobs",
                    "run",
                    jobs_events.REMINDER_JOB,
                    "--at",
                    at.isoformat(),
                ],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for at in instants
        ]
        outputs: list[Any] = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        for user in (ALICE, BOB, CAROL):
            assert len(fake_slack.messages(user)) == 1, (user, outputs)
        posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok]
        assert len(posts) == 3
        with database.session() as session:
            claims = session.exec(select(JobRun).where(JobRun.job == jobs_events.REMINDER_JOB)).all()
            assert len(claims) == 2  # the two processes for the same instant shared one claim
            assert len(session.exec(select(OutboxMessage)).all()) == 3
    finally:
        database.dispose()
        postgres_factory.drop(url)
