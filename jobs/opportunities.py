"""Opportunity hygiene and the digest section.

- `opportunities_expiry` (daily): marks posts past their date `expired`, queues the update of each
  announcement and a DM to its poster; three days before expiry, queues a DM to the poster with
  "Extend 30 days" and "Close" buttons (handled in handlers/opportunities.py).
- Digest: new open opportunities of the week (rehire first) and those closing soon.

Announcement updates go through the outbox like every scheduled message: the payload carries
`"method": "chat.update"` with the `channel` and `ts` of the announcement (the delivery worker calls
`chat.update` instead of `chat.postMessage` for such rows). Marking expired and queueing happen in one
unit of work, and the outbox dedupe key `(purpose, channel, "<id>:expired")` keeps it exactly once.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from bot.blocks.opportunities import (
    announcement_message,
    digest_line,
    expired_dm,
    reminder_dm,
)
from bot.i18n import Translator, language_of
from bot.mrkdwn import date_token
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob, daily_period
from models import opportunity as opps
from models.member import get_member
from models.opportunity import Opportunity

JOB_EXPIRY = "opportunities_expiry"
PURPOSE_ANNOUNCEMENT_UPDATE = "opportunity_announcement_update"
PURPOSE_EXPIRED_DM = "opportunity_expired_dm"
PURPOSE_REMINDER_DM = "opportunity_expiry_reminder"
DIGEST_ORDER = 20
DIGEST_NEW_LIMIT = 8
DIGEST_CLOSING_LIMIT = 5
CLOSING_SOON = timedelta(days=7)
SCOPES: tuple[str, ...] = ()


def announcement_update_message(
    opportunity: Opportunity, ctx: JobContext, *, interest_count: int
) -> dict[str, object]:
    """The outbox payload that re-renders an announcement in place (`chat.update`)."""
    services = ctx.services
    message = announcement_message(
        opportunity, services.workspace_translator, zone=services.settings.zone, interest_count=interest_count
    )
    return {
        "method": "chat.update",
        "channel": opportunity.channel_id,
        "ts": opportunity.message_ts,
        **message,
    }


def run_expiry(ctx: JobContext) -> int:
    """Expire posts past their date and remind posters three days ahead. Returns how many it queued."""
    services = ctx.services
    at = ctx.scheduled_for
    queued = 0
    with services.db.session() as session:
        for opportunity in opps.due_to_expire(session, at=at):
            assert opportunity.id is not None
            if not ctx.dry_run:
                opps.expire(session, opportunity, at=at)
            if opportunity.has_announcement:
                count = opps.interest_count(session, opportunity.id)
                rendered = Opportunity.model_validate(opportunity.model_dump())
                rendered.status = opps.STATUS_EXPIRED
                queued += ctx.enqueue(
                    session,
                    purpose=PURPOSE_ANNOUNCEMENT_UPDATE,
                    recipient=str(opportunity.channel_id),
                    period=f"{opportunity.id}:expired:{opportunity.expires_at:%Y%m%dT%H%M}",
                    message=announcement_update_message(rendered, ctx, interest_count=count),
                )
            tr, _ = _poster_prefs(session, opportunity.poster_id, ctx)
            queued += ctx.enqueue(
                session,
                purpose=PURPOSE_EXPIRED_DM,
                recipient=opportunity.poster_id,
                period=f"{opportunity.id}:expired:{opportunity.expires_at:%Y%m%dT%H%M}",
                message=expired_dm(opportunity, tr),
            )
        for opportunity in opps.closing_between(session, start=at, end=at + opps.REMIND_BEFORE, limit=500):
            tr, zone = _poster_prefs(session, opportunity.poster_id, ctx)
            queued += ctx.enqueue(
                session,
                purpose=PURPOSE_REMINDER_DM,
                recipient=opportunity.poster_id,
                # Once per post and expiry date: extending the post earns a new reminder later.
                period=f"{opportunity.id}:{opportunity.expires_at:%Y-%m-%d}",
                message=reminder_dm(opportunity, tr, zone=zone),
            )
    return queued


def _poster_prefs(session: Session, user_id: str, ctx: JobContext) -> tuple[Translator, ZoneInfo]:
    """The poster's language and time zone as the bot last saw them (jobs never ask Slack)."""
    settings = ctx.services.settings
    member = get_member(session, slack_user_id=user_id)
    zone = settings.zone
    if member is not None and member.tz:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(member.tz)
    return Translator(language_of(member.locale if member else None, settings.language)), zone


SCHEDULED_JOBS = [
    ScheduledJob(
        name=JOB_EXPIRY,
        description="Expire opportunities past their date; remind posters three days before",
        cron={"hour": "9", "minute": "0"},
        period=daily_period,
        run=run_expiry,
        catch_up=timedelta(hours=20),
    )
]


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """New this week (rehire first) and closing soon."""
    tr = ctx.tr
    zone = ctx.services.settings.zone
    new = opps.created_between(ctx.session, start=ctx.start, end=ctx.end, limit=DIGEST_NEW_LIMIT)
    new_total = opps.count_created_between(ctx.session, start=ctx.start, end=ctx.end)
    closing = [
        o
        for o in opps.closing_between(
            ctx.session, start=ctx.end, end=ctx.end + CLOSING_SOON, limit=DIGEST_CLOSING_LIMIT
        )
        if o.id not in {n.id for n in new}
    ]
    if not new and not closing:
        return None
    lines: list[str] = []
    if new:
        lines.append(tr("opportunities.digest.new_heading"))
        lines.extend(digest_line(o, tr) for o in new)
    if closing:
        lines.append(tr("opportunities.digest.closing_heading"))
        for o in closing:
            day = date_token(
                o.expires_at,
                fallback=o.expires_at.astimezone(zone).strftime("%Y-%m-%d"),
                fmt="{date_short_pretty}",
            )
            lines.append(tr("opportunities.digest.closing_line", summary=digest_line(o, tr), date=day))
    return DigestSection(
        key="opportunities",
        title=tr("opportunities.digest.title"),
        lines=lines,
        total=new_total + len(closing),
        more_hint=tr("opportunities.digest.more_hint"),
    )
