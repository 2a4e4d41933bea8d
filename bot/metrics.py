"""Prometheus metrics (text format, prometheus-client) and the small ops listener (`/metrics`, `/healthz`).

What is measured, and where:
- outbox backlog (due, unfinished rows by status), the oldest due row's age and `alumni_database_up`:
  computed at scrape time with one grouped query over the outbox's `(status, next_attempt_at)` index, so
  whichever process answers a scrape reports the whole outbox;
- outbox outcomes (sent / failed / retried): `jobs/delivery.py`, when it records a row's outcome;
- Slack 429 answers: a retry handler that every WebClient carries (`bot/slack_client.py`);
- job runs by job and outcome: `jobs/runner.py`, and runs the scheduler records as skipped;
- listener latency by kind: the registry wraps every listener it registers (`bot/registry.py`);
- database pool use: SQLAlchemy pool checkout/checkin events (`instrument_pool`, from `build_services`).

Processes: the HTTP web server starts worker processes (Hypercorn, or any multi-process server). Each worker keeps its values
in files under one shared directory and the worker that answers `/metrics` sums them (prometheus_client's
multiprocess mode, https://prometheus.github.io/client_python/multiprocess/). The library chooses that
storage when it is first imported, so this module imports it lazily and `enable_multiprocess` must run in
the parent before anything imports it. `jobs serve` and Socket Mode are single processes: they use the
library's default registry and serve it with `start_ops_listener` on `METRICS_PORT`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.config import hand_to_library, handed_to_library

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from prometheus_client import Counter, Gauge, Histogram
    from prometheus_client.metrics_core import Metric
    from slack_bolt import App
    from sqlalchemy.engine import Engine

    from models.db import Database

log = logging.getLogger(__name__)

WSGIApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]
F = TypeVar("F", bound=Callable[..., Any])

OUTBOX_OUTCOMES = ("sent", "failed", "retried")
# Slack waits 3 s for an acknowledgement: the buckets around it tell "fine" from "Slack gave up".
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

_multiprocess_dir: Path | None = None


def enable_multiprocess() -> Path:
    """Give this process, and the workers it forks, a fresh shared directory for their metric values.

    prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is first imported, to decide whether
    values live in per-process files; so this runs in the server's parent before any import of it, and it
    writes the variable for the library (an instruction to a library, not one of our settings; forked
    workers inherit it). A new directory is empty: the library's documentation asks for a wiped directory at
    every start, and stale files of an earlier run would otherwise be summed in.
    """
    global _multiprocess_dir
    if "prometheus_client" in sys.modules:
        raise RuntimeError("enable_multiprocess() must run before prometheus_client is imported")
    directory = Path(tempfile.mkdtemp(prefix="alumni-bot-metrics-"))
    hand_to_library("PROMETHEUS_MULTIPROC_DIR", str(directory))
    _multiprocess_dir = directory
    return directory


def _shared_directory() -> Path | None:
    """The multiprocess directory: set here by `enable_multiprocess`, or inherited by a worker process that
    the server spawned (a spawned worker gets the environment, not this module's globals)."""
    if _multiprocess_dir is not None:
        return _multiprocess_dir
    inherited = handed_to_library("PROMETHEUS_MULTIPROC_DIR")
    return Path(inherited) if inherited else None


# ---------------------------------------------------------------------- the metrics


@dataclass(frozen=True)
class _Metrics:
    listener_latency: Histogram
    outbox_messages: Counter
    rate_limited: Counter
    job_runs: Counter
    pool_checked_out: Gauge
    pool_size: Gauge


_create_lock = threading.Lock()


@functools.cache
def _build() -> _Metrics:
    from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

    # `*_created` series (when each counter was born) double the output and no alert or graph here uses them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    metrics = _Metrics(
        listener_latency=Histogram(
            "alumni_listener_latency_seconds",
            "Time a Slack listener took to run (its ack is part of it), by listener kind",
            ["kind"],
            buckets=LATENCY_BUCKETS,
        ),
        outbox_messages=Counter(
            "alumni_outbox_messages",
            "Outbox rows handled by the delivery worker, by outcome (sent, failed, retried)",
            ["outcome"],
        ),
        rate_limited=Counter(
            "alumni_slack_rate_limited",
            "HTTP 429 answers received from the Slack Web API, by method",
            ["method"],
        ),
        job_runs=Counter(
            "alumni_job_runs",
            "Scheduled job runs, by job and outcome (done, failed, skipped, claimed_elsewhere)",
            ["job", "outcome"],
        ),
        # livesum: a worker that exits takes its connections with it (its file is removed when it is found dead).
        pool_checked_out=Gauge(
            "alumni_db_pool_checked_out_connections",
            "Database connections in use (checked out of the pool), summed over live processes",
            multiprocess_mode="livesum",
        ),
        pool_size=Gauge(
            "alumni_db_pool_size_connections",
            "Configured database pool size (before overflow), summed over live processes",
            multiprocess_mode="livesum",
        ),
    )
    # Known counter labels start at 0, so rate() and increase() see the first event.
    for outcome in OUTBOX_OUTCOMES:
        metrics.outbox_messages.labels(outcome)
    return metrics


