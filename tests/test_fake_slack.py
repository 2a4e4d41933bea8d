"""Proves the fake Slack answers a real slack_sdk WebClient the way Slack does."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import FakeSlack

ALICE = "U0ALICE01"
BOB = "U0BOB0001"
CHANNEL = "C0ALUMNI1"
PRIVATE = "G0HRPRIV1"
META = {"event_type": "alumni_event", "event_payload": {"event_id": 42}}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user(ALICE, name="alice", real_name="Alice Smith", email="alice@example.com")
        server.add_user(BOB, name="bob", real_name="Bob", email="bob@example.com", locale="ja-JP")
        server.add_channel(CHANNEL, name="alumni")
        server.add_channel(PRIVATE, name="alumni-hr", is_private=True, members_bot=False)
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def _http(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 2.0
) -> tuple[int, bytes]:
    """A bare urllib request, for endpoints slack_sdk does not call (or to send malformed bodies)."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_post_message_and_history_with_metadata(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Reunion*"}}]
    first = client.chat_postMessage(channel=CHANNEL, text="Reunion", blocks=blocks, metadata=META)
    second = client.chat_postMessage(channel=CHANNEL, text="second", thread_ts=first["ts"])
    third = client.chat_postMessage(channel=CHANNEL, text="third")

    assert first["ok"] and first["channel"] == CHANNEL
    assert first["message"]["metadata"] == META
    assert float(first["ts"]) < float(second["ts"]) < float(third["ts"])

    history = client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    # Newest first; the thread reply is only reachable through conversations.replies.
    assert [m["text"] for m in history["messages"]] == ["third", "Reunion"]
    assert history["messages"][1]["metadata"] == META
    assert history["messages"][1]["reply_count"] == 1
    assert history["messages"][1]["blocks"] == blocks

    call = fake.wait_for("chat.postMessage", lambda c: c.args.get("text") == "Reunion")[0]
    assert call.args["metadata"] == META and call.args["blocks"] == blocks
    assert fake.accepted_post_count == 3

    dm = client.chat_postMessage(channel=ALICE, text="hi")
    assert dm["channel"] == "D" + ALICE
    assert [m["text"] for m in fake.messages(ALICE)] == ["hi"]


def test_include_all_metadata_gates_metadata(client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="with metadata", metadata=META)
    plain = client.conversations_history(channel=CHANNEL)
    assert "metadata" not in plain["messages"][0]
    full = client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == META


def test_an_update_keeps_metadata_it_omits_and_an_empty_object_removes_it(
    fake: FakeSlack, client: WebClient
) -> None:
    """As chat.update's documentation says (https://docs.slack.dev/reference/methods/chat.update)."""
    ts = client.chat_postMessage(channel=CHANNEL, text="with metadata", metadata=META)["ts"]
    client.chat_update(channel=CHANNEL, ts=ts, text="edited")
    assert fake.messages(CHANNEL)[0]["metadata"] == META
    client.chat_update(channel=CHANNEL, ts=ts, text="edited again", metadata={})
    assert "metadata" not in fake.messages(CHANNEL)[0]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=CHANNEL, ts=ts, text="bad", metadata={"event_type": ""})
    assert err.value.response["error"] == "invalid_metadata_format"


def test_history_paginates_and_filters(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=CHANNEL, text=f"m{i}")["ts"] for i in range(5)]
    page1 = client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in page1["messages"]] == ["m4", "m3"] and page1["has_more"]
    cursor = page1["response_metadata"]["next_cursor"]
    page2 = client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
    assert [m["text"] for m in page2["messages"]] == ["m2", "m1"]
    window = client.conversations_history(channel=CHANNEL, oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]


