"""Reconnect intros: a weekly round pairs the opted-in members and introduces each group in a group DM; a
daily job asks each group "did you meet?" a week after its intro.

Exactly once per round: the job run is claimed per week (`jobs.runner`), and the round itself is claimed by
its period in `intro_round` (unique), so a rerun of a failed week re-queues the stored groups instead of
pairing again. Messages go through the outbox with one dedupe key per group. A group DM's recipient is its
members' Slack user IDs joined by commas; the delivery worker opens that conversation with
`conversations.open` (idempotent: Slack returns the existing group DM) and posts there, so the job never
calls Slack itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.blocks.intros import follow_up_message, intro_message
from bot.config import Settings
from jobs.base import JobContext, ScheduledJob, daily_period, weekly_period
from models.intro import (
    due_members,
    follow_up_group,
    get_round,
    groups_due_follow_up,
    intro_of_period,
    mark_follow_up_queued,
    pair_members,
    recent_pairs,
    record_round,
    round_groups,
)
from models.member import Member
from models.outbox import PENDING, OutboxMessage, enqueue
from models.types import in_id_list

log = logging.getLogger(__name__)

ROUND_JOB = "intro_round"
FOLLOW_UP_JOB = "intro_follow_up"
PURPOSE_INTRO = "intros.intro"  # its period is `<round period>/g<group id>` (models.intro reads it back)
PURPOSE_FOLLOW_UP = "intros.follow_up"
# mpim:write opens the group DM; mpim:history lets the delivery worker check a group DM's history before
# resending a message whose first attempt timed out (conversations.history needs the conversation type's
# scope: https://docs.slack.dev/reference/methods/conversations.history).
SCOPES: tuple[str, ...] = ("mpim:write", "mpim:history", "chat:write")
RECIPIENT_MAX = 64  # OutboxMessage.recipient


def group_recipient(members: Sequence[Member]) -> str | None:
    """The outbox recipient of a group DM: the members' user IDs, sorted, comma-joined (None when fewer
    than two members remain, or the IDs do not fit the column)."""
    ids = sorted({m.slack_user_id for m in members if m.slack_user_id})
    recipient = ",".join(ids)
    if len(ids) < 2:
        return None
    if len(recipient) > RECIPIENT_MAX:
        log.warning("intros: group recipient too long; not introduced", extra={"members": len(ids)})
        return None
    return recipient


@dataclass
class _Intro:
    """One group to introduce: the key its outbox period ends with, its overlap and its members."""

    key: str
    overlap: str
    members: list[Member]


def _queue_intros(ctx: JobContext, session: Session, intros: Sequence[_Intro]) -> int:
    settings = ctx.services.settings
    queued = 0
    for intro in intros:
        recipient = group_recipient(intro.members)
        if recipient is None:
            continue
        message = intro_message(
            intro.members,
            overlap=intro.overlap,
            at=ctx.scheduled_for,
            default_language=settings.language,
            default_zone=settings.zone,
        )
        period = f"{ctx.period}/{intro.key}"  # models.intro.group_id_of_period reads it back
        if ctx.enqueue(session, purpose=PURPOSE_INTRO, recipient=recipient, period=period, message=message):
            queued += 1
    return queued


def run_round(ctx: JobContext) -> int:
    """Pair this week's due members (once) and queue one introduction per group; returns how many were new.

    A dry run pairs and renders without claiming the round."""
    at = ctx.scheduled_for
    with ctx.services.db.session() as session:
        round_ = get_round(session, period=ctx.period)
        if round_ is None:
            candidates = due_members(session, at=at)
            pairings = pair_members(candidates, history=recent_pairs(session, at=at), seed=ctx.period)
            if ctx.dry_run:
                # due_members loaded these members into the session: `get` reads them without a query.
                dry = [
                    _Intro(
                        key=f"dry{index}",
                        overlap=p.overlap,
                        members=[m for m in (session.get(Member, i) for i in p.member_ids) if m is not None],
                    )
                    for index, p in enumerate(pairings, start=1)
                ]
                return _queue_intros(ctx, session, dry)
            round_ = record_round(session, period=ctx.period, scheduled_for=at, pairings=pairings)
            if round_ is None:  # another scheduler claimed the round between our look and our insert
                round_ = get_round(session, period=ctx.period)
            assert round_ is not None
            log.info("intros: round paired", extra={"period": ctx.period, "groups": len(pairings)})
        assert round_.id is not None
        intros = [
            _Intro(key=f"g{view.group.id}", overlap=view.group.overlap, members=view.members)
            for view in round_groups(session, round_id=round_.id)
        ]
        return _queue_intros(ctx, session, intros)


def unsent_group_messages_to(session: Session, *, slack_user_id: str) -> list[tuple[str, str]]:
    """(purpose, period) of the intros and follow-ups to a group `slack_user_id` is in that no worker has
    taken yet. The rows are locked until the caller's transaction ends: a worker (`SKIP LOCKED`) cannot claim
    one that erasure is about to drop and queue again."""
    rows = session.exec(
        select(OutboxMessage.purpose, OutboxMessage.period)
        .where(
            col(OutboxMessage.purpose).in_((PURPOSE_INTRO, PURPOSE_FOLLOW_UP)),
            OutboxMessage.status == PENDING,
            in_id_list(col(OutboxMessage.recipient), slack_user_id),
        )
        .with_for_update()
    ).all()
    return [(purpose, period) for purpose, period in rows]


@dataclass
class GroupMessage:
    """An intro or follow-up as it reads now, and the members still in its group it is for."""

    members: list[Member]
    message: dict[str, Any]


def group_message_now(
    session: Session, *, settings: Settings, period: str, someone_left: bool = False
) -> GroupMessage | None:
    """The intro (period `<round>/g<id>`) or "did you meet?" (period `g<id>`) an outbox period names, rendered
    for the members still in its group (erased or unconsented members are left out); None when nobody is.
    `someone_left`: the intro says that someone left (a redraw of one the group saw)."""
    follow_up = follow_up_group(session, period=period)
    if follow_up is not None:
        if not follow_up.members or follow_up.group.id is None:
            return None
        asked = follow_up_message(
            follow_up.members, group_id=follow_up.group.id, default_language=settings.language
        )
        return GroupMessage(follow_up.members, asked)
    intro = intro_of_period(session, period=period)
    if intro is None or not intro.view.members:
        return None
    message = intro_message(
        intro.view.members,
        overlap=intro.view.group.overlap,
        at=intro.scheduled_for,
        default_language=settings.language,
        default_zone=settings.zone,
        someone_left=someone_left,
    )
    return GroupMessage(intro.view.members, message)


def on_erasure(session: Session, settings: Settings, slack_user_id: str) -> Callable[[str], int]:
    """Erasure's step for intros: intros and follow-ups to the member's groups not sent yet name them, so
    erasure drops them; afterwards the rest of each group (two or more) gets them again without them."""
    unsent = unsent_group_messages_to(session, slack_user_id=slack_user_id)
    return lambda _pseudonym: queue_again_without(session, settings=settings, unsent=unsent)


def queue_again_without(session: Session, *, settings: Settings, unsent: Sequence[tuple[str, str]]) -> int:
    """Queue each of these intros and follow-ups again for the members its group has left (at least two),
    in place of one erasure dropped because it named an erased member; returns how many.

    The key names the remaining members, as a rerun of the round would: that rerun adds no second one."""
    queued = 0
    for purpose, period in unsent:
        again = group_message_now(session, settings=settings, period=period)
        recipient = group_recipient(again.members) if again is not None else None
        if again is None or recipient is None:
            continue
        if enqueue(session, purpose=purpose, recipient=recipient, period=period, message=again.message):
            queued += 1
    return queued


def run_follow_ups(ctx: JobContext) -> int:
    """Ask each group introduced a week ago whether they met (once per group); returns how many were new."""
    settings = ctx.services.settings
    queued = 0
    with ctx.services.db.session() as session:
        views = groups_due_follow_up(session, at=ctx.scheduled_for)
        done: list[int] = []
        for view in views:
            assert view.group.id is not None
            done.append(view.group.id)
            recipient = group_recipient(view.members)
            if recipient is None:
                continue
            message = follow_up_message(
                view.members, group_id=view.group.id, default_language=settings.language
            )
            if ctx.enqueue(
                session,
                purpose=PURPOSE_FOLLOW_UP,
                recipient=recipient,
                period=f"g{view.group.id}",
                message=message,
            ):
                queued += 1
        if not ctx.dry_run:
            mark_follow_up_queued(session, group_ids=done, at=ctx.scheduled_for)
    return queued


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob(
        name=ROUND_JOB,
        description="Pair members who opted in to intros and introduce each group in a group DM (Mondays, 10:00)",
        cron={"day_of_week": "mon", "hour": "10", "minute": "0"},
        period=weekly_period,
        run=run_round,
        catch_up=timedelta(days=2),
    ),
    ScheduledJob(
        name=FOLLOW_UP_JOB,
        description='Ask each intro group "did you meet?" a week after the intro (daily, 11:00)',
        cron={"hour": "11", "minute": "0"},
        period=daily_period,
        run=run_follow_ups,
        catch_up=timedelta(hours=12),
    ),
]
