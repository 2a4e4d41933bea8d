"""Referrals end to end: signed requests in, fake Slack out, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.blocks.referrals import (
    ASSIGN_ACTION,
    ASSIGN_BLOCK_PREFIX,
    NOTE_CALLBACK,
    OPEN_FROM_OPPORTUNITY_ACTION,
    OPPORTUNITY_SELECT_ACTION,
    REFER_CALLBACK,
    SHORTCUT_CALLBACK,
    STATUS_ACTION_PREFIX,
    WITHDRAW_ACTION,
    hr_message,
    refer_modal,
)
from bot.i18n import Translator
from bot.slack_emulator.web_api import Call, FakeSlack
from handlers.referrals import COMMAND, FEATURE, home_section
from jobs.delivery import deliver_due
from jobs.runner import run_job
from models import referral as referrals
from models.actors import Actor
from models.db import Database
from models.opportunity import Draft, close_opportunity, post_opportunity
from models.timeutil import freeze
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, HR_CHANNEL, ORGANIZER, BotHarness, _serve
from tests.slack_requests import Answer

NAME = "Zelda Quartermaine"
EMAIL = "Zelda.Q@candidates.example"
URL = "https://profiles.example/zelda-q"
SECRETS = ("zelda", "quartermaine", "zelda.q@candidates.example", "profiles.example/zelda-q")

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
# slack_sdk's WebClient logs whole request and response bodies at DEBUG (a library behaviour, not ours).


# -- helpers ----------------------------------------------------------------------------------------


def _j(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _opportunity(bot: BotHarness, title: str = "Backend engineer") -> int:
    with bot.db.session() as session:
        opportunity = post_opportunity(session, actor=Actor(ORGANIZER), draft=Draft(kind="job", title=title))
        return int(opportunity.id or 0)


def _values(
    *,
    opportunity_id: int | None = None,
    name: str = NAME,
    email: str = EMAIL,
    url: str = "",
    relationship: str = "We worked together for 3 years",
    why_fit: str = "Ships reliable backend code",
    consent: bool = True,
) -> dict[str, Any]:
    return {
        "opportunity": {
            "type": "external_select",
            "selected_option": {"value": str(opportunity_id)} if opportunity_id else None,
        },
        "candidate_name": name,
        "candidate_email": {"type": "email_text_input", "value": email},
        "candidate_url": {"type": "url_text_input", "value": url},
        "relationship": relationship,
        "why_fit": why_fit,
        "consent": ["agreed"] if consent else [],
    }


def _submit(bot: BotHarness, *, user: str = ALICE, **values: Any) -> Answer:
    blocks = refer_modal(Translator("en"))["blocks"]
    return bot.sender.view_submission(REFER_CALLBACK, _values(**values), user=user, blocks=blocks)


def _count(bot: BotHarness) -> int:
    with bot.db.session() as session:
        return sum(referrals.pipeline_counts(session).values())


def _only_referral(bot: BotHarness) -> referrals.Referral:
    with bot.db.session() as session:
        mine, total = referrals.referrals_of(session, ALICE)
    assert total == 1
    return mine[0]


def _hr_post(bot: BotHarness) -> Call:
    return bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR_CHANNEL)[-1]


def _dms(bot: BotHarness, user: str, count: int = 1) -> list[Call]:
    return bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == user, count=count)


def _refer_and_route(bot: BotHarness, *, user: str = ALICE, **values: Any) -> referrals.Referral:
    """Submit a referral and wait until it reached HR (message ts stored), the referrer's DM and Home."""
    answer = _submit(bot, user=user, **values)
    assert answer.status == 200 and not answer.text, answer.text
    _hr_post(bot)
    _dms(bot, user)
    bot.fake.wait_for("views.publish", lambda c: c.args.get("user_id") == user)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with bot.db.session() as session:
            mine, _ = referrals.referrals_of(session, user, limit=1)
        if mine and mine[0].hr_ts:
            return mine[0]
        time.sleep(0.01)
    raise AssertionError("the HR message ts was never stored")


