"""The privacy and feedback listeners, called directly (see conftest): what each decides before its ack and
what the member (or HR) notices after it."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.blocks.privacy import (
    CONFIRM_BLOCK,
    CONSENT,
    DELETE_CONFIRM,
    DELETE_OPEN,
    DOWNLOAD,
    FEEDBACK_ADDRESSED,
    FEEDBACK_REPLY_OPEN,
    FEEDBACK_REPLY_SUBMIT,
    FEEDBACK_SUBMIT,
    WITHDRAW,
)
from bot.i18n import Translator, t
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import privacy
from models.actors import Actor
from models.feedback import ADDRESSED, OPEN, Feedback, submit_feedback
from models.member import get_member
from models.profile import ProfileInput, give_consent, update_profile
from tests.conftest import ALICE, BOB, HR, HR_CHANNEL
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission
from tests.slack_requests import checkboxes
from tests.slack_requests import select as select_value

SKILLS = "Bonsai-and-Rust-QX"


def in_message(
    body: dict[str, Any], fake_slack: FakeSlack, key: str, *, channel: str | None = None
) -> dict[str, Any]:
    """`body` as a click in a message that carries Slack's response URL (recorded by the fake under `key`)."""
    body["response_url"] = fake_slack.response_url(key)
    if channel is not None:
        body["channel"] = {"id": channel}
        body["container"] = {"type": "message", "channel_id": channel, "message_ts": "1.0"}
    return body


