"""Profiles: validation and update, consent, who may see whom, directory search and rehire matching.

The profile itself lives on `Member` (models/member.py). Everything here takes a `Session`; nothing knows
about Slack. Form input arrives as `ProfileInput` (strings, as a modal submits them) and is validated per
field: a `ValidationFailed` names the field (the modal's block_id) and a catalog code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    false,
    or_,
    true,
    update,
)
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models import audit
from models.actors import Actor
from models.errors import FieldErrors, NotFound
from models.member import (
    AVAILABILITY_FLAGS,
    SOURCE_IMPORT,
    VISIBILITIES,
    VISIBILITY_HR,
    VISIBILITY_MEMBERS,
    Member,
    ensure_member,
    get_member,
    refresh_search_text,
)
from models.opportunity import (
    KIND_COLLABORATION,
    KIND_GIG,
    KIND_REHIRE,
    STATUS_OPEN,
    Opportunity,
)
from models.textnorm import like_pattern, normalize, query_terms
from models.timeutil import now

# The consent text's version: bump it when what the welcome message says about data use changes.
CONSENT_VERSION = "2026-11"

MIN_YEAR = 1950
SHORT_TEXT_MAX = 200  # department, role, company, location
SKILLS_MAX = 500  # the whole skills field as typed
SKILL_TAG_MAX = 50
SKILL_TAGS_MAX = 30
LONG_TEXT_MAX = 2000  # interests, "what's new"

SHORT_FIELDS = ("former_department", "former_role", "current_company", "current_role", "location")

# Search words that mean an availability flag, in English and Japanese (already normalised).
AVAILABILITY_KEYWORDS: dict[str, frozenset[str]] = {
    "rehire": frozenset({"rehire", "boomerang", "出戻り", "再入社", "復職", "カムバック"}),
    "gigs": frozenset(
        {
            "gig",
            "gigs",
            "contract",
            "contractor",
            "freelance",
            "freelancer",
            "業務委託",
            "副業",
            "フリーランス",
        }
    ),
    "collaboration": frozenset(
        {"collaboration", "collab", "advisory", "advisor", "adviser", "協業", "顧問", "アドバイザー"}
    ),
    "mentoring": frozenset({"mentor", "mentors", "mentoring", "メンター", "メンタリング"}),
    "speaking": frozenset({"speaker", "speaking", "speak", "talk", "talks", "登壇", "講演", "スピーカー"}),
}

_SKILL_SEPARATORS = re.compile(r"[,、，;；\n]+")
_SPACES = re.compile(r"\s+")


@dataclass
class ProfileInput:
    """What the profile modal submits (strings as typed; flags as the checked values)."""

    former_department: str = ""
    former_role: str = ""
    joined_year: str = ""
    left_year: str = ""
    current_company: str = ""
    current_role: str = ""
    location: str = ""
    skills: str = ""
    interests: str = ""
    availability: list[str] = field(default_factory=list)
    available_until: str | None = None
    visibility: str | None = VISIBILITY_MEMBERS


@dataclass
class CleanProfile:
    """A validated profile, ready to store."""

    former_department: str
    former_role: str
    joined_year: int | None
    left_year: int | None
    current_company: str
    current_role: str
    location: str
    skills: list[str]
    interests: str
    availability: list[str]
    available_until: date | None
    visibility: str | None  # None: keep the current setting


def parse_skills(raw: str) -> list[str]:
    """Split comma/、-separated skills into tags: NFKC, spaces collapsed, duplicates (any case) dropped."""
    tags: list[str] = []
    seen: set[str] = set()
    for part in _SKILL_SEPARATORS.split(raw or ""):
        tag = _SPACES.sub(" ", unicodedata.normalize("NFKC", part)).strip()
        key = normalize(tag)
        if tag and key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


def _year(errs: FieldErrors, name: str, raw: str, current_year: int) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = int(normalize(raw))
    except ValueError:
        errs.add(name, "profiles.errors.year_invalid", min=MIN_YEAR, max=current_year)
        return None
    if not MIN_YEAR <= value <= current_year:
        errs.add(name, "profiles.errors.year_invalid", min=MIN_YEAR, max=current_year)
        return None
    return value


def validate_profile(data: ProfileInput, errs: FieldErrors | None = None) -> CleanProfile:
    """Check every field; problems are collected in `errs` (raised here when no collector was given)."""
    own = errs is None
    errs = errs if errs is not None else FieldErrors()
    today = now().date()
    texts: dict[str, str] = {}
    for name in SHORT_FIELDS:
        value = (getattr(data, name) or "").strip()
        if len(value) > SHORT_TEXT_MAX:
            errs.add(name, "too_long", max=SHORT_TEXT_MAX)
        texts[name] = value
    joined = _year(errs, "joined_year", data.joined_year, today.year)
    left = _year(errs, "left_year", data.left_year, today.year)
    if joined is not None and left is not None and left < joined:
        errs.add("left_year", "profiles.errors.left_before_joined")
    skills_raw = (data.skills or "").strip()
    skills: list[str] = []
    if len(skills_raw) > SKILLS_MAX:
        errs.add("skills", "too_long", max=SKILLS_MAX)
    else:
        skills = parse_skills(skills_raw)
        if len(skills) > SKILL_TAGS_MAX:
            errs.add("skills", "profiles.errors.too_many_skills", max=SKILL_TAGS_MAX)
        elif any(len(tag) > SKILL_TAG_MAX for tag in skills):
            errs.add("skills", "profiles.errors.skill_too_long", max=SKILL_TAG_MAX)
    interests = (data.interests or "").strip()
    if len(interests) > LONG_TEXT_MAX:
        errs.add("interests", "too_long", max=LONG_TEXT_MAX)
    flags = [flag for flag in AVAILABILITY_FLAGS if flag in set(data.availability or [])]
    if any(value not in AVAILABILITY_FLAGS for value in data.availability or []):
        errs.add("availability", "invalid")
    until: date | None = None
    if data.available_until:
        try:
            until = date.fromisoformat(data.available_until)
        except ValueError:
            errs.add("available_until", "invalid_date")
        else:
            if until < today:
                errs.add("available_until", "profiles.errors.until_past")
    visibility = data.visibility
    if visibility is not None and visibility not in VISIBILITIES:
        errs.add("visibility", "invalid")
    if own:
        errs.raise_if_any()
    return CleanProfile(
        former_department=texts["former_department"],
        former_role=texts["former_role"],
        joined_year=joined,
        left_year=left,
        current_company=texts["current_company"],
        current_role=texts["current_role"],
        location=texts["location"],
        skills=skills,
        interests=interests,
        availability=flags,
        available_until=until,
        visibility=visibility,
    )


def apply_profile(member: Member, clean: CleanProfile) -> None:
    """Store a validated profile on the member (and refresh its search text)."""
    member.former_department = clean.former_department
    member.former_role = clean.former_role
    member.joined_year = clean.joined_year
    member.left_year = clean.left_year
    member.current_company = clean.current_company
    member.current_role = clean.current_role
    member.location = clean.location
    member.skills = ", ".join(clean.skills)
    member.interests = clean.interests
    for flag, column in AVAILABILITY_FLAGS.items():
        setattr(member, column, flag in clean.availability)
    member.available_until = clean.available_until
    if clean.visibility is not None:
        member.visibility = clean.visibility
    member.profile_edited_at = now()
    member.updated_at = now()
    refresh_search_text(member)


def update_profile(
    session: Session,
    *,
    actor: Actor,
    data: ProfileInput,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
) -> Member:
    """The actor edits their own profile. Raises ValidationFailed (nothing stored) on bad input.
    `display_name`, `locale` and `tz` refresh what Slack says about the member."""
    clean = validate_profile(data)
    member = ensure_member(
        session, slack_user_id=actor.user_id, display_name=display_name, locale=locale, tz=tz
    )
    apply_profile(member, clean)
    session.flush()
    return member


def profile_input_of(member: Member | None, *, today: date | None = None) -> ProfileInput:
    """The current profile as form input (to prefill the modal). Availability whose "until" date has
    passed by `today` is left out, so saving the form does not trip over a date in the past."""
    if member is None:
        return ProfileInput()
    expired = member.available_until is not None and today is not None and member.available_until < today
    return ProfileInput(
        former_department=member.former_department,
        former_role=member.former_role,
        joined_year=str(member.joined_year) if member.joined_year else "",
        left_year=str(member.left_year) if member.left_year else "",
        current_company=member.current_company,
        current_role=member.current_role,
        location=member.location,
        skills=member.skills,
        interests=member.interests,
        availability=[] if expired else [f for f, c in AVAILABILITY_FLAGS.items() if getattr(member, c)],
        available_until=member.available_until.isoformat()
        if member.available_until and not expired
        else None,
        visibility=member.visibility,
    )


# -- consent ---------------------------------------------------------------------------------------


def give_consent(
    session: Session,
    *,
    actor: Actor,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
    version: str = CONSENT_VERSION,
) -> Member:
    """The actor agrees to the bot showing their profile to members (records when and which text)."""
    member = ensure_member(
        session, slack_user_id=actor.user_id, display_name=display_name, locale=locale, tz=tz
    )
    if member.consented_at is None or member.consent_version != version:
        member.consented_at = now()
        member.consent_version = version
        member.updated_at = now()
        audit.record(
            session,
            actor=actor.user_id,
            action="member.consent",
            target=f"member:{member.id}",
            version=version,
        )
    session.flush()
    return member


def has_consented(session: Session, *, slack_user_id: str) -> bool:
    """True when this Slack user has agreed to be shown to other members."""
    member = get_member(session, slack_user_id=slack_user_id)
    return member is not None and member.has_consented and member.erased_at is None


# -- welcome ---------------------------------------------------------------------------------------


def claim_welcome(
    session: Session,
    *,
    slack_user_id: str,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
) -> Member | None:
    """Claim the one welcome DM of this user: the member (created on first contact) when this call is
    the first to claim it, None when a welcome was already claimed (a second join event, a retry).

    The claim is one conditional UPDATE, so two concurrent events cannot both win. The caller commits
    before sending, and calls `release_welcome` when sending failed."""
    member = ensure_member(
        session, slack_user_id=slack_user_id, display_name=display_name, locale=locale, tz=tz
    )
    refresh_search_text(member)
    session.flush()
    result = session.execute(
        update(Member)
        .where(col(Member.id) == member.id, col(Member.welcomed_at).is_(None))
        .values(welcomed_at=now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(member)
    return member


def release_welcome(session: Session, *, slack_user_id: str) -> None:
    """Undo a welcome claim whose DM could not be sent (the next join event may try again)."""
    session.execute(update(Member).where(col(Member.slack_user_id) == slack_user_id).values(welcomed_at=None))


# -- who may see whom ------------------------------------------------------------------------------


def _shown_to_hr(member: Member) -> bool:
    return member.erased_at is None and (member.has_consented or member.source == SOURCE_IMPORT)


def can_view(member: Member, actor: Actor) -> bool:
    """May `actor` see `member`'s profile? Self: always. HR: consented or imported members. Others:
    consented members whose profile is visible to all members."""
    if member.erased_at is not None:
        return False
    if member.slack_user_id == actor.user_id:
        return True
    if actor.is_hr:
        return _shown_to_hr(member)
    return member.has_consented and member.visibility == VISIBILITY_MEMBERS


def _visible_clause(*, is_hr: bool, viewer: str | BindParameter[str]) -> ColumnElement[bool]:
    """SQL for `can_view` (so paging and limits see only what the viewer may see)."""
    own = col(Member.slack_user_id) == viewer
    if is_hr:
        shown = or_(col(Member.consented_at).is_not(None), col(Member.source) == SOURCE_IMPORT)
    else:
        shown = and_(col(Member.consented_at).is_not(None), col(Member.visibility) == VISIBILITY_MEMBERS)
    return and_(col(Member.erased_at).is_(None), or_(own, shown))


def view_profile(session: Session, *, actor: Actor, slack_user_id: str) -> Member:
    """One member's profile for `actor`; NotFound when it does not exist or is not visible to them."""
    member = get_member(session, slack_user_id=slack_user_id)
    if member is None or not can_view(member, actor):
        raise NotFound("not_found")
    return member