def _move(
    bot: BotHarness, referral_id: int, to: str, *, user: str = HR, note: str = "", share: bool = False
) -> Answer:
    """HR clicks a status button, the note modal opens, HR submits it."""
    opened = len(bot.fake.calls_to("views.open"))
    bot.sender.block_action(
        STATUS_ACTION_PREFIX + to,
        f"{referral_id}:{to}",
        user=user,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url(f"{user}-status"),
    )
    view = bot.fake.wait_for("views.open", count=opened + 1)[-1].args["view"]
    assert view["callback_id"] == NOTE_CALLBACK
    return bot.sender.view_submission(
        NOTE_CALLBACK,
        {"note": note, "share_note": ["share"] if share else []},
        user=user,
        private_metadata=view["private_metadata"],
    )


# -- must show: the full path -----------------------------------------------------------------------


def test_full_path_from_opportunity_button_to_hired(bot: BotHarness) -> None:
    opportunity_id = _opportunity(bot, "Backend engineer")
    freeze(T0)
    # 1. The member clicks "Refer someone" on the opportunity's announcement: the modal opens prefilled.
    bot.sender.block_action(
        OPEN_FROM_OPPORTUNITY_ACTION, str(opportunity_id), user=ALICE, channel=ALUMNI_CHANNEL
    )
    modal = bot.fake.wait_for("views.open")[0].args["view"]
    assert modal["callback_id"] == REFER_CALLBACK
    select = next(b for b in modal["blocks"] if b.get("block_id") == "opportunity")["element"]
    assert select["type"] == "external_select" and select["action_id"] == OPPORTUNITY_SELECT_ACTION
    assert select["initial_option"] == {
        "text": {"type": "plain_text", "text": "Backend engineer", "emoji": True},
        "value": str(opportunity_id),
    }
    # 2. They submit it (Slack sends the prefilled option back in the state).
    answer = bot.sender.view_submission(
        REFER_CALLBACK,
        {
            **_values(),
            "opportunity": {"type": "external_select", "selected_option": select["initial_option"]},
        },
        user=ALICE,
        blocks=modal["blocks"],
    )
    assert answer.status == 200 and answer.text == ""
    # 3. HR channel message with candidate, opportunity, referrer, status, owner select and status buttons.
    post = _hr_post(bot)
    blob = _j(post.args["blocks"])
    assert NAME in blob and EMAIL in blob and "Backend engineer" in blob and f"<@{ALICE}>" in blob
    assert ASSIGN_ACTION in blob and STATUS_ACTION_PREFIX + "interviewing" in blob
    assert "受付済み" in blob  # the HR channel speaks ALUMNI_LANGUAGE (ja in the tests)
    # The referrer gets a DM in their language (en) with a withdraw button.
    submitted_dm = _dms(bot, ALICE)[0]
    assert "is with HR now" in submitted_dm.args["text"] and NAME in submitted_dm.args["text"]
    assert WITHDRAW_ACTION in _j(submitted_dm.args["blocks"])
    referral = _only_referral(bot)
    rid = int(referral.id or 0)
    assert referral.opportunity_id == opportunity_id and referral.status == referrals.SUBMITTED

    # 4. HR moves it to interviewing (with a note that stays internal).
    t1 = T0 + timedelta(days=2)
    freeze(t1)
    assert _move(bot, rid, "interviewing", note="Strong first call").text == ""
    update = bot.fake.wait_for("chat.update", lambda c: c.args["channel"] == HR_CHANNEL)[-1]
    assert update.args["ts"] == post.response["ts"]  # updated in place
    assert "面接中" in _j(update.args["blocks"])
    interviewing_dm = _dms(bot, ALICE, count=2)[-1]
    assert "now interviewing for *Backend engineer*" in interviewing_dm.args["text"]
    assert "Strong first call" not in _j(interviewing_dm.args)

    # 5. ... and to hired.
    t2 = T0 + timedelta(days=20)
    freeze(t2)
    assert _move(bot, rid, "hired").text == ""
    bot.fake.wait_for("chat.update", lambda c: c.args["channel"] == HR_CHANNEL, count=2)
    hired_dm = _dms(bot, ALICE, count=3)[-1]
    assert "has been hired" in hired_dm.args["text"]

    # The history records who and when.
    with bot.db.session() as session:
        changes = referrals.history(session, rid)
        final = referrals.get_referral(session, rid)
    assert [(c.actor_id, c.from_status, c.to_status, c.at) for c in changes] == [
        (ALICE, None, "submitted", T0),
        (HR, "submitted", "interviewing", t1),
        (HR, "interviewing", "hired", t2),
    ]
    assert changes[1].note == "Strong first call" and not changes[1].note_shared
    assert final.status == "hired"
    # The HR message, as it stands now, shows the final status and the history.
    bot.settle()  # a repost would be after-ack work
    hr_messages = bot.fake.messages(HR_CHANNEL)
    assert len(hr_messages) == 1
    shown = _j(hr_messages[0]["blocks"])
    assert "*採用*" in shown and f"<@{HR}>" in shown and f"<!date^{int(t2.timestamp())}^" in shown


