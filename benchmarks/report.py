"""BENCHMARKS.md from one run: the issue 14 goals table, filled in, with the bare Bolt floor.

    .venv/bin/python -m benchmarks.report > BENCHMARKS.md        # about 6-9 minutes on a 2-core machine
    .venv/bin/python -m benchmarks.report --quick > /tmp/b.md     # small data and short steps, ~2 minutes

One run, in this order (progress goes to stderr, the Markdown document to stdout):
1. `benchmarks.load` on SQLite (100k opportunities, 20k members, 500 events): the bot as production serves it
   and the bare Bolt app (`process_before_response=True`, ack only: the true floor), same server config.
2. `benchmarks.worker_memory`: RSS of a freshly started web worker vs a bare Bolt worker.
3. `benchmarks.hr_ops` 10,000 rows: roster import, first run and re-run (SQLite and PostgreSQL).
4. `benchmarks.blocks_build`: a 19-block answer built with slack_sdk model objects vs plain dicts.
5. `benchmarks.delivery_throughput` (PostgreSQL): outbox fan-out vs the fake's workspace limit, duplicates.
6. `benchmarks.intro_pairing`: a reconnect-intros round pairing 20,000 opted-in members (issue 16: ≤ 2 s).

Not run by the test suite: it measures time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEARCHES = ("/opportunities <word>", "/alumni <word>")
CLICKS = ("RSVP click", "check-in modal submit")


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    # BENCHMARKS.md itself is being written (`> BENCHMARKS.md` truncates it first): not a change to the code.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)BENCHMARKS.md")
    dirty = " (with uncommitted changes)" if changed else ""
    return f"{git('rev-parse', '--short', 'HEAD')} on {git('rev-parse', '--abbrev-ref', 'HEAD')}{dirty}"


def run_load(quick: bool) -> dict[str, Any]:
    from benchmarks import load

    argv = ["--db", "sqlite", "--concurrency", "1,32,64", "--duration", "3" if quick else "5"]
    if quick:
        argv += ["--opportunities", "5000", "--members", "500", "--events", "20"]
    parser_args = _load_args(argv)
    return load.run_benchmark(parser_args)


def _load_args(argv: list[str]) -> argparse.Namespace:
    """`benchmarks.load`'s own argument defaults, with `argv` applied."""
    namespace = argparse.Namespace(
        cmd=None,
        db="sqlite",
        concurrency="1,32,64",
        duration=5.0,
        opportunities=100_000,
        members=20_000,
        events=500,
        scenarios="",
        skip_bare=False,
        keep=False,
        json=None,
    )
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        name = flag.lstrip("-")
        current = getattr(namespace, name)
        setattr(namespace, name, type(current)(value))
    return namespace


def run_roster(rows: int) -> dict[str, dict[str, float]]:
    from benchmarks import hr_ops
    from models.db import Database
    from tests.databases import PostgresFactory, postgres_reachable

    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        out["SQLite"] = hr_ops.run(db, rows)
        db.dispose()
    if postgres_reachable() is None:
        factory = PostgresFactory("bench")
        url = factory.create()
        db = Database(url)
        try:
            out["PostgreSQL"] = hr_ops.run(db, rows)
        finally:
            db.dispose()
            factory.drop(url)
            factory.close()
    return out


