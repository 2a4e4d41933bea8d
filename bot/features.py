"""The explicit list of features the app is built from, in registration order (see `bot.kit.Feature`).

The composition root (`bot/app.py`) registers exactly these; the Home tab and `/alumni` read their sections
and subcommands from the same list, so no handler needs to import the root.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.kit import Feature


@cache
def feature_modules() -> tuple[ModuleType, ...]:
    """Every feature's handler module (imported late: handlers import the kit, which reads this list)."""
    from handlers import (
        admin,
        checkins,
        direct_messages,
        directory,
        events,
        home,
        intros,
        invitations,
        news,
        onboarding,
        opportunities,
        privacy,
        referrals,
        stories,
        surveys,
    )

    return (
        admin,
        checkins,
        direct_messages,
        directory,
        events,
        home,
        intros,
        invitations,
        news,
        onboarding,
        opportunities,
        privacy,
        referrals,
        stories,
        surveys,
    )


def _jobs_only_features() -> tuple[Feature, ...]:
    """Features made only of scheduled work (no listeners): the weekly digest and the outbox worker's scopes."""
    from bot.kit import Feature
    from jobs import delivery, digest

    return (
        Feature(name="digest", jobs=tuple(digest.SCHEDULED_JOBS)),
        Feature(name="delivery", scopes=delivery.SCOPES),
    )


@cache
def features() -> tuple[Feature, ...]:
    """Every feature: each handler module's `FEATURE` (in the order of `feature_modules`), then the features
    made only of scheduled work."""
    declared = tuple(module.FEATURE for module in feature_modules())
    return (*declared, *_jobs_only_features())
