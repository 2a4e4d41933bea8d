"""Onboarding: one welcome DM when someone joins the alumni channel or the workspace, and consent.

`member_joined_channel` (for `ALUMNI_CHANNEL`) and `team_join` (when `ALUMNI_WELCOME_ON_TEAM_JOIN` is on)
both lead to `welcome`, which sends the DM only when it wins the member's welcome claim: a second event
for the same person, or Slack retrying an event (`X-Slack-Retry-Num`), sends nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot.blocks.onboarding import CONSENT_ACTION, consent_given_message, welcome_message
from bot.i18n import Translator
from bot.kit import Feature, Later, action, event, publish_home
from bot.listeners import own_dm_message, user_id_of
from bot.profiles import slack_facts
from bot.services import Services
from models.db import DatabaseUnavailable
from models.profile import claim_welcome, give_consent, release_welcome
from models.roster import link_new_slack_user
from models.timeutil import now

log = logging.getLogger(__name__)

# SQLite allows one writer: two join events of one person racing in this process take turns here
# (PostgreSQL needs no help: the conditional UPDATE in `claim_welcome` decides).
_claim_lock = threading.Lock()


def _link_roster(services: Services, *, user_id: str, email: str | None, name: str) -> None:
    """Merge HR's roster row waiting for this email into the new member (the roster feature's rule)."""
    try:
        with services.db.session() as session:
            link_new_slack_user(session, slack_user_id=user_id, email=email, name=name)
    except Exception:  # the welcome matters more than the roster merge, which the next import repeats
        log.warning("roster link on team_join failed", exc_info=True)


def welcome(services: Services, user_id: str, *, email: str | None = None) -> bool:
    """Send the welcome DM in the member's language, once per member. True when it was sent now."""
    person = services.people.get(user_id)
    if person.is_bot or person.deleted or user_id == "USLACKBOT":
        return False
    claimed = None
    for attempt in range(3):
        try:
            with _claim_lock, services.db.session() as session:
                member = claim_welcome(
                    session,
                    slack_user_id=user_id,
                    display_name=person.name or None,
                    locale=person.language,
                    tz=person.tz,
                )
                claimed = (member.has_consented,) if member is not None else None
            break
        except DatabaseUnavailable:
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))
    if claimed is None:
        return False
    tr = Translator(person.language)
    message = welcome_message(tr, name=person.name, consented=claimed[0])
    try:
        services.client.chat_postMessage(channel=user_id, unfurl_links=False, **message)
    except SlackApiError as exc:
        log.warning("welcome DM failed: %s", exc.response.get("error"))
        with services.db.session() as session:
            release_welcome(session, slack_user_id=user_id)
        return False
    return True


def on_member_joined_channel(event: dict[str, Any], services: Services) -> None:
    """Someone joined the alumni channel: welcome them once."""
    channel = event.get("channel")
    user_id = event.get("user")
    if not channel or channel != services.settings.alumni_channel or not isinstance(user_id, str):
        return
    welcome(services, user_id)


def on_team_join(event: dict[str, Any], services: Services) -> None:
    """Someone joined the workspace: link HR's roster row (which stops their invitations and moves the
    funnel on) always; welcome them only when `ALUMNI_WELCOME_ON_TEAM_JOIN` is on (off where staff share the
    workspace)."""
    user = event.get("user")
    if not isinstance(user, dict) or not user.get("id") or user.get("is_bot") or user.get("deleted"):
        return
    user_id = str(user["id"])
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    email = profile.get("email") if isinstance(profile, dict) else None
    person = services.people.get(user_id)
    _link_roster(services, user_id=user_id, email=str(email) if email else person.email, name=person.name)
    if services.settings.welcome_on_team_join:
        welcome(services, user_id)


def on_consent(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """The welcome DM's "I agree": consent recorded before the ack; the DM and Home change after it."""
    user_id = user_id_of(body)
    with services.db.session() as session:
        member = give_consent(session, actor=services.actor(user_id), **slack_facts(services, user_id))
        at = member.consented_at or now()
    ack()
    later(lambda: _after_consent(services, body, user_id, at))


def _after_consent(services: Services, body: dict[str, Any], user_id: str, at: datetime) -> None:
    clicked = own_dm_message(services.client, body)  # the welcome DM, never a message elsewhere
    if clicked is not None:
        try:
            message = consent_given_message(services.translator(user_id), at=at)
            services.client.chat_update(channel=clicked[0], ts=clicked[1], **message)
        except SlackApiError as exc:
            log.info("could not update the welcome message: %s", exc.response.get("error"))
    publish_home(services, user_id)


FEATURE = Feature(
    name="onboarding",
    listeners=(
        event("member_joined_channel", on_member_joined_channel, scopes=("channels:read", "groups:read")),
        event("team_join", on_team_join, scopes=("users:read",)),
        action(CONSENT_ACTION, on_consent),
    ),
)
