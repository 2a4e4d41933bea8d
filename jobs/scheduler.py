"""The scheduler process: APScheduler with an in-memory job store, one per process.

Its own docs forbid sharing a job store between schedulers; exactly-once comes from `JobRun` claims.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services

log = logging.getLogger(__name__)


def build_scheduler(services: Services) -> BackgroundScheduler:
    """A scheduler in `ALUMNI_TIMEZONE` with every scheduled job added."""
    return BackgroundScheduler(
        timezone=services.settings.zone, job_defaults={"coalesce": True, "max_instances": 1}
    )


def start_background(services: Services) -> Callable[[], None]:
    """Start the scheduler in background threads; returns the function that stops it."""
    scheduler = build_scheduler(services)
    scheduler.start()
    log.info("scheduler started", extra={"jobs": [job.id for job in scheduler.get_jobs()]})
    return lambda: scheduler.shutdown(wait=True)


def serve_forever(services: Services) -> None:
    """Run the scheduler until SIGTERM or SIGINT (for `alumni-bot jobs serve`)."""
    stop = start_background(services)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    stop()
