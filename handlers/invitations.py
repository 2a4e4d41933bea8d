"""`/alumni invitations` (HR only): the people on the roster not in Slack yet, email invitations to them
(one, a resend, or everyone not invited yet), and the invitation funnel with its CSV.

Every listener checks the HR role on the server: the model functions refuse anyone else
(`models.invitation.queue_invitations`, `not_in_slack`, `models.export.export_funnel_csv`), and a refused
click changes nothing and gets a polite private answer. Invitations are queued before the ack; the emails
go out after it (`later`: `jobs.invitations.deliver_invitations`, each exactly once, the same function the
scheduled job runs), and the export is uploaded to HR's DM after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt import Ack

import jobs.invitations
from bot.blocks.invitations import (
    FUNNEL_EXPORT,
    INVITE,
    INVITE_ALL,
    PAGE_NEXT,
    PAGE_PREVIOUS,
    PAGE_SIZE,
    RESEND,
    funnel_blocks,
    not_in_slack_blocks,
    queue_result_text,
    roster_record_id_of,
)
from bot.forms import error_message
from bot.kit import Feature, Later, action, hr_clicker, tell_clicker
from bot.listeners import parse_id, user_id_of
from bot.services import Services
from bot.slack_files import upload_file
from models.errors import DomainError, PermissionDenied
from models.export import export_funnel_csv
from models.invitation import QueueResult, invitation_funnel, not_in_slack, queue_invitations
from models.report import Month
from models.timeutil import now

WORDS = ("invitations", "招待")
# Database ids are 32-bit integers: a forged larger one is simply "not on the roster".
MAX_OFFSET = 1_000_000
SCOPES = ("files:write", "im:write")  # the funnel CSV goes to HR's DM


# -- the public API other code (and later steps) call ------------------------------------------------


def invitations_answer(
    services: Services, *, user_id: str, offset: int = 0
) -> tuple[str, list[dict[str, Any]]]:
    """HR's list (one page of people not in Slack yet) and the invitation funnel with its CSV button:
    (text, blocks). Raises `PermissionDenied` for anyone but HR."""
    tr = services.translator(user_id)
    zone = services.settings.zone
    with services.db.session() as session:
        page = not_in_slack(session, actor=services.actor(user_id), offset=offset, limit=PAGE_SIZE)
        funnel = invitation_funnel(session, since=None, until=now())
    blocks = not_in_slack_blocks(page, tr, ready=services.settings.email_invitations_ready)
    blocks += funnel_blocks(funnel, [], tr, export_month=str(Month.containing(now(), zone)))
    return tr("invitations.view.title"), blocks


def send_funnel_export(services: Services, *, user_id: str, month: Month) -> None:
    """Upload the funnel CSV up to `month` to `user_id`'s DM (the model refuses anyone but HR)."""
    tr = services.translator(user_id)
    try:
        with services.db.session() as session:
            data, count = export_funnel_csv(
                session, actor=services.actor(user_id), month=month, zone=services.settings.zone
            )
    except DomainError as exc:
        services.client.chat_postMessage(channel=user_id, text=error_message(exc, tr))
        return
    upload_file(
        services.client,
        recipient=user_id,
        content=data,
        filename=f"alumni-funnel-{month}.csv",
        title=tr("invitations.funnel.export_title", month=str(month)),
        initial_comment=tr("invitations.funnel.export_done", month=str(month), count=count),
    )


def deliver_now(services: Services) -> None:
    """Send what is due right away (HR's click is answered by an email within seconds)."""
    jobs.invitations.deliver_invitations(services.db, services.settings)


# -- listeners ---------------------------------------------------------------------------------------


def on_invitations_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni invitations` (招待): HR's list, privately; anyone else is told it is HR's."""
    user_id = user_id_of(command)
    if not services.roles.is_hr(user_id):
        ack(response_type="ephemeral", text=services.translator(user_id)("admin.not_hr"))
        return
    text, blocks = invitations_answer(services, user_id=user_id)
    ack(response_type="ephemeral", text=text, blocks=blocks)


def on_invite(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """A person's "Invite" or "Resend": that one roster record (named by the action_id, not the value)."""
    action_id = str(action.get("action_id") or "")
    roster_id = roster_record_id_of(action_id)
    if parse_id(roster_id) is None:
        ack()
        if hr_clicker(services, body):
            tr = services.translator(user_id_of(body))
            tell_clicker(services, body, queue_result_text(QueueResult(skipped={"not_found": 1}), tr))
        return
    _queue(ack, body, services, later, roster_ids=[roster_id], resend=bool(RESEND.match(action_id)))


def on_invite_all(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Invite all N": everyone not in Slack and not invited yet, as the database says now (not the value)."""
    _queue(ack, body, services, later, all_not_in_slack=True)


def _queue(
    ack: Ack,
    body: dict[str, Any],
    services: Services,
    later: Later,
    *,
    roster_ids: Sequence[int] | None = None,
    all_not_in_slack: bool = False,
    resend: bool = False,
) -> None:
    """Queue before the ack (the model checks HR); the answer and the sending come after it."""
    user_id = hr_clicker(services, body)  # anyone else is told privately; nothing changes
    if user_id is None:
        ack()
        return
    tr = services.translator(user_id)
    if not services.settings.email_invitations_ready:  # queued rows could not be sent
        ack()
        tell_clicker(services, body, tr("invitations.view.not_configured"))
        return
    try:
        with services.db.session() as session:
            result = queue_invitations(
                session,
                actor=services.actor(user_id),
                roster_ids=roster_ids,
                all_not_in_slack=all_not_in_slack,
                resend=resend,
                default_language=services.settings.language,
            )  # each person's language: the roster's, else guessed from their name, else the workspace's
    except DomainError as exc:  # the role changed since the check above, or the request is invalid
        ack()
        refused = isinstance(exc, PermissionDenied)
        tell_clicker(services, body, tr("admin.not_hr") if refused else error_message(exc, tr))
        return
    ack()
    tell_clicker(services, body, queue_result_text(result, tr))
    if result.queued or result.resent:
        later(lambda: deliver_now(services))


def on_page(ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services) -> None:
    """ "Previous" / "Next": that page, replacing the list (through Slack's response URL)."""
    ack()
    user_id = hr_clicker(services, body)
    if user_id is None:
        return
    value = str(action.get("value") or "0")
    offset = min(int(value), MAX_OFFSET) if value.isascii() and value.isdigit() else 0
    text, blocks = invitations_answer(services, user_id=user_id, offset=offset)
    tell_clicker(services, body, text, blocks=blocks, replace_original=True)


def on_funnel_export(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """ "Download CSV": the funnel up to the button's month in HR's DM, after the ack."""
    ack()
    try:
        month = Month.parse(str(action.get("value") or ""))
    except ValueError:
        month = Month.containing(now(), services.settings.zone)
    later(lambda: _export_for_hr(services, body, month))


def _export_for_hr(services: Services, body: dict[str, Any], month: Month) -> None:
    user_id = hr_clicker(services, body)
    if user_id is not None:
        send_funnel_export(services, user_id=user_id, month=month)


FEATURE = Feature(
    name="invitations",
    listeners=(
        action(INVITE_ALL, on_invite_all),
        action(INVITE, on_invite),
        action(RESEND, on_invite),
        action(PAGE_PREVIOUS, on_page),
        action(PAGE_NEXT, on_page),
        action(FUNNEL_EXPORT, on_funnel_export),
    ),
    subcommands={word: on_invitations_subcommand for word in WORDS},
    jobs=tuple(jobs.invitations.SCHEDULED_JOBS),
    scopes=SCOPES,
)
