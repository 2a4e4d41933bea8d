"""Alumni's voice: ideas and complaints about the program, sent to HR named or anonymously.

HR answers the sender through the bot (an anonymous sender stays anonymous: HR never sees who it is), marks
feedback addressed with a note of what changed, and the "you said, we did" section of the next weekly digest
publishes each such note exactly once (`published_at`). A note on feedback not marked addressed waits until
HR marks it addressed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlmodel import Column, Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, FieldErrors, PermissionDenied
from models.member import ensure_member
from models.timeutil import now
from models.types import UTCDateTime, get_or_not_found

IDEA = "idea"
COMPLAINT = "complaint"
OTHER = "other"
KINDS = (IDEA, COMPLAINT, OTHER)
OPEN = "open"
ADDRESSED = "addressed"
TEXT_MAX = 3000
REPLY_MAX = 3000
CHANGE_MAX = 500


class Feedback(SQLModel, table=True):
    """One piece of feedback. `sender_user_id` is kept for replies even when anonymous, never shown to HR."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id"), index=True, nullable=True)
    )
    sender_user_id: str = Field(max_length=32, index=True)
    anonymous: bool = False
    kind: str = Field(default=IDEA, max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=OPEN, max_length=16)
    reply: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    replied_by: str | None = Field(default=None, max_length=32)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    change_note: str = Field(default="", max_length=CHANGE_MAX)  # "what we did", for the quarterly digest
    addressed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # its note went into a digest
    hr_channel: str | None = Field(default=None, max_length=64)
    hr_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)


def submit_feedback(
    session: Session, *, actor: Actor, text: str, kind: str, anonymous: bool, display_name: str | None = None
) -> Feedback:
    """A member sends feedback to HR."""
    errs = FieldErrors()
    body = (text or "").strip()
    if not body:
        errs.add("text", "required")
    elif len(body) > TEXT_MAX:
        errs.add("text", "too_long", max=TEXT_MAX)
    if kind not in KINDS:
        errs.add("kind", "invalid")
    errs.raise_if_any()
    member = ensure_member(session, slack_user_id=actor.user_id, display_name=display_name)
    item = Feedback(
        member_id=member.id, sender_user_id=actor.user_id, anonymous=anonymous, kind=kind, text=body
    )
    session.add(item)
    session.flush()
    return item


def get_feedback(session: Session, feedback_id: int) -> Feedback:
    return get_or_not_found(session, Feedback, feedback_id)


def set_hr_message(session: Session, *, feedback_id: int, channel: str, ts: str) -> None:
    item = get_feedback(session, feedback_id)
    item.hr_channel, item.hr_ts = channel, ts
    session.flush()


def reply_to_feedback(
    session: Session, *, actor: Actor, feedback_id: int, reply: str, change_note: str = "", addressed: bool
) -> Feedback:
    """HR answers (the bot DMs the sender) and may mark the feedback addressed with what changed."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    item = get_feedback(session, feedback_id)
    errs = FieldErrors()
    answer = (reply or "").strip()
    note = (change_note or "").strip()
    if not answer and not addressed:
        errs.add("reply", "required")
    if len(answer) > REPLY_MAX:
        errs.add("reply", "too_long", max=REPLY_MAX)
    if len(note) > CHANGE_MAX:
        errs.add("change_note", "too_long", max=CHANGE_MAX)
    errs.raise_if_any()
    if answer:
        item.reply = answer
        item.replied_by = actor.user_id
        item.replied_at = now()
    if note:
        item.change_note = note
    if addressed and item.status != ADDRESSED:
        item.status = ADDRESSED
        item.addressed_at = now()
    record(
        session,
        actor=actor.user_id,
        action="feedback.reply" if answer else "feedback.addressed",
        target=f"feedback:{item.id}",
        addressed=addressed,
    )
    session.flush()
    return item


def mark_addressed(session: Session, *, actor: Actor, feedback_id: int) -> Feedback:
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    item = get_feedback(session, feedback_id)
    if item.status == ADDRESSED:
        raise DomainError("feedback.errors.already_addressed")
    return reply_to_feedback(session, actor=actor, feedback_id=feedback_id, reply="", addressed=True)


def unpublished_changes(session: Session, *, limit: int = 50) -> list[Feedback]:
    """Addressed feedback whose change note has not been in a digest yet, oldest first."""
    return list(
        session.exec(
            select(Feedback)
            .where(
                Feedback.status == ADDRESSED,
                Feedback.change_note != "",
                col(Feedback.published_at).is_(None),
            )
            .order_by(col(Feedback.addressed_at), col(Feedback.id))
            .limit(limit)
        ).all()
    )


def mark_published(session: Session, items: list[Feedback], *, at: datetime) -> None:
    """These notes went into the digest queued in this transaction: never again."""
    for item in items:
        item.published_at = at
    session.flush()


def count_between(session: Session, *, start: datetime, end: datetime) -> int:
    return len(
        session.exec(
            select(Feedback.id).where(col(Feedback.created_at) >= start, col(Feedback.created_at) < end)
        ).all()
    )
