"""User text can never become a mention or a disguised link."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.mrkdwn import date_token, escape, link


def test_escape_neutralises_control_sequences() -> None:
    assert escape("<!channel> & <https://evil.example|bank>") == (
        "&lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt;"
    )
    assert escape(None) == ""


def test_link_label_is_escaped_and_url_cannot_break_out() -> None:
    assert link("https://ok.example/a|b>c", "<@U1>") == "<https://ok.example/a%7Cb%3Ec|&lt;@U1&gt;>"


def test_date_token_has_a_fallback() -> None:
    token = date_token(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), fallback="2026-12-01 10:00 JST")
    assert token == "<!date^1796086800^{date_short_pretty} {time}|2026-12-01 10:00 JST>"
