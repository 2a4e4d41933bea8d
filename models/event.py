"""Events: alumni meetups and study sessions, RSVPs with capacity and a waitlist, attendance and feedback.

Rules live here; Slack does not. Every RSVP change locks the event row first (`SELECT … FOR UPDATE` on
PostgreSQL; on SQLite a write to the row takes the database's single writer lock before anything is counted),
so two simultaneous "Going" clicks can never push an event past its capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint, func, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from models.member import Member, ensure_member
from models.outbox import CANCELLED as OUTBOX_CANCELLED
from models.outbox import PENDING as OUTBOX_PENDING
from models.outbox import OutboxMessage
from models.timeutil import now
from models.types import MAX_ID, UTCDateTime, get_or_not_found
from models.validation import is_http_url

SCHEDULED = "scheduled"
CANCELLED = "cancelled"

GOING = "going"
MAYBE = "maybe"
NOT_GOING = "not_going"
WAITLIST = "waitlist"
ANSWERS = (GOING, MAYBE, NOT_GOING)  # what a member may choose; WAITLIST is where a full event puts "going"

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
PLACE_MAX = 200
URL_MAX = 500
COMMENT_MAX = 2000
CAPACITY_MAX = 100_000
MAX_DURATION = timedelta(days=14)

# Outbox purposes of this feature: the period of every per-event message starts with `event_period_prefix`.
PURPOSE_REMINDER = "event_reminder"
PURPOSE_DAY = "event_day"
PURPOSE_FEEDBACK = "event_feedback"
PURPOSE_ATTENDANCE = "event_attendance"
PURPOSES = (PURPOSE_REMINDER, PURPOSE_DAY, PURPOSE_FEEDBACK, PURPOSE_ATTENDANCE)


class Event(SQLModel, table=True):
    """One meetup or study session. Instants are aware UTC; `tz` is the organiser's zone (for the .ics)."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_status_starts_at", "status", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    tz: str = Field(default="UTC", max_length=64)
    place: str = Field(default="", max_length=PLACE_MAX)
    online_url: str = Field(default="", max_length=URL_MAX)
    capacity: int | None = None
    organizer: str = Field(max_length=32, index=True)  # Slack user ID of the organiser
    status: str = Field(default=SCHEDULED, max_length=16)
    channel: str | None = Field(default=None, max_length=64)  # where the announcement is
    message_ts: str | None = Field(default=None, max_length=32)
    sequence: int = 0  # bumped on each edit (the .ics SEQUENCE)
    rsvp_seq: int = 0  # bumped on each RSVP change (also the SQLite write lock)
    attendance_marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED

    def has_started(self, at: datetime | None = None) -> bool:
        return (at or now()) >= self.starts_at

    def has_ended(self, at: datetime | None = None) -> bool:
        return (at or now()) >= self.ends_at