def test_users_list_pagination_and_lookup(fake: FakeSlack, client: WebClient) -> None:
    for i in range(3):
        fake.add_user(f"U0EXTRA0{i}", name=f"extra{i}")
    # SlackResponse iteration reuses one object, so copy each page's members as it arrives.
    pages = [list(page["members"]) for page in client.users_list(limit=2)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert len({m["id"] for p in pages for m in p}) == 5

    info = client.users_info(user=BOB, include_locale=True)
    assert info["user"]["locale"] == "ja-JP" and info["user"]["tz"] == "Asia/Tokyo"
    assert "locale" not in client.users_info(user=BOB)["user"]
    assert client.users_lookupByEmail(email="alice@example.com")["user"]["id"] == ALICE
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U0NOBODY0")
    assert err.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as err:
        client.users_lookupByEmail(email="nobody@example.com")
    assert err.value.response["error"] == "users_not_found"


def test_conversation_rules(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U0BOTUSER", name="otherbot", is_bot=True)
    fake.add_user("U0GONE001", name="gone", deleted=True)
    fake.add_user("U0QUIET01", name="quiet", messages_tab_disabled=True)
    fake.add_channel("C0JOINME1", name="join-me", members_bot=False, require_join=True)
    assert client.conversations_open(users=ALICE)["channel"]["id"] == "D" + ALICE

    def error_of(**kwargs: Any) -> str:
        method = kwargs.pop("method")
        with pytest.raises(SlackApiError) as err:
            getattr(client, method)(**kwargs)
        return str(err.value.response["error"])

    assert error_of(method="conversations_open", users="U0BOTUSER") == "cannot_dm_bot"
    assert error_of(method="conversations_open", users="U0GONE001") == "user_disabled"
    assert error_of(method="conversations_open", users="U0NOBODY0") == "user_not_found"
    assert error_of(method="chat_postMessage", channel="C0MISSING", text="x") == "channel_not_found"
    assert error_of(method="chat_postMessage", channel=PRIVATE, text="x") == "not_in_channel"
    assert error_of(method="chat_postMessage", channel="U0QUIET01", text="x") == "messages_tab_disabled"
    assert error_of(method="chat_postMessage", channel="C0JOINME1", text="x") == "not_in_channel"
    client.conversations_join(channel="C0JOINME1")
    assert client.chat_postMessage(channel="C0JOINME1", text="x")["ok"]


def test_update_delete_ephemeral_and_permalink(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="v1", metadata=META)
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["v2"]
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=posted["ts"])["permalink"]
    assert link.startswith(f"https://example.slack.com/archives/{CHANNEL}/p")
    client.chat_delete(channel=CHANNEL, ts=posted["ts"])
    assert fake.messages(CHANNEL) == []
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v3")
    assert err.value.response["error"] == "message_not_found"
    assert client.chat_postEphemeral(channel=CHANNEL, user=ALICE, text="psst")["message_ts"]
    assert fake.ephemerals[0]["user"] == ALICE


def test_a_channel_name_posts_but_only_the_id_updates_or_reads(fake: FakeSlack, client: WebClient) -> None:
    """chat.postMessage takes "#alumni"; chat.update, chat.delete and history take the channel ID only."""
    posted = client.chat_postMessage(channel="#alumni", text="v1")
    assert posted["channel"] == CHANNEL
    for call in (
        lambda: client.chat_update(channel="#alumni", ts=posted["ts"], text="v2"),
        lambda: client.chat_delete(channel="alumni", ts=posted["ts"]),
        lambda: client.conversations_history(channel="#alumni"),
    ):
        with pytest.raises(SlackApiError) as err:
            call()
        assert err.value.response["error"] == "channel_not_found"
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2")
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["v2"]


def test_auth_and_unknown_method(fake: FakeSlack) -> None:
    status, body = _http(fake.api_url + "auth.test", data=b"")
    assert status == 200 and json.loads(body)["error"] == "not_authed"
    anonymous = WebClient(token="", base_url=fake.api_url)
    with pytest.raises(SlackApiError) as err:
        anonymous.auth_test()
    assert err.value.response["error"] == "not_authed"
    authed = WebClient(token="xoxb-test", base_url=fake.api_url)
    assert authed.auth_test()["user_id"] == "UBOT"
    with pytest.raises(SlackApiError) as err:
        authed.api_call("nope.nothing")
    assert err.value.response["error"] == "unknown_method"


def test_rate_limit_with_retry_after_is_retried(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK sleeps Retry-After plus random.random() jitter; pin the jitter so the test stays fast.
    monkeypatch.setattr(random, "random", lambda: 0.0)
    fake.fail("chat.postMessage", status=429, retry_after=0)
    client = WebClient(
        token="xoxb-test",
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel=CHANNEL, text="retried")["ok"]
    calls = fake.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].error == "ratelimited"
    assert fake.ratelimited_count == 1
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["retried"]


def test_rate_limit_per_second_window(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_per_second("users.info", 2, retry_after=7)
    client.users_info(user=ALICE)
    client.users_info(user=ALICE)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user=ALICE)
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert fake.ratelimited_count == 1


def test_server_errors_and_delays(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("users.info", status=503, body="<html>Service Unavailable</html>")
    with pytest.raises(SlackApiError) as err:
        client.users_info(user=ALICE)
    assert err.value.response.status_code == 503
    fake.fail("users.info", error="fatal_error")
    with pytest.raises(SlackApiError) as err:
        client.users_info(user=ALICE)
    assert err.value.response["error"] == "fatal_error"
    assert client.users_info(user=ALICE)["ok"]  # faults are used up

    fake.fail("auth.test", delay=0.5)
    headers = {"Authorization": "Bearer xoxb-test"}
    with pytest.raises(TimeoutError):
        _http(fake.api_url + "auth.test", data=b"", headers=headers, timeout=0.1)


def test_invalid_blocks_are_refused_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    too_long = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=too_long)
    assert err.value.response["error"] == "invalid_blocks"
    assert fake.messages(CHANNEL) == []
    assert fake.accepted_post_count == 0
    assert fake.violations and "chat.postMessage" in fake.violations[0]

    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title that is far too long"},
        "blocks": [],
    }
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="123.456", view=modal)
    # Slack refuses a bad view with invalid_arguments, pointing at the field (views.open page).
    assert err.value.response["error"] == "invalid_arguments"
    messages = err.value.response["response_metadata"]["messages"]
    assert any("[json-pointer:/view/title/text]" in m for m in messages)
    assert any(v.startswith("views.open") and v.endswith("[view_title]") for v in fake.violations)
    # slack_sdk's own View model refuses it too (the second, independent check).
    assert any(v.startswith("views.open") and v.endswith("[slack_sdk]") for v in fake.violations)


