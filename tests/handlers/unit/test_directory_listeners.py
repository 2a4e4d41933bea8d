"""The directory's listeners, called directly (see conftest): what each answers in its ack."""

from __future__ import annotations

from bot.blocks.directory import MORE_ACTION
from bot.blocks.profiles import PROFILE_CALLBACK, PROFILE_OPEN_ACTION
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import directory
from models.member import get_member
from tests.conftest import ALICE, BOB
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, submission


def test_help_answers_privately_in_the_members_language(services: Services, ack: Recorder) -> None:
    directory.on_alumni(ack=ack, command=command_payload("/alumni", "help", user=BOB), services=services)
    answer = ack.once
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == services.translator(BOB)("directory.help")
    assert answer["text"] != services.translator(ALICE)("directory.help")


def test_a_subcommand_word_goes_to_the_feature_that_declared_it(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    directory.on_alumni(ack=ack, command=command_payload("/alumni", "profile", user=ALICE), services=services)
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == PROFILE_CALLBACK


def test_other_words_search_and_answer_in_the_ack(services: Services, ack: Recorder) -> None:
    directory.on_alumni(ack=ack, command=command_payload("/alumni", "rust", user=ALICE), services=services)
    answer = ack.once
    assert answer["response_type"] == "ephemeral"
    assert "rust" in answer["text"]


def test_a_forged_more_value_acks_and_answers_nothing(
    services: Services, ack: Recorder, respond: Recorder
) -> None:
    directory.on_more(
        ack=ack, body=action_body(MORE_ACTION, "not json", user=ALICE), respond=respond, services=services
    )
    assert ack.once == {}
    assert respond.calls == []


def test_the_edit_profile_button_opens_the_modal(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    directory.on_profile_open(ack=ack, body=action_body(PROFILE_OPEN_ACTION, user=ALICE), services=services)
    assert ack.once == {}
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [PROFILE_CALLBACK]


def test_a_bad_profile_keeps_the_modal_open_with_field_errors_and_saves_nothing(
    services: Services, ack: Recorder
) -> None:
    values = {"joined_year": "2018", "left_year": "2016", "current_company": "Acme"}
    body = submission(PROFILE_CALLBACK, values, user=ALICE)
    directory.on_profile_submit(ack=ack, body=body, view=body["view"], services=services)
    answer = ack.once
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"left_year"}
    with services.db.session() as session:
        assert get_member(session, slack_user_id=ALICE) is None
