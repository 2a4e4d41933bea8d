"""OutboxMessage: scheduled messages waiting to be delivered, each at most once (unique dedupe key).

Jobs decide *what* to send and call `enqueue`; the delivery worker (`jobs/delivery.py`) sends.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from models.timeutil import now
from models.types import UTCDateTime

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"


class OutboxMessage(SQLModel, table=True):
    """One message to post. `recipient` is a channel ID (C…/G…) or a user ID (U…/W…) for a DM."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    purpose: str = Field(max_length=64, index=True)
    recipient: str = Field(max_length=64, index=True)
    period: str = Field(default="", max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    channel: str | None = Field(default=None, max_length=64)
    ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def message(self) -> dict[str, Any]:
        """The `chat.postMessage` arguments (text, blocks, …) stored at enqueue time."""
        data: dict[str, Any] = json.loads(self.payload)
        return data


def dedupe_key(purpose: str, recipient: str, period: str) -> str:
    """The one key for (purpose, recipient, period)."""
    return f"{purpose}:{recipient}:{period}"


def enqueue(
    session: Session,
    *,
    purpose: str,
    recipient: str,
    period: str,
    message: dict[str, Any],
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Queue a message once. Returns None when (purpose, recipient, period) is already queued or sent."""
    key = dedupe_key(purpose, recipient, period)
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None:
        return None
    row = OutboxMessage(
        dedupe_key=key,
        purpose=purpose,
        recipient=recipient,
        period=period,
        payload=json.dumps(message, ensure_ascii=False),
        next_attempt_at=not_before or now(),
    )
    nested = session.begin_nested()
    try:
        session.add(row)
        session.flush()
    except IntegrityError:
        # Another process queued the same key between our check and insert.
        nested.rollback()
        return None
    nested.commit()
    return row
