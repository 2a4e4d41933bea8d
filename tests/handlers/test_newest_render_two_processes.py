"""Issue 14: "newest render wins" holds across worker processes (gunicorn runs several), on PostgreSQL.

Two app processes on two ports share one database and one fake Slack; interest clicks go to them in turn
while Slack answers every other `chat.update` slowly, so an older render can reach Slack after a newer one.
The announcement must still end up showing the final count.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import make_server

import pytest

from bot.app import create_app
from bot.blocks.opportunities import ACTION_INTERESTED
from bot.i18n import t
from bot.services import build_services
from bot.slack_emulator.web_api import FakeSlack
from bot.web import wsgi_app
from models import opportunity as opps
from models.actors import Actor
from models.db import Database
from tests.conftest import (
    ALUMNI_CHANNEL,
    HR,
    SIGNING_SECRET,
    _QuietHandler,
    _ThreadingWSGIServer,
    make_settings,
)
from tests.databases import PostgresFactory
from tests.slack_requests import SlackSender

CLICKERS = [f"U0CLICK{n:02d}" for n in range(6)]
SLOW_UPDATE = 0.3  # seconds Slack takes for every other chat.update


def _worker(fake: FakeSlack, url: str, ports: Any, stop: Any) -> None:
    """One app process: serve until told to stop, then let its after-ack work finish."""
    database = Database(url)
    settings = make_settings(fake, database)
    services = build_services(settings, db=database)
    app = create_app(settings, services=services)
    server = make_server(
        "127.0.0.1", 0, wsgi_app(app, healthy=database.ping), _ThreadingWSGIServer, _QuietHandler
    )
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    ports.put(server.server_port)
    stop.wait(120)
    server.shutdown()
    app._listener_runner.listener_executor.shutdown(wait=True)


def _wait_until_taken(fake: FakeSlack, method: str, timeout: float = 30.0) -> None:
    """Until a call of `method` has taken the queued fault (the fake offers no public view of its queue)."""
    deadline = time.monotonic() + timeout
    while fake._faults.get(method):
        assert time.monotonic() < deadline, f"no {method} call arrived"
        time.sleep(0.005)


@pytest.fixture
def shared_postgres(postgres_factory: PostgresFactory) -> Iterator[str]:
    yield postgres_factory.create()


def test_the_last_render_shows_the_final_state_with_two_worker_processes(
    fake_slack: FakeSlack, shared_postgres: str
) -> None:
    for user in CLICKERS:
        fake_slack.add_user(user, name=user.lower(), real_name=user, locale="en-US")
    database = Database(shared_postgres)
    with database.session() as session:
        post = opps.post_opportunity(
            session,
            actor=Actor(HR, is_hr=True),
            draft=opps.Draft(title="Backend engineer", company="Acme", description="Python"),
        )
        post_id = post.id or 0
    ts = fake_slack.add_message(ALUMNI_CHANNEL, text="Backend engineer", user="UBOT")
    with database.session() as session:
        opps.set_announcement(session, opportunity_id=post_id, channel_id=ALUMNI_CHANNEL, message_ts=ts)
    database.dispose()  # no connection crosses the fork

    fork = multiprocessing.get_context("fork")
    ports, stop = fork.Queue(), fork.Event()
    workers = [
        fork.Process(target=_worker, args=(fake_slack, shared_postgres, ports, stop)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        senders = [
            SlackSender(f"http://127.0.0.1:{ports.get(timeout=60)}/slack/events", SIGNING_SECRET)
            for _ in workers
        ]
        for number, user in enumerate(CLICKERS):
            if number % 2 == 0:
                # Once the earlier clicks' renders have landed, the first process's render reads the
                # state, then Slack sits on its update ...
                fake_slack.wait_for("chat.update", count=number, timeout=30) if number else None
                fake_slack.fail("chat.update", delay=SLOW_UPDATE)
            answer = senders[number % 2].block_action(
                ACTION_INTERESTED, str(post_id), user=user, channel=ALUMNI_CHANNEL
            )
            assert answer.status == 200
            if number % 2 == 0:
                # ... and only once it is sitting there does the other process record the next click.
                _wait_until_taken(fake_slack, "chat.update")
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    assert all(worker.exitcode == 0 for worker in workers)
    final = str(fake_slack.messages(ALUMNI_CHANNEL)[-1])
    assert t("opportunities.announce.interested_count", "ja", count=len(CLICKERS)) in final
