"""Company news from leadership: HR and named leaders post news to the alumni; its reach is counted.

Who may post: HR, or a Slack user ID listed in `ALUMNI_LEADERS` (the caller passes `leaders`, since models
know nothing of settings). A post goes to `ALUMNI_CHANNEL` through the outbox (`jobs/news.py`); `outbox_key`
names its row, and `channel`/`ts` are copied from it once Slack accepted it. Reach (reactions and thread
replies on the post) is fetched by the `news_reach` job and stored on the row for the report.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Column, Integer, Text, func
from sqlmodel import Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import FieldErrors, PermissionDenied
from models.outbox import PENDING, SENT, UNCERTAIN, OutboxMessage
from models.timeutil import now
from models.types import UTCDateTime, get_or_not_found
from models.validation import is_http_url

TITLE_MAX = 150
BODY_MAX = 3000
IMAGE_URL_MAX = 3000  # Slack's limit for an image block's image_url

ERR_IMAGE_HTTPS = "news.errors.image_https"


class NewsPost(SQLModel, table=True):
    """One news post. `reactions` and `replies` are the reach last fetched (`reach_checked_at`)."""

    __tablename__ = "news_post"

    id: int | None = Field(default=None, primary_key=True)
    author_id: str = Field(max_length=32)
    title: str = Field(max_length=TITLE_MAX)
    body: str = Field(sa_column=Column(Text, nullable=False))
    image_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    outbox_key: str | None = Field(default=None, max_length=255, unique=True)
    channel: str | None = Field(default=None, max_length=64)
    ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime, index=True)
    reactions: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    replies: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    reach_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class NewsDraft:
    """Checked, trimmed values of the news modal (what the preview shows and `post_news` stores)."""

    title: str
    body: str
    image_url: str | None


@dataclass(frozen=True)
class PostReach:
    """One post's reach as last fetched."""

    id: int
    title: str
    created_at: datetime
    reactions: int
    replies: int
    checked_at: datetime | None


@dataclass(frozen=True)
class NewsReach:
    """Reach of the posts made in a period, and the totals (for the report)."""

    posts: list[PostReach]
    reactions: int
    replies: int


def may_post_news(actor: Actor, *, leaders: Collection[str]) -> bool:
    """HR and the named leaders (`ALUMNI_LEADERS`) may post news."""
    return actor.is_hr or actor.user_id in leaders


def is_https_url(value: str) -> bool:
    """An http(s) URL by the shared rules, and https: Slack fetches images, and we never send it to plain
    http."""
    if not is_http_url(value):
        return False
    try:
        return urlsplit(value).scheme.lower() == "https"
    except ValueError:
        return False


def check_news(*, title: str, body: str, image_url: str = "") -> NewsDraft:
    """Validate the modal's values (ValidationFailed with `title`, `body`, `image_url` field keys)."""
    title, body, image_url = title.strip(), body.strip(), image_url.strip()
    errs = FieldErrors()
    if not title:
        errs.add("title", "required")
    elif len(title) > TITLE_MAX:
        errs.add("title", "too_long", max=TITLE_MAX)
    if not body:
        errs.add("body", "required")
    elif len(body) > BODY_MAX:
        errs.add("body", "too_long", max=BODY_MAX)
    if image_url:
        if len(image_url) > IMAGE_URL_MAX:
            errs.add("image_url", "too_long", max=IMAGE_URL_MAX)
        elif not is_https_url(image_url):
            errs.add("image_url", ERR_IMAGE_HTTPS)
    errs.raise_if_any()
    return NewsDraft(title=title, body=body, image_url=image_url or None)


def post_news(
    session: Session,
    *,
    actor: Actor,
    leaders: Collection[str],
    title: str,
    body: str,
    image_url: str = "",
) -> NewsPost:
    """Store a news post (HR or a named leader). The caller queues it (`jobs.news.queue_news_post`) in the
    same unit of work."""
    if not may_post_news(actor, leaders=leaders):
        raise PermissionDenied("not_allowed")
    draft = check_news(title=title, body=body, image_url=image_url)
    post = NewsPost(author_id=actor.user_id, title=draft.title, body=draft.body, image_url=draft.image_url)
    session.add(post)
    session.flush()
    record(session, actor=actor.user_id, action="news.post", target=f"news:{post.id}")
    session.flush()
    return post