def test_japanese_referrer_hears_back_in_japanese_and_not_a_fit_is_kind(bot: BotHarness) -> None:
    answer = _submit(bot, user=BOB, email="hanako@example.jp", name="佐藤 花子")
    assert answer.text == ""
    dm = _dms(bot, BOB)[0]
    assert "佐藤 花子" in dm.args["text"] and "人事に届けました" in dm.args["text"]
    with bot.db.session() as session:
        rid = int(referrals.referrals_of(session, BOB)[0][0].id or 0)
    _hr_post(bot)
    assert _move(bot, rid, "not_a_fit", note="Salary expectations too high").text == ""
    kind = _dms(bot, BOB, count=2)[-1].args
    assert "ありがとうございました" in kind["text"] and "見送る" in kind["text"]
    assert "Salary" not in _j(kind)  # the note is not shared unless HR ticks the box


def test_shared_note_reaches_the_referrer_escaped(bot: BotHarness) -> None:
    referral = _refer_and_route(bot)
    assert _move(bot, int(referral.id or 0), "in_review", note="Call <!channel> soon", share=True).text == ""
    dm = _dms(bot, ALICE, count=2)[-1]
    blob = _j(dm.args["blocks"])
    assert "Call &lt;!channel&gt; soon" in blob and "<!channel>" not in blob


# -- must show: forged actions ----------------------------------------------------------------------


def test_forged_status_change_from_a_member_changes_nothing(bot: BotHarness) -> None:
    referral = _refer_and_route(bot)
    rid = int(referral.id or 0)
    bot.settle()  # the routing's after-ack work has ended before counting
    before_updates = len(bot.fake.calls_to("chat.update"))
    before_views = len(bot.fake.calls_to("views.open"))
    # The button click: refused privately, no modal opens.
    bot.sender.block_action(
        STATUS_ACTION_PREFIX + "hired",
        f"{rid}:hired",
        user=CAROL,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url("carol-forged"),
    )
    refusal = bot.fake.wait_for("response_url", lambda c: c.key == "carol-forged")[0]
    assert refusal.args["response_type"] == "ephemeral" and "Only HR" in refusal.args["text"]
    # The note modal's submission, forged directly: refused with a field error.
    forged = bot.sender.view_submission(
        NOTE_CALLBACK,
        {"note": "", "share_note": []},
        user=CAROL,
        private_metadata=_j({"referral_id": rid, "to": "hired"}),
    )
    assert forged.json["response_action"] == "errors" and "Only HR" in forged.json["errors"]["note"]
    # The owner select, forged: refused too.
    bot.sender.block_action(
        ASSIGN_ACTION,
        user=CAROL,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url("carol-assign"),
        action={"type": "users_select", "selected_user": CAROL, "block_id": f"{ASSIGN_BLOCK_PREFIX}{rid}"},
    )
    bot.fake.wait_for("response_url", lambda c: c.key == "carol-assign")
    with bot.db.session() as session:
        after = referrals.get_referral(session, rid)
        changes = referrals.history(session, rid)
    assert after.status == "submitted" and after.owner_id is None and len(changes) == 1
    bot.settle()  # an HR card update would be after-ack work
    assert len(bot.fake.calls_to("chat.update")) == before_updates
    assert len(bot.fake.calls_to("views.open")) == before_views


SECOND_HR = "U0HR00002"


