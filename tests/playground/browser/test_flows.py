"""A newcomer's flows on the playground page in Chromium: what a person clicks, types and sees.

Everything goes through the page (sidebar, message box, Block Kit buttons, modals, clock panel), which
goes through the JSON API to the real bot. Assertions read the page, never the API.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import t
from bot.playground.server import Playground
from bot.playground.workspace import ALUMNUS_EN, ALUMNUS_JA, HR
from tests.playground.browser.conftest import ROOT, SHOTS

pytestmark = pytest.mark.browser


class SlackPage:
    """The playground page as a person uses it."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, user: str) -> SlackPage:
        self.page.goto(f"{self.page.base_url}?as={user}")
        self.page.wait_for_selector("#pg-person option", state="attached")
        # The module shares one playground: close whatever modal an earlier test left open for them.
        if self.page.locator(".pg-modal-x").count():
            self.page.locator(".pg-modal-x").click()
            self.modal.wait_for(state="detached")
        return self

    def switch_to(self, user: str) -> None:
        self.page.select_option("#pg-person", value=user)

    def go(self, name: str) -> None:
        """Opens a sidebar entry: a channel by name, `dm` (the bot's DM) or `home` (its App Home)."""
        if name == "home":
            self.page.click(".pg-nav[data-nav='home']")
        else:
            self.page.click(f".pg-nav[data-name='{name}']")

    def send(self, text: str) -> None:
        box = self.page.locator("#pg-composer-input")
        box.fill(text)
        box.press("Enter")

    def message(self, *needles: str, ephemeral: bool | None = None) -> Any:
        """The last message in the open channel that shows every one of `needles`."""
        found = self.page.locator("#pg-messages .pg-message")
        for needle in needles:
            found = found.filter(has_text=needle)
        if ephemeral is not None:
            found = found.filter(has=self.page.locator(".pg-only-you")) if ephemeral else found
        found = found.last
        found.wait_for()
        return found

    @property
    def modal(self) -> Any:
        return self.page.locator(".pg-modal[role='dialog']")

    def field(self, block_id: str) -> Any:
        return self.modal.locator(f".bk-block-input[data-block-id='{block_id}']")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture
def slack(page: Any) -> SlackPage:
    return SlackPage(page)


def test_the_japanese_alumnus_searches_opens_a_result_and_says_interested(slack: SlackPage) -> None:
    slack.open(ALUMNUS_EN)
    slack.switch_to(ALUMNUS_JA)
    assert "佐藤 花子" in slack.page.locator("#pg-person option:checked").inner_text()
    assert slack.page.locator(".pg-banner").inner_text().startswith("PLAYGROUND")

    slack.send("/opportunities 営業")
    results = slack.message("インサイドセールス", ephemeral=True)
    assert "あなただけに表示されています" in results.inner_text()  # the page speaks the viewer's language
    slack.shot("opportunities_search_ja")

    # Open a result: its "view post" link jumps to the announcement in #alumni.
    results.locator(".bk-block-section", has_text="インサイドセールス（営業企画）").get_by_role(
        "link", name=t("opportunities.view_post", "ja")
    ).click()
    card = slack.page.locator(".pg-message.pg-highlight")
    card.wait_for()
    assert "インサイドセールス（営業企画）" in card.inner_text()

    card.get_by_role("button", name=t("opportunities.buttons.interested", "ja"), exact=True).click()
    answer = slack.message("興味があることをお伝えしました", ephemeral=True)
    assert answer.is_visible()
    slack.shot("opportunities_interested_ja")

    # Someone else does not see her ephemeral answers.
    slack.switch_to(ALUMNUS_EN)
    assert slack.page.locator(".pg-message", has_text="興味があることをお伝えしました").count() == 0


def test_posting_an_opportunity_shows_the_field_error_first(slack: SlackPage) -> None:
    slack.open(ALUMNUS_EN)
    slack.send("/opportunities post")
    slack.modal.wait_for()
    slack.field("title").locator("input").fill("Data engineer")
    slack.field("apply_url").locator("input").fill("not a url")
    slack.modal.locator(".pg-modal-submit").click()

    error = slack.field("apply_url").locator(".bk-field-error")
    error.wait_for()
    assert error.inner_text().strip()
    assert slack.field("title").locator("input").input_value() == "Data engineer"  # nothing lost
    slack.shot("post_opportunity_field_error")

    slack.field("apply_url").locator("input").fill("https://example.com/jobs/data")
    slack.modal.locator(".pg-modal-submit").click()
    slack.modal.wait_for(state="detached")
    slack.go("alumni")
    announcement = slack.message("Data engineer")
    # Channel posts speak the workspace's language (Japanese here), whoever posted.
    interested = t("opportunities.buttons.interested", "ja")
    assert announcement.get_by_role("button", name=interested, exact=True).is_visible()
    slack.shot("post_opportunity_announced")


