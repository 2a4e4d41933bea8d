"""Referral: a member refers a candidate (for an opportunity, or in general); HR works the pipeline.

Candidate details (name, email, profile URL, notes) are personal data of someone who is not a member:
they live only in these rows. Nothing here logs them; callers log ids only.

Status model::

    submitted ─┬─> in_review ─> interviewing ─> offer ─> hired
               └─> not_a_fit (from any open status)        withdrawn (by the referrer, before interviewing)

HR may move a referral to any HR status (corrections included) except out of `withdrawn`; only the
referrer withdraws, and only while it is `submitted` or `in_review`. Every change is appended to
`ReferralStatusChange` (who, when, from, to, note).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, FieldErrors, PermissionDenied, ValidationFailed
from models.opportunity import Opportunity, search_opportunities
from models.textnorm import normalize
from models.timeutil import as_utc, now
from models.types import UTCDateTime, get_by_id, get_or_not_found

SUBMITTED = "submitted"
IN_REVIEW = "in_review"
INTERVIEWING = "interviewing"
OFFER = "offer"
HIRED = "hired"
NOT_A_FIT = "not_a_fit"
WITHDRAWN = "withdrawn"

STATUSES: tuple[str, ...] = (SUBMITTED, IN_REVIEW, INTERVIEWING, OFFER, HIRED, NOT_A_FIT, WITHDRAWN)
# Statuses HR sets (withdrawn belongs to the referrer).
HR_STATUSES: tuple[str, ...] = (SUBMITTED, IN_REVIEW, INTERVIEWING, OFFER, HIRED, NOT_A_FIT)
# Not a status: a history entry saying another member tried to refer the same candidate (the referral's
# status does not change; `from_status` keeps the status it had).
VOUCHED = "vouched"
# Still being worked: counted as "untouched" when HR leaves them alone.
OPEN_STATUSES: tuple[str, ...] = (SUBMITTED, IN_REVIEW, INTERVIEWING, OFFER)
# The referrer may withdraw until the candidate is interviewing.
WITHDRAWABLE: tuple[str, ...] = (SUBMITTED, IN_REVIEW)

NAME_MAX = 100
EMAIL_MAX = 254
URL_MAX = 500
RELATIONSHIP_MAX = 500
WHY_FIT_MAX = 2000
NOTE_MAX = 1000
STALE_AFTER = timedelta(days=7)

# Error codes (catalog keys in bot/i18n/*/referrals.toml).
ERR_CONTACT_REQUIRED = "referrals.errors.contact_required"
ERR_CONSENT_REQUIRED = "referrals.errors.consent_required"
ERR_DUPLICATE = "referrals.errors.duplicate"
ERR_OPPORTUNITY_CLOSED = "referrals.errors.opportunity_closed"
ERR_CANNOT_WITHDRAW = "referrals.errors.cannot_withdraw"
ERR_FINAL = "referrals.errors.final"
ERR_SAME_STATUS = "referrals.errors.same_status"
ERR_OWNER_NOT_HR = "referrals.errors.owner_not_hr"

_EMAIL = re.compile(r"^[^@\s<>\"'(),;:\\\[\]]+@[^@\s<>\"'(),;:\\\[\]]+\.[^@\s<>\"'(),;:\\\[\]]{2,}$")


class Referral(SQLModel, table=True):
    """One referral. `duplicate_key` is unique while the referral counts as a duplicate (None otherwise)."""

    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_status_touched", "status", "hr_touched_at"),
        Index("ix_referral_referrer_created", "referrer_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    referrer_id: str = Field(max_length=32)
    opportunity_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, nullable=True, index=True),
    )
    candidate_name: str = Field(max_length=NAME_MAX)
    candidate_email: str | None = Field(default=None, max_length=EMAIL_MAX)
    candidate_url: str | None = Field(default=None, max_length=URL_MAX)
    relationship: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    why_fit: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    consent_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=SUBMITTED, max_length=16)
    owner_id: str | None = Field(default=None, max_length=32)
    duplicate_key: str | None = Field(default=None, max_length=300, unique=True)
    hr_channel: str | None = Field(default=None, max_length=64)
    hr_ts: str | None = Field(default=None, max_length=32)
    # Bumped by each render of the HR card (models.render): the newest render wins across processes.
    render_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    # Last time HR did something with it (status change or owner); the 7-day flag counts from here.
    hr_touched_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    @property
    def is_general(self) -> bool:
        return self.opportunity_id is None

    @property
    def can_withdraw(self) -> bool:
        return self.status in WITHDRAWABLE


class ReferralStatusChange(SQLModel, table=True):
    """One entry of a referral's history. `from_status` is None for the submission itself."""

    __tablename__ = "referral_status_change"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(
        sa_column=Column(Integer, ForeignKey("referral.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    actor_id: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    note_shared: bool = False


@dataclass(frozen=True)
class OpportunityChoice:
    """An open opportunity as the referral modal offers it."""

    id: int
    title: str
    kind: str


# -- validation helpers ---------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """The form duplicates are compared in: NFKC, case-folded, trimmed."""
    return normalize(email).replace(" ", "")


def is_valid_email(email: str) -> bool:
    return len(email) <= EMAIL_MAX and _EMAIL.match(email) is not None


def is_valid_url(url: str) -> bool:
    """http(s) with a host, no white space or control characters."""
    if len(url) > URL_MAX or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def _duplicate_key(opportunity_id: int | None, email_norm: str) -> str:
    return f"{opportunity_id if opportunity_id is not None else 'general'}:{email_norm}"


def _check_length(errs: FieldErrors, field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errs.add(field, "too_long", max=limit)


# -- opportunities ------------------------------------------------------------------------------
# The referral keeps `opportunity_id` without a database foreign key: the opportunity table's migration
# runs after this one. Submission checks the opportunity exists and is open; a title that cannot be found
# later simply shows as a general referral.


def open_opportunity(session: Session, opportunity_id: int) -> Opportunity | None:
    """The opportunity when it exists and is open (not expired) right now."""
    opportunity = get_by_id(session, Opportunity, opportunity_id)
    if opportunity is None or not opportunity.is_open or as_utc(opportunity.expires_at) <= now():
        return None
    return opportunity


def open_opportunity_choices(
    session: Session, *, query: str = "", limit: int = 100
) -> list[OpportunityChoice]:
    """Open opportunities matching every word of `query` (type-ahead; newest first, at most 100)."""
    page = search_opportunities(session, query=query.strip() or None, limit=max(1, min(limit, 100)))
    return [OpportunityChoice(id=int(o.id or 0), title=o.title, kind=o.kind) for o in page.items]


def opportunity_titles(session: Session, ids: set[int]) -> dict[int, str]:
    """{opportunity id: title} for the given ids (missing ones are left out)."""
    if not ids:
        return {}
    rows = session.exec(select(Opportunity).where(col(Opportunity.id).in_(ids))).all()
    return {int(o.id or 0): o.title for o in rows}


# -- submit -------------------------------------------------------------------------------------


def submit_referral(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: int | None,
    candidate_name: str,
    candidate_email: str = "",
    candidate_url: str = "",
    relationship: str = "",
    why_fit: str = "",
    consent: bool,
) -> Referral:
    """Validate and store a referral (nothing is stored when anything is wrong).

    Raises ValidationFailed with per-field codes; a duplicate (same normalised email for the same
    opportunity, or both general) is `referrals.errors.duplicate` on `candidate_email` with the date of the
    first referral as `first_referred_at` (never who referred).
    """
    name = candidate_name.strip()
    email = candidate_email.strip()
    url = candidate_url.strip()
    relationship = relationship.strip()
    why_fit = why_fit.strip()
    errs = FieldErrors()
    if opportunity_id is not None and open_opportunity(session, opportunity_id) is None:
        errs.add("opportunity", ERR_OPPORTUNITY_CLOSED)
    if not name:
        errs.add("candidate_name", "required")
    _check_length(errs, "candidate_name", name, NAME_MAX)
    if not email and not url:
        errs.add("candidate_email", ERR_CONTACT_REQUIRED)
    if email and not is_valid_email(email):
        errs.add("candidate_email", "invalid_email")
    if url and not is_valid_url(url):
        errs.add("candidate_url", "invalid_url")
    _check_length(errs, "relationship", relationship, RELATIONSHIP_MAX)
    _check_length(errs, "why_fit", why_fit, WHY_FIT_MAX)
    if not consent:
        errs.add("consent", ERR_CONSENT_REQUIRED)
    key = _duplicate_key(opportunity_id, normalize_email(email)) if email else None
    if key is not None and "candidate_email" not in errs.errors:
        first = _first_referred_at(session, key)
        if first is not None:
            errs.add("candidate_email", ERR_DUPLICATE, first_referred_at=first)
    errs.raise_if_any()

    stamp = now()
    referral = Referral(
        referrer_id=actor.user_id,
        opportunity_id=opportunity_id,
        candidate_name=name,
        candidate_email=email or None,
        candidate_url=url or None,
        relationship=relationship,
        why_fit=why_fit,
        consent_at=stamp,
        status=SUBMITTED,
        duplicate_key=key,
        created_at=stamp,
        updated_at=stamp,
        hr_touched_at=stamp,
    )
    nested = session.begin_nested()
    try:
        session.add(referral)
        session.flush()
    except IntegrityError:
        # The same candidate was referred a moment ago (between our check and this insert).
        nested.rollback()
        first = _first_referred_at(session, key or "") or stamp
        raise ValidationFailed({"candidate_email": (ERR_DUPLICATE, {"first_referred_at": first})}) from None
    nested.commit()
    session.add(
        ReferralStatusChange(
            referral_id=int(referral.id or 0), at=stamp, actor_id=actor.user_id, to_status=SUBMITTED
        )
    )
    record(session, actor=actor.user_id, action="referral.submit", target=f"referral:{referral.id}")
    session.flush()
    return referral


def record_second_referrer(
    session: Session, *, actor: Actor, opportunity_id: int | None, candidate_email: str
) -> int | None:
    """After a duplicate refusal: note in the first referral's history that `actor` vouched for the same
    candidate, so HR learns it. The second member is told nothing more than the refusal already says.

    Returns the referral's id when a line was added (once per member; never for the original referrer)."""
    email = candidate_email.strip()
    if not email or not is_valid_email(email):
        return None
    key = _duplicate_key(opportunity_id, normalize_email(email))
    referral = session.exec(select(Referral).where(Referral.duplicate_key == key)).first()
    if referral is None or referral.id is None or referral.referrer_id == actor.user_id:
        return None
    already = session.exec(
        select(ReferralStatusChange.id).where(
            ReferralStatusChange.referral_id == referral.id,
            ReferralStatusChange.to_status == VOUCHED,
            ReferralStatusChange.actor_id == actor.user_id,
        )
    ).first()
    if already is not None:
        return None
    session.add(
        ReferralStatusChange(
            referral_id=referral.id, actor_id=actor.user_id, from_status=referral.status, to_status=VOUCHED
        )
    )
    record(session, actor=actor.user_id, action="referral.vouch", target=f"referral:{referral.id}")
    session.flush()
    return referral.id


def _first_referred_at(session: Session, key: str) -> datetime | None:
    created = session.exec(select(Referral.created_at).where(Referral.duplicate_key == key)).first()
    return as_utc(created) if created is not None else None


# -- reading --------------------------------------------------------------------------------------


def find_referral(session: Session, referral_id: int) -> Referral | None:
    """The referral, or None (for ids from payloads that may point nowhere)."""
    return get_by_id(session, Referral, referral_id)


def get_status_change(session: Session, change_id: int) -> ReferralStatusChange | None:
    """One entry of a referral's history, or None."""
    return get_by_id(session, ReferralStatusChange, change_id)


def get_referral(session: Session, referral_id: int, *, for_update: bool = False) -> Referral:
    """The referral; `for_update` locks its row (PostgreSQL) so concurrent status changes serialise."""
    return get_or_not_found(session, Referral, referral_id, for_update=for_update)


def history(session: Session, referral_id: int) -> list[ReferralStatusChange]:
    """The referral's changes, oldest first."""
    stmt = (
        select(ReferralStatusChange)
        .where(ReferralStatusChange.referral_id == referral_id)
        .order_by(col(ReferralStatusChange.at), col(ReferralStatusChange.id))
    )
    return list(session.exec(stmt).all())


def referrals_of(session: Session, referrer_id: str, *, limit: int = 20) -> tuple[list[Referral], int]:
    """The referrer's referrals, newest first (at most `limit`), and how many they made in all."""
    stmt = (
        select(Referral)
        .where(Referral.referrer_id == referrer_id)
        .order_by(col(Referral.created_at).desc(), col(Referral.id).desc())
        .limit(limit)
    )
    total = session.exec(
        select(func.count()).select_from(Referral).where(Referral.referrer_id == referrer_id)
    ).one()
    return list(session.exec(stmt).all()), int(total)


def pipeline_counts(session: Session) -> dict[str, int]:
    """{status: count} over every referral (statuses without referrals are 0)."""
    rows = session.exec(select(Referral.status, func.count()).group_by(Referral.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({str(status): int(count) for status, count in rows})
    return counts


def oldest_untouched(session: Session, *, limit: int = 10) -> list[Referral]:
    """Open referrals, the one HR touched longest ago first."""
    stmt = (
        select(Referral)
        .where(col(Referral.status).in_(OPEN_STATUSES))
        .order_by(col(Referral.hr_touched_at), col(Referral.id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def stale_referrals(session: Session, *, at: datetime, older_than: timedelta = STALE_AFTER) -> list[Referral]:
    """Open referrals HR has not touched for `older_than` (oldest first)."""
    stmt = (
        select(Referral)
        .where(col(Referral.status).in_(OPEN_STATUSES), col(Referral.hr_touched_at) <= at - older_than)
        .order_by(col(Referral.hr_touched_at), col(Referral.id))
    )
    return list(session.exec(stmt).all())


def count_created_between(session: Session, start: datetime, end: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(Referral)
        .where(col(Referral.created_at) >= start, col(Referral.created_at) < end)
    )
    return int(session.exec(stmt).one())


def count_hired(session: Session) -> int:
    """Referrals whose candidate was hired, so far."""
    stmt = select(func.count()).select_from(Referral).where(Referral.status == HIRED)
    return int(session.exec(stmt).one())


# -- HR and referrer actions ----------------------------------------------------------------------


def set_hr_message(session: Session, *, referral_id: int, channel: str, ts: str) -> None:
    """Remember where the referral's HR-channel message is (so it can be updated in place)."""
    referral = get_referral(session, referral_id)
    referral.hr_channel, referral.hr_ts = channel, ts
    session.add(referral)
    session.flush()


def change_status(
    session: Session,
    *,
    actor: Actor,
    referral_id: int,
    to_status: str,
    note: str = "",
    share_note: bool = False,
) -> ReferralStatusChange:
    """HR moves a referral to another status, with an optional note; appended to the history."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    referral = get_referral(session, referral_id, for_update=True)
    note = note.strip()
    if to_status not in HR_STATUSES:
        raise DomainError("invalid", field="status")
    if len(note) > NOTE_MAX:
        raise ValidationFailed({"note": ("too_long", {"max": NOTE_MAX})})
    if referral.status == WITHDRAWN:
        raise DomainError(ERR_FINAL, field="status")
    if referral.status == to_status:
        raise DomainError(ERR_SAME_STATUS, field="status")
    return _apply(
        session, referral, actor=actor, to_status=to_status, note=note, share_note=share_note and bool(note)
    )


def withdraw(session: Session, *, actor: Actor, referral_id: int) -> ReferralStatusChange:
    """The referrer withdraws their referral (only theirs, only before interviewing)."""
    referral = get_referral(session, referral_id, for_update=True)
    if referral.referrer_id != actor.user_id:
        raise PermissionDenied("not_allowed")
    if not referral.can_withdraw:
        raise DomainError(ERR_CANNOT_WITHDRAW, field="status", status=referral.status)
    change = _apply(session, referral, actor=actor, to_status=WITHDRAWN, note="", share_note=False)
    # A withdrawn referral no longer blocks someone else from referring the same person.
    referral.duplicate_key = None
    session.add(referral)
    session.flush()
    return change


def _apply(
    session: Session, referral: Referral, *, actor: Actor, to_status: str, note: str, share_note: bool
) -> ReferralStatusChange:
    stamp = now()
    change = ReferralStatusChange(
        referral_id=int(referral.id or 0),
        at=stamp,
        actor_id=actor.user_id,
        from_status=referral.status,
        to_status=to_status,
        note=note,
        note_shared=share_note,
    )
    referral.status = to_status
    referral.updated_at = stamp
    if to_status != WITHDRAWN:
        referral.hr_touched_at = stamp
    session.add(referral)
    session.add(change)
    record(
        session,
        actor=actor.user_id,
        action="referral.status",
        target=f"referral:{referral.id}",
        from_status=change.from_status,
        to_status=to_status,
    )
    session.flush()
    return change


def assign_owner(
    session: Session, *, actor: Actor, referral_id: int, owner_id: str | None, owner_is_hr: bool
) -> Referral:
    """HR assigns (or clears, with None) the HR owner; the owner must hold the HR role."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    referral = get_referral(session, referral_id, for_update=True)
    if owner_id is not None and not owner_is_hr:
        raise DomainError(ERR_OWNER_NOT_HR, field="owner")
    stamp = now()
    referral.owner_id = owner_id
    referral.updated_at = stamp
    referral.hr_touched_at = stamp
    session.add(referral)
    record(
        session,
        actor=actor.user_id,
        action="referral.assign",
        target=f"referral:{referral.id}",
        owner=owner_id,
    )
    session.flush()
    return referral
