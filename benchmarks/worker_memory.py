"""Web worker memory after start: our worker vs a bare Bolt worker (issue 14 goal: ≤ 1.5x the bare one).

    .venv/bin/python -m benchmarks.worker_memory

Each worker is built in a fresh process exactly as a Hypercorn worker builds it (`bot.cli:make_http_application()`
and `benchmarks.load:make_bare_asgi()`), then reports its resident memory (VmRSS) and start time. A third line
shows what importing matplotlib would add (what every worker paid before charts were imported lazily).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys, time
start = time.perf_counter()
{build}
seconds = time.perf_counter() - start
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:'))
print(json.dumps({{"rss_mib": rss / 1024, "start_s": seconds, "matplotlib": "matplotlib" in sys.modules}}))
"""

WORKERS = {
    "bare Bolt worker": "from benchmarks.load import make_bare_asgi\nmake_bare_asgi()",
    "alumni-bot worker": "from bot.cli import make_http_application\nmake_http_application()",
    "alumni-bot worker + matplotlib": (
        "from bot.cli import make_http_application\nmake_http_application()\n"
        "import matplotlib.figure, matplotlib.backends.backend_agg"
    ),
}


def measure(build: str, env: dict[str, str]) -> dict[str, Any]:
    """Build one worker in a fresh interpreter and return its RSS (MiB) and build time (s)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(build=build)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(repeats: int = 3) -> dict[str, dict[str, Any]]:
    """The median of `repeats` fresh starts per worker kind."""
    with tempfile.TemporaryDirectory(prefix="alumni-rss-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET="bench-signing-secret",
            SLACK_API_URL="http://127.0.0.1:9/api/",
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'alumni.db'}",
        )
        results: dict[str, dict[str, Any]] = {}
        for name, build in WORKERS.items():
            runs = sorted((measure(build, env) for _ in range(repeats)), key=lambda r: r["rss_mib"])
            results[name] = runs[len(runs) // 2]
    return results


def main() -> int:
    results = run()
    bare = results["bare Bolt worker"]["rss_mib"]
    for name, r in results.items():
        print(
            f"{name:32} RSS {r['rss_mib']:6.1f} MiB ({r['rss_mib'] / bare:4.2f}x bare)  "
            f"start {r['start_s']:.2f} s  matplotlib loaded: {r['matplotlib']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
