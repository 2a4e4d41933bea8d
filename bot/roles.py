"""Roles: who is HR (listed users or a user group) and who may organise events."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient

from bot.config import Settings
from models.actors import Actor

log = logging.getLogger(__name__)

# usergroups.users.list (HR by user group, ALUMNI_HR_USERGROUP) needs usergroups:read; without it Slack
# answers missing_scope and HR silently gets no rights (docs.slack.dev/reference/methods/usergroups.users.list).
SCOPES = ("usergroups:read",)


class Roles:
    """Resolve an `Actor` for a user ID. User-group membership is cached for a few minutes."""

    def __init__(self, settings: Settings, client: WebClient, *, ttl: float = 300) -> None:
        self.settings = settings
        self.client = client
        self.ttl = ttl
        self._group: frozenset[str] = frozenset()
        self._group_expires = 0.0
        self._lock = threading.Lock()

    def _usergroup_members(self) -> frozenset[str]:
        group = self.settings.hr_usergroup
        if not group:
            return frozenset()
        with self._lock:
            if self._group_expires > time.monotonic():
                return self._group
        try:
            users = self.client.usergroups_users_list(usergroup=group).get("users") or []
            members = frozenset(str(u) for u in users)
            expires = time.monotonic() + self.ttl
        except Exception as exc:  # any failure: Slack error, timeout, network
            # Keep the last list Slack gave us (empty before the first success: fail closed), and ask
            # again soon rather than leaving HR without rights for the whole TTL.
            log.warning("usergroups.users.list failed", extra={"error": type(exc).__name__})
            with self._lock:
                members = self._group
            expires = time.monotonic() + 30
        with self._lock:
            self._group, self._group_expires = members, expires
        return members

    def is_hr(self, user_id: str) -> bool:
        return user_id in self.settings.hr_users or user_id in self._usergroup_members()

    def actor(self, user_id: str) -> Actor:
        """The actor with every role this user holds."""
        hr = self.is_hr(user_id)
        return Actor(user_id=user_id, is_hr=hr, is_organizer=hr or user_id in self.settings.organizer_users)

    def hr_user_ids(self) -> frozenset[str]:
        """Everyone with the HR role (for DMs to HR)."""
        return self.settings.hr_users | self._usergroup_members()
