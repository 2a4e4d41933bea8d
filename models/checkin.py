"""Check-ins: "what's new" plus the availability at that time; nudge settings and who is due a nudge."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Column, ColumnElement, Index, Text, false, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col, delete, select

from models.actors import Actor
from models.errors import FieldErrors
from models.member import AVAILABILITY_FLAGS, Member, ensure_member, get_member
from models.profile import LONG_TEXT_MAX, ProfileInput, apply_profile, validate_profile
from models.timeutil import as_utc, now
from models.types import UTCDateTime

if TYPE_CHECKING:
    from models.program_settings import ProgramSettings

log = logging.getLogger(__name__)

DEFAULT_CADENCE_DAYS = 90
SNOOZE_DAYS = 30


class CheckIn(SQLModel, table=True):
    """One check-in: what the member wrote and what they were open to at that moment."""

    __tablename__ = "checkin"
    __table_args__ = (
        Index("ix_checkin_member_created", "member_id", "created_at"),
        Index("ix_checkin_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    open_to_rehire: bool = False
    open_to_gigs: bool = False
    open_to_collaboration: bool = False
    open_to_mentoring: bool = False
    open_to_speaking: bool = False
    available_until: date | None = None
    shared: bool = False
    # Where the shared post is, so erasure can remove it (models/privacy.py).
    channel: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    def availability(self) -> list[str]:
        return [flag for flag, column in AVAILABILITY_FLAGS.items() if getattr(self, column)]


def record_checkin(
    session: Session,
    *,
    actor: Actor,
    data: ProfileInput,
    whats_new: str,
    share: bool,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
) -> tuple[CheckIn, Member]:
    """The actor checks in: the profile is updated and a check-in stored, or nothing at all on bad input.

    Sharing needs some text and the member's consent (an unconsented member is shown to nobody)."""
    errs = FieldErrors()
    clean = validate_profile(data, errs)
    text = (whats_new or "").strip()
    if len(text) > LONG_TEXT_MAX:
        errs.add("whats_new", "too_long", max=LONG_TEXT_MAX)
    existing = get_member(session, slack_user_id=actor.user_id)
    if share and not text:
        errs.add("whats_new", "checkins.errors.share_needs_text")
    if share and (existing is None or not existing.has_consented):
        errs.add("share", "checkins.errors.share_needs_consent")
    errs.raise_if_any()
    member = ensure_member(
        session, slack_user_id=actor.user_id, display_name=display_name, locale=locale, tz=tz
    )
    apply_profile(member, clean)
    checkin = CheckIn(
        member_id=member.id or 0, text=text, shared=share, available_until=clean.available_until
    )
    for flag, column in AVAILABILITY_FLAGS.items():
        setattr(checkin, column, flag in clean.availability)
    member.last_checkin_at = checkin.created_at
    member.nudge_snoozed_until = None
    session.add(checkin)
    session.flush()
    return checkin, member


def last_checkin(session: Session, *, member_id: int) -> CheckIn | None:
    """The member's newest check-in."""
    return session.exec(
        select(CheckIn).where(CheckIn.member_id == member_id).order_by(col(CheckIn.created_at).desc())
    ).first()


def shared_checkins(
    session: Session, *, start: datetime, end: datetime, limit: int = 20
) -> tuple[list[tuple[CheckIn, Member]], int]:
    """Check-ins shared with the community in [start, end) by members still shown (newest first), and
    how many there are in all."""
    where = (
        col(CheckIn.shared).is_(True),
        col(CheckIn.created_at) >= start,
        col(CheckIn.created_at) < end,
        col(Member.erased_at).is_(None),
        col(Member.consented_at).is_not(None),
        col(Member.slack_user_id).is_not(None),
    )
    rows = session.exec(
        select(CheckIn, Member)
        .join(Member, col(Member.id) == col(CheckIn.member_id))
        .where(*where)
        .order_by(col(CheckIn.created_at).desc())
        .limit(limit)
    ).all()
    total = len(
        session.exec(
            select(CheckIn.id)
            .join(Member, col(Member.id) == col(CheckIn.member_id))
            .where(*where)
            .limit(1000)
        ).all()
    )
    return [(c, m) for c, m in rows], total


def delete_checkins_of(session: Session, *, member_id: int) -> int:
    """Erase a member's check-ins (for the privacy feature's erasure); returns how many went."""
    result = session.exec(delete(CheckIn).where(col(CheckIn.member_id) == member_id))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


# -- nudge settings --------------------------------------------------------------------------------


def snooze_nudges(session: Session, *, actor: Actor, days: int = SNOOZE_DAYS) -> Member:
    """No nudges for `days` days (the actor's own setting)."""
    member = ensure_member(session, slack_user_id=actor.user_id)
    member.nudges_enabled = True
    member.nudge_snoozed_until = now() + timedelta(days=days)
    member.updated_at = now()
    session.flush()
    return member


def set_nudges_enabled(session: Session, *, actor: Actor, enabled: bool) -> Member:
    """Turn check-in nudges on or off for the actor (turning on clears a snooze)."""
    member = ensure_member(session, slack_user_id=actor.user_id)
    member.nudges_enabled = enabled
    member.nudge_snoozed_until = None
    member.updated_at = now()
    session.flush()
    return member


