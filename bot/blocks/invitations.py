"""Block Kit for HR's invitations: the people not in Slack yet (invite / resend, a page at a time, "invite
all N") and the funnels (invitations; hiring by month). Plain dicts; user text escaped.

A page holds at most `PAGE_SIZE` people, so the blocks stay well under Slack's limits (50 in a message, 100 in
a modal or the Home tab) however long the roster is; "Invite all N" covers everyone, not just the page.
Each person's button has its own action_id (`invite_action_id(id)` / `resend_action_id(id)`, matched by
`INVITE` / `RESEND`); its value is the roster record id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, truncate
from models.invitation import (
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    STOPPED,
    UNCERTAIN,
    InvitationFunnel,
    NotInSlackPage,
    PersonNotInSlack,
    QueueResult,
)
from models.report import PipelineMonth

# IDs Slack sends back.
INVITE_PREFIX = "invitations_invite_"
RESEND_PREFIX = "invitations_resend_"
INVITE = re.compile(r"^invitations_invite_\d+$")
RESEND = re.compile(r"^invitations_resend_\d+$")
INVITE_ALL = "invitations_invite_all"  # value: how many were shown (the handler re-reads who is left)
PAGE_PREVIOUS = "invitations_page_previous"  # value: the offset to show
PAGE_NEXT = "invitations_page_next"
FUNNEL_EXPORT = "invitations_funnel_export"  # value: the month (YYYY-MM)
PAGE_SIZE = 20
SECTION_LIMIT = 3000


def invite_action_id(roster_record_id: int) -> str:
    return f"{INVITE_PREFIX}{roster_record_id}"


def resend_action_id(roster_record_id: int) -> str:
    return f"{RESEND_PREFIX}{roster_record_id}"


def roster_record_id_of(action_id: str) -> int:
    """The roster record id an invite or resend button's action_id names."""
    return int(action_id.rsplit("_", 1)[1])


