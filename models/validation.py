"""Validation shared by the features."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_http_url(value: str) -> bool:
    """A real http(s) URL: scheme http or https, a dotted host, no white space (CR/LF included) and no
    mrkdwn or quoting characters. Anything `urlsplit` cannot parse is refused, not raised."""
    if any(c.isspace() or c in "<>|\"'`" for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in {"http", "https"} and bool(parts.hostname) and "." in (parts.hostname or "")
    )
