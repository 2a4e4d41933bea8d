"""`/alumni` directory search, the profile modal, and HR's private rehire list (signed requests, fake Slack)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.blocks.directory import MORE_ACTION
from bot.blocks.profiles import PROFILE_CALLBACK
from bot.profiles import notify_rehire_matches
from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import Call
from models.actors import Actor
from models.member import VISIBILITY_HR, VISIBILITY_MEMBERS, Member, get_member
from models.profile import ProfileInput, give_consent, update_profile
from tests.conftest import ALICE, BOB, CAROL, HR, BotHarness
from tests.slack_requests import datepicker


def radio(value: str) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": {"value": value}}


def profile_values(**fields: Any) -> dict[str, Any]:
    """A profile modal submission: text fields as str, `availability` a list, the rest raw states."""
    values: dict[str, Any] = {
        "former_department": "",
        "former_role": "",
        "joined_year": "",
        "left_year": "",
        "current_company": "",
        "current_role": "",
        "location": "",
        "skills": "",
        "interests": "",
        "availability": [],
        "available_until": datepicker(None),
        "visibility": radio(VISIBILITY_MEMBERS),
    }
    for key, value in fields.items():
        if key == "visibility":
            value = radio(value)
        elif key == "available_until":
            value = datepicker(value)
        values[key] = value
    return values


def add_member(
    bot: BotHarness, user_id: str, *, name: str = "", consent: bool = True, **profile: Any
) -> None:
    """A member with a profile, straight through the domain (the HTTP flow has its own tests)."""
    with bot.db.session() as session:
        update_profile(
            session, actor=Actor(user_id), data=ProfileInput(**profile), display_name=name or user_id
        )
        if consent:
            give_consent(session, actor=Actor(user_id))


def search(bot: BotHarness, text: str, *, user: str) -> dict[str, Any]:
    answer = bot.sender.command("/alumni", text, user=user)
    assert answer.status == 200
    body: dict[str, Any] = answer.json
    assert body["response_type"] == "ephemeral"
    assert violations("message", body.get("blocks")) == []
    return body


def shown(body: dict[str, Any]) -> str:
    return json.dumps(body.get("blocks") or body.get("text"), ensure_ascii=False)


def opened_view(bot: BotHarness, callback_id: str, count: int = 1) -> dict[str, Any]:
    calls = bot.fake.wait_for("views.open", lambda c: c.args["view"].get("callback_id") == callback_id, count)
    view: dict[str, Any] = calls[-1].args["view"]
    return view


# -- search ---------------------------------------------------------------------------------------


def test_search_by_skill_company_and_availability_answers_privately_with_message_links(
    bot: BotHarness,
) -> None:
    add_member(
        bot, "U0ANN0001", name="Ann Lee", skills="Python, SQL", current_company="Acme", availability=["gigs"]
    )
    add_member(
        bot,
        "U0KEN0001",
        name="佐藤 健",
        skills="営業",
        current_company="株式会社さくら技研",
        former_department="営業部",
    )
    body = search(bot, "gig python", user=ALICE)
    assert "Ann Lee" in shown(body) and "佐藤" not in shown(body)
    assert "slack://user?team=T1&id=U0ANN0001" in shown(body)
    assert "gigs/contract work" in shown(body)  # the availability, in the searcher's language
    body = search(bot, "さくら技研", user=BOB)
    assert "佐藤 健" in shown(body) and "Ann Lee" not in shown(body)
    assert "メッセージを送る" in shown(body)
    body = search(bot, "業務委託", user=BOB)
    assert "Ann Lee" in shown(body)
    body = search(bot, "cobol", user=ALICE)
    assert "No alumni found" in body["text"] and "cobol" in body["text"]


def test_hr_only_profiles_never_appear_in_a_members_search(bot: BotHarness) -> None:
    add_member(bot, "U0OPEN001", name="Open Olga", skills="Kotlin")
    add_member(bot, "U0HIDE001", name="Hidden Hana", skills="Kotlin", visibility=VISIBILITY_HR)
    add_member(bot, "U0NOAG001", name="Not Agreed", skills="Kotlin", consent=False)
    for user in (ALICE, BOB, CAROL):
        for query in ("kotlin", "hidden", "hana", "not agreed"):
            text = shown(search(bot, query, user=user))
            assert "Hidden Hana" not in text and "Not Agreed" not in text
    hr_view = shown(search(bot, "kotlin", user=HR))
    assert "Hidden Hana" in hr_view and "Open Olga" in hr_view and "Not Agreed" not in hr_view
    assert "人事のみに公開" in hr_view  # HR sees why it is hidden from members (HR's Slack locale is ja)


def test_user_text_is_escaped_in_results(bot: BotHarness) -> None:
    add_member(
        bot,
        "U0EVIL001",
        name="<!channel> Eve",
        skills="<https://evil.example|bank>",
        current_company="<!here>",
        current_role="CEO & founder",
    )
    text = shown(search(bot, "eve", user=ALICE))
    for raw in ("<!channel>", "<!here>", "<https://evil.example|bank>"):
        assert raw not in text
    assert (
        "&lt;!channel&gt; Eve" in text
        and "&lt;https://evil.example|bank&gt;" in text
        and "CEO &amp; founder" in text
    )
    text = search(bot, "<!channel>", user=ALICE)["text"]
    assert "<!channel>" not in text


def test_more_results_page_through_the_response_url(bot: BotHarness) -> None:
    for i in range(12):
        add_member(bot, f"U0RUST{i:03d}", name=f"Rustacean {i}", skills="Rust")
    body = search(bot, "rust", user=ALICE)
    first = shown(body)
    assert first.count("Rustacean") == 10
    more = next(e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert more["action_id"] == MORE_ACTION
    url = bot.fake.response_url("more")
    bot.sender.block_action(MORE_ACTION, more["value"], user=ALICE, response_url=url)
    bot.fake.wait_for("response_url")
    page = bot.fake.responses("more")[-1]
    assert page["replace_original"] is True
    assert shown(page).count("Rustacean") == 2 and MORE_ACTION not in shown(page)
    # A forged value is ignored.
    bot.sender.block_action(MORE_ACTION, "not json", user=ALICE, response_url=url)
    assert len(bot.fake.responses("more")) == 1


def test_help_is_still_there(bot: BotHarness) -> None:
    assert "/alumni profile" in search(bot, "help", user=ALICE)["text"]
    assert "/alumni profile" in search(bot, "", user=ALICE)["text"]


# -- profile modal --------------------------------------------------------------------------------


def test_profile_modal_saves_and_rejects_bad_input_with_field_errors(bot: BotHarness) -> None:
    add_member(bot, ALICE, name="Alice", current_company="Acme", joined_year="2010")
    assert bot.sender.command("/alumni", "profile", user=ALICE).status == 200
    view = opened_view(bot, PROFILE_CALLBACK)
    assert violations("modal", view["blocks"], view) == []
    company = next(b for b in view["blocks"] if b.get("block_id") == "current_company")
    assert company["element"]["initial_value"] == "Acme"  # prefilled

    bad = profile_values(
        current_company="Changed", joined_year="2018", left_year="2016", interests="x" * 3000
    )
    answer = bot.sender.view_submission(PROFILE_CALLBACK, bad, user=ALICE, blocks=view["blocks"])
    assert answer.status == 200
    assert answer.json["response_action"] == "errors"
    errors = answer.json["errors"]
    assert set(errors) == {"left_year", "interests"}
    assert "before the year you joined" in errors["left_year"] and "2000" in errors["interests"]
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None and (member.current_company, member.joined_year) == ("Acme", 2010)

    good = profile_values(
        current_company="Globex",
        joined_year="2010",
        left_year="2019",
        skills="Python、 ＳＱＬ",
        availability=["rehire", "mentoring"],
        visibility=VISIBILITY_HR,
    )
    answer = bot.sender.view_submission(PROFILE_CALLBACK, good, user=ALICE, blocks=view["blocks"])
    assert answer.json["response_action"] == "update"
    assert "Thanks" in json.dumps(answer.json["view"])
    with bot.db.session() as session:
        member = get_member(session, slack_user_id=ALICE)
        assert member is not None
        assert (member.current_company, member.left_year, member.skills) == ("Globex", 2019, "Python, SQL")
        assert member.availability() == ["rehire", "mentoring"] and member.visibility == VISIBILITY_HR
    bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE)


def test_a_forged_submission_only_ever_edits_the_senders_own_profile(bot: BotHarness) -> None:
    add_member(bot, BOB, name="Bob", current_company="Bob Co")
    values = profile_values(current_company="Hacked")
    answer = bot.sender.view_submission(
        PROFILE_CALLBACK, values, user=CAROL, private_metadata=json.dumps({"user": BOB})
    )
    assert answer.json["response_action"] == "update"
    with bot.db.session() as session:
        bob = get_member(session, slack_user_id=BOB)
        carol = get_member(session, slack_user_id=CAROL)
        assert bob is not None and bob.current_company == "Bob Co"
        assert carol is not None and carol.current_company == "Hacked"


# -- rehire matching ------------------------------------------------------------------------------


def _dms(bot: BotHarness, user: str) -> list[Call]:
    return [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == user]


def test_rehire_matches_go_privately_to_hr_best_first_and_members_are_not_told(bot: BotHarness) -> None:
    add_member(bot, "U0BEST001", name="Best Match", skills="Python, SQL, Go", availability=["rehire"])
    add_member(bot, "U0GOOD001", name="Good <Match>", skills="python", availability=["rehire"])
    add_member(bot, "U0GIGS001", name="Gig Only", skills="Python, SQL", availability=["gigs"])
    add_member(
        bot,
        "U0HIDE001",
        name="HR Only Rehire",
        skills="SQL",
        availability=["rehire"],
        visibility=VISIBILITY_HR,
    )
    notify_rehire_matches(bot.services, hr_user_id=HR, title="Backend <engineer>", skills=["Python", "SQL"])
    call = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR)[0]
    text = json.dumps(call.args["blocks"], ensure_ascii=False)
    assert text.index("Best Match") < text.index("Good &lt;Match&gt;")
    assert "HR Only Rehire" in text and "Gig Only" not in text
    assert "Backend &lt;engineer&gt;" in text and "<engineer>" not in text
    for member in ("U0BEST001", "U0GOOD001", "U0HIDE001"):
        assert _dms(bot, member) == []
    # Someone without the HR role gets nothing, whatever the caller passes.
    notify_rehire_matches(bot.services, hr_user_id=ALICE, title="x", skills=["Python"])
    assert _dms(bot, ALICE) == []


def test_no_rehire_matches_still_answers_hr(bot: BotHarness) -> None:
    notify_rehire_matches(bot.services, hr_user_id=HR, title="COBOL", skills=["COBOL"])
    call = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR)[0]
    assert "COBOL" in call.args["text"]
    with bot.db.session() as session:
        assert session.exec(select(Member)).all() == []
