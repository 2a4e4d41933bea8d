"""Block Kit for referrals: the modal, the HR-channel message, the referrer's DMs, `/refer mine`, Home.

Pure builders (domain objects in, blocks out). Every user-provided string (candidate name, email, URL,
relationship, why they fit, HR notes, opportunity titles) is escaped for mrkdwn; plain_text (modal
titles, select options) is never escaped, only truncated.

Candidate details are rendered only by builders whose output goes to the HR channel, the referrer, or
HR members (`hr_message`, `referrer_*`, `owner_assigned_dm`, `mine_blocks`, `home_blocks`,
`stale_message`). Nothing here is meant for a public channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.blocks.common import BlockDict, actions, button, context, divider, header, plain, section
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, is_user_id, link, truncate, user_mention
from models.referral import (
    HR_STATUSES,
    NOT_A_FIT,
    VOUCHED,
    WITHDRAWN,
    OpportunityChoice,
    Referral,
    ReferralStatusChange,
)

# -- IDs Slack sends back -------------------------------------------------------------------------
SHORTCUT_CALLBACK = "referrals_refer"
REFER_CALLBACK = "referrals_submit"
NOTE_CALLBACK = "referrals_status_note"
OPEN_ACTION = "referrals.open"  # "Refer someone" on the Home tab
OPEN_FROM_OPPORTUNITY_ACTION = "referrals.open_from_opportunity"  # value: the opportunity id
OPPORTUNITY_SELECT_ACTION = "referrals.opportunity_select"  # external_select served by the app
ASSIGN_ACTION = "referrals.assign"  # users_select in the HR message; block_id carries the referral id
STATUS_ACTION_PREFIX = "referrals.status."  # + status; value "<referral id>:<status>"
STATUS_ACTIONS: dict[str, str] = {status: STATUS_ACTION_PREFIX + status for status in HR_STATUSES}
STATUS_ACTION_PATTERN = re.compile(r"^referrals\.status\.[a-z_]+$")  # one listener for every status button
WITHDRAW_ACTION = "referrals.withdraw"  # value: the referral id

# Input block ids == domain field names (bot.forms convention).
F_OPPORTUNITY = "opportunity"
F_NAME = "candidate_name"
F_EMAIL = "candidate_email"
F_URL = "candidate_url"
F_RELATIONSHIP = "relationship"
F_WHY_FIT = "why_fit"
F_CONSENT = "consent"
F_NOTE = "note"
F_SHARE = "share_note"
CONSENT_VALUE = "agreed"
SHARE_VALUE = "share"
ASSIGN_BLOCK_PREFIX = "referrals.assign."

OPTION_TEXT_LIMIT = 75
HISTORY_LINES = 8
SNIPPET = 1200


def status_label(tr: Translator, status: str) -> str:
    return tr(f"referrals.status.{status}")


def _fallback(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def when(instant: datetime) -> str:
    """An instant every viewer sees in their own time zone."""
    return date_token(instant, fallback=_fallback(instant))


def day(instant: datetime) -> str:
    return date_token(instant, fallback=instant.strftime("%Y-%m-%d"), fmt="{date_short_pretty}")


def opportunity_text(tr: Translator, title: str | None) -> str:
    """The opportunity as mrkdwn (escaped), or the general-referral label."""
    return escape(title) if title else tr("referrals.general")


def _plain(text: str, limit: int = OPTION_TEXT_LIMIT) -> BlockDict:
    return {"type": "plain_text", "text": truncate(text, limit) or "-", "emoji": True}


# -- opening the modal ----------------------------------------------------------------------------


def refer_button(tr: Translator, opportunity_id: int) -> BlockDict:
    """The "Refer someone" button for an opportunity's announcement (opens the modal prefilled)."""
    return button(tr("referrals.shortcut.name"), OPEN_FROM_OPPORTUNITY_ACTION, value=str(opportunity_id))


def opportunity_option(choice: OpportunityChoice) -> dict[str, Any]:
    """One option of the opportunity select (plain text: nothing escaped, cut to 75 characters)."""
    return {"text": _plain(choice.title), "value": str(choice.id)}


