"""OutboxMessage: scheduled messages waiting to be delivered, each at most once (unique dedupe key).

Jobs decide *what* to send and call `enqueue`; the delivery worker (`jobs/delivery.py`) sends.

Life of a row (`status`):
- `pending`: waiting for `next_attempt_at`;
- `sending`: claimed by one worker (`claimed_by`, `claimed_at`), which is talking to Slack right now;
- `uncertain`: Slack may or may not have accepted it (a timeout, a 5xx, or a worker that died while
  `sending`); the next claim first looks for its dedupe key in the conversation's history;
- `sent` (with `channel`, `ts`), `failed` (with `error`), `cancelled`: final.

Claims are single conditional UPDATE statements (`... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)` on
PostgreSQL; SQLite serialises writers), so two workers never hold the same row. Outcomes are fenced by
`claimed_by`: a worker whose claim was taken over records nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, and_, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.timeutil import now
from models.types import UTCDateTime

PENDING = "pending"
SENDING = "sending"
UNCERTAIN = "uncertain"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
FINAL_STATUSES = frozenset({SENT, FAILED, CANCELLED})


class OutboxMessage(SQLModel, table=True):
    """One message to post. `recipient` is a channel ID (C…/G…) or a user ID (U…/W…) for a DM."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    purpose: str = Field(max_length=64, index=True)
    recipient: str = Field(max_length=64, index=True)
    period: str = Field(default="", max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    channel: str | None = Field(default=None, max_length=64)
    ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def message(self) -> dict[str, Any]:
        """The `chat.postMessage` arguments (text, blocks, …) stored at enqueue time."""
        data: dict[str, Any] = json.loads(self.payload)
        return data


def dedupe_key(purpose: str, recipient: str, period: str) -> str:
    """The one key for (purpose, recipient, period)."""
    return f"{purpose}:{recipient}:{period}"


def enqueue(
    session: Session,
    *,
    purpose: str,
    recipient: str,
    period: str,
    message: dict[str, Any],
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Queue a message once. Returns None when (purpose, recipient, period) is already queued or sent."""
    key = dedupe_key(purpose, recipient, period)
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None:
        return None
    row = OutboxMessage(
        dedupe_key=key,
        purpose=purpose,
        recipient=recipient,
        period=period,
        payload=json.dumps(message, ensure_ascii=False),
        next_attempt_at=not_before or now(),
    )
    nested = session.begin_nested()
    try:
        session.add(row)
        session.flush()
    except IntegrityError:
        # Another process queued the same key between our check and insert.
        nested.rollback()
        return None
    nested.commit()
    return row


# --------------------------------------------------------------------------- delivery-side operations

_T = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claim:
    """A row one worker now holds (status `sending`). `uncertain`: check history before sending."""

    id: int
    dedupe_key: str
    purpose: str
    recipient: str
    payload: str
    attempts: int
    channel: str | None
    ts: str | None  # set once Slack accepted the message (a row that still has files to upload)
    claimed_at: datetime
    claimed_by: str
    uncertain: bool

    def message(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.payload)
        return data


def release_stale_claims(session: Session, *, stale_before: datetime, at: datetime | None = None) -> int:
    """Rows left `sending` by a worker that stopped answering become `uncertain` (checked before resending)."""
    result = session.execute(
        update(_T)
        .where(and_(_T.c.status == SENDING, _T.c.claimed_at < stale_before))
        .values(status=UNCERTAIN, next_attempt_at=at or now(), error="stale claim")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_next(
    session: Session,
    *,
    worker_id: str,
    exclude_recipients: Collection[str] = (),
    keys: Collection[str] | None = None,
    at: datetime | None = None,
    include_uncertain: bool = True,
) -> Claim | None:
    """Claim the next due row (uncertain ones first, then pending by due time); None when none is due.

    `include_uncertain=False` skips the look for uncertain rows (a worker that knows there are none).

    One UPDATE statement: on PostgreSQL its subquery takes the row `FOR UPDATE SKIP LOCKED`, so concurrent
    workers each get a different row without waiting; on SQLite the statement runs under the write lock.
    The caller commits right away so the claim is visible to other workers.
    """
    current = at or now()
    for status in (UNCERTAIN, PENDING) if include_uncertain else (PENDING,):
        other = _T.alias("candidate")
        candidate = (
            sa_select(other.c.id)
            .where(and_(other.c.status == status, other.c.next_attempt_at <= current))
            .order_by(other.c.next_attempt_at, other.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if exclude_recipients:
            candidate = candidate.where(other.c.recipient.not_in(list(exclude_recipients)))
        if keys is not None:
            candidate = candidate.where(other.c.dedupe_key.in_(list(keys)))
        statement = (
            update(_T)
            .where(and_(_T.c.id == candidate.scalar_subquery(), _T.c.status == status))
            .values(status=SENDING, claimed_by=worker_id, claimed_at=current)
            .returning(
                _T.c.id,
                _T.c.dedupe_key,
                _T.c.purpose,
                _T.c.recipient,
                _T.c.payload,
                _T.c.attempts,
                _T.c.channel,
                _T.c.ts,
            )
        )
        row = session.execute(statement).first()
        if row is not None:
            return Claim(
                id=row.id,
                dedupe_key=row.dedupe_key,
                purpose=row.purpose,
                recipient=row.recipient,
                payload=row.payload,
                attempts=row.attempts,
                channel=row.channel,
                ts=row.ts,
                claimed_at=current,
                claimed_by=worker_id,
                uncertain=status == UNCERTAIN,
            )
    return None


def has_due(
    session: Session,
    *,
    recipients: Collection[str] | None = None,
    keys: Collection[str] | None = None,
    at: datetime | None = None,
    in_statuses: Collection[str] = (PENDING, UNCERTAIN),
) -> bool:
    """True when a pending/uncertain row is due (optionally only among `recipients` or `keys`)."""
    query = sa_select(_T.c.id).where(
        and_(_T.c.status.in_(list(in_statuses)), _T.c.next_attempt_at <= (at or now()))
    )
    if recipients is not None:
        query = query.where(_T.c.recipient.in_(list(recipients)))
    if keys is not None:
        query = query.where(_T.c.dedupe_key.in_(list(keys)))
    return session.execute(query.limit(1)).first() is not None


def _fenced(claim: Claim) -> Any:
    return and_(_T.c.id == claim.id, _T.c.status == SENDING, _T.c.claimed_by == claim.claimed_by)


def touch_claim(session: Session, claim: Claim, *, at: datetime | None = None) -> bool:
    """Refresh a claim before a slow step; False when another worker has taken it over."""
    result = session.execute(update(_T).where(_fenced(claim)).values(claimed_at=at or now()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, claim: Claim, *, channel: str, ts: str, at: datetime | None = None) -> bool:
    """Record that Slack accepted the message (`channel`, `ts`). False when the claim was lost."""
    result = session.execute(
        update(_T)
        .where(_fenced(claim))
        .values(status=SENT, channel=channel, ts=ts, sent_at=at or now(), error=None, claimed_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_posted(session: Session, claim: Claim, *, channel: str, ts: str) -> bool:
    """Slack accepted the message but the row has more to do (files to upload): keep it claimed."""
    result = session.execute(update(_T).where(_fenced(claim)).values(channel=channel, ts=ts))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(session: Session, claim: Claim, *, error: str, channel: str | None = None) -> bool:
    """Record a permanent failure with Slack's error code."""
    values: dict[str, Any] = {"status": FAILED, "error": error[:255], "claimed_at": None}
    if channel:
        values["channel"] = channel
    result = session.execute(update(_T).where(_fenced(claim)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reschedule(
    session: Session,
    claim: Claim,
    *,
    status: str,
    not_before: datetime,
    error: str | None,
    count_attempt: bool,
    channel: str | None = None,
) -> bool:
    """Give a claimed row back (`pending` or `uncertain`) to be tried again from `not_before`."""
    values: dict[str, Any] = {
        "status": status,
        "next_attempt_at": not_before,
        "error": error[:255] if error else None,
        "claimed_at": None,
    }
    if count_attempt:
        values["attempts"] = _T.c.attempts + 1
    if channel:
        values["channel"] = channel
    result = session.execute(update(_T).where(_fenced(claim)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def known_channel(session: Session, recipient: str) -> str | None:
    """The conversation ID an earlier message to `recipient` went to (a user's DM channel), if any."""
    value = session.execute(
        sa_select(_T.c.channel)
        .where(and_(_T.c.recipient == recipient, _T.c.channel.is_not(None)))
        .order_by(_T.c.id.desc())
        .limit(1)
    ).scalar()
    return str(value) if value else None


def stored_message(session: Session, key: str) -> dict[str, Any] | None:
    """The message stored on the row `key` now (None when there is no such row or it was redacted)."""
    payload = session.execute(sa_select(_T.c.payload).where(_T.c.dedupe_key == key)).scalar()
    if not payload or payload == REDACTED_PAYLOAD:
        return None
    data: dict[str, Any] = json.loads(payload)
    return data


def make_due_now(
    session: Session, keys: Collection[str], *, due_by: datetime, at: datetime | None = None
) -> int:
    """Rows among `keys` that were due by `due_by` (a run `--at` a future instant) become due now."""
    if not keys:
        return 0
    current = at or now()
    result = session.execute(
        update(_T)
        .where(
            and_(
                _T.c.dedupe_key.in_(list(keys)),
                _T.c.status == PENDING,
                _T.c.next_attempt_at <= due_by,
                _T.c.next_attempt_at > current,
            )
        )
        .values(next_attempt_at=current)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


UNFINISHED_STATUSES = (PENDING, SENDING, UNCERTAIN)


@dataclass(frozen=True)
class Backlog:
    """Rows due now and not final, by status, and when the longest-waiting of them became due."""

    due_by_status: dict[str, int]
    oldest_due_at: datetime | None


def backlog(session: Session, *, at: datetime | None = None) -> Backlog:
    """The delivery backlog (for `/metrics`): one grouped query over the `ix_outbox_due` index.

    Rows queued for later (`next_attempt_at` in the future: reminders, backoff) are not backlog yet.
    """
    current = at or now()
    rows = session.execute(
        sa_select(_T.c.status, func.count(), func.min(_T.c.next_attempt_at))
        .where(_T.c.status.in_(UNFINISHED_STATUSES), _T.c.next_attempt_at <= current)
        .group_by(_T.c.status)
    ).all()
    counts = dict.fromkeys(UNFINISHED_STATUSES, 0)
    oldest: datetime | None = None
    for status, count, due_at in rows:
        counts[str(status)] = int(count)
        if due_at is not None and (oldest is None or due_at < oldest):
            oldest = due_at
    return Backlog(counts, oldest)


def statuses(session: Session, keys: Collection[str]) -> dict[str, OutboxMessage]:
    """The rows for `keys`, by dedupe key (for reports and tests)."""
    if not keys:
        return {}
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(list(keys)))).all()  # type: ignore[attr-defined]
    return {row.dedupe_key: row for row in rows}


REDACTED_PAYLOAD = "{}"


def cancel_pending(session: Session, key: str, *, reason: str = "cancelled") -> bool:
    """Cancel the row `key` if it is still waiting (`pending`); False when a worker already holds it or it is
    final. The same conditional UPDATE as a claim, so a row is either claimed or cancelled, never both."""
    result = session.execute(
        update(_T)
        .where(and_(_T.c.dedupe_key == key, _T.c.status == PENDING))
        .values(status=CANCELLED, error=reason[:255], claimed_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def redact_payloads(session: Session, keys: Collection[str]) -> int:
    """Blank the stored message of final rows among `keys` (text that must not outlive its source, such as a
    withdrawn story). Rows still to be sent keep theirs."""
    if not keys:
        return 0
    result = session.execute(
        update(_T)
        .where(and_(_T.c.dedupe_key.in_(list(keys)), _T.c.status.in_(list(FINAL_STATUSES))))
        .values(payload=REDACTED_PAYLOAD)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# The weekly digest's purpose (jobs.digest): a channel post that lists members by mention, which erasure and
# withdrawn stories revise after it was built (`revise_message`).
DIGEST_PURPOSE = "digest"
# A queued message with this key (the ts of a message the bot posted in the recipient channel) asks the
# delivery worker for `chat.update` of that message instead of a new `chat.postMessage`.
OUTBOX_UPDATE_KEY = "alumni_update_ts"
# With OUTBOX_UPDATE_KEY: the update shows the stored message of the outbox row with this dedupe key as it
# is when the update is sent (not when it was queued), so an older update retried late cannot bring back
# what a newer one removed.
OUTBOX_CONTENT_OF_KEY = "alumni_content_of"


def rows_of_purpose(
    session: Session,
    *,
    purpose: str,
    statuses: Collection[str],
    since: datetime | None = None,
    containing: str | None = None,
) -> list[OutboxMessage]:
    """The rows of one purpose in `statuses`, queued at or after `since` and whose stored message contains
    `containing` (when given), oldest first."""
    statement = select(OutboxMessage).where(
        OutboxMessage.purpose == purpose, col(OutboxMessage.status).in_(list(statuses))
    )
    if since is not None:
        statement = statement.where(col(OutboxMessage.created_at) >= since)
    if containing is not None:
        statement = statement.where(col(OutboxMessage.payload).contains(containing, autoescape=True))
    return list(session.exec(statement.order_by(col(OutboxMessage.id))).all())


def rewrite_payload(session: Session, row: OutboxMessage, message: dict[str, Any], *, status: str) -> bool:
    """Store `message` as the row's message if the row is still `status` (a pending row is rewritten before a
    worker claims it; a sent row keeps what its Slack message now shows). False when the row moved on."""
    result = session.execute(
        update(_T)
        .where(and_(_T.c.id == row.id, _T.c.status == status))
        .values(payload=json.dumps(message, ensure_ascii=False))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def map_texts(node: Any, change: Callable[[str], str]) -> Any:
    """A stored message (or any part of it) with `change` applied to every string in it."""
    if isinstance(node, str):
        return change(node)
    if isinstance(node, dict):
        return {key: map_texts(value, change) for key, value in node.items()}
    if isinstance(node, list):
        return [map_texts(value, change) for value in node]
    return node


def revise_message(
    session: Session, row: OutboxMessage, change: Callable[[str], str], *, update_purpose: str, tag: str
) -> bool:
    """Apply `change` to every text of a pending or sent row's stored message; False when nothing changed or
    the row moved on (a worker holds it: the caller may look again later).

    A pending row simply goes out revised. A sent row keeps the revision as what its Slack message shows, and
    an in-place update is queued (`update_purpose`, one per `tag`) that sends the row as stored when it goes
    (`OUTBOX_CONTENT_OF_KEY`): however several revisions' updates interleave or retry, the last one sent
    shows every revision. Updates of the row still waiting are superseded.
    """
    message = row.message()
    revised = map_texts(message, change)
    if revised == message or not rewrite_payload(session, row, revised, status=row.status):
        return False
    if row.status == SENT and row.ts and row.channel:
        stem = f"update-{row.ts}:"
        cancel_pending_prefixed(session, dedupe_key(update_purpose, row.channel, stem))
        update = {
            "text": revised.get("text", ""),
            "blocks": revised.get("blocks", []),
            OUTBOX_UPDATE_KEY: row.ts,
            OUTBOX_CONTENT_OF_KEY: row.dedupe_key,
        }
        enqueue(session, purpose=update_purpose, recipient=row.channel, period=stem + tag, message=update)
    return True


def cancel_pending_prefixed(session: Session, prefix: str, *, reason: str = "superseded") -> int:
    """Cancel every waiting row whose key starts with `prefix` (updates a newer one replaces)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = session.execute(
        update(_T)
        .where(and_(_T.c.dedupe_key.like(f"{escaped}%", escape="\\"), _T.c.status == PENDING))
        .values(status=CANCELLED, error=reason[:255], claimed_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
