"""The Block Kit renderer in Chromium: every fixture drawn and screenshotted, mrkdwn, dates, elements."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from tests.playground.browser.conftest import SHOTS

pytestmark = pytest.mark.browser

FIXTURES: list[dict[str, Any]] = json.loads(
    (resources.files("bot.playground") / "static" / "fixtures" / "blockkit.json").read_text("utf-8")
)


def open_check(page: Any, only: str, tz: str = "Asia/Tokyo", locale: str = "ja-JP") -> Any:
    page.goto(f"{page.base_url}static/blockkit-check.html?only={only}&tz={tz}&locale={locale}")
    page.wait_for_selector("body[data-ready='1']")
    return page.locator(f"[data-fixture='{only}']")


def last_log(card: Any) -> Any:
    text = card.locator(".ck-log").inner_text()
    return json.loads(text) if text else None


def test_every_fixture_is_drawn_and_what_slack_refuses_is_shown_as_slacks_error(page: Any) -> None:
    out = SHOTS / "blockkit"
    out.mkdir(parents=True, exist_ok=True)
    for fixture in FIXTURES:
        card = open_check(page, fixture["name"])
        assert page.get_by_text("PLAYGROUND").first.is_visible()
        errors = card.locator(".bk-slack-error")
        if fixture["valid"]:
            assert errors.count() == 0, fixture["name"]
            assert card.locator(".bk-block").count() == len(fixture["blocks"]), fixture["name"]
        else:
            assert errors.count() == 1 and "invalid_blocks" in errors.inner_text(), fixture["name"]
            assert card.locator(".bk-block").count() == 0  # nothing half-drawn
        card.screenshot(path=str(out / f"{fixture['name']}.png"))
    assert len(list(out.glob("*.png"))) >= len(FIXTURES)


def test_mrkdwn_is_formatted_like_slack_and_user_text_stays_literal(page: Any) -> None:
    card = open_check(page, "section_mrkdwn")
    text = card.locator(".bk-section-text")
    assert text.locator("b").first.inner_text() == "bold"
    assert text.locator("i").first.inner_text() == "italic"
    assert text.locator("s").first.inner_text() == "strike"
    assert text.locator("code").first.inner_text() == "code"
    assert text.locator("b i").inner_text() == "bold italic"
    link = text.locator("a", has_text="A job link")
    assert link.get_attribute("href") == "https://example.com/jobs"
    assert text.locator(".bk-mention").first.inner_text() == "@佐藤 花子"
    assert text.locator(".bk-channel").inner_text() == "#alumni"
    assert text.locator(".bk-broadcast").inner_text() == "@here"
    seen = text.inner_text()
    # Escaped control characters show as typed and never become a link; unbalanced markers stay text.
    assert "<not a link> & 5 > 3" in seen
    assert text.locator("a").count() == 4
    # `_` and `*` inside a URL never start a style; a style around a link applies to it.
    underscored = text.locator("a", has_text="under_score_link")
    assert underscored.get_attribute("href") == "https://example.com/_a_/*b*"
    assert text.locator("b > a").get_attribute("href") == "https://example.com/bold"
    assert "* not bold *" in seen and "snake_case_name" in seen
    assert [li.inner_text() for li in text.locator("li").all()] == ["first item", "second item with bold"]
    assert text.locator("blockquote").inner_text() == "a quoted line"
    assert "preformatted *not bold*" in text.locator("pre").inner_text()


@pytest.mark.parametrize(
    ("tz", "locale", "shown"),
    [
        ("Asia/Tokyo", "ja-JP", "19:00"),
        ("Europe/London", "en-GB", "10:00"),
        ("America/Los_Angeles", "en-US", "2:00"),
    ],
)
def test_a_date_token_is_shown_in_the_viewers_time_zone(page: Any, tz: str, locale: str, shown: str) -> None:
    card = open_check(page, "section_mrkdwn", tz=tz, locale=locale)
    date = card.locator(".bk-date").inner_text()
    assert shown in date
    assert "2026-01-01 10:00 UTC" not in date  # the fallback is only for clients that cannot format


def test_buttons_send_their_action_and_a_confirm_dialog_guards_the_dangerous_one(page: Any) -> None:
    card = open_check(page, "buttons")
    card.get_by_role("button", name="I'm interested").click()
    action = last_log(card)
    assert action["type"] == "button" and action["action_id"] == "primary" and action["value"] == "p"
    assert action["block_id"] == "a"

    card.get_by_role("button", name="Withdraw").click()
    dialog = page.get_by_role("alertdialog")
    assert "This cannot be" in dialog.inner_text() and dialog.locator("b").inner_text() == "undone"
    dialog.get_by_role("button", name="Keep").click()
    assert last_log(card)["action_id"] == "primary"  # denied: nothing sent
    card.get_by_role("button", name="Withdraw").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Withdraw").click()
    assert last_log(card)["action_id"] == "danger"


def test_overflow_and_selects_send_the_chosen_option(page: Any) -> None:
    card = open_check(page, "overflow")
    card.get_by_role("button", name="More actions").click()
    card.get_by_role("button", name="Close").click()
    assert last_log(card)["selected_option"]["value"] == "close"

    card = open_check(page, "static_select")
    card.locator("[data-action-id='grouped'] select").select_option(label="Engineering")
    action = last_log(card)
    assert action["type"] == "static_select" and action["selected_option"]["value"] == "l-eng"

    card = open_check(page, "users_select")
    card.locator("[data-action-id='user'] select").select_option(label="Emma Clarke")
    assert last_log(card)["selected_user"] == "U0PLAYEN01"


def test_inputs_are_read_back_as_slacks_view_state(page: Any) -> None:
    card = open_check(page, "text_inputs")
    card.locator("[data-action-id='title'] input").fill("Product designer")
    card.locator("[data-action-id='capacity'] input").fill("30")
    card.locator("[data-action-id='email'] input").fill("emma@example.com")
    card.get_by_role("button", name="view.state").click()
    values = last_log(card)["values"]
    assert values["title"]["title"] == {"type": "plain_text_input", "value": "Product designer"}
    assert values["desc"]["desc"] == {"type": "plain_text_input", "value": None}  # empty is null, as in Slack
    assert values["num"]["capacity"] == {"type": "number_input", "value": "30"}
    assert values["mail"]["email"]["value"] == "emma@example.com"

    card = open_check(page, "checkboxes")
    card.get_by_text("Gigs").click()
    card.get_by_role("button", name="view.state").click()
    picked = last_log(card)["values"]["cb"]["open_to"]["selected_options"]
    assert [o["value"] for o in picked] == ["gigs", "mentoring"]

    card = open_check(page, "radio_buttons")
    card.get_by_text("Maybe").click()
    card.get_by_role("button", name="view.state").click()
    assert last_log(card)["values"]["rb"]["rsvp"]["selected_option"]["value"] == "maybe"


def test_a_datetimepicker_reads_and_writes_the_instant_in_the_viewers_zone(page: Any) -> None:
    card = open_check(page, "date_pickers", tz="Europe/London", locale="en-GB")
    picker = card.locator("[data-action-id='starts'] input")
    assert picker.input_value() == "2026-01-01T10:00"  # 1767261600 is 10:00 in London
    picker.fill("2026-12-24T19:00")
    card.get_by_role("button", name="view.state").click()
    values = last_log(card)["values"]
    assert values["dt"]["starts"]["selected_date_time"] == 1798138800  # 19:00 GMT on 24 Dec 2026
    assert values["d"]["date"]["selected_date"] == "2026-12-24"
    assert values["t"]["time"]["selected_time"] == "19:00"

    card = open_check(page, "date_pickers", tz="Asia/Tokyo")
    assert card.locator("[data-action-id='starts'] input").input_value() == "2026-01-01T19:00"


def test_an_external_select_asks_for_options_as_the_person_types(page: Any) -> None:
    card = open_check(page, "external_select")
    card.locator(".bk-external-search").fill("prod")
    card.get_by_role("button", name="Product designer").click()
    card.get_by_role("button", name="view.state").click()
    chosen = last_log(card)["values"]["es"]["opportunity"]
    assert chosen["type"] == "external_select" and chosen["selected_option"]["value"] == "2"


def test_a_field_error_is_shown_under_its_field(page: Any) -> None:
    card = open_check(page, "input_errors")
    block = card.locator("[data-block-id='title']")
    assert "Please enter a title" in block.locator(".bk-field-error").inner_text()
