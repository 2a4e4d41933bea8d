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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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

    @classmethod
    def every_minutes(
        cls,
        minutes: int,
        *,
        name: str,
        description: str,
        run: Callable[[JobContext], int],
        catch_up: timedelta | None = None,
    ) -> ScheduledJob:
        """A job run every `minutes` minutes, one period per slot (the cron and the period agree by
        construction)."""
        return cls(
            name=name,
            description=description,
            cron={"minute": f"*/{minutes}"},
            period=minutes_period(minutes),
            run=run,
            catch_up=catch_up,
        )


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


# Extra modules (`Settings.jobs_extra_modules`, from ALUMNI_JOBS_EXTRA_MODULES) take part beside the features: a
# deployment's own digest sections or jobs, and the test-only sections the cross-process tests use. They name
# theirs `SCHEDULED_JOBS`, `digest_section` and `DIGEST_ORDER` (the features name theirs in `bot.kit.Feature`).
EXTRA_MODULES_ENV = "ALUMNI_JOBS_EXTRA_MODULES"

DigestSectionFn = Callable[[DigestContext], "DigestSection | None"]


@dataclass(frozen=True)
class _Source:
    name: str
    jobs: Sequence[ScheduledJob]
    digest: DigestSectionFn | None
    digest_order: int


def _sources(extra_modules: Sequence[str]) -> list[_Source]:
    """The features (`bot.features`), then the extra modules, as sources of jobs and digest sections."""
    from bot.features import features  # the feature list imports the jobs modules

    found = [_Source(f.name, f.jobs, f.digest, f.digest_order) for f in features()]
    for name in extra_modules:
        module = importlib.import_module(name)
        section = getattr(module, "digest_section", None)
        found.append(
            _Source(
                name,
                tuple(getattr(module, "SCHEDULED_JOBS", ())),
                section if callable(section) else None,
                int(getattr(module, "DIGEST_ORDER", 100)),
            )
        )
    return found


def discover_jobs(extra_modules: Sequence[str] = ()) -> dict[str, ScheduledJob]:
    """Every scheduled job the features name (and the extra modules), by name (a duplicate name is a bug)."""
    found: dict[str, ScheduledJob] = {}
    for source in _sources(extra_modules):
        for job in source.jobs:
            if job.name in found:
                raise RuntimeError(f"two scheduled jobs are named {job.name!r} (in {source.name})")
            found[job.name] = job
    return found


def discover_digest_sections(extra_modules: Sequence[str] = ()) -> list[tuple[int, str, DigestSectionFn]]:
    """(order, feature name, section builder) of every feature with a digest section, in digest order."""
    found = [(s.digest_order, s.name, s.digest) for s in _sources(extra_modules) if s.digest is not None]
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
