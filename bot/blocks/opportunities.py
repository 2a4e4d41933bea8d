"""Block Kit for opportunities: the announcement, the browse list, the post modal, DMs and App Home parts.

Pure functions: domain objects in, blocks out, as plain dicts (what the Web API takes; `bot.blocks.common`
says why). Every user-typed string goes through `escape`.

Extra announcement buttons (for example "Refer someone" from the referrals feature): pass
`extra_buttons=` to `announcement_message`, or register a provider once with
`add_announcement_buttons(provider)`; a provider gets `(opportunity, tr)` and returns buttons that appear
after "I'm interested" on open posts, on every render (posting, edits, fills, closes, expiry).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    BlockDict,
    actions,
    button,
    context,
    divider,
    input_block,
    modal_title,
    mrkdwn_text,
    plain,
    section,
)
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, link, truncate, user_mention
from models.opportunity import (
    DEFAULT_EXPIRY_DAYS,
    KIND_REHIRE,
    KINDS,
    MAX_COMPANY,
    MAX_COMPENSATION,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    MAX_LOCATION,
    MAX_TITLE,
    MAX_URL,
    WORK_STYLES,
    Draft,
    Opportunity,
    ProfileSummary,
)

# IDs Slack sends back.
COMMAND = "/opportunities"
SHORTCUT_POST = "opportunities_post"
VIEW_POST = "opportunities_post_view"
VIEW_FILLED = "opportunities_filled_view"
ACTION_OPEN_POST = "opportunities_open_post"
ACTION_NEXT = "opportunities_next"
ACTION_PREVIOUS = "opportunities_previous"
ACTION_FILTER_KIND = "opportunities_filter_kind"
ACTION_FILTER_STYLE = "opportunities_filter_style"
ACTION_INTERESTED = "opportunities_interested"
ACTION_EDIT = "opportunities_edit"
ACTION_FILL = "opportunities_fill"
ACTION_CLOSE = "opportunities_close"
ACTION_REMIND_EXTEND = "opportunities_remind_extend"
ACTION_REMIND_CLOSE = "opportunities_remind_close"
BROWSE_BLOCK_PREFIX = "opp_browse:"
FILLED_BY_BLOCK = "filled_by"
ALL = "all"

PAGE_SIZE = 8
MAX_BROWSE_OFFSET = 10_000
DESCRIPTION_PREVIEW = 1500

# A provider returns button elements as dicts (slack_sdk model objects are still accepted: `actions`
# converts them).
ButtonProvider = Callable[[Opportunity, Translator], Sequence[Any]]
_button_providers: list[ButtonProvider] = []


def add_announcement_buttons(provider: ButtonProvider) -> None:
    """Register a provider of extra buttons for open announcements (called once, at registration)."""
    if provider not in _button_providers:
        _button_providers.append(provider)


def provided_buttons(opportunity: Opportunity, tr: Translator) -> list[Any]:
    out: list[Any] = []
    for provider in _button_providers:
        out.extend(provider(opportunity, tr))
    return out


# -- labels ------------------------------------------------------------------------------------------


def kind_label(tr: Translator, kind: str) -> str:
    return tr(f"opportunities.kind.{kind}") if kind in KINDS else escape(kind)


def work_style_label(tr: Translator, style: str) -> str:
    return tr(f"opportunities.work_style.{style}") if style in WORK_STYLES else ""


def status_label(tr: Translator, status: str) -> str:
    return tr(f"opportunities.status.{status}")


def _day(instant: datetime, zone: ZoneInfo) -> str:
    return date_token(
        instant, fallback=instant.astimezone(zone).strftime("%Y-%m-%d"), fmt="{date_short_pretty}"
    )


def title_line(opportunity: Opportunity, tr: Translator, *, badge: bool = True) -> str:
    """`*Title*` with the rehire badge in front of rehire openings (escaped)."""
    mark = tr("opportunities.rehire_badge") + " " if badge and opportunity.is_rehire else ""
    return f"{mark}*{escape(opportunity.title)}*"


def facts_line(opportunity: Opportunity, tr: Translator) -> str:
    # Rehire openings carry their badge (or banner) already.
    parts = [] if opportunity.is_rehire else [kind_label(tr, opportunity.kind)]
    if opportunity.company:
        parts.append(escape(opportunity.company))
    if opportunity.location:
        parts.append(escape(opportunity.location))
    if opportunity.work_style:
        parts.append(work_style_label(tr, opportunity.work_style))
    return " · ".join(parts)


def summary(opportunity: Opportunity, tr: Translator, *, with_link: bool = True) -> str:
    """One mrkdwn paragraph: title (linked to the announcement when known), facts, skills."""
    head = title_line(opportunity, tr)
    if with_link and opportunity.permalink:
        head += " " + link(opportunity.permalink, tr("opportunities.view_post"))
    lines = [line for line in (head, facts_line(opportunity, tr)) if line]
    if opportunity.skill_list:
        lines.append(tr("opportunities.skills_line", skills=escape(", ".join(opportunity.skill_list))))
    return "\n".join(lines)


def digest_line(opportunity: Opportunity, tr: Translator) -> str:
    """One line for lists: title (linked to the announcement when known) — facts."""
    head = title_line(opportunity, tr)
    if opportunity.permalink:
        head = f"{head} {link(opportunity.permalink, tr('opportunities.view_post'))}"
    facts = facts_line(opportunity, tr)
    return f"{head} — {facts}" if facts else head


def how_to_apply(opportunity: Opportunity, tr: Translator) -> str:
    parts = []
    if opportunity.apply_url:
        parts.append(link(opportunity.apply_url, truncate(opportunity.apply_url, 80)))
    if opportunity.apply_contact:
        parts.append(escape(opportunity.apply_contact))
    if not parts:
        parts.append(tr("opportunities.apply_poster", poster=user_mention(opportunity.poster_id)))
    return tr("opportunities.apply_line", how=" · ".join(parts))


# -- the announcement --------------------------------------------------------------------------------


def announcement_message(
    opportunity: Opportunity,
    tr: Translator,
    *,
    zone: ZoneInfo,
    interest_count: int = 0,
    extra_buttons: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """`chat.postMessage`/`chat.update` arguments (text, blocks) for the channel announcement."""
    assert opportunity.id is not None
    poster = user_mention(opportunity.poster_id)
    blocks: list[BlockDict] = []
    if opportunity.is_rehire:
        blocks.append(context(tr("opportunities.announce.rehire_banner", poster=poster)))
    facts = facts_line(opportunity, tr)
    blocks.append(section(f"{title_line(opportunity, tr, badge=False)}\n{facts}".rstrip()))
    if opportunity.description:
        blocks.append(section(escape(truncate(opportunity.description, DESCRIPTION_PREVIEW))))
    details = []
    if opportunity.skill_list:
        details.append(tr("opportunities.skills_line", skills=escape(", ".join(opportunity.skill_list))))
    if opportunity.compensation:
        details.append(tr("opportunities.compensation_line", compensation=escape(opportunity.compensation)))
    details.append(how_to_apply(opportunity, tr))
    blocks.append(section("\n".join(details)))
    meta = [tr("opportunities.announce.posted_by", poster=poster)]
    if opportunity.is_open:
        meta.append(tr("opportunities.announce.expires", date=_day(opportunity.expires_at, zone)))
    if interest_count:
        meta.append(tr("opportunities.announce.interested_count", count=interest_count))
    blocks.append(context(" · ".join(meta)))
    if opportunity.is_open:
        value = str(opportunity.id)
        extra = list(extra_buttons) if extra_buttons is not None else provided_buttons(opportunity, tr)
        blocks.append(
            actions(
                button(
                    tr("opportunities.buttons.interested"), ACTION_INTERESTED, value=value, style="primary"
                ),
                *extra,
                button(tr("opportunities.buttons.edit"), ACTION_EDIT, value=value),
                button(tr("opportunities.buttons.fill"), ACTION_FILL, value=value),
                close_button(tr, value),
                block_id=f"opp_actions:{opportunity.id}",
            )
        )
    else:
        blocks.append(context(tr(f"opportunities.announce.state.{opportunity.status}")))
    key = (
        "opportunities.announce.fallback_rehire"
        if opportunity.is_rehire
        else "opportunities.announce.fallback"
    )
    text = tr(key, title=escape(opportunity.title))
    if not opportunity.is_open:
        text = f"{status_label(tr, opportunity.status)}: {text}"
    return {"text": text, "blocks": blocks}


def close_button(tr: Translator, value: str, action_id: str = ACTION_CLOSE) -> BlockDict:
    """A red "Close" button that asks for confirmation first."""
    element = button(tr("opportunities.buttons.close"), action_id, value=value, style="danger")
    # Limits of a confirmation dialog: https://api.slack.com/reference/block-kit/composition-objects#confirm
    element["confirm"] = {
        "title": plain(tr("opportunities.close_confirm.title"), 100),
        "text": mrkdwn_text(tr("opportunities.close_confirm.text"), 300),
        "confirm": plain(tr("opportunities.close_confirm.yes"), 30),
        "deny": plain(tr("common.cancel"), 30),
    }
    return element


# -- browsing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrowseState:
    """What a browse message shows: the words, the filters and the page offset (kept in the message)."""

    query: str = ""
    kind: str | None = None
    work_style: str | None = None
    offset: int = 0

    def encode(self, limit: int = 1900) -> str:
        """Compact JSON of at most `limit` characters (the query is shortened to fit)."""
        query = self.query[:200]
        while True:
            data = {"q": query, "k": self.kind or "", "w": self.work_style or "", "o": self.offset}
            encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            if len(encoded) <= limit or not query:
                return encoded
            query = query[: max(0, len(query) - max(1, len(encoded) - limit))]

    @classmethod
    def decode(cls, raw: str | None) -> BrowseState:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        kind = str(data.get("k") or "") or None
        style = str(data.get("w") or "") or None
        try:
            # Clamped: a forged offset must neither overflow the database nor force a deep scan.
            offset = min(MAX_BROWSE_OFFSET, max(0, int(data.get("o") or 0)))
        except (TypeError, ValueError):
            offset = 0
        return cls(
            query=str(data.get("q") or "")[:200],
            kind=kind if kind in KINDS else None,
            work_style=style if style in WORK_STYLES else None,
            offset=offset,
        )

    def with_(self, **changes: Any) -> BrowseState:
        return dataclasses.replace(self, **changes)


def _option(value: str, label: str) -> BlockDict:
    return {"text": plain(label, 75), "value": value}


def _static_select(
    action_id: str,
    options: list[BlockDict],
    *,
    initial: BlockDict | None = None,
    placeholder: str | None = None,
) -> BlockDict:
    element: BlockDict = {"type": "static_select", "action_id": action_id, "options": options}
    if initial is not None:
        element["initial_option"] = initial
    if placeholder is not None:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _select(
    tr: Translator, action_id: str, all_label: str, options: Sequence[tuple[str, str]], current: str | None
) -> BlockDict:
    opts = [_option(ALL, all_label)] + [_option(v, label) for v, label in options]
    initial = next((o for o in opts if o["value"] == (current or ALL)), opts[0])
    return _static_select(action_id, opts, initial=initial)


def browse_message(
    items: Sequence[Opportunity], tr: Translator, *, state: BrowseState, has_more: bool, zone: ZoneInfo
) -> dict[str, Any]:
    """The ephemeral answer to `/opportunities [words]` (and its pages and filters)."""
    blocks: list[BlockDict] = []
    query = escape(truncate(state.query, 100))
    if items:
        first, last = state.offset + 1, state.offset + len(items)
        key = "opportunities.browse.heading_query" if state.query else "opportunities.browse.heading"
        blocks.append(section(tr(key, query=query, first=first, last=last)))
    else:
        key = "opportunities.browse.empty_query" if state.query else "opportunities.browse.empty"
        blocks.append(section(tr(key, query=query)))
    blocks.append(
        actions(
            _select(
                tr,
                ACTION_FILTER_KIND,
                tr("opportunities.browse.all_kinds"),
                [(k, kind_label(tr, k)) for k in KINDS],
                state.kind,
            ),
            _select(
                tr,
                ACTION_FILTER_STYLE,
                tr("opportunities.browse.all_styles"),
                [(w, work_style_label(tr, w)) for w in WORK_STYLES],
                state.work_style,
            ),
            button(tr("opportunities.buttons.post"), ACTION_OPEN_POST, value="browse"),
            block_id=BROWSE_BLOCK_PREFIX + state.with_(offset=0).encode(limit=200),
        )
    )
    for opportunity in items:
        blocks.append(divider())
        text = summary(opportunity, tr)
        text += "\n" + tr("opportunities.browse.expires", date=_day(opportunity.expires_at, zone))
        blocks.append(section(text))
    pager = []
    if state.offset > 0:
        prev = state.with_(offset=max(0, state.offset - PAGE_SIZE))
        pager.append(button(tr("common.previous"), ACTION_PREVIOUS, value=prev.encode()))
    if has_more:
        nxt = state.with_(offset=state.offset + PAGE_SIZE)
        pager.append(button(tr("common.next"), ACTION_NEXT, value=nxt.encode()))
    if pager:
        blocks.append(actions(*pager))
    text = tr("opportunities.browse.fallback", count=len(items))
    return {"text": text, "blocks": blocks}


def mine_message(items: Sequence[Opportunity], tr: Translator, *, zone: ZoneInfo) -> dict[str, Any]:
    """`/opportunities mine`: the caller's posts with their status."""
    if not items:
        return {
            "text": tr("opportunities.mine.empty"),
            "blocks": [section(tr("opportunities.mine.empty"))],
        }
    blocks: list[BlockDict] = [section(tr("opportunities.mine.heading", count=len(items)))]
    for opportunity in items[:40]:
        status = status_label(tr, opportunity.status)
        extra = (
            tr("opportunities.browse.expires", date=_day(opportunity.expires_at, zone))
            if opportunity.is_open
            else ""
        )
        blocks.append(section(f"{summary(opportunity, tr)}\n*{status}* {extra}".rstrip()))
    return {"text": tr("opportunities.mine.heading", count=len(items)), "blocks": blocks}


