"""A playground per test: the real bot, the embedded Slack and the page server, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.playground.server import Playground
from models.db import Database
from tests.playground.support import Client


def _start(db: Database, *, demo: bool) -> Iterator[Client]:
    playground = Playground(database_url=db.url, port=0, demo=demo, scheduler=False).start()
    try:
        yield Client(playground)
    finally:
        playground.stop()
        violations = list(playground.slack.violations)
        assert not violations, f"the bot sent blocks Slack would refuse: {violations}"


@pytest.fixture
def play(db: Database) -> Iterator[Client]:
    """An empty playground (the four people, no data)."""
    yield from _start(db, demo=False)


@pytest.fixture
def demo(db: Database) -> Iterator[Client]:
    """A playground seeded with the --demo data."""
    yield from _start(db, demo=True)
