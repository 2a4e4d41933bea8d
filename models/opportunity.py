"""Opportunities (jobs, gigs, collaborations, HR's rehire openings) and the interest members show in them.

Domain rules live here: who may post what (only HR posts `rehire`), field validation, who may edit, fill,
close or extend a post (its poster or HR), interest recorded once per member and post, expiry.
Every write keeps the search index (`models.search`, kind `opportunity`) current in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Column, Index, Integer, Text, UniqueConstraint, case, func
from sqlmodel import Field, Session, SQLModel, col, select

from models import search, validation
from models.actors import Actor
from models.audit import record
from models.errors import DomainError, FieldErrors, PermissionDenied
from models.member import ensure_member, get_member
from models.timeutil import as_utc, now
from models.types import UTCDateTime, get_or_not_found

SEARCH_KIND = "opportunity"

KIND_JOB = "job"
KIND_GIG = "gig"
KIND_COLLABORATION = "collaboration"
KIND_REHIRE = "rehire"
KINDS = (KIND_JOB, KIND_GIG, KIND_COLLABORATION, KIND_REHIRE)

WORK_STYLES = ("onsite", "hybrid", "remote")

STATUS_OPEN = "open"
STATUS_FILLED = "filled"
STATUS_CLOSED = "closed"
STATUS_EXPIRED = "expired"
STATUSES = (STATUS_OPEN, STATUS_FILLED, STATUS_CLOSED, STATUS_EXPIRED)

MAX_TITLE = 150
MAX_COMPANY = 150
MAX_DESCRIPTION = 3000
MAX_LOCATION = 150
MAX_COMPENSATION = 200
MAX_URL = 500
MAX_CONTACT = 300
MAX_SKILLS = 20
MAX_SKILL = 50
DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 180
EXTEND_DAYS = 30
REMIND_BEFORE = timedelta(days=3)


class Opportunity(SQLModel, table=True):
    """One post. `poster_id` is the Slack user ID; `channel_id`/`message_ts` locate its announcement."""

    __tablename__ = "opportunity"
    __table_args__ = (
        Index("ix_opportunity_status_created", "status", "created_at"),
        Index("ix_opportunity_status_expires", "status", "expires_at"),
        Index("ix_opportunity_poster", "poster_id", "created_at"),
        # The Home tab's "rehire openings first": without it, finding the few rehire posts scans every open row.
        Index("ix_opportunity_kind_status_created", "kind", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=MAX_TITLE)
    company: str = Field(default="", max_length=MAX_COMPANY)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    location: str = Field(default="", max_length=MAX_LOCATION)
    work_style: str = Field(default="", max_length=16)
    skills: str = Field(default="", max_length=2000)  # comma-separated tags; see `skill_list`
    compensation: str = Field(default="", max_length=MAX_COMPENSATION)
    apply_url: str = Field(default="", max_length=MAX_URL)
    apply_contact: str = Field(default="", max_length=MAX_CONTACT)
    poster_id: str = Field(max_length=32)
    status: str = Field(default=STATUS_OPEN, max_length=16)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    filled_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    # Bumped by each render of the announcement (models.render): the newest render wins across processes.
    render_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    permalink: str | None = Field(default=None, max_length=500)

    @property
    def is_open(self) -> bool:
        return self.status == STATUS_OPEN

    @property
    def is_rehire(self) -> bool:
        return self.kind == KIND_REHIRE

    @property
    def skill_list(self) -> list[str]:
        return [s for s in (part.strip() for part in self.skills.split(",")) if s]

    @property
    def has_announcement(self) -> bool:
        return bool(self.channel_id and self.message_ts)


class Interest(SQLModel, table=True):
    """A member said "I'm interested" in an opportunity (once per pair)."""

    __tablename__ = "opportunity_interest"
    __table_args__ = (UniqueConstraint("opportunity_id", "user_id", name="uq_interest_opportunity_user"),)

    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    user_id: str = Field(max_length=32)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


@dataclass
class Draft:
    """What the post modal submits (strings as typed; `expires_on` a local date or None for the default)."""

    kind: str = KIND_JOB
    title: str = ""
    company: str = ""
    description: str = ""
    location: str = ""
    work_style: str = ""
    skills: str = ""
    compensation: str = ""
    apply_url: str = ""
    apply_contact: str = ""
    expires_on: date | str | None = None

    @classmethod
    def of(cls, opportunity: Opportunity, zone: ZoneInfo) -> Draft:
        """The draft an edit starts from."""
        return cls(
            kind=opportunity.kind,
            title=opportunity.title,
            company=opportunity.company,
            description=opportunity.description,
            location=opportunity.location,
            work_style=opportunity.work_style,
            skills=opportunity.skills,
            compensation=opportunity.compensation,
            apply_url=opportunity.apply_url,
            apply_contact=opportunity.apply_contact,
            expires_on=as_utc(opportunity.expires_at).astimezone(zone).date(),
        )


# -- validation ----------------------------------------------------------------------------------------


is_http_url = validation.is_http_url


def parse_skills(raw: str) -> list[str]:
    """Tags from a comma (or 、 / ，) separated text, de-duplicated case-insensitively."""
    out: list[str] = []
    for part in raw.replace("、", ",").replace("，", ",").replace("\n", ",").split(","):
        tag = " ".join(part.split())
        if tag and tag.casefold() not in {t.casefold() for t in out}:
            out.append(tag)
    return out


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    return as_utc(datetime.combine(day, time(23, 59, 59), tzinfo=zone))


def _validate(draft: Draft, *, actor: Actor, zone: ZoneInfo, at: datetime) -> dict[str, Any]:
    """Check every field; returns the clean values or raises ValidationFailed / PermissionDenied."""
    errs = FieldErrors()
    if draft.kind not in KINDS:
        errs.add("kind", "required" if not draft.kind else "invalid")
    elif draft.kind == KIND_REHIRE and not actor.is_hr:
        raise PermissionDenied("opportunities.errors.rehire_hr_only", field="kind")
    title = (draft.title or "").strip()
    if not title:
        errs.add("title", "required")
    elif len(title) > MAX_TITLE:
        errs.add("title", "too_long", max=MAX_TITLE)
    description = (draft.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errs.add("description", "too_long", max=MAX_DESCRIPTION)
    for name, limit in (
        ("company", MAX_COMPANY),
        ("location", MAX_LOCATION),
        ("compensation", MAX_COMPENSATION),
        ("apply_contact", MAX_CONTACT),
    ):
        if len((getattr(draft, name) or "").strip()) > limit:
            errs.add(name, "too_long", max=limit)
    work_style = (draft.work_style or "").strip()
    if work_style and work_style not in WORK_STYLES:
        errs.add("work_style", "invalid")
    skills = parse_skills(draft.skills or "")
    if len(skills) > MAX_SKILLS:
        errs.add("skills", "opportunities.errors.too_many_skills", max=MAX_SKILLS)
    elif any(len(s) > MAX_SKILL for s in skills):
        errs.add("skills", "too_long", max=MAX_SKILL)
    url = (draft.apply_url or "").strip()
    if url and (len(url) > MAX_URL or not is_http_url(url)):
        errs.add("apply_url", "invalid_url")
    today = at.astimezone(zone).date()
    expires_on = draft.expires_on
    if isinstance(expires_on, str):
        try:
            expires_on = date.fromisoformat(expires_on) if expires_on.strip() else None
        except ValueError:
            errs.add("expires_on", "invalid_date")
            expires_on = None
    if expires_on is None:
        expires_at = at + timedelta(days=DEFAULT_EXPIRY_DAYS)
    else:
        if expires_on < today:
            errs.add("expires_on", "opportunities.errors.expiry_past")
        elif expires_on > today + timedelta(days=MAX_EXPIRY_DAYS):
            errs.add("expires_on", "opportunities.errors.expiry_too_far", max=MAX_EXPIRY_DAYS)
        expires_at = _end_of_day(expires_on, zone)
    errs.raise_if_any()
    return {
        "kind": draft.kind,
        "title": title,
        "company": (draft.company or "").strip(),
        "description": description,
        "location": (draft.location or "").strip(),
        "work_style": work_style,
        "skills": ", ".join(skills),
        "compensation": (draft.compensation or "").strip(),
        "apply_url": url,
        "apply_contact": (draft.apply_contact or "").strip(),
        "expires_at": expires_at,
    }


def _index(session: Session, opportunity: Opportunity) -> None:
    assert opportunity.id is not None
    search.index_document(
        session,
        kind=SEARCH_KIND,
        ref_id=opportunity.id,
        text=search.document_text(
            opportunity.title, opportunity.company, opportunity.description, opportunity.skills
        ),
        sort_key=opportunity.created_at,
    )


# -- writes ------------------------------------------------------------------------------------------


def post_opportunity(
    session: Session, *, actor: Actor, draft: Draft, zone: ZoneInfo | str = "UTC"
) -> Opportunity:
    """Validate and store a new open opportunity (indexed for search). Only HR may post `rehire`."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    at = now()
    values = _validate(draft, actor=actor, zone=tz, at=at)
    opportunity = Opportunity(**values, poster_id=actor.user_id, created_at=at, updated_at=at)
    session.add(opportunity)
    session.flush()
    _index(session, opportunity)
    record(session, actor=actor.user_id, action="opportunity.post", target=str(opportunity.id))
    return opportunity


