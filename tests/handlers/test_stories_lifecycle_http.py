"""An alumni story's life after the draft, through signed HTTP requests, in English and Japanese: the subject
edits it (the new text needs a new approval; the old version's Approve button is refused), approves, the
outbox worker posts it to #alumni and the staff channel, and the subject withdraws it: every posted copy is
replaced by the "withdrawn" note. A declined story is never posted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.blocks.stories import APPROVE, BODY_BLOCK, DECLINE, EDIT, EDIT_SUBMIT, TITLE_BLOCK, WITHDRAW
from bot.i18n import Translator
from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import DeliveryOptions, deliver_due, deliverer_for
from jobs.runner import run_job
from jobs.stories import SYNC_JOB
from models.db import Database
from models.story import (
    AWAITING_APPROVAL,
    COPY_WITHDRAWN,
    DECLINED,
    PUBLISHED,
    WITHDRAWN,
    StoryApproval,
    StoryCopy,
)
from models.timeutil import now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, HR, BotHarness, _serve
from tests.handlers.test_directory import opened_view
from tests.handlers.test_stories import _click, _dm_texts, _draft, _stories

STAFF_CHANNEL = "C0STAFF01"
# (the workspace's ALUMNI_LANGUAGE, the subject: Alice reads English, Bob Japanese)
LANGUAGES = [("en", ALICE), ("ja", BOB)]


@pytest.fixture
def story_bot(request: pytest.FixtureRequest, fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    """The bot with a staff channel, its channel posts in `request.param` (en or ja)."""
    fake_slack.add_channel(STAFF_CHANNEL, name="staff-alumni-news")
    for harness in _serve(fake_slack, db, alumni_staff_channel=STAFF_CHANNEL, language=request.param):
        deliverer_for(harness.services).options = DeliveryOptions(
            channel_interval=0.0, backoff_base=0.05, backoff_cap=0.2
        )
        yield harness


def _channel_texts(bot: BotHarness, channel: str) -> list[str]:
    return [json.dumps(m, ensure_ascii=False) for m in bot.fake.messages(channel)]


def _edit(bot: BotHarness, value: str, *, user: str, title: str, body: str) -> None:
    """`user` clicks Edit in the approval request and saves new text."""
    _click(bot, EDIT, value, user=user)
    modal = opened_view(bot, EDIT_SUBMIT)
    assert violations("modal", modal["blocks"], modal) == []
    answer = bot.sender.view_submission(
        EDIT_SUBMIT,
        {TITLE_BLOCK: title, BODY_BLOCK: body},
        user=user,
        private_metadata=str(modal.get("private_metadata") or ""),
        blocks=modal["blocks"],
    )
    assert answer.status == 200 and not answer.text, answer.text
    assert bot.listeners is not None and bot.listeners.wait_idle()


@pytest.mark.parametrize(("story_bot", "subject"), LANGUAGES, indirect=["story_bot"])
def test_the_subject_edits_approves_the_new_text_then_withdraws_every_posted_copy(
    story_bot: BotHarness, subject: str
) -> None:
    bot = story_bot
    subject_tr = Translator("en" if subject == ALICE else "ja")
    channel_tr = Translator(bot.settings.language)
    _draft(bot, user=HR, subject=subject, title="Back as a partner")
    [story] = _stories(bot)
    _edit(bot, f"{story.id}:1", user=subject, title="In my words", body="I came back & <b>grew</b>.")
    [story] = _stories(bot)
    assert (story.status, story.version, story.title) == (AWAITING_APPROVAL, 2, "In my words")
    requests = [t for t in _dm_texts(bot, subject) if t == subject_tr("stories.approval_text")]
    assert len(requests) == 2  # the edited text is sent for approval again

    _click(bot, APPROVE, f"{story.id}:1", user=subject)  # the button under the text they no longer stand by
    assert _stories(bot)[0].status == AWAITING_APPROVAL
    assert subject_tr("stories.errors.stale_version", version=2) in _dm_texts(bot, subject)
    _click(bot, APPROVE, f"{story.id}:2", user=subject)
    assert _stories(bot)[0].status == PUBLISHED
    with bot.db.session() as session:
        approvals = session.exec(select(StoryApproval)).all()
    assert [a.version for a in approvals] == [2] and len(approvals[0].text_sha256) == 64

    assert deliver_due(bot.services) == 2  # the outbox worker posts both copies
    for channel in (ALUMNI_CHANNEL, STAFF_CHANNEL):
        [posted] = _channel_texts(bot, channel)
        assert (
            "In my words" in posted and "&amp; &lt;b&gt;grew" in posted and "Back as a partner" not in posted
        )

    _click(bot, WITHDRAW, f"{story.id}:2", user=subject)
    assert _stories(bot)[0].status == WITHDRAWN
    assert subject_tr("stories.withdrawn", title="In my words") in _dm_texts(bot, subject)
    run_job(bot.services, SYNC_JOB, at=now() + timedelta(minutes=5))
    deliver_due(bot.services)
    note = channel_tr("stories.withdrawn_note")
    for channel in (ALUMNI_CHANNEL, STAFF_CHANNEL):
        [only] = bot.fake.messages(channel)  # replaced in place, not a second message
        assert only["text"] == note and "In my words" not in json.dumps(only, ensure_ascii=False)
    with bot.db.session() as session:
        assert {c.status for c in session.exec(select(StoryCopy))} == {COPY_WITHDRAWN}


@pytest.mark.parametrize(("story_bot", "subject"), LANGUAGES, indirect=["story_bot"])
def test_a_declined_story_is_never_posted(story_bot: BotHarness, subject: str) -> None:
    bot = story_bot
    subject_tr = Translator("en" if subject == ALICE else "ja")
    _draft(bot, user=HR, subject=subject, title="Back as a partner")
    [story] = _stories(bot)
    _click(bot, DECLINE, f"{story.id}:1", user=subject)
    assert _stories(bot)[0].status == DECLINED
    assert subject_tr("stories.declined", title="Back as a partner") in _dm_texts(bot, subject)
    _click(bot, APPROVE, f"{story.id}:1", user=subject)  # a later click on the old request changes nothing
    assert _stories(bot)[0].status == DECLINED
    deliver_due(bot.services)
    assert bot.fake.messages(ALUMNI_CHANNEL) == [] and bot.fake.messages(STAFF_CHANNEL) == []
    with bot.db.session() as session:
        assert session.exec(select(StoryCopy)).all() == []
        assert [a.decision for a in session.exec(select(StoryApproval))] == ["declined"]
