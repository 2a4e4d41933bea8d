"""Two `alumni-bot jobs run stories_sync --at …` processes started together against one PostgreSQL database
replace the posted copy of a story withdrawn while it was being posted exactly once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.services import build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import deliver_due
from jobs.stories import PURPOSE_WITHDRAWN, SYNC_JOB, publish
from models import story as stories
from models.db import Database
from models.jobrun import STATUS_DONE, JobRun
from models.outbox import SENT, OutboxMessage
from tests.conftest import ALICE, ALUMNI_CHANNEL, HR, make_settings
from tests.databases import PostgresFactory
from tests.jobs.test_delivery_processes import alumni_bot, process_env

AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def _posted_then_withdrawn(fake: FakeSlack, pg: Database) -> None:
    """A story posted to #alumni, then withdrawn by its subject before the sync learnt where it was posted."""
    services = build_services(make_settings(fake, pg, language="en"), db=pg)
    with pg.session() as session:
        story = stories.draft_story(
            session, actor=services.actor(HR), subject_id=ALICE, title="Back as a partner", body="Hello"
        )
        sid = int(story.id or 0)
        stories.request_approval(session, actor=services.actor(HR), story_id=sid)
        stories.approve_story(session, actor=services.actor(ALICE), story_id=sid, version=1)
        publish(session, actor=services.actor(HR), story_id=sid, settings=services.settings)
    assert deliver_due(services) == 1
    with pg.session() as session:
        stories.withdraw_story(session, actor=services.actor(ALICE), story_id=sid)


def test_two_sync_processes_replace_a_withdrawn_copy_once(pg: Database, tmp_path: Path) -> None:
    fake = FakeSlack().start()
    fake.add_user(HR, name="hana.hr", real_name="Hana HR", locale="ja-JP")
    fake.add_user(ALICE, name="alice", real_name="Alice Smith", locale="en-US")
    fake.add_channel(ALUMNI_CHANNEL, name="alumni")
    try:
        _posted_then_withdrawn(fake, pg)
        env = process_env(fake, pg.url, ALUMNI_CHANNEL=ALUMNI_CHANNEL, ALUMNI_LANGUAGE="en")
        command = alumni_bot("jobs", "run", SYNC_JOB, "--at", AT.isoformat())
        procs = [
            subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        fake.stop()
    stdout = [out.decode() for out, _ in outputs]
    assert [proc.returncode for proc in procs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    assert any("already claimed" in out for out in stdout), stdout
    updates = [c for c in fake.calls_to("chat.update") if c.ok]
    assert len(updates) == 1 and updates[0].args["channel"] == ALUMNI_CHANNEL
    assert "withdrawn" in str(updates[0].args["text"])
    with pg.session() as session:
        runs = session.exec(select(JobRun).where(JobRun.job == SYNC_JOB)).all()
        notes = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_WITHDRAWN)).all()
        copies = session.exec(select(stories.StoryCopy)).all()
    assert [r.status for r in runs] == [STATUS_DONE]
    assert [n.status for n in notes] == [SENT]
    assert [c.status for c in copies] == [stories.COPY_WITHDRAWN]