def refer_modal(tr: Translator, *, initial: OpportunityChoice | None = None) -> dict[str, Any]:
    """The referral modal; `initial` prefills the opportunity (from an opportunity's button)."""
    select: dict[str, Any] = {
        "type": "external_select",
        "action_id": OPPORTUNITY_SELECT_ACTION,
        "placeholder": _plain(tr("referrals.modal.opportunity_placeholder"), 150),
        "min_query_length": 0,
    }
    if initial is not None:
        select["initial_option"] = opportunity_option(initial)

    def text_input(
        block_id: str,
        label: str,
        *,
        max_length: int,
        multiline: bool = False,
        optional: bool = True,
        hint: str | None = None,
        kind: str = "plain_text_input",
    ) -> dict[str, Any]:
        element: dict[str, Any] = {"type": kind, "action_id": block_id}
        if kind == "plain_text_input":
            element["max_length"] = max_length
            element["multiline"] = multiline
        block: dict[str, Any] = {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": _plain(label, 2000),
            "element": element,
        }
        if hint:
            block["hint"] = _plain(hint, 2000)
        return block

    blocks: list[BlockDict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": tr("referrals.modal.intro")}},
        {
            "type": "input",
            "block_id": F_OPPORTUNITY,
            "optional": True,
            "label": _plain(tr("referrals.modal.opportunity_label"), 2000),
            "hint": _plain(tr("referrals.modal.opportunity_hint"), 2000),
            "element": select,
        },
        text_input(F_NAME, tr("referrals.modal.name_label"), max_length=100, optional=False),
        text_input(
            F_EMAIL,
            tr("referrals.modal.email_label"),
            max_length=254,
            kind="email_text_input",
            hint=tr("referrals.modal.contact_hint"),
        ),
        text_input(F_URL, tr("referrals.modal.url_label"), max_length=500, kind="url_text_input"),
        text_input(F_RELATIONSHIP, tr("referrals.modal.relationship_label"), max_length=500, multiline=True),
        text_input(F_WHY_FIT, tr("referrals.modal.why_fit_label"), max_length=2000, multiline=True),
        {
            "type": "input",
            "block_id": F_CONSENT,
            "optional": False,
            "label": _plain(tr("referrals.modal.consent_label"), 2000),
            "element": {
                "type": "checkboxes",
                "action_id": F_CONSENT,
                "options": [
                    {"text": _plain(tr("referrals.modal.consent_option"), 150), "value": CONSENT_VALUE}
                ],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": REFER_CALLBACK,
        "title": _plain(tr("referrals.modal.title"), 24),
        "submit": _plain(tr("referrals.modal.submit"), 24),
        "close": _plain(tr("referrals.modal.close"), 24),
        "blocks": blocks,
    }


def note_modal(tr: Translator, *, referral_id: int, to_status: str) -> dict[str, Any]:
    """HR's small modal: the optional note for a status change (no candidate data in it)."""
    intro = tr("referrals.note_modal.intro", id=referral_id, status=status_label(tr, to_status))
    blocks: list[BlockDict] = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
    if to_status == NOT_A_FIT:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": tr("referrals.note_modal.not_a_fit_hint")}],
            }
        )
    blocks += [
        {
            "type": "input",
            "block_id": F_NOTE,
            "optional": True,
            "label": _plain(tr("referrals.note_modal.note_label"), 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": F_NOTE,
                "multiline": True,
                "max_length": 1000,
                "placeholder": _plain(tr("referrals.note_modal.note_placeholder"), 150),
            },
        },
        {
            "type": "input",
            "block_id": F_SHARE,
            "optional": True,
            "label": _plain(tr("referrals.note_modal.share_label"), 2000),
            "element": {
                "type": "checkboxes",
                "action_id": F_SHARE,
                "options": [
                    {"text": _plain(tr("referrals.note_modal.share_option"), 150), "value": SHARE_VALUE}
                ],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": NOTE_CALLBACK,
        "private_metadata": json.dumps({"referral_id": referral_id, "to": to_status}),
        "title": _plain(tr("referrals.note_modal.title"), 24),
        "submit": _plain(tr("referrals.note_modal.submit"), 24),
        "close": _plain(tr("common.cancel"), 24),
        "blocks": blocks,
    }


# -- the HR channel -------------------------------------------------------------------------------


def _contact(referral: Referral) -> str:
    parts = []
    if referral.candidate_email:
        parts.append(escape(referral.candidate_email))
    if referral.candidate_url:
        parts.append(link(referral.candidate_url, truncate(referral.candidate_url, 200)))
    return "\n".join(parts) or "—"


def who(user_id: str | None) -> str:
    """A mention of a person, or their pseudonym (escaped) once they were erased."""
    return user_mention(str(user_id)) if is_user_id(user_id) else escape(user_id or "—")


def _owner(tr: Translator, owner_id: str | None) -> str:
    return who(owner_id) if owner_id else tr("referrals.hr.unassigned")


def history_lines(tr: Translator, changes: Sequence[ReferralStatusChange]) -> list[str]:
    lines = []
    for change in changes:
        actor = who(change.actor_id)
        if change.from_status is None:
            line = tr("referrals.hr.history_submitted", when=when(change.at), who=actor)
        elif change.to_status == VOUCHED:
            line = tr("referrals.hr.history_vouched", when=when(change.at), who=actor)
        else:
            line = tr(
                "referrals.hr.history_line",
                when=when(change.at),
                who=actor,
                from_status=status_label(tr, change.from_status),
                to_status=status_label(tr, change.to_status),
            )
        if change.note:
            line += " " + tr("referrals.hr.history_note", note=escape(truncate(change.note, 200)))
        lines.append(line)
    return lines


def hr_message(
    tr: Translator,
    referral: Referral,
    *,
    opportunity_title: str | None,
    changes: Sequence[ReferralStatusChange],
) -> dict[str, Any]:
    """The referral as HR sees it in ALUMNI_HR_CHANNEL: details, owner select, status buttons, history."""
    rid = int(referral.id or 0)
    status = status_label(tr, referral.status)
    blocks: list[BlockDict] = [
        header(tr("referrals.hr.header", id=rid)),
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": tr("referrals.hr.candidate", value="*" + escape(referral.candidate_name) + "*"),
                },
                {"type": "mrkdwn", "text": tr("referrals.hr.contact", value=_contact(referral))},
                {
                    "type": "mrkdwn",
                    "text": tr("referrals.hr.opportunity", value=opportunity_text(tr, opportunity_title)),
                },
                {
                    "type": "mrkdwn",
                    "text": tr("referrals.hr.referrer", value=who(referral.referrer_id)),
                },
                {"type": "mrkdwn", "text": tr("referrals.hr.status", value="*" + status + "*")},
                {"type": "mrkdwn", "text": tr("referrals.hr.owner", value=_owner(tr, referral.owner_id))},
            ],
        },
    ]
    if referral.relationship:
        blocks.append(
            section(tr("referrals.hr.relationship", value=escape(truncate(referral.relationship, SNIPPET))))
        )
    if referral.why_fit:
        blocks.append(section(tr("referrals.hr.why_fit", value=escape(truncate(referral.why_fit, 2500)))))
    if referral.status == WITHDRAWN:
        blocks.append(context(tr("referrals.hr.withdrawn_notice")))
    else:
        assign: dict[str, Any] = {
            "type": "users_select",
            "action_id": ASSIGN_ACTION,
            "placeholder": _plain(tr("referrals.hr.assign_placeholder"), 150),
        }
        if is_user_id(referral.owner_id):
            assign["initial_user"] = referral.owner_id
        blocks.append({"type": "actions", "block_id": f"{ASSIGN_BLOCK_PREFIX}{rid}", "elements": [assign]})
        buttons = [
            button(
                tr("referrals.hr.move_to", status=status_label(tr, target)),
                STATUS_ACTIONS[target],
                value=f"{rid}:{target}",
                style="danger" if target == NOT_A_FIT else ("primary" if target == "hired" else None),
            )
            for target in HR_STATUSES
            if target != referral.status
        ]
        blocks.append(actions(*buttons, block_id=f"referrals.status.{rid}"))
    lines = history_lines(tr, changes)
    if lines:
        shown = lines[-HISTORY_LINES:]
        blocks.append(section(tr("referrals.hr.history_title") + "\n" + "\n".join(shown)))
    text = tr("referrals.hr.fallback", id=rid, candidate=escape(referral.candidate_name), status=status)
    return {"text": text, "blocks": blocks}


