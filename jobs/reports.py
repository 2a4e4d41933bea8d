"""The monthly program report to ALUMNI_HR_CHANNEL (with its two charts: activity, and the hiring funnel), and the "you said, we did" digest
section (each addressed feedback's change note once, in the next weekly digest).

The report is queued like every scheduled message; its chart travels in the outbox row under
`bot.slack_files.OUTBOX_FILES_KEY` and the delivery worker uploads it into the report's thread.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.blocks.common import SECTION_LIMIT
from bot.mrkdwn import escape, truncate
from bot.reporting import render_report
from bot.slack_files import OUTBOX_FILES_KEY, outbox_file
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob, monthly_period
from models.feedback import Feedback, mark_published, unpublished_changes
from models.report import last_complete_month

log = logging.getLogger(__name__)

REPORT_JOB = "monthly_report"
PURPOSE_REPORT = "monthly_report"
SCOPES = ("files:write",)
DIGEST_ORDER = 90
DIGEST_LIMIT = 10


def run_monthly_report(ctx: JobContext) -> int:
    """Queue last month's report (figures, goals, funnels and charts) for the HR channel."""
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
                outbox_file(filename=chart.filename, title=chart.title, content=chart.png)
                for chart in rendered.charts()
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


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """ "You said, we did": every addressed feedback's change note, exactly once, in the next digest.

    Notes are taken oldest first while they fit the section (`DIGEST_LIMIT` lines, `SECTION_LIMIT`
    characters), and only those are marked published, in the same transaction that queues the digest; the
    rest wait for the next week, so none is cut off or shown twice."""
    lines: list[str] = []
    published: list[Feedback] = []
    used = 0
    for item in unpublished_changes(ctx.session, limit=DIGEST_LIMIT):
        line = ctx.tr("feedback.digest_line", note=escape(truncate(item.change_note, 300)))
        if used + len(line) + 1 > SECTION_LIMIT:
            break
        lines.append(line)
        published.append(item)
        used += len(line) + 1
    if not lines:
        return None
    if not ctx.dry_run:
        mark_published(ctx.session, published, at=ctx.end)
    return DigestSection(
        key="you_said_we_did",
        title=ctx.tr("feedback.digest_title"),
        lines=lines,
        total=len(lines),
        more_hint=ctx.tr("feedback.digest_hint"),
    )
