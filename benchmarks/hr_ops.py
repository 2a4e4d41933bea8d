"""HR operations at scale: roster import (parse + merge) and the monthly report, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.hr_ops [ROWS]

Creates throwaway databases (a temp SQLite file; a database on TEST_DATABASE_URL's server) and drops them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from zoneinfo import ZoneInfo

from bot.charts import members_chart
from models.actors import Actor
from models.db import Database
from models.program_settings import DEFAULTS
from models.report import Month, monthly_report
from models.roster import import_roster, parse_roster
from tests.databases import PostgresFactory, postgres_reachable
from tests.models.test_roster import make_roster


def run(db: Database, rows: int) -> dict[str, float]:
    fixture = make_roster(rows)
    out: dict[str, float] = {}
    start = time.perf_counter()
    parsed = parse_roster(fixture.data)
    out["parse"] = time.perf_counter() - start
    for label in ("first import", "re-import"):
        start = time.perf_counter()
        with db.session() as session:
            import_roster(
                session, actor=Actor("bench", is_hr=True), parsed=parsed, slack_accounts=fixture.accounts
            )
        out[label] = time.perf_counter() - start
    start = time.perf_counter()
    with db.session() as session:
        report = monthly_report(
            session, month=Month(2026, 10), zone=ZoneInfo("Asia/Tokyo"), defaults=DEFAULTS
        )
    out["report"] = time.perf_counter() - start
    start = time.perf_counter()
    members_chart(
        [(str(m), a, b) for m, a, b in report.series], title="t", members_label="m", active_label="a"
    )
    out["chart"] = time.perf_counter() - start
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        print("sqlite", {k: f"{v * 1000:.0f} ms" for k, v in run(db, rows).items()})
        db.dispose()
    if postgres_reachable() is None:
        factory = PostgresFactory("bench")
        url = factory.create()
        db = Database(url)
        try:
            print("postgres", {k: f"{v * 1000:.0f} ms" for k, v in run(db, rows).items()})
        finally:
            db.dispose()
            factory.drop(url)
            factory.close()


if __name__ == "__main__":
    main()
