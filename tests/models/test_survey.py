"""Pulse surveys on SQLite and PostgreSQL: HR's validation and permissions, audiences, answering once, the
anonymity threshold, and that nothing in the schema joins an answer to a member."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.event import Event, Rsvp
from models.member import Member
from models.timeutil import freeze, now

HR = Actor("U0HR00001", is_hr=True)
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
MEMBERS = [Actor(f"U0MEM{i:04d}") for i in range(8)]
OUTSIDER = Actor("U0OUTSIDE")


def _members(db: Database, count: int = 8, **over: Any) -> list[int]:
    ids = []
    with db.session() as session:
        for index, actor in enumerate(MEMBERS[:count]):
            values: dict[str, Any] = {
                "slack_user_id": actor.user_id,
                "display_name": f"Member {index}",
                "consented_at": now(),
                "former_department": "Sales" if index % 2 == 0 else "Engineering",
                "left_year": 2020 + index % 3,
                "open_to_rehire": index < 3,
            }
            values.update(over)
            member = Member(**values)
            session.add(member)
            session.flush()
            ids.append(int(member.id or 0))
        # Not consented, and erased: never asked.
        session.add(Member(slack_user_id="U0NOCONSENT", display_name="Shy"))
        session.add(Member(slack_user_id=None, display_name="", consented_at=now(), erased_at=now()))
    return ids


def _questions() -> list[sv.QuestionDraft]:
    return [
        sv.QuestionDraft(sv.SCALE, "How happy are you with the alumni program?"),
        sv.QuestionDraft(sv.CHOICE, "Which events do you want?", ("Meetups", "Study sessions", "Online")),
        sv.QuestionDraft(sv.TEXT, "Anything else?"),
    ]


def _draft(**over: Any) -> sv.SurveyDraft:
    values: dict[str, Any] = {
        "title": "Pulse, November",
        "intro": "Three short questions.",
        "closes_at": now() + timedelta(days=7),
        "questions": _questions(),
        "segment": sv.Segment(sv.SEGMENT_ALL),
        "min_group": 5,
    }
    values.update(over)
    return sv.SurveyDraft(**values)


def _create(db: Database, **over: Any) -> int:
    with db.session() as session:
        survey = sv.create_survey(session, actor=HR, draft=_draft(**over))
        return int(survey.id or 0)


def _open(db: Database, survey_id: int) -> int:
    with db.session() as session:
        return sv.open_survey(session, actor=HR, survey_id=survey_id)


def _question_ids(db: Database, survey_id: int) -> list[int]:
    with db.session() as session:
        return [int(q.id or 0) for q in sv.questions_of(session, survey_id=survey_id)]


def _answer(
    db: Database, actor: Actor, survey_id: int, scale: int = 4, choice: int = 0, note: str = ""
) -> None:
    scale_q, choice_q, text_q = _question_ids(db, survey_id)
    with db.session() as session:
        sv.submit_answers(
            session,
            actor=actor,
            survey_id=survey_id,
            answers={scale_q: str(scale), choice_q: str(choice), text_q: note},
        )


def _close(db: Database, survey_id: int) -> None:
    with db.session() as session:
        sv.close_survey(session, actor=HR, survey_id=survey_id)


def _results(db: Database, survey_id: int) -> sv.SurveyResults:
    with db.session() as session:
        return sv.survey_results(session, actor=HR, survey_id=survey_id)


def _errors(db: Database, **over: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        _create(db, **over)
    return {name: code for name, (code, _) in caught.value.errors.items()}


# ----------------------------------------------------------------------------------------- creating


def test_hr_creates_a_draft_with_its_questions_in_order(db: Database) -> None:
    survey_id = _create(db)
    with db.session() as session:
        survey = sv.get_survey(session, survey_id=survey_id)
        questions = sv.questions_of(session, survey_id=survey_id)
        assert survey.status == sv.DRAFT and survey.min_group == 5 and survey.created_by == HR.user_id
        assert [(q.position, q.kind) for q in questions] == [(1, sv.SCALE), (2, sv.CHOICE), (3, sv.TEXT)]
        assert questions[1].choices == ["Meetups", "Study sessions", "Online"]


def test_only_hr_creates_opens_closes_and_reads_results(db: Database) -> None:
    _members(db)
    member = MEMBERS[0]
    with db.session() as session, pytest.raises(PermissionDenied):
        sv.create_survey(session, actor=member, draft=_draft())
    survey_id = _create(db)
    for call in (sv.open_survey, sv.close_survey, sv.survey_results):
        with db.session() as session, pytest.raises(PermissionDenied):
            call(session, actor=member, survey_id=survey_id)
    with db.session() as session, pytest.raises(PermissionDenied):
        sv.export_results_csv(session, actor=member, survey_id=survey_id, zone=ZoneInfo("Asia/Tokyo"))
    with db.session() as session, pytest.raises(PermissionDenied):
        sv.list_surveys(session, actor=member)


def test_every_bad_field_is_reported_at_its_field(db: Database) -> None:
    errors = _errors(
        db,
        title=" ",
        intro="x" * (sv.INTRO_MAX + 1),
        closes_at=now() - timedelta(minutes=1),
        min_group=2,
        segment=sv.Segment("nobody"),
        questions=[
            sv.QuestionDraft(sv.SCALE, ""),
            sv.QuestionDraft(sv.CHOICE, "Pick one", ("Only one", "  ", "Only one")),
            sv.QuestionDraft("essay", "Long" * 100),
            sv.QuestionDraft(sv.CHOICE, "Too many", tuple(f"option {i}" for i in range(11))),
            sv.QuestionDraft(sv.CHOICE, "Too long", ("fine", "x" * (sv.CHOICE_MAX + 1))),
        ],
    )
    assert errors == {
        "title": "required",
        "intro": "too_long",
        "closes_at": "surveys.errors.closes_past",
        "min_group": "surveys.errors.min_group_floor",
        "audience": "invalid",
        "q1_prompt": "required",
        "q2_choices": "surveys.errors.choice_count",  # duplicates and blanks do not count
        "q3_kind": "invalid",
        "q3_prompt": "too_long",
        "q4_choices": "surveys.errors.choice_count",
        "q5_choices": "surveys.errors.choice_too_long",
    }
    with db.session() as session:
        assert session.exec(select(sv.Survey)).all() == [], "nothing half-written"


def test_question_count_closing_date_and_audience_values_are_checked(db: Database) -> None:
    assert _errors(db, questions=[]) == {"questions": "surveys.errors.question_count"}
    six = [sv.QuestionDraft(sv.TEXT, f"Q{i}") for i in range(6)]
    assert _errors(db, questions=six) == {"questions": "surveys.errors.question_count"}
    assert _errors(db, closes_at=None) == {"closes_at": "required"}
    assert _errors(db, closes_at=now() + timedelta(days=91)) == {
        "closes_at": "surveys.errors.closes_too_late"
    }
    assert _errors(db, min_group="many") == {"min_group": "invalid"}
    assert _errors(db, segment=sv.Segment(sv.SEGMENT_DEPARTMENT, " ")) == {"audience": "required"}
    assert _errors(db, segment=sv.Segment(sv.SEGMENT_LEFT_YEAR, "last year")) == {"audience": "invalid"}
    assert _errors(db, segment=sv.Segment(sv.SEGMENT_LEFT_YEAR, "9" * 30)) == {"audience": "invalid"}
    assert _errors(db, segment=sv.Segment(sv.SEGMENT_EVENT, "999")) == {
        "audience": "surveys.errors.event_unknown"
    }


def test_min_group_three_is_allowed_and_the_default_is_five(db: Database) -> None:
    three = _create(db, min_group="3")
    default = _create(db, min_group=None)
    with db.session() as session:
        assert sv.get_survey(session, survey_id=three).min_group == 3
        assert sv.get_survey(session, survey_id=default).min_group == 5


# ----------------------------------------------------------------------------------------- audiences


def test_audience_segments_pick_consented_members_in_slack(db: Database) -> None:
    ids = _members(db)
    with db.session() as session:
        event = Event(
            title="Meetup",
            starts_at=now() - timedelta(days=3),
            ends_at=now() - timedelta(days=3) + timedelta(hours=2),
            organizer="U0ORG0001",
        )
        session.add(event)
        session.flush()
        for member_id in ids[:2]:
            session.add(Rsvp(event_id=event.id, member_id=member_id, answer="going"))
        session.add(Rsvp(event_id=event.id, member_id=ids[2], answer="not_going"))
        event_id = int(event.id or 0)
        session.get(Member, ids[4]).former_department = "ｓａｌｅｓ "  # type: ignore[union-attr]

    def users(kind: str, value: str = "") -> list[str]:
        with db.session() as session:
            return [str(m.slack_user_id) for m in sv.audience(session, segment=sv.Segment(kind, value))]

    everyone = [a.user_id for a in MEMBERS]
    assert users(sv.SEGMENT_ALL) == everyone
    assert users(sv.SEGMENT_DEPARTMENT, "sales") == [MEMBERS[i].user_id for i in (0, 2, 4, 6)]
    assert users(sv.SEGMENT_LEFT_YEAR, "2021") == [MEMBERS[i].user_id for i in (1, 4, 7)]
    assert users(sv.SEGMENT_REHIRE) == [MEMBERS[i].user_id for i in (0, 1, 2)]
    assert users(sv.SEGMENT_EVENT, str(event_id)) == [MEMBERS[i].user_id for i in (0, 1)]
    assert users(sv.SEGMENT_EVENT, "12345") == []
    with db.session() as session:
        choices = sv.audience_choices(session)
    assert choices.departments == ["Engineering", "Sales"]
    assert choices.left_years == [2022, 2021, 2020]
    assert choices.events == [(event_id, "Meetup")]


def test_opening_fixes_the_recipients_and_refuses_an_audience_below_the_threshold(db: Database) -> None:
    _members(db)
    small = _create(db, segment=sv.Segment(sv.SEGMENT_REHIRE))  # 3 members, threshold 5
    with db.session() as session, pytest.raises(DomainError) as caught:
        sv.open_survey(session, actor=HR, survey_id=small)
    assert caught.value.code == "surveys.errors.audience_too_small"
    survey_id = _create(db)
    assert _open(db, survey_id) == 8
    with db.session() as session, pytest.raises(DomainError) as again:
        sv.open_survey(session, actor=HR, survey_id=survey_id)
    assert again.value.code == "surveys.errors.not_draft"
    with db.session() as session:
        survey = sv.get_survey(session, survey_id=survey_id)
        assert survey.status == sv.OPEN and survey.opened_at is not None


# ----------------------------------------------------------------------------------------- answering


def test_a_recipient_answers_once_and_others_cannot(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    _answer(db, MEMBERS[0], survey_id, note="More evening events")
    with pytest.raises(DomainError) as twice:
        _answer(db, MEMBERS[0], survey_id)
    assert twice.value.code == "surveys.errors.already_answered"
    with pytest.raises(PermissionDenied):
        _answer(db, OUTSIDER, survey_id)
    with db.session() as session:
        assert sv.open_surveys_for(session, user_id=MEMBERS[0].user_id) == []
        assert [s.id for s in sv.open_surveys_for(session, user_id=MEMBERS[1].user_id)] == [survey_id]
        assert len(session.exec(select(sv.SurveyAnswer)).all()) == 3


def test_answers_are_validated_at_each_question(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    scale_q, choice_q, text_q = _question_ids(db, survey_id)
    cases: list[tuple[dict[int, Any], dict[str, str]]] = [
        ({choice_q: "0"}, {f"answer_{scale_q}": "required"}),
        ({scale_q: "6", choice_q: "0"}, {f"answer_{scale_q}": "invalid"}),
        ({scale_q: "x", choice_q: "3"}, {f"answer_{scale_q}": "invalid", f"answer_{choice_q}": "invalid"}),
        ({scale_q: 3, choice_q: 1, text_q: "y" * 2001}, {f"answer_{text_q}": "too_long"}),
    ]
    for answers, expected in cases:
        with db.session() as session, pytest.raises(ValidationFailed) as caught:
            sv.submit_answers(session, actor=MEMBERS[0], survey_id=survey_id, answers=answers)
        assert {k: c for k, (c, _) in caught.value.errors.items()} == expected
    # Nothing was recorded by the refused attempts: the member can still answer.
    _answer(db, MEMBERS[0], survey_id)


def test_no_answers_before_opening_or_after_closing(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    with pytest.raises(PermissionDenied):  # a draft has no recipients yet
        _answer(db, MEMBERS[0], survey_id)
    _open(db, survey_id)
    freeze(now() + timedelta(days=8))  # past closes_at, before the closing job ran
    with pytest.raises(DomainError) as late:
        _answer(db, MEMBERS[0], survey_id)
    assert late.value.code == "surveys.errors.closed"
    with db.session() as session:
        assert [s.id for s in sv.close_due_surveys(session, at=now())] == [survey_id]
        assert sv.close_due_surveys(session, at=now()) == []
    with pytest.raises(DomainError):
        _answer(db, MEMBERS[1], survey_id)
    with db.session() as session, pytest.raises(NotFound):
        sv.submit_answers(session, actor=MEMBERS[0], survey_id=10**12, answers={})


def test_two_simultaneous_submissions_store_one_response(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        barrier.wait()
        try:
            _answer(db, MEMBERS[0], survey_id)
            outcomes.append("ok")
        except Exception as error:  # already answered, or SQLite's single writer refusing
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    with db.session() as session:
        responses = session.exec(select(sv.SurveyAnswer.response_id).distinct()).all()
        assert len(responses) == 1


# ----------------------------------------------------------------------------------------- anonymity


def test_four_answers_with_min_group_five_show_no_figures_and_five_do(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    for index, actor in enumerate(MEMBERS[:4]):
        _answer(db, actor, survey_id, scale=index + 1, choice=index % 3, note=f"note {index}")
    _close(db, survey_id)
    results = _results(db, survey_id)
    assert results.state == sv.TOO_FEW and not results.ready
    assert results.responses is None and results.questions == [] and results.min_group == 5
    with db.session() as session, pytest.raises(DomainError) as refused:
        sv.export_results_csv(session, actor=HR, survey_id=survey_id, zone=ZoneInfo("Asia/Tokyo"))
    assert refused.value.code == "surveys.errors.results_too_few"

    # The same four answers and one more, on a second survey: now there are figures.
    second = _create(db)
    _open(db, second)
    for index, actor in enumerate(MEMBERS[:5]):
        _answer(db, actor, second, scale=index + 1, choice=index % 3, note=f"note {index}" if index else "")
    _close(db, second)
    results = _results(db, second)
    assert results.ready and results.responses == 5
    scale, choice, texts = results.questions
    assert [(o.label, o.count) for o in scale.options] == [("1", 1), ("2", 1), ("3", 1), ("4", 1), ("5", 1)]
    assert scale.average == 3.0
    assert [(o.label, o.count) for o in choice.options] == [
        ("Meetups", 2),
        ("Study sessions", 2),
        ("Online", 1),
    ]
    assert sorted(texts.texts) == ["note 1", "note 2", "note 3", "note 4"] and texts.answered == 4


def test_results_wait_for_the_close_so_no_answer_can_be_read_by_difference(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    for actor in MEMBERS[:6]:
        _answer(db, actor, survey_id)
    results = _results(db, survey_id)
    assert results.state == sv.NOT_CLOSED and results.responses is None and results.questions == []
    with db.session() as session:
        progress = {p.survey.id: (p.asked, p.answered) for p in sv.list_surveys(session, actor=HR)}
    assert progress[survey_id] == (8, 6)
    _close(db, survey_id)
    assert _results(db, survey_id).responses == 6


def test_min_group_below_three_is_refused(db: Database) -> None:
    assert _errors(db, min_group=2) == {"min_group": "surveys.errors.min_group_floor"}
    assert _errors(db, min_group=0) == {"min_group": "surveys.errors.min_group_floor"}


def test_no_column_joins_an_answer_to_a_member(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    _answer(db, MEMBERS[0], survey_id, note="The secret thing I said")
    with db.engine.connect() as conn:
        inspector = inspect(conn)
        answer_columns = {c["name"] for c in inspector.get_columns("survey_answer")}
        recipient_columns = {c["name"] for c in inspector.get_columns("survey_recipient")}
        answer_fks = {fk["referred_table"] for fk in inspector.get_foreign_keys("survey_answer")}
        answer_types = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns("survey_answer")}
        answers = conn.execute(text("SELECT * FROM survey_answer")).mappings().all()
        recipient = conn.execute(text("SELECT * FROM survey_recipient WHERE answered")).mappings().one()
    # No member, Slack user or time on the answer side; no answer, response or time-of-answer on the other.
    assert answer_columns == {"id", "response_id", "question_id", "survey_id", "value", "text"}
    assert answer_fks == {"survey", "survey_question"}
    assert not any("TIME" in kind or "DATE" in kind for kind in answer_types.values())
    assert not recipient_columns & {"response_id", "answer_id", "answered_at", "updated_at"}
    # The values that are stored link nothing either: random ids, no member id or Slack ID anywhere.
    flat = " ".join(str(v) for row in answers for v in row.values())
    assert MEMBERS[0].user_id not in flat
    assert len({row["response_id"] for row in answers}) == 1
    assert recipient["id"] not in [row["id"] for row in answers]
    assert all(len(row["id"]) == 32 and len(row["response_id"]) == 32 for row in answers)
    # Answering leaves no audit entry that could be matched by time.
    with db.engine.connect() as conn:
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log"))]
    assert not [a for a in actions if "answer" in a]


def test_free_text_is_listed_without_names_in_a_shuffled_order(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    notes = [f"note {i}" for i in range(8)]
    for actor, note in zip(MEMBERS, notes, strict=True):
        _answer(db, actor, survey_id, note=note)
    _close(db, survey_id)
    orders = {tuple(_results(db, survey_id).questions[2].texts) for _ in range(12)}
    assert all(sorted(order) == notes for order in orders)
    assert len(orders) > 1, "the order of free text must not follow the order of answering"


def test_export_is_csv_with_counts_and_text_and_defuses_formulas(db: Database) -> None:
    _members(db)
    survey_id = _create(db, title="=HYPERLINK(1)")
    _open(db, survey_id)
    for index, actor in enumerate(MEMBERS[:5]):
        _answer(db, actor, survey_id, scale=5, choice=2, note="=cmd|' /C calc'!A0" if index == 0 else "")
    _close(db, survey_id)
    with db.session() as session:
        data = sv.export_results_csv(session, actor=HR, survey_id=survey_id, zone=ZoneInfo("Asia/Tokyo"))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][0] == "'=HYPERLINK(1)" and rows[1][2] == "5"
    assert ["1", "scale", "How happy are you with the alumni program?", "5", "5"] in rows
    assert ["2", "choice", "Which events do you want?", "Online", "5"] in rows
    assert ["3", "text", "Anything else?", "'=cmd|' /C calc'!A0", "1"] in rows


# ----------------------------------------------------------------------------------------- you said, we did


def test_a_closed_survey_notes_what_changed_once_for_the_digest(db: Database) -> None:
    _members(db)
    survey_id = _create(db)
    _open(db, survey_id)
    with db.session() as session, pytest.raises(ValidationFailed):
        sv.record_survey_change(session, actor=HR, survey_id=survey_id, note="Too early")
    _close(db, survey_id)
    with db.session() as session:
        sv.record_survey_change(session, actor=HR, survey_id=survey_id, note="More evening meetups")
    with db.session() as session:
        pending = sv.unpublished_survey_changes(session)
        assert [s.change_note for s in pending] == ["More evening meetups"]
        sv.mark_survey_changes_published(session, pending, at=now())
    with db.session() as session:
        assert sv.unpublished_survey_changes(session) == []
        with pytest.raises(ValidationFailed):
            sv.record_survey_change(session, actor=HR, survey_id=survey_id, note="Again")


# ----------------------------------------------------------------------------------------- jobs' queries


def test_invitations_and_reminders_are_due_once_and_only_for_non_answerers(db: Database) -> None:
    freeze(T0)
    _members(db)
    survey_id = _create(db, closes_at=T0 + timedelta(days=3))
    _open(db, survey_id)
    with db.session() as session:
        invitations = sv.pending_invitations(session, at=now())
        assert len(invitations) == 8
        assert sv.due_reminders(session, at=T0 + timedelta(days=2, hours=1)) == [], "nobody invited yet"
        sv.mark_invited(session, [i.recipient_id for i in invitations], at=T0)
    with db.session() as session:
        assert sv.pending_invitations(session, at=now()) == []
    _answer(db, MEMBERS[0], survey_id)
    with db.session() as session:
        assert sv.due_reminders(session, at=T0 + timedelta(days=1)) == [], "too early"
        due = sv.due_reminders(session, at=T0 + timedelta(days=2, hours=1))
        assert sorted(d.slack_user_id for d in due) == sorted(a.user_id for a in MEMBERS[1:])
        sv.mark_reminded(session, [d.recipient_id for d in due], at=T0 + timedelta(days=2, hours=1))
    with db.session() as session:
        assert sv.due_reminders(session, at=T0 + timedelta(days=2, hours=2)) == []
