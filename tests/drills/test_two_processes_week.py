"""Two full bot processes on one PostgreSQL database through a simulated week (issue 9).

Two `alumni-bot run --http` processes (each with its scheduler and delivery child, as production runs them)
share one PostgreSQL database and the fake Slack. The week of Monday 2026-12-07 (Asia/Tokyo) is then driven
across processes: for each scheduled instant that matters, `alumni-bot jobs run NAME --at T` is started twice
at the same moment (as if both replicas' schedulers fired), and once more afterwards (a restart replaying the
instant). The seeded community: two members going to a Wednesday 19:00 meetup, members due a check-in nudge,
opportunities posted the week before (for the digest).

Must hold: every (job, period) is claimed once; every message of the week (digest, event reminders 24 h and
1 h before, the day-of message, follow-ups, nudges...) reaches Slack exactly once, recognised by the outbox
dedupe key each message carries in its metadata; and the digest and both reminders did go out.

Slow (about a minute: each `jobs run` is a fresh Python process), so marked `slow`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.slack_emulator.web_api import FakeSlack
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, HR_CHANNEL, ORGANIZER, SIGNING_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 12, 7, tzinfo=TOKYO)
EVENT_START = MONDAY + timedelta(days=2, hours=19)  # Wednesday 19:00


def _at(days: int, hours: int, minutes: int = 0) -> str:
    return (MONDAY + timedelta(days=days, hours=hours, minutes=minutes)).isoformat()


# (job, instant): the instants of the week at which something is due, plus quiet ones.
INSTANTS = [
    ("digest", _at(0, 9)),
    ("checkin_nudges", _at(0, 10)),
    ("opportunities_expiry", _at(0, 9)),
    ("referrals_stale", _at(1, 10)),
    ("event_reminders", _at(1, 19, 1)),  # 24 h before the meetup
    ("event_day", _at(2, 9)),
    ("event_reminders", _at(2, 18, 1)),  # 1 h before
    ("event_followups", _at(2, 23, 15)),  # after the meetup ends (21:00) and the feedback delay
    ("personal_digest", _at(0, 9)),
    ("retention", _at(3, 3, 30)),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _database() -> Iterator[str]:
    import psycopg

    from tests.databases import postgres_reachable, test_server_url

    reason = postgres_reachable()
    if reason:
        pytest.skip(reason)
    server = test_server_url()
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"alumni_week_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(url: str, fake: FakeSlack, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-week",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=url,
        ALUMNI_CHANNEL=ALUMNI_CHANNEL,
        ALUMNI_HR_CHANNEL=HR_CHANNEL,
        ALUMNI_HR_USERS=HR,
        ALUMNI_ORGANIZER_USERS=ORGANIZER,
        ALUMNI_TIMEZONE="Asia/Tokyo",
        ALUMNI_LANGUAGE="ja",
        WEB_CONCURRENCY="1",
        WEB_THREADS="4",
        PYTHONUNBUFFERED="1",
    )
    if port:
        env["PORT"] = str(port)
    return env


@contextlib.contextmanager
def _bot_process(url: str, fake: FakeSlack, log: Path) -> Iterator[str]:
    port = _free_port()
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--http", "--port", str(port)],
        cwd=ROOT,
        env=_env(url, fake, port),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            with contextlib.suppress(OSError), urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
            assert time.time() < deadline, "bot did not start: " + log.read_text()[-2000:]
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()


def _seed(url: str) -> None:
    from sqlmodel import select

    from models import event as ev
    from models import opportunity as opps
    from models.actors import Actor
    from models.db import Database
    from models.member import Member, ensure_member
    from models.timeutil import freeze

    db = Database(url)
    db.upgrade()
    try:
        freeze(MONDAY - timedelta(days=3))  # the Friday before: posts and the event are created then
        with db.session() as s:
            for user, tz in ((ALICE, "Asia/Tokyo"), (BOB, "Asia/Tokyo"), (CAROL, "Asia/Tokyo")):
                member = ensure_member(
                    s, slack_user_id=user, display_name=user.lower(), locale="ja-JP", tz=tz
                )
                member.consented_at = MONDAY - timedelta(days=400)
                member.created_at = MONDAY - timedelta(days=400)
            for i in range(5):
                opps.post_opportunity(
                    s,
                    actor=Actor(CAROL),
                    draft=opps.Draft(
                        kind="job", title=f"週次ダイジェスト用の募集 {i}", apply_url="https://example.com/j"
                    ),
                    zone="Asia/Tokyo",
                )
            event = ev.create_event(
                s,
                actor=Actor(ORGANIZER, is_organizer=True),
                data=ev.EventInput(
                    title="水曜の交流会",
                    starts_at=EVENT_START,
                    ends_at=EVENT_START + timedelta(hours=2),
                    tz="Asia/Tokyo",
                ),
            )
            assert event.id is not None
            for user in (ALICE, BOB):
                ev.rsvp(s, actor=Actor(user), event_id=event.id, answer=ev.GOING, display_name=user.lower())
            assert s.exec(select(Member)).all()
    finally:
        freeze(None)
        db.dispose()


def _jobs_run(url: str, fake: FakeSlack, job: str, at: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "jobs", "run", job, "--at", at],
        cwd=ROOT,
        env=_env(url, fake),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout[-400:] + result.stderr[-400:]


def _outbox_keys(fake: FakeSlack) -> list[str]:
    keys = []
    for call in fake.calls:
        if call.method == "chat.postMessage" and call.ok:
            metadata = call.args.get("metadata") or {}
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            key = (metadata.get("event_payload") or {}).get("dedupe_key")
            if key:
                keys.append(str(key))
    return keys


def test_two_bot_processes_through_a_week_send_every_scheduled_message_once(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from models.db import Database
    from models.jobrun import JobRun

    with _database() as url:
        _seed(url)
        with (
            _bot_process(url, fake_slack, tmp_path / "bot1.log"),
            _bot_process(url, fake_slack, tmp_path / "bot2.log"),
        ):
            failures = []
            with ThreadPoolExecutor(max_workers=2) as pool:
                for job, at in INSTANTS:
                    both = list(pool.map(lambda _: _jobs_run(url, fake_slack, job, at), range(2)))
                    failures += [f"{job} @ {at}: exit {code}: {out}" for code, out in both if code != 0]
            # A restart replays the week's first instants: nothing new may go out.
            for job, at in INSTANTS[:3]:
                code, out = _jobs_run(url, fake_slack, job, at)
                if code != 0:
                    failures.append(f"replay {job} @ {at}: exit {code}: {out}")
            time.sleep(3)  # the bots' own delivery loops get a chance to (wrongly) send something again
        assert not failures, "\n".join(failures)
        keys = _outbox_keys(fake_slack)
        duplicates = {k: n for k, n in Counter(keys).items() if n > 1}
        assert not duplicates, f"sent more than once: {duplicates}"
        purposes = Counter(k.split(":", 1)[0] for k in keys)
        db = Database(url)
        with db.engine.connect() as conn:
            claims = conn.execute(
                select(JobRun.job, JobRun.period, func.count()).group_by(JobRun.job, JobRun.period)
            ).all()
        db.dispose()
        assert all(n == 1 for _j, _p, n in claims), claims
        reminder_keys = [k for k in keys if k.startswith("event_reminder")]
        digest_posts = [k for k in keys if k.startswith("digest:")]
        print(
            f"\nweek drill: {len(keys)} messages sent once each, by purpose {dict(purposes)}; {len(claims)} claims"
        )
        assert len(digest_posts) == 1, f"digest posts: {digest_posts} (all: {dict(purposes)})"
        assert len(reminder_keys) == 4, (
            f"reminders (2 members x 24 h and 1 h): {reminder_keys} (all: {dict(purposes)})"
        )
