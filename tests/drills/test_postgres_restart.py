"""PostgreSQL restarted in the middle of traffic (issue 9).

A throwaway cluster of the drill's own (initdb into a temporary folder owned by the `postgres` user, a free
port, started with `runuser -u postgres -- pg_ctl` because CI runs as root; never the machine's shared
server) serves the app while a client sends `/opportunities <word>` searches and RSVP clicks. The cluster
is stopped (fast shutdown: every connection is cut) for about two seconds and started again.

Must hold: every request during the outage is answered with the translated "the bot cannot reach its
database, try again in a moment" (bot/app.py report_error handles models.db.DatabaseUnavailable), none is
lost silently (each request gets a normal answer or that message), and the bot recovers by itself: after
the restart the same app (no restart) answers normally and the RSVPs it acknowledged are stored.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.i18n import t
from bot.slack_emulator.web_api import BOT_USER_ID, FakeSlack
from models.db import Database
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, ORGANIZER, _serve

pytestmark = pytest.mark.slow


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bin: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None or (shutil.which("runuser") is None and os.geteuid() == 0):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) or runuser are not installed")
    folder = Path(tempfile.mkdtemp(prefix="alumni-pg-drill-"))
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(pg_bin, folder, _free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Outcome:
    kind: str
    sent: float
    status: int
    answer: str  # what the user saw: ack text, or the response_url / DM text


def _seed(db: Database, fake: FakeSlack) -> int:
    from models import event as ev
    from models import opportunity as opps
    from models.actors import Actor
    from models.timeutil import now

    ts = fake.add_message(ALUMNI_CHANNEL, text="event", user=BOT_USER_ID)
    with db.session() as s:
        for i in range(30):
            opps.post_opportunity(
                s,
                actor=Actor(CAROL),
                draft=opps.Draft(
                    kind="job",
                    title=f"Python engineer {i}",
                    description="囲碁 club",
                    apply_url="https://example.com/j",
                ),
            )
        event = ev.create_event(
            s,
            actor=Actor(ORGANIZER, is_organizer=True),
            data=ev.EventInput(
                title="Restart meetup",
                starts_at=now() + timedelta(days=3),
                ends_at=now() + timedelta(days=3, hours=2),
                tz="Asia/Tokyo",
            ),
        )
        ev.set_announcement(s, event_id=event.id, channel=ALUMNI_CHANNEL, ts=ts)
        assert event.id is not None
        return event.id


def test_requests_during_a_postgres_restart_get_try_again_and_the_bot_recovers(fake_slack: FakeSlack) -> None:
    unavailable = {t("common.error_unavailable", lang) for lang in ("en", "ja")}
    with throwaway_cluster() as cluster:
        db = Database(cluster.url)
        db.upgrade()
        event_id = _seed(db, fake_slack)
        harness_gen = _serve(fake_slack, db)
        bot = next(harness_gen)
        try:
            outcomes: list[Outcome] = []
            stop = threading.Event()
            users = [ALICE, BOB, CAROL]

            def client(index: int) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    user = users[(index + n) % len(users)]
                    key = f"k{index}-{n}-{uuid.uuid4().hex[:4]}"
                    sent = time.time()
                    if n % 2:
                        kind = "search"
                        answer = bot.sender.command(
                            "/opportunities",
                            "python",
                            user=user,
                            response_url=fake_slack.response_url(key),
                            timeout=15,
                        )
                    else:
                        kind = "rsvp"
                        answer = bot.sender.block_action(
                            "events_rsvp_going" if n % 4 else "events_rsvp_not_going",
                            str(event_id),
                            user=user,
                            channel=ALUMNI_CHANNEL,
                            response_url=fake_slack.response_url(key),
                            timeout=15,
                        )
                    try:  # the ack body is JSON with \u escapes; compare the text a member would read
                        told = json.dumps(answer.json, ensure_ascii=False) if answer.text else ""
                    except ValueError:
                        told = answer.text
                    # The answer travels in the ack (search) or to the response_url (RSVP, errors).
                    deadline = time.time() + 8
                    while time.time() < deadline:
                        posted = fake_slack.responses(key)
                        if posted:
                            told = told + " | " + " ".join(str(p.get("text")) for p in posted)
                            break
                        if kind == "search" and answer.status == 200 and '"blocks"' in answer.text:
                            break
                        if answer.status == 200 and any(u in told for u in unavailable):
                            break  # the "try again" travelled in the ack itself
                        time.sleep(0.05)
                    outcomes.append(Outcome(kind, sent, answer.status, told))
                    time.sleep(0.05)

            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(3)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)
            down_at = time.time()
            cluster.stop("fast")
            time.sleep(2.0)
            cluster.start()
            up_at = time.time()
            time.sleep(3.0)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)

            lost = [
                o
                for o in outcomes
                if not o.answer.strip() or (o.status >= 500 and not any(u in o.answer for u in unavailable))
            ]
            during = [o for o in outcomes if down_at < o.sent < up_at]
            after = [o for o in outcomes if o.sent > up_at + 1.0]
            told_unavailable = [o for o in during if any(u in o.answer for u in unavailable)]
            timeline = [(round(o.sent - down_at, 2), o.kind, o.status, o.answer[:60]) for o in outcomes]
            assert during, (
                f"no request was sent during the outage (up after {up_at - down_at:.1f}s): {timeline}"
            )
            assert told_unavailable, (
                f"nobody was told 'try again in a moment' during the outage: {[o.answer[:100] for o in during]}"
            )
            wrong = [
                o
                for o in during
                if not any(u in o.answer for u in unavailable) and o.status == 200 and not o.answer.strip()
            ]
            assert not wrong, f"requests during the outage answered with nothing: {wrong}"
            generic = [
                o
                for o in outcomes
                if any(t("common.error_generic", lang) in o.answer for lang in ("en", "ja"))
            ]
            assert not generic, (
                f"a database outage was reported as a generic error: {[(o.kind, o.answer[:120]) for o in generic]}"
            )
            assert not lost, (
                f"{len(lost)} requests lost silently: {[(o.kind, o.status, o.answer[:80]) for o in lost[:5]]}"
            )
            assert after, f"no request after the restart: {timeline}"
            recovered = [o for o in after if o.status == 200 and not any(u in o.answer for u in unavailable)]
            assert len(recovered) == len(after), (
                f"the bot did not recover: {[(o.kind, o.status, o.answer[:80]) for o in after if o not in recovered]}"
            )
            assert bot.db.ping()
            print(
                f"\npostgres restart drill: {len(outcomes)} requests, {len(during)} during the outage "
                f"({len(told_unavailable)} told to try again), {len(after)} after, all answered"
            )
        finally:
            with contextlib.suppress(StopIteration):
                next(harness_gen)
            db.dispose()


def test_a_listener_failing_right_after_its_ack_still_answers_200_and_tells_the_member(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Regression: slack_bolt 1.30 (`listener/thread_runner.py`, with process_before_response=False) clears
    an ack already given when the listener raises afterwards, and Slack then got 404 "unhandled request".
    bot/registry.py's guard catches the failure inside the listener and reports it with report_error.
    """
    from models.db import DatabaseUnavailable

    db = Database(f"sqlite:///{tmp_path / 'ack.db'}")
    db.upgrade()
    event_id = _seed(db, fake_slack)
    harness_gen = _serve(fake_slack, db)
    bot = next(harness_gen)
    try:

        def unavailable() -> Iterator[None]:
            raise DatabaseUnavailable("drill: the database is down")

        bot.services.db.session = contextlib.contextmanager(unavailable)  # type: ignore[method-assign]
        statuses = []
        for n in range(10):
            answer = bot.sender.block_action(
                "events_rsvp_going",
                str(event_id),
                user=ALICE,
                channel=ALUMNI_CHANNEL,
                response_url=fake_slack.response_url(f"ack{n}"),
            )
            statuses.append(answer.status)
        unavailable_text = {t("common.error_unavailable", lang) for lang in ("en", "ja")}
        told = [r for r in fake_slack.responses() if str(r.get("text")) in unavailable_text]
        assert len(told) >= 1, "members were not told to try again"
        assert statuses == [200] * 10, f"HTTP statuses Slack received for acknowledged clicks: {statuses}"
    finally:
        with contextlib.suppress(StopIteration):
            next(harness_gen)
        db.dispose()
