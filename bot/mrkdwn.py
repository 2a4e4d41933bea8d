"""Safe text for Slack's mrkdwn: user text is escaped so it can never become a mention or a link."""

from __future__ import annotations

from datetime import datetime


def escape(text: str | None) -> str:
    """Escape `&`, `<` and `>` (Slack's control characters), so `<!channel>` shows literally."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Shorten text to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def date_token(instant: datetime, *, fallback: str, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack's date token: every viewer sees the instant in their own time zone."""
    return f"<!date^{int(instant.timestamp())}^{fmt}|{escape(fallback)}>"


def user_mention(user_id: str) -> str:
    """A mention of a Slack user ID the bot itself resolved (never of user-typed text)."""
    if not user_id.isalnum():
        raise ValueError("not a Slack user ID")
    return f"<@{user_id}>"


def link(url: str, label: str) -> str:
    """A mrkdwn link whose label is escaped; the URL must already be validated (http or https)."""
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"
