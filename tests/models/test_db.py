"""`Database.write_session`: a writing unit of work that holds SQLite's write lock from its start."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

import models.db
from models.db import Database, DatabaseUnavailable
from models.member import Member, get_member


def _sqlite_path(db: Database) -> str:
    return db.url.removeprefix("sqlite:///")


def test_a_write_session_holds_the_write_lock_before_its_first_statement(sqlite_db: Database) -> None:
    other = sqlite3.connect(_sqlite_path(sqlite_db), timeout=0)
    with sqlite_db.write_session(), pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("DELETE FROM member")
    other.execute("DELETE FROM member")  # free again once the unit of work ended
    other.commit()
    other.close()


def test_a_write_session_keeps_its_work_or_nothing(db: Database) -> None:
    with db.write_session() as session:
        session.add(Member(slack_user_id="U0WRITE1", display_name="kept"))
    with pytest.raises(RuntimeError), db.write_session() as session:
        session.add(Member(slack_user_id="U0WRITE2", display_name="dropped"))
        session.flush()
        raise RuntimeError("refused")
    with db.session() as session:
        assert get_member(session, slack_user_id="U0WRITE1") is not None
        assert get_member(session, slack_user_id="U0WRITE2") is None


def test_a_write_lock_held_too_long_elsewhere_is_database_unavailable(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.db, "SQLITE_WRITE_WAIT", 0.05)
    other = sqlite3.connect(_sqlite_path(sqlite_db), timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseUnavailable), sqlite_db.write_session():
            pass
    finally:
        other.execute("ROLLBACK")
        other.close()
    with sqlite_db.write_session() as session:  # usable again, with SQLite's busy timeout back in place
        timeout = session.execute(text("PRAGMA busy_timeout")).scalar()
    assert timeout == models.db.SQLITE_BUSY_TIMEOUT_MS
