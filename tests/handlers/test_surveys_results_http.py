"""Pulse survey results through signed HTTP requests, with HR working in English: HR creates a survey with
`/alumni survey`, members answer, HR closes it and reads the counts, downloads the CSV and gets the chart as
files in the DM; with fewer answers than the anonymity threshold HR sees no figures, no CSV and no chart."""

from __future__ import annotations

import csv
import io
import json

from bot.blocks import surveys as ui
from bot.slack_emulator.blockkit import violations
from tests.conftest import ALICE, BOB, CAROL, HR, BotHarness
from tests.handlers.test_surveys import _answer, _create, _members


def _english_hr(bot: BotHarness) -> None:
    bot.fake.add_user(HR, name="hana.hr", real_name="Hana HR", email="hana@example.com", locale="en-US")


def _create_in_english(bot: BotHarness) -> int:
    _members(bot)
    _english_hr(bot)
    survey_id = _create(bot, "Pulse & <co>", subcommand="survey", modal_title="New survey")
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    return survey_id


def _click_as_hr(bot: BotHarness, survey_id: int, *action_ids: str) -> None:
    for action_id in action_ids:
        assert bot.sender.block_action(action_id, str(survey_id), user=HR, channel=None).status == 200
        assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)


def _shown_to_hr(bot: BotHarness) -> list[dict[str, object]]:
    """What HR was told privately: DMs to HR (the buttons were clicked outside a channel) and ephemerals."""
    dms = [c.args for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == HR]
    return dms + [c.args for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == HR]


def _uploads(bot: BotHarness) -> dict[str, bytes]:
    """Completed uploads: file name → content."""
    return {f["name"]: f["bytes"] for f in bot.fake.uploaded_files.values() if f.get("completed")}


def test_english_hr_reads_counts_downloads_the_csv_and_gets_the_chart(bot: BotHarness) -> None:
    survey_id = _create_in_english(bot)
    told = json.dumps([c.args for c in bot.fake.calls_to("chat.postMessage")])
    assert "was sent to 3 members" in told and "Pulse &amp; &lt;co&gt;" in told
    for nth, (user, scale, choice) in enumerate(((ALICE, "5", "0"), (BOB, "4", "1"), (CAROL, "5", "1")), 1):
        assert (
            _answer(bot, user, survey_id, nth=nth, scale=scale, choice=choice)["response_action"] == "update"
        )

    _click_as_hr(bot, survey_id, ui.ACTION_CLOSE, ui.ACTION_RESULTS)
    [results] = [m for m in _shown_to_hr(bot) if "Survey results" in str(m.get("text"))]
    blocks = results["blocks"]
    assert isinstance(blocks, list) and violations("message", blocks, results) == []
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "3 answers (results are shown from 3 answers)" in shown
    assert "How happy are you?" in shown and "Which events?" in shown
    assert (
        "1 (33%) Meetups" in shown and "2 (67%) Online" in shown
    )  # Alice chose Meetups, Bob and Carol Online
    assert "Average: *4.7* / 5" in shown  # 5, 4, 5
    assert "未満" not in shown and "回答" not in shown  # all in HR's language
    assert ALICE not in shown and BOB not in shown and CAROL not in shown  # nobody is named

    _click_as_hr(bot, survey_id, ui.ACTION_EXPORT, ui.ACTION_CHART)
    files = _uploads(bot)
    assert set(files) == {f"survey-{survey_id}.csv", f"survey-{survey_id}.png"}
    rows = list(csv.reader(io.StringIO(files[f"survey-{survey_id}.csv"].decode("utf-8-sig"))))
    assert rows[0] == ["survey", "closed_at (Asia/Tokyo)", "responses"]
    assert rows[1][::2] == ["Pulse & <co>", "3"]
    assert ["1", "scale", "How happy are you?", "5", "2"] in rows
    assert ["2", "choice", "Which events?", "Online", "2"] in rows
    assert ["1", "scale", "How happy are you?", "average", "4.67"] in rows
    assert not any(user in cell for row in rows for cell in row for user in (ALICE, BOB, CAROL))
    assert files[f"survey-{survey_id}.png"].startswith(b"\x89PNG")
    shared = {c.args.get("channel_id") for c in bot.fake.calls_to("files.completeUploadExternal") if c.ok}
    dm = {
        c.response["channel"]["id"] for c in bot.fake.calls_to("conversations.open") if c.args["users"] == HR
    }
    assert shared and shared <= dm  # into HR's DM, not a channel


def test_below_the_threshold_hr_sees_no_figures_and_gets_no_files(bot: BotHarness) -> None:
    survey_id = _create_in_english(bot)
    for nth, user in enumerate((ALICE, BOB), 1):  # two answers; the survey needs three
        assert _answer(bot, user, survey_id, nth=nth, scale="1", choice="1")["response_action"] == "update"

    _click_as_hr(bot, survey_id, ui.ACTION_RESULTS)  # still open: no figures either
    assert "once the survey has closed" in json.dumps(_shown_to_hr(bot))
    _click_as_hr(bot, survey_id, ui.ACTION_CLOSE, ui.ACTION_RESULTS, ui.ACTION_EXPORT, ui.ACTION_CHART)
    shown = json.dumps(_shown_to_hr(bot), ensure_ascii=False)
    assert "Fewer than 3 people answered, so no results are shown" in shown
    assert "there are no results to export" in shown
    assert "How happy are you?" not in shown and "Meetups" not in shown and "2 answers" not in shown
    assert bot.fake.calls_to("files.getUploadURLExternal") == [] and _uploads(bot) == {}
