"""The monthly program report: figures for a month, the month before, a 12-month series and goal progress.

Figures come from each feature's table, read by name from `SQLModel.metadata`: a feature that is not part
of this build (its table does not exist) is simply not counted, and its figure is `None` ("—").

Definitions (a month is [1st 00:00, next 1st 00:00) in ALUMNI_TIMEZONE):
- members: consented, not erased, consented before the month's end; new_members: consented in the month;
- active members: distinct members who in the month checked in, posted an opportunity, clicked interest,
  referred someone, RSVPed, or sent feedback;
- check-ins, opportunities by kind, interest clicks, referrals by status: created in the month (status as of
  now); hires: referrals that moved to `hired` in the month; rehires: rehire openings marked filled by a
  member in the month;
- hiring funnel (`PipelineMonth`, 12 months): each stage counts what happened in that month, not a cohort
  (a referral made in March and hired in May counts in March's `referred` and May's `hired`):
  interested = interest clicks; referred = referrals made; interviewing = referrals reaching
  `interviewing` or a later stage (offer, hired) for the first time; hired = referrals moved to `hired`
  (the `hires` figure); rehires = the `rehires` figure above;
- invitation funnel (`models.invitation.invitation_funnel`): everyone imported up to the month's end;
- intros (`models.intro.intro_figures`): rounds held in the month, the groups they made and members paired,
  and for those groups whether someone answered "we met", only "not this time" answers came, or nobody has
  answered yet (the follow-up comes a week after the intro, so a late round's groups are often unanswered);
- news reach (`models.news.news_reach`): posts made in the month, with the reactions and thread replies last
  counted by the daily `news_reach` job (it measures a post for 30 days);
- events: held (not cancelled) events starting in the month; attendance: their RSVPs marked attended
  (`models.event.attended_clause`, the definition the organiser's summary uses too), and how many of them
  started without attendance ever being marked; ratings: count and average of their feedback ratings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

from models.program_settings import ProgramSettings, get_program_settings
from models.tables import import_all
from models.timeutil import as_utc, now

if TYPE_CHECKING:
    from models.intro import IntroFigures
    from models.invitation import InvitationFunnel
    from models.news import NewsReach


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-10` → Month(2026, 10); raises ValueError otherwise."""
        parts = text.strip().split("-")
        if len(parts) != 2 or len(parts[0]) != 4 or not parts[1].isdigit():
            raise ValueError(text)
        year, month = int(parts[0]), int(parts[1])
        if not 1 <= month <= 12 or year < 2000:
            raise ValueError(text)
        return cls(year, month)

    @classmethod
    def containing(cls, instant: datetime, zone: ZoneInfo) -> Month:
        local = instant.astimezone(zone)
        return cls(local.year, local.month)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, zone: ZoneInfo) -> datetime:
        return as_utc(datetime(self.year, self.month, 1, tzinfo=zone))

    def end(self, zone: ZoneInfo) -> datetime:
        return self.next().start(zone)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class Figures:
    """One month's figures. `None` means the feature is not part of this build."""

    month: Month
    members: int = 0
    new_members: int = 0
    active_members: int = 0
    checkins: int | None = None
    opportunities_by_kind: dict[str, int] | None = None
    interest_clicks: int | None = None
    referrals_by_status: dict[str, int] | None = None
    hires: int | None = None
    rehires: int | None = None
    events_held: int | None = None
    event_attendance: int | None = None
    events_unmarked: int | None = None  # held events whose attendance was never marked
    ratings_count: int | None = None
    rating_average: float | None = None
    feedback: int | None = None

    @property
    def opportunities(self) -> int | None:
        return None if self.opportunities_by_kind is None else sum(self.opportunities_by_kind.values())

    @property
    def referrals(self) -> int | None:
        return None if self.referrals_by_status is None else sum(self.referrals_by_status.values())


@dataclass(frozen=True)
class GoalProgress:
    name: str  # members, hires, rehires, events
    target: int
    actual: int


@dataclass(frozen=True)
class PipelineMonth:
    """One month of the hiring funnel (see the module docstring). `None`: the feature is not in this build."""

    month: Month
    interested: int | None
    referred: int | None
    interviewing: int | None
    hired: int | None
    rehires: int | None

    STAGES: ClassVar[tuple[str, ...]] = ("interested", "referred", "interviewing", "hired", "rehires")

    def values(self) -> list[int | None]:
        return [getattr(self, stage) for stage in self.STAGES]