@pytest.fixture
def two_hr_bot(fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    fake_slack.add_user(SECOND_HR, name="kenji.hr", real_name="Kenji HR", locale="en-US")
    yield from _serve(fake_slack, db, hr_users=frozenset({HR, SECOND_HR}))


def test_hr_assigns_an_owner_who_hears_about_it(two_hr_bot: BotHarness) -> None:
    bot, second_hr = two_hr_bot, SECOND_HR
    referral = _refer_and_route(bot)
    rid = int(referral.id or 0)
    bot.sender.block_action(
        ASSIGN_ACTION,
        user=HR,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url("hr-assign"),
        action={
            "type": "users_select",
            "selected_user": second_hr,
            "block_id": f"{ASSIGN_BLOCK_PREFIX}{rid}",
        },
    )
    dm = _dms(bot, second_hr)[0]
    assert f"referral #{rid}" in dm.args["text"] and NAME in dm.args["text"]
    update = bot.fake.wait_for("chat.update", lambda c: c.args["channel"] == HR_CHANNEL)[-1]
    assert f'"initial_user": "{second_hr}"' in _j(update.args["blocks"])
    # A non-HR owner is refused; the select goes back to the real owner.
    bot.sender.block_action(
        ASSIGN_ACTION,
        user=HR,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url("hr-assign-bad"),
        action={"type": "users_select", "selected_user": CAROL, "block_id": f"{ASSIGN_BLOCK_PREFIX}{rid}"},
    )
    bad = bot.fake.wait_for("response_url", lambda c: c.key == "hr-assign-bad")[0]
    assert "人事のメンバー" in bad.args["text"]  # HR's language is ja
    with bot.db.session() as session:
        assert referrals.get_referral(session, rid).owner_id == second_hr


def test_only_the_referrer_withdraws_and_only_before_interviewing(bot: BotHarness) -> None:
    referral = _refer_and_route(bot)
    rid = int(referral.id or 0)
    # Someone else (even HR) cannot withdraw it.
    for user in (CAROL, HR):
        bot.sender.block_action(
            WITHDRAW_ACTION,
            str(rid),
            user=user,
            channel=f"D{user}",
            response_url=bot.fake.response_url(f"{user}-w"),
        )
        bot.fake.wait_for("response_url", lambda c, u=user: c.key == f"{u}-w")
    with bot.db.session() as session:
        assert referrals.get_referral(session, rid).status == "submitted"
    assert "Only the person" in bot.fake.responses(f"{CAROL}-w")[0]["text"]
    # Once interviewing, the referrer cannot withdraw either.
    _move(bot, rid, "interviewing")
    _dms(bot, ALICE, count=2)
    bot.sender.block_action(
        WITHDRAW_ACTION,
        str(rid),
        user=ALICE,
        channel=f"D{ALICE}",
        response_url=bot.fake.response_url("alice-w"),
    )
    late = bot.fake.wait_for("response_url", lambda c: c.key == "alice-w")[0]
    assert "can no longer be withdrawn" in late.args["text"] and "Interviewing" in late.args["text"]
    with bot.db.session() as session:
        assert referrals.get_referral(session, rid).status == "interviewing"


def test_referrer_withdraws_from_their_dm(bot: BotHarness) -> None:
    referral = _refer_and_route(bot)
    rid = int(referral.id or 0)
    bot.sender.block_action(WITHDRAW_ACTION, str(rid), user=ALICE, channel=f"D{ALICE}")
    dm = _dms(bot, ALICE, count=2)[-1]
    assert "You withdrew your referral" in dm.args["text"]
    update = bot.fake.wait_for("chat.update", lambda c: c.args["channel"] == HR_CHANNEL)[-1]
    blob = _j(update.args["blocks"])
    assert "取り下げ" in blob and STATUS_ACTION_PREFIX not in blob  # no more HR buttons
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == referral.hr_ts)
    # HR cannot move a withdrawn referral (the button says so; a forged note submission is refused too).
    views = len(bot.fake.calls_to("views.open"))
    bot.sender.block_action(
        STATUS_ACTION_PREFIX + "in_review",
        f"{rid}:in_review",
        user=HR,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url("hr-withdrawn"),
    )
    assert "取り下げ" in bot.fake.wait_for("response_url", lambda c: c.key == "hr-withdrawn")[0].args["text"]
    assert len(bot.fake.calls_to("views.open")) == views
    forged = bot.sender.view_submission(
        NOTE_CALLBACK,
        {"note": "", "share_note": []},
        user=HR,
        private_metadata=_j({"referral_id": rid, "to": "in_review"}),
    )
    assert "errors" in forged.json
    # The same person may be referred again.
    assert _submit(bot).text == ""


