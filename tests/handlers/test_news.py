"""Company news through signed HTTP requests: `/alumni news` and the Home button open the modal for HR and
leaders, Preview shows the post, Post queues it once for the alumni channel; members are refused everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.blocks.news import BODY_BLOCK, IMAGE_BLOCK, NEW_NEWS, PREVIEW, SUBMIT, TITLE_BLOCK
from bot.blocks.privacy import CONFIRM_BLOCK, DELETE_CONFIRM
from bot.i18n import t
from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import DeliveryOptions, deliver_due, deliverer_for
from jobs.news import PURPOSE_POST
from models.actors import Actor
from models.db import Database
from models.news import NewsPost
from models.outbox import OutboxMessage
from models.privacy import erase_member, export_member_data
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, BotHarness, _serve
from tests.models.test_privacy import scan
from tests.slack_requests import text_input


@pytest.fixture
def bot(fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    """The app with Alice (English) and Bob (Japanese) named as leaders; Carol is a plain member."""
    yield from _serve(fake_slack, db, leaders=frozenset({ALICE, BOB}))


def news_values(title: str = "Record year", body: str = "Thank you all.", image: str = "") -> dict[str, Any]:
    return {TITLE_BLOCK: title, BODY_BLOCK: body, IMAGE_BLOCK: image}


def _opened(bot: BotHarness, count: int = 1) -> dict[str, Any]:
    """The news modal as Slack holds it (with its id and hash)."""
    calls = bot.fake.wait_for("views.open", lambda c: c.args["view"].get("callback_id") == SUBMIT, count)
    view: dict[str, Any] = calls[-1].response["view"]
    return view


def _with_state(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    state = {block: {block: text_input(value)} for block, value in values.items()}
    return {**view, "state": {"values": state}}


def _posts(bot: BotHarness) -> list[NewsPost]:
    with bot.db.session() as session:
        return list(session.exec(select(NewsPost)))


def _mrkdwn(blocks: Any) -> str:
    """Every mrkdwn text in `blocks` (where Slack would turn `<!channel>` into a ping)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(found)


def _idle(bot: BotHarness) -> None:
    assert bot.listeners is not None
    bot.listeners.wait_idle()


def _deliver(bot: BotHarness) -> int:
    deliverer_for(bot.services).options = DeliveryOptions(
        channel_interval=0.0, backoff_base=0.05, backoff_cap=0.2
    )
    return deliver_due(bot.services)


@pytest.mark.parametrize(
    ("user", "word", "posted_phrase"),
    [(ALICE, "news", "on its way"), (BOB, "ニュース", "アルムナイチャンネル")],
)
def test_a_leader_previews_and_posts_news_once_escaped(
    bot: BotHarness, user: str, word: str, posted_phrase: str
) -> None:
    bot.sender.command("/alumni", word, user=user)
    view = _opened(bot)
    assert violations("modal", view["blocks"], view) == []
    values = news_values(
        "<!channel> Record year", "Thanks & <https://evil.example|click>", "https://img.example/a.png"
    )

    bot.sender.block_action(PREVIEW, "preview", user=user, view=_with_state(view, values))
    _idle(bot)
    [update] = bot.fake.calls_to("views.update")
    preview = update.args["view"]["blocks"]
    assert "https://img.example/a.png" in json.dumps(preview)
    # The title is a plain-text header (nothing to ping); every mrkdwn text is escaped.
    assert any(b["type"] == "header" and b["text"]["text"] == "<!channel> Record year" for b in preview)
    assert "Thanks &amp; &lt;https://evil.example|click&gt;" in _mrkdwn(preview)
    assert "<!channel>" not in _mrkdwn(preview) and "<https://evil" not in _mrkdwn(preview)
    assert _posts(bot) == []  # a preview stores nothing

    answer = bot.sender.view_submission(SUBMIT, values, user=user, blocks=view["blocks"])
    assert answer.json["response_action"] == "update"
    assert posted_phrase in json.dumps(answer.json["view"], ensure_ascii=False)
    [post] = _posts(bot)
    assert post.author_id == user and post.image_url == "https://img.example/a.png"
    assert _deliver(bot) == 1 and _deliver(bot) == 0  # exactly once
    [message] = bot.fake.messages(ALUMNI_CHANNEL)
    assert message["text"] == "&lt;!channel&gt; Record year"
    assert "<!channel>" not in _mrkdwn(message["blocks"]) and "<https://evil" not in _mrkdwn(
        message["blocks"]
    )


