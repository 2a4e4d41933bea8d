"""Safe text for Slack's mrkdwn: user text is escaped so it can never become a mention or a link."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeGuard

# Invisible format characters that change how the text around them reads: bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069; "Free laptop \u202egnp.exe" shows as "exe.png"), directional marks,
# zero-width spaces and joiners' look-alikes, word joiner and BOM. Forms drop them on the way in
# (bot/forms.py); rendering drops them again so rows stored before that are safe too. ZWJ (U+200D) stays:
# emoji sequences such as family and flag emoji need it.
INVISIBLE_FORMAT = re.compile(r"[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def strip_invisible(text: str) -> str:
    """Text without bidi controls and other invisible format characters (see `INVISIBLE_FORMAT`)."""
    return INVISIBLE_FORMAT.sub("", text)


def escape(text: str | None) -> str:
    """Escape `&`, `<` and `>` (Slack's control characters), so `<!channel>` shows literally, and drop
    invisible bidi/format characters, so text cannot show reversed or hide what it says."""
    if not text:
        return ""
    return strip_invisible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Shorten text to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def date_token(instant: datetime, *, fallback: str, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack's date token: every viewer sees the instant in their own time zone."""
    return f"<!date^{int(instant.timestamp())}^{fmt}|{escape(fallback)}>"


def is_user_id(value: str | None) -> TypeGuard[str]:
    """Whether `value` can be a Slack user ID (`U…`, or `W…` on Enterprise Grid); an erased member's
    pseudonym (`former-member-1a2b3c4d`) cannot, nor can a blank."""
    return bool(value) and str(value).isalnum() and str(value)[:1] in {"U", "W"}


def user_mention(user_id: str) -> str:
    """A mention of a Slack user ID the bot itself resolved (never of user-typed text)."""
    if not is_user_id(user_id):
        raise ValueError("not a Slack user ID")
    return f"<@{user_id}>"


def link(url: str, label: str) -> str:
    """A mrkdwn link whose label is escaped; the URL must already be validated (http or https)."""
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"
