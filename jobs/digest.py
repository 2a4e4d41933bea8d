"""The weekly digest to `ALUMNI_CHANNEL`, in `ALUMNI_LANGUAGE`, assembled from the features' sections.

A feature takes part by defining, in its `jobs/<feature>.py`, `digest_section(ctx: DigestContext) ->
DigestSection | None` and `DIGEST_ORDER: int` (lower comes first). The section gets the week [start, end)
that ends at the scheduled instant, returns mrkdwn lines (user text escaped) and the total number of items;
the builder keeps the message within Slack's limits and summarises the rest ("and 37 more — /opportunities").

Schedule: Monday 09:00 in `ALUMNI_TIMEZONE` unless HR changed the day and time in the program settings (read
again every few minutes). A digest missed by less than a day (downtime) is caught up once.
An empty week posts nothing unless `ALUMNI_DIGEST_POST_EMPTY` is true.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.blocks.digest import digest_blocks, digest_text
from bot.services import Services
from jobs.base import (
    DigestContext,
    DigestSection,
    JobContext,
    ScheduledJob,
    discover_digest_sections,
    weekly_period,
)
from models.outbox import DIGEST_PURPOSE

log = logging.getLogger(__name__)

PURPOSE = DIGEST_PURPOSE
DEFAULT_CRON = {"day_of_week": "mon", "hour": "9", "minute": "0"}
WEEK = timedelta(days=7)


def digest_cron(services: Services) -> dict[str, str]:
    """Day and time from the program settings HR edits (falls back to Monday 09:00)."""
    try:
        from models.program_settings import get_program_settings
    except ImportError:  # the program settings feature is not installed
        return dict(DEFAULT_CRON)
    with services.db.session() as session:
        settings = get_program_settings(session, defaults=services.settings.program_defaults())
    return {
        "day_of_week": settings.digest_day,
        "hour": str(settings.digest_hour),
        "minute": str(settings.digest_minute),
    }


def collect_sections(ctx: DigestContext) -> list[DigestSection]:
    """Every feature's section for the week, in digest order; empty and failing sections are left out."""
    sections: list[DigestSection] = []
    for _, module, build in discover_digest_sections(ctx.services.settings.jobs_extra_modules):
        savepoint = ctx.session.begin_nested()
        try:
            result = build(ctx)
            savepoint.commit()
        except Exception:  # one feature's bug must not cost the whole community its digest
            # PostgreSQL aborts the whole transaction on an error; roll back to the savepoint so the
            # remaining sections (and the enqueue) can still run.
            savepoint.rollback()
            log.exception("digest section failed; left out", extra={"section": module})
            continue
        if result is not None and (result.total > 0 or result.lines):
            sections.append(result)
    return sections


def run_digest(ctx: JobContext) -> int:
    """Build this week's digest and queue it for `ALUMNI_CHANNEL`; returns 1 when queued, else 0."""
    services = ctx.services
    channel = services.settings.alumni_channel
    if not channel:
        log.warning("ALUMNI_CHANNEL is not set; no digest")
        return 0
    tr = services.workspace_translator
    end = ctx.scheduled_for
    start = end - WEEK
    with services.db.session() as session:
        sections = collect_sections(
            DigestContext(
                session=session, services=services, start=start, end=end, tr=tr, dry_run=ctx.dry_run
            )
        )
        if not sections and not services.settings.digest_post_empty:
            log.info("empty week; no digest", extra={"period": ctx.period})
            return 0
        message = {
            "text": digest_text(sections, tr),
            "blocks": digest_blocks(sections, tr, start=start, end=end),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        queued = ctx.enqueue(session, purpose=PURPOSE, recipient=channel, period=ctx.period, message=message)
    return 1 if queued else 0


SCHEDULED_JOBS = [
    ScheduledJob(
        name="digest",
        description="weekly digest to ALUMNI_CHANNEL",
        cron=DEFAULT_CRON,
        period=weekly_period,
        run=run_digest,
        catch_up=timedelta(days=1),
        cron_for=digest_cron,
    )
]