def get_opportunity(session: Session, opportunity_id: int) -> Opportunity:
    return get_or_not_found(session, Opportunity, opportunity_id)


def can_manage(actor: Actor, opportunity: Opportunity) -> bool:
    """The poster and HR may edit, fill, close and extend a post."""
    return actor.is_hr or actor.user_id == opportunity.poster_id


def _managed(session: Session, actor: Actor, opportunity_id: int) -> Opportunity:
    opportunity = get_opportunity(session, opportunity_id)
    if not can_manage(actor, opportunity):
        raise PermissionDenied("opportunities.errors.poster_only")
    return opportunity


def update_opportunity(
    session: Session, *, actor: Actor, opportunity_id: int, draft: Draft, zone: ZoneInfo | str = "UTC"
) -> Opportunity:
    """Edit a post (poster or HR). Choosing `rehire` still needs HR."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    opportunity = _managed(session, actor, opportunity_id)
    if opportunity.kind == KIND_REHIRE and draft.kind != KIND_REHIRE and not actor.is_hr:
        raise PermissionDenied("opportunities.errors.rehire_hr_only", field="kind")
    at = now()
    values = _validate(draft, actor=actor, zone=tz, at=at)
    for name, value in values.items():
        setattr(opportunity, name, value)
    if opportunity.status == STATUS_EXPIRED and opportunity.expires_at > at:
        opportunity.status = STATUS_OPEN
    opportunity.updated_at = at
    session.add(opportunity)
    session.flush()
    _index(session, opportunity)
    record(session, actor=actor.user_id, action="opportunity.edit", target=str(opportunity.id))
    return opportunity


def mark_filled(
    session: Session, *, actor: Actor, opportunity_id: int, filled_by_user_id: str | None = None
) -> Opportunity:
    """Mark a post filled, optionally naming the member who filled it (counts rehires)."""
    opportunity = _managed(session, actor, opportunity_id)
    if opportunity.status in (STATUS_CLOSED, STATUS_EXPIRED):
        raise DomainError("opportunities.errors.not_open")
    if filled_by_user_id:
        member = ensure_member(session, slack_user_id=filled_by_user_id)
        opportunity.filled_by_member_id = member.id
    opportunity.status = STATUS_FILLED
    opportunity.closed_at = opportunity.updated_at = now()
    session.add(opportunity)
    record(
        session,
        actor=actor.user_id,
        action="opportunity.filled",
        target=str(opportunity.id),
        filled_by_member_id=opportunity.filled_by_member_id,
    )
    return opportunity


def close_opportunity(session: Session, *, actor: Actor, opportunity_id: int) -> Opportunity:
    """Close a post (poster or HR). Closing a closed post changes nothing."""
    opportunity = _managed(session, actor, opportunity_id)
    if opportunity.status != STATUS_CLOSED:
        opportunity.status = STATUS_CLOSED
        opportunity.closed_at = opportunity.updated_at = now()
        session.add(opportunity)
        record(session, actor=actor.user_id, action="opportunity.close", target=str(opportunity.id))
    return opportunity


def extend_opportunity(
    session: Session, *, actor: Actor, opportunity_id: int, days: int = EXTEND_DAYS
) -> Opportunity:
    """Push the expiry `days` further (from now when already past), reopening an expired post."""
    opportunity = _managed(session, actor, opportunity_id)
    if opportunity.status in (STATUS_CLOSED, STATUS_FILLED):
        raise DomainError("opportunities.errors.not_open")
    at = now()
    base = max(as_utc(opportunity.expires_at), at)
    opportunity.expires_at = min(base + timedelta(days=days), at + timedelta(days=MAX_EXPIRY_DAYS))
    opportunity.status = STATUS_OPEN
    opportunity.updated_at = at
    session.add(opportunity)
    record(session, actor=actor.user_id, action="opportunity.extend", target=str(opportunity.id))
    return opportunity


def set_announcement(
    session: Session, *, opportunity_id: int, channel_id: str, message_ts: str, permalink: str | None = None
) -> Opportunity:
    """Remember where the announcement was posted (so every change can update it in place)."""
    opportunity = get_opportunity(session, opportunity_id)
    opportunity.channel_id = channel_id
    opportunity.message_ts = message_ts
    opportunity.permalink = permalink
    session.add(opportunity)
    return opportunity


@dataclass(frozen=True)
class InterestResult:
    opportunity: Opportunity
    created: bool  # False when this member had already said so


def record_interest(session: Session, *, actor: Actor, opportunity_id: int) -> InterestResult:
    """Record that a member is interested, once per member and post. Not on one's own or a closed post."""
    opportunity = get_opportunity(session, opportunity_id)
    if opportunity.poster_id == actor.user_id:
        raise DomainError("opportunities.errors.own_post")
    existing = session.exec(
        select(Interest).where(Interest.opportunity_id == opportunity_id, Interest.user_id == actor.user_id)
    ).first()
    if existing is not None:
        return InterestResult(opportunity, False)
    if not opportunity.is_open:
        raise DomainError("opportunities.errors.not_open")
    member = get_member(session, slack_user_id=actor.user_id)
    interest = Interest(
        opportunity_id=opportunity_id, user_id=actor.user_id, member_id=member.id if member else None
    )
    nested = session.begin_nested()
    try:
        session.add(interest)
        session.flush()
    except Exception:  # a concurrent double click inserted the same pair first
        nested.rollback()
        return InterestResult(opportunity, False)
    nested.commit()
    return InterestResult(opportunity, True)


