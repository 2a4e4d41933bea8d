"""Invitations at scale, on SQLite and PostgreSQL: "invite all" over a roster of people not in Slack, HR's
list (first and last page), sending through a local SMTP server (aiosmtpd), a re-import that links a third
of them (stopping their invitations), the invitation funnel and the monthly report with its funnels.

    .venv/bin/python -m benchmarks.invitations [ROWS] [EMAILS]

Creates throwaway databases (a temp SQLite file; a database on TEST_DATABASE_URL's server) and drops them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.config import Settings
from jobs.invitations import InvitationDeliveryOptions, deliver_invitations
from models.actors import Actor
from models.db import Database
from models.invitation import invitation_funnel, not_in_slack, queue_invitations
from models.program_settings import DEFAULTS
from models.report import Month, monthly_report
from models.roster import ParsedRoster, RosterRecord, RosterRow, SlackAccount, import_roster
from models.timeutil import now
from tests.databases import PostgresFactory, postgres_reachable
from tests.smtp_server import running_smtp_server

HR = Actor("bench", is_hr=True)


def timed(out: dict[str, float], label: str, work: Callable[[], object]) -> None:
    start = time.perf_counter()
    work()
    out[label] = time.perf_counter() - start


def run(db: Database, rows: int, emails: int) -> dict[str, float]:
    out: dict[str, float] = {}
    moment = now()
    with db.session() as session:
        session.execute(
            insert(RosterRecord),
            [
                {
                    "email": f"p{n:06d}@example.com",
                    "name": f"Person {n:06d}",
                    "department": "",
                    "first_imported_at": moment,
                }
                for n in range(rows)
            ],
        )

    def invite_all() -> None:
        with db.session() as session:
            queue_invitations(session, actor=HR, all_not_in_slack=True)

    timed(out, f"invite all {rows}", invite_all)

    def pages() -> None:
        with db.session() as session:
            not_in_slack(session, actor=HR, offset=0, limit=20)

    timed(out, "HR list, first page", pages)

    def last_page() -> None:
        with db.session() as session:
            not_in_slack(session, actor=HR, offset=max(0, rows - 20), limit=20)

    timed(out, "HR list, last page", last_page)
    with running_smtp_server() as server:
        settings = Settings(
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_starttls=False,
            smtp_from="alumni@example.com",
            join_url="https://join.slack.com/t/x/shared_invite/zt-1",
        )
        options = InvitationDeliveryOptions(max_per_run=emails)
        timed(out, f"send {emails} emails", lambda: deliver_invitations(db, settings, options=options))
        assert len(server.received) == emails, len(server.received)
    out[f"per email (of {emails})"] = out[f"send {emails} emails"] / max(1, emails)
    linked = [
        RosterRow(n, f"p{n:06d}@example.com", f"Person {n:06d}", "", None, None) for n in range(0, rows, 3)
    ]
    accounts = {row.email: SlackAccount(f"U{row.line:08d}", row.name) for row in linked}

    def reimport() -> None:
        with db.session() as session:
            import_roster(session, actor=HR, parsed=ParsedRoster(rows=linked), slack_accounts=accounts)

    timed(out, f"re-import linking {len(linked)}", reimport)

    def funnel() -> None:
        with db.session() as session:
            invitation_funnel(session, since=None, until=now())

    timed(out, "invitation funnel", funnel)
    zone = ZoneInfo("Asia/Tokyo")

    def report() -> None:
        with db.session() as session:
            monthly_report(session, month=Month.containing(now(), zone), zone=zone, defaults=DEFAULTS)

    timed(out, "monthly report (with funnels)", report)
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    emails = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        print("sqlite", {k: f"{v * 1000:.1f} ms" for k, v in run(db, rows, emails).items()})
        db.dispose()
    if postgres_reachable() is None:
        factory = PostgresFactory("bench-invitations")
        url = factory.create()
        db = Database(url)
        try:
            print("postgres", {k: f"{v * 1000:.1f} ms" for k, v in run(db, rows, emails).items()})
        finally:
            db.dispose()
            factory.drop(url)
            factory.close()


if __name__ == "__main__":
    main()