def test_refer_someone_then_hr_sees_it_moves_it_on(slack: SlackPage) -> None:
    slack.open(ALUMNUS_EN)
    slack.send("/refer")
    slack.modal.wait_for()
    search = slack.field("opportunity").locator(".bk-external-search")
    search.fill("engineer")
    slack.modal.locator(".bk-suggestions .bk-menu-item", has_text=re.compile("engineer", re.I)).first.click()
    slack.field("candidate_name").locator("input").fill("Priya Shah")
    slack.field("candidate_email").locator("input").fill("priya@example.net")
    slack.field("why_fit").locator("textarea, input").first.fill("Led our data platform for three years.")
    slack.field("consent").locator("input[type=checkbox]").first.check()
    slack.shot("referral_modal")
    slack.modal.locator(".pg-modal-submit").click()
    slack.modal.wait_for(state="detached")
    # The referrer is not in the HR channel and does not see it in the sidebar.
    assert slack.page.locator(".pg-nav[data-name='alumni-hr']").count() == 0

    slack.switch_to(HR)
    slack.go("alumni-hr")
    card = slack.message("Priya Shah")
    before = card.inner_text()
    card.locator("[data-action-id='referrals.status.in_review'] button").click()
    slack.modal.wait_for()
    slack.modal.locator("textarea, input[type=text]").first.fill("書類選考に進めます。")
    slack.modal.locator(".pg-modal-submit").click()
    slack.modal.wait_for(state="detached")
    moved = slack.page.locator(".pg-message", has_text="Priya Shah").filter(
        has=slack.page.locator(".pg-edited")
    )
    moved.last.wait_for()
    assert moved.last.inner_text() != before
    slack.shot("referral_moved_on_by_hr")


def test_check_in_after_agreeing_to_be_listed(slack: SlackPage) -> None:
    slack.open(ALUMNUS_JA)
    slack.send("/alumni privacy")
    panel = slack.message(ephemeral=True)
    panel.locator("[data-action-id='privacy_consent'] button").click()
    slack.page.locator("[data-action-id='privacy_withdraw']").last.wait_for()

    slack.send("/checkin")
    slack.modal.wait_for()
    slack.field("current_company").locator("input").fill("株式会社ミライ")
    slack.field("whats_new").locator("textarea, input").first.fill("新しいチームで営業を立ち上げました。")
    slack.field("share").locator("input[type=checkbox]").first.check()
    slack.shot("checkin_modal")
    slack.modal.locator(".pg-modal-submit").click()
    # response_action: update shows the thank-you view; closing it leaves the check-in shared.
    slack.page.wait_for_function("() => !document.querySelector('.pg-modal [data-block-id=share]')")
    if slack.modal.count():
        slack.modal.locator(".pg-modal-x").click()
    slack.switch_to(ALUMNUS_EN)
    shared = slack.message("新しいチームで営業を立ち上げました")
    assert "株式会社ミライ" in shared.inner_text() or shared.is_visible()
    slack.shot("checkin_shared_seen_by_emma")


def test_rsvp_to_the_event(slack: SlackPage) -> None:
    slack.open(ALUMNUS_EN)
    slack.send("/events")
    listing = slack.message("Alumni winter meetup", ephemeral=True)
    # The start is shown in Emma's zone (London): 19:00 in Tokyo is 10:00 GMT.
    assert "10:00" in listing.inner_text()
    your_answer = t("events.list.your_answer", "en", answer=t("events.answer.going", "en")).replace("*", "")
    assert your_answer not in listing.inner_text()
    listing.locator("[data-action-id='events_rsvp_going'] button").first.click()
    # The bot updates the list in place with her answer.
    slack.message("Alumni winter meetup", your_answer, ephemeral=True)
    slack.shot("event_rsvp")


def test_hr_opens_the_admin_panel_exports_members_and_downloads_the_csv(slack: SlackPage) -> None:
    slack.open(HR)
    slack.go("alumni-hr")
    slack.send("/alumni-admin")
    slack.modal.wait_for()
    slack.shot("admin_panel")
    # The click has reached the bot (and been acked) before the modal closes; the CSV then arrives in the DM
    # through the outbox, which may take a few seconds on a busy machine.
    with slack.page.expect_response(lambda response: "/api/action" in response.url):
        slack.modal.locator("[data-action-id='admin_export_members'] button").first.click()
    slack.modal.locator(".pg-modal-x").click()
    slack.go("dm")
    shared = slack.page.locator(".pg-message .pg-file", has_text=".csv").last.locator("a")
    shared.wait_for(timeout=60_000)
    with slack.page.expect_download() as download_info:
        shared.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "鈴木 由紀" in content
    slack.shot("admin_export_downloaded")


def test_run_the_weekly_digest_from_the_clock_panel_and_see_it_in_alumni(slack: SlackPage) -> None:
    slack.open(ALUMNUS_JA)
    slack.go("alumni")
    before = slack.page.locator("#pg-messages .pg-message").count()
    slack.page.locator(".pg-job[data-job='digest'] button").click()
    slack.page.locator(".pg-job-result", has_text="digest").wait_for()
    slack.page.wait_for_function(
        f"() => document.querySelectorAll('#pg-messages .pg-message').length > {before}"
    )
    digest = slack.page.locator("#pg-messages .pg-message").last
    assert "インサイドセールス" in digest.inner_text()
    slack.shot("digest_in_alumni")


