"""Unit tests of single listeners: each listener function is called directly with a recording `ack` and
`respond`, real services (the database fixture and the fake Slack's Web API) and `later` run at once. No
request reaches the app over HTTP; the HTTP tests beside this folder cover the wiring."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from models.db import Database
from tests.conftest import make_settings


@dataclass
class Recorder:
    """A stand-in for Bolt's `ack` or `respond`: remembers each call's keyword arguments."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, text: str | None = None, **kwargs: Any) -> None:
        if text is not None:
            kwargs["text"] = text
        self.calls.append(kwargs)

    @property
    def once(self) -> dict[str, Any]:
        """The one call made (fails when there were none or several)."""
        assert len(self.calls) == 1, f"expected one call, got {self.calls}"
        return self.calls[0]


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    """Real services over the test database and the fake Slack (SQLite and PostgreSQL, through `db`)."""
    yield build_services(make_settings(fake_slack, db), db=db)


@pytest.fixture
def ack() -> Recorder:
    return Recorder()


@pytest.fixture
def respond() -> Recorder:
    return Recorder()


def run_now(work: Any) -> None:
    """`later` for unit tests: the follow-up work runs at once, in the test's thread."""
    work()


def command_payload(command: str, text: str = "", *, user: str, channel: str = "C_ALUMNI") -> dict[str, Any]:
    """A slash command's payload as Bolt hands it to a listener (`command`, also `body`)."""
    return {
        "command": command,
        "text": text,
        "user_id": user,
        "channel_id": channel,
        "team_id": "T1",
        "trigger_id": "trigger.unit",
        "response_url": "https://hooks.slack.com/commands/T1/1/unit",
    }


def action_body(
    action_id: str, value: str | None = None, *, user: str, view: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `block_actions` payload for one button clicked in a message in #alumni (or in `view`)."""
    action = {"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": "1.0"}
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "trigger_id": "trigger.unit",
        "actions": [action],
    }
    if view is not None:
        body["view"] = view
        body["container"] = {"type": "view", "view_id": view.get("id", "V1")}
    else:
        body["channel"] = {"id": "C_ALUMNI"}
        body["container"] = {"type": "message", "channel_id": "C_ALUMNI", "message_ts": "1.0"}
    return body


def submission(callback_id: str, values: dict[str, Any], *, user: str, metadata: str = "") -> dict[str, Any]:
    """A `view_submission` body; `values` maps block_id to a str (a text input), a list (checkboxes), None
    (an empty select) or a raw element state, as `tests.slack_requests.SlackSender.view_submission` does."""
    from tests.slack_requests import checkboxes, text_input

    def element(value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            return text_input(value)
        if isinstance(value, list):
            return checkboxes(*value)
        return value if value is not None else {"type": "static_select", "selected_option": None}

    state = {block_id: {block_id: element(value)} for block_id, value in values.items()}
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "state": {"values": state},
        "blocks": [{"type": "input", "block_id": b, "element": {"type": "plain_text_input"}} for b in values],
    }
    return {"type": "view_submission", "user": {"id": user, "team_id": "T1"}, "view": view}
