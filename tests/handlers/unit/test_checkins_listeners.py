"""The check-in feature's listeners, called directly (see conftest)."""

from __future__ import annotations

from bot.blocks.checkins import (
    DIGEST_BLOCK,
    DIGEST_ON,
    NUDGE_OFF_ACTION,
    NUDGE_SETTINGS_ACTION,
    NUDGE_SETTINGS_CALLBACK,
    NUDGE_SNOOZE_ACTION,
    NUDGES_BLOCK,
    NUDGES_OFF,
)
from bot.blocks.intros import OPTED_IN_BLOCK, OPTED_IN_VALUE
from bot.blocks.profiles import CHECKIN_CALLBACK, CHECKIN_OPEN_ACTION, CONSENT, SHARE, WHATS_NEW
from bot.i18n import Translator
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import checkins
from models.actors import Actor
from models.checkin import CheckIn
from models.intro import get_intro_preferences
from models.member import get_member
from models.profile import CONSENT_VERSION, ProfileInput, give_consent, update_profile
from tests.conftest import ALICE, ALUMNI_CHANNEL
from tests.handlers.test_directory import profile_values, radio
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission


def _member(services: Services, *, consent: bool = True) -> None:
    with services.db.session() as session:
        update_profile(
            session, actor=Actor(ALICE), data=ProfileInput(current_company="Acme"), display_name="Alice"
        )
        if consent:
            give_consent(session, actor=Actor(ALICE))


def _checkins(services: Services) -> list[CheckIn]:
    from sqlmodel import select

    with services.db.session() as session:
        return list(session.exec(select(CheckIn)))


def test_the_command_the_shortcut_and_the_button_all_open_the_checkin_modal(
    services: Services, fake_slack: FakeSlack
) -> None:
    acks = [Recorder(), Recorder(), Recorder()]
    checkins.on_checkin(ack=acks[0], command=command_payload("/checkin", user=ALICE), services=services)
    shortcut = {"type": "shortcut", "user": {"id": ALICE}, "trigger_id": "trigger.unit"}
    checkins.on_shortcut(ack=acks[1], body=shortcut, services=services)
    checkins.on_open(ack=acks[2], body=action_body(CHECKIN_OPEN_ACTION, user=ALICE), services=services)
    assert [a.once for a in acks] == [{}, {}, {}]
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [
        CHECKIN_CALLBACK
    ] * 3


def test_a_shared_checkin_is_saved_before_the_ack_then_posted_escaped(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    _member(services)
    values = {**profile_values(current_company="Globex"), WHATS_NEW: "<!channel> new job", SHARE: ["share"]}
    body = submission(CHECKIN_CALLBACK, values, user=ALICE)
    pending: list[object] = []
    checkins.on_submit(ack=ack, body=body, view=body["view"], services=services, later=pending.append)
    assert ack.once["response_action"] == "update"
    assert len(_checkins(services)) == 1  # decided before the ack; nothing posted yet
    assert fake_slack.messages(ALUMNI_CHANNEL) == []
    for work in pending:
        run_now(work)
    [post] = fake_slack.messages(ALUMNI_CHANNEL)
    assert "&lt;!channel&gt; new job" in str(post) and "<!channel>" not in str(post)


def test_bad_input_keeps_the_modal_with_field_errors_and_records_neither_checkin_nor_consent(
    services: Services, ack: Recorder
) -> None:
    _member(services, consent=False)
    values = {
        **profile_values(joined_year="2018", left_year="2016"),
        WHATS_NEW: "",
        CONSENT: [CONSENT_VERSION],
    }
    body = submission(CHECKIN_CALLBACK, values, user=ALICE)
    checkins.on_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors" and set(ack.once["errors"]) == {"left_year"}
    assert _checkins(services) == []
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and not member.has_consented


def test_the_intros_box_joins_before_the_ack_and_the_saved_view_says_so(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    _member(services)
    checkins.on_open(ack=Recorder(), body=action_body(CHECKIN_OPEN_ACTION, user=ALICE), services=services)
    [opened] = fake_slack.calls_to("views.open")
    assert OPTED_IN_BLOCK in [b.get("block_id") for b in opened.args["view"]["blocks"]]
    values = {**profile_values(), WHATS_NEW: "", OPTED_IN_BLOCK: [OPTED_IN_VALUE]}
    body = submission(CHECKIN_CALLBACK, values, user=ALICE)
    pending: list[object] = []
    checkins.on_submit(ack=ack, body=body, view=body["view"], services=services, later=pending.append)
    assert ack.once["response_action"] == "update"
    assert Translator("en")("intros.checkin.joined") in str(ack.once["view"])
    with services.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.opted_in  # saved before the ack, with the check-in
    assert len(_checkins(services)) == 1


def test_joining_intros_without_consent_is_refused_at_the_box_and_saves_no_checkin(
    services: Services, ack: Recorder
) -> None:
    _member(services, consent=False)
    values = {**profile_values(), WHATS_NEW: "hi", OPTED_IN_BLOCK: [OPTED_IN_VALUE]}
    body = submission(CHECKIN_CALLBACK, values, user=ALICE)
    checkins.on_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {
        "response_action": "errors",
        "errors": {OPTED_IN_BLOCK: Translator("en")("intros.errors.needs_consent")},
    }
    assert _checkins(services) == []
    with services.db.session() as session:
        assert get_intro_preferences(session, slack_user_id=ALICE) is None


def test_snooze_and_turn_off_are_saved_before_the_ack(services: Services) -> None:
    _member(services)
    snooze, off = Recorder(), Recorder()
    later: list[object] = []
    checkins.on_snooze(
        ack=snooze, body=action_body(NUDGE_SNOOZE_ACTION, user=ALICE), services=services, later=later.append
    )
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.nudge_snoozed_until is not None
    checkins.on_off(
        ack=off, body=action_body(NUDGE_OFF_ACTION, user=ALICE), services=services, later=later.append
    )
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.nudges_enabled is False
    assert snooze.once == {} and off.once == {}
    assert len(later) == 2  # the nudge DM and Home are updated after the ack


def test_reminder_settings_open_and_save(services: Services, ack: Recorder, fake_slack: FakeSlack) -> None:
    _member(services)
    checkins.on_settings_open(
        ack=Recorder(), body=action_body(NUDGE_SETTINGS_ACTION, user=ALICE), services=services
    )
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [
        NUDGE_SETTINGS_CALLBACK
    ]
    body = submission(
        NUDGE_SETTINGS_CALLBACK, {NUDGES_BLOCK: radio(NUDGES_OFF), DIGEST_BLOCK: [DIGEST_ON]}, user=ALICE
    )
    body["view"]["state"]["values"][NUDGES_BLOCK] = {NUDGES_BLOCK: radio(NUDGES_OFF)}
    checkins.on_settings_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and (member.nudges_enabled, member.personal_digest) == (False, True)
