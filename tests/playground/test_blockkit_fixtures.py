"""The renderer's visual-check fixtures agree with the emulator's Block Kit rules (no browser needed)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from bot.slack_emulator.blockkit import violations

FIXTURES: list[dict[str, Any]] = json.loads(
    (resources.files("bot.playground") / "static" / "fixtures" / "blockkit.json").read_text("utf-8")
)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["name"] for f in FIXTURES])
def test_a_fixture_is_valid_exactly_when_slack_would_accept_it(fixture: dict[str, Any]) -> None:
    problems = violations(fixture["surface"], fixture["blocks"])
    if fixture["valid"]:
        assert problems == []
    else:
        assert problems, "this fixture shows Slack's error, so Slack must refuse it"


def test_the_fixtures_cover_every_block_and_element_type_the_bot_sends() -> None:
    blocks = {b["type"] for f in FIXTURES if f["valid"] for b in f["blocks"]}
    elements = {
        e["type"]
        for f in FIXTURES
        if f["valid"]
        for b in f["blocks"]
        for e in [*b.get("elements", []), b.get("element") or {}, b.get("accessory") or {}]
        if "type" in e
    }
    assert {"header", "section", "context", "divider", "image", "actions", "input"} <= blocks
    assert {
        "button",
        "overflow",
        "static_select",
        "multi_static_select",
        "external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "channels_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "file_input",
    } <= elements
