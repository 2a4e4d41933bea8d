"""The stories feature's listeners, called directly (see conftest)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.blocks.stories import (
    APPROVE,
    BODY_BLOCK,
    DECLINE,
    DRAFT_SUBMIT,
    EDIT,
    EDIT_SUBMIT,
    NEW_DRAFT,
    SUBJECT_BLOCK,
    TITLE_BLOCK,
    WITHDRAW,
)
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import stories
from models.story import AWAITING_APPROVAL, DECLINED, PUBLISHED, WITHDRAWN, Story, StoryCopy
from tests.conftest import ALICE, BOB, CAROL, HR
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission


def _stories(services: Services) -> list[Story]:
    with services.db.session() as session:
        return list(session.exec(select(Story).order_by(Story.id)))  # type: ignore[arg-type]


def _draft(services: Services, *, user: str, subject: str | None = None, title: str = "Hello") -> Recorder:
    values: dict[str, object] = {TITLE_BLOCK: title, BODY_BLOCK: "From Tokyo <!here> to Berlin"}
    if subject is not None:
        values[SUBJECT_BLOCK] = {"type": "users_select", "selected_user": subject}
    body = submission(DRAFT_SUBMIT, values, user=user)
    ack = Recorder()
    stories.on_draft_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    return ack


def _texts(node: Any) -> list[dict[str, Any]]:
    """Every text object in blocks (to check that mrkdwn carries no live mention)."""
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") in ("mrkdwn", "plain_text") else []
    return own + [t for value in node.values() for t in _texts(value)]


def _click(services: Services, action_id: str, value: str, *, user: str) -> Recorder:
    ack = Recorder()
    body = action_body(action_id, value, user=user)
    listener = {
        APPROVE: stories.on_approve,
        DECLINE: stories.on_decline,
        WITHDRAW: stories.on_withdraw,
    }[action_id]
    listener(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    return ack


def test_the_subcommand_and_the_home_button_open_the_draft_modal_with_a_subject_only_for_hr(
    services: Services, fake_slack: FakeSlack
) -> None:
    ack = Recorder()
    stories.on_story_subcommand(services, ack, command_payload("/alumni", "story", user=HR), "")
    stories.on_new_draft(ack=ack, body=action_body(NEW_DRAFT, "new", user=ALICE), services=services)
    assert ack.calls == [{}, {}]
    hr_view, member_view = (c.args["view"] for c in fake_slack.calls_to("views.open"))
    assert SUBJECT_BLOCK in {b.get("block_id") for b in hr_view["blocks"]}
    assert SUBJECT_BLOCK not in {b.get("block_id") for b in member_view["blocks"]}


def test_a_member_drafts_about_themselves_and_the_approval_request_reaches_them(
    services: Services, fake_slack: FakeSlack
) -> None:
    ack = _draft(services, user=ALICE, title="<!channel> my story")
    assert ack.once == {}
    [story] = _stories(services)
    assert (story.subject_id, story.author_id, story.status) == (ALICE, ALICE, AWAITING_APPROVAL)
    dms = [c.args for c in fake_slack.calls_to("chat.postMessage") if c.args.get("blocks")]
    assert len(dms) == 1 and dms[0]["channel"] == ALICE
    mrkdwn = [t["text"] for t in _texts(dms[0]["blocks"]) if t.get("type") == "mrkdwn"]
    assert any("&lt;!here&gt;" in t for t in mrkdwn) and not any("<!" in t for t in mrkdwn)


def test_a_member_cannot_draft_about_someone_else_with_a_forged_subject(services: Services) -> None:
    ack = _draft(services, user=ALICE, subject=CAROL)
    assert ack.once["response_action"] == "errors" and SUBJECT_BLOCK in ack.once["errors"]
    assert _stories(services) == []


def test_bad_input_stays_in_the_modal_and_saves_nothing(services: Services) -> None:
    ack = _draft(services, user=ALICE, title="  ")
    assert ack.once["response_action"] == "errors" and TITLE_BLOCK in ack.once["errors"]
    assert _stories(services) == []


def test_only_the_subject_approves_and_approval_publishes(services: Services) -> None:
    _draft(services, user=HR, subject=BOB)
    [story] = _stories(services)
    value = f"{story.id}:{story.version}"
    _click(services, APPROVE, value, user=CAROL)
    _click(services, APPROVE, value, user=HR)  # not even HR decides for the subject
    assert _stories(services)[0].status == AWAITING_APPROVAL
    _click(services, APPROVE, value, user=BOB)
    assert _stories(services)[0].status == PUBLISHED
    with services.db.session() as session:
        assert len(list(session.exec(select(StoryCopy)))) == 1


def test_a_stale_approval_is_refused_after_an_edit(services: Services, fake_slack: FakeSlack) -> None:
    _draft(services, user=HR, subject=ALICE)
    [story] = _stories(services)
    edit_ack = Recorder()
    stories.on_edit(
        ack=edit_ack,
        body=action_body(EDIT, f"{story.id}:1", user=ALICE),
        action={"value": f"{story.id}:1"},
        services=services,
    )
    modal = fake_slack.calls_to("views.open")[-1].args["view"]
    assert modal["callback_id"] == EDIT_SUBMIT and modal["private_metadata"] == f"{story.id}:1"
    body = submission(
        EDIT_SUBMIT, {TITLE_BLOCK: "Better", BODY_BLOCK: "New text"}, user=ALICE, metadata=f"{story.id}:1"
    )
    ack = Recorder()
    stories.on_edit_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    _click(services, APPROVE, f"{story.id}:1", user=ALICE)
    assert _stories(services)[0].status == AWAITING_APPROVAL
    _click(services, APPROVE, f"{story.id}:2", user=ALICE)
    assert _stories(services)[0].status == PUBLISHED


def test_someone_else_cannot_open_the_edit_modal(services: Services, fake_slack: FakeSlack) -> None:
    _draft(services, user=HR, subject=ALICE)
    [story] = _stories(services)
    ack = Recorder()
    body = action_body(EDIT, f"{story.id}:1", user=CAROL)
    stories.on_edit(ack=ack, body=body, action=body["actions"][0], services=services)
    assert ack.once == {}
    assert fake_slack.calls_to("views.open") == []


def test_decline_and_withdraw_are_the_subjects_only(services: Services) -> None:
    _draft(services, user=HR, subject=ALICE)
    _draft(services, user=BOB)
    first, second = _stories(services)
    _click(services, DECLINE, f"{first.id}:1", user=CAROL)
    _click(services, DECLINE, f"{first.id}:1", user=ALICE)
    _click(services, APPROVE, f"{second.id}:1", user=BOB)
    _click(services, WITHDRAW, f"{second.id}:1", user=HR)
    assert [s.status for s in _stories(services)] == [DECLINED, PUBLISHED]
    _click(services, WITHDRAW, f"{second.id}:1", user=BOB)
    assert [s.status for s in _stories(services)] == [DECLINED, WITHDRAWN]