def stale_message(
    tr: Translator, referral: Referral, *, opportunity_title: str | None, days: int
) -> dict[str, Any]:
    """The HR-channel flag for a referral HR has not touched for `days` days (queued in the outbox).

    It names no candidate: it is broadcast to the channel and outlives the retention purge, which rewrites
    only the referral's own message. The thread it replies in shows who it is about.
    """
    text = tr(
        "referrals.hr.stale",
        id=int(referral.id or 0),
        opportunity=opportunity_text(tr, opportunity_title),
        since=day(referral.hr_touched_at),
        status=status_label(tr, referral.status),
        owner=_owner(tr, referral.owner_id),
    )
    message: dict[str, Any] = {
        "text": tr("referrals.hr.stale_fallback", id=int(referral.id or 0), days=days),
        "blocks": [section(text)],
    }
    if referral.hr_ts:
        # A reply in the referral's thread, also shown in the channel.
        message["thread_ts"] = referral.hr_ts
        message["reply_broadcast"] = True
    return message


# -- the referrer ---------------------------------------------------------------------------------


def withdraw_button(tr: Translator, referral_id: int) -> BlockDict:
    """The referrer's "Withdraw" button, behind a confirmation (Slack's limits: title 100, text 300,
    buttons 30 characters)."""
    element = button(tr("referrals.dm.withdraw_button"), WITHDRAW_ACTION, value=str(referral_id))
    element["confirm"] = {
        "title": plain(tr("referrals.dm.withdraw_confirm_title"), 100),
        "text": plain(tr("referrals.dm.withdraw_confirm_text"), 300),
        "confirm": plain(tr("referrals.dm.withdraw_confirm_yes"), 30),
        "deny": plain(tr("referrals.dm.withdraw_confirm_no"), 30),
        "style": "danger",
    }
    return element


