"""Publishing a story to #alumni and the staff channel exactly once, and replacing every copy when the
subject withdraws it or is erased, including copies that reach Slack after the withdrawal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.i18n import Translator
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs.base import DigestContext
from jobs.delivery import DeliveryOptions, deliver_due, deliverer_for
from jobs.runner import run_job
from jobs.stories import (
    ERR_NO_CHANNEL,
    PURPOSE_DIGEST_LINE,
    PURPOSE_POST,
    PURPOSE_WITHDRAWN,
    SYNC_JOB,
    digest_section,
    publish,
    withdraw,
)
from models import story as stories
from models.db import Database
from models.errors import DomainError, PermissionDenied
from models.outbox import REDACTED_PAYLOAD, SENDING, SENT, OutboxMessage
from models.privacy import erase_member
from models.story import StoryCopy
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, HR, make_settings

STAFF_CHANNEL = "C0STAFF01"
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BODY = "Alice left us for a startup & came back as a partner."


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    fake_slack.add_channel(STAFF_CHANNEL, name="staff-alumni-news")
    built = build_services(make_settings(fake_slack, db, alumni_staff_channel=STAFF_CHANNEL), db=db)
    deliverer_for(built).options = DeliveryOptions(channel_interval=0.0, backoff_base=0.05, backoff_cap=0.2)
    yield built


def _approved_story(services: Services) -> int:
    with services.db.session() as session:
        story = stories.draft_story(
            session, actor=services.actor(HR), subject_id=ALICE, title="Back as a partner", body=BODY
        )
        sid = int(story.id or 0)
        stories.request_approval(session, actor=services.actor(HR), story_id=sid)
        stories.approve_story(session, actor=services.actor(ALICE), story_id=sid, version=1)
    return sid


def _publish(services: Services, sid: int) -> None:
    with services.db.session() as session:
        publish(session, actor=services.actor(HR), story_id=sid, settings=services.settings)


def _withdraw(services: Services, sid: int) -> None:
    with services.db.session() as session:
        withdraw(session, actor=services.actor(ALICE), story_id=sid, settings=services.settings)


def _outbox(services: Services, purpose: str) -> list[OutboxMessage]:
    with services.db.session() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        return list(session.exec(stmt).all())


def _copies(services: Services) -> list[StoryCopy]:
    with services.db.session() as session:
        return list(session.exec(select(StoryCopy).order_by(StoryCopy.id)).all())


def _bot_texts(fake: FakeSlack, channel: str) -> list[str]:
    return [json.dumps(m.get("blocks") or m.get("text"), ensure_ascii=False) for m in fake.messages(channel)]


def _sync(services: Services, minutes: int) -> int:
    return run_job(services, SYNC_JOB, at=T0 + timedelta(minutes=minutes)).count


def test_a_published_story_is_posted_once_to_each_channel(services: Services, fake_slack: FakeSlack) -> None:
    sid = _approved_story(services)
    _publish(services, sid)
    with services.db.session() as session, pytest.raises(DomainError):  # a second Publish changes nothing
        publish(session, actor=services.actor(HR), story_id=sid, settings=services.settings)
    assert deliver_due(services) == 2
    for channel in (ALUMNI_CHANNEL, STAFF_CHANNEL):
        (posted,) = _bot_texts(fake_slack, channel)
        assert "Back as a partner" in posted and "startup &amp; came back" in posted
    _sync(services, 0)
    copies = _copies(services)
    assert [(c.channel, c.status) for c in copies] == [
        (ALUMNI_CHANNEL, stories.COPY_POSTED),
        (STAFF_CHANNEL, stories.COPY_POSTED),
    ]
    assert all(c.ts for c in copies)
    # Once the copies are known, the story's text lives only in the story row.
    assert [r.payload for r in _outbox(services, PURPOSE_POST)] == [REDACTED_PAYLOAD] * 2


def test_withdrawal_replaces_every_posted_copy_exactly_once(
    services: Services, fake_slack: FakeSlack
) -> None:
    sid = _approved_story(services)
    _publish(services, sid)
    deliver_due(services)
    _sync(services, 0)
    _withdraw(services, sid)
    notes = _outbox(services, PURPOSE_WITHDRAWN)
    assert sorted(r.recipient for r in notes) == [ALUMNI_CHANNEL, STAFF_CHANNEL]
    deliver_due(services)
    note = Translator("ja")("stories.withdrawn_note")
    for channel in (ALUMNI_CHANNEL, STAFF_CHANNEL):
        (only,) = fake_slack.messages(channel)
        assert only["text"] == note and "startup" not in json.dumps(only)
    assert {c.status for c in _copies(services)} == {stories.COPY_WITHDRAWN}
    # Later runs find nothing left to do.
    assert _sync(services, 5) == 0 and len(_outbox(services, PURPOSE_WITHDRAWN)) == 2


def test_withdrawal_before_delivery_cancels_the_posts(services: Services, fake_slack: FakeSlack) -> None:
    sid = _approved_story(services)
    _publish(services, sid)
    _withdraw(services, sid)
    deliver_due(services)
    assert fake_slack.messages(ALUMNI_CHANNEL) == [] and fake_slack.messages(STAFF_CHANNEL) == []
    assert {c.status for c in _copies(services)} == {stories.COPY_CANCELLED}
    assert [r.status for r in _outbox(services, PURPOSE_POST)] == ["cancelled", "cancelled"]
    assert _outbox(services, PURPOSE_WITHDRAWN) == []


def test_a_copy_sent_while_the_subject_withdrew_is_replaced_by_the_next_sync(
    services: Services, fake_slack: FakeSlack
) -> None:
    sid = _approved_story(services)
    _publish(services, sid)
    posts = _outbox(services, PURPOSE_POST)
    with services.db.session() as session:  # a worker holds the first post right now
        session.execute(update(OutboxMessage).where(OutboxMessage.id == posts[0].id).values(status=SENDING))
    _withdraw(services, sid)
    assert [c.status for c in _copies(services)] == [stories.COPY_QUEUED, stories.COPY_CANCELLED]
    ts = fake_slack.add_message(ALUMNI_CHANNEL, text="the story", user="UBOT")
    with services.db.session() as session:  # ... and Slack accepted it after all
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == posts[0].id)
            .values(status=SENT, channel=ALUMNI_CHANNEL, ts=ts)
        )
    assert _sync(services, 5) == 1
    deliver_due(services)
    (only,) = fake_slack.messages(ALUMNI_CHANNEL)
    assert only["text"] == Translator("ja")("stories.withdrawn_note")
    assert fake_slack.messages(STAFF_CHANNEL) == []


def test_erasing_the_subject_replaces_copies_the_bot_had_not_recorded_yet(
    services: Services, fake_slack: FakeSlack
) -> None:
    sid = _approved_story(services)
    _publish(services, sid)
    deliver_due(services)  # posted, but no sync ran: the copies do not know their ts
    with services.db.session() as session:
        result = erase_member(session, actor=services.actor(ALICE), slack_user_id=ALICE)
    assert result.messages == []
    assert _sync(services, 5) == 2
    deliver_due(services)
    for channel in (ALUMNI_CHANNEL, STAFF_CHANNEL):
        (only,) = fake_slack.messages(channel)
        assert "startup" not in json.dumps(only)
    assert all(BODY not in r.payload for r in _outbox(services, PURPOSE_POST))
    assert _sync(services, 10) == 0


def test_publishing_needs_a_channel_and_writes_nothing_without_one(
    fake_slack: FakeSlack, db: Database
) -> None:
    services = build_services(make_settings(fake_slack, db, alumni_channel=None), db=db)
    sid = _approved_story(services)
    with services.db.session() as session, pytest.raises(DomainError) as caught:
        publish(session, actor=services.actor(HR), story_id=sid, settings=services.settings)
    assert caught.value.code == ERR_NO_CHANNEL
    with services.db.session() as session:
        assert stories.get_story(session, sid).status == stories.APPROVED
    assert _outbox(services, PURPOSE_POST) == []


def test_digest_lists_stories_published_that_week_and_still_published(services: Services) -> None:
    kept, gone = _approved_story(services), _approved_story(services)
    with services.db.session() as session:
        # Edited by another member? Refused; by HR: approved again before publishing.
        with pytest.raises(PermissionDenied):
            stories.edit_story(session, actor=services.actor(BOB), story_id=gone, title="Mine", body="x")
        stories.edit_story(
            session, actor=services.actor(HR), story_id=gone, title="Withdrawn later", body="x"
        )
        stories.approve_story(session, actor=services.actor(ALICE), story_id=gone, version=2)
    _publish(services, kept)
    _publish(services, gone)
    _withdraw(services, gone)
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
        assert section is not None and section.total == 1
        assert "Back as a partner" in section.lines[0] and f"<@{ALICE}>" in section.lines[0]
        earlier = DigestContext(
            session=session,
            services=services,
            start=datetime.now(UTC) - timedelta(days=14),
            end=datetime.now(UTC) - timedelta(days=7),
            tr=tr,
        )
        assert digest_section(earlier) is None


def test_a_story_withdrawn_before_the_weekly_digest_is_not_in_it(
    services: Services, fake_slack: FakeSlack
) -> None:
    """Published on Monday, withdrawn on Wednesday: the next Monday's digest (as the channel receives it)
    lists the story still published and not the withdrawn one, nor its text."""
    from models.timeutil import freeze

    kept, gone = _approved_story(services), _approved_story(services)
    with services.db.session() as session:
        stories.edit_story(
            session, actor=services.actor(HR), story_id=gone, title="Withdrawn later", body="x"
        )
        stories.approve_story(session, actor=services.actor(ALICE), story_id=gone, version=2)
    freeze(T0)
    try:
        _publish(services, kept)
        _publish(services, gone)
        freeze(T0 + timedelta(days=2))
        _withdraw(services, gone)
    finally:
        freeze(None)
    result = run_job(services, "digest", at=T0 + timedelta(days=7) - timedelta(hours=1))
    assert result.count == 1
    deliver_due(services)
    title = Translator("ja")("stories.digest_title")  # the digest is in ALUMNI_LANGUAGE
    (digest,) = [t for t in _bot_texts(fake_slack, ALUMNI_CHANNEL) if title in t]
    assert "Back as a partner" in digest and "Withdrawn later" not in digest
    assert "Withdrawn later" not in json.dumps(fake_slack.messages(ALUMNI_CHANNEL), ensure_ascii=False)


def _digests(fake: FakeSlack) -> list[str]:
    title = Translator("ja")("stories.digest_title")  # the digest is in ALUMNI_LANGUAGE
    return [t for t in _bot_texts(fake, ALUMNI_CHANNEL) if title in t]


def _build_digest(services: Services) -> None:
    """The digest of the week the two stories were published in is built (queued, not sent)."""
    assert run_job(services, "digest", at=T0 + timedelta(days=7) - timedelta(hours=1)).count == 1


def _two_published_stories(services: Services) -> tuple[int, int]:
    """ "Back as a partner" and "Second story", both published at T0."""
    from models.timeutil import freeze

    first, second = _approved_story(services), _approved_story(services)
    with services.db.session() as session:
        stories.edit_story(session, actor=services.actor(HR), story_id=second, title="Second story", body="x")
        stories.approve_story(session, actor=services.actor(ALICE), story_id=second, version=2)
    freeze(T0)
    try:
        _publish(services, first)
        _publish(services, second)
    finally:
        freeze(None)
    return first, second


def test_withdrawing_after_the_digest_went_out_replaces_the_line_in_that_digest_one_story_at_a_time(
    services: Services, fake_slack: FakeSlack
) -> None:
    first, second = _two_published_stories(services)
    _build_digest(services)
    deliver_due(services)
    (digest,) = _digests(fake_slack)
    assert "Back as a partner" in digest and "Second story" in digest
    note = Translator("ja")("stories.digest_line_withdrawn")

    _withdraw(services, first)
    deliver_due(services)
    (digest,) = _digests(fake_slack)  # the same message, updated in place
    assert "Back as a partner" not in digest and "Second story" in digest and digest.count(note) == 1

    _withdraw(services, second)  # builds on the first replacement, which must not come back
    deliver_due(services)
    (digest,) = _digests(fake_slack)
    assert "Back as a partner" not in digest and "Second story" not in digest and digest.count(note) == 2
    assert "Back as a partner" not in json.dumps(fake_slack.messages(ALUMNI_CHANNEL), ensure_ascii=False)


def test_a_digest_still_waiting_goes_out_without_the_withdrawn_story(
    services: Services, fake_slack: FakeSlack
) -> None:
    first, _ = _two_published_stories(services)
    _build_digest(services)
    _withdraw(services, first)  # before any worker sent the digest
    deliver_due(services)
    (digest,) = _digests(fake_slack)
    assert "Back as a partner" not in digest and "Second story" in digest


def test_a_digest_being_sent_when_the_story_was_withdrawn_is_corrected_by_the_next_sync(
    services: Services, fake_slack: FakeSlack
) -> None:
    first, _ = _two_published_stories(services)
    _build_digest(services)
    with services.db.session() as session:  # a worker holds the digest right now
        session.execute(update(OutboxMessage).where(OutboxMessage.purpose == "digest").values(status=SENDING))
    _withdraw(services, first)
    with services.db.session() as session:  # ... and its post goes out as it was built
        session.execute(
            update(OutboxMessage).where(OutboxMessage.purpose == "digest").values(status="pending")
        )
    deliver_due(services)
    (digest,) = _digests(fake_slack)
    assert "Back as a partner" in digest

    _sync(services, minutes=10)
    deliver_due(services)
    (digest,) = _digests(fake_slack)
    assert "Back as a partner" not in digest and "Second story" in digest
    _sync(services, minutes=15)  # nothing left to replace: no second update
    assert deliver_due(services) == 0


def test_a_late_retry_of_an_older_digest_update_cannot_bring_back_a_line_a_newer_one_removed(
    services: Services, fake_slack: FakeSlack
) -> None:
    first, second = _two_published_stories(services)
    _build_digest(services)
    deliver_due(services)
    _withdraw(services, first)
    older = update(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_DIGEST_LINE)
    with services.db.session() as session:  # its worker timed out and will retry later
        session.execute(older.values(status=SENDING))
    _withdraw(services, second)
    deliver_due(services)  # the newer update goes first
    with services.db.session() as session:
        session.execute(older.where(OutboxMessage.status == SENDING).values(status="pending"))
    deliver_due(services)  # ... then the older one, late

    (digest,) = _digests(fake_slack)
    assert "Back as a partner" not in digest and "Second story" not in digest
    assert len(_outbox(services, PURPOSE_DIGEST_LINE)) == 2
