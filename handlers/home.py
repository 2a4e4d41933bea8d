"""App Home: a greeting plus the sections each feature contributes.

A handler module contributes to the Home tab by defining `home_section(services, user_id, tr)` returning
blocks, and `HOME_ORDER` (lower comes first). `publish_home` rebuilds and publishes the whole tab.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.blocks.common import VIEW_BLOCK_LIMIT, context, divider, header, section, to_dicts
from bot.i18n import Translator
from bot.registry import Registry
from bot.services import Services

log = logging.getLogger(__name__)


def _sections() -> list[Any]:
    from bot.features import feature_modules

    modules = [m for m in feature_modules() if hasattr(m, "home_section")]
    return sorted(modules, key=lambda m: getattr(m, "HOME_ORDER", 100))


def build_home(services: Services, user_id: str) -> dict[str, Any]:
    """The Home tab view for one user (within Slack's 100-block limit)."""
    person = services.people.get(user_id)
    tr = Translator(person.language)
    blocks: list[Block | dict[str, Any]] = [
        header(tr("home.greeting", name=person.name or user_id)),
        section(tr("home.intro")),
    ]
    if services.roles.is_hr(user_id):
        blocks.append(context(tr("home.hr_badge")))
    for module in _sections():
        part = module.home_section(services, user_id, tr)
        if part and len(blocks) + len(part) + 2 <= VIEW_BLOCK_LIMIT:
            blocks.append(divider())
            blocks.extend(part)
    blocks.append(context(tr("home.help_hint")))
    return {"type": "home", "blocks": to_dicts(blocks)}


def publish_home(services: Services, user_id: str) -> None:
    """Rebuild and publish a user's Home tab (after anything on it changed).

    Best effort: the change itself is saved, so a Slack error here is logged, not shown as a failure.
    """
    try:
        services.client.views_publish(user_id=user_id, view=build_home(services, user_id))
    except SlackApiError as exc:
        log.warning("could not publish the Home tab", extra={"error": exc.response.get("error")})


def register(registry: Registry) -> None:
    @registry.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(registry.services, str(event["user"]))
