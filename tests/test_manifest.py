"""manifest.yml is the registry's manifest, and both variants satisfy Slack's JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.app import build_registry
from bot.manifest import build_manifest, render_manifest
from bot.slack_emulator.web_api import FakeSlack
from tests.conftest import ROOT, SHARED
from tests.slack_requests import SlackSender

SCHEMA = SHARED / "slack-manifest-schema" / "manifest.schema.1.0.0.json"


def _validate(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMA}")
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert errors == [], "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_committed_manifest_is_the_generated_one() -> None:
    committed = (ROOT / "manifest.yml").read_text()
    assert committed == render_manifest(build_registry()), "run: alumni-bot manifest > manifest.yml"


def test_socket_mode_manifest_is_valid() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert manifest["settings"]["socket_mode_enabled"] is True
    _validate(manifest)


def test_http_manifest_is_valid_and_fills_every_url() -> None:
    registry = build_registry()
    manifest = build_manifest(registry, http_url="https://bot.example.com")
    _validate(manifest)
    url = "https://bot.example.com/slack/events"
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["interactivity"]["request_url"] == url
    assert all(c["url"] == url for c in manifest["features"]["slash_commands"])
    if registry.events:
        assert manifest["settings"]["event_subscriptions"]["request_url"] == url
    if registry.options:
        assert manifest["settings"]["interactivity"]["message_menu_options_url"] == url


def test_manifest_declares_exactly_what_the_registry_handles() -> None:
    registry = build_registry()
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    features = manifest["features"]
    assert {c["command"] for c in features.get("slash_commands", [])} == set(registry.commands)
    assert {s["callback_id"] for s in features.get("shortcuts", [])} == set(registry.shortcuts)
    assert set(manifest["settings"].get("event_subscriptions", {}).get("bot_events", [])) == set(
        registry.events
    )
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == registry.bot_scopes
    assert features["app_home"]["messages_tab_enabled"] is True


def test_the_events_the_code_handles_are_the_events_the_manifest_subscribes_to() -> None:
    """Slack only sends subscribed events (the fake's sender refuses others); both lists must agree."""
    handled = set(build_registry().events)
    subscribed = set(
        yaml.safe_load((ROOT / "manifest.yml").read_text())["settings"]["event_subscriptions"]["bot_events"]
    )
    assert handled == subscribed, (
        f"handled only: {handled - subscribed}; subscribed only: {subscribed - handled}"
    )
    fake = FakeSlack()
    assert fake.bot_events == subscribed
    assert fake.delivers({"type": "message", "channel_type": "im"})
    assert not fake.delivers(
        {"type": "message", "channel_type": "channel"}
    )  # message.channels: not subscribed


def test_the_sender_refuses_an_event_slack_would_not_deliver() -> None:
    sender = SlackSender("http://127.0.0.1:9/unused", "secret", subscribed_events=frozenset({"team_join"}))
    with pytest.raises(AssertionError, match=r"message\.channels"):
        sender.event({"type": "message", "channel_type": "channel", "text": "hi"})


def test_the_messages_tab_accepts_input_only_when_the_app_reads_it() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    app_home = manifest["features"]["app_home"]
    reads_dms = "message.im" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is (not reads_dms)
    assert reads_dms and "im:history" in manifest["oauth_config"]["scopes"]["bot"]  # message.im needs it
