"""Program settings HR changes in Slack (digest day and time, nudge cadence, reminder offsets, retention,
goals). Stored in one database row; a `None` column means "keep the default", where the defaults are what the
environment sets (`bot.config.Settings.program_defaults()`). `get_program_settings` is the one place that
puts the database values over those defaults; jobs call it afresh for each run, so a change applies from the
next run on. Saving the form stores only the fields HR changed, so the environment keeps applying to the rest.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel

from models.actors import Actor
from models.audit import record
from models.errors import FieldErrors, PermissionDenied
from models.timeutil import now
from models.types import UTCDateTime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SETTINGS_ROW_ID = 1


@dataclass(frozen=True)
class ProgramSettings:
    """The effective program settings (database values over the defaults)."""

    digest_day: str = "mon"  # one of WEEKDAYS
    digest_time: str = "09:00"  # HH:MM in ALUMNI_TIMEZONE
    nudge_cadence_days: int = 90  # days without a check-in before a nudge
    reminder_offsets_minutes: tuple[int, ...] = (1440, 60)  # event reminders before the start
    retention_days: int = 365  # candidate contact data and unmatched roster rows
    goal_members: int = 0  # consented members by the end of the year (0: no goal)
    goal_hires: int = 0  # referral hires this year
    goal_rehires: int = 0  # rehires this year
    goal_events: int = 0  # events held this year

    @property
    def digest_hour(self) -> int:
        return int(self.digest_time.split(":")[0])

    @property
    def digest_minute(self) -> int:
        return int(self.digest_time.split(":")[1])

    def goals(self) -> dict[str, int]:
        """The goals HR set (only those above zero), by name."""
        names = ("members", "hires", "rehires", "events")
        return {n: int(getattr(self, f"goal_{n}")) for n in names if int(getattr(self, f"goal_{n}")) > 0}


DEFAULTS = ProgramSettings()
# Bounds that keep a typo from breaking the program (a nudge every 0 days, a 100-year retention...).
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "nudge_cadence_days": (7, 730),
    "retention_days": (30, 3650),
    "goal_members": (0, 1_000_000),
    "goal_hires": (0, 100_000),
    "goal_rehires": (0, 100_000),
    "goal_events": (0, 10_000),
}
# Reminder offsets: the same bounds for HR's form and ALUMNI_EVENT_REMINDER_OFFSETS (bot/config.py).
MAX_OFFSETS = 5
MAX_OFFSET_MINUTES = 60 * 24 * 30


class ProgramSettingsRow(SQLModel, table=True):
    """The one row of settings HR changed (id 1). `None` keeps the default."""

    __tablename__ = "program_settings"

    id: int | None = Field(default=None, primary_key=True)
    digest_day: str | None = Field(default=None, max_length=3)
    digest_time: str | None = Field(default=None, max_length=5)
    nudge_cadence_days: int | None = None
    reminder_offsets: str | None = Field(default=None, max_length=100)  # "1440,60"
    retention_days: int | None = None
    goal_members: int | None = None
    goal_hires: int | None = None
    goal_rehires: int | None = None
    goal_events: int | None = None
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, max_length=64)


def _parse_offsets(raw: str) -> tuple[int, ...]:
    return tuple(int(p) for p in raw.replace(" ", "").split(",") if p)


def get_program_settings(session: Session, *, defaults: ProgramSettings) -> ProgramSettings:
    """The effective settings: what HR stored, falling back to `defaults` column by column.

    `defaults` is `Settings.program_defaults()` (the environment over the built-in `DEFAULTS`); it is
    required so that no caller can forget the environment."""
    row = session.get(ProgramSettingsRow, SETTINGS_ROW_ID)
    if row is None:
        return defaults
    changes: dict[str, Any] = {}
    for name in (
        "digest_day",
        "digest_time",
        "nudge_cadence_days",
        "retention_days",
        "goal_members",
        "goal_hires",
        "goal_rehires",
        "goal_events",
    ):
        value = getattr(row, name)
        if value is not None:
            changes[name] = value
    if row.reminder_offsets is not None:
        # Validated on the way in; a hand-edited bad value keeps the default.
        with contextlib.suppress(ValueError):
            changes["reminder_offsets_minutes"] = _parse_offsets(row.reminder_offsets)
    return replace(defaults, **changes)


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise raw form values ({name: str|int}); raises ValidationFailed per field.

    Returns column values for `ProgramSettingsRow` (an empty string resets a setting to its default).
    """
    errs = FieldErrors()
    out: dict[str, Any] = {}
    known = {f.name for f in fields(ProgramSettings)}
    for name, raw in changes.items():
        if name not in known:
            errs.add(name, "invalid")
            continue
        text = str(raw).strip() if raw is not None else ""
        column = "reminder_offsets" if name == "reminder_offsets_minutes" else name
        if text == "":
            out[column] = None
            continue
        if name == "digest_day":
            if text.lower()[:3] not in WEEKDAYS:
                errs.add(name, "invalid")
            else:
                out[column] = text.lower()[:3]
        elif name == "digest_time":
            match = _TIME.match(text)
            if not match:
                errs.add(name, "admin.errors.invalid_time")
            else:
                out[column] = f"{int(match.group(1)):02d}:{match.group(2)}"
        elif name == "reminder_offsets_minutes":
            try:
                offsets = _parse_offsets(text)
            except ValueError:
                errs.add(name, "admin.errors.invalid_offsets", max=MAX_OFFSETS)
                continue
            if (
                not offsets
                or len(offsets) > MAX_OFFSETS
                or any(o <= 0 or o > MAX_OFFSET_MINUTES for o in offsets)
            ):
                errs.add(name, "admin.errors.invalid_offsets", max=MAX_OFFSETS)
            else:
                out[column] = ",".join(str(o) for o in sorted(set(offsets), reverse=True))
        else:
            low, high = _INT_BOUNDS[name]
            try:
                number = int(text)
            except ValueError:
                errs.add(name, "admin.errors.out_of_range", min=low, max=high)
                continue
            if not low <= number <= high:
                errs.add(name, "admin.errors.out_of_range", min=low, max=high)
            else:
                out[column] = number
    errs.raise_if_any()
    return out


