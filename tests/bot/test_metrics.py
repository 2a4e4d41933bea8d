"""`/metrics` and `/healthz` as Prometheus and an orchestrator see them: the web app, the scheduler's listener
and the real processes (`run --http` with forked workers, `jobs serve`), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.cli import socket_mode_health
from bot.metrics import OpsListener, _forget_dead_processes, start_ops_listener
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import deliver_due
from jobs.runner import run_job
from jobs.scheduler import Scheduler
from models.db import Database
from models.outbox import enqueue
from models.timeutil import freeze, now
from tests.conftest import ALICE, ALUMNI_CHANNEL, SIGNING_SECRET, BotHarness, make_settings
from tests.jobs import sched_sample_jobs
from tests.slack_requests import SlackSender

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """Every sample of a Prometheus text-format scrape, by (name, sorted labels)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ---------------------------------------------------------------------- the web app (in process)


def test_a_signed_command_moves_the_listener_histogram(bot: BotHarness) -> None:
    metrics = bot.url + "/metrics"
    before = value(scrape(metrics), "alumni_listener_latency_seconds_count", kind="command")

    assert bot.sender.command("/alumni", "help", user=ALICE).status == 200

    # The listener is observed when it finishes, which may be just after Slack got its ack.
    wait_until(
        lambda: value(scrape(metrics), "alumni_listener_latency_seconds_count", kind="command") == before + 1,
        "the command's latency to be observed",
    )
    after = scrape(metrics)
    assert value(after, "alumni_listener_latency_seconds_bucket", kind="command", le="+Inf") >= before + 1


def test_outbox_gauges_follow_the_queue_and_delivery_counts_sends(bot: BotHarness) -> None:
    metrics = bot.url + "/metrics"
    idle = scrape(metrics)
    assert value(idle, "alumni_database_up") == 1
    assert value(idle, "alumni_outbox_backlog", status="pending") == 0
    assert value(idle, "alumni_outbox_oldest_age_seconds") == 0
    sent_before = value(idle, "alumni_outbox_messages_total", outcome="sent")

    start = now()
    freeze(start)
    with bot.db.session() as session:
        enqueue(session, purpose="test", recipient=ALUMNI_CHANNEL, period="p1", message={"text": "one"})
        enqueue(session, purpose="test", recipient=ALUMNI_CHANNEL, period="p2", message={"text": "two"})
        later = start + timedelta(days=1)
        enqueue(
            session,
            purpose="test",
            recipient=ALUMNI_CHANNEL,
            period="p3",
            message={"text": "3"},
            not_before=later,
        )
    freeze(start + timedelta(seconds=90))
    waiting = scrape(metrics)
    assert value(waiting, "alumni_outbox_backlog", status="pending") == 2  # the one due tomorrow is not late
    assert value(waiting, "alumni_outbox_oldest_age_seconds") == pytest.approx(90, abs=1)

    assert deliver_due(bot.services) == 2

    delivered = scrape(metrics)
    assert value(delivered, "alumni_outbox_backlog", status="pending") == 0
    assert value(delivered, "alumni_outbox_oldest_age_seconds") == 0
    assert value(delivered, "alumni_outbox_messages_total", outcome="sent") == sent_before + 2


def test_slack_429s_and_retries_are_counted(bot: BotHarness) -> None:
    metrics = bot.url + "/metrics"
    before = scrape(metrics)
    bot.fake.fail("chat.postMessage", retry_after=1)
    with bot.db.session() as session:
        enqueue(session, purpose="test", recipient=ALUMNI_CHANNEL, period="p", message={"text": "hi"})

    deliver_due(bot.services)

    after = scrape(metrics)
    assert value(after, "alumni_slack_rate_limited_total", method="chat.postMessage") == (
        value(before, "alumni_slack_rate_limited_total", method="chat.postMessage") + 1
    )
    assert value(after, "alumni_outbox_messages_total", outcome="retried") == (
        value(before, "alumni_outbox_messages_total", outcome="retried") + 1
    )
    assert value(after, "alumni_outbox_backlog", status="pending") == 0  # waits for Retry-After: not due