# -- the post modal ------------------------------------------------------------------------------------


def _text_input(
    tr: Translator,
    block_id: str,
    *,
    max_length: int,
    initial: str = "",
    optional: bool = True,
    multiline: bool = False,
    hint: str | None = None,
) -> BlockDict:
    element: BlockDict = {
        "type": "plain_text_input",
        "action_id": block_id,
        "max_length": max_length,
        "placeholder": plain(tr(f"opportunities.form.{block_id}_placeholder"), 150),
    }
    if initial[:max_length]:
        element["initial_value"] = initial[:max_length]
    if multiline:
        element["multiline"] = True
    return input_block(block_id, tr(f"opportunities.form.{block_id}"), element, optional=optional, hint=hint)


def post_modal(
    tr: Translator,
    *,
    is_hr: bool,
    today: date,
    draft: Draft | None = None,
    opportunity_id: int | None = None,
) -> dict[str, Any]:
    """The post (or edit, with `opportunity_id`) modal. `rehire` is offered to HR only."""
    d = draft or Draft()
    kinds = [k for k in KINDS if k != KIND_REHIRE or is_hr]
    if d.kind == KIND_REHIRE and KIND_REHIRE not in kinds:
        kinds.append(KIND_REHIRE)  # editing a rehire post made by HR: keep showing what it is
    kind_options = [_option(k, kind_label(tr, k)) for k in kinds]
    kind_initial = next((o for o in kind_options if o["value"] == d.kind), kind_options[0])
    style_options = [_option(w, work_style_label(tr, w)) for w in WORK_STYLES]
    style_initial = next((o for o in style_options if o["value"] == d.work_style), None)
    expires = d.expires_on if isinstance(d.expires_on, date) else today + timedelta(days=DEFAULT_EXPIRY_DAYS)
    blocks: list[BlockDict] = [
        input_block(
            "kind",
            tr("opportunities.form.kind"),
            _static_select("kind", kind_options, initial=kind_initial),
            hint=tr("opportunities.form.kind_hint_hr") if is_hr else None,
        ),
        _text_input(tr, "title", max_length=MAX_TITLE, initial=d.title, optional=False),
        _text_input(tr, "company", max_length=MAX_COMPANY, initial=d.company),
        _text_input(tr, "description", max_length=MAX_DESCRIPTION, initial=d.description, multiline=True),
        _text_input(tr, "location", max_length=MAX_LOCATION, initial=d.location),
        input_block(
            "work_style",
            tr("opportunities.form.work_style"),
            _static_select(
                "work_style",
                style_options,
                initial=style_initial,
                placeholder=tr("opportunities.form.work_style_placeholder"),
            ),
            optional=True,
        ),
        _text_input(
            tr, "skills", max_length=1000, initial=d.skills, hint=tr("opportunities.form.skills_hint")
        ),
        _text_input(tr, "compensation", max_length=MAX_COMPENSATION, initial=d.compensation),
        _text_input(
            tr,
            "apply_url",
            max_length=MAX_URL,
            initial=d.apply_url,
            hint=tr("opportunities.form.apply_url_hint"),
        ),
        _text_input(tr, "apply_contact", max_length=MAX_CONTACT, initial=d.apply_contact),
        input_block(
            "expires_on",
            tr("opportunities.form.expires_on"),
            {"type": "datepicker", "action_id": "expires_on", "initial_date": expires.isoformat()},
            hint=tr("opportunities.form.expires_on_hint"),
            optional=True,
        ),
    ]
    editing = opportunity_id is not None
    return {
        "type": "modal",
        "callback_id": VIEW_POST,
        "private_metadata": str(opportunity_id) if editing else "",
        "title": modal_title(
            tr("opportunities.form.modal_title_edit" if editing else "opportunities.form.modal_title")
        ),
        "submit": modal_title(tr("common.save" if editing else "opportunities.form.submit")),
        "close": modal_title(tr("common.cancel")),
        "blocks": blocks,
    }


