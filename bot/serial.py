"""Newest render wins for a Slack message kept in step with a database row (see `models.render`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session

from models.db import Database
from models.render import claim_render, latest_render

RENDER_RETRIES = 3
_P = TypeVar("_P")


def newest_render_wins(
    db: Database,
    model: Any,
    row_id: int,
    read: Callable[[Session], _P | None],
    send: Callable[[_P], bool],
) -> bool:
    """Render row `row_id` of `model` with `read(session)` and `send` it; again if a newer render began.

    `read` builds the message from the state it reads (None: nothing to send); `send` sends it and says
    whether Slack took it. Holds across processes: the order comes from the row's `render_seq` in the
    database, not from a lock in this process. Returns False when nothing was sent or Slack refused.
    """
    for _ in range(RENDER_RETRIES):
        with db.session() as session:
            mine = claim_render(session, model, row_id)
            payload = read(session)
        if payload is None or not send(payload):
            return False
        with db.session() as session:
            if latest_render(session, model, row_id) == mine:
                return True
    return True
