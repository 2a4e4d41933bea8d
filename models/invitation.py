"""Email invitations to leavers on HR's roster who are not in Slack yet, and the invitation funnel.

One `Invitation` row per roster record (unique), so a person is never invited twice by accident: HR queues
it (`queue_invitations`), the delivery job (`jobs/invitations.py`) sends it once, and only HR's explicit
resend of that one row (`resend=True` with its roster id) puts it back in the queue. When the person joins
Slack and the roster record is linked to a member (`models.roster`), `mark_joined` stops what is still
waiting and remembers the member (so erasing the member deletes the invitation too).

Life of a row (`status`):
- `queued`: waiting for `next_attempt_at`;
- `sending`: claimed by one delivery worker (`claimed_by`, `claimed_at`); `handed_over_at` is set right
  before the message goes to the SMTP server (`DATA`);
- `sent` (with `sent_at`, `message_id`): final until HR asks for a resend;
- `failed` (with `error`): the server refused it for good, or transient failures ran out of attempts;
- `uncertain`: the connection broke while the server had the message, or a worker died after handing it
  over: it may or may not have been delivered. An email cannot be looked up afterwards the way a Slack
  message can, so it is never re-sent automatically (HR sees it and may resend);
- `stopped`: the person joined before it went out.

Claims are one conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite serialises writers), as
in `models.outbox`; outcomes are fenced by `claimed_by`, so a worker whose claim was taken over records
nothing.

Funnel (`invitation_funnel`): see its docstring for the definition of each stage.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, and_, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Column, Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import FieldErrors, PermissionDenied
from models.member import Member
from models.roster import LANGUAGES, RosterRecord  # the languages an invitation is written in
from models.timeutil import now
from models.types import UTCDateTime

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNCERTAIN = "uncertain"
STOPPED = "stopped"
STATUSES = (QUEUED, SENDING, SENT, FAILED, UNCERTAIN, STOPPED)
# Rows HR may ask to send again (a queued or sending row is already on its way; a stopped one has joined).
RESENDABLE = (SENT, FAILED, UNCERTAIN)
# Rows that stop when the person joins (a row being sent right now finishes).
STOPPABLE = (QUEUED, FAILED, UNCERTAIN)
# "Active" in the funnel: did something the monthly report counts as activity in this many days.
ACTIVE_DAYS = 90

ERR_CHOOSE = "invitations.errors.choose_people"
ERR_RESEND_NEEDS_ROWS = "invitations.errors.resend_needs_rows"
ERR_LANGUAGE = "invitations.errors.language"

# Kana, CJK ideographs, and the full-width forms Japanese HR systems write names in.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


class Invitation(SQLModel, table=True):
    """The invitation of one roster record (one row per person; a resend reuses it)."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    roster_record_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("roster_record.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    # Set when the person joins (the roster record was linked to this member): erasure finds the row by it.
    member_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id"), index=True, nullable=True)
    )
    email: str = Field(max_length=320)
    language: str = Field(default="ja", max_length=8)
    status: str = Field(default=QUEUED, max_length=16)
    attempts: int = 0  # failed tries of the current send (reset by a resend)
    sends: int = 0  # times an SMTP server accepted it (1, more after HR's resends)
    next_attempt_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    queued_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    queued_by: str = Field(default="", max_length=32)  # the HR user who invited (or asked for the resend)
    first_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resend_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=255)


def guess_language(name: str, default: str = "en") -> str:
    """`ja` for a name written in Japanese script, else `default` (a Latin name may still be a Japanese
    reader's, so this is only the fallback when the roster gives no language)."""
    return "ja" if _JAPANESE.search(name) else default


def invitation_language(roster_language: str | None, name: str, default: str = "en") -> str:
    """The language of someone's invitation: the roster's when HR gave one, else guessed from the name's
    script, else `default` (the workspace's `ALUMNI_LANGUAGE`)."""
    if roster_language in LANGUAGES:
        return str(roster_language)
    return guess_language(name, default)


# ---------------------------------------------------------------------------------------------- queueing


@dataclass
class QueueResult:
    """What one `queue_invitations` call did. `skipped` counts by reason (`already_invited`, `on_its_way`,
    `joined`, `not_found`)."""

    queued: int = 0
    resent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count


