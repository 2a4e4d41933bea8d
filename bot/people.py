"""Who a Slack user is to the bot: their language, time zone and name, looked up once and cached."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import language_of

log = logging.getLogger(__name__)
FALLBACK_TTL = 30.0


@dataclass(frozen=True)
class Person:
    """What the bot needs to address someone: name, locale-derived language, time zone."""

    user_id: str
    name: str
    language: str
    tz: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False


# What the bot last stored about a user (their member row), or None when it knows too little.
StoredPerson = Callable[[str], "Person | None"]


class People:
    """A TTL cache over `users.info` (with `include_locale`). Failures fall back to the workspace defaults.

    With `stored`, a miss is answered from what the bot stored about the member (name, language, time zone)
    and `users.info` refreshes the cache in the background: a listener deciding before its ack does not wait
    for a Slack round trip when a stored value will do. Only a user the bot knows nothing about is looked up
    at once.
    """

    def __init__(
        self,
        client: WebClient,
        *,
        default_language: str,
        default_tz: str,
        ttl: float = 3600,
        stored: StoredPerson | None = None,
    ) -> None:
        self.client = client
        self.default_language = default_language
        self.default_tz = default_tz
        self.ttl = ttl
        self.stored = stored
        self._cache: dict[str, tuple[float, Person]] = {}
        self._lock = threading.Lock()
        self._refreshing: set[str] = set()
        self._refresher: ThreadPoolExecutor | None = None

    def get(self, user_id: str) -> Person:
        """The person behind a user ID (cached for `ttl` seconds)."""
        with self._lock:
            hit = self._cache.get(user_id)
            if hit and hit[0] > time.monotonic():
                return hit[1]
        known = self._stored(user_id)
        if known is not None:
            with self._lock:  # until the refresh lands (or, if Slack fails, for a short while)
                self._cache[user_id] = (time.monotonic() + FALLBACK_TTL, known)
            self._refresh_later(user_id)
            return known
        person, found = self._fetch(user_id)
        # A fallback (Slack unreachable) is kept only briefly, so one failure does not pin a member to the
        # workspace's language and time zone for the whole TTL.
        ttl = self.ttl if found else FALLBACK_TTL
        with self._lock:
            self._cache[user_id] = (time.monotonic() + ttl, person)
        return person

    def language(self, user_id: str | None) -> str:
        """The catalog language for a user (or the workspace default when unknown)."""
        return self.get(user_id).language if user_id else self.default_language

    def remember(self, person: Person) -> None:
        """Seed the cache (for example from a `users.list` page)."""
        with self._lock:
            self._cache[person.user_id] = (time.monotonic() + self.ttl, person)

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._cache.pop(user_id, None)

    def _stored(self, user_id: str) -> Person | None:
        if self.stored is None:
            return None
        try:
            return self.stored(user_id)
        except Exception:  # the database is unreachable: ask Slack instead
            log.warning("stored person unreadable", exc_info=True)
            return None

    def _refresh_later(self, user_id: str) -> None:
        """Look the user up in Slack off the request's thread (once at a time per user)."""
        with self._lock:
            if user_id in self._refreshing:
                return
            self._refreshing.add(user_id)
            if self._refresher is None:
                self._refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="people-refresh")
            refresher = self._refresher
        try:
            refresher.submit(self._refresh, user_id)
        except RuntimeError:  # shutting down: the stored value stands until it expires
            with self._lock:
                self._refreshing.discard(user_id)

    def _refresh(self, user_id: str) -> None:
        try:
            person, found = self._fetch(user_id)
            if found:
                with self._lock:
                    self._cache[user_id] = (time.monotonic() + self.ttl, person)
        finally:
            with self._lock:
                self._refreshing.discard(user_id)

    def _fetch(self, user_id: str) -> tuple[Person, bool]:
        """The person from `users.info`, and whether Slack answered (False: workspace defaults)."""
        fallback = Person(user_id, user_id, self.default_language, self.default_tz)
        try:
            response = self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            log.warning("users.info failed", extra={"error": exc.response.get("error")})
            return fallback, False
        except Exception:  # network trouble must not break the user's request; defaults are good enough
            log.warning("users.info unreachable", exc_info=True)
            return fallback, False
        return person_from_user(response["user"], self.default_language, self.default_tz), True


def person_from_user(user: dict[str, object], default_language: str, default_tz: str) -> Person:
    """Build a Person from a Slack user object (`users.info` or `users.list`)."""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    name = str(
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or ""
    )
    locale = user.get("locale")
    return Person(
        user_id=str(user["id"]),
        name=name,
        language=language_of(str(locale) if locale else None, default_language),
        tz=str(user.get("tz") or default_tz),
        email=str(profile["email"]) if profile.get("email") else None,
        is_bot=bool(user.get("is_bot")),
        deleted=bool(user.get("deleted")),
    )
