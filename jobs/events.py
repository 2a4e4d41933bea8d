"""Scheduled event work: reminders to members going (24 h and 1 h before by default), the channel reminder
on the morning of the event day, the organiser's attendance prompt and the attendees' feedback DMs after the
event, and the digest's "Upcoming events" section.

Everything goes through the outbox with one dedupe key per (purpose, recipient, event + start + offset):
a second run, a second replica or a restart queues nothing new, and a cancelled event queues nothing
(cancelling also withdraws its messages still pending). The start instant is part of the key so an event
moved to another time is reminded again for the new time.

Configuration (`bot.config.Settings`; the HR setting in the database wins over the environment, which wins
over the default):
- `event_reminder_offsets` (`ALUMNI_EVENT_REMINDER_OFFSETS`): offsets before the start, comma-separated, as
  minutes or with a unit (`1440,60`, `24h,1h`, `2d,3h,30m`); default `24h,1h`;
- `event_feedback_delay` (`ALUMNI_EVENT_FEEDBACK_DELAY`): how long after the end attendees get the feedback
  DM (default `2h`), so the organiser can mark attendance first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from sqlmodel import Session, select

from bot.blocks import events as ui
from bot.config import DEFAULT_REMINDER_OFFSETS, Settings
from bot.i18n import Translator, language_of
from jobs.base import (
    DigestContext,
    DigestSection,
    JobContext,
    ScheduledJob,
    daily_period,
)
from models import event as ev
from models.member import Member, get_member
from models.outbox import OutboxMessage

log = logging.getLogger(__name__)

REMINDER_JOB = "event_reminders"
DAY_JOB = "event_day"
FOLLOWUP_JOB = "event_followups"
DEFAULT_OFFSETS = DEFAULT_REMINDER_OFFSETS
REMINDER_EVERY_MINUTES = 5
FOLLOWUP_EVERY_MINUTES = 15
# A reminder is due from (start - offset) until the next smaller offset is due, but at most this long:
# someone who says Going 3 hours before the start gets the 1 h reminder, not a late "24 h" one.
REMINDER_GRACE = timedelta(hours=6)
FOLLOWUP_WINDOW = timedelta(days=3)  # after downtime, follow-ups older than this are not sent any more
DAY_HOUR = 9
DIGEST_ORDER = 40
DIGEST_HORIZON = timedelta(days=28)
DIGEST_LINES = 8
SCOPES: tuple[str, ...] = ()


def reminder_offsets(session: Session, settings: Settings) -> tuple[int, ...]:
    """The offsets in force: HR's database setting, else the environment, else 24 h and 1 h."""
    from models.program_settings import get_program_settings

    configured = get_program_settings(session, defaults=settings.program_defaults())
    offsets = tuple(sorted({int(o) for o in configured.reminder_offsets_minutes if int(o) > 0}, reverse=True))
    return offsets or DEFAULT_OFFSETS


def reminder_windows(offsets: tuple[int, ...]) -> list[tuple[int, timedelta]]:
    """(offset minutes, how long after its due time it may still go out), largest offset first."""
    ordered = sorted(set(offsets), reverse=True)
    windows = []
    for index, offset in enumerate(ordered):
        smaller = ordered[index + 1] if index + 1 < len(ordered) else 0
        windows.append((offset, min(timedelta(minutes=offset - smaller), REMINDER_GRACE)))
    return windows


def period_of(event: ev.Event, suffix: str) -> str:
    """`e12@1796371200/1440m`: event, its start (so a moved event is reminded again), and what."""
    assert event.id is not None
    return f"{ev.event_period_prefix(event.id)}{int(event.starts_at.timestamp())}/{suffix}"


def _already_queued(session: Session, purpose: str, period: str) -> set[str]:
    """Recipients that already have this message in the outbox (one query instead of one per member)."""
    rows = session.exec(
        select(OutboxMessage.recipient).where(
            OutboxMessage.purpose == purpose, OutboxMessage.period == period
        )
    ).all()
    return {str(r) for r in rows}


def _translator(ctx: JobContext, member: Member | None) -> Translator:
    default = ctx.services.settings.language
    return Translator(language_of(member.locale if member else None, default))


def _queue_dms(
    ctx: JobContext,
    session: Session,
    *,
    purpose: str,
    period: str,
    members: Iterable[Member],
    render: Callable[[Translator], dict[str, Any]],
) -> int:
    """Queue one DM per member who does not have it yet, rendered once per language."""
    done = _already_queued(session, purpose, period)
    messages: dict[str, dict[str, Any]] = {}
    queued = 0
    for member in members:
        if member.slack_user_id in done:
            continue
        tr = _translator(ctx, member)
        if tr.language not in messages:
            messages[tr.language] = render(tr)
        queued += ctx.enqueue(
            session,
            purpose=purpose,
            recipient=str(member.slack_user_id),
            period=period,
            message=messages[tr.language],
        )
    return queued


