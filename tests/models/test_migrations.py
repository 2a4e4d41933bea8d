"""The models and the migrations describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from models.db import Database
from models.search import register_autogenerate_filter
from models.tables import import_all

# Alembic's comparison must not propose dropping SQLite's FTS5 tables (registered where Alembic runs).
register_autogenerate_filter()


def test_models_match_migrations(db: Database) -> None:
    import_all()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; create a migration: {diff}"


def test_migrations_form_one_line() -> None:
    script = ScriptDirectory.from_config(Database("sqlite://").alembic_config())
    assert len(script.get_heads()) == 1, "two migration heads: chain the new migration after the last"


def test_upgrade_twice_is_harmless(sqlite_db: Database) -> None:
    sqlite_db.upgrade()
    sqlite_db.upgrade()
    assert sqlite_db.ping()
