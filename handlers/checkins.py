"""Check-ins: `/checkin`, the global shortcut and the Home/nudge buttons open the check-in modal (which also
offers consent and joining reconnect intros); nudge buttons (snooze 30 days, turn off) and the reminder
settings; the member's own App Home section."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

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
from bot.blocks.common import BlockDict
from bot.blocks.intros import checkin_choice as intros_choice
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
from bot.kit import Feature, Later, action, command, local_today, publish_home, shortcut, view
from bot.listeners import in_view, own_dm_message, user_id_of
from bot.mrkdwn import date_token
from bot.profiles import OPENED_FROM_HOME, open_profile_modal, slack_facts
from bot.services import Services
from jobs import nudges as nudge_jobs
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
from models.intro import set_intro_opt_in
from models.member import get_member
from models.profile import CONSENT_VERSION, give_consent
from models.timeutil import now

log = logging.getLogger(__name__)

COMMAND = "/checkin"
SHORTCUT = "checkin"


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
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


def _open_checkin(services: Services, body: dict[str, Any]) -> None:
    open_profile_modal(
        services,
        user_id=user_id_of(body),
        trigger_id=str(body["trigger_id"]),
        checkin=True,
        from_home=in_view(body),  # the check-in buttons in views are on the Home tab
    )


def on_checkin(ack: Ack, command: dict[str, Any], services: Services) -> None:
    """`/checkin`: open the check-in modal."""
    ack()
    _open_checkin(services, command)


def on_shortcut(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The "Check in" global shortcut: open the check-in modal."""
    ack()
    _open_checkin(services, body)


def on_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's and the nudge's "Check in" button: open the check-in modal."""
    ack()
    _open_checkin(services, body)


def _save_checkin(
    services: Services, user_id: str, values: dict[str, Any]
) -> tuple[int | None, bool, str, str | None]:
    """Record the check-in with the consent and the intros box (one transaction: a refusal of any of them
    writes nothing): (id, shared, what's new, what changed in intros)."""
    share_values = values.get(SHARE)
    share = isinstance(share_values, list) and SHARE_VALUE in share_values
    whats_new = form_text(values, WHATS_NEW)
    consent_values = values.get(CONSENT)
    consents = isinstance(consent_values, list) and CONSENT_VERSION in consent_values
    intros = intros_choice(values)
    facts = slack_facts(services, user_id)
    actor = services.actor(user_id)
    with services.db.write_session() as session:
        if consents:  # same transaction: a refused check-in records no consent either
            give_consent(session, actor=actor, **facts)
        checkin, _ = record_checkin(
            session, actor=actor, data=input_from_state(values), whats_new=whats_new, share=share, **facts
        )
        changed = None if intros is None else set_intro_opt_in(session, actor=actor, opted_in=intros, **facts)
        return checkin.id, share, whats_new, changed


def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later) -> None:
    """Save the check-in before the ack (field errors stay in the modal); share and refresh Home after it."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    try:
        checkin_id, share, whats_new, intros = _save_checkin(services, user_id, state_values(view))
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    text = tr("checkins.saved.shared" if share else "checkins.saved.text")
    if intros:
        text += "\n\n" + tr(f"intros.checkin.{intros}")
    ack(response_action="update", view=done_view(tr, title_key="checkins.saved.title", text=text))

    if share:
        later(
            lambda: _post_to_community(services, user_id=user_id, whats_new=whats_new, checkin_id=checkin_id)
        )
    # Only a modal opened from the Home tab returns to it (`bot.profiles.OPENED_FROM_HOME`); elsewhere the
    # tab is rebuilt when the member opens it. Coalesced: a publish not begun yet shows this check-in too.
    if view.get("private_metadata") == OPENED_FROM_HOME:
        services.follow_ups.request(("home", user_id), lambda: publish_home(services, user_id), later)


def on_snooze(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """The nudge's "Remind me in 30 days": snooze before the ack; the nudge DM and Home change after it."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    with services.db.session() as session:
        member = snooze_nudges(session, actor=services.actor(user_id), days=SNOOZE_DAYS)
        until = member.nudge_snoozed_until or now()
    ack()
    day = date_token(until, fallback=until.strftime("%Y-%m-%d"), fmt="{date_short_pretty}")
    note = nudge_answered(tr, note=tr("checkins.nudge.snoozed", date=day))
    later(lambda: _after_nudge_answer(services, body, user_id, note))


def on_off(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """The nudge's "Turn off reminders": saved before the ack; the nudge DM and Home change after it."""
    user_id = user_id_of(body)
    with services.db.session() as session:
        set_nudges_enabled(session, actor=services.actor(user_id), enabled=False)
    ack()
    note = nudge_answered(
        services.translator(user_id), note=services.translator(user_id)("checkins.nudge.turned_off")
    )
    later(lambda: _after_nudge_answer(services, body, user_id, note))


def _after_nudge_answer(
    services: Services, body: dict[str, Any], user_id: str, message: dict[str, Any]
) -> None:
    _update_source_message(services, body, message)
    publish_home(services, user_id)


def on_settings_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's "Reminders" button: open the reminder settings modal."""
    ack()
    user_id = user_id_of(body)
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
    view = settings_modal(services.translator(user_id), member, at=now(), snooze_days=SNOOZE_DAYS)
    services.client.views_open(trigger_id=str(body["trigger_id"]), view=view)


def on_settings_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Save the reminder and personal-digest choices before the ack; refresh Home after it."""
    user_id = user_id_of(body)
    values = state_values(view)
    choice = values.get(NUDGES_BLOCK)
    digest = values.get(DIGEST_BLOCK)
    actor = services.actor(user_id)
    with services.db.session() as session:
        if choice == NUDGES_SNOOZE:
            snooze_nudges(session, actor=actor, days=SNOOZE_DAYS)
        else:
            set_nudges_enabled(session, actor=actor, enabled=choice != NUDGES_OFF)
        set_personal_digest(session, actor=actor, enabled=isinstance(digest, list) and DIGEST_ON in digest)
    ack()
    later(lambda: publish_home(services, user_id))


FEATURE = Feature(
    name="checkins",
    jobs=tuple(nudge_jobs.SCHEDULED_JOBS),
    listeners=(
        command(COMMAND, on_checkin, description_key="checkins.command_description"),
        shortcut(
            SHORTCUT,
            on_shortcut,
            name_key="checkins.shortcut_name",
            description_key="checkins.shortcut_description",
        ),
        action(CHECKIN_OPEN_ACTION, on_open),
        view(CHECKIN_CALLBACK, on_submit),
        action(NUDGE_SNOOZE_ACTION, on_snooze),
        action(NUDGE_OFF_ACTION, on_off),
        action(NUDGE_SETTINGS_ACTION, on_settings_open),
        view(NUDGE_SETTINGS_CALLBACK, on_settings_submit),
    ),
    home=home_section,
    home_order=10,
)
