"""Event RSVPs under contention and the reminder job on a large event, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.events_rsvp [--db sqlite,postgres] [--clickers 25] [--capacity 10]
                                               [--sequential 200] [--going 1000]

Per database (SQLite: a temporary file; PostgreSQL: `alumni_bench_<random>` on TEST_DATABASE_URL, dropped at
the end), migrated to head:
1. `--clickers` members click Going on one event with `--capacity` seats at the same instant (threads behind a
   barrier, one unit of work each, as the handler does): wall time, p50/p95 of one RSVP, and a check that
   exactly `--capacity` are going and the rest are waitlisted in order.
2. `--sequential` RSVPs one after another (different members, no capacity): p50/p95.
3. The reminder job (`jobs.runner.run_job("event_reminders", at=start - 24h)`) for an event with `--going`
   members going: how long it takes to queue their DMs in the outbox, and that a second run queues none.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bot.config import DEFAULT_TEST_DATABASE_URL, Settings  # noqa: E402
from bot.services import build_services  # noqa: E402
from models import event as ev  # noqa: E402
from models.actors import Actor  # noqa: E402
from models.db import Database  # noqa: E402
from models.member import Member  # noqa: E402
from models.timeutil import freeze  # noqa: E402

ORG = Actor("U0BENCHORG", is_organizer=True)
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@contextmanager
def database(kind: str) -> Iterator[Database]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            db = Database(f"sqlite:///{folder}/bench.db")
            db.upgrade()
            try:
                yield db
            finally:
                db.dispose()
        return
    import os

    server = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    name = f"alumni_bench_{uuid.uuid4().hex[:8]}"
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database(server.rpartition("/")[0] + "/" + name)
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def new_event(db: Database, capacity: int | None, start: datetime = START) -> int:
    freeze(start - timedelta(days=7))
    with db.session() as session:
        event = ev.create_event(
            session,
            actor=ORG,
            data=ev.EventInput(
                title="Bench", starts_at=start, ends_at=start + timedelta(hours=2), capacity=capacity
            ),
        )
        assert event.id is not None
        return event.id


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def contention(db: Database, clickers: int, capacity: int) -> None:
    event_id = new_event(db, capacity)
    barrier = threading.Barrier(clickers)
    latencies: list[float] = []
    lock = threading.Lock()

    def click(index: int) -> None:
        actor = Actor(f"U0CLICK{index:04d}")
        barrier.wait()
        began = time.perf_counter()
        with db.session() as session:
            ev.rsvp(session, actor=actor, event_id=event_id, answer=ev.GOING)
        with lock:
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(clickers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    with db.session() as session:
        counts = ev.rsvp_counts(session, event_ids=[event_id])[event_id]
    ok = counts.going == capacity and counts.waitlist == clickers - capacity
    print(
        f"  {clickers} simultaneous Going clicks, capacity {capacity}: wall {wall * 1000:.0f} ms, "
        f"p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms; "
        f"going {counts.going}, waitlist {counts.waitlist} -> {'OK' if ok else 'WRONG'}"
    )


def sequential(db: Database, count: int) -> None:
    event_id = new_event(db, None)
    latencies = []
    for index in range(count):
        began = time.perf_counter()
        with db.session() as session:
            ev.rsvp(session, actor=Actor(f"U0SEQ{index:05d}"), event_id=event_id, answer=ev.GOING)
        latencies.append(time.perf_counter() - began)
    print(f"  {count} sequential RSVPs: p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms")


def reminders(db: Database, going: int) -> None:
    from jobs.runner import run_job

    start = START + timedelta(days=3)  # apart from the other phases' events
    event_id = new_event(db, None, start)
    with db.session() as session:
        members = [
            Member(slack_user_id=f"U0GO{i:06d}", display_name=f"m{i}", locale="ja") for i in range(going)
        ]
        session.add_all(members)
        session.flush()
        session.add_all(
            [
                ev.Rsvp(
                    event_id=event_id,
                    member_id=m.id or 0,
                    answer=ev.GOING,
                    answered_at=START - timedelta(days=6),
                )
                for m in members
            ]
        )
    freeze(None)
    settings = Settings(
        database_url=db.url, slack_api_url="http://127.0.0.1:9/api/", alumni_channel="C0BENCH"
    )
    services = build_services(settings, db=db)
    began = time.perf_counter()
    first = run_job(services, "event_reminders", at=start - timedelta(hours=24))
    took = time.perf_counter() - began
    began = time.perf_counter()
    again = run_job(services, "event_reminders", at=start - timedelta(hours=24) + timedelta(minutes=5))
    took_again = time.perf_counter() - began
    print(
        f"  reminder job, {going} going: queued {len(first.queued)} DMs in {took * 1000:.0f} ms; "
        f"the next run (5 min later) queued {len(again.queued)} in {took_again * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--clickers", type=int, default=25)
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--going", type=int, default=1000)
    args = parser.parse_args()
    for kind in args.db.split(","):
        print(kind)
        with database(kind) as db:
            contention(db, args.clickers, args.capacity)
            sequential(db, args.sequential)
            reminders(db, args.going)
        freeze(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
