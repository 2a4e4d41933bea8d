"""Stories and news blocks: Slack accepts them at the limits, user text is escaped, ids round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.blocks import news as news_blocks
from bot.blocks import stories as story_blocks
from bot.i18n import Translator
from bot.slack_emulator.blockkit import violations
from models.news import NewsDraft, NewsPost
from models.story import AWAITING_APPROVAL, PUBLISHED, WITHDRAWN, Story

RLO = "\u202e"
HOSTILE = f"<!channel> & <https://evil.example|click> {RLO}exe.png"
AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def _mrkdwn(data: object) -> list[str]:
    """Every mrkdwn text in a payload (plain_text shows `<!channel>` literally, so only these matter)."""
    found: list[str] = []
    if isinstance(data, dict):
        if data.get("type") == "mrkdwn":
            found.append(str(data.get("text")))
        for value in data.values():
            found.extend(_mrkdwn(value))
    elif isinstance(data, list):
        for value in data:
            found.extend(_mrkdwn(value))
    return found


def _escaped(message: dict[str, object]) -> bool:
    """No mention or link in mrkdwn and no bidi override anywhere (headers are plain text, shown as is)."""
    texts = [*_mrkdwn(message.get("blocks")), str(message.get("text", ""))]
    dumped = json.dumps(message, ensure_ascii=False)
    return RLO not in dumped and not any("<!channel>" in t or "<https://evil" in t for t in texts)


def _story(**values: object) -> Story:
    data: dict[str, object] = {
        "id": 7,
        "subject_id": "U0ALICE01",
        "author_id": "U0HR00001",
        "title": HOSTILE,
        "body": HOSTILE,
        "version": 3,
        "status": AWAITING_APPROVAL,
    }
    data.update(values)
    return Story(**data)  # type: ignore[arg-type]


def _news(**values: object) -> NewsPost:
    data: dict[str, object] = {
        "id": 4,
        "author_id": "U0CEO0001",
        "title": HOSTILE,
        "body": HOSTILE,
        "image_url": None,
        "created_at": AT,
    }
    data.update(values)
    return NewsPost(**data)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_story_surface_is_valid_and_escapes_user_text(language: str) -> None:
    tr = Translator(language)
    longest = _story(title="t" * 150, body=("&<>" * 1000)[:3000])
    for story in (_story(), longest):
        for message in (
            story_blocks.approval_request_message(story, tr),
            story_blocks.posted_story_message(story, tr),
        ):
            assert violations("message", message["blocks"], text=message["text"]) == []
            assert _escaped(message)
        view = story_blocks.draft_modal(tr, story=story)
        assert violations("modal", view["blocks"], view) == []
    note = story_blocks.withdrawn_note_message(tr)
    assert violations("message", note["blocks"], text=note["text"]) == []
    new = story_blocks.draft_modal(tr, choose_subject=True)
    assert violations("modal", new["blocks"], new) == []
    assert story_blocks.SUBJECT_BLOCK in {b.get("block_id") for b in new["blocks"]}
    own = story_blocks.draft_modal(tr)
    assert story_blocks.SUBJECT_BLOCK not in {b.get("block_id") for b in own["blocks"]}
    home = story_blocks.home_section(
        tr,
        about_me=[
            _story(),
            _story(id=8, status=PUBLISHED, published_at=AT),
            _story(id=9, status=WITHDRAWN),
        ],
    )
    assert violations("home", home) == []


def test_a_long_escaped_body_is_split_not_cut() -> None:
    body = "&" * 3000  # escapes to 15,000 characters
    blocks = story_blocks.body_sections(body)
    texts = [b["text"]["text"] for b in blocks]
    assert all(len(t) <= 3000 for t in texts)
    assert "".join(texts) == "&amp;" * 3000


def test_approval_buttons_carry_the_version_shown() -> None:
    message = story_blocks.approval_request_message(_story(), Translator("en"))
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == list(story_blocks.APPROVAL_ACTIONS)
    assert {story_blocks.parse_story_button(b["value"]) for b in buttons} == {(7, 3)}
    for bad in (None, "", "7", "7:x", "x:3", "1:2:3", "99999999999:1", "٣:1"):
        assert story_blocks.parse_story_button(bad) is None


@pytest.mark.parametrize("language", ["ja", "en"])
def test_news_surfaces_are_valid_with_and_without_image_and_preview(language: str) -> None:
    tr = Translator(language)
    plain = news_blocks.news_message(_news(), tr)
    assert violations("message", plain["blocks"], text=plain["text"]) == []
    assert "image" not in {b["type"] for b in plain["blocks"]}
    image_url = "https://img.example/" + "a" * 2900
    with_image = news_blocks.news_message(_news(image_url=image_url), tr)
    assert violations("message", with_image["blocks"], text=with_image["text"]) == []
    (image,) = [b for b in with_image["blocks"] if b["type"] == "image"]
    assert image["image_url"] == image_url
    assert _escaped(plain) and _escaped(with_image)
    empty = news_blocks.news_modal(tr, author_id="U0CEO0001")
    assert violations("modal", empty["blocks"], empty) == []
    draft = NewsDraft(title=HOSTILE, body=HOSTILE, image_url=image_url)
    preview = news_blocks.news_modal(tr, author_id="U0CEO0001", draft=draft)
    assert violations("modal", preview["blocks"], preview) == []
    # The preview renders the post exactly as it will be posted.
    posted = news_blocks.news_blocks(draft, tr, author_id="U0CEO0001")
    assert preview["blocks"][-len(posted) :] == posted
    home = news_blocks.home_section(tr, recent=[_news()], can_post=True)
    assert violations("home", home) == []
    assert news_blocks.NEW_NEWS in json.dumps(home)
    assert news_blocks.NEW_NEWS not in json.dumps(news_blocks.home_section(tr, recent=[], can_post=False))
