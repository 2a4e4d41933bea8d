"""Two `alumni-bot jobs run news_reach --at …` processes started together against one PostgreSQL database
measure the news once: one claims the day, the other finds it claimed, and the counts are stored."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.slack_emulator.web_api import FakeSlack
from jobs.news import REACH_JOB
from models.db import Database
from models.jobrun import STATUS_DONE, JobRun
from models.news import NewsPost
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, HR
from tests.databases import PostgresFactory
from tests.jobs.test_delivery_processes import alumni_bot, process_env


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def test_two_processes_measure_the_news_reach_once(pg: Database, tmp_path: Path) -> None:
    fake = FakeSlack().start()
    fake.add_channel(ALUMNI_CHANNEL, name="alumni")
    ts = fake.add_message(ALUMNI_CHANNEL, text="Record year", user=HR)
    fake.add_reaction(ALUMNI_CHANNEL, ts, name="tada", user=ALICE)
    fake.add_message(ALUMNI_CHANNEL, text="Congrats!", user=BOB, thread_ts=ts)
    with pg.session() as session:
        session.add(NewsPost(author_id=HR, title="Record year", body="Thanks", channel=ALUMNI_CHANNEL, ts=ts))
    at = datetime.now(UTC) + timedelta(minutes=1)
    env = process_env(fake, pg.url, ALUMNI_CHANNEL=ALUMNI_CHANNEL, ALUMNI_LANGUAGE="en")
    command = alumni_bot("jobs", "run", REACH_JOB, "--at", at.isoformat())
    try:
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
    assert len([c for c in fake.calls_to("conversations.history") if c.ok]) == 1
    with pg.session() as session:
        runs = session.exec(select(JobRun).where(JobRun.job == REACH_JOB)).all()
        [post] = session.exec(select(NewsPost)).all()
    assert [r.status for r in runs] == [STATUS_DONE]
    assert (post.reactions, post.replies) == (1, 1) and post.reach_checked_at is not None
