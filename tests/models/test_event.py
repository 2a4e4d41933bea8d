"""Event domain rules on SQLite and PostgreSQL: validation, permissions, RSVP with capacity and waitlist,
edits, cancellation, attendance, feedback, and capacity under simultaneous clicks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from models import event as ev
from models.actors import Actor
from models.db import Database
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.outbox import CANCELLED, PENDING, OutboxMessage, enqueue
from models.timeutil import freeze, now

ORG = Actor("U0ORG0001", is_organizer=True)
OTHER_ORG = Actor("U0ORG0002", is_organizer=True)
HR = Actor("U0HR00001", is_hr=True)
MEMBERS = [Actor(f"U0MEM{i:04d}") for i in range(12)]
A, B, C, D = MEMBERS[:4]


def _data(**over: Any) -> ev.EventInput:
    start = over.pop("starts_at", now() + timedelta(days=2))
    values: dict[str, Any] = {
        "title": "OB/OG meetup",
        "description": "Drinks",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2) if start is not None else None,
        "tz": "Asia/Tokyo",
        "place": "Shibuya",
        "online_url": "",
        "capacity": None,
    }
    values.update(over)
    return ev.EventInput(**values)


def _create(db: Database, **over: Any) -> int:
    with db.session() as session:
        event = ev.create_event(session, actor=ORG, data=_data(**over))
        assert event.id is not None
        return event.id


def _rsvp(db: Database, actor: Actor, event_id: int, answer: str) -> ev.RsvpOutcome:
    with db.session() as session:
        return ev.rsvp(session, actor=actor, event_id=event_id, answer=answer)


def _answers(db: Database, event_id: int, answer: str) -> list[str]:
    with db.session() as session:
        return ev.user_ids_with_answer(session, event_id=event_id, answers=[answer])


def _count_events(db: Database) -> int:
    with db.session() as session:
        return len(session.exec(select(ev.Event)).all())


def test_create_validates_every_field_and_stores_nothing(db: Database) -> None:
    start = now() + timedelta(days=1)
    bad = _data(
        title=" ",
        description="x" * 2001,
        starts_at=now() - timedelta(minutes=1),
        ends_at=now() - timedelta(hours=1),
        online_url="ftp://files.example",
        capacity=0,
        place="p" * 201,
    )
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        ev.create_event(session, actor=ORG, data=bad)
    assert caught.value.errors == {
        "title": ("required", {}),
        "description": ("too_long", {"max": 2000}),
        "place": ("too_long", {"max": 200}),
        "online_url": ("invalid_url", {}),
        "capacity": ("events.errors.capacity_min", {}),
        "starts_at": ("events.errors.start_past", {}),
        "ends_at": ("events.errors.end_before_start", {}),
    }
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        ev.create_event(session, actor=ORG, data=_data(starts_at=start, ends_at=start + timedelta(days=15)))
    assert caught.value.errors == {"ends_at": ("events.errors.too_long_duration", {"days": 14})}
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        ev.create_event(session, actor=ORG, data=_data(starts_at=None, ends_at=None, title="t" * 101))
    assert set(caught.value.errors) == {"title", "starts_at", "ends_at"}
    assert _count_events(db) == 0
    event_id = _create(db, online_url=" https://meet.example/x ", capacity=1)
    with db.session() as session:
        event = ev.get_event(session, event_id=event_id)
        assert event.online_url == "https://meet.example/x" and event.starts_at.tzinfo is not None


def test_only_organisers_and_hr_create_and_only_the_organiser_or_hr_manage(db: Database) -> None:
    with pytest.raises(PermissionDenied), db.session() as session:
        ev.create_event(session, actor=A, data=_data())
    assert _count_events(db) == 0
    event_id = _create(db)
    for actor in (A, OTHER_ORG):
        with pytest.raises(PermissionDenied), db.session() as session:
            ev.update_event(session, actor=actor, event_id=event_id, data=_data(title="Hijacked"))
        with pytest.raises(PermissionDenied), db.session() as session:
            ev.cancel_event(session, actor=actor, event_id=event_id)
        with pytest.raises(PermissionDenied), db.session() as session:
            ev.feedback_summary(session, actor=actor, event_id=event_id)
    with db.session() as session:
        event = ev.get_event(session, event_id=event_id)
        assert event.title == "OB/OG meetup" and event.status == ev.SCHEDULED
        ev.update_event(
            session,
            actor=HR,
            event_id=event_id,
            data=_data(title="Renamed", starts_at=event.starts_at, ends_at=event.ends_at),
        )
    with pytest.raises(NotFound), db.session() as session:
        ev.cancel_event(session, actor=HR, event_id=9999)


def test_rsvp_is_idempotent_and_the_waitlist_moves_up_in_order(db: Database) -> None:
    event_id = _create(db, capacity=2)
    assert _rsvp(db, A, event_id, ev.GOING).changed
    again = _rsvp(db, A, event_id, ev.GOING)
    assert not again.changed and again.answer == ev.GOING
    assert _rsvp(db, B, event_id, ev.GOING).answer == ev.GOING
    assert _rsvp(db, C, event_id, ev.GOING).answer == ev.WAITLIST
    assert _rsvp(db, D, event_id, ev.GOING).answer == ev.WAITLIST
    assert not _rsvp(db, C, event_id, ev.GOING).changed  # a waitlisted member keeps their place
    with db.session() as session:
        counts = ev.rsvp_counts(session, event_ids=[event_id])[event_id]
    assert counts == ev.Counts(going=2, waitlist=2)
    assert _answers(db, event_id, ev.WAITLIST) == [C.user_id, D.user_id]

    moved = _rsvp(db, A, event_id, ev.MAYBE)
    assert moved.promoted == [C.user_id]
    assert _answers(db, event_id, ev.GOING) == [B.user_id, C.user_id]
    assert _rsvp(db, D, event_id, ev.NOT_GOING).promoted == []  # leaving the waitlist frees no seat
    assert _rsvp(db, B, event_id, ev.NOT_GOING).promoted == []  # nobody is waiting any more
    assert _rsvp(db, A, event_id, ev.GOING).answer == ev.GOING
    with pytest.raises(DomainError) as caught, db.session() as session:
        ev.rsvp(session, actor=A, event_id=event_id, answer=ev.WAITLIST)
    assert caught.value.code == "events.errors.invalid_answer"
    with db.session() as session:
        assert ev.answers_of(session, user_id=A.user_id, event_ids=[event_id]) == {event_id: ev.GOING}


def test_rsvp_closes_at_the_start_and_when_cancelled(db: Database) -> None:
    event_id = _create(db)
    _rsvp(db, A, event_id, ev.GOING)
    with db.session() as session:
        start = ev.get_event(session, event_id=event_id).starts_at
    freeze(start)
    with pytest.raises(DomainError) as caught:
        _rsvp(db, A, event_id, ev.NOT_GOING)
    assert caught.value.code == "events.errors.rsvp_closed"
    freeze(None)
    with db.session() as session:
        result = ev.cancel_event(session, actor=ORG, event_id=event_id)
    assert result.notify == [A.user_id]
    with pytest.raises(DomainError) as caught:
        _rsvp(db, B, event_id, ev.GOING)
    assert caught.value.code == "events.errors.cancelled"


def test_edit_reports_time_changes_promotes_on_more_capacity_and_withdraws_stale_reminders(
    db: Database,
) -> None:
    event_id = _create(db, capacity=1)
    _rsvp(db, A, event_id, ev.GOING)
    _rsvp(db, B, event_id, ev.GOING)  # waitlisted
    with db.session() as session:
        event = ev.get_event(session, event_id=event_id)
        start, end = event.starts_at, event.ends_at
        enqueue(
            session, purpose=ev.PURPOSE_REMINDER, recipient=A.user_id, period=f"e{event_id}@1/60m", message={}
        )
        enqueue(
            session,
            purpose=ev.PURPOSE_REMINDER,
            recipient=A.user_id,
            period=f"e{event_id}1@1/60m",
            message={},
        )
    with db.session() as session:
        same_time = ev.update_event(
            session,
            actor=ORG,
            event_id=event_id,
            data=_data(title="New title", starts_at=start, ends_at=end, capacity=2),
        )
    assert not same_time.time_changed and same_time.notify == [] and same_time.promoted == [B.user_id]
    with db.session() as session:
        statuses = [r.status for r in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]  # type: ignore[arg-type]
    assert statuses == [PENDING, PENDING]
    with db.session() as session:
        moved = ev.update_event(
            session,
            actor=ORG,
            event_id=event_id,
            data=_data(starts_at=start + timedelta(hours=3), ends_at=end + timedelta(hours=3), capacity=2),
        )
        assert moved.time_changed and sorted(moved.notify) == sorted([A.user_id, B.user_id])
        assert moved.event.sequence == 2
    with db.session() as session:
        statuses = [r.status for r in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]  # type: ignore[arg-type]
    assert statuses == [CANCELLED, PENDING]  # only this event's (e1@… vs e11@…) pending messages
    with pytest.raises(ValidationFailed), db.session() as session:
        ev.update_event(
            session, actor=ORG, event_id=event_id, data=_data(starts_at=now() - timedelta(hours=1))
        )


def test_cancel_tells_going_and_waitlisted_once(db: Database) -> None:
    event_id = _create(db, capacity=1)
    _rsvp(db, A, event_id, ev.GOING)
    _rsvp(db, B, event_id, ev.GOING)
    _rsvp(db, C, event_id, ev.MAYBE)
    with db.session() as session:
        first = ev.cancel_event(session, actor=HR, event_id=event_id)
    assert first.notify == [A.user_id, B.user_id] and not first.already_cancelled
    with db.session() as session:
        second = ev.cancel_event(session, actor=ORG, event_id=event_id)
    assert second.already_cancelled and second.notify == []
    with db.session() as session:
        assert ev.upcoming_events(session) == []
        with pytest.raises(DomainError):
            ev.update_event(session, actor=ORG, event_id=event_id, data=_data())


def test_attendance_defaults_to_going_and_feedback_is_for_attendees(db: Database) -> None:
    event_id = _create(db, capacity=2)
    for actor in (A, B, C):
        _rsvp(db, actor, event_id, ev.GOING)
    with db.session() as session:
        event = ev.get_event(session, event_id=event_id)
        with pytest.raises(DomainError):  # not before it starts
            ev.mark_attendance(session, actor=ORG, event_id=event_id, attended=[A.user_id])
    freeze(event.ends_at + timedelta(minutes=1))
    with db.session() as session:
        assert [m.slack_user_id for m in ev.attendees(session, event_id=event_id)] == [A.user_id, B.user_id]
    with pytest.raises(DomainError) as caught, db.session() as session:
        ev.mark_attendance(session, actor=ORG, event_id=event_id, attended=[C.user_id])  # C was waitlisted
    assert caught.value.code == "events.errors.not_on_going_list"
    with pytest.raises(PermissionDenied), db.session() as session:
        ev.mark_attendance(session, actor=A, event_id=event_id, attended=[A.user_id])
    with db.session() as session:
        assert ev.mark_attendance(session, actor=ORG, event_id=event_id, attended=[A.user_id]) == 1
        assert [m.slack_user_id for m in ev.attendees(session, event_id=event_id)] == [A.user_id]
    with pytest.raises(PermissionDenied), db.session() as session:
        ev.record_feedback(session, actor=B, event_id=event_id, rating=5)  # marked absent
    with pytest.raises(ValidationFailed), db.session() as session:
        ev.record_feedback(session, actor=A, event_id=event_id, rating=6)
    with db.session() as session:
        ev.record_feedback(session, actor=A, event_id=event_id, rating=3)
        ev.record_feedback(session, actor=A, event_id=event_id, rating=4, comment="  Useful!  ")
    with db.session() as session:
        summary = ev.feedback_summary(session, actor=HR, event_id=event_id)
    assert summary == ev.FeedbackSummary(count=1, average=4.0, comments=["Useful!"], attended=1, going=2)


@pytest.mark.parametrize("capacity", [1, 3])
def test_simultaneous_going_clicks_never_exceed_capacity(db: Database, capacity: int) -> None:
    """Twelve members click Going at the same instant: exactly `capacity` go, the rest wait in line."""
    event_id = _create(db, capacity=capacity)
    barrier = threading.Barrier(len(MEMBERS))
    errors: list[BaseException] = []

    def click(actor: Actor) -> None:
        try:
            barrier.wait(timeout=10)
            _rsvp(db, actor, event_id, ev.GOING)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(actor,)) for actor in MEMBERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with db.session() as session:
        counts = ev.rsvp_counts(session, event_ids=[event_id])[event_id]
    assert counts == ev.Counts(going=capacity, waitlist=len(MEMBERS) - capacity)
    # Two going members leave at once: exactly two move up, first come first served.
    waiting = _answers(db, event_id, ev.WAITLIST)
    going = _answers(db, event_id, ev.GOING)
    leavers = going[:2] if capacity >= 2 else going[:1]
    barrier2 = threading.Barrier(len(leavers))

    def leave(user_id: str) -> None:
        barrier2.wait(timeout=10)
        _rsvp(db, Actor(user_id), event_id, ev.NOT_GOING)

    threads = [threading.Thread(target=leave, args=(u,)) for u in leavers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(_answers(db, event_id, ev.GOING)) == capacity
    assert _answers(db, event_id, ev.WAITLIST) == waiting[len(leavers) :]


def test_reads_for_lists_and_jobs(db: Database) -> None:
    first = _create(db, starts_at=now() + timedelta(days=1))
    second = _create(db, starts_at=now() + timedelta(days=5))
    _rsvp(db, A, second, ev.MAYBE)
    with db.session() as session:
        assert [e.id for e in ev.upcoming_events(session)] == [first, second]
        mine = ev.my_events(session, user_id=A.user_id)
        assert [(e.id, answer) for e, answer in mine] == [(second, ev.MAYBE)]
        organised = ev.my_events(session, user_id=ORG.user_id)
        assert [(e.id, answer) for e, answer in organised] == [(first, None), (second, None)]
        event = ev.get_event(session, event_id=first)
        found = ev.events_starting_in(
            session, after=event.starts_at - timedelta(minutes=5), until=event.starts_at
        )
        assert [e.id for e in found] == [first]
        assert (
            ev.events_starting_in(session, after=event.starts_at, until=event.starts_at + timedelta(hours=1))
            == []
        )
    assert datetime.now(UTC) < event.starts_at


@pytest.mark.parametrize(
    "url", ["http://[::1", "https://ex.com/x\nATTENDEE:mailto:evil@example.com", "javascript:alert(1)"]
)
def test_unparseable_or_multiline_online_urls_are_field_errors(db: Database, url: str) -> None:
    start = now() + timedelta(days=2)
    data = ev.EventInput(
        title="T",
        description="",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        tz="Asia/Tokyo",
        place="",
        online_url=url,
        capacity=None,
    )
    with db.session() as session, pytest.raises(ValidationFailed) as info:
        ev.create_event(
            session, actor=Actor("U0ORG0001", is_organizer=True), data=data, display_name="o", locale="en"
        )
    assert "online_url" in info.value.errors
