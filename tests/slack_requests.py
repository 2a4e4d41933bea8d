"""Send Slack-signed requests (slash commands, block actions, view submissions, events) over real HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.slack_emulator.web_api import event_subscription


@dataclass
class Answer:
    """The app's HTTP answer (the ack)."""

    status: int
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def text_input(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def select(value: str | None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value} if value is not None else None}


def checkboxes(*values: str) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}


def datepicker(value: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value}


# The manifest's message.* subscriptions -> the channel_type of the `message` payloads Slack sends for them.
_MESSAGE_CHANNEL_TYPES = {
    "message.channels": "channel",
    "message.groups": "group",
    "message.im": "im",
    "message.mpim": "mpim",
}


def event_base(subscription: str) -> dict[str, Any]:
    """The payload fields Slack sends for a manifest subscription (`message.im` is a `message` of an im)."""
    if subscription in _MESSAGE_CHANNEL_TYPES:
        return {
            "type": "message",
            "channel_type": _MESSAGE_CHANNEL_TYPES[subscription],
            "ts": f"{time.time():.6f}",
        }
    return {"type": subscription}


class SlackSender:
    """Signs and posts requests the way Slack does. `url` is the app's `/slack/events` endpoint."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        team_id: str = "T1",
        subscribed_events: frozenset[str] | None = None,
        ack_checker: Callable[[Any, dict[str, Any] | None], None] | None = None,
    ) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.team_id = team_id
        # None: send any event; otherwise only those Slack would deliver (the manifest's bot_events).
        self.subscribed_events = subscribed_events
        # Called with every JSON ack body the app answers, and the view a view_submission submitted (the
        # fake Slack's Block Kit and field-error checks).
        self.ack_checker = ack_checker
        self.verifier = SignatureVerifier(signing_secret)

    # -- transport ---------------------------------------------------------------------------------
    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        sign: bool = True,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
        submitted_view: dict[str, Any] | None = None,
    ) -> Answer:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {"Content-Type": content_type}
        if sign:
            all_headers["X-Slack-Request-Timestamp"] = ts
            all_headers["X-Slack-Signature"] = signature or self.verifier.generate_signature(
                timestamp=ts, body=body
            )
        all_headers.update(headers or {})
        request = urllib.request.Request(self.url, data=body.encode(), headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode())
        if self.ack_checker is not None and answer.text.strip().startswith("{"):
            self.ack_checker(answer.json, submitted_view)
        return answer

    def post_form(self, fields: dict[str, str], **kwargs: Any) -> Answer:
        return self.post(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    def post_payload(self, payload: dict[str, Any], **kwargs: Any) -> Answer:
        return self.post_form({"payload": json.dumps(payload)}, **kwargs)

    # -- request kinds -----------------------------------------------------------------------------
    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str = "C_ALUMNI",
        response_url: str = "http://127.0.0.1:9/unused",
        trigger_id: str | None = None,
        **kwargs: Any,
    ) -> Answer:
        fields = {
            "token": "legacy",
            "team_id": self.team_id,
            "team_domain": "alumni",
            "channel_id": channel,
            "channel_name": "alumni",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": trigger_id or f"trigger.{uuid.uuid4().hex[:8]}",
        }
        return self.post_form(fields, **kwargs)

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str,
        block_id: str = "b",
        channel: str | None = "C_ALUMNI",
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        response_url: str | None = None,
        action: dict[str, Any] | None = None,
        container: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Answer:
        act = action or {"type": "button", "action_id": action_id, "block_id": block_id, "value": value}
        act.setdefault("action_id", action_id)
        act.setdefault("block_id", block_id)
        act.setdefault("action_ts", f"{time.time():.6f}")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "alumni"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trigger.{uuid.uuid4().hex[:8]}",
            "actions": [act],
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = container or {"type": "view", "view_id": view.get("id", "V1")}
        else:
            msg = message or {"ts": "1700000000.000100", "text": "", "blocks": []}
            payload["message"] = msg
            payload["container"] = container or {
                "type": "message",
                "message_ts": msg.get("ts"),
                "channel_id": channel,
                "is_ephemeral": False,
            }
            if channel:
                payload["channel"] = {"id": channel, "name": "alumni"}
        if response_url:
            payload["response_url"] = response_url
        return self.post_payload(payload, **kwargs)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        user: str,
        private_metadata: str = "",
        view_id: str = "V1",
        blocks: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Answer:
        """`values` maps block_id to a str (a text input), a list (checkboxes) or a raw element state."""
        state: dict[str, dict[str, Any]] = {}
        for block_id, value in values.items():
            if isinstance(value, str):
                element = text_input(value)
            elif isinstance(value, list):
                element = checkboxes(*value)
            elif value is None:
                element = {"type": "static_select", "selected_option": None}
            else:
                element = value
            state[block_id] = {block_id: element}
        view = {
            "id": view_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
            "blocks": blocks
            if blocks is not None
            else [{"type": "input", "block_id": b, "element": {"type": "plain_text_input"}} for b in values],
            "hash": "h",
        }
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trigger.{uuid.uuid4().hex[:8]}",
            "view": view,
        }
        # Only a view built from real blocks is one Slack could have sent: its field errors are checked.
        return self.post_payload(payload, submitted_view=view if blocks is not None else None, **kwargs)

    def shortcut(self, callback_id: str, *, user: str, **kwargs: Any) -> Answer:
        payload = {
            "type": "shortcut",
            "callback_id": callback_id,
            "team": {"id": self.team_id},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": f"trigger.{uuid.uuid4().hex[:8]}",
            "action_ts": f"{time.time():.6f}",
        }
        return self.post_payload(payload, **kwargs)

    def options(self, action_id: str, value: str, *, user: str, block_id: str = "b", **kwargs: Any) -> Answer:
        payload = {
            "type": "block_suggestion",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": {"id": self.team_id},
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": "A1",
            "token": "legacy",
            "view": {"id": "V1", "type": "modal", "callback_id": "x", "private_metadata": ""},
        }
        return self.post_payload(payload, **kwargs)

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **kwargs: Any,
    ) -> Answer:
        if "." in str(event.get("type")):
            raise AssertionError(f"{event.get('type')!r} is a subscription name; send event_base() of it")
        if self.subscribed_events is not None and event_subscription(event) not in self.subscribed_events:
            raise AssertionError(
                f"Slack would never deliver a {event_subscription(event)!r} event: the manifest subscribes "
                f"to {sorted(self.subscribed_events)}"
            )
        body = {
            "token": "legacy",
            "team_id": self.team_id,
            "api_app_id": "A1",
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": "UBOT", "is_bot": True}],
        }
        headers = dict(kwargs.pop("headers", {}) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(json.dumps(body), "application/json", headers=headers, **kwargs)
