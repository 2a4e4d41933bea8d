"""Small readers for Bolt payloads, shared by the handler modules.

Pure functions over the request body Slack sends (no I/O): who clicked, where, and which row a button or a
modal's `private_metadata` names. Anything a user could forge (values, metadata) is parsed defensively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


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


def parse_id(value: Any, max_id: int) -> int | None:
    """A row id from a button value, block id or metadata field: an integer in 1..`max_id`, else None.

    `max_id` is the largest id the table's column can hold, so a forged larger number never reaches the
    database driver.
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
