"""Referrals: `/refer`, the "Refer someone" shortcut and button, the modal, HR's pipeline actions, withdrawal.

Privacy: candidate details go only to ALUMNI_HR_CHANNEL, the referrer (DMs, ephemerals, Home) and HR
members (DMs, Home). Logs carry ids only. Every HR action is re-checked here and in `models.referral`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ButtonElement
from sqlmodel import Session

from bot.blocks.opportunities import add_announcement_buttons
from bot.blocks.referrals import (
    ASSIGN_ACTION,
    ASSIGN_BLOCK_PREFIX,
    CONSENT_VALUE,
    F_CONSENT,
    F_EMAIL,
    F_NAME,
    F_NOTE,
    F_OPPORTUNITY,
    F_RELATIONSHIP,
    F_SHARE,
    F_URL,
    F_WHY_FIT,
    NOTE_CALLBACK,
    OPEN_ACTION,
    OPEN_FROM_OPPORTUNITY_ACTION,
    OPPORTUNITY_SELECT_ACTION,
    REFER_CALLBACK,
    SHARE_VALUE,
    SHORTCUT_CALLBACK,
    STATUS_ACTION_PATTERN,
    WITHDRAW_ACTION,
    home_blocks,
    hr_message,
    is_slack_user,
    mine_blocks,
    note_modal,
    opportunity_option,
    owner_assigned_dm,
    refer_button,
    refer_modal,
    referrer_status_dm,
    referrer_submitted_dm,
    status_label,
    who,
)
from bot.forms import error_message, field_errors, input_block_ids, state_values, text
from bot.i18n import Translator
from bot.listeners import channel_id_of, parse_id, user_id_of
from bot.mrkdwn import escape, user_mention
from bot.registry import Registry
from bot.serial import newest_render_wins
from bot.services import Services
from models import referral as referrals
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.opportunity import Opportunity

__all__ = [
    "ASSIGN_ACTION",
    "COMMAND",
    "HOME_ORDER",
    "NOTE_CALLBACK",
    "OPEN_FROM_OPPORTUNITY_ACTION",
    "OPPORTUNITY_SELECT_ACTION",
    "REFER_CALLBACK",
    "SHORTCUT_CALLBACK",
    "STATUS_ACTION_PATTERN",
    "WITHDRAW_ACTION",
    "home_section",
    "register",
]

log = logging.getLogger(__name__)

COMMAND = "/refer"
HELP_WORDS = {"help", "ヘルプ"}
MINE_WORDS = {"mine", "自分"}
HOME_ORDER = 30
MINE_LIMIT = 20
HOME_LIMIT = 5
UNTOUCHED_LIMIT = 8


# -- small helpers --------------------------------------------------------------------------------


_user_id = user_id_of


def _parse_int(value: Any) -> int | None:
    """A row id from a payload (button value, block id, metadata); None when it cannot be one."""
    return parse_id(value, referrals.MAX_ID)


def _zone(svc: Services, user_id: str) -> ZoneInfo:
    try:
        return ZoneInfo(svc.people.get(user_id).tz)
    except (ZoneInfoNotFoundError, ValueError):
        return svc.settings.zone


def _safely(what: str, referral_id: int | None, call: Callable[[], Any]) -> Any:
    """Run one Slack call; failures are logged by id and error code only (never message content)."""
    try:
        return call()
    except SlackApiError as exc:
        log.error(
            "referrals: Slack call failed",
            extra={"what": what, "referral_id": referral_id, "error": exc.response.get("error")},
        )
    except Exception as exc:  # a failed notification must not undo or hide a stored change
        log.error(
            "referrals: Slack call failed",
            extra={"what": what, "referral_id": referral_id, "error": type(exc).__name__},
        )
    return None


def _tell(svc: Services, body: dict[str, Any], respond: Respond | None, text_: str) -> None:
    """A private answer to whoever clicked: the response_url, else an ephemeral, else a DM."""
    user_id = _user_id(body)
    if respond is not None and body.get("response_url"):
        _safely(
            "respond", None, lambda: respond(text=text_, response_type="ephemeral", replace_original=False)
        )
        return
    channel_id = channel_id_of(body)
    if channel_id:
        _safely(
            "ephemeral",
            None,
            lambda: svc.client.chat_postEphemeral(channel=channel_id, user=user_id, text=text_),
        )
    else:
        _safely("dm", None, lambda: svc.client.chat_postMessage(channel=user_id, text=text_))


def _publish_home(svc: Services, *user_ids: str) -> None:
    from bot.kit import publish_home

    for user_id in dict.fromkeys(u for u in user_ids if is_slack_user(u)):
        _safely("views.publish", None, lambda u=user_id: publish_home(svc, u))  # type: ignore[misc]


def _title_of(session: Any, referral: referrals.Referral) -> str | None:
    if referral.opportunity_id is None:
        return None
    return referrals.opportunity_titles(session, {referral.opportunity_id}).get(referral.opportunity_id)


# -- opening the modal ----------------------------------------------------------------------------


def _open_modal(
    svc: Services, body: dict[str, Any], respond: Respond | None, opportunity_id: int | None
) -> None:
    user_id = _user_id(body)
    tr = svc.translator(user_id)
    if not svc.settings.alumni_hr_channel:
        _tell(svc, body, respond, tr("referrals.not_configured"))
        return
    initial = None
    if opportunity_id is not None:
        with svc.db.session() as session:
            opportunity = referrals.open_opportunity(session, opportunity_id)
            if opportunity is not None:
                initial = referrals.OpportunityChoice(
                    id=opportunity_id, title=opportunity.title, kind=str(opportunity.kind)
                )
        if initial is None:
            _tell(svc, body, respond, tr("referrals.closed_notice"))
            return
    svc.client.views_open(trigger_id=body["trigger_id"], view=refer_modal(tr, initial=initial))


# -- App Home -------------------------------------------------------------------------------------


def home_section(services: Services, user_id: str, tr: Translator) -> list[dict[str, Any]]:
    """Your referrals with status; for HR also the pipeline (counts, oldest untouched first)."""
    is_hr = services.roles.is_hr(user_id)
    with services.db.session() as session:
        mine, total = referrals.referrals_of(session, user_id, limit=HOME_LIMIT)
        pipeline = referrals.pipeline_counts(session) if is_hr else None
        untouched = referrals.oldest_untouched(session, limit=UNTOUCHED_LIMIT) if is_hr else []
        ids = {r.opportunity_id for r in [*mine, *untouched] if r.opportunity_id is not None}
        titles = referrals.opportunity_titles(session, ids)
    return home_blocks(tr, mine, total=total, titles=titles, pipeline=pipeline, untouched=untouched)


# -- after a change: HR message, DMs, Home --------------------------------------------------------


def _update_hr_message(svc: Services, referral_id: int) -> None:
    """Re-render the HR card; the newest render wins even across processes (bot.serial)."""

    def read(session: Session) -> tuple[str, str, dict[str, Any]] | None:
        referral = referrals.get_referral(session, referral_id)
        if not referral.hr_channel or not referral.hr_ts:
            return None
        title = _title_of(session, referral)
        changes = referrals.history(session, referral_id)
        message = hr_message(svc.workspace_translator, referral, opportunity_title=title, changes=changes)
        return referral.hr_channel, referral.hr_ts, message

    def send(card: tuple[str, str, dict[str, Any]]) -> bool:
        channel, ts, message = card
        sent = _safely(
            "chat.update", referral_id, lambda: svc.client.chat_update(channel=channel, ts=ts, **message)
        )
        return sent is not None

    newest_render_wins(svc.db, referrals.Referral, referral_id, read, send)


def route_referral(svc: Services, referral_id: int) -> None:
    """Post a new referral to the HR channel, tell the referrer, refresh their Home."""
    with svc.db.session() as session:
        referral = referrals.get_referral(session, referral_id)
        title = _title_of(session, referral)
        changes = referrals.history(session, referral_id)
    hr_channel = svc.settings.alumni_hr_channel
    if hr_channel:
        message = hr_message(svc.workspace_translator, referral, opportunity_title=title, changes=changes)
        response = _safely(
            "chat.postMessage",
            referral_id,
            lambda: svc.client.chat_postMessage(channel=hr_channel, **message),
        )
        if response is not None:
            with svc.db.session() as session:
                referrals.set_hr_message(
                    session, referral_id=referral_id, channel=str(response["channel"]), ts=str(response["ts"])
                )
    if is_slack_user(referral.referrer_id):
        dm = referrer_submitted_dm(svc.translator(referral.referrer_id), referral, opportunity_title=title)
        _safely("dm", referral_id, lambda: svc.client.chat_postMessage(channel=referral.referrer_id, **dm))
    _publish_home(svc, referral.referrer_id)
    log.info("referral routed", extra={"referral_id": referral_id, "referrer": referral.referrer_id})


def _after_status_change(svc: Services, referral_id: int, change_id: int, actor_id: str) -> None:
    _update_hr_message(svc, referral_id)
    with svc.db.session() as session:
        referral = referrals.get_referral(session, referral_id)
        change = referrals.get_status_change(session, change_id)
        title = _title_of(session, referral)
    if change is None:
        return
    if change.to_status == referrals.WITHDRAWN and referral.hr_channel and referral.hr_ts:
        note = svc.workspace_translator("referrals.hr.withdrawn_thread", id=referral_id)
        channel, ts = referral.hr_channel, referral.hr_ts
        _safely(
            "thread",
            referral_id,
            lambda: svc.client.chat_postMessage(channel=channel, thread_ts=ts, text=note),
        )
    if not is_slack_user(referral.referrer_id):
        return  # the referrer was erased: nobody to tell
    dm = referrer_status_dm(svc.translator(referral.referrer_id), referral, change, opportunity_title=title)
    _safely("dm", referral_id, lambda: svc.client.chat_postMessage(channel=referral.referrer_id, **dm))
    _publish_home(svc, referral.referrer_id, actor_id)


# -- listeners ------------------------------------------------------------------------------------


def _refer_buttons(opportunity: Opportunity, tr: Translator) -> list[ButtonElement]:
    """The "Refer someone" button on every open opportunity's announcement."""
    return [refer_button(tr, opportunity.id)] if opportunity.id is not None else []


