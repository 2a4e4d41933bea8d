"""Profile pieces more than one feature uses: the profile (or check-in) modal, what Slack says about a member,
and HR's private list of rehire matches. (Features never import each other; what they share lives here.)"""

from __future__ import annotations

import logging
from typing import TypedDict

from bot.blocks.directory import rehire_message
from bot.blocks.intros import checkin_block as intros_checkin_block
from bot.blocks.profiles import profile_modal
from bot.kit import local_today
from bot.services import Services
from models.intro import get_intro_preferences
from models.member import get_member
from models.profile import profile_input_of, rehire_matches
from models.timeutil import now

log = logging.getLogger(__name__)


class SlackFacts(TypedDict):
    display_name: str | None
    locale: str | None
    tz: str | None


def slack_facts(services: Services, user_id: str) -> SlackFacts:
    """What Slack says about a user (cached), as `ensure_member`-style keyword arguments."""
    person = services.people.get(user_id)
    return {"display_name": person.name or None, "locale": person.language, "tz": person.tz}


# The check-in modal's private_metadata when it was opened from the Home tab: the tab stays on screen behind
# the modal (no app_home_opened follows), so saving it republishes the tab. Elsewhere Slack's app_home_opened
# rebuilds the tab when the member next opens it.
OPENED_FROM_HOME = "home"


def open_profile_modal(
    services: Services, *, user_id: str, trigger_id: str, checkin: bool = False, from_home: bool = False
) -> None:
    """Open the profile modal (or the check-in modal, with its "Join reconnect intros" box) prefilled with the
    user's current profile and intro opt-in; `from_home` marks a modal opened from the Home tab."""
    tr = services.translator(user_id)
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
        data = profile_input_of(member, today=local_today(services))
        consented = member is not None and member.has_consented
        intros = get_intro_preferences(session, slack_user_id=user_id) if checkin else None
    extra = [intros_checkin_block(tr, intros)] if checkin else []
    view = profile_modal(
        tr, data, checkin=checkin, consented=consented, current_year=now().year, checkin_extra=extra
    )
    if from_home:
        view["private_metadata"] = OPENED_FROM_HOME
    services.client.views_open(trigger_id=trigger_id, view=view)


def notify_rehire_matches(services: Services, *, hr_user_id: str, title: str, skills: list[str]) -> None:
    """DM an HR user a private list of members open to rehire whose skills overlap `skills`, best matches
    first. Members are never told. Does nothing for a user without the HR role."""
    if not services.roles.is_hr(hr_user_id):
        log.warning("rehire matches refused: recipient is not HR")
        return
    tr = services.translator(hr_user_id)
    today = local_today(services)
    with services.db.session() as session:
        matches = rehire_matches(session, skills=skills, today=today)
        text, blocks = rehire_message(matches, tr, title=title, team_id=None, today=today)
    services.client.chat_postMessage(channel=hr_user_id, text=text, blocks=blocks, unfurl_links=False)
