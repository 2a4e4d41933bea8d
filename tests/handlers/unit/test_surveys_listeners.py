"""The pulse-survey feature's listeners, called directly (see conftest): HR creates, closes, reads; members
answer; a member's forged HR payloads change and show nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.blocks import surveys as ui
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import surveys
from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.profile import ProfileInput, give_consent, update_profile
from models.timeutil import now
from tests.conftest import ALICE, BOB, CAROL, HR
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission
from tests.slack_requests import select as selected

MEMBERS = (ALICE, BOB, CAROL)


def add_members(db: Database, *user_ids: str) -> None:
    with db.session() as session:
        for user_id in user_ids:
            update_profile(
                session, actor=Actor(user_id), data=ProfileInput(current_company="Acme"), display_name=user_id
            )
            give_consent(session, actor=Actor(user_id))


def create_values(title: str = "Pulse, December", *, min_group: str = "3", **over: Any) -> dict[str, Any]:
    """The create modal's state: one scale question and one choice question, open for a week."""
    closes = int((now() + timedelta(days=7)).timestamp())
    values: dict[str, Any] = {
        ui.FIELD_TITLE: title,
        ui.FIELD_INTRO: "",
        ui.FIELD_CLOSES_AT: {"type": "datetimepicker", "selected_date_time": closes},
        ui.FIELD_AUDIENCE: selected(sv.SEGMENT_ALL),
        ui.FIELD_MIN_GROUP: {"type": "number_input", "value": min_group},
        "q1_kind": selected(sv.SCALE),
        "q1_prompt": "How happy are you?",
        "q2_kind": selected(sv.CHOICE),
        "q2_prompt": "Which events?",
        "q2_choices": "Meetups\nOnline",
    }
    values.update(over)
    return values


def surveys_in(db: Database) -> list[sv.Survey]:
    with db.session() as session:
        return list(session.exec(select(sv.Survey)))