def test_database_pool_use_is_reported(bot: BotHarness) -> None:
    metrics = bot.url + "/metrics"
    idle = scrape(metrics)
    assert value(idle, "alumni_db_pool_size_connections") >= 1
    with bot.db.engine.connect():
        busy = scrape(metrics)
    assert value(busy, "alumni_db_pool_checked_out_connections") >= (
        value(idle, "alumni_db_pool_checked_out_connections") + 1
    )


# ---------------------------------------------------------------------- the scheduler's listener


@pytest.fixture
def job_services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    sched_sample_jobs.FAIL["on"] = False
    settings = make_settings(fake_slack, db, jobs_extra_modules=("tests.jobs.sched_sample_jobs",))
    yield build_services(settings, db=db)
    sched_sample_jobs.FAIL["on"] = False


@pytest.fixture
def scheduler_listener(job_services: Services) -> Iterator[tuple[Scheduler, OpsListener]]:
    scheduler = Scheduler(job_services, delivery_threads=1)
    scheduler.start(catch_up=False)
    listener = start_ops_listener(0, db=job_services.db, health=scheduler.health, host="127.0.0.1")
    assert listener is not None
    try:
        yield scheduler, listener
    finally:
        listener.stop()
        if scheduler.aps.running:
            scheduler.stop()


def test_scheduler_listener_counts_job_runs_by_outcome(
    job_services: Services, scheduler_listener: tuple[Scheduler, OpsListener]
) -> None:
    _, listener = scheduler_listener
    metrics = f"http://127.0.0.1:{listener.port}/metrics"
    before = scrape(metrics)
    assert (
        "alumni_job_runs_total",
        (("job", "sample_flaky"), ("outcome", "failed")),
    ) in before  # declared at 0

    run_job(job_services, "sample_flaky", at=now() - timedelta(days=3))
    sched_sample_jobs.FAIL["on"] = True
    with pytest.raises(RuntimeError):
        run_job(job_services, "sample_flaky", at=now() - timedelta(days=2))
    run_job(job_services, "sample_flaky", at=now() - timedelta(days=3))  # that period is done already

    after = scrape(metrics)
    for outcome in ("done", "failed", "claimed_elsewhere"):
        assert value(after, "alumni_job_runs_total", job="sample_flaky", outcome=outcome) == (
            value(before, "alumni_job_runs_total", job="sample_flaky", outcome=outcome) + 1
        ), outcome
    # The done run queued a DM. The scheduler's own delivery worker (polling every 2 s) may already be sending
    # it or have sent it, so the DM counts once it is waiting, sending or sent ("pending" alone raced it).
    sent_before = value(before, "alumni_outbox_messages_total", outcome="sent")

    def dm_queued_or_sent() -> bool:
        now_samples = scrape(metrics)
        waiting = sum(
            value(now_samples, "alumni_outbox_backlog", status=status)
            for status in ("pending", "sending", "uncertain")
        )
        sent = value(now_samples, "alumni_outbox_messages_total", outcome="sent") - sent_before
        return waiting + sent >= 1

    wait_until(dm_queued_or_sent, "the done run's DM to be queued or sent")


def test_scheduler_healthz_is_503_when_the_scheduler_stops(
    scheduler_listener: tuple[Scheduler, OpsListener],
) -> None:
    scheduler, listener = scheduler_listener
    healthz = f"http://127.0.0.1:{listener.port}/healthz"
    status, body = get_json(healthz)
    assert status == 200 and body["ok"] is True
    assert body["scheduler"] == "running" and body["delivery"] == "running" and body["last_tick"]

    scheduler.stop()

    status, body = get_json(healthz)
    assert status == 503 and body["ok"] is False and body["scheduler"] == "stopped"


def test_scheduler_healthz_is_503_when_the_heartbeat_is_stale(
    scheduler_listener: tuple[Scheduler, OpsListener],
) -> None:
    scheduler, listener = scheduler_listener
    healthz = f"http://127.0.0.1:{listener.port}/healthz"
    scheduler.aps.pause()  # the thread lives on, but runs no job: a wedged scheduler
    scheduler.last_tick = time.time() - 120

    status, body = get_json(healthz)
    assert status == 503 and body["scheduler"] == "running"
    assert isinstance(body["seconds_since_tick"], float) and body["seconds_since_tick"] >= 120


