"""The engagement features of issue 16 through the playground's JSON API, on SQLite and PostgreSQL (no
browser): reconnect intros, alumni stories, pulse surveys, company news and email invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.playground.workspace import LEADER, STAFF_CHANNEL
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

# Demo alumni (bot/playground/demo.py): consented, checked in, in Slack.
YUKI = "U0DEMO001"  # 鈴木 由紀, ja-JP
OLIVER = "U0DEMO017"  # Oliver Brown, en-GB


def _bot_dm(client: Client, user: str, action_id: str) -> dict[str, Any]:
    """The newest message in the bot's DM with `user` that has a button `action_id`."""
    return client.until(  # type: ignore[no-any-return]
        f"{action_id} in {user}'s DM",
        lambda s: next(
            (m for m in reversed(s["messages"].get(f"D{user}", [])) if action_id in texts(m["blocks"])), None
        ),
    )


def _press(client: Client, user: str, channel: str, message: dict[str, Any], action_id: str) -> None:
    block_id, button = find(message["blocks"], action_id)
    client.post(
        "/api/action",
        user=user,
        source="message",
        channel=channel,
        ts=message["ts"],
        action=click(block_id, button),
    )


def _modal(client: Client, user: str, what: str) -> dict[str, Any]:
    """`user`'s top modal once one is open."""
    return client.until(what, lambda s: client.top_view(s, user))  # type: ignore[no-any-return]


def _home(client: Client, user: str, action_id: str) -> dict[str, Any]:
    """`user`'s Home tab once it shows a button `action_id`."""
    client.post("/api/home_opened", user=user)
    return client.until(  # type: ignore[no-any-return]
        f"{action_id} on {user}'s Home tab",
        lambda s: (
            s["home"].get(user) if action_id in texts((s["home"].get(user) or {}).get("blocks", [])) else None
        ),
    )


def test_two_alumni_opt_in_to_intros_meet_in_a_group_dm_and_answer_the_follow_up(demo: Client) -> None:
    # One opts in with `/alumni 紹介`, the other from the Home tab's "Join intros".
    demo.post("/api/command", user=YUKI, channel=ALUMNI_CHANNEL, text="/alumni 紹介")
    home = _home(demo, OLIVER, "intros_prefs_open")
    block_id, button = find(home["blocks"], "intros_prefs_open")
    demo.post("/api/action", user=OLIVER, source="home", view_id=home["id"], action=click(block_id, button))
    for user in (YUKI, OLIVER):
        modal = _modal(demo, user, "the intro settings")
        answer = demo.post(
            "/api/view_submission",
            user=user,
            view_id=modal["view_id"],
            state=fill(modal["view"], {"opted_in": ["on"]}),
        )
        assert answer["response_action"] != "errors", answer

    ran = demo.post("/api/jobs/run", name="intro_round")
    assert ran["claimed"] and ran["sent"] == ran["queued"] == 1

    # The group DM the bot opened is in both members' sidebars (named by them), and only theirs.
    group = next(c for c in demo.state()["channels"] if c["kind"] == "mpim")
    assert sorted(group["members"]) == sorted([YUKI, OLIVER])
    assert "鈴木 由紀" in group["title"] and "Oliver Brown" in group["title"]
    intro = demo.state()["messages"][group["id"]][0]
    assert "再会の時間です" in texts(intro["blocks"]) and "Time to reconnect" in texts(intro["blocks"])
    demo.post("/api/message", user=OLIVER, channel=group["id"], text="Hi Yuki, coffee next week?")
    refused, _, _ = demo.request(
        "POST", "/api/message", {"user": ALUMNUS_EN, "channel": group["id"], "text": "let me in"}
    )
    assert refused == 400  # someone else cannot write in their group DM

    # A week later, "did you meet?" in the same group DM; one member answers.
    later = (datetime.now(UTC) + timedelta(days=8)).isoformat()
    follow = demo.post("/api/jobs/run", name="intro_follow_up", at=later)
    assert follow["claimed"] and follow["sent"] == 1
    question = next(
        m for m in demo.state()["messages"][group["id"]] if "intros_met_yes" in texts(m["blocks"])
    )
    assert "Did you get to meet?" in texts(question["blocks"])
    _press(demo, YUKI, group["id"], question, "intros_met_yes")
    thanks = demo.until(
        "the thanks only Yuki sees",
        lambda s: [m for m in demo.visible(s, group["id"], YUKI) if m["ephemeral_to"] == YUKI],
    )
    assert "ありがとう" in thanks[-1]["text"]
    assert not [m for m in demo.visible(demo.state(), group["id"], OLIVER) if m["ephemeral_to"]]