def referrer_submitted_dm(
    tr: Translator, referral: Referral, *, opportunity_title: str | None
) -> dict[str, Any]:
    text = tr(
        "referrals.dm.submitted",
        candidate=escape(referral.candidate_name),
        opportunity=opportunity_text(tr, opportunity_title),
    )
    blocks: list[BlockDict] = [section(text)]
    if referral.can_withdraw:
        blocks.append(actions(withdraw_button(tr, int(referral.id or 0))))
    return {"text": text, "blocks": blocks}


def referrer_status_dm(
    tr: Translator, referral: Referral, change: ReferralStatusChange, *, opportunity_title: str | None
) -> dict[str, Any]:
    """The referrer hears about a status change (kindly worded for not_a_fit); a note only when shared."""
    text = tr(
        f"referrals.dm.status.{change.to_status}",
        candidate=escape(referral.candidate_name),
        opportunity=opportunity_text(tr, opportunity_title),
    )
    blocks: list[BlockDict] = [section(text)]
    if change.note and change.note_shared:
        blocks.append(context(tr("referrals.dm.note", note=escape(truncate(change.note, 1500)))))
    if referral.can_withdraw:
        blocks.append(actions(withdraw_button(tr, int(referral.id or 0))))
    return {"text": text, "blocks": blocks}


def owner_assigned_dm(tr: Translator, referral: Referral, *, opportunity_title: str | None) -> dict[str, Any]:
    """To the HR member who now owns the referral."""
    text = tr(
        "referrals.dm.assigned",
        id=int(referral.id or 0),
        candidate=escape(referral.candidate_name),
        opportunity=opportunity_text(tr, opportunity_title),
    )
    return {"text": text, "blocks": [section(text)]}


def _referral_line(tr: Translator, referral: Referral, titles: dict[int, str]) -> str:
    title = titles.get(referral.opportunity_id) if referral.opportunity_id is not None else None
    return tr(
        "referrals.mine.line",
        candidate=escape(referral.candidate_name),
        opportunity=opportunity_text(tr, title),
        status="*" + status_label(tr, referral.status) + "*",
        when=day(referral.created_at),
    )


def mine_blocks(
    tr: Translator, referrals: Sequence[Referral], *, total: int, titles: dict[int, str]
) -> list[BlockDict]:
    """The referrer's own referrals with status (and a withdraw button while allowed)."""
    blocks: list[BlockDict] = [header(tr("referrals.mine.title"))]
    if not referrals:
        blocks.append(section(tr("referrals.mine.empty")))
        return blocks
    for referral in referrals:
        accessory = withdraw_button(tr, int(referral.id or 0)) if referral.can_withdraw else None
        blocks.append(section(_referral_line(tr, referral, titles), accessory=accessory))
    if total > len(referrals):
        blocks.append(context(tr("referrals.mine.more", count=total - len(referrals))))
    return blocks


def home_blocks(
    tr: Translator,
    referrals: Sequence[Referral],
    *,
    total: int,
    titles: dict[int, str],
    pipeline: dict[str, int] | None = None,
    untouched: Sequence[Referral] = (),
) -> list[BlockDict]:
    """The Home tab section: your referrals; for HR also the pipeline (counts, oldest untouched first)."""
    blocks: list[BlockDict] = [
        section(
            "*" + tr("referrals.home.title") + "*",
            accessory=button(tr("referrals.home.refer_button"), OPEN_ACTION, value="home"),
        )
    ]
    if referrals:
        for referral in referrals:
            accessory = withdraw_button(tr, int(referral.id or 0)) if referral.can_withdraw else None
            blocks.append(section(_referral_line(tr, referral, titles), accessory=accessory))
        if total > len(referrals):
            blocks.append(context(tr("referrals.mine.more", count=total - len(referrals))))
    else:
        blocks.append(context(tr("referrals.mine.empty")))
    if pipeline is not None:
        counts = "  ·  ".join(
            tr("referrals.home.count_item", status=status_label(tr, status), count=count)
            for status, count in pipeline.items()
        )
        blocks += [divider(), section("*" + tr("referrals.home.pipeline_title") + "*"), context(counts)]
        if untouched:
            blocks.append(context(tr("referrals.home.untouched_title")))
            for referral in untouched:
                title = titles.get(referral.opportunity_id) if referral.opportunity_id is not None else None
                blocks.append(
                    section(
                        tr(
                            "referrals.home.untouched_line",
                            id=int(referral.id or 0),
                            candidate=escape(referral.candidate_name),
                            opportunity=opportunity_text(tr, title),
                            status=status_label(tr, referral.status),
                            owner=_owner(tr, referral.owner_id),
                            since=day(referral.hr_touched_at),
                        )
                    )
                )
        else:
            blocks.append(context(tr("referrals.home.untouched_empty")))
    return blocks