def set_personal_digest(session: Session, *, actor: Actor, enabled: bool) -> Member:
    """Opt the actor in or out of the weekly personal digest of matching opportunities."""
    member = ensure_member(session, slack_user_id=actor.user_id)
    member.personal_digest = enabled
    member.updated_at = now()
    session.flush()
    return member


def nudge_cadence_days(session: Session, *, defaults: ProgramSettings) -> int:
    """The nudge cadence HR set (program settings over `defaults`, `Settings.program_defaults()`), or 90."""
    try:
        from models.program_settings import get_program_settings
    except ImportError:  # the program settings feature is optional for this one
        return DEFAULT_CADENCE_DAYS
    nested = session.begin_nested()
    try:
        days = int(get_program_settings(session, defaults=defaults).nudge_cadence_days)
    except SQLAlchemyError:
        nested.rollback()
        log.warning("program settings unreadable; using the default nudge cadence")
        return DEFAULT_CADENCE_DAYS
    nested.commit()
    return days if days > 0 else DEFAULT_CADENCE_DAYS


def nudges_snoozed(member: Member, *, at: datetime | None = None) -> bool:
    at = at or now()
    return member.nudge_snoozed_until is not None and as_utc(member.nudge_snoozed_until) > at


# -- who is due a nudge ----------------------------------------------------------------------------


def last_contact(member: Member) -> datetime | None:
    """When the member last told us about themselves: check-in, profile edit or consent (the latest)."""
    known = [d for d in (member.last_checkin_at, member.profile_edited_at, member.consented_at) if d]
    return max(as_utc(d) for d in known) if known else None


def nudge_period(member: Member, *, at: datetime, cadence_days: int) -> str | None:
    """The dedupe period of a nudge due at `at`, or None when none is due.

    One nudge per cadence window since the last contact (a member who ignores it hears again one cadence
    later); after a snooze ends, one more for the same window."""
    reference = last_contact(member)
    if reference is None or cadence_days <= 0:
        return None
    cycle = (at - reference) // timedelta(days=cadence_days)
    if cycle < 1:
        return None
    period = f"{reference:%Y%m%dT%H%M%S}/{cycle}"
    if member.nudge_snoozed_until is not None:
        snoozed = as_utc(member.nudge_snoozed_until)
        if snoozed > at:
            return None
        period += f"/s{snoozed:%Y%m%d}"
    return period


def eligible_time_zones(session: Session, *, personal_digest: bool = False) -> list[str | None]:
    """The distinct time zones of members who could get a nudge (or a personal digest)."""
    statement = select(Member.tz).where(*_contactable()).distinct()
    if personal_digest:
        statement = statement.where(col(Member.personal_digest).is_(True))
    else:
        statement = statement.where(col(Member.nudges_enabled).is_(True))
    return list(session.exec(statement).all())


def _contactable() -> tuple[ColumnElement[bool], ...]:
    return (
        col(Member.erased_at).is_(None),
        col(Member.consented_at).is_not(None),
        col(Member.slack_user_id).is_not(None),
    )


def _tz_clause(zones: Sequence[str | None]) -> ColumnElement[bool]:
    names = [z for z in zones if z is not None]
    clauses = [col(Member.tz).in_(names)] if names else []
    if any(z is None for z in zones):
        clauses.append(col(Member.tz).is_(None))
    return or_(*clauses) if clauses else false()


@dataclass
class DueNudge:
    member: Member
    period: str


def members_due_for_nudge(
    session: Session, *, at: datetime, cadence_days: int, zones: Iterable[str | None]
) -> list[DueNudge]:
    """Consented members with nudges on, not snoozed, in one of `zones`, whose last contact is at least
    one cadence ago, with the period their nudge belongs to."""
    zones = list(zones)
    cutoff = at - timedelta(days=cadence_days)
    statement = select(Member).where(
        *_contactable(),
        col(Member.nudges_enabled).is_(True),
        _tz_clause(zones),
        col(Member.consented_at) <= cutoff,
        or_(col(Member.last_checkin_at).is_(None), col(Member.last_checkin_at) <= cutoff),
        or_(col(Member.profile_edited_at).is_(None), col(Member.profile_edited_at) <= cutoff),
        or_(col(Member.nudge_snoozed_until).is_(None), col(Member.nudge_snoozed_until) <= at),
    )
    due: list[DueNudge] = []
    for member in session.exec(statement.order_by(col(Member.id))):
        period = nudge_period(member, at=at, cadence_days=cadence_days)
        if period is not None:
            due.append(DueNudge(member, period))
    return due


def members_for_personal_digest(session: Session, *, zones: Iterable[str | None]) -> list[Member]:
    """Consented members who opted in to the personal digest, in one of `zones`."""
    statement = select(Member).where(
        *_contactable(), col(Member.personal_digest).is_(True), _tz_clause(list(zones))
    )
    return list(session.exec(statement.order_by(col(Member.id))).all())


def set_checkin_message(session: Session, *, checkin_id: int, channel: str, ts: str) -> None:
    """Remember where a shared check-in was posted."""
    checkin = session.get(CheckIn, checkin_id)
    if checkin is not None:
        checkin.channel, checkin.message_ts = channel, ts