# -- must show: validation ----------------------------------------------------------------------------


INVALID = [
    ({"consent": False}, "consent", "agreed to be referred"),
    ({"email": "not-an-email"}, "candidate_email", "valid email"),
    ({"email": "", "url": ""}, "candidate_email", "at least one"),
    ({"email": "", "url": "javascript:alert(1)"}, "candidate_url", "http"),
    ({"name": " "}, "candidate_name", "fill this in"),
    ({"name": "x" * 101}, "candidate_name", "100 characters"),
    ({"why_fit": "y" * 2001}, "why_fit", "2000 characters"),
]


def test_invalid_referrals_get_field_errors_and_store_nothing(bot: BotHarness) -> None:
    for values, field, message in INVALID:
        answer = _submit(bot, **values)
        assert answer.json["response_action"] == "errors", values
        assert message in answer.json["errors"][field], (values, answer.json)
    # Several problems at once: every field says what is wrong.
    answer = _submit(bot, name="", email="nope", consent=False)
    assert set(answer.json["errors"]) == {"candidate_name", "candidate_email", "consent"}
    assert _count(bot) == 0
    bot.settle()  # routing to HR would be after-ack work
    assert not bot.fake.calls_to("chat.postMessage")


def test_duplicate_candidate_names_the_first_date_never_the_referrer(bot: BotHarness) -> None:
    opportunity_id = _opportunity(bot)
    freeze(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))  # 2026-11-02 21:00 in New York (ALICE's zone)
    assert _submit(bot, user=BOB, opportunity_id=opportunity_id).text == ""
    freeze(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    answer = _submit(bot, user=ALICE, opportunity_id=opportunity_id, email="  zelda.q@CANDIDATES.example ")
    error = answer.json["errors"]["candidate_email"]
    assert "already referred" in error and "2026-11-02" in error
    assert BOB not in error and "山田" not in error and "bob" not in error.lower()
    with bot.db.session() as session:
        assert referrals.referrals_of(session, ALICE)[1] == 0
    # Another opportunity, or a general referral, is a different referral.
    assert _submit(bot, user=ALICE).text == ""
    assert "errors" in _submit(bot, user=CAROL).json  # ... but general twice is a duplicate


def test_a_second_member_vouching_for_the_same_candidate_reaches_hrs_history(bot: BotHarness) -> None:
    opportunity_id = _opportunity(bot)
    assert _submit(bot, user=BOB, opportunity_id=opportunity_id).text == ""
    first = _hr_post(bot)
    answer = _submit(bot, user=ALICE, opportunity_id=opportunity_id)
    assert "already referred" in answer.json["errors"]["candidate_email"]  # Alice learns no more than before
    update = bot.fake.wait_for("chat.update", lambda c: c.args.get("ts") == first.response["ts"])[-1]
    history = json.dumps(update.args["blocks"], ensure_ascii=False)
    assert f"<@{ALICE}> も同じ候補者を紹介" in history  # HR's message, in the workspace language
    thread = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == first.response["ts"])
    assert f"<@{ALICE}>" in thread[0].args["text"]
    # Once per member; the original referrer retrying is not a second voice.
    _submit(bot, user=ALICE, opportunity_id=opportunity_id)
    _submit(bot, user=BOB, opportunity_id=opportunity_id)
    with bot.db.session() as session:
        [referral] = referrals.referrals_of(session, BOB)[0]
        lines = [c.to_status for c in referrals.history(session, int(referral.id or 0))]
    assert lines == [referrals.SUBMITTED, referrals.VOUCHED]
    assert referral.status == referrals.SUBMITTED
    bot.settle()  # the retries' after-ack work has ended: a DM to Alice would have been sent by now
    assert [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == ALICE] == []


def test_closed_opportunity_cannot_be_referred_to(bot: BotHarness) -> None:
    opportunity_id = _opportunity(bot)
    with bot.db.session() as session:
        close_opportunity(session, actor=Actor(ORGANIZER), opportunity_id=opportunity_id)
    answer = _submit(bot, opportunity_id=opportunity_id)
    assert "no longer open" in answer.json["errors"]["opportunity"]
    bot.sender.block_action(
        OPEN_FROM_OPPORTUNITY_ACTION,
        str(opportunity_id),
        user=ALICE,
        channel=ALUMNI_CHANNEL,
        response_url=bot.fake.response_url("alice-closed"),
    )
    notice = bot.fake.wait_for("response_url", lambda c: c.key == "alice-closed")[0]
    assert "no longer open" in notice.args["text"]
    assert not bot.fake.calls_to("views.open") and _count(bot) == 0


