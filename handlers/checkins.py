"""Check-ins: `/checkin`, the global shortcut and the Home/nudge buttons open the check-in modal; nudge
buttons (snooze 30 days, turn off) and the reminder settings; the member's own App Home section."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.blocks.checkins import (
    DIGEST_BLOCK,
    DIGEST_ON,
    NUDGE_OFF_ACTION,
    NUDGE_SETTINGS_ACTION,
    NUDGE_SETTINGS_CALLBACK,
    NUDGE_SNOOZE_ACTION,
    NUDGES_BLOCK,
    NUDGES_OFF,
    NUDGES_SNOOZE,
    community_post,
    home_blocks,
    nudge_answered,
    settings_modal,
)
from bot.blocks.profiles import (
    CHECKIN_CALLBACK,
    CHECKIN_OPEN_ACTION,
    CONSENT,
    SHARE,
    SHARE_VALUE,
    WHATS_NEW,
    done_view,
    input_from_state,
)
from bot.forms import field_errors, input_block_ids, state_values
from bot.forms import text as form_text
from bot.i18n import Translator
from bot.kit import local_today, publish_home
from bot.listeners import own_dm_message
from bot.mrkdwn import date_token
from bot.profiles import open_profile_modal, slack_facts
from bot.registry import Registry
from bot.services import Services
from models.checkin import (
    SNOOZE_DAYS,
    nudge_cadence_days,
    record_checkin,
    set_checkin_message,
    set_nudges_enabled,
    set_personal_digest,
    snooze_nudges,
)
from models.errors import ValidationFailed
from models.member import get_member
from models.profile import CONSENT_VERSION, give_consent
from models.timeutil import now

log = logging.getLogger(__name__)

COMMAND = "/checkin"
SHORTCUT = "checkin"
HOME_ORDER = 10


def home_section(services: Services, user_id: str, tr: Translator) -> list[Block | dict[str, Any]]:
    """The member's own profile summary, last check-in date and buttons (check in, edit, reminders)."""
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
        cadence = nudge_cadence_days(session, defaults=services.settings.program_defaults())
    return home_blocks(member, tr, at=now(), today=local_today(services), cadence_days=cadence)


def _update_source_message(services: Services, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Replace the message a button was clicked in (the nudge DM, and only that); best effort."""
    clicked = own_dm_message(services.client, body)
    if clicked is None:
        return
    channel, ts = clicked
    try:
        services.client.chat_update(channel=channel, ts=ts, **message)
    except SlackApiError as exc:
        log.info("could not update the nudge message: %s", exc.response.get("error"))


def _post_to_community(
    services: Services, *, user_id: str, whats_new: str, checkin_id: int | None = None
) -> None:
    channel = services.settings.alumni_channel
    if not channel:
        return
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
    if member is None:
        return
    message = community_post(
        services.workspace_translator, user_id=user_id, member=member, whats_new=whats_new
    )
    try:
        posted = services.client.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        log.warning("could not share a check-in in the alumni channel: %s", exc.response.get("error"))
        return
    if checkin_id is not None:
        with services.db.session() as session:
            set_checkin_message(
                session, checkin_id=checkin_id, channel=str(posted["channel"]), ts=str(posted["ts"])
            )


def register(registry: Registry) -> None:
    def open_checkin(body: dict[str, Any]) -> None:
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        open_profile_modal(
            registry.services, user_id=str(user), trigger_id=str(body["trigger_id"]), checkin=True
        )

    @registry.command(COMMAND, description_key="checkins.command_description")
    def on_checkin(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        open_checkin(command)

    @registry.shortcut(
        SHORTCUT, name_key="checkins.shortcut_name", description_key="checkins.shortcut_description"
    )
    def on_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_checkin(body)

    @registry.action(CHECKIN_OPEN_ACTION)
    def on_open(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_checkin(body)

    @registry.view(CHECKIN_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = str(body["user"]["id"])
        tr = svc.translator(user_id)
        values = state_values(view)
        share_values = values.get(SHARE)
        share = isinstance(share_values, list) and SHARE_VALUE in share_values
        whats_new = form_text(values, WHATS_NEW)
        consent_values = values.get(CONSENT)
        consents = isinstance(consent_values, list) and CONSENT_VERSION in consent_values
        try:
            with svc.db.session() as session:
                if consents:  # same transaction: a refused check-in records no consent either
                    give_consent(session, actor=svc.actor(user_id), **slack_facts(svc, user_id))
                checkin, _ = record_checkin(
                    session,
                    actor=svc.actor(user_id),
                    data=input_from_state(values),
                    whats_new=whats_new,
                    share=share,
                    **slack_facts(svc, user_id),
                )
                checkin_id = checkin.id
        except ValidationFailed as exc:
            ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
            return
        text = tr("checkins.saved.shared" if share else "checkins.saved.text")
        ack(response_action="update", view=done_view(tr, title_key="checkins.saved.title", text=text))
        if share:
            _post_to_community(svc, user_id=user_id, whats_new=whats_new, checkin_id=checkin_id)
        publish_home(svc, user_id)

    @registry.action(NUDGE_SNOOZE_ACTION)
    def on_snooze(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = str(body["user"]["id"])
        tr = svc.translator(user_id)
        with svc.db.session() as session:
            member = snooze_nudges(session, actor=svc.actor(user_id), days=SNOOZE_DAYS)
            until = member.nudge_snoozed_until or now()
        day = date_token(until, fallback=until.strftime("%Y-%m-%d"), fmt="{date_short_pretty}")
        _update_source_message(svc, body, nudge_answered(tr, note=tr("checkins.nudge.snoozed", date=day)))
        publish_home(svc, user_id)

    @registry.action(NUDGE_OFF_ACTION)
    def on_off(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = str(body["user"]["id"])
        tr = svc.translator(user_id)
        with svc.db.session() as session:
            set_nudges_enabled(session, actor=svc.actor(user_id), enabled=False)
        _update_source_message(svc, body, nudge_answered(tr, note=tr("checkins.nudge.turned_off")))
        publish_home(svc, user_id)

    @registry.action(NUDGE_SETTINGS_ACTION)
    def on_settings_open(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = str(body["user"]["id"])
        with svc.db.session() as session:
            member = get_member(session, slack_user_id=user_id)
        view = settings_modal(svc.translator(user_id), member, at=now(), snooze_days=SNOOZE_DAYS)
        svc.client.views_open(trigger_id=str(body["trigger_id"]), view=view)

    @registry.view(NUDGE_SETTINGS_CALLBACK)
    def on_settings_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = str(body["user"]["id"])
        values = state_values(view)
        choice = values.get(NUDGES_BLOCK)
        digest = values.get(DIGEST_BLOCK)
        actor = svc.actor(user_id)
        with svc.db.session() as session:
            if choice == NUDGES_SNOOZE:
                snooze_nudges(session, actor=actor, days=SNOOZE_DAYS)
            elif choice == NUDGES_OFF:
                set_nudges_enabled(session, actor=actor, enabled=False)
            else:
                set_nudges_enabled(session, actor=actor, enabled=True)
            set_personal_digest(
                session, actor=actor, enabled=isinstance(digest, list) and DIGEST_ON in digest
            )
        ack()
        publish_home(svc, user_id)