def test_views_and_response_url(fake: FakeSlack, client: WebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "rsvp",
        "title": {"type": "plain_text", "text": "RSVP"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    opened = client.views_open(trigger_id="123.456", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["state"] == {"values": {}}
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert err.value.response["error"] == "hash_conflict"
    assert updated["id"] == opened["id"]

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    client.views_publish(user_id=ALICE, view=home)
    assert fake.home_views[ALICE]["blocks"] == [{"type": "divider"}]

    url = fake.response_url("k1")
    status, _ = _http(
        url, data=json.dumps({"text": "done"}).encode(), headers={"Content-Type": "application/json"}
    )
    assert status == 200 and fake.responses("k1") == [{"text": "done"}]
    bad = {"text": "x", "blocks": [{"type": "nonsense"}]}
    status, _ = _http(url, data=json.dumps(bad).encode(), headers={"Content-Type": "application/json"})
    assert status == 400 and len(fake.responses("k1")) == 1 and fake.violations


def test_bad_requests_answer_400(fake: FakeSlack) -> None:
    headers = {"Authorization": "Bearer xoxb-test", "Content-Type": "application/json"}
    status, body = _http(fake.api_url + "chat.postMessage", data=b"{not json", headers=headers)
    assert status == 400 and json.loads(body)["error"] == "invalid_json"
    form = {"Authorization": "Bearer xoxb-test", "Content-Type": "application/x-www-form-urlencoded"}
    payload = "channel=C0ALUMNI1&text=hi&blocks=" + urllib.parse.quote(json.dumps([{"type": "divider"}]))
    status, body = _http(fake.api_url + "chat.postMessage", data=payload.encode(), headers=form)
    assert status == 200 and json.loads(body)["ok"]
    assert fake.calls_to("chat.postMessage")[-1].args["blocks"] == [{"type": "divider"}]
    assert fake.server_errors == []


def test_hold_and_release_replies(fake: FakeSlack, client: WebClient) -> None:
    fake.hold_replies("chat.postMessage")
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(client.chat_postMessage(channel=CHANNEL, text="held"))
    )
    worker.start()
    fake.wait_for("chat.postMessage")
    # Slack has accepted the message, but the client has not heard back yet.
    assert fake.accepted_post_count == 1
    assert fake.held_count == 1
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["held"]
    worker.join(timeout=0.2)
    assert worker.is_alive() and results == []

    # A client that gives up while its reply is held must not break the server.
    headers = {"Authorization": "Bearer xoxb-test", "Content-Type": "application/json"}
    body = json.dumps({"channel": CHANNEL, "text": "abandoned"}).encode()
    with pytest.raises(TimeoutError):
        _http(fake.api_url + "chat.postMessage", data=body, headers=headers, timeout=0.2)
    assert fake.accepted_post_count == 2

    fake.release_replies("chat.postMessage")
    worker.join(timeout=2)
    assert not worker.is_alive() and results[0]["ok"]
    # The abandoned request's server thread wakes up too; give it a moment to finish its (unread) reply.
    deadline = time.monotonic() + 2
    while fake.held_count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.held_count == 0
    assert client.chat_postMessage(channel=CHANNEL, text="after")["ok"]


def test_wait_for_explains_failures(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"(?s)chat.postMessage.*auth.test"):
        fake.wait_for("chat.postMessage", timeout=0.05)


def test_file_upload_external_flow(fake: FakeSlack, client: WebClient) -> None:
    result = client.files_upload_v2(
        channel=CHANNEL,
        content="name,year\nAlice,2019\n",
        filename="alumni.csv",
        title="Alumni",
        initial_comment="hi",
    )
    assert result["ok"] and result["file"]["title"] == "Alumni"
    file_id = result["file"]["id"]
    stored = fake.uploaded_files[file_id]
    assert stored["bytes"] == b"name,year\nAlice,2019\n"
    assert stored["name"] == "alumni.csv" and stored["title"] == "Alumni" and stored["channel_id"] == CHANNEL
    complete = fake.calls_to("files.completeUploadExternal")[0]
    assert complete.args["files"] == [{"id": file_id, "title": "Alumni"}]


def test_private_file_download_requires_token(fake: FakeSlack, client: WebClient) -> None:
    fake.add_file("F0USERCSV", b"a,b\n1,2\n", "members.csv")
    info = client.files_info(file="F0USERCSV")["file"]
    url = info["url_private_download"]
    assert url == f"{fake.base_url}files/F0USERCSV" and info["mimetype"] == "text/csv"
    assert _http(url)[0] == 403
    status, data = _http(url, headers={"Authorization": "Bearer xoxb-test"})
    assert status == 200 and data == b"a,b\n1,2\n"


def test_blockkit_limits() -> None:
    assert violations("message", [{"type": "divider"}] * 50) == []
    assert violations("message", [{"type": "divider"}] * 51)
    assert violations("home", [{"type": "divider"}] * 100) == []
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}
    problems = violations(
        "message",
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": ""}},
            {"type": "actions", "block_id": "x", "elements": [button]},
            {"type": "context", "block_id": "x", "elements": [{"type": "mrkdwn", "text": "ok"}] * 11},
            {"type": "bogus"},
        ],
        text="t" * 40001,
    )
    joined = "\n".join(problems)
    for fragment in (
        "non-empty",
        "exceeds 75",
        "duplicate block_id",
        "exceed 10",
        "unknown block type",
        "text:",
    ):
        assert fragment in joined
    select = {
        "type": "static_select",
        "action_id": "s",
        "options": [{"text": {"type": "plain_text", "text": "o"}, "value": "v" * 151}] * 101,
    }
    problems = violations(
        "message", [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": select}]
    )
    assert any("101 options" in p for p in problems) and any("exceeds 150" in p for p in problems)


def test_a_method_without_its_granted_scope_answers_missing_scope() -> None:
    with FakeSlack(scopes=["chat:write", "users:read"]) as fake:
        fake.add_user(ALICE, name="alice")
        fake.add_channel(CHANNEL, name="alumni")
        fake.add_channel(PRIVATE, name="alumni-hr", is_private=True)
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        assert client.users_info(user=ALICE)["ok"]
        with pytest.raises(SlackApiError) as err:
            client.usergroups_users_list(usergroup="S0HR")
        assert err.value.response["error"] == "missing_scope"
        assert err.value.response["needed"] == "usergroups:read"
        assert err.value.response["provided"] == "chat:write,users:read"
        # conversations.* need the scope of the conversation's type (public, private, DM).
        for channel, needed in (
            (CHANNEL, "channels:history"),
            (PRIVATE, "groups:history"),
            ("D" + ALICE, "im:history"),
        ):
            with pytest.raises(SlackApiError) as err:
                client.conversations_history(channel=channel)
            assert err.value.response["needed"] == needed
        assert fake.rule_tally["missing_scope usergroups:read"] == 1


def test_the_fake_grants_the_manifest_scopes_by_default_and_knows_every_method_scope() -> None:
    from bot.slack_emulator.web_api import METHOD_SCOPES, manifest_bot_config

    scopes, events = manifest_bot_config()
    # An installed package has no manifest.yml: the registry's generated manifest says the same.
    assert manifest_bot_config(Path("/nonexistent/manifest.yml")) == (scopes, events)
    with FakeSlack() as fake:
        assert fake.bot_scopes == scopes and fake.bot_events == events
        # Every emulated method has its documented scope, so none escapes the check by omission.
        assert set(fake._methods) == set(METHOD_SCOPES) | {
            "conversations.info",
            "conversations.members",
            "conversations.history",
            "conversations.replies",
        }