# -- entry points -----------------------------------------------------------------------------------------


def test_refer_command_shortcut_and_help(bot: BotHarness) -> None:
    assert bot.sender.command(COMMAND, "", user=ALICE).status == 200
    assert bot.sender.shortcut(SHORTCUT_CALLBACK, user=BOB).status == 200
    views = bot.fake.wait_for("views.open", count=2)
    titles = sorted(v.args["view"]["title"]["text"] for v in views)
    assert titles == ["Refer someone", "知り合いを紹介"]
    assert all("initial_option" not in _j(v.args["view"]) for v in views)
    help_text = bot.sender.command(COMMAND, "help", user=ALICE).json["text"]
    assert "/refer mine" in help_text
    unknown = bot.sender.command(COMMAND, "<!channel>", user=ALICE).json["text"]
    assert "&lt;!channel&gt;" in unknown and "<!channel>" not in unknown


def test_opportunity_select_serves_open_opportunities_by_type_ahead(bot: BotHarness) -> None:
    long_title = "Senior <Platform> & Reliability Engineer for the payments infrastructure team in Tokyo"
    wanted = _opportunity(bot, long_title)
    _opportunity(bot, "データ分析エンジニア")
    closed = _opportunity(bot, "Platform intern")
    with bot.db.session() as session:
        close_opportunity(session, actor=Actor(ORGANIZER), opportunity_id=closed)
    options = bot.sender.options(OPPORTUNITY_SELECT_ACTION, "platform", user=ALICE).json["options"]
    assert [o["value"] for o in options] == [str(wanted)]
    text = options[0]["text"]
    assert text["type"] == "plain_text" and len(text["text"]) == 75
    assert text["text"].startswith("Senior <Platform> & Reliability")  # plain text: nothing escaped
    japanese = bot.sender.options(OPPORTUNITY_SELECT_ACTION, "分析", user=BOB).json["options"]
    assert [o["text"]["text"] for o in japanese] == ["データ分析エンジニア"]
    everything = bot.sender.options(OPPORTUNITY_SELECT_ACTION, "", user=BOB).json["options"]
    assert len(everything) == 2
    # Many opportunities: at most 100 options (type-ahead narrows them).
    with bot.db.session() as session:
        for i in range(105):
            post_opportunity(session, actor=Actor(ORGANIZER), draft=Draft(kind="gig", title=f"Gig {i}"))
    assert len(bot.sender.options(OPPORTUNITY_SELECT_ACTION, "", user=ALICE).json["options"]) == 100
    assert len(bot.sender.options(OPPORTUNITY_SELECT_ACTION, "gig 10", user=ALICE).json["options"]) >= 1


def test_refer_mine_lists_the_referrers_own_referrals(bot: BotHarness) -> None:
    _refer_and_route(bot, name="<!channel> Eve <https://evil.example|bank>")
    mine = bot.sender.command(COMMAND, "mine", user=ALICE).json
    assert mine["response_type"] == "ephemeral"
    blob = _j(mine["blocks"])
    assert "&lt;!channel&gt; Eve &lt;https://evil.example|bank&gt;" in blob
    assert "<!channel>" not in blob and "<https://evil" not in blob
    assert "Submitted" in blob and WITHDRAW_ACTION in blob
    other = bot.sender.command(COMMAND, "mine", user=CAROL).json
    assert "not referred anyone" in other["blocks"][1]["text"]["text"] and "Eve" not in _j(other)


def test_escaping_in_the_hr_message(bot: BotHarness) -> None:
    _refer_and_route(
        bot,
        name="<!channel> Eve",
        url="https://evil.example/x",
        relationship="<https://evil.example|bank> & co",
        why_fit="*bold* <@U0HR00001>",
    )
    blob = _j(_hr_post(bot).args["blocks"])
    assert "&lt;!channel&gt; Eve" in blob and "<!channel>" not in blob
    assert "&lt;https://evil.example|bank&gt; &amp; co" in blob and "<https://evil.example|bank>" not in blob
    assert "&lt;@U0HR00001&gt;" in blob


