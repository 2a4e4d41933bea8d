"""Alumni stories end to end through signed requests: `/alumni story`, the draft and edit modals, the
subject's approval (which publishes), decline and withdrawal, forged payloads, the Home section, exactly-once
sync across two processes, and privacy export/erasure of what the listeners wrote."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.blocks.stories import (
    APPROVE,
    BODY_BLOCK,
    DRAFT_SUBMIT,
    EDIT_SUBMIT,
    NEW_DRAFT,
    SUBJECT_BLOCK,
    TITLE_BLOCK,
    WITHDRAW,
)
from bot.i18n import Translator
from bot.kit import build_home
from bot.slack_emulator.blockkit import violations
from models.actors import Actor
from models.outbox import OutboxMessage
from models.privacy import erase_member, export_member_data
from models.story import AWAITING_APPROVAL, PUBLISHED, WITHDRAWN, Story, StoryApproval, StoryCopy
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, BotHarness
from tests.handlers.test_directory import opened_view
from tests.handlers.unit.test_stories_listeners import _texts


def _stories(bot: BotHarness) -> list[Story]:
    with bot.db.session() as session:
        return list(session.exec(select(Story).order_by(Story.id)))  # type: ignore[arg-type]


def _dm_texts(bot: BotHarness, user: str) -> list[str]:
    return [
        str(c.args.get("text")) for c in bot.fake.calls_to("chat.postMessage") if c.args["channel"] == user
    ]


def _draft(bot: BotHarness, *, user: str, subject: str | None = None, title: str = "Hello") -> Any:
    values: dict[str, Any] = {TITLE_BLOCK: title, BODY_BLOCK: "Line one\n<!here> line two"}
    if subject is not None:
        values[SUBJECT_BLOCK] = {"type": "users_select", "selected_user": subject}
    answer = bot.sender.view_submission(DRAFT_SUBMIT, values, user=user)
    if bot.listeners:
        bot.listeners.wait_idle()
    return answer


def _click(bot: BotHarness, action_id: str, value: str, *, user: str) -> None:
    bot.sender.block_action(action_id, value, user=user, channel=None)
    if bot.listeners:
        bot.listeners.wait_idle()


@pytest.mark.parametrize(("user", "word", "lang"), [(ALICE, "story", "en"), (BOB, "ストーリー", "ja")])
def test_a_member_tells_their_story_approves_it_and_it_is_published(
    bot: BotHarness, user: str, word: str, lang: str
) -> None:
    tr = Translator(lang)
    bot.sender.command("/alumni", word, user=user)
    modal = opened_view(bot, DRAFT_SUBMIT)
    assert violations("modal", modal["blocks"], modal) == []
    assert modal["title"]["text"] == tr("stories.draft_title")
    assert SUBJECT_BLOCK not in {b.get("block_id") for b in modal["blocks"]}

    assert _draft(bot, user=user, title="<!channel> news").status == 200
    [story] = _stories(bot)
    assert (story.subject_id, story.status) == (user, AWAITING_APPROVAL)
    assert tr("stories.approval_text") in _dm_texts(bot, user)
    request = next(c.args for c in bot.fake.calls_to("chat.postMessage") if c.args.get("blocks"))
    mrkdwn = [t["text"] for t in _texts(request["blocks"]) if t.get("type") == "mrkdwn"]
    assert any("&lt;!here&gt;" in t for t in mrkdwn) and not any("<!" in t for t in mrkdwn)

    _click(bot, APPROVE, f"{story.id}:1", user=user)
    assert _stories(bot)[0].status == PUBLISHED
    with bot.db.session() as session:
        [post] = session.exec(select(OutboxMessage).where(OutboxMessage.recipient == ALUMNI_CHANNEL))
        assert "&lt;!channel&gt; news" in post.payload
    home = build_home(bot.services, user)
    assert tr("stories.home_title") in str(home) and violations("home", home["blocks"], home) == []


def test_hr_chooses_the_subject_from_the_home_button(bot: BotHarness) -> None:
    bot.sender.block_action(NEW_DRAFT, "new", user=HR, view={"id": "VHOME", "type": "home"})
    modal = opened_view(bot, DRAFT_SUBMIT)
    assert SUBJECT_BLOCK in {b.get("block_id") for b in modal["blocks"]}
    _draft(bot, user=HR, subject=CAROL)
    [story] = _stories(bot)
    assert (story.subject_id, story.author_id) == (CAROL, HR)
    assert Translator("en")("stories.approval_text") in _dm_texts(bot, CAROL)


def test_bad_input_gets_field_errors_and_saves_nothing(bot: BotHarness) -> None:
    answer = _draft(bot, user=HR, subject=None, title="x" * 151)
    errors = answer.json["errors"]
    assert set(errors) == {TITLE_BLOCK} and "150" in errors[TITLE_BLOCK]
    answer = bot.sender.view_submission(
        DRAFT_SUBMIT, {SUBJECT_BLOCK: {"type": "users_select"}, TITLE_BLOCK: "t", BODY_BLOCK: "b"}, user=HR
    )
    assert set(answer.json["errors"]) == {SUBJECT_BLOCK}
    assert _stories(bot) == []


def test_forged_payloads_are_refused_on_the_server(bot: BotHarness) -> None:
    # A member cannot draft (and so never publish) a story about someone else.
    answer = _draft(bot, user=ALICE, subject=CAROL)
    assert SUBJECT_BLOCK in answer.json["errors"] and _stories(bot) == []
    _draft(bot, user=HR, subject=CAROL)
    [story] = _stories(bot)
    value = f"{story.id}:1"
    # Nobody but the subject approves, not even HR; nobody else edits or withdraws through the subject's buttons.
    for user in (ALICE, HR):
        _click(bot, APPROVE, value, user=user)
        _click(bot, WITHDRAW, value, user=user)
    edit = bot.sender.view_submission(
        EDIT_SUBMIT, {TITLE_BLOCK: "Mine now", BODY_BLOCK: "b"}, user=ALICE, private_metadata=value
    )
    assert TITLE_BLOCK in edit.json["errors"]
    [story] = _stories(bot)
    assert (story.status, story.title, story.version) == (AWAITING_APPROVAL, "Hello", 1)
    with bot.db.session() as session:
        assert list(session.exec(select(StoryApproval))) == []
    # A garbage value is refused without a trace.
    _click(bot, APPROVE, "x:y", user=CAROL)
    _click(bot, APPROVE, "99999999999:1", user=CAROL)
    assert _stories(bot)[0].status == AWAITING_APPROVAL


def test_withdrawal_before_delivery_cancels_the_post(bot: BotHarness) -> None:
    _draft(bot, user=ALICE)
    [story] = _stories(bot)
    _click(bot, APPROVE, f"{story.id}:1", user=ALICE)
    _click(bot, WITHDRAW, f"{story.id}:1", user=ALICE)
    assert _stories(bot)[0].status == WITHDRAWN
    with bot.db.session() as session:
        assert [c.status for c in session.exec(select(StoryCopy))] == ["cancelled"]


def test_privacy_export_and_erasure_cover_what_the_listeners_wrote(bot: BotHarness) -> None:
    _draft(bot, user=ALICE)
    [story] = _stories(bot)
    _click(bot, APPROVE, f"{story.id}:1", user=ALICE)
    with bot.db.session() as session:
        data = export_member_data(session, slack_user_id=ALICE)
        tables = data["tables"]
        assert [r["title"] for r in tables["story"]] == ["Hello"]
        assert tables["story_approval"] and tables["story_copy"]
        erase_member(session, actor=Actor(HR, is_hr=True), slack_user_id=ALICE)
    assert _stories(bot) == []
    with bot.db.session() as session:
        assert list(session.exec(select(StoryCopy))) == []