def register(registry: Registry) -> None:
    add_announcement_buttons(_refer_buttons)

    @registry.command(
        COMMAND, description_key="referrals.command_description", usage_hint_key="referrals.usage_hint"
    )
    def on_refer(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        svc = registry.services
        user_id = str(command.get("user_id") or "")
        tr = svc.translator(user_id)
        word = (command.get("text") or "").strip()
        if word.lower() in HELP_WORDS:
            ack(response_type="ephemeral", text=tr("referrals.help"))
            return
        if word.lower() in MINE_WORDS:
            with svc.db.session() as session:
                mine, total = referrals.referrals_of(session, user_id, limit=MINE_LIMIT)
                ids = {r.opportunity_id for r in mine if r.opportunity_id is not None}
                titles = referrals.opportunity_titles(session, ids)
            blocks = mine_blocks(tr, mine, total=total, titles=titles)
            ack(response_type="ephemeral", text=tr("referrals.mine.title"), blocks=blocks)
            return
        if word:
            ack(
                response_type="ephemeral",
                text=tr("common.unknown_subcommand", text=escape(word[:50]), command=COMMAND),
            )
            return
        if not svc.settings.alumni_hr_channel:
            ack(response_type="ephemeral", text=tr("referrals.not_configured"))
            return
        ack()
        svc.client.views_open(trigger_id=command["trigger_id"], view=refer_modal(tr))

    @registry.shortcut(
        SHORTCUT_CALLBACK,
        name_key="referrals.shortcut.name",
        description_key="referrals.shortcut.description",
    )
    def on_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        _open_modal(registry.services, body, None, None)

    @registry.action(OPEN_ACTION)
    def on_open(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        _open_modal(registry.services, body, respond, None)

    @registry.action(OPEN_FROM_OPPORTUNITY_ACTION)
    def on_open_from_opportunity(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        opportunity_id = _parse_int(action.get("value"))
        svc = registry.services
        if opportunity_id is None:
            _tell(svc, body, respond, svc.translator(_user_id(body))("referrals.closed_notice"))
            return
        _open_modal(svc, body, respond, opportunity_id)

    @registry.options_source(OPPORTUNITY_SELECT_ACTION)
    def on_opportunity_options(ack: Ack, body: dict[str, Any]) -> None:
        query = str(body.get("value") or "")[:100]
        with registry.services.db.session() as session:
            choices = referrals.open_opportunity_choices(session, query=query, limit=100)
        ack(options=[opportunity_option(choice) for choice in choices])

    @registry.view(REFER_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user_id(body)
        tr = svc.translator(user_id)
        values = state_values(view)
        block_ids = input_block_ids(view)
        if not svc.settings.alumni_hr_channel:
            target = F_CONSENT if F_CONSENT in block_ids else next(iter(sorted(block_ids)), F_CONSENT)
            ack(response_action="errors", errors={target: tr("referrals.not_configured")})
            return
        raw_opportunity = values.get(F_OPPORTUNITY)
        opportunity_id = _parse_int(raw_opportunity) if raw_opportunity else None
        if raw_opportunity and opportunity_id is None:
            ack(response_action="errors", errors={F_OPPORTUNITY: tr("errors.invalid")})
            return
        consent = values.get(F_CONSENT)
        try:
            with svc.db.session() as session:
                referral = referrals.submit_referral(
                    session,
                    actor=svc.actor(user_id),
                    opportunity_id=opportunity_id,
                    candidate_name=text(values, F_NAME),
                    candidate_email=text(values, F_EMAIL),
                    candidate_url=text(values, F_URL),
                    relationship=text(values, F_RELATIONSHIP),
                    why_fit=text(values, F_WHY_FIT),
                    consent=isinstance(consent, list) and CONSENT_VALUE in consent,
                )
                referral_id = int(referral.id or 0)
        except ValidationFailed as exc:
            ack(response_action="errors", errors=_submit_errors(svc, user_id, tr, exc, block_ids))
            duplicate = exc.errors.get(F_EMAIL)
            if duplicate and duplicate[0] == referrals.ERR_DUPLICATE:
                _note_second_referrer(svc, user_id, opportunity_id, text(values, F_EMAIL))
            return
        ack()
        log.info("referral submitted", extra={"referral_id": referral_id, "referrer": user_id})
        registry.after_ack(body, lambda: route_referral(svc, referral_id))

    @registry.action(STATUS_ACTION_PATTERN)
    def on_status_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user_id = _user_id(body)
        tr = svc.translator(user_id)
        referral_id_raw, _, to_status = str(action.get("value") or "").partition(":")
        referral_id = _parse_int(referral_id_raw)
        if not svc.actor(user_id).is_hr:
            log.warning(
                "referrals: status change refused", extra={"user": user_id, "referral_id": referral_id}
            )
            _tell(svc, body, respond, tr("referrals.not_allowed_hr"))
            return
        if referral_id is None or to_status not in referrals.HR_STATUSES:
            _tell(svc, body, respond, tr("errors.invalid"))
            return
        with svc.db.session() as session:
            current = referrals.find_referral(session, referral_id)
            status = current.status if current is not None else None
        if status is None or status == referrals.WITHDRAWN:
            _tell(svc, body, respond, tr("errors.not_found" if status is None else referrals.ERR_FINAL))
            return
        svc.client.views_open(
            trigger_id=body["trigger_id"], view=note_modal(tr, referral_id=referral_id, to_status=to_status)
        )

    @registry.view(NOTE_CALLBACK)
    def on_status_note(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user_id(body)
        tr = svc.translator(user_id)
        block_ids = input_block_ids(view) or {F_NOTE}
        target = F_NOTE if F_NOTE in block_ids else sorted(block_ids)[0]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            parsed_id = _parse_int(meta["referral_id"])
            to_status = str(meta["to"])
        except (ValueError, KeyError, TypeError):
            parsed_id = None
        if parsed_id is None:
            ack(response_action="errors", errors={target: tr("errors.invalid")})
            return
        referral_id = parsed_id
        values = state_values(view)
        share = values.get(F_SHARE)
        try:
            with svc.db.session() as session:
                change = referrals.change_status(
                    session,
                    actor=svc.actor(user_id),
                    referral_id=referral_id,
                    to_status=to_status,
                    note=text(values, F_NOTE),
                    share_note=isinstance(share, list) and SHARE_VALUE in share,
                )
                change_id = int(change.id or 0)
        except ValidationFailed as exc:
            ack(response_action="errors", errors=field_errors(exc, tr, block_ids=block_ids))
            return
        except PermissionDenied:
            log.warning(
                "referrals: status change refused", extra={"user": user_id, "referral_id": referral_id}
            )
            ack(response_action="errors", errors={target: tr("referrals.not_allowed_hr")})
            return
        except DomainError as exc:
            ack(response_action="errors", errors={target: error_message(exc, tr)})
            return
        ack()
        log.info(
            "referral status changed",
            extra={"referral_id": referral_id, "to_status": to_status, "actor": user_id},
        )
        registry.after_ack(body, lambda: _after_status_change(svc, referral_id, change_id, user_id))

    @registry.action(ASSIGN_ACTION)
    def on_assign(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user_id = _user_id(body)
        tr = svc.translator(user_id)
        referral_id = _parse_int(str(action.get("block_id") or "").removeprefix(ASSIGN_BLOCK_PREFIX))
        owner_id = action.get("selected_user") or None
        if referral_id is None:
            _tell(svc, body, respond, tr("errors.invalid"))
            return
        try:
            with svc.db.session() as session:
                referral = referrals.assign_owner(
                    session,
                    actor=svc.actor(user_id),
                    referral_id=referral_id,
                    owner_id=str(owner_id) if owner_id else None,
                    owner_is_hr=bool(owner_id) and svc.roles.is_hr(str(owner_id)),
                )
                title = _title_of(session, referral)
        except PermissionDenied:
            log.warning("referrals: assignment refused", extra={"user": user_id, "referral_id": referral_id})
            _tell(svc, body, respond, tr("referrals.not_allowed_hr"))
            return
        except DomainError as exc:
            _tell(svc, body, respond, error_message(exc, tr))
            if not isinstance(exc, NotFound):
                _update_hr_message(svc, referral_id)  # put the select back on the real owner
            return
        log.info("referral assigned", extra={"referral_id": referral_id, "owner": owner_id, "actor": user_id})
        _update_hr_message(svc, referral_id)
        if owner_id and owner_id != user_id:
            owner = str(owner_id)
            dm = owner_assigned_dm(svc.translator(owner), referral, opportunity_title=title)
            _safely("dm", referral_id, lambda: svc.client.chat_postMessage(channel=owner, **dm))
        owner_text = user_mention(str(owner_id)) if owner_id else tr("referrals.hr.unassigned")
        _tell(svc, body, respond, tr("referrals.owner_assigned", id=referral_id, owner=owner_text))
        _publish_home(svc, user_id)

    @registry.action(WITHDRAW_ACTION)
    def on_withdraw(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user_id = _user_id(body)
        tr = svc.translator(user_id)
        referral_id = _parse_int(action.get("value"))
        if referral_id is None:
            _tell(svc, body, respond, tr("errors.invalid"))
            return
        try:
            with svc.db.session() as session:
                change = referrals.withdraw(session, actor=svc.actor(user_id), referral_id=referral_id)
                change_id = int(change.id or 0)
        except PermissionDenied:
            log.warning("referrals: withdrawal refused", extra={"user": user_id, "referral_id": referral_id})
            _tell(svc, body, respond, tr("referrals.not_allowed_withdraw"))
            return
        except DomainError as exc:
            if exc.code == referrals.ERR_CANNOT_WITHDRAW:
                exc.params["status"] = status_label(tr, str(exc.params.get("status")))
            _tell(svc, body, respond, error_message(exc, tr))
            return
        log.info("referral withdrawn", extra={"referral_id": referral_id, "referrer": user_id})
        _after_status_change(svc, referral_id, change_id, user_id)


def _note_second_referrer(svc: Services, user_id: str, opportunity_id: int | None, email: str) -> None:
    """A second member referred a candidate already referred: add it to the first referral's history in
    HR's message and say so in its thread (the second member sees only the usual refusal)."""
    with svc.db.session() as session:
        referral_id = referrals.record_second_referrer(
            session, actor=svc.actor(user_id), opportunity_id=opportunity_id, candidate_email=email
        )
    if referral_id is None:
        return
    _update_hr_message(svc, referral_id)
    with svc.db.session() as session:
        referral = referrals.get_referral(session, referral_id)
    if referral.hr_channel and referral.hr_ts:
        note = svc.workspace_translator("referrals.hr.vouched_thread", id=referral_id, who=who(user_id))
        channel, ts = referral.hr_channel, referral.hr_ts
        _safely(
            "thread",
            referral_id,
            lambda: svc.client.chat_postMessage(channel=channel, thread_ts=ts, text=note),
        )


def _submit_errors(
    svc: Services, user_id: str, tr: Translator, exc: ValidationFailed, block_ids: set[str]
) -> dict[str, str]:
    """Field errors for the modal; the duplicate's first-referral date is shown in the referrer's zone."""
    errors = dict(exc.errors)
    duplicate = errors.get(F_EMAIL)
    if duplicate and duplicate[0] == referrals.ERR_DUPLICATE:
        first = duplicate[1].get("first_referred_at")
        date = (
            first.astimezone(_zone(svc, user_id)).date().isoformat() if isinstance(first, datetime) else "?"
        )
        errors[F_EMAIL] = (referrals.ERR_DUPLICATE, {"date": date})
    return field_errors(ValidationFailed(errors), tr, block_ids=block_ids or None)
