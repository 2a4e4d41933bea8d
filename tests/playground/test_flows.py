"""The newcomer's flows through the playground's JSON API, on SQLite and PostgreSQL (no browser)."""

from __future__ import annotations

from bot.blocks.profiles import CONSENT
from models.profile import CONSENT_VERSION
from tests.playground.support import (
    ALUMNI_CHANNEL,
    ALUMNUS_EN,
    ALUMNUS_JA,
    HR,
    HR_CHANNEL,
    Client,
    click,
    fill,
    find,
    texts,
)


def test_the_japanese_alumnus_finds_a_sales_opening_and_says_interested(demo: Client) -> None:
    demo.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/opportunities 営業")

    results = demo.until(
        "the search results",
        lambda s: [m for m in demo.visible(s, ALUMNI_CHANNEL, ALUMNUS_JA) if "営業" in texts(m["blocks"])],
    )
    message = results[-1]
    assert message["ephemeral_to"] == ALUMNUS_JA  # "only visible to you"
    assert message not in demo.visible(demo.state(), ALUMNI_CHANNEL, ALUMNUS_EN)
    assert "インサイドセールス" in texts(message["blocks"])

    # Opening the result: its announcement in #alumni, where the bot put the "I'm interested" button.
    card = next(
        m
        for m in demo.visible(demo.state(), ALUMNI_CHANNEL, ALUMNUS_JA)
        if m["ephemeral_to"] is None and "インサイドセールス（営業企画）" in texts(m["blocks"])
    )
    block_id, button = find(card["blocks"], "opportunities_interested")
    demo.post(
        "/api/action",
        user=ALUMNUS_JA,
        source="message",
        channel=ALUMNI_CHANNEL,
        ts=card["ts"],
        action=click(block_id, button),
    )
    answer = demo.until(
        "the bot's answer to 'I'm interested'",
        lambda s: [
            m
            for m in demo.visible(s, ALUMNI_CHANNEL, ALUMNUS_JA)
            if float(m["ts"]) > float(message["ts"]) and m["ephemeral_to"] == ALUMNUS_JA
        ],
    )
    assert "興味があることをお伝えしました" in answer[-1]["text"]
    poster_dm = demo.until(
        "the poster's DM about the interest",
        lambda s: [
            m for m in s["messages"].get("DU0DEMO001", []) if ALUMNUS_JA in m["text"] + texts(m["blocks"])
        ],
    )
    assert poster_dm


def test_posting_an_opportunity_shows_the_field_error_first_then_announces_it(play: Client) -> None:
    play.post("/api/command", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="/opportunities post")
    modal = play.until("the post modal", lambda s: play.top_view(s, ALUMNUS_EN))
    assert "Title" in texts(modal["view"]["blocks"])

    bad = fill(modal["view"], {"kind": "job", "title": "Data engineer", "apply_url": "not a url"})
    answer = play.post("/api/view_submission", user=ALUMNUS_EN, view_id=modal["view_id"], state=bad)

    assert answer["response_action"] == "errors"
    assert "apply_url" in answer["errors"]
    still_open = play.top_view(play.state(), ALUMNUS_EN)
    assert still_open is not None and still_open["errors"] == answer["errors"]  # shown under the field

    good = fill(
        modal["view"],
        {"kind": "job", "title": "Data engineer", "apply_url": "https://example.com/jobs/data"},
    )
    play.post("/api/view_submission", user=ALUMNUS_EN, view_id=modal["view_id"], state=good)
    play.until("the modal to close", lambda s: play.top_view(s, ALUMNUS_EN) is None)
    play.until(
        "the announcement in #alumni",
        lambda s: [
            m for m in play.visible(s, ALUMNI_CHANNEL, ALUMNUS_JA) if "Data engineer" in texts(m["blocks"])
        ],
    )


