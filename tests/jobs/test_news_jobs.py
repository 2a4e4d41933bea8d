"""Company news reaches #alumni once, its reach (reactions, thread replies) is counted for the report, and
the digest lists the week's news."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.i18n import Translator
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs.base import DigestContext
from jobs.delivery import DeliveryOptions, deliver_due, deliverer_for
from jobs.news import ERR_NO_CHANNEL, PURPOSE_POST, REACH_JOB, SCOPES, digest_section, post
from jobs.runner import run_job
from models import news
from models.db import Database
from models.errors import DomainError, PermissionDenied, ValidationFailed
from models.news import NewsPost
from models.outbox import OutboxMessage
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, make_settings

LEADER = "U0CEO0001"


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    built = build_services(make_settings(fake_slack, db, leaders=frozenset({LEADER})), db=db)
    deliverer_for(built).options = DeliveryOptions(channel_interval=0.0, backoff_base=0.05, backoff_cap=0.2)
    yield built


def _post(services: Services, user: str = LEADER, **values: str) -> NewsPost:
    with services.db.session() as session:
        return post(
            session,
            actor=services.actor(user),
            settings=services.settings,
            title=values.get("title", "Record year"),
            body=values.get("body", "Thank you <all> & see you at the party."),
            image_url=values.get("image_url", "https://img.example/party.png"),
        )


def _queued(services: Services) -> list[OutboxMessage]:
    with services.db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_POST)).all())


def test_scopes_read_the_thread_rather_than_adding_reactions_read() -> None:
    assert set(SCOPES) == {"chat:write", "channels:history", "groups:history"}


def test_a_leader_s_news_is_posted_once_with_its_image(services: Services, fake_slack: FakeSlack) -> None:
    created = _post(services)
    assert deliver_due(services) == 1
    (message,) = fake_slack.messages(ALUMNI_CHANNEL)
    dumped = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Record year" in dumped and "&lt;all&gt; &amp; see you" in dumped
    assert [b["image_url"] for b in message["blocks"] if b["type"] == "image"] == [
        "https://img.example/party.png"
    ]
    assert deliver_due(services) == 0
    with services.db.session() as session:
        assert news.get_news(session, int(created.id or 0)).outbox_key == _queued(services)[0].dedupe_key


def test_members_cannot_post_and_bad_input_writes_nothing(services: Services) -> None:
    with pytest.raises(PermissionDenied):
        _post(services, ALICE)
    with pytest.raises(ValidationFailed) as caught:
        _post(services, HR, image_url="http://img.example/x.png")
    assert set(caught.value.errors) == {"image_url"}
    assert _queued(services) == []
    with services.db.session() as session:
        assert session.exec(select(NewsPost)).all() == []


def test_no_alumni_channel_no_news(fake_slack: FakeSlack, db: Database) -> None:
    services = build_services(make_settings(fake_slack, db, alumni_channel=None), db=db)
    with pytest.raises(DomainError) as caught:
        _post(services, HR)
    assert caught.value.code == ERR_NO_CHANNEL


def test_reach_counts_reactions_and_thread_replies(services: Services, fake_slack: FakeSlack) -> None:
    first = _post(services, title="First")
    quiet = _post(services, HR, title="Quiet")
    deliver_due(services)
    ts_first, _ = (m["ts"] for m in fake_slack.messages(ALUMNI_CHANNEL))
    fake_slack.add_reaction(ALUMNI_CHANNEL, ts_first, name="tada", user=ALICE)
    fake_slack.add_reaction(ALUMNI_CHANNEL, ts_first, name="tada", user=BOB)
    fake_slack.add_reaction(ALUMNI_CHANNEL, ts_first, name="heart", user=ALICE)
    fake_slack.add_message(ALUMNI_CHANNEL, text="Congrats!", user=BOB, thread_ts=ts_first)
    fake_slack.add_message(ALUMNI_CHANNEL, text="おめでとう", user=CAROL, thread_ts=ts_first)
    result = run_job(services, REACH_JOB, at=datetime.now(UTC) + timedelta(minutes=1))
    assert result.count == 2
    with services.db.session() as session:
        reach = news.news_reach(
            session, since=datetime.now(UTC) - timedelta(days=1), until=datetime.now(UTC) + timedelta(days=1)
        )
    by_id = {p.id: (p.reactions, p.replies) for p in reach.posts}
    assert by_id == {first.id: (3, 2), quiet.id: (0, 0)}
    assert (reach.reactions, reach.replies) == (3, 2)


def test_a_post_slack_lost_does_not_stop_the_others(services: Services, fake_slack: FakeSlack) -> None:
    _post(services, title="First")
    second = _post(services, title="Second")
    deliver_due(services)
    _, ts_second = (m["ts"] for m in fake_slack.messages(ALUMNI_CHANNEL))
    fake_slack.add_reaction(ALUMNI_CHANNEL, ts_second, name="eyes", user=ALICE)
    fake_slack.fail("conversations.history", error="channel_not_found", times=1)
    result = run_job(services, REACH_JOB, at=datetime.now(UTC) + timedelta(minutes=1))
    assert result.count == 1
    with services.db.session() as session:
        assert news.get_news(session, int(second.id or 0)).reactions == 1


def test_a_deleted_post_keeps_the_reach_last_read(services: Services, fake_slack: FakeSlack) -> None:
    posted = _post(services, title="Gone later")
    deliver_due(services)
    (ts,) = (m["ts"] for m in fake_slack.messages(ALUMNI_CHANNEL))
    fake_slack.add_reaction(ALUMNI_CHANNEL, ts, name="tada", user=ALICE)
    fake_slack.add_reaction(ALUMNI_CHANNEL, ts, name="tada", user=BOB)
    assert run_job(services, REACH_JOB, at=datetime.now(UTC) + timedelta(minutes=1)).count == 1
    services.client.chat_delete(channel=ALUMNI_CHANNEL, ts=ts)
    assert run_job(services, REACH_JOB, at=datetime.now(UTC) + timedelta(days=1, minutes=1)).count == 0
    with services.db.session() as session:
        assert news.get_news(session, int(posted.id or 0)).reactions == 2


def test_digest_lists_the_week_s_news(services: Services) -> None:
    _post(services, title="Record <year>")
    tr = Translator("en")
    with services.db.session() as session:
        context = DigestContext(
            session=session,
            services=services,
            start=datetime.now(UTC) - timedelta(days=7),
            end=datetime.now(UTC) + timedelta(minutes=1),
            tr=tr,
        )
        section = digest_section(context)
    assert section is not None and section.key == "news" and section.total == 1
    assert "Record &lt;year&gt;" in section.lines[0]