def _metrics() -> _Metrics:
    with _create_lock:  # two threads' first use must not register the metrics twice
        return _build()


def observe_listener(kind: str, seconds: float) -> None:
    _metrics().listener_latency.labels(kind).observe(seconds)


def count_outbox(outcome: str) -> None:
    """One outbox row `sent`, `failed` (final) or `retried` (given back to the queue)."""
    _metrics().outbox_messages.labels(outcome).inc()


def count_rate_limited(method: str) -> None:
    _metrics().rate_limited.labels(method).inc()


def count_job_run(job: str, outcome: str) -> None:
    _metrics().job_runs.labels(job, outcome).inc()


def declare_jobs(jobs: Iterable[str]) -> None:
    """Start each job's done/failed counts at 0, so an alert sees the first failure as an increase."""
    for job in jobs:
        for outcome in ("done", "failed"):
            _metrics().job_runs.labels(job, outcome)


def timed_listener(func: F, kind: str) -> F:
    """Wrap a Bolt listener so its run time is observed under `kind`.

    Bolt reads the arguments to inject through `inspect.unwrap`, so the wrapper receives exactly the
    wrapped listener's arguments. (A Bolt global middleware cannot time listeners: its `next()` only marks
    the request as passed on, and the listener runs after the middleware has returned.)
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            observe_listener(kind, time.perf_counter() - started)

    return wrapper  # type: ignore[return-value]


_instrumented: weakref.WeakSet[Engine] = weakref.WeakSet()


def instrument_pool(engine: Engine) -> None:
    """Count the engine's checked-out connections and report its pool size (once per engine)."""
    from sqlalchemy import event

    if engine in _instrumented:
        return
    _instrumented.add(engine)
    metrics = _metrics()
    size = getattr(engine.pool, "size", None)
    if callable(size):
        metrics.pool_size.set(size())
    event.listen(engine, "checkout", lambda *_: metrics.pool_checked_out.inc())
    event.listen(engine, "checkin", lambda *_: metrics.pool_checked_out.dec())


# ---------------------------------------------------------------------- scraping