# ------------------------------------------------------------------------------------------- jobs


def run_reminders(ctx: JobContext) -> int:
    """DM every member going to an event whose reminder offset has come (once per event, start and offset)."""
    at = ctx.scheduled_for
    queued = 0
    with ctx.services.db.session() as session:
        for offset, window in reminder_windows(reminder_offsets(session, ctx.services.settings)):
            due_until = at + timedelta(minutes=offset)
            for event in ev.events_starting_in(session, after=due_until - window, until=due_until):
                assert event.id is not None
                going = ev.members_with_answer(session, event_id=event.id, answers=[ev.GOING])
                queued += _queue_dms(
                    ctx,
                    session,
                    purpose=ev.PURPOSE_REMINDER,
                    period=period_of(event, f"{offset}m"),
                    members=going,
                    render=partial(ui.reminder_dm, event, workspace_tz=ctx.services.settings.timezone),
                )
    return queued


def run_day_reminders(ctx: JobContext) -> int:
    """On the morning of the event day (09:00 ALUMNI_TIMEZONE), remind the channel of today's events."""
    channel = ctx.services.settings.alumni_channel
    if not channel:
        return 0
    zone = ctx.services.settings.zone
    at = ctx.scheduled_for
    local_day = at.astimezone(zone).date()
    day_end = datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=zone)
    tr = ctx.services.workspace_translator
    queued = 0
    with ctx.services.db.session() as session:
        events = ev.events_starting_in(session, after=at, until=day_end)
        counts = ev.rsvp_counts(session, event_ids=[e.id for e in events if e.id is not None])
        for event in events:
            assert event.id is not None
            queued += ctx.enqueue(
                session,
                purpose=ev.PURPOSE_DAY,
                recipient=channel,
                period=period_of(event, f"day{local_day.isoformat()}"),
                message=ui.day_message(
                    event, counts[event.id], tr, workspace_tz=ctx.services.settings.timezone
                ),
            )
    return queued


def run_followups(ctx: JobContext) -> int:
    """After an event: ask the organiser to mark attendance (at the end), then DM each attendee for feedback
    (`ALUMNI_EVENT_FEEDBACK_DELAY` after the end; attendees = those marked, else everyone going)."""
    at = ctx.scheduled_for
    queued = 0
    with ctx.services.db.session() as session:
        for event in ev.events_ending_in(session, after=at - FOLLOWUP_WINDOW, until=at):
            assert event.id is not None
            if event.attendance_marked_at is None:
                organiser = get_member(session, slack_user_id=event.organizer)
                queued += ctx.enqueue(
                    session,
                    purpose=ev.PURPOSE_ATTENDANCE,
                    recipient=event.organizer,
                    period=period_of(event, "attendance"),
                    message=ui.attendance_prompt(event, _translator(ctx, organiser)),
                )
        delay = ctx.services.settings.event_feedback_delay
        for event in ev.events_ending_in(session, after=at - delay - FOLLOWUP_WINDOW, until=at - delay):
            assert event.id is not None
            queued += _queue_dms(
                ctx,
                session,
                purpose=ev.PURPOSE_FEEDBACK,
                period=period_of(event, "feedback"),
                members=ev.attendees(session, event_id=event.id),
                render=partial(ui.feedback_request, event),
            )
    return queued


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob.every_minutes(
        REMINDER_EVERY_MINUTES,
        name=REMINDER_JOB,
        description="DM members going to an event 24 h and 1 h before it starts (configurable)",
        run=run_reminders,
        catch_up=timedelta(hours=1),
    ),
    ScheduledJob(
        name=DAY_JOB,
        description="Remind the alumni channel of today's events at 09:00",
        cron={"hour": str(DAY_HOUR), "minute": "0"},
        period=daily_period,
        run=run_day_reminders,
        catch_up=timedelta(hours=3),
    ),
    ScheduledJob.every_minutes(
        FOLLOWUP_EVERY_MINUTES,
        name=FOLLOWUP_JOB,
        description="After events: attendance prompt to the organiser, feedback DMs to attendees",
        run=run_followups,
        catch_up=timedelta(hours=6),
    ),
]


# ------------------------------------------------------------------------------------------- digest


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """Upcoming events (from the end of the digest week, four weeks ahead) with how many are going."""
    events = ev.events_starting_in(ctx.session, after=ctx.end, until=ctx.end + DIGEST_HORIZON)
    if not events:
        return None
    shown = events[:DIGEST_LINES]
    counts = ev.rsvp_counts(ctx.session, event_ids=[e.id for e in shown if e.id is not None])
    return DigestSection(
        key="events",
        title=ctx.tr("events.digest.title"),
        lines=[
            ui.digest_line(e, counts[e.id or 0], ctx.tr, workspace_tz=ctx.services.settings.timezone)
            for e in shown
        ],
        total=len(events),
        more_hint=ctx.tr("events.digest.more_hint"),
    )
