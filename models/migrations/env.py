"""Alembic environment pointed at `SQLModel.metadata` (every table imported through `models`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, inspect, pool, text
from sqlmodel import SQLModel

from models.search import register_autogenerate_filter
from models.tables import import_all

import_all()
register_autogenerate_filter()

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Revisions 0002-0004 were renumbered so that ids ascend along the chain (the files had been chained
# 0001 -> 0006 -> 0004 -> 0003 -> 0005). Databases migrated before hold the old ids: "0006" (events) is now
# "0002"; "0004" (referrals) and "0003" (opportunities) swapped meanings, so a stored 0003/0004 is read from
# the schema itself: the opportunities revision is the one that creates `opportunity`. Never reuse id 0006.
def translate_pre_renumbering_revision(connection: Connection) -> None:
    """Rewrite an old revision id in `alembic_version` to the id that now names the same schema."""
    inspector = inspect(connection)
    if not inspector.has_table("alembic_version"):
        return
    stored = [str(v) for v in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()]
    if len(stored) != 1:
        return
    old = stored[0]
    if old == "0006":
        new = "0002"
    elif old in {"0003", "0004"}:
        new = "0004" if inspector.has_table("opportunity") else "0003"
    else:
        return
    if new != old:
        connection.execute(text("UPDATE alembic_version SET version_num = :new"), {"new": new})


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        translate_pre_renumbering_revision(connection)
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        with conn.begin():
            translate_pre_renumbering_revision(conn)
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