def _joined_emails(session: Session, emails: Collection[str]) -> set[str]:
    """Emails of members already in Slack (a roster row may not be linked yet, e.g. before the next import)."""
    found: set[str] = set()
    wanted = sorted(set(emails))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = sa_select(Member.email).where(  # type: ignore[call-overload]
            col(Member.email).in_(chunk),
            col(Member.slack_user_id).is_not(None),
            col(Member.erased_at).is_(None),
        )
        found.update(str(e) for e in session.execute(query).scalars() if e)
    return found


def queue_invitations(
    session: Session,
    *,
    actor: Actor,
    roster_ids: Sequence[int] | None = None,
    all_not_in_slack: bool = False,
    resend: bool = False,
    language: str | None = None,
    default_language: str = "en",
) -> QueueResult:
    """Queue invitations (HR only): to `roster_ids`, or to everyone not in Slack yet (`all_not_in_slack`).

    Nobody is invited twice: a person with an invitation is skipped unless `resend=True`, which only works
    with explicit `roster_ids` and re-queues rows that were sent, failed or uncertain. Nobody already in
    Slack is invited. `language` (`ja`/`en`) applies to every new row; without it each person gets the
    language of their roster row, else one guessed from how their name is written, else `default_language`
    (`invitation_language`). A resend without `language` takes the roster's language when it has one (HR may
    have corrected it since).
    """
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    errs = FieldErrors()
    if (roster_ids is None or not roster_ids) == (not all_not_in_slack):
        errs.add("roster_ids", ERR_CHOOSE)
    if resend and all_not_in_slack:
        errs.add("resend", ERR_RESEND_NEEDS_ROWS)
    if language is not None and language not in LANGUAGES:
        errs.add("language", ERR_LANGUAGE)
    errs.raise_if_any()
    result = QueueResult()
    moment = now()
    ids = sorted({int(i) for i in roster_ids}) if roster_ids else None
    for _ in range(3):  # another HR click may insert the same rows between our read and our insert
        nested = session.begin_nested()
        try:
            attempt = QueueResult()
            _queue(
                session,
                actor=actor,
                ids=ids,
                resend=resend,
                language=language,
                default_language=default_language,
                at=moment,
                result=attempt,
            )
            nested.commit()
            result = attempt
            break
        except IntegrityError:
            nested.rollback()
    else:  # pragma: no cover - three races in a row
        raise RuntimeError("could not queue invitations")
    record(
        session,
        actor=actor.user_id,
        action="invitations.queue",
        target="roster",
        queued=result.queued,
        resent=result.resent,
        skipped=result.skipped,
    )
    session.flush()
    return result


def _queue(
    session: Session,
    *,
    actor: Actor,
    ids: list[int] | None,
    resend: bool,
    language: str | None,
    default_language: str,
    at: datetime,
    result: QueueResult,
) -> None:
    rec = RosterRecord.__table__  # type: ignore[attr-defined]
    inv = Invitation.__table__  # type: ignore[attr-defined]
    query = sa_select(
        rec.c.id, rec.c.email, rec.c.name, rec.c.language, rec.c.member_id, inv.c.id, inv.c.status
    ).select_from(rec.outerjoin(inv, inv.c.roster_record_id == rec.c.id))
    rows: list[Any] = []
    if ids is None:
        rows = list(session.execute(query.where(rec.c.member_id.is_(None), inv.c.id.is_(None))).all())
    else:
        for start in range(0, len(ids), 500):
            rows.extend(session.execute(query.where(rec.c.id.in_(ids[start : start + 500]))).all())
        result.skip("not_found", len(ids) - len(rows))
    joined = _joined_emails(session, [r[1] for r in rows])
    new_rows: list[dict[str, Any]] = []
    resend_ids: list[int] = []
    for record_id, email, name, roster_language, member_id, invitation_id, status in rows:
        if member_id is not None or email in joined:
            result.skip("joined")
        elif invitation_id is None:
            new_rows.append(
                {
                    "roster_record_id": record_id,
                    "email": email,
                    "language": language or invitation_language(roster_language, name, default_language),
                    "status": QUEUED,
                    "attempts": 0,
                    "sends": 0,
                    "next_attempt_at": at,
                    "queued_at": at,
                    "queued_by": actor.user_id,
                }
            )
        elif not resend:
            result.skip("already_invited")
        elif status in RESENDABLE:
            resend_ids.append(int(invitation_id))
        else:
            result.skip("on_its_way" if status in (QUEUED, SENDING) else "joined")
    if new_rows:
        session.execute(insert(Invitation), new_rows)
        result.queued = len(new_rows)
    for start in range(0, len(resend_ids), 500):
        values: dict[str, Any] = {
            "status": QUEUED,
            "attempts": 0,
            "next_attempt_at": at,
            "resend_requested_at": at,
            "queued_by": actor.user_id,
            "error": None,
            "handed_over_at": None,
        }
        if language is not None:
            values["language"] = language
        else:  # the roster's language when set (HR may have corrected it), else the one it was sent in
            roster_language = (
                sa_select(rec.c.language)
                .where(rec.c.id == inv.c.roster_record_id, rec.c.language.in_(LANGUAGES))
                .scalar_subquery()
            )
            values["language"] = func.coalesce(roster_language, inv.c.language)
        changed = session.execute(
            update(inv)
            .where(inv.c.id.in_(resend_ids[start : start + 500]), inv.c.status.in_(RESENDABLE))
            .values(**values)
        )
        count = int(changed.rowcount or 0)  # type: ignore[attr-defined]
        result.resent += count
        result.skip("on_its_way", len(resend_ids[start : start + 500]) - count)


