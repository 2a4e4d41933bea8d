"""The Home tab's frame (`bot.kit.build_home`): every section in order, within Slack's 100 blocks."""

from __future__ import annotations

from typing import Any

import pytest

from bot import kit
from bot.blocks.common import section
from bot.i18n import Translator
from bot.services import build_services
from bot.slack_emulator.web_api import FakeSlack
from models.db import Database
from tests.conftest import ALICE, make_settings


def _sized(count: int, label: str) -> kit.HomeSection:
    def home(services: Any, user_id: str, tr: Translator) -> list[dict[str, Any]]:
        return [section(f"{label} {n}") for n in range(count)]

    return home


def _texts(view: dict[str, Any]) -> list[str]:
    return [
        str(b.get("text", {}).get("text") or b.get("elements", [{}])[0].get("text")) for b in view["blocks"]
    ]


def test_a_section_that_would_pass_100_blocks_is_left_out_whole_and_the_tab_says_so(
    fake_slack: FakeSlack,
    sqlite_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = build_services(make_settings(fake_slack, sqlite_db), db=sqlite_db)
    sections = [
        ("events", _sized(40, "event")),
        ("stories", _sized(60, "story")),
        ("intros", _sized(5, "intro")),
    ]
    monkeypatch.setattr(kit, "_home_sections", lambda: sections)

    view = kit.build_home(services, ALICE)

    texts = _texts(view)
    assert len(view["blocks"]) <= 100
    assert (
        sum(t.startswith("event ") for t in texts) == 40 and sum(t.startswith("intro ") for t in texts) == 5
    )
    assert not any(t.startswith("story ") for t in texts)  # never cut mid-way
    assert texts[-1] == Translator("en")("home.sections_left_out")
    assert "Home tab sections left out" in caplog.text
    services.client.views_publish(user_id=ALICE, view=view)  # Slack takes it
    assert fake_slack.violations == []


def test_when_everything_fits_the_tab_ends_with_the_help_hint(
    fake_slack: FakeSlack, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = build_services(make_settings(fake_slack, sqlite_db), db=sqlite_db)
    monkeypatch.setattr(kit, "_home_sections", lambda: [("events", _sized(3, "event"))])
    view = kit.build_home(services, ALICE)
    assert _texts(view)[-1] == Translator("en")("home.help_hint")
