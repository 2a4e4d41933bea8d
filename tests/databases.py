"""Fresh test databases: SQLite files and PostgreSQL databases, each migrated once and then copied.

Migrating once per session into a template (a file for SQLite, a template database on PostgreSQL) and
copying it per test keeps the suite fast while every test still starts from the real migrations.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from bot.config import DEFAULT_TEST_DATABASE_URL
from models.db import Database


def test_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _with_dbname(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def postgres_reachable() -> str | None:
    """None when the server answers; otherwise the reason."""
    try:
        with psycopg.connect(_libpq(test_server_url()), connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {test_server_url().split('@')[-1]} is unreachable: {exc}".strip()


class PostgresFactory:
    """Creates databases from a migrated template on the test server; drops them afterwards."""

    def __init__(self, tag: str) -> None:
        self.server = test_server_url()
        self.template = f"alumni_tpl_{tag}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self._shared: str | None = None
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        template_db = Database(_with_dbname(self.server, self.template))
        template_db.upgrade()
        template_db.dispose()

    def _admin(self, statement: sql.Composable) -> None:
        with psycopg.connect(_libpq(self.server), autocommit=True) as conn:
            conn.execute(statement)

    def create(self) -> str:
        name = f"alumni_test_{uuid.uuid4().hex[:10]}"
        self._admin(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self.template)
            )
        )
        self.created.append(name)
        return _with_dbname(self.server, name)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def shared(self) -> str:
        """This worker's own database, created once; tests reset it with `truncate` (much faster than a
        new database per test, which costs seconds on a loaded 2-core machine)."""
        if self._shared is None:
            self._shared = self.create()
        return self._shared

    def truncate(self, url: str) -> None:
        """Empty every table of the database and restart its sequences."""
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            if tables:
                conn.execute(
                    sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                        sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                    )
                )

    def close(self) -> None:
        for name in [*self.created, self.template]:
            self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class SqliteFactory:
    """Copies a migrated SQLite file for each test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.db"
        template_db = Database(f"sqlite:///{self.template}")
        template_db.upgrade()
        with template_db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        template_db.dispose()

    def create(self) -> str:
        path = self.folder / f"test_{uuid.uuid4().hex[:10]}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"
