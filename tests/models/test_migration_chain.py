"""The Alembic chain reads in file order, and a database at any revision, old ids included, reaches head."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from models.db import MIGRATIONS_DIR, Database
from models.search import register_autogenerate_filter
from models.tables import import_all
from tests.conftest import DATABASES
from tests.databases import PostgresFactory

# Alembic's comparison must not propose dropping SQLite's FTS5 tables (registered where Alembic runs).
register_autogenerate_filter()

# Ids databases migrated before the renumbering may hold, and the revision each one means now.
PRE_RENUMBERING_IDS = {"0006": "0002", "0004": "0003", "0003": "0004"}


def _chain() -> list[str]:
    """Revision ids from the first migration to head."""
    script = ScriptDirectory.from_config(Database("sqlite://").alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_revision_ids_ascend_along_the_chain_in_file_order() -> None:
    chain = _chain()
    assert chain == sorted(chain), f"revision ids must ascend from base to head, got {chain}"
    files = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    assert [name.split("_", 1)[0] for name in files] == chain, (
        f"files in name order {files} must follow the chain {chain} (name each file after its revision id)"
    )


@pytest.fixture(params=DATABASES)
def blank_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Makes empty (unmigrated) databases on SQLite or PostgreSQL; disposes of them afterwards."""
    made: list[Database] = []
    factory: PostgresFactory | None = (
        request.getfixturevalue("postgres_factory") if request.param == "postgres" else None
    )

    def make() -> Database:
        if factory is None:
            url = f"sqlite:///{tmp_path / f'blank_{uuid.uuid4().hex[:8]}.db'}"
        else:
            name = f"alumni_blank_{uuid.uuid4().hex[:10]}"
            factory._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            factory.created.append(name)  # dropped with the factory's other databases
            url = f"{factory.server.rpartition('/')[0]}/{name}"
        database = Database(url)
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


def _version(database: Database) -> str:
    with database.engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _schema_diff(database: Database) -> list[object]:
    import_all()
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return list(compare_metadata(context, SQLModel.metadata))


def test_a_database_at_every_revision_upgrades_to_head(blank_database: Callable[[], Database]) -> None:
    chain = _chain()
    for revision in chain:
        database = blank_database()
        database.upgrade(revision)
        assert _version(database) == revision
        database.upgrade()
        assert _version(database) == chain[-1], f"from {revision}"
        assert _schema_diff(database) == [], f"from {revision}: schema differs from the models"


@pytest.mark.parametrize("old_id", sorted(PRE_RENUMBERING_IDS))
def test_a_database_holding_a_pre_renumbering_id_upgrades_to_head(
    blank_database: Callable[[], Database], old_id: str
) -> None:
    """A database migrated before the renumbering holds an old id for the schema it has."""
    database = blank_database()
    database.upgrade(PRE_RENUMBERING_IDS[old_id])
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :old"), {"old": old_id})

    database.upgrade()

    assert _version(database) == _chain()[-1]
    assert _schema_diff(database) == []


def _downgrade(database: Database, revision: str) -> None:
    from alembic import command

    config = database.alembic_config()
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _roster_columns(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("roster_record")}


def test_the_roster_language_migration_downgrades_keeping_the_rows_and_upgrades_again(
    blank_database: Callable[[], Database],
) -> None:
    database = blank_database()
    database.upgrade("0016")
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO roster_record (email, name, department, language, first_imported_at)"
                " VALUES ('ken@example.com', 'Ken Sato', '', 'ja', CURRENT_TIMESTAMP)"
            )
        )

    _downgrade(database, "0015")

    assert _version(database) == "0015" and "language" not in _roster_columns(database)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM roster_record")).scalars().all() == ["ken@example.com"]
    database.upgrade("0016")
    with database.engine.connect() as conn:  # the language is unknown again, not invented
        assert conn.execute(text("SELECT language FROM roster_record")).scalars().all() == [None]


def test_story_copies_stored_with_a_channel_name_take_the_id_slack_answered_with(
    blank_database: Callable[[], Database],
) -> None:
    """Before 0017 `ALUMNI_CHANNEL=#alumni` was accepted; chat.update needs the ID to withdraw such a copy."""
    from sqlmodel import Session, select

    from models.outbox import SENT, OutboxMessage
    from models.story import COPY_POSTED, PUBLISHED, Story, StoryCopy

    database = blank_database()
    database.upgrade("0016")
    with Session(database.engine) as session:
        story = Story(subject_id="U0ALICE01", author_id="U0ALICE01", title="t", body="b", status=PUBLISHED)
        session.add(story)
        session.flush()
        for key, configured, answered in (
            ("story_post:#alumni:story-1", "#alumni", "C0ALUMNI1"),
            ("story_post:C0STAFF01:story-1", "C0STAFF01", "C0STAFF01"),
            ("story_post:#old:story-1", "#old", None),  # never posted: nothing to learn
        ):
            session.add(
                OutboxMessage(
                    dedupe_key=key,
                    purpose="story_post",
                    recipient=configured,
                    period="story-1",
                    payload="{}",
                    status=SENT if answered else "failed",
                    channel=answered,
                    ts="1.0" if answered else None,
                )
            )
            session.add(
                StoryCopy(
                    story_id=int(story.id or 0),
                    subject_id="U0ALICE01",
                    channel=configured,
                    outbox_key=key,
                    status=COPY_POSTED,
                    ts="1.0",
                )
            )
        session.commit()

    database.upgrade()

    with Session(database.engine) as session:
        channels = {c.outbox_key: c.channel for c in session.exec(select(StoryCopy))}
    assert channels == {
        "story_post:#alumni:story-1": "C0ALUMNI1",
        "story_post:C0STAFF01:story-1": "C0STAFF01",
        "story_post:#old:story-1": "#old",
    }