# -- directory search ------------------------------------------------------------------------------


def availability_flag_of(term: str) -> str | None:
    """The availability flag a (normalised) search word stands for, in either language."""
    for flag, words in AVAILABILITY_KEYWORDS.items():
        if term in words:
            return flag
    return None


def _flag_active(flag: str, today: date | BindParameter[date]) -> ColumnElement[bool]:
    column = getattr(Member, AVAILABILITY_FLAGS[flag])
    return and_(
        column == true(),
        or_(col(Member.available_until).is_(None), col(Member.available_until) >= today),
    )


@dataclass
class SearchPage:
    """One page of directory results (no exact total: `has_more` says whether a next page exists)."""

    members: list[Member]
    offset: int
    has_more: bool
    terms: list[str]


def search_members(
    session: Session,
    *,
    actor: Actor,
    query: str,
    limit: int = 10,
    offset: int = 0,
    today: date | None = None,
) -> SearchPage:
    """Directory search: every word must match (AND). A word matches names, departments, roles,
    companies, location, skills and interests (NFKC, case-insensitive substring), and availability words
    (`gig`/`業務委託`, `rehire`/`出戻り`, `mentor`/`メンタリング`…) also match members with that flag in force.
    Only members `actor` may see are returned; newest members first."""
    today = today or now().date()
    terms = query_terms(query)
    flags = tuple(availability_flag_of(term) for term in terms)
    values: dict[str, object] = {
        "viewer": actor.user_id,
        "today": today,
        "offset": max(0, offset),
        "limit": limit + 1,
        **{f"term_{index}": like_pattern(term) for index, term in enumerate(terms)},
    }
    key = (actor.is_hr, flags)
    statement = _DIRECTORY_STATEMENTS.get(key)
    if statement is None:
        statement = _DIRECTORY_STATEMENTS[key] = _directory_statement(actor.is_hr, flags)
    rows = list(session.execute(statement, values).scalars().all())
    return SearchPage(members=rows[:limit], offset=offset, has_more=len(rows) > limit, terms=terms)