class Rsvp(SQLModel, table=True):
    """A member's answer to one event. `waitlisted_at` orders the waitlist (then `id`)."""

    __tablename__ = "event_rsvp"
    __table_args__ = (
        UniqueConstraint("event_id", "member_id", name="uq_event_rsvp_event_member"),
        Index("ix_event_rsvp_event_answer", "event_id", "answer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("event.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    answer: str = Field(max_length=16)
    answered_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    waitlisted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended: bool | None = None  # None until the organiser marks attendance


class EventFeedback(SQLModel, table=True):
    """An attendee's rating (1–5) and optional comment for one event."""

    __tablename__ = "event_feedback"
    __table_args__ = (UniqueConstraint("event_id", "member_id", name="uq_event_feedback_event_member"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("event.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rating: int | None = None
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


# ----------------------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class EventInput:
    """What an organiser submits (create and edit). Instants must be aware."""

    title: str
    description: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    tz: str = "UTC"
    place: str = ""
    online_url: str = ""
    capacity: int | None = None


@dataclass(frozen=True)
class Counts:
    going: int = 0
    maybe: int = 0
    not_going: int = 0
    waitlist: int = 0


@dataclass
class RsvpOutcome:
    """The result of an RSVP click: the member's answer now, whether anything changed, who moved up."""

    event: Event
    answer: str
    changed: bool
    promoted: list[str] = field(default_factory=list)


@dataclass
class EventChange:
    """The result of an edit: who must be told of a time change, and waitlisted members who moved up."""

    event: Event
    time_changed: bool
    notify: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)


@dataclass
class Cancellation:
    event: Event
    notify: list[str] = field(default_factory=list)
    already_cancelled: bool = False


@dataclass(frozen=True)
class FeedbackSummary:
    count: int
    average: float | None
    comments: list[str]
    attended: int | None  # marked attended (`attended_clause`); None while attendance is not marked
    going: int  # said Going (shown instead while attendance is not marked)


# ----------------------------------------------------------------------------------------- validation


_valid_url = is_http_url


def _validate(data: EventInput, *, check_future: bool) -> EventInput:
    errs = FieldErrors()
    title = data.title.strip()
    description = data.description.strip()
    place = data.place.strip()
    online_url = data.online_url.strip()
    if not title:
        errs.add("title", "required")
    elif len(title) > TITLE_MAX:
        errs.add("title", "too_long", max=TITLE_MAX)
    if len(description) > DESCRIPTION_MAX:
        errs.add("description", "too_long", max=DESCRIPTION_MAX)
    if len(place) > PLACE_MAX:
        errs.add("place", "too_long", max=PLACE_MAX)
    if online_url:
        if len(online_url) > URL_MAX:
            errs.add("online_url", "too_long", max=URL_MAX)
        elif not _valid_url(online_url):
            errs.add("online_url", "invalid_url")
    if data.capacity is not None and data.capacity < 1:
        errs.add("capacity", "events.errors.capacity_min")
    elif data.capacity is not None and data.capacity > CAPACITY_MAX:
        errs.add("capacity", "events.errors.capacity_max", max=CAPACITY_MAX)
    start, end = data.starts_at, data.ends_at
    if start is None or start.tzinfo is None:
        errs.add("starts_at", "required" if start is None else "invalid_date")
    elif check_future and start <= now():
        errs.add("starts_at", "events.errors.start_past")
    if end is None or end.tzinfo is None:
        errs.add("ends_at", "required" if end is None else "invalid_date")
    elif start is not None and start.tzinfo is not None:
        if end <= start:
            errs.add("ends_at", "events.errors.end_before_start")
        elif end - start > MAX_DURATION:
            errs.add("ends_at", "events.errors.too_long_duration", days=MAX_DURATION.days)
    try:
        ZoneInfo(data.tz)
    except (ZoneInfoNotFoundError, ValueError):
        errs.add("starts_at", "invalid")
    errs.raise_if_any()
    return EventInput(
        title=title,
        description=description,
        starts_at=start,
        ends_at=end,
        tz=data.tz,
        place=place,
        online_url=online_url,
        capacity=data.capacity,
    )


def _require_organizer(actor: Actor) -> None:
    if not actor.can_organize:
        raise PermissionDenied("not_allowed")


def can_manage(actor: Actor, event: Event) -> bool:
    """The event's organiser and HR may edit, cancel, mark attendance and read feedback."""
    return actor.is_hr or actor.user_id == event.organizer


def _require_manager(actor: Actor, event: Event) -> None:
    if not can_manage(actor, event):
        raise PermissionDenied("not_allowed")


# ----------------------------------------------------------------------------------------- reading


def get_event(session: Session, *, event_id: int) -> Event:
    return get_or_not_found(session, Event, event_id)


def upcoming_events(session: Session, *, after: datetime | None = None, limit: int = 20) -> list[Event]:
    """Scheduled events that have not started yet, soonest first."""
    instant = after or now()
    stmt = (
        select(Event)
        .where(Event.status == SCHEDULED, Event.starts_at > instant)
        .order_by(col(Event.starts_at), col(Event.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def events_starting_in(session: Session, *, after: datetime, until: datetime) -> list[Event]:
    """Scheduled (not cancelled) events whose start is in (after, until]."""
    stmt = (
        select(Event)
        .where(Event.status == SCHEDULED, Event.starts_at > after, Event.starts_at <= until)
        .order_by(col(Event.starts_at), col(Event.id))
    )
    return list(session.exec(stmt))


def events_ending_in(session: Session, *, after: datetime, until: datetime) -> list[Event]:
    """Scheduled (not cancelled) events whose end is in (after, until]."""
    stmt = (
        select(Event)
        .where(Event.status == SCHEDULED, Event.ends_at > after, Event.ends_at <= until)
        .order_by(col(Event.ends_at), col(Event.id))
    )
    return list(session.exec(stmt))


def past_events(
    session: Session, *, actor: Actor, since: datetime, limit: int = 10, managed_only: bool = False
) -> list[Event]:
    """Events that started since `since`, newest first (only the actor's own unless HR, when `managed_only`)."""
    stmt = select(Event).where(Event.starts_at >= since, Event.starts_at <= now())
    if managed_only and not actor.is_hr:
        stmt = stmt.where(Event.organizer == actor.user_id)
    return list(session.exec(stmt.order_by(col(Event.starts_at).desc(), col(Event.id).desc()).limit(limit)))


def rsvp_counts(session: Session, *, event_ids: Iterable[int]) -> dict[int, Counts]:
    """Counts of each answer per event (events without RSVPs get zeros)."""
    ids = list(event_ids)
    out: dict[int, Counts] = {i: Counts() for i in ids}
    if not ids:
        return out
    rows = session.exec(
        select(Rsvp.event_id, Rsvp.answer, func.count())
        .where(col(Rsvp.event_id).in_(ids))
        .group_by(col(Rsvp.event_id), col(Rsvp.answer))
    ).all()
    tallies: dict[int, dict[str, int]] = {i: {} for i in ids}
    for event_id, answer, count in rows:
        tallies[event_id][answer] = int(count)
    for event_id, tally in tallies.items():
        out[event_id] = Counts(
            going=tally.get(GOING, 0),
            maybe=tally.get(MAYBE, 0),
            not_going=tally.get(NOT_GOING, 0),
            waitlist=tally.get(WAITLIST, 0),
        )
    return out


def answers_of(session: Session, *, user_id: str, event_ids: Iterable[int]) -> dict[int, str]:
    """The user's answer per event (events they did not answer are absent)."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(Rsvp.event_id, Rsvp.answer)
        .join(Member, col(Member.id) == col(Rsvp.member_id))
        .where(Member.slack_user_id == user_id, col(Rsvp.event_id).in_(ids))
    ).all()
    return {event_id: answer for event_id, answer in rows}


def user_ids_with_answer(session: Session, *, event_id: int, answers: Sequence[str]) -> list[str]:
    """Slack user IDs of members with one of `answers`, in RSVP/waitlist order."""
    rows = session.exec(
        select(Member.slack_user_id)
        .join(Rsvp, col(Member.id) == col(Rsvp.member_id))
        .where(Rsvp.event_id == event_id, col(Rsvp.answer).in_(list(answers)))
        .where(col(Member.slack_user_id).is_not(None))
        .order_by(col(Rsvp.waitlisted_at).asc().nulls_first(), col(Rsvp.answered_at), col(Rsvp.id))
    ).all()
    return [str(r) for r in rows if r]


def members_with_answer(session: Session, *, event_id: int, answers: Sequence[str]) -> list[Member]:
    """Members (with their stored locale) with one of `answers`, in RSVP order."""
    rows = session.exec(
        select(Member)
        .join(Rsvp, col(Member.id) == col(Rsvp.member_id))
        .where(Rsvp.event_id == event_id, col(Rsvp.answer).in_(list(answers)))
        .where(col(Member.slack_user_id).is_not(None))
        .order_by(col(Rsvp.answered_at), col(Rsvp.id))
    ).all()
    return list(rows)


def attended_clause(attended: Any) -> ColumnElement[bool]:
    """The one definition of attendance, for every figure (organiser's summary, monthly report): an RSVP
    the organiser marked attended. Saying Going is not attending: while attendance is not marked, figures
    say "N said Going, attendance not marked" instead of counting anyone as attended."""
    return cast(ColumnElement[bool], attended.is_(True))


def attendees(session: Session, *, event_id: int) -> list[Member]:
    """Who gets the feedback question and may answer it: those the organiser marked attended, or, while
    attendance is not marked, everyone going (RSVPs close at the start). Not a figure: see `attended_clause`."""
    event = get_event(session, event_id=event_id)
    stmt = (
        select(Member)
        .join(Rsvp, col(Member.id) == col(Rsvp.member_id))
        .where(Rsvp.event_id == event_id, col(Member.slack_user_id).is_not(None))
    )
    if event.attendance_marked_at is not None:
        stmt = stmt.where(attended_clause(col(Rsvp.attended)))
    else:
        stmt = stmt.where(Rsvp.answer == GOING)
    return list(session.exec(stmt.order_by(col(Rsvp.answered_at), col(Rsvp.id))))


def my_events(session: Session, *, user_id: str, limit: int = 10) -> list[tuple[Event, str | None]]:
    """Upcoming events the user answered going/maybe/waitlist or organises, soonest first, with their answer."""
    instant = now()
    answered = session.exec(
        select(Event, Rsvp.answer)
        .join(Rsvp, col(Rsvp.event_id) == col(Event.id))
        .join(Member, col(Member.id) == col(Rsvp.member_id))
        .where(Member.slack_user_id == user_id, col(Rsvp.answer).in_([GOING, MAYBE, WAITLIST]))
        .where(Event.status == SCHEDULED, Event.ends_at > instant)
    ).all()
    found: dict[int, tuple[Event, str | None]] = {e.id: (e, a) for e, a in answered if e.id is not None}
    organised = session.exec(
        select(Event).where(Event.organizer == user_id, Event.status == SCHEDULED, Event.ends_at > instant)
    ).all()
    for event in organised:
        if event.id is not None and event.id not in found:
            found[event.id] = (event, None)
    return sorted(found.values(), key=lambda pair: (pair[0].starts_at, pair[0].id or 0))[:limit]


# ----------------------------------------------------------------------------------------- writing


def create_event(
    session: Session,
    *,
    actor: Actor,
    data: EventInput,
    display_name: str | None = None,
    locale: str | None = None,
) -> Event:
    """An organiser (or HR) creates a scheduled event. The organiser's name and language are remembered
    (their `Member` row) so scheduled messages to them need no Slack lookup."""
    _require_organizer(actor)
    clean = _validate(data, check_future=True)
    ensure_member(session, slack_user_id=actor.user_id, display_name=display_name, locale=locale, tz=data.tz)
    assert clean.starts_at is not None and clean.ends_at is not None
    event = Event(
        title=clean.title,
        description=clean.description,
        starts_at=clean.starts_at,
        ends_at=clean.ends_at,
        tz=clean.tz,
        place=clean.place,
        online_url=clean.online_url,
        capacity=clean.capacity,
        organizer=actor.user_id,
    )
    session.add(event)
    session.flush()
    record(session, actor=actor.user_id, action="event.create", target=f"event:{event.id}")
    return event


def set_announcement(session: Session, *, event_id: int, channel: str, ts: str) -> None:
    """Remember where the announcement is, so RSVPs can update it in place."""
    event = get_event(session, event_id=event_id)
    event.channel, event.message_ts = channel, ts
    session.add(event)


def _lock_event(session: Session, event_id: int) -> Event:
    """The event row, locked for this unit of work (see the module docstring)."""
    if not 0 < event_id <= MAX_ID:
        raise NotFound("not_found")
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # Writing first makes SQLite take its writer lock now (waiting up to busy_timeout), before we count.
        session.execute(update(Event).where(col(Event.id) == event_id).values(rsvp_seq=Event.rsvp_seq + 1))
    stmt = (
        select(Event).where(Event.id == event_id).with_for_update().execution_options(populate_existing=True)
    )
    event = session.exec(stmt).first()
    if event is None:
        raise NotFound("not_found")
    if bind.dialect.name != "sqlite":
        event.rsvp_seq += 1
    return event


def _going_count(session: Session, event_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(Rsvp).where(Rsvp.event_id == event_id, Rsvp.answer == GOING)
        ).one()
    )


def _promote(session: Session, event: Event) -> list[str]:
    """Move waitlisted members up, first come first served, while there is room. Returns their user IDs."""
    assert event.id is not None
    promoted: list[str] = []
    going = _going_count(session, event.id)
    while event.capacity is None or going < event.capacity:
        row = session.exec(
            select(Rsvp, Member.slack_user_id)
            .join(Member, col(Member.id) == col(Rsvp.member_id))
            .where(Rsvp.event_id == event.id, Rsvp.answer == WAITLIST)
            .order_by(col(Rsvp.waitlisted_at), col(Rsvp.id))
        ).first()
        if row is None:
            break
        rsvp_row, user_id = row
        rsvp_row.answer = GOING
        rsvp_row.answered_at = now()
        rsvp_row.waitlisted_at = None
        session.add(rsvp_row)
        session.flush()
        going += 1
        if user_id:
            promoted.append(str(user_id))
    return promoted


# Two taps decided out of order are at most a few seconds apart: Slack waits 3 s for each answer.
STALE_TAP_WINDOW = timedelta(seconds=10)


def _decided_out_of_order(tapped_at: datetime, answered_at: datetime) -> bool:
    """True when this tap is older than the answer already stored from a later tap of the same member."""
    return timedelta(0) < answered_at - tapped_at <= STALE_TAP_WINDOW


def rsvp(
    session: Session,
    *,
    actor: Actor,
    event_id: int,
    answer: str,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
    tapped_at: datetime | None = None,
) -> RsvpOutcome:
    """Record or change the actor's answer. Idempotent; a full event puts new "going" answers on the waitlist.

    RSVPs close when the event starts, so "going at start time" is the going list afterwards. `tapped_at`
    is when the member tapped (Slack's `action_ts`, capped at now): a tap older than the answer already
    stored is stale (two taps of one member decided out of order) and changes nothing, so the member's last
    tap always stands, across threads and processes.
    """
    if answer not in ANSWERS:
        raise DomainError("events.errors.invalid_answer", field="answer")
    event = _lock_event(session, event_id)
    if event.is_cancelled:
        raise DomainError("events.errors.cancelled")
    if event.has_started():
        raise DomainError("events.errors.rsvp_closed")
    member = ensure_member(
        session, slack_user_id=actor.user_id, display_name=display_name, locale=locale, tz=tz
    )
    assert member.id is not None and event.id is not None
    row = session.exec(select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.member_id == member.id)).first()
    previous = row.answer if row is not None else None
    tapped_at = min(tapped_at, now()) if tapped_at is not None else now()
    if row is not None and previous is not None and _decided_out_of_order(tapped_at, row.answered_at):
        return RsvpOutcome(event, previous, changed=False)
    if answer == GOING and previous in (GOING, WAITLIST):
        return RsvpOutcome(event, previous or GOING, changed=False)
    if answer != GOING and previous == answer:
        return RsvpOutcome(event, answer, changed=False)
    if row is None:
        row = Rsvp(event_id=event.id, member_id=member.id, answer=answer)
    new_answer = answer
    if answer == GOING and event.capacity is not None and _going_count(session, event.id) >= event.capacity:
        new_answer = WAITLIST
    row.answer = new_answer
    row.answered_at = tapped_at
    row.waitlisted_at = now() if new_answer == WAITLIST else None
    session.add(row)
    session.flush()
    promoted = _promote(session, event) if previous == GOING else []
    event.updated_at = now()
    session.add(event)
    return RsvpOutcome(event, new_answer, changed=True, promoted=promoted)


def _cancel_pending_messages(session: Session, event_id: int) -> int:
    """Withdraw this event's queued (not yet sent) scheduled messages."""
    prefix = event_period_prefix(event_id)
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.purpose).in_(list(PURPOSES)))
        .where(col(OutboxMessage.period).startswith(prefix, autoescape=True))
        .where(col(OutboxMessage.status) == OUTBOX_PENDING)
        .values(status=OUTBOX_CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def event_period_prefix(event_id: int) -> str:
    """Every outbox period of one event starts with this (`e12@…`)."""
    return f"e{event_id}@"


def update_event(session: Session, *, actor: Actor, event_id: int, data: EventInput) -> EventChange:
    """The organiser or HR edits a scheduled event that has not started."""
    event = _lock_event(session, event_id)
    _require_manager(actor, event)
    if event.is_cancelled:
        raise DomainError("events.errors.cancelled")
    if event.has_started():
        raise DomainError("events.errors.already_started")
    time_changed_requested = data.starts_at != event.starts_at or data.ends_at != event.ends_at
    clean = _validate(data, check_future=time_changed_requested)
    assert clean.starts_at is not None and clean.ends_at is not None and event.id is not None
    time_changed = clean.starts_at != event.starts_at or clean.ends_at != event.ends_at
    event.title = clean.title
    event.description = clean.description
    event.starts_at = clean.starts_at
    event.ends_at = clean.ends_at
    event.tz = clean.tz
    event.place = clean.place
    event.online_url = clean.online_url
    event.capacity = clean.capacity
    event.sequence += 1
    event.updated_at = now()
    session.add(event)
    session.flush()
    if time_changed:
        _cancel_pending_messages(session, event.id)
    promoted = _promote(session, event)
    notify = user_ids_with_answer(session, event_id=event.id, answers=[GOING]) if time_changed else []
    notify = [u for u in notify if u not in promoted]
    record(session, actor=actor.user_id, action="event.update", target=f"event:{event.id}")
    return EventChange(event, time_changed=time_changed, notify=notify, promoted=promoted)


def cancel_event(session: Session, *, actor: Actor, event_id: int) -> Cancellation:
    """The organiser or HR cancels; everyone going or waitlisted is to be told (once)."""
    event = _lock_event(session, event_id)
    _require_manager(actor, event)
    assert event.id is not None
    if event.is_cancelled:
        return Cancellation(event, already_cancelled=True)
    if event.has_ended():
        raise DomainError("events.errors.already_ended")
    event.status = CANCELLED
    event.cancelled_at = now()
    event.updated_at = now()
    event.sequence += 1
    session.add(event)
    _cancel_pending_messages(session, event.id)
    record(session, actor=actor.user_id, action="event.cancel", target=f"event:{event.id}")
    return Cancellation(event, user_ids_with_answer(session, event_id=event.id, answers=[GOING, WAITLIST]))


def mark_attendance(session: Session, *, actor: Actor, event_id: int, attended: Iterable[str]) -> int:
    """The organiser marks who came, from the going list. Returns how many attended."""
    event = _lock_event(session, event_id)
    _require_manager(actor, event)
    if event.is_cancelled:
        raise DomainError("events.errors.cancelled")
    if not event.has_started():
        raise DomainError("events.errors.not_started")
    chosen = set(attended)
    rows = session.exec(
        select(Rsvp, Member.slack_user_id)
        .join(Member, col(Member.id) == col(Rsvp.member_id))
        .where(Rsvp.event_id == event_id, Rsvp.answer == GOING)
    ).all()
    going_ids = {str(u) for _, u in rows if u}
    unknown = chosen - going_ids
    if unknown:
        raise DomainError("events.errors.not_on_going_list", field="attended")
    count = 0
    for row, user_id in rows:
        row.attended = user_id in chosen
        count += int(bool(row.attended))
        session.add(row)
    event.attendance_marked_at = now()
    session.add(event)
    record(session, actor=actor.user_id, action="event.attendance", target=f"event:{event_id}", count=count)
    return count


def record_feedback(
    session: Session,
    *,
    actor: Actor,
    event_id: int,
    rating: int | None = None,
    comment: str | None = None,
) -> EventFeedback:
    """An attendee rates the event (1–5) and/or leaves a comment; a second answer replaces the first."""
    event = get_event(session, event_id=event_id)
    if not event.has_started() or event.is_cancelled:
        raise DomainError("events.errors.not_started")
    member = session.exec(select(Member).where(Member.slack_user_id == actor.user_id)).first()
    if member is None or member.id not in {m.id for m in attendees(session, event_id=event_id)}:
        raise PermissionDenied("events.errors.not_attendee")
    errs = FieldErrors()
    if rating is not None and not 1 <= rating <= 5:
        errs.add("rating", "events.errors.rating_range")
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        errs.add("comment", "too_long", max=COMMENT_MAX)
    errs.raise_if_any()
    row = session.exec(
        select(EventFeedback).where(EventFeedback.event_id == event_id, EventFeedback.member_id == member.id)
    ).first()
    if row is None:
        assert member.id is not None
        row = EventFeedback(event_id=event_id, member_id=member.id)
    if rating is not None:
        row.rating = rating
    if comment is not None:
        row.comment = text
    row.updated_at = now()
    session.add(row)
    session.flush()
    return row


def feedback_summary(session: Session, *, actor: Actor, event_id: int) -> FeedbackSummary:
    """Average rating and comments, for the organiser and HR only. Comments are shown without names."""
    event = get_event(session, event_id=event_id)
    _require_manager(actor, event)
    rows = list(
        session.exec(
            select(EventFeedback).where(EventFeedback.event_id == event_id).order_by(col(EventFeedback.id))
        )
    )
    ratings = [r.rating for r in rows if r.rating is not None]
    rsvps = select(func.count()).select_from(Rsvp).where(Rsvp.event_id == event_id)
    attended = session.exec(rsvps.where(attended_clause(col(Rsvp.attended)))).one()
    going = session.exec(rsvps.where(Rsvp.answer == GOING)).one()
    return FeedbackSummary(
        count=len(ratings),
        average=round(sum(ratings) / len(ratings), 2) if ratings else None,
        comments=[r.comment for r in rows if r.comment],
        attended=int(attended) if event.attendance_marked_at is not None else None,
        going=int(going),
    )
