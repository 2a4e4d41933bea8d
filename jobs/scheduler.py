"""The scheduler process: APScheduler with an in-memory job store, one per process.

Its own docs forbid sharing a job store between schedulers; exactly-once comes from `JobRun` claims, so any
number of processes may run this scheduler against one database. Each discovered `ScheduledJob` gets a
`CronTrigger` in `ALUMNI_TIMEZONE`; the outbox delivery loop runs beside it. On start, `catch_up_missed`
looks at `JobRun` for runs missed while no scheduler was up: the most recent missed run of a job is run once
if it is less than the job's `catch_up` late; older missed runs are recorded as skipped.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.metrics import HealthCheck, count_job_run, declare_jobs, start_ops_listener
from bot.services import Services
from jobs.base import ScheduledJob, cron_of, discover_jobs
from jobs.delivery import DeliveryLoop, DeliveryOptions
from jobs.runner import run_job, worker_id
from models.jobrun import get_run, last_run, record_skipped
from models.timeutil import as_utc, now

log = logging.getLogger(__name__)

# How late APScheduler may still start a run it missed while the process was busy (not down).
MISFIRE_GRACE = timedelta(minutes=5)
# How often schedules that come from the database (`cron_for`) are read again.
REFRESH_EVERY = timedelta(minutes=5)
# Missed periods older than this are not even recorded as skipped (bounds the search).
SKIP_LOOKBACK = timedelta(days=8)
# The heartbeat job proves the scheduler's loop and its thread pool still run jobs (`/healthz`).
HEARTBEAT_EVERY = timedelta(seconds=10)
HEARTBEAT_STALE = timedelta(seconds=60)
_REFRESH_ID = "_refresh_schedules"
_CATCH_UP_ID = "_catch_up"
_HEARTBEAT_ID = "_heartbeat"


def trigger_for(cron: dict[str, str], zone: ZoneInfo) -> CronTrigger:
    return CronTrigger(timezone=zone, **cron)


def fire_times(trigger: CronTrigger, start: datetime, end: datetime, limit: int = 20_000) -> list[datetime]:
    """The trigger's fire times in (start, end], oldest first (at most `limit`)."""
    times: list[datetime] = []
    previous: datetime | None = None
    cursor = start + timedelta(microseconds=1)
    while len(times) < limit:
        nxt = trigger.get_next_fire_time(previous, cursor)
        if nxt is None or nxt > end:
            break
        times.append(as_utc(nxt))
        previous = nxt
        cursor = nxt + timedelta(microseconds=1)
    return times


def latest_fire_time(trigger: CronTrigger, at: datetime, lookback: timedelta) -> datetime | None:
    """The trigger's most recent fire time in (at - lookback, at]."""
    times = fire_times(trigger, at - lookback, at)
    return times[-1] if times else None


def describe_cron(cron: dict[str, str]) -> str:
    """A compact, readable cron: `day_of_week=mon hour=9 minute=0`."""
    return " ".join(f"{key}={value}" for key, value in cron.items())


def next_run_time(job: ScheduledJob, services: Services, after: datetime | None = None) -> datetime | None:
    trigger = trigger_for(cron_of(job, services), services.settings.zone)
    nxt = trigger.get_next_fire_time(None, after or now())
    return as_utc(nxt) if nxt is not None else None