def run_delivery(messages: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.delivery_throughput", "--messages", str(messages)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    sys.stderr.write(result.stdout + result.stderr)
    ratio = re.search(r"= ([\d.]+) x the fake's limit of (\d+)", result.stdout)
    duplicates = re.search(r"(\d+) duplicates", result.stdout)
    ratelimited = re.search(r"429s received: (\d+)", result.stdout)
    return {
        "ratio": float(ratio.group(1)) if ratio else None,
        "limit": int(ratio.group(2)) if ratio else None,
        "duplicates": int(duplicates.group(1)) if duplicates else None,
        "429s": int(ratelimited.group(1)) if ratelimited else None,
        "output": result.stdout.strip(),
    }


def _module_output(module: str, *args: str) -> str:
    """What `python -m module args` prints (a part that reports its own figures)."""
    command = [sys.executable, "-m", module, *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300).stdout.strip()


# ------------------------------------------------------------------------------------------------ Markdown


def _rows(load_results: dict[str, Any]) -> tuple[dict[tuple[str, int], Any], dict[tuple[str, int], Any]]:
    bot = {(r["scenario"], r["concurrency"]): r for r in load_results["databases"]["sqlite"]["rows"]}
    bare = {(r["scenario"], r["concurrency"]): r for r in load_results.get("bare", [])}
    return bot, bare


def _fmt(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:,.1f}{unit}"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def goals_table(
    load_results: dict[str, Any], memory: dict[str, Any], roster: Any, delivery: Any, *, rows: int
) -> str:
    bot, bare = _rows(load_results)
    lines = ["| measure | issue 14 (before) | this run | goal | |", "|---|---|---|---|---|"]
    for name in SEARCHES:
        one = bot.get((name, 1))
        floor = bare.get((name, 1))
        if one:
            ok = one["p50_ms"] <= 3
            lines.append(
                f"| `{name}` c=1 p50 | 11.8 ms | {_fmt(one['p50_ms'], ' ms')} "
                f"(bare {_fmt(floor and floor['p50_ms'], ' ms')}) | ≤ 3 ms | {_verdict(ok)} |"
            )
        many, floor = bot.get((name, 32)), bare.get((name, 32))
        if many and floor:
            share = 100 * many["throughput_rps"] / floor["throughput_rps"] if floor["throughput_rps"] else 0
            ok = many["p99_ms"] <= 100 and share >= 25
            lines.append(
                f"| `{name}` c=32 p99 / throughput vs bare | 269 ms / 8.4% | "
                f"{_fmt(many['p99_ms'], ' ms')} / {share:.1f}% ({many['throughput_rps']:,.0f} vs "
                f"{floor['throughput_rps']:,.0f} req/s) | ≤ 100 ms / ≥ 25% | {_verdict(ok)} |"
            )
    before = {"RSVP click": "1.2 s", "check-in modal submit": "1.1 s"}
    for name in CLICKS:
        c32, c64 = bot.get((name, 32)), bot.get((name, 64))
        if c32 is None:
            lines.append(
                f"| {name} c=32 p99 | {before[name]} | not measured (scenario missing) | ≤ 300 ms | — |"
            )
            continue
        errors = sum(c32["errors"].values()) + (sum(c64["errors"].values()) if c64 else 0)
        ok = c32["p99_ms"] <= 300 and errors == 0 and (c64 is None or c64["p99_ms"] <= 3000)
        lines.append(
            f"| {name} c=32 p99 (c=64 p99), errors | {before[name]} | {_fmt(c32['p99_ms'], ' ms')} "
            f"({_fmt(c64 and c64['p99_ms'], ' ms')}), {errors} errors | ≤ 300 ms, 0 errors; ≤ 3 s at c=64 "
            f"| {_verdict(ok)} |"
        )
    bare_rss = memory["bare Bolt worker"]["rss_mib"]
    ours = memory["alumni-bot worker"]["rss_mib"]
    lines.append(
        f"| web worker RSS after start | + matplotlib (57 MiB) | {ours:.0f} MiB = {ours / bare_rss:.2f}x bare "
        f"({bare_rss:.0f} MiB), matplotlib not loaded | ≤ 1.5x bare | {_verdict(ours / bare_rss <= 1.5)} |"
    )
    for database, timings in roster.items():
        first = timings["first import"]
        lines.append(
            f"| roster import {rows:,} rows, first run ({database}) | 16–18 s (10,000) | {first:.2f} s "
            f"(re-run {timings['re-import']:.2f} s) | ≤ 3 s | {_verdict(first <= 3)} |"
        )
    ratio, duplicates = delivery["ratio"], delivery["duplicates"]
    ok = None if ratio is None else ratio >= 0.95 and duplicates == 0
    lines.append(
        f"| outbox fan-out (PostgreSQL) | 0.90x | {'n/a' if ratio is None else f'{ratio:.2f}'}x of {delivery['limit']}/s, {duplicates} "
        f"duplicates, {delivery['429s']} 429s | ≥ 0.95x, 0 duplicates | {_verdict(ok)} |"
    )
    return "\n".join(lines)


