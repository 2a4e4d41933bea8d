"""Turns what a person does on the playground page into the signed HTTP requests Slack would send the bot.

Each method builds the payload Slack documents for that interaction (slash command form, `block_actions`,
`view_submission`, `view_closed`, `block_suggestion`, `shortcut`, Events API callbacks), signs it with the
app's signing secret (v0 HMAC, as Slack does) and POSTs it to the bot's `/slack/events` endpoint. The bot
cannot tell the difference: no handler knows the playground exists. What comes back (the ack body, a
`response_action`) is applied to the emulator the way a Slack client would show it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.i18n import language_of, t
from bot.playground.emulator import PlaygroundSlack, ResponseTarget
from bot.slack_emulator.web_api import APP_ID, TEAM_DOMAIN, TEAM_ID, JsonDict


class BadRequest(ValueError):
    """The page sent something no Slack client could send (unknown user, channel, view...)."""


@dataclass
class Answer:
    """The bot's HTTP answer to one signed request."""

    status: int
    body: str

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except json.JSONDecodeError:
            return None


class Bridge:
    """Signed requests from the page to the bot (see module docstring)."""

    def __init__(
        self, slack: PlaygroundSlack, events_url: str, signing_secret: str, *, commands: set[str]
    ) -> None:
        self.slack = slack
        self.events_url = events_url
        self.verifier = SignatureVerifier(signing_secret)
        self.commands = commands
        self.subscribed_events: set[str] = set()

    # ------------------------------------------------------------------ transport

    def post(self, body: str, content_type: str) -> Answer:
        """POSTs `body` signed the way Slack signs requests (X-Slack-Signature over v0:timestamp:body)."""
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
        }
        signature = self.verifier.generate_signature(timestamp=timestamp, body=body) or ""
        headers["X-Slack-Signature"] = signature
        # The URL is the loopback http:// address of the bot this process started (S310: no file: scheme).
        request = urllib.request.Request(  # noqa: S310
            self.events_url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            # Slack gives up on an ack after 3 seconds; the playground is more patient on a loaded laptop.
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode())
        except OSError:
            return Answer(0, "")

    def _post_payload(self, payload: JsonDict) -> Answer:
        return self.post(
            urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def _failed(self, user: str, what: str, answer: Answer) -> None:
        """What Slack shows when an app does not answer properly (dispatch_failed / operation_timeout)."""
        error = "operation_timeout" if answer.status == 0 else "dispatch_failed"
        self.slack.notice(user, t("playground.app_failed", self._lang(user), what=what, error=error))

    def _lang(self, user: str) -> str:
        person = next((p for p in self.slack.people() if p["id"] == user), None)
        return language_of(person["locale"]) if person else "en"

    # ------------------------------------------------------------------ checks

    def _user(self, user: Any) -> str:
        if not isinstance(user, str) or not any(p["id"] == user for p in self.slack.people()):
            raise BadRequest("unknown user")
        return user

    def _channel(self, user: str, channel: Any) -> str:
        if not isinstance(channel, str) or not self.slack.is_member(user, channel):
            raise BadRequest("unknown channel, or the person is not a member")
        return channel

    @staticmethod
    def _trigger() -> str:
        return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"

    def _user_object(self, user: str) -> JsonDict:
        person = next(p for p in self.slack.people() if p["id"] == user)
        return {"id": user, "username": person["name"], "name": person["name"], "team_id": TEAM_ID}

    def _base(self, kind: str, user: str, trigger: str) -> JsonDict:
        return {
            "type": kind,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_object(user),
            "api_app_id": APP_ID,
            "token": "playground",
            "trigger_id": trigger,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------------ slash commands and messages

    def command(self, user: Any, channel: Any, text: Any) -> JsonDict:
        """A slash command typed in the message box; the ack's body is shown as "only visible to you"."""
        user = self._user(user)
        channel = self._channel(user, channel)
        if not isinstance(text, str) or not text.startswith("/"):
            raise BadRequest("a command starts with /")
        name, _, rest = text.strip().partition(" ")
        if name not in self.commands:
            self.slack.add_ephemeral(
                channel, user, t("playground.unknown_command", self._lang(user), command=name), None
            )
            return {"ok": False, "error": "unknown_command"}
        trigger = self._trigger()
        self.slack.expect_trigger(trigger, user)
        response_url = self.slack.new_response_url(ResponseTarget(user=user, channel=channel, ephemeral=True))
        channel_name = self._channel_name(channel)
        fields = {
            "token": "playground",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": self._user_object(user)["name"],
            "command": name,
            "text": rest.strip(),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger,
        }
        answer = self.post(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded")
        if answer.status != 200:
            self._failed(user, name, answer)
            return {"ok": False, "status": answer.status}
        self._show_ack_message(user, channel, answer, where=f"{name} (ack)")
        return {"ok": True, "status": answer.status}

    def _show_ack_message(self, user: str, channel: str, answer: Answer, *, where: str) -> None:
        body = answer.json
        if body is None and answer.body.strip():
            body = {"text": answer.body}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return
        if self.slack.check_message_blocks(where, body.get("blocks"), body.get("text")):
            return  # Slack refuses the whole message; the page shows the error instead
        if body.get("response_type") == "in_channel":
            self.slack.add_message(
                channel, text=body.get("text") or "", user="UBOT", blocks=body.get("blocks")
            )
            self.slack.touch()
        else:
            self.slack.add_ephemeral(channel, user, body.get("text") or "", body.get("blocks"))

    def message(self, user: Any, channel: Any, text: Any, thread_ts: Any = None) -> JsonDict:
        """A message typed in the box; the bot hears of it only when the manifest subscribes to it."""
        user = self._user(user)
        channel = self._channel(user, channel)
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("empty message")
        thread = str(thread_ts) if thread_ts else None
        ts = self.slack.store_user_message(channel, user, text, thread)
        kind = next(c["kind"] for c in self.slack.channels() if c["id"] == channel)
        channel_type = {"im": "im", "mpim": "mpim", "private": "group", "public": "channel"}[kind]
        event_type = "message." + {"group": "groups", "channel": "channels"}.get(channel_type, channel_type)
        if event_type in self.subscribed_events:
            event: JsonDict = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts}
            event["channel_type"] = channel_type
            if thread:
                event["thread_ts"] = thread
            self.event(event)
        return {"ok": True, "ts": ts}

    def event(self, event: JsonDict) -> Answer:
        """An Events API callback (team_join, app_home_opened, message.*) as Slack delivers it."""
        now = time.time()
        body = {
            "token": "playground",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(now),
            "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True}],
        }
        return self.post(json.dumps(body), "application/json")

    def home_opened(self, user: Any) -> JsonDict:
        user = self._user(user)
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.slack.ensure_dm(user),
            "tab": "home",
        }
        home = self.slack.snapshot_home().get(user)
        if home is not None:
            event["view"] = home
        answer = self.event(event)
        return {"ok": answer.status == 200, "status": answer.status}

    def shortcut(self, user: Any, callback_id: Any) -> JsonDict:
        user = self._user(user)
        trigger = self._trigger()
        self.slack.expect_trigger(trigger, user)
        payload = self._base("shortcut", user, trigger)
        payload.update({"callback_id": str(callback_id), "action_ts": f"{time.time():.6f}"})
        answer = self._post_payload(payload)
        if answer.status != 200:
            self._failed(user, str(callback_id), answer)
        return {"ok": answer.status == 200, "status": answer.status}

    # ------------------------------------------------------------------ interactivity

    def action(
        self,
        user: Any,
        source: Any,
        action: Any,
        *,
        channel: Any = None,
        ts: Any = None,
        view_id: Any = None,
        state: Any = None,
    ) -> JsonDict:
        """A click or a choice in a message, a modal or the App Home: a `block_actions` payload."""
        user = self._user(user)
        if not isinstance(action, dict) or not action.get("action_id"):
            raise BadRequest("action needs an action_id")
        trigger = self._trigger()
        self.slack.expect_trigger(trigger, user)
        act = dict(action)
        act.setdefault("action_ts", f"{time.time():.6f}")
        payload = self._base("block_actions", user, trigger)
        payload["actions"] = [act]
        values = state.get("values", state) if isinstance(state, dict) else {}
        if source == "message":
            channel = self._channel(user, channel)
            message = self._message(channel, ts, user)
            ephemeral = message.get("ephemeral_to") is not None
            payload["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
            payload["message"] = {k: v for k, v in message.items() if k != "ephemeral_to"}
            payload["state"] = {"values": values}
            target = ResponseTarget(user=user, channel=channel, message_ts=message["ts"], ephemeral=ephemeral)
            payload["response_url"] = self.slack.new_response_url(target)
        elif source in ("view", "home"):
            view = self._view_for(user, source, view_id)
            view["state"] = {"values": values}
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view["id"]}
        else:
            raise BadRequest("source must be message, view or home")
        answer = self._post_payload(payload)
        if answer.status != 200:
            self._failed(user, str(act.get("action_id")), answer)
        return {"ok": answer.status == 200, "status": answer.status}

    def _channel_name(self, channel: str) -> str:
        # Slack names every DM "directmessage" in command and action payloads.
        found = next((c for c in self.slack.channels() if c["id"] == channel), None)
        return "directmessage" if found is None or found["kind"] == "im" else str(found["name"])

    def _message(self, channel: str, ts: Any, user: str) -> JsonDict:
        for message in self.slack.snapshot_messages().get(channel, []):
            if message["ts"] == ts and message.get("ephemeral_to") in (None, user):
                raw = {
                    "type": "message",
                    "ts": message["ts"],
                    "text": message["text"],
                    "blocks": message["blocks"],
                }
                raw["user"] = message["user"]
                if message["bot"]:
                    raw["bot_id"] = "BBOT"
                    raw["app_id"] = APP_ID
                if message.get("thread_ts"):
                    raw["thread_ts"] = message["thread_ts"]
                raw["ephemeral_to"] = message.get("ephemeral_to")
                return raw
        raise BadRequest("message not found")

    def _view_for(self, user: str, source: Any, view_id: Any) -> JsonDict:
        if source == "home":
            home = self.slack.snapshot_home().get(user)
            if home is None or (view_id and home["id"] != view_id):
                raise BadRequest("no App Home view for this person")
            return home
        if view_id not in self.slack.stack(user):
            raise BadRequest("that view is not open for this person")
        view = self.slack.view(str(view_id))
        if view is None:
            raise BadRequest("view not found")
        return view

    def view_submission(self, user: Any, view_id: Any, state: Any) -> JsonDict:
        """Submits the top modal; applies `response_action` (errors, update, push, clear) like Slack."""
        user = self._user(user)
        view = self._view_for(user, "view", view_id)
        values = state.get("values", state) if isinstance(state, dict) else {}
        view["state"] = {"values": values}
        trigger = self._trigger()
        self.slack.expect_trigger(trigger, user)
        payload = self._base("view_submission", user, trigger)
        payload["view"] = view
        payload["response_urls"] = []
        answer = self._post_payload(payload)
        if answer.status != 200:
            # Slack keeps the modal open and shows its own "trouble connecting" line; what was typed stays.
            self._failed(user, view.get("callback_id") or "view_submission", answer)
            return {"ok": False, "status": answer.status, "errors": {}}
        body = answer.json if isinstance(answer.json, dict) else {}
        action = body.get("response_action")
        if action == "errors":
            errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
            self.slack.set_view_errors(user, view["id"], errors)
            return {"ok": True, "response_action": "errors", "errors": errors}
        problems: list[str] = []
        if action == "update" and isinstance(body.get("view"), dict):
            problems = self.slack.replace_view(user, view["id"], body["view"])
        elif action == "push" and isinstance(body.get("view"), dict):
            problems = self.slack.push_view(user, body["view"])
        elif action == "clear":
            self.slack.close_view(user, all_views=True)
        else:
            self.slack.close_view(user, view["id"])
        if problems:
            self.slack.record_error(f"view_submission response_action={action}", "invalid_blocks", problems)
        return {"ok": not problems, "response_action": action, "errors": {}}

    def view_closed(self, user: Any, view_id: Any) -> JsonDict:
        """The person closed a modal (×/Cancel): `view_closed` goes to the bot only when it asked for it."""
        user = self._user(user)
        view = self._view_for(user, "view", view_id)
        self.slack.close_view(user, view["id"])
        if not view.get("notify_on_close"):
            return {"ok": True, "sent": False}
        payload = self._base("view_closed", user, self._trigger())
        payload.pop("trigger_id")
        payload.update({"view": view, "is_cleared": False})
        answer = self._post_payload(payload)
        return {"ok": answer.status == 200, "sent": True}

    def options(self, user: Any, action_id: Any, block_id: Any, value: Any, view_id: Any = None) -> JsonDict:
        """An external select asks the bot for options (`block_suggestion`); returns what it answered."""
        user = self._user(user)
        payload = self._base("block_suggestion", user, self._trigger())
        payload.pop("trigger_id")
        payload.update(
            {"action_id": str(action_id), "block_id": str(block_id or ""), "value": str(value or "")}
        )
        if view_id:
            payload["view"] = self._view_for(user, "view", view_id)
            payload["container"] = {"type": "view", "view_id": view_id}
        answer = self._post_payload(payload)
        body = answer.json if isinstance(answer.json, dict) else {}
        return {
            "ok": answer.status == 200,
            "options": body.get("options") or [],
            "option_groups": body.get("option_groups") or [],
        }

    def team_join(self, user: str) -> None:
        """A new person joined the workspace (Slack sends `team_join` when the app subscribes)."""
        if "team_join" in self.subscribed_events:
            person = self._user_object(user)
            self.event(
                {"type": "team_join", "user": {"id": user, "name": person["name"], "team_id": TEAM_ID}}
            )
