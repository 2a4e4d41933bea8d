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
        onboarding,
        opportunities,
        privacy,
        referrals,
        surveys,
    )

    return (
        admin,
        checkins,
        direct_messages,
        directory,
        events,
        home,
        onboarding,
        opportunities,
        privacy,
        referrals,
        surveys,
    )


@cache
def features() -> tuple[Feature, ...]:
    """Each feature module's `FEATURE`, in the order of `feature_modules`."""
    return tuple(module.FEATURE for module in feature_modules() if hasattr(module, "FEATURE"))
