"""Shared fixtures: databases (SQLite and PostgreSQL), the fake Slack, and the bot served over HTTP."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from bot.app import create_app
from bot.config import Settings
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from bot.web import wsgi_app
from models.db import Database
from models.timeutil import freeze
from tests.databases import PostgresFactory, SqliteFactory, postgres_reachable
from tests.listener_idle import IdleTrackingExecutor
from tests.slack_requests import SlackSender

SIGNING_SECRET = "test-signing-secret"
HR = "U0HR00001"
ORGANIZER = "U0ORG0001"
ALICE = "U0ALICE01"  # an English-speaking member
BOB = "U0BOB0001"  # a Japanese-speaking member
CAROL = "U0CAROL01"  # another member, for "someone else" cases
ALUMNI_CHANNEL = "C0ALUMNI1"
HR_CHANNEL = "G0HRPRIV1"

DATABASES = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    return SqliteFactory(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_factory(worker_id: str) -> Iterator[PostgresFactory]:
    reason = postgres_reachable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL half of the suite must run)")
        pytest.skip(reason)
    factory = PostgresFactory(worker_id)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    # pytest-xdist provides `worker_id`; without it we are the only worker.
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A freshly migrated database: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_factory").create()
        database = Database(url)
        yield database
        database.dispose()
    else:
        factory: PostgresFactory = request.getfixturevalue("postgres_factory")
        url = factory.shared()
        database = Database(url)
        yield database
        database.dispose()
        factory.truncate(url)


@pytest.fixture
def sqlite_db(sqlite_factory: SqliteFactory) -> Iterator[Database]:
    """A SQLite-only database, for unit tests whose logic does not depend on the database."""
    database = Database(sqlite_factory.create())
    yield database
    database.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    fake.add_user(HR, name="hana.hr", real_name="Hana HR", email="hana@example.com", locale="ja-JP")
    fake.add_user(ORGANIZER, name="oscar", real_name="Oscar Org", email="oscar@example.com", locale="en-US")
    fake.add_user(
        ALICE,
        name="alice",
        real_name="Alice Smith",
        email="alice@example.com",
        locale="en-US",
        tz="America/New_York",
        tz_offset=-18000,
    )
    fake.add_user(BOB, name="bob", real_name="山田 太郎", email="bob@example.com", locale="ja-JP")
    fake.add_user(
        CAROL,
        name="carol",
        real_name="Carol Jones",
        email="carol@example.com",
        locale="en-US",
        tz="Europe/London",
        tz_offset=0,
    )
    fake.add_channel(ALUMNI_CHANNEL, name="alumni")
    fake.add_channel(HR_CHANNEL, name="alumni-hr", is_private=True)
    yield fake
    violations = list(fake.violations)
    fake.stop()
    _record_rule_tally(fake)
    assert not violations, f"the bot sent blocks Slack would refuse: {violations}"


def _record_rule_tally(fake: FakeSlack) -> None:
    """With BLOCKKIT_AUDIT=<file>, append the payloads each Block Kit rule refused (one JSON line per test).

    `python scripts/blockkit_audit.py <file>` sums them: the audit of what the rules catch across the suite.
    """
    target = os.environ.get("BLOCKKIT_AUDIT")
    if target and fake.rule_tally:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(dict(fake.rule_tally)) + "\n")


def make_settings(fake: FakeSlack, database: Database, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "database_url": database.url,
        "alumni_channel": ALUMNI_CHANNEL,
        "alumni_hr_channel": HR_CHANNEL,
        "hr_users": frozenset({HR}),
        "organizer_users": frozenset({ORGANIZER}),
        "timezone": "Asia/Tokyo",
        "language": "ja",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class BotHarness:
    """The bot served over real HTTP on 127.0.0.1, a fake Slack behind it, and a signed-request sender."""

    fake: FakeSlack
    services: Services
    settings: Settings
    db: Database
    url: str
    sender: SlackSender
    listeners: IdleTrackingExecutor | None = None  # `listeners.wait_idle()`: every listener has finished

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every listener (and the work it runs after its ack) has finished, so a test can count
        what was sent, or assert what was not, without racing the after-ack work."""
        # Not an `assert`: `python -O` would drop the wait with it.
        if self.listeners is None or not self.listeners.wait_idle(timeout):
            raise AssertionError("listeners still busy")


@pytest.fixture
def bot(fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    """The whole app on SQLite and on PostgreSQL (parametrised through `db`)."""
    yield from _serve(fake_slack, db)


def _serve(fake: FakeSlack, database: Database, **overrides: object) -> Iterator[BotHarness]:
    settings = make_settings(fake, database, **overrides)
    services = build_services(settings, db=database)
    listeners = IdleTrackingExecutor()
    app = create_app(settings, services=services, listener_executor=listeners)
    server = make_server(
        "127.0.0.1", 0, wsgi_app(app, healthy=database.ping), _ThreadingWSGIServer, _QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        # Slack only sends the events the manifest subscribes to; the sender refuses any other. Ack bodies
        # (modals in response_action, blocks in a command's ack) get the fake's Block Kit checks too.
        sender = SlackSender(
            url + "/slack/events",
            SIGNING_SECRET,
            subscribed_events=fake.bot_events,
            ack_checker=fake.check_ack,
        )
        yield BotHarness(fake, services, settings, database, url, sender, listeners=listeners)
    finally:
        server.shutdown()
        server.server_close()
        # Let listener work still running after its ack finish, so it cannot touch the next test's data.
        executor = getattr(getattr(app, "_listener_runner", None), "listener_executor", None)
        if executor is not None:
            executor.shutdown(wait=True)
        freeze(None)


@pytest.fixture(autouse=True)
def _thaw_clock() -> Iterator[None]:
    yield
    freeze(None)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: collect each worker's count of generated hostile-input cases."""
    cases = getattr(node, "workeroutput", {}).get("hostile_cases") or {}
    total: dict[str, int] = node.config.stash.setdefault(_HOSTILE_CASES, {})
    for kind, count in cases.items():
        total[kind] = total.get(kind, 0) + count


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    cases = config.stash.get(_HOSTILE_CASES, {})
    if cases:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(cases.items()))
        terminalreporter.write_line(f"hostile input: {sum(cases.values())} generated cases ({parts})")


_HOSTILE_CASES = pytest.StashKey[dict[str, int]]()

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
