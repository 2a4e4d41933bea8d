"""The registry reaches listeners through one Bolt listener per kind of request (bot.registry.Routes), and a
request still reaches the listener Bolt itself would have chosen: first registered wins, a string id is exact,
a pattern is searched; a request nobody takes is Bolt's unhandled 404."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.registry import Registry

SECRET = "routes-secret"


def _app() -> tuple[App, Registry, list[str]]:
    app = App(
        client=WebClient(base_url="http://127.0.0.1:9/api/"),  # never called
        signing_secret=SECRET,
        # No auth.test: the installation is known.
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UBOT", bot_id="B1"
        ),
        process_before_response=True,
    )
    registry = Registry(app=app)
    seen: list[str] = []

    def named(name: str, *, text: str | None = None) -> Any:
        def listener(ack: Any, body: dict[str, Any]) -> None:
            seen.append(name)
            if text is None:
                ack()
            else:
                ack(response_type="ephemeral", text=text)

        listener.__name__ = name
        return listener

    registry.command("/first", description_key="x")(named("first", text="first"))
    registry.command("/second", description_key="x")(named("second", text="second"))
    registry.action(re.compile(r"^pick_\d+$"))(named("pattern"))
    registry.action("pick_1")(named("exact_after_pattern"))
    registry.action("keep")(named("keep"))
    registry.action("keep")(named("keep_again"))
    registry.action("other")(named("other"))
    registry.view("modal")(named("modal"))
    registry.options_source("menu")(named("menu"))
    return app, registry, seen


def _request(fields: dict[str, str]) -> BoltRequest:
    body = urllib.parse.urlencode(fields)
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    return BoltRequest(
        body=body,
        headers={
            "content-type": ["application/x-www-form-urlencoded"],
            "x-slack-request-timestamp": [ts],
            "x-slack-signature": [signature],
        },
    )


def _command(name: str) -> BoltRequest:
    return _request({"command": name, "text": "", "user_id": "U1", "team_id": "T1", "channel_id": "C1"})


def _payload(payload: dict[str, Any]) -> BoltRequest:
    payload = {"team": {"id": "T1"}, "user": {"id": "U1"}, **payload}
    return _request({"payload": json.dumps(payload)})


def _click(action_id: str) -> BoltRequest:
    return _payload(
        {"type": "block_actions", "actions": [{"action_id": action_id, "block_id": "b", "type": "button"}]}
    )


def test_each_command_reaches_its_own_listener_and_answers_in_the_ack() -> None:
    app, _registry, seen = _app()
    first = app.dispatch(_command("/first"))
    second = app.dispatch(_command("/second"))
    assert (first.status, json.loads(first.body)["text"]) == (200, "first")
    assert (second.status, json.loads(second.body)["text"]) == (200, "second")
    assert seen == ["first", "second"]


def test_the_first_listener_registered_wins_as_in_bolt() -> None:
    app, _registry, seen = _app()
    for action_id in ("pick_1", "pick_22", "keep", "other"):
        assert app.dispatch(_click(action_id)).status == 200
    # pick_1 is taken by the pattern registered before the exact id; "keep" by its first listener.
    assert seen == ["pattern", "pattern", "keep", "other"]


def test_views_and_options_reach_their_listeners() -> None:
    app, _registry, seen = _app()
    view = {
        "type": "view_submission",
        "view": {"id": "V1", "type": "modal", "callback_id": "modal", "state": {"values": {}}},
    }
    assert app.dispatch(_payload(view)).status == 200
    options = {"type": "block_suggestion", "action_id": "menu", "block_id": "b", "value": "a"}
    assert app.dispatch(_payload(options)).status == 200
    assert seen == ["modal", "menu"]


def test_a_request_no_listener_takes_is_unhandled() -> None:
    app, _registry, seen = _app()
    assert app.dispatch(_command("/unknown")).status == 404
    assert app.dispatch(_click("pick_x")).status == 404
    view = {
        "type": "view_submission",
        "view": {"id": "V1", "type": "modal", "callback_id": "other", "state": {"values": {}}},
    }
    assert app.dispatch(_payload(view)).status == 404
    # A kind of request with no listener registered at all (a shortcut).
    assert app.dispatch(_payload({"type": "shortcut", "callback_id": "modal"})).status == 404
    assert seen == []
