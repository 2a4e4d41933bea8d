"""Shared Block Kit pieces built on `slack_sdk.models.blocks` (which validates lengths)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.mrkdwn import truncate

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MODAL_TITLE_LIMIT = 24


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=truncate(text, 150), emoji=True))


def section(mrkdwn: str, *, block_id: str | None = None, accessory: Any = None) -> SectionBlock:
    """A mrkdwn section; the caller escapes user text, this only enforces Slack's length limit."""
    return SectionBlock(
        text=MarkdownTextObject(text=truncate(mrkdwn, SECTION_LIMIT)), block_id=block_id, accessory=accessory
    )


def context(*mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(m, 2000)) for m in mrkdwn[:10]])


def divider() -> DividerBlock:
    return DividerBlock()


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    style: str | None = None,
    url: str | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=truncate(text, 75), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
        url=url,
    )


def actions(*elements: ButtonElement | Any, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(elements=list(elements)[:25], block_id=block_id)


def modal_title(text: str) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, MODAL_TITLE_LIMIT))


def to_dicts(blocks: Sequence[Block | dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks as plain dicts (what the Web API takes)."""
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]
