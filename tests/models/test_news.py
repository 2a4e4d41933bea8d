"""Company news: who may post (HR and named leaders), validation at the field, reach for the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models import news
from models.actors import Actor
from models.db import Database
from models.errors import PermissionDenied, ValidationFailed
from models.news import NewsPost
from models.privacy import erase_member
from models.timeutil import freeze

HR = Actor("U0HR00001", is_hr=True)
LEADER = Actor("U0CEO0001")
ALICE = Actor("U0ALICE01")
LEADERS = frozenset({LEADER.user_id})
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def _post(db: Database, actor: Actor = HR, **values: str) -> NewsPost:
    with db.session() as session:
        return news.post_news(
            session,
            actor=actor,
            leaders=LEADERS,
            title=values.get("title", "We opened a Fukuoka office"),
            body=values.get("body", "Come and visit <us> & say hi."),
            image_url=values.get("image_url", ""),
        )


def test_hr_and_named_leaders_post_others_are_refused(db: Database) -> None:
    assert _post(db, HR).author_id == HR.user_id
    assert _post(db, LEADER).author_id == LEADER.user_id
    with pytest.raises(PermissionDenied):
        _post(db, ALICE)
    with db.session() as session:
        assert len(session.exec(select(NewsPost)).all()) == 2


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"title": " ", "body": ""}, {"title": ("required", {}), "body": ("required", {})}),
        ({"title": "t" * 151}, {"title": ("too_long", {"max": 150})}),
        ({"body": "b" * 3001}, {"body": ("too_long", {"max": 3000})}),
        ({"image_url": "http://img.example/a.png"}, {"image_url": (news.ERR_IMAGE_HTTPS, {})}),
        ({"image_url": "javascript:alert(1)"}, {"image_url": (news.ERR_IMAGE_HTTPS, {})}),
        ({"image_url": "https://img.example/a b.png"}, {"image_url": (news.ERR_IMAGE_HTTPS, {})}),
        ({"image_url": "https://img.example/" + "a" * 3000}, {"image_url": ("too_long", {"max": 3000})}),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_stored(
    db: Database, values: dict[str, str], errors: dict[str, object]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _post(db, **values)
    assert caught.value.errors == errors
    with db.session() as session:
        assert session.exec(select(NewsPost)).all() == []


def test_an_https_image_is_kept_and_blank_means_none(db: Database) -> None:
    assert (
        _post(db, image_url=" https://img.example/office.png ").image_url == "https://img.example/office.png"
    )
    assert _post(db, image_url="  ").image_url is None
    draft = news.check_news(title=" Hi ", body=" there ")
    assert (draft.title, draft.body, draft.image_url) == ("Hi", "there", None)


def test_reach_of_the_period_with_totals(db: Database) -> None:
    freeze(T0 - timedelta(days=40))
    old = _post(db, title="Old")
    freeze(T0)
    first = _post(db, title="First")
    freeze(T0 + timedelta(days=2))
    second = _post(db, title="Second")
    freeze(None)
    with db.session() as session:
        news.record_reach(session, news_id=int(old.id or 0), reactions=50, replies=50)
        news.record_reach(session, news_id=int(first.id or 0), reactions=7, replies=2)
        news.record_reach(session, news_id=int(second.id or 0), reactions=1, replies=-3)
    with db.session() as session:
        reach = news.news_reach(session, since=T0 - timedelta(days=1), until=T0 + timedelta(days=30))
    assert [(p.title, p.reactions, p.replies) for p in reach.posts] == [("First", 7, 2), ("Second", 1, 0)]
    assert (reach.reactions, reach.replies) == (8, 2)


def test_an_erased_leader_s_news_stays_with_a_pseudonym(db: Database) -> None:
    post = _post(db, LEADER)
    with db.session() as session:
        result = erase_member(session, actor=LEADER, slack_user_id=LEADER.user_id)
    with db.session() as session:
        kept = news.get_news(session, int(post.id or 0))
    assert (kept.author_id, kept.title) == (result.pseudonym, "We opened a Fukuoka office")