def filled_modal(opportunity: Opportunity, tr: Translator) -> dict[str, Any]:
    """Mark filled: optionally name who filled it."""
    assert opportunity.id is not None
    who: BlockDict = {
        "type": "users_select",
        "action_id": FILLED_BY_BLOCK,
        "placeholder": plain(tr("opportunities.filled.who_placeholder"), 150),
    }
    blocks: list[BlockDict] = [
        section(tr("opportunities.filled.intro", title=escape(opportunity.title))),
        input_block(
            FILLED_BY_BLOCK,
            tr("opportunities.filled.who"),
            who,
            optional=True,
            hint=tr("opportunities.filled.who_hint"),
        ),
    ]
    return {
        "type": "modal",
        "callback_id": VIEW_FILLED,
        "private_metadata": str(opportunity.id),
        "title": modal_title(tr("opportunities.filled.title")),
        "submit": modal_title(tr("opportunities.filled.submit")),
        "close": modal_title(tr("common.cancel")),
        "blocks": blocks,
    }


# -- direct messages ---------------------------------------------------------------------------------


def posted_confirmation(opportunity: Opportunity, tr: Translator, *, channel: str | None) -> dict[str, Any]:
    if opportunity.permalink:
        text = tr(
            "opportunities.dm.posted",
            title=escape(opportunity.title),
            link=link(opportunity.permalink, tr("opportunities.view_post")),
        )
    elif channel:
        text = tr("opportunities.dm.posted_no_link", title=escape(opportunity.title))
    else:
        text = tr("opportunities.dm.saved_no_channel", title=escape(opportunity.title))
    return {"text": text, "blocks": [section(text)]}


