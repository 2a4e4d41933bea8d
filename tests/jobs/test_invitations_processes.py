"""Two `alumni-bot jobs run invitations_send --at …` processes started together against one PostgreSQL
database and one local SMTP server (aiosmtpd) send each queued invitation exactly once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.slack_emulator.web_api import FakeSlack
from models.actors import Actor
from models.db import Database
from models.invitation import SENT, Invitation, queue_invitations
from models.roster import RosterRecord
from models.timeutil import freeze
from tests.databases import PostgresFactory
from tests.jobs.test_delivery_processes import alumni_bot, process_env
from tests.smtp_server import running_smtp_server

AT = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def test_two_processes_running_the_invitation_job_send_each_email_once(pg: Database, tmp_path: Path) -> None:
    emails = [f"p{n:02d}@example.com" for n in range(12)]
    freeze(AT)  # queued at the run's time (the processes' clock is `--at`)
    with pg.session() as session:
        records = [RosterRecord(email=email, name=f"Person {n}") for n, email in enumerate(emails)]
        session.add_all(records)
        session.flush()
        ids = [int(r.id or 0) for r in records]
        queue_invitations(session, actor=Actor("U0HR00001", is_hr=True), roster_ids=ids)
    freeze(None)
    fake = FakeSlack().start()
    try:
        with running_smtp_server() as smtp:
            env = process_env(
                fake,
                pg.url,
                SMTP_HOST=smtp.host,
                SMTP_PORT=str(smtp.port),
                SMTP_STARTTLS="false",
                SMTP_FROM="alumni@example.com",
                ALUMNI_JOIN_URL="https://join.slack.com/t/example-alumni/shared_invite/zt-abc123",
            )
            command = alumni_bot("jobs", "run", "invitations_send", "--at", AT.isoformat())
            procs = [
                subprocess.Popen(
                    command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                for _ in range(2)
            ]
            outputs = [proc.communicate(timeout=60) for proc in procs]
            received = sorted(r.rcpt_tos[0] for r in smtp.received)
    finally:
        fake.stop()
    assert [proc.returncode for proc in procs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    assert received == emails, [o.decode()[-1500:] for pair in outputs for o in pair]  # all, none twice
    with pg.session() as session:
        rows = session.exec(select(Invitation)).all()
    assert {(r.status, r.sends) for r in rows} == {(SENT, 1)}