def test_a_referral_reaches_the_hr_channel_and_hr_moves_it_on(demo: Client) -> None:
    demo.post("/api/command", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="/refer")
    modal = demo.until("the referral modal", lambda s: demo.top_view(s, ALUMNUS_EN))
    options = demo.post(
        "/api/options",
        user=ALUMNUS_EN,
        view_id=modal["view_id"],
        action_id="referrals.opportunity_select",
        block_id="opportunity",
        value="engineer",
    )
    choices = options["options"] or [o for g in options["option_groups"] for o in g["options"]]
    chosen = next(o for o in choices if "engineer" in o["text"]["text"].lower())
    state = fill(
        modal["view"],
        {
            "candidate_name": "Priya Shah",
            "candidate_email": "priya@example.net",
            "why_fit": "Led our data platform for three years.",
            "consent": ["agreed"],
        },
    )
    state["values"]["opportunity"] = {
        "referrals.opportunity_select": {"type": "external_select", "selected_option": chosen}
    }
    answer = demo.post("/api/view_submission", user=ALUMNUS_EN, view_id=modal["view_id"], state=state)
    assert answer["response_action"] != "errors", answer

    hr_channel = next(c for c in demo.state()["channels"] if c["id"] == HR_CHANNEL)
    assert hr_channel["kind"] == "private" and hr_channel["members"] == [HR]  # the referrer does not see it
    card = demo.until(
        "the referral in the HR channel",
        lambda s: next(
            (m for m in demo.visible(s, HR_CHANNEL, HR) if "Priya Shah" in texts(m["blocks"])), None
        ),
    )
    block_id, button = find(card["blocks"], "referrals.status.in_review")
    demo.post(
        "/api/action",
        user=HR,
        source="message",
        channel=HR_CHANNEL,
        ts=card["ts"],
        action=click(block_id, button),
    )
    note = demo.until("the status note modal", lambda s: demo.top_view(s, HR))
    demo.post(
        "/api/view_submission",
        user=HR,
        view_id=note["view_id"],
        state=fill(note["view"], {"note": "書類選考に進めます。"}),
    )
    moved = demo.until(
        "the HR card updated in place",
        lambda s: next(
            (m for m in demo.visible(s, HR_CHANNEL, HR) if m["ts"] == card["ts"] and m["edited"]), None
        ),
    )
    assert moved["blocks"] != card["blocks"]


def test_an_alumnus_agrees_to_be_listed_and_checks_in(play: Client) -> None:
    play.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/checkin")
    modal = play.until("the check-in modal", lambda s: play.top_view(s, ALUMNUS_JA))
    # Not listed yet: the check-in modal itself offers the welcome message's consent (issue 12, defect 5).
    consent = next(b for b in modal["view"]["blocks"] if b.get("block_id") == CONSENT)
    assert [o["value"] for o in consent["element"]["options"]] == [CONSENT_VERSION]
    answers = {
        "current_company": "株式会社ミライ",
        "whats_new": "新しいチームで営業を立ち上げました。",
        CONSENT: [CONSENT_VERSION],
        "share": ["share"],
    }
    saved = play.post(
        "/api/view_submission", user=ALUMNUS_JA, view_id=modal["view_id"], state=fill(modal["view"], answers)
    )
    assert saved["response_action"] == "update"
    play.until(
        "the shared check-in in #alumni",
        lambda s: [
            m
            for m in play.visible(s, ALUMNI_CHANNEL, ALUMNUS_EN)
            if "新しいチームで営業を立ち上げました" in m["text"] + texts(m["blocks"])
        ],
    )
    # Listed now: the next check-in no longer asks.
    play.post("/api/view_closed", user=ALUMNUS_JA, view_id=modal["view_id"])
    assert play.top_view(play.state(), ALUMNUS_JA) is None
    play.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/checkin")
    again = play.until("the check-in modal again", lambda s: play.top_view(s, ALUMNUS_JA))
    assert not [b for b in again["view"]["blocks"] if b.get("block_id") == CONSENT]


def test_rsvp_to_the_demo_event(demo: Client) -> None:
    demo.post("/api/command", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="/events")
    listing = demo.until(
        "the events list",
        lambda s: next(
            (
                m
                for m in demo.visible(s, ALUMNI_CHANNEL, ALUMNUS_EN)
                if "events_rsvp_going" in texts(m["blocks"])
            ),
            None,
        ),
    )
    assert "Alumni winter meetup" in texts(listing["blocks"])
    block_id, button = find(listing["blocks"], "events_rsvp_going")
    demo.post(
        "/api/action",
        user=ALUMNUS_EN,
        source="message",
        channel=ALUMNI_CHANNEL,
        ts=listing["ts"],
        action=click(block_id, button),
    )
    demo.until(
        "the RSVP acknowledged",
        lambda s: [
            m
            for m in demo.visible(s, ALUMNI_CHANNEL, ALUMNUS_EN)
            if m["ts"] >= listing["ts"]
            and m is not listing
            and ("going" in (m["text"] + texts(m["blocks"])).lower())
        ],
    )


def test_hr_exports_members_and_downloads_the_csv(demo: Client) -> None:
    demo.post("/api/command", user=HR, channel=HR_CHANNEL, text="/alumni-admin")
    admin = demo.until("the admin modal", lambda s: demo.top_view(s, HR))
    block_id, button = find(admin["view"]["blocks"], "admin_export_members", value="members")
    demo.post("/api/action", user=HR, source="view", view_id=admin["view_id"], action=click(block_id, button))

    shared = demo.until(
        "the export in HR's DM",
        lambda s: next((m for m in s["messages"].get("DU0PLAYHR01", []) if m.get("files")), None),
    )
    file = shared["files"][0]
    assert file["name"].endswith(".csv") and file["url"] == f"/files/{file['id']}"
    assert any(f["id"] == file["id"] for f in demo.state()["files"])

    status, content, headers = demo.request("GET", file["url"])
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment;")
    csv_text = content.decode("utf-8-sig")
    assert "鈴木 由紀" in csv_text  # a consented demo alumnus is in the export


