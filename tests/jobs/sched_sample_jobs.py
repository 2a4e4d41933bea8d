"""Test-only scheduled jobs (added to discovery with ALUMNI_JOBS_EXTRA_MODULES=tests.jobs.sched_sample_jobs).

- `sample_tick`: every second, DMs ALICE once per second-long period (for the live scheduler test).
- `sample_flaky`: fails while FAIL is set (for failed runs being claimed again).
- `sample_clock`: records the instant `now()` returned while it ran.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jobs.base import JobContext, ScheduledJob, daily_period
from models.timeutil import now
from tests.conftest import ALICE

FAIL = {"on": False}
SEEN_NOW: list[datetime] = []


def second_period(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def tick(ctx: JobContext) -> int:
    with ctx.services.db.session() as session:
        return int(
            ctx.enqueue(
                session, purpose="tick", recipient=ALICE, period=ctx.period, message={"text": ctx.period}
            )
        )


def flaky(ctx: JobContext) -> int:
    if FAIL["on"]:
        raise RuntimeError("flaky job failed")
    with ctx.services.db.session() as session:
        return int(
            ctx.enqueue(session, purpose="flaky", recipient=ALICE, period=ctx.period, message={"text": "ok"})
        )


def clock(ctx: JobContext) -> int:
    SEEN_NOW.append(now())
    return 0


SCHEDULED_JOBS = [
    ScheduledJob(
        name="sample_tick", description="test tick", cron={"second": "*"}, period=second_period, run=tick
    ),
    ScheduledJob(
        name="sample_flaky", description="test flaky", cron={"hour": "3"}, period=daily_period, run=flaky
    ),
    ScheduledJob(
        name="sample_clock", description="test clock", cron={"hour": "4"}, period=daily_period, run=clock
    ),
]