# Directory search statements by (HR viewer, availability flag or None per word): building and
# fingerprinting a statement costs more than running it, so each shape is built once, values bound.
_DIRECTORY_STATEMENTS: dict[tuple[bool, tuple[str | None, ...]], SelectOfScalar[Member]] = {}


def _directory_statement(is_hr: bool, flags: tuple[str | None, ...]) -> SelectOfScalar[Member]:
    viewer = bindparam("viewer", type_=String())
    visible = _visible_clause(is_hr=is_hr, viewer=viewer)
    statement = select(Member).where(visible, col(Member.slack_user_id).is_not(None))
    today = bindparam("today", type_=Date())
    for index, flag in enumerate(flags):
        text_match = col(Member.search_text).like(bindparam(f"term_{index}"), escape="\\")
        statement = statement.where(or_(text_match, _flag_active(flag, today)) if flag else text_match)
    if not flags:
        statement = statement.where(false())
    # Newest members first along the primary key: a common word fills the page after a short walk
    # instead of sorting every match (a rare word scans the table either way; 20,000 rows is cheap).
    return (
        statement.order_by(col(Member.id).desc())
        .offset(bindparam("offset", type_=Integer()))
        .limit(bindparam("limit", type_=Integer()))
    )


# -- rehire matching -------------------------------------------------------------------------------


