"""The weekly digest message: a frame (title, week) and one part per feature section, always within Slack's
limits (50 blocks a message, 3,000 characters a section). What does not fit is summarised:
"and 37 more — /opportunities". Pure: sections in, blocks out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.blocks.common import MESSAGE_BLOCK_LIMIT, SECTION_LIMIT, context, header, section, to_dicts
from bot.i18n import Translator
from bot.mrkdwn import date_token

# Frame: the title and the week; each feature section then takes a header and a section block.
_FRAME_BLOCKS = 2
_BLOCKS_PER_SECTION = 2


class SectionLike(Protocol):
    """What the builder reads from a digest section (jobs.base.DigestSection)."""

    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def lines(self) -> list[str]: ...
    @property
    def total(self) -> int: ...
    @property
    def more_hint(self) -> str: ...


def _more_line(tr: Translator, count: int, hint: str) -> str:
    if count <= 0:
        return ""
    return tr("digest.more", count=count, hint=hint) if hint else tr("digest.more_plain", count=count)


def safe_cut(line: str, limit: int) -> str:
    """Shorten one mrkdwn line without leaving half a `<…>` token (link, mention, date) behind."""
    if len(line) <= limit:
        return line
    cut = line[: max(0, limit - 1)]
    opened, closed = cut.rfind("<"), cut.rfind(">")
    if opened > closed:
        cut = cut[:opened]
    return cut.rstrip() + "…"


def section_text(item: SectionLike, tr: Translator, limit: int = SECTION_LIMIT) -> str:
    """The section's lines that fit in `limit` characters, then "and N more" for the rest."""
    total = max(item.total, len(item.lines))
    shown: list[str] = []
    used = 0
    for line in item.lines:
        more = _more_line(tr, total - len(shown) - 1, item.more_hint)
        needed = used + (1 if shown else 0) + len(line) + (len(more) + 1 if more else 0)
        if needed > limit:
            break
        shown.append(line)
        used += (1 if len(shown) > 1 else 0) + len(line)
    if not shown and item.lines:
        more = _more_line(tr, total - 1, item.more_hint)
        shown.append(safe_cut(item.lines[0], limit - (len(more) + 1 if more else 0)))
    more = _more_line(tr, total - len(shown), item.more_hint)
    text = "\n".join([*shown, more] if more else shown)
    return text or tr("common.none")


def digest_blocks(
    sections: Sequence[SectionLike], tr: Translator, *, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The digest's blocks. `sections` in digest order; [start, end) is the week it covers."""
    last_day = end - timedelta(seconds=1)
    period = tr(
        "digest.period",
        start=date_token(start, fallback=start.strftime("%Y-%m-%d"), fmt="{date_short}"),
        end=date_token(last_day, fallback=last_day.strftime("%Y-%m-%d"), fmt="{date_short}"),
    )
    blocks: list[Any] = [header(tr("digest.title")), context(period)]
    room = (MESSAGE_BLOCK_LIMIT - _FRAME_BLOCKS) // _BLOCKS_PER_SECTION
    if not sections:
        blocks.append(section(tr("digest.empty")))
        return to_dicts(blocks)
    shown = sections if len(sections) <= room else sections[: room - 1]
    for item in shown:
        blocks.append(header(item.title))
        blocks.append(section(section_text(item, tr)))
    rest = sections[len(shown) :]
    if rest:
        # Too many sections for one message: the rest become one summary line.
        counts = ", ".join(
            tr("digest.section_count", title=item.title, count=max(item.total, len(item.lines)))
            for item in rest
        )
        blocks.append(section(safe_cut(tr("digest.other_sections", sections=counts), SECTION_LIMIT)))
    return to_dicts(blocks)


def digest_text(sections: Sequence[SectionLike], tr: Translator) -> str:
    """The notification / fallback text."""
    count = sum(max(item.total, len(item.lines)) for item in sections)
    return tr("digest.fallback", count=count) if sections else tr("digest.empty")
