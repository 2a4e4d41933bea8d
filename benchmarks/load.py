"""Load benchmark: the bot in HTTP mode (production server config) against a fake Slack, vs a bare Bolt app.

    .venv/bin/python -m benchmarks.load [--db sqlite,postgres] [--concurrency 1,8,32,64] [--duration 8]
                                        [--opportunities 100000] [--members 20000] [--events 500]

What happens, per database:
1. A fresh database is seeded (benchmarks/seed.py: bulk inserts through the feature tables).
2. The fake Slack (bot/slack_emulator/web_api.py) serves the Web API and the response_url endpoint in this process.
3. The bot starts as production runs it: `alumni-bot run --http --no-scheduler` (Hypercorn,
   WEB_CONCURRENCY worker processes x WEB_THREADS app threads, see bot/web.py `server_config`).
4. A separate driver process (`python -m benchmarks.load drive ...`) sends Slack-signed requests from N
   threads (keep-alive connections) for `--duration` seconds per scenario and concurrency.
5. Time to answer = until the user sees the answer: the ack body when it carries the answer, otherwise
   the fake's receipt of the app's response_url post, ephemeral message or DM to that user. The driver
   records send/ack instants, the fake records arrivals (both `time.time()` on this machine).
6. The same scenarios run against a bare Bolt app that only acks, served by the same server config;
   the table prints our p50/p99 as a ratio to it.
7. The weekly digest is built once on the seeded data: build time and peak Python memory (tracemalloc).

Sub-commands used internally: `serve-bare --port N` and `drive SPEC.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"
ALUMNI_CHANNEL = "C0ALUMNI1"
HR_USER = "U0BENCHHR1"
ORGANIZER = "U0BENCHORG"
TEAM = "T1"

# Search words: common English/Japanese words, and rare two-character Japanese words (a handful of rows).
OPPORTUNITY_WORDS = [
    "python",
    "営業",
    "engineer",
    "東京",
    "囲碁",
    "盆栽",
    "茶道",
    "zymurgy",
    "データ 分析",
    "remote",
]
DIRECTORY_WORDS = ["python", "営業", "佐藤", "Acme", "engineer", "大阪", "mentor", "盆栽"]
ERROR_MARKERS = (
    "something went wrong",
    "try again in a moment",
    "問題が発生",
    "しばらくしてから",
)


# ================================================================================================
# Scenarios: how to build one request (runs in the driver process; pure data in, body out)


@dataclass
class Scenario:
    name: str
    kind: str  # command | action | view
    params: dict[str, Any] = field(default_factory=dict)


def build_request(scenario: Scenario, n: int, user: str, response_url: str) -> tuple[str, str]:
    """(body, content type) of request number `n` of a scenario, as Slack would send it."""
    p = scenario.params
    if scenario.kind == "command":
        words = p.get("words") or [""]
        text = (p.get("prefix", "") + " " + words[n % len(words)]).strip()
        fields = {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "alumni",
            "channel_id": ALUMNI_CHANNEL,
            "channel_name": "alumni",
            "user_id": user,
            "user_name": user.lower(),
            "command": p["command"],
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": f"trigger.{n}",
        }
        return urllib.parse.urlencode(fields), "application/x-www-form-urlencoded"
    if scenario.kind == "action":
        values = p.get("values") or ["1"]
        value = str(values[n % len(values)])
        action = {
            "type": "button",
            "action_id": p["action_id"],
            "block_id": p.get("block_id", "b"),
            "value": value,
            "action_ts": f"{time.time():.6f}",
        }
        message = {"ts": p.get("message_ts", "1700000000.000100"), "text": "", "blocks": []}
        if p.get("message_ts_by_value"):
            message["ts"] = p["message_ts_by_value"].get(value, message["ts"])
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "alumni"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trigger.{n}",
            "actions": [action],
            "message": message,
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": p.get("channel", ALUMNI_CHANNEL),
                "is_ephemeral": False,
            },
            "channel": {"id": p.get("channel", ALUMNI_CHANNEL), "name": "alumni"},
            "response_url": response_url,
        }
        return urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    if scenario.kind == "view":
        values = json.loads(json.dumps(p["values"], ensure_ascii=False).replace("{n}", str(n)))
        view = {
            "id": f"V{n}",
            "type": "modal",
            "callback_id": p["callback_id"],
            "private_metadata": p.get("private_metadata", ""),
            "state": {"values": values},
            "blocks": p.get("blocks", []),
            "hash": "h",
        }
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trigger.{n}",
            "view": view,
            "response_urls": [],
        }
        return urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    raise ValueError(scenario.kind)


# ================================================================================================
# The driver (a separate process): N threads, keep-alive connections, signed requests


def _sign(body: str, ts: str) -> str:
    import hashlib
    import hmac

    base = f"v0:{ts}:{body}".encode()
    return "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()


def drive(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Send requests for `spec["duration"]` seconds from `spec["concurrency"]` threads; return one record each."""
    target = urllib.parse.urlsplit(spec["url"])
    scenario = Scenario(**spec["scenario"])
    users: list[str] = spec["users"]
    concurrency = int(spec["concurrency"])
    deadline = time.time() + float(spec["duration"])
    warmup_until = time.time() + float(spec.get("warmup", 0))
    records: list[dict[str, Any]] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def worker(index: int) -> None:
        user = users[index % len(users)]
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while time.time() < deadline:
            with lock:
                n = next(counter)
            key = f"{spec['tag']}-{n}"
            body, ctype = build_request(scenario, n, user, spec["response_base"] + key)
            ts = str(int(time.time()))
            headers = {
                "Content-Type": ctype,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": _sign(body, ts),
            }
            sent = time.time()
            status, text = 0, ""
            try:
                conn.request("POST", target.path, body=body.encode(), headers=headers)
                response = conn.getresponse()
                status, text = response.status, response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as exc:
                status, text = -1, repr(exc)
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            acked = time.time()
            in_ack = _answer_in_ack(text)
            if sent >= warmup_until:
                with lock:
                    records.append(
                        {
                            "in_ack": in_ack,
                            "error_text": any(m in text for m in ERROR_MARKERS),
                            "n": n,
                            "key": key,
                            "user": user,
                            "sent": sent,
                            "acked": acked,
                            "status": status,
                            "body": text[:300],
                        }
                    )
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return records


