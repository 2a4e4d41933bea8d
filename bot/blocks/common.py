"""Shared Block Kit pieces, built as plain dicts.

Dicts are what the Web API takes, and they cost microseconds where slack_sdk's model objects cost about a
millisecond for a 19-block answer (BENCHMARKS.md). The shapes are checked where it matters, in the tests: the
fake Slack (`bot.slack_emulator`) applies Slack's documented limits and parses every payload with slack_sdk's
models as a second check. The helpers here enforce the length limits Slack would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.mrkdwn import truncate

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MODAL_TITLE_LIMIT = 24

# A Block Kit block or element as the Web API takes it.
BlockDict = dict[str, Any]


def plain(text: str, limit: int = 3000) -> BlockDict:
    """A `plain_text` object (emoji on), cut to `limit` characters."""
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def mrkdwn_text(text: str, limit: int = 3000) -> BlockDict:
    """A `mrkdwn` text object, cut to `limit` characters; the caller escapes user text."""
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def header(text: str) -> BlockDict:
    return {"type": "header", "text": plain(text, 150)}


def section(mrkdwn: str, *, block_id: str | None = None, accessory: Any = None) -> BlockDict:
    """A mrkdwn section; the caller escapes user text, this only enforces Slack's length limit."""
    block: BlockDict = {"type": "section", "text": mrkdwn_text(mrkdwn, SECTION_LIMIT)}
    if block_id is not None:
        block["block_id"] = block_id
    if accessory is not None:
        block["accessory"] = accessory if isinstance(accessory, dict) else accessory.to_dict()
    return block


def context(*mrkdwn: str) -> BlockDict:
    return {"type": "context", "elements": [mrkdwn_text(m, 2000) for m in mrkdwn[:10]]}


def divider() -> BlockDict:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    style: str | None = None,
    url: str | None = None,
) -> BlockDict:
    element: BlockDict = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        element["value"] = value
    if style is not None:
        element["style"] = style
    if url is not None:
        element["url"] = url
    return element


def actions(*elements: Any, block_id: str | None = None) -> BlockDict:
    block: BlockDict = {
        "type": "actions",
        "elements": [e if isinstance(e, dict) else e.to_dict() for e in list(elements)[:25]],
    }
    if block_id is not None:
        block["block_id"] = block_id
    return block


def input_block(
    block_id: str, label: str, element: BlockDict, *, optional: bool = False, hint: str | None = None
) -> BlockDict:
    """An input block (label and hint within Slack's 2000 characters). Field errors are keyed by `block_id`."""
    block: BlockDict = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint is not None:
        block["hint"] = plain(hint, 2000)
    return block


def modal_title(text: str) -> BlockDict:
    return {"type": "plain_text", "text": truncate(text, MODAL_TITLE_LIMIT)}


def to_dicts(blocks: Sequence[Any]) -> list[BlockDict]:
    """Blocks as plain dicts (what the Web API takes); model objects, where any are left, are converted."""
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


# What Slack says, per refused block, when it cannot fetch an image_url (not public, not png/jpg/gif:
# https://docs.slack.dev/reference/block-kit/blocks/image-block).
IMAGE_DOWNLOAD_FAILED = "downloading image failed"


def image_not_downloadable(messages: Any) -> bool:
    """Whether Slack's `response_metadata.messages` say an image could not be downloaded."""
    return any(IMAGE_DOWNLOAD_FAILED in str(m) for m in messages or ())


def without_images(message: dict[str, Any]) -> dict[str, Any] | None:
    """`message` with its image blocks, image accessories and context images left out; None when it shows
    no image (then the refusal was about something else)."""
    blocks = message.get("blocks")
    if not isinstance(blocks, list):
        return None
    kept: list[Any] = []
    removed = False
    for block in blocks:
        if not isinstance(block, dict):
            kept.append(block)
        elif block.get("type") == "image":
            removed = True
        elif block.get("type") == "section" and (block.get("accessory") or {}).get("type") == "image":
            kept.append({k: v for k, v in block.items() if k != "accessory"})
            removed = True
        elif block.get("type") == "context":
            elements = [e for e in block.get("elements") or [] if (e or {}).get("type") != "image"]
            removed = removed or len(elements) != len(block.get("elements") or [])
            if elements:
                kept.append({**block, "elements": elements})
        else:
            kept.append(block)
    return {**message, "blocks": kept} if removed else None
