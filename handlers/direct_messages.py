"""Messages a member writes to the bot in its Messages tab: a short help in the member's language.

Why answer instead of making the tab read-only: a member who finds the bot in the sidebar types a question
there; a read-only tab only says "you can't write here" and leaves them guessing, while a reply listing the
commands (one line each) and `/alumni feedback` (which reaches HR) turns the message into a next step. Nobody
reads these messages, so the reply says so instead of pretending to answer.

A chatty member is not answered each time: the help goes out at most once per member per `QUIET_PERIOD`.
The last help is remembered in memory and, so that a restart or another worker process does not repeat it,
recognised in the DM history by its message metadata. Bot messages, edits and every other message subtype
(joins, file shares, deletions...) are ignored.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.kit import Feature, event
from bot.services import Services
from models.timeutil import now

log = logging.getLogger(__name__)

HELP_EVENT_TYPE = "alumni_dm_help"  # metadata event_type on the help message
QUIET_PERIOD = timedelta(hours=12)
ADMIN_COMMAND = "/alumni-admin"  # listed for HR only


def is_member_message(event: dict[str, Any]) -> bool:
    """A new message a person wrote in their DM with the bot (not a bot, an edit or another subtype)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("channel"))
    )


class HelpThrottle:
    """Remembers when each member last got the help (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Keyed by workspace (API URL and token) and member, like `bot.listeners.dm_channel_of`: two
        # workspaces, or two test fakes, never share a quiet period.
        self._last: dict[tuple[str, str, str], datetime] = {}

    def claim(self, svc: Services, user_id: str, channel: str) -> bool:
        """True when the help may be sent now (and records it as sent)."""
        at = now()
        key = (svc.client.base_url, svc.client.token or "", user_id)
        with self._lock:
            last = self._last.get(key)
            if last is not None and at - last < QUIET_PERIOD:
                return False
            self._last[key] = at  # claimed before the Slack call, so two quick messages send one help
        return not _helped_in_history(svc, channel, since=at - QUIET_PERIOD)


def _helped_in_history(svc: Services, channel: str, *, since: datetime) -> bool:
    try:
        history = svc.client.conversations_history(
            channel=channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=100
        )
    except SlackApiError as exc:
        log.info("DM history not readable: %s", exc.response.get("error"))
        return False
    return any(
        (m.get("metadata") or {}).get("event_type") == HELP_EVENT_TYPE for m in history.get("messages") or []
    )


def help_text(services: Services, user_id: str) -> str:
    """The help: one line per command the member can use, then `/alumni feedback`."""
    from bot.features import features  # the feature list imports this module

    tr = services.translator(user_id)
    is_hr = services.actor(user_id).is_hr
    commands = sorted(
        (item for feature in features() for item in feature.listeners if item.kind == "command"),
        key=lambda item: str(item.key),
    )
    lines = [tr("direct_messages.help.intro")]
    for item in commands:
        if item.key == ADMIN_COMMAND and not is_hr:
            continue
        what = tr(item.description_key or "")
        lines.append(tr("direct_messages.help.command", command=item.key, what=what))
    lines.append(tr("direct_messages.help.feedback"))
    return "\n".join(lines)


_THROTTLE = HelpThrottle()


def on_direct_message(event: dict[str, Any], services: Services) -> None:
    """A member wrote to the bot: answer with the help, at most once per member per quiet period."""
    if not is_member_message(event):
        return
    user_id, channel = str(event["user"]), str(event["channel"])
    if not _THROTTLE.claim(services, user_id, channel):
        return
    services.client.chat_postMessage(
        channel=channel,
        text=help_text(services, user_id),
        metadata={"event_type": HELP_EVENT_TYPE, "event_payload": {"user": user_id}},
    )


# Bolt matches the payload type `message`; the manifest subscribes to `message.im` (DMs only), whose
# required scope is im:history (docs.slack.dev/reference/events/message.im).
FEATURE = Feature(
    name="direct_messages",
    listeners=(event("message", on_direct_message, subscription="message.im", scopes=("im:history",)),),
)