class _ScrapeCollector:
    """Everything `/metrics` shows: the recorded metrics plus the outbox figures read from the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        _metrics()  # a process that has not recorded anything yet still lists every metric
        yield from _outbox_families(self.db)
        recorded: list[Metric]
        shared = _shared_directory()
        if shared is not None:
            from prometheus_client.multiprocess import MultiProcessCollector

            _forget_dead_processes(shared)
            recorded = list(MultiProcessCollector(None, path=str(shared)).collect())  # type: ignore[no-untyped-call]
        else:
            from prometheus_client import REGISTRY

            recorded = list(REGISTRY.collect())
        # Ours first (the order means nothing to Prometheus, but a person reading a scrape starts at the top).
        yield from sorted(recorded, key=lambda family: not family.name.startswith("alumni_"))


def _outbox_families(db: Database) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    from models.outbox import backlog
    from models.timeutil import now

    up = GaugeMetricFamily("alumni_database_up", "1 when the scrape could read the outbox from the database")
    try:
        current = now()
        with db.session() as session:
            figures = backlog(session, at=current)
    except Exception:  # a scrape must still answer (with database_up 0) while the database is down
        log.warning("metrics: could not read the outbox backlog", exc_info=True)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    due = GaugeMetricFamily(
        "alumni_outbox_backlog",
        "Outbox rows due now and not yet final, by status (pending, sending, uncertain)",
        labels=["status"],
    )
    for status, count in sorted(figures.due_by_status.items()):
        due.add_metric([status], count)
    yield due
    age = (
        0.0 if figures.oldest_due_at is None else max(0.0, (current - figures.oldest_due_at).total_seconds())
    )
    yield GaugeMetricFamily(
        "alumni_outbox_oldest_age_seconds",
        "How long the longest-waiting due outbox row has been due (0 when none is waiting)",
        value=age,
    )


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _forget_dead_processes(directory: Path) -> None:
    """`mark_process_dead` for every worker that has exited (server independent: no server hook needed).

    Any pre-fork server may replace workers; their live-gauge files (pool use) would otherwise be summed
    in for ever. Counters and histograms of dead workers stay, as the library intends.
    """
    from prometheus_client import multiprocess

    pids = {
        int(m.group(1)) for p in directory.glob("gauge_live*.db") if (m := _LIVE_GAUGE_FILE.search(p.name))
    }
    for pid in pids - {os.getpid()}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, owned by someone else
            continue


def _scrape_app(db: Database) -> WSGIApp:
    from prometheus_client import CollectorRegistry, make_wsgi_app

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ScrapeCollector(db))  # type: ignore[arg-type]
    app: WSGIApp = make_wsgi_app(registry)
    return app


def metrics_endpoint(app: App) -> WSGIApp:
    """The WSGI app that answers `GET /metrics` for a `create_app` app (text format, gzip when asked)."""
    from bot.app import services_of

    return _scrape_app(services_of(app).db)


# ---------------------------------------------------------------------- the ops listener

# (healthy, details for the JSON body)
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


def ops_app(db: Database, health: HealthCheck) -> WSGIApp:
    """`/metrics` and `/healthz` (200 or 503 with a JSON body) for the processes that serve no Slack HTTP."""
    scrape = _scrape_app(db)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/metrics":
            return scrape(environ, start_response)
        if path == "/healthz":
            ok, details = health()
            body = json.dumps({"ok": ok, **details}, default=str).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
        else:
            body, status = b'{"error": "not found"}', "404 Not Found"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return application


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes every 15 s would flood the log
        pass


@dataclass
class OpsListener:
    """A running ops listener; `stop()` closes it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_ops_listener(
    port: int,
    *,
    db: Database,
    health: HealthCheck,
    host: str = "0.0.0.0",  # noqa: S104  # Prometheus and the orchestrator probe from outside the container
) -> OpsListener | None:
    """Serve `/metrics` and `/healthz` on `port` in a background thread.

    Returns None (and logs an error) when the port is taken: the scheduler matters more than its metrics,
    so a second instance on one host keeps running; give each instance its own METRICS_PORT.
    """
    try:
        server = make_server(
            host, port, ops_app(db, health), server_class=_ThreadingServer, handler_class=_QuietHandler
        )
    except OSError as exc:
        log.error("metrics listener not started", extra={"port": port, "error": str(exc)})
        return None
    thread = threading.Thread(target=server.serve_forever, name="ops-listener", daemon=True)
    thread.start()
    listener = OpsListener(server, thread)
    log.info("metrics and health listener started", extra={"port": listener.port})
    return listener