@pytest.mark.parametrize(
    ("user", "word", "warning"),
    [
        (ALICE, "news", "Slack could not download this image"),
        (BOB, "ニュース", "Slack がこの画像を取得できませんでした"),
    ],
)
def test_an_image_slack_cannot_download_is_flagged_in_preview_and_the_news_goes_out_without_it(
    bot: BotHarness, user: str, word: str, warning: str
) -> None:
    private_image = "https://intranet.example/photo.heic"
    bot.fake.refuse_image(private_image)
    bot.sender.command("/alumni", word, user=user)
    view = _opened(bot)
    values = news_values("Record year", "Thank you all.", private_image)

    bot.sender.block_action(PREVIEW, "preview", user=user, view=_with_state(view, values))
    _idle(bot)
    refused, shown = bot.fake.calls_to("views.update")
    assert not refused.ok and refused.response["error"] == "invalid_arguments"
    assert shown.ok and warning in _mrkdwn(shown.args["view"]["blocks"])
    assert private_image not in json.dumps([b for b in shown.args["view"]["blocks"] if b["type"] == "image"])

    answer = bot.sender.view_submission(SUBMIT, values, user=user, blocks=view["blocks"])
    assert answer.json["response_action"] == "update"
    assert _deliver(bot) == 1 and _deliver(bot) == 0
    [message] = bot.fake.messages(ALUMNI_CHANNEL)
    assert message["text"] == "Record year" and "Thank you all." in _mrkdwn(message["blocks"])
    assert not any(b["type"] == "image" for b in message["blocks"])
    with bot.db.session() as session:
        [row] = session.exec(select(OutboxMessage)).all()
        assert row.status == "sent"


def test_hr_opens_the_modal_from_the_home_button(bot: BotHarness) -> None:
    bot.sender.block_action(NEW_NEWS, "new", user=HR, channel=None)
    assert _opened(bot)["callback_id"] == SUBMIT


def test_bad_input_gets_field_errors_in_preview_and_on_submit_and_saves_nothing(bot: BotHarness) -> None:
    bot.sender.command("/alumni", "news", user=ALICE)
    view = _opened(bot)
    bad = news_values("", "x" * 3001, "http://img.example/a.png")
    bot.sender.block_action(PREVIEW, "preview", user=ALICE, view=_with_state(view, bad))
    _idle(bot)
    [update] = bot.fake.calls_to("views.update")
    shown = json.dumps(update.args["view"]["blocks"])
    assert "https://" in shown and "3000" in shown  # the errors are listed under the fields

    answer = bot.sender.view_submission(SUBMIT, bad, user=ALICE, blocks=view["blocks"])
    assert answer.json["response_action"] == "errors"
    assert set(answer.json["errors"]) == {TITLE_BLOCK, BODY_BLOCK, IMAGE_BLOCK}
    assert _posts(bot) == []
    with bot.db.session() as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_POST)).all() == []


def test_a_member_cannot_open_preview_or_post_news_with_forged_payloads(bot: BotHarness) -> None:
    answer = bot.sender.command("/alumni", "news", user=CAROL)
    assert answer.json["response_type"] == "ephemeral"
    assert answer.json["text"] in {t("errors.not_allowed", "en"), t("errors.not_allowed", "ja")}
    bot.sender.block_action(NEW_NEWS, "new", user=CAROL, channel=None)
    forged_view = {"id": "V404", "type": "modal", "callback_id": SUBMIT, "hash": "h"}
    bot.sender.block_action(PREVIEW, "preview", user=CAROL, view=_with_state(forged_view, news_values()))
    answer = bot.sender.view_submission(SUBMIT, news_values(), user=CAROL)
    assert answer.json["response_action"] == "errors" and set(answer.json["errors"]) == {TITLE_BLOCK}
    _idle(bot)
    assert bot.fake.calls_to("views.open") == [] and bot.fake.calls_to("views.update") == []
    assert _posts(bot) == [] and _deliver(bot) == 0
    # Each refusal reached Carol privately (her DM), never the channel.
    assert len(bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CAROL, 2)) == 2
    assert bot.fake.messages(ALUMNI_CHANNEL) == []


def test_home_lists_news_for_everyone_and_the_button_only_for_posters(bot: BotHarness) -> None:
    values = news_values("Our <b> year")
    bot.sender.command("/alumni", "news", user=ALICE)
    bot.sender.view_submission(SUBMIT, values, user=ALICE, blocks=_opened(bot)["blocks"])
    for user in (ALICE, CAROL):
        bot.sender.event({"type": "app_home_opened", "user": user, "tab": "home"})
    _idle(bot)
    homes = {c.args["user_id"]: json.dumps(c.args["view"]) for c in bot.fake.calls_to("views.publish")}
    assert "Our &lt;b&gt; year" in homes[CAROL] and "Our &lt;b&gt; year" in homes[ALICE]
    assert NEW_NEWS in homes[ALICE] and NEW_NEWS not in homes[CAROL]