def interest_count(session: Session, opportunity_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(Interest).where(Interest.opportunity_id == opportunity_id)
        ).one()
    )


@dataclass(frozen=True)
class ProfileSummary:
    """What the poster may see of an interested member (only with consent and members visibility)."""

    current_company: str
    current_role: str
    skills: str


def shareable_profile(session: Session, *, user_id: str, viewer: Actor) -> ProfileSummary | None:
    """The member's profile summary when `viewer` (the poster) may see it: the member consented and
    their profile's visibility allows it (`models.profile.can_view`)."""
    from models.profile import can_view  # models.profile imports this module

    member = get_member(session, slack_user_id=user_id)
    if member is None or not member.has_consented or not can_view(member, viewer):
        return None
    if not (member.current_company or member.current_role or member.skills):
        return None
    return ProfileSummary(member.current_company, member.current_role, member.skills)


# -- reads -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[Opportunity]
    offset: int
    has_more: bool


def _open_now(stmt: Any, at: datetime) -> Any:
    return stmt.where(Opportunity.status == STATUS_OPEN, col(Opportunity.expires_at) > at)


def search_opportunities(
    session: Session,
    *,
    query: str | None = None,
    kind: str | None = None,
    work_style: str | None = None,
    limit: int = 8,
    offset: int = 0,
) -> Page:
    """Open opportunities matching every word of `query` (title, company, description, skills), newest first."""
    by_kind, by_style = kind in KINDS, work_style in WORK_STYLES

    def restrict(stmt: Any) -> Any:
        # Values as bind parameters: the statement is built once per shape (see `search.search`).
        joined = stmt.join(Opportunity, col(Opportunity.id) == search.SearchEntry.ref_id)
        open_at = sa.bindparam("open_at", type_=UTCDateTime())
        stmt = joined.where(Opportunity.status == STATUS_OPEN, col(Opportunity.expires_at) > open_at)
        if by_kind:
            stmt = stmt.where(Opportunity.kind == sa.bindparam("opportunity_kind"))
        if by_style:
            stmt = stmt.where(Opportunity.work_style == sa.bindparam("work_style"))
        return stmt

    # The posts come with the search's own statement (`also`): one query for the page, not two.
    page = search.search(
        session,
        kind=SEARCH_KIND,
        query=query,
        limit=limit,
        offset=offset,
        restrict=restrict,
        also=(Opportunity,),
        shape=("open opportunities", by_kind, by_style),
        params={"open_at": now(), "opportunity_kind": kind, "work_style": work_style},
    )
    return Page([row[0] for row in page.rows], offset, page.has_more)


