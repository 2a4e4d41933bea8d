"""The report's hiring funnel by month and its CSV export (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from models.actors import Actor
from models.db import Database
from models.errors import PermissionDenied
from models.export import export_funnel_csv
from models.member import Member
from models.opportunity import Interest, Opportunity
from models.program_settings import DEFAULTS
from models.referral import Referral, ReferralStatusChange
from models.report import Month, monthly_report, pipeline_month

ZONE = ZoneInfo("Asia/Tokyo")
SEP, OCT = Month(2026, 9), Month(2026, 10)
HR = Actor("U0HR00001", is_hr=True)
# 00:30 on October 1st in Tokyo (still September 30th in UTC) belongs to October.
OCT_1_TOKYO = datetime(2026, 9, 30, 15, 30, tzinfo=UTC)
SEP_10 = datetime(2026, 9, 10, 3, 0, tzinfo=UTC)
OCT_10 = datetime(2026, 10, 10, 3, 0, tzinfo=UTC)


def referral(session: Session, n: int, made: datetime, *changes: tuple[str, datetime]) -> None:
    row = Referral(
        referrer_id="U0ALICE01",
        candidate_name=f"c{n}",
        consent_at=made,
        created_at=made,
        status=changes[-1][0] if changes else "submitted",
        duplicate_key=f"k{n}",
    )
    session.add(row)
    session.flush()
    previous = "submitted"
    for status, at in changes:
        session.add(
            ReferralStatusChange(
                referral_id=row.id or 0, actor_id=HR.user_id, from_status=previous, to_status=status, at=at
            )
        )
        previous = status


def seed(db: Database) -> None:
    with db.session() as session:
        alice = Member(slack_user_id="U0ALICE01", consented_at=SEP_10)
        session.add(alice)
        session.flush()
        opening = Opportunity(
            kind="rehire", title="Back", poster_id=HR.user_id, created_at=SEP_10, expires_at=OCT_10
        )
        filled = Opportunity(
            kind="rehire",
            title="Filled",
            poster_id=HR.user_id,
            created_at=SEP_10,
            expires_at=OCT_10,
            status="filled",
            closed_at=OCT_10,
            filled_by_member_id=alice.id,
        )
        session.add_all([opening, filled])
        session.flush()
        session.add(Interest(opportunity_id=opening.id or 0, user_id="U0ALICE01", created_at=SEP_10))
        session.add(Interest(opportunity_id=filled.id or 0, user_id="U0ALICE01", created_at=OCT_1_TOKYO))
        # Made in September, interviews in September, hired in October.
        referral(session, 1, SEP_10, ("interviewing", SEP_10 + timedelta(days=2)), ("hired", OCT_10))
        # Made in September, straight to an offer in October (passed interviews), then back to interviewing.
        referral(
            session,
            2,
            SEP_10,
            ("offer", OCT_1_TOKYO),
            ("interviewing", OCT_10),
        )
        # Made in October, still waiting.
        referral(session, 3, OCT_10)


def test_each_stage_counts_what_happened_in_the_month(db: Database) -> None:
    seed(db)
    with db.session() as session:
        sep, oct_ = pipeline_month(session, SEP, ZONE), pipeline_month(session, OCT, ZONE)
    assert (sep.interested, sep.referred, sep.interviewing, sep.hired, sep.rehires) == (1, 2, 1, 0, 0)
    assert (oct_.interested, oct_.referred, oct_.interviewing, oct_.hired, oct_.rehires) == (1, 1, 1, 1, 1)


def test_the_monthly_report_carries_twelve_months_of_funnel_and_the_invitation_funnel(db: Database) -> None:
    seed(db)
    with db.session() as session:
        report = monthly_report(session, month=OCT, zone=ZONE, defaults=DEFAULTS)
    assert [str(p.month) for p in report.pipeline][-2:] == ["2026-09", "2026-10"]
    assert len(report.pipeline) == 12 and report.pipeline[-1].hired == 1
    assert report.invitations is not None and report.invitations.roster == 0


def test_funnel_csv_is_hr_only_and_opens_in_excel(db: Database) -> None:
    seed(db)
    with db.session() as session, pytest.raises(PermissionDenied):
        export_funnel_csv(session, actor=Actor("U0ALICE01"), month=OCT, zone=ZONE)
    with db.session() as session:
        data, count = export_funnel_csv(session, actor=HR, month=OCT, zone=ZONE, months=3)
    assert count == 3 and data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["month", "interested", "referred", "interviewing", "hired", "rehires"]
    assert rows[1:4] == [
        ["2026-08", "0", "0", "0", "0", "0"],
        ["2026-09", "1", "2", "1", "0", "0"],
        ["2026-10", "1", "1", "1", "1", "1"],
    ]
    assert rows[5] == ["invitations_until", "roster", "invited", "joined", "consented", "active"]
    assert rows[6] == ["2026-10", "0", "0", "0", "0", "0"]
