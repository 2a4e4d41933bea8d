"""Reconnect intros (Donut-style): members opt in, a weekly round pairs them, a week later they say whether
they met.

Tables:
- `intro_preference`: one row per member who ever touched the setting (opted in, cadence of 2 or 4 weeks,
  the overlaps they want, a pause, and when they were last paired, which makes the cadence work);
- `intro_round`: one row per round, unique on its period: the claim that makes a round happen once;
- `intro_group` + `intro_group_member`: who was introduced to whom in a round, and each member's answer to
  "did you meet?" (one answer per member and group; a second answer replaces the first).

Pairing (`pair_members`) is a pure function over `IntroCandidate`s: it buckets members by overlap keys
(department, department and year, year, skill or interest, mentor / mentee) so it never compares every
member with every other; 20,000 members pair in well under two seconds (`benchmarks/intro_pairing.py`).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Index, UniqueConstraint, and_, case, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models import audit
from models.actors import Actor
from models.errors import FieldErrors, NotFound, PermissionDenied
from models.member import Member, ensure_member, get_member
from models.profile import parse_skills
from models.textnorm import normalize
from models.timeutil import now
from models.types import UTCDateTime, get_by_id, get_or_not_found

# What a member can ask to be matched on (stored comma-separated in `IntroPreference.wants`).
WANT_TEAMMATES = "teammates"  # same former department at the same time
WANT_ERA = "era"  # at the company in the same years
WANT_DEPARTMENT = "department"  # same former department, any time
WANT_SKILLS = "skills"  # a shared skill or interest
WANT_MENTOR = "mentor"  # I can mentor someone
WANT_MENTEE = "mentee"  # I would like a mentor
WANTS = (WANT_TEAMMATES, WANT_ERA, WANT_DEPARTMENT, WANT_SKILLS, WANT_MENTOR, WANT_MENTEE)

CADENCES = (2, 4)  # weeks between intros
DEFAULT_CADENCE = 2
MAX_PAUSE_DAYS = 366
# Rounds run weekly at the same hour; a member paired a hair less than N weeks ago is still due.
CADENCE_GRACE = timedelta(days=1)
NO_REPEAT_WITHIN = timedelta(days=365)
FOLLOW_UP_AFTER = timedelta(days=7)
# A follow-up is not worth sending once the round is this old (the scheduler was down for weeks).
FOLLOW_UP_UNTIL = timedelta(days=28)
GROUP_MAX = 3

# How many bucket entries one member looks at per key before moving on: keeps a member whose history
# excludes a whole bucket (a small department) from scanning it in full, so pairing stays linear.
SCAN_LIMIT = 64
YEARS_MAX = 40  # tenure years published per member (older years only widen "same era")
TOPICS_MAX = 40


class IntroPreference(SQLModel, table=True):
    """A member's intro settings. `wants` holds WANTS tags, comma-separated (empty: anyone)."""

    __tablename__ = "intro_preference"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", unique=True)
    opted_in: bool = False
    cadence_weeks: int = DEFAULT_CADENCE
    wants: str = Field(default="", max_length=200)
    paused_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_paired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    def want_list(self) -> list[str]:
        """The wanted overlaps, in WANTS order."""
        chosen = set(self.wants.split(","))
        return [w for w in WANTS if w in chosen]

    def is_paused(self, at: datetime) -> bool:
        return self.paused_until is not None and self.paused_until > at


