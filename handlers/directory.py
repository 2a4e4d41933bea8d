"""`/alumni`: the directory entry point. `help` here; other modules add subcommands.

A handler module adds `/alumni <word>` subcommands by defining `ALUMNI_SUBCOMMANDS: dict[str, Subcommand]`
(for example `{"privacy": on_privacy}`); each is called with the services, Bolt's `ack`, the command payload
and the rest of the text after the word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.mrkdwn import escape
from bot.registry import Registry
from bot.services import Services

COMMAND = "/alumni"
HELP_WORDS = {"", "help", "ヘルプ"}

Subcommand = Callable[[Services, Ack, dict[str, Any], str], None]


def subcommands() -> dict[str, Subcommand]:
    """Every `/alumni` subcommand contributed by handler modules."""
    from bot.app import handler_modules

    found: dict[str, Subcommand] = {}
    for module in handler_modules():
        found.update(getattr(module, "ALUMNI_SUBCOMMANDS", {}))
    return found


def register(registry: Registry) -> None:
    @registry.command(
        COMMAND, description_key="directory.command_description", usage_hint_key="directory.usage_hint"
    )
    def on_alumni(ack: Ack, command: dict[str, Any]) -> None:
        svc = registry.services
        tr = svc.translator(command.get("user_id"))
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        if word.lower() in HELP_WORDS:
            ack(response_type="ephemeral", text=tr("directory.help"))
            return
        handler = subcommands().get(word.lower())
        if handler is not None:
            handler(svc, ack, command, rest.strip())
            return
        ack(
            response_type="ephemeral",
            text=tr("common.unknown_subcommand", text=escape(text[:50]), command=COMMAND),
        )
