"""Exactly-once runs (JobRun claims), catch-up after downtime, the live scheduler with its delivery loop,
and the `alumni-bot jobs` command line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.cli import main
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs.base import EXTRA_MODULES_ENV
from jobs.runner import UnknownJob, run_job
from jobs.scheduler import Scheduler, fire_times, start_background, trigger_for
from models.db import Database
from models.jobrun import STATUS_DONE, STATUS_FAILED, STATUS_SKIPPED, JobRun, claim_run
from models.outbox import SENT, OutboxMessage
from models.timeutil import freeze, now
from tests.conftest import ALICE, ALUMNI_CHANNEL, make_settings
from tests.jobs import sched_sample_jobs

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)
SAMPLE_JOBS = ("tests.jobs.sched_sample_jobs",)


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """On SQLite and PostgreSQL: for the claims."""
    monkeypatch.setenv(EXTRA_MODULES_ENV, "tests.jobs.sched_sample_jobs")  # for the `alumni-bot jobs` tests
    sched_sample_jobs.FAIL["on"] = False
    sched_sample_jobs.SEEN_NOW.clear()
    yield build_services(make_settings(fake_slack, db, jobs_extra_modules=SAMPLE_JOBS), db=db)


@pytest.fixture
def sqlite_services(
    fake_slack: FakeSlack, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    """SQLite only: schedule arithmetic and the command line do not depend on the database."""
    monkeypatch.setenv(EXTRA_MODULES_ENV, "tests.jobs.sched_sample_jobs")  # for the `alumni-bot jobs` tests
    sched_sample_jobs.FAIL["on"] = False
    sched_sample_jobs.SEEN_NOW.clear()
    yield build_services(make_settings(fake_slack, sqlite_db, jobs_extra_modules=SAMPLE_JOBS), db=sqlite_db)


def runs(services: Services, job: str) -> list[JobRun]:
    with services.db.session() as session:
        return list(session.exec(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).all())  # type: ignore[arg-type]


def outbox(services: Services, purpose: str) -> list[OutboxMessage]:
    with services.db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose)).all())


# ---------------------------------------------------------------------------------------- run_job


def test_a_period_runs_once_and_a_failed_run_may_be_claimed_again(services: Services) -> None:
    first = run_job(services, "sample_flaky", at=MONDAY)
    assert first.claimed and first.status == STATUS_DONE and len(first.queued) == 1
    again = run_job(services, "sample_flaky", at=MONDAY + timedelta(hours=3))  # same day: same period
    assert (again.claimed, again.status, again.queued) == (False, STATUS_DONE, [])

    sched_sample_jobs.FAIL["on"] = True
    with pytest.raises(RuntimeError):
        run_job(services, "sample_flaky", at=MONDAY + timedelta(days=1))
    assert runs(services, "sample_flaky")[-1].status == STATUS_FAILED
    # Only the exception type is kept: an error message may carry personal data.
    assert runs(services, "sample_flaky")[-1].detail == "RuntimeError"

    sched_sample_jobs.FAIL["on"] = False
    retried = run_job(services, "sample_flaky", at=MONDAY + timedelta(days=1))
    assert retried.claimed and retried.status == STATUS_DONE
    assert [r.status for r in runs(services, "sample_flaky")] == [STATUS_DONE, STATUS_DONE]
    assert len(outbox(services, "flaky")) == 2

    with pytest.raises(UnknownJob):
        run_job(services, "no_such_job")


def test_a_dry_run_claims_and_queues_nothing(sqlite_services: Services) -> None:
    dry = run_job(sqlite_services, "sample_flaky", at=MONDAY, dry_run=True)
    assert dry.status == "dry_run" and not dry.claimed and len(dry.queued) == 1
    assert runs(sqlite_services, "sample_flaky") == [] and outbox(sqlite_services, "flaky") == []


def test_the_job_sees_now_as_the_instant_it_runs_for(sqlite_services: Services) -> None:
    frozen = datetime(2026, 1, 1, tzinfo=UTC)
    freeze(frozen)
    run_job(sqlite_services, "sample_clock", at=MONDAY)
    seen = list(sched_sample_jobs.SEEN_NOW)
    assert seen == [MONDAY.astimezone(UTC)]
    assert now() == frozen  # the test's own frozen clock is restored


# ---------------------------------------------------------------------------------------- catch-up


def _previous_digest(services: Services, at: datetime) -> None:
    with services.db.session() as session:
        run = claim_run(session, job="digest", period="earlier", scheduled_for=at, claimed_by="old")
        assert run is not None
        run.status = STATUS_DONE
        session.add(run)


def test_a_digest_missed_by_less_than_a_day_is_caught_up_once(services: Services) -> None:
    _previous_digest(services, MONDAY - timedelta(days=7))
    freeze(MONDAY + timedelta(hours=6))  # the scheduler was down at 09:00 and starts at 15:00
    scheduler = Scheduler(services, delivery=False)
    assert scheduler.catch_up() == ["digest"]
    latest = runs(services, "digest")[-1]
    assert (latest.period, latest.scheduled_for, latest.status) == ("2026-W49", MONDAY, STATUS_DONE)
    assert scheduler.catch_up() == [] and len(runs(services, "digest")) == 2  # a restart does not rerun


def test_a_digest_more_than_a_day_late_is_skipped_and_recorded(sqlite_services: Services) -> None:
    _previous_digest(sqlite_services, MONDAY - timedelta(days=7))
    freeze(MONDAY + timedelta(days=1, hours=1))
    assert Scheduler(sqlite_services, delivery=False).catch_up() == []
    latest = runs(sqlite_services, "digest")[-1]
    assert (latest.period, latest.status) == ("2026-W49", STATUS_SKIPPED)
    assert "beyond catch-up" in latest.detail


def test_a_fresh_install_catches_up_nothing(sqlite_services: Services) -> None:
    freeze(MONDAY + timedelta(hours=1))
    assert Scheduler(sqlite_services, delivery=False).catch_up() == []
    assert runs(sqlite_services, "digest") == []


def test_fire_times_are_cron_times_in_alumni_timezone() -> None:
    trigger = trigger_for({"day_of_week": "mon", "hour": "9", "minute": "0"}, TOKYO)
    times = fire_times(trigger, MONDAY - timedelta(days=14), MONDAY)
    assert times == [MONDAY - timedelta(days=7), MONDAY]  # (start, end]


# ---------------------------------------------------------------------------------------- live


def test_two_live_schedulers_run_each_period_once_and_deliver_it(
    services: Services, fake_slack: FakeSlack
) -> None:
    # Two replicas against one database: every second both fire `sample_tick`; JobRun lets one run it.
    other = build_services(services.settings, db=Database(services.settings.database_url))
    stops = [start_background(s, delivery_threads=2, poll_interval=0.2) for s in (services, other)]
    try:
        fake_slack.wait_for("chat.postMessage", count=3, timeout=8)
    finally:
        for stop in stops:
            stop()
        other.db.dispose()
    done = [r for r in runs(services, "sample_tick") if r.status == STATUS_DONE]
    assert len(done) >= 3 and len({r.period for r in done}) == len(done)
    sent = [r for r in outbox(services, "tick") if r.status == SENT]
    texts = [m["text"] for m in fake_slack.messages(ALICE)]
    assert len(texts) == len(set(texts)) == len(sent)  # each period's DM once


# ---------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(
    sqlite_services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: object, fake_slack: FakeSlack
) -> Services:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name, value in {
        "DATABASE_URL": sqlite_services.settings.database_url,
        "SLACK_API_URL": fake_slack.api_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "x",
        "ALUMNI_CHANNEL": ALUMNI_CHANNEL,
        "ALUMNI_LANGUAGE": "en",
        "LOG_LEVEL": "ERROR",
    }.items():
        monkeypatch.setenv(name, value)
    return sqlite_services


def test_jobs_list_shows_schedule_next_and_last_run(
    cli_env: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    run_job(cli_env, "sample_flaky", at=MONDAY)
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    digest = next(line for line in out.splitlines() if line.startswith("digest "))
    assert "day_of_week=mon hour=9 minute=0" in digest and "JST" in digest and "never" in digest
    flaky = next(line for line in out.splitlines() if line.startswith("sample_flaky "))
    assert "2026-11-30 (done)" in flaky


def test_jobs_run_dry_run_prints_the_message_readably_and_claims_nothing(
    cli_env: Services,
    capsys: pytest.CaptureFixture[str],
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALUMNI_DIGEST_POST_EMPTY", "true")
    assert main(["jobs", "run", "digest", "--at", "2026-11-30T09:00", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Dry run of digest for 2026-W49 (as of 2026-11-30 09:00 JST): 1 message(s)" in out
    assert "to C0ALUMNI1" in out and "Alumni weekly digest\n====" in out
    assert "The week of 2026-11-23 – 2026-11-29" in out and "<!date" not in out
    assert runs(cli_env, "digest") == [] and fake_slack.calls_to("chat.postMessage") == []

    assert main(["jobs", "run", "digest", "--at", "2026-11-30T09:00"]) == 0
    out = capsys.readouterr().out
    assert "queued 1 message(s)" in out and "Delivered 1 of 1" in out
    assert len(fake_slack.messages(ALUMNI_CHANNEL)) == 1
    assert main(["jobs", "run", "digest", "--at", "2026-12-01T09:00"]) == 0
    assert "already claimed" in capsys.readouterr().out

    assert main(["jobs", "run", "nope"]) == 2
    assert main(["jobs", "run", "digest", "--at", "next monday"]) == 2


def test_sub_day_periods_stay_distinct_in_the_repeated_daylight_saving_hour() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from jobs.base import hourly_period, minutes_period

    london = ZoneInfo("Europe/London")  # 2026-10-25: 01:00-02:00 local happens twice
    first, second = datetime(2026, 10, 25, 0, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert hourly_period(first, london) != hourly_period(second, london)
    assert minutes_period(5)(first, london) != minutes_period(5)(second, london)