def get_news(session: Session, news_id: int) -> NewsPost:
    """The post, or NotFound."""
    return get_or_not_found(session, NewsPost, news_id)


def set_outbox_key(session: Session, *, post: NewsPost, key: str) -> None:
    """Remember the outbox row that posts the news."""
    post.outbox_key = key
    session.add(post)
    session.flush()


def sync_posted(session: Session) -> int:
    """Copy channel and ts from sent outbox rows onto posts that do not know them yet; returns how many."""
    stmt = (
        select(NewsPost, OutboxMessage)
        .join(OutboxMessage, col(OutboxMessage.dedupe_key) == col(NewsPost.outbox_key))
        .where(col(NewsPost.ts).is_(None), OutboxMessage.status == SENT)
    )
    count = 0
    for post, row in session.exec(stmt).all():
        post.channel, post.ts = row.channel, row.ts
        session.add(post)
        count += 1
    session.flush()
    return count


def waiting_posts(session: Session, *, author_id: str) -> list[tuple[NewsPost, OutboxMessage]]:
    """`author_id`'s posts whose outbox row will still be sent, with that row: waiting, or uncertain (a timed-out
    send is posted again when Slack's history does not show it)."""
    stmt = (
        select(NewsPost, OutboxMessage)
        .join(OutboxMessage, col(OutboxMessage.dedupe_key) == col(NewsPost.outbox_key))
        .where(NewsPost.author_id == author_id, col(OutboxMessage.status).in_((PENDING, UNCERTAIN)))
        .order_by(col(NewsPost.id))
    )
    return [(post, row) for post, row in session.exec(stmt).all()]


def posts_to_measure(session: Session, *, since: datetime, limit: int = 200) -> list[NewsPost]:
    """Posted news created since `since` (reach is fetched for recent posts only), oldest first."""
    stmt = (
        select(NewsPost)
        .where(col(NewsPost.ts).is_not(None), col(NewsPost.created_at) >= since)
        .order_by(col(NewsPost.created_at), col(NewsPost.id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def record_reach(
    session: Session, *, news_id: int, reactions: int, replies: int, at: datetime | None = None
) -> NewsPost:
    """Store the counts last fetched from Slack for one post."""
    post = get_news(session, news_id)
    post.reactions, post.replies = max(0, reactions), max(0, replies)
    post.reach_checked_at = at or now()
    session.add(post)
    session.flush()
    return post


def news_reach(session: Session, *, since: datetime, until: datetime) -> NewsReach:
    """Reach of the posts created in [since, until), oldest first, with totals (for the report)."""
    stmt = (
        select(NewsPost)
        .where(col(NewsPost.created_at) >= since, col(NewsPost.created_at) < until)
        .order_by(col(NewsPost.created_at), col(NewsPost.id))
    )
    posts = [
        PostReach(
            id=int(p.id or 0),
            title=p.title,
            created_at=p.created_at,
            reactions=p.reactions,
            replies=p.replies,
            checked_at=p.reach_checked_at,
        )
        for p in session.exec(stmt).all()
    ]
    return NewsReach(
        posts=posts, reactions=sum(p.reactions for p in posts), replies=sum(p.replies for p in posts)
    )


def news_between(
    session: Session, *, start: datetime, end: datetime, limit: int = 10
) -> tuple[list[NewsPost], int]:
    """News created in [start, end), oldest first (at most `limit`), and how many there were."""
    where = (col(NewsPost.created_at) >= start, col(NewsPost.created_at) < end)
    stmt = select(NewsPost).where(*where).order_by(col(NewsPost.created_at), col(NewsPost.id)).limit(limit)
    total = session.exec(select(func.count()).select_from(NewsPost).where(*where)).one()
    return list(session.exec(stmt).all()), int(total)


def recent_news(session: Session, *, limit: int = 3) -> list[NewsPost]:
    """The newest posts (the Home tab)."""
    stmt = select(NewsPost).order_by(col(NewsPost.created_at).desc(), col(NewsPost.id).desc()).limit(limit)
    return list(session.exec(stmt).all())
