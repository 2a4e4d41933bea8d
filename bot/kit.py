"""The listener kit: how a feature declares itself, and the helpers every listener shares.

A feature module (`handlers/<name>.py`) writes its listeners as named module-level functions and ends with
one typed `FEATURE = Feature(...)` value naming them with the constructors below (`command`, `action`,
`view`...), its Home section, its `/alumni` subcommands, its scheduled jobs and digest section, its
scopes, and what erasing a member means for its messages (`redraws`, `on_erasure`). `bot/features.py` lists the features; the composition root registers that list. Nothing is discovered
by name.

A listener asks for what it needs by parameter name, as Bolt listeners do (`ack`, `body`, `command`,
`respond`...), plus two of ours that the registry injects:
- `services`: the process's `Services`, which one global middleware puts into Bolt's context;
- `later`: `later(work)` runs slow follow-up work (announcement refresh, DMs, Home publish) after the ack, on
  the bounded listener pool (see `Registry.after_ack`).
A unit test calls a listener directly with a fake `ack` and these two (`later=lambda work: work()`).

The helpers (`tell_clicker`, `publish_home`, `user_zone`, `local_today`, `hr_clicker`) exist once, here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError

from bot.blocks.common import VIEW_BLOCK_LIMIT, BlockDict, context, divider, header, section
from bot.forms import error_message
from bot.i18n import Translator
from bot.listeners import channel_id_of, in_view, is_slack_response_url, user_id_of
from bot.services import Services
from models.errors import DomainError, NotFound
from models.timeutil import now

if TYPE_CHECKING:
    from slack_bolt import Ack
    from sqlmodel import Session

    from bot.config import Settings
    from jobs.base import DigestSectionFn, ScheduledJob

log = logging.getLogger(__name__)

ListenerKind = Literal["command", "shortcut", "action", "view", "view_closed", "options", "event"]
# `later(work)`: run `work` after the ack (see the module docstring).
Later = Callable[[Callable[[], Any]], None]
_T = TypeVar("_T")
# `work(session, row id)`: the decision a button asks for about the row it names, in one unit of work.
RowWork = Callable[["Session", int], _T]
# A Home tab section: (services, user id, the viewer's translator) -> blocks (empty: no section).
HomeSection = Callable[[Services, str, Translator], list[BlockDict]]
# An `/alumni <word> [rest]` subcommand: (services, ack, command payload, rest of the text).
Subcommand = Callable[[Services, "Ack", dict[str, Any], str], None]
# Erasure (handlers/privacy runs every feature's): a message it redraws (`models.privacy.MESSAGE_REDRAW`),
# rendered again from what is stored now, by its `MessageRef.key` (None: the neutral notice instead) ...
Redraw = Callable[[Services, str], "dict[str, Any] | None"]
# ... and a step in the erasure's transaction: called before `erase_member` with (session, settings, the
# member's Slack ID); what it returns is called after it with their pseudonym (messages not sent yet).
AfterErasure = Callable[[str], object]
OnErasure = Callable[["Session", "Settings", str], AfterErasure]


@dataclass(frozen=True)
class Listener:
    """One Bolt listener of a feature: what it listens to (`kind`, `key`) and the function that answers."""

    kind: ListenerKind
    key: str | re.Pattern[str]
    func: Callable[..., Any]
    # Manifest details for commands, shortcuts and events (see the constructors).
    description_key: str | None = None
    usage_hint_key: str | None = None
    name_key: str | None = None
    shortcut_kind: str = "global"
    scopes: tuple[str, ...] = ()
    subscription: str | None = None


def command(
    name: str, func: Callable[..., Any], *, description_key: str, usage_hint_key: str | None = None
) -> Listener:
    """A slash command (`name` like "/checkin"); the keys name its manifest description and hint."""
    return Listener("command", name, func, description_key=description_key, usage_hint_key=usage_hint_key)


def shortcut(
    callback_id: str, func: Callable[..., Any], *, name_key: str, description_key: str, kind: str = "global"
) -> Listener:
    """A global (or message) shortcut."""
    return Listener(
        "shortcut", callback_id, func, name_key=name_key, description_key=description_key, shortcut_kind=kind
    )


def action(action_id: str | re.Pattern[str], func: Callable[..., Any]) -> Listener:
    """A block action (button, select...) by `action_id` or a pattern of them."""
    return Listener("action", action_id, func)


def view(callback_id: str, func: Callable[..., Any]) -> Listener:
    """A modal's submission."""
    return Listener("view", callback_id, func)


