"""One engine per process and one session per unit of work; migrations with Alembic."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary, fixed key: every alumni-bot process upgrading one PostgreSQL database takes this lock.
_UPGRADE_LOCK_KEY = 0x616C756D6E69


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (restarting, network); the user should try again."""


SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine with the settings each database needs."""
    if url.startswith("sqlite"):
        # hide_parameters: error messages (logged, stored in JobRun) must not carry row values (personal data).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # pre_ping lets the pool replace connections that died while PostgreSQL restarted.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=5,
        hide_parameters=True,
        connect_args={"connect_timeout": 3},
    )


# How long a writer waits for the other processes' write lock, and how often it tries meanwhile.
SQLITE_WRITE_WAIT = 10.0
SQLITE_WRITE_POLL = 0.001


def _begin_immediate(dbapi_connection: Any) -> None:
    """`BEGIN IMMEDIATE`, retried every millisecond while another process writes (up to SQLITE_WRITE_WAIT);
    SQLite's own busy handler backs off to 100 ms sleeps, leaving the lock idle while it sleeps."""
    import sqlite3

    deadline = time.monotonic() + SQLITE_WRITE_WAIT
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(str(exc)) from exc
            time.sleep(SQLITE_WRITE_POLL)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class Database:
    """The process's engine and its units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sqlite_writer = threading.Lock()  # see write_session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back when it raises."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise DatabaseUnavailable(str(exc.orig) if exc.orig else str(exc)) from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A unit of work that writes (an RSVP, a check-in): like `session`, but on SQLite it takes the write
        lock first. Writers of this process queue on one lock of ours (woken at once when it is free,
        where SQLite's busy handler sleeps up to 100 ms between tries and left the lock idle under load)
        and then `BEGIN IMMEDIATE`, so the wait for the other processes happens before any work is done.
        """
        if self.dialect != "sqlite":
            with self.session() as session:
                yield session
            return
        with self._sqlite_writer, self.session() as session:
            _begin_immediate(session.connection().connection.dbapi_connection)
            yield session

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not reachable" to a health check
            log.warning("database ping failed", exc_info=True)
            return False

    def alembic_config(self) -> Config:
        # Alembic is imported only here: web workers never migrate (the parent process does, once), and
        # importing it costs each worker about 10 MiB (benchmarks.worker_memory).
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations. On PostgreSQL an advisory lock makes concurrent starters upgrade once."""
        from alembic import command

        config = self.alembic_config()
        with self.engine.begin() as conn:
            if self.is_postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    def dispose(self) -> None:
        self.engine.dispose()