def test_the_readme_screenshot(slack: SlackPage) -> None:
    """The README's picture of the playground; written to docs/ only when PLAYGROUND_README_SCREENSHOT=1."""
    slack.open(ALUMNUS_JA)
    slack.go("alumni")
    slack.send("/opportunities 営業")
    results = slack.message("インサイドセールス", ephemeral=True)
    results.scroll_into_view_if_needed()
    assert slack.page.locator(".pg-banner").is_visible()  # the picture says "Playground" too
    if os.environ.get("PLAYGROUND_README_SCREENSHOT") == "1":
        target = ROOT / "docs" / "playground.png"
        target.parent.mkdir(exist_ok=True)
        slack.page.screenshot(path=str(target))
    slack.shot("readme")


def test_the_monthly_report_arrives_with_its_chart_in_a_thread(slack: SlackPage) -> None:
    slack.open(HR)
    slack.go("alumni-hr")
    slack.page.locator(".pg-job[data-job='monthly_report'] button").click()
    slack.page.locator(".pg-job-result", has_text="monthly_report").wait_for()
    report = slack.page.locator("#pg-messages .pg-message").filter(has=slack.page.locator(".pg-replies")).last
    report.wait_for()
    report.locator(".pg-replies").click()
    # The report's thread carries two charts: members and activity, and the hiring funnel.
    charts = slack.page.locator("#pg-thread .pg-file", has_text=".png")
    charts.nth(1).wait_for()
    chart = charts.first
    preview = slack.page.locator("#pg-thread .pg-file-preview").first
    preview.wait_for()
    slack.page.wait_for_function(
        "() => { const i = document.querySelector('#pg-thread .pg-file-preview'); return i && i.naturalWidth > 0; }"
    )
    with slack.page.expect_download() as download_info:
        chart.locator("a").click()
    assert Path(download_info.value.path()).read_bytes().startswith(b"\x89PNG")
    slack.shot("monthly_report_thread")


def test_a_pushed_modal_goes_back_to_the_one_below_and_keeps_field_errors_at_the_field(
    slack: SlackPage,
) -> None:
    slack.open(HR)
    slack.go("alumni-hr")
    slack.send("/alumni-admin")
    slack.modal.wait_for()
    admin_title = slack.modal.locator(".pg-modal-title").inner_text()
    slack.modal.locator("[data-action-id='admin_import_open'] button").click()
    slack.page.locator(".pg-modal-back").wait_for()  # a second view on the stack
    slack.modal.locator(".pg-modal-submit").click()
    error = slack.field("file").locator(".bk-field-error")
    error.wait_for()
    slack.shot("admin_import_file_required")
    slack.page.locator(".pg-modal-back").click()
    slack.page.locator(".pg-modal-back").wait_for(state="detached")
    assert slack.modal.locator(".pg-modal-title").inner_text() == admin_title


def test_the_app_home_opens_and_its_button_opens_a_modal(slack: SlackPage) -> None:
    slack.open(ALUMNUS_EN)
    slack.go("home")
    home = slack.page.locator(".pg-home")
    home.wait_for()
    assert "Welcome back" in home.inner_text()
    assert "👋" in home.inner_text()  # :wave: drawn as Slack draws it
    home.locator("[data-action-id='opportunities_open_post'] button").click()
    slack.modal.wait_for()
    assert slack.modal.get_attribute("data-callback-id") == "opportunities_post_view"
    slack.shot("app_home")


def test_adding_a_person_switches_to_them(slack: SlackPage) -> None:
    slack.open(ALUMNUS_EN)
    form = slack.page.locator(".pg-add-person")
    form.locator("[name=name]").fill("Ada Lovelace")
    form.locator("[name=locale]").select_option("en-GB")
    form.locator("[name=tz]").fill("Europe/London")
    form.get_by_role("button").click()
    slack.page.wait_for_function(
        "() => document.querySelector('#pg-person option:checked').textContent.includes('Ada Lovelace')"
    )
    # The newcomer sees the public channel and their own DM with the bot, not HR's channel.
    assert slack.page.locator(".pg-nav[data-name='alumni']").is_visible()
    assert slack.page.locator(".pg-nav[data-name='alumni-hr']").count() == 0


def test_an_error_slack_answered_the_bot_is_shown_not_hidden(
    slack: SlackPage, playground: Playground
) -> None:
    slack.open(ALUMNUS_EN)
    playground.slack.record_error(
        "chat.postMessage",
        "invalid_blocks",
        ["must be less than 76 characters [json-pointer:/blocks/0/text]"],
    )
    shown = slack.page.locator(".pg-slack-error", has_text="chat.postMessage: invalid_blocks")
    shown.wait_for()
    assert "must be less than 76 characters" in shown.inner_text()
    # ...and said where the person is looking, not only in the panel.
    notice = slack.page.locator("#pg-notices .pg-notice", has_text="chat.postMessage: invalid_blocks")
    assert "Slack refused what the bot sent" in notice.inner_text()
