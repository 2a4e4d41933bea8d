"""`/alumni`: the directory entry point (`help` for now; search and profile come with profiles)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot.mrkdwn import escape
from bot.registry import Registry

COMMAND = "/alumni"


def register(registry: Registry) -> None:
    @registry.command(
        COMMAND, description_key="directory.command_description", usage_hint_key="directory.usage_hint"
    )
    def on_alumni(ack: Ack, command: dict[str, Any]) -> None:
        tr = registry.services.translator(command.get("user_id"))
        text = (command.get("text") or "").strip()
        if text.lower() in {"", "help", "ヘルプ"}:
            ack(response_type="ephemeral", text=tr("directory.help"))
            return
        ack(
            response_type="ephemeral",
            text=tr("common.unknown_subcommand", text=escape(text[:50]), command=COMMAND),
        )