def test_a_taken_port_does_not_stop_the_scheduler(
    job_services: Services, scheduler_listener: tuple[Scheduler, OpsListener]
) -> None:
    scheduler, listener = scheduler_listener
    second = start_ops_listener(listener.port, db=job_services.db, health=scheduler.health, host="127.0.0.1")
    assert second is None
    assert scheduler.health()[0] is True


def test_socket_mode_healthz_follows_the_connection_and_the_scheduler(
    job_services: Services, scheduler_listener: tuple[Scheduler, OpsListener]
) -> None:
    scheduler, _ = scheduler_listener
    connected = {"now": True}
    health = socket_mode_health(lambda: connected["now"], scheduler.health)
    listener = start_ops_listener(0, db=job_services.db, health=health, host="127.0.0.1")
    assert listener is not None
    healthz = f"http://127.0.0.1:{listener.port}/healthz"
    try:
        status, body = get_json(healthz)
        assert status == 200 and body["socket_mode"] == "connected" and body["scheduler"] == "running"

        connected["now"] = False
        status, body = get_json(healthz)
        assert status == 503 and body["socket_mode"] == "disconnected"

        connected["now"] = True
        scheduler.stop()
        status, body = get_json(healthz)
        assert status == 503 and body["socket_mode"] == "connected" and body["scheduler"] == "stopped"
    finally:
        listener.stop()


def test_live_gauges_of_exited_workers_are_forgotten(tmp_path: Path) -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    for pid in (exited.pid, os.getpid()):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{exited.pid}.db").write_bytes(b"")

    _forget_dead_processes(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"gauge_livesum_{os.getpid()}.db", f"counter_{exited.pid}.db"]  # a dead worker's counts stay
    )


# ---------------------------------------------------------------------- the real processes


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL", "METRICS_PORT", "PROMETHEUS_"))
    }
    env.update(extra)
    return env


def _wait_for_http(url: str, process: subprocess.Popen[str]) -> None:
    def up() -> bool:
        assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    wait_until(up, f"{url} to answer", timeout=60)


@pytest.mark.slow
def test_run_http_sums_every_workers_metrics(tmp_path: Path) -> None:
    """Two forked workers answer in turn; whichever answers a scrape reports the requests of both."""
    fake = FakeSlack()
    fake.start()
    fake.add_user(ALICE, name="alice", real_name="Alice", locale="en-US")
    port = _free_port()
    env = _env(
        SLACK_BOT_TOKEN="xoxb-fake",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'alumni.db'}",
        WEB_CONCURRENCY="2",
        WEB_THREADS="2",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--http", "--port", str(port), "--no-scheduler"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        for _ in range(6):
            assert sender.command("/alumni", "help", user=ALICE).status == 200
        wait_until(
            lambda: value(scrape(metrics), "alumni_listener_latency_seconds_count", kind="command") == 6,
            "all six commands to be summed over the workers",
        )
        for _ in range(4):  # several scrapes, answered by either worker, agree
            assert value(scrape(metrics), "alumni_listener_latency_seconds_count", kind="command") == 6
        samples = scrape(metrics)
        assert value(samples, "alumni_database_up") == 1
        # Each live worker reports its own pool: the scrape sums both workers' files.
        one_pool = Database(env["DATABASE_URL"]).engine.pool.size()  # type: ignore[attr-defined]
        assert value(samples, "alumni_db_pool_size_connections") == 2 * one_pool
    finally:
        process.terminate()
        process.wait(timeout=30)
        fake.stop()
    assert process.returncode == 0


@pytest.mark.slow
def test_jobs_serve_answers_metrics_and_healthz_on_metrics_port(tmp_path: Path) -> None:
    fake = FakeSlack()
    fake.start()
    port = _free_port()
    env = _env(
        SLACK_BOT_TOKEN="xoxb-fake",
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'alumni.db'}",
        METRICS_PORT=str(port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "jobs", "serve", "--threads", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        status, body = get_json(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and body["scheduler"] == "running"
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert value(samples, "alumni_database_up") == 1
        assert ("alumni_job_runs_total", (("job", "digest"), ("outcome", "failed"))) in samples
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        fake.stop()
    assert process.returncode == 0
