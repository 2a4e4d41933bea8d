"""Block Kit for company news: the modal with its preview, the posted message (with its image), the Home
section and the digest line. Pure: posts in, plain dicts out; user text escaped.

The modal's Preview button (`PREVIEW`) sends the view's state; the handler checks it with
`models.news.check_news` and calls `views.update` with `news_modal(tr, draft=...)`, which renders the post
below the fields exactly as `news_message` will post it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.common import actions, button, context, divider, header, modal_title, section, to_dicts
from bot.blocks.stories import body_sections
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, is_user_id, strip_invisible, truncate, user_mention
from models.news import BODY_MAX, IMAGE_URL_MAX, TITLE_MAX, NewsDraft, NewsPost

# IDs Slack sends back.
SUBMIT = "news_submit"  # view callback
PREVIEW = "news_preview"  # button inside the modal
NEW_NEWS = "news_new"  # Home button: open the modal
TITLE_BLOCK = "title"
BODY_BLOCK = "body"
IMAGE_BLOCK = "image_url"
PREVIEW_BLOCK = "news_preview_actions"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, 2000), "emoji": True}


def _input(
    block_id: str, label: str, *, max_length: int, multiline: bool, initial: str, optional: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block


def news_blocks(draft: NewsDraft, tr: Translator, *, author_id: str) -> list[dict[str, Any]]:
    """The post's blocks: title, body, the image when there is one, who it is from (a former member when the
    author erased their data: `author_id` is then a pseudonym, not a Slack user ID)."""
    blocks: list[dict[str, Any]] = [
        header(strip_invisible(draft.title)),
        *to_dicts(body_sections(draft.body)),
    ]
    if draft.image_url:
        blocks.append(
            {
                "type": "image",
                "image_url": draft.image_url,
                "alt_text": truncate(tr("news.image_alt", title=strip_invisible(draft.title)), 2000),
            }
        )
    author = (
        tr("news.from_line", author=user_mention(author_id))
        if is_user_id(author_id)
        else tr("news.from_former")
    )
    blocks.append(context(author, tr("news.react_hint")))
    return to_dicts(blocks)


def news_modal(
    tr: Translator, *, author_id: str, draft: NewsDraft | None = None, values: NewsDraft | None = None
) -> dict[str, Any]:
    """The news modal. `values` pre-fills the fields; `draft` (checked values) adds the preview below them."""
    filled = draft or values
    blocks: list[dict[str, Any]] = [
        section(tr("news.intro")),
        _input(
            TITLE_BLOCK,
            tr("news.title_label"),
            max_length=TITLE_MAX,
            multiline=False,
            initial=filled.title if filled else "",
        ),
        _input(
            BODY_BLOCK,
            tr("news.body_label"),
            max_length=BODY_MAX,
            multiline=True,
            initial=filled.body if filled else "",
        ),
        {
            **_input(
                IMAGE_BLOCK,
                tr("news.image_label"),
                max_length=IMAGE_URL_MAX,
                multiline=False,
                initial=(filled.image_url or "") if filled else "",
                optional=True,
            ),
            "hint": _plain(tr("news.image_hint")),
        },
        actions(button(tr("news.preview_button"), PREVIEW, value="preview"), block_id=PREVIEW_BLOCK),
    ]
    if draft is not None:
        blocks.append(divider())
        blocks.append(context(tr("news.preview_heading")))
        blocks.extend(news_blocks(draft, tr, author_id=author_id))
    return {
        "type": "modal",
        "callback_id": SUBMIT,
        "title": modal_title(tr("news.modal_title")),
        "submit": _plain(tr("news.post")),
        "close": _plain(tr("common.cancel")),
        "blocks": blocks,
    }


def _draft_of(post: NewsPost) -> NewsDraft:
    return NewsDraft(title=post.title, body=post.body, image_url=post.image_url)


def news_message(post: NewsPost, tr: Translator) -> dict[str, Any]:
    """The `chat.postMessage` arguments of a news post (`tr`: the channel's language)."""
    return {
        "text": truncate(escape(post.title), 3000),
        "blocks": news_blocks(_draft_of(post), tr, author_id=post.author_id),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def home_section(tr: Translator, *, recent: Sequence[NewsPost], can_post: bool) -> list[dict[str, Any]]:
    """Recent news on the Home tab, and the Post news button for HR and named leaders."""
    blocks: list[dict[str, Any]] = [header(tr("news.home_title"))]
    if not recent:
        blocks.append(section(tr("news.home_empty")))
    else:
        lines = []
        for post in recent:
            when = date_token(
                post.created_at, fallback=post.created_at.strftime("%Y-%m-%d"), fmt="{date_short}"
            )
            lines.append(tr("news.home_line", title=escape(truncate(post.title, 150)), when=when))
        blocks.append(section("\n".join(lines)))
    if can_post:
        blocks.append(actions(button(tr("news.new_button"), NEW_NEWS, value="new", style="primary")))
    return to_dicts(blocks)


def digest_line(post: NewsPost, tr: Translator) -> str:
    """One line of the weekly digest."""
    return tr("news.digest_line", title=escape(truncate(post.title, 150)))


def reach_line(title: str, tr: Translator, *, reactions: int, replies: int) -> str:
    """One line of the report's reach list."""
    return tr("news.report_line", title=escape(truncate(title, 150)), reactions=reactions, replies=replies)