def test_hr_drafts_a_story_its_subject_approves_it_goes_to_alumni_and_staff_and_withdrawing_replaces_both(
    demo: Client,
) -> None:
    demo.post("/api/command", user=HR, channel=HR_CHANNEL, text="/alumni story")
    modal = demo.until("the story draft modal", lambda s: demo.top_view(s, HR))
    draft = {
        "subject": YUKI,
        "title": "出戻りして 1 年",
        "body": "営業に戻って一年。アルムナイの皆さんに感謝しています。",
    }
    answer = demo.post(
        "/api/view_submission", user=HR, view_id=modal["view_id"], state=fill(modal["view"], draft)
    )
    assert answer["response_action"] != "errors", answer

    # The subject approves the exact text in their DM; it is posted to #alumni and the staff channel.
    request = _bot_dm(demo, YUKI, "story_approve")
    assert "営業に戻って一年" in texts(request["blocks"])
    _press(demo, YUKI, f"D{YUKI}", request, "story_approve")

    def copies(state: dict[str, Any], *, edited: bool) -> dict[str, dict[str, Any]] | None:
        found: dict[str, Any] = {
            channel: next(
                (m for m in state["messages"].get(channel, []) if m["edited"] == edited and m["bot"]), None
            )
            for channel in (ALUMNI_CHANNEL, STAFF_CHANNEL)
        }
        return found if all(found.values()) else None

    posted = demo.until("the story in #alumni and the staff channel", lambda s: copies(s, edited=False))
    assert "出戻りして 1 年" in texts(posted[STAFF_CHANNEL]["blocks"])
    staff = next(c for c in demo.state()["channels"] if c["id"] == STAFF_CHANNEL)
    assert staff["kind"] == "private" and HR in staff["members"] and YUKI not in staff["members"]

    # The subject withdraws it from their Home tab: both copies are replaced by a short note.
    home = _home(demo, YUKI, "story_withdraw")
    block_id, button = find(home["blocks"], "story_withdraw")
    demo.post("/api/action", user=YUKI, source="home", view_id=home["id"], action=click(block_id, button))
    replaced = demo.until("both copies replaced", lambda s: copies(s, edited=True))
    for message in replaced.values():
        assert "取り下げ" in message["text"] and "営業に戻って一年" not in texts(message["blocks"])


def test_hr_runs_a_pulse_survey_members_answer_and_hr_downloads_the_chart_and_csv(demo: Client) -> None:
    demo.post("/api/command", user=HR, channel=HR_CHANNEL, text="/alumni アンケート")
    modal = demo.until("the survey modal", lambda s: demo.top_view(s, HR))
    state = fill(
        modal["view"], {"title": "満足度調査 / Pulse", "q1_prompt": "満足度は？ / How satisfied are you?"}
    )
    state["values"]["audience"] = {
        "audience": {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "all"}, "value": "all"},
        }
    }
    answer = demo.post("/api/view_submission", user=HR, view_id=modal["view_id"], state=state)
    assert answer["response_action"] != "errors", answer

    sent = demo.post("/api/jobs/run", name="surveys_invitations")  # the clock panel (every few minutes)
    assert sent["claimed"] and sent["sent"] >= 5

    # Five members answer from their invitation DM, the survey's minimum for results.
    for user, score in zip(
        ["U0DEMO001", "U0DEMO002", "U0DEMO003", OLIVER, "U0DEMO018"], "45534", strict=True
    ):
        invitation = _bot_dm(demo, user, "surveys_answer")
        _press(demo, user, f"D{user}", invitation, "surveys_answer")
        form = _modal(demo, user, "the answer modal")
        question = next(b for b in form["view"]["blocks"] if b["type"] == "input")
        done = demo.post(
            "/api/view_submission",
            user=user,
            view_id=form["view_id"],
            state=fill(form["view"], {question["block_id"]: score}),
        )
        assert done["response_action"] == "update"  # the thanks

    home = _home(demo, HR, "surveys_close")
    block_id, button = find(home["blocks"], "surveys_close")
    demo.post("/api/action", user=HR, source="home", view_id=home["id"], action=click(block_id, button))
    home = _home(demo, HR, "surveys_results")
    block_id, button = find(home["blocks"], "surveys_results")
    demo.post("/api/action", user=HR, source="home", view_id=home["id"], action=click(block_id, button))

    results = _bot_dm(demo, HR, "surveys_chart")
    assert "満足度調査" in texts(results["blocks"])
    _press(demo, HR, f"D{HR}", results, "surveys_chart")
    _press(demo, HR, f"D{HR}", results, "surveys_export")
    files = demo.until(
        "the chart and the CSV in HR's DM",
        lambda s: (
            found
            if len(found := [f for m in s["messages"][f"D{HR}"] for f in m.get("files", [])]) >= 2
            else None
        ),
    )
    by_kind = {f["name"].rsplit(".", 1)[-1]: f for f in files}
    status, png, headers = demo.request("GET", by_kind["png"]["url"])
    assert status == 200 and headers["Content-Type"] == "image/png" and png.startswith(b"\x89PNG")
    status, csv, _ = demo.request("GET", by_kind["csv"]["url"])
    assert status == 200 and "How satisfied" in csv.decode("utf-8-sig")


