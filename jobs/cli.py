"""`alumni-bot jobs …`: list the scheduled jobs, serve the scheduler, run one job now, run the delivery worker.

- `jobs list`: each job, its schedule (in ALUMNI_TIMEZONE), its next run and its last claimed run.
- `jobs serve [--threads N]`: the scheduler and the delivery loop, until SIGTERM/SIGINT.
- `jobs run NAME [--at ISO-8601] [--dry-run]`: claims the period of `--at` (default now) like a scheduled
  run, runs the job, then delivers what it queued. `--dry-run` claims nothing, queues nothing and prints the
  messages it would send, rendered for a terminal.
- `jobs deliver [--once] [--threads N] [--stale-after S]`: the delivery worker alone.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import signal
import sys
import threading
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.i18n import Translator


def add_jobs_parser(sub: Any) -> argparse.ArgumentParser:
    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    serve = jobs_sub.add_parser("serve", help="run the scheduler and the delivery worker alone")
    serve.add_argument("--threads", type=int, default=4, help="delivery threads (default 4)")
    jobs_sub.add_parser("list", help="show each job, its schedule, next and last run")
    run = jobs_sub.add_parser("run", help="run one job now (claims its period), then deliver what it queued")
    run.add_argument("name", help="job name (see `alumni-bot jobs list`)")
    run.add_argument(
        "--at", default=None, help="run as of this instant (ISO-8601, e.g. 2026-11-30T09:00+09:00)"
    )
    run.add_argument("--dry-run", action="store_true", help="claim and send nothing; print the messages")
    deliver = jobs_sub.add_parser("deliver", help="run the outbox delivery worker alone")
    deliver.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    deliver.add_argument("--threads", type=int, default=4, help="delivery threads (default 4)")
    deliver.add_argument(
        "--stale-after",
        type=float,
        default=None,
        help="seconds after which a row left 'sending' by a dead worker is checked and resent (default 120)",
    )
    deliver.add_argument("--poll", type=float, default=2.0, help="seconds between passes when idle")
    parser: argparse.ArgumentParser = jobs
    return parser


def run_jobs_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logging_setup import configure_logging
    from bot.services import build_services

    configure_logging(settings.log_level)
    tr = Translator(settings.language)
    services = build_services(settings)
    services.db.upgrade()  # a no-op when up to date; concurrent starters upgrade once (advisory lock)
    if args.jobs_command == "serve":
        from jobs.scheduler import serve_forever

        serve_forever(services, metrics_port=settings.metrics_port, delivery_threads=max(1, args.threads))
        return 0
    if args.jobs_command == "list":
        return _list(services, tr)
    if args.jobs_command == "run":
        return _run(services, tr, args)
    if args.jobs_command == "deliver":
        return _deliver(services, args)
    raise SystemExit(f"unknown jobs command {args.jobs_command}")


# ---------------------------------------------------------------------- list


def _fmt_instant(value: datetime | None, settings: Settings) -> str:
    if value is None:
        return "—"
    return value.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")


def _list(services: Any, tr: Translator) -> int:
    from jobs.scheduler import describe_cron, describe_jobs
    from models.jobrun import last_run

    rows = [
        (
            tr("jobs.cli.col_job"),
            tr("jobs.cli.col_schedule", zone=services.settings.timezone),
            tr("jobs.cli.col_next"),
            tr("jobs.cli.col_last"),
        )
    ]
    for item in describe_jobs(services):
        with services.db.session() as session:
            last = last_run(session, job=item["name"])
        last_text = (
            tr("jobs.cli.last_run", period=last.period, status=last.status)
            if last is not None
            else tr("jobs.cli.never")
        )
        rows.append(
            (
                item["name"],
                describe_cron(item["cron"]),
                _fmt_instant(item["next_run"], services.settings),
                last_text,
            )
        )
        rows.append(("", "  " + item["description"], "", ""))
    if len(rows) == 1:
        print(tr("jobs.cli.no_jobs"))
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


# ---------------------------------------------------------------------- run


def _parse_at(raw: str | None, settings: Settings) -> datetime | None:
    if raw is None:
        return None
    value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.zone)  # a local time means ALUMNI_TIMEZONE
    return value


def _run(services: Any, tr: Translator, args: argparse.Namespace) -> int:
    from jobs.base import discover_jobs
    from jobs.delivery import deliver_keys
    from jobs.runner import UnknownJob, run_job
    from models.outbox import FAILED, SENT, statuses

    try:
        at = _parse_at(args.at, services.settings)
    except ValueError:
        print(tr("jobs.cli.bad_at", value=args.at), file=sys.stderr)
        return 2
    try:
        result = run_job(services, args.name, at=at, dry_run=args.dry_run)
    except UnknownJob:
        names = ", ".join(sorted(discover_jobs(services.settings.jobs_extra_modules))) or "—"
        print(tr("jobs.cli.unknown_job", name=args.name, names=names), file=sys.stderr)
        return 2
    except Exception as exc:
        print(tr("jobs.cli.job_failed", job=args.name, error=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return 1
    at_text = _fmt_instant(result.scheduled_for, services.settings)
    if args.dry_run:
        print(
            tr(
                "jobs.cli.dry_run_header",
                job=result.job,
                period=result.period,
                at=at_text,
                count=len(result.queued),
            )
        )
        for index, item in enumerate(result.queued, start=1):
            print()
            print(
                tr(
                    "jobs.cli.dry_run_message",
                    index=index,
                    count=len(result.queued),
                    recipient=item["recipient"],
                    purpose=item["purpose"],
                    period=item["period"],
                )
            )
            print(render_message(item["message"]))
        return 0
    if not result.claimed:
        print(tr("jobs.cli.already_claimed", job=result.job, period=result.period, status=result.status))
        return 0
    print(tr("jobs.cli.ran", job=result.job, period=result.period, at=at_text, count=len(result.queued)))
    if not result.queued:
        return 0
    outcome = deliver_keys(services, result.keys)
    with services.db.session() as session:
        rows = statuses(session, result.keys)
    sent = sum(1 for s in outcome.values() if s == SENT)
    failed = [rows[k] for k, s in outcome.items() if s == FAILED]
    print(
        tr(
            "jobs.cli.delivered",
            sent=sent,
            total=len(result.keys),
            failed=len(failed),
            waiting=len(result.keys) - sent - len(failed),
        )
    )
    for row in failed:
        print(tr("jobs.cli.failed_row", recipient=row.recipient, purpose=row.purpose, error=row.error or ""))
    return 0 if not failed else 1


# ---------------------------------------------------------------------- deliver


def _deliver(services: Any, args: argparse.Namespace) -> int:
    from jobs.delivery import DeliveryLoop, DeliveryOptions, deliver_due, deliverer_for

    options = DeliveryOptions()
    if args.stale_after is not None:
        options.stale_after = timedelta(seconds=args.stale_after)
    if args.once:
        deliverer_for(services).options = options
        total = 0
        while True:
            handled = deliver_due(services, limit=500)
            total += handled
            if handled == 0:
                break
        print(total)
        return 0
    loop = DeliveryLoop(services, poll_interval=args.poll, threads=max(1, args.threads), options=options)
    loop.start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    loop.stop()
    return 0


# ---------------------------------------------------------------------- terminal rendering

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_BARE_LINK = re.compile(r"<(https?://[^>]+)>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_MENTION = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]*))?>")


def mrkdwn_to_terminal(text: str) -> str:
    """Slack mrkdwn made readable in a terminal: links as `label (url)`, date tokens as their fallback."""
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    text = _MENTION.sub(
        lambda m: m.group(3) or f"{m.group(1) if m.group(1) != '!' else '@'}{m.group(2)}", text
    )
    return html.unescape(text)


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return mrkdwn_to_terminal(str(obj.get("text", "")))
    return ""


def render_message(message: dict[str, Any]) -> str:
    """A message's blocks (or its text) as plain lines for a terminal."""
    blocks = message.get("blocks")
    if not blocks:
        return mrkdwn_to_terminal(str(message.get("text", "")))
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"))
            lines += ["", title, "=" * min(60, max(len(title), 3))]
        elif kind == "section":
            if block.get("text"):
                lines.append(_text_of(block["text"]))
            lines += [f"  • {_text_of(f)}" for f in block.get("fields") or []]
        elif kind == "context":
            lines.append("  " + "  ".join(_text_of(e) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            labels = [_text_of(e.get("text")) for e in block.get("elements") or []]
            lines.append("  " + "  ".join(f"[{label}]" for label in labels))
        else:
            lines.append(f"[{kind}] {json.dumps(block, ensure_ascii=False)[:200]}")
    return "\n".join(lines).strip("\n")
