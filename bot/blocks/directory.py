"""Block Kit for the directory: search results (profile cards, paging) and HR's private rehire list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.blocks.common import (
    MESSAGE_BLOCK_LIMIT,
    BlockDict,
    actions,
    button,
    context,
    divider,
    section,
    to_dicts,
)
from bot.blocks.profiles import message_link, name_of, profile_card, profile_lines
from bot.i18n import Translator
from bot.mrkdwn import escape, truncate
from models.profile import RehireMatch, SearchPage

MORE_ACTION = "directory_more"
PAGE_SIZE = 10
QUERY_MAX = 200  # characters of the query kept in the "Show more" button

Blocks = list[BlockDict]


def more_value(query: str, offset: int) -> str:
    """The "Show more" button's value: the query and where the next page starts."""
    return json.dumps({"q": query[:QUERY_MAX], "o": offset}, ensure_ascii=False)


def parse_more_value(value: str | None) -> tuple[str, int] | None:
    """Read a "Show more" value back; None when it is not one of ours."""
    try:
        data = json.loads(value or "")
        query, offset = str(data["q"]), int(data["o"])
    except (ValueError, KeyError, TypeError):
        return None
    if offset < 0 or offset > 10_000:
        return None
    return query, offset


def search_results(
    page: SearchPage,
    tr: Translator,
    *,
    query: str,
    team_id: str | None,
    today: date,
    viewer_is_hr: bool,
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for one page of directory results."""
    shown = escape(truncate(query, 100))
    if not page.members:
        key = "directory.no_more" if page.offset else "directory.no_results"
        text = tr(key, query=shown)
        return text, to_dicts([section(text)])
    start, end = page.offset + 1, page.offset + len(page.members)
    text = tr("directory.results_header", query=shown, start=start, end=end)
    blocks: Blocks = [section(text)]
    for member in page.members:
        card = profile_card(member, tr, team_id=team_id, today=today, viewer_is_hr=viewer_is_hr)
        if len(blocks) + len(card) + 3 > MESSAGE_BLOCK_LIMIT:
            break
        blocks.append(divider())
        blocks.extend(card)
    if page.has_more:
        blocks.append(
            actions(
                button(
                    tr("directory.more_button"),
                    MORE_ACTION,
                    value=more_value(query, page.offset + len(page.members)),
                )
            )
        )
    blocks.append(context(tr("directory.private_note_hr" if viewer_is_hr else "directory.private_note")))
    return text, to_dicts(blocks)


def rehire_message(
    matches: Sequence[RehireMatch], tr: Translator, *, title: str, team_id: str | None, today: date
) -> tuple[str, list[dict[str, Any]]]:
    """HR's private DM: members open to rehire whose skills overlap the opening, best first."""
    safe_title = escape(truncate(title, 150))
    if not matches:
        text = tr("directory.rehire.none", title=safe_title)
        return text, to_dicts([section(text), context(tr("directory.rehire.private_note"))])
    text = tr("directory.rehire.header", title=safe_title, count=len(matches))
    blocks: Blocks = [section(text)]
    for match in matches:
        member = match.member
        head = f"*{name_of(member)}*"
        contact = message_link(team_id, member.slack_user_id, tr)
        if contact:
            head += "  " + contact
        shared = tr(
            "directory.rehire.shared", skills=escape(", ".join(match.shared_skills)), count=match.score
        )
        lines = [head, shared, *profile_lines(member, tr, today=today, interests_limit=0)]
        if len(blocks) + 3 > MESSAGE_BLOCK_LIMIT:
            break
        blocks.append(divider())
        blocks.append(section("\n".join(lines)))
    blocks.append(context(tr("directory.rehire.private_note")))
    return text, to_dicts(blocks)
