"""Time helpers: every instant is an aware UTC datetime. `now()` can be frozen by tests and `--at`."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current instant in UTC (frozen when a job runs `--at` an instant, or in tests)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Make a datetime aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def frozen() -> datetime | None:
    """The instant `now()` is frozen at, if any (so a caller can restore it after freezing its own)."""
    return _frozen


def freeze(value: datetime | None) -> None:
    """Freeze `now()` for the whole process (`None` thaws it). Used by `jobs run --at` and tests."""
    global _frozen
    _frozen = as_utc(value) if value is not None else None
