"""Delivery throughput: 2,000 DMs through the outbox against a fake Slack that allows 50 posts a second.

    .venv/bin/python -m benchmarks.delivery_throughput [--db postgres|sqlite] [--messages 2000] [--limit 50]
                                                       [--threads 4]

What happens:
1. A fresh, migrated database (PostgreSQL on TEST_DATABASE_URL, or a SQLite file) gets `--messages` queued
   DMs, one to each of as many users.
2. The fake Slack (tests/fake_slack.py) runs in this process and answers 429 (`Retry-After: 1`) to any
   `chat.postMessage` beyond `--limit` calls within one second.
3. The delivery worker runs as production runs it, in its own process: `alumni-bot jobs deliver --threads N`.
4. Throughput is measured from the first to the last accepted post (steady state, without the worker's start-up)
   and printed as a ratio to the limit, with the number of 429s the worker received and a duplicate check.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import func, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.slack_emulator.web_api import FakeSlack  # noqa: E402
from models.db import Database  # noqa: E402
from models.outbox import SENT, OutboxMessage, enqueue  # noqa: E402


def _database(kind: str) -> tuple[str, object]:
    if kind == "sqlite":
        from tests.databases import SqliteFactory

        folder = Path(tempfile.mkdtemp(prefix="alumni-bench-"))
        return SqliteFactory(folder).create(), lambda: shutil.rmtree(folder, ignore_errors=True)
    from tests.databases import PostgresFactory, postgres_reachable

    reason = postgres_reachable()
    if reason:
        raise SystemExit(f"{reason} (use --db sqlite)")
    factory = PostgresFactory("bench")
    return factory.create(), factory.close


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument(
        "--limit", type=int, default=50, help="chat.postMessage calls the fake accepts per second"
    )
    parser.add_argument("--threads", type=int, default=4, help="delivery threads in the worker process")
    args = parser.parse_args()

    url, cleanup = _database(args.db)
    fake = FakeSlack().start()
    users = [f"U0BENCH{i:05d}" for i in range(args.messages)]
    for user in users:
        fake.add_user(user, name=user.lower())
    database = Database(url)
    with database.session() as session:
        for user in users:
            enqueue(
                session,
                purpose="bench",
                recipient=user,
                period="1",
                message={"text": "Hello from the outbox"},
            )
    fake.rate_limit_per_second("chat.postMessage", args.limit)

    env = dict(
        os.environ,
        DATABASE_URL=url,
        SLACK_API_URL=fake.api_url,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    script = Path(sys.executable).with_name("alumni-bot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    command += ["jobs", "deliver", "--threads", str(args.threads), "--poll", "0.5"]
    started = time.monotonic()
    worker = subprocess.Popen(command, env=env, cwd=tempfile.gettempdir())
    try:
        deadline = started + 30 + 5 * args.messages / args.limit
        while fake.accepted_post_count < args.messages:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(
                    f"stopped after {fake.accepted_post_count} posts (worker exit {worker.poll()})"
                )
            time.sleep(0.05)
        wall = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(15)
        fake.stop()

    accepted = [c.time for c in fake.calls_to("chat.postMessage") if c.ok]
    steady = accepted[-1] - accepted[0]
    rate = (len(accepted) - 1) / steady if steady > 0 else float("inf")
    with database.session() as session:
        sent = session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT)
        ).one()
    duplicates = sum(max(0, len(fake.messages(u)) - 1) for u in users)
    database.dispose()
    cleanup()  # type: ignore[operator]

    print(f"database: {args.db}; worker: alumni-bot jobs deliver --threads {args.threads}")
    print(f"delivered {len(accepted)} DMs ({sent} rows recorded sent, {duplicates} duplicates)")
    print(f"first to last accepted post: {steady:.1f} s; worker start to last post: {wall:.1f} s")
    print(f"throughput: {rate:.1f} msg/s = {rate / args.limit:.2f} x the fake's limit of {args.limit}/s")
    print(f"429s received: {fake.ratelimited_count}")
    per_second = [0] * (int(steady) + 1)
    for instant in accepted:
        per_second[int(instant - accepted[0])] += 1
    print("accepted posts per second:", " ".join(str(n) for n in per_second))
    return 0 if len(accepted) == args.messages and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
