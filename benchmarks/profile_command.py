"""Where the time of a slash command goes: signed requests through the production WSGI app, no server.

    .venv/bin/python -m benchmarks.profile_command [--db PATH] [--opportunities 100000] [--members 20000]
                                                   [--requests 400] [--top 35] [--sort tottime]

Builds the app as `alumni-bot run --http` does in each worker (`create_app` + `bot.web.wsgi_app`), against a
fake Slack for the few Web API calls (`users.info` once per user), seeds a SQLite database with
benchmarks/seed.py (kept at `--db` and reused when it exists), then sends `--requests` Slack-signed
`/opportunities <word>` and `/alumni <word>` requests (the load benchmark's words and users) straight into
the WSGI callable, in one thread. It prints the per-request time (p50, mean) of each scenario and a cProfile
of the same requests: the deterministic cost of one answer, before any server, GIL or concurrency effect.
It also times `/opportunities help` (no database) and the load benchmark's bare Bolt app (ack only) the same
way: the floor of the framework and of Bolt.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.load import (
    ALUMNI_CHANNEL,
    DIRECTORY_WORDS,
    HR_USER,
    OPPORTUNITY_WORDS,
    ORGANIZER,
    SIGNING_SECRET,
    Scenario,
    _directory_prefix,
    _sign,
    build_request,
)


def _environ(body: str, ctype: str) -> dict[str, Any]:
    raw = body.encode()
    ts = str(int(time.time()))
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "CONTENT_TYPE": ctype,
        "CONTENT_LENGTH": str(len(raw)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
        "HTTP_X_SLACK_SIGNATURE": _sign(body, ts),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
    }


def _call(application: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(s)

    body = b"".join(application(environ, start_response))
    return status[0], body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="/tmp/alumni-profile-command.db")
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=400, help="per scenario")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--no-profile", action="store_true", help="only the timings")
    args = parser.parse_args(argv)

    from benchmarks.seed import BENCH_USERS, seed
    from bot.app import create_app
    from bot.config import Settings
    from bot.slack_emulator.web_api import FakeSlack
    from bot.web import wsgi_app

    url = f"sqlite:///{args.db}"
    if not Path(args.db).exists():
        began = time.perf_counter()
        seed(url, opportunities=args.opportunities, members=args.members, events=50)
        print(f"seeded {args.db} in {time.perf_counter() - began:.1f}s")
    fake = FakeSlack().start()
    users = BENCH_USERS[:32]
    for i, user in enumerate(users):
        fake.add_user(user, name=f"bench{i}", locale="ja-JP" if i % 2 else "en-US")
    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=url,
        alumni_channel=ALUMNI_CHANNEL,
        alumni_hr_channel="G0HRPRIV1",
        hr_users=frozenset({HR_USER}),
        organizer_users=frozenset({ORGANIZER}),
    )
    application = wsgi_app(create_app(settings), healthy=lambda: True)
    import os

    os.environ["SLACK_API_URL"] = fake.api_url
    from benchmarks.load import make_bare_application

    bare = make_bare_application()
    help_scenario = Scenario(
        "/opportunities help", "command", {"command": "/opportunities", "words": ["help"]}
    )
    runs: list[tuple[str, Callable[..., Iterable[bytes]], Scenario]] = [
        ("bare Bolt", bare, help_scenario),
        ("bot", application, help_scenario),
    ]
    scenarios = [
        Scenario(
            "/opportunities <word>", "command", {"command": "/opportunities", "words": OPPORTUNITY_WORDS}
        ),
        Scenario(
            "/alumni <word>",
            "command",
            {"command": "/alumni", "prefix": _directory_prefix(), "words": DIRECTORY_WORDS},
        ),
    ]
    runs += [("bot", application, scenario) for scenario in scenarios]
    try:
        for label, app, scenario in runs:
            requests = []
            for n in range(args.requests):
                body, ctype = build_request(scenario, n, users[n % len(users)], "https://hooks.slack.com/x")
                requests.append((body, ctype))
            for body, ctype in requests[: len(users) * 2]:  # warm: users.info cached, statements compiled
                status, answer = _call(app, _environ(body, ctype))
                assert status.startswith("200"), (status, answer[:300])
            took: list[float] = []
            profile = cProfile.Profile()
            for body, ctype in requests:
                environ = _environ(body, ctype)
                began = time.perf_counter()
                if args.no_profile:
                    _call(app, environ)
                else:
                    profile.enable()
                    _call(app, environ)
                    profile.disable()
                took.append(time.perf_counter() - began)
            # Timings without the profiler's overhead: wall time, and this thread's CPU time (steadier on a
            # shared machine; SQLite runs in this thread, so it counts).
            plain: list[float] = []
            cpu: list[float] = []
            for body, ctype in requests:
                environ = _environ(body, ctype)
                began, began_cpu = time.perf_counter(), time.thread_time()
                _call(app, environ)
                plain.append(time.perf_counter() - began)
                cpu.append(time.thread_time() - began_cpu)
            per_word: dict[str, list[float]] = {}
            for n, seconds in enumerate(cpu):
                words = scenario.params["words"]
                per_word.setdefault(words[n % len(words)], []).append(seconds)
            print(
                f"\n=== {label} {scenario.name}: {len(plain)} requests, p50 {statistics.median(plain) * 1000:.2f} ms, "
                f"mean {statistics.fmean(plain) * 1000:.2f} ms, max {max(plain) * 1000:.1f} ms; CPU p50 "
                f"{statistics.median(cpu) * 1000:.2f} ms, mean {statistics.fmean(cpu) * 1000:.2f} ms"
            )
            print(
                "  per word CPU p50 ms: "
                + ", ".join(f"{w} {statistics.median(s) * 1000:.2f}" for w, s in per_word.items())
            )
            if not args.no_profile and label == "bot" and scenario is not help_scenario:
                out = io.StringIO()
                stats = pstats.Stats(profile, stream=out)
                stats.sort_stats(args.sort).print_stats(args.top)
                print(out.getvalue())
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
