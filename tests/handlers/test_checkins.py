"""Check-ins through `/checkin`, the shortcut and Home; sharing; nudge buttons; the member's Home section."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.blocks.checkins import (
    DIGEST_BLOCK,
    DIGEST_ON,
    NUDGE_OFF_ACTION,
    NUDGE_SETTINGS_ACTION,
    NUDGE_SETTINGS_CALLBACK,
    NUDGE_SNOOZE_ACTION,
    NUDGES_BLOCK,
    NUDGES_OFF,
    nudge_message,
)
from bot.blocks.intros import OPTED_IN_BLOCK, OPTED_IN_VALUE
from bot.blocks.profiles import (
    CHECKIN_CALLBACK,
    CHECKIN_OPEN_ACTION,
    CONSENT,
    PROFILE_OPEN_ACTION,
    SHARE,
    WHATS_NEW,
)
from bot.i18n import Translator, t
from bot.slack_emulator.blockkit import violations
from handlers.checkins import SHORTCUT
from models.actors import Actor
from models.audit import AuditLog
from models.checkin import CheckIn
from models.intro import get_intro_preferences, set_intro_preferences
from models.member import get_member
from models.profile import CONSENT_VERSION
from models.timeutil import now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, BotHarness
from tests.handlers.test_directory import add_member, opened_view, profile_values, radio, search, shown


def checkin_values(whats_new: str = "", *, share: bool = False, **profile: Any) -> dict[str, Any]:
    values = profile_values(**profile)
    values[WHATS_NEW] = whats_new
    values[SHARE] = ["share"] if share else []
    return values


def test_checkin_command_opens_a_prefilled_modal_and_sharing_posts_escaped_text(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice", current_company="Acme", current_role="Engineer", skills="Go")
    bot.sender.command("/checkin", "", user=ALICE)
    view = opened_view(bot, CHECKIN_CALLBACK)
    assert violations("modal", view["blocks"], view) == []
    initial = {
        b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"
    }
    assert initial["current_company"] == "Acme" and initial["skills"] == "Go"
    assert {WHATS_NEW, SHARE} <= set(initial)

    values = checkin_values(
        "Joined <!channel> Globex & loving it <https://evil.example|bank>",
        share=True,
        current_company="Globex",
        current_role="Staff engineer",
        availability=["speaking"],
    )
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, values, user=ALICE, blocks=view["blocks"])
    assert answer.json["response_action"] == "update"
    post = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)[0]
    text = post.args["text"] + json.dumps(post.args["blocks"])
    assert "<!channel>" not in text and "<https://evil.example|bank>" not in text
    assert "&lt;!channel&gt;" in text and "&amp; loving it" in text and f"<@{ALICE}>" in text
    assert "Staff engineer" in text
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert (
            member is not None and member.current_company == "Globex" and member.last_checkin_at is not None
        )
        checkin = session.exec(select(CheckIn)).one()
        assert checkin.shared and checkin.availability() == ["speaking"] and checkin.text.startswith("Joined")
    # Checked in with /checkin: the Home tab is rebuilt when she opens it (app_home_opened), not before.
    bot.settle()  # the submission's after-ack work (the post, then its stored ts) has ended
    assert not bot.fake.calls_to("views.publish")
    bot.sender.event({"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D1"})
    home = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE)[-1]
    assert "Globex" in json.dumps(home.args["view"])
    # The post's location is kept, so deleting the member's data can replace it.
    with bot.db.session() as session:
        shared = session.exec(select(CheckIn)).one()
    assert (shared.channel, shared.message_ts) == (ALUMNI_CHANNEL, post.response["ts"])


def test_bad_checkins_get_field_errors_and_save_nothing(bot: BotHarness) -> None:
    add_member(bot, BOB, name="Bob", current_company="Acme", consent=False)
    bot.sender.shortcut(SHORTCUT, user=BOB)
    view = opened_view(bot, CHECKIN_CALLBACK)
    assert any(b.get("block_id") == CONSENT for b in view["blocks"])  # consent offered, not yet given
    values = checkin_values("x" * 3000, current_company="Changed", joined_year="2020", left_year="2010")
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, values, user=BOB, blocks=view["blocks"])
    assert answer.json["response_action"] == "errors"
    assert set(answer.json["errors"]) == {WHATS_NEW, "left_year"}
    assert "2000" in answer.json["errors"][WHATS_NEW] and "退職年" in answer.json["errors"]["left_year"]
    # A forged "share" from a member who has not agreed to be shown.
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, checkin_values("hi", share=True), user=BOB)
    assert answer.json["response_action"] == "errors"
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=BOB)
        assert member is not None and member.current_company == "Acme" and member.last_checkin_at is None
        assert session.exec(select(CheckIn)).all() == []
    bot.settle()  # sharing would be after-ack work
    assert [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == ALUMNI_CHANNEL] == []


def test_checkin_offers_the_welcome_consent_and_ticking_it_lists_the_member(bot: BotHarness) -> None:
    add_member(bot, BOB, name="Bob", current_company="Acme", skills="Haskell", consent=False)
    assert BOB not in shown(search(bot, "haskell", user=ALICE))
    bot.sender.command("/checkin", "", user=BOB)
    view = opened_view(bot, CHECKIN_CALLBACK)
    assert violations("modal", view["blocks"], view) == []
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert t("onboarding.welcome.data", "ja") in sections  # the welcome message's own text (Bob reads ja)
    [consent] = [b for b in view["blocks"] if b.get("block_id") == CONSENT]
    assert consent["optional"] and consent["element"]["type"] == "checkboxes"
    assert [o["value"] for o in consent["element"]["options"]] == [CONSENT_VERSION]

    # Ticked on a check-in that is refused: nothing is recorded, consent included.
    refused = {**checkin_values("hi", left_year="1900"), CONSENT: [CONSENT_VERSION]}
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, refused, user=BOB, blocks=view["blocks"])
    assert answer.json["response_action"] == "errors"
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=BOB)
        assert member is not None and member.consented_at is None

    values = {
        **checkin_values("Back from a year abroad", share=True, skills="Haskell"),
        CONSENT: [CONSENT_VERSION],
    }
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, values, user=BOB, blocks=view["blocks"])
    assert answer.json["response_action"] == "update"
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=BOB)
        assert member is not None and member.has_consented and member.consent_version == CONSENT_VERSION
        consent_audit = session.exec(select(AuditLog).where(AuditLog.action == "member.consent")).one()
        assert consent_audit.actor == BOB  # recorded like the "I agree" button
    assert BOB in shown(search(bot, "haskell", user=ALICE))  # listed in the directory now
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)

    bot.sender.command("/checkin", "", user=BOB)  # once agreed, the box is not offered again
    again = opened_view(bot, CHECKIN_CALLBACK, count=2)
    assert not any(b.get("block_id") == CONSENT for b in again["blocks"])


def test_home_shows_the_profile_last_checkin_and_buttons_that_open_the_modals(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice", current_company="Acme", current_role="Engineer")
    bot.sender.event({"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D1"})
    view = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE)[-1].args["view"]
    text = json.dumps(view)
    assert "Engineer at Acme" in text and "No check-in yet" in text and "every 90 days" in text
    action_ids = {e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {CHECKIN_OPEN_ACTION, PROFILE_OPEN_ACTION, NUDGE_SETTINGS_ACTION} <= action_ids
    home_view = {"id": "VHOME", "type": "home"}
    bot.sender.block_action(CHECKIN_OPEN_ACTION, "home", user=ALICE, view=home_view)
    checkin = opened_view(bot, CHECKIN_CALLBACK)
    # Opened from the Home tab, which stays behind the modal: saving republishes the tab at once.
    published = len(bot.fake.calls_to("views.publish"))
    answer = bot.sender.view_submission(
        CHECKIN_CALLBACK,
        checkin_values("back from leave"),
        user=ALICE,
        blocks=checkin["blocks"],
        private_metadata=checkin.get("private_metadata", ""),
    )
    assert answer.json["response_action"] == "update"
    after = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE, published + 1)[-1]
    assert "No check-in yet" not in json.dumps(after.args["view"])
    bot.sender.block_action(NUDGE_SETTINGS_ACTION, "home", user=ALICE, view=home_view)
    settings = opened_view(bot, NUDGE_SETTINGS_CALLBACK)
    assert violations("modal", settings["blocks"], settings) == []
    answer = bot.sender.view_submission(
        NUDGE_SETTINGS_CALLBACK,
        {NUDGES_BLOCK: radio(NUDGES_OFF), DIGEST_BLOCK: [DIGEST_ON]},
        user=ALICE,
        blocks=settings["blocks"],
    )
    assert answer.status == 200
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and not member.nudges_enabled and member.personal_digest
    bot.fake.wait_for("views.publish", lambda c: "Check-in reminders: off" in json.dumps(c.args["view"]))


def test_nudge_buttons_snooze_for_30_days_or_turn_nudges_off(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    message = nudge_message(Translator("en"), last_contact=now() - timedelta(days=100), snooze_days=30)
    sent = bot.services.client.chat_postMessage(channel=ALICE, **message)
    dm = {"ts": sent["ts"], "text": message["text"], "blocks": message["blocks"]}
    bot.sender.block_action(NUDGE_SNOOZE_ACTION, "snooze", user=ALICE, channel=sent["channel"], message=dm)
    bot.fake.wait_for("chat.update", lambda c: c.args.get("ts") == sent["ts"])
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.nudge_snoozed_until is not None and member.nudges_enabled
        assert timedelta(days=29) < member.nudge_snoozed_until - now() <= timedelta(days=30)
    assert "ask again" in json.dumps(bot.fake.messages(ALICE)[-1])
    bot.sender.block_action(NUDGE_OFF_ACTION, "off", user=ALICE, channel=sent["channel"], message=dm)
    bot.fake.wait_for("chat.update", lambda c: "Reminders are off" in json.dumps(c.args.get("blocks")))
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and not member.nudges_enabled
    # The nudge's "Check in" button opens the check-in modal.
    bot.sender.block_action(CHECKIN_OPEN_ACTION, "nudge", user=ALICE, channel=sent["channel"], message=dm)
    opened_view(bot, CHECKIN_CALLBACK)


# -- the "Join reconnect intros" box -----------------------------------------------------------------------


def _intros_box(view: dict[str, Any]) -> dict[str, Any]:
    [box] = [b for b in view["blocks"] if b.get("block_id") == OPTED_IN_BLOCK]
    return box


def _ticked(view: dict[str, Any]) -> bool:
    return bool(_intros_box(view)["element"].get("initial_options"))


def _checkin(bot: BotHarness, user: str, *, intros: bool | None, count: int, **extra: Any) -> Any:
    """Open the check-in modal (the `count`th views.open) and submit it with the intros box as given."""
    bot.sender.command("/checkin", "", user=user)
    view = opened_view(bot, CHECKIN_CALLBACK, count=count)
    values = {**checkin_values("hello"), **extra}
    if intros is not None:
        values[OPTED_IN_BLOCK] = [OPTED_IN_VALUE] if intros else []
    return view, bot.sender.view_submission(CHECKIN_CALLBACK, values, user=user, blocks=view["blocks"])


def test_the_checkin_modal_joins_and_leaves_reconnect_intros_and_says_so_in_english(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    en = Translator("en")
    view, answer = _checkin(bot, ALICE, intros=True, count=1)
    assert violations("modal", view["blocks"], view) == []
    box = _intros_box(view)
    assert box["optional"] and box["label"]["text"] == en("intros.checkin.label")
    assert not _ticked(view)  # not opted in yet
    assert answer.json["response_action"] == "update"
    assert en("intros.checkin.joined") in json.dumps(answer.json["view"], ensure_ascii=False)
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.opted_in and pref.cadence_weeks == 2
        assert len(session.exec(select(CheckIn)).all()) == 1
    bot.sender.event({"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D1"})
    home = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE)[-1]
    assert en("intros.home.on", weeks=2, wants=en("intros.home.anyone")) in json.dumps(
        home.args["view"], ensure_ascii=False
    )

    # Reopened: the box reflects the opt-in; left ticked, nothing changes and nothing is said about intros.
    view, answer = _checkin(bot, ALICE, intros=True, count=2)
    assert _ticked(view)
    assert en("intros.checkin.joined") not in json.dumps(answer.json["view"], ensure_ascii=False)

    view, answer = _checkin(bot, ALICE, intros=False, count=3)
    assert en("intros.checkin.left") in json.dumps(answer.json["view"], ensure_ascii=False)
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and not pref.opted_in
        assert len(session.exec(select(CheckIn)).all()) == 3
    bot.sender.command("/checkin", "", user=ALICE)
    assert not _ticked(opened_view(bot, CHECKIN_CALLBACK, count=4))


def test_leaving_and_rejoining_from_the_checkin_keeps_settings_and_pause_in_japanese(bot: BotHarness) -> None:
    add_member(bot, BOB, name="Bob")
    ja = Translator("ja")
    until = (now() + timedelta(days=10)).date()
    with bot.db.session() as session:
        set_intro_preferences(
            session, actor=Actor(BOB), opted_in=True, cadence_weeks=4, wants=["mentee"], paused_until=until
        )
    view, answer = _checkin(bot, BOB, intros=False, count=1)
    assert _ticked(view) and view["title"]["text"] == ja("checkins.modal.title")
    assert _intros_box(view)["label"]["text"] == ja("intros.checkin.label")
    assert ja("intros.checkin.left") in json.dumps(answer.json["view"], ensure_ascii=False)
    _, answer = _checkin(bot, BOB, intros=True, count=2)
    assert ja("intros.checkin.joined") in json.dumps(answer.json["view"], ensure_ascii=False)
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=BOB)
        assert pref is not None and pref.opted_in and pref.cadence_weeks == 4
        assert pref.want_list() == ["mentee"] and pref.is_paused(now())
        assert pref.paused_until is not None and (pref.paused_until - timedelta(seconds=1)).date() == until


def test_joining_intros_needs_consent_and_a_refusal_writes_nothing(bot: BotHarness) -> None:
    add_member(bot, BOB, name="Bob", consent=False)
    view, answer = _checkin(bot, BOB, intros=True, count=1)
    assert answer.json["response_action"] == "errors"
    # The intros settings modal's own error, at the box, in Bob's language.
    assert answer.json["errors"] == {OPTED_IN_BLOCK: t("intros.errors.needs_consent", "ja")}
    # A check-in that is refused for another field joins nothing either.
    refused = {
        **checkin_values("hi", left_year="1900"),
        OPTED_IN_BLOCK: [OPTED_IN_VALUE],
        CONSENT: [CONSENT_VERSION],
    }
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, refused, user=BOB, blocks=view["blocks"])
    assert set(answer.json["errors"]) == {"left_year"}
    with bot.db.session() as session:
        assert get_intro_preferences(session, slack_user_id=BOB) is None
        assert session.exec(select(CheckIn)).all() == []
        member = get_member(session, slack_user_id=BOB)
        assert member is not None and member.consented_at is None
    # Consent and intros ticked together: both saved with the check-in.
    _, answer = _checkin(bot, BOB, intros=True, count=1, **{CONSENT: [CONSENT_VERSION]})
    assert answer.json["response_action"] == "update"
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=BOB)
        member = get_member(session, slack_user_id=BOB)
        assert pref is not None and pref.opted_in and member is not None and member.has_consented


def test_a_checkin_without_the_box_leaves_intros_as_they_are(bot: BotHarness) -> None:
    """A modal opened before the box existed (or a payload without it) does not turn intros off."""
    add_member(bot, ALICE, name="Alice")
    with bot.db.session() as session:
        set_intro_preferences(session, actor=Actor(ALICE), opted_in=True)
    answer = bot.sender.view_submission(CHECKIN_CALLBACK, checkin_values("hi"), user=ALICE)
    assert answer.json["response_action"] == "update"
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.opted_in
