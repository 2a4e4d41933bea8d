"""Block Kit for alumni stories: the draft/edit modal, the approval request DM, the posted story, the
"withdrawn" note, the Home section and the digest line. Pure: stories in, plain dicts out; user text escaped.

Buttons carry `"<story id>:<version>"` as their value (`story_button_value` / `parse_story_button`), so an
approval is always of the version the subject was shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.common import (
    SECTION_LIMIT,
    BlockDict,
    actions,
    button,
    context,
    divider,
    header,
    modal_title,
    section,
    to_dicts,
)
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, strip_invisible, truncate, user_mention
from models.story import AWAITING_APPROVAL, BODY_MAX, PUBLISHED, TITLE_MAX, Story

# IDs Slack sends back.
DRAFT_SUBMIT = "story_draft_submit"  # view callback: a new draft
EDIT_SUBMIT = "story_edit_submit"  # view callback: an edit (private_metadata: "<id>:<version>")
NEW_DRAFT = "story_new"  # Home button: open the draft modal
APPROVE = "story_approve"
EDIT = "story_edit"
DECLINE = "story_decline"
WITHDRAW = "story_withdraw"
APPROVAL_ACTIONS = (APPROVE, EDIT, DECLINE)
SUBJECT_BLOCK = "subject"
TITLE_BLOCK = "title"
BODY_BLOCK = "body"
APPROVAL_BLOCK = "story_approval"


def story_button_value(story: Story) -> str:
    """`"<id>:<version>"`: which story and which version of its text a button stands for."""
    return f"{story.id}:{story.version}"


def parse_story_button(value: str | None) -> tuple[int, int] | None:
    """(story id, version) from a button value or private_metadata; None unless well formed."""
    head, _, tail = str(value or "").strip().partition(":")
    if not (head.isascii() and head.isdigit() and tail.isascii() and tail.isdigit()):
        return None
    if len(head) > 10 or len(tail) > 10:
        return None
    return int(head), int(tail)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, 2000), "emoji": True}


def _confirm(tr: Translator, title_key: str, text_key: str) -> dict[str, Any]:
    return {
        "title": _plain(truncate(tr(title_key), 100)),
        "text": _plain(truncate(tr(text_key), 300)),
        "confirm": _plain(tr("stories.confirm")),
        "deny": _plain(tr("stories.cancel")),
    }


def body_sections(body: str, *, limit: int = SECTION_LIMIT) -> list[BlockDict]:
    """The body as mrkdwn sections, escaped, split at line ends so none passes Slack's 3,000 characters
    (escaping can make a 3,000-character body longer)."""
    chunks: list[str] = []
    current = ""
    for line in body.split("\n"):
        piece = escape(line)
        while len(piece) > limit:  # one very long line: cut it, never inside an entity
            cut = piece.rfind("&", 0, limit)
            cut = cut if cut > limit - 6 else limit
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece[:cut])
            piece = piece[cut:]
        candidate = f"{current}\n{piece}" if current else piece
        if len(candidate) > limit:
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [section(chunk) for chunk in chunks if chunk.strip()] or [section("—")]


def _text_input(
    block_id: str, label: str, *, max_length: int, multiline: bool, initial: str
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial
    return {"type": "input", "block_id": block_id, "label": _plain(label), "element": element}


def draft_modal(
    tr: Translator, *, story: Story | None = None, choose_subject: bool = False
) -> dict[str, Any]:
    """The draft modal (new story) or the edit modal (`story` given). `choose_subject`: HR picks who the
    story is about; a member drafting their own story does not."""
    blocks: list[dict[str, Any]] = [section(tr("stories.intro"))]
    if story is None and choose_subject:
        blocks.append(
            {
                "type": "input",
                "block_id": SUBJECT_BLOCK,
                "label": _plain(tr("stories.subject_label")),
                "element": {"type": "users_select", "action_id": SUBJECT_BLOCK},
            }
        )
    blocks.append(
        _text_input(
            TITLE_BLOCK,
            tr("stories.title_label"),
            max_length=TITLE_MAX,
            multiline=False,
            initial=story.title if story else "",
        )
    )
    blocks.append(
        _text_input(
            BODY_BLOCK,
            tr("stories.body_label"),
            max_length=BODY_MAX,
            multiline=True,
            initial=story.body if story else "",
        )
    )
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": EDIT_SUBMIT if story is not None else DRAFT_SUBMIT,
        "title": modal_title(tr("stories.edit_title" if story else "stories.draft_title")),
        "submit": _plain(tr("stories.save")),
        "close": _plain(tr("stories.cancel")),
        "blocks": blocks,
    }
    if story is not None:
        view["private_metadata"] = story_button_value(story)
    return view


def _story_text_blocks(story: Story, tr: Translator) -> list[BlockDict]:
    return [
        header(strip_invisible(story.title)),
        *body_sections(story.body),
        context(tr("stories.version", version=story.version)),
    ]


def approval_request_message(story: Story, tr: Translator) -> dict[str, Any]:
    """The DM asking the subject to approve the exact text (Approve / Edit / Decline), in their language."""
    value = story_button_value(story)
    blocks: list[BlockDict] = [
        section(tr("stories.approval_intro", author=user_mention(story.author_id), version=story.version)),
        divider(),
        *_story_text_blocks(story, tr),
        actions(
            button(tr("stories.approve_button"), APPROVE, value=value, style="primary"),
            button(tr("stories.edit_button"), EDIT, value=value),
            _with_confirm(
                button(tr("stories.decline_button"), DECLINE, value=value, style="danger"),
                _confirm(tr, "stories.decline_confirm_title", "stories.decline_confirm_text"),
            ),
            block_id=APPROVAL_BLOCK,
        ),
    ]
    return {"text": tr("stories.approval_text"), "blocks": to_dicts(blocks)}


def _with_confirm(element: Any, confirm: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = dict(element) if isinstance(element, dict) else element.to_dict()
    data["confirm"] = confirm
    return data


def posted_story_message(story: Story, tr: Translator) -> dict[str, Any]:
    """The story as posted to #alumni and the staff channel (`tr`: the channel's language)."""
    subject = user_mention(story.subject_id)
    blocks: list[BlockDict] = [
        header(strip_invisible(story.title)),
        context(tr("stories.posted_about", subject=subject)),
        *body_sections(story.body),
    ]
    return {
        "text": truncate(tr("stories.posted_text", subject=subject, title=escape(story.title)), 3000),
        "blocks": to_dicts(blocks),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def withdrawn_note_message(tr: Translator) -> dict[str, Any]:
    """What replaces every posted copy of a withdrawn story."""
    note = tr("stories.withdrawn_note")
    return {"text": note, "blocks": to_dicts([context(note)])}


def home_section(
    tr: Translator, *, about_me: Sequence[Story], can_draft: bool = True, limit: int = 5
) -> list[dict[str, Any]]:
    """The member's part of the Home tab: stories about them (approve, edit, decline those waiting;
    withdraw the rest) and a button to tell their own story."""
    blocks: list[BlockDict] = [header(tr("stories.home_title"))]
    shown = list(about_me)[:limit]
    if not shown:
        blocks.append(section(tr("stories.home_empty")))
    for story in shown:
        title = escape(story.title)
        value = story_button_value(story)
        if story.status == AWAITING_APPROVAL:
            blocks.append(section(tr("stories.home_awaiting", title=title, version=story.version)))
            blocks.append(
                actions(
                    button(tr("stories.approve_button"), APPROVE, value=value, style="primary"),
                    button(tr("stories.edit_button"), EDIT, value=value),
                    _with_confirm(
                        button(tr("stories.decline_button"), DECLINE, value=value, style="danger"),
                        _confirm(tr, "stories.decline_confirm_title", "stories.decline_confirm_text"),
                    ),
                )
            )
            continue
        if story.status == PUBLISHED and story.published_at is not None:
            when = date_token(
                story.published_at, fallback=story.published_at.strftime("%Y-%m-%d"), fmt="{date_short}"
            )
            text = tr("stories.home_published", title=title, when=when)
        else:
            text = tr("stories.home_other", title=title, status=tr(f"stories.status.{story.status}"))
        if story.status in ("withdrawn", "declined"):
            blocks.append(section(text))
        else:
            blocks.append(
                section(
                    text,
                    accessory=_with_confirm(
                        button(tr("stories.withdraw_button"), WITHDRAW, value=value),
                        _confirm(tr, "stories.withdraw_confirm_title", "stories.withdraw_confirm_text"),
                    ),
                )
            )
    if can_draft:
        blocks.append(actions(button(tr("stories.new_button"), NEW_DRAFT, value="new")))
    return to_dicts(blocks)


def digest_line(story: Story, tr: Translator) -> str:
    """One line of the weekly digest: the title and who it is about."""
    return tr(
        "stories.digest_line",
        title=escape(truncate(story.title, 150)),
        subject=user_mention(story.subject_id),
    )