def test_home_shows_my_referrals_and_hr_pipeline(bot: BotHarness) -> None:
    assert FEATURE.home is home_section and FEATURE.home_order == 30
    freeze(T0)
    _refer_and_route(bot)
    freeze(T0 + timedelta(days=1))
    assert _submit(bot, user=BOB, email="other@example.com", name="Other Person").text == ""
    _hr_post(bot)
    mine = _j(home_section(bot.services, ALICE, Translator("en")))
    assert NAME in mine and "Submitted" in mine and "Other Person" not in mine and "pipeline" not in mine
    hr = _j(home_section(bot.services, HR, Translator("en")))
    assert "Referral pipeline" in hr and "Submitted: *2*" in hr
    assert hr.index(NAME) < hr.index("Other Person")  # oldest untouched first
    carol = _j(home_section(bot.services, CAROL, Translator("en")))
    assert NAME not in carol and "Other Person" not in carol


# -- must show: privacy scan ----------------------------------------------------------------------------


def _allowed(call: Call, referrer: str, hr_users: set[str]) -> bool:
    """Where candidate details may go: the HR channel, the referrer's and HR members' DMs/ephemerals/Home."""
    people = {referrer, *hr_users}
    dms = people | {f"D{u}" for u in people}
    if call.method in {"chat.postMessage", "chat.update"}:
        return call.args.get("channel") in dms | {HR_CHANNEL}
    if call.method == "chat.postEphemeral":
        return call.args.get("user") in people
    if call.method == "views.publish":
        return call.args.get("user_id") in people
    if call.method == "response_url":
        return (call.key or "").split("-")[0] in people
    return False


def test_privacy_scan_of_every_message_and_log(bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    opportunity_id = _opportunity(bot)
    freeze(T0)
    bot.sender.block_action(
        OPEN_FROM_OPPORTUNITY_ACTION, str(opportunity_id), user=ALICE, channel=ALUMNI_CHANNEL
    )
    bot.fake.wait_for("views.open")
    referral = _refer_and_route(bot, opportunity_id=opportunity_id, url=URL)
    rid = int(referral.id or 0)
    # A duplicate attempt by someone else (the answer goes to them: only the date, no candidate data).
    dup = _submit(bot, user=CAROL, opportunity_id=opportunity_id, email=EMAIL.upper())
    assert "errors" in dup.json and not any(s in dup.text.lower() for s in SECRETS)
    # Forged moves by another member, HR's real work, the referrer's own views.
    bot.sender.block_action(
        STATUS_ACTION_PREFIX + "hired",
        f"{rid}:hired",
        user=CAROL,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url(f"{CAROL}-forged"),
    )
    bot.sender.block_action(
        WITHDRAW_ACTION,
        str(rid),
        user=CAROL,
        channel=ALUMNI_CHANNEL,
        response_url=bot.fake.response_url(f"{CAROL}-w"),
    )
    bot.sender.block_action(WITHDRAW_ACTION, str(rid), user=CAROL, channel=ALUMNI_CHANNEL)
    bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == CAROL)
    bot.sender.block_action(
        ASSIGN_ACTION,
        user=HR,
        channel=HR_CHANNEL,
        response_url=bot.fake.response_url(f"{HR}-assign"),
        action={"type": "users_select", "selected_user": HR, "block_id": f"{ASSIGN_BLOCK_PREFIX}{rid}"},
    )
    bot.fake.wait_for("response_url", lambda c: c.key == f"{HR}-assign")
    _move(bot, rid, "in_review", note=f"Spoke with {NAME}", share=True)
    _move(bot, rid, "interviewing")
    _move(bot, rid, "hired")
    _dms(bot, ALICE, count=4)
    mine = bot.sender.command(COMMAND, "mine", user=ALICE).json  # the referrer's own ephemeral
    assert NAME in _j(mine)
    other = bot.sender.command(COMMAND, "mine", user=CAROL).json
    assert not any(s in _j(other).lower() for s in SECRETS)
    for user in (ALICE, HR, CAROL, BOB):
        bot.sender.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": f"D{user}"})
        bot.fake.wait_for("views.publish", lambda c, u=user: c.args.get("user_id") == u)
    options = bot.sender.options(OPPORTUNITY_SELECT_ACTION, "", user=CAROL).text
    # The scheduled side, delivered for real: the stale flag (HR channel) and the weekly digest (shared).
    with bot.db.session() as session:
        referrals.submit_referral(
            session,
            actor=Actor(ALICE),
            opportunity_id=None,
            candidate_name=NAME,
            candidate_email=EMAIL,
            consent=True,
        )
    freeze(None)
    assert run_job(bot.services, "referrals_stale", at=T0 + timedelta(days=30)).count == 1
    assert run_job(bot.services, "digest", at=T0 + timedelta(days=30)).count == 1
    deliver_due(bot.services)
    digest = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)[0]
    assert "これまでの紹介経由の採用: *1* 件" in _j(digest.args)
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR_CHANNEL, count=2)

    # The scan itself.
    bot.fake.wait_for("views.publish", lambda c: c.args.get("user_id") == BOB)
    bot.settle()  # every listener's after-ack work has sent and logged what it will
    leaks = [
        call.summary()
        for call in list(bot.fake.calls)
        if not _allowed(call, ALICE, {HR}) and any(s in _j(call.args).lower() for s in SECRETS)
    ]
    assert leaks == []
    assert not any(s in options.lower() for s in SECRETS)
    # The scan is not vacuous: the allowed destinations did get the details.
    hr_posts = bot.fake.calls_to("chat.postMessage")
    assert any(EMAIL in _j(c.args) for c in hr_posts if c.args.get("channel") == HR_CHANNEL)
    assert any(NAME in _j(c.args) for c in bot.fake.calls_to("views.publish") if c.args["user_id"] == ALICE)
    assert not [
        c for c in bot.fake.calls_to("views.publish") if c.args["user_id"] == CAROL and NAME in _j(c.args)
    ]
    assert _leaking_records(caplog.records) == []


