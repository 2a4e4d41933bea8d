"""Column types shared by the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, or_
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from models.errors import NotFound
from models.timeutil import as_utc

# The largest id an INTEGER primary key holds: ids from payloads above it cannot exist (and would overflow
# the database driver), so they are refused before any query.
MAX_ID = 2**31 - 1

_Row = TypeVar("_Row", bound=SQLModel)


def get_by_id(session: Session, table: type[_Row], row_id: int, *, for_update: bool = False) -> _Row | None:
    """The row with this id, or None (ids from payloads may point nowhere); `for_update` locks it
    (PostgreSQL) so concurrent decisions on it serialise."""
    if not 0 < row_id <= MAX_ID:
        return None
    return session.get(table, row_id, with_for_update=for_update, populate_existing=for_update)


def get_or_not_found(session: Session, table: type[_Row], row_id: int, *, for_update: bool = False) -> _Row:
    """The row with this id (see `get_by_id`); `NotFound` when there is none."""
    row = get_by_id(session, table, row_id, for_update=for_update)
    if row is None:
        raise NotFound("not_found")
    return row


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone, so we add it back on load)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC instants")
        aware = as_utc(value)
        # SQLite compares datetimes as text: store them naive-UTC so ordering and comparisons hold.
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def in_id_list(column: Any, slack_user_id: str) -> ColumnElement[bool]:
    """`column` (a comma-separated list of Slack user IDs, such as a group DM's recipient) has the ID as
    one of its entries (not inside another ID)."""
    return or_(
        column == slack_user_id,
        column.startswith(slack_user_id + ",", autoescape=True),
        column.endswith("," + slack_user_id, autoescape=True),
        column.contains("," + slack_user_id + ",", autoescape=True),
    )
