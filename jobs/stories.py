"""Alumni stories: publishing to #alumni and the staff channel, replacing every copy on withdrawal or
erasure, and the digest section.

- `publish(...)` (called by the handler when HR or the author presses Publish): checks the approval
  (`models.story.publish_story`) and queues one post per channel through the outbox, exactly once (dedupe
  key `story_post:<channel>:story-<id>`), recording a `StoryCopy` for each, all in the caller's unit of work.
- `withdraw(...)` (the subject's Withdraw button): the story becomes `withdrawn` and every copy is settled
  at once: a posted copy gets the "withdrawn" note through the outbox (`chat.update`, dedupe key per copy),
  a copy still waiting in the outbox is cancelled there.
- `stories_sync` (every 5 minutes) finishes what could not be settled at once: it copies `ts` from sent
  outbox rows onto copies, replaces copies that reached Slack after the story was withdrawn (a post that was
  being sent at that moment), and handles the posts of stories erased with their subject (their
  `StoryCopy` rows are gone: `models.privacy` returns the known ones to the caller, this job finds the rest
  from the outbox). Once a copy is settled, its outbox row's stored text is blanked, so the story's text
  lives only in the `story` row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.blocks.stories import digest_line, posted_story_message, withdrawn_note_message
from bot.config import Settings
from bot.i18n import Translator
from bot.mrkdwn import user_mention
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob
from models.actors import Actor
from models.errors import DomainError
from models.outbox import (
    CANCELLED,
    DIGEST_PURPOSE,
    FAILED,
    OUTBOX_UPDATE_KEY,
    PENDING,
    REDACTED_PAYLOAD,
    SENT,
    OutboxMessage,
    cancel_pending,
    dedupe_key,
    enqueue,
    redact_payloads,
    revise_message,
    rows_of_purpose,
)
from models.story import (
    COPY_CANCELLED,
    COPY_POSTED,
    COPY_QUEUED,
    COPY_WITHDRAWN,
    PUBLISHED,
    Story,
    StoryCopy,
    add_copy,
    existing_story_ids,
    mark_copy,
    publish_story,
    published_between,
    unsettled_copies,
    withdraw_story,
    withdrawn_since,
)

log = logging.getLogger(__name__)

PURPOSE_POST = "story_post"
PURPOSE_WITHDRAWN = "story_withdrawn"
PURPOSE_DIGEST_LINE = "story_digest_withdrawn"  # a posted digest's line for a withdrawn story, replaced
SYNC_JOB = "stories_sync"
DIGEST_RECHECK = timedelta(days=2)  # how long after a withdrawal the sync job checks the digests again
DIGEST_ORDER = 15
DIGEST_LIMIT = 8
SCOPES: tuple[str, ...] = ("chat:write",)
ERR_NO_CHANNEL = "stories.errors.no_channel"

# `JobContext.enqueue`, or `_enqueue_now` outside a job run: True when the message is new.
Enqueue = Callable[..., bool]


def _enqueue_now(
    session: Session, *, purpose: str, recipient: str, period: str, message: dict[str, Any]
) -> bool:
    return enqueue(session, purpose=purpose, recipient=recipient, period=period, message=message) is not None


def story_period(story_id: int) -> str:
    """The outbox period of a story's posts (one per channel)."""
    return f"story-{story_id}"


def _story_id_of(period: str) -> int | None:
    head, _, tail = period.partition("-")
    return int(tail) if head == "story" and tail.isdigit() and len(tail) <= 10 else None


def story_channels(settings: Settings) -> list[str]:
    """Where a published story goes: `ALUMNI_CHANNEL`, and `ALUMNI_STAFF_CHANNEL` when set."""
    channels = [c for c in (settings.alumni_channel, settings.alumni_staff_channel) if c]
    return list(dict.fromkeys(channels))


