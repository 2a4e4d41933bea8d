"""Newest render wins: a per-row sequence in the database, so it holds across threads and processes.

Each render of a Slack message kept in step with a row (an opportunity's announcement, a referral's HR card)
claims the next number of the row's `render_seq` in the same transaction that reads the state it shows. After
sending, the renderer looks again: a higher number means a newer render began meanwhile and may have reached
Slack first, so it renders again from fresh state. The last message Slack keeps therefore shows the state
after the last change (as events' `rsvp_seq` does for announcements).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session


def claim_render(session: Session, model: Any, row_id: int) -> int:
    """Take the next render number of row `row_id` of `model` (its row lock holds until the commit)."""
    session.execute(update(model).where(model.id == row_id).values(render_seq=model.render_seq + 1))
    return int(session.execute(select(model.render_seq).where(model.id == row_id)).scalar_one())


def latest_render(session: Session, model: Any, row_id: int) -> int:
    """The number of the newest render claimed for the row."""
    return int(session.execute(select(model.render_seq).where(model.id == row_id)).scalar_one())
