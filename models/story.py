"""Alumni stories (社内報): a success story about an alumnus, published only with the alumnus's consent.

Status model::

    draft ─> awaiting_approval ─> approved ─> published
               │    ^                │
               │    └── any edit ────┘ (a new version needs a new approval)
               └─> declined (by the subject)            withdrawn (by the subject, at any time)

- HR drafts a story about anyone; a member only about themselves (`draft_story`).
- Only the subject approves, declines or withdraws. An approval names the version it approves and keeps a
  SHA-256 of the exact title and body (`StoryApproval`), so consent is tied to the text the subject read.
- Every edit, by anyone, bumps `version`; an approved story goes back to awaiting approval.
- `publish_story` refuses unless the latest approval is of the current version.
- `StoryCopy` rows are the posted copies (one per channel, through the outbox); on withdrawal or erasure each
  is replaced by a short note (`jobs/stories.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, func
from sqlmodel import Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from models.timeutil import now
from models.types import UTCDateTime, get_by_id, get_or_not_found

DRAFT = "draft"
AWAITING_APPROVAL = "awaiting_approval"
APPROVED = "approved"
PUBLISHED = "published"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
STATUSES: tuple[str, ...] = (DRAFT, AWAITING_APPROVAL, APPROVED, PUBLISHED, DECLINED, WITHDRAWN)
# Text may still change in these; a published story is changed only by withdrawing it.
EDITABLE: tuple[str, ...] = (DRAFT, AWAITING_APPROVAL, APPROVED)
# The subject may say no until the story is out; after that, withdrawing is the way.
DECLINABLE: tuple[str, ...] = (DRAFT, AWAITING_APPROVAL, APPROVED)

# Decisions recorded in StoryApproval.
DECISION_APPROVED = "approved"
DECISION_DECLINED = "declined"

# Posted copies (StoryCopy.status).
COPY_QUEUED = "queued"  # in the outbox, not known to be posted yet
COPY_POSTED = "posted"  # Slack has it (channel, ts)
COPY_WITHDRAWN = "withdrawn"  # the "withdrawn" note is queued over it
COPY_CANCELLED = "cancelled"  # never posted (cancelled in the outbox, or delivery failed)
COPY_OPEN: tuple[str, ...] = (COPY_QUEUED, COPY_POSTED)

TITLE_MAX = 150
BODY_MAX = 3000

# Error codes (catalog keys in bot/i18n/*/stories.toml).
ERR_NOT_EDITABLE = "stories.errors.not_editable"
ERR_NOT_AWAITING = "stories.errors.not_awaiting"
ERR_STALE_VERSION = "stories.errors.stale_version"
ERR_NOT_APPROVED = "stories.errors.not_approved"
ERR_CANNOT_DECLINE = "stories.errors.cannot_decline"
ERR_ALREADY_WITHDRAWN = "stories.errors.already_withdrawn"
ERR_NOT_DRAFT = "stories.errors.not_draft"


class Story(SQLModel, table=True):
    """One story about `subject_id` (a Slack user ID), written by `author_id`."""

    __tablename__ = "story"
    __table_args__ = (Index("ix_story_status_published", "status", "published_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=32, index=True)
    author_id: str = Field(max_length=32)
    title: str = Field(max_length=TITLE_MAX)
    body: str = Field(sa_column=Column(Text, nullable=False))
    # Bumped by every edit; an approval is of one version.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    status: str = Field(default=DRAFT, max_length=24)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StoryApproval(SQLModel, table=True):
    """The subject's decision on one version: what they approved (or declined), when, and the text's hash."""

    __tablename__ = "story_approval"

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(
        sa_column=Column(Integer, ForeignKey("story.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int
    decision: str = Field(max_length=16)
    approver_id: str = Field(max_length=32)
    text_sha256: str = Field(max_length=64)
    at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


class StoryCopy(SQLModel, table=True):
    """One posted copy of a published story (one per channel). `outbox_key` is the post's outbox row;
    `ts` is filled once Slack accepted it. `subject_id` is repeated here so erasure finds the copies."""

    __tablename__ = "story_copy"

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(
        sa_column=Column(Integer, ForeignKey("story.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    subject_id: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=64)
    outbox_key: str = Field(max_length=255, unique=True)
    ts: str | None = Field(default=None, max_length=32)
    status: str = Field(default=COPY_QUEUED, max_length=16, index=True)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)


# -- helpers --------------------------------------------------------------------------------------------


def text_digest(title: str, body: str) -> str:
    """SHA-256 of the exact text (title, a NUL, body): what an approval is bound to."""
    return hashlib.sha256(f"{title}\0{body}".encode()).hexdigest()


def _clean(title: str, body: str, errs: FieldErrors | None = None) -> tuple[str, str]:
    """Trimmed title and body. Problems go to `errs` (the caller raises), or without it raise
    ValidationFailed with `title` / `body` field keys."""
    own = errs is None
    errs = errs if errs is not None else FieldErrors()
    title, body = title.strip(), body.strip()
    if not title:
        errs.add("title", "required")
    elif len(title) > TITLE_MAX:
        errs.add("title", "too_long", max=TITLE_MAX)
    if not body:
        errs.add("body", "required")
    elif len(body) > BODY_MAX:
        errs.add("body", "too_long", max=BODY_MAX)
    if own:
        errs.raise_if_any()
    return title, body


def _is_user_id(value: str) -> bool:
    return 2 < len(value) <= 32 and value.isalnum() and value[0] in "UW"


def can_view(actor: Actor, story: Story) -> bool:
    """HR, the author and the subject see a story before it is published; everyone sees published ones."""
    return story.status == PUBLISHED or actor.is_hr or actor.user_id in (story.author_id, story.subject_id)


def can_edit(actor: Actor, story: Story) -> bool:
    """HR, the author and the subject may edit (each edit needs the subject's approval again)."""
    return actor.is_hr or actor.user_id in (story.author_id, story.subject_id)


# -- reading --------------------------------------------------------------------------------------------


def find_story(session: Session, story_id: int) -> Story | None:
    """The story, or None (ids from payloads may point nowhere)."""
    return get_by_id(session, Story, story_id)


def get_story(session: Session, story_id: int, *, for_update: bool = False) -> Story:
    """The story; `for_update` locks its row (PostgreSQL) so concurrent decisions serialise."""
    return get_or_not_found(session, Story, story_id, for_update=for_update)


def get_story_for(session: Session, *, actor: Actor, story_id: int) -> Story:
    """The story as `actor` may see it (NotFound for drafts of others, so ids reveal nothing)."""
    story = get_story(session, story_id)
    if not can_view(actor, story):
        raise NotFound("not_found")
    return story


def latest_approval(session: Session, story_id: int) -> StoryApproval | None:
    """The subject's most recent decision on the story, if any."""
    stmt = (
        select(StoryApproval)
        .where(StoryApproval.story_id == story_id)
        .order_by(col(StoryApproval.at).desc(), col(StoryApproval.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def approvals(session: Session, story_id: int) -> list[StoryApproval]:
    """Every decision on the story, oldest first (the consent record)."""
    stmt = (
        select(StoryApproval)
        .where(StoryApproval.story_id == story_id)
        .order_by(col(StoryApproval.at), col(StoryApproval.id))
    )
    return list(session.exec(stmt).all())


def awaiting_approval_by(session: Session, subject_id: str, *, limit: int = 10) -> list[Story]:
    """Stories waiting for this subject's decision, oldest first (their Home tab)."""
    stmt = (
        select(Story)
        .where(Story.subject_id == subject_id, Story.status == AWAITING_APPROVAL)
        .order_by(col(Story.updated_at), col(Story.id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def stories_involving(session: Session, user_id: str, *, limit: int = 20) -> list[Story]:
    """Stories the user wrote or that are about them, newest first."""
    stmt = (
        select(Story)
        .where((col(Story.subject_id) == user_id) | (col(Story.author_id) == user_id))
        .order_by(col(Story.updated_at).desc(), col(Story.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def stories_in_status(session: Session, statuses: Collection[str], *, limit: int = 50) -> list[Story]:
    """Stories in the given statuses, most recently changed first (HR's overview)."""
    stmt = (
        select(Story)
        .where(col(Story.status).in_(list(statuses)))
        .order_by(col(Story.updated_at).desc(), col(Story.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def published_between(
    session: Session, *, start: datetime, end: datetime, limit: int = 10
) -> tuple[list[Story], int]:
    """Stories published in [start, end) and still published, oldest first (at most `limit`), and how many."""
    where = (
        Story.status == PUBLISHED,
        col(Story.published_at) >= start,
        col(Story.published_at) < end,
    )
    stmt = select(Story).where(*where).order_by(col(Story.published_at), col(Story.id)).limit(limit)
    total = session.exec(select(func.count()).select_from(Story).where(*where)).one()
    return list(session.exec(stmt).all()), int(total)


# -- writing --------------------------------------------------------------------------------------------


def draft_story(session: Session, *, actor: Actor, subject_id: str, title: str, body: str) -> Story:
    """Draft a story: HR about anyone, a member only about themselves. Nothing is shown to anyone else yet."""
    subject_id = subject_id.strip()
    if not actor.is_hr and subject_id != actor.user_id:
        raise PermissionDenied("not_allowed")
    errs = FieldErrors()
    if not subject_id:
        errs.add("subject", "required")
    elif not _is_user_id(subject_id):
        errs.add("subject", "invalid")
    title, body = _clean(title, body, errs)
    errs.raise_if_any()
    stamp = now()
    story = Story(
        subject_id=subject_id,
        author_id=actor.user_id,
        title=title,
        body=body,
        version=1,
        status=DRAFT,
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(story)
    session.flush()
    record(session, actor=actor.user_id, action="story.draft", target=f"story:{story.id}")
    session.flush()
    return story


def edit_story(session: Session, *, actor: Actor, story_id: int, title: str, body: str) -> Story:
    """Change the text (HR, the author or the subject). The version goes up and an approved story goes back
    to awaiting approval: the subject must approve the new text. Unchanged text changes nothing."""
    story = get_story(session, story_id, for_update=True)
    if not can_edit(actor, story):
        raise PermissionDenied("not_allowed")
    if story.status not in EDITABLE:
        raise DomainError(ERR_NOT_EDITABLE, field="status", status=story.status)
    title, body = _clean(title, body)
    if (title, body) == (story.title, story.body):
        return story
    story.title, story.body = title, body
    story.version += 1
    if story.status == APPROVED:
        story.status = AWAITING_APPROVAL
    story.updated_at = now()
    session.add(story)
    record(
        session, actor=actor.user_id, action="story.edit", target=f"story:{story.id}", version=story.version
    )
    session.flush()
    return story


def request_approval(session: Session, *, actor: Actor, story_id: int) -> Story:
    """The author (or HR) sends a draft to the subject for approval. The caller DMs the subject
    (`bot.blocks.stories.approval_request_message`)."""
    story = get_story(session, story_id, for_update=True)
    if not (actor.is_hr or actor.user_id == story.author_id):
        raise PermissionDenied("not_allowed")
    if story.status != DRAFT:
        raise DomainError(ERR_NOT_DRAFT, field="status", status=story.status)
    story.status = AWAITING_APPROVAL
    story.updated_at = now()
    session.add(story)
    record(session, actor=actor.user_id, action="story.request_approval", target=f"story:{story.id}")
    session.flush()
    return story


def _subject_only(actor: Actor, story: Story) -> None:
    # Consent is personal: not even HR decides for the subject.
    if actor.user_id != story.subject_id:
        raise PermissionDenied("not_allowed")


def approve_story(session: Session, *, actor: Actor, story_id: int, version: int) -> StoryApproval:
    """The subject approves the version they read (`version` comes from the button they pressed). A click
    on an older version is refused with `stories.errors.stale_version`: the text changed since."""
    story = get_story(session, story_id, for_update=True)
    _subject_only(actor, story)
    if story.status != AWAITING_APPROVAL:
        raise DomainError(ERR_NOT_AWAITING, field="status", status=story.status)
    if version != story.version:
        raise DomainError(ERR_STALE_VERSION, field="version", version=story.version)
    stamp = now()
    approval = StoryApproval(
        story_id=int(story.id or 0),
        version=story.version,
        decision=DECISION_APPROVED,
        approver_id=actor.user_id,
        text_sha256=text_digest(story.title, story.body),
        at=stamp,
    )
    story.status = APPROVED
    story.updated_at = stamp
    session.add(story)
    session.add(approval)
    record(session, actor=actor.user_id, action="story.approve", target=f"story:{story.id}", version=version)
    session.flush()
    return approval


def decline_story(session: Session, *, actor: Actor, story_id: int) -> Story:
    """The subject declines: the story will not be published (final)."""
    story = get_story(session, story_id, for_update=True)
    _subject_only(actor, story)
    if story.status not in DECLINABLE:
        raise DomainError(ERR_CANNOT_DECLINE, field="status", status=story.status)
    stamp = now()
    session.add(
        StoryApproval(
            story_id=int(story.id or 0),
            version=story.version,
            decision=DECISION_DECLINED,
            approver_id=actor.user_id,
            text_sha256=text_digest(story.title, story.body),
            at=stamp,
        )
    )
    story.status = DECLINED
    story.updated_at = stamp
    session.add(story)
    record(session, actor=actor.user_id, action="story.decline", target=f"story:{story.id}")
    session.flush()
    return story


def publish_story(session: Session, *, actor: Actor, story_id: int) -> Story:
    """HR or the author publishes an approved story. Refused unless the subject's latest decision approves
    the current version and its exact text. The caller queues the posts (`jobs.stories.publish`)."""
    story = get_story(session, story_id, for_update=True)
    if not (actor.is_hr or actor.user_id == story.author_id):
        raise PermissionDenied("not_allowed")
    approval = latest_approval(session, int(story.id or 0))
    approved = (
        story.status == APPROVED
        and approval is not None
        and approval.decision == DECISION_APPROVED
        and approval.version == story.version
        and approval.text_sha256 == text_digest(story.title, story.body)
    )
    if not approved:
        raise DomainError(ERR_NOT_APPROVED, field="status", status=story.status)
    stamp = now()
    story.status = PUBLISHED
    story.published_at = stamp
    story.updated_at = stamp
    session.add(story)
    record(
        session,
        actor=actor.user_id,
        action="story.publish",
        target=f"story:{story.id}",
        version=story.version,
    )
    session.flush()
    return story


def withdraw_story(session: Session, *, actor: Actor, story_id: int) -> Story:
    """The subject withdraws their story at any time. The caller replaces the posted copies
    (`jobs.stories.withdraw`)."""
    story = get_story(session, story_id, for_update=True)
    _subject_only(actor, story)
    if story.status == WITHDRAWN:
        raise DomainError(ERR_ALREADY_WITHDRAWN, field="status")
    stamp = now()
    story.status = WITHDRAWN
    story.withdrawn_at = stamp
    story.updated_at = stamp
    session.add(story)
    record(session, actor=actor.user_id, action="story.withdraw", target=f"story:{story.id}")
    session.flush()
    return story


# -- posted copies --------------------------------------------------------------------------------------


def add_copy(session: Session, *, story: Story, channel: str, outbox_key: str) -> StoryCopy:
    """Remember a copy queued for `channel` (its outbox row is `outbox_key`)."""
    copy = StoryCopy(
        story_id=int(story.id or 0), subject_id=story.subject_id, channel=channel, outbox_key=outbox_key
    )
    session.add(copy)
    session.flush()
    return copy


def copies_of(session: Session, story_id: int) -> list[StoryCopy]:
    """The story's posted copies, in the order they were queued."""
    stmt = select(StoryCopy).where(StoryCopy.story_id == story_id).order_by(col(StoryCopy.id))
    return list(session.exec(stmt).all())


def unsettled_copies(session: Session, *, limit: int = 500) -> list[tuple[StoryCopy, str]]:
    """Copies still queued or posted, with their story's status: queued ones may need their `ts`, and those
    of stories no longer published must be replaced."""
    stmt = (
        select(StoryCopy, Story.status)
        .join(Story, col(Story.id) == col(StoryCopy.story_id))
        .where(col(StoryCopy.status).in_(COPY_OPEN))
        .where((col(StoryCopy.status) == COPY_QUEUED) | (col(Story.status) != PUBLISHED))
        .order_by(col(StoryCopy.id))
        .limit(limit)
    )
    return [(copy, str(status)) for copy, status in session.exec(stmt).all()]


def mark_copy(
    session: Session, copy: StoryCopy, *, status: str, ts: str | None = None, channel: str | None = None
) -> StoryCopy:
    """Move a copy on (posted with its `ts` and the channel ID Slack answered with, withdrawn, cancelled)."""
    copy.status = status
    if ts is not None:
        copy.ts = ts
    if channel:
        copy.channel = channel
    copy.updated_at = now()
    session.add(copy)
    session.flush()
    return copy


def withdrawn_since(session: Session, since: datetime) -> list[Story]:
    """Stories withdrawn at or after `since` (the sync job checks their digest lines again)."""
    statement = select(Story).where(Story.status == WITHDRAWN, col(Story.withdrawn_at) >= since)
    return list(session.exec(statement.order_by(col(Story.id))).all())


def existing_story_ids(session: Session, ids: Collection[int]) -> set[int]:
    """Which of `ids` still exist (an erased subject's stories do not)."""
    if not ids:
        return set()
    rows = session.exec(select(Story.id).where(col(Story.id).in_(list(ids)))).all()
    return {int(i) for i in rows if i is not None}