def publish(session: Session, *, actor: Actor, story_id: int, settings: Settings) -> list[StoryCopy]:
    """Publish an approved story (HR or its author) and queue its posts; returns the copies queued.

    Raises the `publish_story` refusals (not approved, stale approval, not allowed) and
    `stories.errors.no_channel` when no channel is configured; nothing is written then.
    """
    channels = story_channels(settings)
    if not channels:
        raise DomainError(ERR_NO_CHANNEL)
    story = publish_story(session, actor=actor, story_id=story_id)
    message = posted_story_message(story, Translator(settings.language))
    copies = []
    for channel in channels:
        period = story_period(int(story.id or 0))
        enqueue(session, purpose=PURPOSE_POST, recipient=channel, period=period, message=message)
        copies.append(
            add_copy(
                session, story=story, channel=channel, outbox_key=dedupe_key(PURPOSE_POST, channel, period)
            )
        )
    return copies


def withdraw(session: Session, *, actor: Actor, story_id: int, settings: Settings) -> Story:
    """The subject withdraws their story; every copy is replaced (or cancelled) through the outbox, and so is
    its line in weekly digests already built."""
    story = withdraw_story(session, actor=actor, story_id=story_id)
    tr = Translator(settings.language)
    settle(session, tr=tr, story_ids={int(story.id or 0)})
    withdraw_from_digests(session, story, tr=tr)
    return story


def withdraw_from_digests(session: Session, story: Story, *, tr: Translator) -> int:
    """Replace a withdrawn story's line in the weekly digests built since it was published; returns how many
    digests changed. A waiting digest goes out without it; a posted one is updated in place through the
    outbox (`models.outbox.revise_message`). A digest a worker holds right now is left for `run_sync`.
    """
    if story.published_at is None:
        return 0
    line, note = digest_line(story, tr), tr("stories.digest_line_withdrawn")
    # Only digests that mention the story's subject can hold its line (a mention reads the same inside the
    # stored JSON; the escaped title might not), so the rest are never loaded.
    rows = rows_of_purpose(
        session,
        purpose=DIGEST_PURPOSE,
        since=story.published_at,
        statuses=(PENDING, SENT),
        containing=user_mention(story.subject_id),
    )
    return sum(
        revise_message(
            session,
            row,
            lambda text: text.replace(line, note),
            update_purpose=PURPOSE_DIGEST_LINE,
            tag=f"story-{story.id}",
        )
        for row in rows
    )


def _replace(session: Session, copy: StoryCopy, *, tr: Translator, enqueue_fn: Enqueue) -> bool:
    message = {**withdrawn_note_message(tr), OUTBOX_UPDATE_KEY: copy.ts}
    queued = enqueue_fn(
        session,
        purpose=PURPOSE_WITHDRAWN,
        recipient=copy.channel,
        period=f"{story_period(copy.story_id)}:{copy.ts}",
        message=message,
    )
    mark_copy(session, copy, status=COPY_WITHDRAWN)
    redact_payloads(session, [copy.outbox_key])
    return queued


def settle(
    session: Session,
    *,
    tr: Translator,
    enqueue_fn: Enqueue = _enqueue_now,
    story_ids: Collection[int] | None = None,
) -> int:
    """Bring the copies in step with their stories and the outbox; returns how many notes it queued.

    A queued copy whose post was sent learns its `ts`; one whose post failed is cancelled; one whose story is
    no longer published is cancelled in the outbox if still waiting. A posted copy of a story no longer
    published gets the "withdrawn" note. Posts a worker is sending right now are left for the next run.
    """
    queued = 0
    rows = unsettled_copies(session)
    if story_ids is not None:
        rows = [(c, s) for c, s in rows if c.story_id in story_ids]
    posts = _outbox_rows(session, [c.outbox_key for c, _ in rows])
    for copy, story_status in rows:
        live = story_status == PUBLISHED
        if copy.status == COPY_QUEUED:
            row = posts.get(copy.outbox_key)
            if row is not None and row.status == SENT and row.ts:
                mark_copy(session, copy, status=COPY_POSTED, ts=row.ts, channel=row.channel)
                if live:
                    redact_payloads(session, [copy.outbox_key])
            elif _never_posted(session, copy, row, live=live):
                mark_copy(session, copy, status=COPY_CANCELLED)
                redact_payloads(session, [copy.outbox_key])
        if copy.status == COPY_POSTED and not live and copy.ts:
            queued += _replace(session, copy, tr=tr, enqueue_fn=enqueue_fn)
    if story_ids is None:
        queued += _settle_orphans(session, tr=tr, enqueue_fn=enqueue_fn)
    return queued


