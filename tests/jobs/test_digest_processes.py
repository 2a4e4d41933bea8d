"""Two `alumni-bot jobs run digest --at …` processes started together against one PostgreSQL database, with
the week's content seeded there, post exactly one digest."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.slack_emulator.web_api import FakeSlack
from jobs.base import EXTRA_MODULES_ENV
from models.audit import AuditLog
from models.db import Database
from models.jobrun import STATUS_DONE, JobRun
from models.outbox import SENT, OutboxMessage
from tests.conftest import ALUMNI_CHANNEL
from tests.databases import PostgresFactory
from tests.jobs import digest_sample_section
from tests.jobs.test_delivery_processes import alumni_bot, process_env

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def test_two_processes_running_the_same_digest_post_it_once(pg: Database, tmp_path: Path) -> None:
    with pg.session() as session:
        for index in range(12):
            detail = json.dumps({"title": f"Reunion #{index}"})
            at = MONDAY - timedelta(days=3)
            session.add(AuditLog(at=at, actor="seed", action=digest_sample_section.ACTION, detail=detail))
    fake = FakeSlack().start()
    fake.add_channel(ALUMNI_CHANNEL, name="alumni")
    env = process_env(
        fake,
        pg.url,
        ALUMNI_CHANNEL=ALUMNI_CHANNEL,
        ALUMNI_LANGUAGE="en",
        **{EXTRA_MODULES_ENV: "tests.jobs.digest_sample_section"},
    )
    command = alumni_bot("jobs", "run", "digest", "--at", MONDAY.isoformat())
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
    assert sorted("queued 1 message(s)" in out for out in stdout) == [False, True], stdout
    assert any("already claimed" in out for out in stdout), stdout

    posts = [c for c in fake.calls_to("chat.postMessage") if c.ok]
    assert len(posts) == 1 and fake.accepted_post_count == 1
    blocks = json.dumps(posts[0].args["blocks"])
    assert "Alumni weekly digest" in blocks and "Reunion #11" in blocks
    with pg.session() as session:
        runs = session.exec(select(JobRun).where(JobRun.job == "digest")).all()
        rows = session.exec(select(OutboxMessage)).all()
    assert [(r.period, r.status) for r in runs] == [("2026-W49", STATUS_DONE)]
    assert [(r.purpose, r.status) for r in rows] == [("digest", SENT)]
