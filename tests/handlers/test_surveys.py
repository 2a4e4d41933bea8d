"""Pulse surveys through signed HTTP requests: HR creates and sends a survey (`/alumni アンケート`, ja), members
answer (en and ja), HR's Home lists it; bad input stays in the modal; a member's forged HR payloads (results,
create, close, export) change and show nothing."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks import surveys as ui
from bot.slack_emulator.blockkit import violations
from models import survey as sv
from tests.conftest import ALICE, BOB, CAROL, HR, BotHarness
from tests.handlers.test_directory import add_member, opened_view
from tests.handlers.unit.test_surveys_listeners import create_values, surveys_in
from tests.slack_requests import select


def _members(bot: BotHarness) -> None:
    for user in (ALICE, BOB, CAROL):
        add_member(bot, user, name=user, current_company="Acme")


def _create(
    bot: BotHarness,
    title: str = "Pulse <!channel> & co",
    *,
    subcommand: str = "アンケート",
    modal_title: str = "新しいアンケート",  # HR's Slack language is Japanese unless a test changes it
    **values: Any,
) -> int:
    """HR opens the modal with `/alumni <subcommand>` and sends the survey; returns its id."""
    bot.sender.command("/alumni", subcommand, user=HR)
    modal = opened_view(bot, ui.VIEW_CREATE)
    assert violations("modal", modal["blocks"], modal) == []
    assert modal["title"]["text"] == modal_title
    answer = bot.sender.view_submission(
        ui.VIEW_CREATE, create_values(title, **values), user=HR, blocks=modal["blocks"]
    )
    assert answer.status == 200 and not answer.text
    [survey] = surveys_in(bot.db)
    return int(survey.id or 0)


def _answer(
    bot: BotHarness, user: str, survey_id: int, *, nth: int, scale: str = "5", choice: str = "0"
) -> dict[str, Any]:
    """`user` clicks "Answer" (the `nth` answer modal opened in this test) and answers."""
    bot.sender.block_action(ui.ACTION_ANSWER, str(survey_id), user=user, channel=None)
    modal = opened_view(bot, ui.VIEW_ANSWER, nth)
    assert violations("modal", modal["blocks"], modal) == []
    scale_q, choice_q = (b["block_id"] for b in modal["blocks"] if b["type"] == "input")
    values = {
        scale_q: {"type": "radio_buttons", "selected_option": {"value": scale}},
        choice_q: select(choice),
    }
    meta = json.dumps({"survey_id": survey_id})
    answer = bot.sender.view_submission(
        ui.VIEW_ANSWER, values, user=user, private_metadata=meta, blocks=modal["blocks"]
    )
    return dict(answer.json)


def test_hr_sends_a_survey_in_japanese_and_members_answer_in_english_and_japanese(bot: BotHarness) -> None:
    _members(bot)
    survey_id = _create(bot)
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    told = json.dumps([c.args for c in bot.fake.calls_to("chat.postMessage")], ensure_ascii=False)
    assert "を 3 人に送りました" in told
    assert "<!channel>" not in told and "&lt;!channel&gt;" in told  # HR's own title, escaped
    home = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == HR)[-1].args["view"]
    assert violations("home", home["blocks"], home) == []
    shown = json.dumps(home, ensure_ascii=False)
    assert ui.ACTION_NEW in shown and "3 人中 0 人回答" in shown
    en = _answer(bot, ALICE, survey_id, nth=1)
    assert en["response_action"] == "update" and en["view"]["title"]["text"] == "Thank you"
    ja = _answer(bot, BOB, survey_id, nth=2)
    assert ja["response_action"] == "update" and "ありがとう" in json.dumps(ja["view"], ensure_ascii=False)
    with bot.db.session() as session:
        assert sv.participation(session, survey_ids=[survey_id])[survey_id] == (3, 2)


def test_bad_input_stays_in_the_modal_and_nothing_is_saved(bot: BotHarness) -> None:
    _members(bot)
    bot.sender.command("/alumni", "survey", user=HR)
    modal = opened_view(bot, ui.VIEW_CREATE)
    values = create_values("", q1_prompt="")
    answer = bot.sender.view_submission(ui.VIEW_CREATE, values, user=HR, blocks=modal["blocks"])
    assert answer.json["response_action"] == "errors"
    assert {ui.FIELD_TITLE, "q1_prompt"} <= set(answer.json["errors"])
    assert surveys_in(bot.db) == []


def test_a_member_cannot_create_close_export_or_see_results(bot: BotHarness) -> None:
    _members(bot)
    survey_id = _create(bot, "Pulse")
    forged = bot.sender.view_submission(ui.VIEW_CREATE, create_values("Mine"), user=ALICE)
    assert forged.json["response_action"] == "errors"
    bot.sender.command("/alumni", "survey", user=ALICE)
    for action_id in (
        ui.ACTION_CLOSE,
        ui.ACTION_RESULTS,
        ui.ACTION_EXPORT,
        ui.ACTION_CHART,
        ui.ACTION_CHANGE,
    ):
        bot.sender.block_action(action_id, str(survey_id), user=ALICE, channel=None)
    change = bot.sender.view_submission(
        ui.VIEW_CHANGE,
        {ui.FIELD_CHANGE_NOTE: "forged"},
        user=ALICE,
        private_metadata=json.dumps({"survey_id": survey_id}),
    )
    assert change.json["response_action"] == "errors"
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    with bot.db.session() as session:
        survey = sv.get_survey(session, survey_id=survey_id)
        assert survey.status == sv.OPEN and survey.change_note == ""
    assert [s.title for s in surveys_in(bot.db)] == ["Pulse"]
    assert bot.fake.calls_to("files.getUploadURLExternal") == []
    assert [
        c for c in bot.fake.calls_to("views.open") if c.args["view"].get("callback_id") != ui.VIEW_CREATE
    ] == []
    to_alice = [c.args for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == ALICE]
    assert len(to_alice) == 5 and all("HR" in a["text"] for a in to_alice)


def test_privacy_export_shows_being_asked_and_erasure_keeps_the_anonymous_answer(bot: BotHarness) -> None:
    from sqlmodel import select

    from models.actors import Actor
    from models.privacy import erase_member, export_member_data

    _members(bot)
    survey_id = _create(bot, "Pulse")
    assert _answer(bot, ALICE, survey_id, nth=1)["response_action"] == "update"
    with bot.db.session() as session:
        data = export_member_data(session, slack_user_id=ALICE)
    [asked] = data["tables"]["survey_recipient"]
    assert asked["survey_id"] == survey_id and asked["answered"] is True
    assert "survey_answer" not in data["tables"] or data["tables"]["survey_answer"] == []  # not linkable
    with bot.db.session() as session:
        erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    with bot.db.session() as session:
        assert sv.participation(session, survey_ids=[survey_id])[survey_id] == (2, 0)
        assert len(session.exec(select(sv.SurveyAnswer)).all()) == 2  # her answers stay, unnamed