@dataclass
class RehireMatch:
    """A member open to rehire and the skills they share with the opening (best first)."""

    member: Member
    shared_skills: list[str]

    @property
    def score(self) -> int:
        return len(self.shared_skills)


def rehire_matches(
    session: Session, *, skills: Sequence[str], limit: int = 10, today: date | None = None
) -> list[RehireMatch]:
    """Members open to rehire (flag in force; consented or imported; not erased) whose skills overlap
    `skills`, most shared skills first, then the most recently updated profile. Members are not told."""
    today = today or now().date()
    wanted = {normalize(s): s for tag in skills for s in parse_skills(tag)}
    if not wanted:
        return []
    statement = select(Member).where(
        col(Member.erased_at).is_(None),
        or_(col(Member.consented_at).is_not(None), col(Member.source) == SOURCE_IMPORT),
        _flag_active("rehire", today),
    )
    found: list[tuple[int, float, int, RehireMatch]] = []
    for member in session.exec(statement):
        shared = [tag for tag in member.skill_list() if normalize(tag) in wanted]
        if shared:
            edited = member.profile_edited_at or member.created_at
            found.append((-len(shared), -_timestamp(edited), member.id or 0, RehireMatch(member, shared)))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[: max(0, limit)]]


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


# -- personal digest: opportunities that fit a member ----------------------------------------------

