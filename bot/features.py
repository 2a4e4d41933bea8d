"""The explicit list of features the app is built from (one handler module each), in registration order.

The composition root (`bot/app.py`) registers exactly these; the Home tab and `/alumni` read their sections
and subcommands from the same list, so no handler needs to import the root.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType


@cache
def feature_modules() -> tuple[ModuleType, ...]:
    """Every feature's handler module (imported late: handlers import this module back)."""
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
    )
