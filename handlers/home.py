"""App Home: opening the tab publishes it (greeting plus each feature's section: `bot.kit.build_home`)."""

from __future__ import annotations

from typing import Any

from bot.kit import Feature, event, publish_home
from bot.services import Services


def on_home_opened(event: dict[str, Any], services: Services) -> None:
    """Rebuild the Home tab whenever its owner opens it (the Messages and About tabs need nothing)."""
    if event.get("tab", "home") != "home":
        return
    publish_home(services, str(event["user"]))


FEATURE = Feature(name="home", listeners=(event("app_home_opened", on_home_opened),))
