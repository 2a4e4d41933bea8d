"""Referrals: `/refer`, the "Refer someone" shortcut and buttons, the modal, HR's pipeline actions, withdrawal.

Every change (a submission, HR's status change or owner, a withdrawal, a second member vouching) is decided
before the ack, in the request's thread, so clicks count in the order they arrive. What follows (the HR card,
DMs, the thread notes, Home tabs) runs after the ack (`later`); the HR card's newest render wins, across
processes too (`bot.serial`).

Privacy: candidate details go only to ALUMNI_HR_CHANNEL, the referrer (DMs, ephemerals, Home) and HR
members (DMs, Home). Logs carry ids only. Every HR action is re-checked here and in `models.referral`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks.common import BlockDict
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
from bot.kit import (
    Feature,
    Later,
    action,
    command,
    options,
    publish_home,
    shortcut,
    tell_clicker,
    user_zone,
    view,
)
from bot.listeners import parse_id, user_id_of
from bot.mrkdwn import escape, is_user_id, user_mention
from bot.serial import newest_render_wins
from bot.services import Services
from jobs import referrals as referral_jobs
from models import referral as referrals
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.opportunity import Opportunity

log = logging.getLogger(__name__)

COMMAND = "/refer"
HELP_WORDS = {"help", "ヘルプ"}
MINE_WORDS = {"mine", "自分"}
MINE_LIMIT = 20
HOME_LIMIT = 5
UNTOUCHED_LIMIT = 8


# -- small helpers --------------------------------------------------------------------------------


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


def _post(services: Services, what: str, referral_id: int, **message: Any) -> Any:
    """`chat.postMessage`, best effort (see `_safely`); Slack's response, or None when it failed."""
    return _safely(what, referral_id, lambda: services.client.chat_postMessage(**message))


def _members(*user_ids: str | None) -> list[str]:
    """The Slack users among `user_ids` (an erased member's pseudonym has no DM or Home tab)."""
    return [str(user_id) for user_id in user_ids if is_user_id(user_id)]


def _title_of(session: Session, referral: referrals.Referral) -> str | None:
    if referral.opportunity_id is None:
        return None
    return referrals.opportunity_titles(session, {referral.opportunity_id}).get(referral.opportunity_id)


def _refer_buttons(opportunity: Opportunity, tr: Translator) -> Sequence[Any]:
    """The "Refer someone" button on every open opportunity's announcement (block dicts; the opportunities
    feature's provider type still names slack_sdk's ButtonElement until its own rebuild)."""
    return [refer_button(tr, opportunity.id)] if opportunity.id is not None else []


# -- opening the modal ----------------------------------------------------------------------------


def _refer_view(services: Services, user_id: str, opportunity_id: int | None = None) -> BlockDict | str:
    """The referral modal to open for `user_id` (prefilled with an open opportunity), or why it cannot open."""
    tr = services.translator(user_id)
    if not services.settings.alumni_hr_channel:
        return tr("referrals.not_configured")
    if opportunity_id is None:
        return refer_modal(tr)
    with services.db.session() as session:
        opportunity = referrals.open_opportunity(session, opportunity_id)
        if opportunity is None:
            return tr("referrals.closed_notice")
        initial = referrals.OpportunityChoice(
            id=opportunity_id, title=opportunity.title, kind=str(opportunity.kind)
        )
    return refer_modal(tr, initial=initial)


def _open_or_tell(services: Services, body: dict[str, Any], answer: BlockDict | str) -> None:
    """After the ack: open the modal (its trigger_id lasts 3 s) or tell the clicker privately why not."""
    if isinstance(answer, str):
        tell_clicker(services, body, answer)
    else:
        services.client.views_open(trigger_id=body["trigger_id"], view=answer)


