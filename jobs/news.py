"""Company news: queueing a post for `ALUMNI_CHANNEL`, fetching its reach, and the digest section.

- `post(...)` (called by the handler when the news modal is submitted): stores the post
  (`models.news.post_news`: HR or a leader named in `ALUMNI_LEADERS`) and queues it through the outbox,
  exactly once (dedupe key `news_post:<channel>:news-<id>`), in the caller's unit of work.
- `news_reach` (daily): copies channel/ts from the sent outbox rows, then reads each post of the last 30
  days with `conversations.history` (`oldest` = `latest` = the post's ts, `inclusive`, `limit` 1): the one
  message returned is the post, with its `reactions` (each with a `count`) and its thread's `reply_count`
  (https://docs.slack.dev/reference/methods/conversations.history, which lists bot tokens for any
  conversation the bot is in; `conversations.replies` would do too, but its page still carries a warning
  about bot tokens in channels, so the plainly documented method is used). One call per post, no new scope:
  `channels:history` / `groups:history` (which the delivery worker already holds) rather than
  `reactions.get`, which would add `reactions:read` and still not count replies. This job reads Slack
  directly (only reads; everything it sends still goes through the outbox).
- Digest: the news posted this week.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks.news import digest_line, news_message
from bot.config import Settings
from bot.i18n import Translator
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob, daily_period
from models.actors import Actor
from models.errors import DomainError
from models.news import (
    NewsPost,
    news_between,
    post_news,
    posts_to_measure,
    record_reach,
    set_outbox_key,
    sync_posted,
    waiting_posts,
)
from models.outbox import dedupe_key, enqueue, rewrite_payload

log = logging.getLogger(__name__)

PURPOSE_POST = "news_post"
REACH_JOB = "news_reach"
REACH_WINDOW = timedelta(days=30)
DIGEST_ORDER = 5
DIGEST_LIMIT = 8
SCOPES: tuple[str, ...] = ("chat:write", "channels:history", "groups:history")
ERR_NO_CHANNEL = "news.errors.no_channel"


def news_period(news_id: int) -> str:
    """The outbox period of a news post."""
    return f"news-{news_id}"


def channel_message(news: NewsPost, settings: Settings) -> dict[str, Any]:
    """A post as `ALUMNI_CHANNEL` shows it (in `ALUMNI_LANGUAGE`), from what is stored now."""
    return news_message(news, Translator(settings.language))


def post(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    title: str,
    body: str,
    image_url: str = "",
) -> NewsPost:
    """Store a news post and queue it for `ALUMNI_CHANNEL` (in `ALUMNI_LANGUAGE`).

    Raises PermissionDenied (not HR nor a named leader), ValidationFailed (`title`, `body`, `image_url`) or
    `news.errors.no_channel`; nothing is written then.
    """
    channel = settings.alumni_channel
    if not channel:
        raise DomainError(ERR_NO_CHANNEL)
    news = post_news(
        session, actor=actor, leaders=settings.leaders, title=title, body=body, image_url=image_url
    )
    period = news_period(int(news.id or 0))
    enqueue(
        session,
        purpose=PURPOSE_POST,
        recipient=channel,
        period=period,
        message=channel_message(news, settings),
    )
    set_outbox_key(session, post=news, key=dedupe_key(PURPOSE_POST, channel, period))
    return news


def redraw_waiting(session: Session, *, settings: Settings, author_id: str) -> int:
    """Render `author_id`'s posts not sent yet again from what is stored now (after erasure their author is a
    pseudonym: the post reads "from a former member" instead of a mention of it); returns how many."""
    redrawn = 0
    for news, row in waiting_posts(session, author_id=author_id):
        message = channel_message(news, settings)
        redrawn += rewrite_payload(session, row, message, status=row.status)
    return redrawn


def on_erasure(session: Session, settings: Settings, slack_user_id: str) -> Callable[[str], int]:
    """Erasure's step for news: afterwards, posts the member wrote that are not sent yet name their pseudonym,
    so they are rendered again and go out "from a former member" (posted ones are redrawn in Slack)."""
    return lambda pseudonym: redraw_waiting(session, settings=settings, author_id=pseudonym)


def fetch_reach(client: WebClient, *, channel: str, ts: str) -> tuple[int, int] | None:
    """(reactions, thread replies) of the message `ts` in `channel`, as Slack counts them now; None when the
    message is gone (deleted), so the last figures read are kept."""
    data: Any = client.conversations_history(channel=channel, oldest=ts, latest=ts, inclusive=True, limit=1)
    parent = next((m for m in data.get("messages") or [] if m.get("ts") == ts), None)
    if parent is None:
        return None
    reactions = sum(int(r.get("count") or 0) for r in parent.get("reactions") or [])
    return reactions, int(parent.get("reply_count") or 0)


def run_reach(ctx: JobContext) -> int:
    """Fetch the reach of recent posts and store it; returns how many posts it measured (it queues none)."""
    if ctx.dry_run:
        return 0
    services = ctx.services
    with services.db.session() as session:
        sync_posted(session)
        targets = [
            (int(p.id or 0), str(p.channel), str(p.ts))
            for p in posts_to_measure(session, since=ctx.scheduled_for - REACH_WINDOW)
        ]
    measured = 0
    for news_id, channel, ts in targets:
        try:
            reach = fetch_reach(services.client, channel=channel, ts=ts)
        except SlackApiError as exc:  # a lost channel must not stop the others
            log.warning("news reach not fetched", extra={"news": news_id, "error": exc.response.get("error")})
            continue
        if reach is None:
            log.info("news post no longer in its channel", extra={"news": news_id})
            continue
        reactions, replies = reach
        with services.db.session() as session:
            record_reach(session, news_id=news_id, reactions=reactions, replies=replies)
        measured += 1
    return measured


SCHEDULED_JOBS = [
    ScheduledJob(
        name=REACH_JOB,
        description="Count reactions and thread replies on company news of the last 30 days",
        cron={"hour": "6", "minute": "15"},
        period=daily_period,
        run=run_reach,
        catch_up=timedelta(hours=20),
    )
]


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """Company news posted this week."""
    posts, total = news_between(ctx.session, start=ctx.start, end=ctx.end, limit=DIGEST_LIMIT)
    if not posts:
        return None
    return DigestSection(
        key="news",
        title=ctx.tr("news.digest_title"),
        lines=[digest_line(p, ctx.tr) for p in posts],
        total=total,
        more_hint=ctx.tr("news.digest_hint"),
    )