# Opportunity kinds a member's availability flags ask for (jobs match on skills only).
KIND_FOR_FLAG = {"gigs": KIND_GIG, "collaboration": KIND_COLLABORATION, "rehire": KIND_REHIRE}


@dataclass
class OpportunityMatch:
    """An open opportunity that fits a member: shared skills and/or a kind they said they are open to."""

    opportunity: Opportunity
    shared_skills: list[str]
    fits_availability: bool


def open_opportunities(session: Session, *, at: datetime, limit: int = 500) -> list[Opportunity]:
    """Open, unexpired opportunities, newest first (what the personal digest chooses from)."""
    statement = (
        select(Opportunity)
        .where(col(Opportunity.status) == STATUS_OPEN, col(Opportunity.expires_at) > at)
        .order_by(col(Opportunity.created_at).desc(), col(Opportunity.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def match_opportunities(
    member: Member, opportunities: Sequence[Opportunity], *, today: date, limit: int = 10
) -> list[OpportunityMatch]:
    """The opportunities that fit `member` (not their own posts): most shared skills first, then those of
    a kind they are open to, newest first within a tie."""
    skills = {normalize(tag) for tag in member.skill_list()}
    kinds = {KIND_FOR_FLAG[f] for f in member.availability(today=today) if f in KIND_FOR_FLAG}
    found: list[tuple[int, int, int, OpportunityMatch]] = []
    for index, opportunity in enumerate(opportunities):
        if opportunity.poster_id == member.slack_user_id:
            continue
        shared = [tag for tag in opportunity.skill_list if normalize(tag) in skills]
        fits = opportunity.kind in kinds
        if shared or fits:
            found.append((-len(shared), 0 if fits else 1, index, OpportunityMatch(opportunity, shared, fits)))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[: max(0, limit)]]


# -- digest ---------------------------------------------------------------------------------------


def new_members(
    session: Session, *, start: datetime, end: datetime, limit: int = 20
) -> tuple[list[Member], int]:
    """Members who joined (agreed to be shown) in [start, end) and are visible to all members, newest
    first, and how many there are (counted up to 1000)."""
    where = (
        col(Member.consented_at) >= start,
        col(Member.consented_at) < end,
        col(Member.erased_at).is_(None),
        col(Member.visibility) == VISIBILITY_MEMBERS,
        col(Member.slack_user_id).is_not(None),
    )
    rows = session.exec(
        select(Member).where(*where).order_by(col(Member.consented_at).desc()).limit(limit)
    ).all()
    total = len(session.exec(select(Member.id).where(*where).limit(1000)).all())
    return list(rows), total


__all__ = [
    "CONSENT_VERSION",
    "VISIBILITY_HR",
    "VISIBILITY_MEMBERS",
    "CleanProfile",
    "ProfileInput",
    "RehireMatch",
    "SearchPage",
    "can_view",
    "give_consent",
    "has_consented",
    "match_opportunities",
    "new_members",
    "profile_input_of",
    "rehire_matches",
    "search_members",
    "update_profile",
    "validate_profile",
    "view_profile",
]