def interest_dm(
    opportunity: Opportunity, tr: Translator, *, user_id: str, profile: ProfileSummary | None
) -> dict[str, Any]:
    """To the poster: who is interested (a mention, plus the profile summary they agreed to share)."""
    text = tr("opportunities.dm.interested", who=user_mention(user_id), title=escape(opportunity.title))
    lines = [text]
    if profile is not None:
        if profile.current_company or profile.current_role:
            now_at = " / ".join(escape(p) for p in (profile.current_role, profile.current_company) if p)
            lines.append(tr("opportunities.dm.profile_now", now=now_at))
        if profile.skills:
            lines.append(tr("opportunities.dm.profile_skills", skills=escape(truncate(profile.skills, 300))))
    if opportunity.permalink:
        lines.append(link(opportunity.permalink, tr("opportunities.view_post")))
    blocks = [section("\n".join(lines)), context(tr("opportunities.dm.interested_hint"))]
    return {"text": text, "blocks": blocks}


def reminder_dm(opportunity: Opportunity, tr: Translator, *, zone: ZoneInfo) -> dict[str, Any]:
    """Three days before expiry, to the poster: extend or close."""
    assert opportunity.id is not None
    text = tr(
        "opportunities.dm.expiring",
        title=escape(opportunity.title),
        date=_day(opportunity.expires_at, zone),
    )
    value = str(opportunity.id)
    blocks = [
        section(text),
        actions(
            button(tr("opportunities.buttons.extend"), ACTION_REMIND_EXTEND, value=value, style="primary"),
            close_button(tr, value, ACTION_REMIND_CLOSE),
        ),
    ]
    return {"text": text, "blocks": blocks}


