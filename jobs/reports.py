"""The monthly program report to ALUMNI_HR_CHANNEL (with its chart), and the quarterly "you said, we did"
digest section.

The report is queued like every scheduled message; its chart travels in the outbox row under
`bot.slack_files.OUTBOX_FILES_KEY` and the delivery worker uploads it into the report's thread.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.mrkdwn import escape, truncate
from bot.reporting import render_report
from bot.slack_files import OUTBOX_FILES_KEY, outbox_file
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob, monthly_period
from models.feedback import addressed_between
from models.report import last_complete_month
from models.timeutil import as_utc

log = logging.getLogger(__name__)

REPORT_JOB = "monthly_report"
PURPOSE_REPORT = "monthly_report"
SCOPES = ("files:write",)
DIGEST_ORDER = 90
DIGEST_LIMIT = 10


def run_monthly_report(ctx: JobContext) -> int:
    """Queue last month's report (figures, goals and chart) for the HR channel."""
    channel = ctx.services.settings.alumni_hr_channel
    if not channel:
        log.warning("ALUMNI_HR_CHANNEL is not set; no monthly report")
        return 0
    zone = ctx.services.settings.zone
    month = last_complete_month(ctx.scheduled_for, zone)
    tr = ctx.services.workspace_translator
    with ctx.services.db.session() as session:
        rendered = render_report(
            session, month=month, zone=zone, tr=tr, defaults=ctx.services.settings.program_defaults()
        )
        message = {
            "text": truncate(rendered.text, 3000),
            "blocks": rendered.blocks,
            OUTBOX_FILES_KEY: [
                outbox_file(
                    filename=rendered.chart_filename, title=rendered.chart_title, content=rendered.chart_png
                )
            ],
        }
        queued = ctx.enqueue(
            session, purpose=PURPOSE_REPORT, recipient=channel, period=str(month), message=message
        )
    return 1 if queued else 0


SCHEDULED_JOBS = [
    ScheduledJob(
        name=REPORT_JOB,
        description="Post last month's program report and chart to the HR channel (the 1st, 09:00)",
        cron={"day": "1", "hour": "9", "minute": "0"},
        period=monthly_period,
        run=run_monthly_report,
        catch_up=timedelta(days=3),
    )
]


def quarter_start(instant: datetime, zone: ZoneInfo) -> datetime:
    """The start of the quarter containing `instant` (local midnight of Jan/Apr/Jul/Oct 1st), in UTC."""
    local = instant.astimezone(zone)
    month = 3 * ((local.month - 1) // 3) + 1
    return as_utc(datetime(local.year, month, 1, tzinfo=zone))


def previous_quarter_start(start: datetime, zone: ZoneInfo) -> datetime:
    return quarter_start(start - timedelta(days=1), zone)


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """Once a quarter (the digest whose week contains a quarter's first day): what HR changed because of
    members' feedback in the quarter before."""
    zone = ctx.services.settings.zone
    boundary = quarter_start(ctx.end - timedelta(microseconds=1), zone)
    if not ctx.start <= boundary < ctx.end:
        return None
    items = addressed_between(
        ctx.session, start=previous_quarter_start(boundary, zone), end=boundary, limit=DIGEST_LIMIT + 1
    )
    if not items:
        return None
    lines = [
        ctx.tr("feedback.digest_line", note=escape(truncate(i.change_note, 300)))
        for i in items[:DIGEST_LIMIT]
    ]
    return DigestSection(
        key="you_said_we_did",
        title=ctx.tr("feedback.digest_title"),
        lines=lines,
        total=len(items),
        more_hint=ctx.tr("feedback.digest_hint"),
    )