class IntroRound(SQLModel, table=True):
    """One pairing round. The unique period is the claim: two schedulers cannot both pair one week."""

    __tablename__ = "intro_round"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=64, unique=True)
    scheduled_for: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class IntroGroup(SQLModel, table=True):
    """Two or three members introduced in one round. `overlap` is the WANTS tag they were matched on."""

    __tablename__ = "intro_group"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="intro_round.id", index=True)
    overlap: str = Field(default="", max_length=32)
    follow_up_queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class IntroGroupMember(SQLModel, table=True):
    """A member of a group and their answer to "did you meet?" (`met` None: not answered)."""

    __tablename__ = "intro_group_member"
    __table_args__ = (
        UniqueConstraint("group_id", "member_id", name="uq_intro_group_member"),
        Index("ix_intro_group_member_member", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="intro_group.id")
    member_id: int = Field(foreign_key="member.id")
    met: bool | None = None
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# -- preferences ----------------------------------------------------------------------------------------


@dataclass
class CleanIntroPreferences:
    """Validated settings, ready to store."""

    opted_in: bool
    cadence_weeks: int
    wants: list[str]
    paused_until: datetime | None


def _pause_end(day: date) -> datetime:
    # A pause "until 2027-01-10" covers that whole day in UTC; the round after it pairs the member again.
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def validate_intro_preferences(
    *,
    opted_in: bool,
    cadence_weeks: int | str | None,
    wants: Collection[str],
    paused_until: date | str | None,
    at: datetime,
) -> CleanIntroPreferences:
    """Check the settings form; raises ValidationFailed with field keys `cadence_weeks`, `wants`,
    `paused_until`."""
    errs = FieldErrors()
    cadence = DEFAULT_CADENCE
    try:
        cadence = int(str(cadence_weeks).strip()) if cadence_weeks not in (None, "") else DEFAULT_CADENCE
    except ValueError:
        errs.add("cadence_weeks", "intros.errors.cadence", choices="2, 4")
    else:
        if cadence not in CADENCES:
            errs.add("cadence_weeks", "intros.errors.cadence", choices="2, 4")
    if any(w not in WANTS for w in wants):
        errs.add("wants", "invalid")
    until: datetime | None = None
    if paused_until not in (None, ""):
        day: date | None = None
        if isinstance(paused_until, date):
            day = paused_until
        else:
            try:
                day = date.fromisoformat(str(paused_until))
            except ValueError:
                errs.add("paused_until", "invalid_date")
        if day is not None:
            today = at.date()
            if day < today:
                errs.add("paused_until", "intros.errors.pause_past")
            elif day > today + timedelta(days=MAX_PAUSE_DAYS):
                errs.add("paused_until", "intros.errors.pause_too_far", days=MAX_PAUSE_DAYS)
            else:
                until = _pause_end(day)
    errs.raise_if_any()
    return CleanIntroPreferences(
        opted_in=opted_in,
        cadence_weeks=cadence,
        wants=[w for w in WANTS if w in set(wants)],
        paused_until=until,
    )


def get_intro_preferences(session: Session, *, slack_user_id: str) -> IntroPreference | None:
    """The member's intro settings, if they ever set them."""
    return session.exec(
        select(IntroPreference)
        .join(Member, col(Member.id) == col(IntroPreference.member_id))
        .where(col(Member.slack_user_id) == slack_user_id)
    ).first()


def _preference_of(session: Session, member: Member) -> IntroPreference:
    pref = session.exec(select(IntroPreference).where(IntroPreference.member_id == member.id)).first()
    if pref is None:
        assert member.id is not None
        pref = IntroPreference(member_id=member.id)
        session.add(pref)
    return pref


def set_intro_preferences(
    session: Session,
    *,
    actor: Actor,
    opted_in: bool,
    cadence_weeks: int | str | None = DEFAULT_CADENCE,
    wants: Collection[str] = (),
    paused_until: date | str | None = None,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
) -> IntroPreference:
    """The actor saves their own intro settings (the preferences modal). Opting in needs consent to be
    shown to members (field `opted_in`: `intros.errors.needs_consent`); bad input raises ValidationFailed
    and stores nothing."""
    at = now()
    clean = validate_intro_preferences(
        opted_in=opted_in, cadence_weeks=cadence_weeks, wants=wants, paused_until=paused_until, at=at
    )
    existing = get_member(session, slack_user_id=actor.user_id)
    if clean.opted_in and (existing is None or not existing.has_consented or existing.erased_at is not None):
        errs = FieldErrors()
        errs.add("opted_in", "intros.errors.needs_consent")
        errs.raise_if_any()
    member = ensure_member(
        session, slack_user_id=actor.user_id, display_name=display_name, locale=locale, tz=tz
    )
    pref = _preference_of(session, member)
    pref.opted_in = clean.opted_in
    pref.cadence_weeks = clean.cadence_weeks
    pref.wants = ",".join(clean.wants)
    pref.paused_until = clean.paused_until
    pref.updated_at = at
    session.flush()
    return pref


# What `set_intro_opt_in` changed (the check-in modal tells the member).
JOINED = "joined"
LEFT = "left"


def set_intro_opt_in(
    session: Session,
    *,
    actor: Actor,
    opted_in: bool,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
) -> str | None:
    """The actor's "Join reconnect intros" box in the check-in modal: joining or leaving through
    `set_intro_preferences` (the settings modal's operation: same consent rule, same field error `opted_in`),
    keeping their cadence, wants and a running pause. Returns JOINED or LEFT, or None when nothing changed
    (the box says what is already so; an unticked box of a member who never joined creates nothing)."""
    pref = get_intro_preferences(session, slack_user_id=actor.user_id)
    was_on = pref is not None and pref.opted_in
    if opted_in == was_on:
        return None
    paused_until: date | None = None
    if pref is not None and pref.paused_until is not None and pref.is_paused(now()):
        # Stored as 00:00 UTC after the last paused day; the validation takes that last day.
        paused_until = (pref.paused_until - timedelta(seconds=1)).date()
    set_intro_preferences(
        session,
        actor=actor,
        opted_in=opted_in,
        cadence_weeks=pref.cadence_weeks if pref is not None else DEFAULT_CADENCE,
        wants=pref.want_list() if pref is not None else (),
        paused_until=paused_until,
        display_name=display_name,
        locale=locale,
        tz=tz,
    )
    return JOINED if opted_in else LEFT


def pause_intros(
    session: Session, *, actor: Actor, weeks: int | None = None, until: date | str | None = None
) -> IntroPreference:
    """Pause the actor's intros for `weeks` weeks or until a date (inclusive); NotFound when they never
    opted in. Raises ValidationFailed (`paused_until`) for a date in the past or over a year away."""
    pref = get_intro_preferences(session, slack_user_id=actor.user_id)
    if pref is None:
        raise NotFound("not_found")
    at = now()
    day = (at + timedelta(weeks=weeks)).date() if weeks is not None and until is None else until
    if day in (None, ""):
        day = (at + timedelta(weeks=DEFAULT_CADENCE)).date()
    clean = validate_intro_preferences(
        opted_in=pref.opted_in,
        cadence_weeks=pref.cadence_weeks,
        wants=pref.want_list(),
        paused_until=day,
        at=at,
    )
    pref.paused_until = clean.paused_until
    pref.updated_at = at
    session.flush()
    return pref


def resume_intros(session: Session, *, actor: Actor) -> IntroPreference:
    """End the actor's pause now; NotFound when they never set intros up."""
    pref = get_intro_preferences(session, slack_user_id=actor.user_id)
    if pref is None:
        raise NotFound("not_found")
    pref.paused_until = None
    pref.updated_at = now()
    session.flush()
    return pref


def opt_out(session: Session, *, actor: Actor) -> IntroPreference | None:
    """The actor stops intros (settings kept for when they opt in again). None when they never opted in."""
    pref = get_intro_preferences(session, slack_user_id=actor.user_id)
    if pref is None:
        return None
    if pref.opted_in:
        pref.opted_in = False
        pref.updated_at = now()
        audit.record(session, actor=actor.user_id, action="intros.opt_out", target=f"member:{pref.member_id}")
    session.flush()
    return pref


# -- candidates and pairing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntroCandidate:
    """What pairing needs to know about one member (normalised texts)."""

    member_id: int
    slack_user_id: str
    wants: frozenset[str] = frozenset()
    department: str = ""
    joined_year: int | None = None
    left_year: int | None = None
    topics: frozenset[str] = frozenset()  # skills and interest tags


@dataclass(frozen=True)
class Pairing:
    """One group `pair_members` made: 2 or 3 member ids, and the WANTS tag they share ('' for none)."""

    member_ids: tuple[int, ...]
    overlap: str = ""


def candidate_of(member: Member, pref: IntroPreference) -> IntroCandidate:
    """The pairing view of a member and their settings."""
    topics = [normalize(t) for t in member.skill_list()]
    topics += [normalize(t) for t in parse_skills(member.interests)]
    assert member.id is not None
    return IntroCandidate(
        member_id=member.id,
        slack_user_id=member.slack_user_id or "",
        wants=frozenset(pref.want_list()),
        department=normalize(member.former_department),
        joined_year=member.joined_year,
        left_year=member.left_year,
        topics=frozenset(t for t in topics[:TOPICS_MAX] if t),
    )


def due_members(session: Session, *, at: datetime) -> list[IntroCandidate]:
    """Members a round at `at` should pair: opted in, not paused, consented, in Slack and not erased, and
    not paired within their cadence (2 or 4 weeks, a day's grace for a round that runs a little early)."""
    statement = (
        select(Member, IntroPreference)
        .join(IntroPreference, col(IntroPreference.member_id) == col(Member.id))
        .where(
            col(IntroPreference.opted_in).is_(True),
            or_(col(IntroPreference.paused_until).is_(None), col(IntroPreference.paused_until) <= at),
            col(Member.consented_at).is_not(None),
            col(Member.erased_at).is_(None),
            col(Member.slack_user_id).is_not(None),
        )
        .order_by(col(Member.id))
    )
    due: list[IntroCandidate] = []
    for member, pref in session.exec(statement):
        if pref.last_paired_at is not None:
            next_due = pref.last_paired_at + timedelta(weeks=pref.cadence_weeks) - CADENCE_GRACE
            if next_due > at:
                continue
        due.append(candidate_of(member, pref))
    return due


def _years(c: IntroCandidate) -> list[int]:
    first = c.joined_year or c.left_year
    last = c.left_year or c.joined_year
    if first is None or last is None or last < first:
        return []
    return list(range(max(first, last - YEARS_MAX + 1), last + 1))


def _keys(c: IntroCandidate) -> tuple[list[tuple[str, str]], list[str]]:
    """(keys to search, with the WANTS tag each stands for; keys to be found under), most specific first."""
    search: list[tuple[str, str]] = []
    publish: list[str] = []
    years = _years(c)
    if WANT_TEAMMATES in c.wants and c.department and years:
        keys = [f"t|{c.department}|{y}" for y in years]
        search += [(k, WANT_TEAMMATES) for k in keys]
        publish += keys
    if WANT_MENTEE in c.wants:
        search.append(("mentor", WANT_MENTEE))
        publish.append("mentee")
    if WANT_MENTOR in c.wants:
        search.append(("mentee", WANT_MENTOR))
        publish.append("mentor")
    if WANT_SKILLS in c.wants and c.topics:
        keys = [f"s|{t}" for t in sorted(c.topics)]
        search += [(k, WANT_SKILLS) for k in keys]
        publish += keys
    if WANT_DEPARTMENT in c.wants and c.department:
        search.append((f"d|{c.department}", WANT_DEPARTMENT))
        publish.append(f"d|{c.department}")
    if WANT_ERA in c.wants and years:
        keys = [f"e|{y}" for y in years]
        search += [(k, WANT_ERA) for k in keys]
        publish += keys
    return search, publish


def _pair_key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def pair_members(
    candidates: Sequence[IntroCandidate],
    *,
    history: Collection[tuple[int, int]],
    seed: int | str,
) -> list[Pairing]:
    """Pair `candidates` into groups of 2 (one group of 3 when the count is odd), never repeating a pair in
    `history` (member-id pairs, either order), preferring members who want the same overlap.

    Deterministic for a given `seed`. Members are taken in a seeded random order; each looks for a free
    partner in the buckets of the overlaps it wants (most specific first), at most SCAN_LIMIT entries per
    bucket; the rest are paired at random. A member left over (odd count, or history rules out every
    group) joins a pair as a third; one who fits nowhere sits this round out.
    """
    rng = random.Random(seed)  # noqa: S311 - a fair, reproducible shuffle; nothing secret depends on it
    order = list(candidates)
    rng.shuffle(order)
    n = len(order)
    ids = [c.member_id for c in order]
    seen: set[tuple[int, int]] = {_pair_key(a, b) for a, b in history}
    buckets: dict[str, list[int]] = {}
    searches: list[list[tuple[str, str]]] = []
    for index, candidate in enumerate(order):
        search, publish = _keys(candidate)
        searches.append(search)
        for key in publish:
            buckets.setdefault(key, []).append(index)
    heads: dict[str, int] = {}
    done = bytearray(n)
    groups: list[list[int]] = []
    overlaps: list[str] = []
    leftovers: list[int] = []
    for i in range(n):
        if done[i]:
            continue
        done[i] = 1
        partner = -1
        tag = ""
        for key, want in searches[i]:
            entries = buckets.get(key)
            if not entries:
                continue
            head = heads.get(key, 0)
            # Entries before a member in a bucket were all handled earlier: skip them for good.
            while head < len(entries) and done[entries[head]]:
                head += 1
            heads[key] = head
            stop = min(len(entries), head + SCAN_LIMIT)
            for position in range(head, stop):
                j = entries[position]
                if not done[j] and _pair_key(ids[i], ids[j]) not in seen:
                    partner, tag = j, want
                    break
            if partner >= 0:
                break
        if partner < 0:
            leftovers.append(i)
            continue
        done[partner] = 1
        groups.append([i, partner])
        overlaps.append(tag)

    # Members no overlap bucket could pair: pair them at random (the order is already random).
    singles: list[int] = []
    free = bytearray(n)
    for i in leftovers:
        free[i] = 1
    for position, i in enumerate(leftovers):
        if not free[i]:
            continue
        free[i] = 0
        match = -1
        for j in leftovers[position + 1 : position + 1 + SCAN_LIMIT]:
            if free[j] and _pair_key(ids[i], ids[j]) not in seen:
                match = j
                break
        if match < 0:
            singles.append(i)
            continue
        free[match] = 0
        groups.append([i, match])
        overlaps.append("")

    # A single joins a pair (never one it has met): the group of 3 of an odd round.
    if groups:
        for i in singles:
            start = rng.randrange(len(groups))
            for step in range(min(len(groups), SCAN_LIMIT)):
                group = groups[(start + step) % len(groups)]
                if len(group) < GROUP_MAX and all(_pair_key(ids[i], ids[g]) not in seen for g in group):
                    group.append(i)
                    break
    return [
        Pairing(member_ids=tuple(ids[g] for g in group), overlap=overlap)
        for group, overlap in zip(groups, overlaps, strict=True)
    ]


def recent_pairs(
    session: Session, *, at: datetime, within: timedelta = NO_REPEAT_WITHIN
) -> set[tuple[int, int]]:
    """Every member-id pair introduced in a round since `at - within` (the "never twice a year" history)."""
    rows = session.exec(
        select(IntroGroupMember.group_id, IntroGroupMember.member_id)
        .join(IntroGroup, col(IntroGroup.id) == col(IntroGroupMember.group_id))
        .join(IntroRound, col(IntroRound.id) == col(IntroGroup.round_id))
        .where(col(IntroRound.scheduled_for) >= at - within)
    ).all()
    members: dict[int, list[int]] = {}
    for group_id, member_id in rows:
        members.setdefault(group_id, []).append(member_id)
    pairs: set[tuple[int, int]] = set()
    for group in members.values():
        for index, a in enumerate(group):
            for b in group[index + 1 :]:
                pairs.add(_pair_key(a, b))
    return pairs


# -- rounds ---------------------------------------------------------------------------------------------


def get_round(session: Session, *, period: str) -> IntroRound | None:
    return session.exec(select(IntroRound).where(IntroRound.period == period)).first()


def record_round(
    session: Session, *, period: str, scheduled_for: datetime, pairings: Iterable[Pairing]
) -> IntroRound | None:
    """Claim the round of `period` and store its groups; None when the period was already claimed (another
    scheduler, a rerun): the caller then uses the stored round's groups instead of pairing again.

    Members of a group are marked paired at `scheduled_for` (what the cadence counts from)."""
    round_ = IntroRound(period=period, scheduled_for=scheduled_for)
    nested = session.begin_nested()
    try:
        session.add(round_)
        session.flush()
    except IntegrityError:
        nested.rollback()
        return None
    nested.commit()
    assert round_.id is not None
    paired: list[int] = []
    for pairing in pairings:
        group = IntroGroup(round_id=round_.id, overlap=pairing.overlap)
        session.add(group)
        session.flush()
        assert group.id is not None
        for member_id in pairing.member_ids:
            session.add(IntroGroupMember(group_id=group.id, member_id=member_id))
            paired.append(member_id)
    for start in range(0, len(paired), 500):
        session.execute(
            update(IntroPreference)
            .where(col(IntroPreference.member_id).in_(paired[start : start + 500]))
            .values(last_paired_at=scheduled_for)
        )
    session.flush()
    return round_


@dataclass
class GroupView:
    """A group and its members (in the order they were paired), for rendering."""

    group: IntroGroup
    members: list[Member]


def groups_of(session: Session, groups: Sequence[IntroGroup]) -> list[GroupView]:
    """The members of each group (erased or unconsented members are left out)."""
    if not groups:
        return []
    ids = [g.id for g in groups]
    rows = session.exec(
        select(IntroGroupMember.group_id, Member)
        .join(Member, col(Member.id) == col(IntroGroupMember.member_id))
        .where(col(IntroGroupMember.group_id).in_(ids), col(Member.erased_at).is_(None))
        .order_by(col(IntroGroupMember.id))
    ).all()
    by_group: dict[int, list[Member]] = {}
    for group_id, member in rows:
        by_group.setdefault(group_id, []).append(member)
    return [GroupView(group=g, members=by_group.get(g.id or 0, [])) for g in groups]


def group_id_of_period(period: str) -> int | None:
    """The group an introduction's outbox period (`<round period>/g<group id>`) names; None for any other."""
    _, _, tail = period.rpartition("/g")
    return int(tail) if tail.isdigit() else None


@dataclass
class IntroToRedraw:
    """What an introduction is rendered from: its group (members still in the network) and its round."""

    view: GroupView
    scheduled_for: datetime


def intro_of_period(session: Session, *, period: str) -> IntroToRedraw | None:
    """The group and round of a sent introduction, read afresh (erased members are left out)."""
    group_id = group_id_of_period(period)
    group = get_by_id(session, IntroGroup, group_id) if group_id is not None else None
    round_ = session.get(IntroRound, group.round_id) if group is not None else None
    if group is None or round_ is None:
        return None
    return IntroToRedraw(view=groups_of(session, [group])[0], scheduled_for=round_.scheduled_for)


def follow_up_group(session: Session, *, period: str) -> GroupView | None:
    """The group a "did you meet?" follow-up's outbox period (`g<group id>`) names, read afresh."""
    tail = period[1:] if period.startswith("g") else ""
    group = get_by_id(session, IntroGroup, int(tail)) if tail.isdigit() else None
    return groups_of(session, [group])[0] if group is not None else None


def round_groups(session: Session, *, round_id: int) -> list[GroupView]:
    """The groups of one round with their members."""
    groups = session.exec(
        select(IntroGroup).where(IntroGroup.round_id == round_id).order_by(col(IntroGroup.id))
    ).all()
    return groups_of(session, list(groups))


def groups_due_follow_up(session: Session, *, at: datetime) -> list[GroupView]:
    """Groups introduced at least a week before `at` (and at most four) whose follow-up is not queued."""
    groups = session.exec(
        select(IntroGroup)
        .join(IntroRound, col(IntroRound.id) == col(IntroGroup.round_id))
        .where(
            col(IntroGroup.follow_up_queued_at).is_(None),
            col(IntroRound.scheduled_for) <= at - FOLLOW_UP_AFTER,
            col(IntroRound.scheduled_for) > at - FOLLOW_UP_UNTIL,
        )
        .order_by(col(IntroGroup.id))
    ).all()
    return groups_of(session, list(groups))


def mark_follow_up_queued(session: Session, *, group_ids: Collection[int], at: datetime) -> None:
    """Remember that these groups' follow-ups are queued (the outbox dedupes them as well)."""
    if group_ids:
        session.execute(
            update(IntroGroup).where(col(IntroGroup.id).in_(list(group_ids))).values(follow_up_queued_at=at)
        )


# -- answers and figures --------------------------------------------------------------------------------


def record_meeting_answer(session: Session, *, actor: Actor, group_id: int, met: bool) -> IntroGroupMember:
    """The actor answers "did you meet?" for their group (a later answer replaces an earlier one).
    NotFound when the group does not exist; PermissionDenied when the actor is not in it."""
    get_or_not_found(session, IntroGroup, group_id)
    member = get_member(session, slack_user_id=actor.user_id)
    row = None
    if member is not None:
        row = session.exec(
            select(IntroGroupMember).where(
                IntroGroupMember.group_id == group_id, IntroGroupMember.member_id == member.id
            )
        ).first()
    if row is None:
        raise PermissionDenied("not_allowed")
    row.met = met
    row.answered_at = now()
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class IntroFigures:
    """Intros of rounds in [since, until): rounds held, groups made, members paired, and per group whether
    someone said they met (`met_yes`), only "no" answers came (`met_no`), or nobody answered (`unanswered`)."""

    rounds: int
    groups: int
    members_paired: int
    met_yes: int
    met_no: int
    unanswered: int


def intro_figures(session: Session, *, since: datetime, until: datetime) -> IntroFigures:
    """The monthly report's intro figures (see `IntroFigures`)."""
    yes = func.sum(case((col(IntroGroupMember.met).is_(True), 1), else_=0))
    answered = func.count(col(IntroGroupMember.met))
    rows = session.exec(
        select(IntroGroup.id, func.count(col(IntroGroupMember.id)), yes, answered)
        .join(IntroRound, col(IntroRound.id) == col(IntroGroup.round_id))
        .join(IntroGroupMember, col(IntroGroupMember.group_id) == col(IntroGroup.id), isouter=True)
        .where(and_(col(IntroRound.scheduled_for) >= since, col(IntroRound.scheduled_for) < until))
        .group_by(col(IntroGroup.id))
    ).all()
    rounds = session.exec(
        select(func.count(col(IntroRound.id))).where(
            col(IntroRound.scheduled_for) >= since, col(IntroRound.scheduled_for) < until
        )
    ).one()
    members = sum(int(count) for _, count, _, _ in rows)
    met_yes = sum(1 for _, _, y, _ in rows if int(y or 0) > 0)
    met_no = sum(1 for _, _, y, a in rows if int(y or 0) == 0 and int(a or 0) > 0)
    return IntroFigures(
        rounds=int(rounds),
        groups=len(rows),
        members_paired=members,
        met_yes=met_yes,
        met_no=met_no,
        unanswered=len(rows) - met_yes - met_no,
    )


__all__ = [
    "CADENCES",
    "JOINED",
    "LEFT",
    "WANTS",
    "GroupView",
    "IntroCandidate",
    "IntroFigures",
    "IntroGroup",
    "IntroGroupMember",
    "IntroPreference",
    "IntroRound",
    "Pairing",
    "due_members",
    "get_intro_preferences",
    "get_round",
    "groups_due_follow_up",
    "intro_figures",
    "mark_follow_up_queued",
    "opt_out",
    "pair_members",
    "pause_intros",
    "recent_pairs",
    "record_meeting_answer",
    "record_round",
    "resume_intros",
    "round_groups",
    "set_intro_opt_in",
    "set_intro_preferences",
]
