"""The request path end to end: signed requests in, Slack Web API calls out, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
import urllib.request

from tests.conftest import ALICE, BOB, BotHarness


def test_healthz_reports_the_database(bot: BotHarness) -> None:
    with urllib.request.urlopen(bot.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "database": "up"}


def test_signed_alumni_help_answers_in_the_members_language(bot: BotHarness) -> None:
    answer = bot.sender.command("/alumni", "help", user=ALICE)
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"
    assert "/opportunities" in answer.json["text"] and "Find alumni" not in answer.json["text"]
    assert "keeps our alumni community connected" in answer.json["text"]
    japanese = bot.sender.command("/alumni", "help", user=BOB).json["text"]
    assert "アルムナイ" in japanese


def test_unknown_subcommand_is_escaped(bot: BotHarness) -> None:
    text = bot.sender.command("/alumni", "frobnicate <!channel>", user=ALICE).json["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_unsigned_stale_or_forged_requests_get_401_and_touch_nothing(bot: BotHarness) -> None:
    before = len(bot.fake.calls)
    assert bot.sender.command("/alumni", "help", user=ALICE, sign=False).status == 401
    assert bot.sender.command("/alumni", "help", user=ALICE, timestamp=int(time.time()) - 600).status == 401
    assert bot.sender.command("/alumni", "help", user=ALICE, signature="v0=" + "0" * 64).status == 401
    assert (
        bot.sender.event({"type": "app_home_opened", "user": ALICE, "tab": "home"}, sign=False).status == 401
    )
    time.sleep(0.2)
    assert len(bot.fake.calls) == before


def test_app_home_greets_the_member(bot: BotHarness) -> None:
    assert (
        bot.sender.event({"type": "app_home_opened", "user": BOB, "tab": "home", "channel": "D1"}).status
        == 200
    )
    call = bot.fake.wait_for("views.publish")[0]
    assert call.args["user_id"] == BOB
    texts = json.dumps(call.args["view"], ensure_ascii=False)
    assert "おかえりなさい" in texts
