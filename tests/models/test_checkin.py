"""Check-ins, nudge settings and who is due a nudge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.actors import Actor
from models.checkin import (
    CheckIn,
    delete_checkins_of,
    last_checkin,
    last_contact,
    members_due_for_nudge,
    nudge_cadence_days,
    nudge_period,
    record_checkin,
    set_nudges_enabled,
    shared_checkins,
    snooze_nudges,
)
from models.db import Database
from models.errors import ValidationFailed
from models.member import Member, get_member
from models.profile import ProfileInput, give_consent, update_profile
from models.program_settings import DEFAULTS
from models.timeutil import freeze

ANN = Actor("UANN")
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def consented(db: Database, user_id: str, *, tz: str | None = "Asia/Tokyo") -> None:
    with db.session() as session:
        give_consent(session, actor=Actor(user_id), tz=tz)


def test_a_check_in_updates_the_profile_and_keeps_the_availability_of_that_moment(db: Database) -> None:
    freeze(T0)
    consented(db, ANN.user_id)
    with db.session() as session:
        _checkin, member = record_checkin(
            session,
            actor=ANN,
            data=ProfileInput(current_company="Globex", skills="Go", availability=["mentoring"]),
            whats_new="Started at Globex",
            share=True,
        )
        assert member.current_company == "Globex" and member.last_checkin_at == T0
    freeze(T0 + timedelta(days=1))
    with db.session() as session:
        update_profile(session, actor=ANN, data=ProfileInput(availability=["rehire"]))
    with db.session() as session:
        member = get_member(session, slack_user_id=ANN.user_id)
        assert member is not None and member.id is not None
        stored = last_checkin(session, member_id=member.id)
        assert stored is not None
        assert (stored.text, stored.shared, stored.availability()) == (
            "Started at Globex",
            True,
            ["mentoring"],
        )
        assert member.availability() == ["rehire"]


def test_bad_check_ins_save_nothing(db: Database) -> None:
    with db.session() as session:
        update_profile(session, actor=ANN, data=ProfileInput(current_company="Acme"))
    bad = [
        (dict(whats_new="x" * 3000, share=False), {"whats_new": ("too_long", {"max": 2000})}),
        (dict(whats_new="", share=True), "whats_new"),
        (dict(whats_new="hello", share=True), "share"),  # not consented: cannot share
    ]
    for kwargs, expected in bad:
        with pytest.raises(ValidationFailed) as caught, db.session() as session:
            record_checkin(
                session,
                actor=ANN,
                data=ProfileInput(current_company="Changed", joined_year="2020", left_year="2019"),
                **kwargs,  # type: ignore[arg-type]
            )
        errors = caught.value.errors
        assert "left_year" in errors
        if isinstance(expected, dict):
            assert expected.items() <= errors.items()
        else:
            assert expected in errors
    with db.session() as session:
        member = get_member(session, slack_user_id=ANN.user_id)
        assert member is not None and member.current_company == "Acme" and member.last_checkin_at is None
        assert session.exec(select(CheckIn)).all() == []


def test_nudge_periods_follow_the_cadence_and_snoozes() -> None:
    member = Member(slack_user_id="U1", consented_at=T0)
    assert nudge_period(member, at=T0 + timedelta(days=89), cadence_days=90) is None
    first = nudge_period(member, at=T0 + timedelta(days=90), cadence_days=90)
    assert first == nudge_period(member, at=T0 + timedelta(days=170), cadence_days=90)
    assert nudge_period(member, at=T0 + timedelta(days=180), cadence_days=90) not in (None, first)
    member.nudge_snoozed_until = T0 + timedelta(days=120)
    assert nudge_period(member, at=T0 + timedelta(days=100), cadence_days=90) is None
    after = nudge_period(member, at=T0 + timedelta(days=121), cadence_days=90)
    assert after not in (None, first)
    member.last_checkin_at = T0 + timedelta(days=150)
    assert last_contact(member) == T0 + timedelta(days=150)
    assert nudge_period(member, at=T0 + timedelta(days=200), cadence_days=90) is None


def test_who_is_due_a_nudge(db: Database) -> None:
    freeze(T0)
    for user in ("UDUE", "USNOOZED", "UOFF", "ULONDON", "URECENT"):
        consented(db, user, tz="Europe/London" if user == "ULONDON" else "Asia/Tokyo")
    with db.session() as session:
        update_profile(session, actor=Actor("UNOCONSENT"), data=ProfileInput(skills="x"))
        set_nudges_enabled(session, actor=Actor("UOFF"), enabled=False)
    freeze(T0 + timedelta(days=80))
    with db.session() as session:
        snooze_nudges(session, actor=Actor("USNOOZED"))  # until day 110
        record_checkin(session, actor=Actor("URECENT"), data=ProfileInput(), whats_new="hi", share=False)
    at = T0 + timedelta(days=91)
    with db.session() as session:
        due = members_due_for_nudge(session, at=at, cadence_days=90, zones=["Asia/Tokyo"])
        assert [d.member.slack_user_id for d in due] == ["UDUE"]
        due = members_due_for_nudge(session, at=at, cadence_days=90, zones=["Asia/Tokyo", "Europe/London"])
        assert [d.member.slack_user_id for d in due] == ["UDUE", "ULONDON"]
        assert members_due_for_nudge(session, at=at, cadence_days=120, zones=["Asia/Tokyo"]) == []
        assert nudge_cadence_days(session, defaults=DEFAULTS) == 90


def test_shared_check_ins_of_the_week_and_erasure(db: Database) -> None:
    freeze(T0)
    consented(db, ANN.user_id)
    consented(db, "UBEN")
    with db.session() as session:
        record_checkin(session, actor=ANN, data=ProfileInput(), whats_new="shared", share=True)
        record_checkin(session, actor=Actor("UBEN"), data=ProfileInput(), whats_new="private", share=False)
    with db.session() as session:
        rows, total = shared_checkins(session, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
        assert [(c.text, m.slack_user_id) for c, m in rows] == [("shared", ANN.user_id)] and total == 1
        member = get_member(session, slack_user_id=ANN.user_id)
        assert member is not None and member.id is not None
        assert delete_checkins_of(session, member_id=member.id) == 1
    with db.session() as session:
        assert [c.text for c in session.exec(select(CheckIn)).all()] == ["private"]