# ================================================================================================
# Servers: the bot (alumni-bot run --http) and the bare Bolt baseline, both under the same server


def make_bare_application() -> Callable[..., Any]:  # the WSGI app; `make_bare_asgi` serves it
    """A Bolt app that only acks (commands answer 'ok' in the ack body), behind the same WSGI wrapper.

    `process_before_response=True` makes it the true floor: with False, Bolt's thread runner answers only
    when it sees the ack, polling for it every 10 ms (issue 14).
    """
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.web import wsgi_app

    app = App(
        client=WebClient(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"]),
        token="xoxb-bench",
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=True,
    )

    def ack_text(ack: Any) -> None:
        ack(response_type="ephemeral", text="ok")

    def ack_only(ack: Any) -> None:
        ack()

    import re

    app.command(re.compile(".*"))(ack_text)
    app.action(re.compile(".*"))(ack_only)
    app.view(re.compile(".*"))(ack_only)
    return wsgi_app(app, healthy=lambda: True)


def make_bare_asgi() -> Callable[..., Any]:
    from bot.web import asgi_app

    return asgi_app(make_bare_application(), threads=int(os.environ.get("WEB_THREADS", "8")))


def serve_bare(port: int) -> None:
    from bot.web import serve, server_config

    serve(
        "benchmarks.load:make_bare_asgi()",
        server_config(port, workers=int(os.environ.get("WEB_CONCURRENCY", "2")), host="127.0.0.1"),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(cmd: list[str], env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """Start a server process (its own process group), wait for /healthz, stop it with SIGTERM."""
    log = log_path.open("w")
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url + "/slack/events"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def bot_env(database_url: str, api_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-bench-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        ALUMNI_CHANNEL=ALUMNI_CHANNEL,
        ALUMNI_HR_CHANNEL="G0HRPRIV1",
        ALUMNI_HR_USERS=HR_USER,
        ALUMNI_ORGANIZER_USERS=ORGANIZER,
        ALUMNI_LANGUAGE="ja",
        ALUMNI_TIMEZONE="Asia/Tokyo",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


# ================================================================================================
# Measuring: run the driver, correlate with what the fake received


ANSWER_METHODS = ("response_url", "chat.postEphemeral", "chat.postMessage")


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _answer_in_ack(body: str) -> bool:
    if not body:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and any(k in data for k in ("text", "blocks", "response_action"))


def _texts_of(args: dict[str, Any]) -> str:
    return json.dumps({k: args.get(k) for k in ("text", "blocks")}, ensure_ascii=False)


@dataclass
class StepResult:
    app: str
    scenario: str
    concurrency: int
    count: int
    seconds: float
    latencies: list[float]
    errors: dict[str, int]
    answer_via: dict[str, int]

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return _percentile(self.latencies, q) * 1000

    def row(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "scenario": self.scenario,
            "concurrency": self.concurrency,
            "requests": self.count,
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.p(50), 1),
            "p95_ms": round(self.p(95), 1),
            "p99_ms": round(self.p(99), 1),
            "errors": dict(self.errors),
            "answer_via": dict(self.answer_via),
            "loadavg_1m": round(os.getloadavg()[0], 1),
        }


def run_step(
    fake: Any,
    *,
    app: str,
    url: str,
    scenario: Scenario,
    concurrency: int,
    duration: float,
    users: list[str],
    answer_mode: str,
) -> StepResult:
    """One scenario at one concurrency: drive from a separate process, then correlate answers."""
    tag = f"{app}-{''.join(ch for ch in scenario.name if ch.isalnum())}-{concurrency}-{uuid.uuid4().hex[:6]}"
    spec = {
        "url": url,
        "scenario": scenario.__dict__,
        "users": users[:concurrency],
        "concurrency": concurrency,
        "duration": duration,
        "warmup": min(1.0, duration / 5),
        "tag": tag,
        "response_base": fake.base_url + "response/",
    }
    start_index = len(fake.calls)
    started = time.time()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        spec_path = f.name
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "drive", spec_path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(spec_path)
    records: list[dict[str, Any]] = json.loads(out.stdout)
    seconds = max(1e-9, time.time() - started - spec["warmup"])
    errors: dict[str, int] = {}
    answer_via: dict[str, int] = {}
    latencies: list[float] = []
    need_async = answer_mode != "ack"
    if need_async:
        # Wait (bounded) for the background answers of the last requests.
        deadline = time.time() + 10
        wanted = {r["key"] for r in records if r["status"] == 200 and not r["in_ack"]}
        while time.time() < deadline:
            with fake._lock:
                got = {c.key for c in fake.calls[start_index:] if c.method == "response_url"}
                by_user = sum(1 for c in fake.calls[start_index:] if c.method in ANSWER_METHODS[1:])
            if wanted <= got or len(got) + by_user >= len(wanted):
                break
            time.sleep(0.1)
        time.sleep(0.3)
    with fake._lock:
        calls = list(fake.calls[start_index:])
    by_key = {c.key: c for c in calls if c.method == "response_url"}
    by_user: dict[str, list[Any]] = {}
    for c in calls:
        if c.method == "chat.postEphemeral":
            by_user.setdefault(str(c.args.get("user")), []).append(c)
        elif c.method == "chat.postMessage" and str(c.args.get("channel", "")).startswith("U"):
            by_user.setdefault(str(c.args.get("channel")), []).append(c)
    for user_calls in by_user.values():
        user_calls.sort(key=lambda c: c.time)
    for record in sorted(records, key=lambda r: r["sent"]):
        if record["status"] != 200:
            errors[f"http_{record['status']}"] = errors.get(f"http_{record['status']}", 0) + 1
            continue
        if answer_mode == "ack" or record["in_ack"]:
            latencies.append(record["acked"] - record["sent"])
            answer_via["ack"] = answer_via.get("ack", 0) + 1
            if record["error_text"]:
                errors["error_answer"] = errors.get("error_answer", 0) + 1
            continue
        call = by_key.get(record["key"])
        if call is None:
            queue = by_user.get(record["user"], [])
            while queue and queue[0].time < record["sent"]:
                queue.pop(0)
            call = queue.pop(0) if queue else None
        if call is None:
            errors["no_answer"] = errors.get("no_answer", 0) + 1
            continue
        answer_via[call.method] = answer_via.get(call.method, 0) + 1
        latencies.append(max(call.time, record["acked"]) - record["sent"])
        if not call.ok:
            errors[f"slack_{call.error or call.status}"] = (
                errors.get(f"slack_{call.error or call.status}", 0) + 1
            )
        elif any(m in _texts_of(call.args) for m in ERROR_MARKERS):
            errors["error_answer"] = errors.get("error_answer", 0) + 1
    return StepResult(app, scenario.name, concurrency, len(records), seconds, latencies, errors, answer_via)


# ================================================================================================
# Scenarios for what the bot registers today


def scenarios_for(database_url: str) -> list[tuple[Scenario, str]]:
    """(scenario, answer mode) for the features that exist; missing features are reported, not faked."""
    from bot.app import build_registry

    registry = build_registry()
    found: list[tuple[Scenario, str]] = []
    if "/opportunities" in registry.commands:
        found.append(
            (
                Scenario(
                    "/opportunities <word>",
                    "command",
                    {"command": "/opportunities", "words": OPPORTUNITY_WORDS},
                ),
                "auto",
            )
        )
    else:
        print("  (no /opportunities command registered yet: scenario skipped)")
    found.append(
        (
            Scenario(
                "/alumni <word>",
                "command",
                {"command": "/alumni", "prefix": _directory_prefix(), "words": DIRECTORY_WORDS},
            ),
            "auto",
        )
    )
    rsvp = _rsvp_scenario(registry, database_url)
    if rsvp is not None:
        found.append((rsvp, "auto"))
    else:
        print("  (no RSVP action registered yet: scenario skipped)")
    return found


def _directory_prefix() -> str:
    """`/alumni <word>` searches the directory directly, or through a `search`/`find` subcommand."""
    from handlers.directory import subcommands

    words = subcommands()
    for candidate in ("search", "find", "検索"):
        if candidate in words:
            return candidate
    return ""


def _rsvp_scenario(registry: Any, database_url: str) -> Scenario | None:
    try:
        import handlers.events as events_handler  # noqa: F401
    except ImportError:
        return None
    from benchmarks.seed import first_event_ids

    action = _find_constant(
        "handlers.events", ("RSVP_GOING", "ACTION_RSVP_GOING", "RSVP_ACTION", "ACTION_RSVP")
    )
    if action is None:
        rsvp_ids = [a for a in registry.actions if isinstance(a, str) and "rsvp" in a.lower()]
        action = rsvp_ids[0] if rsvp_ids else None
    if action is None:
        return None
    ids = first_event_ids(database_url)
    return Scenario("RSVP click", "action", {"action_id": action, "values": [str(i) for i in ids]})


def _find_constant(module: str, names: Sequence[str]) -> str | None:
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    for name in names:
        value = getattr(mod, name, None)
        if isinstance(value, str):
            return value
    return None


def modal_scenario(fake: Any, bot_url: str, user: str) -> Scenario | None:
    """A check-in submission (the most frequent modal): the modal `/checkin` really opens, filled in."""
    from tests.drills.support import input_elements, state_from_view
    from tests.slack_requests import SlackSender

    if "/checkin" not in build_registry_commands():
        return None
    start = len(fake.calls)
    SlackSender(bot_url, SIGNING_SECRET).command("/checkin", "", user=user)
    deadline = time.time() + 10
    view = None
    while time.time() < deadline and view is None:
        with fake._lock:
            opened = [c for c in fake.calls[start:] if c.method == "views.open" and c.ok]
        view = opened[0].args.get("view") if opened else None
        time.sleep(0.05)
    if not isinstance(view, dict):
        return None
    overrides: dict[str, Any] = {}
    for block_id, _action, element in input_elements(view):
        if element.get("type") == "plain_text_input" and block_id in ("whats_new", "news", "update"):
            overrides[block_id] = "元気です / all good {n}"
    return Scenario(
        "check-in modal submit",
        "view",
        {
            "callback_id": view.get("callback_id"),
            "private_metadata": view.get("private_metadata", ""),
            "values": state_from_view(view, overrides),
            "blocks": view.get("blocks", []),
        },
    )


def build_registry_commands() -> set[str]:
    from bot.app import build_registry

    return set(build_registry().commands)


# ================================================================================================
# Digest build time and memory


def measure_digest(database_url: str, api_url: str) -> dict[str, Any] | None:
    """Build the weekly digest once on the seeded data, as the scheduled job does but as a dry run (no
    outbox row, no Slack call): seconds and peak Python memory (tracemalloc) of `jobs.digest.run_digest`."""
    try:
        from jobs.base import JobContext
        from jobs.digest import run_digest
    except ImportError as exc:
        print(f"  (no digest job yet: {exc})")
        return None
    from datetime import UTC, datetime

    from bot.config import Settings
    from bot.services import build_services

    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        database_url=database_url,
        alumni_channel=ALUMNI_CHANNEL,
        hr_users=frozenset({HR_USER}),
        organizer_users=frozenset({ORGANIZER}),
    )
    services = build_services(settings)
    ctx = JobContext(
        services=services, job="digest", scheduled_for=datetime.now(UTC), period="bench", dry_run=True
    )
    tracemalloc.start()
    began = time.perf_counter()
    queued = run_digest(ctx)
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    blocks = len(ctx.queued[0]["message"].get("blocks", [])) if ctx.queued else 0
    services.db.dispose()
    return {
        "seconds": round(seconds, 3),
        "peak_mib": round(peak / 2**20, 1),
        "queued": queued,
        "blocks": blocks,
    }


# ================================================================================================
# Main


def _print_table(rows: list[dict[str, Any]], bare: dict[tuple[str, int], dict[str, Any]]) -> None:
    header = f"{'app':5} {'scenario':28} {'conc':>4} {'req':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'x bare p50':>10} {'x bare p99':>10}  errors / answered via"
    print(header)
    for r in rows:
        base = bare.get((r["scenario"], r["concurrency"]))
        ratio50 = f"{r['p50_ms'] / base['p50_ms']:.1f}" if base and base["p50_ms"] else "-"
        ratio99 = f"{r['p99_ms'] / base['p99_ms']:.1f}" if base and base["p99_ms"] else "-"
        if r["app"] == "bare":
            ratio50 = ratio99 = "1.0"
        print(
            f"{r['app']:5} {r['scenario'][:28]:28} {r['concurrency']:>4} {r['requests']:>6} {r['throughput_rps']:>7} "
            f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {ratio50:>10} {ratio99:>10}  "
            f"{r['errors'] or '-'} / {r['answer_via']} load {r.get('loadavg_1m', '-')}"
        )
    sys.stdout.flush()


def _postgres_database(name: str) -> str:
    import psycopg

    from tests.databases import test_server_url

    server = test_server_url()
    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rpartition("/")[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    import psycopg

    from tests.databases import test_server_url

    name = url.rpartition("/")[2]
    with psycopg.connect(
        test_server_url().replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.seed import BENCH_USERS, seed
    from bot.slack_emulator.web_api import BOT_USER_ID, FakeSlack

    workdir = Path(tempfile.mkdtemp(prefix="alumni-bench-"))
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "args": vars(args), "databases": {}}
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    users = BENCH_USERS[: max(concurrencies)]
    fake = FakeSlack().start()
    for i, user in enumerate(users):
        fake.add_user(user, name=f"bench{i}", locale="ja-JP" if i % 2 else "en-US")
    fake.add_user(HR_USER, name="hr")
    fake.add_user(ORGANIZER, name="org")
    fake.add_channel(ALUMNI_CHANNEL, name="alumni")
    fake.add_channel("G0HRPRIV1", name="alumni-hr", is_private=True)
    bare_rows: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        for database in args.db.split(","):
            print(
                f"\n=== {database}: seeding {args.opportunities} opportunities, {args.members} members, {args.events} events"
            )
            url = (
                f"sqlite:///{workdir / 'bench.db'}"
                if database == "sqlite"
                else _postgres_database(f"alumni_bench_{uuid.uuid4().hex[:6]}")
            )
            timings = seed(url, opportunities=args.opportunities, members=args.members, events=args.events)
            print("  seeded in " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
            _announce_events(fake, url, BOT_USER_ID)
            scenarios = scenarios_for(url)
            wanted = [w for w in args.scenarios.split(",") if w]
            if wanted:
                scenarios = [(sc, mode) for sc, mode in scenarios if any(w in sc.name for w in wanted)]
            rows: list[dict[str, Any]] = []
            port = free_port()
            cmd = [str(ROOT / ".venv/bin/alumni-bot"), "run", "--http", "--no-scheduler", "--port", str(port)]
            with server(
                cmd, bot_env(url, fake.api_url, port), port, workdir / f"bot-{database}.log"
            ) as bot_url:
                modal = modal_scenario(fake, bot_url, users[-1])
                if modal is not None and wanted and not any(w in modal.name for w in wanted):
                    modal = None
                if modal is not None:
                    scenarios.append((modal, "ack"))
                else:
                    print("  (no check-in modal yet: modal scenario skipped)")
                for scenario, mode in scenarios:
                    for concurrency in concurrencies:
                        step = run_step(
                            fake,
                            app="bot",
                            url=bot_url,
                            scenario=scenario,
                            concurrency=concurrency,
                            duration=args.duration,
                            users=users,
                            answer_mode=mode,
                        )
                        rows.append(step.row())
                        _print_table([rows[-1]], bare_rows)
            if not bare_rows and not args.skip_bare:
                port = free_port()
                cmd = [sys.executable, "-m", "benchmarks.load", "serve-bare", "--port", str(port)]
                env = dict(os.environ, SLACK_API_URL=fake.api_url)
                with server(cmd, env, port, workdir / "bare.log") as bare_url:
                    for scenario, _mode in scenarios:
                        for concurrency in concurrencies:
                            step = run_step(
                                fake,
                                app="bare",
                                url=bare_url,
                                scenario=scenario,
                                concurrency=concurrency,
                                duration=args.duration,
                                users=users,
                                answer_mode="ack",
                            )
                            bare_rows[(scenario.name, concurrency)] = step.row()
            digest = measure_digest(url, fake.api_url)
            print(f"\n--- {database}: results (bot vs bare Bolt ack-only app, same server config)")
            _print_table(rows + [bare_rows[k] for k in sorted(bare_rows)], bare_rows)
            print(f"  weekly digest: {digest if digest else 'no digest builder found in jobs/'}")
            results["databases"][database] = {"seed_seconds": timings, "rows": rows, "digest": digest}
            if database != "sqlite":
                _drop_postgres_database(url)
        results["bare"] = list(bare_rows.values())
    finally:
        fake.stop()
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def _announce_events(fake: Any, url: str, bot_user: str) -> None:
    """Give each upcoming event an announcement message in the fake (RSVP clicks update it)."""
    import sqlalchemy as sa

    try:
        from models.event import Event
    except ImportError:
        return
    from models.db import Database

    db = Database(url)
    table: sa.Table = Event.__table__  # type: ignore[attr-defined]
    with db.engine.begin() as conn:
        ids = list(conn.execute(sa.select(table.c.id)).scalars())
        for event_id in ids:
            ts = fake.add_message(ALUMNI_CHANNEL, text=f"event {event_id}", user=bot_user)
            conn.execute(
                table.update().where(table.c.id == event_id).values(channel=ALUMNI_CHANNEL, message_ts=ts)
            )
    db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd")
    bare = sub.add_parser("serve-bare")
    bare.add_argument("--port", type=int, required=True)
    drive_p = sub.add_parser("drive")
    drive_p.add_argument("spec")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario and concurrency")
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument(
        "--scenarios", default="", help="only scenarios whose name contains one of these (comma-separated)"
    )
    parser.add_argument("--skip-bare", action="store_true", help="do not measure the bare Bolt app")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.cmd == "serve-bare":
        serve_bare(args.port)
        return 0
    if args.cmd == "drive":
        spec = json.loads(Path(args.spec).read_text())
        random.seed(spec["tag"])
        sys.stdout.write(json.dumps(drive(spec)))
        return 0
    results = run_benchmark(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
