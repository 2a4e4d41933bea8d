"""Retention: candidate contact data of referrals closed more than N days ago (program setting
`retention_days`, default 365) is purged from the database, and the referral's HR channel message is
replaced through the outbox; roster rows of people who never joined Slack are deleted after the same period.
"""

from __future__ import annotations

from datetime import timedelta

from bot.blocks.common import context, to_dicts
from jobs.base import JobContext, ScheduledJob, daily_period
from models.outbox import OUTBOX_UPDATE_KEY
from models.privacy import purge_candidate_contacts
from models.program_settings import get_program_settings
from models.roster import purge_unmatched

RETENTION_JOB = "retention"
PURPOSE_REDACT = "retention_redact"


def run_retention(ctx: JobContext) -> int:
    tr = ctx.services.workspace_translator
    queued = 0
    with ctx.services.db.session() as session:
        days = get_program_settings(session, defaults=ctx.services.settings.program_defaults()).retention_days
        if ctx.dry_run:
            return 0
        purge_unmatched(session, older_than_days=days)
        refs = purge_candidate_contacts(session, older_than_days=days)
        for ref in refs:
            text = tr("privacy.retention_notice", days=days)
            message = {"text": text, "blocks": to_dicts([context(text)]), OUTBOX_UPDATE_KEY: ref.ts}
            if ctx.enqueue(
                session,
                purpose=PURPOSE_REDACT,
                recipient=ref.channel,
                period=f"{ref.table}:{ref.ts}",
                message=message,
            ):
                queued += 1
    return queued


SCHEDULED_JOBS = [
    ScheduledJob(
        name=RETENTION_JOB,
        description="Purge candidate contact data and unmatched roster rows older than the retention period",
        cron={"hour": "3", "minute": "30"},
        period=daily_period,
        run=run_retention,
        catch_up=timedelta(days=2),
    )
]