def expired_dm(opportunity: Opportunity, tr: Translator) -> dict[str, Any]:
    text = tr("opportunities.dm.expired", title=escape(opportunity.title))
    return {"text": text, "blocks": [section(text)]}


def notice(text: str) -> dict[str, Any]:
    """A one-line message (already translated and escaped)."""
    return {"text": text, "blocks": [section(text)]}


# -- App Home ----------------------------------------------------------------------------------------


def home_blocks(
    for_you: Sequence[Opportunity], mine: Sequence[Opportunity], tr: Translator
) -> list[BlockDict]:
    """Opportunities for you (newest open, rehire first) and My posts."""
    blocks: list[BlockDict] = [
        section(
            tr("opportunities.home.for_you"),
            accessory=button(tr("opportunities.buttons.post"), ACTION_OPEN_POST, value="home"),
        )
    ]
    if for_you:
        for opportunity in for_you:
            blocks.append(section(summary(opportunity, tr)))
    else:
        blocks.append(context(tr("opportunities.home.none")))
    blocks.append(context(tr("opportunities.home.browse_hint")))
    blocks.append(section(tr("opportunities.home.mine")))
    if not mine:
        blocks.append(context(tr("opportunities.home.no_posts")))
    else:
        lines = [
            f"• {title_line(o, tr)} — {status_label(tr, o.status)}"
            + (" " + link(o.permalink, tr("opportunities.view_post")) if o.permalink else "")
            for o in mine
        ]
        blocks.append(section("\n".join(lines)))
    return blocks
