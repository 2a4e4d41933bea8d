"""Two `alumni-bot jobs run surveys_invitations --at …` processes started together against one PostgreSQL
database DM each recipient of an open survey exactly once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.slack_emulator.web_api import FakeSlack
from jobs.surveys import INVITE_JOB, PURPOSE_INVITE
from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.member import Member
from models.outbox import SENT, OutboxMessage
from models.timeutil import freeze
from tests.conftest import ALICE, BOB, CAROL, HR
from tests.databases import PostgresFactory
from tests.jobs.test_delivery_processes import alumni_bot, process_env

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
RECIPIENTS = {ALICE: "en-US", BOB: "ja-JP", CAROL: "en-US"}


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def _open_survey(pg: Database) -> None:
    freeze(T0)
    try:
        with pg.session() as session:
            for user, locale in RECIPIENTS.items():
                session.add(Member(slack_user_id=user, display_name=user, locale=locale, consented_at=T0))
            session.flush()
            draft = sv.SurveyDraft(
                title="Pulse",
                closes_at=T0 + timedelta(days=3),
                min_group=3,
                questions=[sv.QuestionDraft(sv.SCALE, "How are we doing?")],
            )
            hr = Actor(HR, is_hr=True)
            survey = sv.create_survey(session, actor=hr, draft=draft)
            sv.open_survey(session, actor=hr, survey_id=int(survey.id or 0))
    finally:
        freeze(None)


def test_two_processes_inviting_at_once_dm_each_recipient_once(pg: Database, tmp_path: Path) -> None:
    _open_survey(pg)
    fake = FakeSlack().start()
    for user, locale in RECIPIENTS.items():
        fake.add_user(user, name=user.lower(), locale=locale)
    env = process_env(fake, pg.url, ALUMNI_LANGUAGE="en")
    command = alumni_bot("jobs", "run", INVITE_JOB, "--at", (T0 + timedelta(minutes=5)).isoformat())
    try:
        procs = [
            subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        fake.stop()
    assert [proc.returncode for proc in procs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    stdout = [out.decode() for out, _ in outputs]
    assert any("already claimed" in out for out in stdout), stdout
    posts = [c for c in fake.calls_to("chat.postMessage") if c.ok]
    assert len(posts) == 3 and fake.accepted_post_count == 3  # one invitation each, not six
    with pg.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_INVITE)).all()
        recipients = session.exec(select(sv.SurveyRecipient)).all()
    assert len(rows) == 3 and {r.status for r in rows} == {SENT}
    assert all(r.asked_at is not None for r in recipients)