def action_ids(blocks: list[dict[str, Any]]) -> set[str]:
    return {e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


def dm_texts(fake_slack: FakeSlack, user: str) -> list[str]:
    return [str(m.get("text") or "") for m in fake_slack.messages(user)]


def feedback_row(services: Services, *, sender: str = BOB, anonymous: bool = False) -> int:
    with services.db.session() as session:
        item = submit_feedback(
            session, actor=Actor(sender), text="More <evening> events", kind="idea", anonymous=anonymous
        )
        assert item.id is not None
        return item.id


def stored_feedback(services: Services, feedback_id: int) -> Feedback:
    with services.db.session() as session:
        item = session.get(Feedback, feedback_id)
        assert item is not None
        return item


# -- /alumni privacy, /alumni feedback, the Home section -------------------------------------------


def test_privacy_answers_in_the_ack_with_consent_download_and_delete(
    services: Services, ack: Recorder
) -> None:
    privacy.on_privacy(services, ack, command_payload("/alumni", "privacy", user=BOB), "")
    answer = ack.once
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == t("privacy.what_we_hold", "ja")  # Bob's language
    assert action_ids(answer["blocks"]) == {CONSENT, DOWNLOAD, DELETE_OPEN}


def test_privacy_offers_withdrawal_once_consent_is_given(services: Services, ack: Recorder) -> None:
    with services.db.session() as session:
        give_consent(session, actor=Actor(ALICE), display_name="Alice")
    privacy.on_privacy(services, ack, command_payload("/alumni", "privacy", user=ALICE), "")
    assert action_ids(ack.once["blocks"]) == {WITHDRAW, DOWNLOAD, DELETE_OPEN}


def test_the_home_section_shows_the_members_consent_buttons(services: Services) -> None:
    blocks = privacy.privacy_home(services, ALICE, Translator("en"))
    assert blocks[0]["type"] == "header"
    assert CONSENT in action_ids(blocks)


def test_feedback_opens_the_feedback_modal(services: Services, ack: Recorder, fake_slack: FakeSlack) -> None:
    privacy.on_feedback(services, ack, command_payload("/alumni", "feedback", user=ALICE), "")
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    assert opened.ok and opened.args["view"]["callback_id"] == FEEDBACK_SUBMIT


# -- consent, withdrawal, download -----------------------------------------------------------------


def test_consent_is_saved_then_the_answer_replaces_the_overview_and_home_is_refreshed(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = in_message(action_body(CONSENT, "consent", user=ALICE), fake_slack, "consent")
    privacy.on_consent(ack=ack, body=body, services=services, later=run_now)
    assert ack.once == {}
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.consented_at is not None
    [answer] = fake_slack.responses("consent")
    assert answer["text"] == t("privacy.consent_thanks", "en") and answer["replace_original"] is True
    assert WITHDRAW in action_ids(answer["blocks"])
    assert [c.args["user_id"] for c in fake_slack.calls_to("views.publish")] == [ALICE]


def test_withdrawing_consent_never_given_is_refused_privately_and_changes_nothing(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = in_message(action_body(WITHDRAW, "withdraw", user=ALICE), fake_slack, "withdraw")
    privacy.on_withdraw(ack=ack, body=body, services=services, later=run_now)
    assert ack.once == {}
    [answer] = fake_slack.responses("withdraw")
    assert answer["text"] != t("privacy.withdrawn", "en") and "blocks" not in answer
    assert fake_slack.calls_to("views.publish") == []
    with services.db.session() as session:
        assert get_member(session, slack_user_id=ALICE) is None


def test_withdrawal_from_the_home_tab_is_saved_and_answered_by_dm(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    with services.db.session() as session:
        give_consent(session, actor=Actor(ALICE), display_name="Alice")
    body = action_body(WITHDRAW, "withdraw", user=ALICE, view={"id": "VHOME", "type": "home"})
    privacy.on_withdraw(ack=ack, body=body, services=services, later=run_now)
    assert ack.once == {}
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.consented_at is None
    assert dm_texts(fake_slack, ALICE) == [t("privacy.withdrawn", "en")]


def test_download_sends_the_members_data_as_json_to_their_dm(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    with services.db.session() as session:
        update_profile(session, actor=Actor(ALICE), data=ProfileInput(skills=SKILLS), display_name="Alice")
    privacy.on_download(
        ack=ack, body=action_body(DOWNLOAD, "download", user=ALICE), services=services, later=run_now
    )
    assert ack.once == {}
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "D" + ALICE
    data = json.loads(fake_slack.uploaded_files[complete.args["files"][0]["id"]]["bytes"])
    assert data["slack_user_id"] == ALICE and SKILLS in data["tables"]["member"][0]["skills"]


# -- delete my data --------------------------------------------------------------------------------


def test_delete_opens_the_confirmation_modal(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    privacy.on_delete_open(ack=ack, body=action_body(DELETE_OPEN, "delete", user=ALICE), services=services)
    assert ack.once == {}
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [DELETE_CONFIRM]


def test_delete_without_the_checkbox_keeps_the_modal_open_and_erases_nothing(
    services: Services, ack: Recorder
) -> None:
    with services.db.session() as session:
        update_profile(session, actor=Actor(ALICE), data=ProfileInput(skills=SKILLS), display_name="Alice")
    for forged in (checkboxes(), "yes, please"):  # unticked, or a text input pretending to be the checkbox
        recorder = Recorder()
        body = submission(DELETE_CONFIRM, {CONFIRM_BLOCK: forged}, user=ALICE)
        privacy.on_delete_confirm(
            ack=recorder, body=body, view=body["view"], services=services, later=run_now
        )
        answer = recorder.once
        assert answer["response_action"] == "errors" and set(answer["errors"]) == {CONFIRM_BLOCK}
    with services.db.session() as session:
        assert get_member(session, slack_user_id=ALICE) is not None


def test_confirmed_delete_erases_before_the_ack_then_tells_the_member(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    with services.db.session() as session:
        update_profile(session, actor=Actor(BOB), data=ProfileInput(skills=SKILLS), display_name="Bob")
    body = submission(DELETE_CONFIRM, {CONFIRM_BLOCK: checkboxes("yes")}, user=BOB)
    done: list[str] = []

    def later(work: Any) -> None:
        with services.db.session() as session:  # already erased when the follow-up starts
            done.append("erased" if get_member(session, slack_user_id=BOB) is None else "still there")
        work()

    privacy.on_delete_confirm(ack=ack, body=body, view=body["view"], services=services, later=later)
    assert ack.once == {} and done == ["erased"]
    assert dm_texts(fake_slack, BOB) == [t("privacy.deleted", "ja")]  # in the language read before erasure


# -- feedback --------------------------------------------------------------------------------------


def test_empty_feedback_keeps_the_modal_open_and_saves_nothing(services: Services, ack: Recorder) -> None:
    body = submission(FEEDBACK_SUBMIT, {"kind": select_value("idea"), "text": "  "}, user=ALICE)
    privacy.on_feedback_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    answer = ack.once
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"text"}
    with services.db.session() as session:
        assert session.exec(select(Feedback)).all() == []


def test_anonymous_feedback_reaches_hr_without_the_name_and_the_sender_is_thanked(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    values = {"kind": select_value("idea"), "text": "More evening events", "anonymous": checkboxes("yes")}
    body = submission(FEEDBACK_SUBMIT, values, user=BOB)
    privacy.on_feedback_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    [card] = fake_slack.messages(HR_CHANNEL)
    assert "More evening events" in json.dumps(card["blocks"], ensure_ascii=False)
    assert BOB not in json.dumps(card["blocks"])
    with services.db.session() as session:
        item = session.exec(select(Feedback)).one()
        assert item.anonymous and item.hr_channel == HR_CHANNEL and item.hr_ts == card["ts"]
    assert dm_texts(fake_slack, BOB) == [t("feedback.thanks_anonymous", "ja")]


def test_someone_without_hr_cannot_open_the_reply_modal(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    feedback_id = feedback_row(services)
    body = in_message(
        action_body(FEEDBACK_REPLY_OPEN, str(feedback_id), user=ALICE), fake_slack, "r", channel=HR_CHANNEL
    )
    privacy.on_reply_open(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert ack.once == {}
    assert [r["text"] for r in fake_slack.responses("r")] == [t("admin.not_hr", "en")]
    assert fake_slack.calls_to("views.open") == []


def test_hr_opening_a_reply_to_a_missing_feedback_is_told_so_and_gets_no_modal(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    for value in ("999999", "99999999999", "x"):
        body = in_message(
            action_body(FEEDBACK_REPLY_OPEN, value, user=HR), fake_slack, value, channel=HR_CHANNEL
        )
        privacy.on_reply_open(
            ack=Recorder(), body=body, action=body["actions"][0], services=services, later=run_now
        )
        assert [r["text"] for r in fake_slack.responses(value)] == [t("errors.not_found", "ja")]
    assert fake_slack.calls_to("views.open") == []


def test_hr_gets_the_reply_modal_for_the_feedback_clicked(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    feedback_id = feedback_row(services)
    body = action_body(FEEDBACK_REPLY_OPEN, str(feedback_id), user=HR)
    privacy.on_reply_open(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    [opened] = fake_slack.calls_to("views.open")
    assert opened.ok and opened.args["view"]["callback_id"] == FEEDBACK_REPLY_SUBMIT
    assert opened.args["view"]["private_metadata"] == str(feedback_id)


def test_a_reply_from_someone_without_hr_is_refused_at_the_field_and_changes_nothing(
    services: Services, ack: Recorder
) -> None:
    feedback_id = feedback_row(services)
    body = submission(FEEDBACK_REPLY_SUBMIT, {"reply": "forged"}, user=ALICE, metadata=str(feedback_id))
    privacy.on_reply_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {"response_action": "errors", "errors": {"reply": t("admin.not_hr", "en")}}
    item = stored_feedback(services, feedback_id)
    assert (item.status, item.reply, item.replied_by) == (OPEN, "", None)


def test_a_reply_to_forged_metadata_is_refused_at_the_field(services: Services, ack: Recorder) -> None:
    body = submission(FEEDBACK_REPLY_SUBMIT, {"reply": "hello"}, user=HR, metadata="-1")
    privacy.on_reply_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {"response_action": "errors", "errors": {"reply": t("errors.not_found", "ja")}}


def test_hrs_reply_is_saved_then_sent_to_the_sender_and_the_card_updated(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    feedback_id = feedback_row(services, sender=ALICE)
    privacy.render_feedback_card(services, feedback_id)  # the card HR clicked on
    values = {
        "reply": "Starting in January",
        "change_note": "Monthly evening meetups",
        "addressed": checkboxes("yes"),
    }
    body = submission(FEEDBACK_REPLY_SUBMIT, values, user=HR, metadata=str(feedback_id))
    privacy.on_reply_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    item = stored_feedback(services, feedback_id)
    assert item.status == ADDRESSED and item.reply == "Starting in January"
    [dm] = dm_texts(fake_slack, ALICE)
    assert "Starting in January" in dm and "&lt;evening&gt;" in dm  # her words quoted, escaped
    [card] = fake_slack.messages(HR_CHANNEL)
    assert "Monthly evening meetups" in json.dumps(card["blocks"])
    assert dm_texts(fake_slack, HR) == []  # addressed: the note will be published, nothing to warn about


def test_a_change_note_without_addressed_is_saved_and_hr_is_told_it_waits(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    feedback_id = feedback_row(services)
    values = {"reply": "Good idea", "change_note": "Monthly study sessions", "addressed": checkboxes()}
    body = submission(FEEDBACK_REPLY_SUBMIT, values, user=HR, metadata=str(feedback_id))
    privacy.on_reply_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    assert stored_feedback(services, feedback_id).change_note == "Monthly study sessions"
    assert dm_texts(fake_slack, HR) == [t("feedback.note_not_published", "ja")]
    [reply] = dm_texts(fake_slack, BOB)
    assert "Good idea" in reply


def test_someone_without_hr_cannot_mark_feedback_addressed(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    feedback_id = feedback_row(services)
    body = in_message(
        action_body(FEEDBACK_ADDRESSED, str(feedback_id), user=BOB), fake_slack, "a", channel=HR_CHANNEL
    )
    privacy.on_addressed(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert ack.once == {}
    assert [r["text"] for r in fake_slack.responses("a")] == [t("admin.not_hr", "ja")]
    assert stored_feedback(services, feedback_id).status == OPEN


def test_hr_marks_feedback_addressed_before_the_ack_and_the_card_follows(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    feedback_id = feedback_row(services)
    privacy.render_feedback_card(services, feedback_id)
    body = in_message(
        action_body(FEEDBACK_ADDRESSED, str(feedback_id), user=HR), fake_slack, "a", channel=HR_CHANNEL
    )
    privacy.on_addressed(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert ack.once == {}
    assert stored_feedback(services, feedback_id).status == ADDRESSED
    [card] = fake_slack.messages(HR_CHANNEL)
    assert FEEDBACK_ADDRESSED not in action_ids(card["blocks"])  # the button is gone from the card

    again = Recorder()
    privacy.on_addressed(ack=again, body=body, action=body["actions"][0], services=services, later=run_now)
    assert again.once == {}
    assert [r["text"] for r in fake_slack.responses("a")] == [t("feedback.errors.already_addressed", "ja")]
