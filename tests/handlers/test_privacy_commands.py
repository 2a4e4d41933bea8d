"""`/alumni privacy` and `/alumni feedback` end to end (signed requests, fake Slack, SQLite and PostgreSQL)."""

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
)
from bot.i18n import t
from handlers.checkins import _post_to_community
from models.actors import Actor
from models.checkin import record_checkin
from models.feedback import ADDRESSED, Feedback
from models.member import get_member
from models.opportunity import Draft, post_opportunity, set_announcement
from models.outbox import enqueue
from models.profile import ProfileInput, give_consent
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, HR, HR_CHANNEL, BotHarness
from tests.models.test_privacy import scan
from tests.slack_requests import select as select_value

PROFILE_TEXT = "Bonsai-and-Rust-ZQ"
NUDGE_TEXT = "pending nudge for alice"


def _alice_with_data(bot: BotHarness) -> tuple[str, str]:
    """Alice consents, writes a profile, shares a check-in (posted), posts an opportunity (announced) and has
    a pending DM in the outbox. Returns the ts of the check-in post and of the opportunity post."""
    with bot.db.session() as session:
        give_consent(session, actor=Actor(ALICE), display_name="Alice Smith")
        checkin, _ = record_checkin(
            session,
            actor=Actor(ALICE),
            data=ProfileInput(current_company="Acme", skills=PROFILE_TEXT, interests=PROFILE_TEXT),
            whats_new=f"Now into {PROFILE_TEXT}",
            share=True,
        )
        opportunity = post_opportunity(
            session,
            actor=Actor(ALICE),
            draft=Draft(kind="gig", title="Logo design", apply_contact="alice@example.com"),
        )
        opportunity_id = int(opportunity.id or 0)
        checkin_id = checkin.id
        enqueue(session, purpose="nudge", recipient=ALICE, period="2026-11", message={"text": NUDGE_TEXT})
    _post_to_community(
        bot.services, user_id=ALICE, whats_new=f"Now into {PROFILE_TEXT}", checkin_id=checkin_id
    )
    posted = bot.services.client.chat_postMessage(
        channel=ALUMNI_CHANNEL, text=f"New gig from <@{ALICE}>: Logo design"
    )
    with bot.db.session() as session:
        set_announcement(
            session, opportunity_id=opportunity_id, channel_id=ALUMNI_CHANNEL, message_ts=str(posted["ts"])
        )
    checkin_ts = next(m["ts"] for m in bot.fake.messages(ALUMNI_CHANNEL) if PROFILE_TEXT in m["text"])
    return checkin_ts, str(posted["ts"])


def test_privacy_command_shows_consent_and_buttons(bot: BotHarness) -> None:
    answer = bot.sender.command("/alumni", "privacy", user=ALICE)
    body = answer.json
    assert body["response_type"] == "ephemeral"
    ids = {e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {CONSENT, DOWNLOAD, DELETE_OPEN} <= ids
    bot.sender.block_action(CONSENT, "consent", user=ALICE, response_url=bot.fake.response_url("consent"))
    bot.fake.wait_for("response_url")
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.consented_at is not None and member.consent_version


def test_download_my_data_is_a_json_file_in_their_dm(bot: BotHarness) -> None:
    _alice_with_data(bot)
    bot.sender.block_action(DOWNLOAD, "download", user=ALICE)
    complete = bot.fake.wait_for("files.completeUploadExternal")[0]
    assert complete.args["channel_id"] == "D" + ALICE
    data = json.loads(bot.fake.uploaded_files[complete.args["files"][0]["id"]]["bytes"])
    assert data["slack_user_id"] == ALICE
    assert PROFILE_TEXT in data["tables"]["member"][0]["skills"]
    assert data["tables"]["checkin"] and data["tables"]["opportunity"][0]["title"] == "Logo design"


def test_delete_my_data_erases_everything_and_cleans_up_slack(bot: BotHarness) -> None:
    checkin_ts, opportunity_ts = _alice_with_data(bot)
    assert scan(bot.db, [ALICE, "Alice Smith", PROFILE_TEXT])
    unconfirmed = bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: []}, user=ALICE)
    assert unconfirmed.json["response_action"] == "errors"
    # A forged text input saying "yes" is not the checkbox: nothing is erased.
    forged = bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: "yes, please"}, user=ALICE)
    assert forged.json["response_action"] == "errors"
    assert scan(bot.db, [PROFILE_TEXT])

    answer = bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=ALICE)
    assert answer.status == 200 and not answer.text.strip()
    bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == ALICE and c.args.get("text") == t("privacy.deleted", "en"),
    )
    assert scan(bot.db, [ALICE, "Alice Smith", PROFILE_TEXT]) == []
    # Her channel posts now read as a neutral notice.
    posts = {m["ts"]: m for m in bot.fake.messages(ALUMNI_CHANNEL)}
    notice = t("privacy.removed_notice", "ja")
    assert posts[checkin_ts]["text"] == notice and posts[opportunity_ts]["text"] == notice
    assert not any(PROFILE_TEXT in json.dumps(m, ensure_ascii=False) for m in posts.values())
    # Nothing queued for her is ever sent.
    from jobs.delivery import deliver_due

    deliver_due(bot.services)
    assert not any(NUDGE_TEXT in str(c.args.get("text")) for c in bot.fake.calls_to("chat.postMessage"))