def mark_joined(session: Session, *, roster_record_ids: Collection[int], at: datetime | None = None) -> int:
    """The roster records are now linked to members: remember the member on their invitations and stop
    those still waiting (queued, failed, uncertain). Returns how many were stopped. Called by
    `models.roster` wherever it links a record."""
    ids = sorted({int(i) for i in roster_record_ids})
    if not ids:
        return 0
    session.flush()
    inv = Invitation.__table__  # type: ignore[attr-defined]
    rec = RosterRecord.__table__  # type: ignore[attr-defined]
    member_of = sa_select(rec.c.member_id).where(rec.c.id == inv.c.roster_record_id).scalar_subquery()
    stopped = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.execute(update(inv).where(inv.c.roster_record_id.in_(chunk)).values(member_id=member_of))
        result = session.execute(
            update(inv)
            .where(inv.c.roster_record_id.in_(chunk), inv.c.status.in_(STOPPABLE))
            .values(status=STOPPED, stopped_at=at or now(), claimed_at=None)
        )
        stopped += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return stopped


# ---------------------------------------------------------------------------------------------- HR's list


@dataclass(frozen=True)
class PersonNotInSlack:
    """One roster person not in Slack yet, with their invitation (if any)."""

    roster_record_id: int
    name: str
    email: str
    department: str
    left_year: int | None
    status: str | None  # None: never invited
    sent_at: datetime | None
    error: str | None

    @property
    def can_invite(self) -> bool:
        return self.status is None

    @property
    def can_resend(self) -> bool:
        return self.status in RESENDABLE


@dataclass(frozen=True)
class NotInSlackPage:
    people: list[PersonNotInSlack]
    total: int  # everyone not in Slack yet
    not_invited: int  # of them, never invited ("invite all N")
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.people) < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


