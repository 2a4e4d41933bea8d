"""Check-in nudges: an hourly job DMs members whose last check-in is older than the cadence (default 90
days), at 10:00 on a weekday in each member's own time zone, once per period (outbox dedupe).

Each hourly run picks the time zones whose local time is in the 10:00 hour on a weekday right now, then the
consented members in those zones with nudges on, not snoozed, and past the cadence. The dedupe period is
the member's cadence window since their last contact, so a member who ignores a nudge hears again one
cadence later, and once more after a snooze ends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.blocks.checkins import nudge_message
from bot.i18n import Translator, language_of
from jobs.base import JobContext, ScheduledJob, hourly_period
from models.checkin import (
    SNOOZE_DAYS,
    eligible_time_zones,
    last_contact,
    members_due_for_nudge,
    nudge_cadence_days,
)

JOB = "checkin_nudges"
PURPOSE = "checkin_nudge"
NUDGE_HOUR = 10
WEEKDAYS = frozenset(range(5))  # Monday..Friday


def zone_of(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """A member's time zone (the workspace default when unknown or invalid)."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return default


def zones_at(
    names: Iterable[str | None], *, at: datetime, hour: int, weekdays: Collection[int], default: ZoneInfo
) -> list[str | None]:
    """The time zone names (as stored on members) whose local time at `at` is in `hour` on `weekdays`."""
    chosen: list[str | None] = []
    for name in names:
        local = at.astimezone(zone_of(name, default))
        if local.hour == hour and local.weekday() in weekdays:
            chosen.append(name)
    return chosen


def run_nudges(ctx: JobContext) -> int:
    """Queue this hour's check-in nudges; returns how many were new."""
    services = ctx.services
    at = ctx.scheduled_for
    queued = 0
    with services.db.session() as session:
        cadence = nudge_cadence_days(session, defaults=services.settings.program_defaults())
        zones = zones_at(
            eligible_time_zones(session),
            at=at,
            hour=NUDGE_HOUR,
            weekdays=WEEKDAYS,
            default=services.settings.zone,
        )
        if not zones:
            return 0
        for due in members_due_for_nudge(session, at=at, cadence_days=cadence, zones=zones):
            member = due.member
            if not member.slack_user_id:
                continue
            tr = Translator(language_of(member.locale, services.settings.language))
            message = nudge_message(tr, last_contact=last_contact(member), snooze_days=SNOOZE_DAYS)
            if ctx.enqueue(
                session, purpose=PURPOSE, recipient=member.slack_user_id, period=due.period, message=message
            ):
                queued += 1
    return queued


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob(
        name=JOB,
        description="DM check-in nudges at 10:00 on weekdays in each member's time zone (every cadence)",
        cron={"minute": "0"},
        period=hourly_period,
        run=run_nudges,
        catch_up=timedelta(minutes=50),
    )
]
