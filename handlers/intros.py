"""Reconnect intros: the member's Home section (join, settings, pause, resume), the settings modal (also
`/alumni intros` / `/alumni 紹介`), and the "did you meet?" buttons in a group's DM.

Every change is saved before the ack (field errors stay in the modal); the private answer and the Home
publish follow it (`later`). The answer buttons sit in a group DM, but a payload can be forged: only a member
of the group the button names can answer, and only for themselves (`models.intro.record_meeting_answer`).
The weekly round and the follow-up are scheduled jobs (`jobs.intros`); their DMs go through the outbox.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import Ack

from bot.blocks.common import BlockDict
from bot.blocks.intros import (
    MET_NO_ACTION,
    MET_YES_ACTION,
    PAUSE_ACTION,
    PAUSE_WEEKS,
    PREFS_CALLBACK,
    PREFS_OPEN_ACTION,
    RESUME_ACTION,
    answer_note,
    home_blocks,
    preferences_from_state,
    preferences_modal,
)
from bot.forms import error_message, field_errors, input_block_ids, state_values
from bot.i18n import Translator
from bot.kit import Feature, Later, action, publish_home, tell_clicker, view
from bot.listeners import parse_id, user_id_of
from bot.profiles import slack_facts
from bot.services import Services
from jobs.intros import SCHEDULED_JOBS, SCOPES, group_message_now
from jobs.intros import on_erasure as intros_on_erasure
from models.errors import DomainError, ValidationFailed
from models.intro import (
    IntroPreference,
    get_intro_preferences,
    pause_intros,
    record_meeting_answer,
    resume_intros,
    set_intro_preferences,
)
from models.timeutil import now

log = logging.getLogger(__name__)

SUBCOMMAND_WORDS = ("intros", "紹介")


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """The member's intro status (on / paused / off) and its buttons."""
    with services.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=user_id)
    return home_blocks(tr, pref, at=now())


def _open_preferences(services: Services, user_id: str, trigger_id: str) -> None:
    with services.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=user_id)
    view = preferences_modal(services.translator(user_id), pref, at=now())
    services.client.views_open(trigger_id=trigger_id, view=view)


def on_prefs_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's "Join intros" / "Intro settings": open the settings modal (only one's own)."""
    ack()
    _open_preferences(services, user_id_of(body), str(body["trigger_id"]))


def on_intros_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni intros` (`/alumni 紹介`): open the settings modal."""
    ack()
    _open_preferences(services, str(command["user_id"]), str(command["trigger_id"]))


def _note_of(pref: IntroPreference, was_on: bool, tr: Translator) -> str:
    if pref.opted_in or not was_on:
        return tr("intros.prefs.saved")
    return tr("intros.prefs.opted_out")


def on_prefs_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Save the settings before the ack (field errors at the field, nothing saved); tell and refresh Home."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    try:
        with services.db.session() as session:
            before = get_intro_preferences(session, slack_user_id=user_id)
            was_on = before is not None and before.opted_in
            pref = set_intro_preferences(
                session,
                actor=services.actor(user_id),
                **preferences_from_state(state_values(view)),
                **slack_facts(services, user_id),
            )
            note = _note_of(pref, was_on, tr)
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    ack()

    def follow_up() -> None:
        tell_clicker(services, body, note)
        publish_home(services, user_id)

    later(follow_up)


def _pause_day(pref: IntroPreference) -> str:
    # Stored as 00:00 UTC after the last paused day; the member picked (and sees) that last day.
    assert pref.paused_until is not None
    return (pref.paused_until - timedelta(seconds=1)).date().isoformat()


def on_pause(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """The Home tab's "Pause for 4 weeks": saved before the ack (the clicker's own intros, whatever the
    button's value says); a private note and Home follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    try:
        with services.db.session() as session:
            pref = pause_intros(session, actor=services.actor(user_id), weeks=PAUSE_WEEKS)
            note = tr("intros.home.paused_notice", date=_pause_day(pref))
    except DomainError as exc:
        note = error_message(exc, tr)
    ack()
    later(lambda: _tell_and_publish(services, body, user_id, note))


def on_resume(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """The Home tab's "Resume intros": the pause ends before the ack; a private note and Home follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    try:
        with services.db.session() as session:
            resume_intros(session, actor=services.actor(user_id))
        note = tr("intros.home.resumed_notice")
    except DomainError as exc:
        note = error_message(exc, tr)
    ack()
    later(lambda: _tell_and_publish(services, body, user_id, note))


def _tell_and_publish(services: Services, body: dict[str, Any], user_id: str, note: str) -> None:
    tell_clicker(services, body, note)
    publish_home(services, user_id)


def _record_answer(services: Services, user_id: str, value: Any, *, met: bool) -> str:
    """Record the clicker's answer for the group the button names; the note they see (thanks, or why not)."""
    tr = services.translator(user_id)
    group_id = parse_id(value)
    if group_id is None:
        return tr("errors.invalid")
    try:
        with services.db.session() as session:
            record_meeting_answer(session, actor=services.actor(user_id), group_id=group_id, met=met)
    except DomainError as exc:
        log.warning("intros: answer refused", extra={"user": user_id, "group_id": group_id, "code": exc.code})
        return error_message(exc, tr)
    log.info("intros: answered", extra={"group_id": group_id, "met": met})
    return answer_note(tr, met=met)


def on_met_yes(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """ "Yes, we met": saved before the ack (group members only); the clicker alone sees the thanks."""
    note = _record_answer(services, user_id_of(body), action.get("value"), met=True)
    ack()
    later(lambda: tell_clicker(services, body, note))


def on_met_no(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """ "Not this time": saved before the ack (group members only); the clicker alone sees the thanks."""
    note = _record_answer(services, user_id_of(body), action.get("value"), met=False)
    ack()
    later(lambda: tell_clicker(services, body, note))


def redrawn_intro(svc: Services, period: str) -> dict[str, Any] | None:
    """Erasure's redraw (outbox rows stand for posted intros): a posted intro as it reads now: the group's members still in the network, and a line for who left.
    (A "did you meet?" follow-up, period `g<group id>`, is asked again of those still in the group.)"""
    with svc.db.session() as session:
        now_reads = group_message_now(session, settings=svc.settings, period=period, someone_left=True)
    if now_reads is None:
        return None
    # The post's metadata holds its outbox key, which lists the group's user IDs and which anyone in the
    # workspace can read: an empty object removes it (https://docs.slack.dev/reference/methods/chat.update).
    # The outbox no longer needs it: only an uncertain row is looked for in history, and this one was sent.
    return {**now_reads.message, "metadata": {}}


FEATURE = Feature(
    name="intros",
    listeners=(
        action(PREFS_OPEN_ACTION, on_prefs_open),
        view(PREFS_CALLBACK, on_prefs_submit),
        action(PAUSE_ACTION, on_pause),
        action(RESUME_ACTION, on_resume),
        action(MET_YES_ACTION, on_met_yes),
        action(MET_NO_ACTION, on_met_no),
    ),
    home=home_section,
    home_order=50,  # after events (40), before Your data (90)
    subcommands={word: on_intros_subcommand for word in SUBCOMMAND_WORDS},
    jobs=tuple(SCHEDULED_JOBS),
    scopes=SCOPES,
    redraws={"outbox_message": redrawn_intro},
    on_erasure=intros_on_erasure,
)