def posts_of(session: Session, *, user_id: str, limit: int = 20) -> list[Opportunity]:
    """A member's own posts, newest first, whatever their status."""
    return list(
        session.exec(
            select(Opportunity)
            .where(Opportunity.poster_id == user_id)
            .order_by(col(Opportunity.created_at).desc(), col(Opportunity.id).desc())
            .limit(limit)
        ).all()
    )


def _rehire_first() -> Any:
    return case((col(Opportunity.kind) == KIND_REHIRE, 0), else_=1)


def newest_open(session: Session, *, limit: int = 5, exclude_poster: str | None = None) -> list[Opportunity]:
    """Newest open posts, rehire openings first (App Home)."""
    at = now()
    stmt = _open_now(select(Opportunity), at)
    if exclude_poster:
        stmt = stmt.where(Opportunity.poster_id != exclude_poster)
    # Rehire openings are few: take the newest of them, then the newest of the rest.
    rehire = list(
        session.exec(
            stmt.where(Opportunity.kind == KIND_REHIRE)
            .order_by(col(Opportunity.created_at).desc(), col(Opportunity.id).desc())
            .limit(limit)
        ).all()
    )
    rest = list(
        session.exec(
            stmt.where(Opportunity.kind != KIND_REHIRE)
            .order_by(col(Opportunity.created_at).desc(), col(Opportunity.id).desc())
            .limit(limit - len(rehire))
        ).all()
        if len(rehire) < limit
        else []
    )
    return rehire + rest


