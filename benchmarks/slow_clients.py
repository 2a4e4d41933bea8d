"""Slow-client drill: stalled connections must not lock members out (issue 13).

    .venv/bin/python -m benchmarks.slow_clients [--stalled 128] [--commands 60] [--workers 2] [--threads 8]

The bot runs as production runs it (`alumni-bot run --http --no-scheduler`, SQLite, a fake Slack on
loopback). The drill opens `--stalled` connections to 127.0.0.1 that stop mid-request (half send the
headers of a POST and none of its body, half stop inside the headers), then, while they are held, sends
signed `/alumni help` commands from 4 threads and polls `/healthz`. It prints how many stalled connections
the server still held when the commands were done, the p50/p99/max time to answer a signed command, and
how long the server took to close the stalled sockets (its read timeout). Loopback only, bounded in count
and time. `tests/drills/test_slow_clients.py` runs the same drill and asserts on the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "slow-client-drill-secret"
MEMBER = "U0DRILL01"
SLACK_ACK_SECONDS = 3.0


@dataclass
class DrillResult:
    stalled_opened: int
    stalled_held: int  # still open (unanswered, not closed) when the last command had its answer
    command_seconds: list[float]  # time to answer each signed command (inf when it failed)
    command_statuses: list[int]
    health_statuses: list[int]
    closed_after_seconds: float | None  # when every stalled socket had been closed by the server

    @property
    def p50(self) -> float:
        return _percentile(self.command_seconds, 50)

    @property
    def p99(self) -> float:
        return _percentile(self.command_seconds, 99)

    def summary(self) -> str:
        closed = (
            f"{self.closed_after_seconds:.1f} s"
            if self.closed_after_seconds is not None
            else "not within the wait"
        )
        return (
            f"stalled connections opened {self.stalled_opened}, still held by the server while commands ran "
            f"{self.stalled_held}; signed commands {len(self.command_seconds)}: "
            f"ok {sum(s == 200 for s in self.command_statuses)}, p50 {self.p50 * 1000:.0f} ms, "
            f"p99 {self.p99 * 1000:.0f} ms, max {max(self.command_seconds) * 1000:.0f} ms; "
            f"/healthz {self.health_statuses.count(200)}/{len(self.health_statuses)} ok; "
            f"stalled sockets closed by the server after {closed}"
        )


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def bot_server(
    *, api_url: str, database_url: str, workers: int, threads: int, log_path: Path
) -> Iterator[int]:
    """`alumni-bot run --http --no-scheduler` on a free loopback port; yields the port, SIGTERM at the end."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-drill",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        ALUMNI_LANGUAGE="en",
        WEB_CONCURRENCY=str(workers),
        WEB_THREADS=str(threads),
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--http", "--no-scheduler", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("the bot exited: " + log_path.read_text()[-3000:])
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r,
                ):
                    if r.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the bot did not start: " + log_path.read_text()[-3000:])
                time.sleep(0.2)
            yield port
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _stall(port: int, index: int) -> socket.socket:
    """A connection that stops mid-request: even ones after the headers, odd ones inside them."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n"
    )
    sock.sendall((head + "\r\n" if index % 2 == 0 else head + "X-Slack-Request-Ti").encode())
    sock.setblocking(False)
    return sock


def _is_held(sock: socket.socket) -> bool:
    """True while the server neither answered nor closed the connection."""
    try:
        sock.recv(1, socket.MSG_PEEK)  # b"": closed by the server; data: answered
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def run_drill(port: int, *, stalled: int = 128, commands: int = 60, close_wait: float = 20.0) -> DrillResult:
    """Open the stalled connections, measure signed commands and /healthz meanwhile, then wait for closes."""
    from tests.slack_requests import SlackSender

    sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    sockets = [_stall(port, i) for i in range(stalled)]
    opened = time.monotonic()
    try:
        time.sleep(0.5)  # let the server accept every stalled connection first

        def one_command(_: int) -> tuple[float, int]:
            start = time.monotonic()
            try:
                answer = sender.command("/alumni", "help", user=MEMBER, timeout=SLACK_ACK_SECONDS)
            except OSError:
                return float("inf"), 0
            return time.monotonic() - start, answer.status

        def health(_: int) -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
                    return int(r.status)
            except OSError:
                return 0

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(one_command, range(commands)))
        health_statuses = [health(i) for i in range(5)]
        held = sum(_is_held(s) for s in sockets)
        closed_after = None
        while time.monotonic() - opened < close_wait:
            if not any(_is_held(s) for s in sockets):
                closed_after = time.monotonic() - opened
                break
            time.sleep(0.25)
        return DrillResult(
            stalled_opened=stalled,
            stalled_held=held,
            command_seconds=[r[0] for r in results],
            command_statuses=[r[1] for r in results],
            health_statuses=health_statuses,
            closed_after_seconds=closed_after,
        )
    finally:
        for sock in sockets:
            sock.close()


def drill(
    *, stalled: int, commands: int, workers: int, threads: int, close_wait: float = 20.0
) -> DrillResult:
    """The whole drill: a fake Slack, a fresh SQLite database, the bot process, the measurement."""
    from bot.slack_emulator.web_api import FakeSlack

    fake = FakeSlack()
    fake.start()
    fake.add_user(MEMBER, name="drill", real_name="Drill Member", locale="en-US")
    try:
        with tempfile.TemporaryDirectory(prefix="slow-clients-") as folder:
            database_url = f"sqlite:///{folder}/drill.db"
            with bot_server(
                api_url=fake.api_url,
                database_url=database_url,
                workers=workers,
                threads=threads,
                log_path=Path(folder) / "bot.log",
            ) as port:
                return run_drill(port, stalled=stalled, commands=commands, close_wait=close_wait)
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=int, default=128)
    parser.add_argument("--commands", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    result = drill(stalled=args.stalled, commands=args.commands, workers=args.workers, threads=args.threads)
    print(
        f"slow-client drill (WEB_CONCURRENCY={args.workers}, WEB_THREADS={args.threads}): {result.summary()}"
    )


if __name__ == "__main__":
    main()