def _never_posted(session: Session, copy: StoryCopy, row: OutboxMessage | None, *, live: bool) -> bool:
    """True when the copy will never reach Slack: its post failed or is gone, or its story is no longer
    published and the post, still waiting, is cancelled now."""
    if row is None or row.status in (FAILED, CANCELLED):
        return True
    return not live and row.status == PENDING and cancel_pending(session, copy.outbox_key, reason="withdrawn")


def _outbox_rows(session: Session, keys: list[str]) -> dict[str, OutboxMessage]:
    if not keys:
        return {}
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key).in_(keys))).all()
    return {r.dedupe_key: r for r in rows}


def _settle_orphans(session: Session, *, tr: Translator, enqueue_fn: Enqueue) -> int:
    """Posts of stories that no longer exist (erased with their subject): cancel what waits, replace what
    was sent, blank the stored text."""
    stmt = select(OutboxMessage).where(
        OutboxMessage.purpose == PURPOSE_POST,
        OutboxMessage.payload != REDACTED_PAYLOAD,
        col(OutboxMessage.status).in_((PENDING, SENT, FAILED, CANCELLED)),
    )
    rows = [(r, _story_id_of(r.period)) for r in session.exec(stmt).all()]
    alive = existing_story_ids(session, {i for _, i in rows if i is not None})
    queued = 0
    for row, story_id in rows:
        if story_id is None or story_id in alive:
            continue
        if row.status == PENDING and not cancel_pending(session, row.dedupe_key, reason="erased"):
            continue  # a worker took it meanwhile: the next run sees it sent
        if row.status == SENT and row.channel and row.ts:
            message = {**withdrawn_note_message(tr), OUTBOX_UPDATE_KEY: row.ts}
            queued += enqueue_fn(
                session,
                purpose=PURPOSE_WITHDRAWN,
                recipient=row.channel,
                period=f"{story_period(story_id)}:{row.ts}",
                message=message,
            )
        redact_payloads(session, [row.dedupe_key])
    return queued


def run_sync(ctx: JobContext) -> int:
    """The `stories_sync` job: settle every copy (see `settle`), and look again at the digest lines of
    stories withdrawn lately (a digest being sent, or being built, when the story was withdrawn is caught
    here; a line already replaced is not found again); returns how many notes it queued."""
    if ctx.dry_run:
        return 0
    tr = ctx.services.workspace_translator
    with ctx.services.db.session() as session:
        queued = settle(session, tr=tr, enqueue_fn=ctx.enqueue)
        for story in withdrawn_since(session, ctx.scheduled_for - DIGEST_RECHECK):
            withdraw_from_digests(session, story, tr=tr)
    return queued


SCHEDULED_JOBS = [
    ScheduledJob.every_minutes(
        5,
        name=SYNC_JOB,
        description="Record where stories were posted; replace copies of withdrawn or erased stories",
        run=run_sync,
        catch_up=timedelta(minutes=4),
    )
]


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """Stories published this week (and still published)."""
    stories, total = published_between(ctx.session, start=ctx.start, end=ctx.end, limit=DIGEST_LIMIT)
    if not stories:
        return None
    return DigestSection(
        key="stories",
        title=ctx.tr("stories.digest_title"),
        lines=[digest_line(s, ctx.tr) for s in stories],
        total=total,
        more_hint=ctx.tr("stories.digest_hint"),
    )
