"""Every documented Block Kit rule has a row in the table, a payload breaking exactly it, and is enforced
end to end by the fake Slack (issue 12: "the harness enforces Slack's contract")."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

import tests.blockkit_limits as limits
from bot.slack_emulator.blockkit import RULES, check
from bot.slack_emulator.sdk_check import RULE as SDK_RULE
from bot.slack_emulator.sdk_check import sdk_check
from bot.slack_emulator.web_api import FakeSlack
from tests.blockkit_limits import CASES, a_modal, message, modal, plain

CHANNEL = "C0ALUMNI1"


@pytest.fixture
def client() -> Iterator[tuple[FakeSlack, WebClient]]:
    with FakeSlack() as fake:
        fake.add_channel(CHANNEL, name="alumni")
        yield fake, WebClient(token="xoxb-test", base_url=fake.api_url)


def test_every_rule_has_a_table_row_and_a_breaking_payload() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)`", limits.__doc__ or "", flags=re.MULTILINE))
    assert documented == set(RULES) | {SDK_RULE}
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_payload_breaks_exactly_its_rule(rule: str) -> None:
    kind, blocks, view, text = CASES[rule]
    assert {v.rule for v in check(kind, blocks, view, text=text)} == {rule}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_fake_refuses_the_payload_like_slack(rule: str, client: tuple[FakeSlack, WebClient]) -> None:
    fake, web = client
    _, blocks, view, text = CASES[rule]
    with pytest.raises(SlackApiError) as err:
        if view is not None:
            web.views_open(trigger_id="1.2", view=view)
        else:
            web.chat_postMessage(channel=CHANNEL, text=text or "fallback", blocks=blocks)
    expected = "invalid_arguments" if view is not None else "invalid_blocks"
    assert err.value.response["error"] == expected
    assert all(m.startswith("[ERROR] ") for m in err.value.response["response_metadata"]["messages"])
    assert fake.rule_tally[rule] == 1
    assert fake.messages(CHANNEL) == []


def test_a_valid_payload_passes_both_checks(client: tuple[FakeSlack, WebClient]) -> None:
    fake, web = client
    _, blocks, _, _ = message({"type": "header", "text": plain("x" * 150)}, {"type": "divider"})
    assert web.chat_postMessage(channel=CHANNEL, text="ok", blocks=blocks)["ok"]
    assert web.views_open(trigger_id="1.2", view=modal(title=plain("x" * 24)))["ok"]
    assert not fake.violations and not fake.rule_tally


def test_slack_sdk_models_are_a_second_independent_check() -> None:
    # A title slack_sdk's View refuses, and a block type slack_sdk cannot parse.
    _, _, view, _ = a_modal(title=plain("x" * 25))
    assert {v.rule for v in sdk_check(None, view)} == {SDK_RULE}
    assert [v.rule for v in sdk_check([{"type": "nonsense"}])] == [SDK_RULE]
    too_many = [
        {
            "type": "actions",
            "elements": [{"type": "button", "text": plain("b"), "action_id": f"b{i}"} for i in range(26)],
        }
    ]
    assert [v.rule for v in sdk_check(too_many)] == [SDK_RULE]
    assert sdk_check([{"type": "divider"}], modal()) == []


def test_views_open_refuses_an_external_id_already_in_use(client: tuple[FakeSlack, WebClient]) -> None:
    _, web = client
    view = modal(external_id="admin-U0HR00001")
    assert web.views_open(trigger_id="1.2", view=view)["ok"]
    with pytest.raises(SlackApiError) as err:
        web.views_open(trigger_id="1.3", view=view)
    assert err.value.response["error"] == "duplicate_external_id"


def test_field_errors_must_name_an_input_block_of_the_submitted_view(
    client: tuple[FakeSlack, WebClient],
) -> None:
    fake, _ = client
    submitted = {
        "type": "modal",
        "blocks": [
            {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "hi"}},
            {
                "type": "input",
                "block_id": "title",
                "label": plain("Title"),
                "element": {"type": "plain_text_input"},
            },
        ],
    }
    fake.check_ack({"response_action": "errors", "errors": {"title": "too long"}}, submitted)
    assert fake.violations == []
    fake.check_ack({"response_action": "errors", "errors": {"intro": "x", "missing": "y"}}, submitted)
    fake.check_ack({"response_action": "errors", "errors": {}}, submitted)
    assert fake.rule_tally["errors_input_block"] == 2
    assert "['intro', 'missing']" in fake.violations[0]


def test_ack_bodies_get_the_same_checks(client: tuple[FakeSlack, WebClient]) -> None:
    fake, _ = client
    _, _, view, _ = a_modal(title=plain("x" * 25))
    fake.check_ack({"response_action": "update", "view": view})
    _, blocks, _, _ = CASES["action_id_unique"]
    fake.check_ack({"response_type": "ephemeral", "text": "t", "blocks": blocks})
    fake.check_ack(
        {"response_action": "errors", "errors": {"title": "too long"}}
    )  # no blocks: nothing to check
    assert fake.rule_tally["view_title"] == 1 and fake.rule_tally["action_id_unique"] == 1
    assert all(v.startswith("ack: ") for v in fake.violations)