@dataclass
class MonthlyReport:
    month: Month
    current: Figures
    previous: Figures
    series: list[tuple[Month, int, int]] = field(default_factory=list)  # (month, members, active members)
    goals: list[GoalProgress] = field(default_factory=list)
    generated_at: datetime = field(default_factory=now)
    pipeline: list[PipelineMonth] = field(default_factory=list)  # the 12 months of `series`
    invitations: InvitationFunnel | None = None
    intros: IntroFigures | None = None  # None: the intros feature is not part of this build
    news: NewsReach | None = None  # None: the company news feature is not part of this build


def _table(name: str) -> Table | None:
    import_all()
    return SQLModel.metadata.tables.get(name)


def _between(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _count(session: Session, table: Table, *where: ColumnElement[bool]) -> int:
    return int(
        session.connection().execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    )


def _group(session: Session, table: Table, column: Any, *where: ColumnElement[bool]) -> dict[str, int]:
    rows = session.connection().execute(
        select(column, func.count()).select_from(table).where(*where).group_by(column)
    )
    return {str(k): int(v) for k, v in rows}


def _member_ids_for_slack_ids(session: Session, slack_ids: Iterable[str]) -> set[int]:
    member = _table("member")
    ids = sorted(set(slack_ids))
    out: set[int] = set()
    if member is None or not ids:
        return out
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update(
            int(v)
            for v in session.connection()
            .execute(select(member.c.id).where(member.c.slack_user_id.in_(chunk)))
            .scalars()
        )
    return out


def active_member_ids(session: Session, start: datetime, end: datetime) -> set[int]:
    """Members who did anything in [start, end) (see the module docstring), by member id."""
    conn = session.connection()
    ids: set[int] = set()
    slack_ids: set[str] = set()
    by_member = (
        ("checkin", "member_id", "created_at"),
        ("event_rsvp", "member_id", "answered_at"),
        ("feedback", "member_id", "created_at"),
    )
    for name, member_col, time_col in by_member:
        table = _table(name)
        if table is not None:
            ids.update(
                int(v)
                for v in conn.execute(
                    select(table.c[member_col]).where(_between(table.c[time_col], start, end)).distinct()
                ).scalars()
                if v is not None
            )
    by_slack = (
        ("opportunity", "poster_id", "created_at"),
        ("opportunity_interest", "user_id", "created_at"),
        ("referral", "referrer_id", "created_at"),
    )
    for name, user_col, time_col in by_slack:
        table = _table(name)
        if table is not None:
            slack_ids.update(
                str(v)
                for v in conn.execute(
                    select(table.c[user_col]).where(_between(table.c[time_col], start, end)).distinct()
                ).scalars()
                if v
            )
    ids |= _member_ids_for_slack_ids(session, slack_ids)
    member = _table("member")
    if member is not None and ids:
        # Erased members no longer count as anyone.
        erased = set(conn.execute(select(member.c.id).where(member.c.erased_at.is_not(None))).scalars())
        ids -= erased
    return ids


def member_count(session: Session, end: datetime) -> int:
    member = _table("member")
    assert member is not None
    return _count(
        session,
        member,
        member.c.consented_at.is_not(None),
        member.c.consented_at < end,
        member.c.erased_at.is_(None),
    )


def figures(session: Session, month: Month, zone: ZoneInfo) -> Figures:
    start, end = month.start(zone), month.end(zone)
    out = Figures(month=month)
    member = _table("member")
    assert member is not None
    out.members = member_count(session, end)
    out.new_members = _count(
        session, member, _between(member.c.consented_at, start, end), member.c.erased_at.is_(None)
    )
    out.active_members = len(active_member_ids(session, start, end))
    if (checkin := _table("checkin")) is not None:
        out.checkins = _count(session, checkin, _between(checkin.c.created_at, start, end))
    if (opp := _table("opportunity")) is not None:
        out.opportunities_by_kind = _group(session, opp, opp.c.kind, _between(opp.c.created_at, start, end))
        out.rehires = _count(
            session,
            opp,
            opp.c.kind == "rehire",
            opp.c.status == "filled",
            opp.c.filled_by_member_id.is_not(None),
            _between(opp.c.closed_at, start, end),
        )
    if (interest := _table("opportunity_interest")) is not None:
        out.interest_clicks = _count(session, interest, _between(interest.c.created_at, start, end))
    if (ref := _table("referral")) is not None:
        out.referrals_by_status = _group(session, ref, ref.c.status, _between(ref.c.created_at, start, end))
        if (change := _table("referral_status_change")) is not None:
            out.hires = int(
                session.connection()
                .execute(
                    select(func.count(func.distinct(change.c.referral_id))).where(
                        change.c.to_status == "hired", _between(change.c.at, start, end)
                    )
                )
                .scalar_one()
            )
    if (event := _table("event")) is not None:
        held = and_(event.c.status != "cancelled", _between(event.c.starts_at, start, end))
        out.events_held = _count(session, event, held)
        held_ids = select(event.c.id).where(held)
        ended_unmarked = and_(event.c.ends_at <= now(), event.c.attendance_marked_at.is_(None))
        out.events_unmarked = _count(session, event, held, ended_unmarked)
        if (rsvp := _table("event_rsvp")) is not None:
            from models.event import attended_clause  # the events feature exists: its table does

            out.event_attendance = _count(
                session, rsvp, rsvp.c.event_id.in_(held_ids), attended_clause(rsvp.c.attended)
            )
        if (fb := _table("event_feedback")) is not None:
            count, avg = (
                session.connection()
                .execute(
                    select(func.count(fb.c.rating), func.avg(fb.c.rating)).where(
                        fb.c.event_id.in_(held_ids), fb.c.rating.is_not(None)
                    )
                )
                .one()
            )
            out.ratings_count = int(count)
            out.rating_average = round(float(avg), 2) if avg is not None else None
    if (feedback := _table("feedback")) is not None:
        out.feedback = _count(session, feedback, _between(feedback.c.created_at, start, end))
    return out


# Stages a referral passes on its way to a hire; reaching any of them counts as reaching interviews.
_INTERVIEWING_OR_LATER = ("interviewing", "offer", "hired")


def pipeline_month(session: Session, month: Month, zone: ZoneInfo) -> PipelineMonth:
    """The hiring funnel of one month (see the module docstring)."""
    start, end = month.start(zone), month.end(zone)
    f = figures(session, month, zone)
    interviewing: int | None = None
    if (change := _table("referral_status_change")) is not None:
        first_reached = (
            select(change.c.referral_id, func.min(change.c.at).label("reached"))
            .where(change.c.to_status.in_(_INTERVIEWING_OR_LATER))
            .group_by(change.c.referral_id)
            .subquery()
        )
        interviewing = int(
            session.connection()
            .execute(
                select(func.count())
                .select_from(first_reached)
                .where(_between(first_reached.c.reached, start, end))
            )
            .scalar_one()
        )
    return PipelineMonth(
        month=month,
        interested=f.interest_clicks,
        referred=f.referrals,
        interviewing=interviewing,
        hired=f.hires,
        rehires=f.rehires,
    )


def pipeline_series(session: Session, *, months: Iterable[Month], zone: ZoneInfo) -> list[PipelineMonth]:
    """The hiring funnel of each month, in the order given."""
    return [pipeline_month(session, m, zone) for m in months]


def _year_to_date(session: Session, month: Month, zone: ZoneInfo) -> dict[str, int]:
    """Goal progress from January to the end of `month` (members: the count at the month's end)."""
    totals = {"members": member_count(session, month.end(zone)), "hires": 0, "rehires": 0, "events": 0}
    current = Month(month.year, 1)
    while True:
        f = figures(session, current, zone)
        totals["hires"] += f.hires or 0
        totals["rehires"] += f.rehires or 0
        totals["events"] += f.events_held or 0
        if current == month:
            return totals
        current = current.next()


def monthly_report(
    session: Session, *, month: Month, zone: ZoneInfo, defaults: ProgramSettings
) -> MonthlyReport:
    """The report for `month`: its figures, the previous month's, 12 months of members and activity, goals."""
    current = figures(session, month, zone)
    report = MonthlyReport(month=month, current=current, previous=figures(session, month.previous(), zone))
    months = [month]
    for _ in range(11):
        months.insert(0, months[0].previous())
    for m in months:
        start, end = m.start(zone), m.end(zone)
        report.series.append((m, member_count(session, end), len(active_member_ids(session, start, end))))
    report.pipeline = pipeline_series(session, months=months, zone=zone)
    from models.invitation import invitation_funnel  # imports this module (for the activity definition)

    report.invitations = invitation_funnel(session, since=None, until=month.end(zone))
    start, end = month.start(zone), month.end(zone)
    if _table("intro_round") is not None:
        from models.intro import intro_figures

        report.intros = intro_figures(session, since=start, until=end)
    if _table("news_post") is not None:
        from models.news import news_reach

        report.news = news_reach(session, since=start, until=end)
    goals = get_program_settings(session, defaults=defaults).goals()
    if goals:
        actual = _year_to_date(session, month, zone)
        report.goals = [GoalProgress(name, target, actual.get(name, 0)) for name, target in goals.items()]
    return report


def last_complete_month(at: datetime, zone: ZoneInfo) -> Month:
    """The month before the one containing `at` (what the monthly job reports on)."""
    return Month.containing(at, zone).previous()


def month_of_date(day: date) -> Month:
    return Month(day.year, day.month)
