"""Block Kit for onboarding: the one welcome DM (what the bot does, how data is used, consent, profile)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks.common import BlockDict, actions, button, context, header, section, to_dicts
from bot.blocks.profiles import PROFILE_OPEN_ACTION
from bot.i18n import Translator
from bot.mrkdwn import date_token

CONSENT_ACTION = "onboarding_consent"
# The "Set up my profile" button opens the profile modal (same action as the Home tab's button).
SETUP_PROFILE_ACTION = PROFILE_OPEN_ACTION

Blocks = list[BlockDict]


def welcome_message(tr: Translator, *, name: str, consented: bool) -> dict[str, Any]:
    """The welcome DM in the member's language. `name` is plain text (headers are not mrkdwn)."""
    buttons = []
    if not consented:
        buttons.append(
            button(tr("onboarding.consent_button"), CONSENT_ACTION, value="welcome", style="primary")
        )
    buttons.append(button(tr("onboarding.profile_button"), SETUP_PROFILE_ACTION, value="welcome"))
    blocks: Blocks = [
        header(
            tr("onboarding.welcome.header", name=name) if name else tr("onboarding.welcome.header_anonymous")
        ),
        section(tr("onboarding.welcome.what")),
        section(tr("onboarding.welcome.data")),
        actions(*buttons),
        context(tr("onboarding.welcome.footer")),
    ]
    return {"text": tr("onboarding.welcome.fallback"), "blocks": to_dicts(blocks)}


def consent_given_message(tr: Translator, *, at: datetime) -> dict[str, Any]:
    """The welcome DM after the member agreed: the consent button becomes a confirmation."""
    when = date_token(at, fallback=at.strftime("%Y-%m-%d"), fmt="{date_short_pretty}")
    blocks: Blocks = [
        section(tr("onboarding.welcome.what")),
        section(tr("onboarding.welcome.data")),
        section(tr("onboarding.consent_done", date=when)),
        actions(
            button(tr("onboarding.profile_button"), SETUP_PROFILE_ACTION, value="welcome", style="primary")
        ),
    ]
    return {"text": tr("onboarding.consent_done", date=when), "blocks": to_dicts(blocks)}