def _text(text: str, kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": kind, "text": text} if kind == "mrkdwn" else {"type": kind, "text": text, "emoji": True}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _text(truncate(text, 75), "plain_text"),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def status_line(person: PersonNotInSlack, tr: Translator) -> str:
    """Where this person's invitation stands (mrkdwn; dates in the viewer's own time zone)."""
    when = (
        date_token(person.sent_at, fallback=person.sent_at.strftime("%Y-%m-%d %H:%M UTC"))
        if person.sent_at is not None
        else "—"
    )
    if person.status is None:
        return tr("invitations.status.none")
    if person.status == SENT:
        return tr("invitations.status.sent", when=when)
    if person.status == FAILED:
        return tr("invitations.status.failed", error=escape(truncate(person.error or "", 200)))
    if person.status == UNCERTAIN:
        return tr("invitations.status.uncertain", when=when)
    if person.status in (QUEUED, SENDING, STOPPED):
        return tr(f"invitations.status.{person.status}")
    return escape(person.status)


def _person_block(person: PersonNotInSlack, tr: Translator, *, ready: bool) -> dict[str, Any]:
    lines = [tr("invitations.view.person", name=escape(person.name), email=escape(person.email))]
    if person.department or person.left_year:
        lines.append(
            tr(
                "invitations.view.person_details",
                department=escape(person.department) or "—",
                year=person.left_year or "—",
            )
        )
    lines.append(status_line(person, tr))
    block: dict[str, Any] = {
        "type": "section",
        "block_id": f"invitation_{person.roster_record_id}",
        "text": _text(truncate("\n".join(lines), SECTION_LIMIT)),
    }
    value = str(person.roster_record_id)
    if ready and person.can_invite:
        block["accessory"] = _button(
            tr("invitations.view.invite"), invite_action_id(person.roster_record_id), value
        )
    elif ready and person.can_resend:
        block["accessory"] = _button(
            tr("invitations.view.resend"), resend_action_id(person.roster_record_id), value
        )
    return block


def not_in_slack_blocks(page: NotInSlackPage, tr: Translator, *, ready: bool) -> list[dict[str, Any]]:
    """HR's list of one page of people not in Slack yet. `ready`: `Settings.email_invitations_ready` (without
    it the list shows, but no invite buttons)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _text(tr("invitations.view.title"), "plain_text")},
    ]
    if page.total == 0:
        blocks.append({"type": "section", "text": _text(tr("invitations.view.empty"))})
        return blocks
    blocks.append(
        {
            "type": "section",
            "text": _text(tr("invitations.view.summary", total=page.total, not_invited=page.not_invited)),
        }
    )
    if not ready:
        blocks.append({"type": "context", "elements": [_text(tr("invitations.view.not_configured"))]})
    elif page.not_invited:
        invite_all = _button(
            tr("invitations.view.invite_all", count=page.not_invited),
            INVITE_ALL,
            str(page.not_invited),
            style="primary",
        )
        invite_all["confirm"] = {
            "title": _text(truncate(tr("invitations.view.confirm_title"), 100), "plain_text"),
            "text": _text(truncate(tr("invitations.view.confirm_text", count=page.not_invited), 300)),
            "confirm": _text(truncate(tr("invitations.view.confirm_yes"), 30), "plain_text"),
            "deny": _text(truncate(tr("invitations.view.confirm_no"), 30), "plain_text"),
        }
        blocks.append({"type": "actions", "block_id": "invitations_all", "elements": [invite_all]})
    blocks.append({"type": "divider"})
    blocks.extend(_person_block(p, tr, ready=ready) for p in page.people[:PAGE_SIZE])
    if page.has_previous or page.has_next:
        first = page.offset + 1
        last = page.offset + len(page.people)
        blocks.append(
            {
                "type": "context",
                "elements": [_text(tr("invitations.view.page", first=first, last=last, total=page.total))],
            }
        )
        paging = []
        if page.has_previous:
            paging.append(
                _button(tr("invitations.view.previous"), PAGE_PREVIOUS, str(max(0, page.offset - page.limit)))
            )
        if page.has_next:
            paging.append(_button(tr("invitations.view.next"), PAGE_NEXT, str(page.offset + page.limit)))
        blocks.append({"type": "actions", "block_id": "invitations_paging", "elements": paging})
    return blocks


def queue_result_text(result: QueueResult, tr: Translator) -> str:
    """What an invite / resend / invite-all click did, for an ephemeral answer."""
    text = tr("invitations.view.queued", queued=result.queued, resent=result.resent)
    if result.skipped:
        reasons = ", ".join(
            tr(f"invitations.skipped.{reason}", count=count)
            for reason, count in sorted(result.skipped.items())
        )
        text += " " + tr("invitations.view.skipped", reasons=reasons)
    return text


def invitation_funnel_line(funnel: InvitationFunnel, tr: Translator) -> str:
    return tr("invitations.funnel.line", **dict(funnel.stages()))


def pipeline_line(row: PipelineMonth, tr: Translator) -> str:
    values = {
        stage: tr("common.none") if value is None else value
        for stage, value in zip(row.STAGES, row.values(), strict=True)
    }
    return tr("invitations.funnel.pipeline_line", month=str(row.month), **values)


def funnel_blocks(
    invitations: InvitationFunnel | None,
    pipeline: Sequence[PipelineMonth],
    tr: Translator,
    *,
    export_month: str | None = None,
    months_shown: int = 6,
) -> list[dict[str, Any]]:
    """The funnel section: invitations, then the hiring funnel of the last `months_shown` months (newest
    last), and a CSV button (`FUNNEL_EXPORT`, value `export_month`) when `export_month` is given."""
    blocks: list[dict[str, Any]] = [{"type": "divider"}]
    if invitations is not None:
        blocks.append(
            {
                "type": "section",
                "text": _text(
                    f"*{tr('invitations.funnel.title')}*\n{invitation_funnel_line(invitations, tr)}"
                ),
            }
        )
        blocks.append({"type": "context", "elements": [_text(tr("invitations.funnel.definitions"))]})
    if pipeline:
        lines = [pipeline_line(row, tr) for row in list(pipeline)[-months_shown:]]
        blocks.append(
            {
                "type": "section",
                "text": _text(
                    truncate(
                        f"*{tr('invitations.funnel.pipeline_title')}*\n" + "\n".join(lines), SECTION_LIMIT
                    )
                ),
            }
        )
        blocks.append({"type": "context", "elements": [_text(tr("invitations.funnel.pipeline_definitions"))]})
    if export_month:
        blocks.append(
            {
                "type": "actions",
                "block_id": "invitations_funnel",
                "elements": [_button(tr("invitations.funnel.export"), FUNNEL_EXPORT, export_month)],
            }
        )
    return blocks


def funnel_text(
    invitations: InvitationFunnel | None, pipeline: Sequence[PipelineMonth], tr: Translator
) -> str:
    """The funnels as plain text (the report's text and the CLI)."""
    lines: list[str] = []
    if invitations is not None:
        lines += [tr("invitations.funnel.title"), "  " + invitation_funnel_line(invitations, tr)]
    if pipeline:
        lines.append(tr("invitations.funnel.pipeline_title"))
        lines += ["  " + pipeline_line(row, tr) for row in pipeline]
    return "\n".join(lines)
