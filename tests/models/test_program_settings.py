"""Program settings live in the database, override the defaults column by column, and only HR changes them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from models.actors import Actor
from models.audit import AuditLog
from models.db import Database
from models.errors import PermissionDenied, ValidationFailed
from models.program_settings import (
    DEFAULTS,
    ProgramSettings,
    ProgramSettingsRow,
    get_program_settings,
    settings_as_form,
    update_program_settings,
)

HR = Actor("U0HR00001", is_hr=True)


def test_defaults_until_hr_changes_something(sqlite_db: Database) -> None:
    with sqlite_db.session() as session:
        assert get_program_settings(session, defaults=DEFAULTS) == DEFAULTS
        custom = ProgramSettings(digest_day="wed", retention_days=400)
        assert get_program_settings(session, defaults=custom) == custom


def test_hr_changes_are_stored_audited_and_read_afresh(db: Database) -> None:
    with db.session() as session:
        update_program_settings(
            session,
            actor=HR,
            changes={"digest_day": "Friday", "digest_time": "7:05", "goal_rehires": "10"},
            defaults=DEFAULTS,
        )
    with db.session() as session:
        settings = get_program_settings(session, defaults=DEFAULTS)
        assert (settings.digest_day, settings.digest_time, settings.digest_hour, settings.digest_minute) == (
            "fri",
            "07:05",
            7,
            5,
        )
        assert (
            settings.nudge_cadence_days == DEFAULTS.nudge_cadence_days
        )  # untouched columns keep the default
        assert settings.goals() == {"rehires": 10}
        audit = session.exec(select(AuditLog).where(AuditLog.action == "admin.settings")).one()
        assert "goal_rehires" in audit.detail and audit.actor == HR.user_id
    with db.session() as session:
        update_program_settings(
            session, actor=HR, changes={"digest_time": ""}, defaults=DEFAULTS
        )  # empty resets to default
    with db.session() as session:
        assert get_program_settings(session, defaults=DEFAULTS).digest_time == DEFAULTS.digest_time


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"digest_day": "someday"}, "digest_day"),
        ({"digest_time": "24:00"}, "digest_time"),
        ({"nudge_cadence_days": "0"}, "nudge_cadence_days"),
        ({"retention_days": "ten"}, "retention_days"),
        ({"reminder_offsets_minutes": "60,-5"}, "reminder_offsets_minutes"),
        ({"reminder_offsets_minutes": "1,2,3,4,5,6"}, "reminder_offsets_minutes"),
        ({"unknown": "1"}, "unknown"),
    ],
)
def test_invalid_values_are_refused_and_nothing_is_stored(
    sqlite_db: Database, changes: dict[str, str], field: str
) -> None:
    with sqlite_db.session() as session, pytest.raises(ValidationFailed) as exc:
        update_program_settings(session, actor=HR, changes=changes, defaults=DEFAULTS)
    assert field in exc.value.errors
    with sqlite_db.session() as session:
        assert get_program_settings(session, defaults=DEFAULTS) == DEFAULTS


def test_members_cannot_change_settings(sqlite_db: Database) -> None:
    with sqlite_db.session() as session, pytest.raises(PermissionDenied):
        update_program_settings(
            session, actor=Actor("U0ALICE01"), changes={"retention_days": "30"}, defaults=DEFAULTS
        )


def test_saving_one_field_keeps_the_environment_for_the_others(db: Database) -> None:
    """The form submits every field pre-filled with the effective value; only the changed one is stored."""
    from_env = replace(DEFAULTS, reminder_offsets_minutes=(180, 15))
    with db.session() as session:
        form = settings_as_form(get_program_settings(session, defaults=from_env))
        assert form["reminder_offsets_minutes"] == "180,15"
        update_program_settings(
            session, actor=HR, changes={**form, "retention_days": "400"}, defaults=from_env
        )
    with db.session() as session:
        row = session.get(ProgramSettingsRow, 1)
        assert row is not None and row.retention_days == 400
        assert (
            row.reminder_offsets is None and row.digest_day is None
        )  # not stored: the environment still rules
        later_env = replace(DEFAULTS, reminder_offsets_minutes=(120,))
        assert get_program_settings(session, defaults=later_env).reminder_offsets_minutes == (120,)
        audit = session.exec(select(AuditLog).where(AuditLog.action == "admin.settings")).one()
        assert "retention_days" in audit.detail and "reminder_offsets" not in audit.detail
