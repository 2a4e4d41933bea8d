"""Reconnect intros through signed HTTP requests: `/alumni intros` (`/alumni 紹介`) and the Home buttons open
the settings modal in the member's language; saving (or a field error) is decided before the ack; pause and
resume from Home; "did you meet?" answers from group members only; export and erasure of intro data.
(The weekly round and its follow-up, once across two processes, are in tests/jobs/test_intros.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.blocks.intros import (
    CADENCE_BLOCK,
    MET_NO_ACTION,
    MET_YES_ACTION,
    OPTED_IN_BLOCK,
    OPTED_IN_VALUE,
    PAUSE_ACTION,
    PAUSED_UNTIL_BLOCK,
    PREFS_CALLBACK,
    PREFS_OPEN_ACTION,
    RESUME_ACTION,
    WANTS_BLOCK,
)
from bot.i18n import Translator
from bot.slack_emulator.blockkit import violations
from models.actors import Actor
from models.intro import IntroGroupMember, IntroPreference, Pairing, get_intro_preferences, record_round
from models.member import get_member
from models.privacy import erase_member, export_member_data
from models.timeutil import now
from tests.conftest import ALICE, BOB, CAROL, BotHarness
from tests.handlers.test_directory import add_member, opened_view
from tests.slack_requests import datepicker
from tests.slack_requests import select as radio


def values(*, opted_in: bool = True, cadence: str = "2", until: str | None = None) -> dict[str, Any]:
    return {
        OPTED_IN_BLOCK: [OPTED_IN_VALUE] if opted_in else [],
        CADENCE_BLOCK: radio(cadence),
        WANTS_BLOCK: ["teammates"],
        PAUSED_UNTIL_BLOCK: datepicker(until),
    }


def dm_to(bot: BotHarness, user: str) -> str:
    calls = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == user)
    return str(calls[-1].args["text"])


def join(bot: BotHarness, user: str, word: str) -> dict[str, Any]:
    bot.sender.command("/alumni", word, user=user)
    view = opened_view(bot, PREFS_CALLBACK)
    answer = bot.sender.view_submission(PREFS_CALLBACK, values(), user=user, blocks=view["blocks"])
    assert answer.status == 200 and not answer.text
    return view


def test_an_english_member_joins_from_alumni_intros_and_is_told_in_english(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    view = join(bot, ALICE, "intros")
    assert violations("modal", view["blocks"], view) == []
    assert view["title"]["text"] == Translator("en")("intros.prefs.title")
    assert dm_to(bot, ALICE) == Translator("en")("intros.prefs.saved")
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.opted_in and pref.want_list() == ["teammates"]
    published = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE)[-1]
    assert published.ok and violations("home", published.args["view"]["blocks"], published.args["view"]) == []
    home = published.args["view"]
    assert Translator("en")("intros.home.on", weeks=2, wants="Former teammates") in str(home)


def test_a_japanese_member_joins_from_alumni_shoukai_and_is_told_in_japanese(bot: BotHarness) -> None:
    add_member(bot, BOB, name="Bob")
    view = join(bot, BOB, "紹介")
    assert view["title"]["text"] == Translator("ja")("intros.prefs.title")
    assert dm_to(bot, BOB) == Translator("ja")("intros.prefs.saved")
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=BOB)
        assert pref is not None and pref.opted_in


def test_bad_settings_come_back_at_their_fields_and_nothing_is_saved(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    add_member(bot, CAROL, name="Carol", consent=False)
    bot.sender.block_action(PREFS_OPEN_ACTION, "home", user=ALICE, view={"id": "VH", "type": "home"})
    view = opened_view(bot, PREFS_CALLBACK)
    far = (now() + timedelta(days=400)).date().isoformat()
    answer = bot.sender.view_submission(
        PREFS_CALLBACK, values(cadence="3", until=far), user=ALICE, blocks=view["blocks"]
    )
    assert answer.json["response_action"] == "errors"
    assert set(answer.json["errors"]) == {CADENCE_BLOCK, PAUSED_UNTIL_BLOCK}
    refused = bot.sender.view_submission(PREFS_CALLBACK, values(), user=CAROL, blocks=view["blocks"])
    assert set(refused.json["errors"]) == {OPTED_IN_BLOCK}
    with bot.db.session() as session:
        assert list(session.exec(select(IntroPreference))) == []


def test_pause_and_resume_from_home(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    join(bot, ALICE, "intros")
    home = {"id": "VH", "type": "home"}
    bot.sender.block_action(PAUSE_ACTION, "4", user=ALICE, view=home)
    bot.listeners.wait_idle()
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.is_paused(now() + timedelta(weeks=3))
    assert "paused until" in dm_to(bot, ALICE)
    bot.sender.block_action(RESUME_ACTION, "home", user=ALICE, view=home)
    bot.listeners.wait_idle()
    with bot.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.paused_until is None
    assert dm_to(bot, ALICE) == Translator("en")("intros.home.resumed_notice")


def _group(bot: BotHarness, *users: str) -> int:
    with bot.db.session() as session:
        ids = []
        for user in users:
            member = get_member(session, slack_user_id=user)
            assert member is not None and member.id is not None
            ids.append(member.id)
        record_round(session, period="2026-W49", scheduled_for=now(), pairings=[Pairing(tuple(ids))])
        row = session.exec(select(IntroGroupMember)).first()
        assert row is not None
        return row.group_id


def _answers(bot: BotHarness) -> list[bool | None]:
    with bot.db.session() as session:
        return sorted((r.met for r in session.exec(select(IntroGroupMember))), key=str)


def _click(bot: BotHarness, action_id: str, value: str, user: str) -> None:
    """A button in the group DM: Slack gives each click a response URL (recorded per user here)."""
    url = bot.fake.response_url(user)
    answer = bot.sender.block_action(action_id, value, user=user, channel="G_INTRO", response_url=url)
    assert answer.status == 200


def test_only_group_members_answer_did_you_meet_and_forged_payloads_change_nothing(bot: BotHarness) -> None:
    for user in (ALICE, BOB, CAROL):
        add_member(bot, user, name=user)
    group_id = _group(bot, ALICE, BOB)
    # An outsider with the real group id, and forged ids (unknown, too large, not a number).
    for value in (str(group_id), str(group_id + 1), "99999999999", "1; drop", ""):
        _click(bot, MET_NO_ACTION, value, CAROL)
    assert _answers(bot) == [None, None]
    _click(bot, MET_YES_ACTION, str(group_id), BOB)
    _click(bot, MET_NO_ACTION, str(group_id), ALICE)
    _click(bot, MET_YES_ACTION, str(group_id), ALICE)  # she changes her mind: the later answer counts
    assert _answers(bot) == [True, True]
    bot.settle()  # each click's note is after-ack work: all sent before counting them
    refusals = [r["text"] for r in bot.fake.responses(CAROL)]
    assert len(refusals) == 5 and Translator("en")("errors.not_allowed") in refusals
    assert all(r.get("response_type") == "ephemeral" for r in bot.fake.responses(CAROL))
    [bob_note] = bot.fake.responses(BOB)
    assert bob_note["text"] == Translator("ja")("intros.follow_up.thanks_yes")


def test_export_holds_and_erasure_removes_intro_settings_and_answers(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice")
    add_member(bot, BOB, name="Bob")
    join(bot, ALICE, "intros")
    group_id = _group(bot, ALICE, BOB)
    _click(bot, MET_YES_ACTION, str(group_id), ALICE)
    with bot.db.session() as session:
        tables = export_member_data(session, slack_user_id=ALICE)["tables"]
    assert len(tables["intro_preference"]) == 1 and tables["intro_group_member"][0]["met"] is True
    with bot.db.session() as session:
        erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    with bot.db.session() as session:
        assert get_intro_preferences(session, slack_user_id=ALICE) is None
        assert len(list(session.exec(select(IntroGroupMember)))) == 1  # Bob's row stays
