"""`/alumni`: the directory. `help`, search (`/alumni [words]`), `profile`; other modules add subcommands.

A handler module adds `/alumni <word>` subcommands by defining `ALUMNI_SUBCOMMANDS: dict[str, Subcommand]`
(for example `{"privacy": on_privacy}`); each is called with the services, Bolt's `ack`, the command payload
and the rest of the text after the word. Any other text is a directory search.

Public helpers for other features:
- `open_profile_modal(services, user_id=, trigger_id=, checkin=False)`: the profile (or check-in) modal;
- `notify_rehire_matches(services, hr_user_id=, title=, skills=)`: HR's private list of members open to
  rehire whose skills overlap (members are never told).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any, TypedDict

from slack_bolt import Ack, Respond

from bot.blocks.directory import MORE_ACTION, PAGE_SIZE, parse_more_value, rehire_message, search_results
from bot.blocks.profiles import (
    PROFILE_CALLBACK,
    PROFILE_OPEN_ACTION,
    done_view,
    input_from_state,
    profile_modal,
)
from bot.forms import field_errors, input_block_ids, state_values
from bot.registry import Registry
from bot.services import Services
from handlers.home import publish_home
from models.errors import ValidationFailed
from models.member import get_member
from models.profile import profile_input_of, rehire_matches, search_members, update_profile
from models.timeutil import now

log = logging.getLogger(__name__)

COMMAND = "/alumni"
HELP_WORDS = {"", "help", "ヘルプ"}
PROFILE_WORDS = ("profile", "プロフィール")

Subcommand = Callable[[Services, Ack, dict[str, Any], str], None]


def subcommands() -> dict[str, Subcommand]:
    """Every `/alumni` subcommand contributed by handler modules."""
    from bot.features import feature_modules

    found: dict[str, Subcommand] = {}
    for module in feature_modules():
        found.update(getattr(module, "ALUMNI_SUBCOMMANDS", {}))
    return found


def local_today(services: Services) -> date:
    """Today in `ALUMNI_TIMEZONE` (availability "until" dates are calendar days there)."""
    return now().astimezone(services.settings.zone).date()


class SlackFacts(TypedDict):
    display_name: str | None
    locale: str | None
    tz: str | None


def slack_facts(services: Services, user_id: str) -> SlackFacts:
    """What Slack says about a user, as `ensure_member`-style keyword arguments."""
    person = services.people.get(user_id)
    return {"display_name": person.name or None, "locale": person.language, "tz": person.tz}


# -- profile modal ---------------------------------------------------------------------------------


def open_profile_modal(services: Services, *, user_id: str, trigger_id: str, checkin: bool = False) -> None:
    """Open the profile modal (or the check-in modal) prefilled with the user's current profile."""
    tr = services.translator(user_id)
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
        data = profile_input_of(member, today=local_today(services))
        consented = member is not None and member.has_consented
    view = profile_modal(tr, data, checkin=checkin, consented=consented, current_year=now().year)
    services.client.views_open(trigger_id=trigger_id, view=view)


def on_profile_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni profile`: open the profile modal."""
    ack()
    open_profile_modal(services, user_id=str(command["user_id"]), trigger_id=str(command["trigger_id"]))


ALUMNI_SUBCOMMANDS: dict[str, Subcommand] = {word: on_profile_subcommand for word in PROFILE_WORDS}


# -- search ----------------------------------------------------------------------------------------


def search_answer(
    services: Services, *, user_id: str, team_id: str | None, query: str, offset: int = 0
) -> tuple[str, list[dict[str, Any]]]:
    """One page of results for `query`, as the searcher may see them: (text, blocks)."""
    tr = services.translator(user_id)
    actor = services.actor(user_id)
    today = local_today(services)
    with services.db.session() as session:
        page = search_members(session, actor=actor, query=query, limit=PAGE_SIZE, offset=offset, today=today)
        return search_results(page, tr, query=query, team_id=team_id, today=today, viewer_is_hr=actor.is_hr)


# -- rehire matching -------------------------------------------------------------------------------


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


# -- listeners -------------------------------------------------------------------------------------


def register(registry: Registry) -> None:
    @registry.command(
        COMMAND, description_key="directory.command_description", usage_hint_key="directory.usage_hint"
    )
    def on_alumni(ack: Ack, command: dict[str, Any]) -> None:
        svc = registry.services
        user_id = str(command.get("user_id") or "")
        tr = svc.translator(user_id)
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        if word.lower() in HELP_WORDS:
            ack(response_type="ephemeral", text=tr("directory.help"))
            return
        handler = subcommands().get(word.lower())
        if handler is not None:
            handler(svc, ack, command, rest.strip())
            return
        answer, blocks = search_answer(svc, user_id=user_id, team_id=command.get("team_id"), query=text[:500])
        ack(response_type="ephemeral", text=answer, blocks=blocks)

    @registry.action(MORE_ACTION)
    def on_more(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user_id = str(body["user"]["id"])
        parsed = parse_more_value((body.get("actions") or [{}])[0].get("value"))
        if parsed is None:
            return
        query, offset = parsed
        team_id = (body.get("team") or {}).get("id") or body["user"].get("team_id")
        text, blocks = search_answer(svc, user_id=user_id, team_id=team_id, query=query, offset=offset)
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)

    @registry.action(PROFILE_OPEN_ACTION)
    def on_profile_open(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_profile_modal(
            registry.services, user_id=str(body["user"]["id"]), trigger_id=str(body["trigger_id"])
        )

    @registry.view(PROFILE_CALLBACK)
    def on_profile_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = str(body["user"]["id"])
        tr = svc.translator(user_id)
        data = input_from_state(state_values(view))
        try:
            with svc.db.session() as session:
                update_profile(session, actor=svc.actor(user_id), data=data, **slack_facts(svc, user_id))
        except ValidationFailed as exc:
            ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
            return
        ack(
            response_action="update",
            view=done_view(tr, title_key="profiles.saved.title", text=tr("profiles.saved.text")),
        )
        publish_home(svc, user_id)
