"""AuditLog: who did what to what, for HR actions and deletions. Actors are pseudonymised on erasure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel

from models.timeutil import now
from models.types import UTCDateTime


class AuditLog(SQLModel, table=True):
    """One recorded action. `detail` is JSON without personal data of candidates."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    target: str = Field(default="", max_length=128)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))


def record(session: Session, *, actor: str, action: str, target: str = "", **detail: Any) -> AuditLog:
    """Write one audit entry in the caller's unit of work."""
    entry = AuditLog(actor=actor, action=action, target=target, detail=json.dumps(detail, default=str))
    session.add(entry)
    return entry
