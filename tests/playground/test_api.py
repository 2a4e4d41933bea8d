"""The playground's JSON API: its state, its refusals, and Slack's errors shown instead of hidden."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from tests.playground.support import (
    ALUMNI_CHANNEL,
    ALUMNUS_EN,
    ALUMNUS_JA,
    HR,
    HR_CHANNEL,
    ORGANIZER,
    Client,
)


def test_state_describes_the_workspace_without_any_credential(play: Client) -> None:
    state = play.state()

    people = {p["id"]: p for p in state["people"]}
    assert people[ALUMNUS_JA]["locale"] == "ja-JP" and people[ALUMNUS_JA]["tz"] == "Asia/Tokyo"
    assert people[ALUMNUS_EN]["locale"].startswith("en") and people[ALUMNUS_EN]["tz"] == "Europe/London"
    assert people[HR]["roles"] == ["hr"] and people[ORGANIZER]["roles"] == ["organizer"]
    assert state["me_default"] == ALUMNUS_JA
    kinds = {c["id"]: c["kind"] for c in state["channels"]}
    assert kinds[ALUMNI_CHANNEL] == "public" and kinds[HR_CHANNEL] == "private"
    assert kinds[f"D{ALUMNUS_JA}"] == "im"
    commands = {c["command"]: c for c in state["commands"]}
    assert commands["/opportunities"]["usage_hint"] and "/" in commands["/refer"]["description"]
    assert {j["name"] for j in state["jobs"]} >= {"digest", "monthly_report", "checkin_nudges"}
    assert state["clock"]["frozen"] is False
    # The run's own token and signing secret never reach the page.
    raw = json.dumps(state)
    assert play.pg.settings.slack_bot_token not in raw and play.pg.settings.slack_signing_secret not in raw


def test_state_answers_briefly_when_nothing_changed(play: Client) -> None:
    version = play.state()["version"]
    status, answer, _ = play.request("GET", f"/api/state?since={version}")
    assert status == 200 and answer == {"version": version, "changed": False}

    play.post("/api/message", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="Hello <everyone> & all")
    status, answer, _ = play.request("GET", f"/api/state?since={version}&wait=5")
    assert answer["changed"] is True and answer["version"] > version
    typed = answer["messages"][ALUMNI_CHANNEL][-1]
    assert typed["user"] == ALUMNUS_EN and typed["text"] == "Hello <everyone> & all" and not typed["bot"]


def test_refusals_are_400_with_a_reason(play: Client) -> None:
    cases = [
        ("/api/command", {"user": "UNOBODY", "channel": ALUMNI_CHANNEL, "text": "/refer"}),
        ("/api/command", {"user": ALUMNUS_EN, "channel": ALUMNI_CHANNEL, "text": "refer"}),
        # A private channel is for its members only: the page cannot post there as someone else.
        ("/api/message", {"user": ALUMNUS_EN, "channel": HR_CHANNEL, "text": "hi"}),
        ("/api/message", {"user": ALUMNUS_EN, "channel": f"D{ALUMNUS_JA}", "text": "hi"}),
        ("/api/view_submission", {"user": ALUMNUS_EN, "view_id": "VNOPE", "state": {}}),
        (
            "/api/action",
            {
                "user": ALUMNUS_EN,
                "source": "message",
                "channel": ALUMNI_CHANNEL,
                "ts": "1.2",
                "action": {"action_id": "x"},
            },
        ),
        ("/api/jobs/run", {"name": "no_such_job"}),
        ("/api/jobs/run", {"name": "digest", "at": "next monday"}),
        ("/api/people", {"name": "Ana", "locale": "en-US", "tz": "Mars/Olympus"}),
        ("/api/people", {"name": "", "locale": "en-US", "tz": "UTC"}),
        ("/api/files", {"user": ALUMNUS_EN, "name": "a.csv", "content_base64": "***"}),
    ]
    for path, body in cases:
        status, answer, _ = play.request("POST", path, body)
        assert status == 400 and answer["ok"] is False and answer["error"], (path, body, answer)
    status, answer, _ = play.request("POST", "/api/command", raw=b"{not json")
    assert status == 400
    status, answer, _ = play.request("GET", "/files/FNOPE")
    assert status == 404
    status, answer, _ = play.request("GET", "/static/../../server.py")
    assert status == 404
    status, answer, _ = play.request("POST", "/api/nope", {})
    assert status == 404


def test_an_unknown_command_is_answered_like_slack_in_the_persons_language(play: Client) -> None:
    play.post("/api/command", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="/nope")
    play.post("/api/command", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="/nope")
    state = play.state()
    ja = [m["text"] for m in state["messages"][ALUMNI_CHANNEL] if m["ephemeral_to"] == ALUMNUS_JA]
    en = [m["text"] for m in state["messages"][ALUMNI_CHANNEL] if m["ephemeral_to"] == ALUMNUS_EN]
    assert ja == [
        "/nope は有効なコマンドではありません。プレイグラウンドでは / を入力するとアプリのコマンドが表示されます。"
    ]
    assert en and en[0].startswith("/nope is not a valid command")


def test_a_new_person_joins_and_the_bot_welcomes_them(play: Client) -> None:
    added = play.post("/api/people", name="Ana Souza", locale="en-US", tz="America/Sao_Paulo")
    person = next(p for p in play.state()["people"] if p["id"] == added["id"])
    assert person["real_name"] == "Ana Souza" and person["tz"] == "America/Sao_Paulo"
    # Slack sends team_join; the bot's onboarding DMs the newcomer (in English: their locale).
    welcome = play.until("the welcome DM", lambda s: s["messages"].get(f"D{added['id']}"))
    assert welcome[-1]["bot"] and "Welcome to the alumni community" in welcome[-1]["text"]


def test_an_uploaded_file_is_readable_by_the_bot(play: Client) -> None:
    uploaded = play.post(
        "/api/files",
        user=HR,
        name="roster.csv",
        content_base64=base64.b64encode(b"email\na@example.com\n").decode(),
    )
    file_id = uploaded["file"]["id"]
    info = play.pg.services.client.files_info(file=file_id)
    assert info["file"]["name"] == "roster.csv"


def test_slack_errors_reach_the_page_instead_of_being_hidden(demo: Client) -> None:
    demo.pg.slack.fail("chat.postMessage", error="not_in_channel", times=5)
    ran = demo.post("/api/jobs/run", name="digest")
    assert ran["sent"] == 0
    errors = demo.state()["slack_errors"]
    assert {"method": "chat.postMessage", "error": "not_in_channel", "messages": []} in errors


def test_other_web_sites_cannot_drive_the_playground(play: Client) -> None:
    # A cross-site form can send text/plain without a CORS preflight: refused.
    status, _answer, _ = play.request(
        "POST",
        "/api/message",
        raw=json.dumps({"user": ALUMNUS_EN, "channel": ALUMNI_CHANNEL, "text": "x"}).encode(),
        content_type="text/plain",
    )
    assert status == 415
    # A page whose domain was rebound to 127.0.0.1 sends its own Host: refused.
    req = urllib.request.Request(play.base + "/api/state", headers={"Host": "evil.example:3000"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)
    assert refused.value.code == 403
    assert not [m for m in play.state()["messages"].get(ALUMNI_CHANNEL, []) if m["text"] == "x"]


def test_a_command_in_the_bots_dm_is_answered_there(play: Client) -> None:
    dm = f"D{ALUMNUS_JA}"
    play.post("/api/command", user=ALUMNUS_JA, channel=dm, text="/alumni help")
    answer = play.until(
        "the help in the DM",
        lambda s: [m for m in s["messages"].get(dm, []) if m["ephemeral_to"] == ALUMNUS_JA],
    )
    assert "/opportunities" in answer[-1]["text"] + json.dumps(answer[-1]["blocks"], ensure_ascii=False)
    assert not play.state()["messages"].get(ALUMNI_CHANNEL)


def test_thread_replies_are_counted_on_their_parent(play: Client) -> None:
    parent = play.post(
        "/api/message", user=ALUMNUS_EN, channel=ALUMNI_CHANNEL, text="Who is going on Friday?"
    )
    play.post(
        "/api/message", user=ALUMNUS_JA, channel=ALUMNI_CHANNEL, text="行きます！", thread_ts=parent["ts"]
    )
    messages = {m["ts"]: m for m in play.state()["messages"][ALUMNI_CHANNEL]}
    assert messages[parent["ts"]]["reply_count"] == 1
    [reply] = [m for m in messages.values() if m["thread_ts"] == parent["ts"]]
    assert reply["text"] == "行きます！" and reply["user"] == ALUMNUS_JA


def test_an_ack_slack_would_refuse_is_shown_as_slacks_error_not_drawn(play: Client) -> None:
    from bot.playground.bridge import Answer

    too_long = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}}
    body = {"text": "hi", "blocks": [{"type": "actions", "elements": [too_long]}]}
    play.pg.bridge._show_ack_message(
        ALUMNUS_EN, ALUMNI_CHANNEL, Answer(200, json.dumps(body)), where="/x (ack)"
    )

    state = play.state()
    assert not state["messages"].get(ALUMNI_CHANNEL)
    [error] = state["slack_errors"]
    assert error["method"] == "/x (ack)" and error["error"] == "invalid_blocks" and error["messages"]
