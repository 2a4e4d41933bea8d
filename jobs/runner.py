"""Run one job for one period, exactly once: claim (job, period) in JobRun, run, record the outcome.

`run_job` is what the scheduler, catch-up, `alumni-bot jobs run` and tests call. A second call for the same
period (another replica, a restart, a second `jobs run`) finds the claim and does nothing. A period whose
run failed (or died mid-run) may be claimed again: jobs are idempotent per period because the outbox
dedupes their messages on (purpose, recipient, period).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import models.timeutil as timeutil
from bot.metrics import count_job_run
from bot.services import Services
from jobs.base import JobContext, ScheduledJob, discover_jobs
from models.jobrun import (
    STATUS_DONE,
    STATUS_FAILED,
    claim_run,
    finish_run,
    get_run,
    reclaim_run,
)
from models.outbox import dedupe_key, make_due_now

log = logging.getLogger(__name__)

_PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class UnknownJob(KeyError):
    """No feature module defines a scheduled job of that name."""


@dataclass
class RunResult:
    """What one `run_job` call did.

    `claimed`: this call ran the period (False: another run has it, or a dry run). `queued`: the messages
    the run queued (in a dry run: would queue) as dicts {purpose, recipient, period, message}.
    `status`: done, failed, dry_run, or the status of the run that holds the period.
    """

    job: str
    period: str
    scheduled_for: datetime
    claimed: bool
    status: str
    queued: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    error: str | None = None

    @property
    def keys(self) -> list[str]:
        """The outbox dedupe keys of the queued messages."""
        return [dedupe_key(q["purpose"], q["recipient"], q["period"]) for q in self.queued]


def worker_id() -> str:
    """This process's identity in claims (host, pid and a random tag)."""
    return _PROCESS_ID


def get_job(name: str, extra_modules: Sequence[str] = ()) -> ScheduledJob:
    jobs = discover_jobs(extra_modules)
    if name not in jobs:
        raise UnknownJob(name)
    return jobs[name]


def run_job(
    services: Services,
    name: str,
    *,
    at: datetime | None = None,
    dry_run: bool = False,
    freeze_clock: bool = True,
) -> RunResult:
    """Run job `name` for the period that contains `at` (default now), once across every process.

    While the job runs, `models.timeutil.now()` returns `at` (when `freeze_clock`; the scheduler passes
    False because freezing is process-wide and listeners may share the process: jobs should compute their
    windows from `ctx.scheduled_for`). Messages the run queued that were due by `at` are due now, so a run
    `--at` a future instant delivers right away. A failing job is recorded as failed and re-raised.
    """
    job = get_job(name, services.settings.jobs_extra_modules)
    scheduled_for = timeutil.as_utc(at) if at is not None else timeutil.now()
    period = job.period(scheduled_for, services.settings.zone)
    ctx = JobContext(services=services, job=name, scheduled_for=scheduled_for, period=period, dry_run=dry_run)
    if dry_run:
        count = _run_frozen(job, ctx, scheduled_for if freeze_clock else None)
        return RunResult(name, period, scheduled_for, False, "dry_run", ctx.queued, count)

    with services.db.session() as session:
        run = claim_run(session, job=name, period=period, scheduled_for=scheduled_for, claimed_by=_PROCESS_ID)
        if run is None:
            run = reclaim_run(
                session, job=name, period=period, scheduled_for=scheduled_for, claimed_by=_PROCESS_ID
            )
        if run is None:
            existing = get_run(session, job=name, period=period)
            status = existing.status if existing is not None else "claimed"
            log.info("job period already claimed", extra={"job": name, "period": period, "status": status})
            count_job_run(name, "claimed_elsewhere")
            return RunResult(name, period, scheduled_for, False, status)
        run_id = run.id
    assert run_id is not None

    log.info("job started", extra={"job": name, "period": period, "scheduled_for": scheduled_for.isoformat()})
    try:
        count = _run_frozen(job, ctx, scheduled_for if freeze_clock else None)
    except Exception as exc:
        with services.db.session() as session:
            finish_run(session, run_id=run_id, status=STATUS_FAILED, detail=type(exc).__name__)
        log.exception("job failed", extra={"job": name, "period": period})
        count_job_run(name, "failed")
        raise
    result = RunResult(name, period, scheduled_for, True, STATUS_DONE, ctx.queued, count)
    with services.db.session() as session:
        make_due_now(session, result.keys, due_by=scheduled_for)
        finish_run(session, run_id=run_id, status=STATUS_DONE, detail=f"queued {len(ctx.queued)}")
    log.info("job done", extra={"job": name, "period": period, "queued": len(ctx.queued)})
    count_job_run(name, "done")
    return result


def _run_frozen(job: ScheduledJob, ctx: JobContext, instant: datetime | None) -> int:
    """Run the job with `now()` frozen at `instant` (restoring whatever was frozen before)."""
    if instant is None:
        return int(job.run(ctx) or 0)
    previous = timeutil.frozen()  # a test may have frozen the clock; put it back afterwards
    timeutil.freeze(instant)
    try:
        return int(job.run(ctx) or 0)
    finally:
        timeutil.freeze(previous)
