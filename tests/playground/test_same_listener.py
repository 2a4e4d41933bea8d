"""The playground drives the real bot: a page action reaches the listener Slack's request would reach,
with the payload Slack would send (no playground-only branch in any handler)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import bot.registry
from bot.playground.server import Playground
from bot.slack_emulator.web_api import FakeSlack
from models.db import Database
from tests.conftest import BotHarness, _serve
from tests.playground.support import ALUMNI_CHANNEL, ALUMNUS_JA, Client, fill

Seen = list[tuple[str, str, dict[str, Any]]]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """Every listener call as (app, listener's qualified name, body), for apps built after this fixture."""
    calls: Seen = []
    original = bot.registry.guarded

    def recording(func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        inner = original(func, *args)

        @functools.wraps(inner)  # Bolt reads the argument names through __wrapped__
        def listener(**kwargs: Any) -> Any:
            app = "playground" if "playground" in str(kwargs["client"].token) else "slack"
            calls.append((app, f"{func.__module__}.{func.__qualname__}", kwargs["body"]))
            return inner(**kwargs)

        return listener

    monkeypatch.setattr(bot.registry, "guarded", recording)
    return calls


@pytest.fixture
def both(seen: Seen, fake_slack: FakeSlack, db: Database) -> Iterator[tuple[Client, BotHarness]]:
    """The playground and, beside it, the bot as the test suite serves it to (fake) Slack."""
    playground = Playground(database_url=db.url, port=0, scheduler=False).start()
    harness = _serve(fake_slack, db)
    try:
        yield Client(playground), next(harness)
    finally:
        harness.close()
        playground.stop()


def _calls(seen: Seen, app: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, body) for who, name, body in seen if who == app]


def test_a_slash_command_reaches_the_same_listener_with_slacks_payload(
    both: tuple[Client, BotHarness], seen: Seen
) -> None:
    play, harness = both
    play.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/opportunities 営業")
    harness.sender.command("/opportunities", "営業", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL)

    [(from_page, page_body)] = _calls(seen, "playground")
    [(from_slack, slack_body)] = _calls(seen, "slack")
    assert from_page == from_slack == "handlers.opportunities.on_command"
    assert set(slack_body) <= set(page_body)  # every field Slack sends is there
    for name in ("command", "text", "user_id", "channel_id", "team_id"):
        assert page_body[name] == slack_body[name], name


def test_a_modal_submission_reaches_the_same_listener_with_slacks_payload(
    both: tuple[Client, BotHarness], seen: Seen
) -> None:
    play, harness = both
    play.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/opportunities post")
    modal = play.until("the post modal", lambda s: play.top_view(s, ALUMNUS_JA))
    state = fill(
        modal["view"], {"kind": "job", "title": "営業マネージャー", "apply_url": "https://example.com/a"}
    )
    play.post("/api/view_submission", user=ALUMNUS_JA, view_id=modal["view_id"], state=state)
    harness.sender.view_submission(
        "opportunities_post_view",
        {"kind": {"type": "static_select", "selected_option": {"value": "job"}}, "title": "営業マネージャー"},
        user=ALUMNUS_JA,
    )

    page = [c for c in _calls(seen, "playground") if c[1].get("type") == "view_submission"]
    slack = [c for c in _calls(seen, "slack") if c[1].get("type") == "view_submission"]
    assert [name for name, _ in page] == [name for name, _ in slack]
    assert page[0][0].startswith("handlers.opportunities.")
    page_body, slack_body = page[0][1], slack[0][1]
    assert set(slack_body) <= set(page_body)
    assert set(slack_body["view"]) <= set(page_body["view"])
    assert page_body["view"]["state"]["values"]["title"]["title"]["value"] == "営業マネージャー"