def not_in_slack(session: Session, *, actor: Actor, offset: int = 0, limit: int = 20) -> NotInSlackPage:
    """One page of the people on the roster who are not in Slack yet (HR only), by name."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    offset, limit = max(0, offset), max(1, min(limit, 100))
    rec = RosterRecord.__table__  # type: ignore[attr-defined]
    inv = Invitation.__table__  # type: ignore[attr-defined]
    joined = rec.outerjoin(inv, inv.c.roster_record_id == rec.c.id)
    waiting = rec.c.member_id.is_(None)
    conn = session.connection()
    total, not_invited = conn.execute(
        sa_select(func.count(), func.count().filter(inv.c.id.is_(None))).select_from(joined).where(waiting)
    ).one()
    rows = conn.execute(
        sa_select(
            rec.c.id,
            rec.c.name,
            rec.c.email,
            rec.c.department,
            rec.c.left_year,
            inv.c.status,
            inv.c.sent_at,
            inv.c.error,
        )
        .select_from(joined)
        .where(waiting)
        .order_by(rec.c.name, rec.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    people = [PersonNotInSlack(*row) for row in rows]
    return NotInSlackPage(people, int(total), int(not_invited), offset, limit)


# ---------------------------------------------------------------------------------------------- delivery

_T = Invitation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class InvitationClaim:
    """An invitation one delivery worker now holds (status `sending`)."""

    id: int
    roster_record_id: int
    email: str
    language: str
    attempts: int
    sends: int
    claimed_by: str
    name: str = ""


def claim_next_invitation(
    session: Session, *, worker_id: str, at: datetime | None = None
) -> InvitationClaim | None:
    """Claim the next due queued invitation (oldest due first); None when none is due. Commit right away."""
    current = at or now()
    other = _T.alias("candidate")
    candidate = (
        sa_select(other.c.id)
        .where(and_(other.c.status == QUEUED, other.c.next_attempt_at <= current))
        .order_by(other.c.next_attempt_at, other.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = session.execute(
        update(_T)
        .where(and_(_T.c.id == candidate.scalar_subquery(), _T.c.status == QUEUED))
        .values(status=SENDING, claimed_by=worker_id, claimed_at=current, handed_over_at=None)
        .returning(_T.c.id, _T.c.roster_record_id, _T.c.email, _T.c.language, _T.c.attempts, _T.c.sends)
    ).first()
    if row is None:
        return None
    name = session.execute(
        sa_select(RosterRecord.name).where(RosterRecord.id == row.roster_record_id)  # type: ignore[call-overload]
    ).scalar()
    return InvitationClaim(
        id=row.id,
        roster_record_id=row.roster_record_id,
        email=row.email,
        language=row.language,
        attempts=row.attempts,
        sends=row.sends,
        claimed_by=worker_id,
        name=str(name or ""),
    )


def _fenced(claim: InvitationClaim) -> Any:
    return and_(_T.c.id == claim.id, _T.c.status == SENDING, _T.c.claimed_by == claim.claimed_by)


def _changed(session: Session, claim: InvitationClaim, **values: Any) -> bool:
    result = session.execute(update(_T).where(_fenced(claim)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_handed_over(session: Session, claim: InvitationClaim, *, at: datetime | None = None) -> bool:
    """Record that the message is about to go to the SMTP server (commit before sending). False when the
    claim was lost: then the caller must not send."""
    return _changed(session, claim, handed_over_at=at or now(), claimed_at=at or now())


def mark_sent(
    session: Session, claim: InvitationClaim, *, message_id: str, at: datetime | None = None
) -> bool:
    """The SMTP server accepted the message."""
    moment = at or now()
    return _changed(
        session,
        claim,
        status=SENT,
        sent_at=moment,
        first_sent_at=func.coalesce(_T.c.first_sent_at, moment),
        sends=_T.c.sends + 1,
        message_id=message_id[:255],
        error=None,
        claimed_at=None,
    )


def retry_later(
    session: Session, claim: InvitationClaim, *, not_before: datetime, error: str, count_attempt: bool = True
) -> bool:
    """Give the row back to the queue (nothing reached the server), to be tried again from `not_before`."""
    values: dict[str, Any] = {
        "status": QUEUED,
        "next_attempt_at": not_before,
        "error": error[:255],
        "claimed_at": None,
        "handed_over_at": None,
    }
    if count_attempt:
        values["attempts"] = _T.c.attempts + 1
    return _changed(session, claim, **values)


def mark_failed(session: Session, claim: InvitationClaim, *, error: str, uncertain: bool = False) -> bool:
    """Record a final outcome: refused for good (`failed`), or maybe delivered (`uncertain`)."""
    return _changed(
        session,
        claim,
        status=UNCERTAIN if uncertain else FAILED,
        attempts=_T.c.attempts + 1,
        error=error[:255],
        claimed_at=None,
    )


def release_stale_claims(session: Session, *, stale_before: datetime, at: datetime | None = None) -> int:
    """Rows left `sending` by a worker that stopped: back to the queue when the message never went to the
    server, `uncertain` when it had been handed over (it may have been delivered)."""
    stale = and_(_T.c.status == SENDING, _T.c.claimed_at < stale_before)
    requeued = session.execute(
        update(_T)
        .where(stale, _T.c.handed_over_at.is_(None))
        .values(status=QUEUED, next_attempt_at=at or now(), claimed_at=None, error="stale claim")
    )
    unknown = session.execute(
        update(_T)
        .where(stale, _T.c.handed_over_at.is_not(None))
        .values(status=UNCERTAIN, claimed_at=None, error="worker stopped while sending")
    )
    return int(requeued.rowcount or 0) + int(unknown.rowcount or 0)  # type: ignore[attr-defined]


def has_due(session: Session, *, at: datetime | None = None) -> bool:
    """True when a queued invitation is due."""
    query = sa_select(_T.c.id).where(_T.c.status == QUEUED, _T.c.next_attempt_at <= (at or now())).limit(1)
    return session.execute(query).first() is not None


def invitation_for(session: Session, *, roster_record_id: int) -> Invitation | None:
    """The invitation of one roster record, if any."""
    return session.exec(select(Invitation).where(Invitation.roster_record_id == roster_record_id)).first()


# ---------------------------------------------------------------------------------------------- funnel


@dataclass(frozen=True)
class InvitationFunnel:
    """roster ⊇ invited ⊇ joined ⊇ consented ⊇ active (see `invitation_funnel`)."""

    roster: int
    invited: int
    joined: int
    consented: int
    active: int

    def stages(self) -> list[tuple[str, int]]:
        return [
            ("roster", self.roster),
            ("invited", self.invited),
            ("joined", self.joined),
            ("consented", self.consented),
            ("active", self.active),
        ]


def invitation_funnel(
    session: Session, *, since: datetime | None, until: datetime, active_days: int = ACTIVE_DAYS
) -> InvitationFunnel:
    """The invitation funnel of the people HR's roster brought in [since, until), as of `until`:

    - roster: roster records first imported in [since, until) whose person was not in Slack at the import
      (still unlinked, or linked later than imported: a record linked by the import itself has
      `matched_at == first_imported_at`);
    - invited: of them, those whose invitation was first accepted by the SMTP server before `until`;
    - joined: of the invited, those who joined Slack (their record was linked) after the invitation and
      before `until`;
    - consented: of the joined, members who consented before `until` and are not erased;
    - active: of the consented, members active in the `active_days` (90) days before `until`, by the
      monthly report's definition (`models.report.active_member_ids`: checked in, posted, showed interest,
      referred, RSVPed or sent feedback).
    `since=None` counts everyone imported before `until`. Roster rows purged by retention are not counted.
    """
    rec = RosterRecord.__table__  # type: ignore[attr-defined]
    inv = Invitation.__table__  # type: ignore[attr-defined]
    member = Member.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    cohort = [
        rec.c.first_imported_at < until,
        or_(rec.c.member_id.is_(None), rec.c.matched_at > rec.c.first_imported_at),
    ]
    if since is not None:
        cohort.append(rec.c.first_imported_at >= since)
    roster = int(conn.execute(sa_select(func.count()).select_from(rec).where(*cohort)).scalar_one())
    invited_where = [*cohort, inv.c.first_sent_at.is_not(None), inv.c.first_sent_at < until]
    from_invited = rec.join(inv, inv.c.roster_record_id == rec.c.id)
    invited = int(
        conn.execute(sa_select(func.count()).select_from(from_invited).where(*invited_where)).scalar_one()
    )
    joined_where = [
        *invited_where,
        rec.c.member_id.is_not(None),
        rec.c.matched_at >= inv.c.first_sent_at,
        rec.c.matched_at < until,
    ]
    joined = int(
        conn.execute(sa_select(func.count()).select_from(from_invited).where(*joined_where)).scalar_one()
    )
    consented_ids = {
        int(v)
        for v in conn.execute(
            sa_select(member.c.id)
            .select_from(from_invited.join(member, member.c.id == rec.c.member_id))
            .where(
                *joined_where,
                member.c.consented_at.is_not(None),
                member.c.consented_at < until,
                member.c.erased_at.is_(None),
            )
        ).scalars()
    }
    from models.report import active_member_ids  # the report's definition of activity

    active = len(consented_ids & active_member_ids(session, until - timedelta(days=active_days), until))
    return InvitationFunnel(roster, invited, joined, len(consented_ids), active)
