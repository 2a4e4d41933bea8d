"""`/alumni`: the directory. `help`, search (`/alumni [words]`), `profile`; other features add subcommands
(`Feature.subcommands`: each is called with the services, Bolt's `ack`, the command payload and the rest of
the text after the word). Any other text is a directory search."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond

from bot.blocks.directory import MORE_ACTION, PAGE_SIZE, parse_more_value, search_results
from bot.blocks.profiles import PROFILE_CALLBACK, PROFILE_OPEN_ACTION, done_view, input_from_state
from bot.forms import field_errors, input_block_ids, state_values
from bot.kit import Feature, Subcommand, action, command, local_today, publish_home, view
from bot.listeners import user_id_of
from bot.profiles import open_profile_modal, slack_facts
from bot.services import Services
from jobs import members as member_jobs
from models.errors import ValidationFailed
from models.profile import search_members, update_profile

COMMAND = "/alumni"
HELP_WORDS = {"", "help", "ヘルプ"}
PROFILE_WORDS = ("profile", "プロフィール")
QUERY_LIMIT = 500


def subcommands() -> dict[str, Subcommand]:
    """Every `/alumni` subcommand the features declare."""
    from bot.features import features  # the feature list imports this module

    found: dict[str, Subcommand] = {}
    for feature in features():
        found.update(feature.subcommands)
    return found


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


# -- listeners -------------------------------------------------------------------------------------


def on_alumni(ack: Ack, command: dict[str, Any], services: Services) -> None:
    """`/alumni [help | <subcommand> | words]`: help, a feature's subcommand, or a directory search."""
    user_id = str(command.get("user_id") or "")
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    if word.lower() in HELP_WORDS:
        ack(response_type="ephemeral", text=services.translator(user_id)("directory.help"))
        return
    handler = subcommands().get(word.lower())
    if handler is not None:
        handler(services, ack, command, rest.strip())
        return
    team_id = command.get("team_id")
    answer, blocks = search_answer(services, user_id=user_id, team_id=team_id, query=text[:QUERY_LIMIT])
    ack(response_type="ephemeral", text=answer, blocks=blocks)


def on_more(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    """ "More results": the next page, replacing the ephemeral answer."""
    ack()
    parsed = parse_more_value((body.get("actions") or [{}])[0].get("value"))
    if parsed is None:
        return
    query, offset = parsed
    user = body.get("user") or {}
    team_id = (body.get("team") or {}).get("id") or user.get("team_id")
    text, blocks = search_answer(
        services, user_id=user_id_of(body), team_id=team_id, query=query, offset=offset
    )
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


def on_profile_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's "Edit profile" button."""
    ack()
    open_profile_modal(services, user_id=user_id_of(body), trigger_id=str(body["trigger_id"]))


def on_profile_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni profile`: open the profile modal."""
    ack()
    open_profile_modal(services, user_id=str(command["user_id"]), trigger_id=str(command["trigger_id"]))


def on_profile_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    """Save the profile before the ack: field errors stay in the modal; success replaces it."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    data = input_from_state(state_values(view))
    try:
        with services.db.session() as session:
            actor = services.actor(user_id)
            update_profile(session, actor=actor, data=data, **slack_facts(services, user_id))
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    ack(
        response_action="update",
        view=done_view(tr, title_key="profiles.saved.title", text=tr("profiles.saved.text")),
    )
    publish_home(services, user_id)


FEATURE = Feature(
    name="directory",
    jobs=tuple(member_jobs.SCHEDULED_JOBS),
    digest=member_jobs.digest_section,
    digest_order=member_jobs.DIGEST_ORDER,
    listeners=(
        command(
            COMMAND,
            on_alumni,
            description_key="directory.command_description",
            usage_hint_key="directory.usage_hint",
        ),
        action(MORE_ACTION, on_more),
        action(PROFILE_OPEN_ACTION, on_profile_open),
        view(PROFILE_CALLBACK, on_profile_submit),
    ),
    subcommands={word: on_profile_subcommand for word in PROFILE_WORDS},
)