def view_closed(callback_id: str, func: Callable[..., Any]) -> Listener:
    """A modal closed with Cancel (needs `notify_on_close` on the view)."""
    return Listener("view_closed", callback_id, func)


def options(action_id: str, func: Callable[..., Any]) -> Listener:
    """An `external_select`'s options source."""
    return Listener("options", action_id, func)


def event(
    event_type: str,
    func: Callable[..., Any],
    *,
    scopes: tuple[str, ...] = (),
    subscription: str | None = None,
) -> Listener:
    """An Events API listener, run after an immediate ack. `subscription` is the manifest's event name when it
    differs from the payload's type (Bolt matches `message`; the manifest subscribes to `message.im`)."""
    return Listener("event", event_type, func, scopes=scopes, subscription=subscription)


@dataclass(frozen=True)
class Feature:
    """Everything one feature adds to the app, in one typed value (see the module docstring)."""

    name: str
    listeners: tuple[Listener, ...] = ()
    home: HomeSection | None = None
    home_order: int = 100  # lower comes first on the Home tab
    subcommands: Mapping[str, Subcommand] = field(default_factory=dict)
    jobs: tuple[ScheduledJob, ...] = ()
    digest: DigestSectionFn | None = None  # its part of the weekly digest
    digest_order: int = 100  # lower comes first in the digest
    scopes: tuple[str, ...] = ()
    redraws: Mapping[str, Redraw] = field(default_factory=dict)  # by the table a MessageRef names
    on_erasure: OnErasure | None = None


# -- helpers every listener shares -------------------------------------------------------------------


def user_zone(services: Services, user_id: str | None) -> ZoneInfo:
    """A member's own time zone (Slack profile, cached), else the workspace's (`ALUMNI_TIMEZONE`)."""
    if user_id:
        try:
            return ZoneInfo(services.people.get(user_id).tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return services.settings.zone


def local_today(services: Services, user_id: str | None = None) -> date:
    """Today's date where `user_id` is (the workspace's day when None)."""
    return now().astimezone(user_zone(services, user_id)).date()


def tell_clicker(
    services: Services,
    body: Mapping[str, Any],
    text: str,
    *,
    blocks: list[BlockDict] | None = None,
    replace_original: bool = False,
) -> None:
    """An answer only the person who acted sees, where they acted.

    In a message: through the payload's response URL (only Slack's own; a forged one is never used), else an
    ephemeral message in that channel. From a modal, the App Home or a slash command without a channel: a DM.
    `replace_original` replaces the message the button was in (ephemeral answers only). Best effort: what the
    user did is already saved, so a Slack error here is logged, never shown as a failure.
    """
    user_id = user_id_of(body)
    if not user_id:
        return
    response_url = str(body.get("response_url") or "")
    try:
        if response_url and is_slack_response_url(response_url, services.settings.slack_api_url):
            from slack_sdk.webhook import WebhookClient

            WebhookClient(response_url, timeout=5).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=replace_original
            )
            return
        channel = channel_id_of(body)
        if channel and not in_view(body):
            services.client.chat_postEphemeral(channel=channel, user=user_id, text=text, blocks=blocks)
        else:
            services.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
    except Exception:  # telling is best effort (see docstring); the failure is logged with its type only
        log.warning("could not answer the user privately", exc_info=True)