def created_between(
    session: Session, *, start: datetime, end: datetime, limit: int = 20
) -> list[Opportunity]:
    """Open posts created in [start, end), rehire first, then newest (the weekly digest)."""
    return list(
        session.exec(
            select(Opportunity)
            .where(
                Opportunity.status == STATUS_OPEN,
                col(Opportunity.created_at) >= start,
                col(Opportunity.created_at) < end,
            )
            .order_by(_rehire_first(), col(Opportunity.created_at).desc(), col(Opportunity.id).desc())
            .limit(limit)
        ).all()
    )


def count_created_between(session: Session, *, start: datetime, end: datetime) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Opportunity)
            .where(
                Opportunity.status == STATUS_OPEN,
                col(Opportunity.created_at) >= start,
                col(Opportunity.created_at) < end,
            )
        ).one()
    )


def closing_between(
    session: Session, *, start: datetime, end: datetime, limit: int = 20
) -> list[Opportunity]:
    """Open posts expiring in [start, end), soonest first."""
    return list(
        session.exec(
            select(Opportunity)
            .where(
                Opportunity.status == STATUS_OPEN,
                col(Opportunity.expires_at) >= start,
                col(Opportunity.expires_at) < end,
            )
            .order_by(col(Opportunity.expires_at), col(Opportunity.id))
            .limit(limit)
        ).all()
    )


def due_to_expire(session: Session, *, at: datetime, limit: int = 500) -> list[Opportunity]:
    """Open posts whose expiry has passed at `at`."""
    return list(
        session.exec(
            select(Opportunity)
            .where(Opportunity.status == STATUS_OPEN, col(Opportunity.expires_at) <= at)
            .order_by(col(Opportunity.expires_at), col(Opportunity.id))
            .limit(limit)
        ).all()
    )


def expire(session: Session, opportunity: Opportunity, *, at: datetime) -> None:
    """Mark one post expired (the daily job)."""
    opportunity.status = STATUS_EXPIRED
    opportunity.closed_at = opportunity.updated_at = at
    session.add(opportunity)
    record(session, actor="system", action="opportunity.expire", target=str(opportunity.id))


def rehires_filled(session: Session, *, start: datetime, end: datetime) -> int:
    """How many rehire openings were filled in [start, end) (for HR's report)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Opportunity)
            .where(
                Opportunity.kind == KIND_REHIRE,
                Opportunity.status == STATUS_FILLED,
                col(Opportunity.closed_at) >= start,
                col(Opportunity.closed_at) < end,
            )
        ).one()
    )
