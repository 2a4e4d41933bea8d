"""The monthly report's figures equal counts computed here, independently, from the seeded rows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models.actors import Actor
from models.checkin import CheckIn
from models.db import Database
from models.event import Event, EventFeedback, Rsvp
from models.feedback import Feedback
from models.member import Member
from models.opportunity import Interest, Opportunity
from models.program_settings import DEFAULTS, update_program_settings
from models.referral import Referral, ReferralStatusChange
from models.report import Month, figures, monthly_report

ZONE = ZoneInfo("Asia/Tokyo")
OCT = Month(2026, 10)
SEP = Month(2026, 9)
START = datetime(2026, 7, 1, tzinfo=UTC)
KINDS = ("job", "gig", "collaboration", "rehire")
STATUSES = ("submitted", "in_review", "interviewing", "hired", "not_a_fit")


def _local_month(instant: datetime) -> Month:
    local = instant.astimezone(ZONE)
    return Month(local.year, local.month)


@dataclass
class Seeded:
    members: list[Member] = field(default_factory=list)
    activity: list[tuple[Month, int]] = field(default_factory=list)  # (month, member id)
    checkins: list[datetime] = field(default_factory=list)
    opportunities: list[tuple[datetime, str]] = field(default_factory=list)
    rehires: list[datetime] = field(default_factory=list)
    interests: list[datetime] = field(default_factory=list)
    referrals: list[tuple[datetime, str]] = field(default_factory=list)
    hires: list[datetime] = field(default_factory=list)
    events: list[tuple[datetime, bool, int, list[int]]] = field(
        default_factory=list
    )  # start, cancelled, attended, ratings
    feedback: list[datetime] = field(default_factory=list)


def _when(rng: random.Random) -> datetime:
    return START + timedelta(minutes=rng.randrange(0, 60 * 24 * 140))


def seed(db: Database) -> Seeded:
    rng = random.Random(7)
    out = Seeded()
    with db.session() as session:
        for i in range(40):
            consented = None if i % 5 == 0 else _when(rng)
            member = Member(slack_user_id=f"UM{i:05d}", display_name=f"m{i}", consented_at=consented)
            if i == 7:
                member.erased_at = datetime(2026, 11, 1, tzinfo=UTC)
            session.add(member)
            out.members.append(member)
        session.flush()
        live = [m for m in out.members if m.erased_at is None]
        # Month boundary cases: 00:30 on Oct 1st in Tokyo is October; 23:59 on Sep 30th is September.
        boundary = [datetime(2026, 9, 30, 15, 30, tzinfo=UTC), datetime(2026, 9, 30, 14, 59, tzinfo=UTC)]
        for n in range(80):
            member = rng.choice(out.members)
            at = boundary[n] if n < 2 else _when(rng)
            session.add(CheckIn(member_id=member.id, text="x", created_at=at))
            out.checkins.append(at)
            out.activity.append((_local_month(at), int(member.id or 0)))
        opportunities = []
        for _ in range(30):
            poster, at, kind = rng.choice(out.members), _when(rng), rng.choice(KINDS)
            opp = Opportunity(
                kind=kind,
                title="t",
                poster_id=poster.slack_user_id or "",
                created_at=at,
                expires_at=at + timedelta(days=30),
            )
            if kind == "rehire" and rng.random() < 0.7:
                opp.status, opp.closed_at = "filled", at + timedelta(days=rng.randrange(1, 40))
                opp.filled_by_member_id = rng.choice(live).id
                out.rehires.append(opp.closed_at)
            session.add(opp)
            opportunities.append(opp)
            out.opportunities.append((at, kind))
            out.activity.append((_local_month(at), int(poster.id or 0)))
        session.flush()
        for _ in range(50):
            member, at = rng.choice(out.members), _when(rng)
            session.add(
                Interest(
                    opportunity_id=rng.choice(opportunities).id or 0,
                    user_id=member.slack_user_id or "",
                    member_id=member.id,
                    created_at=at,
                )
            )
            out.interests.append(at)
            out.activity.append((_local_month(at), int(member.id or 0)))
        for n in range(20):
            referrer, at, status = rng.choice(out.members), _when(rng), rng.choice(STATUSES)
            referral = Referral(
                referrer_id=referrer.slack_user_id or "",
                candidate_name=f"c{n}",
                consent_at=at,
                status=status,
                created_at=at,
                duplicate_key=f"k{n}",
            )
            session.add(referral)
            session.flush()
            out.referrals.append((at, status))
            out.activity.append((_local_month(at), int(referrer.id or 0)))
            if status == "hired":
                hired_at = at + timedelta(days=rng.randrange(1, 30))
                session.add(
                    ReferralStatusChange(
                        referral_id=referral.id or 0,
                        actor_id="U0HR00001",
                        from_status="offer",
                        to_status="hired",
                        at=hired_at,
                    )
                )
                out.hires.append(hired_at)
        for n in range(8):
            starts = _when(rng)
            cancelled = n == 3
            event = Event(
                title="e",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                organizer="U0ORG0001",
                status="cancelled" if cancelled else "scheduled",
            )
            session.add(event)
            session.flush()
            attended, ratings = 0, []
            for member in rng.sample(live, 6):
                went = rng.random() < 0.6
                answered = starts - timedelta(days=rng.randrange(1, 10))
                session.add(
                    Rsvp(
                        event_id=event.id or 0,
                        member_id=member.id or 0,
                        answer="going",
                        attended=went,
                        answered_at=answered,
                    )
                )
                out.activity.append((_local_month(answered), int(member.id or 0)))
                attended += int(went)
                if went and rng.random() < 0.7:
                    rating = rng.randrange(1, 6)
                    session.add(
                        EventFeedback(event_id=event.id or 0, member_id=member.id or 0, rating=rating)
                    )
                    ratings.append(rating)
            out.events.append((starts, cancelled, attended, ratings))
        for _ in range(12):
            member, at = rng.choice(out.members), _when(rng)
            session.add(
                Feedback(
                    member_id=member.id, sender_user_id=member.slack_user_id or "", text="t", created_at=at
                )
            )
            out.feedback.append(at)
            out.activity.append((_local_month(at), int(member.id or 0)))
    return out


def expected(s: Seeded, month: Month) -> dict[str, object]:
    end = month.next().start(ZONE)
    held = [e for e in s.events if _local_month(e[0]) == month and not e[1]]
    ratings = [r for e in held for r in e[3]]
    erased = {m.id for m in s.members if m.erased_at is not None}
    by_kind: dict[str, int] = {}
    for at, kind in s.opportunities:
        if _local_month(at) == month:
            by_kind[kind] = by_kind.get(kind, 0) + 1
    by_status: dict[str, int] = {}
    for at, status in s.referrals:
        if _local_month(at) == month:
            by_status[status] = by_status.get(status, 0) + 1
    return {
        "members": sum(
            1 for m in s.members if m.consented_at and m.consented_at < end and m.erased_at is None
        ),
        "new_members": sum(
            1
            for m in s.members
            if m.consented_at and _local_month(m.consented_at) == month and m.erased_at is None
        ),
        "active_members": len({mid for mon, mid in s.activity if mon == month} - erased),
        "checkins": sum(1 for at in s.checkins if _local_month(at) == month),
        "opportunities_by_kind": by_kind,
        "interest_clicks": sum(1 for at in s.interests if _local_month(at) == month),
        "referrals_by_status": by_status,
        "hires": sum(1 for at in s.hires if _local_month(at) == month),
        "rehires": sum(1 for at in s.rehires if _local_month(at) == month),
        "events_held": len(held),
        "event_attendance": sum(e[2] for e in held),
        "ratings_count": len(ratings),
        "rating_average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "feedback": sum(1 for at in s.feedback if _local_month(at) == month),
    }


def test_figures_equal_independent_counts(db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        for month in (SEP, OCT):
            got = figures(session, month, ZONE)
            want = expected(seeded, month)
            assert {k: getattr(got, k) for k in want} == want, str(month)
    assert expected(seeded, OCT)["checkins"] != 0 and expected(seeded, OCT)["active_members"] != 0


def test_report_compares_with_the_previous_month_and_tracks_goals(db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        update_program_settings(
            session,
            actor=Actor("U0HR00001", is_hr=True),
            changes={"goal_rehires": "10", "goal_members": "50"},
            defaults=DEFAULTS,
        )
    with db.session() as session:
        report = monthly_report(session, month=OCT, zone=ZONE, defaults=DEFAULTS)
    assert report.previous.month == SEP and report.previous.checkins == expected(seeded, SEP)["checkins"]
    assert str(report.series[0][0]) == "2025-11" and str(report.series[-1][0]) == "2026-10"
    assert report.series[-1][1:] == (
        expected(seeded, OCT)["members"],
        expected(seeded, OCT)["active_members"],
    )
    goals = {g.name: (g.target, g.actual) for g in report.goals}
    ytd_rehires = sum(
        1 for at in seeded.rehires if _local_month(at).year == 2026 and _local_month(at).month <= 10
    )
    assert goals == {"members": (50, expected(seeded, OCT)["members"]), "rehires": (10, ytd_rehires)}


def test_month_parsing() -> None:
    assert Month.parse("2026-10") == OCT and str(Month.parse("2026-01").previous()) == "2025-12"
    for bad in ("2026-13", "26-10", "2026/10", "oct"):
        try:
            Month.parse(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
