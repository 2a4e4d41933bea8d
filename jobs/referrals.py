"""Referral jobs: flag referrals HR has not touched for 7 days (once each) and the digest's counts.

The flag goes to ALUMNI_HR_CHANNEL only, through the outbox. Its period key holds the referral id and
the instant HR last touched it, so a referral is flagged once per untouched stretch: never twice for the
same silence, again only if HR touched it and then left it for another 7 days.
The digest section carries counts only (no candidate data: the digest goes to a shared channel).
"""

from __future__ import annotations

from datetime import timedelta

from bot.blocks.referrals import stale_message
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob, daily_period
from models import referral as referrals

STALE_JOB = "referrals_stale"
STALE_PURPOSE = "referrals.stale"
DIGEST_ORDER = 40
SCOPES: tuple[str, ...] = ("chat:write",)


def stale_period(referral: referrals.Referral) -> str:
    """One flag per referral and untouched stretch (the outbox dedupes on it)."""
    return f"referral-{referral.id}@{referral.hr_touched_at:%Y%m%dT%H%M%S}"


def run_stale_check(ctx: JobContext) -> int:
    """Queue one HR-channel message per referral untouched by HR for 7 days; returns how many were new."""
    hr_channel = ctx.services.settings.alumni_hr_channel
    if not hr_channel:
        return 0
    tr = ctx.services.workspace_translator
    days = referrals.STALE_AFTER.days
    queued = 0
    with ctx.services.db.session() as session:
        stale = referrals.stale_referrals(session, at=ctx.scheduled_for)
        ids = {r.opportunity_id for r in stale if r.opportunity_id is not None}
        titles = referrals.opportunity_titles(session, ids)
        for referral in stale:
            title = titles.get(referral.opportunity_id) if referral.opportunity_id is not None else None
            message = stale_message(tr, referral, opportunity_title=title, days=days)
            if ctx.enqueue(
                session,
                purpose=STALE_PURPOSE,
                recipient=hr_channel,
                period=stale_period(referral),
                message=message,
            ):
                queued += 1
    return queued


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob(
        name=STALE_JOB,
        description="Flag referrals HR has not touched for 7 days to the HR channel (once each)",
        cron={"hour": "10", "minute": "0"},
        period=daily_period,
        run=run_stale_check,
        catch_up=timedelta(hours=12),
    )
]


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """Referrals made this week and hires from referrals so far: counts only, never candidate data."""
    week = referrals.count_created_between(ctx.session, ctx.start, ctx.end)
    hires = referrals.count_hired(ctx.session)
    if week == 0 and hires == 0:
        return None
    return DigestSection(
        key="referrals",
        title=ctx.tr("referrals.digest.title"),
        lines=[ctx.tr("referrals.digest.line", week=week, hires=hires)],
        total=1,
        more_hint="/refer",
    )
