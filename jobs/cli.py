"""`alumni-bot jobs …`: list the scheduled jobs, serve the scheduler, run one job now."""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import Settings


def add_jobs_parser(sub: Any) -> argparse.ArgumentParser:
    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_sub.add_parser("serve", help="run the scheduler and the delivery worker alone")
    parser: argparse.ArgumentParser = jobs
    return parser


def run_jobs_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logging_setup import configure_logging
    from bot.services import build_services
    from jobs.scheduler import serve_forever

    configure_logging()
    if args.jobs_command == "serve":
        services = build_services(settings)
        services.db.upgrade()
        serve_forever(services)
        return 0
    raise SystemExit(f"unknown jobs command {args.jobs_command}")
