"""Who is acting: the Slack user and the roles the kit resolved for them. Domain rules check these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A person acting through Slack. Roles are resolved by `bot.roles` before a domain call."""

    user_id: str
    is_hr: bool = False
    is_organizer: bool = False

    @property
    def can_organize(self) -> bool:
        return self.is_hr or self.is_organizer
