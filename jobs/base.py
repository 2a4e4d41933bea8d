"""The interfaces every scheduled job and digest section is written against.

A module in `jobs/` takes part by defining, at module level:
- `SCHEDULED_JOBS: list[ScheduledJob]`: jobs the scheduler runs (discovered by name, no central list);
- `digest_section(ctx: DigestContext) -> DigestSection | None` and `DIGEST_ORDER: int`: its part of the
  weekly digest;
- `SCOPES: tuple[str, ...]`: Slack scopes the module needs (they go into the manifest).
Jobs never call Slack: they queue messages with `JobContext.enqueue`; the delivery worker sends them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.i18n import Translator
from bot.services import Services
from models.outbox import enqueue


@dataclass
class JobContext:
    """One run of one job: the instant it stands for, its period key, and where its messages go."""

    services: Services
    job: str
    scheduled_for: datetime
    period: str
    dry_run: bool = False
    queued: list[dict[str, Any]] = field(default_factory=list)

    def enqueue(
        self,
        session: Session,
        *,
        purpose: str,
        recipient: str,
        period: str,
        message: dict[str, Any],
        not_before: datetime | None = None,
    ) -> bool:
        """Queue a message once per (purpose, recipient, period); in a dry run only collect it.

        Returns True when the message is new (queued, or would be in a dry run).
        """
        item = {"purpose": purpose, "recipient": recipient, "period": period, "message": message}
        if self.dry_run:
            self.queued.append(item)
            return True
        row = enqueue(
            session,
            purpose=purpose,
            recipient=recipient,
            period=period,
            message=message,
            not_before=not_before,
        )
        if row is not None:
            self.queued.append(item)
        return row is not None


PeriodOf = Callable[[datetime, ZoneInfo], str]


def hourly_period(instant: datetime, zone: ZoneInfo) -> str:
    # The UTC offset keeps the repeated hour at the end of daylight saving time a period of its own.
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H%z")


def daily_period(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d")


def weekly_period(instant: datetime, zone: ZoneInfo) -> str:
    year, week, _ = instant.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def monthly_period(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m")


def minutes_period(minutes: int) -> PeriodOf:
    """Periods of `minutes` minutes (for jobs that run every few minutes, such as reminders)."""

    def period(instant: datetime, zone: ZoneInfo) -> str:
        local = instant.astimezone(zone)
        slot = (local.hour * 60 + local.minute) // minutes
        return f"{local:%Y-%m-%d}/{minutes}m{slot}{local:%z}"

    return period


@dataclass(frozen=True)
class ScheduledJob:
    """A job the scheduler runs on a cron schedule in `ALUMNI_TIMEZONE`.

    `cron` holds APScheduler `CronTrigger` fields ({"day_of_week": "mon", "hour": "9", "minute": "0"});
    `cron_for`, when given, computes them from the services (settings HR changed in the database) at each
    scheduling. `catch_up` is how late a missed run may still run once after downtime (None: skipped).
    `run` queues messages through `ctx.enqueue` and returns how many it queued.
    """

    name: str
    description: str
    cron: dict[str, str]
    period: PeriodOf
    run: Callable[[JobContext], int]
    catch_up: timedelta | None = None
    cron_for: Callable[[Services], dict[str, str]] | None = None


@dataclass
class DigestSection:
    """One feature's part of the weekly digest. `lines` are mrkdwn, user text already escaped."""

    key: str
    title: str
    lines: list[str]
    total: int  # how many items exist (the builder summarises what does not fit: "and 37 more")
    more_hint: str = ""  # where to see the rest, for example "/opportunities"


@dataclass(frozen=True)
class DigestContext:
    """What a digest section is built from: the week [start, end) and the digest's language. In a dry run
    a section must change nothing (the run's transaction is committed all the same)."""

    session: Session
    services: Services
    start: datetime
    end: datetime
    tr: Translator
    dry_run: bool = False


# Extra modules (`Settings.jobs_extra_modules`, from ALUMNI_JOBS_EXTRA_MODULES) take part like `jobs/*.py`
# modules: a deployment's own digest sections or jobs, and the test-only sections the cross-process tests use.
EXTRA_MODULES_ENV = "ALUMNI_JOBS_EXTRA_MODULES"
# Modules that are machinery, not features (they define no jobs or sections).
MACHINERY = frozenset({"base", "cli", "delivery", "runner", "scheduler"})


def feature_modules(extra_modules: Sequence[str] = ()) -> list[ModuleType]:
    """Every `jobs/*.py` module (sorted by name), then `extra_modules` (`Settings.jobs_extra_modules`)."""
    import jobs

    names = [
        f"jobs.{info.name}"
        for info in sorted(pkgutil.iter_modules(jobs.__path__), key=lambda m: m.name)
        if info.name not in MACHINERY
    ]
    return [importlib.import_module(name) for name in [*names, *extra_modules]]


def discover_jobs(extra_modules: Sequence[str] = ()) -> dict[str, ScheduledJob]:
    """Every `SCHEDULED_JOBS` entry of the feature modules, by name (a duplicate name is a bug)."""
    found: dict[str, ScheduledJob] = {}
    for module in feature_modules(extra_modules):
        for job in getattr(module, "SCHEDULED_JOBS", ()):
            if job.name in found:
                raise RuntimeError(f"two scheduled jobs are named {job.name!r} (in {module.__name__})")
            found[job.name] = job
    return found


DigestSectionFn = Callable[[DigestContext], "DigestSection | None"]


def discover_digest_sections(extra_modules: Sequence[str] = ()) -> list[tuple[int, str, DigestSectionFn]]:
    """(DIGEST_ORDER, module name, digest_section) of every feature module, in digest order."""
    found = []
    for module in feature_modules(extra_modules):
        section = getattr(module, "digest_section", None)
        if callable(section):
            found.append((int(getattr(module, "DIGEST_ORDER", 100)), module.__name__, section))
    return sorted(found, key=lambda item: (item[0], item[1]))


def cron_of(job: ScheduledJob, services: Services) -> dict[str, str]:
    """The job's cron fields now: `cron_for(services)` when it has one (falling back to `cron`)."""
    if job.cron_for is None:
        return dict(job.cron)
    try:
        return dict(job.cron_for(services))
    except Exception:  # a broken settings row must not stop the scheduler: keep the default schedule
        import logging

        logging.getLogger(__name__).exception("cron_for failed; using the default", extra={"job": job.name})
        return dict(job.cron)