class Scheduler:
    """APScheduler with every discovered job, plus the delivery loop."""

    def __init__(
        self,
        services: Services,
        *,
        delivery: bool = True,
        delivery_options: DeliveryOptions | None = None,
        delivery_threads: int = 4,
        poll_interval: float = 2.0,
    ) -> None:
        self.services = services
        self.zone = services.settings.zone
        self.jobs = discover_jobs(services.settings.jobs_extra_modules)
        self.crons: dict[str, dict[str, str]] = {}
        self.aps = BackgroundScheduler(
            timezone=self.zone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            },
        )
        for job in self.jobs.values():
            cron = cron_of(job, services)
            self.crons[job.name] = cron
            self.aps.add_job(
                self.fire, trigger_for(cron, self.zone), args=[job.name], id=job.name, name=job.description
            )
        if any(job.cron_for is not None for job in self.jobs.values()):
            self.aps.add_job(
                self.refresh_schedules,
                "interval",
                seconds=int(REFRESH_EVERY.total_seconds()),
                id=_REFRESH_ID,
                name="read schedules from the database",
            )
        self.aps.add_job(
            self.heartbeat,
            "interval",
            seconds=int(HEARTBEAT_EVERY.total_seconds()),
            id=_HEARTBEAT_ID,
            name="heartbeat for /healthz",
        )
        self.last_tick: float | None = None  # wall clock (time.time) of the last heartbeat
        declare_jobs(self.jobs)
        self.delivery = (
            DeliveryLoop(
                services,
                poll_interval=poll_interval,
                threads=delivery_threads,
                options=delivery_options or DeliveryOptions(),
            )
            if delivery
            else None
        )

    def start(self, *, catch_up: bool = True) -> None:
        self.aps.start()
        self.heartbeat()  # starting counts as a tick; the heartbeat job keeps it fresh
        if catch_up:
            # In the scheduler's own thread pool, so start-up does not wait for catch-up runs.
            self.aps.add_job(self.catch_up, id=_CATCH_UP_ID, name="catch up missed runs")
        if self.delivery is not None:
            self.delivery.start()
        log.info("scheduler started", extra={"jobs": sorted(self.jobs)})

    def stop(self) -> None:
        self.aps.shutdown(wait=True)
        if self.delivery is not None:
            self.delivery.stop()
        log.info("scheduler stopped")

    def heartbeat(self) -> None:
        self.last_tick = time.time()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while APScheduler's thread runs and its heartbeat ran within HEARTBEAT_STALE.

        The database is not part of it: restarting the scheduler does not bring a database back (alert on
        `alumni_database_up` instead), while a dead or wedged scheduler thread only a restart fixes.
        """
        thread = getattr(self.aps, "_thread", None)
        running = bool(self.aps.running and thread is not None and thread.is_alive())
        since = None if self.last_tick is None else max(0.0, time.time() - self.last_tick)
        ticking = since is not None and since <= HEARTBEAT_STALE.total_seconds()
        delivery_threads = [] if self.delivery is None else self.delivery.worker_threads
        delivering = all(t.is_alive() for t in delivery_threads)
        details: dict[str, Any] = {
            "scheduler": "running" if running else "stopped",
            "last_tick": None
            if self.last_tick is None
            else datetime.fromtimestamp(self.last_tick, UTC).isoformat(timespec="seconds"),
            "seconds_since_tick": None if since is None else round(since, 1),
            "delivery": "off" if self.delivery is None else ("running" if delivering else "stopped"),
        }
        return running and ticking and delivering, details

    def fire(self, name: str) -> None:
        """APScheduler's callback: run the job for the fire time that is due now."""
        trigger = trigger_for(self.crons[name], self.zone)
        current = now()
        scheduled = latest_fire_time(trigger, current, MISFIRE_GRACE + timedelta(minutes=1)) or current
        self.run(name, scheduled)

    def run(self, name: str, scheduled_for: datetime) -> None:
        try:
            result = run_job(self.services, name, at=scheduled_for, freeze_clock=False)
        except Exception:  # recorded as failed in JobRun by run_job; the scheduler keeps going
            log.exception("scheduled job failed", extra={"job": name})
            return
        if result.claimed and result.queued and self.delivery is not None:
            self.delivery.wake()

    def refresh_schedules(self) -> None:
        """Apply schedule changes HR made in the database (`cron_for`) without a restart."""
        for job in self.jobs.values():
            if job.cron_for is None:
                continue
            cron = cron_of(job, self.services)
            if cron != self.crons.get(job.name):
                log.info("schedule changed", extra={"job": job.name, "cron": describe_cron(cron)})
                self.crons[job.name] = cron
                self.aps.reschedule_job(job.name, trigger=trigger_for(cron, self.zone))

    def catch_up(self) -> list[str]:
        """Run each job's most recent missed run once when it is still within `catch_up`; see the module."""
        done = []
        for job in self.jobs.values():
            try:
                if self._catch_up_job(job):
                    done.append(job.name)
            except Exception:
                log.exception("catch-up failed", extra={"job": job.name})
        return done

    def _catch_up_job(self, job: ScheduledJob) -> bool:
        current = now()
        with self.services.db.session() as session:
            previous = last_run(session, job=job.name)
        if previous is None:
            return False  # never ran here: nothing is known to be missed (a fresh install starts fresh)
        since = max(as_utc(previous.scheduled_for), current - SKIP_LOOKBACK)
        trigger = trigger_for(self.crons.get(job.name) or cron_of(job, self.services), self.zone)
        missed = fire_times(trigger, since, current)
        if not missed:
            return False
        latest = missed[-1]
        if job.catch_up is not None and current - latest < job.catch_up:
            log.info("catching up a missed run", extra={"job": job.name, "scheduled_for": latest.isoformat()})
            self.run(job.name, latest)
            older = missed[:-1]
        else:
            older = missed
        if older:
            self._record_skipped(job, older[-1], len(older), current)
        return bool(job.catch_up is not None and current - latest < job.catch_up)

    def _record_skipped(self, job: ScheduledJob, instant: datetime, count: int, current: datetime) -> None:
        period = job.period(instant, self.zone)
        with self.services.db.session() as session:
            if get_run(session, job=job.name, period=period) is not None:
                return
            late = current - instant
            recorded = record_skipped(
                session,
                job=job.name,
                period=period,
                scheduled_for=instant,
                claimed_by=worker_id(),
                detail=f"missed {count} run(s); the latest was {late} late, beyond catch-up {job.catch_up}",
            )
        if recorded:
            count_job_run(job.name, "skipped")
            log.warning(
                "missed runs skipped",
                extra={"job": job.name, "period": period, "missed": count, "late": str(late)},
            )


def describe_jobs(services: Services) -> list[dict[str, Any]]:
    """Each job's name, description, schedule and next run (for `jobs list`)."""
    out = []
    for name, job in sorted(discover_jobs(services.settings.jobs_extra_modules).items()):
        out.append(
            {
                "name": name,
                "description": job.description,
                "cron": cron_of(job, services),
                "next_run": next_run_time(job, services),
                "catch_up": job.catch_up,
            }
        )
    return out


def build_scheduler(services: Services, **options: Any) -> Scheduler:
    """A scheduler in `ALUMNI_TIMEZONE` with every scheduled job added and the delivery loop beside it."""
    return Scheduler(services, **options)


def start_background(services: Services, **options: Any) -> Callable[[], None]:
    """Start the scheduler and the delivery loop in background threads; returns the function that stops them."""
    scheduler = build_scheduler(services, **options)
    scheduler.start()
    return scheduler.stop


def serve_forever(services: Services, *, metrics_port: int | None = None, **options: Any) -> None:
    """Run the scheduler until SIGTERM or SIGINT (for `alumni-bot jobs serve`).

    With `metrics_port`, `/metrics` and `/healthz` (the scheduler's health) are served on that port.
    """
    scheduler = build_scheduler(services, **options)
    scheduler.start()
    health: HealthCheck = scheduler.health
    listener = start_ops_listener(metrics_port, db=services.db, health=health) if metrics_port else None
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    if listener is not None:
        listener.stop()
    scheduler.stop()