def test_a_leader_s_news_is_in_their_export_and_stays_pseudonymised_after_erasure(bot: BotHarness) -> None:
    bot.sender.command("/alumni", "news", user=ALICE)
    bot.sender.view_submission(SUBMIT, news_values("Record year"), user=ALICE, blocks=_opened(bot)["blocks"])
    with bot.db.session() as session:
        exported = export_member_data(session, slack_user_id=ALICE)
    assert [row["title"] for row in exported["tables"]["news_post"]] == ["Record year"]
    with bot.db.session() as session:
        result = erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    [post] = _posts(bot)
    assert post.title == "Record year" and post.author_id == result.pseudonym
    assert scan(bot.db, [ALICE]) == []


def test_erasing_a_leader_redraws_their_posted_news_without_naming_them(bot: BotHarness) -> None:
    """Alice deletes her data: her posted news stays for the alumni but no longer names her; Bob's post
    still shows him. (Her post's ts is known only to the outbox: the reach job has not run yet.)"""
    for user, title in ((ALICE, "Record year"), (BOB, "New office")):
        bot.sender.command("/alumni", "news", user=user)
        view = _opened(bot, count=1 if user == ALICE else 2)
        values = news_values(title, f"{title}: thank you all.", "https://img.example/a.png")
        bot.sender.view_submission(SUBMIT, values, user=user, blocks=view["blocks"])
    assert _deliver(bot) == 2
    before = {m["text"]: m for m in bot.fake.messages(ALUMNI_CHANNEL)}
    assert f"<@{ALICE}>" in json.dumps(before["Record year"]["blocks"])

    answer = bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=ALICE)
    assert answer.status == 200
    bot.fake.wait_for(  # the member is told last, after her messages were cleaned up
        "chat.postMessage",
        lambda c: c.args.get("channel") == ALICE and c.args.get("text") == t("privacy.deleted", "en"),
    )
    after = {m["text"]: m for m in bot.fake.messages(ALUMNI_CHANNEL)}
    assert after.keys() == before.keys()
    alices = json.dumps(after["Record year"], ensure_ascii=False)
    assert ALICE not in alices and t("news.from_former", "ja") in alices
    assert "Record year: thank you all." in alices and "https://img.example/a.png" in alices
    assert after["New office"]["blocks"] == before["New office"]["blocks"]  # Bob's post is his still
    assert f"<@{BOB}>" in json.dumps(after["New office"]["blocks"])


def test_erasure_still_unnames_an_author_whose_post_went_out_without_its_image(bot: BotHarness) -> None:
    """Slack refused the image, so the post went out without it; redrawing it with the image would be
    refused too: the redraw drops the image rather than leave the author named."""
    private_image = "https://intranet.example/photo.heic"
    bot.fake.refuse_image(private_image)
    bot.sender.command("/alumni", "news", user=ALICE)
    view = _opened(bot)
    values = news_values("Record year", "Thanks.", private_image)
    bot.sender.view_submission(SUBMIT, values, user=ALICE, blocks=view["blocks"])
    assert _deliver(bot) == 1
    [before] = bot.fake.messages(ALUMNI_CHANNEL)
    assert ALICE in json.dumps(before)

    bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=ALICE)
    bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == ALICE and c.args.get("text") == t("privacy.deleted", "en"),
    )
    [after] = bot.fake.messages(ALUMNI_CHANNEL)
    rendered = json.dumps(after, ensure_ascii=False)
    assert ALICE not in rendered and "Thanks." in rendered and t("news.from_former", "ja") in rendered


def test_news_not_sent_yet_when_its_author_is_erased_goes_out_from_a_former_member(bot: BotHarness) -> None:
    """Alice posts news and deletes her data before the outbox sends it: the post still goes out, once, and
    neither names her nor shows her pseudonym as a broken mention."""
    bot.sender.command("/alumni", "news", user=ALICE)
    bot.sender.view_submission(
        SUBMIT, news_values("Record year", "Thanks."), user=ALICE, blocks=_opened(bot)["blocks"]
    )
    bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=ALICE)
    bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == ALICE and c.args.get("text") == t("privacy.deleted", "en"),
    )
    assert _deliver(bot) == 1 and _deliver(bot) == 0
    [posted] = bot.fake.messages(ALUMNI_CHANNEL)
    rendered = json.dumps(posted, ensure_ascii=False)
    assert "Thanks." in rendered and t("news.from_former", "ja") in rendered
    assert ALICE not in rendered and "former-member-" not in rendered and "<@" not in rendered