def _as_columns(settings: ProgramSettings) -> dict[str, Any]:
    """Effective settings in the database's column form (for comparing with submitted values)."""
    data = asdict(settings)
    data["reminder_offsets"] = ",".join(str(o) for o in data.pop("reminder_offsets_minutes"))
    return data


def update_program_settings(
    session: Session, *, actor: Actor, changes: dict[str, Any], defaults: ProgramSettings
) -> ProgramSettings:
    """HR changes settings. Only HR may; every change is audited. Returns the new effective settings.

    The form is pre-filled with the effective values, so a field submitted unchanged is not stored: the
    environment (`defaults`) keeps applying to it, and only what HR actually changed goes into the row."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    effective = _as_columns(get_program_settings(session, defaults=defaults))
    columns = {
        column: value
        for column, value in validate_changes(changes).items()
        if value is None or value != effective[column]
    }
    row = session.get(ProgramSettingsRow, SETTINGS_ROW_ID)
    if row is None:
        row = ProgramSettingsRow(id=SETTINGS_ROW_ID)
        session.add(row)
    before = {k: getattr(row, k) for k in columns}
    changed = {k: v for k, v in columns.items() if before.get(k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    if changed:
        row.updated_at = now()
        row.updated_by = actor.user_id
        record(
            session,
            actor=actor.user_id,
            action="admin.settings",
            target="program_settings",
            changed={k: {"from": before[k], "to": v} for k, v in changed.items()},
        )
    session.flush()
    return get_program_settings(session, defaults=defaults)


def settings_as_form(settings: ProgramSettings) -> dict[str, str]:
    """Current values as the strings the settings form shows."""
    data = asdict(settings)
    data["reminder_offsets_minutes"] = ",".join(str(o) for o in settings.reminder_offsets_minutes)
    return {k: str(v) for k, v in data.items()}