def test_someone_who_is_not_hr_is_refused_the_admin_panel(play: Client) -> None:
    play.post("/api/command", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="/alumni-admin")
    refusal = play.until(
        "the refusal",
        lambda s: [m for m in play.visible(s, ALUMNI_CHANNEL, ALUMNUS_EN) if m["ephemeral_to"] == ALUMNUS_EN],
    )
    assert "HR" in refusal[-1]["text"]
    assert play.top_view(play.state(), ALUMNUS_EN) is None


def test_the_clock_panel_runs_the_weekly_digest_once_per_period(demo: Client) -> None:
    before = len(demo.state()["messages"][ALUMNI_CHANNEL])
    ran = demo.post("/api/jobs/run", name="digest")
    assert ran["claimed"] and ran["sent"] == ran["queued"] >= 1

    digest = demo.state()["messages"][ALUMNI_CHANNEL][before:]
    assert digest and any("インサイドセールス" in texts(m["blocks"]) + m["text"] for m in digest)

    again = demo.post("/api/jobs/run", name="digest")
    assert not again["claimed"] and again["period"] == ran["period"]
    assert len(demo.state()["messages"][ALUMNI_CHANNEL]) == before + len(digest)


def test_a_job_run_as_of_another_instant_uses_that_period(play: Client) -> None:
    ran = play.post("/api/jobs/run", name="digest", at="2027-01-11T09:00")
    assert ran["at"].startswith("2027-01-11T00:00")  # 09:00 in Asia/Tokyo, the workspace zone
    assert ran["period"] != play.post("/api/jobs/run", name="digest")["period"]


def test_the_app_home_opens_and_its_buttons_work(play: Client) -> None:
    play.post("/api/home_opened", user=ALUMNUS_EN)
    home = play.until("the Home tab", lambda s: s["home"].get(ALUMNUS_EN))
    assert home["type"] == "home" and "Welcome" in texts(home["blocks"])
    block_id, button = find(home["blocks"], "opportunities_open_post")
    play.post(
        "/api/action", user=ALUMNUS_EN, source="home", view_id=home["id"], action=click(block_id, button)
    )
    modal = play.until("the post modal from Home", lambda s: play.top_view(s, ALUMNUS_EN))
    assert modal["view"]["callback_id"] == "opportunities_post_view"


def test_a_shortcut_opens_its_modal(play: Client) -> None:
    play.post("/api/shortcut", user=ALUMNUS_JA, callback_id="referrals_refer")
    modal = play.until("the referral modal", lambda s: play.top_view(s, ALUMNUS_JA))
    assert modal["view"]["callback_id"] == "referrals_submit"


def test_hr_pushes_the_import_modal_and_closing_it_returns_to_the_admin_panel(play: Client) -> None:
    play.post("/api/command", user=HR, channel=HR_CHANNEL, text="/alumni-admin")
    admin = play.until("the admin modal", lambda s: play.top_view(s, HR))
    block_id, button = find(admin["view"]["blocks"], "admin_import_open")
    play.post("/api/action", user=HR, source="view", view_id=admin["view_id"], action=click(block_id, button))
    stack = play.until(
        "the pushed import modal", lambda s: len(s["views"].get(HR, [])) == 2 and s["views"][HR]
    )
    assert (
        stack[0]["view_id"] == admin["view_id"] and stack[1]["view"]["callback_id"] == "admin_import_submit"
    )

    empty = play.post(
        "/api/view_submission", user=HR, view_id=stack[1]["view_id"], state=fill(stack[1]["view"], {})
    )
    assert empty["response_action"] == "errors" and "file" in empty["errors"]  # a roster file is required
    play.post("/api/view_closed", user=HR, view_id=stack[1]["view_id"])
    assert [v["view_id"] for v in play.state()["views"][HR]] == [admin["view_id"]]


def test_the_monthly_report_posts_its_chart_for_download(demo: Client) -> None:
    ran = demo.post("/api/jobs/run", name="monthly_report")
    assert ran["claimed"] and ran["failed"] == 0
    chart = demo.until(
        "the report chart in the HR channel",
        lambda s: next(
            (
                f
                for m in s["messages"].get(HR_CHANNEL, [])
                for f in m.get("files", [])
                if f["name"].endswith(".png")
            ),
            None,
        ),
    )
    status, content, headers = demo.request("GET", chart["url"])
    assert status == 200 and headers["Content-Type"] == "image/png" and content.startswith(b"\x89PNG")
