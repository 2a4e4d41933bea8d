"""Small readers for Bolt payloads, shared by the handler modules.

Functions over the request body Slack sends: who clicked, where, and which row a button or a modal's
`private_metadata` names. Anything a user could forge (values, metadata) is parsed defensively. All are pure
except `own_dm_message`, which asks Slack for the clicker's DM channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from models.types import MAX_ID


def user_id_of(body: Mapping[str, Any]) -> str:
    """The Slack user behind a payload: `user_id` (slash commands) or `user.id` (actions, views, shortcuts).

    "" when the payload names nobody.
    """
    user = body.get("user_id") or body.get("user")
    if isinstance(user, dict):
        user = user.get("id")
    return str(user or "")


def channel_id_of(body: Mapping[str, Any]) -> str | None:
    """The channel a block action happened in (`channel.id`, else `container.channel_id`).

    None when there is none: a click in a modal or on the App Home.
    """
    channel = body.get("channel")
    container = body.get("container")
    found = (channel if isinstance(channel, dict) else {}).get("id") or (
        container if isinstance(container, dict) else {}
    ).get("channel_id")
    return str(found) if found else None


def in_view(body: Mapping[str, Any]) -> bool:
    """Whether a block action came from a view (the App Home tab or a modal), not from a message."""
    container = body.get("container")
    return isinstance(container, dict) and container.get("type") == "view"


def parse_id(value: Any, max_id: int = MAX_ID) -> int | None:
    """A row id from a button value, block id or metadata field: an integer in 1..`max_id`, else None.

    `max_id` is the largest id the table's column can hold (an INTEGER primary key by default), so a forged
    larger number never reaches the database driver.
    """
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= max_id else None


def is_slack_response_url(url: str, api_url: str) -> bool:
    """Only Slack's own response URLs (or the configured API host, which tests point at a fake) are posted
    to: a forged payload must not make the bot send requests elsewhere."""
    parsed, api = urlsplit(url), urlsplit(api_url)
    if parsed.scheme == "https" and parsed.hostname == "hooks.slack.com":
        return True
    return (parsed.scheme, parsed.netloc) == (api.scheme, api.netloc)


def own_dm_message(client: WebClient, body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(channel, ts) of the message a button was clicked in, when the bot may replace it, else None.

    Only a message in the clicker's own DM with the bot qualifies (the nudges, reminders, welcome and
    feedback requests the bot sent that member): the click's `container` is taken as a claim and checked
    against `conversations.open`, so no payload can point an update at a message in a channel or at
    someone else's DM.
    """
    container = body.get("container")
    if not isinstance(container, dict) or container.get("type") != "message" or container.get("is_ephemeral"):
        return None
    channel, ts, user = container.get("channel_id"), container.get("message_ts"), user_id_of(body)
    if not channel or not ts or not user:
        return None
    return (str(channel), str(ts)) if dm_channel_of(client, str(user)) == channel else None


# The bot's DM with a member never changes id, so one `conversations.open` per member and workspace is
# enough; keyed by API URL and token so that two workspaces (or two test fakes) never share an entry.
_DM_CHANNELS: dict[tuple[str, str, str], str] = {}
_DM_CHANNELS_MAX = 50_000


def dm_channel_of(client: WebClient, user: str) -> str | None:
    """The id of the bot's DM with `user` (opened if needed, remembered), or None when Slack refuses."""
    key = (client.base_url, client.token or "", user)
    cached = _DM_CHANNELS.get(key)
    if cached is not None:
        return cached
    try:
        channel = str(client.conversations_open(users=user)["channel"]["id"])
    except (SlackApiError, KeyError, TypeError):
        return None
    if len(_DM_CHANNELS) >= _DM_CHANNELS_MAX:
        _DM_CHANNELS.clear()
    _DM_CHANNELS[key] = channel
    return channel