def open_survey(services: Services) -> int:
    """A survey HR created through the listener, sent to ALICE, BOB and CAROL."""
    add_members(services.db, *MEMBERS)
    body = submission(ui.VIEW_CREATE, create_values(), user=HR)
    ack = Recorder()
    surveys.on_create(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    [survey] = surveys_in(services.db)
    return int(survey.id or 0)


def test_hr_opens_the_create_modal_from_home_and_from_alumni_survey(
    services: Services, fake_slack: FakeSlack
) -> None:
    surveys.on_new(ack=Recorder(), body=action_body(ui.ACTION_NEW, user=HR), services=services, later=run_now)
    ack = Recorder()
    surveys.on_survey_subcommand(services, ack, command_payload("/alumni", "アンケート", user=HR), "")
    assert ack.once == {}
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [ui.VIEW_CREATE] * 2


def test_a_member_cannot_open_the_create_modal(services: Services, fake_slack: FakeSlack) -> None:
    ack = Recorder()
    surveys.on_new(ack=ack, body=action_body(ui.ACTION_NEW, user=ALICE), services=services, later=run_now)
    command_ack = Recorder()
    surveys.on_survey_subcommand(services, command_ack, command_payload("/alumni", "survey", user=ALICE), "")
    assert ack.once == {} and "HR" in command_ack.once["text"]
    assert fake_slack.calls_to("views.open") == []


def test_created_survey_is_sent_to_its_audience_before_the_ack(services: Services) -> None:
    survey_id = open_survey(services)
    with services.db.session() as session:
        survey = sv.get_survey(session, survey_id=survey_id)
        assert survey.status == sv.OPEN and survey.title == "Pulse, December"
        assert len(sv.questions_of(session, survey_id=survey_id)) == 2
        assert sv.participation(session, survey_ids=[survey_id])[survey_id] == (3, 0)


def test_bad_input_is_shown_at_the_field_and_nothing_is_saved(services: Services) -> None:
    add_members(services.db, *MEMBERS)
    body = submission(ui.VIEW_CREATE, create_values("", min_group="2", q2_choices="Only one"), user=HR)
    ack = Recorder()
    surveys.on_create(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors"
    assert {ui.FIELD_TITLE, ui.FIELD_MIN_GROUP, "q2_choices"} <= set(ack.once["errors"])
    assert surveys_in(services.db) == []


def test_an_audience_below_the_threshold_saves_nothing(services: Services) -> None:
    add_members(services.db, ALICE, BOB)  # two members, three needed
    body = submission(ui.VIEW_CREATE, create_values(), user=HR)
    ack = Recorder()
    surveys.on_create(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors"
    assert list(ack.once["errors"]) == [ui.FIELD_AUDIENCE] and "2" in ack.once["errors"][ui.FIELD_AUDIENCE]
    assert surveys_in(services.db) == []  # created and opened in one unit of work


def test_a_forged_create_submission_from_a_member_saves_nothing(services: Services) -> None:
    add_members(services.db, *MEMBERS)
    body = submission(ui.VIEW_CREATE, create_values(), user=ALICE)
    ack = Recorder()
    surveys.on_create(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors"
    assert surveys_in(services.db) == []


def test_a_recipient_answers_once_and_the_modal_thanks(services: Services, fake_slack: FakeSlack) -> None:
    survey_id = open_survey(services)
    surveys.on_answer_open(
        ack=Recorder(),
        body=action_body(ui.ACTION_ANSWER, str(survey_id), user=ALICE),
        services=services,
        later=run_now,
    )
    [opened] = fake_slack.calls_to("views.open")
    modal = opened.args["view"]
    assert modal["callback_id"] == ui.VIEW_ANSWER
    scale_q, choice_q = (b["block_id"] for b in modal["blocks"] if b["type"] == "input")
    values = {scale_q: {"type": "radio_buttons", "selected_option": {"value": "4"}}, choice_q: selected("1")}
    metadata = json.dumps({"survey_id": survey_id})
    body = submission(ui.VIEW_ANSWER, values, user=ALICE, metadata=metadata)
    ack = Recorder()
    surveys.on_answer_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "update"
    again = Recorder()
    surveys.on_answer_submit(ack=again, body=body, view=body["view"], services=services, later=run_now)
    assert again.once["response_action"] == "errors"
    with services.db.session() as session:
        assert sv.participation(session, survey_ids=[survey_id])[survey_id] == (3, 1)


def test_someone_not_asked_cannot_open_or_answer(services: Services, fake_slack: FakeSlack) -> None:
    survey_id = open_survey(services)
    outsider = "U0OUTSIDE"
    surveys.on_answer_open(
        ack=Recorder(),
        body=action_body(ui.ACTION_ANSWER, str(survey_id), user=outsider),
        services=services,
        later=run_now,
    )
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == []
    body = submission(
        ui.VIEW_ANSWER, {"answer_1": "x"}, user=outsider, metadata=json.dumps({"survey_id": survey_id})
    )
    ack = Recorder()
    surveys.on_answer_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors"


def test_a_member_cannot_close_see_results_export_or_chart(services: Services, fake_slack: FakeSlack) -> None:
    survey_id = open_survey(services)
    listeners = (surveys.on_close, surveys.on_results, surveys.on_export, surveys.on_chart)
    action_ids = (ui.ACTION_CLOSE, ui.ACTION_RESULTS, ui.ACTION_EXPORT, ui.ACTION_CHART)
    for listener, action_id in zip(listeners, action_ids, strict=True):
        ack = Recorder()
        listener(
            ack=ack, body=action_body(action_id, str(survey_id), user=ALICE), services=services, later=run_now
        )
        assert ack.once == {}
    with services.db.session() as session:
        assert sv.get_survey(session, survey_id=survey_id).status == sv.OPEN
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    shown = json.dumps([c.args for c in fake_slack.calls_to("chat.postEphemeral")], ensure_ascii=False)
    assert "HR" in shown and "How happy" not in shown


def test_hr_closes_then_reads_results_and_gets_the_csv(services: Services, fake_slack: FakeSlack) -> None:
    survey_id = open_survey(services)
    value = str(survey_id)
    surveys.on_close(
        ack=Recorder(), body=action_body(ui.ACTION_CLOSE, value, user=HR), services=services, later=run_now
    )
    with services.db.session() as session:
        assert sv.get_survey(session, survey_id=survey_id).status == sv.CLOSED
    surveys.on_results(
        ack=Recorder(), body=action_body(ui.ACTION_RESULTS, value, user=HR), services=services, later=run_now
    )
    # Nobody answered: fewer than the threshold, so no figures, and no CSV either.
    surveys.on_export(
        ack=Recorder(), body=action_body(ui.ACTION_EXPORT, value, user=HR), services=services, later=run_now
    )
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    shown = json.dumps([c.args for c in fake_slack.calls_to("chat.postEphemeral")], ensure_ascii=False)
    assert "How happy" not in shown and ("fewer" in shown.lower() or "未満" in shown)


def test_a_forged_survey_id_is_refused_without_a_database_error(services: Services) -> None:
    for value in ("99999999999999999999", "abc", None):
        ack = Recorder()
        surveys.on_close(
            ack=ack, body=action_body(ui.ACTION_CLOSE, value, user=HR), services=services, later=run_now
        )
        assert ack.once == {}