def _leaking_records(records: list[logging.LogRecord]) -> list[str]:
    """Log records (message, extras, traceback) that mention the candidate."""
    out = []
    for record in records:
        text = record.getMessage() + json.dumps(vars(record), default=str, ensure_ascii=False)
        if any(s in text.lower() for s in SECRETS):
            out.append(f"{record.name}: {record.getMessage()[:80]}")
    return out


def test_slack_client_debug_wire_dump_carries_no_candidate_data(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _refer_and_route(bot)
    bot.settle()  # the routing (after-ack work) has logged all it will
    assert _leaking_records(caplog.records) == []


def test_hr_message_survives_an_erased_referrer_and_owner() -> None:
    """After an erasure the ids are pseudonyms (models.privacy); the message still renders, without mentions."""
    pseudonym = "former-member-1a2b3c4d"
    referral = referrals.Referral(
        id=7, referrer_id=pseudonym, owner_id=pseudonym, candidate_name="-", consent_at=T0, status="in_review"
    )
    change = referrals.ReferralStatusChange(
        referral_id=7, at=T0, actor_id=pseudonym, from_status="submitted", to_status="in_review"
    )
    blob = _j(hr_message(Translator("en"), referral, opportunity_title=None, changes=[change])["blocks"])
    assert pseudonym in blob and "<@former" not in blob and "initial_user" not in blob
    assert "General referral" in blob


@pytest.fixture
def no_hr_channel_bot(fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    yield from _serve(fake_slack, db, alumni_hr_channel=None)


def test_without_an_hr_channel_nothing_is_collected(no_hr_channel_bot: BotHarness) -> None:
    bot = no_hr_channel_bot
    answer = bot.sender.command(COMMAND, "", user=ALICE).json
    assert "not set up yet" in answer["text"]
    assert "errors" in _submit(bot).json and _count(bot) == 0
    bot.settle()  # routing would be after-ack work
    assert not bot.fake.calls_to("views.open") and not bot.fake.calls_to("chat.postMessage")


def test_control_characters_are_dropped_not_crashed_on_or_logged(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL cannot store NUL: the text is cleaned, the referral stored, and no error log carries data."""
    caplog.set_level(logging.DEBUG)
    referral = _refer_and_route(bot, name="Jane\x00Doe\x07")
    assert referral.candidate_name == "JaneDoe"
    bot.settle()  # the routing (after-ack work) has logged all it will
    assert _leaking_records(caplog.records) == []
