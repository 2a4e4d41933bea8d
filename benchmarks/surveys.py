"""Pulse surveys at scale: opening for a large audience, the invitation query, answering, results and export,
on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.surveys [MEMBERS]

Creates throwaway databases (a temp SQLite file; a database on TEST_DATABASE_URL's server) and drops them.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.blocks.surveys import chart_series, results_message
from bot.charts import survey_chart
from bot.i18n import Translator
from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.member import Member
from models.timeutil import now
from tests.databases import PostgresFactory, postgres_reachable

HR = Actor("U0BENCHHR", is_hr=True)


def _seed(db: Database, members: int) -> None:
    with db.session() as session:
        for index in range(members):
            session.add(
                Member(
                    slack_user_id=f"U{index:09d}",
                    display_name=f"Member {index}",
                    consented_at=now(),
                    former_department=("Sales", "Engineering", "HR")[index % 3],
                    left_year=2015 + index % 10,
                )
            )


def run(db: Database, members: int) -> dict[str, float]:
    _seed(db, members)
    out: dict[str, float] = {}
    start = time.perf_counter()
    with db.session() as session:
        survey = sv.create_survey(
            session,
            actor=HR,
            draft=sv.SurveyDraft(
                title="Pulse",
                closes_at=now() + timedelta(days=7),
                questions=[
                    sv.QuestionDraft(sv.SCALE, "How happy?"),
                    sv.QuestionDraft(sv.CHOICE, "Which?", ("A", "B", "C", "D")),
                    sv.QuestionDraft(sv.TEXT, "Why?"),
                ],
            ),
        )
        survey_id = int(survey.id or 0)
        sv.open_survey(session, actor=HR, survey_id=survey_id)
    out["open (audience + recipients)"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.session() as session:
        invitations = sv.pending_invitations(session, at=now(), limit=members)
        sv.mark_invited(session, [i.recipient_id for i in invitations], at=now())
    out["invitation query + mark"] = time.perf_counter() - start
    with db.session() as session:
        q1, q2, q3 = (int(q.id or 0) for q in sv.questions_of(session, survey_id=survey_id))
    start = time.perf_counter()
    for index in range(members):
        with db.session() as session:
            sv.submit_answers(
                session,
                actor=Actor(f"U{index:09d}"),
                survey_id=survey_id,
                answers={q1: str(1 + index % 5), q2: str(index % 4), q3: f"because {index}"},
            )
    out["submit, mean per answer"] = (time.perf_counter() - start) / members
    with db.session() as session:
        sv.close_survey(session, actor=HR, survey_id=survey_id)
    start = time.perf_counter()
    with db.session() as session:
        results = sv.survey_results(session, actor=HR, survey_id=survey_id)
    out["results"] = time.perf_counter() - start
    start = time.perf_counter()
    results_message(results, Translator("ja"))
    out["results message"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.session() as session:
        sv.export_results_csv(session, actor=HR, survey_id=survey_id, zone=ZoneInfo("Asia/Tokyo"))
    out["export csv"] = time.perf_counter() - start
    start = time.perf_counter()
    survey_chart(chart_series(results), title="Pulse")
    out["chart"] = time.perf_counter() - start
    return out


def _print(name: str, figures: dict[str, float]) -> None:
    print(name, {k: f"{v * 1000:.1f} ms" for k, v in figures.items()})


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        _print(f"sqlite, {members} members", run(db, members))
        db.dispose()
    if postgres_reachable() is None:
        factory = PostgresFactory("bench")
        url = factory.create()
        db = Database(url)
        try:
            _print(f"postgres, {members} members", run(db, members))
        finally:
            db.dispose()
            factory.drop(url)
            factory.close()


if __name__ == "__main__":
    main()