def load_table(load_results: dict[str, Any]) -> str:
    bot, bare = _rows(load_results)
    lines = [
        "| app | scenario | clients | req/s | p50 ms | p95 ms | p99 ms | errors | answered via |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for app, rows in (("bot", bot), ("bare", bare)):
        for (name, concurrency), r in sorted(rows.items()):
            errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
            via = ", ".join(f"{k} {v}" for k, v in r["answer_via"].items())
            lines.append(
                f"| {app} | {name} | {concurrency} | {r['throughput_rps']:,.1f} | {r['p50_ms']} | "
                f"{r['p95_ms']} | {r['p99_ms']} | {errors} | {via} |"
            )
    return "\n".join(lines)


def document(*, commit: str, started: str, minutes: float, quick: bool, results: dict[str, Any]) -> str:
    load_results, memory = results["load"], results["memory"]
    digest = load_results["databases"]["sqlite"].get("digest")
    memory_lines = "\n".join(
        f"| {name} | {r['rss_mib']:.1f} | {r['start_s']:.2f} | {r['matplotlib']} |"
        for name, r in memory.items()
    )
    roster_lines = "\n".join(
        f"| {db} | " + " | ".join(f"{timings[k]:.2f}" for k in ("parse", "first import", "re-import")) + " |"
        for db, timings in results["roster"].items()
    )
    data = "small data (--quick)" if quick else "100k opportunities, 20k members, 500 events"
    return f"""# Benchmarks

Generated by `python -m benchmarks.report > BENCHMARKS.md` (one run, {minutes:.1f} minutes) from commit
{commit}, started {started}, on this machine ({os.cpu_count()} cores, load average before the run
{results["loadavg"]}). Other work may have shared the machine during the run: compare figures from one run
with each other, not across runs. The previous hand-written reports are in this file's git history.

## Issue 14 goals

{goals_table(load_results, memory, results["roster"], results["delivery"], rows=results["roster_rows"])}

The bare floor is `benchmarks/load.py`'s bare Bolt app: `process_before_response=True`, listeners that only
`ack()`, behind the same WSGI/ASGI wrapper and Hypercorn config as the bot.

## Load (`benchmarks.load`, SQLite, {data})

Time to answer = until the user sees the answer (the ack body, or the fake Slack's receipt of the
`response_url` post, ephemeral message or DM). Each step runs {load_results["args"]["duration"]} s.

{load_table(load_results)}

Weekly digest on the seeded data: {digest}.

## Web worker memory (`benchmarks.worker_memory`)

| worker | RSS MiB | start s | matplotlib loaded |
|---|---:|---:|---|
{memory_lines}

## Roster import, {results["roster_rows"]:,} rows (`benchmarks.hr_ops`), seconds

| database | parse | first import | re-import |
|---|---:|---:|---:|
{roster_lines}

## Building a 19-block answer (`benchmarks.blocks_build`)

```
{results["blocks"]}
```

## Outbox delivery (`benchmarks.delivery_throughput --db postgres`)

```
{results["delivery"]["output"]}
```

## Reconnect intros: pairing a round (`benchmarks.intro_pairing`, issue 16 goal ≤ 2 s)

```
{results["intros"]}
```

## How to rerun one part

```sh
.venv/bin/python -m benchmarks.load --db sqlite,postgres --concurrency 1,8,32,64 --duration 8
.venv/bin/python -m benchmarks.worker_memory
.venv/bin/python -m benchmarks.hr_ops 10000
.venv/bin/python -m benchmarks.blocks_build
.venv/bin/python -m benchmarks.delivery_throughput --db postgres
.venv/bin/python -m benchmarks.intro_pairing --members 20000
```
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data, short steps (a smoke run)")
    args = parser.parse_args(argv)
    from benchmarks import worker_memory

    begin = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {"loadavg": " / ".join(f"{x:.1f}" for x in os.getloadavg())}
    commit = _commit()
    # Everything the parts print is progress: it goes to stderr, the document alone to stdout.
    with contextlib.redirect_stdout(sys.stderr):
        print("== load (benchmarks.load)", flush=True)
        results["load"] = run_load(args.quick)
        print("== worker memory", flush=True)
        results["memory"] = worker_memory.run(repeats=1 if args.quick else 3)
        print("== roster import", flush=True)
        results["roster_rows"] = 1000 if args.quick else 10_000
        results["roster"] = run_roster(results["roster_rows"])
        print("== Block Kit building", flush=True)
        results["blocks"] = _module_output("benchmarks.blocks_build")
        print("== outbox delivery", flush=True)
        results["delivery"] = run_delivery(300 if args.quick else 2000)
        print("== intro pairing", flush=True)
        results["intros"] = _module_output(
            "benchmarks.intro_pairing", "--members", "2000" if args.quick else "20000"
        )
    minutes = (dt.datetime.now(dt.UTC) - begin).total_seconds() / 60
    started = begin.strftime("%Y-%m-%d %H:%M UTC")
    sys.stdout.write(
        document(commit=commit, started=started, minutes=minutes, quick=args.quick, results=results)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
