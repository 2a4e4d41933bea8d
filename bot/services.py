"""The services a listener or job uses: settings, database, Slack client, people and roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot.coalesce import Coalescer
from bot.config import Settings
from bot.i18n import Translator, language_of
from bot.people import People, Person, StoredPerson
from bot.roles import Roles
from models.actors import Actor
from models.db import Database


@dataclass
class Services:
    """Everything a unit of work needs, built once per process."""

    settings: Settings
    db: Database
    client: WebClient
    people: People
    roles: Roles
    # Follow-up renders (announcements, Home tabs) coalesced within this process's services.
    follow_ups: Coalescer = field(default_factory=Coalescer)

    def language(self, user_id: str | None) -> str:
        return self.people.language(user_id)

    def translator(self, user_id: str | None) -> Translator:
        return Translator(self.language(user_id))

    def actor(self, user_id: str) -> Actor:
        return self.roles.actor(user_id)

    def __deepcopy__(self, memo: dict[int, Any]) -> Services:
        # Bolt deep-copies the context for lazy listeners (slack_bolt.context.BoltContext.to_copyable) and
        # drops what it cannot copy. The services are shared by the whole process (engine, clients, caches),
        # so a "copy" is the same object.
        return self

    @property
    def workspace_translator(self) -> Translator:
        """For messages to a channel (digests, announcements): `ALUMNI_LANGUAGE`."""
        return Translator(self.settings.language)


def build_services(
    settings: Settings, *, client: WebClient | None = None, db: Database | None = None
) -> Services:
    """Build the services for one process."""
    from bot.slack_client import RateLimitCounter, make_client

    client = client or make_client(settings)
    # Look-ups made before a listener acks (locale, HR group) must not eat Slack's 3-second budget: a short
    # timeout and no retries; on failure they fall back (workspace language, last known HR group).
    lookups = WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=2,
        retry_handlers=[RateLimitCounter()],
        logger=client.logger,
    )
    from bot.metrics import instrument_pool

    database = db or Database(settings.database_url)
    instrument_pool(database.engine)
    return Services(
        settings=settings,
        db=database,
        client=client,
        people=People(
            lookups,
            default_language=settings.language,
            default_tz=settings.timezone,
            stored=stored_person(database, default_language=settings.language),
        ),
        roles=Roles(settings, lookups),
    )


def stored_person(db: Database, *, default_language: str) -> StoredPerson:
    """What the bot stored about a member (`ensure_member` keeps name, language and time zone from Slack), for
    `People` to answer a cache miss without a Slack round trip. None for a user it has no language and time
    zone for, or whose data was erased."""
    from models.member import get_member

    def load(user_id: str) -> Person | None:
        with db.session() as session:
            member = get_member(session, slack_user_id=user_id)
            if member is None or member.erased_at is not None or not member.locale or not member.tz:
                return None
            name = member.display_name or user_id
            return Person(user_id, name, language_of(member.locale, default_language), member.tz)

    return load