def _submit_feedback(bot: BotHarness, *, user: str, text: str, anonymous: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": select_value("idea"),
        "text": text,
        "anonymous": ["yes"] if anonymous else [],
    }
    answer = bot.sender.view_submission(FEEDBACK_SUBMIT, values, user=user)
    assert answer.status == 200 and not answer.text.strip()
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == user)  # the thanks comes last
    return bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR_CHANNEL)[-1].args


def test_feedback_opens_a_modal_and_anonymous_feedback_reaches_hr_without_the_name(bot: BotHarness) -> None:
    bot.sender.command("/alumni", "feedback", user=BOB)
    assert bot.fake.wait_for("views.open")[0].args["view"]["callback_id"] == FEEDBACK_SUBMIT
    empty = bot.sender.view_submission(
        FEEDBACK_SUBMIT, {"kind": select_value("idea"), "text": "  "}, user=BOB
    )
    assert empty.json["response_action"] == "errors" and "text" in empty.json["errors"]

    posted = _submit_feedback(bot, user=BOB, text="<!channel> more evening events", anonymous=True)
    rendered = json.dumps(posted["blocks"], ensure_ascii=False)
    assert BOB not in rendered and "山田" not in rendered and "匿名のメンバー" in rendered
    assert "&lt;!channel&gt;" in rendered and "<!channel>" not in rendered
    with bot.db.session() as session:
        item = session.exec(select(Feedback)).one()
        assert item.hr_channel == HR_CHANNEL and item.hr_ts
        feedback_id = str(item.id)

    # HR answers and marks it addressed with what changed; the sender gets the answer, still anonymous.
    bot.sender.block_action(FEEDBACK_REPLY_OPEN, feedback_id, user=HR)
    assert bot.fake.wait_for("views.open", count=2)[1].args["view"]["private_metadata"] == feedback_id
    bot.sender.view_submission(
        FEEDBACK_REPLY_SUBMIT,
        {
            "reply": "Thanks! Starting in January.",
            "change_note": "Evening meetups every month",
            "addressed": ["yes"],
        },
        user=HR,
        private_metadata=feedback_id,
    )
    dm = bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == BOB and "Starting in January" in str(c.args.get("text")),
    )
    assert dm
    update = bot.fake.wait_for("chat.update", lambda c: c.args.get("channel") == HR_CHANNEL)[0]
    assert "Evening meetups every month" in json.dumps(update.args["blocks"]) and BOB not in json.dumps(
        update.args["blocks"]
    )
    with bot.db.session() as session:
        item = session.exec(select(Feedback)).one()
        assert item.status == ADDRESSED and item.change_note == "Evening meetups every month"


def test_named_feedback_shows_the_sender_and_can_be_marked_addressed(bot: BotHarness) -> None:
    posted = _submit_feedback(bot, user=ALICE, text="The digest is too long", anonymous=False)
    assert f"<@{ALICE}>" in json.dumps(posted["blocks"])
    with bot.db.session() as session:
        feedback_id = str(session.exec(select(Feedback)).one().id)
    bot.sender.block_action(FEEDBACK_ADDRESSED, feedback_id, user=HR)
    bot.fake.wait_for("chat.update", lambda c: c.args.get("channel") == HR_CHANNEL)
    with bot.db.session() as session:
        assert session.exec(select(Feedback)).one().status == ADDRESSED


def test_a_note_without_addressed_waits_and_hr_is_told_so(bot: BotHarness) -> None:
    _submit_feedback(bot, user=ALICE, text="More study sessions", anonymous=False)
    with bot.db.session() as session:
        feedback_id = str(session.exec(select(Feedback)).one().id)
    bot.sender.block_action(FEEDBACK_REPLY_OPEN, feedback_id, user=HR)
    opened = bot.fake.wait_for("views.open", lambda c: c.args["view"]["callback_id"] == FEEDBACK_REPLY_SUBMIT)
    modal = opened[0].args["view"]
    [note_block] = [b for b in modal["blocks"] if b.get("block_id") == "change_note"]
    assert note_block["hint"]["text"] == t("feedback.change_hint", "ja")  # the rule, where HR writes the note
    assert "対応済み" in note_block["hint"]["text"] and "一度だけ" in note_block["hint"]["text"]

    answer = bot.sender.view_submission(
        FEEDBACK_REPLY_SUBMIT,
        {"reply": "Good idea, we are on it", "change_note": "Monthly study sessions", "addressed": []},
        user=HR,
        private_metadata=feedback_id,
    )
    assert answer.status == 200 and not answer.text.strip()
    told = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR)
    assert told[0].args["text"] == t("feedback.note_not_published", "ja")
    update = bot.fake.wait_for("chat.update", lambda c: c.args.get("channel") == HR_CHANNEL)[0]
    assert "Monthly study sessions" in json.dumps(update.args["blocks"], ensure_ascii=False)
    assert "対応済みにするまで掲載されません" in json.dumps(update.args["blocks"], ensure_ascii=False)
    with bot.db.session() as session:
        item = session.exec(select(Feedback)).one()
        assert item.status != ADDRESSED and item.change_note == "Monthly study sessions"