def test_a_leader_previews_and_posts_company_news_and_an_alumnus_may_not(play: Client) -> None:
    people = {p["id"]: p for p in play.state()["people"]}
    assert people[LEADER]["roles"] == ["leader"]
    leader_dm = f"D{LEADER}"
    play.post("/api/command", user=LEADER, channel=leader_dm, text="/alumni ニュース")
    modal = play.until("the news modal", lambda s: play.top_view(s, LEADER))
    news = {
        "title": "大阪オフィス開設 / Osaka office",
        "body": "大阪に新しいオフィスを開きました。We opened in Osaka.",
    }
    block_id, button = find(modal["view"]["blocks"], "news_preview")
    play.post(
        "/api/action",
        user=LEADER,
        source="view",
        view_id=modal["view_id"],
        action=click(block_id, button),
        state=fill(modal["view"], news),
    )
    preview = play.until(
        "the preview under the fields",
        lambda s: (
            (top := play.top_view(s, LEADER)) and "We opened in Osaka" in texts(top["view"]["blocks"]) and top
        ),
    )
    answer = play.post(
        "/api/view_submission", user=LEADER, view_id=preview["view_id"], state=fill(preview["view"], news)
    )
    assert answer["response_action"] == "update"
    play.until(
        "the news in #alumni",
        lambda s: [
            m
            for m in play.visible(s, ALUMNI_CHANNEL, ALUMNUS_EN)
            if m["bot"] and "大阪オフィス開設" in m["text"] + texts(m["blocks"])
        ],
    )

    play.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/alumni news")
    refusal = play.until(
        "the refusal",
        lambda s: [m for m in play.visible(s, ALUMNI_CHANNEL, ALUMNUS_JA) if m["ephemeral_to"] == ALUMNUS_JA],
    )
    assert refusal and play.top_view(play.state(), ALUMNUS_JA) is None


def test_hr_invites_leavers_not_in_slack_and_the_emails_land_in_the_playground_mailbox(demo: Client) -> None:
    assert demo.state()["mails"] == []
    demo.post("/api/command", user=HR, channel=HR_CHANNEL, text="/alumni invitations")
    listing = demo.until(
        "the people not in Slack",
        lambda s: next(
            (m for m in demo.visible(s, HR_CHANNEL, HR) if "invitations_invite_all" in texts(m["blocks"])),
            None,
        ),
    )
    assert "Tom Walker" in texts(listing["blocks"]) and "小川 和樹" in texts(listing["blocks"])
    _press(demo, HR, HR_CHANNEL, listing, "invitations_invite_all")

    mails = demo.until("three invitation emails", lambda s: len(s["mails"]) == 3 and s["mails"])
    by_to = {m["to"][0]: m for m in mails}
    japanese, english = by_to["kazuki.ogawa@example.net"], by_to["tom.walker@example.net"]
    assert "ご招待" in japanese["subject"] and "小川 和樹 様" in japanese["body"]
    assert "invit" in english["subject"].lower() and "Tom Walker" in english["body"]
    assert "https://join.slack.com/" in english["body"]