def hr_clicker(services: Services, body: Mapping[str, Any]) -> str | None:
    """The id of whoever acted when they hold the HR role; otherwise a private refusal and None.

    Buttons are visible to everyone, so every HR action starts here, on the server.
    """
    user_id = user_id_of(body)
    if user_id and services.actor(user_id).is_hr:
        return user_id
    if user_id:
        tell_clicker(services, body, services.translator(user_id)("admin.not_hr"))
    return None


def hr_or_refuse(services: Services, ack: Ack, body: Mapping[str, Any], later: Later) -> str | None:
    """Before the ack: the clicker's id when they hold the HR role; otherwise the ack, a private refusal
    after it, and None. (`hr_clicker` is the same check for work already past its ack.)"""
    user_id = user_id_of(body)
    if user_id and services.actor(user_id).is_hr:
        return user_id
    ack()
    later(lambda: hr_clicker(services, body))  # its private refusal, after the ack
    return None


def decide_then_ack(
    services: Services,
    ack: Ack,
    body: Mapping[str, Any],
    later: Later,
    row_id: int | None,
    work: RowWork[_T],
) -> tuple[int, _T] | None:
    """Run `work(session, row_id)` for the row a button names, in one unit of work, then ack.

    Returns the id and what `work` returned. On a value that names no row (`row_id` None) or a
    `DomainError` from `work` (not found, not allowed...), nothing is kept, the clicker is told why
    privately after the ack, and the result is None.
    """
    try:
        if row_id is None:
            raise NotFound("not_found")
        with services.db.session() as session:
            found = row_id, work(session, row_id)
    except DomainError as exc:
        refusal = error_message(exc, services.translator(user_id_of(body)))  # `exc` is unbound after except
        ack()
        later(lambda: tell_clicker(services, body, refusal))
        return None
    ack()
    return found


def build_home(services: Services, user_id: str) -> dict[str, Any]:
    """The Home tab view for one user: a greeting, then each feature's section (within Slack's 100 blocks).

    A section that would not fit is left out whole (never cut mid-way), logged, and the closing line says
    so and points to `/alumni help`, where every section's command is listed.
    """
    person = services.people.get(user_id)
    tr = Translator(person.language)
    blocks: list[BlockDict] = [
        header(tr("home.greeting", name=person.name or user_id)),
        section(tr("home.intro")),
    ]
    if services.roles.is_hr(user_id):
        blocks.append(context(tr("home.hr_badge")))
    left_out: list[str] = []
    for name, home in _home_sections():
        part = home(services, user_id, tr)
        if not part:
            continue
        if len(blocks) + len(part) + 2 <= VIEW_BLOCK_LIMIT:
            blocks.append(divider())
            blocks.extend(part)
        else:
            left_out.append(name)
    if left_out:
        log.warning("Home tab sections left out (over 100 blocks)", extra={"sections": left_out})
    blocks.append(context(tr("home.sections_left_out" if left_out else "home.help_hint")))
    return {"type": "home", "blocks": blocks}


def _home_sections() -> list[tuple[str, HomeSection]]:
    """(feature name, Home section) in `home_order`."""
    from bot.features import features  # the feature list imports the handlers, which import the kit

    found = [(f.home_order, f.name, f.home) for f in features() if f.home is not None]
    return [(name, home) for _, name, home in sorted(found, key=lambda item: item[0])]


def publish_home(services: Services, *user_ids: str) -> None:
    """Rebuild and publish each user's Home tab (after anything on it changed).

    Best effort: the change itself is saved and the tab is rebuilt when next opened, so a failure here is
    logged, never shown as a failure.
    """
    for user_id in dict.fromkeys(u for u in user_ids if u):
        try:
            services.client.views_publish(user_id=user_id, view=build_home(services, user_id))
        except SlackApiError as exc:
            log.warning("could not publish the Home tab", extra={"error": exc.response.get("error")})
        except Exception:  # see docstring
            log.warning("could not publish the Home tab", exc_info=True)
