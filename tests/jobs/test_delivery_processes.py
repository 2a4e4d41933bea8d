"""Crash drill across processes (PostgreSQL): a delivery worker is SIGKILLed while Slack holds back the reply
to a message it has already accepted; the restarted worker finds that message in history instead of sending
it again, and every DM arrives exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import METADATA_EVENT_TYPE
from models.db import Database
from models.outbox import SENDING, SENT, OutboxMessage, enqueue
from tests.conftest import ROOT
from tests.databases import PostgresFactory

DMS = 500


def alumni_bot(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("alumni-bot")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "bot.cli", *args]


def process_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALUMNI_", "SLACK_", "DATABASE_URL"))}
    env.update(
        {
            "SLACK_API_URL": fake.api_url,
            "SLACK_BOT_TOKEN": "xoxb-x",
            "SLACK_SIGNING_SECRET": "x",
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def test_sigkill_mid_send_is_reconciled_from_history_and_every_dm_sent_once(
    pg: Database, tmp_path: Path
) -> None:
    fake = FakeSlack().start()
    users = [f"U0KILL{i:04d}" for i in range(DMS)]
    for user in users:
        fake.add_user(user, name=user.lower())
    with pg.session() as session:
        for user in users:
            enqueue(session, purpose="drill", recipient=user, period="w1", message={"text": f"hello {user}"})

    env = process_env(fake, pg.url)
    command = alumni_bot("jobs", "deliver", "--threads", "4", "--stale-after", "2", "--poll", "0.2")
    logs = [open(tmp_path / f"worker{i}.log", "wb") for i in range(2)]  # noqa: SIM115
    first = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=logs[0], stderr=subprocess.STDOUT)
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: fake.accepted_post_count >= 150, 60, "the first 150 DMs")
        fake.hold_replies("chat.postMessage")  # Slack accepts the next posts but never answers
        wait_until(lambda: fake.held_count >= 1, 10, "a held reply")
        time.sleep(0.3)  # let the other thread block too (or sit between calls)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        held = [c for c in fake.calls_to("chat.postMessage") if c.ok][-fake.held_count :]
        fake.release_replies("chat.postMessage")
        ambiguous = {c.args["metadata"]["event_payload"]["dedupe_key"]: c.response["ts"] for c in held}
        with pg.session() as session:
            sending = session.exec(select(OutboxMessage).where(OutboxMessage.status == SENDING)).all()
        assert set(ambiguous) <= {
            row.dedupe_key for row in sending
        }  # Slack has them; the database does not know

        second = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=logs[1], stderr=subprocess.STDOUT)

        def all_sent() -> bool:
            with pg.session() as session:
                sent = session.exec(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT)
                ).one()
            return int(sent) == DMS

        wait_until(all_sent, 60, "every DM to be recorded as sent")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(15)
        for log in logs:
            log.close()
        fake.stop()

    # The fake's raw count of accepted chat.postMessage calls: every DM exactly once.
    assert fake.accepted_post_count == DMS
    assert all(len(fake.messages(user)) == 1 for user in users)
    # The history lookup happened for each ambiguous row, and recorded the message Slack had.
    with pg.session() as session:
        rows = {r.dedupe_key: r for r in session.exec(select(OutboxMessage)).all()}
    for key, ts in ambiguous.items():
        channel = rows[key].channel
        lookups = [
            c
            for c in fake.calls_to("conversations.history")
            if c.args.get("channel") == channel
            and str(c.args.get("include_all_metadata")).lower() in ("1", "true")
        ]
        assert lookups, f"no history lookup for {key}"
        assert rows[key].ts == ts
        found = fake.messages(rows[key].recipient)[0]
        assert found["metadata"] == {"event_type": METADATA_EVENT_TYPE, "event_payload": {"dedupe_key": key}}
