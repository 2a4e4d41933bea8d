"""/opportunities end to end: signed requests in, the fake Slack out, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import func, select

from bot.blocks.opportunities import (
    ACTION_CLOSE,
    ACTION_EDIT,
    ACTION_FILL,
    ACTION_FILTER_KIND,
    ACTION_INTERESTED,
    ACTION_NEXT,
    ACTION_REMIND_CLOSE,
    ACTION_REMIND_EXTEND,
    BROWSE_BLOCK_PREFIX,
    FILLED_BY_BLOCK,
    SHORTCUT_POST,
    VIEW_FILLED,
    VIEW_POST,
    BrowseState,
)
from bot.slack_emulator.web_api import Call
from handlers.opportunities import announce
from models import opportunity as opps
from models.actors import Actor
from models.member import ensure_member
from models.timeutil import now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, BotHarness
from tests.slack_requests import datepicker
from tests.slack_requests import select as choose

EVIL = "<!channel> <https://evil.example|bank>"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _form(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": choose("job"),
        "title": "Backend engineer",
        "company": "Example KK",
        "description": "",
        "location": "",
        "work_style": choose(None),
        "skills": "",
        "compensation": "",
        "apply_url": "",
        "apply_contact": "",
        "expires_on": datepicker(None),
    }
    values.update(fields)
    return values


def _count(bot: BotHarness) -> int:
    with bot.db.session() as session:
        return int(session.exec(select(func.count()).select_from(opps.Opportunity)).one())


def _get(bot: BotHarness, opportunity_id: int) -> opps.Opportunity:
    with bot.db.session() as session:
        return opps.get_opportunity(session, opportunity_id)


def _channel_posts(bot: BotHarness) -> list[Call]:
    return [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == ALUMNI_CHANNEL]


def _dms(bot: BotHarness, user: str) -> list[Call]:
    return [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == user]


def _seed(bot: BotHarness, actor_id: str = ALICE, *, announce_it: bool = True, **fields: Any) -> int:
    """A post created through the domain (fast), announced like the modal does."""
    values: dict[str, Any] = {"title": "Data analyst", "company": "Acme"}
    values.update(fields)
    with bot.db.session() as session:
        created = opps.post_opportunity(
            session, actor=bot.services.actor(actor_id), draft=opps.Draft(**values), zone="Asia/Tokyo"
        )
        assert created.id is not None
        opportunity_id = created.id
    if announce_it:
        before = len(_channel_posts(bot))
        announce(bot.services, opportunity_id)
        bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL, before + 1)
    return opportunity_id


def _click(bot: BotHarness, action_id: str, opportunity_id: int, user: str, **kwargs: Any) -> None:
    post = _get(bot, opportunity_id)
    answer = bot.sender.block_action(
        action_id,
        str(opportunity_id),
        user=user,
        channel=post.channel_id or ALUMNI_CHANNEL,
        message={"ts": post.message_ts or "1.0", "text": "", "blocks": []},
        **kwargs,
    )
    assert answer.status == 200


def _ephemerals_to(bot: BotHarness, user: str, count: int = 1) -> list[Call]:
    return bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == user, count)


def _updates_of(bot: BotHarness, opportunity_id: int) -> list[Call]:
    ts = _get(bot, opportunity_id).message_ts
    return [c for c in bot.fake.calls_to("chat.update") if c.args.get("ts") == ts]


def _announcement(bot: BotHarness, opportunity_id: int) -> dict[str, Any]:
    ts = _get(bot, opportunity_id).message_ts
    return next(m for m in bot.fake.messages(ALUMNI_CHANNEL) if m["ts"] == ts)


def _action_ids(message: dict[str, Any]) -> set[str]:
    return {
        e.get("action_id") for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    }


# -- must show: HR rehire opening, found by others, interest DMs the poster once ---------------------


def test_hr_posts_a_rehire_opening_that_members_find_and_show_interest_in_once(bot: BotHarness) -> None:
    assert bot.sender.command("/opportunities", "post", user=HR).status == 200
    modal = bot.fake.wait_for("views.open")[0].args["view"]
    assert '"rehire"' in _dump(modal)

    answer = bot.sender.view_submission(
        VIEW_POST,
        _form(
            kind=choose("rehire"),
            title="出戻りエンジニア募集",
            description="法人営業の経験がある方も歓迎します。",
            skills="Python, 営業",
            work_style=choose("hybrid"),
        ),
        user=HR,
    )
    assert answer.status == 200 and not answer.text, answer.text
    post = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)[0]
    assert "出戻り採用" in _dump(post.args["blocks"]) and f"<@{HR}>" in _dump(post.args["blocks"])
    confirmation = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR)[0]
    assert "slack.com/archives/" in confirmation.args["text"]
    with bot.db.session() as session:
        opportunity = session.exec(select(opps.Opportunity)).one()
    assert opportunity.kind == "rehire" and opportunity.message_ts == post.response["ts"]

    # "歓迎" is only in the description; ｴﾝｼﾞﾆｱ is half-width; python is in the skills.
    for user, words in ((ALICE, ""), (ALICE, "歓迎"), (ALICE, "営業"), (BOB, "ｴﾝｼﾞﾆｱ"), (CAROL, "PYTHON")):
        found = bot.sender.command("/opportunities", words, user=user).json
        assert found["response_type"] == "ephemeral"
        assert "出戻りエンジニア募集" in _dump(found["blocks"]), (user, words)
    assert "出戻りエンジニア募集" not in _dump(bot.sender.command("/opportunities", "経理", user=ALICE).json)

    assert opportunity.id is not None
    _click(bot, ACTION_INTERESTED, opportunity.id, ALICE)
    _ephemerals_to(bot, ALICE, 1)
    _click(bot, ACTION_INTERESTED, opportunity.id, ALICE)
    second = _ephemerals_to(bot, ALICE, 2)[1]
    assert "already" in second.args["text"]
    # The poster's DM is after-ack work: wait for it, then for every click's work to end, then count.
    bot.fake.wait_for(
        "chat.postMessage", lambda c: c.args.get("channel") == HR and f"<@{ALICE}>" in c.args["text"]
    )
    bot.settle()
    dms = [c for c in _dms(bot, HR) if f"<@{ALICE}>" in c.args["text"]]
    assert len(dms) == 1
    assert "出戻りエンジニア募集" in dms[0].args["text"]
    bot.fake.wait_for("chat.update", lambda c: "興味あり 1 件" in _dump(c.args.get("blocks")))


def test_interest_shares_the_profile_summary_only_when_visibility_allows(bot: BotHarness) -> None:
    opportunity_id = _seed(bot, ALICE)
    with bot.db.session() as session:
        bob = ensure_member(session, slack_user_id=BOB)
        bob.current_company, bob.current_role, bob.skills = "Globex <!here>", "CTO", "Go, SQL"
        bob.consented_at = now()
        carol = ensure_member(session, slack_user_id=CAROL)
        carol.current_company, carol.skills = "Secret Corp", "Hidden"
        carol.visibility = "hr"  # visible to HR only; the poster is not HR
        carol.consented_at = now()
        hr = ensure_member(session, slack_user_id=HR)
        hr.current_company = "Not consented Inc"
    for user in (BOB, CAROL, HR):
        _click(bot, ACTION_INTERESTED, opportunity_id, user)
    dms = bot.fake.wait_for(
        "chat.postMessage", lambda c: c.args.get("channel") == ALICE and "<@U0" in c.args["text"], 3
    )
    by_user = {BOB: "", CAROL: "", HR: ""}
    for call in dms:
        for user in by_user:
            if f"<@{user}>" in call.args["text"]:
                by_user[user] = _dump(call.args["blocks"])
    assert "Globex &lt;!here&gt;" in by_user[BOB] and "CTO" in by_user[BOB]
    assert "Secret Corp" not in by_user[CAROL] and "Hidden" not in by_user[CAROL] and by_user[CAROL]
    assert "Not consented" not in by_user[HR] and by_user[HR]


# -- must show: no rehire for non-HR by any route; non-posters cannot close or edit ------------------


def test_a_non_hr_member_cannot_create_a_rehire_opening_by_any_route(bot: BotHarness) -> None:
    bot.sender.shortcut(SHORTCUT_POST, user=ALICE)
    modal = bot.fake.wait_for("views.open")[0].args["view"]
    kinds = next(b for b in modal["blocks"] if b["block_id"] == "kind")["element"]["options"]
    assert [o["value"] for o in kinds] == ["job", "gig", "collaboration"]

    forged = bot.sender.view_submission(VIEW_POST, _form(kind=choose("rehire")), user=ALICE)
    assert forged.json["response_action"] == "errors"
    assert "HR" in forged.json["errors"]["kind"]
    assert _count(bot) == 0

    own = _seed(bot, ALICE)
    edit = bot.sender.view_submission(
        VIEW_POST, _form(kind=choose("rehire")), user=ALICE, private_metadata=str(own)
    )
    assert edit.json["response_action"] == "errors" and "kind" in edit.json["errors"]
    assert _get(bot, own).kind == "job"


def test_a_non_poster_cannot_close_edit_or_fill_a_post(bot: BotHarness) -> None:
    opportunity_id = _seed(bot, ALICE)
    updates_before = len(_updates_of(bot, opportunity_id))
    for action in (ACTION_CLOSE, ACTION_EDIT, ACTION_FILL):
        _click(bot, action, opportunity_id, CAROL)
    refusals = _ephemerals_to(bot, CAROL, 3)
    assert all("Only the poster or HR" in c.args["text"] for c in refusals)
    forged_edit = bot.sender.view_submission(
        VIEW_POST, _form(title="Hijacked"), user=CAROL, private_metadata=str(opportunity_id)
    )
    assert forged_edit.json["response_action"] == "errors"
    forged_fill = bot.sender.view_submission(
        VIEW_FILLED,
        {FILLED_BY_BLOCK: {"type": "users_select", "selected_user": CAROL}},
        user=CAROL,
        private_metadata=str(opportunity_id),
    )
    assert forged_fill.json["response_action"] == "errors"
    for forged_id in ("99999999999999999999", "-1", "abc"):
        assert bot.sender.block_action(ACTION_CLOSE, forged_id, user=HR).status == 200
        forged_meta = bot.sender.view_submission(VIEW_POST, _form(), user=HR, private_metadata=forged_id)
        assert forged_meta.json["response_action"] == "errors"
    assert _count(bot) == 1
    post = _get(bot, opportunity_id)
    assert post.is_open and post.title == "Data analyst"
    bot.settle()  # the refused clicks' after-ack work (refusals) has ended: nothing else may follow
    assert bot.fake.calls_to("views.open") == []
    assert len(_updates_of(bot, opportunity_id)) == updates_before

    _click(bot, ACTION_CLOSE, opportunity_id, ALICE)
    bot.fake.wait_for("chat.update", lambda c: c.args.get("ts") == post.message_ts)
    assert _get(bot, opportunity_id).status == "closed"
    assert _action_ids(_announcement(bot, opportunity_id)) == set()
    assert "終了しました" in _dump(_announcement(bot, opportunity_id)["blocks"])


def test_the_poster_edits_and_marks_filled_and_the_announcement_follows(bot: BotHarness) -> None:
    opportunity_id = _seed(bot, ALICE)
    _click(bot, ACTION_EDIT, opportunity_id, ALICE)
    modal = bot.fake.wait_for("views.open")[0].args["view"]
    title_block = next(b for b in modal["blocks"] if b["block_id"] == "title")
    assert title_block["element"]["initial_value"] == "Data analyst"
    assert modal["private_metadata"] == str(opportunity_id)

    edited = bot.sender.view_submission(
        VIEW_POST, _form(title="Senior data analyst"), user=ALICE, private_metadata=modal["private_metadata"]
    )
    assert edited.status == 200 and not edited.text
    bot.fake.wait_for("chat.update", lambda c: "Senior data analyst" in _dump(c.args.get("blocks")))
    assert "Senior data analyst" in _dump(_announcement(bot, opportunity_id)["blocks"])

    _click(bot, ACTION_FILL, opportunity_id, HR)  # HR may manage any post
    fill_modal = bot.fake.wait_for("views.open", count=2)[1].args["view"]
    assert fill_modal["callback_id"] == VIEW_FILLED
    done = bot.sender.view_submission(
        VIEW_FILLED,
        {FILLED_BY_BLOCK: {"type": "users_select", "selected_user": BOB}},
        user=HR,
        private_metadata=fill_modal["private_metadata"],
    )
    assert done.status == 200 and not done.text
    # The filled rendering: "充足" alone also matches the open post's "充足にする" button (a race under load).
    bot.fake.wait_for(
        "chat.update",
        lambda c: (
            "充足" in _dump(c.args.get("blocks"))
            and not any(b.get("type") == "actions" for b in c.args.get("blocks") or [])
        ),
    )
    post = _get(bot, opportunity_id)
    assert post.status == "filled" and post.filled_by_member_id is not None
    assert _action_ids(_announcement(bot, opportunity_id)) == set()


# -- must show: invalid input, escaping ------------------------------------------------------------------


def test_invalid_input_gets_field_errors_and_creates_nothing(bot: BotHarness) -> None:
    yesterday = (now() - timedelta(days=2)).date().isoformat()
    answer = bot.sender.view_submission(
        VIEW_POST,
        _form(
            title="",
            description="あ" * 5000,
            apply_url="javascript:alert(document.cookie)",
            expires_on=datepicker(yesterday),
        ),
        user=ALICE,
    )
    assert answer.json["response_action"] == "errors"
    errors = answer.json["errors"]
    assert set(errors) == {"title", "description", "apply_url", "expires_on"}
    assert "3000" in errors["description"] and "http" in errors["apply_url"]
    assert _count(bot) == 0
    bot.settle()  # an announcement would be after-ack work
    assert _channel_posts(bot) == []


def test_user_text_is_shown_literally_everywhere(bot: BotHarness) -> None:
    answer = bot.sender.view_submission(
        VIEW_POST,
        _form(
            title=f"Lead {EVIL}",
            company=EVIL,
            description=EVIL,
            location=EVIL,
            skills=EVIL,
            compensation=EVIL,
            apply_contact=EVIL,
        ),
        user=ALICE,
    )
    assert answer.status == 200 and not answer.text, answer.text
    post = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)[0]
    dm = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALICE)[0]
    browse = bot.sender.command("/opportunities", "lead", user=CAROL).json
    mine = bot.sender.command("/opportunities", "mine", user=ALICE).json
    for shown in (post.args, dm.args, browse, mine):
        text = _dump({"text": shown.get("text"), "blocks": shown.get("blocks")})
        assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt;" in _dump(post.args["blocks"])
    assert "&lt;https://evil.example|bank&gt;" in _dump(post.args["blocks"])


# -- browsing ----------------------------------------------------------------------------------------


def test_pages_and_filters_replace_the_ephemeral_answer(bot: BotHarness) -> None:
    for i in range(10):
        _seed(bot, ALICE, announce_it=False, title=f"営業ポジション {i}", kind="gig" if i < 3 else "job")
    first = bot.sender.command("/opportunities", "営業", user=BOB).json
    text = _dump(first["blocks"])
    assert "営業ポジション 9" in text and "営業ポジション 2" in text and "営業ポジション 1" not in text
    nxt = next(
        e
        for b in first["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == ACTION_NEXT
    )
    url = bot.fake.response_url("page")
    bot.sender.block_action(ACTION_NEXT, nxt["value"], user=BOB, response_url=url, channel=None)
    bot.fake.wait_for("response_url", lambda c: c.key == "page")
    page = bot.fake.responses("page")[0]
    assert page["replace_original"] is True
    assert "営業ポジション 1" in _dump(page["blocks"]) and "営業ポジション 9" not in _dump(page["blocks"])

    filters = next(b for b in first["blocks"] if b.get("block_id", "").startswith(BROWSE_BLOCK_PREFIX))
    bot.sender.block_action(
        ACTION_FILTER_KIND,
        None,
        user=BOB,
        response_url=bot.fake.response_url("filter"),
        channel=None,
        action={
            "type": "static_select",
            "block_id": filters["block_id"],
            "selected_option": {"value": "gig"},
        },
    )
    bot.fake.wait_for("response_url", lambda c: c.key == "filter")
    filtered = _dump(bot.fake.responses("filter")[0]["blocks"])
    assert "営業ポジション 2" in filtered and "営業ポジション 3" not in filtered
    assert BrowseState.decode(filters["block_id"].removeprefix(BROWSE_BLOCK_PREFIX)).query == "営業"


def test_mine_lists_my_posts_with_status_and_help_explains(bot: BotHarness) -> None:
    open_id = _seed(bot, ALICE, announce_it=False, title="Open one")
    closed_id = _seed(bot, ALICE, announce_it=False, title="Closed one")
    _seed(bot, CAROL, announce_it=False, title="Not mine")
    with bot.db.session() as session:
        opps.close_opportunity(session, actor=Actor(ALICE), opportunity_id=closed_id)
    mine = _dump(bot.sender.command("/opportunities", "mine", user=ALICE).json)
    assert "Open one" in mine and "Closed one" in mine and "Not mine" not in mine
    assert "*Closed*" in mine and "*Open*" in mine
    assert open_id
    help_text = bot.sender.command("/opportunities", "help", user=BOB).json["text"]
    assert "/opportunities post" in help_text and "出戻り採用" in help_text


def test_app_home_shows_opportunities_for_you_and_my_posts(bot: BotHarness) -> None:
    _seed(bot, ALICE, announce_it=False, title="Job for you")
    _seed(bot, HR, announce_it=False, title="Rehire for you", kind="rehire")
    _seed(bot, CAROL, announce_it=False, title="Carol's own")
    bot.sender.event({"type": "app_home_opened", "user": CAROL, "tab": "home", "channel": "D1"})
    view = _dump(bot.fake.wait_for("views.publish")[0].args["view"])
    assert "Opportunities for you" in view and "My posts" in view
    assert view.index("Rehire for you") < view.index("Job for you") < view.index("Carol's own")


def test_the_reminder_dm_extends_by_30_days_or_closes(bot: BotHarness) -> None:
    opportunity_id = _seed(bot, ALICE)
    before = _get(bot, opportunity_id).expires_at
    answer = bot.sender.block_action(
        ACTION_REMIND_EXTEND,
        str(opportunity_id),
        user=ALICE,
        channel="D" + ALICE,
        message={"ts": "1.0", "text": "", "blocks": []},
    )
    assert answer.status == 200
    bot.fake.wait_for("chat.update", lambda c: c.args.get("ts") == _get(bot, opportunity_id).message_ts)
    assert _get(bot, opportunity_id).expires_at == before + timedelta(days=30)
    _click(bot, ACTION_REMIND_EXTEND, opportunity_id, CAROL)
    assert "Only the poster or HR" in _ephemerals_to(bot, CAROL)[0].args["text"]
    assert _get(bot, opportunity_id).expires_at == before + timedelta(days=30)

    bot.sender.block_action(
        ACTION_REMIND_CLOSE,
        str(opportunity_id),
        user=ALICE,
        channel="D" + ALICE,
        message={"ts": "1.0", "text": "", "blocks": []},
    )
    bot.fake.wait_for("chat.update", lambda c: "終了しました" in _dump(c.args.get("blocks")))
    assert _get(bot, opportunity_id).status == "closed"


def test_a_new_rehire_opening_sends_hr_its_private_matches(bot: BotHarness) -> None:
    from tests.handlers.test_directory import add_member

    add_member(bot, "U0MATCH01", name="Rehire Match", skills="Python, SQL", availability=["rehire"])
    add_member(bot, "U0NOPE001", name="Not Returning", skills="Python", availability=["gigs"])
    answer = bot.sender.view_submission(
        VIEW_POST, _form(kind=choose("rehire"), title="Data engineer", skills="Python, SQL"), user=HR
    )
    assert answer.status == 200 and not answer.text, answer.text
    matches = bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == HR and "Rehire Match" in _dump(c.args),
        timeout=10,
    )
    assert "Not Returning" not in _dump(matches[0].args)
    bot.settle()  # members' DMs, if any were sent, would be after-ack work
    assert _dms(bot, "U0MATCH01") == [] and _dms(bot, "U0NOPE001") == []
    # An ordinary job post sends HR no match list.
    bot.fake.reset()
    bot.sender.view_submission(VIEW_POST, _form(title="Sales", skills="Python"), user=HR)
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR)
    bot.settle()
    assert not [c for c in _dms(bot, HR) if "Rehire Match" in _dump(c.args)]
