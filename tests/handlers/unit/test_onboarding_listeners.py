"""Onboarding's listeners, called directly (see conftest)."""

from __future__ import annotations

from dataclasses import replace

from bot.blocks.onboarding import CONSENT_ACTION
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import direct_messages, home, onboarding
from models.member import get_member
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB
from tests.handlers.unit.conftest import Recorder, action_body


def test_joining_the_alumni_channel_welcomes_once_and_another_channel_not_at_all(
    services: Services, fake_slack: FakeSlack
) -> None:
    onboarding.on_member_joined_channel(event={"channel": "C_OTHER", "user": ALICE}, services=services)
    assert fake_slack.calls_to("chat.postMessage") == []
    for _ in range(2):
        onboarding.on_member_joined_channel(
            event={"channel": ALUMNI_CHANNEL, "user": ALICE}, services=services
        )
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_team_join_welcomes_only_when_the_setting_is_on_and_never_bots(
    services: Services, fake_slack: FakeSlack
) -> None:
    services.settings = replace(services.settings, welcome_on_team_join=False)
    onboarding.on_team_join(event={"user": {"id": ALICE}}, services=services)
    assert fake_slack.calls_to("chat.postMessage") == []
    services.settings = replace(services.settings, welcome_on_team_join=True)
    onboarding.on_team_join(event={"user": {"id": "UBOT", "is_bot": True}}, services=services)
    assert fake_slack.calls_to("chat.postMessage") == []
    event = {"user": {"id": ALICE, "profile": {"email": "alice@example.com"}}}
    onboarding.on_team_join(event=event, services=services)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_consent_is_recorded_before_the_ack(services: Services, ack: Recorder) -> None:
    later: list[object] = []
    onboarding.on_consent(
        ack=ack, body=action_body(CONSENT_ACTION, user=ALICE), services=services, later=later.append
    )
    assert ack.once == {}
    with services.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and member.has_consented
    assert len(later) == 1  # the welcome DM and Home change after the ack


def test_opening_the_home_tab_publishes_it_and_other_tabs_do_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    home.on_home_opened(event={"user": BOB, "tab": "messages"}, services=services)
    assert fake_slack.calls_to("views.publish") == []
    home.on_home_opened(event={"user": BOB, "tab": "home"}, services=services)
    [published] = fake_slack.calls_to("views.publish")
    assert published.args["user_id"] == BOB and published.args["view"]["type"] == "home"


def test_a_dm_gets_the_help_once_and_bot_messages_none(services: Services, fake_slack: FakeSlack) -> None:
    channel = str(services.client.conversations_open(users=ALICE)["channel"]["id"])
    direct_messages.on_direct_message(
        event={"channel_type": "im", "channel": channel, "bot_id": "B1", "user": ALICE}, services=services
    )
    assert fake_slack.calls_to("chat.postMessage") == []
    for _ in range(2):
        direct_messages.on_direct_message(
            event={"channel_type": "im", "channel": channel, "user": ALICE, "text": "hi"}, services=services
        )
    [help_message] = fake_slack.calls_to("chat.postMessage")
    assert "/checkin" in help_message.args["text"]