def _mine(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """`/refer mine`: the member's own referrals with their status."""
    with services.db.session() as session:
        mine, total = referrals.referrals_of(session, user_id, limit=MINE_LIMIT)
        ids = {r.opportunity_id for r in mine if r.opportunity_id is not None}
        titles = referrals.opportunity_titles(session, ids)
    return mine_blocks(tr, mine, total=total, titles=titles)


# -- App Home -------------------------------------------------------------------------------------


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """Your referrals with status; for HR also the pipeline (counts, oldest untouched first)."""
    is_hr = services.roles.is_hr(user_id)
    with services.db.session() as session:
        mine, total = referrals.referrals_of(session, user_id, limit=HOME_LIMIT)
        pipeline = referrals.pipeline_counts(session) if is_hr else None
        untouched = referrals.oldest_untouched(session, limit=UNTOUCHED_LIMIT) if is_hr else []
        ids = {r.opportunity_id for r in [*mine, *untouched] if r.opportunity_id is not None}
        titles = referrals.opportunity_titles(session, ids)
    return home_blocks(tr, mine, total=total, titles=titles, pipeline=pipeline, untouched=untouched)


# -- after a change (run after the ack): HR card, DMs, thread notes, Home ---------------------------


def _update_hr_message(services: Services, referral_id: int) -> None:
    """Re-render the HR card; the newest render wins even across processes (bot.serial)."""

    def read(session: Session) -> tuple[str, str, dict[str, Any]] | None:
        referral = referrals.get_referral(session, referral_id)
        if not referral.hr_channel or not referral.hr_ts:
            return None
        title = _title_of(session, referral)
        changes = referrals.history(session, referral_id)
        message = hr_message(
            services.workspace_translator, referral, opportunity_title=title, changes=changes
        )
        return referral.hr_channel, referral.hr_ts, message

    def send(card: tuple[str, str, dict[str, Any]]) -> bool:
        channel, ts, message = card
        sent = _safely(
            "chat.update",
            referral_id,
            lambda: services.client.chat_update(channel=channel, ts=ts, **message),
        )
        return sent is not None

    newest_render_wins(services.db, referrals.Referral, referral_id, read, send)


def _thread_note(services: Services, referral: referrals.Referral, note: str) -> None:
    """A line in the HR card's thread (HR's channel, workspace language)."""
    if referral.hr_channel and referral.hr_ts:
        rid = int(referral.id or 0)
        _post(services, "thread", rid, channel=referral.hr_channel, thread_ts=referral.hr_ts, text=note)


def route_referral(services: Services, referral_id: int) -> None:
    """Post a new referral to the HR channel, tell the referrer, refresh their Home."""
    with services.db.session() as session:
        referral = referrals.get_referral(session, referral_id)
        title = _title_of(session, referral)
        changes = referrals.history(session, referral_id)
    hr_channel = services.settings.alumni_hr_channel
    if hr_channel:
        tr = services.workspace_translator
        message = hr_message(tr, referral, opportunity_title=title, changes=changes)
        response = _post(services, "chat.postMessage", referral_id, channel=hr_channel, **message)
        if response is not None:
            with services.db.session() as session:
                referrals.set_hr_message(
                    session, referral_id=referral_id, channel=str(response["channel"]), ts=str(response["ts"])
                )
    if is_user_id(referral.referrer_id):
        dm = referrer_submitted_dm(
            services.translator(referral.referrer_id), referral, opportunity_title=title
        )
        _post(services, "dm", referral_id, channel=referral.referrer_id, **dm)
    publish_home(services, *_members(referral.referrer_id))
    log.info("referral routed", extra={"referral_id": referral_id, "referrer": referral.referrer_id})


def _after_status_change(services: Services, referral_id: int, change_id: int, actor_id: str) -> None:
    """The HR card, a thread note on withdrawal, the referrer's DM, and both people's Home tabs."""
    _update_hr_message(services, referral_id)
    with services.db.session() as session:
        referral = referrals.get_referral(session, referral_id)
        change = referrals.get_status_change(session, change_id)
        title = _title_of(session, referral)
    if change is None:
        return
    if change.to_status == referrals.WITHDRAWN:
        note = services.workspace_translator("referrals.hr.withdrawn_thread", id=referral_id)
        _thread_note(services, referral, note)
    if not is_user_id(referral.referrer_id):
        return  # the referrer was erased: nobody to tell
    tr = services.translator(referral.referrer_id)
    dm = referrer_status_dm(tr, referral, change, opportunity_title=title)
    _post(services, "dm", referral_id, channel=referral.referrer_id, **dm)
    publish_home(services, *_members(referral.referrer_id, actor_id))


def _after_assignment(
    services: Services,
    referral: referrals.Referral,
    title: str | None,
    *,
    actor_id: str,
    owner_id: str | None,
) -> None:
    """The HR card, the new owner's DM (unless they picked themselves), the assigner's Home."""
    referral_id = int(referral.id or 0)
    _update_hr_message(services, referral_id)
    if owner_id and owner_id != actor_id:
        dm = owner_assigned_dm(services.translator(owner_id), referral, opportunity_title=title)
        _post(services, "dm", referral_id, channel=owner_id, **dm)
    publish_home(services, actor_id)


def _tell_hr_of_second_referrer(services: Services, referral_id: int, user_id: str) -> None:
    """A second member vouched for a referred candidate: HR's card shows it in its history and its thread
    says so (the second member sees only the usual duplicate refusal)."""
    _update_hr_message(services, referral_id)
    with services.db.session() as session:
        referral = referrals.get_referral(session, referral_id)
    note = services.workspace_translator("referrals.hr.vouched_thread", id=referral_id, who=who(user_id))
    _thread_note(services, referral, note)


# -- the referral modal's submission ---------------------------------------------------------------


def _submit(services: Services, user_id: str, opportunity_id: int | None, values: dict[str, Any]) -> int:
    """Store the referral in the modal (raises ValidationFailed); its id."""
    consent = values.get(F_CONSENT)
    with services.db.session() as session:
        referral = referrals.submit_referral(
            session,
            actor=services.actor(user_id),
            opportunity_id=opportunity_id,
            candidate_name=text(values, F_NAME),
            candidate_email=text(values, F_EMAIL),
            candidate_url=text(values, F_URL),
            relationship=text(values, F_RELATIONSHIP),
            why_fit=text(values, F_WHY_FIT),
            consent=isinstance(consent, list) and CONSENT_VALUE in consent,
        )
        return int(referral.id or 0)


def _duplicate_of(exc: ValidationFailed) -> bool:
    """Whether the modal was refused because the candidate was already referred (for that opportunity)."""
    duplicate = exc.errors.get(F_EMAIL)
    return duplicate is not None and duplicate[0] == referrals.ERR_DUPLICATE


def _record_vouch(
    services: Services, user_id: str, opportunity_id: int | None, values: dict[str, Any]
) -> int | None:
    """A refused duplicate is a second member vouching: recorded on the first referral (once per member).
    The first referral's id when something was recorded."""
    with services.db.session() as session:
        return referrals.record_second_referrer(
            session,
            actor=services.actor(user_id),
            opportunity_id=opportunity_id,
            candidate_email=text(values, F_EMAIL),
        )


def _submit_errors(
    services: Services, user_id: str, tr: Translator, exc: ValidationFailed, block_ids: set[str]
) -> dict[str, str]:
    """Field errors for the modal; the duplicate's first-referral date is shown in the referrer's zone."""
    errors = dict(exc.errors)
    if _duplicate_of(exc):
        first = errors[F_EMAIL][1].get("first_referred_at")
        zone = user_zone(services, user_id)
        date = first.astimezone(zone).date().isoformat() if isinstance(first, datetime) else "?"
        errors[F_EMAIL] = (referrals.ERR_DUPLICATE, {"date": date})
    return field_errors(ValidationFailed(errors), tr, block_ids=block_ids or None)


# -- listeners ------------------------------------------------------------------------------------


def on_refer(ack: Ack, command: dict[str, Any], services: Services) -> None:
    """`/refer [help | mine]`: help, the member's own referrals, or the referral modal."""
    user_id = str(command.get("user_id") or "")
    tr = services.translator(user_id)
    word = (command.get("text") or "").strip()
    if word.lower() in HELP_WORDS:
        ack(response_type="ephemeral", text=tr("referrals.help"))
        return
    if word.lower() in MINE_WORDS:
        ack(response_type="ephemeral", text=tr("referrals.mine.title"), blocks=_mine(services, user_id, tr))
        return
    if word:
        unknown = tr("common.unknown_subcommand", text=escape(word[:50]), command=COMMAND)
        ack(response_type="ephemeral", text=unknown)
        return
    answer = _refer_view(services, user_id)
    if isinstance(answer, str):
        ack(response_type="ephemeral", text=answer)
        return
    ack()
    services.client.views_open(trigger_id=command["trigger_id"], view=answer)


def on_shortcut(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The global "Refer someone" shortcut: the referral modal."""
    answer = _refer_view(services, user_id_of(body))
    ack()
    _open_or_tell(services, body, answer)


def on_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's "Refer someone" button: the referral modal."""
    answer = _refer_view(services, user_id_of(body))
    ack()
    _open_or_tell(services, body, answer)


def on_open_from_opportunity(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """ "Refer someone" on an announcement: the modal prefilled with the opportunity while it is open."""
    user_id = user_id_of(body)
    opportunity_id = parse_id(action.get("value"))
    if opportunity_id is None:
        answer: BlockDict | str = services.translator(user_id)("referrals.closed_notice")
    else:
        answer = _refer_view(services, user_id, opportunity_id)
    ack()
    _open_or_tell(services, body, answer)


def on_opportunity_options(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The modal's opportunity select: open opportunities matching what was typed (at most 100)."""
    query = str(body.get("value") or "")[:100]
    with services.db.session() as session:
        choices = referrals.open_opportunity_choices(session, query=query, limit=100)
    ack(options=[opportunity_option(choice) for choice in choices])


def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later) -> None:
    """Store the referral before the ack (field errors stay in the modal); HR, the DM and Home follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    values = state_values(view)
    block_ids = input_block_ids(view)
    if not services.settings.alumni_hr_channel:
        target = F_CONSENT if F_CONSENT in block_ids else next(iter(sorted(block_ids)), F_CONSENT)
        ack(response_action="errors", errors={target: tr("referrals.not_configured")})
        return
    raw_opportunity = values.get(F_OPPORTUNITY)
    opportunity_id = parse_id(raw_opportunity) if raw_opportunity else None
    if raw_opportunity and opportunity_id is None:
        ack(response_action="errors", errors={F_OPPORTUNITY: tr("errors.invalid")})
        return
    try:
        referral_id = _submit(services, user_id, opportunity_id, values)
    except ValidationFailed as exc:
        vouched = _record_vouch(services, user_id, opportunity_id, values) if _duplicate_of(exc) else None
        ack(response_action="errors", errors=_submit_errors(services, user_id, tr, exc, block_ids))
        if vouched is not None:
            later(lambda: _tell_hr_of_second_referrer(services, vouched, user_id))
        return
    ack()
    log.info("referral submitted", extra={"referral_id": referral_id, "referrer": user_id})
    later(lambda: route_referral(services, referral_id))


def _note_modal_for(services: Services, user_id: str, value: str) -> BlockDict | str:
    """HR's note modal for the move a status button names (`<referral id>:<status>`), or why not."""
    tr = services.translator(user_id)
    raw_id, _, to_status = value.partition(":")
    referral_id = parse_id(raw_id)
    if not services.actor(user_id).is_hr:
        log.warning("referrals: status change refused", extra={"user": user_id, "referral_id": referral_id})
        return tr("referrals.not_allowed_hr")
    if referral_id is None or to_status not in referrals.HR_STATUSES:
        return tr("errors.invalid")
    with services.db.session() as session:
        current = referrals.find_referral(session, referral_id)
        status = current.status if current is not None else None
    if status is None or status == referrals.WITHDRAWN:
        return tr("errors.not_found" if status is None else referrals.ERR_FINAL)
    return note_modal(tr, referral_id=referral_id, to_status=to_status)


def on_status_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services) -> None:
    """A status button on the HR card: HR's note modal for the move (the move itself is its submission)."""
    answer = _note_modal_for(services, user_id_of(body), str(action.get("value") or ""))
    ack()
    _open_or_tell(services, body, answer)


def _move_named_in(view: dict[str, Any]) -> tuple[int, str] | None:
    """(referral id, target status) from the note modal's metadata; None when it was tampered with."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        referral_id = parse_id(meta["referral_id"])
        to_status = str(meta["to"])
    except (ValueError, KeyError, TypeError):
        return None
    return (referral_id, to_status) if referral_id is not None else None


def on_status_note(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """HR's status change, stored before the ack in arrival order; the HR card, DM and Home follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    block_ids = input_block_ids(view) or {F_NOTE}
    target = F_NOTE if F_NOTE in block_ids else sorted(block_ids)[0]
    move = _move_named_in(view)
    if move is None:
        ack(response_action="errors", errors={target: tr("errors.invalid")})
        return
    referral_id, to_status = move
    values = state_values(view)
    share = values.get(F_SHARE)
    try:
        with services.db.session() as session:
            change = referrals.change_status(
                session,
                actor=services.actor(user_id),
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
        log.warning("referrals: status change refused", extra={"user": user_id, "referral_id": referral_id})
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
    later(lambda: _after_status_change(services, referral_id, change_id, user_id))


def on_assign(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """HR picks a referral's owner on the HR card: stored before the ack; the card, DM and Home follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    referral_id = parse_id(str(action.get("block_id") or "").removeprefix(ASSIGN_BLOCK_PREFIX))
    owner_id = str(action.get("selected_user") or "") or None
    if referral_id is None:
        ack()
        tell_clicker(services, body, tr("errors.invalid"))
        return
    try:
        with services.db.session() as session:
            referral = referrals.assign_owner(
                session,
                actor=services.actor(user_id),
                referral_id=referral_id,
                owner_id=owner_id,
                owner_is_hr=bool(owner_id) and services.roles.is_hr(str(owner_id)),
            )
            title = _title_of(session, referral)
    except PermissionDenied:
        ack()
        log.warning("referrals: assignment refused", extra={"user": user_id, "referral_id": referral_id})
        tell_clicker(services, body, tr("referrals.not_allowed_hr"))
        return
    except DomainError as exc:
        ack()
        tell_clicker(services, body, error_message(exc, tr))
        if not isinstance(exc, NotFound):
            later(lambda: _update_hr_message(services, referral_id))  # the select back on the real owner
        return
    ack()
    log.info("referral assigned", extra={"referral_id": referral_id, "owner": owner_id, "actor": user_id})
    owner_text = user_mention(owner_id) if owner_id else tr("referrals.hr.unassigned")
    tell_clicker(services, body, tr("referrals.owner_assigned", id=referral_id, owner=owner_text))
    later(lambda: _after_assignment(services, referral, title, actor_id=user_id, owner_id=owner_id))


def _withdraw(services: Services, user_id: str, value: Any, tr: Translator) -> tuple[int, int] | str:
    """Withdraw the referral a button names, as `user_id`: (referral id, change id), or why not."""
    referral_id = parse_id(value)
    if referral_id is None:
        return tr("errors.invalid")
    try:
        with services.db.session() as session:
            change = referrals.withdraw(session, actor=services.actor(user_id), referral_id=referral_id)
            return referral_id, int(change.id or 0)
    except PermissionDenied:
        log.warning("referrals: withdrawal refused", extra={"user": user_id, "referral_id": referral_id})
        return tr("referrals.not_allowed_withdraw")
    except DomainError as exc:
        if exc.code == referrals.ERR_CANNOT_WITHDRAW:
            exc.params["status"] = status_label(tr, str(exc.params.get("status")))
        return error_message(exc, tr)


def on_withdraw(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """The referrer withdraws a referral: decided before the ack; the HR card, DM and Home follow."""
    user_id = user_id_of(body)
    outcome = _withdraw(services, user_id, action.get("value"), services.translator(user_id))
    ack()
    if isinstance(outcome, str):
        tell_clicker(services, body, outcome)
        return
    referral_id, change_id = outcome
    log.info("referral withdrawn", extra={"referral_id": referral_id, "referrer": user_id})
    later(lambda: _after_status_change(services, referral_id, change_id, user_id))


# The announcements' "Refer someone" button. The opportunities feature takes extra buttons from a provider
# registry in its blocks module (a `Feature` has no field for them yet), so the provider is added when the
# feature is imported; adding it twice is a no-op.
add_announcement_buttons(_refer_buttons)

FEATURE = Feature(
    name="referrals",
    jobs=tuple(referral_jobs.SCHEDULED_JOBS),
    digest=referral_jobs.digest_section,
    digest_order=referral_jobs.DIGEST_ORDER,
    listeners=(
        command(
            COMMAND,
            on_refer,
            description_key="referrals.command_description",
            usage_hint_key="referrals.usage_hint",
        ),
        shortcut(
            SHORTCUT_CALLBACK,
            on_shortcut,
            name_key="referrals.shortcut.name",
            description_key="referrals.shortcut.description",
        ),
        action(OPEN_ACTION, on_open),
        action(OPEN_FROM_OPPORTUNITY_ACTION, on_open_from_opportunity),
        options(OPPORTUNITY_SELECT_ACTION, on_opportunity_options),
        view(REFER_CALLBACK, on_submit),
        action(STATUS_ACTION_PATTERN, on_status_button),
        view(NOTE_CALLBACK, on_status_note),
        action(ASSIGN_ACTION, on_assign),
        action(WITHDRAW_ACTION, on_withdraw),
    ),
    home=home_section,
    home_order=30,
    scopes=referral_jobs.SCOPES,
)
